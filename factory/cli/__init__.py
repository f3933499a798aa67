"""The `factory` command. Thin: parse, call the library, print. User errors become one line
on stderr and exit code 1."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from factory.cli.dataset import (
    curate_command,
    diff_command,
    export_command,
    preferences_command,
    push_command,
    versions_command,
)
from factory.cli.evaluate import eval_command
from factory.cli.filter import filter_command
from factory.cli.generate import generate_command
from factory.cli.help_format import FactoryCommand, FactoryGroup
from factory.cli.importers import import_app
from factory.cli.personas import app as personas_app
from factory.cli.view import view_command
from factory.errors import FactoryError, os_fault_line
from factory.secrets import scrub_text

INTERRUPTED = 130

app = typer.Typer(
    name="factory",
    help="Synthetic emotional-support dialogues: three-role LLM role-play, curation, datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=FactoryGroup,
)
app.command("generate", cls=FactoryCommand)(generate_command)
app.add_typer(personas_app, name="personas")
app.command("filter", cls=FactoryCommand)(filter_command)
app.add_typer(import_app, name="import")
app.command("curate", cls=FactoryCommand)(curate_command)
app.command("preferences", cls=FactoryCommand)(preferences_command)
app.command("preferences", cls=FactoryCommand)(preferences_command)
app.command("versions", cls=FactoryCommand)(versions_command)
app.command("diff", cls=FactoryCommand)(diff_command)
app.command("export", cls=FactoryCommand)(export_command)
app.command("push", cls=FactoryCommand)(push_command)
app.command("eval", cls=FactoryCommand)(eval_command)
app.command("view", cls=FactoryCommand)(view_command)


def _print_version(value: bool) -> None:
    if value:
        from factory import __version__

        typer.echo(f"esc-factory {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Synthetic emotional-support dialogues: three-role LLM role-play, curation, datasets."""


def _scrub_record(record: logging.LogRecord) -> bool:
    """Warnings name endpoints and quote servers: credentials in them never reach stderr.
    The level is written as the commands' own lines are ("warning: ...")."""
    record.msg, record.args = scrub_text(record.getMessage()), None
    record.levelname = record.levelname.lower()
    return True


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(_scrub_record)
    try:
        code = app(args=argv, standalone_mode=False)
        if code == INTERRUPTED:  # typer turns Ctrl-C into this exit code
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except FactoryError as exc:
        print(f"error: {scrub_text(str(exc))}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:
        # A full disk, a read-only target or a name too long: one line, not a traceback.
        line = os_fault_line(exc)
        if line is None:
            raise
        print(f"error: {scrub_text(line)}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        args = sys.argv[1:] if argv is None else argv
        print(
            "interrupted: finished dialogues are saved; rerun the same command to resume"
            if args[:1] == ["generate"]
            else "interrupted: nothing half-written was kept; rerun the same command",
            file=sys.stderr,
        )
        sys.exit(INTERRUPTED)
    except typer.Abort:
        print("aborted: rerun the same command to resume", file=sys.stderr)
        sys.exit(INTERRUPTED)
    except typer.TyperException as exc:
        # Usage errors (unknown option, bad choice, missing value): one line, exit 1.
        if not exc.format_message():  # bare `factory`: help was shown
            sys.exit(0)
        print(f"error: {scrub_text(exc.format_message())} (see --help)", file=sys.stderr)
        sys.exit(1)
