"""Text shared by every stage: one definition of a word and of "the same text", and the
cleaning of free-text turns (small models prefix speaker labels, run on into the other role's
line, add stage directions and repeat sentences; what is removed is never invented back)."""

from __future__ import annotations

import hashlib
import re

from factory.models import Dialogue

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits, apostrophes): the project's one word."""
    return _WORD.findall(text.lower())


def normalised(text: str) -> str:
    """The text's words joined by single spaces: case, punctuation and spacing ignored."""
    return " ".join(words(text))


def normalised_transcript(dialogue: Dialogue) -> str:
    """`role: normalised text` per turn, one a line: what dedup compares."""
    return "\n".join(f"{t.role}: {normalised(t.text)}" for t in dialogue.turns)


def content_hash(dialogue: Dialogue) -> str:
    """Equal for dialogues with the same turns up to case, punctuation and spacing."""
    return hashlib.sha256(normalised_transcript(dialogue).encode()).hexdigest()


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def plain_quotes(text: str) -> str:
    """Curly quotes as straight ones, so patterns with apostrophes match either."""
    return text.translate(_QUOTES)


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
            key = normalised(clause)
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


def word_overlap(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' word sets (0 when either is empty)."""
    wa, wb = set(words(a)), set(words(b))
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


def shares_span(text: str, source: str, span_words: int = 8) -> bool:
    """True when `text` contains a run of `span_words` consecutive words of `source`:
    the sign of a model echoing its prompt."""
    tokens = words(text)
    if len(tokens) < span_words:
        return False
    source_norm = " " + normalised(source) + " "
    return any(
        " " + " ".join(tokens[i : i + span_words]) + " " in source_norm
        for i in range(len(tokens) - span_words + 1)
    )
