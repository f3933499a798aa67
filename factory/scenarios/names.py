"""First names per cultural background and gender from Faker's locale providers
(personas/library.yaml says which locales speak for each background). A draw seeds the
locale's Faker from the persona's own random stream, so the same seed gives the same name;
a name the file excludes, or one `only` does not list for the gender, is drawn again."""

from __future__ import annotations

import random
from functools import cache
from typing import TYPE_CHECKING

from pydantic import Field

from factory.errors import DataFileError
from factory.scenarios.rules import Strict

if TYPE_CHECKING:
    from faker import Faker

DEFAULT_METHODS = {"woman": "first_name_female", "man": "first_name_male"}
_NAME_TRIES = 100


class NameSource(Strict):
    """One Faker locale's names for a background."""

    locale: str
    weight: float = Field(default=1.0, gt=0)
    methods: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_METHODS))
    only: dict[str, list[str]] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)


NameSources = dict[str, list[NameSource]]


@cache
def _faker(locale: str) -> Faker:
    """One Faker per locale for the process: making one takes tens of milliseconds, and
    every draw reseeds it, so sharing it changes no output."""
    from faker import Faker

    return Faker(locale)


class NameLibrary:
    """Draws first names from the locales of each background."""

    def __init__(self, sources: NameSources) -> None:
        self.sources = sources

    def problem(self) -> str | None:
        """What is wrong with the sources (an unknown locale or method), or None."""
        from faker.config import AVAILABLE_LOCALES

        for culture, entries in self.sources.items():
            for i, source in enumerate(entries):
                where = f"names.{culture}.{i}"
                if source.locale not in AVAILABLE_LOCALES:
                    return f"{where}.locale: '{source.locale}' is not a Faker locale"
                fake = _faker(source.locale)
                for method in source.methods.values():
                    if not callable(getattr(fake, method, None)):
                        return f"{where}.methods: Faker's {source.locale} has no method '{method}'"
        return None

    def draw(self, rng: random.Random, culture: str, gender: str) -> str:
        entries = self.sources[culture]
        source = rng.choices(entries, weights=[e.weight for e in entries])[0]
        fake = _faker(source.locale)
        fake.seed_instance(rng.getrandbits(64))
        if gender in source.methods:
            methods, allowed = [source.methods[gender]], source.only.get(gender)
        else:  # e.g. non-binary: any of the locale's lists
            methods = sorted(set(source.methods.values()))
            allowed = sorted({n for names in source.only.values() for n in names}) or None
        for _ in range(_NAME_TRIES):
            name = str(getattr(fake, methods[fake.random_int(0, len(methods) - 1)])())
            if name not in source.exclude and (allowed is None or name in allowed):
                return name
        raise DataFileError(
            f"personas/library.yaml: names.{culture}: no name for {gender} after"
            f" {_NAME_TRIES} draws from {source.locale}; loosen `only` or `exclude`"
        )
