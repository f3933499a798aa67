"""A new version checked against what its dataset has already published: a dialogue that is
an exact or near copy (MinHash, as `minhash_dedup` judges it) of one in an earlier version
goes to rejected/ as `duplicate_of_published`, naming that version and dialogue. Published
versions are only read, never changed."""

from __future__ import annotations

from pathlib import Path

from factory.dataset.layout import versions
from factory.dataset.manifest import PublishedCheck
from factory.dataset.table import SPLITS, read_split, split_path
from factory.filters.minhash_dedup import MinHashDedupFilter, MinHashSettings
from factory.filters.near_duplicate_index import NearDuplicateIndex
from factory.filters.recipe import Recipe
from factory.filters.report import FilterReport
from factory.jsonl import json_line
from factory.models import Dialogue, Verdict
from factory.text import normalised_transcript, transcript_digest

FILTER = "published_dedup"
REASON = "duplicate_of_published"


def drop_published(
    kept: list[Dialogue],
    report: FilterReport,
    rejected: Path,
    root: Path,
    name: str,
    settings: MinHashSettings | None = None,
) -> tuple[list[Dialogue], PublishedCheck | None]:
    """The dialogues of `kept` that no earlier version of `name` holds (exactly or nearly);
    the rest are appended to `rejected` and counted as the funnel's `published_dedup` step.
    (kept, None) when the dataset has no published version yet."""
    published = versions(root, name)
    if not published:
        return kept, None
    s = settings or MinHashSettings()
    near = NearDuplicateIndex(s.threshold, s.num_perm, s.shingle_words, s.seed)
    exact: dict[bytes, tuple[str, str]] = {}
    read = 0
    for _, folder in published:
        label = folder.name
        for split in SPLITS:
            file = split_path(folder, split)
            if file is None:
                continue
            rows = read_split(file)
            read += len(rows)
            for d in rows:
                exact.setdefault(transcript_digest(d), (label, d.id))
            near.add_batch(
                [f"{label}\t{d.id}" for d in rows], [normalised_transcript(d) for d in rows]
            )
    matches = near.match_batch(
        [d.id for d in kept], [normalised_transcript(d) for d in kept], add=False
    )
    unique: list[Dialogue] = []
    with rejected.open("a", encoding="utf-8") as handle:
        for dialogue, match in zip(kept, matches, strict=True):
            if (found := exact.get(transcript_digest(dialogue))) is not None:
                (version, of), score = found, 1.0
            elif match.key is not None and match.similarity >= s.threshold:
                (version, of), score = match.key.split("\t", 1), round(match.similarity, 3)
            else:
                unique.append(dialogue)
                continue
            verdict = Verdict(
                filter=FILTER,
                keep=False,
                reason=REASON,
                score=score,
                details={"version": version, "duplicate_of": of},
            )
            row = dialogue.model_copy(update={"verdicts": [*dialogue.verdicts, verdict]})
            handle.write(json_line(row.model_dump(mode="json", exclude_none=True)))
    dropped = len(kept) - len(unique)
    report.add_step(FILTER, len(kept), len(unique), REASON)
    check = PublishedCheck(
        versions=[folder.name for _, folder in published],
        dialogues=read,
        dropped=dropped,
        threshold=s.threshold,
    )
    return unique, check


def minhash_settings(recipe: Recipe) -> MinHashSettings:
    """The recipe's own near-duplicate settings, so that published copies are judged as
    copies within the input are (the defaults when the recipe has no minhash_dedup)."""
    for name, settings in recipe.entries:
        if name == MinHashDedupFilter.name:
            return MinHashSettings.model_validate(settings)
    return MinHashSettings()
