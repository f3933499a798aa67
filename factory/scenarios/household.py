"""Who is in a seeker's life (personas/household.yaml): parents, grandparents, siblings,
aunts and uncles, children, a partner, friends and a pet, with ages that fit the seeker's.
The sampler draws a household after age, life stage and living situation, and the
situation templates name people from it ("my 15-year-old son", "my grandmother"), so a
situation involves the person's actual family. The household is the sampler's own
structure: a scenario keeps only what the situation says about it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, model_validator

from factory.scenarios.rules import Conditions, Facts, Strict, meets

Pronoun = Literal["he", "she", "they"]
# The pronoun slots a template can name, per pronoun (verbs agree: "she has", "they have").
PRONOUNS: dict[str, dict[str, str]] = {
    "he": {"they": "he", "them": "him", "their": "his", "they_are": "he is",
           "they_have": "he has", "they_were": "he was"},
    "she": {"they": "she", "them": "her", "their": "her", "they_are": "she is",
            "they_have": "she has", "they_were": "she was"},
    "they": {"they": "they", "them": "them", "their": "their", "they_are": "they are",
             "they_have": "they have", "they_were": "they were"},
}  # fmt: skip
CHILDREN_AT_HOME = ("with a partner and children", "as a single parent with children")
PARTNER_AT_HOME = ("with a partner", "with a partner and children")


class Relation(Strict):
    name: str
    kind: Literal["parent", "grandparent", "sibling", "aunt_uncle", "cousin", "child"]
    pronoun: Pronoun
    offset: tuple[int, int]
    words: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Relation:
        if self.offset[0] > self.offset[1]:
            raise ValueError(f"{self.name}: offset {list(self.offset)} is upside down")
        return self


class Plural(Strict):
    kind: str
    offset: tuple[int, int]
    words: list[str] = Field(min_length=1)


class Friend(Strict):
    words: str
    needs: Conditions = Field(default_factory=dict)


class HouseholdData(Strict):
    relations: list[Relation] = Field(min_length=1)
    plurals: list[Plural] = Field(default_factory=list)
    alive_until: int = Field(ge=0, le=120)
    oldest: int = Field(ge=0, le=120)
    siblings: list[float] = Field(min_length=1)
    partner_share: float = Field(ge=0, le=1)
    partner_offset: tuple[int, int] = (-15, 15)
    partner_words: dict[str, list[str]]
    partner_pronouns: dict[str, Pronoun]
    spouses: list[str] = Field(default_factory=list)
    spouse_min_age: int = Field(default=18, ge=10, le=100)
    friends: list[Friend] = Field(min_length=1)
    pets: list[str] = Field(default_factory=list)
    pet_share: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> HouseholdData:
        kinds = {r.kind for r in self.relations}
        if not {"parent", "grandparent", "sibling", "child"} <= kinds:
            raise ValueError("relations: list at least a parent, grandparent, sibling and child")
        if self.alive_until > self.oldest:
            raise ValueError("alive_until is above oldest")
        words = {w for ws in self.partner_words.values() for w in ws}
        missing = sorted(words - set(self.partner_pronouns))
        if missing:
            raise ValueError(f"partner_pronouns: no pronoun for {', '.join(missing)}")
        return self


@dataclass(frozen=True)
class Person:
    """Someone in the seeker's life. `kind` is a relation kind, or partner, friend or
    housemate; `words` is how the seeker names them ("15-year-old son")."""

    kind: str
    words: str
    pronoun: Pronoun
    age: int | None = None
    at_home: bool = False

    @property
    def forms(self) -> dict[str, str]:
        """The pronoun slots filled for this person."""
        return PRONOUNS[self.pronoun]


@dataclass
class Household:
    people: list[Person] = field(default_factory=list)
    pet: str | None = None

    @property
    def partner(self) -> Person | None:
        return next((p for p in self.people if p.kind == "partner"), None)

    @property
    def children_at_home(self) -> list[Person]:
        return [p for p in self.people if p.kind == "child" and p.at_home]


def child_words(word: str, age: int, rng: random.Random) -> str:
    """How a parent names a child: "baby daughter", "7-year-old son", "teenage son", "son"."""
    if age <= 1:
        return f"baby {word}"
    if age < 18:
        style = rng.choice(("age", "age", "plain", "teen" if age >= 13 else "plain"))
        if style == "age":
            return f"{age}-year-old {word}"
        return f"teenage {word}" if style == "teen" else word
    return rng.choice((word, word, f"grown-up {word}"))


class HouseholdSampler:
    """Draws a household that fits facts already drawn (age, gender, life stage, living
    situation, occupation, problem): nobody older than `oldest`, children only for
    parents, parents at home only when the seeker lives with them."""

    def __init__(self, data: HouseholdData) -> None:
        self.data = data

    def _alive(self, age: int, rng: random.Random) -> bool:
        d = self.data
        if age <= d.alive_until:
            return True
        return rng.random() < max(0.0, (d.oldest - age) / (d.oldest - d.alive_until + 1))

    def draw(self, rng: random.Random, facts: Facts, gender: str) -> Household:
        age = int(facts["age"])  # type: ignore[arg-type]
        living = str(facts["living_situation"])
        household = Household()
        people = household.people
        by_kind: dict[str, list[Relation]] = {}
        for relation in self.data.relations:
            by_kind.setdefault(relation.kind, []).append(relation)
        for relation in by_kind["parent"]:
            parent_age = age + rng.randint(*relation.offset)
            if self._alive(parent_age, rng):
                at_home = living == "with parents"
                people.append(
                    Person("parent", relation.words[0], relation.pronoun, parent_age, at_home)
                )
        if living == "with an elderly parent":
            self._elderly_parent(rng, age, by_kind["parent"], people)
        for relation in by_kind["grandparent"]:
            grand_age = age + rng.randint(*relation.offset)
            if self._alive(grand_age, rng):
                people.append(Person("grandparent", relation.words[0], relation.pronoun, grand_age))
        count = rng.choices(range(len(self.data.siblings)), weights=self.data.siblings)[0]
        for _ in range(count):
            relation = rng.choice(by_kind["sibling"])
            sibling_age = max(0, age + rng.randint(*relation.offset))
            people.append(Person("sibling", relation.words[0], relation.pronoun, sibling_age))
        for relation in by_kind.get("aunt_uncle", []):
            relative_age = age + rng.randint(*relation.offset)
            if self._alive(relative_age, rng):
                people.append(
                    Person("aunt_uncle", relation.words[0], relation.pronoun, relative_age)
                )
        self._children(rng, facts, by_kind["child"], people)
        self._partner(rng, facts, gender, people)
        for friend in self.data.friends:
            if meets(facts, friend.needs):
                kind = "housemate" if "roommate" in friend.words else "friend"
                people.append(Person(kind, friend.words, "they", None))
        if self.data.pets and rng.random() < self.data.pet_share:
            household.pet = rng.choice(self.data.pets)
        return household

    def _elderly_parent(
        self, rng: random.Random, age: int, parents: list[Relation], people: list[Person]
    ) -> None:
        """The parent the seeker lives with: alive and past 70."""
        people[:] = [p for p in people if p.kind != "parent"]
        relation = rng.choice(parents)
        low = max(70, age + relation.offset[0])
        high = max(low, min(self.data.oldest - 5, age + relation.offset[1]))
        people.append(
            Person("parent", relation.words[0], relation.pronoun, rng.randint(low, high), True)
        )

    def _children(
        self, rng: random.Random, facts: Facts, relations: list[Relation], people: list[Person]
    ) -> None:
        """Children for a seeker who lives with them, raises them or has grown ones; their
        ages fit the parent's (the child relation's offset) and the life stage."""
        age = int(facts["age"])  # type: ignore[arg-type]
        stage = facts.get("life_stage")
        at_home = facts.get("living_situation") in CHILDREN_AT_HOME
        if not at_home and stage not in ("raising young children", "with grown children"):
            return
        youngest, oldest = max(0, age + relations[0].offset[0]), age + relations[0].offset[1]
        if stage == "raising young children":
            oldest = min(oldest, 12)
        elif stage == "with grown children":
            youngest = max(youngest, 18)
        if youngest > oldest:
            return
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            relation = rng.choice(relations)
            child_age = rng.randint(youngest, oldest)
            home = at_home and (child_age < 18 or stage != "with grown children")
            words = child_words(relation.words[0], child_age, rng)
            people.append(Person("child", words, relation.pronoun, child_age, home))

    def _partner(self, rng: random.Random, facts: Facts, gender: str, people: list[Person]) -> None:
        age = int(facts["age"])  # type: ignore[arg-type]
        at_home = facts.get("living_situation") in PARTNER_AT_HOME
        breakup = facts.get("problem") == "breakup with partner"
        apart = age >= 18 and facts.get("living_situation") != "with an elderly parent"
        if not (at_home or breakup or (apart and rng.random() < self.data.partner_share)):
            return
        choices = self.data.partner_words.get(gender) or ["partner"]
        # A husband or wife lives with them, or (past 60, living alone) died or needs care.
        if age < self.data.spouse_min_age or (not at_home and age < 60):
            choices = [w for w in choices if w not in self.data.spouses] or ["partner"]
        words = rng.choice(choices)
        if age < 20:  # teenagers go out with teenagers
            partner_age = rng.randint(max(15, age - 2), age + 2)
        else:
            partner_age = max(18, age + rng.randint(*self.data.partner_offset))
        pronoun = self.data.partner_pronouns[words]
        people.append(Person("partner", words, pronoun, partner_age, at_home))
