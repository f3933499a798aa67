"""Curation filters, one file each, and the registry that recipes name them by."""

from __future__ import annotations

from typing import Any

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.filters.boilerplate import BoilerplateFilter
from factory.filters.damaged_text import DamagedTextFilter
from factory.filters.diversity import DiversityFilter
from factory.filters.emotion_consistency import EmotionConsistencyFilter
from factory.filters.emotion_judge import EmotionJudgeFilter
from factory.filters.ending import EndingFilter
from factory.filters.english import EnglishFilter
from factory.filters.exact_dedup import ExactDedupFilter
from factory.filters.intensity_trajectory import IntensityTrajectoryFilter
from factory.filters.judge import JudgeFilter
from factory.filters.minhash_dedup import MinHashDedupFilter
from factory.filters.pii_redact import PiiRedactFilter
from factory.filters.repetition import RepetitionFilter
from factory.filters.role_leakage import RoleLeakageFilter
from factory.filters.safety import SafetyFilter
from factory.filters.semantic_dedup import SemanticDedupFilter
from factory.filters.structure import StructureFilter
from factory.filters.truncation import TruncationFilter

FILTERS: dict[str, type[Filter[Any]]] = {
    cls.name: cls
    for cls in (
        PiiRedactFilter,
        StructureFilter,
        RoleLeakageFilter,
        EnglishFilter,
        RepetitionFilter,
        TruncationFilter,
        EndingFilter,
        DamagedTextFilter,
        ExactDedupFilter,
        MinHashDedupFilter,
        SemanticDedupFilter,
        BoilerplateFilter,
        EmotionConsistencyFilter,
        IntensityTrajectoryFilter,
        SafetyFilter,
        JudgeFilter,
        EmotionJudgeFilter,
        DiversityFilter,
    )
}

__all__ = ["FILTERS", "Filter", "FilterSettings", "Outcome"]
