"""Preference pairs for DPO: for some supporter turns of each kept dialogue, the supporter
agent writes replies with other strategies from the same context; a judge scores every
candidate (the original reply included) on an anchored 1-5 scale; the best becomes `chosen`
and the worst `rejected` when they differ by at least `min_margin`.

Rows follow TRL's conversational preference format: `prompt` (system prompt and the chat up to
the turn), `chosen` and `rejected` (one assistant message each), plus the strategies, scores
and where the pair came from."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from factory.backends import Backend, ChatRequest, build_backend
from factory.backends.config import BackendConfig, LocalOptions
from factory.errors import BackendError
from factory.models import Dialogue, Record, Usage
from factory.prompts import PromptLibrary
from factory.roleplay.agent import AgentFailure
from factory.roleplay.config import RoleplayConfig, SamplingConfig
from factory.roleplay.parsing import ParseError, coerce_int, extract_json_object
from factory.roleplay.shape import load_platform, platform_constants
from factory.roleplay.supporter import SupporterAgent
from factory.roleplay.taxonomy import StrategyTaxonomy, load_taxonomy
from factory.roleplay.views import SupporterView, public_turns
from factory.settings import Strict

# The word range asked of an alternative reply when the original turn has none recorded
# (dialogues made before word budgets, or imported ones): ESConv's middle supporter range.
DEFAULT_WORDS = (10, 22)


class PreferenceConfig(Strict):
    """`factory curate --preferences FILE.yaml`: how pairs are made."""

    backend: BackendConfig = Field(
        default_factory=LocalOptions, description="writes the rival replies and judges them"
    )
    sampling: SamplingConfig = Field(
        default_factory=SamplingConfig, description="of the rival replies"
    )
    roleplay: RoleplayConfig = Field(
        default_factory=RoleplayConfig, description="the supporter's prompts and word caps"
    )
    alternatives: int = Field(default=3, ge=1, le=8, description="other strategies tried per turn")
    turns_per_dialogue: int = Field(
        default=2, ge=1, le=50, description="supporter turns of each kept dialogue given rivals"
    )
    min_margin: int = Field(default=1, ge=1, le=4, description="judge points between the two")
    concurrency: int = Field(default=8, ge=1, le=1024, description="dialogues in flight")
    judge_max_tokens: int = Field(
        default=120, ge=32, le=4096, description="completion tokens of one judgement"
    )
    seed: int = Field(default=0, description="chooses the turns and the strategies tried")


def judge_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
            "reason": {"type": "string", "maxLength": 200},
        },
        "required": ["score", "reason"],
        "additionalProperties": False,
    }


class ChatMessage(Record):
    role: str
    content: str


class PreferencePair(Record):
    """One parquet row of the `preferences` config: TRL's conversational preference format
    (`prompt`, `chosen`, `rejected`) with the strategies, scores and the pair's origin."""

    dialogue_id: str
    turn_index: int
    prompt: list[ChatMessage]
    chosen: list[ChatMessage]
    rejected: list[ChatMessage]
    chosen_strategy: str
    rejected_strategy: str
    chosen_score: int
    rejected_score: int
    chosen_is_original: bool
    candidates: int


class PreferenceCounts(Record):
    """Pairs made and why turns or candidates gave none, in name order."""

    candidate_failed: int = 0
    duplicate_candidate: int = 0
    judge_failed: int = 0
    judge_unparsed: int = 0
    pairs: int = 0
    tie: int = 0
    too_few_scored: int = 0

    @model_serializer(mode="wrap")
    def _happened(self, handler: SerializerFunctionWrapHandler) -> dict[str, int]:
        """Only the reasons that occurred, and always `pairs`."""
        return {k: v for k, v in handler(self).items() if v or k == "pairs"}

    def recorded(self) -> dict[str, int]:
        """The counts as the manifest lists them."""
        out: dict[str, int] = self.model_dump()
        return out


@dataclass
class Candidate:
    text: str
    strategy: str
    original: bool


@dataclass
class PreferenceResult:
    pairs: list[PreferencePair] = field(default_factory=list)
    counts: PreferenceCounts = field(default_factory=PreferenceCounts)
    usage: Usage = field(default_factory=Usage)
    judge_prompt: str = ""


class PreferenceBuilder:
    def __init__(self, config: PreferenceConfig, system_prompt: str) -> None:
        self.config = config
        self.system_prompt = system_prompt
        library = PromptLibrary(
            Path(config.roleplay.prompts_dir) if config.roleplay.prompts_dir else None
        )
        self.labels = library.labels()
        prompts_dir = Path(config.roleplay.prompts_dir) if config.roleplay.prompts_dir else None
        self.supporter = SupporterAgent(
            library.get("supporter"),
            self.labels,
            config.roleplay,
            config.sampling,
            platform_constants(load_platform(prompts_dir)),
        )
        self.judge = library.get("reply_judge")
        self._taxonomies: dict[str, StrategyTaxonomy] = {}

    def taxonomy(self, name: str) -> StrategyTaxonomy:
        if name not in self._taxonomies:
            self._taxonomies[name] = load_taxonomy(name)
        return self._taxonomies[name]

    def positions(self, dialogue: Dialogue) -> list[int]:
        """Supporter turns that answer a seeker turn, a seeded sample of them, in order."""
        eligible = [
            i
            for i, t in enumerate(dialogue.turns)
            if t.role == "supporter" and i > 0 and dialogue.turns[i - 1].role == "seeker"
        ]
        rng = random.Random(f"{self.config.seed}:{dialogue.id}")
        return sorted(rng.sample(eligible, min(len(eligible), self.config.turns_per_dialogue)))

    async def build(
        self, dialogues: list[Dialogue], backend: Backend | None = None
    ) -> PreferenceResult:
        result = PreferenceResult(judge_prompt=self.judge.sha256)
        backend = backend or build_backend(self.config.backend, self.config.concurrency)
        limit = asyncio.Semaphore(self.config.concurrency)
        await backend.start()
        try:
            jobs = [(d, i) for d in dialogues for i in self.positions(d)]
            pairs = await asyncio.gather(
                *(self._pair(backend, limit, d, i, result) for d, i in jobs)
            )
        finally:
            await backend.close()
        result.pairs = [p for p in pairs if p is not None]
        result.counts.pairs = len(result.pairs)
        return result

    async def _pair(
        self,
        backend: Backend,
        limit: asyncio.Semaphore,
        dialogue: Dialogue,
        index: int,
        result: PreferenceResult,
    ) -> PreferencePair | None:
        """The pair for one supporter turn, or None (counted) when too few candidates were
        scored or the best and the worst are closer than `min_margin`."""
        context = public_turns(dialogue.turns[:index])
        candidates = await self._candidates(backend, limit, dialogue, index, result)
        scored: list[tuple[int, Candidate]] = []
        for candidate in candidates:
            async with limit:
                score = await self._score(backend, context, candidate.text, result)
            if score is not None:
                scored.append((score, candidate))
        if len(scored) < 2:
            result.counts.too_few_scored += 1
            return None
        # Best first; among equals the original reply wins `chosen` and loses `rejected` last.
        ranked = sorted(scored, key=lambda sc: (-sc[0], not sc[1].original))
        (chosen_score, chosen), (rejected_score, rejected) = ranked[0], ranked[-1]
        if chosen_score - rejected_score < self.config.min_margin:
            result.counts.tie += 1
            return None
        prompt = (
            [ChatMessage(role="system", content=self.system_prompt)] if self.system_prompt else []
        )
        prompt += [
            ChatMessage(role="user" if t.role == "seeker" else "assistant", content=t.text)
            for t in context
        ]
        return PreferencePair(
            dialogue_id=dialogue.id,
            turn_index=index,
            prompt=prompt,
            chosen=[ChatMessage(role="assistant", content=chosen.text)],
            rejected=[ChatMessage(role="assistant", content=rejected.text)],
            chosen_strategy=chosen.strategy,
            rejected_strategy=rejected.strategy,
            chosen_score=chosen_score,
            rejected_score=rejected_score,
            chosen_is_original=chosen.original,
            candidates=len(scored),
        )

    async def _candidates(
        self,
        backend: Backend,
        limit: asyncio.Semaphore,
        dialogue: Dialogue,
        index: int,
        result: PreferenceResult,
    ) -> list[Candidate]:
        """The original reply and the distinct replies written with other strategies."""
        turn = dialogue.turns[index]
        context = public_turns(dialogue.turns[:index])
        taxonomy = self.taxonomy(dialogue.generation.taxonomy)
        rng = random.Random(f"{self.config.seed}:{dialogue.id}:{index}")
        others = [s for s in taxonomy.strategies if s.name != turn.strategy]
        tried = rng.sample(others, min(len(others), self.config.alternatives))
        candidates = [Candidate(turn.text, turn.strategy or "unknown", original=True)]
        seen = {" ".join(turn.text.lower().split())}
        for number, strategy in enumerate(tried):
            async with limit:
                try:
                    text = await self.supporter.act(
                        backend,
                        SupporterView(
                            context,
                            strategy,
                            words=turn.words or DEFAULT_WORDS,
                            supporter=dialogue.supporter,
                        ),
                        seed=rng.randrange(1 << 30) + number,
                        usage=result.usage,
                    )
                except AgentFailure:
                    result.counts.candidate_failed += 1
                    continue
            key = " ".join(text.lower().split())
            if key in seen:  # a reply already among the candidates teaches nothing
                result.counts.duplicate_candidate += 1
                continue
            seen.add(key)
            candidates.append(Candidate(text, strategy.name, original=False))
        return candidates

    async def _score(
        self, backend: Backend, context: Any, reply: str, result: PreferenceResult
    ) -> int | None:
        request = ChatRequest(
            messages=self.judge.render(turns=context, reply=reply, labels=self.labels),
            max_tokens=self.config.judge_max_tokens,
            temperature=0.0,
            json_schema=judge_schema(),
            schema_name="reply_score",
            agent="reply_judge",
        )
        try:
            completion = await backend.complete(request)
        except BackendError as exc:
            result.usage.add(exc.usage)
            result.counts.judge_failed += 1
            return None
        result.usage.add(completion.usage)
        try:
            return coerce_int(extract_json_object(completion.text).get("score"), 1, 5, "score")
        except ParseError:
            result.counts.judge_unparsed += 1
            return None


def preference_schema() -> Any:
    import pyarrow as pa

    message = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    return pa.schema(
        [
            ("dialogue_id", pa.string()),
            ("turn_index", pa.int32()),
            ("prompt", message),
            ("chosen", message),
            ("rejected", message),
            ("chosen_strategy", pa.string()),
            ("rejected_strategy", pa.string()),
            ("chosen_score", pa.int32()),
            ("rejected_score", pa.int32()),
            ("chosen_is_original", pa.bool_()),
            ("candidates", pa.int32()),
        ]
    )
