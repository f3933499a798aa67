"""Dataset versions: curate, load with `datasets`, chat template, splits, determinism, diff,
exports, push against a fake Hub API, and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory.dataset.splits import assign_splits
from factory.dataset.table import read_split
from factory.jsonl import model_line
from factory.models import Dialogue

# Keeps everything with sane structure: curation tests need survivors, not the model-based
# filters (those are tested in test_filters).
LENIENT = "name: lenient\nfilters:\n  - use: structure\n    min_turns: 2\n"


@pytest.fixture
def recipe(tmp_path: Path) -> str:
    path = tmp_path / "lenient.yaml"
    path.write_text(LENIENT)
    return str(path)


@pytest.fixture
def run(tmp_path: Path, cli) -> Path:
    out = tmp_path / "run"
    result = cli("generate", "--dry-run", "-n", "12", "--seed", "5", "--out", str(out))
    assert result.code == 0, result.err
    return out


def curate(cli, run: Path, recipe: str, root: Path, *extra: str):
    return cli("curate", str(run), "--name", "esc", "--recipe", recipe, "--out", str(root), *extra)


def version_files(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def test_curate_writes_a_loadable_version_with_card_and_manifest(cli, run, recipe, tmp_path):
    root = tmp_path / "datasets"
    result = curate(cli, run, recipe, root, "--license", "cc-by-4.0")
    assert result.code == 0, result.err
    folder = root / "esc" / "v0.1.0"
    assert "saved esc v0.1.0" in result.out and "structure" in result.out
    assert sorted(p.name for p in (root / "esc").iterdir()) == ["v0.1.0"]  # no temp folder left

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"] == {
        "read": 12,
        "malformed": 0,
        "kept": 12,
        "rejected": 0,
        "duplicate_ids": 0,
    }
    assert sum(manifest["splits"].values()) == 12
    source = manifest["sources"][0]
    assert source["name"] == "run" and source["dialogues"] == 12
    assert source["run"]["status"] == "complete" and source["prompt_hashes"]
    for relative, info in manifest["data_files"].items():
        import hashlib

        assert hashlib.sha256((folder / relative).read_bytes()).hexdigest() == info["sha256"]

    card = (folder / "README.md").read_text()
    header = card.split("---\n")[1]
    import yaml

    meta = yaml.safe_load(header)
    assert meta["license"] == "cc-by-4.0" and meta["size_categories"] == ["n<1K"]
    assert meta["task_categories"] == ["text-generation"]
    listed = {f["split"] for f in meta["configs"][0]["data_files"]}
    assert listed == {s for s, n in manifest["splits"].items() if n}
    # The lenient recipe has no safety or PII filter, and the card says so.
    assert "The recipe had no `safety` filter" in card and "were not redacted" in card
    for section in (
        "## How it was made",
        "## Limitations",
        "## Safety",
        "| structure | 12 | 0 | 12",
    ):
        assert section in card

    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "hf-cache"))
    assert sum(len(loaded[s]) for s in loaded) == 12
    row = loaded["train"][0]
    assert row["messages"][0]["role"] == "system"
    roles = [m["role"] for m in row["messages"][1:]]
    turns = [t["role"] for t in row["turns"]]
    assert roles == ["user" if r == "seeker" else "assistant" for r in turns]


def test_messages_go_through_a_locally_built_chat_template(cli, run, recipe, tmp_path):
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    root = tmp_path / "datasets"
    assert curate(cli, run, recipe, root).code == 0
    row = datasets.load_dataset(str(root / "esc" / "v0.1.0"), cache_dir=str(tmp_path / "c"))[
        "train"
    ][0]
    words = {w for m in row["messages"] for w in m["content"].split()}
    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(sorted(words))}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]")
    tokenizer.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    text = tokenizer.apply_chat_template(row["messages"], tokenize=False)
    assert text.count("<|user|>") == sum(m["role"] == "user" for m in row["messages"])
    assert text.startswith("<|system|> You are a warm")
    ids = tokenizer.apply_chat_template(row["messages"], tokenize=True)
    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    assert len(ids) == len(text.split())  # one id per whitespace-separated word
    first_user = next(m["content"] for m in row["messages"] if m["role"] == "user")
    assert tokenizer.decode(tokenizer(first_user)["input_ids"]) == " ".join(first_user.split())


def test_two_versions_with_the_same_folder_name_load_their_own_rows(cli, run, recipe, tmp_path):
    datasets = pytest.importorskip("datasets")
    bigger = tmp_path / "run16"
    assert cli("generate", "--dry-run", "-n", "16", "--seed", "5", "--out", str(bigger)).code == 0
    assert curate(cli, run, recipe, tmp_path / "a").code == 0
    assert curate(cli, bigger, recipe, tmp_path / "b").code == 0
    cache = tmp_path / "hf-cache"
    sizes = [
        sum(
            len(split)
            for split in datasets.load_dataset(
                str(tmp_path / root / "esc" / "v0.1.0"), cache_dir=str(cache)
            ).values()
        )
        for root in ("a", "b")
    ]
    assert sizes == [12, 16]


def test_same_runs_recipe_and_seed_give_identical_data_files(cli, run, recipe, tmp_path):
    assert curate(cli, run, recipe, tmp_path / "a").code == 0
    assert curate(cli, run, recipe, tmp_path / "b").code == 0
    a = json.loads((tmp_path / "a" / "esc" / "v0.1.0" / "manifest.json").read_text())
    b = json.loads((tmp_path / "b" / "esc" / "v0.1.0" / "manifest.json").read_text())
    assert a["data_files"] == b["data_files"] and len(a["data_files"]) >= 3
    other = curate(cli, run, recipe, tmp_path / "c", "--seed", "9")
    c = json.loads((tmp_path / "c" / "esc" / "v0.1.0" / "manifest.json").read_text())
    assert other.code == 0 and c["data_files"] != a["data_files"]


def _with_ids(d: Dialogue, scenario: str, persona: str, id: str) -> Dialogue:
    return d.model_copy(
        update={
            "id": id,
            "scenario": d.scenario.model_copy(update={"id": scenario}),
            "persona": d.persona.model_copy(update={"id": persona}),
        }
    )


def test_one_seeker_never_lands_in_two_splits(run):
    base = Dialogue.model_validate_json((run / "dialogues.jsonl").read_text().splitlines()[0])
    dialogues = [_with_ids(base, f"s{i}", f"p{i}", f"d{i}") for i in range(200)]
    # Chains that share scenarios or personas: s0-p0, s0-p1 (same scenario), s1-p1 (same persona).
    dialogues += [_with_ids(base, f"s{i}", f"p{i + 1}", f"x{i}") for i in range(0, 40, 2)]
    splits = assign_splits(dialogues, (0.6, 0.2, 0.2), seed=3)
    where: dict[str, set[str]] = {}
    for split, rows in splits.items():
        for d in rows:
            where.setdefault("s:" + d.scenario.id, set()).add(split)
            where.setdefault("p:" + d.persona.id, set()).add(split)
    assert all(len(s) == 1 for s in where.values())
    assert all(len(rows) > 20 for rows in splits.values())
    # A seeker keeps its split when more dialogues arrive in a later version.
    more = assign_splits(
        [*dialogues, *(_with_ids(base, f"n{i}", f"q{i}", f"n{i}") for i in range(50))],
        (0.6, 0.2, 0.2),
        seed=3,
    )
    before = {d.id: s for s, rows in splits.items() for d in rows}
    after = {d.id: s for s, rows in more.items() for d in rows}
    assert all(after[i] == s for i, s in before.items())


def test_versions_bump_and_diff(cli, run, recipe, tmp_path, monkeypatch):
    root = tmp_path / "datasets"
    assert curate(cli, run, recipe, root).code == 0
    # A second run of 16 (the first 12 are the same dialogues) becomes v0.2.0, then v1.0.0.
    bigger = tmp_path / "run2"
    assert cli("generate", "--dry-run", "-n", "16", "--seed", "5", "--out", str(bigger)).code == 0
    assert cli("curate", str(bigger), "--name", "esc", "-r", recipe, "-o", str(root)).code == 0
    major = cli(
        "curate", str(run), "--name", "esc", "-r", recipe, "-o", str(root), "--bump", "major"
    )
    assert major.code == 0 and "v1.0.0" in major.out
    listing = cli("versions", "esc", "--root", str(root))
    assert listing.code == 0
    lines = listing.out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["v0.1.0", "v0.2.0", "v1.0.0"]
    assert "12/12" in lines[1] and "16/16" in lines[2]
    diff = cli("diff", "esc", "v0.1.0", "v0.2.0", "--root", str(root))
    assert diff.code == 0, diff.err
    assert "added: 4" in diff.out and "removed: 0" in diff.out
    assert "dialogues" in diff.out and "12 -> 16" in diff.out.replace("        ", " ")


def test_exports_messages_with_strategies_and_esconv_round_trip(cli, run, recipe, tmp_path):
    root = tmp_path / "datasets"
    assert curate(cli, run, recipe, root, "--split", "1,0,0").code == 0
    out = tmp_path / "sft.jsonl"
    result = cli(
        "export", "esc", "v0.1.0", "--root", str(root), "-o", str(out), "--strategy-in-text"
    )
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 12
    assistant = [m["content"] for m in rows[0]["messages"] if m["role"] == "assistant"]
    assert assistant and all(text.startswith("[") and "] " in text for text in assistant)

    esconv = root / "esc" / "v0.1.0" / "esconv" / "train.json"
    again = tmp_path / "again.jsonl"
    assert cli("import", "esconv", str(esconv), "-o", str(again)).code == 0
    original = [
        Dialogue.model_validate_json(line)
        for line in (run / "dialogues.jsonl").read_text().splitlines()
    ]
    imported = [Dialogue.model_validate_json(line) for line in again.read_text().splitlines()]
    assert len(imported) == len(original)  # one split holds all, in input order
    # Written in the project's one line form, which `factory filter` splices its verdicts into.
    assert again.read_text() == "".join(model_line(d) for d in imported)
    for d, source in zip(imported, original, strict=True):
        assert [(t.role, t.text, t.strategy) for t in d.turns] == [
            (t.role, t.text, t.strategy) for t in source.turns
        ]
        assert d.scenario.emotion_type == source.scenario.emotion_type
        assert d.scenario.situation == source.scenario.situation


def test_dataset_errors_are_one_line_and_leave_nothing(cli, run, recipe, tmp_path, monkeypatch):
    root = tmp_path / "datasets"

    def one_line(result, text):
        assert result.code == 1, result
        assert result.err.strip().splitlines()[-1].startswith("error: ")
        assert text in result.err, result.err
        assert "Traceback" not in result.err

    assert curate(cli, run, recipe, root).code == 0
    one_line(
        cli("export", "esc", "v9.0.0", "-o", str(tmp_path / "x.jsonl"), "--root", str(root)),
        "has no version v9.0.0 (it has: v0.1.0)",
    )
    one_line(cli("diff", "esc", "v0.1.0", "v0.3.0", "--root", str(root)), "has no version v0.3.0")
    one_line(cli("versions", "nope", "--root", str(root)), "no dataset 'nope'")
    one_line(curate(cli, run, recipe, root, "--version", "v0.1.0"), "already exists")
    one_line(
        cli("curate", str(run), "--name", "../evil", "-r", recipe, "-o", str(root)),
        "is not allowed",
    )
    strict = tmp_path / "strict.yaml"
    strict.write_text("filters:\n  - use: structure\n    min_turns: 70\n")
    empty = cli("curate", str(run), "--name", "esc", "-r", str(strict), "-o", str(root))
    one_line(empty, "nothing saved")
    assert "too_few_turns 12" in empty.err  # the funnel says why
    assert sorted(p.name for p in (root / "esc").iterdir()) == ["v0.1.0"]
    kept_anyway = cli(
        "curate", str(run), "--name", "esc", "-r", str(strict), "-o", str(root), "--allow-empty"
    )
    assert kept_anyway.code == 0 and "no dialogues: all 12 dropped" in kept_anyway.out
    audit = root / "esc" / "v0.2.0"
    assert len((audit / "rejected" / "rejected.jsonl").read_text().splitlines()) == 12
    assert "configs" not in (audit / "README.md").read_text().split("---")[1]
    assert "holds no dialogues" in (audit / "README.md").read_text()
    export = cli("export", "esc", "v0.2.0", "-o", str(tmp_path / "e.jsonl"), "--root", str(root))
    one_line(export, "has no train split")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    one_line(
        cli("push", "esc", "v0.1.0", "--repo-id", "lab/esc", "--root", str(root)),
        "no Hugging Face token",
    )


def _bind(method: str, *args, **kwargs) -> None:
    """Fails like the real client would on a wrong argument name."""
    import inspect

    from huggingface_hub import HfApi

    inspect.signature(getattr(HfApi, method)).bind(None, *args, **kwargs)


class FakeHub:
    """Stands in for huggingface_hub.HfApi at the calls factory push makes; every call is
    checked against the real method's signature."""

    def __init__(self, tags: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: dict[str, bytes] = {}
        self.tags = list(tags)

    def create_repo(self, repo_id, **kwargs):
        _bind("create_repo", repo_id, **kwargs)
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def list_repo_refs(self, repo_id, **kwargs):
        _bind("list_repo_refs", repo_id, **kwargs)
        from types import SimpleNamespace

        return SimpleNamespace(tags=[SimpleNamespace(name=t) for t in self.tags])

    def upload_folder(self, **kwargs):
        _bind("upload_folder", **kwargs)
        self.calls.append(("upload_folder", kwargs))
        folder = Path(kwargs["folder_path"])
        self.uploaded = version_files(folder)
        from types import SimpleNamespace

        return SimpleNamespace(oid="c0ffee" * 6 + "abcd")

    def create_tag(self, repo_id, **kwargs):
        _bind("create_tag", repo_id, **kwargs)
        self.calls.append(("create_tag", {"repo_id": repo_id, **kwargs}))
        self.tags.append(kwargs["tag"])


def test_push_uploads_the_version_and_tags_the_commit(cli, run, recipe, tmp_path, monkeypatch):
    from factory.dataset import hub

    root = tmp_path / "datasets"
    assert curate(cli, run, recipe, root).code == 0
    fake = FakeHub()
    seen_tokens: list[str] = []
    monkeypatch.setattr(hub, "_api", lambda token: seen_tokens.append(token) or fake)
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_123")
    result = cli(
        "push", "esc", "0.1.0", "--repo-id", "lab/esc-synth", "--private", "--root", str(root)
    )
    assert result.code == 0, result.err
    assert seen_tokens == ["hf_secret_token_123"]
    names = [name for name, _ in fake.calls]
    assert names == ["create_repo", "upload_folder", "create_tag"]
    assert fake.calls[1][1]["delete_patterns"] == "*"  # the commit holds exactly this version
    assert fake.calls[0][1] == {
        "repo_id": "lab/esc-synth",
        "repo_type": "dataset",
        "private": True,
        "exist_ok": True,
    }
    folder = root / "esc" / "v0.1.0"
    assert fake.uploaded == version_files(folder)
    assert {
        "README.md",
        "manifest.json",
    } <= set(fake.uploaded)
    assert any(n.startswith("data/train-") and n.endswith(".parquet") for n in fake.uploaded)
    tag = fake.calls[2][1]
    assert tag["tag"] == "v0.1.0" and tag["revision"] == "c0ffee" * 6 + "abcd"
    assert tag["repo_type"] == "dataset"
    assert "tag v0.1.0" in result.out
    # The token is never written or printed.
    assert all(b"hf_secret_token_123" not in data for data in fake.uploaded.values())
    assert "hf_secret_token_123" not in result.out + result.err
    again = cli("push", "esc", "v0.1.0", "--repo-id", "lab/esc-synth", "--root", str(root))
    assert again.code == 1 and "already has tag v0.1.0" in again.err
    bad = cli("push", "esc", "v0.1.0", "--repo-id", "no-slash", "--root", str(root))
    assert bad.code == 1 and "is not ORG/NAME" in bad.err


def test_secrets_in_a_run_manifest_do_not_reach_the_version(cli, run, recipe, tmp_path):
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config"]["backend"]["api_key"] = "sk-live-should-not-leak"
    (run / "manifest.json").write_text(json.dumps(manifest))
    root = tmp_path / "datasets"
    assert curate(cli, run, recipe, root).code == 0
    for data in version_files(root / "esc" / "v0.1.0").values():
        assert b"sk-live-should-not-leak" not in data


def test_preference_pairs_load_as_a_dpo_config(cli, run, recipe, tmp_path):
    datasets = pytest.importorskip("datasets")
    settings = tmp_path / "prefs.yaml"
    settings.write_text("backend: {kind: scripted}\nalternatives: 3\nturns_per_dialogue: 2\n")
    root = tmp_path / "datasets"
    result = curate(cli, run, recipe, root, "--preferences", str(settings))
    assert result.code == 0, result.err
    assert "preference pairs:" in result.out
    folder = root / "esc" / "v0.1.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    counts = manifest["preferences"]["counts"]
    assert counts["pairs"] > 0
    assert "config_name: preferences" in (folder / "README.md").read_text()
    pairs = datasets.load_dataset(str(folder), "preferences", cache_dir=str(tmp_path / "c"))
    rows = [row for split in pairs.values() for row in split]
    assert len(rows) == counts["pairs"]
    assert {"prompt", "chosen", "rejected"} <= set(rows[0])
    train_ids = {
        row["id"]
        for row in datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "c"))["train"]
    }
    for row in rows:
        assert row["prompt"][0]["role"] == "system" and row["prompt"][-1]["role"] == "user"
        assert (
            [m["role"] for m in row["chosen"]]
            == ["assistant"]
            == [m["role"] for m in row["rejected"]]
        )
        assert row["chosen"][0]["content"] != row["rejected"][0]["content"]
        assert row["chosen_score"] - row["rejected_score"] >= 1
        assert row["chosen_strategy"] != row["rejected_strategy"]
    # A pair sits in the split of its dialogue.
    train_pairs = [r for r in pairs.get("train", [])]
    assert all(r["dialogue_id"] in train_ids for r in train_pairs)


def test_preference_builder_counts_failures_and_ties():
    import asyncio

    from factory.backends.scripted import ScriptedBackend
    from factory.dataset.preferences import PreferenceBuilder, PreferenceConfig
    from factory.models import GenerationInfo, Persona, ScenarioCore, Turn

    dialogue = Dialogue(
        id="d",
        persona=Persona(id="p", name="A", gender="woman", occupation="nurse", style=""),
        scenario=ScenarioCore(
            id="s",
            problem_type="job crisis",
            emotion_type="anxiety",
            initial_intensity=4,
            situation="x",
        ),
        turns=[
            Turn(role="seeker", text="I lost my job and I am scared."),
            Turn(
                role="supporter",
                text="That sounds frightening. What happened?",
                strategy="Question",
            ),
        ],
        end_reason="seeker_closed",
        generation=GenerationInfo(
            backend="scripted",
            model="m",
            seed=1,
            taxonomy="esconv",
            prompt_hashes={},
            tool_version="0",
        ),
    )
    builder = PreferenceBuilder(PreferenceConfig(alternatives=2, turns_per_dialogue=1), "sys")
    backend = ScriptedBackend()
    # Two alternative replies, then judge scores: original 4, first 4 (a tie at the top), second 2.
    backend.enqueue(
        "It must be hard to lose a job you cared about.",
        "Have you thought about asking your old manager for a reference?",
        '{"score": 4, "reason": "ok"}',
        '{"score": 4, "reason": "ok"}',
        '{"score": 2, "reason": "generic"}',
    )
    result = asyncio.run(builder.build([dialogue], backend))
    assert result.counts.pairs == 1
    pair = result.pairs[0]
    assert pair.chosen_is_original and pair.chosen[0].content.startswith("That sounds")
    assert pair.rejected_score == 2 and pair.candidates == 3
    assert [m.role for m in pair.prompt] == ["system", "user"]

    tie = ScriptedBackend()
    tie.enqueue(
        "Another reply.", "A third reply.", *['{"score": 3, "reason": "ok"}'] * 2, "not json"
    )
    result = asyncio.run(builder.build([dialogue], tie))
    assert result.counts.pairs == 0 and result.counts.tie == 1
    assert result.counts.judge_unparsed == 1


def test_curate_refuses_a_run_being_written_and_drops_repeated_ids(cli, run, recipe, tmp_path):
    import fcntl

    root = tmp_path / "datasets"
    with (run / ".lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        busy = curate(cli, run, recipe, root)
    assert busy.code == 1 and "is still being written" in busy.err
    assert not (root / "esc").exists()  # no empty name folder either
    twice = cli("curate", str(run), str(run), "--name", "esc", "-r", recipe, "-o", str(root))
    assert twice.code == 0, twice.err
    assert "12 dialogues had an id already kept" in twice.err
    manifest = json.loads((root / "esc" / "v0.1.0" / "manifest.json").read_text())
    assert manifest["counts"]["kept"] == 12 and manifest["counts"]["duplicate_ids"] == 12
    assert sum(manifest["splits"].values()) == 12
    rejected = (root / "esc" / "v0.1.0" / "rejected" / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 12 == manifest["data_files"]["rejected/rejected.jsonl"]["rows"]
    assert all(json.loads(r)["verdicts"][-1]["reason"] == "duplicate_id" for r in rejected)


def test_damaged_or_foreign_version_folders(cli, run, recipe, tmp_path):
    root = tmp_path / "datasets"
    assert curate(cli, run, recipe, root).code == 0
    (root / "esc" / "v0.2.0").mkdir()  # a folder without a manifest: skipped, never reused
    nxt = curate(cli, run, recipe, root)
    assert nxt.code == 0 and "v0.3.0" in nxt.out
    both = curate(cli, run, recipe, root, "--bump", "patch", "--version", "v9.0.0")
    assert both.code == 1 and "exclude each other" in both.err
    folder = root / "esc" / "v0.1.0"
    next(folder.glob("data/train-*.parquet")).unlink()
    broken = cli("diff", "esc", "v0.1.0", "v0.3.0", "--root", str(root))
    assert broken.code == 1 and "is missing: the version folder is damaged" in broken.err
    (folder / "manifest.json").write_text("{not json")
    listing = cli("versions", "esc", "--root", str(root))
    assert listing.code == 0 and "unreadable" in listing.out
    export = cli("export", "esc", "v0.1.0", "-o", str(tmp_path / "x.jsonl"), "--root", str(root))
    assert export.code == 1 and "not a readable version manifest" in export.err
    assert "Traceback" not in broken.err + export.err


def test_repeated_ids_are_dropped_in_the_funnel_and_every_count_agrees(cli, recipe, tmp_path):
    """One 4-dialogue run passed twice: the 4 repeats are a funnel step, and the CLI, the
    manifest, the card, rejected/ and the data files all say 4 of 8 kept."""
    run = tmp_path / "run4"
    assert cli("generate", "--dry-run", "-n", "4", "--seed", "5", "--out", str(run)).code == 0
    root = tmp_path / "datasets"
    result = cli("curate", str(run), str(run), "--name", "esc", "-r", recipe, "-o", str(root))
    assert result.code == 0, result.err
    assert "kept 4 of 8 dialogues (50.0%)" in result.out
    assert "duplicate_id 4" in result.out
    folder = root / "esc" / "v0.1.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    steps = {step["filter"]: step for step in manifest["funnel"]}
    assert steps["unique_id"] == {
        "filter": "unique_id",
        "in": 8,
        "kept": 4,
        "dropped": 4,
        "drop_reasons": {"duplicate_id": 4},
        "keep_reasons": {"ok": 4},
        "seconds": 0.0,
    }
    counts = manifest["counts"]
    assert counts == {"read": 8, "malformed": 0, "kept": 4, "rejected": 4, "duplicate_ids": 4}
    assert manifest["funnel"][-1]["kept"] == counts["kept"] == sum(manifest["splits"].values())
    dropped = sum(step["dropped"] for step in manifest["funnel"]) + counts["malformed"]
    rejected = (folder / "rejected" / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == dropped == counts["rejected"]
    assert manifest["data_files"]["rejected/rejected.jsonl"]["rows"] == len(rejected)
    assert all(json.loads(r)["verdicts"][-1]["reason"] == "duplicate_id" for r in rejected)
    split_rows = sum(
        manifest["data_files"][path]["rows"] for path in manifest["split_files"].values()
    )
    assert split_rows == counts["kept"]
    card = (folder / "README.md").read_text()
    assert "8 dialogues read, 0 malformed lines, 4 kept" in card
    assert "| unique_id | 8 | 4 | 4 | duplicate_id 4 |" in card
    saved = f"({', '.join(f'{k} {v}' for k, v in manifest['splits'].items() if v)})"
    assert saved in result.out


def _small_manifest():
    """A two-dialogue version read from a plain dialogues file, one repeat dropped."""
    from factory.dataset.manifest import DatasetManifest

    summary = {"mean": 4.0, "median": 4.0, "min": 4, "max": 4}
    return DatasetManifest.model_validate(
        {
            "tool_version": "9.9.9",
            "name": "tiny",
            "version": "v0.1.0",
            "created_at": "2025-01-01T00:00:00+00:00",
            "license": "cc-by-4.0",
            "seed": 3,
            "split_fractions": [0.5, 0.5, 0.0],
            "splits": {"train": 1, "validation": 1, "test": 0},
            "split_files": {
                "train": "data/train-a.parquet",
                "validation": "data/validation-b.parquet",
            },
            "recipe": {
                "name": "mini",
                "sha256": "abc123",
                "filters": [{"use": "structure", "min_turns": 2}, {"use": "safety"}],
            },
            "system_prompt_sha256": "def456",
            "counts": {"read": 3, "malformed": 0, "kept": 2, "rejected": 1, "duplicate_ids": 1},
            "funnel": [
                {
                    "filter": "structure",
                    "in": 3,
                    "kept": 3,
                    "dropped": 0,
                    "drop_reasons": {},
                    "keep_reasons": {"ok": 3},
                    "seconds": 0.0,
                },
                {
                    "filter": "unique_id",
                    "in": 3,
                    "kept": 2,
                    "dropped": 1,
                    "drop_reasons": {"duplicate_id": 1},
                    "keep_reasons": {"ok": 2},
                    "seconds": 0.0,
                },
            ],
            "sources": [
                {
                    "name": "talks.jsonl",
                    "path": "in/talks.jsonl",
                    "sha256": "f00",
                    "dialogues": 3,
                    "prompt_hashes": {"seeker": "5eec"},
                    "settings": {},
                    "run": None,
                }
            ],
            "data_files": {},
            "stats": {
                "dialogues": 2,
                "turns_per_dialogue": summary,
                "words_per_seeker_turn": summary,
                "words_per_supporter_turn": summary,
                "strategy": {"Question": 0.5, "Reflection of feelings": 0.5},
                "emotion": {"sadness": 1.0},
                "problem": {"grief": 1.0},
                "end_reason": {"seeker_closed": 1.0},
                "models": {"scripted:m": 1.0},
            },
            "preferences": None,
        }
    )


SMALL_CARD = """---
license: cc-by-4.0
language:
- en
pretty_name: tiny v0.1.0
task_categories:
- text-generation
tags:
- emotional-support
- synthetic
- dialogue
- esc-factory
size_categories:
- n<1K
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-a.parquet
  - split: validation
    path: data/validation-b.parquet
---

# tiny v0.1.0

Synthetic emotional-support conversations (ESC) made by esc-factory 9.9.9: a seeker with a persona and a hidden situation, a strategy counselor and a supporter, three LLM roles with different knowledge, role-play each dialogue; a filter recipe then keeps what passes.
2 dialogues: train 1, validation 1, test 0.

## Load it

```python
from datasets import load_dataset

ds = load_dataset("PATH_OR_REPO_ID", revision="v0.1.0")  # revision: the Hub tag
ds["train"][0]["messages"]  # system prompt, the seeker as user, the supporter as assistant
```

Columns: `messages` (chat format for SFT), `turns` (role, text, strategy, self-rated
intensity, the counselor's rationale), `problem_type`, `emotion_type`,
`initial_intensity`, `situation`, `end_reason`, `backend`, `model`; `persona`, `scenario`,
`generation` and `verdicts` are JSON text (the full records). `esconv/` holds the same
dialogues in ESConv.json's schema; `rejected/` holds every dropped dialogue with the verdicts
that dropped it.

## How it was made

Sources:

| source | dialogues read | run status | backend | taxonomy |
|---|---|---|---|---|
| talks.jsonl | 3 | - | - | - |

Models (share of kept dialogues): `scripted:m` 100%.

Generation settings (from each run's manifest):

- (dialogue files without a run manifest)

Prompt template hashes (sha256, first 16 hex): seeker `5eec`.

Curation: recipe `mini` (sha256 `abc123`),
3 dialogues read, 0 malformed lines, 2 kept.

| filter | in | dropped | kept | drop reasons |
|---|---|---|---|---|
| structure | 3 | 0 | 3 | - |
| unique_id | 3 | 1 | 2 | duplicate_id 1 |

The LLM judge was off: the recipe does not enable it (`--judge` turns it on with the runs' own model when they came from an OpenAI-compatible server or vLLM).

Splits: by seeker (dialogues that share a scenario or a persona stay in one split), drawn from
a hash of seed 3 and the scenario, shares
0.5/0.5/0.0 (train/validation/test). A seeker keeps
its split in later versions curated with the same seed.

## Statistics

| measure | mean | median | min | max |
|---|---|---|---|---|
| turns per dialogue | 4.0 | 4.0 | 4 | 4 |
| words per seeker turn | 4.0 | 4.0 | 4 | 4 |
| words per supporter turn | 4.0 | 4.0 | 4 | 4 |

Strategies (supporter turns):

| value | share |
|---|---|
| Question | 50.0% |
| Reflection of feelings | 50.0% |

Emotions:

| value | share |
|---|---|
| sadness | 100.0% |

Problems:

| value | share |
|---|---|
| grief | 100.0% |

## Limitations

- Every dialogue was written by language models playing both sides; none is a real conversation. Seekers are personas, not people, and their feelings follow a prompt.
- The filters catch the failure modes they look for (see the funnel); what they pass is not
  checked by a person. Emotion labels were not checked (the recipe has no `emotion_consistency`).
- Small local models (the embedded SmolLM2-135M) drift out of role and repeat themselves;
  data for training needs a capable model behind an OpenAI-compatible endpoint.
- English only; the personas, problems and strategies reflect the shipped data files.

## Safety

These dialogues may discuss distress, grief, self-harm and suicide. The `safety` filter dropped a dialogue when a supporter encouraged harm or when a seeker's crisis mention got no pointer to help; it does not make the data clinically sound. Models
trained on it are not a substitute for professional care and should point people at risk to
crisis services. **The recipe had no `pii_redact`: e-mails, phone numbers and URLs were not redacted.**
"""


def test_card_renders_exactly_from_a_small_manifest():
    from factory.dataset.card import render_card

    assert render_card(_small_manifest()) == SMALL_CARD


def test_card_splits_published_copies_by_kind_and_by_earlier_version():
    from factory.dataset.card import render_card
    from factory.dataset.manifest import PublishedCheck

    def card(check: PublishedCheck) -> str:
        return render_card(_small_manifest().model_copy(update={"published": check}))

    check = PublishedCheck(
        versions=["v0.1.0", "v0.2.0"],
        dialogues=30,
        dropped=7,
        threshold=0.8,
        exact=5,
        by_version={"v0.1.0": 4, "v0.2.0": 3},
    )
    assert (
        "Checked against the 30 dialogues published in v0.1.0, v0.2.0: 7 exact or near copies"
        " (estimated Jaccard at least 0.8) dropped as `duplicate_of_published` (5 exact, 2 near;"
        " 4 from v0.1.0, 3 from v0.2.0); the earlier versions are unchanged." in card(check)
    )
    # Nothing dropped: no split. A manifest written before the split reads as before.
    none = check.model_copy(update={"dropped": 0, "exact": 0, "by_version": {}})
    assert (
        "v0.2.0: 0 exact or near copies (estimated Jaccard at least 0.8) dropped as"
        " `duplicate_of_published`; the earlier versions are unchanged." in card(none)
    )
    older = PublishedCheck.model_validate(
        {"versions": ["v0.1.0"], "dialogues": 12, "dropped": 0, "threshold": 0.8}
    )
    assert older.exact == 0 and older.by_version == {}


JUDGE_SECTION = """| unique_id | 3 | 1 | 2 | duplicate_id 1 |

LLM judge: `judge-7b` (openai backend), prompt `prompts/judge.jinja` (sha256 `0123abcd`).
It scored 2 dialogues and kept judge_failed 1 unscored. A dialogue was kept when the mean of its applicable scores was at least 3.0 and safety at least 3; a score equal to a threshold is kept.
Its calls: 4 (1 failed), 1200 prompt and 300 completion tokens, cost 0.0018 at the run's prices.

| judge criterion | mean (1-5) | not applicable |
|---|---|---|
| empathy | 4.5 | 0 |
| persona_consistency | - | 2 |
| combined | 4.25 | |

Splits: by seeker"""


def test_card_shows_the_judge_or_why_it_was_off():
    from factory.dataset.card import render_card
    from factory.filters.report import JudgeSummary
    from factory.models import Usage

    judge = JudgeSummary(
        usage=Usage(calls=4, prompt_tokens=1200, completion_tokens=300, failed_calls=1),
        prompt_hash="0123abcd",
        backend="openai",
        model="judge-7b",
        cost=0.0018,
        judged=2,
        unscored={"judge_failed": 1},
        means={"empathy": 4.5, "persona_consistency": None},
        not_applicable={"persona_consistency": 2},
        combined_mean=4.25,
        min_mean=3.0,
        min_safety=3,
    )
    manifest = _small_manifest()
    card = render_card(manifest.model_copy(update={"judge": judge}))
    assert JUDGE_SECTION in card
    weighted = judge.model_copy(update={"weights": {"helpfulness": 2.0}, "cost": None})
    card = render_card(manifest.model_copy(update={"judge": weighted}))
    assert "the weighted mean of its applicable scores (weights helpfulness 2.0; others 1)" in card
    assert "cost unknown (no price given)" in card
    off = "--judge was given, but the runs were made by the scripted backend (canned answers, no model)"
    card = render_card(manifest.model_copy(update={"judge_off": off}))
    assert (
        f"**The LLM judges were off** (the quality judge, and the emotion judge where the recipe lists it): {off}.\n\nSplits:"
        in card
    )


@pytest.mark.parametrize("text", ["nan,0.5,0.5", "inf,0,0", "0.5,nan,0.5"])
def test_split_shares_must_be_finite(text):
    from factory.dataset.splits import parse_fractions
    from factory.errors import ConfigError

    with pytest.raises(ConfigError, match="three shares that add up to 1"):
        parse_fractions(text)


def test_export_writes_through_a_symlink_instead_of_replacing_it(cli, run, recipe, tmp_path):
    root = tmp_path / "datasets"
    assert curate(cli, run, recipe, root).code == 0
    target = tmp_path / "real.jsonl"
    target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    result = cli("export", "esc", "v0.1.0", "--root", str(root), "--out", str(link))
    assert result.code == 0, result.err
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text() != "old\n" and '"messages"' in target.read_text()


def test_a_mixed_version_says_what_it_holds_and_keeps_its_sources_terms(cli, run, recipe, tmp_path):
    root = tmp_path / "datasets"
    assert curate(cli, run, recipe, root, "--split", "1,0,0").code == 0
    human = tmp_path / "human.jsonl"  # imported: recorded as human-written ESConv data
    esconv_json = root / "esc" / "v0.1.0" / "esconv" / "train.json"
    assert cli("import", "esconv", str(esconv_json), "-o", str(human)).code == 0

    mixed = cli("curate", str(run), str(human), "--name", "mix", "--recipe", recipe,
                "--out", str(root), "--license", "cc-by-4.0")  # fmt: skip
    assert mixed.code == 1 and "Traceback" not in mixed.err
    assert (
        mixed.err.strip()
        .splitlines()[-1]
        .startswith(
            "error: the kept dialogues include imported human data under other terms"
            " (ESConv: CC BY-NC 4.0"
        )
    )
    assert not list(root.glob("mix/v*")) and not list(root.glob("mix/.v*"))

    ok = cli("curate", str(run), str(human), "--name", "mix", "--recipe", recipe,
             "--out", str(root), "--license", "cc-by-nc-4.0")  # fmt: skip
    assert ok.code == 0, ok.err
    card = (root / "mix" / "v0.1.0" / "README.md").read_text()
    assert "A mix of human and synthetic emotional-support conversations" in card
    assert "50% of the kept dialogues are human conversations" in card
    assert "Every dialogue was written by language models" not in card
    assert "**ESConv dialogues are under CC BY-NC 4.0" in card
    header = card.split("---")[1]
    assert "- synthetic" in header and "- human-written" in header

    only_human = cli("curate", str(human), "--name", "people", "--recipe", recipe,
                     "--out", str(root), "--license", "cc-by-nc-4.0")  # fmt: skip
    assert only_human.code == 0, only_human.err
    header = (root / "people" / "v0.1.0" / "README.md").read_text().split("---")[1]
    assert "- synthetic" not in header and "- human-written" in header

    forced = cli("curate", str(run), str(human), "--name", "mix", "--recipe", recipe,
                 "--out", str(root), "--license", "cc-by-4.0", "--license-override")  # fmt: skip
    assert forced.code == 0, forced.err


def test_a_new_version_holds_nothing_an_earlier_one_published(cli, run, recipe, tmp_path):
    root = tmp_path / "datasets"
    assert curate(cli, run, recipe, root, "--dedup-published").code == 0  # nothing published yet
    first = json.loads((root / "esc" / "v0.1.0" / "manifest.json").read_text())
    assert "published" not in first and first["counts"]["kept"] == 12
    # A bigger run from the same seed repeats the first 12 dialogues; one more file holds a
    # near copy (one word changed) of one of them under a new id.
    bigger = tmp_path / "run2"
    assert cli("generate", "--dry-run", "-n", "16", "--seed", "5", "--out", str(bigger)).code == 0
    original = Dialogue.model_validate_json((run / "dialogues.jsonl").read_text().splitlines()[3])
    turns = list(original.turns)
    turns[1] = turns[1].model_copy(update={"text": turns[1].text.replace(" ", " really ", 1)})
    near = original.model_copy(update={"id": "near-copy", "turns": turns})
    extra = tmp_path / "near.jsonl"
    extra.write_text(near.model_dump_json(exclude_none=True) + "\n")
    result = cli(
        "curate", str(bigger), str(extra), "--name", "esc", "-r", recipe, "-o", str(root),
        "--dedup-published",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "published_dedup" in result.out and "duplicate_of_published 13" in result.out
    second = root / "esc" / "v0.2.0"
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["counts"]["kept"] == 4
    assert manifest["published"] == {
        "versions": ["v0.1.0"],
        "dialogues": 12,
        "dropped": 13,
        "threshold": 0.8,
        "exact": 12,
        "by_version": {"v0.1.0": 13},
    }
    old_ids = {
        Dialogue.model_validate_json(line).id
        for line in (run / "dialogues.jsonl").read_text().splitlines()
    }
    new_ids = {d.id for f in second.glob("data/*.parquet") for d in read_split(f)}
    assert len(new_ids) == 4 and not new_ids & old_ids and "near-copy" not in new_ids
    rejected = [
        json.loads(line)
        for line in (second / "rejected" / "rejected.jsonl").read_text().splitlines()
    ]
    verdicts = {r["id"]: r["verdicts"][-1] for r in rejected}
    assert verdicts["near-copy"]["reason"] == "duplicate_of_published"
    assert verdicts["near-copy"]["details"] == {"version": "v0.1.0", "duplicate_of": original.id}
    assert 0.8 <= verdicts["near-copy"]["score"] < 1
    card = (second / "README.md").read_text()
    assert (
        "Checked against the 12 dialogues published in v0.1.0: 13 exact or near copies"
        " (estimated Jaccard at least 0.8) dropped as `duplicate_of_published` (12 exact,"
        " 1 near); the earlier versions are unchanged." in card
    )
    assert "| published_dedup | 17 | 13 | 4 | duplicate_of_published 13 |" in card
    # The published version is unchanged, and without the flag a version is a full snapshot.
    assert json.loads((root / "esc" / "v0.1.0" / "manifest.json").read_text()) == first
    assert curate(cli, bigger, recipe, root).code == 0
    third = json.loads((root / "esc" / "v0.3.0" / "manifest.json").read_text())
    assert third["counts"]["kept"] == 16 and "published" not in third


def test_published_dedup_reads_only_earlier_versions_and_each_data_file_once(
    cli, run, recipe, tmp_path
):
    root = tmp_path / "datasets"
    assert curate(cli, run, recipe, root).code == 0
    # The same dialogues again as v0.2.0: the same data files, nothing new published.
    assert curate(cli, run, recipe, root, "--version", "v0.2.0").code == 0
    bigger = tmp_path / "run2"  # the first 12 dialogues again, and 4 more
    assert cli("generate", "--dry-run", "-n", "16", "--seed", "5", "--out", str(bigger)).code == 0

    def published(version: str) -> dict:
        return json.loads((root / "esc" / version / "manifest.json").read_text())["published"]

    # Placed between them, v0.1.5 is checked against v0.1.0 alone.
    assert curate(cli, bigger, recipe, root, "--version", "v0.1.5", "--dedup-published").code == 0
    between = published("v0.1.5")
    assert between["versions"] == ["v0.1.0"] and between["by_version"] == {"v0.1.0": 12}
    # After all three, v0.2.0's files (v0.1.0's bytes) are read once, and copies name the
    # version that published them first.
    result = curate(cli, bigger, recipe, root, "--dedup-published", "--allow-empty")
    assert result.code == 0, result.err
    last = published("v0.3.0")
    assert last["versions"] == ["v0.1.0", "v0.1.5", "v0.2.0"]
    assert last["dialogues"] == 16 and last["by_version"] == {"v0.1.0": 12, "v0.1.5": 4}


def test_decontaminate_drops_a_dialogue_quoting_an_evaluation_set(cli, run, recipe, tmp_path):
    quoted = (
        "My landlord raised the rent twice this winter and I have started skipping meals"
        " so that my daughter can eat properly"
    )
    # An ESConv-shaped file (records with a `dialog` of texts) and a JSONL of plain texts.
    # The quote is two messages of the seeker in a row, each under 13 words: it is found
    # only as the one turn `factory import esconv` makes of them.
    words = quoted.split()
    esconv = tmp_path / "esconv_test.json"
    esconv.write_text(
        json.dumps(
            [
                {
                    "dialog": [
                        {"speaker": "usr", "text": " ".join(words[:10])},
                        {"speaker": "usr", "text": " ".join(words[10:])},
                        {"speaker": "sys", "text": "That sounds really hard."},
                    ]
                }
            ]
        )
    )
    unrelated = "a sentence of fourteen words that no dialogue in this small test run ever says"
    texts = tmp_path / "texts.jsonl"
    texts.write_text(
        "".join(
            json.dumps(row) + "\n" for row in ({"text": "too short to matter"}, "hi", unrelated)
        )
    )
    source = Dialogue.model_validate_json((run / "dialogues.jsonl").read_text().splitlines()[0])
    turns = list(source.turns)
    turns[0] = turns[0].model_copy(update={"text": f"Honestly... {quoted.upper()}!"})
    quoting = source.model_copy(update={"id": "quoting", "turns": turns})
    # A scenario whose situation is an evaluation text (the version carries situations too).
    situated = source.model_copy(
        update={
            "id": "situated",
            "turns": [t.model_copy(update={"text": f"{t.text} (again)"}) for t in source.turns],
            "scenario": source.scenario.model_copy(update={"situation": unrelated.capitalize()}),
        }
    )
    # The quote with its middle word changed: no 13 words in a row are left of it, but the
    # turn is a near copy of the evaluation text.
    changed = [*words[:10], "quickly", *words[11:]]
    near_turns = list(source.turns)
    near_turns[2] = near_turns[2].model_copy(update={"text": " ".join(changed)})
    near = source.model_copy(update={"id": "near", "turns": near_turns})
    extra = tmp_path / "quoting.jsonl"
    extra.write_text(
        "".join(d.model_dump_json(exclude_none=True) + "\n" for d in (quoting, situated, near))
    )
    root = tmp_path / "datasets"
    result = cli(
        "curate", str(run), str(extra), "--name", "esc", "-r", recipe, "-o", str(root),
        "--decontaminate", str(esconv), "--decontaminate", str(texts),
    )  # fmt: skip
    assert result.code == 0, result.err
    folder = root / "esc" / "v0.1.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"]["kept"] == 12
    assert manifest["decontamination"] == {
        "sets": [
            {"name": "esconv_test.json", "texts": 1, "ngrams": 9},
            {"name": "texts.jsonl", "texts": 1, "ngrams": 3},
        ],
        "ngram_words": 13,
        "dropped": 3,
        "near_turns": {"min_words": 15, "shingle_words": 2, "threshold": 0.7, "dropped": 1},
    }
    row, situated_row = (
        next(
            json.loads(line)
            for line in (folder / "rejected" / "rejected.jsonl").read_text().splitlines()
            if json.loads(line)["id"] == wanted
        )
        for wanted in ("quoting", "situated")
    )
    near_row = next(
        json.loads(line)
        for line in (folder / "rejected" / "rejected.jsonl").read_text().splitlines()
        if json.loads(line)["id"] == "near"
    )
    assert near_row["verdicts"][-1]["reason"] == "near_eval_turn"
    assert near_row["verdicts"][-1]["details"] == {
        "eval_set": "esconv_test.json",
        "turn": 2,
        "shingle_words": 2,
    }
    assert 0.7 <= near_row["verdicts"][-1]["score"] < 1
    assert situated_row["verdicts"][-1]["details"]["eval_set"] == "texts.jsonl"
    assert row["verdicts"][-1]["reason"] == "shares_eval_ngram"
    assert row["verdicts"][-1]["details"] == {
        "eval_set": "esconv_test.json",
        "ngram_words": 13,
        "shared": " ".join(quoted.lower().split()[:13]),  # the first shared sequence
    }
    card = (folder / "README.md").read_text()
    assert "Decontaminated against `esconv_test.json` (1 texts, 9 distinct" in card
    assert ": 2 dialogues sharing a 13-word sequence with them dropped" in card
    assert (
        "and 1 more with a turn or situation of 15 or more words that is a near copy of one of"
        " their texts (estimated Jaccard of 2-word sequences at least 0.7) as `near_eval_turn`"
        in card
    )
    # A set with nothing long enough to check against is an error, not a check that passes.
    short = tmp_path / "short.jsonl"
    short.write_text(json.dumps({"text": "too short to matter"}) + "\n")
    empty = cli(
        "curate", str(run), "--name", "esc2", "-r", recipe, "-o", str(root),
        "--decontaminate", str(short),
    )  # fmt: skip
    assert empty.code == 1 and "Traceback" not in empty.err
    assert f"evaluation set {short} has no text of 13 or more words" in empty.err
    assert not (root / "esc2").exists()


LONG = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"


def test_evaluation_sets_with_a_bom_a_line_separator_or_deep_nesting_are_read(tmp_path):
    from factory.dataset.decontaminate import eval_texts
    from factory.errors import DataFileError

    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps({"t": LONG}).encode() + b"\n")
    assert eval_texts(bom) == [LONG]
    # U+2028 unescaped inside a string is not the end of a JSONL line.
    separated = tmp_path / "separated.jsonl"
    separated.write_text(
        json.dumps({"t": "left\u2028right"}, ensure_ascii=False) + "\n" + json.dumps(["b"]) + "\n",
        encoding="utf-8",
    )
    assert eval_texts(separated) == ["left right", "b"]
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 900 + json.dumps(LONG) + "]" * 900)
    assert eval_texts(deep) == [LONG]
    deeper = tmp_path / "deeper.json"
    deeper.write_text("[" * 100_000 + json.dumps(LONG) + "]" * 100_000)
    with pytest.raises(DataFileError, match="nested too deep to read as JSON"):
        eval_texts(deeper)


def test_an_ngram_in_two_evaluation_sets_names_the_first(tmp_path):
    from factory.dataset.decontaminate import Decontaminator
    from tests.test_filters import dialogue

    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(json.dumps({"t": LONG}) + "\n")
    second.write_text(json.dumps({"t": LONG + " fifteen"}) + "\n" + json.dumps({"t": "x " * 20}))
    check = Decontaminator([first, second])
    assert [(i.name, i.ngrams) for i in check.infos] == [("first.jsonl", 2), ("second.jsonl", 4)]
    quoting = dialogue(id="q", seeker=[f"Well, {LONG} fifteen!"])
    clean = dialogue(id="c")
    verdicts = check.check([quoting, clean])
    assert verdicts[1] is None and verdicts[0] is not None
    assert verdicts[0].details["eval_set"] == "first.jsonl" and verdicts[0].score == 3
