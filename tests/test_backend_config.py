"""Backend options: one model per kind chosen by `kind` (local when omitted), a registry that
builds every kind and nothing else, and backends that refuse calls before start()."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from factory.backends import BUILDERS, build_backend
from factory.backends.base import BackendKind, ChatRequest
from factory.backends.config import (
    BackendConfig,
    DistilabelOptions,
    LocalOptions,
    OpenAIOptions,
    ScriptedOptions,
    VLLMOptions,
    dry_run_options,
    flag_overrides,
)
from factory.backends.distilabel_backend import DistilabelBackend
from factory.backends.local import LocalBackend
from factory.backends.openai_backend import OpenAIBackend
from factory.backends.vllm_backend import VLLMBackend
from factory.errors import BackendNotStarted, ConfigError
from factory.runs.config import load_config

REQUEST = ChatRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=8, temperature=0)


def config_error(tmp_path: Path, yaml_text: str) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_key_of_another_backend_is_refused_naming_the_allowed_keys(tmp_path):
    message = config_error(tmp_path, "backend:\n  kind: openai\n  repeat_penalty: 1.2\n")
    assert "unknown key 'backend.repeat_penalty'" in message
    allowed = message.split("(allowed with kind openai: ", 1)[1].rstrip(")").split(", ")
    assert allowed == list(OpenAIOptions.model_fields)
    assert "repeat_penalty" not in allowed


def test_a_section_without_kind_is_the_local_backend(tmp_path):
    assert isinstance(load_config(None).backend, LocalOptions)
    path = tmp_path / "c.yaml"
    for text in ("n: 2\n", "backend: {}\n", "backend:\n  n_ctx: 4096\n"):
        path.write_text(text)
        backend = load_config(path).backend
        assert isinstance(backend, LocalOptions) and backend.kind is BackendKind.local
    assert load_config(path).backend.n_ctx == 4096
    message = config_error(tmp_path, "backend:\n  base_url: http://x/v1\n")
    assert "unknown key 'backend.base_url' (allowed with kind local:" in message


def test_bounds_and_values_are_checked_per_kind(tmp_path):
    message = config_error(tmp_path, "backend:\n  kind: openai\n  timeout_s: 0\n")
    assert "backend.timeout_s: Input should be greater than 0" in message
    message = config_error(tmp_path, "backend:\n  kind: vllm\n  batch_window_s: 2\n")
    assert "backend.batch_window_s: Input should be less than or equal to 1" in message


def test_an_unknown_kind_is_an_error_not_the_scripted_backend(tmp_path):
    message = config_error(tmp_path, "backend:\n  kind: gpt5\n")
    assert "backend.kind: unknown value 'gpt5'" in message
    assert "allowed: local, openai, vllm, distilabel, scripted" in message
    # Past validation too (a config built without it): no kind falls through to another.
    with pytest.raises(ConfigError, match="'gpt5' has no backend"):
        build_backend(ScriptedOptions.model_construct(kind="gpt5"), 1)


def test_the_registry_builds_every_kind_and_only_those(tmp_path):
    union = get_args(get_args(BackendConfig)[0])
    kinds_in_union = {member.model_fields["kind"].default for member in union}
    assert set(BUILDERS) == set(BackendKind) == kinds_in_union
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"")
    options = [
        LocalOptions(model=str(gguf)),
        OpenAIOptions(model="served"),
        VLLMOptions(),
        DistilabelOptions(llm_class="pkg.module.LLM"),
        ScriptedOptions(),
    ]
    for option in options:
        assert build_backend(option, 2).name == option.kind.value


def test_several_base_urls_are_one_balanced_backend():
    from factory.backends.multi import MultiEndpointBackend

    one = build_backend(OpenAIOptions(model="m", base_urls=["http://a:1/v1"]), 2)
    assert isinstance(one, OpenAIBackend) and one.base_url == "http://a:1/v1"
    several = build_backend(
        OpenAIOptions(model="m", base_urls=["http://a:1/v1", "http://b:1/v1"]), 2
    )
    assert isinstance(several, MultiEndpointBackend) and len(several.endpoints) == 2


def test_backend_flags_become_overrides():
    assert flag_overrides(None, None, None) == {
        "backend.kind": None,
        "backend.base_url": None,
        "backend.base_urls": None,
        "backend.model": None,
    }
    single = flag_overrides(BackendKind.openai, "http://a:1/v1", "m")
    assert single["backend.base_url"] == "http://a:1/v1" and single["backend.base_urls"] is None
    several = flag_overrides(None, "http://a:1/v1, http://b:1/v1,", None)
    assert several["backend.base_urls"] == ["http://a:1/v1", "http://b:1/v1"]
    assert several["backend.base_url"] is None
    with pytest.raises(ConfigError, match="--base-url is empty"):
        flag_overrides(None, " , ", None)


def test_a_dry_run_keeps_the_model_name_for_the_fingerprint():
    stand_in = dry_run_options(OpenAIOptions(model="served", base_url="http://a:1/v1"))
    assert stand_in == ScriptedOptions(model="served")


async def test_a_backend_called_before_start_says_so(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"")
    backends = [
        LocalBackend(LocalOptions(model=str(gguf))),
        OpenAIBackend(OpenAIOptions(), 2),
        VLLMBackend(VLLMOptions(model="tiny"), engine_factory=lambda c: object()),
        DistilabelBackend(DistilabelOptions(llm_class="pkg.module.LLM")),
    ]
    for backend in backends:
        with pytest.raises(BackendNotStarted, match=r"called before start\(\)"):
            await backend.complete(REQUEST)
