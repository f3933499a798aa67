"""Reading a situation the way a careful reader does (personas/cues.yaml): which cues it
mentions (a boss, a roommate, a death), which relatives it names and what it says of
their age, and how long ago the moments it names were. The plausibility rules test the
reading; the templates fill their time slots from the same phrases; `personas stats`
blanks them to count distinct skeletons."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from pydantic import Field, model_validator

from factory.scenarios.household import HouseholdData
from factory.scenarios.rules import Strict


class TimePhrase(Strict):
    text: str = Field(min_length=1)
    days: int = Field(ge=0)


class Times(Strict):
    when: list[TimePhrase] = Field(min_length=1)
    span: list[TimePhrase] = Field(min_length=1)
    soon: list[TimePhrase] = Field(min_length=1)
    read_only: list[TimePhrase] = Field(default_factory=list)


class Cues(Strict):
    cues: dict[str, list[str]]
    problems: dict[str, list[str]] = Field(default_factory=dict)
    times: Times

    @model_validator(mode="after")
    def _compiles(self) -> Cues:
        for section, groups in (("cues", self.cues), ("problems", self.problems)):
            for name, patterns in groups.items():
                if not patterns:
                    raise ValueError(f"{section}.{name}: list at least one pattern")
                for pattern in patterns:
                    try:
                        re.compile(pattern)
                    except re.error as exc:
                        raise ValueError(
                            f"{section}.{name}: bad pattern {pattern!r} ({exc})"
                        ) from None
        return self


def _words(patterns: list[str]) -> re.Pattern[str]:
    """Any of the patterns, as whole words, ignoring case."""
    return re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{p})" for p in patterns) + r")(?!\w)", re.I)


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


# What a qualifier says of a relative's age ("my 15-year-old son", "my baby daughter").
_QUALIFIERS = {"baby": (0, 2), "teenage": (13, 19), "grown-up": (18, 120), "grown": (18, 120)}
_QUALIFIER = (
    r"(?:\d+-year-old|baby|teenage|grown-up|grown|adult|little|older|younger|big|late|elderly)"
)


@dataclass(frozen=True)
class NamedRelative:
    """A relative the situation names: their kind, their age relative to the seeker's
    (household.yaml offsets), an age the text states, and the seeker's youngest age for
    the word (no husband at 16)."""

    kind: str
    offset: tuple[int, int]
    stated: tuple[int, int] | None = None
    seeker_min_age: int = 0


@dataclass(frozen=True)
class Reading:
    mentions: frozenset[str]
    relatives: tuple[NamedRelative, ...]
    past_days: tuple[int, ...]  # how long ago each moment or stretch it names is

    @property
    def recency_days(self) -> int | None:
        return min(self.past_days) if self.past_days else None

    @property
    def longest_days(self) -> int | None:
        return max(self.past_days) if self.past_days else None


class SituationReader:
    def __init__(self, cues: Cues, household: HouseholdData) -> None:
        self.cues = cues
        self.household = household

    @cached_property
    def _cue_patterns(self) -> dict[str, re.Pattern[str]]:
        return {name: _words(patterns) for name, patterns in self.cues.cues.items()}

    @cached_property
    def _problem_patterns(self) -> dict[str, re.Pattern[str]]:
        return {name: _words(patterns) for name, patterns in self.cues.problems.items()}

    @cached_property
    def _relations(self) -> dict[str, NamedRelative]:
        h = self.household
        found: dict[str, NamedRelative] = {}
        for words in h.partner_words.values():
            for word in words:
                least = h.spouse_min_age if word in h.spouses else 0
                found[word.lower()] = NamedRelative("partner", h.partner_offset, None, least)
        for plural in h.plurals:
            for word in plural.words:
                found[word.lower()] = NamedRelative(plural.kind, plural.offset)
        for relation in h.relations:
            for word in relation.words:
                found[word.lower()] = NamedRelative(relation.kind, relation.offset)
        return found

    @cached_property
    def _relative_pattern(self) -> re.Pattern[str]:
        words = _alternatives(list(self._relations))
        return re.compile(rf"(?<!\w)(?:my|our) ((?:{_QUALIFIER} )*)({words})(?!\w)", re.I)

    @cached_property
    def _days(self) -> dict[str, int]:
        t = self.cues.times
        return {p.text.lower(): p.days for p in (*t.read_only, *t.soon, *t.span, *t.when)}

    @cached_property
    def _time_pattern(self) -> re.Pattern[str]:
        return re.compile(rf"(?<!\w)(in |another )?({_alternatives(list(self._days))})(?!\w)", re.I)

    def read(self, text: str) -> Reading:
        mentions = frozenset(n for n, p in self._cue_patterns.items() if p.search(text))
        relatives = []
        for match in self._relative_pattern.finditer(text):
            relative = self._relations[match.group(2).lower()]
            stated = _stated_age(match.group(1))
            if stated is not None:
                relative = NamedRelative(
                    relative.kind, relative.offset, stated, relative.seeker_min_age
                )
            relatives.append(relative)
        days = tuple(
            self._days[m.group(2).lower()]
            for m in self._time_pattern.finditer(text)
            if not m.group(1)  # "in two weeks" is ahead, not past
        )
        return Reading(mentions, tuple(relatives), days)

    def names_problem(self, problem: str, text: str) -> bool | None:
        """Whether the text mentions what `problem` is about; None if cues.yaml has no
        cues for it."""
        pattern = self._problem_patterns.get(problem)
        return None if pattern is None else bool(pattern.search(text))

    def time_words(self) -> list[str]:
        return list(self._days)

    def relative_words(self) -> list[str]:
        return list(self._relations)


def _stated_age(qualifiers: str) -> tuple[int, int] | None:
    for word in qualifiers.split():
        if word.endswith("-year-old") and word[: -len("-year-old")].isdigit():
            age = int(word[: -len("-year-old")])
            return age, age
        if word.lower() in _QUALIFIERS:
            return _QUALIFIERS[word.lower()]
    return None
