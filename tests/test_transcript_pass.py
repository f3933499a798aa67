"""A recipe of dedup filters alone runs without holding parsed dialogues
(filters/transcript_pass.py): the same kept.jsonl, rejected.jsonl and report as the general
path, on input made to reach every branch it has."""

import json
import random
from pathlib import Path

import pytest

from factory.filters.exact_dedup import ExactDedupFilter
from factory.filters.minhash_dedup import MinHashDedupFilter
from factory.filters.pipeline import run_recipe
from factory.filters.recipe import load_recipe
from factory.models import Dialogue, Turn, Verdict
from tests.test_filters import dialogue

DEDUP = "name: dedup\nfilters:\n  - use: exact_dedup\n  - use: minhash_dedup\n"


def _said(rng: random.Random, words: int) -> str:
    pool = [
        "sleep",
        "work",
        "mother",
        "exam",
        "money",
        "friend",
        "lonely",
        "tired",
        "worried",
        "call",
        "week",
        "plan",
        "rent",
    ]
    return " ".join(rng.choice(pool) for _ in range(words)).capitalize() + "."


def _distinct(rng: random.Random, id: str) -> Dialogue:
    seeker = [_said(rng, 12) for _ in range(4)]
    supporter = [_said(rng, 10) for _ in range(4)]
    return dialogue(seeker=seeker, supporter=supporter, id=id)


def _mixed_input(tmp_path: Path) -> list[Path]:
    """Two files: distinct dialogues, exact copies (case and spacing changed), near copies,
    lines in other forms (json.dumps' spacing, None fields written out), dialogues with
    verdicts of their own, non-ASCII text, a text holding a separator byte the batch
    normaliser uses, malformed and blank lines."""
    rng = random.Random(5)
    rows: list[str] = []
    made = [_distinct(rng, f"d{i}") for i in range(24)]
    for i, d in enumerate(made):
        rows.append(d.model_dump_json(exclude_none=True))
        if i % 5 == 1:  # an exact copy, shouted and spaced out
            turns = [t.model_copy(update={"text": "  " + t.text.upper() + " !"}) for t in d.turns]
            rows.append(d.model_copy(update={"id": f"copy-{i}", "turns": turns}).model_dump_json())
        if i % 5 == 2:  # a near copy: one word of one turn changed
            turns = list(d.turns)
            turns[3] = turns[3].model_copy(update={"text": turns[3].text + " really"})
            near = d.model_copy(update={"id": f"near-{i}", "turns": turns})
            rows.append(json.dumps(near.model_dump(mode="json")))  # spaced, nulls written
        if i % 7 == 3:
            rows.append("{not json")
        if i % 6 == 0:
            rows.append("")
    judged = made[4].with_verdicts([Verdict(filter="structure", keep=True, reason="ok")])
    rows.append(judged.model_copy(update={"id": "own-verdicts-copy"}).model_dump_json())
    rows.append(
        _distinct(rng, "own-verdicts")
        .with_verdicts([Verdict(filter="structure", keep=True, reason="ok")])
        .model_dump_json(exclude_none=True)
    )
    other = _distinct(rng, "accents")
    other.turns[2] = Turn(role="seeker", text="Je suis épuisée, vraiment. Ça ne va pas.")
    rows.append(other.model_dump_json(exclude_none=True))
    rows.append(json.dumps(_distinct(rng, "spaced").model_dump(mode="json")))
    rows.append(json.dumps({"id": "no-turns-key"}))  # valid JSON, not a dialogue
    first = tmp_path / "a.jsonl"
    first.write_text("\n".join(rows) + "\n")
    control = dialogue(id="control")
    control.turns[0] = Turn(role="seeker", text="I lost\x01 my job\x02 and\x03 more\x00.")
    second = tmp_path / "b.jsonl"
    second.write_text(
        "\n".join(
            [
                control.model_dump_json(exclude_none=True),
                made[0].model_copy(update={"id": "again"}).model_dump_json(exclude_none=True),
                "[]",
            ]
        )
        + "\n"
    )
    return [first, second]


def _report(out: Path) -> dict:
    report = json.loads((out / "report.json").read_text())
    report.pop("seconds")
    for step in report["funnel"]:
        step.pop("seconds")
    return report


@pytest.mark.parametrize("batch_size", [1, 4, 1000])
def test_the_transcript_pass_writes_what_the_general_path_writes(tmp_path, batch_size, monkeypatch):
    sources = _mixed_input(tmp_path)
    recipe_file = tmp_path / "dedup.yaml"
    recipe_file.write_text(DEDUP)
    # Which path ran: only the general one hands the filters parsed batches.
    batches_asked = {False: 0, True: 0}
    asking = ExactDedupFilter.check_batch
    running = False

    def counted(self, dialogues):
        batches_asked[running] += 1
        return asking(self, dialogues)

    monkeypatch.setattr(ExactDedupFilter, "check_batch", counted)
    seen: dict[bool, list[str]] = {}
    warned: dict[bool, list[str]] = {}
    for lean in (False, True):
        running, seen[lean], warned[lean] = lean, [], []
        run_recipe(
            sources,
            load_recipe(str(recipe_file)),
            tmp_path / f"out-{lean}",
            batch_size=batch_size,
            warn=warned[lean].append,
            on_read=lambda path, d, lean=lean: seen[lean].append(f"{path.name}:{d.id}"),
            transcript_pass=lean,
        )
    assert batches_asked[False] > 0 and batches_asked[True] == 0
    general, lean = tmp_path / "out-False", tmp_path / "out-True"
    for name in ("kept.jsonl", "rejected.jsonl"):
        assert (lean / name).read_bytes() == (general / name).read_bytes(), name
    assert _report(lean) == _report(general)
    assert seen[True] == seen[False]
    assert warned[True] == warned[False] and len(warned[True]) == 5  # one per malformed line
    # The input reached every branch: copies of each kind dropped, malformed lines kept
    # apart, a spaced line kept in its own form, verdicts of a dialogue's own kept.
    report = _report(lean)
    reasons = {r: n for step in report["funnel"] for r, n in step["drop_reasons"].items()}
    assert reasons["exact_duplicate"] >= 6 and reasons["near_duplicate"] >= 4
    assert report["counts"]["malformed"] == 5
    lines = (lean / "kept.jsonl").read_text().splitlines()
    kept = [json.loads(line) for line in lines]
    ids = [row["id"] for row in kept]
    assert '"id": "spaced"' in lines[ids.index("spaced")]
    assert "control" in ids and "accents" in ids and "own-verdicts-copy" not in ids
    assert [v["filter"] for v in kept[ids.index("own-verdicts")]["verdicts"]] == [
        "structure",
        "exact_dedup",
        "minhash_dedup",
    ]


def test_a_recipe_of_dedup_filters_alone_never_asks_for_parsed_batches(tmp_path, monkeypatch):
    def refuse(self, dialogues):
        raise AssertionError("check_batch called")

    monkeypatch.setattr(ExactDedupFilter, "check_batch", refuse)
    monkeypatch.setattr(MinHashDedupFilter, "check_batch", refuse)
    source = tmp_path / "in.jsonl"
    rng = random.Random(1)
    source.write_text("".join(_distinct(rng, f"d{i}").model_dump_json() + "\n" for i in range(5)))
    recipe_file = tmp_path / "dedup.yaml"
    recipe_file.write_text(DEDUP)
    report = run_recipe(source, load_recipe(str(recipe_file)), tmp_path / "out")
    assert report.kept == 5
    # With another filter in the recipe, the general path runs (and asks for batches).
    recipe_file.write_text(DEDUP + "  - use: truncation\n")
    with pytest.raises(AssertionError, match="check_batch called"):
        run_recipe(source, load_recipe(str(recipe_file)), tmp_path / "out2")
