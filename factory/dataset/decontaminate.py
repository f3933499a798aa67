"""Decontamination: a dialogue whose turns or situation share a long word n-gram (13 words)
with an evaluation set people will test on is dropped to rejected/ as `shares_eval_ngram`,
naming the set; one with a turn or situation that is a near copy of a text of the set (a
quote with a word or two changed) as `near_eval_turn`. An evaluation set is any JSON or
JSONL file (ESConv's splits, ESC-Eval's role cards, a JSONL of texts): every string in it of
at least n words is read, whatever its key, so no schema has to be known. An ESConv record
(a `dialog` list) is also read as `factory import esconv` reads it, with a speaker's
consecutive messages joined into one turn: a dialogue that quotes two short ones in a row is
found whether the set is given raw or imported."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from factory.dataset.manifest import DecontaminationCheck, EvalSetInfo, NearTurnCheck
from factory.errors import DataFileError
from factory.filters.near_duplicate_index import NearDuplicateIndex, Powers, shingle_hashes
from factory.filters.report import FilterReport
from factory.models import Dialogue, Verdict
from factory.text import normalised, normalised_transcripts

FILTER = "decontaminate"
REASON = "shares_eval_ngram"
NGRAM_WORDS = 13
# A turn (or situation) of NEAR_MIN_WORDS words or more whose word pairs overlap a text of an
# evaluation set by an estimated Jaccard of NEAR_THRESHOLD: a quote with a word or two changed,
# which shares no 13 words in a row with it when it is shorter than about 27 words. Chosen
# on ESConv (BENCHMARKS.md): 93% of test turns with one word changed are found, and no
# train or valid dialogue is flagged against test; from 12 words, or at 0.6, stock
# supporter lines ("i am sorry to hear that would you like to talk about it") match.
NEAR_REASON = "near_eval_turn"
NEAR_MIN_WORDS = 15
NEAR_SHINGLE_WORDS = 2
NEAR_THRESHOLD = 0.7
_TRANSCRIPT_WORD = re.compile(r"[^ \n:]+")


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, depth first, in order (a stack, not recursion: a file
    nested thousands deep is read like any other)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            if isinstance(item.get("dialog"), list):
                yield from _joined_turns(item)
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def _joined_turns(record: dict[str, Any]) -> Iterator[str]:
    """The turns `factory import esconv` makes of several consecutive messages of one speaker
    (the single messages are read as strings anyway); none for a record it cannot read."""
    from factory.importers.esconv import convert

    try:
        dialogue = convert(record, "evaluation set", 0)
    except (DataFileError, AttributeError, TypeError, ValueError):
        return
    yield from (turn.text for turn in dialogue.turns if turn.utterances)


def eval_texts(path: Path) -> list[str]:
    """Every string in a JSON file, or in each line of a JSONL file, normalised."""
    try:
        raw = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not content
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot read evaluation set {path} ({exc})") from None
    try:
        try:
            documents = [json.loads(raw)]
        except json.JSONDecodeError:
            try:
                # Lines end at "\n" alone: U+2028 and the like may stand unescaped in a string.
                documents = [json.loads(line) for line in raw.split("\n") if line.strip()]
            except json.JSONDecodeError:
                raise DataFileError(
                    f"{path}: neither JSON nor JSONL: pass ESConv, ESC-Eval role cards or a"
                    " JSONL of texts"
                ) from None
    except RecursionError:
        raise DataFileError(
            f"{path}: nested too deep to read as JSON: pass ESConv, ESC-Eval role cards or a"
            " JSONL of texts"
        ) from None
    return [normalised(text) for doc in documents for text in _strings(doc)]


class Decontaminator:
    """The n-grams of the evaluation sets, held as one sorted array (with the set each was
    first seen in), and a check of dialogues against them a batch at a time (so a run of
    any size streams through)."""

    TEXTS_AT_ONCE = 20_000  # an evaluation set's texts are shingled this many at a time

    def __init__(self, sets: list[Path], near_turns: bool = True) -> None:
        import numpy as np

        self._powers = Powers()
        self._names = [path.name for path in sets]
        found: list[Any] = []  # each set's distinct n-grams, sorted
        self.infos = []
        self._near = (
            NearDuplicateIndex(NEAR_THRESHOLD, 128, NEAR_SHINGLE_WORDS, seed=1)
            if near_turns
            else None
        )
        for number, path in enumerate(sets):
            texts = [t for t in eval_texts(path) if t.count(" ") + 1 >= NGRAM_WORDS]
            if not texts:
                # Checking against it would drop nothing and the card would still say checked.
                raise DataFileError(
                    f"evaluation set {path} has no text of {NGRAM_WORDS} or more words to check"
                    " against: pass ESConv, ESC-Eval role cards or a JSONL of texts"
                )
            parts = []  # shingled a slice at a time: a large set needs no buffer of all of it
            for at in range(0, len(texts), self.TEXTS_AT_ONCE):
                hashes, _ = shingle_hashes(
                    texts[at : at + self.TEXTS_AT_ONCE], NGRAM_WORDS, self._powers
                )
                parts.append(np.unique(hashes))
            mine = np.unique(np.concatenate(parts))
            if self._near is not None:
                long = [t for t in texts if t.count(" ") + 1 >= NEAR_MIN_WORDS]
                for at in range(0, len(long), self.TEXTS_AT_ONCE):
                    chunk = long[at : at + self.TEXTS_AT_ONCE]
                    self._near.add_batch([str(number)] * len(chunk), chunk)
            found.append(mine)
            self.infos.append(EvalSetInfo(name=path.name, texts=len(texts), ngrams=len(mine)))
        hashes = np.concatenate(found)
        sets_of = np.repeat(np.arange(len(found)), [len(f) for f in found])
        order = np.argsort(hashes, kind="stable")  # stable: the first set of a shared n-gram
        hashes, sets_of = hashes[order], sets_of[order]
        first = np.ones(len(hashes), dtype=bool)
        first[1:] = hashes[1:] != hashes[:-1]
        self._known, self._set_of = hashes[first], sets_of[first]
        self.checked = 0
        self.dropped = 0
        self.near_dropped = 0

    def _owner(self, ngram: int) -> str:
        import numpy as np

        return self._names[int(self._set_of[int(np.searchsorted(self._known, np.uint64(ngram)))])]

    def check(self, batch: list[Dialogue]) -> list[Verdict | None]:
        """Per dialogue, the verdict that drops it (None: it shares no n-gram with a set)."""
        import numpy as np

        # The turns and the scenario's situation, which the version carries too.
        transcripts = [
            f"{text}\nsituation: {normalised(d.scenario.situation)}"
            for text, d in zip(normalised_transcripts(batch), batch, strict=True)
        ]
        hashes, offsets = shingle_hashes(transcripts, NGRAM_WORDS, self._powers)
        at_known = np.minimum(np.searchsorted(self._known, hashes), len(self._known) - 1)
        hit = self._known[at_known] == hashes
        out: list[Verdict | None] = []
        for i in range(len(batch)):
            row = hit[int(offsets[i]) : int(offsets[i + 1])]
            if not row.any():
                out.append(None)
                continue
            at = int(row.argmax())
            first = int(hashes[int(offsets[i]) + at])
            # The shared words, for a person checking the drop: shingle `at` of a transcript
            # is its words `at` to `at + n` (words as shingle_hashes splits them).
            words = _TRANSCRIPT_WORD.findall(transcripts[i])
            out.append(
                Verdict(
                    filter=FILTER,
                    keep=False,
                    reason=REASON,
                    score=int(row.sum()),
                    details={
                        "eval_set": self._owner(first),
                        "ngram_words": NGRAM_WORDS,
                        "shared": " ".join(words[at : at + NGRAM_WORDS]),
                    },
                )
            )
        if self._near is not None:
            self._near_turns(transcripts, out)
        self.checked += len(batch)
        self.dropped += sum(v is not None for v in out)
        return out

    def _near_turns(self, transcripts: list[str], out: list[Verdict | None]) -> None:
        """Fills `out` for the dialogues no n-gram dropped whose turn or situation is a near
        copy of an evaluation text (its best match named)."""
        assert self._near is not None
        pieces: list[str] = []
        owners: list[tuple[int, int]] = []
        for i, transcript in enumerate(transcripts):
            if out[i] is not None:
                continue
            for j, line in enumerate(transcript.split("\n")):
                text = line.partition(": ")[2]
                if text.count(" ") + 1 >= NEAR_MIN_WORDS:
                    pieces.append(text)
                    owners.append((i, j))
        if not pieces:
            return
        matches = self._near.match_batch([""] * len(pieces), pieces, add=False)
        best: dict[int, tuple[float, int, str]] = {}
        for (i, j), match in zip(owners, matches, strict=True):
            if match.key is None or match.similarity < NEAR_THRESHOLD:
                continue
            if i not in best or match.similarity > best[i][0]:
                best[i] = (match.similarity, j, match.key)
        for i, (similarity, j, key) in best.items():
            turns = transcripts[i].count("\n")  # the last line is the situation
            out[i] = Verdict(
                filter=FILTER,
                keep=False,
                reason=NEAR_REASON,
                score=round(similarity, 3),
                details={
                    "eval_set": self._names[int(key)],
                    "turn": j if j < turns else "situation",
                    "shingle_words": NEAR_SHINGLE_WORDS,
                },
            )
            self.near_dropped += 1

    def finish(self, report: FilterReport) -> DecontaminationCheck:
        """Counts the funnel's `decontaminate` step; what the version records."""
        reasons = {REASON: self.dropped - self.near_dropped, NEAR_REASON: self.near_dropped}
        report.add_step(FILTER, self.checked, self.checked - self.dropped, reasons)
        near = (
            NearTurnCheck(
                min_words=NEAR_MIN_WORDS,
                shingle_words=NEAR_SHINGLE_WORDS,
                threshold=NEAR_THRESHOLD,
                dropped=self.near_dropped,
            )
            if self._near is not None
            else None
        )
        return DecontaminationCheck(
            sets=self.infos, ngram_words=NGRAM_WORDS, dropped=self.dropped, near_turns=near
        )
