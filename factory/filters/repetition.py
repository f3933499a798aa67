"""Loops: a speaker sending the same line several turns in a row, a speaker repeating its own
earlier turns, a turn repeating a phrase over and over, or a turn parroting the other
speaker's previous one (small models do all four; ESConv's humans repeat short greetings and
thanks, which are exempt)."""

from __future__ import annotations

from collections import Counter

from pydantic import Field

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue
from factory.text import normalised, words


class RepetitionSettings(FilterSettings):
    max_repeated_share: float = Field(default=0.3, ge=0, le=1, description="of a speaker's turns")
    min_words_to_count: int = Field(
        default=4, ge=1, description="shorter turns (thanks, ok) may repeat"
    )
    max_trigram_share: float = Field(
        default=0.5, ge=0, le=1, description="repeated 3-grams within one turn"
    )
    max_echo_overlap: float = Field(
        default=0.8, ge=0, le=1, description="word overlap with the other speaker's previous turn"
    )
    max_line_run: int = Field(
        default=2,
        ge=1,
        description="a speaker's same line this many turns in a row is allowed; one more drops",
    )
    same_line_overlap: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="word overlap with the speaker's previous turn that counts as the same line",
    )


class RepetitionFilter(Filter[RepetitionSettings]):
    name = "repetition"
    stateless = True
    Settings = RepetitionSettings

    def check(self, dialogue: Dialogue) -> Outcome:
        s = self.settings
        run = self.longest_line_run(dialogue)
        if run is not None and run[0] > s.max_line_run:
            length, first = run
            return self.drop(dialogue, "repeated_line", score=length, turn=first)
        # A share of all of a speaker's turns: a long dialogue dilutes a short run, hence the above.
        for role in ("seeker", "supporter"):
            texts = [normalised(t.text) for t in dialogue.turns if t.role == role]
            counted = [t for t in texts if len(t.split()) >= s.min_words_to_count]
            if len(counted) >= 3:
                repeats = sum(n - 1 for n in Counter(counted).values())
                share = repeats / len(counted)
                if share > s.max_repeated_share:
                    return self.drop(dialogue, "repeated_turns", score=round(share, 3), role=role)
        # The opening exchange and the goodbyes mirror each other by nature ("how are you?").
        for index in range(2, len(dialogue.turns) - 2):
            mine, theirs = (
                set(words(dialogue.turns[index].text)),
                set(words(dialogue.turns[index - 1].text)),
            )
            if len(mine) >= s.min_words_to_count and len(theirs) >= s.min_words_to_count:
                overlap = len(mine & theirs) / len(mine | theirs)
                if overlap >= s.max_echo_overlap:
                    return self.drop(
                        dialogue, "echoes_other_speaker", score=round(overlap, 3), turn=index
                    )
        for index, turn in enumerate(dialogue.turns):
            tokens = words(turn.text)
            grams = [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
            if len(grams) >= 12:
                repeated = sum(n - 1 for n in Counter(grams).values()) / len(grams)
                if repeated > s.max_trigram_share:
                    return self.drop(dialogue, "looping_turn", score=round(repeated, 3), turn=index)
        return self.keep(dialogue)

    def longest_line_run(self, dialogue: Dialogue) -> tuple[int, int] | None:
        """The longest run of one speaker's consecutive turns that say the same line (word
        overlap at least `same_line_overlap`, 4+ words), and the index of its first turn."""
        s = self.settings
        best: tuple[int, int] | None = None
        previous: dict[str, tuple[set[str], int, int]] = {}  # role: words, run, first index
        for index, turn in enumerate(dialogue.turns):
            mine = set(words(turn.text))
            if len(mine) < s.min_words_to_count:
                previous.pop(turn.role, None)
                continue
            run, first = 1, index
            if turn.role in previous:
                theirs, length, start = previous[turn.role]
                if len(mine & theirs) / len(mine | theirs) >= s.same_line_overlap:
                    run, first = length + 1, start
            previous[turn.role] = (mine, run, first)
            if best is None or run > best[0]:
                best = (run, first)
        return best
