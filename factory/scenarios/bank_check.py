"""`factory personas check`: a scenario bank against the plausibility rules, as counts per
named rule with an example scenario id for each one broken."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from factory.errors import DataFileError
from factory.models import Scenario
from factory.scenarios.bank import read_scenarios
from factory.scenarios.persona_bank import PersonaBank
from factory.scenarios.plausibility import PlausibilityChecker


@dataclass
class BankCheck:
    scenarios: int
    rules: list[str]
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    implausible: int = 0  # scenarios that break at least one rule

    @property
    def clean(self) -> bool:
        return self.implausible == 0

    @property
    def summary(self) -> str:
        if self.clean:
            return f"{self.scenarios} scenarios, {len(self.rules)} rules: no violations"
        broken = sum(1 for rule in self.rules if self.counts[rule])
        return (
            f"{self.implausible} of {self.scenarios} scenarios break {broken} of"
            f" {len(self.rules)} rules"
        )


def read_bank_file(path: Path) -> list[Scenario]:
    """A scenario bank as `personas sample` writes it; one error line for a missing,
    empty or malformed file."""
    if path.is_dir():
        raise DataFileError(f"{path} is a directory: pass a scenario bank .jsonl")
    if not path.is_file():
        raise DataFileError(
            f"scenario bank {path} not found: pass a .jsonl written by `factory personas sample`"
        )
    scenarios = read_scenarios(path)
    if not scenarios:
        raise DataFileError(f"{path} holds no scenarios")
    return scenarios


def check_scenarios(scenarios: list[Scenario], bank: PersonaBank) -> BankCheck:
    checker = PlausibilityChecker(bank)
    result = BankCheck(len(scenarios), [rule.name for rule in bank.rules])
    for scenario in scenarios:
        broken = checker.broken(scenario)
        if broken:
            result.implausible += 1
        for rule in broken:
            result.counts[rule] += 1
            result.examples.setdefault(rule, scenario.id)
    return result


def render_check(result: BankCheck) -> str:
    """One line per rule (count, and an example id when broken), then the summary."""
    width = max(len(rule) for rule in result.rules) if result.rules else 0
    lines = []
    for rule in result.rules:
        count = result.counts[rule]
        example = f"  e.g. {result.examples[rule]}" if count else ""
        lines.append(f"{rule:<{width}}  {count:>6}{example}")
    lines.append(result.summary)
    return "\n".join(lines)
