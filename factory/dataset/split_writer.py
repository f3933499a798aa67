"""A version's data files written a batch of rows at a time: parquet through a batch writer
(a row group per ROWS_PER_GROUP rows) and ESConv's JSON list through a streaming writer,
so writing a million dialogues holds a few thousand rows, never the set. A split of fewer
rows than a group is one row group, byte for byte what writing the whole table gives."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO, Any

from factory.dataset.export import EsconvList, esconv_record
from factory.dataset.table import schema, to_row
from factory.dataset.training_chat import STRATEGY_CONFIG, TrainingChat, strategy_schema
from factory.models import Dialogue

ROWS_PER_GROUP = 2048


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ParquetRows:
    """SUBDIR/SPLIT-HASH.parquet under `folder`, filled by `add`; `close` names the file by
    its content hash and returns its relative path, or None when no row came. (`datasets`
    caches a local folder by its name and its card's file patterns, so two versions with the
    same file names would share one cache entry, and the second would load the first's rows.)"""

    def __init__(self, folder: Path, subdir: str, split: str, table_schema: Any) -> None:
        self.folder, self.subdir, self.split, self.schema = folder, subdir, split, table_schema
        self.tmp = folder / subdir / f".{split}.parquet.partial"
        self.rows = 0
        self._buffer: list[dict[str, Any]] = []
        self._writer: Any = None

    def add(self, row: dict[str, Any]) -> None:
        self._buffer.append(row)
        self.rows += 1
        if len(self._buffer) >= ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._buffer:
            return
        if self._writer is None:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        self._writer.write_table(pa.Table.from_pylist(self._buffer, schema=self.schema))
        self._buffer = []

    def close(self) -> str | None:
        self._flush()
        if self._writer is None:
            return None
        self._writer.close()
        relative = f"{self.subdir}/{self.split}-{sha256_file(self.tmp)[:12]}.parquet"
        self.tmp.rename(self.folder / relative)
        return relative


class SplitFiles:
    """One split's parquet file, its `strategy` config file and its ESConv export, filled
    dialogue by dialogue; `chat` lays out (and tallies) the chat columns."""

    def __init__(self, folder: Path, split: str, chat: TrainingChat) -> None:
        self.folder, self.split, self.chat = folder, split, chat
        self.parquet = ParquetRows(folder, "data", split, schema())
        self.strategy = ParquetRows(folder, STRATEGY_CONFIG, split, strategy_schema())
        self.esconv_path = f"esconv/{split}.json"
        self._esconv: EsconvList | None = None
        self._esconv_file: IO[str] | None = None

    def add(self, dialogue: Dialogue) -> None:
        self.parquet.add(to_row(dialogue, self.chat.messages(self.split, dialogue)))
        self.strategy.add(self.chat.strategy_row(self.split, dialogue))
        if self._esconv is None:
            path = self.folder / self.esconv_path
            path.parent.mkdir(parents=True, exist_ok=True)
            self._esconv_file = path.open("w", encoding="utf-8")
            self._esconv = EsconvList(self._esconv_file)
        self._esconv.add(esconv_record(dialogue))

    def close(self) -> list[str]:
        """The files written, as relative paths (none for an empty split): the parquet file,
        the strategy config's, the ESConv export."""
        relative = self.parquet.close()
        strategy = self.strategy.close()
        if relative is None or strategy is None:
            return []
        assert self._esconv is not None and self._esconv_file is not None
        self._esconv.close()
        self._esconv_file.close()
        return [relative, strategy, self.esconv_path]
