"""Believable seekers (issue 20): names from Faker per culture and gender, job titles that
fit the age, and age, gender and home shares that follow personas/population.yaml."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from faker import Faker

from factory.errors import DataFileError
from factory.models import Scenario
from factory.resources import data_dir
from factory.scenarios.bank import SampledScenarios
from factory.scenarios.job_titles import tidy
from factory.scenarios.persona_bank import PersonaBank
from factory.scenarios.population import fit_shares, pick, stratum
from factory.scenarios.sampler import Marginals, PersonaSampler
from factory.scenarios.stats import SkeletonBlanker, bank_stats

TOLERANCE = 0.02  # the issue's bar: within 2 points of the stated reference


@pytest.fixture(scope="module")
def bank() -> PersonaBank:
    return PersonaBank()


@pytest.fixture(scope="module")
def thousand(bank: PersonaBank) -> list[Scenario]:
    return SampledScenarios(bank).scenarios(1000, seed=7)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "personas"
    shutil.copytree(data_dir("personas"), target)
    return target


@cache
def locale_names(locale: str) -> dict[str, frozenset[str]]:
    """Every first name a Faker locale holds, by gender (romanised lists included)."""
    person = next(p for p in Faker(locale).get_providers() if hasattr(p, "first_names"))
    found: dict[str, set[str]] = {"woman": set(), "man": set()}
    for gender, suffix in (("woman", "female"), ("man", "male")):
        for attr in (f"first_names_{suffix}", f"first_romanized_names_{suffix}"):
            found[gender] |= set(getattr(person, attr, ()))
    every = set(getattr(person, "first_names", ())) | set(
        getattr(person, "first_romanized_names", ())
    )
    return {
        "woman": frozenset(found["woman"]),
        "man": frozenset(found["man"]),
        "any": frozenset(every | found["woman"] | found["man"]),
    }


def test_names_come_from_the_locales_of_the_persons_culture_and_gender(bank, thousand):
    sources = bank.library.names
    for scenario in thousand:
        p = scenario.persona
        assert p.cultural_background is not None
        entries = sources[p.cultural_background]
        lists = [locale_names(e.locale) for e in entries]
        assert any(p.name in names["any"] for names in lists), (p.name, p.cultural_background)
        assert not any(p.name in e.exclude for e in entries)
        other = {"woman": "man", "man": "woman"}.get(p.gender)
        if other is None:
            continue  # non-binary: either list
        only = [e.only[p.gender] for e in entries if p.gender in e.only]
        if only:
            assert any(p.name in names for names in only), (p.name, p.gender)
        else:  # never a name the locale keeps for the other gender only
            assert any(
                p.name not in names[other] or p.name in names[p.gender] for names in lists
            ), (p.name, p.gender, p.cultural_background)


def test_cultures_do_not_share_names(thousand):
    by_culture: dict[str, set[str]] = {}
    for s in thousand:
        by_culture.setdefault(str(s.persona.cultural_background), set()).add(s.persona.name)
    distinct = ("Japan", "China", "Poland", "Egypt", "India", "Brazil", "Germany")
    for i, a in enumerate(distinct):
        for b in distinct[i + 1 :]:
            shared = by_culture[a] & by_culture[b]
            # A few names cross borders (Adam, Daniel); a culture-blind list shares dozens.
            assert len(shared) <= 2, (a, b, shared)


def test_a_thousand_scenarios_meet_the_issue_bars(bank, thousand):
    population = bank.population
    for field, reference in (("gender", population.genders), ("age_band", population.age_bands)):
        counts = Counter(str(getattr(s.persona, field)) for s in thousand)
        total = sum(reference.values())
        for value, share in reference.items():
            assert abs(counts[value] / len(thousand) - share / total) <= TOLERANCE, (field, value)
    assert len({s.persona.name for s in thousand}) >= 300
    stats = bank_stats(thousand, [], SkeletonBlanker(bank))
    assert stats.copies <= 0.05
    assert len(stats.skeletons) >= 300


@pytest.mark.parametrize("seed", [1, 99])
def test_shares_hold_for_other_seeds(bank, seed):
    scenarios = SampledScenarios(bank).scenarios(1000, seed=seed)
    for field, reference in (
        ("gender", bank.population.genders),
        ("age_band", bank.population.age_bands),
    ):
        counts = Counter(str(getattr(s.persona, field)) for s in scenarios)
        total = sum(reference.values())
        for value, share in reference.items():
            assert abs(counts[value] / 1000 - share / total) <= TOLERANCE, (seed, field, value)


def test_uniform_marginals_draw_the_pools_evenly(bank):
    sampler = PersonaSampler(bank, marginals=Marginals.uniform)
    cells = sampler.cell_sequence(5)
    genders = Counter(
        sampler.draw(random.Random(i), next(cells)).persona.gender for i in range(600)
    )
    assert genders["non-binary"] / 600 > 0.25


def test_job_titles_fit_the_age_and_carry_their_group(bank, thousand):
    titles = bank.job_titles
    assert len(titles.by_title) >= 400
    nurse = titles.get("mental health nurse")
    assert nurse is not None and nurse.group == "nurse"
    assert "neurosurgeon" not in titles.fitting("professional", 24)
    assert "chief executive officer" not in titles.fitting("professional", 30)
    assert "tree surgeon" in titles.fitting("professional", 19)  # no degree needed
    library = [s for s in thousand if titles.get(s.persona.occupation)]
    assert len({s.persona.occupation for s in library}) >= 100
    for s in library:
        job = titles.get(s.persona.occupation)
        assert job is not None and s.persona.age is not None
        assert job.min_age <= s.persona.age <= job.max_age


@pytest.mark.parametrize(
    ("raw", "tidied"),
    [
        ("Engineer, civil (consulting)", "civil engineer"),
        ("Accountant, chartered certified", "chartered certified accountant"),
        ("IT consultant", "IT consultant"),
        ("Teacher, early years/pre", None),
        ("Administrator, Civil Service", "Civil Service administrator"),
    ],
)
def test_faker_titles_are_tidied(raw, tidied):
    assert tidy(raw, ["IT", "Civil Service"]) == tidied


def test_name_draws_are_seeded(bank):
    names = bank.names
    first = [names.draw(random.Random(i), "Japan", "woman") for i in range(20)]
    again = [names.draw(random.Random(i), "Japan", "woman") for i in range(20)]
    assert first == again
    assert len(set(first)) > 5


def test_stratum_and_pick_spread_evenly():
    weights = [11, 22, 29, 22, 16]
    options = ["a", "b", "c", "d", "e"]
    counts = Counter(pick(options, weights, stratum(3, i).age) for i in range(1000))
    for option, weight in zip(options, weights, strict=True):
        assert abs(counts[option] / 1000 - weight / 100) < 0.005


def test_fitting_reaches_the_target_despite_a_constrained_row():
    rows = {"bullying": 1.0, "grief": 1.0, "money": 1.0}
    feasible = {"bullying": {"teen"}, "grief": {"teen", "adult"}, "money": {"adult"}}
    fitted = fit_shares(rows, feasible, {"teen": 50, "adult": 50})
    assert fitted["bullying"] == {"teen": 1.0}
    assert fitted["grief"]["teen"] == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("library.yaml", "locale: pl_PL", "locale: xx_XX", "names.Poland.0.locale: 'xx_XX' is not"),
        ("library.yaml", "  Australia: [{locale: en_AU}]\n", "", "no locale for cultural background 'Australia'"),
        ("library.yaml", "default_group: professional", "default_group: wizard", "'wizard' is not an occupation"),
        ("population.yaml", "non-binary: 1}", "nonbinary: 1}", "genders: unknown value 'nonbinary'"),
        ("population.yaml", "teen: 11, ", "", "age_bands: no share for 'teen'"),
    ],
)  # fmt: skip
def test_bad_library_or_population_fails_at_load(data_copy, file, old, new, message):
    path = data_copy / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(DataFileError, match=message):
        PersonaBank(data_copy)
