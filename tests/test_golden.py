"""The same seeds give the same files: dialogues, scenario banks, filter outputs, dataset
versions, exports and eval reports match what the code produced before the package was
reorganised (tests/golden/expected.json, made by `python -m tests.golden.artifacts`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden.artifacts import EXPECTED, SHARED, build


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")
def test_fixed_seeds_reproduce_the_golden_artifacts(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    expected = json.loads(EXPECTED.read_text())
    actual = build(tmp_path)
    assert sorted(actual) == sorted(expected)
    changed = sorted(name for name in expected if actual[name] != expected[name])
    assert changed == []
