"""Exports of a version for training code: chat messages (TRL's SFTTrainer and
`tokenizer.apply_chat_template`) and ESConv's original JSON schema (ESConv.json), so code
written for ESConv reads synthetic dialogues unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from factory.chat import chat_messages
from factory.errors import RunDirError
from factory.models import Dialogue

Format = Literal["messages", "esconv"]


def esconv_record(dialogue: Dialogue) -> dict[str, Any]:
    """One dialogue in ESConv.json's schema: speakers seeker/supporter, the strategy under
    `annotation`, the first and last self-rated intensities as the survey's initial and final."""
    rated = [t.intensity for t in dialogue.turns if t.role == "seeker" and t.intensity is not None]
    initial = rated[0] if rated else dialogue.scenario.initial_intensity
    seeker_survey = {"initial_emotion_intensity": str(initial)}
    if len(rated) > 1:
        seeker_survey["final_emotion_intensity"] = str(rated[-1])
    return {
        "id": dialogue.id,
        "experience_type": "Current Experience",
        "emotion_type": dialogue.scenario.emotion_type,
        "problem_type": dialogue.scenario.problem_type,
        "situation": dialogue.scenario.situation,
        "survey_score": {"seeker": seeker_survey, "supporter": {}},
        "dialog": [
            {
                "speaker": turn.role,
                "annotation": {"strategy": strategy}
                if turn.role == "supporter" and strategy
                else {},
                "content": text,
            }
            for turn in dialogue.turns
            # An imported turn goes back out as the messages it was merged from.
            for text, strategy in (
                [(u.text, u.strategy) for u in turn.utterances]
                if turn.utterances
                else [(turn.text, turn.strategy)]
            )
        ],
    }


def write_export(
    dialogues: list[Dialogue],
    fmt: Format,
    out: Path,
    system_prompt: str,
    strategy_in_text: bool = False,
) -> None:
    """messages: one {"id", "messages"} object per line (.jsonl); esconv: one JSON list.
    Written under a temporary name and renamed, so a failed export leaves nothing."""
    tmp = out.with_name(f".{out.name}.partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as handle:
            if fmt == "messages":
                for d in dialogues:
                    row = {
                        "id": d.id,
                        "messages": chat_messages(d, system_prompt, strategy_in_text),
                    }
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                json.dump(
                    [esconv_record(d) for d in dialogues], handle, ensure_ascii=False, indent=1
                )
                handle.write("\n")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunDirError(f"cannot write {out} ({exc.strerror}): pass a writable --out") from None
