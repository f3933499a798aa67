"""The persona bank, the stratified sampler, situations, dedup and the `personas` CLI."""

import json
import random
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from encoders import bag_of_words

from factory.backends.scripted import ScriptedBackend
from factory.errors import DataFileError
from factory.resources import data_dir
from factory.scenarios.bank import SampledScenarios
from factory.scenarios.builder import ScenarioConfig, sample_scenarios
from factory.scenarios.dedup import EmbeddingDeduper, dedup_text
from factory.scenarios.persona_bank import PersonaBank
from factory.scenarios.sampler import PersonaSampler
from factory.settings import load_settings


def settings(**overrides) -> ScenarioConfig:
    return load_settings(ScenarioConfig, None, overrides)


@pytest.fixture(scope="module")
def bank() -> PersonaBank:
    return PersonaBank()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "personas"
    shutil.copytree(data_dir("personas"), target)
    return target


@pytest.fixture
def no_rules(data_copy: Path) -> str:
    """Persona data without plausibility rules: any scripted situation text is accepted,
    so the LLM-writer tests see only the writer's own refusals."""
    (data_copy / "constraints.yaml").write_text("rules: []\n")
    return str(data_copy)


# -- the data files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "file, old, new, message",
    [
        (
            "attributes.yaml",
            "genders: [woman, man, non-binary]",
            "genders: [woman, man, non-binary]\nhair: [red]",
            "attributes.yaml: unknown key 'hair' (allowed here: age_bands, genders,",
        ),
        (
            "attributes.yaml",
            "genders: [woman, man, non-binary]",
            "genders: []",
            "attributes.yaml: genders: List should have at least 1 item",
        ),
        (
            "constraints.yaml",
            "    when: {problem: [work burnout]}\n",
            "    when: {problem: [work burnot]}\n",
            "constraints.yaml: rules.24.when.problem: unknown value 'work burnot'",
        ),
        (
            "constraints.yaml",
            "    when: {age_band: [teen]}",
            "    when: {shoe_size: [teen]}",
            "constraints.yaml: rules.4.when.shoe_size",
        ),
        (
            "constraints.yaml",
            "  - name: minor_lives_with_family\n",
            "  - name: Minor lives with family\n",
            "constraints.yaml: rules.3: name 'Minor lives with family': use snake_case",
        ),
        (
            "constraints.yaml",
            "    when: {age: {max: 17}}",
            "    when: {age: [17]}",
            "constraints.yaml: rules.3: minor_lives_with_family: when.age: give a range {min, max}",
        ),
        (
            "cues.yaml",
            '    - "laid off"',
            '    - "laid (off"',
            "cues.yaml: cues.job_lost: bad pattern 'laid (off'",
        ),
        (
            "problems.yaml",
            "emotions: [anxiety, depression, nervousness]}",
            "emotions: [anxiety, boredom]}",
            "problems.yaml: problems.5.emotions: unknown emotion 'boredom'",
        ),
        (
            "situations.yaml",
            'text: "my {person} died {when}"',
            'text: "my {person} died {decade}"',
            "situations.yaml: problems.grief: unknown slot '{decade}'",
        ),
        (
            "situations.yaml",
            "emotions: [sadness, depression, loneliness, pain, anger]",
            "emotions: [sadness, jealousy]",
            "situations.yaml: problems.grief.relative_died.emotions: 'jealousy' is not an emotion",
        ),
        (
            "situations.yaml",
            "who: {kinds: [friend]}\n        emotions: [sadness, anxiety, loneliness, anger]",
            "who: {kinds: [neighbour]}\n        emotions: [sadness, anxiety, loneliness, anger]",
            "problems.problems with friends.went_silent.who.kinds: unknown kind 'neighbour'",
        ),
        (
            "household.yaml",
            "offset: [18, 45], words: [mother",
            "offset: [45, 18], words: [mother",
            "household.yaml: relations.0: mother: offset [45, 18] is upside down",
        ),
        (
            "emotions.yaml",
            "family: anxiety, esconv_weight: 354",
            "family: anxiety, weight: 354",
            "emotions.yaml: unknown key 'emotions.0.weight' (allowed here: name, family,",
        ),
    ],
)
def test_bad_data_files_fail_at_load_naming_file_and_key(data_copy, file, old, new, message):
    path = data_copy / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(DataFileError) as caught:
        PersonaBank(data_copy)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_template_for_a_problem_is_reported(data_copy):
    path = data_copy / "situations.yaml"
    path.write_text(path.read_text().replace("  retirement adjustment:", "  retirement adjustmnt:"))
    with pytest.raises(DataFileError, match="unknown problem"):
        PersonaBank(data_copy)


def test_an_event_naming_a_person_needs_who(data_copy):
    path = data_copy / "situations.yaml"
    text = path.read_text()
    old = '        text: "our {pet} of twelve years had to be put down {when}"'
    assert old in text
    path.write_text(text.replace(old, '        text: "{they} had to put our {pet} down {when}"'))
    with pytest.raises(
        DataFileError, match=r"pet_died: names \{person\} or a pronoun but has no `who`"
    ):
        PersonaBank(data_copy)


# -- the sampler -------------------------------------------------------------------------


def test_persona_draws_break_no_rule_and_fit_their_age_ranges(bank):
    sampler = PersonaSampler(bank)
    stages = {s.name: s for s in bank.attributes.life_stages}
    cells = sampler.cell_sequence(3)
    for i in range(1500):
        draw = sampler.draw(random.Random(i), next(cells))
        broken = sampler.checker.first_broken(draw.facts)
        assert broken is None, (broken.name, draw.facts)
        assert draw.event is not None and draw.emotion in draw.event.emotions
        low, high = draw.event.intensity
        assert low <= draw.intensity <= high
        persona = draw.persona
        group, title = bank.occupation_of(persona.occupation)
        assert group.name == draw.facts["occupation"]
        assert group.min_age <= persona.age <= group.max_age
        if title is not None:  # a library title: its own ages too
            assert title.min_age <= persona.age <= title.max_age
        assert (
            stages[persona.life_stage].min_age <= persona.age <= stages[persona.life_stage].max_age
        )
        assert draw.emotion in next(p.emotions for p in bank.problems if p.name == draw.problem)


def test_an_impossible_cell_is_left_out(data_copy):
    path = data_copy / "constraints.yaml"
    path.write_text(
        path.read_text()
        + "  - name: no_guilty_grief\n    reason: test\n"
        + "    when: {problem: [grief]}\n    exclude: {emotion: [guilt]}\n"
    )
    sampler = PersonaSampler(PersonaBank(data_copy))
    assert ("grief", "guilt") in sampler.infeasible
    assert ("grief", "guilt") not in sampler.cells


def test_grid_is_covered_before_any_cell_repeats(bank):
    sampler = PersonaSampler(bank)
    scenarios = SampledScenarios(bank).scenarios(len(sampler.cells) + 20, seed=11)
    first = [(s.problem_type, s.emotion_type) for s in scenarios[: len(sampler.cells)]]
    assert sorted(first) == sorted(sampler.cells)


def test_esconv_mix_follows_the_weights(bank):
    sequence = PersonaSampler(bank, mix="esconv").cell_sequence(5)
    cells = [next(sequence) for _ in range(3000)]
    later = Counter(problem for problem, _ in cells[86:])
    assert later["ongoing depression"] > 10 * later["school bullying"]
    uniform = PersonaSampler(bank, mix="uniform").cell_sequence(5)
    flat = Counter(next(uniform)[0] for _ in range(3000))
    assert max(flat.values()) < 3 * min(flat.values())


def test_same_seed_same_scenarios_other_seed_others_and_prefix_stable(bank):
    source = SampledScenarios(bank)
    first = source.scenarios(60, seed=4)
    assert first == SampledScenarios(bank).scenarios(60, seed=4)
    assert source.scenarios(30, seed=4) == first[:30]
    other = source.scenarios(60, seed=5)
    assert len({s.id for s in first} & {s.id for s in other}) < 5


async def test_the_scenario_draw_is_pinned_and_shared_by_both_samplers(bank):
    # The ids hash each scenario's whole content: a change in the cell order, the random
    # streams or the persona draw changes them, and every dialogue id with them.
    pinned = ["sc-701cf9a5424d", "sc-61581741ff83", "sc-a245522d9a36", "sc-4907d7aea9e1"]
    on_the_fly = SampledScenarios(bank).scenarios(4, seed=4)
    assert [s.id for s in on_the_fly] == pinned
    banked, _ = await sample_scenarios(settings(n=4, seed=4, **{"dedup.enabled": False}))
    assert banked == on_the_fly


def test_thousand_template_scenarios_in_seconds(bank):
    import time

    began = time.perf_counter()
    scenarios = SampledScenarios(bank).scenarios(1000, seed=1)
    assert time.perf_counter() - began < 10
    assert len({s.id for s in scenarios}) == 1000


# -- dedup and situations ----------------------------------------------------------------


async def test_near_duplicates_are_rejected_and_counted():
    # 0.85: with library names and job titles, few descriptions reach 0.9 in bag of words.
    scenarios, report = await sample_scenarios(
        settings(n=150, seed=2, **{"dedup.threshold": 0.85}), encoder=bag_of_words
    )
    vectors = bag_of_words([dedup_text(s) for s in scenarios])
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, 0)
    pairs_over = int((similarity >= 0.85).sum() // 2)
    assert report.duplicates_rejected > 0
    # Only scenarios kept after max_attempts may still be near-duplicates.
    assert pairs_over <= report.kept_after_max_attempts * 2
    undeduped, _ = await sample_scenarios(settings(n=150, seed=2, **{"dedup.enabled": False}))
    raw = bag_of_words([dedup_text(s) for s in undeduped])
    raw_similarity = raw @ raw.T
    np.fill_diagonal(raw_similarity, 0)
    assert int((raw_similarity >= 0.85).sum() // 2) > pairs_over


async def test_deduped_bank_is_deterministic_and_prefix_stable():
    a, _ = await sample_scenarios(settings(n=80, seed=9), encoder=bag_of_words)
    b, _ = await sample_scenarios(settings(n=80, seed=9, concurrency=3), encoder=bag_of_words)
    c, _ = await sample_scenarios(settings(n=40, seed=9), encoder=bag_of_words)
    assert a == b
    assert a[:40] == c


def test_deduper_threshold():
    deduper = EmbeddingDeduper(0.95, bag_of_words)
    vectors = bag_of_words(
        ["my dog died last week", "my dog died last week", "I failed my exam badly"]
    )
    assert deduper.admit(vectors[0])[0]
    assert not deduper.admit(vectors[1])[0]
    assert deduper.admit(vectors[2])[0]
    assert deduper.rejected == 1


def test_minilm_sees_paraphrases_as_close():
    pytest.importorskip("sentence_transformers")
    from factory.embeddings import minilm_encoder

    vectors = minilm_encoder()(
        [
            "My dog died last week and the house feels empty.",
            "Last week my dog passed away and now my home feels so empty.",
            "I have three exams tomorrow and have not studied at all.",
        ]
    )
    assert float(vectors[0] @ vectors[1]) > 0.8
    assert float(vectors[0] @ vectors[2]) < 0.4


def _situation_backend(text_for: dict[str, str]) -> ScriptedBackend:
    def respond(request):
        assert request.agent == "situation"
        prompt = request.messages[-1]["content"]
        return next((text for key, text in text_for.items() if key in prompt), text_for["*"])

    return ScriptedBackend(respond)


async def test_llm_written_situations_record_their_source(no_rules):
    backend = _situation_backend(
        {"*": "I lost my footing at work after a long illness. Now every day feels like a test."}
    )
    scenarios, report = await sample_scenarios(
        settings(n=3, situations="llm", data_dir=no_rules, **{"dedup.enabled": False}),
        backend=backend,
    )
    assert {s.situation_source.kind for s in scenarios} == {"llm"}
    assert (
        scenarios[0].situation
        == "I lost my footing at work after a long illness. Now every day feels like a test."
    )
    assert report.usage.calls == 3


async def test_seeded_paraphrases_never_copy_the_seed(tmp_path, no_rules):
    seed_text = (
        "I am on short term disability and I am afraid I will lose my job if I do not go back soon."
    )
    cards = tmp_path / "cards.json"  # ESC-Eval role cards carry no problem type: usable for any
    cards.write_text(json.dumps([{"base": f"Age: 30\nGender: Female\nProblem: {seed_text}"}]))
    # The model copies the seed: rejected each time, and the template takes over.
    copier = _situation_backend({"*": seed_text})
    cfg = settings(
        n=2, situations="seeded", seeds=[str(cards)], data_dir=no_rules, **{"dedup.enabled": False}
    )
    scenarios, report = await sample_scenarios(cfg, backend=copier)
    assert all(s.situation != seed_text for s in scenarios)
    assert {s.situation_source.kind for s in scenarios} == {"template"}
    assert report.llm_fallbacks == 2
    # A real paraphrase is kept, with the seed's file and line but not its text.
    writer = _situation_backend(
        {
            "*": "Since my back injury I have been home on leave. My boss keeps asking when I will return."
        }
    )
    scenarios, report = await sample_scenarios(cfg, backend=writer)
    assert {s.situation_source.kind for s in scenarios} == {"esc_eval"}
    assert scenarios[0].situation_source.ref == "cards.json:1"
    assert scenarios[0].situation_source.method == "paraphrased"
    assert seed_text not in json.dumps([s.model_dump() for s in scenarios])


def test_esconv_seeds_match_the_problem_type(tmp_path):
    from factory.scenarios.situations import LLMSituationWriter, load_seeds

    seeds_file = tmp_path / "esconv.jsonl"
    rows = [
        {"problem_type": "job crisis", "situation": "I lost my job."},
        {"problem_type": "Issues with Parents", "situation": "My parents yell at me."},
    ]
    seeds_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    seeds = load_seeds([seeds_file])
    assert [(s.problem, s.ref) for s in seeds] == [
        ("job crisis", "esconv.jsonl:1"),
        ("conflict with parents", "esconv.jsonl:2"),
    ]
    writer = LLMSituationWriter(ScriptedBackend(), None, None, seeds)  # type: ignore[arg-type]
    draw = PersonaSampler(PersonaBank()).draw(random.Random(0), ("conflict with parents", "anger"))
    assert writer._seed_for(draw, random.Random(0)).text == "My parents yell at me."
    draw = PersonaSampler(PersonaBank()).draw(random.Random(0), ("grief", "sadness"))
    assert (
        writer._seed_for(draw, random.Random(0)) is None
    )  # no seed of that kind: write from scratch


async def test_llm_situations_that_echo_or_are_not_first_person_are_refused(no_rules):
    backend = _situation_backend({"*": "Person: a man who works hard every single day at a job."})
    backend.enqueue(
        "She is a nurse who feels sad about her mother.",  # third person
        "I write short, realistic situations for people who reach out to a chat.",  # echo
        "My mother died in spring and I still set a plate for her at dinner.",
    )
    cfg = settings(n=1, situations="llm", data_dir=no_rules, **{"dedup.enabled": False})
    scenarios, report = await sample_scenarios(cfg, backend=backend)
    assert (
        scenarios[0].situation
        == "My mother died in spring and I still set a plate for her at dinner."
    )
    assert report.usage.calls == 3 and report.llm_fallbacks == 0


async def test_implausible_llm_situations_are_refused_by_rule():
    # Says nothing a reader would file under any problem: situation_fits_problem refuses it.
    vague = "I feel a bit odd about things lately and it is hard to say more than that."
    cfg = settings(n=2, situations="llm", **{"dedup.enabled": False})
    scenarios, report = await sample_scenarios(cfg, backend=_situation_backend({"*": vague}))
    assert report.refused_outputs == {"implausible:situation_fits_problem": 6}
    assert report.llm_fallbacks == 2
    assert {s.situation_source.kind for s in scenarios} == {"template"}


# -- the CLI -----------------------------------------------------------------------------


def test_sample_is_byte_identical_for_the_same_seed(cli, tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    for out, seed in ((a, "3"), (b, "3"), (c, "4")):
        result = cli(
            "personas", "sample", "-n", "120", "--seed", seed, "--no-dedup", "-o", str(out)
        )
        assert result.code == 0, result.err
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert len(a.read_text().splitlines()) == 120
    assert "wrote 120 scenarios" in result.out


def test_stats_shows_full_coverage(cli, tmp_path, bank):
    bank_file = tmp_path / "bank.jsonl"
    cli("personas", "sample", "-n", "100", "--no-dedup", "-o", str(bank_file))
    result = cli("personas", "stats", str(bank_file))
    assert result.code == 0, result.err
    cells = len(PersonaSampler(bank).cells)
    assert f"problem x emotion cells covered: {cells} of {cells} allowed" in result.out
    assert "missing cells" not in result.out
    assert "age_band: " in result.out and "big_five.neuroticism: " in result.out


def test_generate_from_a_bank(cli, tmp_path):
    bank_file = tmp_path / "bank.jsonl"
    cli("personas", "sample", "-n", "3", "--no-dedup", "-o", str(bank_file))
    out = tmp_path / "run"
    result = cli("generate", "--dry-run", "-n", "3", "--scenarios", str(bank_file), "-o", str(out))
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in (out / "dialogues.jsonl").read_text().splitlines()]
    bank_rows = [json.loads(line) for line in bank_file.read_text().splitlines()]
    assert sorted(r["scenario"]["id"] for r in rows) == sorted(b["id"] for b in bank_rows)
    assert all("big_five" in r["persona"] for r in rows)  # traits travel with the dialogue


@pytest.mark.parametrize(
    "args, message",
    [
        (["--mix", "zipf"], "'zipf' is not one of 'uniform', 'esconv'"),
        (["--situations", "seeded"], "seeded needs seed files"),
        (["--situations", "seeded", "--seeds", "/nope.jsonl"], "seed file /nope.jsonl not found"),
        (["--seeds", "/nope.jsonl"], "seeds are only read with situations: seeded"),
        (["-n", "0"], "n: Input should be greater than or equal to 1"),
    ],
)
def test_sample_bad_input_is_one_line(cli, tmp_path, args, message):
    out = tmp_path / "bank.jsonl"
    result = cli("personas", "sample", "--no-dedup", "-o", str(out), *args)
    assert result.code == 1
    assert result.err.strip().count("\n") == 0 and message in result.err
    assert not out.exists()


def test_stats_bad_input(cli, tmp_path):
    result = cli("personas", "stats", str(tmp_path / "none.jsonl"))
    assert result.code == 1 and "not found" in result.err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert "holds no scenarios" in cli("personas", "stats", str(empty)).err


def test_require_rules_hold(bank):
    sampler = PersonaSampler(bank)
    for i in range(300):
        draw = sampler.draw(random.Random(i), ("retirement adjustment", "sadness"))
        assert draw.persona.occupation == "retiree"
        assert draw.persona.life_stage in {"retired", "with grown children"}
        bullied = sampler.draw(random.Random(i), ("school bullying", "fear"))
        assert bullied.persona.age_band == "teen"
        assert bullied.persona.occupation == "high-school student"


def test_living_situations_fit_age_and_life_stage(bank):
    scenarios = SampledScenarios(bank).scenarios(1500, seed=21)
    for s in scenarios:
        p = s.persona
        if p.age_band == "teen":
            assert p.living_situation not in {
                "alone",
                "with a partner",
                "with a partner and children",
            }
        if p.life_stage == "raising young children":
            assert p.living_situation in {
                "with a partner and children",
                "as a single parent with children",
            }
        if p.life_stage == "retired" or p.age > 70:
            assert p.occupation == "retiree"
        if p.age < 18:
            assert p.living_situation == "with parents"


def test_esconv_mix_matches_esconv_problem_shares(bank):
    sampler = PersonaSampler(bank, mix="esconv")
    sequence = sampler.cell_sequence(2)
    cells = [next(sequence) for _ in range(6000)][len(sampler.cells) :]
    shares = Counter(problem for problem, _ in cells)
    total_weight = sum(p.esconv_weight or 1 for p in bank.problems)
    for problem in bank.problems:
        expected = (problem.esconv_weight or 1) / total_weight
        assert abs(shares[problem.name] / len(cells) - expected) < 0.005, problem.name


def test_bad_sampling_settings_are_one_line(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("intensity_weights: [0, 0, 0, 0, 0]\n")
    result = cli("personas", "sample", "-c", str(config), "-o", str(tmp_path / "b.jsonl"))
    assert result.code == 1 and "intensity_weights: five finite weights >= 0" in result.err
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli("personas", "sample", "--no-dedup", "-o", str(blocker / "b.jsonl"))
    assert result.code == 1 and "cannot write to" in result.err
    result = cli("personas", "sample", "--no-dedup", "-o", str(tmp_path))
    assert result.code == 1 and "is a directory" in result.err
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_data_dir_through_the_cli(cli, data_copy, tmp_path):
    (data_copy / "constraints.yaml").write_text(
        "rules:\n  - name: x\n    reason: y\n"
        "    when: {problem: [grief]}\n    exclude: {emotion: [sorrow]}\n"
    )
    result = cli(
        "personas",
        "sample",
        "--no-dedup",
        "--data-dir",
        str(data_copy),
        "-o",
        str(tmp_path / "b.jsonl"),
    )
    assert result.code == 1
    assert "constraints.yaml: rules.0.exclude.emotion: unknown value 'sorrow'" in result.err


async def test_dedup_retries_are_deterministic_and_written_aside(tmp_path):
    cfg = settings(n=60, seed=9, **{"dedup.threshold": 0.6})
    a, report = await sample_scenarios(cfg, encoder=bag_of_words)
    b, _ = await sample_scenarios(
        settings(n=60, seed=9, concurrency=3, **{"dedup.threshold": 0.6}), encoder=bag_of_words
    )
    c, _ = await sample_scenarios(
        settings(n=30, seed=9, **{"dedup.threshold": 0.6}), encoder=bag_of_words
    )
    assert report.duplicates_rejected > 0
    assert a == b and a[:30] == c
    from factory.scenarios.builder import write_bank

    write_bank(a, tmp_path / "bank.jsonl", report.rejected)
    rejected = [json.loads(x) for x in (tmp_path / "bank.rejected.jsonl").read_text().splitlines()]
    near = [r for r in rejected if r["reason"] == "near_duplicate"]
    assert len(near) == report.duplicates_rejected
    assert all(r["similarity"] >= 0.6 for r in near)
    implausible = [r for r in rejected if r["reason"] == "implausible"]
    assert len(implausible) == sum(report.implausible_redrawn.values())
    assert all(r["rules"] for r in implausible)


def test_short_seeds_cannot_be_copied():
    from factory.scenarios.situations import LLMSituationWriter, Seed

    seed = Seed("I feel depressed and overwhelmed.", "ongoing depression", "esconv", "x:1")
    messages = [
        {"role": "system", "content": "Write a situation."},
        {"role": "user", "content": "Go."},
    ]
    copied = "I feel depressed and overwhelmed. Now I cannot sleep at all and I feel lost in my own home."
    assert LLMSituationWriter._refusal(copied, messages, seed) == "copies_seed"
    fresh = "Since the winter began I stay in bed most days and my work has piled up."
    assert LLMSituationWriter._refusal(fresh, messages, seed) is None
    helper = "I'm here to support you, and you can tell me anything you feel."
    assert LLMSituationWriter._refusal(helper, messages, None) == "speaks_to_someone"


def test_situation_and_paraphrase_prompts(persona):
    from factory.prompts import PromptLibrary

    library = PromptLibrary()
    person = persona.model_copy(update={"living_situation": "alone"})
    messages = library.get("situation").render(
        persona=person, problem="grief", emotion="sadness", intensity=4
    )
    assert messages[1]["content"] == (
        "Person: 30-year-old woman, a nurse, lives alone.\nProblem: grief. Main feeling: sadness.\nWrite their situation."
    )
    assert messages[0]["content"].startswith("You write short, realistic situations")
    paraphrase = library.get("paraphrase").render(
        seed="I lost my dog.", persona=person, problem="grief", emotion="sadness", intensity=4
    )
    assert paraphrase[1]["content"] == (
        "Example: I lost my dog.\nNew person: 30-year-old woman, a nurse.\nProblem: grief. Main feeling: sadness.\nWrite their situation."
    )
    assert "Never copy phrases from the example." in paraphrase[0]["content"]
