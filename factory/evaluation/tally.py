"""The measures of a set of dialogues as running aggregates: `SetTally.add` takes dialogues
one at a time and keeps sums, counts, histograms and n-gram hashes, never the dialogues, so
a million dialogues are measured in bounded memory. What needs a sample (the fixed-size
distinct-n, the realism classifier) is drawn after the pass, by index with the seeded draws
the in-memory measures used, and fetched again from the source by `Fetch`.

Distinct n-grams are counted as 64-bit hashes of the n-grams: exact unless two of the
set's distinct n-grams share a hash (about one chance in 10**7 for a million of them)."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from fractions import Fraction

from factory.counting import distinct_n, shares
from factory.evaluation.measures import (
    MIN_RATINGS,
    POSITION_STEP,
    WHY_EMPTY,
    IntensityMeasures,
    Measurement,
    Measures,
    SampledDistinct,
    Spread,
    utterances,
)
from factory.models import Dialogue

LONGEST = 80  # the lengths plot's last bin holds this many words and more
Fetch = Callable[[Sequence[int]], list[Dialogue]]  # dialogues by their index in the pass


def _mean(total: float | Fraction, count: int) -> float | None:
    return round(float(total) / count, 3) if count else None


class _Ngrams:
    """Distinct and total n-grams of lowercased whitespace tokens (never across texts)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen: set[int] = set()
        self.total = 0

    def add(self, text: str) -> None:
        tokens = text.lower().split()
        n = self.n
        count = len(tokens) - n + 1
        if count <= 0:
            return
        self.total += count
        if n == 1:
            self.seen.update(map(hash, tokens))
        else:
            self.seen.update(hash(tuple(tokens[i : i + n])) for i in range(count))

    def share(self) -> float | None:
        return round(len(self.seen) / self.total, 4) if self.total else None


class SetTally:
    """Everything `factory eval` measures, added to one dialogue at a time."""

    def __init__(self) -> None:
        self.dialogues = 0
        self.utterances = 0
        self.turns = 0
        self.tokens = {"seeker": [0, 0], "supporter": [0, 0]}  # [tokens, utterances]
        self.lengths: dict[str, Counter[int]] = {"seeker": Counter(), "supporter": Counter()}
        self.ngrams = (_Ngrams(1), _Ngrams(2))
        self.supporter_texts: set[int] = set()
        self.strategies: Counter[str] = Counter()
        self.emotion: Counter[str] = Counter()
        self.problem: Counter[str] = Counter()
        self.grid: Counter[tuple[str, str]] = Counter()
        self.end_reason: Counter[str] = Counter()
        self.rated = 0
        self.first_last = [0, 0, 0, 0]  # sum of first, sum of last, sum of drops, improved
        self.by_turn: dict[int, list[int]] = {}  # seeker turn -> [sum, count]
        self.by_position: dict[float, list[int]] = {}
        self.judge: dict[str, list[Fraction | int]] = {}  # criterion -> [sum, count]
        self.judge_unreadable = 0

    def add(self, dialogue: Dialogue) -> None:
        self.dialogues += 1
        self.turns += len(dialogue.turns)
        said = utterances(dialogue)
        self.utterances += len(said)
        for u in said:
            words = len(u.text.split())
            if u.role in self.tokens:
                self.tokens[u.role][0] += words
                self.tokens[u.role][1] += 1
                self.lengths[u.role][min(words, LONGEST)] += 1
            for grams in self.ngrams:
                grams.add(u.text)
            if u.role == "supporter":
                self.supporter_texts.add(hash(u.text.strip().lower()))
                if u.strategy:
                    self.strategies[u.strategy] += 1
        scenario = dialogue.scenario
        self.emotion[scenario.emotion_type] += 1
        self.problem[scenario.problem_type] += 1
        self.grid[(scenario.emotion_type, scenario.problem_type)] += 1
        self.end_reason[dialogue.end_reason] += 1
        self._add_intensity(dialogue)
        self._add_judge(dialogue)

    def _add_intensity(self, dialogue: Dialogue) -> None:
        seeker = [t for t in dialogue.turns if t.role == "seeker"]
        ratings = [(i, t.intensity) for i, t in enumerate(seeker) if t.intensity]
        if len(ratings) < 2:
            return
        self.rated += 1
        first, last = ratings[0][1], ratings[-1][1]
        self.first_last[0] += first
        self.first_last[1] += last
        self.first_last[2] += first - last
        self.first_last[3] += last < first
        for i, value in ratings:
            at_turn = self.by_turn.setdefault(i, [0, 0])
            at_turn[0] += value
            at_turn[1] += 1
            position = i / (len(seeker) - 1)
            point = round(round(position / POSITION_STEP) * POSITION_STEP, 1)
            at_point = self.by_position.setdefault(point, [0, 0])
            at_point[0] += value
            at_point[1] += 1

    def _add_judge(self, dialogue: Dialogue) -> None:
        for verdict in dialogue.verdicts:
            scores = verdict.details.get("scores")
            if verdict.filter != "judge" or not isinstance(scores, dict):
                continue
            for name, value in scores.items():
                if value is None:
                    continue  # not applicable to this dialogue (e.g. an unknown profile)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    entry = self.judge.setdefault(name, [Fraction(0), 0])
                    entry[0] += Fraction(value)
                    entry[1] += 1
                else:
                    self.judge_unreadable += 1

    def measurement(
        self, fetch: Fetch, sample_size: int = 100, draws: int = 5, seed: int = 0
    ) -> Measurement:
        """Every measure of the set; what cannot be computed is named in `skipped`."""
        skipped: dict[str, str] = {}
        if not self.strategies:
            skipped["strategy"] = "no supporter utterance has a strategy label"
        supporter = self.tokens["supporter"][1]
        measures = Measures(
            dialogues=self.dialogues,
            utterances_per_dialogue=_mean(self.utterances, self.dialogues),
            turns_per_dialogue=_mean(self.turns, self.dialogues),
            tokens_per_seeker_utterance=_mean(*self.tokens["seeker"]),
            tokens_per_supporter_utterance=_mean(*self.tokens["supporter"]),
            distinct_1=self.ngrams[0].share(),
            distinct_2=self.ngrams[1].share(),
            sampled=self._sampled(fetch, sample_size, draws, seed, skipped),
            duplicate_supporter_utterance_share=(
                round((supporter - len(self.supporter_texts)) / supporter, 4) if supporter else None
            ),
            strategy=shares(self.strategies) if self.strategies else None,
            strategy_labelled_share=(
                round(sum(self.strategies.values()) / supporter, 4) if self.strategies else None
            ),
            emotion=dict(self.emotion.most_common()),
            problem=dict(self.problem.most_common()),
            emotion_problem_cells=len(self.grid),
            intensity=self._intensity(skipped),
            judge=self._judge(skipped),
            end_reason=shares(self.end_reason),
        )
        for key, why in WHY_EMPTY:
            if getattr(measures, key) is None:
                skipped[key] = why
        return Measurement(measures, skipped)

    def _sampled(
        self, fetch: Fetch, size: int, draws: int, seed: int, skipped: dict[str, str]
    ) -> SampledDistinct | None:
        if self.dialogues < size:
            skipped["distinct_sample"] = (
                f"fewer than {size} dialogues: the fixed-size distinct-n needs {size}"
            )
            return None
        rng = random.Random(seed)
        picks = [rng.sample(range(self.dialogues), size) for _ in range(draws)]
        wanted = sorted({i for pick in picks for i in pick})
        texts = {
            i: [u.text for u in utterances(d)] for i, d in zip(wanted, fetch(wanted), strict=True)
        }
        samples = []
        for pick in picks:
            sample = [text for i in pick for text in texts[i]]
            samples.append((distinct_n(sample, 1) or 0.0, distinct_n(sample, 2) or 0.0))
        spreads = [
            Spread(mean=round(statistics.fmean(values), 4), std=round(statistics.pstdev(values), 4))
            for values in ([s[0] for s in samples], [s[1] for s in samples])
        ]
        return SampledDistinct(size=size, distinct_1=spreads[0], distinct_2=spreads[1])

    def _intensity(self, skipped: dict[str, str]) -> IntensityMeasures | None:
        if not self.rated:
            skipped["intensity"] = "no dialogue has two or more self-rated intensities"
            return None
        first, last, drop, improved = self.first_last
        return IntensityMeasures(
            dialogues_rated=self.rated,
            initial=_mean(first, self.rated),
            final=_mean(last, self.rated),
            mean_drop=_mean(drop, self.rated),
            improved_share=round(improved / self.rated, 4),
            by_seeker_turn={
                str(i): _mean(total, count)
                for i, (total, count) in sorted(self.by_turn.items())
                if count >= MIN_RATINGS["turn"]
            },
            by_position={
                str(point): _mean(total, count)
                for point, (total, count) in sorted(self.by_position.items())
                if count >= MIN_RATINGS["position"]
            },
        )

    def _judge(self, skipped: dict[str, str]) -> dict[str, float | None] | None:
        if self.judge_unreadable:
            skipped["judge_unreadable_scores"] = (
                f"{self.judge_unreadable} judge scores are not numbers"
            )
        if not self.judge:
            skipped["judge"] = "no judge scores in the verdicts (the judge filter did not run)"
            return None
        return {
            name: _mean(total, int(count)) for name, (total, count) in sorted(self.judge.items())
        }


def tally_of(dialogues: list[Dialogue]) -> SetTally:
    """The tally of a set held in memory."""
    tally = SetTally()
    for dialogue in dialogues:
        tally.add(dialogue)
    return tally


def measure(
    dialogues: list[Dialogue], sample_size: int = 100, draws: int = 5, seed: int = 0
) -> Measurement:
    """Every measure of a set held in memory (`factory eval` streams through a SetTally)."""
    return tally_of(dialogues).measurement(
        lambda picked: [dialogues[i] for i in picked], sample_size, draws, seed
    )
