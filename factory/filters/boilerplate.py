"""Boilerplate supporter lines: a sentence-length supporter turn that the corpus repeats
across many dialogues ("I'm so sorry to hear that, I'm here for you"). Each line is counted
as dialogues stream by; once `max_dialogues_per_line` dialogues have used it, later ones
that use it are dropped. Greetings and goodbyes (first and last supporter turns) and short
turns are not counted."""

from __future__ import annotations

from collections import Counter

from pydantic import Field

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue
from factory.text import normalised


class BoilerplateSettings(FilterSettings):
    min_words: int = Field(default=6, ge=1, description="shorter supporter lines are not counted")
    max_dialogues_per_line: int = Field(
        default=20, ge=1, description="a line this many earlier dialogues used drops the next"
    )


class BoilerplateFilter(Filter[BoilerplateSettings]):
    name = "boilerplate"
    Settings = BoilerplateSettings

    def __init__(self, settings: BoilerplateSettings | None = None) -> None:
        super().__init__(settings)
        self.uses: Counter[str] = Counter()

    def check(self, dialogue: Dialogue) -> Outcome:
        s = self.settings
        supporter = [t.text for t in dialogue.turns if t.role == "supporter"][1:-1]
        lines = {
            n for n in (normalised(text) for text in supporter) if len(n.split()) >= s.min_words
        }
        capped = sorted(line for line in lines if self.uses[line] >= s.max_dialogues_per_line)
        if capped:
            return self.drop(
                dialogue, "boilerplate_capped", line=capped[0], times_seen=self.uses[capped[0]]
            )
        self.uses.update(lines)
        return self.keep(dialogue)
