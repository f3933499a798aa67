"""Dialogue-shape data, word budgets and the strategy-mix target: drawn as the data says,
and bad files refused in one line."""

import random
import statistics

import pytest

from factory.errors import DataFileError
from factory.models import Persona
from factory.roleplay.mix import MixController, phase_targets, target_mix
from factory.roleplay.shape import (
    ShapeData,
    ShapeOverrides,
    draw_plan,
    load_shape,
    phase_of,
    word_budget,
)
from factory.roleplay.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def data() -> ShapeData:
    return ShapeData.load("esconv", None)


def persona(age: int = 30, verbosity: str | None = None) -> Persona:
    return Persona(id="p", name="A", age=age, gender="woman", occupation="nurse", style="",
                   verbosity=verbosity)  # fmt: skip


def test_drawn_lengths_follow_esconvs_table(data):
    rng = random.Random(1)
    bounds = ShapeOverrides(min_exchanges=1, max_exchanges=100)
    targets = [draw_plan(data, persona(), bounds, rng)[0].target_exchanges for _ in range(4000)]
    table = data.profile.exchanges
    expected = sum(k * w for k, w in table.items()) / sum(table.values())
    assert abs(statistics.fmean(targets) - expected) < 0.2  # ESConv: 11.5 seeker turns
    assert min(targets) >= min(table) and max(targets) <= max(table)


def test_overrides_fix_the_plan(data):
    rng = random.Random(2)
    fixed = ShapeOverrides(1, 30, target_exchanges=7, supporter_first_share=1.0,
                           closing_reply_share=0.0)  # fmt: skip
    for _ in range(20):
        plan, supporter = draw_plan(data, persona(), fixed, rng)
        assert plan.target_exchanges == 7 and plan.supporter_first
        assert not plan.seeker_answers_closing
        assert len(set(supporter.experiences)) == 3
    clipped = ShapeOverrides(min_exchanges=12, max_exchanges=14)
    lengths = {draw_plan(data, persona(), clipped, rng)[0].target_exchanges for _ in range(200)}
    assert lengths == {12, 13, 14}


def test_phases_follow_the_profile(data):
    phases = [phase_of(e, 10, data.profile) for e in range(10)]
    assert phases == ["opening", "exploration", "exploration", "comforting", "comforting",
                      "action", "action", "action", "action", "action"]  # fmt: skip


def test_word_budgets_are_ranges_centred_on_esconv_and_scaled_by_verbosity(data):
    rng = random.Random(3)
    profile = data.profile

    def centres(role, verbosity=None, phase="exploration"):
        spans = [word_budget(role, phase, profile, rng, verbosity) for _ in range(3000)]
        assert all(1 <= low < high for low, high in spans)
        return statistics.fmean((low + high) / 2 for low, high in spans)

    supporter, seeker = centres("supporter"), centres("seeker")
    assert 15 <= supporter <= 20 and 11 <= seeker <= 16  # ESConv: 18.3 and 14.9 words
    assert centres("seeker", "terse") < seeker < centres("seeker", "chatty")
    assert centres("supporter", phase="opening") < 8


def test_typing_style_depends_on_age(data):
    rng = random.Random(4)
    bounds = ShapeOverrides(1, 30)

    def share_lowercase(age):
        styles = [draw_plan(data, persona(age), bounds, rng)[0].typing_style for _ in range(800)]
        return sum("lowercase" in (s or "") for s in styles) / len(styles)

    assert share_lowercase(19) > 2 * share_lowercase(70)


def test_target_mixes():
    esconv = load_taxonomy("esconv")
    mix = target_mix("taxonomy", esconv)
    assert mix["Question"] == pytest.approx(0.207, abs=0.001) and sum(
        mix.values()
    ) == pytest.approx(1)
    assert set(target_mix("uniform", esconv).values()) == {1 / 8}
    extes = load_taxonomy("extes")
    assert set(target_mix("taxonomy", extes).values()) == {1 / 16}  # no published mix
    with pytest.raises(DataFileError, match="lacks"):
        target_mix("esconv", extes)


def test_a_mix_file(tmp_path):
    taxonomy = load_taxonomy("esconv")
    good = tmp_path / "mix.yaml"
    good.write_text("Question: 3\nOthers: 1\n")
    assert target_mix(str(good), taxonomy)["Question"] == 0.75
    for text, message in [
        ("Questions: 1\n", "unknown strategies Questions"),
        ("Question: -1\n", "weights >= 0"),
        ("Question: 0\n", "all zero"),
        ("[1, 2]\n", "maps strategy names"),
    ]:
        good.write_text(text)
        with pytest.raises(DataFileError, match=message):
            target_mix(str(good), taxonomy)
    with pytest.raises(DataFileError, match="neither taxonomy"):
        target_mix(str(tmp_path / "missing.yaml"), taxonomy)


def test_the_controller_trims_over_used_strategies_but_leaves_a_choice():
    target = {"a": 0.5, "b": 0.25, "c": 0.125, "d": 0.125}
    mix = MixController(target, tolerance=0.0)
    mix.observe(["a"] * 10)
    assert mix.trim(["a", "b", "c", "d"]) == ["b", "c", "d"]
    mix.observe(["b"] * 10 + ["c"] * 10)
    # Everyone but d is over; the three most needed stay on the menu.
    assert len(mix.trim(["a", "b", "c", "d"])) == 3 and "d" in mix.trim(["a", "b", "c", "d"])
    assert mix.trim(["a", "b"]) == ["a", "b"]  # a phase menu this small is never trimmed
    off = MixController(target, enabled=False)
    off.observe(["a"] * 100)
    assert off.trim(["a", "b", "c", "d"]) == ["a", "b", "c", "d"]


def test_bad_shape_and_taxonomy_files_are_one_line(tmp_path):
    with pytest.raises(DataFileError, match="unknown dialogue shape 'nope'"):
        load_shape("nope")
    bad = tmp_path / "shape.yaml"
    bad.write_text(
        (load_shape("esconv").model_dump_json()).replace('"comforting":0.3', '"comforting":0.9')
    )
    with pytest.raises(DataFileError, match="start shares must not decrease"):
        load_shape(str(bad))
    taxonomy = tmp_path / "t.yaml"
    taxonomy.write_text(
        "name: t\nstrategies:\n  - {name: A, description: a}\n  - {name: B, description: b}\n"
        "phase_rules: {opening: [C]}\n"
    )
    with pytest.raises(DataFileError, match=r"phase_rules\.opening"):
        load_taxonomy(str(taxonomy))


def test_a_bad_strategy_mix_in_the_config_is_one_line(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("roleplay: {strategy_mix: nowhere.yaml}\n")
    result = cli("generate", "--dry-run", "--config", str(config), "-n", "1",
                 "-o", str(tmp_path / "run"))  # fmt: skip
    assert result.code == 1 and result.err.count("\n") == 1
    assert "strategy_mix 'nowhere.yaml'" in result.err
    assert not (tmp_path / "run").exists()


def test_per_phase_targets_come_from_the_taxonomy_only():
    esconv = load_taxonomy("esconv")
    targets = phase_targets("taxonomy", esconv)
    assert set(targets) == {"opening", "exploration", "comforting", "action", "closing"}
    assert targets["exploration"]["Question"] > targets["action"]["Question"]
    assert all(sum(t.values()) == pytest.approx(1) for t in targets.values())
    assert phase_targets("uniform", esconv) == {}
    assert phase_targets("taxonomy", load_taxonomy("extes")) == {}


def test_each_phase_is_steered_by_its_own_counts():
    mix = MixController(
        {"a": 0.5, "b": 0.5, "c": 0.0, "d": 0.0},
        by_phase={"early": {"a": 1.0, "b": 0, "c": 0, "d": 0}},
        tolerance=0.0,
        min_choices=1,
    )
    mix.observe(["a"] * 20 + ["b", "c", "d"], "early")
    # Early on, "a" is what the phase wants; later the run-wide target counts.
    assert mix.trim(["a", "b", "c", "d"], "early") == ["a"]
    assert mix.trim(["a", "b", "c", "d"], "late") == ["b"]
