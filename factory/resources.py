"""Finds the data folders (personas/, prompts/, filters/) in a checkout or an installed wheel."""

from __future__ import annotations

import json
from pathlib import Path

from factory.errors import DataFileError, FactoryError

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder `name`: inside the wheel (factory/_data/name) or at the checkout's top."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise DataFileError(
        f"data folder '{name}' not found next to the factory package: reinstall esc-factory"
    )


def read_text(path: Path, error: type[FactoryError] = DataFileError) -> str:
    """A user-supplied text file as UTF-8; unreadable or undecodable files raise `error`
    with one line instead of a traceback."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise error(f"cannot read {path} ({exc.strerror or type(exc).__name__})") from None


def json_records(path: Path) -> list[tuple[int, object]]:
    """(line number or list position, record) from a .jsonl file or a .json list. A .jsonl
    line that is not JSON comes back as a DataFileError in place of its record, for the
    caller to raise or skip; a broken .json file raises at once."""
    text = read_text(path)
    if path.suffix == ".jsonl":
        records: list[tuple[int, object]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                records.append(
                    (number, DataFileError(f"{path.name}:{number}: not valid JSON ({exc.msg})"))
                )
        return records
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, list):
        raise DataFileError(f"{path}: expected a list of records")
    return list(enumerate(data, start=1))


def named_yaml(folder: str, name_or_path: str, what: str) -> Path:
    """A YAML data file given by a shipped name (prompts/strategies/esconv.yaml for
    `named_yaml("prompts/strategies", "esconv", ...)`) or by its own path; one error line
    listing the shipped names when there is neither."""
    path = Path(name_or_path)
    if path.suffix not in {".yaml", ".yml"}:
        top, _, sub = folder.partition("/")
        path = data_dir(top) / sub / f"{name_or_path}.yaml"
    if not path.is_file():
        top, _, sub = folder.partition("/")
        shipped = sorted(p.stem for p in (data_dir(top) / sub).glob("*.yaml"))
        raise DataFileError(
            f"unknown {what} '{name_or_path}': use one of {', '.join(shipped)}"
            " or a path to a .yaml file"
        )
    return path
