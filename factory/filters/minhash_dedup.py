"""Near-duplicate dialogues by MinHash LSH over word 3-shingles of the whole dialogue
(role names included). Signatures come from rensa (Rust) over shingle hashes made with
numpy for a whole batch at once; LSH bands are chosen as datasketch chooses them. A
dialogue whose estimated Jaccard similarity with an earlier kept one reaches `threshold`
is dropped; the earlier one is kept."""

from __future__ import annotations

from pydantic import Field

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.filters.near_duplicate_index import NearDuplicateIndex
from factory.models import Dialogue, Verdict


class MinHashSettings(FilterSettings):
    threshold: float = Field(
        default=0.8, gt=0, le=1, description="estimated Jaccard with an earlier dialogue that drops"
    )
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations")
    shingle_words: int = Field(default=3, ge=1, le=10, description="words per shingle")
    seed: int = Field(default=1, description="draws the hash permutations")


class MinHashDedupFilter(Filter[MinHashSettings]):
    name = "minhash_dedup"
    Settings = MinHashSettings
    transcript_only = True

    def __init__(self, settings: MinHashSettings | None = None) -> None:
        super().__init__(settings)
        s = self.settings
        self._index = NearDuplicateIndex(s.threshold, s.num_perm, s.shingle_words, s.seed)

    def check(self, dialogue: Dialogue) -> Outcome:
        return self.check_batch([dialogue])[0]

    def check_transcripts(self, ids: list[str], transcripts: list[str]) -> list[Verdict]:
        threshold = self.settings.threshold
        return [
            self.verdict(False, "near_duplicate", round(m.similarity, 3), duplicate_of=m.key)
            if m.similarity >= threshold
            else self.verdict(True, "ok", round(m.similarity, 3))
            for m in self._index.match_batch(ids, transcripts)
        ]
