"""Chat layouts: every row of each layout rendered with five model families' chat templates
(TRL's shipped Qwen2.5, Llama 3, Phi-3, Gemma, Gemma 3 and Cohere; Mistral v0.1 written from
its published format), the `strategy` config, and `export --layout`."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from factory.dataset.chat_layout import TEMPLATE_FAMILIES, ChatLayout, arrange
from factory.models import Dialogue, Turn

# Only redaction: `structure` would drop the dialogues with a role twice in a row.
OPEN = "name: open\nfilters:\n  - use: pii_redact\n"


def _odd_shapes(dialogue: Dialogue, n: int) -> Dialogue:
    """Variants of a dialogue the dry-run backend never makes: two seeker turns in a row,
    two supporter turns in a row, ending on the seeker, opening with two greetings."""
    turns = list(dialogue.turns)
    seeker = next(t for t in turns if t.role == "seeker")
    supporter = next(t for t in turns if t.role == "supporter")
    extra = [
        [*turns[:2], seeker.model_copy(update={"text": "And another thing."}), *turns[2:]],
        [*turns, supporter.model_copy(update={"text": "I am here."})],
        [*turns, Turn(role="seeker", text="Thanks, bye.")],
        [supporter.model_copy(update={"text": "Hello!"}), *turns],
    ][n % 4]
    return dialogue.model_copy(update={"id": f"{dialogue.id}-odd{n}", "turns": extra})


@pytest.fixture
def version(cli, tmp_path: Path) -> Path:
    """A version whose rows open with the assistant, end on the user and repeat a role."""
    run = tmp_path / "run"
    assert cli("generate", "--dry-run", "-n", "12", "--seed", "5", "--out", str(run)).code == 0
    lines = (run / "dialogues.jsonl").read_text().splitlines()
    dialogues = [Dialogue.model_validate_json(line) for line in lines]
    mixed = tmp_path / "mixed.jsonl"
    odd = [_odd_shapes(d, i) for i, d in enumerate(dialogues[:8])]
    mixed.write_text("".join(d.model_dump_json() + "\n" for d in [*dialogues, *odd]))
    recipe = tmp_path / "open.yaml"
    recipe.write_text(OPEN)
    root = tmp_path / "datasets"
    result = cli("curate", str(mixed), "--name", "esc", "--recipe", str(recipe), "--out", str(root))
    assert result.code == 0, result.err
    return root / "esc" / "v0.1.0"


def test_each_family_accepts_every_row_of_the_layout_meant_for_it(version):
    pytest.importorskip("trl")
    from bench.chat_templates import accepted

    table = accepted(version)
    manifest = json.loads((version / "manifest.json").read_text())
    changes = manifest["chat"]["changes"]
    rows = 2 * manifest["stats"]["dialogues"]  # `messages` and the `strategy` config
    assert changes["open_with_assistant"] and changes["end_with_user"]
    assert changes["repeat_a_role"]
    assert set(table) == set(TEMPLATE_FAMILIES)
    order = list(ChatLayout)
    for family, needed in TEMPLATE_FAMILIES.items():
        for layout in order[order.index(needed) :]:
            assert table[family][layout] == (rows, rows), (family, layout)
    # The stricter templates do reject rows as they happened: the layouts are needed.
    for family in ("Gemma 3", "Cohere", "Gemma 1/2", "Mistral v0.1"):
        assert table[family][ChatLayout.as_happened][0] < rows


def test_layouts_keep_every_turn_they_can_and_only_drop_what_they_say():
    system = {"role": "system", "content": "Be kind."}
    chat = [
        {"role": "assistant", "content": "Hi there."},
        {"role": "user", "content": "I lost my job."},
        {"role": "user", "content": "And my flat."},
        {"role": "assistant", "content": "That is a lot at once."},
        {"role": "user", "content": "Thanks."},
    ]
    as_happened, counts = arrange([system, *chat], ChatLayout.as_happened)
    assert as_happened == [system, *chat]
    assert (counts.open_with_assistant, counts.end_with_user, counts.repeat_a_role) == (1, 1, 1)
    user_first, _ = arrange([system, *chat], ChatLayout.user_first)
    assert user_first == [system, *chat[1:]]
    alternating, _ = arrange([system, *chat], ChatLayout.alternating)
    assert [m["role"] for m in alternating] == ["system", "user", "assistant"]
    assert alternating[1]["content"] == "I lost my job.\n\nAnd my flat."
    no_system, _ = arrange([system, *chat], ChatLayout.no_system)
    assert no_system[0] == {"role": "user", "content": "Be kind.\n\nI lost my job.\n\nAnd my flat."}
    assert [m["role"] for m in no_system] == ["user", "assistant"]
    # The input is never changed in place.
    assert chat[1]["content"] == "I lost my job."
    _, lonely = arrange([system, chat[0]], ChatLayout.user_first)
    assert lonely.no_reply == 1


def test_strategy_config_and_export_follow_the_layout(cli, version, tmp_path):
    datasets = pytest.importorskip("datasets")
    strategy = datasets.load_dataset(str(version), "strategy", cache_dir=str(tmp_path / "c"))
    plain = datasets.load_dataset(str(version), cache_dir=str(tmp_path / "c"))
    row = strategy["train"][0]
    original = next(r for r in plain["train"] if r["id"] == row["id"])
    replies = [m for m in row["messages"] if m["role"] == "assistant"]
    assert replies and all(m["content"].startswith("[") for m in replies)
    strategies = [t["strategy"] for t in original["turns"] if t["role"] == "supporter"]
    assert replies[0]["content"].startswith(f"[{strategies[0]}] ")
    assert len(row["messages"]) == len(original["messages"])

    out = tmp_path / "gemma.jsonl"
    root = str(version.parent.parent)
    result = cli(
        "export", "esc", "v0.1.0", "--root", root, "--layout", "no_system", "--out", str(out)
    )
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(plain["train"])
    for exported in rows:
        roles = [m["role"] for m in exported["messages"]]
        assert roles[0] == "user" and roles[-1] == "assistant"
        assert all(a != b for a, b in itertools.pairwise(roles))


def test_preferences_join_an_existing_version_as_a_patch_with_a_loud_scripted_warning(
    cli, version, tmp_path
):
    settings = tmp_path / "prefs.yaml"
    settings.write_text("backend: {kind: scripted, model: canned-7b}\n")
    root = str(version.parent.parent)
    before = {p: p.read_bytes() for p in version.rglob("*") if p.is_file()}
    result = cli("preferences", "esc", "v0.1.0", "--preferences", str(settings), "--root", root)
    assert result.code == 0, result.err
    patch = version.parent / "v0.1.1"
    assert "saved esc v0.1.1 (from v0.1.0)" in result.out
    assert {p: p.read_bytes() for p in version.rglob("*") if p.is_file()} == before
    old = json.loads((version / "manifest.json").read_text())
    new = json.loads((patch / "manifest.json").read_text())
    assert new["derived_from"] == "v0.1.0" and new["preferences"]["counts"]["pairs"] > 0
    for relative in [*old["split_files"].values(), *old["chat"]["strategy_files"].values()]:
        assert (patch / relative).read_bytes() == (version / relative).read_bytes()
        assert new["data_files"][relative] == old["data_files"][relative]
    assert new["chat"]["tokens"] == old["chat"]["tokens"]
    assert set(new["chat"]["preference_tokens"]) <= {"train", "validation", "test"}
    card = (patch / "README.md").read_text()
    assert "config_name: preferences" in card and "The same data as esc v0.1.0" in card
    assert "written and judged by the scripted backend, model `canned-7b`" in card
    assert card.count("**Warning") >= 2 and "these pairs are not real data" in card
    assert "Warning" not in (version / "README.md").read_text()

    again = cli("preferences", "esc", "v0.1.0", "--preferences", str(settings), "--root", root)
    assert again.code == 0 and (version.parent / "v0.1.2").is_dir()
    prompt = tmp_path / "other.txt"
    prompt.write_text("You are someone else.")
    wrong = cli(
        "preferences",
        "esc",
        "v0.1.0",
        "--preferences",
        str(settings),
        "--root",
        root,
        "--system-prompt",
        str(prompt),
    )
    assert wrong.code == 1 and "another system prompt" in wrong.err
    assert len(wrong.err.strip().splitlines()) == 1


def test_an_embedded_backend_card_warns_and_a_real_one_does_not():
    from factory.dataset.card import render_card
    from factory.dataset.manifest import PreferenceInfo
    from factory.dataset.preferences import PreferenceConfig, PreferenceCounts
    from factory.models import Usage
    from tests.test_dataset import _small_manifest

    for backend, warned in (
        ({"kind": "local", "model": "m"}, True),
        ({"kind": "openai", "model": "m", "base_url": "http://127.0.0.1:8000/v1"}, False),
    ):
        info = PreferenceInfo(
            split_files={"train": "preferences/train-a.parquet"},
            counts=PreferenceCounts(pairs=3),
            usage=Usage(),
            judge_prompt="abc",
            settings=PreferenceConfig.model_validate({"backend": backend}),
        )
        card = render_card(_small_manifest().model_copy(update={"preferences": info}))
        assert ("**Warning" in card) is warned, backend
        assert f"written and judged by the {backend['kind']} backend, model `m`" in card
