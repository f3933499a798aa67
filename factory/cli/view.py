"""`factory view`: write a self-contained HTML page to browse and review dialogues."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def view_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A run directory, a `factory filter` output, a dataset version or a dialogues .jsonl."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path(
        "view.html"
    ),
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="Dialogues whose strategy shares the overview shows beside these (ESConv, say).",
        ),
    ] = None,
    open_page: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
) -> None:
    """One HTML page (no network needed) to browse dialogues, see why filters dropped them,
    and mark keep or drop for `factory curate --decisions`."""
    from factory.evaluation.sources import DialogueSource
    from factory.view.page import write_page
    from factory.view.sources import load_source

    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    source = load_source(path)
    ref = list(DialogueSource(reference, "reference", warn=warn)) if reference else None
    size = write_page(source, out, ref, reference.name if reference else "")
    counts = {
        s: sum(e.status == s for e in source.entries)
        for s in ("kept", "dropped", "unfiltered", "malformed")
    }
    parts = ", ".join(
        f"{n} {s.replace('unfiltered', 'not filtered')}" for s, n in counts.items() if n
    )
    typer.echo(f"wrote {out} ({size / 1e6:.1f} MB): {source.kind}, {parts or 'no dialogues'}")
    if open_page:
        import webbrowser

        webbrowser.open(out.resolve().as_uri())
