"""A dialogues file's lines in and out of a recipe run: reading and parsing them, telling
the user about malformed ones (a few, then a count) and writing each to rejected.jsonl as
`malformed_input`, and making a kept dialogue's line from its input line."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from factory.errors import DataFileError, first_error_line
from factory.jsonl import json_line, model_line
from factory.models import Dialogue, Verdict


def read_dialogues(path: Path) -> Iterator[tuple[int, Dialogue | None, bytes, str]]:
    """(line number, dialogue or None if malformed, the line's bytes, what is wrong with a
    malformed one: its text, cut, and the first error); blank lines are skipped."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DataFileError(f"cannot read {path} ({exc.strerror})") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                yield number, Dialogue.model_validate_json(raw), raw, ""
            except ValidationError as exc:
                yield (
                    number,
                    None,
                    raw,
                    f"{raw.decode('utf-8', 'replace').strip()[:2000]}\t{first_error_line(exc)}",
                )


class MalformedWarnings:
    """Says where the first few malformed input lines are, then, at `close`, how many more
    there were: a thousand bad lines make SHOWN + 1 warnings, not a thousand."""

    SHOWN = 5

    def __init__(self, warn: Callable[[str], None], fate: str = "skipped") -> None:
        self.warn = warn
        self.fate = fate  # what became of such a line: "skipped", "put in rejected.jsonl"
        self.count = 0

    def add(self, path: Path, number: int, why: str) -> None:
        self.count += 1
        if self.count <= self.SHOWN:
            self.warn(f"{path}:{number}: malformed dialogue {self.fate} ({why})")

    def close(self, where: str = "") -> None:
        if self.count > self.SHOWN:
            self.warn(
                f"... and {self.count - self.SHOWN} more malformed lines {self.fate}"
                f" ({self.count} in all{where})"
            )


def read_inputs(
    paths: list[Path],
    malformed: MalformedWarnings,
    on_read: Callable[[Path, Dialogue], None] | None = None,
) -> Iterator[tuple[Dialogue | None, bytes, str]]:
    """Every dialogue line of `paths`, in order, as (dialogue, its line, "") after `on_read`
    has seen it, or, for a malformed line, (None, its line, its rejected.jsonl line) after
    `malformed` has been told."""
    for path in paths:
        for number, dialogue, raw, problem in read_dialogues(path):
            if dialogue is None:
                yield None, raw, reject_malformed(path, number, problem, malformed)
                continue
            if on_read is not None:
                on_read(path, dialogue)
            yield dialogue, raw, ""


def reject_malformed(path: Path, number: int, problem: str, warnings: MalformedWarnings) -> str:
    """A line that is not a dialogue goes to rejected.jsonl as `malformed_input`."""
    raw, _, why = problem.rpartition("\t")
    warnings.add(path, number, why)
    verdict = Verdict(
        filter="input", keep=False, reason="malformed_input", details={"line": number, "error": why}
    )
    return json_line({"line": number, "raw": raw, "verdicts": [verdict.model_dump()]})


_VERDICTS = TypeAdapter(list[Verdict])
_NO_VERDICTS = b',"verdicts":[]}'
# The same end with spaces around the separators (json.dumps' default form); the list it
# opens is the dialogue's own, as one closing brace is all that follows it.
_NO_VERDICTS_SPACED = re.compile(rb'"verdicts"\s*:\s*\[\s*\]\s*\}$')


def kept_line(dialogue: Dialogue, line: bytes | None) -> str:
    """A kept dialogue's line: `model_line` of it, or, when `line` is the input line it was
    read from (no filter changed it since) and ends in an empty verdicts list, that line with
    the verdicts put in the list (`spliced_line`). The two are the same bytes for a line in
    the serialiser's own form, as every line the project writes is, and splicing is several
    times cheaper than serialising the dialogue again (bench/dedup.py). A line in another
    form (spaces, other key order) keeps its form."""
    if line is not None and (spliced := spliced_line(line, dialogue.verdicts)) is not None:
        return spliced
    return model_line(dialogue)


def spliced_line(line: bytes, verdicts: list[Verdict]) -> str | None:
    """Input line `line` with `verdicts` put into the empty verdicts list that ends it; None
    when it does not end in one (verdicts of its own, or not a form this knows)."""
    line = line.rstrip()
    if line.endswith(_NO_VERDICTS):
        opening = len(line) - 3  # the list's "["
    elif (found := _NO_VERDICTS_SPACED.search(line, max(0, len(line) - 64))) is not None:
        opening = line.index(b"[", found.start())
    else:
        return None
    if line.count(b'"verdicts"') != 1:
        return None
    return (line[:opening] + _VERDICTS.dump_json(verdicts, exclude_none=True) + b"}\n").decode()
