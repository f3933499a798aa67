"""Seeded, stratified sampling of scenarios: persona x problem x emotion x intensity x situation.

The problem x emotion grid is covered evenly before any cell repeats: the first len(cells)
scenarios visit every feasible cell once (seeded order), later ones follow the target weights
by smooth weighted round-robin. The sequence does not depend on n, so a larger n only adds
scenarios at the end. Each persona is drawn under the plausibility rules of
personas/constraints.yaml; a cell that no persona can satisfy is left out of the grid (and
reported). Age bands, genders and living situations follow personas/population.yaml by
default (`Marginals.uniform`: the pools evenly); names and job titles come from Faker."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from factory.errors import DataFileError
from factory.models import BigFive, Persona, Scenario, SituationSource
from factory.scenarios.events import PERSON_SLOTS, TIME_SLOTS, Event, Who, slots_of
from factory.scenarios.household import Household, HouseholdSampler, Person
from factory.scenarios.persona_bank import BIG_FIVE, Occupation, PersonaBank
from factory.scenarios.plausibility import PlausibilityChecker
from factory.scenarios.population import Stratum, fit_shares, pick
from factory.scenarios.rules import Facts, meets

Cell = tuple[str, str]  # (problem, emotion)


class Mix(StrEnum):
    """Target weights over the problem x emotion grid: equal, or ESConv's shares."""

    uniform = "uniform"
    esconv = "esconv"


class Marginals(StrEnum):
    """Age, gender and living-situation shares: a population's (personas/population.yaml)
    or the pools evenly."""

    population = "population"
    uniform = "uniform"


DEFAULT_INTENSITY_WEIGHTS = (0.0, 1.0, 3.0, 4.0, 3.0)  # for 1..5: most seekers arrive at 3-5
_FEASIBILITY_TRIES = 200
_BAND_TRIES = 40
_PERSONA_TRIES = 200


class DeadEnd(DataFileError):
    """No value of some attribute is allowed with what was drawn so far."""


@dataclass
class PersonaDraw:
    """A persona plus the scenario facts drawn with it, before the situation is written:
    their household, the event a template situation is built on and whom it is about."""

    persona: Persona
    problem: str
    emotion: str
    intensity: int
    facts: Facts
    household: Household = field(default_factory=Household)
    event: Event | None = None
    about: Person | None = None


class PersonaSampler:
    """Draws a person step by step (age, life stage, living situation, occupation, then the
    rest), each step limited by the plausibility rules on what is drawn so far; then their
    household, and an event of the problem that carries the cell's emotion and fits them.
    The initial intensity follows the event's range."""

    def __init__(
        self,
        bank: PersonaBank,
        mix: Mix = Mix.uniform,
        intensity_weights: tuple[float, ...] = DEFAULT_INTENSITY_WEIGHTS,
        marginals: Marginals = Marginals.population,
    ) -> None:
        self.bank = bank
        self.mix = mix
        self.marginals = marginals
        self.intensity_weights = intensity_weights
        self.checker = PlausibilityChecker(bank)
        self.households = HouseholdSampler(bank.household)
        self._read: dict[str, frozenset[str]] = {}
        grid = [(p.name, e) for p in bank.problems for e in p.emotions]
        self.infeasible = [cell for cell in grid if not self._feasible(cell)]
        self.cells = [cell for cell in grid if cell not in self.infeasible]
        self.weights = {cell: self._weight(cell) for cell in self.cells}
        self.band_weights = self._fit_bands()

    # -- the grid ----------------------------------------------------------------------
    def _weight(self, cell: Cell) -> float:
        if self.mix == Mix.uniform:
            return 1.0
        problem = self.bank.problem(cell[0])
        feasible = [e for e in problem.emotions if (problem.name, e) not in self.infeasible]

        def emotion_weight(name: str) -> float:
            # Labels ESConv never used get the weight of its rarest label, not zero.
            return float(max(self.bank.emotion(name).esconv_weight or 0, 1))

        # The problem keeps its ESConv share; its emotions split that share by their own.
        share = emotion_weight(cell[1]) / sum(emotion_weight(e) for e in feasible)
        return float(max(problem.esconv_weight or 0, 1)) * share

    def cell_sequence(self, seed: int) -> Iterator[Cell]:
        """Every cell once (seeded order), then cells in proportion to their weights."""
        order = list(self.cells)
        random.Random(f"cells:{seed}").shuffle(order)
        yield from order
        total = sum(self.weights.values())
        current = dict.fromkeys(order, 0.0)
        while True:  # smooth weighted round-robin: deterministic and proportional
            for cell in order:
                current[cell] += self.weights[cell]
            best = max(order, key=lambda c: current[c])
            current[best] -= total
            yield best

    def _feasible(self, cell: Cell) -> bool:
        rng = random.Random(f"feasible:{cell}")
        bands = [b.name for b in self.bank.attributes.age_bands]
        for _ in range(_FEASIBILITY_TRIES):
            try:
                self._draw_once(rng, cell, rng.choice(bands))
                return True
            except DeadEnd:
                continue
        return False

    def _bands_of(self, cell: Cell) -> set[str]:
        """The age bands some persona of the cell can be in."""
        found = set()
        for band in self.bank.attributes.age_bands:
            rng = random.Random(f"feasible:{cell}:{band.name}")
            for _ in range(_BAND_TRIES):
                try:
                    self._draw_once(rng, cell, band.name)
                    found.add(band.name)
                    break
                except DeadEnd:
                    continue
        return found

    def _fit_bands(self) -> dict[Cell, dict[str, float]]:
        """Each cell's age-band weights: fitted so the bank's shares match the population's
        (cells weighted by their long-run share), or even over the bands a cell allows."""
        feasible = {cell: self._bands_of(cell) for cell in self.cells}
        if self.marginals is Marginals.uniform:
            return {cell: dict.fromkeys(bands, 1.0) for cell, bands in feasible.items()}
        keys = {f"{p}|{e}": (p, e) for p, e in self.cells}
        fitted = fit_shares(
            {k: self.weights[c] for k, c in keys.items()},
            {k: feasible[c] for k, c in keys.items()},
            self.bank.population.age_bands,
        )
        return {keys[k]: shares for k, shares in fitted.items()}

    # -- personas ----------------------------------------------------------------------
    def draw(self, rng: random.Random, cell: Cell, stratum: Stratum | None = None) -> PersonaDraw:
        """A persona for `cell` that breaks no rule its facts can be judged by yet, with a
        household and an event that fit it. The age band is drawn first (at the stratum's
        quantile, if given) and kept while the rest is redrawn, so the cell's band weights
        are the bank's shares."""
        weights = self.band_weights[cell]
        bands = sorted(weights)
        quantile = stratum.age if stratum is not None else rng.random()
        band = pick(bands, [weights[b] for b in bands], quantile)
        for attempt in range(_PERSONA_TRIES):
            if attempt == _PERSONA_TRIES // 2:  # a band that fits only rarely: let go of it
                band = rng.choices(bands, weights=[weights[b] for b in bands])[0]
            try:
                return self._draw_once(rng, cell, band, stratum)
            except DeadEnd:
                continue
        raise DeadEnd(
            f"no persona for {cell[0]} x {cell[1]} after {_PERSONA_TRIES} tries:"
            " the rules in personas/constraints.yaml and the events in situations.yaml"
            " leave too little; relax them"
        )

    def _pick(
        self,
        rng: random.Random,
        facts: Facts,
        facet: str,
        options: list[str],
        shares: dict[str, float] | None = None,
        quantile: float | None = None,
    ) -> str:
        """One of the options the rules allow beside the facts so far, by `shares` (evenly
        without), at `quantile` if given."""
        allowed = [
            o for o in options if self.checker.first_broken({**facts, facet: o}, (facet,)) is None
        ]
        if shares is not None and self.marginals is Marginals.population:
            allowed = [o for o in allowed if shares.get(o, 0) > 0]
            weights = [shares[o] for o in allowed]
        else:
            weights = [1.0] * len(allowed)
        if not allowed:
            raise DeadEnd(facet)
        if quantile is None:
            quantile = rng.random()
        choice = facts[facet] = pick(allowed, weights, quantile)
        return choice

    def _draw_once(
        self, rng: random.Random, cell: Cell, band_name: str, stratum: Stratum | None = None
    ) -> PersonaDraw:
        a = self.bank.attributes
        population = self.bank.population
        facts: Facts = {"problem": cell[0], "emotion": cell[1]}
        if self.checker.first_broken(facts) is not None:
            raise DeadEnd("cell")
        self._pick(rng, facts, "age_band", [band_name])
        band = next(b for b in a.age_bands if b.name == band_name)
        ages = [
            age
            for age in range(band.min, band.max + 1)
            if self.checker.first_broken({**facts, "age": age}, ("age",)) is None
        ]
        if not ages:
            raise DeadEnd("age")
        age = facts["age"] = rng.choice(ages)
        # Home before life stage: the household shares are the population's, and a life
        # stage (raising young children) must then fit the home, not force it.
        self._pick(
            rng, facts, "living_situation", a.living_situations,
            population.living_situations.get(band_name),
        )  # fmt: skip
        self._pick(
            rng,
            facts,
            "life_stage",
            [s.name for s in a.life_stages if s.min_age <= age <= s.max_age],
        )
        title = self._occupation(rng, facts, age)
        self._pick(
            rng, facts, "gender", a.genders, population.genders,
            stratum.gender if stratum is not None else None,
        )  # fmt: skip
        for facet, options in (
            ("coping_style", a.coping_styles),
            ("disclosure", [d.name for d in a.disclosure]),
            ("verbosity", [v.name for v in a.verbosity]),
            ("cultural_background", a.cultural_backgrounds),
        ):
            self._pick(rng, facts, facet, options)
        household = self.households.draw(rng, facts, str(facts["gender"]))
        event, about = self._event(rng, cell, facts, household)
        return self._persona(rng, cell, facts, household, event, about, title)

    def _occupation(self, rng: random.Random, facts: Facts, age: int) -> str:
        """An occupation group the rules allow (by its weight), and the title the persona
        gives: one of the group's library titles that fits the age, or the group's name."""
        fitting = [o for o in self.bank.attributes.occupations if o.min_age <= age <= o.max_age]
        allowed = [
            o
            for o in fitting
            if o.weight > 0
            and self.checker.first_broken(
                {**facts, "occupation": o.name, "occupation_kind": o.kind},
                ("occupation", "occupation_kind"),
            )
            is None
        ]
        if not allowed:
            raise DeadEnd("occupation")
        occupation = rng.choices(allowed, weights=[o.weight for o in allowed])[0]
        facts["occupation"] = occupation.name
        facts["occupation_kind"] = occupation.kind
        titles = self.bank.job_titles.fitting(occupation.name, age)
        if occupation.name != self.bank.library.jobs.default_group:
            titles.append(occupation.name)
        if not titles:
            raise DeadEnd("occupation")
        return rng.choice(titles)

    def fits_reading(self, facts: Facts, *texts: str) -> bool:
        """Whether what the template texts mention (a lost job, sleepless nights) breaks no
        rule beside the person's facts, e.g. a coping style, before any slot is filled."""
        mentions = frozenset().union(*(self._mentions(t) for t in texts))
        return self.checker.first_broken({**facts, "mentions": mentions}, ("mentions",)) is None

    def _mentions(self, text: str) -> frozenset[str]:
        if text not in self._read:
            self._read[text] = self.checker.reader.read(text).mentions
        return self._read[text]

    def _event(
        self, rng: random.Random, cell: Cell, facts: Facts, household: Household
    ) -> tuple[Event, Person | None]:
        """An event of the problem that carries the emotion, fits the person's facts and
        names only people and work they have."""
        occupation = self.bank.occupations[str(facts["occupation"])]
        available = available_slots(self.bank, occupation, household, None) | PERSON_SLOTS
        candidates: list[tuple[Event, list[Person]]] = []
        for event in self.bank.situations.problems[cell[0]].events:
            if cell[1] not in event.emotions or not meets(facts, event.needs):
                continue
            if not slots_of(event.text) <= available or not self.fits_reading(facts, event.text):
                continue
            people = [p for p in household.people if event.who and fits(event.who, p)]
            if event.who is not None and not people:
                continue
            candidates.append((event, people))
        if not candidates:
            raise DeadEnd("event")
        event, people = rng.choice(candidates)
        about = rng.choice(people) if people else None
        if about is not None and not slots_of(event.text) <= available_slots(
            self.bank, occupation, household, about
        ):
            raise DeadEnd("event")  # e.g. {partner} beside an event about the partner
        return event, about

    def _persona(
        self,
        rng: random.Random,
        cell: Cell,
        facts: Facts,
        household: Household,
        event: Event,
        about: Person | None,
        title: str,
    ) -> PersonaDraw:
        a = self.bank.attributes
        gender = str(facts["gender"])
        name = self.bank.names.draw(rng, str(facts["cultural_background"]), gender)
        big_five = BigFive.model_validate({t: rng.choice(a.big_five_levels) for t in BIG_FIVE})
        disclosure = next(d for d in a.disclosure if d.name == facts["disclosure"])
        verbosity = next(v for v in a.verbosity if v.name == facts["verbosity"])
        traits = [
            a.big_five_words[t][level]
            for t in BIG_FIVE
            if (level := getattr(big_five, t)) != "medium" and t in a.big_five_words
        ]
        fields = {
            "name": name,
            "age": facts["age"],
            "gender": gender,
            "occupation": title,
            "traits": traits,
            "style": f"{disclosure.description} {verbosity.description}",
            "age_band": facts["age_band"],
            "life_stage": facts["life_stage"],
            "living_situation": facts["living_situation"],
            "cultural_background": facts["cultural_background"],
            "big_five": big_five.model_dump(),
            "coping_style": facts["coping_style"],
            "disclosure": disclosure.name,
            "verbosity": verbosity.name,
        }
        persona_id = (
            "p-" + hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]
        )
        persona = Persona.model_validate({"id": persona_id, **fields})
        low, high = event.intensity
        weights = list(self.intensity_weights[low - 1 : high])
        if not sum(weights):
            weights = [1.0] * len(weights)  # the prior leaves this event's range out: flat
        intensity = rng.choices(range(low, high + 1), weights=weights)[0]
        return PersonaDraw(persona, cell[0], cell[1], intensity, facts, household, event, about)


def fits(who: Who, person: Person) -> bool:
    """Whether a household member can be the one an event is about."""
    if person.kind not in who.kinds:
        return False
    if who.at_home is not None and person.at_home != who.at_home:
        return False
    if person.age is None:
        return who.min_age is None and who.max_age is None
    return (who.min_age is None or person.age >= who.min_age) and (
        who.max_age is None or person.age <= who.max_age
    )


def available_slots(
    bank: PersonaBank, occupation: Occupation, household: Household, about: Person | None
) -> frozenset[str]:
    """The slots a situation can fill for this person (and the one it is about)."""
    slots = set(TIME_SLOTS) | set(occupation.slot_words()) | set(bank.situations.fillers)
    if about is not None:
        slots |= PERSON_SLOTS
    if household.partner is not None and (about is None or about.kind != "partner"):
        slots.add("partner")
    if len(household.children_at_home) >= 2 and (about is None or about.kind != "child"):
        slots.add("kids")
    if household.pet is not None:
        slots.add("pet")
    return frozenset(slots)


def scenario_from(draw: PersonaDraw, situation: str, source: SituationSource) -> Scenario:
    """The finished scenario; its id hashes its whole content."""
    body = {
        "problem_type": draw.problem,
        "emotion_type": draw.emotion,
        "initial_intensity": draw.intensity,
        "situation": situation,
        "situation_source": source.model_dump(exclude_none=True),
        "persona": draw.persona.model_dump(exclude_none=True),
    }
    scenario_id = "sc-" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    return Scenario.model_validate({"id": scenario_id, **body})
