"""The seeker's self-rated intensity should move plausibly: it ends below its peak (ESConv's
authors rejected dialogues whose intensity did not fall), never drops three or more points
in one turn, and does not reach 1 within two seeker turns of a first rating of 4 or 5.
Ratings may rise first: a seeker who tells something worse feels worse for a while, so the
end is judged against the highest rating, not the first. With only a first and a last rating
(ESConv's survey) that is ESConv's own rule. Dialogues without two ratings are kept with
reason `no_intensity`."""

from __future__ import annotations

import itertools

from pydantic import Field

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue


class IntensitySettings(FilterSettings):
    require_improvement: bool = Field(
        default=True, description="the last rating must be below the highest"
    )
    max_step_drop: int = Field(default=2, ge=1, le=4, description="a larger fall in one turn drops")
    fast_cure_turns: int = Field(
        default=2, ge=1, description="reaching 1 within this many turns from 4-5 drops"
    )


class IntensityTrajectoryFilter(Filter[IntensitySettings]):
    name = "intensity_trajectory"
    stateless = True
    Settings = IntensitySettings

    def check(self, dialogue: Dialogue) -> Outcome:
        s = self.settings
        seeker_turns = [t for t in dialogue.turns if t.role == "seeker"]
        rated = [(i, t.intensity) for i, t in enumerate(seeker_turns) if t.intensity is not None]
        if len(rated) < 2:
            return self.keep(dialogue, "no_intensity")
        ratings = [value for _, value in rated]
        first, last = ratings[0], ratings[-1]
        # Only ratings on consecutive seeker turns say what one turn did (imports rate only
        # the first and the last).
        steps = [a - b for (i, a), (j, b) in itertools.pairwise(rated) if j == i + 1]
        if steps and max(steps) > s.max_step_drop:
            return self.drop(dialogue, "implausible_jump", score=max(steps), ratings=ratings)
        early = [value for i, value in rated if i <= s.fast_cure_turns]
        if first >= 4 and len(early) > 1 and min(early) <= 1:
            return self.drop(dialogue, "cured_too_fast", ratings=ratings)
        peak = max(ratings)
        if s.require_improvement and last >= peak:
            return self.drop(dialogue, "no_improvement", score=last - first, ratings=ratings)
        return self.keep(dialogue, score=last - first, fall_from_peak=peak - last)
