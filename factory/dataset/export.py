"""Exports of a version for training code: chat messages (TRL's SFTTrainer and
`tokenizer.apply_chat_template`) and ESConv's original JSON schema (ESConv.json), so code
written for ESConv reads synthetic dialogues unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from factory.chat import chat_messages
from factory.dataset.chat_layout import ChatLayout, arrange
from factory.dataset.layout import ExportFormat
from factory.dataset.table import SPLITS, iter_split, split_path
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


_LEAF = json.JSONEncoder(ensure_ascii=False).encode  # the C encoder, for scalars


def indented(value: Any, depth: int = 0) -> str:
    """`json.dumps(value, ensure_ascii=False, indent=1)` for JSON data (dicts with string
    keys, lists, scalars), nested `depth` levels deep: the same text, without the
    pure-Python encoder that `indent` otherwise selects (several times slower)."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = "\n" + " " * (depth + 1)
        items = (f"{_LEAF(k)}: {indented(v, depth + 1)}" for k, v in value.items())
        return "{" + inner + ("," + inner).join(items) + "\n" + " " * depth + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        inner = "\n" + " " * (depth + 1)
        items = (indented(v, depth + 1) for v in value)
        return "[" + inner + ("," + inner).join(items) + "\n" + " " * depth + "]"
    return _LEAF(value)


def _message(item: dict[str, Any], depth: int) -> str:
    """`indented` for one ESConv message ({"speaker", "annotation", "content"}, in that
    order): the bulk of every record, written without recursion."""
    if list(item) != ["speaker", "annotation", "content"] or len(item["annotation"]) > 1:
        return indented(item, depth)
    pad, annotation = "\n" + " " * (depth + 1), item["annotation"]
    if annotation:
        ((key, label),) = annotation.items()
        inner = f"{{\n{' ' * (depth + 2)}{_LEAF(key)}: {_LEAF(label)}{pad}}}"
    else:
        inner = "{}"
    return (
        f'{{{pad}"speaker": {_LEAF(item["speaker"])},{pad}"annotation": {inner},'
        f'{pad}"content": {_LEAF(item["content"])}\n{" " * depth}}}'
    )


def esconv_text(record: dict[str, Any], depth: int) -> str:
    """One ESConv record as `indented` writes it, its messages through the fast path."""
    if not record.get("dialog"):
        return indented(record, depth)
    inner = "\n" + " " * (depth + 1)
    parts = []
    for key, value in record.items():
        if key == "dialog":
            pad = inner + " "
            messages = ("," + pad).join(_message(m, depth + 2) for m in value)
            text = "[" + pad + messages + inner + "]"
        else:
            text = indented(value, depth + 1)
        parts.append(f"{_LEAF(key)}: {text}")
    return "{" + inner + ("," + inner).join(parts) + "\n" + " " * depth + "}"


class EsconvList:
    """ESConv.json's one JSON list written record by record: the same bytes as `json.dump`
    of the whole list with indent=1, then a newline."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self.rows = 0

    def add(self, record: dict[str, Any]) -> None:
        self._handle.write(("[\n " if self.rows == 0 else ",\n ") + esconv_text(record, 1))
        self.rows += 1

    def close(self) -> None:
        self._handle.write("\n]\n" if self.rows else "[]\n")


def write_export(
    dialogues: Iterable[Dialogue],
    fmt: ExportFormat,
    out: Path,
    system_prompt: str,
    strategy_in_text: bool = False,
    layout: ChatLayout = ChatLayout.as_happened,
) -> int:
    """messages: one {"id", "messages"} object per line (.jsonl), in `layout`; esconv: one
    JSON list. Written atomically, so a failed export leaves nothing; returns how many were
    written."""
    count = 0
    with atomic_file(out) as handle:
        if fmt is ExportFormat.messages:
            for d in dialogues:
                messages, _ = arrange(chat_messages(d, system_prompt, strategy_in_text), layout)
                handle.write(json_line({"id": d.id, "messages": messages}))
                count += 1
        else:
            listed = EsconvList(handle)
            for d in dialogues:
                listed.add(esconv_record(d))
            listed.close()
            count = listed.rows
    return count


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
    batches = iter_split(path)
    return write_export(
        (d for batch in batches for d in batch), fmt, out, system_prompt, strategy_in_text, layout
    )
