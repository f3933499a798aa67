"""The LLM quality judge: a backend reads each dialogue turn by turn and answers the rubric
of prompts/judge.jinja as structured output (`JudgeAnswer`): the main move of every labelled
supporter turn, and 1-5 scores with the turns behind each low one. The verdict stores every
criterion (None where it cannot be judged: persona consistency with an unknown profile,
strategy adherence without labels), the cited turns and the combined score.

A dialogue is dropped when safety is under `min_safety` or the combined score is under
`min_mean`; a score equal to the threshold is kept. A judgement that cannot be fetched or
parsed, or that the judge's budget no longer allows, keeps the dialogue, with the reason
(and the raw outputs) in the verdict."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cache
from typing import NamedTuple

from pydantic import Field, field_validator

from factory.backends import Backend, ChatRequest
from factory.errors import DataFileError
from factory.filters.base import Outcome
from factory.filters.judge_rubric import (
    CRITERIA,
    SCORED_BY_JUDGE,
    Combine,
    JudgeAnswer,
    JudgeVerdict,
    MoveRecord,
    answer_schema,
    combined_score,
    strategy_score,
)
from factory.filters.llm_check import LLMCheck, LLMCheckSettings
from factory.filters.report import JudgeSummary
from factory.filters.safety import crisis_cues
from factory.models import Dialogue, Turn
from factory.roleplay.parsing import ParseError, extract_json_object, match_choice
from factory.roleplay.taxonomy import load_taxonomy

__all__ = ["CRITERIA", "JudgeFilter", "JudgeSettings"]


class JudgeSettings(LLMCheckSettings):
    min_mean: float = Field(
        default=3.0, ge=1, le=5, description="kept when the combined score is >= this (ties kept)"
    )
    min_safety: int = Field(
        default=3, ge=1, le=5, description="kept when safety is >= this (ties kept)"
    )
    combine: Combine = Field(
        default="mean", description="mean (weighted) or min of the applicable criteria"
    )
    weights: dict[str, float] = Field(
        default_factory=dict, description="criterion -> weight in the mean; unnamed ones weigh 1"
    )
    max_tokens: int = Field(default=900, ge=256, le=8192, description="completion tokens")

    @field_validator("weights")
    @classmethod
    def _known_criteria(cls, weights: dict[str, float]) -> dict[str, float]:
        if unknown := sorted(set(weights) - set(CRITERIA)):
            raise ValueError(
                f"unknown criteria {', '.join(unknown)} (known: {', '.join(CRITERIA)})"
            )
        if any(w < 0 for w in weights.values()):
            raise ValueError("weights must be >= 0")
        return weights


class StrategyLine(NamedTuple):
    name: str
    description: str


class TurnLine(NamedTuple):
    """One turn as the judge sees it: its 1-based number, speaker, label(s) and text."""

    number: int
    role: str
    label: str
    text: str


def turn_labels(turn: Turn, names: Sequence[str] = ()) -> list[str]:
    """A supporter turn's strategy labels, in order: one, or one per merged message; each
    as the taxonomy `names` spell it where it abbreviates one of them (see taxonomy_name)."""
    found = [turn.strategy, *(u.strategy for u in turn.utterances or [])]
    return list(dict.fromkeys(taxonomy_name(s, names) for s in found if s))


def taxonomy_name(label: str, names: Sequence[str]) -> str:
    """The taxonomy name a dialogue's label stands for: the name itself in any case, or the
    one name it is the leading words of ("Restatement" for "Restatement or Paraphrasing").
    Otherwise the label as written, so the judge is shown it and may name it."""
    wanted = label.strip().lower()
    found = [n for n in names if n.lower() == wanted or n.lower().startswith(wanted + " ")]
    return found[0] if len(found) == 1 else label


@cache
def _taxonomy_lines(name: str) -> tuple[StrategyLine, ...]:
    try:
        taxonomy = load_taxonomy(name)
    except DataFileError:
        return ()  # a taxonomy file not at hand: the dialogue's own labels stand in
    return tuple(StrategyLine(s.name, s.description) for s in taxonomy.strategies)


def persona_summary(dialogue: Dialogue) -> str:
    """The seeker profile the judge sees; empty when nothing about the seeker is known."""
    p = dialogue.persona
    parts = (p.age and f"{p.age}", p.gender, p.occupation, *p.traits)
    return ", ".join(str(part) for part in parts if part and part != "unknown")


class _Tally:
    """Score sums for the summary, kept as the batches pass."""

    def __init__(self) -> None:
        self.sums: defaultdict[str, float] = defaultdict(float)
        self.counts: Counter[str] = Counter()
        self.not_applicable: Counter[str] = Counter()

    def add(self, verdict: JudgeVerdict) -> None:
        for criterion, score in verdict.scores.items():
            if score is None:
                self.not_applicable[criterion] += 1
            else:
                self.sums[criterion] += score
                self.counts[criterion] += 1
        if verdict.combined is not None:
            self.sums["combined"] += verdict.combined
            self.counts["combined"] += 1

    def mean(self, key: str) -> float | None:
        return round(self.sums[key] / self.counts[key], 3) if self.counts[key] else None


class JudgeFilter(LLMCheck[JudgeSettings, JudgeVerdict]):
    name = "judge"
    Settings = JudgeSettings
    prompt = "judge"

    def __init__(
        self, settings: JudgeSettings | None = None, backend: Backend | None = None
    ) -> None:
        super().__init__(settings, backend)
        self._tally = _Tally()

    def summary(self) -> JudgeSummary:
        s = self.settings
        return JudgeSummary(
            **self.summary_fields(),
            judged=self._tally.counts["combined"],
            means={c: self._tally.mean(c) for c in CRITERIA},
            not_applicable={c: n for c in CRITERIA if (n := self._tally.not_applicable[c])},
            combined_mean=self._tally.mean("combined"),
            combine=s.combine,
            weights=s.weights,
            min_mean=s.min_mean,
            min_safety=s.min_safety,
        )

    def strategies(self, dialogue: Dialogue) -> list[StrategyLine]:
        """The dialogue's taxonomy, plus any label it uses that the taxonomy lacks."""
        lines = list(_taxonomy_lines(dialogue.generation.taxonomy))
        known = {line.name for line in lines}
        taxonomy = [line.name for line in lines]
        for turn in dialogue.turns:
            for label in turn_labels(turn, taxonomy):
                if label not in known:
                    lines.append(StrategyLine(label, ""))
                    known.add(label)
        return lines

    def request(self, dialogue: Dialogue) -> ChatRequest:
        strategies = self.strategies(dialogue)
        names = [s.name for s in strategies]
        lines = [
            TurnLine(i + 1, t.role, " + ".join(turn_labels(t, names)), t.text)
            for i, t in enumerate(dialogue.turns)
        ]
        messages = self.template.render(
            labels=self.labels,
            strategies=strategies,
            strategy_names=names,
            persona_summary=persona_summary(dialogue),
            lines=lines,
            risk_cues=[(i + 1, phrase) for i, phrase in crisis_cues(dialogue)],
        )
        return ChatRequest(
            messages=messages,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
            json_schema=answer_schema(names or ["Others"]),
            schema_name="judgement",
            agent="judge",
        )

    def read(self, dialogue: Dialogue, text: str) -> JudgeVerdict:
        """The stored verdict from the judge's raw answer; raises ParseError or
        ValidationError when the answer is not the rubric's JSON."""
        answer = JudgeAnswer.model_validate(extract_json_object(text))
        count = len(dialogue.turns)

        def indices(numbers: list[int]) -> list[int]:
            return sorted({n - 1 for n in numbers if 1 <= n <= count})

        scores: dict[str, int | None] = {}
        evidence: dict[str, list[int]] = {}
        for criterion in SCORED_BY_JUDGE:
            part = getattr(answer, criterion)
            scores[criterion] = part.score
            evidence[criterion] = indices(part.turns) if part.score is not None else []
        if not persona_summary(dialogue):
            scores["persona_consistency"], evidence["persona_consistency"] = None, []
        moves = self._moves(dialogue, answer)
        share = round(sum(m.matches for m in moves) / len(moves), 3) if moves else None
        scores["strategy_adherence"] = strategy_score(share) if share is not None else None
        evidence["strategy_adherence"] = [m.turn for m in moves if not m.matches]
        scores = {c: scores[c] for c in CRITERIA}
        s = self.settings
        return JudgeVerdict(
            scores=scores,
            combined=combined_score(scores, s.combine, s.weights),
            evidence={c: evidence[c] for c in CRITERIA},
            not_applicable=[c for c in CRITERIA if scores[c] is None],
            main_moves=moves,
            strategy_match_share=share,
            comment=answer.comment,
        )

    def _moves(self, dialogue: Dialogue, answer: JudgeAnswer) -> list[MoveRecord]:
        """The judge's main move for each labelled supporter turn, checked against the
        label(s); turns it names that carry no label are ignored."""
        names = [s.name for s in self.strategies(dialogue)]
        labelled = {
            i: labels
            for i, t in enumerate(dialogue.turns)
            if t.role == "supporter" and (labels := turn_labels(t, names))
        }
        moves: dict[int, MoveRecord] = {}
        for main in answer.main_moves:
            index = main.turn - 1
            if index not in labelled or index in moves:
                continue
            try:
                move = match_choice(main.move, names, "move")
            except ParseError:
                move = main.move.strip()[:60]
            moves[index] = MoveRecord(
                turn=index, labels=labelled[index], move=move, matches=move in labelled[index]
            )
        if labelled and not moves:
            raise ParseError("no main move for any labelled supporter turn")
        return [moves[i] for i in sorted(moves)]

    def decide(self, dialogue: Dialogue, verdict: JudgeVerdict) -> Outcome:
        self._tally.add(verdict)
        details = verdict.model_dump(mode="json")
        safety = verdict.scores["safety"]
        if safety is not None and safety < self.settings.min_safety:
            return self.drop(dialogue, "judge_unsafe", score=verdict.combined, **details)
        if verdict.combined is not None and verdict.combined < self.settings.min_mean:
            return self.drop(dialogue, "judge_low_quality", score=verdict.combined, **details)
        return self.keep(dialogue, score=verdict.combined, **details)
