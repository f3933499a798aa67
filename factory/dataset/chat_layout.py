"""How the chat columns of a version are laid out for training, one conversation at a time.

ESConv's supporters often greet first and many dialogues end on the seeker, but most chat
templates want a user first, strict user/assistant alternation, and some no system role at
all. Each layout adds one rule to the one before it, so a stricter layout is accepted by
every template the looser one is:

- as_happened: the turns as they happened, after the system prompt (the default).
- user_first: assistant turns before the first user turn are dropped (an opening greeting;
  the dialogue's `turns` column keeps it).
- alternating: user_first, then runs of one role merged into one message (joined by a blank
  line) and trailing user turns dropped, so it ends on the assistant.
- no_system: alternating, with the system text folded into the first user turn (separated
  by a blank line), for templates without a system role (Gemma 1/2, Mistral v0.1).
"""

from __future__ import annotations

import itertools
from enum import StrEnum

from factory.models import Record

Message = dict[str, str]


class ChatLayout(StrEnum):
    """The forms of the chat columns, each stricter than the one before it."""

    as_happened = "as_happened"
    user_first = "user_first"
    alternating = "alternating"
    no_system = "no_system"


ORDER = list(ChatLayout)

# The loosest layout each family's chat template accepts for every dialogue (user_first is
# enough for Gemma 3 and Cohere when no dialogue has two turns of one role in a row, as in
# ESConv); tests/test_chat_layout.py renders every layout with each template to check it.
TEMPLATE_FAMILIES: dict[str, ChatLayout] = {
    "Qwen2.5": ChatLayout.as_happened,
    "Llama 3": ChatLayout.as_happened,
    "Phi-3": ChatLayout.as_happened,
    "Gemma 3": ChatLayout.alternating,
    "Cohere": ChatLayout.alternating,
    "Gemma 1/2": ChatLayout.no_system,
    "Mistral v0.1": ChatLayout.no_system,
}


class LayoutCounts(Record):
    """What the dialogues were like as they happened, in dialogues: opening with the
    assistant, ending on the user, with two messages of one role in a row, and left with no
    assistant reply by the layout. The layout decides what is done about each."""

    dialogues: int = 0
    open_with_assistant: int = 0
    end_with_user: int = 0
    repeat_a_role: int = 0
    no_reply: int = 0

    def add(self, other: LayoutCounts) -> None:
        for name in type(self).model_fields:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _at_least(layout: ChatLayout, step: ChatLayout) -> bool:
    return ORDER.index(layout) >= ORDER.index(step)


def arrange(messages: list[Message], layout: ChatLayout) -> tuple[list[Message], LayoutCounts]:
    """`messages` (an optional system message, then user and assistant turns as they
    happened) in `layout`, with what this one dialogue was like."""
    system = [dict(m) for m in messages[:1] if m["role"] == "system"]
    chat = [dict(m) for m in messages[len(system) :]]
    roles = [m["role"] for m in chat]
    counts = LayoutCounts(
        dialogues=1,
        open_with_assistant=int(roles[:1] == ["assistant"]),
        end_with_user=int(roles[-1:] == ["user"]),
        repeat_a_role=int(any(a == b for a, b in itertools.pairwise(roles))),
    )
    if _at_least(layout, ChatLayout.user_first):
        first_user = roles.index("user") if "user" in roles else len(chat)
        chat = chat[first_user:]
    if _at_least(layout, ChatLayout.alternating):
        merged: list[Message] = []
        for message in chat:
            if merged and merged[-1]["role"] == message["role"]:
                merged[-1]["content"] += "\n\n" + message["content"]
            else:
                merged.append(message)
        while merged and merged[-1]["role"] == "user":
            merged.pop()
        chat = merged
    counts.no_reply = int("assistant" not in [m["role"] for m in chat])
    if layout is ChatLayout.no_system and system and chat:
        chat[0]["content"] = f"{system[0]['content']}\n\n{chat[0]['content']}"
        system = []
    return system + chat, counts
