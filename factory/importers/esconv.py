"""ESConv into our dialogue format, so real dialogues can be filtered and measured like
synthetic ones. Reads the Hugging Face split format (.jsonl; speakers usr/sys) and the original
ESConv.json schema (a JSON list; speakers seeker/supporter, or speaker/listener in
FailedESConv.json; strategy under `annotation`).

Rules: consecutive utterances of one speaker are merged into one turn (joined with a space;
a merged supporter turn keeps the strategy of its first utterance); old strategy labels are
mapped to ESConv's eight (Questions -> Question, Other -> Others, Direct Guidance ->
Providing Suggestions, Approval and Reassurance -> Affirmation and Reassurance); the survey's
initial and final intensity go on the first and last seeker turns."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from factory import __version__
from factory.errors import DataFileError, RunDirError
from factory.jsonl import atomic_file, model_line
from factory.models import Dialogue, GenerationInfo, Persona, Role, ScenarioCore, Turn, Utterance
from factory.resources import json_records

MAX_WARNINGS = 5  # as many as filter, curate and eval show (MalformedWarnings.SHOWN)

SEEKER = {"usr", "seeker", "speaker"}
SUPPORTER = {"sys", "supporter", "listener"}
STRATEGY_ALIASES = {
    "Questions": "Question",
    "Other": "Others",
    "Direct Guidance": "Providing Suggestions",
    "Approval and Reassurance": "Affirmation and Reassurance",
}


def _intensity(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= 5 else None


def _label(record: dict[str, Any], field: str, where: str) -> str:
    """A problem or emotion label as ESConv writes it (lower case); a missing one is
    'unknown', one that is not text (a number, say) makes the record unusable."""
    value = record.get(field, "unknown")
    if not isinstance(value, str) or not value.strip():
        raise DataFileError(f"{where}: `{field}` is not a label ({value!r})")
    return value.strip().lower()


def convert(record: dict[str, Any], source: str, index: int) -> Dialogue:
    """One ESConv record as a Dialogue; raises DataFileError naming the record if it is unusable."""
    where = f"{source} record {index}"
    utterances = record.get("dialog")
    if not isinstance(utterances, list) or not utterances:
        raise DataFileError(f"{where}: no `dialog` list")
    turns: list[Turn] = []
    for utterance in utterances:
        speaker = str(utterance.get("speaker", "")).lower()
        raw_text = utterance.get("text", utterance.get("content"))
        if not isinstance(raw_text, str):
            raise DataFileError(f"{where}: a message without text ({raw_text!r})")
        text = raw_text.strip()
        strategy = utterance.get("strategy") or (utterance.get("annotation") or {}).get("strategy")
        role: Role
        if speaker in SEEKER:
            role = "seeker"
        elif speaker in SUPPORTER:
            role = "supporter"
        else:
            raise DataFileError(f"{where}: unknown speaker '{speaker}'")
        strategy = (
            STRATEGY_ALIASES.get(strategy, strategy) if role == "supporter" and strategy else None
        )
        if turns and turns[-1].role == role:
            last = turns[-1]
            parts = last.utterances or [Utterance(text=last.text, strategy=last.strategy)]
            turns[-1] = last.model_copy(
                update={
                    "text": f"{last.text} {text}".strip(),
                    "utterances": [*parts, Utterance(text=text, strategy=strategy)],
                }
            )
            continue
        turns.append(
            Turn(
                role=role,
                text=text,
                strategy=strategy,
            )
        )
    survey = (record.get("survey_score") or {}).get("seeker") or {}
    seeker_turns = [i for i, t in enumerate(turns) if t.role == "seeker"]
    initial, final = (
        _intensity(survey.get("initial_emotion_intensity")),
        _intensity(survey.get("final_emotion_intensity")),
    )
    if seeker_turns and initial is not None:
        turns[seeker_turns[0]] = turns[seeker_turns[0]].model_copy(update={"intensity": initial})
    if len(seeker_turns) > 1 and final is not None:
        turns[seeker_turns[-1]] = turns[seeker_turns[-1]].model_copy(update={"intensity": final})
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:12]
    return Dialogue(
        id=f"esconv-{digest}",
        persona=Persona(
            id=f"esconv-seeker-{digest}",
            name="unknown",
            gender="unknown",
            occupation="unknown",
            style="",
        ),
        scenario=ScenarioCore(
            id=f"esconv-{source}-{index}",
            problem_type=_label(record, "problem_type", where),
            emotion_type=_label(record, "emotion_type", where),
            initial_intensity=initial or 3,
            situation=str(record.get("situation", "")).strip(),
        ),
        turns=turns,
        end_reason="imported",
        generation=GenerationInfo(
            backend="human",
            model="esconv",
            seed=0,
            taxonomy="esconv",
            prompt_hashes={},
            tool_version=__version__,
        ),
    )


def import_esconv(paths: list[Path]) -> tuple[list[Dialogue], list[str]]:
    """Dialogues from every file, and one message per record that could not be converted."""
    dialogues, problems = [], []
    for path in paths:
        if not path.is_file():
            raise DataFileError(f"{path} not found: pass an ESConv .jsonl or .json file")
        for index, record in json_records(path):
            try:
                if isinstance(record, DataFileError):
                    raise record
                if not isinstance(record, dict):
                    raise DataFileError(f"{path.name} record {index}: not an object")
                dialogues.append(convert(record, path.name, index))
            except DataFileError as exc:
                problems.append(str(exc))
            except (AttributeError, TypeError, ValueError) as exc:
                # A record of the right shape at the top but odd inside (a string where a
                # mapping belongs): skipped and reported, the rest of the file still imports.
                problems.append(
                    f"{path.name} record {index}: unusable ({type(exc).__name__}: {exc})"
                )
    return dialogues, problems


def import_esconv_file(
    paths: list[Path], out: Path, warn: Callable[[str], None]
) -> tuple[int, int]:
    """Converts the files into one dialogues .jsonl at `out`, written atomically. Each skipped
    record is named through `warn` (the first MAX_WARNINGS of them, then a count); a set of
    files without a single ESConv record is an error. Returns (written, skipped)."""
    if out.is_dir():
        raise RunDirError(
            f"{out} is a directory: pass a file path to --out, e.g. {out / 'esconv.jsonl'}"
        )
    dialogues, problems = import_esconv(paths)
    for problem in problems[:MAX_WARNINGS]:
        warn(f"skipped {problem}")
    if len(problems) > MAX_WARNINGS:
        warn(f"... and {len(problems) - MAX_WARNINGS} more records skipped")
    if not dialogues:
        raise DataFileError(
            f"no ESConv dialogues in {', '.join(map(str, paths))}: expected records with a `dialog`"
            " list (is the file already in the factory's dialogue format?)"
        )
    # In the form every dialogue file of the project has (model_line), so that `factory
    # filter` can write a kept dialogue as its input line with the verdicts put in.
    with atomic_file(out) as handle:
        handle.writelines(model_line(d) for d in dialogues)
    return len(dialogues), len(problems)
