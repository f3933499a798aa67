"""The in-process vLLM backend: step-synchronous batching with a stand-in engine (no GPU
here), the SamplingParams it builds, the missing-extra error, and a real run on a tiny random
model where a CUDA GPU and vLLM are present."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from factory.backends.base import ChatRequest
from factory.backends.scripted import canned_response
from factory.backends.vllm_backend import VLLMBackend, VLLMOptions, sampling_params
from factory.runs.config import load_config
from factory.runs.generate import generate


@dataclass
class _Choice:
    text: str
    token_ids: list[int]


@dataclass
class _Output:
    outputs: list[_Choice]
    prompt_token_ids: list[int]


@dataclass
class FakeLLM:
    """Answers each conversation of a batch like the scripted backend would."""

    batches: list[int] = field(default_factory=list)

    def chat(self, conversations, params, use_tqdm=False):
        assert len(conversations) == len(params) and use_tqdm is False
        self.batches.append(len(conversations))
        out = []
        for messages, request in zip(conversations, params, strict=True):
            text = canned_response(request)  # `params` are the requests themselves here
            prompt = sum(len(m["content"].split()) for m in messages)
            out.append(
                _Output([_Choice(text, list(range(len(text.split()))))], list(range(prompt)))
            )
        return out


async def test_each_step_of_all_active_dialogues_is_one_batch(tmp_path):
    # One length and one opening for all, so the dialogues can move in step.
    fixed = {"target_exchanges": 6, "supporter_first_share": 0.0, "closing_reply_share": 0.0}
    config = load_config(
        None,
        {
            "backend.kind": "vllm",
            "backend.model": "tiny",
            "n": 8,
            "concurrency": 8,
            **{f"roleplay.{k}": v for k, v in fixed.items()},
        },
    )
    engine = FakeLLM()
    backend = VLLMBackend(config.backend, engine_factory=lambda c: engine, params=lambda r: r)
    report = await generate(config, tmp_path / "run", backend=backend)
    finished = report.end_reasons["seeker_closed"] + report.end_reasons["completed"]
    assert report.written == 8 and finished == 8
    # The first batch holds every dialogue's first call; then the dialogues move in step.
    assert engine.batches[0] == 8
    assert sum(engine.batches) == report.usage.calls
    assert sum(engine.batches) / len(engine.batches) >= 6
    lines = (tmp_path / "run" / "dialogues.jsonl").read_text().splitlines()
    assert {json.loads(x)["generation"]["backend"] for x in lines} == {"vllm"}


def _fake_vllm(monkeypatch, structured: bool) -> dict:
    seen: dict = {}
    vllm = types.ModuleType("vllm")
    params = types.ModuleType("vllm.sampling_params")

    class SamplingParams:
        def __init__(self, **kwargs):
            seen.update(kwargs)

    class Constraint:
        def __init__(self, json):
            self.json = json

    vllm.SamplingParams = SamplingParams
    if structured:
        params.StructuredOutputsParams = Constraint
    else:
        params.GuidedDecodingParams = Constraint
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", params)
    return seen


@pytest.mark.parametrize("structured", [True, False])
def test_sampling_params_carry_the_json_schema(monkeypatch, structured):
    seen = _fake_vllm(monkeypatch, structured)
    schema = {"type": "object", "properties": {"strategy": {"enum": ["Question"]}}}
    request = ChatRequest(
        messages=[{"role": "user", "content": "x"}],
        max_tokens=64,
        temperature=0.7,
        top_p=0.9,
        stop=("\nSeeker:",),
        json_schema=schema,
        seed=5,
    )
    sampling_params(request)
    key = "structured_outputs" if structured else "guided_decoding"
    assert seen[key].json == schema
    assert (seen["max_tokens"], seen["temperature"], seen["top_p"], seen["seed"]) == (
        64,
        0.7,
        0.9,
        5,
    )
    assert seen["stop"] == ["\nSeeker:"]


def test_without_vllm_the_backend_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import fails as if not installed
    result = cli("generate", "-b", "vllm", "-m", "tiny", "-n", "1", "-o", str(tmp_path / "r"))
    assert result.code == 1 and "vllm is not installed" in result.err
    assert "esc-factory[vllm]" in result.err and "Traceback" not in result.err


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="needs a CUDA GPU")
def test_vllm_on_a_tiny_random_model(tmp_path: Path):
    """A 2-layer Llama with random weights and a word-level tokenizer, made here (no
    download): the text is noise, the point is that the engine, the batching and the
    structured outputs run end to end."""
    pytest.importorskip("vllm")
    import asyncio

    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = sorted({w for line in Path(__file__).read_text().split() for w in [line.lower()]})[
        :2000
    ]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{w: i + 3 for i, w in enumerate(words)}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"
    )
    model_dir = tmp_path / "tiny-llama"
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=2048,
    )
    LlamaForCausalLM(config).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    settings = load_config(
        None,
        {
            "backend.kind": "vllm",
            "backend.model": str(model_dir),
            "backend.engine_args": {"gpu_memory_utilization": 0.3, "enforce_eager": True},
            "n": 4,
            "concurrency": 4,
            "roleplay.max_exchanges": 3,
            "roleplay.min_exchanges": 1,
        },
    )
    backend = VLLMBackend(settings.backend)
    report = asyncio.run(generate(settings, tmp_path / "run", backend=backend))
    assert report.written + report.backend_failures == 4
    assert backend.batch_sizes and max(backend.batch_sizes) > 1


async def test_a_failing_or_short_batch_fails_its_calls_and_the_loop_goes_on():
    from factory.errors import BackendError

    class Flaky(FakeLLM):
        def chat(self, conversations, params, use_tqdm=False):
            out = super().chat(conversations, params)  # records the batch size
            if len(self.batches) == 1:
                raise RuntimeError("CUDA error: out of memory")
            return out[:-1] if len(self.batches) == 2 else out  # the second: one output short

    import asyncio

    engine = Flaky()
    backend = VLLMBackend(
        VLLMOptions(model="tiny"),
        engine_factory=lambda c: engine,
        params=lambda r: r,
    )
    request = ChatRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=8, temperature=0)
    with pytest.raises(BackendError):
        await backend.complete(request)  # not started yet
    await backend.start()
    try:
        first = await asyncio.gather(
            *(backend.complete(request) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, BackendError) and "out of memory" in str(r) for r in first)
        second = await asyncio.gather(
            *(backend.complete(request) for _ in range(2)), return_exceptions=True
        )
        assert all(isinstance(r, BackendError) and "returned 1 outputs" in str(r) for r in second)
        third = await backend.complete(request)
        assert third.text and third.usage.calls == 1
    finally:
        await backend.close()
    assert engine.batches == [3, 2, 1]
