"""Token lengths of a version's conversations, so a trainer can pick `max_length`.

Counted with a tokenizer the user names (a local folder `transformers` can load; its chat
template renders each conversation when it has one) or, without one, estimated from
characters and said to be an estimate. Lengths are tallied as a histogram per split, so a
version of any size is counted one conversation at a time in bounded memory."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from factory.errors import ConfigError, first_error_line
from factory.models import Record

Message = dict[str, str]

# The estimate without a tokenizer: English BPE vocabularies average about four characters
# per token; each message adds a few tokens of role markers.
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
ESTIMATE = f"estimate (characters / {CHARS_PER_TOKEN} + {TOKENS_PER_MESSAGE} per message; no tokenizer given)"


class TokenStats(Record):
    """Tokens per conversation in one split: median, 95th percentile (interpolated), max,
    and the smallest `max_length` that keeps at least 95% of them whole."""

    conversations: int
    median: float
    p95: float
    max: int
    max_length_95: int


class TokenTally:
    """A histogram of token counts per split: add one count at a time, summarise at the end."""

    def __init__(self) -> None:
        self.splits: dict[str, Counter[int]] = {}

    def add(self, split: str, tokens: int) -> None:
        self.splits.setdefault(split, Counter())[tokens] += 1

    def stats(self) -> dict[str, TokenStats]:
        """Per split, in train, validation, test order (whatever order they were seen in)."""
        order = {"train": 0, "validation": 1, "test": 2}
        ordered = sorted(self.splits.items(), key=lambda item: (order.get(item[0], 3), item[0]))
        return {split: _stats(h) for split, h in ordered if h}


def _value_at(sorted_counts: list[tuple[int, int]], rank: int) -> int:
    """The value at 0-based `rank` of the expanded histogram."""
    seen = 0
    for value, count in sorted_counts:
        seen += count
        if rank < seen:
            return value
    return sorted_counts[-1][0]


def _quantile(sorted_counts: list[tuple[int, int]], n: int, q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) on the histogram."""
    position = q * (n - 1)
    low = math.floor(position)
    a, b = _value_at(sorted_counts, low), _value_at(sorted_counts, min(low + 1, n - 1))
    return round(a + (b - a) * (position - low), 1)


def _stats(histogram: Counter[int]) -> TokenStats:
    ordered = sorted(histogram.items())
    n = sum(histogram.values())
    return TokenStats(
        conversations=n,
        median=_quantile(ordered, n, 0.5),
        p95=_quantile(ordered, n, 0.95),
        max=ordered[-1][0],
        max_length_95=_value_at(ordered, math.ceil(0.95 * n) - 1),
    )


class TokenCounter:
    """Counts the tokens of one conversation: with a local tokenizer (its chat template when
    it has one, else the messages' text joined) or the character estimate."""

    def __init__(self, tokenizer_path: Path | None = None) -> None:
        self.tokenizer: Any = _load_tokenizer(tokenizer_path) if tokenizer_path else None
        self.method = (
            f"tokenizer `{tokenizer_path.resolve().name}`"
            + (" with its chat template" if self.templated else " (no chat template: text only)")
            if tokenizer_path
            else ESTIMATE
        )

    @property
    def templated(self) -> bool:
        return bool(self.tokenizer is not None and self.tokenizer.chat_template)

    def count(self, messages: list[Message]) -> int:
        if self.tokenizer is None:
            chars = sum(len(m["content"]) for m in messages)
            return math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * len(messages)
        if not self.templated:
            text = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
            return len(self.tokenizer(text)["input_ids"])
        try:
            ids = self.tokenizer.apply_chat_template(messages, tokenize=True)
        except Exception as exc:  # a template's raise_exception, or a missing variable
            raise ConfigError(
                f"the tokenizer's chat template rejects a conversation"
                f" ({first_error_line(exc)[:160]}): choose a --layout it accepts"
                " (docs/datasets.md lists which one each model family needs)"
            ) from None
        ids = ids["input_ids"] if hasattr(ids, "keys") else ids
        return len(ids)


def _load_tokenizer(path: Path) -> Any:
    if not path.is_dir():
        raise ConfigError(f"--tokenizer {path}: not a folder (give a local tokenizer folder)")
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise ConfigError(
            "--tokenizer needs transformers: pip install 'esc-factory[train]'"
        ) from None
    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"--tokenizer {path}: not a tokenizer folder ({first_error_line(exc)[:160]})"
        ) from None
