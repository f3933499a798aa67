"""The vocabulary every module speaks: personas, scenarios, turns, dialogues and their provenance."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["seeker", "supporter"]


class Record(BaseModel):
    """Base for everything written to disk: unknown keys are an error, not silently kept."""

    model_config = ConfigDict(extra="forbid")


Level = Literal["low", "medium", "high"]


class BigFive(Record):
    openness: Level
    conscientiousness: Level
    extraversion: Level
    agreeableness: Level
    neuroticism: Level


class Persona(Record):
    """Who the help-seeker is; the seeker agent speaks in this voice. The sampled attributes
    are stored with every dialogue so a filter can check the persona was kept."""

    id: str
    name: str
    age: int | None = Field(
        default=None, ge=10, le=100, description="None: unknown (imported data)"
    )
    gender: str
    occupation: str
    traits: list[str] = Field(default_factory=list)
    style: str = Field(description="How this person talks: length, register, openness.")
    age_band: str | None = None
    life_stage: str | None = None
    living_situation: str | None = None
    cultural_background: str | None = None
    big_five: BigFive | None = None
    coping_style: str | None = None
    disclosure: str | None = Field(default=None, description="guarded, gradual or open")
    verbosity: str | None = None


class SituationSource(Record):
    """Where a situation text came from: a template, the LLM, or a paraphrased real seed
    (`ref` names the file and line; the seed text itself is never stored)."""

    kind: Literal["template", "llm", "esconv", "esc_eval"]
    ref: str | None = None
    method: Literal["filled", "written", "paraphrased"] = "filled"
    prompt_hash: str | None = None


class ScenarioCore(Record):
    """The seeker's hidden situation, as stored in a dialogue (the persona sits beside it)."""

    id: str
    problem_type: str
    emotion_type: str
    initial_intensity: int = Field(ge=1, le=5)
    situation: str
    situation_source: SituationSource | None = None


class Scenario(ScenarioCore):
    """A scenario with its persona inside: one line of a scenario bank."""

    persona: Persona

    def core(self) -> ScenarioCore:
        return ScenarioCore.model_validate(self.model_dump(exclude={"persona"}))


class Utterance(Record):
    """One message of a turn that has several (an imported source's consecutive messages of
    one speaker, or a seeker who sends two or three short messages); kept so measures per
    utterance (ESConv's published statistics) can be reproduced."""

    text: str
    strategy: str | None = None


class Turn(Record):
    """One utterance. Seeker turns carry the self-rated intensity after the message;
    supporter turns carry the strategy the counselor chose and its rationale."""

    role: Role
    text: str
    intensity: int | None = Field(default=None, ge=1, le=5)
    strategy: str | None = None
    rationale: str | None = None
    utterances: list[Utterance] | None = Field(
        default=None, description="the turn's separate messages, when it has more than one"
    )
    phase: str | None = Field(
        default=None, description="the dialogue phase the turn was written in (generated only)"
    )
    words: tuple[int, int] | None = Field(
        default=None, description="the word range the writer was asked for (generated only)"
    )


class Usage(Record):
    """Token accounting; failed attempts count as calls and as failed_calls."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failed_calls: int = 0

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.failed_calls += other.failed_calls


class GenerationInfo(Record):
    """How a dialogue was made: enough to reproduce or audit it."""

    backend: str
    model: str
    seed: int
    taxonomy: str
    prompt_hashes: dict[str, str]
    usage: Usage = Field(default_factory=Usage)
    seconds: float = 0.0
    tool_version: str


class SupporterPersona(Record):
    """Who the supporter is in one dialogue: enough of a life that what it says about itself
    (self-disclosure) stays consistent within the dialogue."""

    name: str
    age_band: str
    experiences: list[str] = Field(default_factory=list)


class DialoguePlan(Record):
    """The shape drawn for one dialogue before it starts: its target length in exchanges
    (one seeker turn and the supporter's answer), who greets first, whether the seeker answers
    the supporter's goodbye, and how the seeker types."""

    shape: str
    target_exchanges: int = Field(ge=1)
    supporter_first: bool
    seeker_answers_closing: bool
    seeker_asks_advice: bool = False
    typing_style: str | None = None


class Failure(Record):
    """Why a dialogue ended early, with every raw model output of the failed step."""

    agent: str
    message: str
    raw_outputs: list[str] = Field(default_factory=list)


# How a dialogue ended. error:parse: an agent's output stayed unusable after its retries;
# error:rejected: the server refused a request (final); error:backend: the server failed
# (timeouts, 5xx), kept aside in failures.jsonl and retried by the next rerun.
# "imported": a real dialogue brought in by `factory import` (its own ending, unknown).
# seeker_closed: the seeker chose to stop and the supporter said goodbye; completed: the
# dialogue reached its drawn length and closed the same way; max_turns: a dialogue made
# before phases existed ran into max_exchanges.
EndReason = Literal[
    "seeker_closed",
    "completed",
    "max_turns",
    "stalled",
    "error:parse",
    "error:rejected",
    "error:backend",
    "imported",
]


class Verdict(Record):
    """One filter's answer about one dialogue: keep or drop, a snake_case reason ("ok" when
    kept), an optional score and details."""

    filter: str
    keep: bool
    reason: str
    score: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class Dialogue(Record):
    """A finished role-play: the unit written to dialogues.jsonl."""

    id: str
    persona: Persona
    scenario: ScenarioCore
    turns: list[Turn]
    end_reason: EndReason
    failure: Failure | None = None
    plan: DialoguePlan | None = None
    supporter: SupporterPersona | None = None
    generation: GenerationInfo
    verdicts: list[Verdict] = Field(default_factory=list)

    def with_verdicts(self, verdicts: list[Verdict]) -> Dialogue:
        """A copy with `verdicts` added after its own (the turns list is shared)."""
        return self.model_copy(update={"verdicts": [*self.verdicts, *verdicts]})
