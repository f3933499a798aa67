"""The plausibility check: every rule in personas/constraints.yaml as a named check on a
finished scenario (persona, problem, emotion, intensity and situation). `fields` rules
test facts (rules.py); the other kinds below read the persona data. A check answers only
"broken?"; the checker collects the names of the rules a scenario breaks."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from factory.models import Scenario
from factory.scenarios.cues import Reading, SituationReader
from factory.scenarios.persona_bank import PersonaBank
from factory.scenarios.rules import CATEGORICAL, Facts, Rule

# Conditions only an old relative has (a cue in cues.yaml), and how old "old" is.
ELDERLY_CUE = "elderly_condition"
ELDERLY_AGE = 60
PERSONA_FACETS = tuple(f for f in CATEGORICAL if f not in ("problem", "emotion", "occupation_kind"))


@dataclass(frozen=True)
class Evidence:
    """What a check sees: the scenario, its facts and the reading of its situation."""

    scenario: Scenario
    facts: Facts
    reading: Reading
    bank: PersonaBank
    reader: SituationReader


def _known_values(e: Evidence) -> bool:
    for facet in (*PERSONA_FACETS, "problem", "emotion"):
        value = e.facts.get(facet)
        if value is not None and value not in e.bank.values(facet):
            return True
    return False


def _emotion_listed(e: Evidence) -> bool:
    problems = {p.name: p for p in e.bank.problems}
    problem = problems.get(e.scenario.problem_type)
    return problem is not None and e.scenario.emotion_type not in problem.emotions


def _age_ranges(e: Evidence) -> bool:
    persona, a = e.scenario.persona, e.bank.attributes
    if persona.age is None:
        return False
    ranges = [(b.min, b.max) for b in a.age_bands if b.name == persona.age_band]
    ranges += [s.bounds() for s in a.life_stages if s.name == persona.life_stage]
    if found := e.bank.occupation_of(persona.occupation):
        group, title = found
        ranges.append(group.bounds())
        if title is not None:
            ranges.append((title.min_age, title.max_age))
    return any(not low <= persona.age <= high for low, high in ranges)


def _style(e: Evidence) -> bool:
    persona, a = e.scenario.persona, e.bank.attributes
    own = [
        d
        for d in (*a.disclosure, *a.verbosity)
        if d.name in (persona.disclosure, persona.verbosity)
    ]
    others = [v for v in a.verbosity if v.name != persona.verbosity]
    return any(d.description not in persona.style for d in own) or any(
        v.description in persona.style for v in others
    )


def _possible_ages(e: Evidence) -> list[tuple[int, int, int]]:
    """(youngest, oldest, seeker_min_age) for each relative named, given the seeker's age."""
    age = e.scenario.persona.age
    if age is None:
        return []
    oldest = e.bank.household.oldest
    found = []
    for relative in e.reading.relatives:
        low, high = max(0, age + relative.offset[0]), min(oldest, age + relative.offset[1])
        if relative.stated is not None:
            low, high = max(low, relative.stated[0]), min(high, relative.stated[1])
        found.append((low, high, relative.seeker_min_age))
    return found


def _relative_ages(e: Evidence) -> bool:
    age = e.scenario.persona.age or 0
    return any(low > high or age < least for low, high, least in _possible_ages(e))


def _elderly_relatives(e: Evidence) -> bool:
    if ELDERLY_CUE not in e.reading.mentions or e.scenario.persona.age is None:
        return False
    return not any(high >= ELDERLY_AGE for _, high, _ in _possible_ages(e))


def _duration(e: Evidence) -> bool:
    problem = next((p for p in e.bank.problems if p.name == e.scenario.problem_type), None)
    longest = e.reading.longest_days
    if problem is None or problem.min_days is None or longest is None:
        return False
    return longest < problem.min_days


def _problem_named(e: Evidence) -> bool:
    return e.reader.names_problem(e.scenario.problem_type, e.scenario.situation) is False


def _pasted_job(e: Evidence) -> bool:
    title = re.escape(e.scenario.persona.occupation)
    return re.search(rf"(?<!\w)as an? {title}(?!\w)", e.scenario.situation, re.I) is not None


CHECKS: dict[str, Callable[[Evidence], bool]] = {
    "known_values": _known_values,
    "emotion_listed": _emotion_listed,
    "age_ranges": _age_ranges,
    "style": _style,
    "relative_ages": _relative_ages,
    "elderly_relatives": _elderly_relatives,
    "duration": _duration,
    "problem_named": _problem_named,
    "pasted_job": _pasted_job,
}


class PlausibilityChecker:
    """Judges scenarios by the bank's rules; also judges a persona mid-draw by the
    `fields` rules whose facts are known so far."""

    def __init__(self, bank: PersonaBank) -> None:
        self.bank = bank
        self.reader = SituationReader(bank.cues, bank.household)
        self.rules = bank.rules
        self.field_rules = [r for r in bank.rules if r.check == "fields"]
        self._about: dict[str, list[Rule]] = {}
        for rule in self.field_rules:
            for facet in {*rule.when, *rule.unless, *rule.exclude, *rule.require}:
                self._about.setdefault(facet, []).append(rule)

    def first_broken(self, facts: Facts, new: tuple[str, ...] | None = None) -> Rule | None:
        """The first `fields` rule the facts known so far break, if any. Given the facets
        `new` just added to facts that passed before, only the rules about them are tested."""
        if new is None:
            rules = self.field_rules
        else:
            rules = [r for f in new for r in self._about.get(f, [])]
        return next((r for r in rules if r.broken_by(facts)), None)

    def facts(self, scenario: Scenario, reading: Reading) -> Facts:
        persona = scenario.persona
        facts: Facts = {
            "problem": scenario.problem_type,
            "emotion": scenario.emotion_type,
            "intensity": scenario.initial_intensity,
            "mentions": reading.mentions,
        }
        for facet in PERSONA_FACETS:
            value = getattr(persona, facet)
            if value is not None:
                facts[facet] = value
        if persona.age is not None:
            facts["age"] = persona.age
        if found := self.bank.occupation_of(persona.occupation):
            facts["occupation"] = found[0].name  # the group: rules speak of groups
            facts["occupation_kind"] = found[0].kind
        if reading.recency_days is not None:
            facts["recency_days"] = reading.recency_days
        return facts

    def broken(self, scenario: Scenario) -> list[str]:
        """The names of the rules the scenario breaks, in the rules file's order."""
        reading = self.reader.read(scenario.situation)
        facts = self.facts(scenario, reading)
        evidence = Evidence(scenario, facts, reading, self.bank, self.reader)
        return [
            rule.name
            for rule in self.rules
            if (rule.broken_by(facts) if rule.check == "fields" else CHECKS[rule.check](evidence))
        ]
