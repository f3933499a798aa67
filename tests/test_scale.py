"""Curation's streaming data path keeps exactly what the in-memory one kept: on a 10,000-
dialogue set (tests/scale_set.py), the kept ids, each split's ids, the statistics, the funnel
and the rejected and ESConv files' bytes match what commit 446e981 wrote; so do eval's
measures of a file beside a reference and of a version, taken as running aggregates."""

from __future__ import annotations

import json
from pathlib import Path

from scale_set import EXPECTED, curate_versions

REPO = Path(__file__).resolve().parents[1]


def test_streaming_curate_and_eval_match_the_in_memory_ones(tmp_path: Path) -> None:
    expected = json.loads(EXPECTED.read_text())
    got = json.loads(json.dumps(curate_versions(tmp_path, REPO)))
    assert set(got) == set(expected)
    for label in expected:
        for key in expected[label]:
            assert got[label][key] == expected[label][key], f"{label} {key}"
    # The set exercises every step of the data path.
    steps = [s["filter"] for s in got["v0.2.0"]["funnel"]]
    assert steps[-3:] == ["unique_id", "decontaminate", "published_dedup"]
    assert all(s["dropped"] for s in got["v0.2.0"]["funnel"])
    assert got["v0.2.0"]["counts"]["malformed"] > 0


def test_long_steps_report_counts_and_rates_and_short_ones_stay_quiet() -> None:
    from factory.progress import StepCounter

    lines: list[str] = []
    quiet = StepCounter("filtering", lines.append)  # every 10 s: a short step says nothing
    quiet.advance(1000)
    quiet.done()
    assert lines == []
    chatty = StepCounter("writing the version", lines.append, interval_s=0.0)
    chatty.advance(1500)
    chatty.advance(500)
    chatty.done()
    assert lines[0].startswith("writing the version: 1,500 dialogues in ")
    assert lines[1].startswith("writing the version: 2,000 dialogues in ")
    assert lines[-1].endswith(", done") and "/s)" in lines[-1]
