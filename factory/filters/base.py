"""The filter contract. A filter looks at a dialogue and answers keep or drop with a short
snake_case reason (and a score, details); the pipeline does batching, counting and writing.
A filter may also return a changed dialogue (PII redaction) with its verdict: a new object
(`model_copy`), never the one it was given changed in place. The pipeline writes a kept
dialogue it got back unchanged as its input line (lines.kept_line), and dedup caches
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
from factory.text import normalised_transcripts


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
    # True for filters whose verdict reads only the dialogue's id and normalised transcript
    # (exact and near dedup): they implement `check_transcripts`, and a recipe made only of
    # them runs without keeping the parsed dialogues (filters/transcript_pass.py).
    transcript_only: ClassVar[bool] = False

    def __init__(self, settings: S | None = None) -> None:
        self.settings: S = settings if settings is not None else self.Settings()

    def keep(
        self, dialogue: Dialogue, reason: str = "ok", score: float | None = None, **details: Any
    ) -> Outcome:
        return Outcome(dialogue, self.verdict(True, reason, score, **details))

    def drop(
        self, dialogue: Dialogue, reason: str, score: float | None = None, **details: Any
    ) -> Outcome:
        return Outcome(dialogue, self.verdict(False, reason, score, **details))

    def verdict(
        self, keep: bool, reason: str, score: float | None = None, **details: Any
    ) -> Verdict:
        """This filter's verdict (what `keep` and `drop` wrap with the dialogue)."""
        return Verdict(filter=self.name, keep=keep, reason=reason, score=score, details=details)

    def check(self, dialogue: Dialogue) -> Outcome:
        """Keep or drop one dialogue (filters that override `check_batch` need not)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither check nor check_batch")

    def check_batch(self, dialogues: list[Dialogue]) -> list[Outcome]:
        """In input order; stateful filters (dedup) see earlier dialogues first."""
        if self.transcript_only:
            ids, transcripts = [d.id for d in dialogues], normalised_transcripts(dialogues)
            verdicts = self.check_transcripts(ids, transcripts)
            return [Outcome(d, v) for d, v in zip(dialogues, verdicts, strict=True)]
        return [self.check(d) for d in dialogues]

    def check_transcripts(self, ids: list[str], transcripts: list[str]) -> list[Verdict]:
        """The verdicts of dialogues given by id and `normalised_transcript`, in input order
        (filters with `transcript_only`; their `check_batch` maps to it)."""
        raise NotImplementedError(f"{type(self).__name__} does not judge transcripts alone")

    def embedding_texts(self, dialogues: list[Dialogue]) -> list[str]:
        """The texts `check_batch` would embed for these dialogues, so they can be embedded
        ahead, elsewhere (`factory filter --ray`); [] for a filter that embeds nothing or
        whose texts depend on more than the dialogue."""
        return []

    def summary(self) -> FilterSummary | None:
        """Corpus-level numbers for report.json (None for most filters)."""
        return None
