"""Shape of a dialogue: it finished without a generation error, has a sensible number of
turns, alternates seeker/supporter strictly (imports merge consecutive same-speaker
utterances first), and has no empty, tiny-on-average or overlong turns."""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import Field, model_validator

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue
from factory.text import words


class StructureSettings(FilterSettings):
    min_turns: int = Field(default=6, ge=1, description="fewer turns drop")
    max_turns: int = Field(default=80, ge=1, description="more turns drop")
    min_mean_words: float = Field(default=3.0, ge=0, description="a lower mean per turn drops")
    max_turn_words: int = Field(default=250, ge=1, description="a longer turn drops")
    first_speaker: Literal["seeker", "supporter"] | None = Field(
        default=None, description="None: either"
    )
    drop_stalled: bool = Field(
        default=True, description="drop dialogues the generator stopped on a loop"
    )

    @model_validator(mode="after")
    def _min_below_max(self) -> StructureSettings:
        if self.min_turns > self.max_turns:
            raise ValueError(
                f"min_turns ({self.min_turns}) must not exceed max_turns ({self.max_turns})"
            )
        return self


class StructureFilter(Filter[StructureSettings]):
    name = "structure"
    stateless = True
    Settings = StructureSettings

    def check(self, dialogue: Dialogue) -> Outcome:
        s = self.settings
        if dialogue.end_reason.startswith("error:"):
            return self.drop(dialogue, "generation_error", end_reason=dialogue.end_reason)
        if s.drop_stalled and dialogue.end_reason == "stalled":
            return self.drop(dialogue, "generation_stalled")
        turns = dialogue.turns
        if len(turns) < s.min_turns:
            return self.drop(dialogue, "too_few_turns", score=len(turns))
        if len(turns) > s.max_turns:
            return self.drop(dialogue, "too_many_turns", score=len(turns))
        if s.first_speaker and turns[0].role != s.first_speaker:
            return self.drop(dialogue, "wrong_first_speaker")
        for before, after in itertools.pairwise(turns):
            if before.role == after.role:
                return self.drop(dialogue, "broken_alternation")
        # Empty: no letter or digit in any script (a turn in Chinese has no `words`, yet it is
        # a turn in another language, which the english filter names).
        if any(not any(c.isalnum() for c in t.text) for t in turns):
            return self.drop(dialogue, "empty_turn")
        counts = [len(words(t.text)) for t in turns]
        if max(counts) > s.max_turn_words:
            return self.drop(dialogue, "overlong_turn", score=max(counts))
        mean = sum(counts) / len(counts)
        if mean < s.min_mean_words:
            return self.drop(dialogue, "turns_too_short", score=round(mean, 2))
        return self.keep(dialogue, score=round(mean, 2))
