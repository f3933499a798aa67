"""The chat columns a trainer reads, made one dialogue at a time: `messages` in the chosen
layout, the `strategy` config's messages (each supporter turn led by its [Strategy]), and
the running tallies the card reports (what the layout changed, tokens per split)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from factory.chat import chat_messages
from factory.dataset.chat_layout import ChatLayout, LayoutCounts, Message, arrange
from factory.dataset.tokens import TokenCounter, TokenStats, TokenTally
from factory.models import Dialogue, Record

STRATEGY_CONFIG = "strategy"


class ChatInfo(Record):
    """How a version's chat columns were laid out and how long they are, for the card."""

    layout: ChatLayout
    changes: LayoutCounts
    strategy_files: dict[str, str] = Field(default_factory=dict)
    token_method: str
    tokens: dict[str, TokenStats]
    strategy_tokens: dict[str, TokenStats] = Field(default_factory=dict)
    # DPO pairs: the prompt plus the longer of chosen and rejected, per split.
    preference_tokens: dict[str, TokenStats] = Field(default_factory=dict)


def strategy_schema() -> Any:
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    return pa.schema([("id", pa.string()), ("messages", pa.list_(message))])


class TrainingChat:
    """Lays out each dialogue's chat and tallies it; feed it every kept dialogue once (in
    any order, in batches of any size), then read `info`."""

    def __init__(
        self,
        system_prompt: str,
        layout: ChatLayout = ChatLayout.as_happened,
        counter: TokenCounter | None = None,
    ) -> None:
        self.system_prompt = system_prompt
        self.layout = layout
        self.counter = counter or TokenCounter()
        self.changes = LayoutCounts()
        self.tokens = TokenTally()
        self.strategy_tokens = TokenTally()
        self.preference_tokens = TokenTally()

    def messages(self, split: str, dialogue: Dialogue) -> list[Message]:
        """The `messages` column of one dialogue (counted once: call it once per dialogue)."""
        messages, changes = arrange(chat_messages(dialogue, self.system_prompt), self.layout)
        self.changes.add(changes)
        self.tokens.add(split, self.counter.count(messages))
        return messages

    def strategy_row(self, split: str, dialogue: Dialogue) -> dict[str, Any]:
        """One row of the `strategy` config: the id and the strategy-led messages."""
        raw = chat_messages(dialogue, self.system_prompt, strategy_in_text=True)
        messages, _ = arrange(raw, self.layout)
        self.strategy_tokens.add(split, self.counter.count(messages))
        return {"id": dialogue.id, "messages": messages}

    def pair_row(self, split: str, row: dict[str, Any]) -> dict[str, Any]:
        """One preference pair with its prompt in the layout (the pair's turn stays its last
        user turn), tallied as the prompt with the longer reply."""
        arranged, _ = arrange([*row["prompt"], *row["chosen"]], self.layout)
        prompt = arranged[:-1]
        self.preference_tokens.add(
            split, max(self.counter.count(prompt + row[k]) for k in ("chosen", "rejected"))
        )
        return {**row, "prompt": prompt}

    def info(self, strategy_files: dict[str, str]) -> ChatInfo:
        return ChatInfo(
            layout=self.layout,
            changes=self.changes,
            strategy_files=strategy_files,
            token_method=self.counter.method,
            tokens=self.tokens.stats(),
            strategy_tokens=self.strategy_tokens.stats(),
            preference_tokens=self.preference_tokens.stats(),
        )
