"""Event skeletons (personas/situations.yaml): per problem, the events a situation can be
built on, each naming the emotions it can carry, its intensity range, its time limits and
who it is about, with details and consequences to compose with it."""

from __future__ import annotations

import string
from typing import Any

from pydantic import Field, field_validator, model_validator

from factory.scenarios.rules import Conditions, Range, Strict

TIME_SLOTS = frozenset({"when", "span", "soon"})
PERSON_SLOTS = frozenset({"person", "they", "them", "their", "they_are", "they_have", "they_were"})
HOUSEHOLD_SLOTS = frozenset({"partner", "kids", "pet"})
JOB_SLOTS = frozenset({"at_work", "boss", "shifts", "colleague"})
BUSINESS_SLOTS = frozenset({"business", "clients"})
BUILT_IN_SLOTS = TIME_SLOTS | PERSON_SLOTS | HOUSEHOLD_SLOTS | JOB_SLOTS | BUSINESS_SLOTS


def slots_of(text: str) -> frozenset[str]:
    """The {slots} a template names (raises ValueError on a malformed one)."""
    return frozenset(slot for _, slot, _, _ in string.Formatter().parse(text) if slot)


def _phrases(value: Any) -> Any:
    """A plain string is a phrase for every emotion, with no needs."""
    if isinstance(value, list):
        return [{"text": v} if isinstance(v, str) else v for v in value]
    return value


class Phrase(Strict):
    """A consequence: the second sentence. `emotions` limits it to those feelings, `events`
    (a problem's shared consequence) to those events of the problem."""

    text: str = Field(min_length=1)
    emotions: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    needs: Conditions = Field(default_factory=dict)

    def fits(self, emotion: str, event: str) -> bool:
        return (not self.emotions or emotion in self.emotions) and (
            not self.events or event in self.events
        )


class Who(Strict):
    """Whom an event is about: household kinds (parent, grandparent, sibling, aunt_uncle,
    child, partner, friend, housemate), their age, whether they live with the seeker."""

    kinds: list[str] = Field(min_length=1)
    min_age: int | None = Field(default=None, ge=0)
    max_age: int | None = Field(default=None, ge=0)
    at_home: bool | None = None


class Event(Strict):
    id: str
    text: str = Field(min_length=1)
    emotions: list[str] = Field(min_length=1)
    intensity: tuple[int, int]
    when: Range | None = None
    span: Range | None = None
    needs: Conditions = Field(default_factory=dict)
    who: Who | None = None
    details: list[str] = Field(default_factory=list)
    consequences: list[Phrase] = Field(default_factory=list)

    _to_phrases = field_validator("consequences", mode="before")(_phrases)

    @model_validator(mode="after")
    def _valid(self) -> Event:
        low, high = self.intensity
        if not 1 <= low <= high <= 5:
            raise ValueError(f"{self.id}: intensity [{low}, {high}] must lie within 1..5")
        texts = [self.text, *self.details, *(c.text for c in self.consequences)]
        if self.who is None and any(slots_of(t) & PERSON_SLOTS for t in texts):
            raise ValueError(f"{self.id}: names {{person}} or a pronoun but has no `who`")
        return self


class ProblemEvents(Strict):
    consequences: list[Phrase] = Field(default_factory=list)
    events: list[Event] = Field(min_length=1)

    _to_phrases = field_validator("consequences", mode="before")(_phrases)

    @model_validator(mode="after")
    def _unique(self) -> ProblemEvents:
        ids = [e.id for e in self.events]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate:
            raise ValueError(f"event id '{duplicate}' appears twice")
        for phrase in self.consequences:
            if unknown := sorted(set(phrase.events) - set(ids)):
                raise ValueError(f"consequence {phrase.text!r}: unknown event '{unknown[0]}'")
        return self


class Situations(Strict):
    fillers: dict[str, list[str]] = Field(default_factory=dict)
    problems: dict[str, ProblemEvents]

    @model_validator(mode="after")
    def _fillers(self) -> Situations:
        for name, values in self.fillers.items():
            if not values:
                raise ValueError(f"fillers.{name}: list at least one value")
            if name in BUILT_IN_SLOTS:
                raise ValueError(f"fillers.{name}: a built-in slot, pick another name")
        return self

    def texts(self, problem: str) -> list[str]:
        """Every template text of a problem, for checking its slots."""
        entry = self.problems[problem]
        found = [c.text for c in entry.consequences]
        for event in entry.events:
            found += [event.text, *event.details, *(c.text for c in event.consequences)]
        return found
