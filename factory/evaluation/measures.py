"""The measures `factory eval` reports for one set of dialogues.

An utterance is one message: a generated turn, or each message an import merged into a turn
(ESConv's published statistics count messages). Tokens are whitespace-separated words. A
measure that cannot be computed (no strategies, no intensity ratings, no judge verdicts) is
left out and named in `skipped` with the reason."""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from factory.counting import shares
from factory.models import Dialogue, Role


@dataclass(frozen=True)
class Message:
    role: Role
    text: str
    strategy: str | None


def messages(dialogue: Dialogue) -> list[Message]:
    out = []
    for turn in dialogue.turns:
        if turn.utterances:
            out += [Message(turn.role, u.text, u.strategy) for u in turn.utterances]
        else:
            out.append(Message(turn.role, turn.text, turn.strategy))
    return out


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


def _ngrams(texts: list[str], n: int) -> tuple[int, int]:
    """(distinct n-grams, all n-grams) over the texts' lowercased words."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        tokens = text.lower().split()
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen), total


def distinct(texts: list[str], n: int) -> float | None:
    unique, total = _ngrams(texts, n)
    return round(unique / total, 4) if total else None


def jensen_shannon(p: dict[str, float], q: dict[str, float]) -> float:
    """Jensen-Shannon divergence in bits (0 = same distribution, 1 = disjoint)."""
    keys = set(p) | set(q)
    m = {k: (p.get(k, 0.0) + q.get(k, 0.0)) / 2 for k in keys}

    def kl(a: dict[str, float]) -> float:
        return sum(a[k] * math.log2(a[k] / m[k]) for k in keys if a.get(k, 0.0) > 0)

    return round((kl(p) + kl(q)) / 2, 4)


@dataclass
class Measures:
    values: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def measure(
    dialogues: list[Dialogue], sample_size: int = 100, draws: int = 5, seed: int = 0
) -> Measures:
    out = Measures()
    v = out.values
    all_messages = [messages(d) for d in dialogues]
    flat = [m for ms in all_messages for m in ms]
    seeker = [m for m in flat if m.role == "seeker"]
    supporter = [m for m in flat if m.role == "supporter"]
    v["dialogues"] = len(dialogues)
    v["utterances_per_dialogue"] = _mean([len(ms) for ms in all_messages])
    v["turns_per_dialogue"] = _mean([len(d.turns) for d in dialogues])
    v["tokens_per_seeker_utterance"] = _mean([len(m.text.split()) for m in seeker])
    v["tokens_per_supporter_utterance"] = _mean([len(m.text.split()) for m in supporter])
    texts = [m.text for m in flat]
    v["distinct_1"] = distinct(texts, 1)
    v["distinct_2"] = distinct(texts, 2)
    if len(dialogues) >= sample_size:
        rng = random.Random(seed)
        samples = []
        for _ in range(draws):
            picked = rng.sample(range(len(dialogues)), sample_size)
            sample = [m.text for i in picked for m in all_messages[i]]
            samples.append((distinct(sample, 1) or 0.0, distinct(sample, 2) or 0.0))
        for index, name in ((0, "distinct_1"), (1, "distinct_2")):
            values = [s[index] for s in samples]
            v[f"{name}_sample{sample_size}"] = {
                "mean": round(statistics.fmean(values), 4),
                "std": round(statistics.pstdev(values), 4),
            }
    else:
        out.skipped["distinct_sample"] = (
            f"fewer than {sample_size} dialogues: the fixed-size distinct-n needs {sample_size}"
        )
    normalised = Counter(m.text.strip().lower() for m in supporter)
    v["duplicate_supporter_utterance_share"] = (
        round(sum(c - 1 for c in normalised.values()) / len(supporter), 4) if supporter else None
    )
    strategies = Counter(m.strategy for m in supporter if m.strategy)
    if strategies:
        v["strategy"] = shares(strategies)
        v["strategy_labelled_share"] = round(sum(strategies.values()) / len(supporter), 4)
    else:
        out.skipped["strategy"] = "no supporter utterance has a strategy label"
    v["emotion"] = dict(Counter(d.scenario.emotion_type for d in dialogues).most_common())
    v["problem"] = dict(Counter(d.scenario.problem_type for d in dialogues).most_common())
    grid = Counter((d.scenario.emotion_type, d.scenario.problem_type) for d in dialogues)
    v["emotion_problem_cells"] = len(grid)
    _intensity(dialogues, out)
    _judge(dialogues, out)
    v["end_reason"] = shares(Counter(d.end_reason for d in dialogues))
    for key, why in (
        ("tokens_per_seeker_utterance", "no seeker utterances"),
        ("tokens_per_supporter_utterance", "no supporter utterances"),
        ("distinct_1", "no words in any utterance"),
        ("distinct_2", "no utterance of two or more words"),
        ("duplicate_supporter_utterance_share", "no supporter utterances"),
    ):
        if v.get(key) is None:
            out.skipped[key] = why
    return out


def _intensity(dialogues: list[Dialogue], out: Measures) -> None:
    rated = [
        [
            (i, t.intensity)
            for i, t in enumerate(t for t in d.turns if t.role == "seeker")
            if t.intensity
        ]
        for d in dialogues
    ]
    rated = [r for r in rated if len(r) >= 2]
    if not rated:
        out.skipped["intensity"] = "no dialogue has two or more self-rated intensities"
        return
    first = [r[0][1] for r in rated]
    last = [r[-1][1] for r in rated]
    by_turn: dict[int, list[int]] = {}
    for r in rated:
        for i, value in r:
            by_turn.setdefault(i, []).append(value)
    out.values["intensity"] = {
        "dialogues_rated": len(rated),
        "initial": _mean([float(x) for x in first]),
        "final": _mean([float(x) for x in last]),
        "mean_drop": _mean([float(a - b) for a, b in zip(first, last, strict=True)]),
        "improved_share": round(
            sum(b < a for a, b in zip(first, last, strict=True)) / len(rated), 4
        ),
        "by_seeker_turn": {
            str(i): _mean([float(x) for x in values])
            for i, values in sorted(by_turn.items())
            if len(values) >= 5
        },
    }


def _judge(dialogues: list[Dialogue], out: Measures) -> None:
    scores: dict[str, list[float]] = {}
    unreadable = 0
    for d in dialogues:
        for verdict in d.verdicts:
            if verdict.filter == "judge" and isinstance(verdict.details.get("scores"), dict):
                for name, value in verdict.details["scores"].items():
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        scores.setdefault(name, []).append(float(value))
                    else:
                        unreadable += 1
    if unreadable:
        out.skipped["judge_unreadable_scores"] = f"{unreadable} judge scores are not numbers"
    if not scores:
        out.skipped["judge"] = "no judge scores in the verdicts (the judge filter did not run)"
        return
    out.values["judge"] = {name: _mean(values) for name, values in sorted(scores.items())}
