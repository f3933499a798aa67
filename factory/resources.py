"""Finds the data folders (personas/, prompts/, filters/) in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

from factory.errors import DataFileError

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder `name`: inside the wheel (factory/_data/name) or at the checkout's top."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise DataFileError(
        f"data folder '{name}' not found next to the factory package: reinstall esc-factory"
    )
