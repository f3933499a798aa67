"""Human review decisions (exported by `factory view`) and their application in `factory curate`.

A decisions file is JSON: `{"decisions": [{"id", "decision": "keep"|"drop", "note",
"reviewer", "time"}]}`. A human keep rescues a dialogue a filter dropped (it leaves
rejected/ with a `human_review` verdict, `human_keep`); a human drop moves a kept dialogue to
rejected/ with reason `human_review` and the note. Two decisions that disagree about one id
are an error naming it; decisions naming no dialogue of the input are warned about, not
applied."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from factory.dataset.manifest import ReviewInfo
from factory.errors import ConfigError, DataFileError, first_error_line
from factory.filters.report import FilterReport, FunnelStep
from factory.jsonl import json_line
from factory.models import Dialogue, Record, Verdict

HUMAN = "human_review"
HUMAN_KEEP = "human_keep"
# Drops a person cannot overrule: the line is not a dialogue, or its id is already kept.
UNRESCUABLE = frozenset({"malformed_input", "duplicate_id"})


class Decision(Record):
    """One reviewer's call on one dialogue."""

    id: str = Field(min_length=1)
    decision: Literal["keep", "drop"]
    note: str = ""
    reviewer: str = ""
    time: str = ""


class DecisionsFile(Record):
    """What `factory view` exports: the decisions and where they were made."""

    source: str = ""
    exported_at: str = ""
    decisions: list[Decision]


def load_decisions(paths: list[Path]) -> dict[str, Decision]:
    """Every decision by dialogue id; the same call twice is fine, keep and drop for one id
    (in one file or across files) is a ConfigError that names it."""
    chosen: dict[str, Decision] = {}
    where: dict[str, Path] = {}
    for path in paths:
        try:
            parsed = DecisionsFile.model_validate_json(path.read_bytes())
        except OSError as exc:
            raise DataFileError(f"cannot read decisions file {path} ({exc.strerror})") from None
        except ValidationError as exc:
            raise DataFileError(
                f"{path}: not a decisions file exported by `factory view` ({first_error_line(exc)})"
            ) from None
        for decision in parsed.decisions:
            earlier = chosen.get(decision.id)
            if earlier is not None and earlier.decision != decision.decision:
                raise ConfigError(
                    f"conflicting decisions for dialogue {decision.id}: {earlier.decision} in"
                    f" {where[decision.id]}, {decision.decision} in {path}; keep one of them"
                )
            if earlier is None or decision.time >= earlier.time:
                chosen[decision.id], where[decision.id] = decision, path
    return chosen


def _human_verdict(decision: Decision) -> Verdict:
    keep = decision.decision == "keep"
    return Verdict(
        filter=HUMAN,
        keep=keep,
        reason=HUMAN_KEEP if keep else HUMAN,
        details={"note": decision.note, "reviewer": decision.reviewer, "time": decision.time},
    )


def apply_decisions(
    decisions: dict[str, Decision],
    files: list[Path],
    kept: list[Dialogue],
    report: FilterReport,
    rejected: Path,
    warn: Callable[[str], None] | None = None,
) -> tuple[list[Dialogue], ReviewInfo]:
    """Applies the decisions after the recipe: human keeps leave `rejected` (a jsonl) for the
    kept list, human drops go the other way. The report gets a `human_review` funnel step
    whose `in` counts the kept dialogues and the rescued ones, and its counts move to match."""
    kept_ids = {d.id for d in kept}
    rescued: list[Dialogue] = []
    remaining: list[str] = []
    seen: set[str] = set()
    for line in rejected.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        did = row.get("id")
        if isinstance(did, str):
            seen.add(did)
        decision = decisions.get(did) if isinstance(did, str) else None
        last = (row.get("verdicts") or [{}])[-1].get("reason")
        if (
            decision is None
            or decision.decision != "keep"
            or did in kept_ids
            or last in UNRESCUABLE
        ):
            remaining.append(line)
            continue
        dialogue = Dialogue.model_validate(row)
        rescued.append(
            dialogue.model_copy(update={"verdicts": [*dialogue.verdicts, _human_verdict(decision)]})
        )
        kept_ids.add(did)
    survivors: list[Dialogue] = []
    for dialogue in kept:
        decision = decisions.get(dialogue.id)
        if decision is not None and decision.decision == "drop":
            row = dialogue.model_copy(
                update={"verdicts": [*dialogue.verdicts, _human_verdict(decision)]}
            )
            remaining.append(json_line(row.model_dump(mode="json", exclude_none=True)).rstrip("\n"))
        else:
            survivors.append(dialogue)
    dropped = len(kept) - len(survivors)
    rejected.write_text("".join(line + "\n" for line in remaining), encoding="utf-8")
    unmatched = sorted(set(decisions) - seen - {d.id for d in kept})
    if unmatched and warn:
        shown = ", ".join(unmatched[:5]) + (" ..." if len(unmatched) > 5 else "")
        warn(f"{len(unmatched)} decisions name no dialogue of the input (not applied): {shown}")
    entered = len(kept) + len(rescued)
    report.funnel.append(
        FunnelStep(
            filter=HUMAN,
            entered=entered,
            kept=entered - dropped,
            dropped=dropped,
            drop_reasons={HUMAN: dropped} if dropped else {},
            keep_reasons={
                k: v for k, v in (("ok", len(survivors)), (HUMAN_KEEP, len(rescued))) if v
            },
            seconds=0.0,
        )
    )
    counts = report.counts
    counts.kept = entered - dropped
    counts.rejected += dropped - len(rescued)
    counts.kept_share = round(counts.kept / counts.dialogues, 4) if counts.dialogues else 0.0
    info = ReviewInfo(
        files=[p.name for p in files],
        decisions=len(decisions),
        reviewers=sorted({d.reviewer for d in decisions.values() if d.reviewer}),
        kept=len(rescued),
        dropped=dropped,
        unmatched=len(unmatched),
    )
    return [*survivors, *rescued], info
