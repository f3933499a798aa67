"""Job titles from Faker's job provider (personas/library.yaml, `jobs`), tidied and put
into the occupation groups of attributes.yaml, each with the ages that fit it. The group
carries the rules and the words that weave the job into a situation; the title is what the
persona says they do. Fragments and titles the file drops never appear."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

from pydantic import Field

from factory.scenarios.rules import Strict


class AgeFloor(Strict):
    words: list[str] = Field(min_length=1)
    min_age: int = Field(ge=10, le=100)
    reason: str = Field(min_length=1)


class JobTitleData(Strict):
    locale: str = "en_US"
    default_group: str
    groups: dict[str, list[str]] = Field(default_factory=dict)
    drop: list[str] = Field(default_factory=list)
    keep_case: list[str] = Field(default_factory=list)
    min_age: int = Field(default=22, ge=10, le=100)
    max_age: int = Field(default=67, ge=10, le=100)
    floors: list[AgeFloor] = Field(default_factory=list)


@dataclass(frozen=True)
class JobTitle:
    title: str
    group: str
    min_age: int
    max_age: int


def _contains(title: str, words: list[str]) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", title, re.I) for w in words)


def tidy(raw: str, keep_case: list[str]) -> str | None:
    """A title as a person says it: "Engineer, civil (consulting)" -> "civil engineer";
    None for titles with a slash ("Teacher, early years/pre")."""
    text = re.sub(r"\s*\([^)]*\)", "", raw).strip()
    if "/" in text:
        return None
    if "," in text:
        head, rest = text.split(",", 1)
        text = f"{rest.strip()} {head.strip()}"
    text = " ".join(text.lower().split())
    for word in keep_case:
        text = re.sub(rf"(?<!\w){re.escape(word.lower())}(?!\w)", word, text)
    return text


def raw_titles(locale: str) -> list[str]:
    """Faker's job titles for a locale, as it ships them."""
    module = importlib.import_module(f"faker.providers.job.{locale}")
    return list(module.Provider.jobs)


class JobTitles:
    """The tidied titles, their groups and ages; looked up by title or drawn by group."""

    def __init__(self, data: JobTitleData) -> None:
        self.data = data
        dropped = {d.lower() for d in data.drop}
        self.by_title: dict[str, JobTitle] = {}
        for raw in raw_titles(data.locale):
            title = tidy(raw, data.keep_case)
            if title is None or title.lower() in dropped or title in self.by_title:
                continue
            group = next(
                (g for g, words in data.groups.items() if _contains(title, words)),
                data.default_group,
            )
            floor = next((f.min_age for f in data.floors if _contains(title, f.words)), None)
            self.by_title[title] = JobTitle(
                title, group, floor if floor is not None else data.min_age, data.max_age
            )
        self._by_group: dict[str, list[JobTitle]] = {}
        for job in self.by_title.values():
            self._by_group.setdefault(job.group, []).append(job)

    def get(self, title: str) -> JobTitle | None:
        return self.by_title.get(title)

    def fitting(self, group: str, age: int) -> list[str]:
        """The titles of a group that fit an age, in Faker's order."""
        return [j.title for j in self._by_group.get(group, []) if j.min_age <= age <= j.max_age]

    def words(self) -> list[str]:
        return list(self.by_title)
