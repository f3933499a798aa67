"""Options that several commands share, declared once."""

from __future__ import annotations

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


def embedding_store(option: str | None, data: Path) -> EmbeddingStore:
    """The store `--embeddings` names, or the one beside `data`."""
    from factory.embedding_store import EmbeddingStore, store_root
    from factory.errors import ConfigError

    if option == "none":
        return EmbeddingStore(None)
    if option and Path(option).exists() and not Path(option).is_dir():
        raise ConfigError(
            f"--embeddings {option} is a file: pass a folder for the store, or `none`"
        )
    return EmbeddingStore(Path(option) if option else store_root(data))
