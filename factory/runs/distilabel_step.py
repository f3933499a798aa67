"""The role-play loop as a distilabel step, for users who build pipelines in distilabel:

    from factory.runs.distilabel_step import ESCRolePlay

    with Pipeline(name="esc") as pipeline:
        load = LoadDataFromDicts(data=[{"scenario": s.model_dump()} for s in scenarios])
        roleplay = ESCRolePlay(config={"backend": {"kind": "openai", "base_url": URL, "model": M}})
        load >> roleplay

Each input row needs `scenario` (a scenario with its persona, as `factory personas sample`
writes them, as a dict or JSON text). The step adds `dialogue` (the whole dialogue as JSON
text, as in dialogues.jsonl), `messages` (chat format: the seeker as user, the supporter as
assistant), `end_reason` and `dialogue_id`. A batch runs concurrently on the step's own
backend; the dialogues are the same as `factory generate` makes from the same scenarios and
seed.

`config` is left out of distilabel's serialised pipeline (it may hold keys), so distilabel's
cache cannot tell two configs apart: run with `use_cache=False` or a new pipeline name when
you change it.

This module does not use `from __future__ import annotations`: distilabel reads the
`StepInput` type hint of `process` at run time."""

import asyncio
import threading
from typing import Any

try:
    from distilabel.steps import Step, StepInput
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from factory.errors import MissingExtra

    raise MissingExtra("distilabel", "distilabel") from exc

from pydantic import Field

from factory.models import Scenario
from factory.runs.config import GenerationConfig


def _run_in_thread(coroutine: Any) -> Any:
    """asyncio.run in a fresh thread: a distilabel step may already run inside a loop."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


class ESCRolePlay(Step):  # type: ignore[misc]
    # Kept out of distilabel's pipeline.yaml (exclude): it may name endpoints with keys.
    config: dict[str, Any] = Field(
        default_factory=dict,
        exclude=True,
        description="a factory generation config (backend, roleplay, seed)",
    )
    system_prompt: str | None = Field(
        default=None, description="system prompt of `messages` (default: prompts/sft_system.txt)"
    )

    @property
    def inputs(self) -> list[str]:
        return ["scenario"]

    @property
    def outputs(self) -> list[str]:
        return ["dialogue", "messages", "end_reason", "dialogue_id"]

    def process(self, inputs: StepInput) -> Any:
        from factory.chat import chat_messages, default_system_prompt
        from factory.roleplay.loop import RolePlay
        from factory.runs.batch import run_batch

        settings = GenerationConfig.model_validate(self.config)
        roleplay = RolePlay.from_config(settings)
        scenarios = [
            Scenario.model_validate_json(row["scenario"])
            if isinstance(row["scenario"], str)
            else Scenario.model_validate(row["scenario"])
            for row in inputs
        ]

        dialogues = _run_in_thread(run_batch(roleplay, settings, scenarios))
        system = self.system_prompt if self.system_prompt is not None else default_system_prompt()
        for row, dialogue in zip(inputs, dialogues, strict=True):
            row["dialogue"] = dialogue.model_dump_json(exclude_none=True)
            row["messages"] = chat_messages(dialogue, system)
            row["end_reason"] = dialogue.end_reason
            row["dialogue_id"] = dialogue.id
        yield inputs
