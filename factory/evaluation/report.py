"""The eval report as report.json holds it: what was measured, the measures of both sets,
their comparison, what was skipped and why, and the plots written beside it."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from factory.evaluation.measures import Measures
from factory.evaluation.realism import Realism
from factory.filters.report import EmbeddingsUsed


class MeasuredSet(BaseModel):
    """Where a measured set came from: a dialogues file, a run directory or a dataset version."""

    model_config = ConfigDict(extra="forbid")

    path: str
    kind: str


class Subject(MeasuredSet):
    """The set under evaluation; lines that are not dialogues are counted, not measured."""

    malformed_lines: int


class Comparison(BaseModel):
    """The set against the reference; a comparison that did not run is absent."""

    model_config = ConfigDict(extra="forbid")

    strategy_jsd: float | None = None
    realism: Realism | None = None
    shared_with_reference: int | None = None  # dialogues found in both sets (same turns)
    warnings: list[str] | None = None

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}


class EvalReport(BaseModel):
    """report.json: `skipped` names each measure or comparison left out, with the reason."""

    model_config = ConfigDict(extra="forbid")

    input: Subject
    reference: MeasuredSet | None
    measures: Measures
    reference_measures: Measures | None
    comparison: Comparison
    skipped: dict[str, str]
    plots: list[str]
    seconds: float
    embeddings: list[EmbeddingsUsed] | None = None  # the stores realism read and filled

    def to_json(self) -> str:
        """The text of report.json (without `embeddings` when nothing was embedded)."""
        data = self.model_dump(mode="json")
        if data["embeddings"] is None:
            del data["embeddings"]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
