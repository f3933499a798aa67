"""A version's manifest.json as typed records: what the version holds, how it was made, and
where every count comes from. It is written and read back only through these models."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factory.dataset.layout import MANIFEST, Version, versions
from factory.dataset.preferences import PreferenceConfig, PreferenceCounts
from factory.dataset.stats import DatasetStats
from factory.dataset.training_chat import ChatInfo
from factory.errors import DataFileError, first_error_line
from factory.filters.report import EmotionJudgeSummary, FunnelStep, JudgeSummary
from factory.models import Record, Usage
from factory.runs.run_dir import RunManifest


class SplitCounts(Record):
    train: int
    validation: int
    test: int


class RecipeFilter(BaseModel):
    """One recipe entry: the filter's name and the settings it was given (secrets scrubbed)."""

    model_config = ConfigDict(extra="allow")

    use: str


class RecipeInfo(Record):
    name: str
    sha256: str
    filters: list[RecipeFilter]


class VersionCounts(Record):
    """Dialogues read, malformed lines, kept and rejected (malformed lines and every funnel
    drop, repeated ids included)."""

    read: int
    malformed: int
    kept: int
    rejected: int
    duplicate_ids: int


class SourceInfo(Record):
    """One input: its file's hash, the dialogues in it, and its run's manifest if it has one."""

    name: str
    path: str
    sha256: str
    dialogues: int
    prompt_hashes: dict[str, str]
    settings: dict[str, int | str]
    run: RunManifest | None


class DataFile(Record):
    sha256: str
    rows: int


class PreferenceInfo(Record):
    """How the `preferences` config was made: its files, counts, usage, judge and settings."""

    split_files: dict[str, str]
    counts: PreferenceCounts
    usage: Usage
    judge_prompt: str
    settings: PreferenceConfig


class PublishedCheck(Record):
    """What a version was deduplicated against: the dataset's earlier versions, the
    dialogues they hold, and how many new ones were dropped as their exact or near copies
    (how many of those were exact, and how many each earlier version held)."""

    versions: list[str]
    dialogues: int
    dropped: int
    threshold: float
    exact: int = 0  # of the dropped, copies up to case, punctuation and spacing
    by_version: dict[str, int] = Field(default_factory=dict)  # dropped, by the version copied


class EvalSetInfo(Record):
    """One evaluation set a version was checked against: its file name, the texts of at
    least n words read from it, and their distinct n-grams."""

    name: str
    texts: int
    ngrams: int


class NearTurnCheck(Record):
    """The near-turn part of decontamination: a turn or situation of `min_words` or more
    whose word pairs overlap a text of the sets by an estimated Jaccard of `threshold` or
    more; the dialogues it dropped (beyond those sharing an n-gram)."""

    min_words: int
    shingle_words: int
    threshold: float
    dropped: int


class DecontaminationCheck(Record):
    """curate --decontaminate: the sets, the n-gram length, and the dialogues dropped (all
    of them; `near_turns.dropped` of those for a near turn alone)."""

    sets: list[EvalSetInfo]
    ngram_words: int
    dropped: int
    near_turns: NearTurnCheck | None = None


class ReviewInfo(Record):
    """What a version records about human review: the decisions read, how many rescued a
    dialogue a filter dropped, how many dropped a kept one, and those that named no dialogue."""

    files: list[str]
    decisions: int
    reviewers: list[str]
    kept: int
    dropped: int
    unmatched: int = 0


class DatasetManifest(Record):
    """manifest.json of a version folder."""

    tool: str = "esc-factory"
    tool_version: str
    name: str
    version: str
    created_at: str
    license: str
    seed: int
    split_fractions: list[float]
    splits: SplitCounts
    split_files: dict[str, str]
    recipe: RecipeInfo
    system_prompt_sha256: str
    counts: VersionCounts
    funnel: list[FunnelStep]
    sources: list[SourceInfo]
    data_files: dict[str, DataFile]
    stats: DatasetStats
    preferences: PreferenceInfo | None
    # The LLM judge's model, prompt, usage, cost and scores when it ran; otherwise why a
    # judge asked for with --judge stayed off (None: not asked for).
    judge: JudgeSummary | None = None
    judge_off: str | None = None
    # The emotion judge's model, prompt, usage and fit counts when it ran.
    emotion_judge: EmotionJudgeSummary | None = None
    # Set when the version was checked against the dataset's published versions (curate
    # --dedup-published) or evaluation sets (--decontaminate); left out of the file
    # otherwise, so older manifests read the same.
    published: PublishedCheck | None = None
    decontamination: DecontaminationCheck | None = None
    # Set when curate applied human review decisions (--decisions); left out otherwise.
    review: ReviewInfo | None = None
    # The chat columns' layout, the `strategy` config and token lengths (None: a version
    # made before they were recorded).
    chat: ChatInfo | None = None
    # Set on a version made by `factory preferences` from an earlier one: its tag.
    derived_from: str | None = None
    # The encoder the recipe's embedding filters used (all-MiniLM-L6-v2, or its int8 ONNX
    # form); left out when no filter embedded.
    embedding_model: str | None = None

    def write(self, folder: Path) -> None:
        unset = {
            k
            for k in (
                "published",
                "decontamination",
                "review",
                "chat",
                "derived_from",
                "embedding_model",
                "emotion_judge",
            )
            if getattr(self, k) is None
        }
        row = self.model_dump(mode="json", exclude=unset)
        text = json.dumps(row, indent=2, ensure_ascii=False) + "\n"
        (folder / MANIFEST).write_text(text, encoding="utf-8")


def read_manifest(folder: Path) -> DatasetManifest:
    """The manifest of a version folder, or one line saying it cannot be read."""
    path = folder / MANIFEST
    try:
        return DatasetManifest.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise DataFileError(
            f"{path}: not a readable version manifest ({first_error_line(exc)[:200]})"
        ) from None


def version_manifests(root: Path, name: str) -> list[tuple[Version, DatasetManifest | None]]:
    """A dataset's versions, oldest first, each with its manifest (None: unreadable)."""
    found = versions(root, name)
    if not found:
        raise DataFileError(
            f"no dataset '{name}' under {root}: run `factory curate ... --name {name}` first"
        )
    out: list[tuple[Version, DatasetManifest | None]] = []
    for number, path in found:
        try:
            out.append((number, read_manifest(path)))
        except DataFileError:
            out.append((number, None))
    return out
