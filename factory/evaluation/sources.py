"""A set of dialogues to measure, read as a stream: a dialogues .jsonl, a run directory or a
dataset version. Iterating yields the dialogues in order (malformed lines are counted and the
first few named); `fetch` reads the ones at given positions again (by byte offset in a
.jsonl, by row in a version's parquet files), so samples need no copy of the set."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from factory.errors import DataFileError, first_error_line, not_dialogues
from factory.models import Dialogue


class DialogueSource:
    def __init__(
        self, path: Path, what: str = "input", warn: Callable[[str], None] = lambda m: None
    ) -> None:
        self.path, self.what, self.warn = path, what, warn
        self.malformed = 0
        self.count = 0
        self._offsets = array("q")
        self._files: list[Path] = []
        from factory.staging import is_version_dir

        if path.is_dir() and is_version_dir(path):
            from factory.dataset.table import SPLITS, split_path

            self.kind = "dataset version"
            self._files = [f for s in SPLITS if (f := split_path(path, s)) is not None]
            return
        self.file = path / "dialogues.jsonl" if path.is_dir() else path
        self.kind = "run directory" if path.is_dir() else "dialogues file"
        if path.is_dir() and not self.file.is_file() and (path / "kept.jsonl").is_file():
            self.file, self.kind = path / "kept.jsonl", "filter output (kept.jsonl)"
        if not self.file.is_file():
            raise DataFileError(
                f"{what} {path} not found: pass a dialogues .jsonl, a run directory, a filter"
                " output or a dataset version"
            )

    def __iter__(self) -> Iterator[Dialogue]:
        """One pass over the set (once: it records where each dialogue is for `fetch`)."""
        from factory.filters.lines import MalformedWarnings, numbered_lines

        if self._files:
            for _, row in self._rows():
                self.count += 1
                yield _from_row(row)
        else:
            warnings = MalformedWarnings(self.warn)
            offset = 0
            for number, raw in numbered_lines(self.file):
                start, offset = offset, offset + len(raw)
                if not raw.strip():
                    continue
                try:
                    dialogue = Dialogue.model_validate_json(raw)
                except ValidationError as exc:
                    warnings.add(self.file, number, first_error_line(exc))
                    continue
                warnings.dialogue_read()
                self._offsets.append(start)
                self.count += 1
                yield dialogue
            self.malformed = warnings.count
            if not self.count and self.malformed:
                raise not_dialogues(f"{self.what} {self.path}", self.malformed)
            warnings.close()
        if not self.count:
            raise DataFileError(f"{self.what} {self.path} holds no dialogues: nothing to measure")

    def fetch(self, indices: Sequence[int]) -> list[Dialogue]:
        """The dialogues at these positions of the pass, in the order asked."""
        if self._files:
            wanted = set(indices)
            found = {i: _from_row(row) for i, row in self._rows(wanted)}
            return [found[i] for i in indices]
        out = []
        with self.file.open("rb") as handle:
            for i in indices:
                handle.seek(self._offsets[i])
                out.append(Dialogue.model_validate_json(handle.readline()))
        return out

    def _rows(self, only: set[int] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """(position, parquet row) over the version's split files, a record batch at a time;
        with `only`, just the rows at those positions are turned into Python objects."""
        import pyarrow.parquet as pq

        from factory.dataset.table import readable_split

        position = 0
        for file in self._files:
            with readable_split(file):
                parquet = pq.ParquetFile(file)
                for batch in parquet.iter_batches(batch_size=1024):
                    rows: Iterator[tuple[int, Any]]
                    if only is None:
                        rows = enumerate(batch.to_pylist(), start=position)
                    else:
                        picked = sorted(
                            i - position for i in only if position <= i < position + len(batch)
                        )
                        rows = zip(
                            (position + i for i in picked),
                            batch.take(picked).to_pylist(),
                            strict=True,
                        )
                    yield from rows
                    position += len(batch)


def _from_row(row: dict[str, Any]) -> Dialogue:
    from factory.dataset.table import from_row

    return from_row(row)
