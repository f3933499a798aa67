"""Seeded, stratified sampling of scenarios: persona x problem x emotion x intensity x situation.

The problem x emotion grid is covered evenly before any cell repeats: the first len(cells)
scenarios visit every feasible cell once (seeded order), later ones follow the target weights
by smooth weighted round-robin. The sequence does not depend on n, so a larger n only adds
scenarios at the end. Constraints from personas/constraints.yaml are never violated; a cell
that no persona can satisfy is left out of the grid (and reported)."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from factory.errors import DataFileError
from factory.models import BigFive, Persona, Scenario, SituationSource
from factory.scenarios.persona_bank import BIG_FIVE, PersonaBank

Cell = tuple[str, str]  # (problem, emotion)


class Mix(StrEnum):
    """Target weights over the problem x emotion grid: equal, or ESConv's shares."""

    uniform = "uniform"
    esconv = "esconv"


DEFAULT_INTENSITY_WEIGHTS = (0.0, 1.0, 3.0, 4.0, 3.0)  # for 1..5: most seekers arrive at 3-5
_FEASIBILITY_TRIES = 200
_PERSONA_TRIES = 200


class DeadEnd(DataFileError):
    """No value of some attribute is allowed with what was drawn so far."""


@dataclass
class PersonaDraw:
    """A persona plus the scenario facts drawn with it, before the situation is written."""

    persona: Persona
    problem: str
    emotion: str
    intensity: int
    works: bool
    attributes: dict[str, str] = field(default_factory=dict)


class PersonaSampler:
    def __init__(
        self,
        bank: PersonaBank,
        mix: Mix = Mix.uniform,
        intensity_weights: tuple[float, ...] = DEFAULT_INTENSITY_WEIGHTS,
    ) -> None:
        self.bank = bank
        self.mix = mix
        self.intensity_weights = intensity_weights
        grid = [(p.name, e) for p in bank.problems for e in p.emotions]
        self.infeasible = [cell for cell in grid if not self._feasible(cell)]
        self.cells = [cell for cell in grid if cell not in self.infeasible]
        self.weights = {cell: self._weight(cell) for cell in self.cells}

    # -- the grid ----------------------------------------------------------------------
    def _weight(self, cell: Cell) -> float:
        if self.mix == Mix.uniform:
            return 1.0
        problem = next(p for p in self.bank.problems if p.name == cell[0])
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
        for _ in range(_FEASIBILITY_TRIES):
            try:
                self._attributes(rng, cell)
                return True
            except DeadEnd:
                continue
        return False

    # -- personas ----------------------------------------------------------------------
    def draw(self, rng: random.Random, cell: Cell) -> PersonaDraw:
        """A persona for `cell` that breaks no constraint."""
        for _ in range(_PERSONA_TRIES):
            try:
                attributes, age, works = self._attributes(rng, cell)
            except DeadEnd:
                continue
            return self._persona(rng, cell, attributes, age, works)
        raise DeadEnd(
            f"no persona for {cell[0]} x {cell[1]} after {_PERSONA_TRIES} tries:"
            " the constraints in personas/constraints.yaml leave too little; relax them"
        )

    def _allowed(self, assigned: dict[str, str], field_name: str, value: str) -> bool:
        trial = {**assigned, field_name: value}
        for rule in self.bank.constraints:
            if not all(trial.get(f) in values for f, values in rule.when.items()):
                continue
            if any(trial.get(f) in values for f, values in rule.exclude.items()):
                return False
            if any(f in trial and trial[f] not in values for f, values in rule.require.items()):
                return False
        return True

    def _pick(
        self, rng: random.Random, assigned: dict[str, str], field_name: str, options: list[str]
    ) -> str:
        allowed = [o for o in options if self._allowed(assigned, field_name, o)]
        if not allowed:
            raise DeadEnd(field_name)
        assigned[field_name] = rng.choice(allowed)
        return assigned[field_name]

    def _attributes(self, rng: random.Random, cell: Cell) -> tuple[dict[str, str], int, bool]:
        a = self.bank.attributes
        assigned = {"problem": cell[0], "emotion": cell[1]}
        if not self._allowed({}, "problem", cell[0]) or not self._allowed(
            {"problem": cell[0]}, "emotion", cell[1]
        ):
            raise DeadEnd("cell")
        band_name = self._pick(rng, assigned, "age_band", [b.name for b in a.age_bands])
        band = next(b for b in a.age_bands if b.name == band_name)
        age = rng.randint(band.min, band.max)
        self._pick(rng, assigned, "gender", a.genders)
        fitting = [o for o in a.occupations if o.min_age <= age <= o.max_age]
        occupation = self._pick(rng, assigned, "occupation", [o.name for o in fitting])
        works = next(o.works for o in fitting if o.name == occupation)
        stages = [s.name for s in a.life_stages if s.min_age <= age <= s.max_age]
        self._pick(rng, assigned, "life_stage", stages)
        self._pick(rng, assigned, "living_situation", a.living_situations)
        return assigned, age, works

    def _persona(
        self, rng: random.Random, cell: Cell, assigned: dict[str, str], age: int, works: bool
    ) -> PersonaDraw:
        a = self.bank.attributes
        gender = assigned["gender"]
        name = rng.choice([*a.names.get(gender, []), *a.names.get("any", [])])
        big_five = BigFive.model_validate({t: rng.choice(a.big_five_levels) for t in BIG_FIVE})
        disclosure = rng.choice(a.disclosure)
        verbosity = rng.choice(a.verbosity)
        traits = [
            a.big_five_words[t][level]
            for t in BIG_FIVE
            if (level := getattr(big_five, t)) != "medium" and t in a.big_five_words
        ]
        fields = {
            "name": name,
            "age": age,
            "gender": gender,
            "occupation": assigned["occupation"],
            "traits": traits,
            "style": f"{disclosure.description} {verbosity.description}",
            "age_band": assigned["age_band"],
            "life_stage": assigned["life_stage"],
            "living_situation": assigned["living_situation"],
            "cultural_background": rng.choice(a.cultural_backgrounds),
            "big_five": big_five.model_dump(),
            "coping_style": rng.choice(a.coping_styles),
            "disclosure": disclosure.name,
            "verbosity": verbosity.name,
        }
        persona_id = (
            "p-" + hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]
        )
        persona = Persona.model_validate({"id": persona_id, **fields})
        intensity = rng.choices(range(1, 6), weights=self.intensity_weights)[0]
        return PersonaDraw(persona, cell[0], cell[1], intensity, works, assigned)


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
