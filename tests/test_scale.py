"""Curation's streaming data path keeps exactly what the in-memory one kept: on a 10,000-
dialogue set (tests/scale_set.py), the kept ids, each split's ids, the statistics, the funnel
and the ESConv files' bytes and the rejected rows match what commit 446e981 wrote (save that
rejected.jsonl holds malformed lines whole since 5764a27, where they were cut at 2,000
characters); so do eval's measures of a file beside a reference and of a version, taken as
running aggregates."""

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


def test_the_streamed_esconv_json_is_what_json_dump_writes() -> None:
    import io
    import random

    from factory.dataset.export import EsconvList, indented

    rng = random.Random(3)

    def value(depth: int) -> object:
        roll = rng.random()
        if depth < 4 and roll < 0.25:
            keys = [rng.choice(["a", "é", 'k\n"']) + str(i) for i in range(rng.randrange(4))]
            return {key: value(depth + 1) for key in keys}
        if depth < 4 and roll < 0.5:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return rng.choice([1, -2.5, 1e20, True, None, 'q "\\ \n\u2028\x00', "", 0.1])

    for _ in range(3000):
        v = value(0)
        assert indented(v) == json.dumps(v, ensure_ascii=False, indent=1)
    records = [
        {"id": "a", "dialog": [{"speaker": "seeker", "annotation": {}, "content": 'hi "x"'}]},
        {"id": "b", "dialog": [{"speaker": "supporter", "annotation": {"strategy": "Question"}, "content": "é"}]},
        {"id": "c", "dialog": [{"content": "other order", "speaker": "seeker", "annotation": {}}]},
        {"id": "d", "dialog": []},
    ]  # fmt: skip
    for rows in (records, records[:1], []):
        handle = io.StringIO()
        listed = EsconvList(handle)
        for record in rows:
            listed.add(record)
        listed.close()
        assert handle.getvalue() == json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
