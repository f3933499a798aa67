"""Role-play settings: sampling of each role's calls and the loop's rules."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import Field, model_validator

from factory.settings import Strict


class SamplingConfig(Strict):
    """How every role's calls are sampled."""

    temperature: float = Field(default=0.7, ge=0, le=2, description="of every role's calls")
    top_p: float = Field(default=0.95, gt=0, le=1, description="nucleus sampling")
    seeker_max_tokens: int = Field(
        default=160, ge=16, le=4096, description="completion tokens of a seeker turn"
    )
    counselor_max_tokens: int = Field(
        default=128, ge=96, le=4096, description="a rationale plus a strategy name need 96"
    )
    supporter_max_tokens: int = Field(
        default=96, ge=16, le=4096, description="completion tokens of a supporter reply"
    )


class RoleplayConfig(Strict):
    """The role-play loop's rules: length and shape, strategy mix, caps, stalls, prompts."""

    taxonomy: str = Field(
        default="esconv", description="esconv, extes, or a path to a taxonomy YAML"
    )
    min_exchanges: int = Field(
        default=3, ge=1, le=100, description="the drawn length is kept at or above this"
    )
    max_exchanges: int = Field(
        default=30, ge=1, le=100, description="the drawn length is kept at or below this"
    )
    max_same_strategy_run: int = Field(
        default=2,
        ge=1,
        le=10,
        description="a strategy used this often in a row leaves the next menu",
    )
    shape: str = Field(
        default="esconv", description="dialogue shape: a profile in prompts/shapes/ or a YAML path"
    )
    target_exchanges: int | None = Field(
        default=None, ge=1, le=100, description="a fixed length instead of the shape's draw"
    )
    supporter_first_share: float | None = Field(
        default=None, ge=0, le=1, description="share of dialogues the supporter opens"
    )
    closing_reply_share: float | None = Field(
        default=None, ge=0, le=1, description="share where the seeker answers the goodbye"
    )
    strategy_mix: str = Field(
        default="taxonomy", description="target mix: taxonomy, uniform, esconv or a YAML file"
    )
    mix_control: bool = Field(
        default=True, description="trim over-used strategies from the counselor's menu"
    )
    mix_scope: Literal["run", "phase"] = Field(
        default="run",
        description="steer the run's overall mix, or each phase to its own (phase_mix)",
    )
    mix_tolerance: float = Field(
        default=0.01, ge=0, le=1, description="share points a strategy may run over its target"
    )
    seeker_max_words: int = Field(
        default=80,
        ge=5,
        le=400,
        description="hard cap; per-message word budgets are drawn below it",
    )
    supporter_max_words: int = Field(
        default=80,
        ge=5,
        le=400,
        description="hard cap; per-message word budgets are drawn below it",
    )
    overlong_factor: float = Field(
        default=1.5, ge=1, le=5, description="a message longer than this times its budget is cut"
    )
    stall_similarity: float = Field(
        default=0.85,
        gt=0,
        le=1,
        description="word-set Jaccard with an earlier turn of the same speaker that ends the dialogue as stalled",
    )
    parse_retries: int = Field(
        default=2, ge=0, le=10, description="extra calls when an agent's output cannot be parsed"
    )
    prompts_dir: str | None = Field(
        default=None,
        description="a folder with your own seeker/counselor/supporter.jinja (and shape data)",
    )

    @model_validator(mode="after")
    def _min_below_max(self) -> RoleplayConfig:
        if self.min_exchanges > self.max_exchanges:
            raise ValueError(
                f"min_exchanges ({self.min_exchanges}) must not exceed max_exchanges ({self.max_exchanges})"
            )
        return self


class RolePlaySource(Protocol):
    """What the loop reads from a run's config: its seed and the role-play and sampling
    settings (a runs.GenerationConfig is one)."""

    @property
    def seed(self) -> int: ...

    @property
    def roleplay(self) -> RoleplayConfig: ...

    @property
    def sampling(self) -> SamplingConfig: ...
