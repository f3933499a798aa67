"""Where versions live and what they are called: outputs/datasets/NAME/vX.Y.Z/."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from factory.errors import ConfigError, DataFileError


class ExportFormat(StrEnum):
    """messages: chat messages, one object per line (.jsonl); esconv: ESConv.json's list."""

    messages = "messages"
    esconv = "esconv"


class Bump(StrEnum):
    """Which part of the version a new one raises."""

    major = "major"
    minor = "minor"
    patch = "patch"


Version = tuple[int, int, int]

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
VERSION = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
MANIFEST = "manifest.json"


def check_name(name: str) -> str:
    if not NAME.match(name) or ".." in name:
        raise ConfigError(
            f"dataset name '{name}' is not allowed: use letters, digits, '.', '_' or '-'"
            " (at most 96 characters, starting with a letter or digit)"
        )
    return name


def parse_version(text: str) -> Version:
    match = VERSION.match(text)
    if not match:
        raise ConfigError(f"'{text}' is not a version: write it as vMAJOR.MINOR.PATCH, e.g. v0.1.0")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def tag(version: Version) -> str:
    return "v{}.{}.{}".format(*version)


def versions(root: Path, name: str) -> list[tuple[Version, Path]]:
    """Finished versions of NAME, oldest first (a folder counts once it has its manifest)."""
    folder = root / check_name(name)
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        match = VERSION.match(child.name)
        if match and child.name.startswith("v") and (child / MANIFEST).is_file():
            found.append((parse_version(child.name), child))
    return sorted(found)


def next_version(existing: list[Version], bump: Bump) -> Version:
    major, minor, patch = existing[-1] if existing else (0, 0, 0)
    if bump is Bump.major:
        return major + 1, 0, 0
    if bump is Bump.minor:
        return major, minor + 1, 0
    return major, minor, patch + 1


def version_dir(root: Path, name: str, version: str) -> Path:
    """The folder of an existing version, or one line naming the ones there are."""
    wanted = parse_version(version)
    found = versions(root, name)
    for number, path in found:
        if number == wanted:
            return path
    if not found:
        raise DataFileError(
            f"no dataset '{name}' under {root}: run `factory curate RUN_DIR --name {name}` first"
            " (or pass --root)"
        )
    listed = ", ".join(tag(v) for v, _ in found)
    raise DataFileError(f"dataset '{name}' has no version {tag(wanted)} (it has: {listed})")
