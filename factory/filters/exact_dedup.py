"""Exact duplicates: the same turns (case, punctuation and spacing ignored) as a dialogue seen
earlier in the input. The first one is kept."""

from __future__ import annotations

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue
from factory.text import content_hash


class ExactDedupFilter(Filter[FilterSettings]):
    name = "exact_dedup"
    Settings = FilterSettings

    def __init__(self, settings: FilterSettings | None = None) -> None:
        super().__init__(settings)
        self._seen: dict[str, str] = {}

    def check(self, dialogue: Dialogue) -> Outcome:
        digest = content_hash(dialogue)
        if digest in self._seen:  # even under the same id: a file imported twice
            return self.drop(dialogue, "exact_duplicate", duplicate_of=self._seen[digest])
        self._seen[digest] = dialogue.id
        return self.keep(dialogue)
