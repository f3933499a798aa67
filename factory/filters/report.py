"""report.json of a filter run, as typed models: what was read, the funnel (each filter's
input, drops and keeps by reason, time) and the corpus-level summaries some filters give.
Written and read back with these models, never by string keys."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ConfigDict, Field, ValidationError

from factory.errors import DataFileError, first_error_line
from factory.models import Record, Usage


class RecipeInfo(Record):
    """Which recipe ran: its name, file and content hash."""

    name: str
    path: str
    sha256: str


class ReportCounts(Record):
    """Totals over the whole input; `rejected` counts malformed lines and every drop."""

    input_lines: int
    dialogues: int
    malformed: int
    kept: int
    rejected: int
    kept_share: float


class FunnelStep(Record):
    """One filter's line in the funnel; reasons are most frequent first. `entered` is
    written as `in`."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    filter: str
    entered: int = Field(validation_alias="in", serialization_alias="in")
    kept: int
    dropped: int
    drop_reasons: dict[str, int]
    keep_reasons: dict[str, int]
    seconds: float


@dataclass
class StepTally:
    """One filter's running counts while the recipe runs (a Ray worker's, merged with `add`)."""

    filter: str
    entered: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    kept_reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def step(self) -> FunnelStep:
        dropped = sum(self.dropped.values())
        return FunnelStep(
            filter=self.filter,
            entered=self.entered,
            kept=self.entered - dropped,
            dropped=dropped,
            drop_reasons=dict(self.dropped.most_common()),
            keep_reasons=dict(self.kept_reasons.most_common()),
            seconds=round(self.seconds, 3),
        )

    def add(self, other: StepTally) -> None:
        self.entered += other.entered
        self.dropped.update(other.dropped)
        self.kept_reasons.update(other.kept_reasons)
        self.seconds += other.seconds


class SetStats(Record):
    """Spread of a set of dialogues (diversity selection reports it before and after)."""

    dialogues: int
    distinct_1: float | None
    distinct_2: float | None
    mean_pairwise_distance: float
    strategy_shares: dict[str, float]


class DiversitySummary(Record):
    before: SetStats
    after: SetStats


class LLMCheckSummary(Record):
    """What a filter that asks a model reports: which model and prompt, what its calls used
    (failed ones included) and cost at the given prices (None: no price), how many
    dialogues it scored, and those it kept unscored by reason (failed, unparsed, over
    budget, nothing to ask about)."""

    usage: Usage
    prompt_hash: str
    backend: str = ""
    model: str = ""
    cost: float | None = None
    judged: int = 0
    unscored: dict[str, int] = Field(default_factory=dict)

    def calls_text(self) -> str:
        """`N calls, P+C tokens[, cost X]`, as the funnel prints it."""
        u = self.usage
        cost = f", cost {self.cost:.4f}" if self.cost is not None else ""
        return f"{u.calls} calls, {u.prompt_tokens}+{u.completion_tokens} tokens{cost}"


class JudgeSummary(LLMCheckSummary):
    """The LLM judge of a filter run, its thresholds, and its scores: each criterion's mean
    over the dialogues where it applied, and how often it did not."""

    means: dict[str, float | None] = Field(default_factory=dict)
    not_applicable: dict[str, int] = Field(default_factory=dict)
    combined_mean: float | None = None
    combine: str = "mean"
    weights: dict[str, float] = Field(default_factory=dict)
    min_mean: float | None = None
    min_safety: int | None = None


class EmotionJudgeSummary(LLMCheckSummary):
    """The emotion judge: how many dialogues got each fit score, and its threshold."""

    fits: dict[str, int] = Field(default_factory=dict)
    min_fit: int | None = None


FilterSummary = DiversitySummary | JudgeSummary | EmotionJudgeSummary


class StageEmbeddings(Record):
    computed: int
    reused: int


class EmbeddingsUsed(Record):
    """What the run embedded: the store it read and filled (None: memory only), and per
    stage the texts embedded now and those read back."""

    store: str | None
    model: str
    computed: int
    reused: int
    stages: dict[str, StageEmbeddings]


class FilterReport(Record):
    """The content of report.json."""

    input: str
    recipe: RecipeInfo
    counts: ReportCounts
    funnel: list[FunnelStep]
    summaries: dict[str, FilterSummary]
    seconds: float
    embeddings: EmbeddingsUsed | None = None

    @property
    def read(self) -> int:
        """Dialogues read (malformed lines not counted)."""
        return self.counts.dialogues

    @property
    def malformed(self) -> int:
        return self.counts.malformed

    @property
    def kept(self) -> int:
        return self.counts.kept

    @property
    def rejected(self) -> int:
        return self.counts.rejected

    def add_step(self, name: str, entered: int, kept: int, reason: str | dict[str, int]) -> None:
        """A check run after the recipe (curate's cross-version dedup, decontamination): its
        funnel step, every drop for `reason` (or the drops by reason), and the counts moved
        to match."""
        dropped = entered - kept
        reasons = {reason: dropped} if isinstance(reason, str) else reason
        self.funnel.append(
            FunnelStep(
                filter=name,
                entered=entered,
                kept=kept,
                dropped=dropped,
                drop_reasons={r: n for r, n in reasons.items() if n},
                keep_reasons={"ok": kept} if kept else {},
                seconds=0.0,
            )
        )
        counts = self.counts
        counts.kept = kept
        counts.rejected += dropped
        counts.kept_share = round(kept / counts.dialogues, 4) if counts.dialogues else 0.0

    def write(self, path: Path) -> None:
        """report.json: indented, keys in model order, as `json.dumps` writes it; without
        `embeddings` when no filter embedded."""
        data = self.model_dump(mode="json", by_alias=True)
        if data["embeddings"] is None:
            del data["embeddings"]
        path.write_text(json.dumps(data, indent=2) + "\n")


def read_report(path: Path) -> FilterReport:
    """A report.json written by `factory filter`."""
    try:
        return FilterReport.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise DataFileError(f"cannot read {path} ({exc.strerror})") from None
    except ValidationError as exc:
        raise DataFileError(f"{path}: not a filter report ({first_error_line(exc)})") from None
