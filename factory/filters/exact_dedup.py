"""Exact duplicates: the same turns (case, punctuation and spacing ignored) as a dialogue seen
earlier in the input. The first one is kept. Each dialogue costs one normalisation (done for
the whole batch at once), one 128-bit digest and one dictionary lookup; no pair is ever compared."""

from __future__ import annotations

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue
from factory.text import transcript_digests


class ExactDedupFilter(Filter[FilterSettings]):
    name = "exact_dedup"
    Settings = FilterSettings

    def __init__(self, settings: FilterSettings | None = None) -> None:
        super().__init__(settings)
        self._seen: dict[bytes, str] = {}

    def check(self, dialogue: Dialogue) -> Outcome:
        return self.check_batch([dialogue])[0]

    def check_batch(self, dialogues: list[Dialogue]) -> list[Outcome]:
        outcomes = []
        seen = self._seen
        for dialogue, digest in zip(dialogues, transcript_digests(dialogues), strict=True):
            # Even under the same id: a file imported twice.
            before = len(seen)
            first = seen.setdefault(digest, dialogue.id)
            if len(seen) > before:
                outcomes.append(self.keep(dialogue))
            else:
                outcomes.append(self.drop(dialogue, "exact_duplicate", duplicate_of=first))
        return outcomes
