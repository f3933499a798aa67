"""Counting measures shared by filters, dataset statistics and eval: shares of a count and
distinct-n, each defined once so two reports never disagree on the same set."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable


def shares(counter: Counter[str]) -> dict[str, float]:
    """Each value's share of the count, largest first (ties by name), to 4 places."""
    total = sum(counter.values())
    return (
        {k: round(v / total, 4) for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))}
        if total
        else {}
    )


def ngram_counts(texts: Iterable[str], n: int) -> tuple[int, int]:
    """(distinct n-grams, all n-grams) over the texts' lowercased whitespace tokens; an
    n-gram never spans two texts."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        tokens = text.lower().split()
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen), total


def distinct_n(texts: Iterable[str], n: int) -> float | None:
    """Distinct n-grams over all n-grams (None when no text has n tokens), to 4 places."""
    unique, total = ngram_counts(texts, n)
    return round(unique / total, 4) if total else None


def jensen_shannon(p: dict[str, float], q: dict[str, float]) -> float:
    """Jensen-Shannon divergence in bits (0 = same distribution, 1 = disjoint)."""
    keys = set(p) | set(q)
    m = {k: (p.get(k, 0.0) + q.get(k, 0.0)) / 2 for k in keys}

    def kl(a: dict[str, float]) -> float:
        return sum(a[k] * math.log2(a[k] / m[k]) for k in keys if a.get(k, 0.0) > 0)

    return round((kl(p) + kl(q)) / 2, 4)
