"""`factory eval`: measures, the published ESConv numbers, the comparison with a reference,
skipped measures, plots, and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory.counting import distinct_n, jensen_shannon
from factory.evaluation.tally import measure
from factory.models import Dialogue

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run(tmp_path: Path, cli) -> Path:
    out = tmp_path / "run"
    assert cli("generate", "--dry-run", "-n", "30", "--seed", "2", "--out", str(out)).code == 0
    return out


def read(path: Path) -> list[Dialogue]:
    return [Dialogue.model_validate_json(line) for line in path.read_text().splitlines()]


def test_divergence_and_distinct_n():
    assert jensen_shannon({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0
    assert jensen_shannon({"a": 1.0}, {"b": 1.0}) == 1
    assert 0 < jensen_shannon({"a": 0.7, "b": 0.3}, {"a": 0.3, "b": 0.7}) < 1
    assert distinct_n(["a b a b"], 1) == 0.5 and distinct_n(["a b a b"], 2) == round(2 / 3, 4)
    assert distinct_n([""], 2) is None


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")
def test_eval_reproduces_the_published_esconv_statistics(cli, tmp_path):
    esconv = tmp_path / "esconv.jsonl"
    splits = [str(SHARED / "esconv" / f"esconv_{s}.jsonl") for s in ("train", "valid", "test")]
    assert cli("import", "esconv", *splits, "-o", str(esconv)).code == 0
    result = cli("eval", str(esconv), "--out", str(tmp_path / "report"))
    assert result.code == 0, result.err
    m = json.loads((tmp_path / "report" / "report.json").read_text())["measures"]
    # ../shared/REFERENCE.md: 29.5 utterances per dialogue, 14.8 / 18.1 tokens per seeker /
    # supporter utterance, 6.5% duplicate supporter utterances, the strategy shares.
    assert m["dialogues"] == 1300
    assert round(m["utterances_per_dialogue"], 1) == 29.5
    assert round(m["tokens_per_seeker_utterance"], 1) == 14.8
    assert round(m["tokens_per_supporter_utterance"], 1) == 18.1
    assert round(100 * m["duplicate_supporter_utterance_share"], 1) == 6.5
    published = {
        "Question": 20.7,
        "Others": 18.2,
        "Providing Suggestions": 16.1,
        "Affirmation and Reassurance": 15.4,
        "Self-disclosure": 9.3,
        "Reflection of feelings": 7.8,
        "Information": 6.6,
        "Restatement or Paraphrasing": 5.9,
    }
    assert {k: round(100 * v, 1) for k, v in m["strategy"].items()} == published
    assert m["emotion"]["anxiety"] == 354 and m["emotion"]["depression"] == 334


def test_eval_against_a_reference_writes_report_plots_and_realism(cli, run, tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("sentence_transformers")
    other = tmp_path / "other"
    assert cli("generate", "--dry-run", "-n", "30", "--seed", "9", "--out", str(other)).code == 0
    out = tmp_path / "report"
    result = cli(
        "eval", str(run), "--reference", str(other), "--out", str(out), "--sample-size", "10"
    )
    assert result.code == 0, result.err
    data = json.loads((out / "report.json").read_text())
    comparison = data["comparison"]
    assert 0 <= comparison["strategy_jsd"] <= 1
    assert 0 <= comparison["realism"]["auc_mean"] <= 1 and comparison["realism"]["per_side"] == 30
    assert "distinct_2_sample10" in data["measures"]
    assert data["measures"]["intensity"]["dialogues_rated"] == 30
    assert set(data["plots"]) == {"strategy.png", "lengths.png", "intensity.png", "coverage.png"}
    for name in data["plots"]:
        assert (out / name).read_bytes().startswith(PNG)
    markdown = (out / "report.md").read_text()
    assert "| utterances (messages) per dialogue |" in markdown and "AUC" in markdown
    assert "realism AUC" in result.out


def test_eval_without_strategies_skips_what_it_cannot_measure(cli, run, tmp_path):
    plain = tmp_path / "plain.jsonl"
    rows = []
    for d in read(run / "dialogues.jsonl"):
        turns = [t.model_copy(update={"strategy": None, "intensity": None}) for t in d.turns]
        rows.append(d.model_copy(update={"turns": turns}).model_dump_json())
    plain.write_text("\n".join(rows) + "\n")
    result = cli(
        "eval",
        str(plain),
        "--reference",
        str(run / "dialogues.jsonl"),
        "-o",
        str(tmp_path / "r"),
        "--no-realism",
    )
    assert result.code == 0, result.err
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    skipped = data["skipped"]
    assert set(skipped) >= {"strategy", "strategy_jsd", "intensity", "realism", "judge"}
    assert "no supporter utterance has a strategy" in skipped["strategy"]
    assert "skipped strategy:" in result.err
    assert "strategy" not in data["measures"] and "strategy.png" not in data["plots"]


def test_eval_reads_a_dataset_version(cli, run, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("filters:\n  - use: structure\n")
    root = tmp_path / "ds"
    assert cli("curate", str(run), "--name", "x", "-r", str(recipe), "-o", str(root)).code == 0
    result = cli("eval", str(root / "x" / "v0.1.0"), "-o", str(tmp_path / "r"))
    assert result.code == 0, result.err
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["input"]["kind"] == "dataset version" and data["measures"]["dialogues"] == 30
    direct = measure(read(run / "dialogues.jsonl"), sample_size=10)
    assert data["measures"]["utterances_per_dialogue"] == direct.measures.utterances_per_dialogue


def test_eval_reads_a_filter_output_and_filter_names_what_it_cannot_read(cli, run, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("filters:\n  - use: structure\n")
    filtered = tmp_path / "filtered"
    assert cli("filter", str(run), "-r", str(recipe), "-o", str(filtered)).code == 0
    result = cli("eval", str(filtered), "-o", str(tmp_path / "r"), "--no-realism")
    assert result.code == 0, result.err
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    kept = len((filtered / "kept.jsonl").read_text().splitlines())
    assert data["input"]["kind"] == "filter output (kept.jsonl)"
    assert data["measures"]["dialogues"] == kept > 0
    # Malformed lines are named in the report a person reads, not only on stderr.
    broken = tmp_path / "broken.jsonl"
    broken.write_text((filtered / "kept.jsonl").read_text() + "not a dialogue\n{}\n")
    assert cli("eval", str(broken), "-o", str(tmp_path / "r2"), "--no-realism").code == 0
    assert "2 malformed lines were left out." in (tmp_path / "r2" / "report.md").read_text()
    assert "malformed" not in (tmp_path / "r" / "report.md").read_text()
    # filter (and curate) read dialogues files and runs: the other folders are named.
    again = cli("filter", str(filtered), "-r", str(recipe), "-o", str(tmp_path / "f2"))
    assert again.code == 1 and f"pass {filtered / 'kept.jsonl'}" in again.err
    root = tmp_path / "ds"
    assert cli("curate", str(run), "--name", "x", "-r", str(recipe), "-o", str(root)).code == 0
    version = cli(
        "filter", str(root / "x" / "v0.1.0"), "-r", str(recipe), "-o", str(tmp_path / "f3")
    )
    assert version.code == 1 and "is a dataset version, which filter and curate do not read" in (
        version.err
    )


def test_eval_errors_are_one_line(cli, run, tmp_path):
    def one_line(result, text):
        assert result.code == 1, result
        assert result.err.strip().splitlines()[-1].startswith("error: ") and text in result.err
        assert "Traceback" not in result.err

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    one_line(cli("eval", str(empty), "-o", str(tmp_path / "a")), "holds no dialogues")
    raw = tmp_path / "raw.jsonl"
    raw.write_text(
        json.dumps({"emotion_type": "anxiety", "dialog": [{"speaker": "usr", "text": "hi"}]}) + "\n"
    )
    one_line(
        cli("eval", str(run), "--reference", str(raw), "-o", str(tmp_path / "b")),
        "reference " + str(raw) + ": none of its 1 lines is a dialogue",
    )
    one_line(cli("eval", str(tmp_path / "nope"), "-o", str(tmp_path / "c")), "not found")
    one_line(cli("eval", str(run), "-o", str(tmp_path / "d"), "--sample-size", "3"), "too small")


def test_eval_output_problems_are_one_line_and_reruns_leave_no_stale_plot(cli, run, tmp_path):
    out = tmp_path / "r"
    (out / "report.json").mkdir(parents=True)  # something in the way of the report
    blocked = cli("eval", str(run), "-o", str(out))
    assert blocked.code == 1 and "cannot write the report into" in blocked.err
    assert "Traceback" not in blocked.err and not list(out.glob(".eval-*"))
    (out / "report.json").rmdir()
    assert cli("eval", str(run), "-o", str(out), "--sample-size", "10").code == 0
    assert (out / "strategy.png").is_file()
    assert "distinct-2, samples of 10 dialogues" in (out / "report.md").read_text()
    plain = tmp_path / "plain.jsonl"
    rows = []
    for d in read(run / "dialogues.jsonl"):
        turns = [t.model_copy(update={"strategy": None}) for t in d.turns]
        rows.append(d.model_copy(update={"turns": turns}).model_dump_json())
    plain.write_text("\n".join(rows) + "\n")
    assert cli("eval", str(plain), "-o", str(out)).code == 0
    assert not (out / "strategy.png").exists()  # the earlier run's plot is gone


def test_eval_names_empty_measures_and_unreadable_judge_scores(cli, run, tmp_path):
    from factory.models import Verdict

    seekers_only = tmp_path / "seekers.jsonl"
    rows = []
    for i, d in enumerate(read(run / "dialogues.jsonl")):
        turns = [t for t in d.turns if t.role == "seeker"]
        judge = Verdict(
            filter="judge",
            keep=True,
            reason="ok",
            # None is the judge's "not applicable": neither a score nor unreadable.
            details={"scores": {"empathy": "n/a" if i else 4, "persona_consistency": None}},
        )
        rows.append(d.model_copy(update={"turns": turns, "verdicts": [judge]}).model_dump_json())
    seekers_only.write_text("\n".join(rows) + "\n")
    result = cli("eval", str(seekers_only), "-o", str(tmp_path / "r"))
    assert result.code == 0, result.err
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["skipped"]["tokens_per_supporter_utterance"] == "no supporter utterances"
    assert "29 judge scores are not numbers" in data["skipped"]["judge_unreadable_scores"]
    assert data["measures"]["judge"] == {"empathy": 4.0}


def test_realism_is_skipped_not_fatal_without_the_embed_extra(cli, run, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    result = cli("eval", str(run), "--reference", str(run), "-o", str(tmp_path / "r"))
    assert result.code == 0, result.err
    skipped = json.loads((tmp_path / "r" / "report.json").read_text())["skipped"]
    assert "needs the `embed` extra" in skipped["realism"]


def test_report_json_reads_back_through_the_model_unchanged(cli, run, tmp_path):
    from factory.evaluation.report import EvalReport

    out = tmp_path / "r"
    result = cli(
        "eval",
        str(run),
        "--reference",
        str(run),
        "-o",
        str(out),
        "--sample-size",
        "10",
        "--no-realism",
    )
    assert result.code == 0, result.err
    text = (out / "report.json").read_text()
    report = EvalReport.model_validate_json(text)
    assert report.to_json() == text
    assert report.measures.sampled is not None and report.measures.sampled.size == 10
    assert report.comparison.strategy_jsd == 0 and report.comparison.realism is None
    assert f"distinct-2 {report.measures.distinct_2}" in result.out


def test_a_set_sharing_dialogues_with_its_reference_is_warned_about(cli, run, tmp_path):
    out = tmp_path / "r"
    result = cli("eval", str(run), "--reference", str(run), "-o", str(out), "--no-realism")
    assert result.code == 0, result.err
    n = len((run / "dialogues.jsonl").read_text().splitlines())
    assert f"warning: {n} of the {n} dialogues are also in the reference" in result.err
    report = json.loads((out / "report.json").read_text())
    assert report["comparison"]["shared_with_reference"] == n
    assert (
        f"**Warning: {n} of the {n} dialogues are also in the reference"
        in (out / "report.md").read_text()
    )


def test_an_auc_under_half_is_explained(monkeypatch):
    import factory.evaluation.realism as realism
    from factory.evaluation.evaluate import _compare
    from factory.evaluation.tally import measure

    low = realism.Realism(auc_mean=0.07, auc_std=0.02, folds=5, per_side=10, max_words=256)
    monkeypatch.setattr(realism, "sampled_realism_auc", lambda *args, **kwargs: low)

    from types import SimpleNamespace

    from factory.evaluation.tally import SetTally

    nothing = SimpleNamespace(tally=SetTally(), digests=[], source=SimpleNamespace(fetch=None))
    empty = measure([])
    from factory.embedding_store import EmbeddingStore

    stores = [EmbeddingStore(None), EmbeddingStore(None)]
    comparison = _compare(nothing, empty, nothing, empty, stores, 0, {})
    assert comparison.warnings and "AUC 0.07 is under 0.5" in comparison.warnings[0]


def test_intensity_by_position_puts_first_and_last_ratings_at_0_and_1(run):
    dialogues = read(run / "dialogues.jsonl")
    every_turn = measure(dialogues).measures.intensity
    assert every_turn is not None
    points = [float(k) for k in every_turn.by_position]
    assert points[0] == 0.0 and points[-1] == 1.0 and len(points) > 2
    # ESConv's shape: a rating on the first and the last seeker turn only.
    ends_only = []
    for d in dialogues:
        seeker = [i for i, t in enumerate(d.turns) if t.role == "seeker"]
        turns = [
            t.model_copy(update={"intensity": None}) if i in seeker[1:-1] else t
            for i, t in enumerate(d.turns)
        ]
        ends_only.append(d.model_copy(update={"turns": turns}))
    two_points = measure(ends_only).measures.intensity
    assert two_points is not None and list(two_points.by_position) == ["0.0", "1.0"]
    assert two_points.by_position["1.0"] == every_turn.by_position["1.0"]
    # by_seeker_turn kept the last ratings at the turn they fell on, far from each other.
    assert len(two_points.by_seeker_turn) > 2


def test_the_report_reads_for_a_person(cli, run, tmp_path):
    other = tmp_path / "other"
    assert cli("generate", "--dry-run", "-n", "12", "--seed", "5", "--out", str(other)).code == 0
    out = tmp_path / "r"
    result = cli("eval", str(run), "--reference", str(other), "-o", str(out), "--no-realism")
    assert result.code == 0, result.err
    text = (out / "report.md").read_text()
    assert "| measure | evaluated | reference | better |" in text
    assert text.index("| intensity: first rating") < text.index("| intensity: last rating")
    # Shares as percentages, with the direction of each measure.
    assert "| supporter utterances with a strategy | 100.0% | 100.0% | higher |" in text
    assert "| supporter utterances repeating an earlier one |" in text and "| lower |" in text
    assert "nearer the reference" in text and "lower is better" in text
    for raw in ("improved_share", "mean_drop", "dialogues_rated", "utterances_per_dialogue"):
        assert raw not in text
    assert "- seeker_closed: the seeker ended it near its planned length:" in text


def test_plots_put_both_sets_on_shared_labelled_axes(run, tmp_path):
    from factory.evaluation import plots

    plt = plots._pyplot()
    mine = read(run / "dialogues.jsonl")
    theirs = mine[:10]
    measured, reference = measure(mine).measures, measure(theirs).measures
    sides = (("evaluated (run)", plots.SUBJECT), ("reference (ref)", plots.REFERENCE))
    from factory.evaluation.tally import tally_of

    coverage = plots._coverage(
        plt, tally_of(mine), tally_of(theirs), ("evaluated (run)", "reference (ref)")
    )
    panels = [ax for ax in coverage.axes if ax.get_title()]
    assert [ax.get_title().split(":")[0] for ax in panels] == ["evaluated (run)", "reference (ref)"]
    assert coverage.axes[-1].get_ylabel().startswith("share of the set's dialogues")
    lengths = plots._lengths(plt, tally_of(mine), tally_of(theirs), sides)
    assert lengths.axes[0].get_ylabel() == "share of the set's utterances"
    intensity = plots._intensity(plt, measured, reference, sides)
    ax = intensity.axes[0]
    assert ax.get_xlabel().startswith("position in the dialogue") and ax.get_xlim() == (-0.05, 1.05)
    assert [line.get_label() for line in ax.get_lines()] == [s[0] for s in sides]
    for fig in (coverage, lengths, intensity):
        plt.close(fig)
