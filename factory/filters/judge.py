"""The LLM quality judge: any backend scores each dialogue on an anchored rubric (empathy,
relevance, strategy adherence, naturalness, persona consistency, safety; 1-5) as structured
output. Scores are stored in the verdict; a dialogue whose mean is under `min_mean`, or whose
safety score is under `min_safety`, is dropped. A judgement that cannot be parsed or fetched
keeps the dialogue, with the reason and the raw output recorded."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from factory.backends import Backend, ChatRequest, build_backend
from factory.backends.config import BackendConfig, LocalOptions
from factory.errors import BackendError
from factory.filters.base import Filter, FilterSettings, Outcome
from factory.filters.report import JudgeSummary
from factory.models import Dialogue, Usage
from factory.prompts import PromptLibrary
from factory.roleplay.parsing import ParseError, coerce_int, extract_json_object

CRITERIA = (
    "empathy",
    "relevance",
    "strategy_adherence",
    "naturalness",
    "persona_consistency",
    "safety",
)


class JudgeSettings(FilterSettings):
    backend: BackendConfig = Field(default_factory=LocalOptions, description="the judge's model")
    min_mean: float = Field(default=3.0, ge=1, le=5, description="a lower mean score drops")
    min_safety: int = Field(default=3, ge=1, le=5, description="a lower safety score drops")
    concurrency: int = Field(default=8, ge=1, le=1024, description="judgements in flight")
    temperature: float = Field(default=0.0, ge=0, le=2, description="of the judge's calls")
    max_tokens: int = Field(default=200, ge=96, le=4096, description="completion tokens")
    parse_retries: int = Field(
        default=1, ge=0, le=5, description="extra calls when a judgement cannot be parsed"
    )


def schema() -> dict[str, Any]:
    properties: dict[str, Any] = {c: {"type": "integer", "enum": [1, 2, 3, 4, 5]} for c in CRITERIA}
    properties["comment"] = {"type": "string", "maxLength": 200}
    return {
        "type": "object",
        "properties": properties,
        "required": [*CRITERIA, "comment"],
        "additionalProperties": False,
    }


class JudgeFilter(Filter[JudgeSettings]):
    name = "judge"
    Settings = JudgeSettings

    def __init__(
        self, settings: JudgeSettings | None = None, backend: Backend | None = None
    ) -> None:
        super().__init__(settings)
        self._backend = backend
        library = PromptLibrary()
        self.template = library.get("judge")
        self.labels = library.labels()
        self.usage = Usage()

    def summary(self) -> JudgeSummary | None:
        if not self.usage.calls:
            return None
        return JudgeSummary(usage=self.usage.model_copy(), prompt_hash=self.template.sha256)

    def request(self, dialogue: Dialogue) -> ChatRequest:
        p = dialogue.persona
        persona_summary = (
            ", ".join(
                str(part)
                for part in (p.age and f"{p.age}", p.gender, p.occupation, *p.traits)
                if part and part != "unknown"
            )
            or "unknown"
        )
        messages = self.template.render(
            turns=dialogue.turns, labels=self.labels, persona_summary=persona_summary
        )
        return ChatRequest(
            messages=messages,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
            json_schema=schema(),
            schema_name="judgement",
            agent="judge",
        )

    def check_batch(self, dialogues: list[Dialogue]) -> list[Outcome]:
        return asyncio.run(self._judge_all(dialogues))

    async def _judge_all(self, dialogues: list[Dialogue]) -> list[Outcome]:
        backend = self._backend or build_backend(self.settings.backend, self.settings.concurrency)
        limit = asyncio.Semaphore(self.settings.concurrency)
        await backend.start()
        try:

            async def one(dialogue: Dialogue) -> Outcome:
                async with limit:
                    return await self._judge(backend, dialogue)

            return list(await asyncio.gather(*(one(d) for d in dialogues)))
        finally:
            await backend.close()

    async def _judge(self, backend: Backend, dialogue: Dialogue) -> Outcome:
        request = self.request(dialogue)
        raws: list[str] = []
        for attempt in range(self.settings.parse_retries + 1):
            try:
                completion = await backend.complete(request.with_seed(attempt))
            except BackendError as exc:
                self.usage.add(exc.usage)
                return self.keep(dialogue, "judge_failed", error=str(exc)[:200])
            self.usage.add(completion.usage)
            raws.append(completion.text)
            try:
                data = extract_json_object(completion.text)
                scores = {c: coerce_int(data.get(c), 1, 5, c) for c in CRITERIA}
            except ParseError:
                continue
            mean = round(sum(scores.values()) / len(scores), 3)
            comment = str(data.get("comment", ""))[:200]
            if scores["safety"] < self.settings.min_safety:
                return self.drop(
                    dialogue, "judge_unsafe", score=mean, scores=scores, comment=comment
                )
            if mean < self.settings.min_mean:
                return self.drop(
                    dialogue, "judge_low_quality", score=mean, scores=scores, comment=comment
                )
            return self.keep(dialogue, score=mean, scores=scores, comment=comment)
        return self.keep(dialogue, "judge_unparsed", raw_outputs=raws)
