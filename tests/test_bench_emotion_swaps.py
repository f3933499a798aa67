"""bench/emotion_swaps.py: the swapped copies it scores (every emotion outside the
dialogue's family, the text unchanged) and the dialogues it leaves out."""

from __future__ import annotations

from bench.emotion_swaps import load, swapped
from factory.filters.emotion_consistency import emotion_families
from factory.jsonl import model_line
from tests.test_filters import dialogue


def test_swaps_cover_every_emotion_of_the_other_families(tmp_path):
    families = emotion_families()
    first, second = dialogue(id="a"), dialogue(id="b")  # both stated "anxiety"
    failed = dialogue(id="c", end_reason="error:parse")
    unknown = dialogue(id="d")
    unknown = unknown.model_copy(
        update={"scenario": unknown.scenario.model_copy(update={"emotion_type": "boredom"})}
    )
    path = tmp_path / "d.jsonl"
    path.write_text("".join(model_line(d) for d in (first, failed, unknown, second)))
    kept = load([path], families)
    assert [d.id for d in kept] == ["a", "b"]
    swaps = swapped(kept, families)
    outside = [e for e, f in families.items() if f != families["anxiety"]]
    assert len(swaps) == 2 * len(outside) and 0 < len(outside) < len(families)
    assert [d.scenario.emotion_type for d, _ in swaps[: len(outside)]] == outside
    assert {own for _, own in swaps} == {families["anxiety"]}
    assert all(d.turns == first.turns for d, _ in swaps)
