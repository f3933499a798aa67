"""Emotion consistency: does the seeker sound like the scenario's emotion family, and does the
seeker talk about the scenario's situation?

Family evidence comes from five signals, each scored for every family (anxiety, depression,
anger, shame; see filters/lexicons/emotion_families.yaml):

- MiniLM similarity of the seeker's opening words to the family's prototype sentences;
- the same for the situation text;
- how often the seeker, the situation and the supporter use the family's feeling words.

A weighted sum per family, softmaxed, gives the probability of each family. A dialogue whose
scenario family gets less than `min_family_probability` is dropped as `emotion_mismatch`. The
weights and the threshold were fitted and calibrated on ESConv (train, then valid);
`bench/emotion_consistency.py` refits them and reports false flags on real dialogues against
the catch rate on planted swaps. One signal alone (the prototypes) misreads ESConv's
families a third of the time, so the threshold is a calibrated probability, never an argmax.
One floor for every family drops ESConv's rare families more often (shame: 23% of its real
dialogues against 5-6% for the others); `family_floors` sets a floor per family instead.

Separately, a seeker that has not told its situation by its first turns is dropped as
`off_situation` (it drifted to another story): the best cosine with the situation of its
opening words or of any one of its first `situation_turns` turns is under
`min_situation_similarity`, so a greeting first and the story second is on-situation. A
situation under `min_situation_words` words is a label, not a story, and is not compared.
Intensity trajectories have their own filter (intensity_trajectory) and the supporter's tone
is the judge's `empathy` criterion."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from factory.embeddings import Encoder, minilm_encoder
from factory.errors import ConfigError, DataFileError, first_error_line
from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue
from factory.resources import data_dir, read_text
from factory.settings import validation_line

SIGNALS = (
    "seeker_embedding",
    "situation_embedding",
    "seeker_words",
    "situation_words",
    "supporter_words",
)


class EvidenceWeights(BaseModel):
    """How much each signal counts; fitted on ESConv train by bench/emotion_consistency.py."""

    model_config = ConfigDict(extra="forbid")

    seeker_embedding: float = Field(
        default=1.44, description="the seeker's opening words against the prototype sentences"
    )
    situation_embedding: float = Field(
        default=1.03, description="the situation against the prototype sentences"
    )
    seeker_words: float = Field(default=1.36, description="feeling words in the seeker's turns")
    situation_words: float = Field(default=1.79, description="feeling words in the situation")
    supporter_words: float = Field(
        default=0.72, description="feeling words in the supporter's turns"
    )

    def vector(self) -> list[float]:
        return [getattr(self, name) for name in SIGNALS]


class EmotionConsistencySettings(FilterSettings):
    min_family_probability: float = Field(
        default=0.11,
        ge=0,
        lt=1,
        description="calibrated on ESConv valid to flag 7.5% of real dialogues",
    )
    family_floors: dict[str, Annotated[float, Field(ge=0, lt=1)]] = Field(
        default_factory=dict,
        description="a floor per family used instead of min_family_probability, e.g."
        " {shame: 0.055}; bench/emotion_consistency.py prints floors that flag each family"
        " of ESConv alike",
    )
    min_situation_similarity: float = Field(
        default=0.19,
        ge=-1,
        le=1,
        description="flags 1.5% of ESConv (1.9% before situations under 5 words were left out)",
    )
    min_situation_words: int = Field(
        default=5,
        ge=0,
        description="a shorter situation (a label: 'finals') is not compared with the seeker",
    )
    seeker_words: int = Field(default=80, ge=10, description="opening words of the seeker read")
    situation_turns: int = Field(
        default=3,
        ge=0,
        le=20,
        description="later seeker turns whose words on are also compared (0: the opening only)",
    )
    weights: EvidenceWeights = Field(
        default_factory=EvidenceWeights, description="how much each of the five signals counts"
    )
    lexicon: str | None = Field(
        default=None, description="family evidence file; default filters/lexicons/..."
    )
    personas: str | None = Field(
        default=None, description="persona data folder whose emotions.yaml names the families"
    )


class _Family(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prototypes: list[str] = Field(min_length=1)
    words: list[str] = Field(min_length=1)

    @field_validator("words")
    @classmethod
    def _compiles(cls, words: list[str]) -> list[str]:
        for word in words:
            try:
                re.compile(word)
            except re.error as exc:
                raise ValueError(f"'{word}' is not a valid regular expression ({exc})") from None
        return words


class _Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid")

    families: dict[str, _Family] = Field(min_length=2)


def load_lexicon(path: Path | None = None) -> dict[str, _Family]:
    """The family evidence file (default filters/lexicons/emotion_families.yaml)."""
    path = path or data_dir("filters") / "lexicons" / "emotion_families.yaml"
    try:
        return _Lexicon.model_validate(yaml.safe_load(read_text(path))).families
    except yaml.YAMLError as exc:
        raise DataFileError(f"{path}: not valid YAML ({first_error_line(exc)})") from None
    except ValidationError as exc:
        raise DataFileError(f"{path}: {validation_line(exc, _Lexicon)}") from None


def emotion_families(personas: Path | None = None) -> dict[str, str]:
    """Emotion name -> family, from the persona data's emotions.yaml."""
    from factory.scenarios.persona_bank import load_emotions

    return {e.name: e.family for e in load_emotions(personas)}


@dataclass
class Evidence:
    """Per dialogue: a row of SIGNALS for every family, and the seeker-situation cosine."""

    families: list[str]
    signals: list[list[list[float]]]  # dialogue x family x signal
    situation_similarity: list[float | None]


class FamilyEvidence:
    """Turns dialogues into Evidence; the filter and the benchmark share it."""

    def __init__(
        self,
        lexicon: dict[str, _Family],
        encoder: Encoder | None = None,
        seeker_words: int = 80,
        situation_turns: int = 3,
        turns_below: float = 1.0,
    ) -> None:
        self.families = list(lexicon)
        self._patterns = [
            re.compile(r"\b(?:" + "|".join(lexicon[f].words) + r")\b", re.IGNORECASE)
            for f in self.families
        ]
        self._prototypes = [lexicon[f].prototypes for f in self.families]
        self._encoder = encoder
        self._centroids: Any = None
        self.seeker_words = seeker_words
        self.situation_turns = situation_turns
        # Turns are embedded only for openings under this similarity: the verdict is the same
        # (the best of the two), and most dialogues are spared the extra embeddings.
        self.turns_below = turns_below

    def _encode(self, texts: list[str]) -> Any:
        import numpy as np

        if self._encoder is None:
            self._encoder = minilm_encoder()
        return np.asarray(self._encoder(texts), dtype=np.float32)

    def centroids(self) -> Any:
        import numpy as np

        if self._centroids is None:
            rows = []
            for prototypes in self._prototypes:
                mean = self._encode(prototypes).mean(axis=0)
                rows.append(mean / (np.linalg.norm(mean) or 1.0))
            self._centroids = np.stack(rows)
        return self._centroids

    def _counts(self, text: str) -> list[float]:
        return [math.log1p(len(p.findall(text))) for p in self._patterns]

    def opening_turns(self, dialogue: Dialogue) -> list[str]:
        """What the seeker says from its 2nd, 3rd, ... turn on (up to `situation_turns` such
        starts), `seeker_words` words each: the opening without a greeting or preamble."""
        spoken = [t.text for t in dialogue.turns if t.role == "seeker" and t.text.strip()]
        windows = []
        for start in range(1, min(len(spoken), self.situation_turns + 1)):
            words = " ".join(spoken[start:]).split()
            windows.append(" ".join(words[: self.seeker_words]))
        return windows

    @staticmethod
    def _disclosure(opening: Any, turns: Any, situation: Any) -> float:
        """How closely the seeker has told the situation by its first turns: the best cosine
        with the situation of its opening words, or of its words from a later one of its
        first turns on. A greeting first and the story second is as on-situation as the
        story first."""
        best = float(opening @ situation)
        if len(turns):
            best = max(best, float((turns @ situation).max()))
        return best

    def seeker_text(self, dialogue: Dialogue) -> str:
        spoken = " ".join(t.text for t in dialogue.turns if t.role == "seeker").split()
        return " ".join(spoken[: self.seeker_words])

    def __call__(self, dialogues: list[Dialogue]) -> Evidence:
        centroids = self.centroids()
        seeker = [self.seeker_text(d) for d in dialogues]
        situation = [d.scenario.situation.strip() for d in dialogues]
        vectors = self._encode([*seeker, *[s or "-" for s in situation]])
        seeker_vectors, situation_vectors = vectors[: len(seeker)], vectors[len(seeker) :]
        opening = (seeker_vectors * situation_vectors).sum(axis=1)
        turns = [
            self.opening_turns(d) if opening[i] < self.turns_below else []
            for i, d in enumerate(dialogues)
        ]
        flat = [text for texts in turns for text in texts]
        # Encoded apart, so the family evidence does not depend on how many turns came along.
        turn_vectors = self._encode(flat) if flat else vectors[:0]
        first_turn = 0
        seeker_sim = seeker_vectors @ centroids.T
        situation_sim = situation_vectors @ centroids.T
        signals, similarity = [], []
        for i, dialogue in enumerate(dialogues):
            has_situation = bool(situation[i])
            words_seeker = self._counts(
                " ".join(t.text for t in dialogue.turns if t.role == "seeker")
            )
            words_situation = self._counts(situation[i])
            words_supporter = self._counts(
                " ".join(t.text for t in dialogue.turns if t.role == "supporter")
            )
            signals.append(
                [
                    [
                        float(seeker_sim[i, f]),
                        float(situation_sim[i, f]) if has_situation else 0.0,
                        words_seeker[f],
                        words_situation[f],
                        words_supporter[f],
                    ]
                    for f in range(len(self.families))
                ]
            )
            own_turns = turn_vectors[first_turn : first_turn + len(turns[i])]
            first_turn += len(turns[i])
            similarity.append(
                self._disclosure(seeker_vectors[i], own_turns, situation_vectors[i])
                if has_situation and seeker[i]
                else None
            )
        return Evidence(self.families, signals, similarity)


def family_probabilities(rows: list[list[float]], weights: list[float]) -> list[float]:
    """Softmax over families of the weighted signal sums (rows: family x signal)."""
    scores = [sum(w * x for w, x in zip(weights, row, strict=True)) for row in rows]
    top = max(scores)
    exp = [math.exp(s - top) for s in scores]
    total = sum(exp)
    return [e / total for e in exp]


class EmotionConsistencyFilter(Filter[EmotionConsistencySettings]):
    name = "emotion_consistency"
    embeds = True
    stateless = True
    Settings = EmotionConsistencySettings

    def __init__(
        self, settings: EmotionConsistencySettings | None = None, encoder: Encoder | None = None
    ) -> None:
        super().__init__(settings)
        s = self.settings
        lexicon = load_lexicon(Path(s.lexicon) if s.lexicon else None)
        self._family_of = emotion_families(Path(s.personas) if s.personas else None)
        families = set(self._family_of.values())
        missing = sorted(families - set(lexicon))
        if missing:
            raise DataFileError(
                f"emotion family '{missing[0]}' (personas emotions.yaml) has no entry in the"
                " emotion lexicon: add prototypes and words for it"
            )
        unknown = sorted(set(s.family_floors) - families)
        if unknown:
            raise ConfigError(
                f"emotion_consistency family_floors: '{unknown[0]}' is not an emotion family"
                f" (the families: {', '.join(sorted(families))})"
            )
        self._evidence = FamilyEvidence(
            lexicon, encoder, s.seeker_words, s.situation_turns, s.min_situation_similarity
        )

    def check_batch(self, dialogues: list[Dialogue]) -> list[Outcome]:
        # Position in the batch -> row in the evidence, for the dialogues that can be judged.
        rows = {
            position: row
            for row, position in enumerate(
                p
                for p, d in enumerate(dialogues)
                if d.scenario.emotion_type in self._family_of and self._evidence.seeker_text(d)
            )
        }
        evidence = self._evidence([dialogues[p] for p in rows]) if rows else None
        outcomes = []
        for position, dialogue in enumerate(dialogues):
            emotion = dialogue.scenario.emotion_type
            if emotion not in self._family_of:
                outcomes.append(self.keep(dialogue, "unknown_emotion", emotion=emotion))
            elif position not in rows or evidence is None:
                outcomes.append(self.keep(dialogue, "no_seeker_text"))
            else:
                outcomes.append(self._judge(dialogue, evidence, rows[position]))
        return outcomes

    def _judge(self, dialogue: Dialogue, evidence: Evidence, row: int) -> Outcome:
        """The verdict for a dialogue whose evidence is row `row`."""
        s = self.settings
        probabilities = family_probabilities(evidence.signals[row], s.weights.vector())
        family = self._family_of[dialogue.scenario.emotion_type]
        own = probabilities[evidence.families.index(family)]
        shares = {f: round(p, 3) for f, p in zip(evidence.families, probabilities, strict=True)}
        floor = s.family_floors.get(family, s.min_family_probability)
        if own < floor:
            return self.drop(
                dialogue,
                "emotion_mismatch",
                score=round(own, 4),
                family=family,
                likeliest=max(shares, key=lambda f: shares[f]),
                families=shares,
                # The floor it fell under, where floors differ by family.
                **({"floor": floor} if s.family_floors else {}),
            )
        similarity = evidence.situation_similarity[row]
        # A label of a few words embeds too far from any story told in full ("finals" against
        # "what if I don't do good on my final"): it cannot show the seeker drifted.
        labelled = len(dialogue.scenario.situation.split()) < s.min_situation_words
        if similarity is not None and not labelled and similarity < s.min_situation_similarity:
            return self.drop(dialogue, "off_situation", score=round(similarity, 4), family=family)
        return self.keep(
            dialogue,
            score=round(own, 4),
            family=family,
            situation_similarity=None if similarity is None else round(similarity, 4),
        )
