"""Options that several commands share, declared once."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from factory.embedding_store import EmbeddingStore

BACKEND_PANEL = "Backend"

BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible server URL; several, comma-separated, are balanced.",
        rich_help_panel=BACKEND_PANEL,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Served model name (required for openai), or a GGUF path for local.",
        rich_help_panel=BACKEND_PANEL,
    ),
]

EmbeddingsOpt = Annotated[
    str | None,
    typer.Option(
        "--embeddings",
        help="Embedding store folder, reused by filter, curate and eval; `none` embeds in"
        " memory and writes nothing.",
        show_default="embeddings/ beside the input",
        metavar="DIR|none",
    ),
]


def print_warning(message: str) -> None:
    """A command's warning line, on stderr."""
    print(f"warning: {message}", file=sys.stderr)


def embedding_store(
    option: str | None, data: Path, warn: Callable[[str], None] | None = None
) -> EmbeddingStore:
    """The store `--embeddings` names, or the one beside `data`. `warn` hears when the named
    store is empty while the one beside the data holds vectors: the run reuses none of
    them, a mistake easy to make and slow to notice (pass no `warn` for a run that embeds
    nothing). Only the stores' key file headers are read to tell."""
    from factory.embedding_store import EmbeddingStore, store_root
    from factory.errors import ConfigError

    if option == "none":
        return EmbeddingStore(None)
    if option and Path(option).exists() and not Path(option).is_dir():
        raise ConfigError(
            f"--embeddings {option} is a file: pass a folder for the store, or `none`"
        )
    if not option:
        return EmbeddingStore(store_root(data))
    store = EmbeddingStore(Path(option))
    beside = store_root(data)
    if warn is not None and beside is not None and beside.resolve() != Path(option).resolve():
        there = 0 if store.stored() else EmbeddingStore(beside, store.model).stored()
        if there:
            warn(
                f"--embeddings {option} holds no {store.model} vectors, while {beside}"
                f" beside the data holds {there:,}: this run will not reuse them (leave out"
                " --embeddings to reuse them)"
            )
    return store
