"""A new version checked against what its dataset has already published: a dialogue that is
an exact or near copy (MinHash, as `minhash_dedup` judges it) of one in an earlier version
goes to rejected/ as `duplicate_of_published`, naming that version and dialogue. Published
versions are only read, never changed."""

from __future__ import annotations

from pathlib import Path

from factory.dataset.layout import parse_version, versions
from factory.dataset.manifest import PublishedCheck, read_manifest
from factory.dataset.table import SPLITS, iter_split_turns, split_path
from factory.filters.minhash_dedup import MinHashDedupFilter, MinHashSettings
from factory.filters.near_duplicate_index import NearDuplicateIndex
from factory.filters.recipe import Recipe
from factory.filters.report import FilterReport
from factory.models import Dialogue, Verdict
from factory.text import digest, normalised_transcripts, transcript_digests, turns_transcripts

FILTER = "published_dedup"
REASON = "duplicate_of_published"


class PublishedCopies:
    """The dataset's published dialogues, indexed once (exact digests and MinHash), and a check
    of new dialogues against them a batch at a time. `versions` is empty when the dataset has
    no published version yet (then nothing is ever dropped)."""

    def __init__(
        self,
        root: Path,
        name: str,
        settings: MinHashSettings | None = None,
        before: str | None = None,
    ) -> None:
        """The versions of `name` under `root` published before version `before` (all of
        them without it: a version given with --version may sit between earlier ones)."""
        self.settings = s = settings or MinHashSettings()
        self.published = [
            (version, folder)
            for version, folder in versions(root, name)
            if before is None or version < parse_version(before)
        ]
        self._near = NearDuplicateIndex(s.threshold, s.num_perm, s.shingle_words, s.seed)
        self._exact: dict[bytes, tuple[str, str]] = {}
        self.read = 0
        self.checked = 0
        self.exact = 0
        # Copies dropped, by the earlier version holding them, in the order they were published.
        self.by_version = dict.fromkeys((folder.name for _, folder in self.published), 0)
        indexed: set[str] = set()
        for _, folder in self.published:
            label = folder.name
            files = read_manifest(folder).data_files
            for split in SPLITS:
                file = split_path(folder, split)
                if file is None:
                    continue
                # A data file an earlier version published (a patch version links or copies
                # them) holds no new dialogues: its copies name the version that was first.
                listed = files.get(file.relative_to(folder).as_posix())
                if listed is not None:
                    if listed.sha256 in indexed:
                        continue
                    indexed.add(listed.sha256)
                for rows in iter_split_turns(file):
                    self.read += len(rows)
                    transcripts = turns_transcripts([turns for _, turns in rows])
                    for (id_, _), transcript in zip(rows, transcripts, strict=True):
                        self._exact.setdefault(digest(transcript), (label, id_))
                    self._near.add_batch([f"{label}\t{id_}" for id_, _ in rows], transcripts)

    def check(self, batch: list[Dialogue]) -> list[Verdict | None]:
        """Per dialogue, the verdict that drops it as a copy (None: not published before)."""
        self.checked += len(batch)
        if not self.published:
            return [None] * len(batch)
        s = self.settings
        matches = self._near.match_batch(
            [d.id for d in batch], normalised_transcripts(batch), add=False
        )
        out: list[Verdict | None] = []
        for match, key in zip(matches, transcript_digests(batch), strict=True):
            if (found := self._exact.get(key)) is not None:
                (version, of), score = found, 1.0
                self.exact += 1
            elif match.key is not None and match.similarity >= s.threshold:
                (version, of), score = match.key.split("\t", 1), round(match.similarity, 3)
            else:
                out.append(None)
                continue
            self.by_version[version] += 1
            out.append(
                Verdict(
                    filter=FILTER,
                    keep=False,
                    reason=REASON,
                    score=score,
                    details={"version": version, "duplicate_of": of},
                )
            )
        return out

    @property
    def dropped(self) -> int:
        return sum(self.by_version.values())

    def finish(self, report: FilterReport) -> PublishedCheck | None:
        """Counts the funnel's `published_dedup` step; what the version records (None when
        there was nothing published to check against)."""
        if not self.published:
            return None
        report.add_step(FILTER, self.checked, self.checked - self.dropped, REASON)
        return PublishedCheck(
            versions=[folder.name for _, folder in self.published],
            dialogues=self.read,
            dropped=self.dropped,
            threshold=self.settings.threshold,
            exact=self.exact,
            by_version={version: n for version, n in self.by_version.items() if n},
        )


def minhash_settings(recipe: Recipe) -> MinHashSettings:
    """The recipe's own near-duplicate settings, so that published copies are judged as
    copies within the input are (the defaults when the recipe has no minhash_dedup)."""
    for name, settings in recipe.entries:
        if name == MinHashDedupFilter.name:
            return MinHashSettings.model_validate(settings)
    return MinHashSettings()
