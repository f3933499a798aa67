"""The plausibility rules (personas/constraints.yaml), the situation reader, composed
situations and `factory personas check`."""

import json
from collections import Counter
from pathlib import Path

import pytest

from factory.models import Scenario
from factory.scenarios.bank import SampledScenarios
from factory.scenarios.bank_check import check_scenarios
from factory.scenarios.cues import SituationReader
from factory.scenarios.persona_bank import PersonaBank
from factory.scenarios.plausibility import PlausibilityChecker
from factory.scenarios.stats import SkeletonBlanker


@pytest.fixture(scope="module")
def bank() -> PersonaBank:
    return PersonaBank()


@pytest.fixture(scope="module")
def checker(bank) -> PlausibilityChecker:
    return PlausibilityChecker(bank)


@pytest.fixture(scope="module")
def sampled(bank) -> tuple[list[Scenario], Counter[str]]:
    """10,000 template scenarios, and the drafts the check turned away on the way."""
    source = SampledScenarios(bank)
    return source.scenarios(10_000, seed=12), source.turned_away


def _style(bank: PersonaBank, disclosure: str, verbosity: str) -> str:
    a = bank.attributes
    said = next(d for d in a.disclosure if d.name == disclosure).description
    length = next(v for v in a.verbosity if v.name == verbosity).description
    return f"{said} {length}"


def scenario(bank: PersonaBank, situation: str, **changes: object) -> Scenario:
    """A plausible scenario (a 34-year-old nurse who lives alone, fearing job cuts), with
    `changes` to its persona fields or its problem, emotion and intensity."""
    persona = {
        "id": "p-test", "name": "Ruth", "age": 34, "gender": "woman", "occupation": "nurse",
        "style": _style(bank, "gradual", "moderate"), "age_band": "adult",
        "life_stage": "building a career", "living_situation": "alone",
        "cultural_background": "UK", "coping_style": "talks it through with others",
        "disclosure": "gradual", "verbosity": "moderate",
    }  # fmt: skip
    body = {"problem_type": "job crisis", "emotion_type": "anxiety", "initial_intensity": 3}
    for key, value in changes.items():
        if key in body:
            body[key] = value
        else:
            persona[key] = value
    return Scenario.model_validate(
        {"id": "sc-test", "situation": situation, "persona": persona, **body}
    )


BASE = (
    "The ward manager told us last week that jobs on the ward are going to be cut."
    " I cannot stop doing the sums on the rent."
)

# One contradiction per rule: (rule, situation, changes). The scenario may break other rules
# too; the named one must be among them.
BROKEN = [
    ("known_values", BASE, {"occupation": "astronaut"}),
    ("emotion_fits_problem", BASE, {"emotion_type": "loneliness"}),
    ("age_fits_band_stage_and_job", BASE, {"age": 50}),
    ("minor_lives_with_family", BASE, {"age": 16}),
    ("teen_has_no_household_of_their_own", BASE, {"age_band": "teen"}),
    ("no_parents_at_home_past_sixty", BASE, {"age": 65, "living_situation": "with parents"}),
    ("parents_home_is_for_the_young", BASE, {"age": 45, "living_situation": "with parents"}),
    ("children_at_home_fit_age", BASE, {"age": 62, "living_situation": "as a single parent with children"}),
    ("family_home_fits_age", BASE, {"age": 75, "living_situation": "with a partner and children"}),
    ("elderly_parent_fits_age", BASE, {"age": 25, "living_situation": "with an elderly parent"}),
    ("children_at_home_need_an_adult", BASE, {"age": 19, "living_situation": "with a partner and children"}),
    ("raising_children_lives_with_them", BASE, {"life_stage": "raising young children"}),
    ("home_parent_has_children_at_home", BASE, {"occupation": "stay-at-home parent"}),
    ("in_school_is_a_student", BASE, {"life_stage": "in school"}),
    ("pupil_is_in_school", BASE, {"occupation": "high-school student"}),
    ("pupil_lives_at_home", BASE, {"occupation": "high-school student", "living_situation": "with roommates"}),
    ("roommates_before_old_age", BASE, {"age": 70, "living_situation": "with roommates"}),
    ("retired_has_no_job", BASE, {"life_stage": "retired"}),
    ("retiree_life_stage", BASE, {"occupation": "retiree"}),
    ("past_working_age", BASE, {"age": 75}),
    ("career_needs_work", BASE, {"occupation": "stay-at-home parent"}),
    ("bullying_is_at_school", "Someone at school pushed me again yesterday.", {"problem_type": "school bullying", "emotion_type": "fear"}),
    ("academic_pressure_needs_study", "I failed my exams last week.", {"problem_type": "academic pressure"}),
    ("retirement_is_for_retirees", "I retired a month ago.", {"problem_type": "retirement adjustment"}),
    ("burnout_needs_work", "I have been working twelve-hour days for a month.", {"problem_type": "work burnout", "occupation": "unemployed job seeker"}),
    ("job_crisis_needs_a_livelihood", BASE, {"occupation": "stay-at-home parent"}),
    ("children_issues_need_children", "My son has stopped talking to me.", {"problem_type": "issues with children"}),
    ("teen_problems", "I cannot make rent this month.", {"age_band": "teen", "problem_type": "money worries"}),
    ("parent_conflict_before_old_age", "My mother criticises everything I do.", {"age": 65, "problem_type": "conflict with parents", "emotion_type": "anger"}),
    ("busy_with_work_needs_work", BASE, {"coping_style": "keeps busy with work", "occupation": "unemployed job seeker"}),
    ("busy_with_work_not_after_losing_it", "I was laid off last week after years on the ward.", {"coping_style": "keeps busy with work"}),
    ("sleeps_a_lot_not_sleepless", "For a month I have been lying awake until it is light.", {"coping_style": "withdraws and sleeps a lot", "problem_type": "sleep problems"}),
    ("talks_it_through_needs_someone", "Since the job cuts I have no one to talk to.", {}),
    ("drinking_coping_is_adult", BASE, {"coping_style": "drinks more than usual", "age": 16}),
    ("exercise_coping_fits_body", "I have been in pain for a month since I hurt my back on the ward.", {"coping_style": "exercises hard"}),
    ("style_says_disclosure_and_verbosity", BASE, {"verbosity": "terse"}),
    ("job_words_need_a_job", "My boss told me yesterday that my job is at risk.", {"occupation": "freelance graphic designer"}),
    ("work_words_need_work", "Things at work are awful since last week.", {"occupation": "unemployed job seeker"}),
    ("job_search_needs_no_job", "I have sent out dozens of job applications this month.", {}),
    ("school_words_need_a_student", "My exams start in two weeks and my job may be cut.", {}),
    ("job_title_not_pasted", "My hours as a nurse were cut last week.", {}),
    ("roommates_need_a_shared_flat", "My roommate lost her job yesterday and cannot pay her share.", {}),
    ("visiting_parents_means_living_apart", "Every visit home ends in shouting about my job.", {"age": 25, "age_band": "young adult", "living_situation": "with parents"}),
    ("living_alone_said_means_alone", "I live alone, and my job on the ward is all I have.", {"living_situation": "with a partner"}),
    ("widowed_lives_without_partner", "Since my husband died, my job on the ward is all I have.", {"living_situation": "with a partner"}),
    ("silent_days_need_an_empty_home", "Since my job was cut, whole days pass without me speaking to anyone.", {"living_situation": "with a partner"}),
    ("breakup_in_a_shared_home", "My partner ended things by text yesterday.", {"problem_type": "breakup with partner", "emotion_type": "sadness", "living_situation": "with a partner"}),
    ("children_named_exist", "My son keeps asking why I am home, since my job was cut.", {}),
    ("relatives_fit_age", "My 30-year-old son lost his job too.", {"life_stage": "with grown children"}),
    ("old_age_conditions_need_an_old_relative", "My sister has dementia, and my job may be cut.", {}),
    ("situation_fits_problem", "I feel a bit odd about things lately.", {}),
    ("lasting_problem_lasts", "Since yesterday I cannot get out of bed.", {"problem_type": "ongoing depression", "emotion_type": "depression"}),
    ("jealousy_needs_a_rival", "My partner ended things by text yesterday.", {"problem_type": "breakup with partner", "emotion_type": "jealousy"}),
    ("guilt_needs_own_part", "My mother died last week.", {"problem_type": "grief", "emotion_type": "guilt"}),
    ("disgust_needs_conduct", "My best friend stopped answering my messages last week.", {"problem_type": "problems with friends", "emotion_type": "disgust"}),
    ("recent_grave_event_hurts", "My mother died last week.", {"problem_type": "grief", "emotion_type": "sadness", "initial_intensity": 2}),
    ("grave_event_is_never_trivial", "My mother died over a year ago.", {"problem_type": "grief", "emotion_type": "sadness", "initial_intensity": 1}),
    ("minor_event_below_the_top", "My friends planned a trip without me.", {"problem_type": "problems with friends", "emotion_type": "sadness", "initial_intensity": 5}),
]  # fmt: skip


def test_the_base_scenario_is_plausible(bank, checker):
    assert checker.broken(scenario(bank, BASE)) == []


@pytest.mark.parametrize("rule, situation, changes", BROKEN, ids=[c[0] for c in BROKEN])
def test_each_rule_catches_its_contradiction(bank, checker, rule, situation, changes):
    assert rule in checker.broken(scenario(bank, situation, **changes))


def test_every_rule_has_a_reason_and_a_test(bank):
    assert {r.name for r in bank.rules} == {case[0] for case in BROKEN}
    assert all(len(r.reason) > 20 for r in bank.rules)


@pytest.mark.parametrize(
    "situation, changes",
    [
        # The situation says the job is gone: a job title beside it is the one just lost.
        ("I was laid off last week after years on the ward, and every job application since has gone nowhere.", {"emotion_type": "sadness", "initial_intensity": 4}),
        # A pet's death is a loss, not a person's: intensity 2 is plausible.
        ("Our dog of twelve years had to be put down last week.", {"problem_type": "grief", "emotion_type": "sadness", "initial_intensity": 2}),
        # A lasting problem dated by its longest stretch, not by a recent moment in it.
        ("For three months I have barely left my room, and yesterday I missed my sister's call.", {"problem_type": "ongoing depression", "emotion_type": "sadness"}),
        ("My 14-year-old son has stopped talking to me.", {"problem_type": "issues with children", "living_situation": "as a single parent with children"}),
        ("My mother has dementia, and yesterday she did not recognise me.", {"problem_type": "caregiving strain", "emotion_type": "sadness"}),
        ("My exams start in two weeks and I failed the practice paper yesterday.", {"problem_type": "academic pressure", "occupation": "university student", "life_stage": "starting out", "age": 22, "age_band": "young adult"}),
    ],
)  # fmt: skip
def test_plausible_situations_pass(bank, checker, situation, changes):
    assert checker.broken(scenario(bank, situation, **changes)) == []


def test_the_reader(bank):
    reader = SituationReader(bank.cues, bank.household)
    reading = reader.read(
        "My exams start in two weeks, and last week my 15-year-old brother and my baby"
        " daughter were ill for three months."
    )
    assert reading.past_days == (7, 90)  # "in two weeks" is ahead
    assert [(r.kind, r.stated) for r in reading.relatives] == [
        ("sibling", (15, 15)),
        ("child", (0, 2)),
    ]
    assert "school_life" in reading.mentions and "own_child" in reading.mentions
    assert reader.read("My husband left.").relatives[0].seeker_min_age == 20


# -- 10,000 sampled scenarios -------------------------------------------------------------


def test_ten_thousand_sampled_scenarios_break_no_rule(bank, sampled):
    scenarios, turned_away = sampled
    result = check_scenarios(scenarios, bank)
    assert result.clean, {r: n for r, n in result.counts.items() if n}
    # Coherent by construction: the check turns away only a few drafts on the way.
    assert sum(turned_away.values()) < 0.03 * len(scenarios), turned_away


def test_situations_follow_their_event(bank, sampled):
    scenarios, _ = sampled
    events = {
        f"situations.yaml:{problem}/{event.id}": event
        for problem, entry in bank.situations.problems.items()
        for event in entry.events
    }
    used = Counter()
    for s in scenarios:
        event = events[s.situation_source.ref]
        used[s.situation_source.ref] += 1
        assert s.emotion_type in event.emotions  # the feeling follows the event
        assert event.intensity[0] <= s.initial_intensity <= event.intensity[1]
        title = s.persona.occupation.lower()
        assert f"as a {title}" not in s.situation.lower()  # woven, not pasted
        assert f"as an {title}" not in s.situation.lower()
    assert set(used) == set(events), sorted(set(events) - set(used))  # no dead template


def test_thousand_situations_rarely_repeat(bank):
    scenarios = SampledScenarios(bank).scenarios(1000, seed=7)
    texts = Counter(s.situation for s in scenarios)
    assert (1000 - len(texts)) / 1000 <= 0.05
    assert sum(n for n in texts.values() if n > 1) / 1000 <= 0.05
    blank = SkeletonBlanker(bank)
    assert len({blank(s.situation) for s in scenarios}) >= 300


# -- the CLI -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bank_file(tmp_path_factory) -> Path:
    from factory.cli import main

    path = tmp_path_factory.mktemp("bank") / "bank.jsonl"
    main(["personas", "sample", "-n", "200", "--seed", "5", "--no-dedup", "-o", str(path)])
    return path


def test_check_a_clean_bank(cli, bank_file, bank):
    result = cli("personas", "check", str(bank_file))
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert len(lines) == len(bank.rules) + 1
    assert lines[-1] == f"200 scenarios, {len(bank.rules)} rules: no violations"
    assert lines[0].split() == ["known_values", "0"]


def test_check_reports_each_broken_rule(cli, bank_file, tmp_path):
    rows = [json.loads(line) for line in bank_file.read_text().splitlines()]
    rows[3]["persona"]["age"] = 99  # outside every range, past working age, ...
    rows[3]["id"] = "sc-old"
    rows[7]["initial_intensity"] = 5
    rows[7]["situation"] = "My friends planned a trip without me."
    rows[7]["problem_type"], rows[7]["emotion_type"] = "problems with friends", "sadness"
    rows[7]["id"] = "sc-trip"
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = cli("personas", "check", str(broken))
    assert result.code == 1
    lines = result.out.strip().splitlines()
    by_rule = {line.split()[0]: line for line in lines[:-1]}
    assert by_rule["age_fits_band_stage_and_job"].split()[1:] == ["1", "e.g.", "sc-old"]
    assert by_rule["minor_event_below_the_top"].split()[1:] == ["1", "e.g.", "sc-trip"]
    assert lines[-1].startswith("2 of 200 scenarios break ")
    assert result.err == ""


@pytest.mark.parametrize(
    "content, message",
    [
        (
            None,
            "scenario bank {path} not found: pass a .jsonl written by `factory personas sample`",
        ),
        ("", "{path} holds no scenarios"),
        ("this is not json\n", "{path}:1: Invalid JSON"),
        ('{"id": "sc-1"}\n', "{path}:1: problem_type: Field required"),
        ("[1, 2]\n", "{path}:1: Input should be an object"),
    ],
)
def test_check_bad_input_is_one_line(cli, tmp_path, content, message):
    path = tmp_path / "bank.jsonl"
    if content is not None:
        path.write_text(content)
    result = cli("personas", "check", str(path))
    assert result.code == 1
    assert result.err.startswith("error: ") and result.err.strip().count("\n") == 0
    assert message.format(path=path) in result.err
    assert "Traceback" not in result.err


def test_check_a_directory(cli, tmp_path):
    result = cli("personas", "check", str(tmp_path))
    assert result.code == 1 and "is a directory: pass a scenario bank .jsonl" in result.err


def test_stats_counts_copies_and_skeletons(cli, bank_file):
    result = cli("personas", "stats", str(bank_file))
    assert result.code == 0, result.err
    assert "distinct situations: " in result.out
    assert "distinct skeletons (times, people, jobs blanked): " in result.out


def test_skeletons_blank_times_people_and_jobs(bank):
    blank = SkeletonBlanker(bank)
    assert blank("My 15-year-old son lied to me last week at the warehouse.") == (
        "My <P> lied to me <T> <J>."
    )
    assert blank("My hours as a nurse were cut two days ago.") == "<J> as <J> were cut <T>."
