"""Generation config: what one `factory generate` run makes, with which backend, role-play
rules and budget. Loaded from YAML once at the CLI edge (see factory.settings)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from factory.backends.config import BackendConfig, LocalOptions, OpenAIOptions, StructuredMode
from factory.roleplay.config import RoleplayConfig, SamplingConfig
from factory.settings import Strict, load_settings


class Price(Strict):
    """What a model costs, in money per million tokens."""

    prompt: float = Field(ge=0, description="per million prompt tokens")
    completion: float = Field(ge=0, description="per million completion tokens")


class BudgetConfig(Strict):
    """Limits on what one run (all its sessions together) may spend. When a limit is reached
    the run takes no new dialogues, lets those in flight finish, and stops; a rerun with a
    higher limit goes on."""

    max_tokens: int | None = Field(default=None, ge=1, description="prompt + completion tokens")
    max_cost: float | None = Field(default=None, gt=0, description="in the prices' currency")
    prices: dict[str, Price] = Field(
        default_factory=dict, description="model name -> price per million tokens"
    )

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        price = self.prices.get(model)
        if price is None:
            return None
        return (prompt_tokens * price.prompt + completion_tokens * price.completion) / 1e6


class GenerationConfig(Strict):
    """`factory generate --config FILE`: what one run makes and how."""

    n: int = Field(
        default=5, ge=1, le=10_000_000, description="dialogues in the run; a larger n extends it"
    )
    seed: int = Field(
        default=7,
        ge=0,
        le=2**31 - 1,
        description="with each scenario, fixes its dialogue's id and draws",
    )
    concurrency: Annotated[int, Field(ge=1, le=4096)] | Literal["auto"] = Field(
        default=8,
        description="dialogues in flight, or auto: calls in flight found per endpoint"
        " (factory.backends.adaptive), up to max_concurrency",
    )
    max_concurrency: int = Field(
        default=64, ge=1, le=4096, description="the ceiling of concurrency: auto"
    )
    scenarios: str | None = Field(
        default=None, description="a scenario bank (.jsonl); default: built-in sampler"
    )
    backend: BackendConfig = Field(default_factory=LocalOptions)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    roleplay: RoleplayConfig = Field(default_factory=RoleplayConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)

    @property
    def auto_concurrency(self) -> bool:
        return self.concurrency == "auto"

    @property
    def in_flight(self) -> int:
        """The most dialogues in flight: the fixed concurrency, or auto's ceiling."""
        return self.max_concurrency if self.concurrency == "auto" else self.concurrency

    def fingerprint(self, content_hashes: dict[str, str], *, legacy: bool = False) -> str:
        """Hash of what decides a dialogue's content. `n`, concurrency, timeouts and the
        server address are left out, so a run can be extended or moved to another replica.
        A scenario bank counts by its content (the run's plan record), not its path, so
        `./bank.jsonl` and its absolute path are one bank; `legacy` gives the hash runs made
        before recorded, with the path in it."""
        # Only the openai backend chooses how structured calls are asked for; the others
        # count as json_schema, the value every run was fingerprinted with before.
        structured = (
            self.backend.structured
            if isinstance(self.backend, OpenAIOptions)
            else StructuredMode.json_schema
        )
        content = {
            "seed": self.seed,
            "scenarios": self.scenarios if legacy else ("bank" if self.scenarios else None),
            "backend": {"kind": self.backend.kind, "model": self.backend.model},
            "structured": structured,
            "sampling": self.sampling.model_dump(mode="json"),
            "roleplay": self.roleplay.model_dump(mode="json"),
            "texts": content_hashes,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> GenerationConfig:
    """The generation config from a YAML file (or defaults) with CLI overrides applied."""
    return load_settings(GenerationConfig, path, overrides)
