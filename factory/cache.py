"""Where the project keeps what it can make again (the int8 encoder's export, remote runs'
staging folders): one folder, chosen the way users set their other caches."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """FACTORY_CACHE_DIR, else $XDG_CACHE_HOME/esc-factory, else ~/.cache/esc-factory."""
    chosen = os.environ.get("FACTORY_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "esc-factory"
