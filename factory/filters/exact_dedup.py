"""Exact duplicates: the same turns (case, punctuation and spacing ignored) as a dialogue seen
earlier in the input. The first one is kept. Each dialogue costs one normalisation (done for
the whole batch at once), one 128-bit digest and one dictionary lookup; no pair is ever compared."""

from __future__ import annotations

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue, Verdict
from factory.text import digest


class ExactDedupFilter(Filter[FilterSettings]):
    name = "exact_dedup"
    Settings = FilterSettings
    transcript_only = True

    def __init__(self, settings: FilterSettings | None = None) -> None:
        super().__init__(settings)
        self._seen: dict[bytes, str] = {}

    def check(self, dialogue: Dialogue) -> Outcome:
        return self.check_batch([dialogue])[0]

    def check_transcripts(self, ids: list[str], transcripts: list[str]) -> list[Verdict]:
        verdicts = []
        seen = self._seen
        for key, transcript in zip(ids, transcripts, strict=True):
            # Even under the same id: a file imported twice.
            before = len(seen)
            first = seen.setdefault(digest(transcript), key)
            if len(seen) > before:
                verdicts.append(self.verdict(True, "ok"))
            else:
                verdicts.append(self.verdict(False, "exact_duplicate", duplicate_of=first))
        return verdicts
