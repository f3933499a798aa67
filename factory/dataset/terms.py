"""The terms imported human data comes under, so a version that holds it says so and is not
published under a licence that contradicts them."""

from __future__ import annotations

from dataclasses import dataclass

HUMAN = "human:"


@dataclass(frozen=True)
class SourceTerms:
    name: str
    licence: str
    summary: str
    allows: frozenset[str]  # licence ids a version holding this source may carry


_NON_COMMERCIAL = frozenset(
    {"cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "other", "unknown"}
)

# Keyed by the model name an importer records (`human:<key>` in a version's statistics).
SOURCE_TERMS = {
    "esconv": SourceTerms(
        name="ESConv",
        licence="cc-by-nc-4.0",
        summary="CC BY-NC 4.0: attribution, non-commercial use only",
        allows=_NON_COMMERCIAL,
    ),
}


def human_share(models: dict[str, float]) -> float:
    """The share of dialogues written by people (imported), from a version's model shares."""
    return round(sum(v for model, v in models.items() if model.startswith(HUMAN)), 4)


def terms_of(models: dict[str, float]) -> list[SourceTerms]:
    """The terms of every imported source present, known ones only, by name."""
    keys = {m.removeprefix(HUMAN) for m in models if m.startswith(HUMAN)}
    return sorted((SOURCE_TERMS[k] for k in keys if k in SOURCE_TERMS), key=lambda t: t.name)


def licence_conflicts(models: dict[str, float], licence: str) -> list[SourceTerms]:
    """The sources whose terms `licence` would contradict."""
    return [t for t in terms_of(models) if licence.lower() not in t.allows]
