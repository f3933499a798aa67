"""Cleaning of free-text turns: small models prefix speaker labels, run on into the other
role's line, add stage directions and repeat sentences. What is removed is never invented back."""

from __future__ import annotations

import re

_LABELS = r"(?:seeker|supporter|assistant|user|counselor|counsellor|therapist|helper|me|you|system)"
_LEADING_LABEL = re.compile(rf"^\s*(?:\*\*)?{_LABELS}(?:\s*\[[^\]]*\])?\s*(?:\*\*)?\s*:\s*", re.I)
_LEADING_TAG = re.compile(r"^\s*\[[^\]]{1,40}\]\s*")
_RUN_ON = re.compile(rf"(?:\n|\s)(?:\*\*)?{_LABELS}(?:\s*\[[^\]]*\])?(?:\*\*)?\s*:", re.I)
_STAGE = re.compile(r"\*[^*\n]{1,80}\*|\((?:sighs?|smiles?|laughs?|pauses?|nods?)[^)]{0,40}\)", re.I)
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")
_WORD = re.compile(r"[a-z0-9']+")


def clean_utterance(text: str, max_chars: int) -> str:
    """One tidy utterance: labels, run-ons, stage directions and repeated sentences removed,
    capped at `max_chars` on a sentence (else word) boundary. Returns '' if nothing is left."""
    text = text.strip()
    cut = _RUN_ON.search(text, 1)
    if cut:
        text = text[: cut.start()]
    for _ in range(3):  # "Supporter: [Question] ..." has two layers
        text = _LEADING_TAG.sub("", _LEADING_LABEL.sub("", text))
    text = _STAGE.sub(" ", text)
    text = " ".join(text.split()).strip().strip('"').strip()
    text = _drop_repeated_sentences(text)
    return _cap(text, max_chars)


def _drop_repeated_sentences(text: str) -> str:
    seen: set[str] = set()
    kept: list[str] = []
    for sentence in _SENTENCE.findall(text):
        key = " ".join(_WORD.findall(sentence.lower()))
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(sentence.strip())
    return " ".join(s for s in kept if s)


def _cap(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if end >= max_chars // 3:
        return head[: end + 1]
    space = head.rfind(" ")
    return head[:space] if space > 0 else head


def normalise_words(text: str) -> list[str]:
    """Lower-case word tokens, for repetition and stall checks."""
    return _WORD.findall(text.lower())
