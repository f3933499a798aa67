"""Curation's streaming data path keeps exactly what the in-memory one kept: on a 10,000-
dialogue set (tests/scale_set.py), the kept ids, each split's ids, the statistics, the funnel
and the rejected and ESConv files' bytes match what commit 446e981 wrote."""

from __future__ import annotations

import json
from pathlib import Path

from scale_set import EXPECTED, curate_versions

REPO = Path(__file__).resolve().parents[1]


def test_streaming_curate_keeps_what_the_in_memory_one_kept(tmp_path: Path) -> None:
    expected = json.loads(EXPECTED.read_text())
    got = json.loads(json.dumps(curate_versions(tmp_path, REPO)))
    for label in ("v0.1.0", "v0.2.0"):
        for key in expected[label]:
            assert got[label][key] == expected[label][key], f"{label} {key}"
    # The set exercises every step of the data path.
    steps = [s["filter"] for s in got["v0.2.0"]["funnel"]]
    assert steps[-3:] == ["unique_id", "decontaminate", "published_dedup"]
    assert all(s["dropped"] for s in got["v0.2.0"]["funnel"])
    assert got["v0.2.0"]["counts"]["malformed"] > 0
