"""Embeddings computed once. Every stage that embeds (the semantic-dedup, emotion and
diversity filters, curate's run of the same recipe, eval's realism classifier) asks an
`EmbeddingStore` instead of the model: a text embedded before by the same model is read
back, only new texts reach the model, and the model is not even loaded when none is new.

On disk a store is `embeddings/<model>/` beside the data it was computed for (a run
directory, the folder of a dialogues file): shards of two .npy files each,
`part-*.vectors.npy` (float32, one L2-normalised row per text) and `part-*.keys.npy` (the
16-byte BLAKE2b digest of each text's UTF-8 bytes). The key is the exact text, so two
filters that embed the same words share one row; each stage's counts are kept by its own
name (its text recipe). A shard is written under a temporary name and renamed, keys last,
so a store never holds half a shard; shard names are unique, so several processes (Ray
actors, two commands at once) add to one store without locks. A store is a cache: a shard
that cannot be read is skipped with a warning, never trusted."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from factory.embeddings import Encoder, embedding_backend, embedding_model, minilm_encoder
from factory.staging import is_version_dir

log = logging.getLogger(__name__)

FOLDER = "embeddings"
KEY_BYTES = 16
FLUSH_ROWS = 20_000  # new vectors held before they are written as a shard (about 30 MB)


def text_keys(texts: Sequence[str]) -> Any:
    """The store's key of each text: a (n,) array of 16-byte digests."""
    import numpy as np

    return np.array(
        [hashlib.blake2b(t.encode("utf-8"), digest_size=KEY_BYTES).digest() for t in texts],
        dtype=f"S{KEY_BYTES}",
    )


@dataclass
class StageCounts:
    """Texts a stage asked for: embedded now, or read back from the store."""

    computed: int = 0
    reused: int = 0


@dataclass
class _Saved:
    """The shards on disk: their keys sorted once, and where each key's row is."""

    keys: Any = None  # sorted (n,) S16
    shard: Any = None  # (n,) int32: the shard of each sorted key
    row: Any = None  # (n,) int64: its row in that shard
    vectors: list[Any] = field(default_factory=list)  # one memory-mapped array per shard


class EmbeddingStore:
    """Vectors of one model, read from and added to `root/<model>/` (`root` None: kept
    in memory for this process only). `make_encoder` loads the model on first need."""

    def __init__(
        self,
        root: Path | None,
        model: str | None = None,
        make_encoder: Callable[[], Encoder] | None = None,
        flush_rows: int = FLUSH_ROWS,
    ) -> None:
        self.root = root
        backend = embedding_backend()
        self.model = model or embedding_model(backend)
        self.folder = root / self.model.replace("/", "__") if root is not None else None
        # The backend is fixed here, where the store's name was chosen: a Ray actor that gets
        # a copy loads the same encoder whatever its own FACTORY_EMBED_BACKEND says.
        self._make_encoder = make_encoder or partial(minilm_encoder, backend=backend)
        self.flush_rows = flush_rows
        self._reset()

    def _reset(self) -> None:
        self._encoder: Encoder | None = None
        self._saved: _Saved | None = None
        self._new_keys: dict[bytes, int] = {}  # key -> row in _new_vectors
        self._new_vectors: list[Any] = []
        # Vectors computed elsewhere (Ray actors, ahead of a driver filter), each handed
        # out once and then forgotten; not written here (their maker wrote them).
        self._adopted: dict[bytes, Any] = {}
        # Adopted texts a stage here has asked for: the first ask counts as computed (the
        # run made it), a later one as reused, as in one process.
        self._adopted_asked: set[bytes] = set()
        self.counts: dict[str, StageCounts] = {}
        self.written = 0  # vectors this process wrote to disk
        self.dim: int | None = None

    # Sent to Ray actors without its vectors: each actor reads the shards itself.
    def __getstate__(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "model": self.model,
            "make_encoder": self._make_encoder,
            "flush_rows": self.flush_rows,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["root"], state["model"], state["make_encoder"], state["flush_rows"]
        )

    def encoder(self, stage: str) -> Encoder:
        """An Encoder for one stage (a filter's name): what it embeds is counted under it."""
        self.counts.setdefault(stage, StageCounts())
        return lambda texts: self.embed(texts, stage)

    def embed(self, texts: Sequence[str], stage: str = "embed") -> Any:
        """(len(texts), dim) float32 rows, in order: stored ones read back, new ones encoded
        (each distinct new text once) and kept."""
        import numpy as np

        counts = self.counts.setdefault(stage, StageCounts())
        if not texts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        keys = text_keys(texts)
        saved = self._load()
        have = np.zeros(len(texts), dtype=bool)
        out: Any = None
        if saved.keys is not None and len(saved.keys):
            at = np.minimum(np.searchsorted(saved.keys, keys), len(saved.keys) - 1)
            found = np.flatnonzero(saved.keys[at] == keys)
            if len(found):
                out = np.empty((len(texts), saved.vectors[0].shape[1]), dtype=np.float32)
                shard_of = saved.shard[at[found]]
                for shard in np.unique(shard_of):
                    picked = found[shard_of == shard]
                    out[picked] = saved.vectors[shard][saved.row[at[picked]]]
                have[found] = True
        missing: dict[bytes, str] = {}
        adopted: dict[bytes, Any] = {}
        key_list: list[bytes] = keys.tolist()
        for i in np.flatnonzero(~have).tolist():
            key = key_list[i]
            if key in self._adopted:
                adopted[key] = self._adopted.pop(key)
            if key not in self._new_keys and key not in adopted:
                missing.setdefault(key, texts[i])
        if missing:
            if self._encoder is None:
                self._encoder = self._make_encoder()
            fresh = np.asarray(self._encoder(list(missing.values())), dtype=np.float32)
            self._check_dim(fresh.shape[1])
            for key, vector in zip(missing, fresh, strict=True):
                self._new_keys[key] = len(self._new_vectors)
                self._new_vectors.append(vector)
        rest = np.flatnonzero(~have).tolist()
        if rest:
            if out is None:
                first = next(iter(adopted.values())) if adopted else self._new_vectors[0]
                out = np.empty((len(texts), len(first)), dtype=np.float32)
            out[rest] = np.stack(
                [
                    adopted[key_list[i]]
                    if key_list[i] in adopted
                    else self._new_vectors[self._new_keys[key_list[i]]]
                    for i in rest
                ]
            )
        first_asks = adopted.keys() - self._adopted_asked
        self._adopted_asked.update(first_asks)
        counts.computed += len(missing) + len(first_asks)
        counts.reused += len(texts) - len(missing) - len(first_asks)
        if len(self._new_vectors) >= self.flush_rows:
            self.flush()
        return out

    def open(self) -> None:
        """Reads what is on disk now, before copies of this store elsewhere add to it (a Ray
        run): a text one of them adds counts here as computed by the run, not reused."""
        self._load()

    def adopt(self, keys: Any, vectors: Any) -> None:
        """Vectors another copy of this store computed (a Ray actor, for a filter that runs
        here): the next `embed` of those texts reads them instead of the model, and counts
        them as the one process would have (computed the first time)."""
        for key, vector in zip(keys.tolist(), vectors, strict=True):
            self._adopted[key] = vector

    def _check_dim(self, dim: int) -> None:
        if self.dim is None:
            self.dim = dim
        elif dim != self.dim:
            raise ValueError(f"{self.model} gave {dim}-wide vectors, the store holds {self.dim}")

    def _load(self) -> _Saved:
        """The shards already on disk, read once (keys in memory, vectors memory-mapped)."""
        import numpy as np

        if self._saved is not None:
            return self._saved
        self._saved = _Saved()
        if self.folder is None or not self.folder.is_dir():
            return self._saved
        keys, shards, rows = [], [], []
        for key_file in sorted(self.folder.glob("part-*.keys.npy")):
            vector_file = key_file.with_name(key_file.name.replace(".keys.", ".vectors."))
            try:
                shard_keys = np.load(key_file)
                vectors = np.load(vector_file, mmap_mode="r")
            except (OSError, ValueError) as exc:
                log.warning("embedding store: skipped %s (%s)", key_file.name, exc)
                continue
            if (
                vectors.ndim != 2
                or len(vectors) != len(shard_keys)
                or shard_keys.dtype != np.dtype(f"S{KEY_BYTES}")
                or (self.dim is not None and vectors.shape[1] != self.dim)
            ):
                log.warning("embedding store: skipped %s (its shape does not fit)", key_file.name)
                continue
            self.dim = int(vectors.shape[1])
            keys.append(shard_keys)
            shards.append(np.full(len(shard_keys), len(self._saved.vectors), dtype=np.int32))
            rows.append(np.arange(len(shard_keys), dtype=np.int64))
            self._saved.vectors.append(vectors)
        if keys:
            self._index(np.concatenate(keys), np.concatenate(shards), np.concatenate(rows))
        return self._saved

    def _index(self, keys: Any, shards: Any, rows: Any) -> None:
        import numpy as np

        assert self._saved is not None
        order = np.argsort(keys, kind="stable")
        self._saved.keys, self._saved.shard, self._saved.row = (
            keys[order],
            shards[order],
            rows[order],
        )

    def flush(self) -> None:
        """Writes the vectors added since the last flush as one new shard (nothing without a
        folder, or when the folder cannot be written: then they stay in memory)."""
        import numpy as np

        if not self._new_vectors or self.folder is None:
            return
        keys = np.array(list(self._new_keys), dtype=f"S{KEY_BYTES}")
        vectors = np.stack(self._new_vectors).astype(np.float32, copy=False)
        name = f"part-{uuid.uuid4().hex[:16]}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            meta = self.folder / "store.json"
            if not meta.exists():
                _write_atomic(
                    meta,
                    lambda f: f.write(
                        json.dumps(
                            {
                                "model": self.model,
                                "dim": int(vectors.shape[1]),
                                "key": "blake2b, 16 bytes, of the text's UTF-8 bytes",
                                "vectors": "float32, L2-normalised rows",
                            },
                            indent=1,
                        ).encode()
                        + b"\n"
                    ),
                )
            _write_atomic(self.folder / f"{name}.vectors.npy", lambda f: np.save(f, vectors))
            _write_atomic(self.folder / f"{name}.keys.npy", lambda f: np.save(f, keys))
        except OSError as exc:
            log.warning(
                "embedding store %s cannot be written (%s): embeddings stay in memory",
                self.folder,
                exc.strerror or exc,
            )
            self.folder = None
            return
        saved = self._load()
        shard = np.full(len(keys), len(saved.vectors), dtype=np.int32)
        saved.vectors.append(vectors)
        if saved.keys is None:
            self._index(keys, shard, np.arange(len(keys), dtype=np.int64))
        else:
            self._index(
                np.concatenate([saved.keys, keys]),
                np.concatenate([saved.shard, shard]),
                np.concatenate([saved.row, np.arange(len(keys), dtype=np.int64)]),
            )
        self.written += len(keys)
        self._new_keys, self._new_vectors = {}, []

    def stored(self) -> int:
        """Vectors on disk, counted from the key files' headers (nothing else is read)."""
        import numpy as np

        if self.folder is None or not self.folder.is_dir():
            return 0
        total = 0
        for key_file in self.folder.glob("part-*.keys.npy"):
            try:
                total += len(np.load(key_file, mmap_mode="r"))
            except (OSError, ValueError):
                continue
        return total

    def size(self) -> int:
        """Vectors the store holds (on disk and not yet written)."""
        saved = self._load()
        return (0 if saved.keys is None else len(saved.keys)) + len(self._new_vectors)

    def summary(self) -> dict[str, Any]:
        """For report.json and the command's last lines: where, and each stage's counts."""
        return {
            "store": str(self.folder) if self.folder is not None else None,
            "model": self.model,
            "computed": sum(c.computed for c in self.counts.values()),
            "reused": sum(c.reused for c in self.counts.values()),
            "stages": {
                name: {"computed": c.computed, "reused": c.reused}
                for name, c in self.counts.items()
            },
        }

    def add_counts(self, counts: dict[str, StageCounts]) -> None:
        """Counts made by copies of this store elsewhere (Ray actors)."""
        for name, c in counts.items():
            mine = self.counts.setdefault(name, StageCounts())
            mine.computed += c.computed
            mine.reused += c.reused


def _write_atomic(path: Path, write: Callable[[Any], Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            write(handle)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def counts_line(summary: dict[str, Any]) -> str:
    """One line for the end of filter, curate and eval."""
    stages = ", ".join(
        f"{name} {c['computed']:,}/{c['reused']:,}"
        for name, c in summary["stages"].items()
        if c["computed"] or c["reused"]
    )
    where = summary["store"] or "memory only"
    return (
        f"embeddings: {summary['computed']:,} computed, {summary['reused']:,} reused"
        + (f" (computed/reused: {stages})" if stages else "")
        + f"; store {where}"
    )


def store_root(path: Path) -> Path | None:
    """Where the embeddings of the data at `path` are kept: a run directory's own
    `embeddings/`, or the one beside a dialogues file. A filter output and a dataset version
    point back to the data they were made from, so `factory eval` of a version reuses what
    `factory filter` and `factory curate` computed. None for a version whose source is not
    found from here: nothing is written into a version."""
    folder = path if path.is_dir() else path.parent
    if is_version_dir(folder):
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            first = Path(manifest["sources"][0]["path"])
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return None
        return store_root(first) if first.exists() else None
    report = folder / "report.json"
    if report.is_file() and not (folder / FOLDER).is_dir():
        try:
            source = str(json.loads(report.read_text(encoding="utf-8")).get("input") or "")
        except (OSError, ValueError, AttributeError):
            source = ""
        first_input = Path(source.split(", ")[0]) if source else None
        if first_input is not None and first_input.exists() and first_input.parent != folder:
            return store_root(first_input)
    return folder / FOLDER
