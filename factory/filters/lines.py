"""A dialogues file's lines in and out of a recipe run: reading and parsing them, telling
the user about malformed ones (a few, then a count) and writing each, whole, to
rejected.jsonl as `malformed_input`, and making a kept dialogue's line from its input line."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from pydantic import TypeAdapter, ValidationError

from factory.errors import DataFileError, first_error_line, not_dialogues
from factory.jsonl import json_line, model_line
from factory.models import Dialogue, Verdict


def read_dialogues(path: Path) -> Iterator[tuple[int, Dialogue | None, bytes, str]]:
    """(line number, dialogue or None if malformed, the line's bytes, the first error of a
    malformed one); blank lines are skipped. A file that cannot be opened or read to its end
    is one DataFileError."""
    for number, raw in numbered_lines(path):
        if not raw.strip():
            continue
        try:
            yield number, Dialogue.model_validate_json(raw), raw, ""
        except ValidationError as exc:
            yield number, None, raw, first_error_line(exc)


def numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Every line of `path` (blank ones too) with its number from 1. A file that cannot be
    opened or read to its end is one DataFileError."""
    handle = open_input(path)
    number = 0
    try:
        with handle:
            for number, raw in enumerate(handle, start=1):
                yield number, raw
    except OSError as exc:
        raise DataFileError(
            f"cannot read {path} past line {number} ({exc.strerror or exc})"
        ) from None


def open_input(path: Path) -> BinaryIO:
    """`path` opened for reading, or one DataFileError saying why it cannot be."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise DataFileError(f"cannot read {path} ({exc.strerror})") from None


class MalformedWarnings:
    """Says where the first few malformed input lines are, then, at `close`, how many more
    there were: a thousand bad lines make SHOWN + 1 warnings, not a thousand. The first
    warnings of an input file wait for its first dialogue (`hold`, `dialogue_read`) or for
    `close`: a file with no dialogue at all is an error of its own, and warnings telling
    what became of its lines first would contradict it."""

    SHOWN = 5

    def __init__(self, warn: Callable[[str], None], fate: str = "skipped") -> None:
        self.warn = warn
        self.fate = fate  # what became of such a line: "skipped", "put in rejected.jsonl"
        self.count = 0
        self._waiting: list[str] | None = []

    def add(self, path: Path, number: int, why: str) -> None:
        self.count += 1
        if self.count <= self.SHOWN:
            message = f"{path}:{number}: malformed dialogue {self.fate} ({why})"
            if self._waiting is None:
                self.warn(message)
            else:
                self._waiting.append(message)

    def hold(self) -> None:
        """A new input file: its warnings wait for a dialogue of its own (or `close`)."""
        if self._waiting is None:
            self._waiting = []

    def dialogue_read(self) -> None:
        """A dialogue was read: the input is a dialogues file, so what waits is said."""
        if self._waiting is not None:
            for message in self._waiting:
                self.warn(message)
            self._waiting = None

    def close(self, where: str = "") -> None:
        self.dialogue_read()
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
    `malformed` has been told. Every path is opened first, so one that cannot be fails the
    run before any work. A file with lines but no dialogue among them (raw ESConv, an
    evaluation set given as an input) is an error, not a file of malformed lines."""
    for path in paths:
        open_input(path).close()
    for path in paths:
        dialogues = bad = 0
        malformed.hold()
        for number, dialogue, raw, why in read_dialogues(path):
            if dialogue is None:
                bad += 1
                yield None, raw, reject_malformed(path, number, raw, why, malformed)
                continue
            dialogues += 1
            malformed.dialogue_read()
            if on_read is not None:
                on_read(path, dialogue)
            yield dialogue, raw, ""
        if bad and not dialogues:
            raise not_dialogues(str(path), bad)


def reject_malformed(
    path: Path, number: int, raw: bytes, why: str, warnings: MalformedWarnings
) -> str:
    """A line that is not a dialogue goes to rejected.jsonl as `malformed_input`, whole (its
    line ending left off; bytes that are not UTF-8 become U+FFFD)."""
    warnings.add(path, number, why)
    verdict = Verdict(
        filter="input", keep=False, reason="malformed_input", details={"line": number, "error": why}
    )
    text = raw.decode("utf-8", "replace").rstrip("\r\n")
    return json_line({"line": number, "raw": text, "verdicts": [verdict.model_dump()]})


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
