"""What `factory view` reads: a run directory, a `factory filter` output, a dataset version or
a JSONL of dialogues, as one list of entries (kept, dropped, not filtered, or malformed with
its raw line) and the funnel that came with it. A damaged line becomes a malformed entry the
page shows; only a path that is none of the four kinds is an error."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from factory.dataset.decisions import HUMAN
from factory.dataset.layout import MANIFEST
from factory.dataset.manifest import read_manifest
from factory.dataset.table import SPLITS, read_split
from factory.errors import DataFileError, first_error_line, not_dialogues
from factory.filters.pipeline import KEPT_FILE, REJECTED_FILE, REPORT_FILE
from factory.filters.report import FunnelStep, read_report
from factory.models import Dialogue
from factory.runs.run_dir import DIALOGUES_FILE
from factory.staging import is_version_dir

Status = Literal["kept", "dropped", "unfiltered", "malformed"]
RAW_LIMIT = 2000  # characters of a malformed line the page shows


@dataclass
class Entry:
    """One line of the input: a dialogue with its outcome, or a line that is not one."""

    status: Status
    dialogue: Dialogue | None = None
    split: str | None = None
    where: str = ""  # file:line of a malformed line
    raw: str = ""
    error: str = ""


@dataclass
class ViewSource:
    """Everything the page shows, read from one path."""

    path: Path
    kind: str
    entries: list[Entry]
    funnel: list[FunnelStep] = field(default_factory=list)
    title: str = ""


def _status_of(dialogue: Dialogue) -> Status:
    """A dialogue file's own outcome: a person's review when it has one, else dropped when a
    verdict drops it, kept when it was judged and survived, otherwise not filtered."""
    human = [v for v in dialogue.verdicts if v.filter == HUMAN]
    if human:
        return "kept" if human[-1].keep else "dropped"
    if any(not v.keep for v in dialogue.verdicts):
        return "dropped"
    return "kept" if dialogue.verdicts else "unfiltered"


def _read_lines(path: Path, status: Status | None) -> list[Entry]:
    """Each line of a JSONL file as an entry; `status` None takes it from the verdicts."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DataFileError(f"cannot read {path} ({exc.strerror})") from None
    entries: list[Entry] = []
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                dialogue = Dialogue.model_validate_json(raw)
            except ValidationError as exc:
                entries.append(_malformed(path, number, raw, first_error_line(exc)))
                continue
            entries.append(Entry(status or _status_of(dialogue), dialogue))
    return entries


def _malformed(path: Path, number: int, raw: bytes, error: str) -> Entry:
    """A line that is not a dialogue; rejected.jsonl's own malformed rows (`raw`, `line` and
    a `malformed_input` verdict) show the original line and its error."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        row = json.loads(text)
    except ValueError:
        row = None
    if isinstance(row, dict) and isinstance(row.get("raw"), str):
        details = (row.get("verdicts") or [{}])[-1].get("details") or {}
        return Entry(
            "malformed",
            where=f"{path.name}:{row.get('line', number)}",
            raw=row["raw"][:RAW_LIMIT],
            error=str(details.get("error", error)),
        )
    return Entry("malformed", where=f"{path.name}:{number}", raw=text[:RAW_LIMIT], error=error)


def _filter_output(path: Path) -> ViewSource:
    report = read_report(path / REPORT_FILE)
    entries = _read_lines(path / KEPT_FILE, "kept")
    if (path / REJECTED_FILE).is_file():
        entries += _read_lines(path / REJECTED_FILE, "dropped")
    return ViewSource(path, "filter output", entries, report.funnel, f"filter output {path.name}")


def _version(path: Path) -> ViewSource:
    manifest = read_manifest(path)
    entries: list[Entry] = []
    for split in SPLITS:
        relative = manifest.split_files.get(split)
        if relative:
            entries += [Entry("kept", d, split) for d in read_split(path / relative)]
    rejected = path / "rejected" / REJECTED_FILE
    if rejected.is_file():
        entries += _read_lines(rejected, "dropped")
    title = f"{manifest.name} {manifest.version}"
    return ViewSource(path, "dataset version", entries, manifest.funnel, title)


def load_source(path: Path) -> ViewSource:
    """Reads `path` as whichever of the four kinds it is."""
    if path.is_file():
        entries = _read_lines(path, None)
        if entries and all(e.dialogue is None for e in entries):
            raise not_dialogues(str(path), len(entries))
        return ViewSource(path, "dialogues file", entries, title=path.name)
    if path.is_dir():
        if (path / REPORT_FILE).is_file() and (path / KEPT_FILE).is_file():
            return _filter_output(path)
        if is_version_dir(path):
            return _version(path)
        if (path / DIALOGUES_FILE).is_file():
            entries = _read_lines(path / DIALOGUES_FILE, None)
            return ViewSource(path, "run directory", entries, title=f"run {path.name}")
        raise DataFileError(
            f"{path} is none of the folders factory view reads: a run directory"
            f" ({DIALOGUES_FILE}), a filter output ({KEPT_FILE} and {REPORT_FILE}) or a"
            f" dataset version ({MANIFEST} and data/); or pass a dialogues .jsonl"
        )
    raise DataFileError(
        f"{path} not found: pass a run directory, a filter output, a dataset version or a"
        " dialogues .jsonl"
    )
