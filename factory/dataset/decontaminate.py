"""Decontamination: a dialogue that shares a long word n-gram (13 words by default) with an
evaluation set people will test on is dropped to rejected/ as `shares_eval_ngram`, naming
the set. An evaluation set is any JSON or JSONL file (ESConv's splits, ESC-Eval's role
cards, a JSONL of texts): every string in it of at least n words is read, whatever its key,
so no schema has to be known."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from factory.dataset.manifest import DecontaminationCheck, EvalSetInfo
from factory.errors import DataFileError
from factory.filters.near_duplicate_index import Powers, shingle_hashes
from factory.filters.report import FilterReport
from factory.jsonl import json_line
from factory.models import Dialogue, Verdict
from factory.text import normalised, normalised_transcript

FILTER = "decontaminate"
REASON = "shares_eval_ngram"
NGRAM_WORDS = 13


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


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


def decontaminate(
    kept: list[Dialogue], report: FilterReport, rejected: Path, sets: list[Path]
) -> tuple[list[Dialogue], DecontaminationCheck]:
    """The dialogues of `kept` that share no NGRAM_WORDS-word sequence with any set; the rest
    are appended to `rejected` and counted as the funnel's `decontaminate` step."""
    import numpy as np

    powers = Powers()
    owner: dict[int, str] = {}
    infos = []
    for path in sets:
        texts = [t for t in eval_texts(path) if t.count(" ") + 1 >= NGRAM_WORDS]
        hashes, _ = shingle_hashes(texts, NGRAM_WORDS, powers)
        for value in hashes.tolist():
            owner.setdefault(value, path.name)
        infos.append(
            EvalSetInfo(name=path.name, texts=len(texts), ngrams=len(set(hashes.tolist())))
        )
    known = np.fromiter(owner, dtype=np.uint64, count=len(owner))
    unique: list[Dialogue] = []
    with rejected.open("a", encoding="utf-8") as handle:
        for start in range(0, len(kept), 1000):
            batch = kept[start : start + 1000]
            hashes, offsets = shingle_hashes(
                [normalised_transcript(d) for d in batch], NGRAM_WORDS, powers
            )
            hit = np.isin(hashes, known)
            for i, dialogue in enumerate(batch):
                row = hit[int(offsets[i]) : int(offsets[i + 1])]
                if not row.any():
                    unique.append(dialogue)
                    continue
                first = int(hashes[int(offsets[i]) + int(row.argmax())])
                verdict = Verdict(
                    filter=FILTER,
                    keep=False,
                    reason=REASON,
                    score=int(row.sum()),
                    details={"eval_set": owner[first], "ngram_words": NGRAM_WORDS},
                )
                copy = dialogue.model_copy(update={"verdicts": [*dialogue.verdicts, verdict]})
                handle.write(json_line(copy.model_dump(mode="json", exclude_none=True)))
    dropped = len(kept) - len(unique)
    report.add_step(FILTER, len(kept), len(unique), REASON)
    return unique, DecontaminationCheck(sets=infos, ngram_words=NGRAM_WORDS, dropped=dropped)
