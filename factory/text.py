"""Text shared by every stage: one definition of a word and of "the same text", and the
cleaning of free-text turns (small models prefix speaker labels, run on into the other role's
line, add stage directions and repeat sentences; what is removed is never invented back)."""

from __future__ import annotations

import hashlib
import re

from factory.models import Dialogue, Turn

_WORD = re.compile(r"[a-z0-9']+")
# ASCII text lowered, with every byte that is not a word character made a space: the same
# words as _WORD finds, several times faster than the regular expression.
_WORD_BYTES = bytes(
    c if chr(c) in "abcdefghijklmnopqrstuvwxyz0123456789'" else 32 for c in range(256)
)


# Apostrophes a model or a keyboard writes in place of "'": "don\u2019t" is the word "don't",
# so a copy that differs only in them is the same text to dedup and decontamination.
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc\u2032\uff07", "'"))


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits, apostrophes, curly ones made straight): the
    project's one word."""
    if not text.isascii():  # constant time: CPython records it on the string
        text = text.translate(_APOSTROPHES)
    return _WORD.findall(text.lower())


_LETTER_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def letter_words(text: str) -> list[str]:
    """Lower-case words of letters in any script ("está", "für" whole, unlike `words`), with
    inner apostrophes kept: what a check of the language of one turn counts."""
    return _LETTER_WORD.findall(text.lower().replace("\u2019", "'"))


def normalised(text: str) -> str:
    """The text's words joined by single spaces: case, punctuation and spacing ignored."""
    if text.isascii():
        return " ".join(text.lower().encode().translate(_WORD_BYTES).decode().split())
    return " ".join(words(text))


# The last few thousand transcripts by the identity of their turns list: exact and near
# dedup read the same dialogues one after the other (the pipeline's copies share the list),
# and normalising is most of what they cost. A dialogue's turns are never changed in place
# once it is built (filters return copies), so a list seen again has the same transcript.
_TRANSCRIPTS: dict[int, tuple[list[Turn], str]] = {}
_TRANSCRIPTS_KEPT = 2048  # above the pipeline's batch of 1000: each batch is normalised once


def normalised_transcript(dialogue: Dialogue) -> str:
    """`role: normalised text` per turn, one a line: what dedup compares."""
    turns = dialogue.turns
    if (cached := _cached(turns)) is not None:
        return cached
    text = "\n".join([f"{t.role}: {normalised(t.text)}" for t in turns])
    _make_room(1)
    _TRANSCRIPTS[id(turns)] = (turns, text)
    return text


def _cached(turns: list[Turn]) -> str | None:
    found = _TRANSCRIPTS.get(id(turns))
    return found[1] if found is not None and found[0] is turns else None


def _make_room(coming: int) -> None:
    """Empties the cache when `coming` more would overfill it, so that they all stay."""
    if len(_TRANSCRIPTS) + coming > _TRANSCRIPTS_KEPT:
        _TRANSCRIPTS.clear()


# The batch form's bytes: ASCII letters lowered and word characters kept as in _WORD_BYTES,
# and the four control bytes it separates with kept: 0 after a role (a space in the end),
# 1 between turns (a newline), 2 between dialogues, 3 the colon after a role.
_BATCH_BYTES = bytes(
    c + 32 if 65 <= c <= 90 else c if c <= 3 else _WORD_BYTES[c] for c in range(256)
)
_BATCH_OUT = bytes.maketrans(b"\x00\x01\x03", b" \n:")


def normalised_transcripts(dialogues: list[Dialogue]) -> list[str]:
    """`normalised_transcript` of each dialogue, the same strings, computed for a batch at
    once: the turns are joined with control-byte separators into one buffer that is lowered
    and stripped of punctuation by one byte translation, with runs of spaces collapsed by
    numpy, instead of a split and a join per turn (about 2x faster, and normalising was most
    of what exact and near dedup cost). A batch whose texts hold the separator bytes
    themselves takes the per-dialogue path."""
    out: list[str | None] = [None] * len(dialogues)
    todo: list[int] = []
    for i, dialogue in enumerate(dialogues):
        if (cached := _cached(dialogue.turns)) is not None:
            out[i] = cached
        else:
            todo.append(i)
    if todo:
        done = normalise_parts(
            [transcript_part(dialogues[i]) for i in todo], [len(dialogues[i].turns) for i in todo]
        )
        if done is None:
            done = [normalised_transcript(dialogues[i]) for i in todo]
        _make_room(len(todo))  # the whole batch stays for the next filter
        for i, transcript in zip(todo, done, strict=True):
            out[i] = transcript
            _TRANSCRIPTS[id(dialogues[i].turns)] = (dialogues[i].turns, transcript)
    return out  # type: ignore[return-value]


def transcript_part(dialogue: Dialogue) -> str:
    """The dialogue's turns as `normalise_parts` takes them: role, control bytes 3 and 0,
    text; turns joined by control byte 1. A turn with other scripts goes in normalised
    already (its words are ASCII, and normalising them again changes nothing)."""
    part = "\x01".join([f"{t.role}\x03\x00{t.text}" for t in dialogue.turns])
    if part.isascii():  # constant time: CPython records it on the string
        return part
    return "\x01".join(
        [
            f"{t.role}\x03\x00{t.text if t.text.isascii() else normalised(t.text)}"
            for t in dialogue.turns
        ]
    )


def turns_transcripts(dialogues: list[list[tuple[str, str]]]) -> list[str]:
    """The normalised transcripts of dialogues given as their (role, text) turns, the same
    strings `normalised_transcripts` makes of whole dialogues."""
    parts = [
        "\x01".join(
            [
                f"{role}\x03\x00{text if text.isascii() else normalised(text)}"
                for role, text in turns
            ]
        )
        for turns in dialogues
    ]
    done = normalise_parts(parts, [len(turns) for turns in dialogues])
    if done is None:
        done = [
            "\n".join([f"{role}: {normalised(text)}" for role, text in turns])
            for turns in dialogues
        ]
    return done


def normalise_parts(parts: list[str], turn_counts: list[int]) -> list[str] | None:
    """The normalised transcripts of dialogues given as `transcript_part`s (with their
    numbers of turns), or None when a text holds one of the separator bytes itself: then
    each must be normalised alone (`normalised_transcript`)."""
    import numpy as np

    if not parts:
        return []
    joined = "\x02".join(parts) + "\x02"
    raw = np.frombuffer(joined.encode().translate(_BATCH_BYTES), dtype=np.uint8)
    # The translation keeps exactly the bytes 0-3: as many as were put in, or a text holds
    # one of them.
    turns = sum(turn_counts)
    between_turns = turns - sum(1 for n in turn_counts if n)
    if np.count_nonzero(raw <= 3) != 2 * turns + between_turns + len(parts):
        return None
    # A space stays only as the last of its run and before a word byte; then one that
    # follows a separator (a text's leading space) goes too.
    keep = raw != 32
    keep[:-1] |= (raw[1:] > 3) & (raw[1:] != 32)
    squeezed = raw[keep]
    leading = squeezed == 32
    leading[1:] &= squeezed[:-1] <= 3
    text: str = squeezed[~leading].tobytes().translate(_BATCH_OUT).decode()
    return text.split("\x02")[:-1]


def transcript_digests(dialogues: list[Dialogue]) -> list[bytes]:
    """`transcript_digest` of each dialogue, normalised as a batch."""
    return [digest(t) for t in normalised_transcripts(dialogues)]


def content_hash(dialogue: Dialogue) -> str:
    """Equal for dialogues with the same turns up to case, punctuation and spacing."""
    return hashlib.sha256(normalised_transcript(dialogue).encode()).hexdigest()


def transcript_digest(dialogue: Dialogue) -> bytes:
    """A 128-bit digest of the normalised transcript: what exact dedup keys on (a chance
    collision among a billion dialogues is about 1 in 10**20)."""
    return digest(normalised_transcript(dialogue))


def digest(transcript: str) -> bytes:
    """The 128-bit digest of a normalised transcript (`transcript_digest`)."""
    return hashlib.blake2b(transcript.encode(), digest_size=16).digest()


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
# A sentence ends at terminal punctuation (and any closing quotes or brackets) followed by
# white space or the end; "3.5", "www.example.org" and "me@example.org" have none inside.
_SENTENCE_END = re.compile(r"(?:[.!?]+|\u2026)[\"'\u201d\u2019)\]]*(?=\s|$)")
_CLAUSE_END = re.compile(r"[,;](?=\s)")
_WORD_BEFORE = re.compile(r"[A-Za-z]+(?:\.[A-Za-z]+)*$")
# Words whose full stop does not end a sentence ("e.g. on", "Dr. Lee", "3 p.m. today").
ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jr",
        "sr",
        "a.m",
        "p.m",
        "approx",
        "no",
        "u.s",
        "u.k",
        "cf",
        "fig",
        "mt",
        "dept",
    ]
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, its trailing white space included, covering the text
    end to end. Decimals, URLs, e-mail addresses, abbreviations, initials and an ellipsis
    that runs on in lower case do not end a sentence."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.group() == "." and _abbreviation_before(text, match.start()):
            continue
        end = match.end()
        while end < len(text) and text[end].isspace():
            end += 1
        ellipsis = match.group().startswith(("...", "\u2026"))
        if ellipsis and end < len(text) and text[end].islower():
            continue
        if end > start:
            spans.append((start, end))
            start = end
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _abbreviation_before(text: str, dot: int) -> bool:
    word = _WORD_BEFORE.search(text, 0, dot)
    if word is None:
        return False
    token = word.group()
    return token.lower() in ABBREVIATIONS or (len(token) == 1 and token.isupper())


def _clause_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The comma or semicolon clauses of one sentence span, white space included."""
    spans: list[tuple[int, int]] = []
    for match in _CLAUSE_END.finditer(text, start, end):
        stop = match.end()
        while stop < end and text[stop].isspace():
            stop += 1
        spans.append((start, stop))
        start = stop
    if start < end:
        spans.append((start, end))
    return spans


def drop_repeated_sentences(text: str) -> str:
    """The text minus every sentence, and every clause but a sentence's last, that repeats an
    earlier one word for word (case and punctuation ignored). What is kept is kept byte for
    byte: nothing is split, joined or re-spaced."""
    seen: set[str] = set()
    pieces: list[str] = []
    for start, end in sentence_spans(text):
        key = normalised(text[start:end])
        if key and key in seen:
            continue
        clauses = _clause_spans(text, start, end)
        for index, (c_start, c_end) in enumerate(clauses):
            clause_key = normalised(text[c_start:c_end])
            last = index == len(clauses) - 1
            if clause_key and clause_key in seen and not last:
                continue
            seen.add(clause_key)
            pieces.append(text[c_start:c_end])
        seen.add(key)
    return "".join(pieces).rstrip()


def _unquote(text: str) -> str:
    """A turn wrapped whole in double quotes loses them; a quote inside stays."""
    if len(text) >= 2 and text[0] == text[-1] == '"' and '"' not in text[1:-1]:
        return text[1:-1].strip()
    return text


def clean_utterance(text: str, max_chars: int) -> str:
    """One tidy utterance: labels, run-ons, stage directions and repeated sentences removed,
    white space runs made single spaces, capped at `max_chars` on a sentence (else word)
    boundary. Every other character is kept as written. Returns '' if nothing is left."""
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
    text = _unquote(" ".join(_STAGE.sub(" ", text).split()))
    return _cap(drop_repeated_sentences(text), max_chars)


def _cap(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    ends = [end for _, end in sentence_spans(text) if end <= max_chars + 1]
    if ends and ends[-1] >= max_chars // 3:
        return text[: ends[-1]].rstrip()
    head = text[:max_chars]
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


def trim_to_words(text: str, max_words: int) -> str | None:
    """`text` if it has at most `max_words` whitespace words; else its longest run of whole
    sentences within that many words; None when even its first sentence is longer (a cut
    there would end mid-sentence)."""
    if len(text.split()) <= max_words:
        return text
    # Every span but the last ends a sentence, and the last (the whole text) is too long.
    kept = ""
    for _, end in sentence_spans(text):
        candidate = text[:end].rstrip()
        if len(candidate.split()) > max_words:
            break
        kept = candidate
    return kept or None
