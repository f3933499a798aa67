"""Dialogues as parquet rows (one file per split) and back.

The columns a trainer reads are typed (`messages`, `turns`, the scenario labels); the
provenance (persona, full scenario, generation, verdicts) is kept as JSON text so the schema
stays the same across versions while those records grow."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from factory.dataset.manifest import read_manifest
from factory.errors import DataFileError, first_error_line
from factory.models import Dialogue, Persona, ScenarioCore, Turn

SPLITS = ("train", "validation", "test")


def schema() -> Any:
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    turn = pa.struct(
        [
            ("role", pa.string()),
            ("text", pa.string()),
            ("strategy", pa.string()),
            ("intensity", pa.int32()),
            ("rationale", pa.string()),
            (
                "utterances",
                pa.list_(pa.struct([("text", pa.string()), ("strategy", pa.string())])),
            ),
        ]
    )
    return pa.schema(
        [
            ("id", pa.string()),
            ("problem_type", pa.string()),
            ("emotion_type", pa.string()),
            ("initial_intensity", pa.int32()),
            ("situation", pa.string()),
            ("messages", pa.list_(message)),
            ("turns", pa.list_(turn)),
            ("end_reason", pa.string()),
            ("backend", pa.string()),
            ("model", pa.string()),
            ("persona", pa.string()),
            ("scenario", pa.string()),
            ("generation", pa.string()),
            ("verdicts", pa.string()),
        ]
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def to_row(dialogue: Dialogue, messages: list[dict[str, str]]) -> dict[str, Any]:
    """One parquet row; `messages` is the dialogue's chat in the version's layout."""
    s = dialogue.scenario
    return {
        "id": dialogue.id,
        "problem_type": s.problem_type,
        "emotion_type": s.emotion_type,
        "initial_intensity": s.initial_intensity,
        "situation": s.situation,
        "messages": messages,
        "turns": [
            {
                "role": t.role,
                "text": t.text,
                "strategy": t.strategy,
                "intensity": t.intensity,
                "rationale": t.rationale,
                "utterances": [u.model_dump() for u in t.utterances] if t.utterances else None,
            }
            for t in dialogue.turns
        ],
        "end_reason": dialogue.end_reason,
        "backend": dialogue.generation.backend,
        "model": dialogue.generation.model,
        "persona": _json(dialogue.persona.model_dump(mode="json", exclude_none=True)),
        "scenario": _json(s.model_dump(mode="json", exclude_none=True)),
        "generation": _json(dialogue.generation.model_dump(mode="json", exclude_none=True)),
        "verdicts": _json(
            [v.model_dump(mode="json", exclude_none=True) for v in dialogue.verdicts]
        ),
    }


def from_row(row: dict[str, Any]) -> Dialogue:
    from factory.models import GenerationInfo, Verdict

    return Dialogue(
        id=row["id"],
        persona=Persona.model_validate_json(row["persona"]),
        scenario=ScenarioCore.model_validate_json(row["scenario"]),
        turns=[
            Turn.model_validate({k: v for k, v in t.items() if v is not None}) for t in row["turns"]
        ],
        end_reason=row["end_reason"],
        generation=GenerationInfo.model_validate_json(row["generation"]),
        verdicts=[Verdict.model_validate(v) for v in json.loads(row["verdicts"])],
    )


def write_parquet(
    folder: Path, subdir: str, split: str, rows: list[dict[str, Any]], schema: Any
) -> str:
    """Writes SUBDIR/SPLIT-HASH.parquet under `folder`; returns the relative path."""
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = folder / subdir / f".{split}.parquet.partial"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp, compression="zstd")
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:12]
    relative = f"{subdir}/{split}-{digest}.parquet"
    tmp.rename(folder / relative)
    return relative


def split_path(version: Path, split: str) -> Path | None:
    """A version's parquet file for `split`, as its manifest lists it (None: empty split)."""
    relative = read_manifest(version).split_files.get(split)
    if relative and not (version / relative).is_file():
        raise DataFileError(f"{version / relative} is missing: the version folder is damaged")
    return version / relative if relative else None


@contextlib.contextmanager
def readable_split(path: Path) -> Iterator[None]:
    """Turns pyarrow's failure to read a split (missing, damaged, not parquet) into one
    DataFileError line naming the file."""
    try:
        yield
    except (OSError, ValueError, KeyError) as exc:
        raise DataFileError(
            f"{path}: not a readable split ({first_error_line(exc)[:200]})"
        ) from None


def iter_split(path: Path, batch_rows: int = 1024) -> Iterator[list[Dialogue]]:
    """A split's dialogues a record batch at a time, so a split of any size streams."""
    import pyarrow.parquet as pq

    with readable_split(path):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
            yield [from_row(row) for row in batch.to_pylist()]


def iter_split_turns(
    path: Path, batch_rows: int = 1024
) -> Iterator[list[tuple[str, list[tuple[str, str]]]]]:
    """A split's dialogues a record batch at a time as (id, [(role, text), ...]): the two
    columns a check of their texts needs, read without building whole dialogues (several
    times faster)."""
    import pyarrow.parquet as pq

    with readable_split(path):
        file = pq.ParquetFile(path)
        for batch in file.iter_batches(batch_size=batch_rows, columns=["id", "turns"]):
            yield [
                (row["id"], [(t["role"], t["text"]) for t in row["turns"]])
                for row in batch.to_pylist()
            ]


def split_ids(path: Path) -> list[str]:
    """Only the ids of a split's dialogues (one column read)."""
    import pyarrow.parquet as pq

    with readable_split(path):
        return [str(i) for i in pq.read_table(path, columns=["id"]).column("id").to_pylist()]


def read_split(path: Path) -> list[Dialogue]:
    import pyarrow.parquet as pq

    with readable_split(path):
        return [from_row(row) for row in pq.read_table(path).to_pylist()]
