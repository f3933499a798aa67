"""Exports of a version for training code: chat messages (TRL's SFTTrainer and
`tokenizer.apply_chat_template`) and ESConv's original JSON schema (ESConv.json), so code
written for ESConv reads synthetic dialogues unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factory.chat import chat_messages
from factory.dataset.chat_layout import ChatLayout, arrange
from factory.dataset.layout import ExportFormat
from factory.dataset.table import SPLITS, read_split, split_path
from factory.errors import ConfigError, DataFileError
from factory.jsonl import atomic_file, json_line
from factory.models import Dialogue


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
    fmt: ExportFormat,
    out: Path,
    system_prompt: str,
    strategy_in_text: bool = False,
    layout: ChatLayout = ChatLayout.as_happened,
) -> None:
    """messages: one {"id", "messages"} object per line (.jsonl), in `layout`; esconv: one
    JSON list. Written atomically, so a failed export leaves nothing."""
    with atomic_file(out) as handle:
        if fmt is ExportFormat.messages:
            for d in dialogues:
                messages, _ = arrange(chat_messages(d, system_prompt, strategy_in_text), layout)
                handle.write(json_line({"id": d.id, "messages": messages}))
        else:
            json.dump([esconv_record(d) for d in dialogues], handle, ensure_ascii=False, indent=1)
            handle.write("\n")


def export_split(
    version: Path,
    split: str,
    fmt: ExportFormat,
    out: Path,
    system_prompt: str,
    strategy_in_text: bool = False,
    layout: ChatLayout = ChatLayout.as_happened,
) -> int:
    """Writes one split of a version folder to `out`; returns how many dialogues."""
    if split not in SPLITS:
        raise ConfigError(f"--split '{split}' is not one of {', '.join(SPLITS)}")
    path = split_path(version, split)
    if path is None:
        name, label = version.parent.name, version.name
        raise DataFileError(
            f"{name} {label} has no {split} split (no dialogue landed in it:"
            f" see `factory versions {name}`)"
        )
    dialogues = read_split(path)
    write_export(dialogues, fmt, out, system_prompt, strategy_in_text, layout)
    return len(dialogues)
