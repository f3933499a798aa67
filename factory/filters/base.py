"""The filter contract. A filter looks at a dialogue and answers keep or drop with a short
snake_case reason (and a score, details); the pipeline does batching, counting and writing.
A filter may also return a changed dialogue (PII redaction) with its verdict: a new object
(`model_copy`), never the one it was given changed in place. The pipeline writes a kept
dialogue it got back unchanged as its input line (pipeline.kept_line), and dedup caches
transcripts by the turns list (text.py), so a change made in place would be lost.

`check` judges one dialogue; `check_batch` judges a batch and by default maps `check`.
Filters that must see a batch at once (embeddings, MinHash, an LLM judge) override
`check_batch` only. The pipeline calls only `check_batch`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from factory.filters.report import FilterSummary
from factory.models import Dialogue, Verdict


class FilterSettings(BaseModel):
    """Each filter's settings; a recipe entry's keys besides `use` and `enabled`."""

    model_config = ConfigDict(extra="forbid")


S = TypeVar("S", bound=FilterSettings)


@dataclass
class Outcome:
    """A filter's answer for one dialogue: the dialogue (changed, for redaction) and why."""

    dialogue: Dialogue
    verdict: Verdict


class Filter(Generic[S]):
    """Subclasses set `name` and `Settings` (the model of `S`), and implement `check`, or
    `check_batch` when they must see a batch at once."""

    name: ClassVar[str] = "filter"
    Settings: type[S]
    # True for selections that must see every dialogue at once (diversity): the pipeline
    # holds the survivors of the filters before it and runs it, and all after it, at the end.
    needs_all: ClassVar[bool] = False
    # True when a dialogue's verdict depends on that dialogue alone, not on what came before:
    # `factory filter --ray` may then run the filter on any worker, on any batch (so it keeps
    # no `summary`: the driver's copy never runs). False (the default, always safe) keeps it
    # in the driver, in input order.
    stateless: ClassVar[bool] = False
    # True for filters that embed texts: they take an `encoder`, and the pipeline hands
    # them one that reads and fills the run's embedding store (factory/embedding_store.py).
    embeds: ClassVar[bool] = False

    def __init__(self, settings: S | None = None) -> None:
        self.settings: S = settings if settings is not None else self.Settings()

    def keep(
        self, dialogue: Dialogue, reason: str = "ok", score: float | None = None, **details: Any
    ) -> Outcome:
        verdict = Verdict(filter=self.name, keep=True, reason=reason, score=score, details=details)
        return Outcome(dialogue, verdict)

    def drop(
        self, dialogue: Dialogue, reason: str, score: float | None = None, **details: Any
    ) -> Outcome:
        verdict = Verdict(filter=self.name, keep=False, reason=reason, score=score, details=details)
        return Outcome(dialogue, verdict)

    def check(self, dialogue: Dialogue) -> Outcome:
        """Keep or drop one dialogue (filters that override `check_batch` need not)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither check nor check_batch")

    def check_batch(self, dialogues: list[Dialogue]) -> list[Outcome]:
        """In input order; stateful filters (dedup) see earlier dialogues first."""
        return [self.check(d) for d in dialogues]

    def embedding_texts(self, dialogues: list[Dialogue]) -> list[str]:
        """The texts `check_batch` would embed for these dialogues, so they can be embedded
        ahead, elsewhere (`factory filter --ray`); [] for a filter that embeds nothing or
        whose texts depend on more than the dialogue."""
        return []

    def summary(self) -> FilterSummary | None:
        """Corpus-level numbers for report.json (None for most filters)."""
        return None
