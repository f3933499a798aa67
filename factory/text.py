"""Cleaning of free-text turns: small models prefix speaker labels, run on into the other
role's line, add stage directions and repeat sentences. What is removed is never invented back."""

from __future__ import annotations

import re

_LABELS = r"(?:seeker|supporter|assistant|user|counselor|counsellor|therapist|helper|you|system)"
# Mid-text, only a capitalised role word at a line start or after a sentence starts another
# speaker's line: "to me: my dog died" and "ask yourself: why" are ordinary prose.
_RUN_ON_LABELS = (
    r"(?:Seeker|Supporter|Assistant|User|Counselor|Counsellor|Therapist|Helper|You|System)"
)
_LEADING_LABEL = re.compile(
    rf"^\s*(?:\*\*)?{_LABELS}(?:\s*\[[^\]]*\])?\s*(?:\*\*)?\s*:\s*(?:\*\*)?\s*", re.I
)
_LEADING_TAG = re.compile(r"^\s*\[[^\]]{1,40}\]\s*")
# A capitalised word (or up to four) then a colon at the start: "Reflect:", "Reflection of feelings:".
_LEADING_WORD_LABEL = re.compile(r"^\s*[A-Z][A-Za-z]*(?: [A-Za-z]+){0,3}\s*:\s+")
_RUN_ON = re.compile(
    rf"(?:\n|(?<=[.!?])\s)\s*(?:\*\*)?{_RUN_ON_LABELS}(?:\s*\([^)]*\))?(?:\s*\[[^\]]*\])?(?:\*\*)?\s*:"
)
_STAGE = re.compile(
    r"\*[^*\n]{1,80}\*|\((?:sighs?|smiles?|laughs?|pauses?|nods?)[^)]{0,40}\)", re.I
)
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")
_CLAUSE = re.compile(r"[^,;]+(?:[,;]|$)")
_WORD = re.compile(r"[a-z0-9']+")


def clean_utterance(text: str, max_chars: int) -> str:
    """One tidy utterance: labels, run-ons, stage directions and repeated sentences removed,
    capped at `max_chars` on a sentence (else word) boundary. Returns '' if nothing is left."""
    text = text.strip()
    for _ in range(3):  # "Supporter: [Question] ..." has two layers
        text = _LEADING_TAG.sub("", _LEADING_LABEL.sub("", text))
    label = _LEADING_WORD_LABEL.match(text)
    repeat = text.find(" " + label.group().strip(), label.end()) if label else -1
    if label and repeat > 0:
        # "Reflect: ... Reflect: ...": a made-up speaker label the model keeps starting
        # lines with. Said once, "My therapist: she says..." is prose and stays.
        text = text[label.end() : repeat]
    cut = _RUN_ON.search(text, 1)
    if cut:
        text = text[: cut.start()]
    text = _STAGE.sub(" ", text)
    text = " ".join(text.split()).strip().strip('"').strip()
    text = _drop_repeated_sentences(text)
    return _cap(text, max_chars)


def _drop_repeated_sentences(text: str) -> str:
    """Drops a sentence or comma clause that repeats an earlier one word for word."""
    seen: set[str] = set()
    kept: list[str] = []
    for sentence in _SENTENCE.findall(text):
        clauses = []
        for clause in _CLAUSE.findall(sentence):
            key = " ".join(_WORD.findall(clause.lower()))
            if key and key in seen:
                continue
            seen.add(key)
            clauses.append(clause.strip())
        joined = " ".join(c for c in clauses if c).rstrip(",;")
        if joined and joined[-1] not in ".!?" and sentence.rstrip()[-1:] in (".", "!", "?"):
            joined += sentence.rstrip()[-1]
        if joined:
            kept.append(joined)
    return " ".join(kept)


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


def word_overlap(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' word sets (0 when either is empty)."""
    wa, wb = set(normalise_words(a)), set(normalise_words(b))
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


def shares_span(text: str, source: str, span_words: int = 8) -> bool:
    """True when `text` contains a run of `span_words` consecutive words of `source`:
    the sign of a model echoing its prompt."""
    words = normalise_words(text)
    if len(words) < span_words:
        return False
    source_norm = " " + " ".join(normalise_words(source)) + " "
    return any(
        " " + " ".join(words[i : i + span_words]) + " " in source_norm
        for i in range(len(words) - span_words + 1)
    )
