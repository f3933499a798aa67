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


class HumanReview:
    """The decisions as a check of curate's settling pass (run first among the checks):
    `check` drops what a person dropped; `rescue` takes what a person kept out of the
    recipe's rejected.jsonl, rewriting it line by line, to be fed through the checks after
    the recipe's own kept dialogues."""

    def __init__(
        self,
        decisions: dict[str, Decision],
        files: list[Path],
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.decisions, self.files, self.warn = decisions, files, warn
        self._seen: set[str] = set()
        self.checked = self.dropped = self.rescued = 0

    def check(self, batch: list[Dialogue]) -> list[Verdict | None]:
        """Per dialogue, the verdict of a person who dropped it (None: no drop decision)."""
        self.checked += len(batch)
        out: list[Verdict | None] = []
        for dialogue in batch:
            self._seen.add(dialogue.id)
            decision = self.decisions.get(dialogue.id)
            out.append(
                _human_verdict(decision)
                if decision is not None and decision.decision == "drop"
                else None
            )
        self.dropped += sum(v is not None for v in out)
        return out

    def rescue(self, rejected: Path, kept_ids: set[str]) -> list[Dialogue]:
        """The dialogues a person kept that the recipe dropped (not malformed lines, not
        repeats of a kept id), taken out of `rejected`, each with its human verdict."""
        keeps = {i for i, d in self.decisions.items() if d.decision == "keep"}
        rescued: list[Dialogue] = []
        rewritten = rejected.with_name(rejected.name + ".partial")
        with (
            rejected.open(encoding="utf-8") as source,
            rewritten.open("w", encoding="utf-8") as target,
        ):
            for line in source:
                row = json.loads(line)
                did = row.get("id")
                if isinstance(did, str):
                    self._seen.add(did)
                last = (row.get("verdicts") or [{}])[-1].get("reason")
                if did not in keeps or did in kept_ids or last in UNRESCUABLE:
                    target.write(line)
                    continue
                dialogue = Dialogue.model_validate(row)
                verdict = _human_verdict(self.decisions[did])
                rescued.append(dialogue.with_verdicts([verdict]))
                kept_ids.add(did)
        rewritten.replace(rejected)
        self.rescued = len(rescued)
        return rescued

    def finish(self, report: FilterReport) -> ReviewInfo:
        """The funnel's `human_review` step (its `in` counts the recipe's kept dialogues and
        the rescued ones) with the report's counts moved to match; what the version records."""
        unmatched = sorted(set(self.decisions) - self._seen)
        if unmatched and self.warn:
            shown = ", ".join(unmatched[:5]) + (" ..." if len(unmatched) > 5 else "")
            self.warn(
                f"{len(unmatched)} decisions name no dialogue of the input (not applied): {shown}"
            )
        entered, dropped = self.checked, self.dropped
        report.funnel.append(
            FunnelStep(
                filter=HUMAN,
                entered=entered,
                kept=entered - dropped,
                dropped=dropped,
                drop_reasons={HUMAN: dropped} if dropped else {},
                keep_reasons={
                    k: v
                    for k, v in (
                        ("ok", entered - dropped - self.rescued),
                        (HUMAN_KEEP, self.rescued),
                    )
                    if v
                },
                seconds=0.0,
            )
        )
        counts = report.counts
        counts.kept = entered - dropped
        counts.rejected += dropped - self.rescued
        counts.kept_share = round(counts.kept / counts.dialogues, 4) if counts.dialogues else 0.0
        return ReviewInfo(
            files=[p.name for p in self.files],
            decisions=len(self.decisions),
            reviewers=sorted({d.reviewer for d in self.decisions.values() if d.reviewer}),
            kept=self.rescued,
            dropped=dropped,
            unmatched=len(unmatched),
        )
