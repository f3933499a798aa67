"""A version as TRL's users feed it: examples/train_sft.py (assistant-only loss) and
examples/train_dpo.py on a tiny random Llama with a tokenizer trained here, and the card's
token lengths checked against that tokenizer."""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
from pathlib import Path
from types import ModuleType

import pytest

from factory.dataset.tokens import TokenTally

LENIENT = "name: lenient\nfilters:\n  - use: structure\n    min_turns: 2\n"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _texts(version: Path) -> list[str]:
    import pyarrow.parquet as pq

    out = []
    for path in version.rglob("*.parquet"):
        table = pq.read_table(path)
        for column in ("messages", "prompt", "chosen", "rejected"):
            if column in table.column_names:
                out += [m["content"] for row in table.column(column).to_pylist() for m in row]
    return out


def qwen_tokenizer(texts: list[str], folder: Path) -> Path:
    """A byte-level BPE trained on `texts`, with Qwen2.5's special tokens and TRL's shipped
    Qwen2.5 chat template (so TRL swaps in its training template, as for the real model)."""
    from importlib import resources

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=2000,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    core.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    template = resources.files("trl") / "chat_templates" / "qwen2_5.jinja"
    tokenizer.chat_template = template.read_text(encoding="utf-8")
    tokenizer.save_pretrained(folder)
    return folder


def tiny_llama(tokenizer_folder: Path, folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def version(cli, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    assert cli("generate", "--dry-run", "-n", "12", "--seed", "5", "--out", str(run)).code == 0
    recipe = tmp_path / "lenient.yaml"
    recipe.write_text(LENIENT)
    prefs = tmp_path / "prefs.yaml"
    prefs.write_text("backend: {kind: scripted}\nturns_per_dialogue: 3\n")
    root = tmp_path / "datasets"
    args = ["curate", str(run), "--name", "esc", "--recipe", str(recipe), "--out", str(root)]
    result = cli(*args, "--preferences", str(prefs), "--layout", "alternating")
    assert result.code == 0, result.err
    return root / "esc" / "v0.1.0"


def _falls(losses: list[float]) -> bool:
    third = max(1, len(losses) // 3)
    return statistics.fmean(losses[-third:]) < statistics.fmean(losses[:third])


@pytest.fixture
def one_thread():
    """Torch on one thread: on a small shared machine its thread pool fights the other
    processes for the cores and a tiny model's step takes 2 s instead of 0.1 s."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_sft_then_dpo_examples_train_a_tiny_model_with_falling_loss(version, tmp_path, one_thread):
    pytest.importorskip("trl")
    tokenizer = qwen_tokenizer(_texts(version), tmp_path / "tok")
    model = tiny_llama(tokenizer, tmp_path / "tiny")
    # DPO drops pairs whose prompt fills max_length, so it gets more room.
    common = ["--max-steps", "12", "--batch-size", "4", "--learning-rate", "3e-3"]

    sft = _example("train_sft").main(
        [
            str(version),
            "--model",
            str(model),
            "--out",
            str(tmp_path / "sft"),
            *common,
            "--max-length",
            "512",
        ]
    )
    assert len(sft) == 12 and all(math.isfinite(x) for x in sft)
    assert _falls(sft), sft

    dpo = _example("train_dpo").main(
        [
            str(version),
            "--model",
            str(tmp_path / "sft"),
            "--out",
            str(tmp_path / "dpo"),
            *common,
            "--max-length",
            "1024",
        ]
    )
    assert len(dpo) == 12 and all(math.isfinite(x) for x in dpo)
    assert _falls(dpo), dpo


def test_assistant_only_loss_masks_everything_but_the_supporter(version, tmp_path):
    pytest.importorskip("trl")
    from datasets import load_dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer_folder = qwen_tokenizer(_texts(version), tmp_path / "tok")
    model = tiny_llama(tokenizer_folder, tmp_path / "tiny")
    tokenizer = AutoTokenizer.from_pretrained(model)
    train = load_dataset(str(version), split="train", cache_dir=str(tmp_path / "c"))
    config = SFTConfig(
        output_dir=str(tmp_path / "o"),
        assistant_only_loss=True,
        max_length=None,
        report_to=[],
        bf16=False,
    )
    trainer = SFTTrainer(
        model=str(model),
        args=config,
        train_dataset=train.select_columns(["messages"]),
        processing_class=tokenizer,
    )
    batch = trainer.data_collator([trainer.train_dataset[0]])
    labels = batch["labels"][0].tolist()
    text = tokenizer.decode([i for i in labels if i != -100])
    first = next(m for m in train[0]["messages"] if m["role"] == "assistant")["content"]
    seeker = next(m for m in train[0]["messages"] if m["role"] == "user")["content"]
    assert first.split()[0] in text and seeker not in text


ESCONV_TEST = Path(__file__).resolve().parents[2] / "shared/data/esconv/esconv_test.jsonl"


@pytest.fixture(params=["dry-run", "esconv"])
def curated_source(request, cli, tmp_path: Path) -> Path:
    """Dialogues to curate: a dry run, or ESConv's test split (research-only data, read from
    ../shared and never copied into the repository; skipped where it is absent)."""
    if request.param == "dry-run":
        run = tmp_path / "run"
        assert cli("generate", "--dry-run", "-n", "12", "--seed", "5", "--out", str(run)).code == 0
        return run / "dialogues.jsonl"
    if not ESCONV_TEST.is_file():
        pytest.skip("../shared/data/esconv is not present")
    out = tmp_path / "esconv"
    assert cli("import", "esconv", str(ESCONV_TEST), "--out", str(out)).code == 0
    return out


def test_token_lengths_in_the_card_match_the_named_tokenizer(cli, curated_source, tmp_path):
    pytest.importorskip("transformers")
    import pyarrow.parquet as pq
    from transformers import AutoTokenizer

    recipe = tmp_path / "lenient.yaml"
    recipe.write_text(LENIENT)

    def curate(root: Path, *extra: str) -> Path:
        args = ["--name", "esc", "--recipe", str(recipe), "--out", str(root), *extra]
        result = cli("curate", str(curated_source), *args)
        assert result.code == 0, result.err
        return root / "esc" / "v0.1.0"

    folder = qwen_tokenizer(_texts(curate(tmp_path / "estimated")), tmp_path / "tok")
    counted = curate(tmp_path / "counted", "--tokenizer", str(folder))
    manifest = json.loads((counted / "manifest.json").read_text())
    chat = manifest["chat"]
    assert chat["token_method"] == "tokenizer `tok` with its chat template"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    for split, relative in manifest["split_files"].items():
        lengths = []
        for row in pq.read_table(counted / relative).column("messages").to_pylist():
            ids = tokenizer.apply_chat_template(row, tokenize=True)
            lengths.append(len(ids["input_ids"] if hasattr(ids, "keys") else ids))
        stats = chat["tokens"][split]
        assert stats["conversations"] == len(lengths) == manifest["splits"][split]
        assert stats["max"] == max(lengths)
        assert stats["median"] == pytest.approx(statistics.median(lengths), abs=0.05)
        within = sum(n <= stats["max_length_95"] for n in lengths)
        assert within >= 0.95 * len(lengths) > sum(n < stats["max_length_95"] for n in lengths)
    card = (counted / "README.md").read_text()
    assert "tokenizer `tok` with its chat template" in card
    train = chat["tokens"]["train"]
    assert f"| default | train | {train['conversations']} | {train['median']} |" in card


def test_the_estimate_says_it_is_one_and_a_bad_tokenizer_is_one_line(cli, version, tmp_path):
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["chat"]["token_method"].startswith("estimate")
    assert "estimate (characters / 4" in (version / "README.md").read_text()
    run, recipe = tmp_path / "run", tmp_path / "lenient.yaml"
    args = ["curate", str(run), "--name", "x", "--recipe", str(recipe), "--out", str(tmp_path)]
    result = cli(*args, "--tokenizer", str(tmp_path / "nowhere"))
    assert result.code == 1 and result.err.startswith("error: --tokenizer")
    assert len(result.err.strip().splitlines()) == 1

    pytest.importorskip("trl")
    from importlib import resources

    gemma = qwen_tokenizer(_texts(version), tmp_path / "gemma")
    template = resources.files("trl") / "chat_templates" / "gemma.jinja"
    config = json.loads((gemma / "tokenizer_config.json").read_text())
    config["chat_template"] = template.read_text(encoding="utf-8")
    (gemma / "tokenizer_config.json").write_text(json.dumps(config))
    for extra in gemma.glob("chat_template.jinja"):
        extra.write_text(template.read_text(encoding="utf-8"))
    rejected = cli(*args, "--tokenizer", str(gemma))
    assert rejected.code == 1 and "System role not supported" in rejected.err
    assert "--layout" in rejected.err and len(rejected.err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
    accepted = cli(*args, "--tokenizer", str(gemma), "--layout", "no_system")
    assert accepted.code == 0, accepted.err


def test_token_tally_percentiles_follow_numpy():
    np = pytest.importorskip("numpy")
    tally = TokenTally()
    values = [5, 1, 9, 9, 3, 250, 42, 7, 7, 7, 100, 12, 13, 14, 2, 8, 60, 61, 62, 30]
    for v in values:
        tally.add("train", v)
    stats = tally.stats()["train"]
    assert stats.median == pytest.approx(float(np.percentile(values, 50)), abs=0.05)
    assert stats.p95 == pytest.approx(float(np.percentile(values, 95)), abs=0.05)
    assert stats.max == 250 and stats.conversations == 20
    assert stats.max_length_95 == sorted(values)[18]  # 19 of 20 whole


def test_preference_prompts_follow_the_version_layout(version):
    import itertools

    import pyarrow.parquet as pq

    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["chat"]["layout"] == "alternating"
    assert set(manifest["chat"]["preference_tokens"]) == set(manifest["preferences"]["split_files"])
    for relative in manifest["preferences"]["split_files"].values():
        for row in pq.read_table(version / relative).to_pylist():
            roles = [m["role"] for m in row["prompt"]]
            assert roles[0] == "system" and roles[1] == "user" and roles[-1] == "user"
            assert all(a != b for a, b in itertools.pairwise(roles))
