"""Near-duplicate search for a stream of texts: MinHash signatures of word k-shingles
computed by rensa (Rust) from shingle hashes made with numpy over a whole batch at once, and
LSH banding whose band keys are numpy arrays. Python touches each text a constant number of
times (a few dictionary operations per band), never each pair. Shared by `minhash_dedup`
and by curate's check of a new version against the published ones."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

_MULT = 0x9E3779B97F4A7C15
_BASE = 1_000_003  # odd, so invertible modulo 2**64
CHUNK_CHARS = 1 << 18


def _mix(x: Any) -> Any:
    """A 64-bit finaliser so that neighbouring values land far apart."""
    import numpy as np

    x = x ^ (x >> np.uint64(31))
    x = x * np.uint64(_MULT)
    return x ^ (x >> np.uint64(29))


@cache
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) minimising the sum of the false-positive and false-negative
    areas at `threshold`, as datasketch chooses them, so verdicts match its index."""
    import numpy as np

    best, choice = float("inf"), (1, num_perm)
    below = np.linspace(0, threshold, 200)
    above = np.linspace(threshold, 1, 200)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            false_pos = float(np.mean(1 - (1 - below**rows) ** bands)) * threshold
            false_neg = float(np.mean((1 - above**rows) ** bands)) * (1 - threshold)
            if false_pos + false_neg < best:
                best, choice = false_pos + false_neg, (bands, rows)
    return choice


class Powers:
    """BASE**i and BASE**-i modulo 2**64 for i below a length that grows as needed."""

    def __init__(self) -> None:
        import numpy as np

        self.up = np.ones(1, dtype=np.uint64)
        self.down = np.ones(1, dtype=np.uint64)

    def upto(self, n: int) -> tuple[Any, Any]:
        import numpy as np

        if len(self.up) < n:
            size = max(n, 2 * len(self.up))
            base = np.full(size, _BASE, dtype=np.uint64)
            base[0] = 1
            inverse = np.full(size, pow(_BASE, -1, 2**64), dtype=np.uint64)
            inverse[0] = 1
            self.up, self.down = np.cumprod(base), np.cumprod(inverse)
        return self.up[:n], self.down[:n]


def shingle_hashes(texts: list[str], k: int, powers: Powers) -> tuple[Any, Any]:
    """Every text's word k-shingles as 64-bit hashes in one flat array, and row offsets.
    Words are runs of anything but space, newline and colon (the texts are normalised
    transcripts, ASCII). A text of fewer than k words is one shingle of what it has."""
    import numpy as np

    data = "\0".join(texts).encode("ascii", "replace")
    buf = np.frombuffer(data, dtype=np.uint8)
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    text_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    is_word = (buf != 32) & (buf != 10) & (buf != 0) & (buf != 58)
    edges = np.diff(is_word.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    up, down = powers.upto(len(buf) + 1)
    prefix = np.concatenate([np.zeros(1, np.uint64), np.cumsum(buf.astype(np.uint64) * up[:-1])])
    # The polynomial hash of each word, shifted back to position 0 so equal words hash equal.
    words = _mix((prefix[ends] - prefix[starts]) * down[starts])
    row = np.searchsorted(text_starts, starts, side="right") - 1
    span = len(words) - k + 1
    if span > 0:
        combined = np.zeros(span, dtype=np.uint64)
        for offset in range(k):
            combined = combined * np.uint64(_BASE) + words[offset : offset + span]
        valid = row[:span] == row[k - 1 :]
        shingles, shingle_rows = _mix(combined[valid]), row[:span][valid]
    else:
        shingles, shingle_rows = np.zeros(0, np.uint64), np.zeros(0, np.int64)
    counts = np.bincount(shingle_rows, minlength=len(texts))
    short = np.flatnonzero(counts == 0)
    if len(short):  # rare: fewer than k words; one shingle of the words there are
        extra = np.zeros(len(short), dtype=np.uint64)
        for i, r in enumerate(short):
            value = 0
            for word in words[row == r].tolist():
                value = (value * _BASE + word) % 2**64
            extra[i] = value
        order = np.argsort(np.concatenate([shingle_rows, short]), kind="stable")
        shingles = np.concatenate([shingles, _mix(extra)])[order]
        counts[short] = 1
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
    return shingles, offsets


@dataclass
class Match:
    """The closest indexed text found for a query (key None when nothing was a candidate)."""

    key: str | None
    similarity: float


class _BandTable:
    """Band key -> indexed rows, as sorted numpy runs merged like a binary counter (a few runs
    of 12 bytes a key, never a Python object per key), plus a small dict for rows added one
    at a time within a batch, flushed into a run at the batch's end."""

    def __init__(self) -> None:
        self.runs: list[tuple[Any, Any]] = []  # (sorted uint64 keys, uint32 rows)
        self.pending: dict[int, list[int]] = {}

    def add_block(self, keys: Any, rows: Any) -> None:
        """`keys` (n x bands, uint64) of rows `rows` (n)."""
        import numpy as np

        if not len(rows):
            return
        flat = keys.ravel()
        owners = np.repeat(np.asarray(rows, dtype=np.uint32), keys.shape[1])
        order = np.argsort(flat, kind="stable")
        self.runs.append((flat[order], owners[order]))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            (k1, r1), (k2, r2) = self.runs.pop(-2), self.runs.pop()
            merged = np.concatenate([k1, k2])
            order = np.argsort(merged, kind="stable")
            self.runs.append((merged[order], np.concatenate([r1, r2])[order]))

    def add_one(self, keys: list[int], row: int) -> None:
        for key in keys:
            self.pending.setdefault(key, []).append(row)

    def flush(self) -> None:
        import numpy as np

        if self.pending:
            keys = np.fromiter(self.pending.keys(), dtype=np.uint64, count=len(self.pending))
            counts = [len(v) for v in self.pending.values()]
            rows = [r for v in self.pending.values() for r in v]
            self.pending = {}
            self._add_flat(np.repeat(keys, counts), np.asarray(rows, dtype=np.uint32))

    def _add_flat(self, flat: Any, owners: Any) -> None:
        self.add_block(flat.reshape(-1, 1), owners)

    def spans(self, flat: Any) -> list[tuple[Any, Any, Any]]:
        """Per run as it is now: its rows, and where each of `flat`'s keys starts and ends
        in it (a snapshot: later merges do not move it)."""
        import numpy as np

        return [
            (rows, np.searchsorted(keys, flat, "left"), np.searchsorted(keys, flat, "right"))
            for keys, rows in self.runs
        ]

    def rows_for(
        self, spans: list[tuple[Any, Any, Any]], positions: range, keys: list[int]
    ) -> set[int]:
        """Indexed rows sharing a band with the keys at `positions` of the looked-up array
        (in the runs of `spans`, or added one at a time since)."""
        found: set[int] = set()
        for rows, left, right in spans:
            for p in positions:
                if right[p] > left[p]:
                    found.update(rows[left[p] : right[p]].tolist())
        for key in keys:
            found.update(self.pending.get(key, ()))
        return found


class NearDuplicateIndex:
    """Texts added one batch at a time; `match_batch` finds, for each text, the most
    similar earlier one (indexed before, or earlier in the same batch when `add`).
    Memory per indexed text: its signature (num_perm x 4 bytes), 12 bytes a band and its key."""

    CHUNK = 1 << 14  # signature rows per block: growing never copies what is stored

    def __init__(self, threshold: float, num_perm: int, shingle_words: int, seed: int) -> None:
        import numpy as np

        self.threshold, self.num_perm, self.k, self.seed = threshold, num_perm, shingle_words, seed
        self.bands, self.rows = lsh_bands(threshold, num_perm)
        self._powers = Powers()
        self._table = _BandTable()
        self._keys: list[str] = []
        self._blocks: list[Any] = []
        self._band_salt = _mix(np.arange(1, self.bands + 1, dtype=np.uint64) * np.uint64(_MULT))

    def signatures(self, texts: list[str]) -> Any:
        """One MinHash signature (num_perm uint32) per text."""
        import numpy as np
        import rensa

        out = np.zeros((len(texts), self.num_perm), dtype=np.uint32)
        # Shingling takes several 8-byte arrays the length of the text it is given: in slices
        # of about CHUNK_CHARS characters the memory stays small whatever the batch size.
        start = 0
        while start < len(texts):
            end, size = start, 0
            while end < len(texts) and (end == start or size < CHUNK_CHARS):
                size += len(texts[end])
                end += 1
            shingles, offsets = shingle_hashes(texts[start:end], self.k, self._powers)
            matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
                shingles, offsets, self.num_perm, self.seed
            )
            out[start:end] = np.array(matrix.to_rows(), dtype=np.uint32).reshape(
                end - start, self.num_perm
            )
            start = end
        return out

    def _band_keys(self, signatures: Any) -> Any:
        import numpy as np

        bands = signatures[:, : self.bands * self.rows].astype(np.uint64)
        bands = bands.reshape(len(signatures), self.bands, self.rows)
        keys = np.zeros(bands.shape[:2], dtype=np.uint64)
        for r in range(self.rows):
            keys = keys * np.uint64(_BASE) + bands[:, :, r]
        return _mix(keys ^ self._band_salt)

    def _stored(self, rows: Any) -> Any:
        """The signatures of indexed rows `rows` (an int array)."""
        import numpy as np

        return np.stack([self._blocks[r // self.CHUNK][r % self.CHUNK] for r in rows.tolist()])

    def match_batch(self, keys: list[str], texts: list[str], add: bool = True) -> list[Match]:
        """The best match per text; with `add`, every text that is not a near duplicate (at
        `threshold`) is indexed before the next one is looked up."""
        import numpy as np

        signatures = self.signatures(texts)
        band_keys = self._band_keys(signatures)
        # Most texts share no band with anything: found with one sorted search per run and a
        # sort of the batch's band keys, and indexed as a block. The rest go one by one.
        flat = band_keys.ravel()
        _, first, counts = np.unique(flat, return_index=True, return_counts=True)
        shared = np.zeros(len(flat), dtype=bool)
        shared[first[counts > 1]] = True
        in_batch: Any = np.isin(flat, flat[shared]).reshape(band_keys.shape).any(axis=1)
        spans = self._table.spans(flat)
        hit = np.zeros(len(flat), dtype=bool)
        for _, left, right in spans:
            hit |= right > left
        found_before: Any = hit.reshape(band_keys.shape).any(axis=1)
        lone = np.flatnonzero(~in_batch & ~found_before).tolist()
        matches = [Match(None, 0.0)] * len(keys)
        if add:
            self._insert_block([keys[i] for i in lone], signatures[lone], band_keys[lone])
        rows = band_keys.tolist()
        for i in sorted(set(range(len(keys))).difference(lone)):
            positions = range(i * self.bands, (i + 1) * self.bands)
            candidates = self._table.rows_for(spans, positions, rows[i])
            best, best_key = 0.0, None
            if candidates:
                # Sorted, so that of equally close matches the first indexed is named.
                found = np.sort(np.fromiter(candidates, dtype=np.int64, count=len(candidates)))
                similarity = (self._stored(found) == signatures[i]).mean(axis=1)
                top = int(similarity.argmax())
                best, best_key = float(similarity[top]), self._keys[found[top]]
            matches[i] = Match(best_key, best)
            if add and best < self.threshold:
                row = self._store([keys[i]], signatures[i : i + 1])
                self._table.add_one(rows[i], row)
        self._table.flush()
        return matches

    def add_batch(self, keys: list[str], texts: list[str]) -> None:
        """Indexes every text, duplicates or not (published dialogues)."""
        signatures = self.signatures(texts)
        self._insert_block(keys, signatures, self._band_keys(signatures))

    def _store(self, keys: list[str], signatures: Any) -> int:
        """Appends the signatures; returns the first one's row."""
        import numpy as np

        start = len(self._keys)
        self._keys.extend(keys)
        done = 0
        while done < len(keys):
            row = start + done
            if row // self.CHUNK == len(self._blocks):
                self._blocks.append(np.zeros((self.CHUNK, self.num_perm), dtype=np.uint32))
            block, offset = self._blocks[row // self.CHUNK], row % self.CHUNK
            take = min(len(keys) - done, self.CHUNK - offset)
            block[offset : offset + take] = signatures[done : done + take]
            done += take
        return start

    def _insert_block(self, keys: list[str], signatures: Any, band_keys: Any) -> None:
        import numpy as np

        start = self._store(keys, signatures)
        self._table.add_block(band_keys, np.arange(start, start + len(keys)))
