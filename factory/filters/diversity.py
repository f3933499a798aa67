"""Diversity selection: keep a target fraction of the dialogues by k-center greedy over MiniLM
embeddings (each next pick is the dialogue farthest from everything picked so far), with
optional quotas so no problem or emotion takes more than a given share. It needs the whole
set at once, so the pipeline holds the survivors of the earlier filters until it runs.
Its summary (distinct-1/2 over turn texts, as factory.counting defines them, mean pairwise
distance, strategy shares, before and after) goes into report.json."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any, ClassVar

from pydantic import Field

from factory.counting import distinct_n, shares
from factory.embeddings import Encoder, minilm_encoder
from factory.filters.base import Filter, FilterSettings, Outcome
from factory.filters.report import DiversitySummary, SetStats
from factory.models import Dialogue


class DiversitySettings(FilterSettings):
    keep_fraction: float = Field(default=0.9, gt=0, le=1, description="share of the survivors kept")
    max_share_per_problem: float = Field(
        default=1.0, gt=0, le=1, description="cap on one problem's share of those kept"
    )
    max_share_per_emotion: float = Field(
        default=1.0, gt=0, le=1, description="cap on one emotion's share of those kept"
    )
    max_words: int = Field(default=100, ge=10, description="opening words embedded per dialogue")
    seed: int = Field(default=0, description="chooses the first pick")


def set_stats(dialogues: list[Dialogue], vectors: Any, seed: int) -> SetStats:
    """Spread of a set: distinct-1/2 over its turns, mean pairwise cosine distance (of up to
    500 dialogues), and the supporter's strategy shares."""
    import numpy as np

    sample = vectors
    if len(vectors) > 500:
        rows = np.random.default_rng(seed).choice(len(vectors), 500, replace=False)
        sample = vectors[rows]
    similarity = sample @ sample.T
    pairs = len(sample) * (len(sample) - 1)
    mean_distance = (
        float((pairs - (similarity.sum() - np.trace(similarity))) / pairs) if pairs else 0.0
    )
    texts = [t.text for d in dialogues for t in d.turns]
    strategies = Counter(
        t.strategy for d in dialogues for t in d.turns if t.role == "supporter" and t.strategy
    )
    return SetStats(
        dialogues=len(dialogues),
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        mean_pairwise_distance=round(mean_distance, 4),
        strategy_shares=shares(strategies),
    )


class DiversityFilter(Filter[DiversitySettings]):
    name = "diversity"
    embeds = True
    Settings = DiversitySettings
    needs_all: ClassVar[bool] = True

    def __init__(
        self, settings: DiversitySettings | None = None, encoder: Encoder | None = None
    ) -> None:
        super().__init__(settings)
        self._encoder = encoder
        self._summary: DiversitySummary | None = None

    def summary(self) -> DiversitySummary | None:
        return self._summary

    def check_batch(self, dialogues: list[Dialogue]) -> list[Outcome]:
        import numpy as np

        s = self.settings
        if not dialogues:
            return []
        encoder = self._encoder or minilm_encoder()
        texts = [
            " ".join(" ".join(t.text for t in d.turns).split()[: s.max_words]) for d in dialogues
        ]
        vectors = np.asarray(encoder(texts), dtype=np.float32)
        target = max(1, round(s.keep_fraction * len(dialogues)))
        chosen = self._k_center(vectors, dialogues, target, s)
        picked = set(chosen)
        outcomes = [
            self.keep(dialogue, rank=chosen.index(index))
            if index in picked
            else self.drop(dialogue, "not_selected_for_diversity")
            for index, dialogue in enumerate(dialogues)
        ]
        kept = [dialogues[i] for i in sorted(picked)]
        self._summary = DiversitySummary(
            before=set_stats(dialogues, vectors, s.seed),
            after=set_stats(kept, vectors[sorted(picked)], s.seed),
        )
        return outcomes

    @staticmethod
    def _k_center(
        vectors: Any, dialogues: list[Dialogue], target: int, s: DiversitySettings
    ) -> list[int]:
        import numpy as np

        caps = {
            "problem": max(1, int(s.max_share_per_problem * target)),
            "emotion": max(1, int(s.max_share_per_emotion * target)),
        }
        used: dict[str, Counter[str]] = {"problem": Counter(), "emotion": Counter()}

        def fits(i: int) -> bool:
            scenario = dialogues[i].scenario
            return (
                used["problem"][scenario.problem_type] < caps["problem"]
                and used["emotion"][scenario.emotion_type] < caps["emotion"]
            )

        first = random.Random(s.seed).randrange(len(dialogues))
        chosen = [first]
        used["problem"][dialogues[first].scenario.problem_type] += 1
        used["emotion"][dialogues[first].scenario.emotion_type] += 1
        distance = 1.0 - vectors @ vectors[first]  # cosine distance to the nearest pick
        distance[first] = -np.inf
        while len(chosen) < target:
            pick = int(np.argmax(distance))
            if distance[pick] == -np.inf:  # nothing left that quotas allow
                break
            if not fits(pick):
                distance[pick] = -np.inf  # quotas only fill up: it will never fit
                continue
            chosen.append(pick)
            used["problem"][dialogues[pick].scenario.problem_type] += 1
            used["emotion"][dialogues[pick].scenario.emotion_type] += 1
            distance = np.minimum(distance, 1.0 - vectors @ vectors[pick])
            distance[pick] = -np.inf
        return chosen
