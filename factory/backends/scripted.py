"""A deterministic backend for tests and `--dry-run`: answers from a queue (`enqueue`) or,
when the queue is empty, with plausible canned output derived from a hash of the request.
Every request is kept in `history` so tests can assert what each agent was shown."""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from collections.abc import Callable
from typing import Literal

from pydantic import Field

from factory.backends.base import BackendKind, ChatRequest, Completion
from factory.errors import BackendError
from factory.models import Usage
from factory.settings import Strict

# Canned stand-ins for model output (not prompts): enough variety that a dry run's
# dialogues differ from one another.
_SEEKER_LINES = (
    "hi, thanks for being here.",
    "I have not been sleeping well and everything feels heavier lately.",
    "It started a few weeks ago and I keep going over it in my head.",
    "I guess I feel like nobody really notices how hard I am trying.",
    "My family says I should just relax but that does not help.",
    "Work is the worst part, I dread Monday mornings now.",
    "I used to enjoy cooking but lately I just order food.",
    "Sometimes I wonder if I am making too much of it.",
    "Talking about it helps a bit, honestly. I did not expect that.",
    "What would you do if you were in my place?",
    "Maybe I could try that. I am just scared it will not change anything.",
    "I could ask my sister to come over this weekend.",
    "Writing things down might stop the thoughts at night.",
    "I think I feel a little calmer now. Thank you for listening.",
    "ok, thanks again. bye for now.",
    "You have been kind, I appreciate it a lot.",
)
_SUPPORTER_LINES = (
    "Hello, how are you doing today?",
    "That sounds really exhausting. What has been weighing on you the most?",
    "It makes sense that you feel worn down after carrying this for weeks.",
    "You are trying hard, and it is clear how much this matters to you.",
    "I have felt stuck like that too, and small steps helped me.",
    "Would it help to write down one thing you could do tomorrow?",
    "Many people find that a short walk or a call with a friend eases the pressure.",
    "So the nights are the hardest part for you right now?",
    "How long has work felt this heavy?",
    "It sounds like you feel unseen, and that hurts.",
    "What usually helps you unwind, even a little?",
    "You reached out today, which takes courage.",
    "Could you talk to your manager about the workload?",
    "I am glad talking helps. Take care of yourself, and good luck.",
    "Thank you for sharing all this with me. Goodbye for now.",
    "That is a thoughtful plan, and it sounds doable.",
)

# Long dialogues outrun the lines: the second round starts each line differently, and an
# alternative reply (another strategy, same context) opens differently.
_ROUNDS = ("", "Thinking about it again,", "And honestly, after all that,")
_OPENERS = ("", "Okay,", "Well,", "Right,", "Mm, yes,", "Honestly,", "I see,")

_SPEAKER_LINE = re.compile(r"^(?:Seeker|Supporter|You)\b", re.M)
_STRATEGY_LINE = re.compile(r"^Use this strategy in your (?:reply|message): ([^(\n]+)", re.M)

Responder = Callable[[ChatRequest], str]


class ScriptedOptions(Strict):
    """`backend.kind: scripted`: canned answers, for tests and `--dry-run`."""

    kind: Literal[BackendKind.scripted] = BackendKind.scripted
    model: str | None = Field(
        default=None, description="recorded in the run's fingerprint only; no model is called"
    )


class ScriptedBackend:
    name = "scripted"
    max_parallel: int | None = None
    model = "scripted-v1"

    def __init__(self, responder: Responder | None = None) -> None:
        self._queue: deque[str | BaseException] = deque()
        self._responder = responder or canned_response
        self.history: list[ChatRequest] = []

    def enqueue(self, *outputs: str | BaseException) -> None:
        """Queue raw outputs (or exceptions to raise) for the next calls, in order."""
        self._queue.extend(outputs)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def complete(self, request: ChatRequest) -> Completion:
        self.history.append(request)
        if self._queue:
            item = self._queue.popleft()
            if isinstance(item, BaseException):
                if isinstance(item, BackendError):
                    item.usage = Usage(calls=1, failed_calls=1)
                raise item
            text = item
        else:
            text = self._responder(request)
        prompt_words = sum(len(m["content"].split()) for m in request.messages)
        return Completion(
            text=text,
            usage=Usage(calls=1, prompt_tokens=prompt_words, completion_tokens=len(text.split())),
        )


def canned_response(request: ChatRequest) -> str:
    """A deterministic, well-formed answer for the requesting agent."""
    # Keyed on the system prompt (stable within a dialogue) so lines advance without repeats.
    system = request.messages[0]["content"] if request.messages else ""
    digest = hashlib.sha256(f"{system}:{request.agent}".encode()).digest()
    pick = int.from_bytes(digest[:4], "big")
    transcript = request.messages[-1]["content"] if request.messages else ""
    exchange = len(_SPEAKER_LINE.findall(transcript)) // 2
    again = _ROUNDS[(exchange // len(_SEEKER_LINES)) % len(_ROUNDS)]
    if request.agent == "seeker":
        message = _join(again, _SEEKER_LINES[(pick + exchange) % len(_SEEKER_LINES)])
        intensity = max(1, 4 - exchange // 2)
        return json.dumps(
            {"messages": [message], "intensity": intensity, "end_conversation": exchange >= 6}
        )
    if request.agent == "reply_judge":
        score = 1 + hashlib.sha256(transcript.encode()).digest()[0] % 5
        return json.dumps({"score": score, "reason": "Scripted score."})
    if request.agent == "counselor":
        schema = request.json_schema or {}
        choices = schema.get("properties", {}).get("strategy", {}).get("enum", ["Others"])
        strategy = choices[pick % len(choices)]
        return json.dumps({"strategy": strategy, "rationale": "Fits what the seeker just said."})
    # Another strategy from the same context gets another line (preference candidates).
    strategy = _STRATEGY_LINE.search(transcript)
    shift = hashlib.sha256(strategy.group(1).encode()).digest()[0] if strategy else 0
    line = _SUPPORTER_LINES[(pick + exchange) % len(_SUPPORTER_LINES)]
    return _join(_OPENERS[shift % len(_OPENERS)], again, line)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)
