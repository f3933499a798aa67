"""Decontamination: a dialogue whose turns or situation share a long word n-gram (13 words
by default) with an evaluation set people will test on is dropped to rejected/ as
`shares_eval_ngram`, naming the set. An evaluation set is any JSON or JSONL file (ESConv's
splits, ESC-Eval's role cards, a JSONL of texts): every string in it of at least n words is
read, whatever its key, so no schema has to be known. An ESConv record (a `dialog` list) is
also read as `factory import esconv` reads it, with a speaker's consecutive messages joined
into one turn: a dialogue that quotes two short ones in a row is found whether the set is
given raw or imported."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from factory.dataset.manifest import DecontaminationCheck, EvalSetInfo
from factory.errors import DataFileError
from factory.filters.near_duplicate_index import Powers, shingle_hashes
from factory.filters.report import FilterReport
from factory.models import Dialogue, Verdict
from factory.text import normalised, normalised_transcripts

FILTER = "decontaminate"
REASON = "shares_eval_ngram"
NGRAM_WORDS = 13
_TRANSCRIPT_WORD = re.compile(r"[^ \n:]+")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        if isinstance(value.get("dialog"), list):
            yield from _joined_turns(value)
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


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
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot read evaluation set {path} ({exc})") from None
    try:
        documents = [json.loads(raw)]
    except json.JSONDecodeError:
        try:
            documents = [json.loads(line) for line in raw.splitlines() if line.strip()]
        except json.JSONDecodeError:
            raise DataFileError(
                f"{path}: neither JSON nor JSONL: pass ESConv, ESC-Eval role cards or a JSONL of texts"
            ) from None
    return [normalised(text) for doc in documents for text in _strings(doc)]


class Decontaminator:
    """The n-grams of the evaluation sets, held as one sorted array, and a check of dialogues
    against them a batch at a time (so a run of any size streams through)."""

    def __init__(self, sets: list[Path]) -> None:
        import numpy as np

        self._powers = Powers()
        owner: dict[int, str] = {}
        self.infos = []
        for path in sets:
            texts = [t for t in eval_texts(path) if t.count(" ") + 1 >= NGRAM_WORDS]
            if not texts:
                # Checking against it would drop nothing and the card would still say checked.
                raise DataFileError(
                    f"evaluation set {path} has no text of {NGRAM_WORDS} or more words to check"
                    " against: pass ESConv, ESC-Eval role cards or a JSONL of texts"
                )
            hashes, _ = shingle_hashes(texts, NGRAM_WORDS, self._powers)
            for value in hashes.tolist():
                owner.setdefault(value, path.name)
            self.infos.append(
                EvalSetInfo(name=path.name, texts=len(texts), ngrams=len(set(hashes.tolist())))
            )
        self._owner = owner
        self._known = np.fromiter(owner, dtype=np.uint64, count=len(owner))
        self.checked = 0
        self.dropped = 0

    def check(self, batch: list[Dialogue]) -> list[Verdict | None]:
        """Per dialogue, the verdict that drops it (None: it shares no n-gram with a set)."""
        import numpy as np

        # The turns and the scenario's situation, which the version carries too.
        transcripts = [
            f"{text}\nsituation: {normalised(d.scenario.situation)}"
            for text, d in zip(normalised_transcripts(batch), batch, strict=True)
        ]
        hashes, offsets = shingle_hashes(transcripts, NGRAM_WORDS, self._powers)
        hit = np.isin(hashes, self._known)
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
                        "eval_set": self._owner[first],
                        "ngram_words": NGRAM_WORDS,
                        "shared": " ".join(words[at : at + NGRAM_WORDS]),
                    },
                )
            )
        self.checked += len(batch)
        self.dropped += sum(v is not None for v in out)
        return out

    def finish(self, report: FilterReport) -> DecontaminationCheck:
        """Counts the funnel's `decontaminate` step; what the version records."""
        report.add_step(FILTER, self.checked, self.checked - self.dropped, REASON)
        return DecontaminationCheck(sets=self.infos, ngram_words=NGRAM_WORDS, dropped=self.dropped)
