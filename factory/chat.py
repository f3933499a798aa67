"""A dialogue as chat messages: the seeker as `user`, the supporter as `assistant`, after the
system prompt of the SFT data (prompts/sft_system.txt unless the user gives one)."""

from __future__ import annotations

from factory.models import Dialogue
from factory.resources import data_dir, read_text


def default_system_prompt() -> str:
    return read_text(data_dir("prompts") / "sft_system.txt").strip()


def chat_messages(
    dialogue: Dialogue, system_prompt: str, strategy_in_text: bool = False
) -> list[dict[str, str]]:
    """The seeker as user, the supporter as assistant, after a system prompt. With
    `strategy_in_text` each assistant turn starts with its strategy in brackets, as
    ESConv-trained models expect ("[Question] How long has this been going on?")."""
    out = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for turn in dialogue.turns:
        if turn.role == "seeker":
            out.append({"role": "user", "content": turn.text})
        else:
            text = turn.text
            if strategy_in_text and turn.strategy:
                text = f"[{turn.strategy}] {text}"
            out.append({"role": "assistant", "content": text})
    return out
