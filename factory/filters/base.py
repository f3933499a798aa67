"""The filter contract. A filter looks at a dialogue and answers keep or drop with a short
snake_case reason (and a score, details); the pipeline does batching, counting and writing.
A filter may also return a changed dialogue (PII redaction) with its verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from factory.models import Dialogue, Verdict


class FilterSettings(BaseModel):
    """Each filter's settings; a recipe entry's keys besides `use` and `enabled`."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Outcome:
    dialogue: Dialogue
    verdict: Verdict


class Filter:
    """Subclasses set `name` and `Settings`, and implement `check` (or `apply_batch` for
    filters that see a batch at once, like embedding or MinHash filters)."""

    name: ClassVar[str] = "filter"
    Settings: ClassVar[type[FilterSettings]] = FilterSettings
    # True for selections that must see every dialogue at once (diversity): the pipeline
    # holds the survivors of the filters before it and runs it, and all after it, at the end.
    needs_all: ClassVar[bool] = False

    def __init__(self, settings: FilterSettings | None = None) -> None:
        self.settings = settings or self.Settings()

    def keep(self, reason: str = "ok", score: float | None = None, **details: Any) -> Verdict:
        return Verdict(filter=self.name, keep=True, reason=reason, score=score, details=details)

    def drop(self, reason: str, score: float | None = None, **details: Any) -> Verdict:
        return Verdict(filter=self.name, keep=False, reason=reason, score=score, details=details)

    def check(self, dialogue: Dialogue) -> Verdict:
        raise NotImplementedError

    def apply(self, dialogue: Dialogue) -> Outcome:
        return Outcome(dialogue, self.check(dialogue))

    def apply_batch(self, dialogues: list[Dialogue]) -> list[Outcome]:
        """In input order; stateful filters (dedup) see earlier dialogues first."""
        return [self.apply(d) for d in dialogues]

    def summary(self) -> dict[str, Any]:
        """Corpus-level numbers for report.json (empty for most filters)."""
        return {}
