"""What each agent may see. Agents are built from these views only, so hidden state (the
seeker's situation, emotion and self-rated intensity) cannot reach the counselor's or the
supporter's prompt."""

from __future__ import annotations

from dataclasses import dataclass

from factory.models import Persona, Role, ScenarioCore, SupporterPersona, Turn
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
class Stage:
    """Where the dialogue is: the phase, the exchange (0-based), the drawn target length,
    and what this role is told about the phase."""

    phase: str
    exchange: int
    target: int
    guidance: str = ""

    @property
    def exchanges_left(self) -> int:
        return max(0, self.target - self.exchange - 1)


@dataclass(frozen=True)
class SeekerView:
    persona: Persona
    scenario: ScenarioCore
    intensity: int
    turns: tuple[PublicTurn, ...]
    may_close: bool
    stage: Stage | None = None
    words: tuple[int, int] = (5, 40)
    messages: int = 1
    register: str | None = None


@dataclass(frozen=True)
class CounselorView:
    taxonomy: StrategyTaxonomy
    turns: tuple[PublicTurn, ...]
    banned: tuple[str, ...]
    stage: Stage | None = None
    menu: tuple[str, ...] | None = None
    supporter: SupporterPersona | None = None

    @property
    def allowed(self) -> list[str]:
        names = self.menu if self.menu is not None else self.taxonomy.names
        return [n for n in names if n not in self.banned]


@dataclass(frozen=True)
class SupporterView:
    turns: tuple[PublicTurn, ...]
    strategy: Strategy
    stage: Stage | None = None
    words: tuple[int, int] = (5, 45)
    supporter: SupporterPersona | None = None
