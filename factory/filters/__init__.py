"""Curation filters, one file each, and the registry that recipes name them by."""

from __future__ import annotations

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.filters.boilerplate import BoilerplateFilter
from factory.filters.diversity import DiversityFilter
from factory.filters.emotion import EmotionConsistencyFilter
from factory.filters.ending import TruncationFilter
from factory.filters.exact_dedup import ExactDedupFilter
from factory.filters.intensity import IntensityTrajectoryFilter
from factory.filters.judge import JudgeFilter
from factory.filters.language import EnglishFilter
from factory.filters.leakage import RoleLeakageFilter
from factory.filters.minhash_dedup import MinHashDedupFilter
from factory.filters.pii import PiiRedactFilter
from factory.filters.repetition import RepetitionFilter
from factory.filters.safety import SafetyFilter
from factory.filters.semantic_dedup import SemanticDedupFilter
from factory.filters.structure import StructureFilter

FILTERS: dict[str, type[Filter]] = {
    cls.name: cls
    for cls in (
        PiiRedactFilter,
        StructureFilter,
        RoleLeakageFilter,
        EnglishFilter,
        RepetitionFilter,
        TruncationFilter,
        ExactDedupFilter,
        MinHashDedupFilter,
        SemanticDedupFilter,
        BoilerplateFilter,
        EmotionConsistencyFilter,
        IntensityTrajectoryFilter,
        SafetyFilter,
        JudgeFilter,
        DiversityFilter,
    )
}

__all__ = ["FILTERS", "Filter", "FilterSettings", "Outcome"]
