"""What each agent may see. Agents are built from these views only, so hidden state (the
seeker's situation, emotion and self-rated intensity) cannot reach the counselor's or the
supporter's prompt."""

from __future__ import annotations

from dataclasses import dataclass

from factory.models import Persona, Role, ScenarioCore, Turn
from factory.roleplay.taxonomy import Strategy, StrategyTaxonomy


@dataclass(frozen=True)
class PublicTurn:
    """A turn as anyone in the conversation sees it: who spoke, what, and (for supporter
    turns) the strategy used. No intensity."""

    role: Role
    text: str
    strategy: str | None = None


def public_turns(turns: list[Turn]) -> tuple[PublicTurn, ...]:
    return tuple(PublicTurn(t.role, t.text, t.strategy) for t in turns)


@dataclass(frozen=True)
class SeekerView:
    persona: Persona
    scenario: ScenarioCore
    intensity: int
    turns: tuple[PublicTurn, ...]
    may_close: bool


@dataclass(frozen=True)
class CounselorView:
    taxonomy: StrategyTaxonomy
    turns: tuple[PublicTurn, ...]
    banned: tuple[str, ...]

    @property
    def allowed(self) -> list[str]:
        return [n for n in self.taxonomy.names if n not in self.banned]


@dataclass(frozen=True)
class SupporterView:
    turns: tuple[PublicTurn, ...]
    strategy: Strategy
