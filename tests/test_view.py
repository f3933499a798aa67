"""`factory view`: what it reads (four kinds of input, malformed lines kept as such), the page
it writes (self-contained, data round-trips), and, in a real headless Chromium, a page of
10,000 dialogues searched, filtered, opened and reviewed, whose exported decisions drive
`factory curate --decisions` to the expected kept set."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from factory.models import Dialogue
from factory.testing.corpus import varied_copies

SHORT = "name: short\nfilters:\n  - use: structure\n    min_turns: 19\n"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> list[Dialogue]:
    """The 12 dry-run dialogues of seed 5, made once for the module."""
    from factory.cli import main

    out = tmp_path_factory.mktemp("seeds") / "run"
    main(["generate", "--dry-run", "-n", "12", "--seed", "5", "--out", str(out)])
    return [
        Dialogue.model_validate_json(line)
        for line in (out / "dialogues.jsonl").read_text().splitlines()
    ]


def _write(path: Path, dialogues: list[Dialogue], *bad: str) -> Path:
    lines = [d.model_dump_json(exclude_none=True) for d in dialogues]
    path.write_text("\n".join([*lines, *bad]) + "\n")
    return path


def _blob(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert match, "the page embeds its data"
    return json.loads(match.group(1))


def test_each_kind_of_input_reads_with_its_outcomes(cli, seeds, tmp_path):
    source = _write(tmp_path / "d.jsonl", seeds, '{"id": "broken"', "not json at all")
    recipe = tmp_path / "short.yaml"
    recipe.write_text(SHORT)
    assert cli("filter", str(source), "-o", str(tmp_path / "f"), "-r", str(recipe)).code == 0
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(source, run / "dialogues.jsonl")
    root = tmp_path / "datasets"
    result = cli("curate", str(run), "--name", "esc", "-r", str(recipe), "-o", str(root))
    assert result.code == 0, result.err
    version = root / "esc" / "v0.1.0"
    expected = {
        "d.jsonl": ("dialogues file", {2: 12, 3: 2}),
        "f": ("filter output", {0: 6, 1: 6, 3: 2}),
        "run": ("run directory", {2: 12, 3: 2}),
        "v0.1.0": ("dataset version", {0: 6, 1: 6, 3: 2}),
    }
    for path in (source, tmp_path / "f", run, version):
        page = tmp_path / f"{path.name}.html"
        result = cli("view", str(path), "--out", str(page))
        assert result.code == 0, result.err
        data = _blob(page.read_text())
        kind, statuses = expected[path.name]
        assert data["kind"] == kind
        found: dict[int, int] = {}
        for row in data["D"]:
            found[row[4]] = found.get(row[4], 0) + 1
        assert found == statuses, path
    # A version's dialogues carry their split; a malformed line its raw text and error.
    data = _blob((tmp_path / "v0.1.0.html").read_text())
    splits = {data["S"][row[5]] for row in data["D"] if row[4] == 0}
    assert splits <= {"train", "validation", "test"} and splits
    bad = [row for row in data["D"] if row[4] == 3]
    assert {row[7] for row in bad} == {'{"id": "broken"', "not json at all"}
    assert all(data["S"][row[10][0][2]] == "malformed_input" for row in bad)
    assert len(data["F"]) == 1 and data["F"][0][:4] == ["structure", 12, 6, 6]


def test_the_page_is_self_contained_and_its_text_cannot_break_out(cli, seeds, tmp_path):
    evil = seeds[0].model_copy(deep=True)
    evil.turns[0].text = "</script><script>alert(1)</script> & <b>bold</b>"
    source = _write(tmp_path / "d.jsonl", [evil, *seeds[1:]])
    page = tmp_path / "page.html"
    result = cli("view", str(source), "--out", str(page), "--reference", str(source))
    assert result.code == 0, result.err
    assert "wrote" in result.out and "12 not filtered" in result.out
    html = page.read_text()
    assert html.count("<script") == 2 and html.count("</script>") == 2
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "fetch(" not in html
    data = _blob(html)
    assert data["D"][0][9][0][1] == evil.turns[0].text
    assert abs(sum(data["R"].values()) - 1) < 0.01


def test_a_persons_verdict_decides_a_lines_status(seeds, tmp_path):
    from factory.models import Verdict
    from factory.view.sources import load_source

    dropped = Verdict(filter="structure", keep=False, reason="too_few_turns")
    rescued = Verdict(filter="human_review", keep=True, reason="human_keep")
    overruled = Verdict(filter="human_review", keep=False, reason="human_review")
    rows = [
        seeds[0].model_copy(update={"verdicts": [dropped, rescued]}),
        seeds[1].model_copy(
            update={"verdicts": [Verdict(filter="x", keep=True, reason="ok"), overruled]}
        ),
        seeds[2].model_copy(update={"verdicts": [dropped]}),
        seeds[3],
    ]
    source = load_source(_write(tmp_path / "d.jsonl", rows))
    assert [e.status for e in source.entries] == ["kept", "dropped", "dropped", "unfiltered"]


def test_bad_input_is_one_error_line(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "raw.jsonl").write_text('{"dialog": []}\n{"dialog": [1]}\n')
    for path, says in (
        (tmp_path / "empty", "is none of the folders factory view reads"),
        (tmp_path / "missing", "not found"),
        (tmp_path / "raw.jsonl", "none of its 2 lines is a dialogue"),
    ):
        result = cli("view", str(path), "--out", str(tmp_path / "x.html"))
        assert result.code == 1
        assert result.err.startswith("error:") and says in result.err
        assert len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


# -- the page in a real browser --------------------------------------------------------------


def _chromium() -> str:
    """The system Chromium and the playwright package, or a skip that names what is missing
    (FACTORY_REQUIRE_BROWSER=1, set by CI once it installed them, turns the skip into a failure)."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    browser = next(
        (p for p in ("chromium", "chromium-browser", "google-chrome") if shutil.which(p)), None
    )
    if browser is None:
        missing.append("a Chromium binary (apt-get install chromium)")
    if missing:
        why = "browser tests need " + " and ".join(missing)
        if os.environ.get("FACTORY_REQUIRE_BROWSER"):
            pytest.fail(why)
        pytest.skip(why)
    return str(shutil.which(browser))  # type: ignore[arg-type]


def test_ten_thousand_dialogues_searched_filtered_reviewed_and_curated(cli, seeds, tmp_path):
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    dialogues = list(varied_copies(seeds, 10_000))
    source = _write(tmp_path / "source.jsonl", dialogues)
    recipe = tmp_path / "short.yaml"
    recipe.write_text(SHORT)
    assert cli("filter", str(source), "-o", str(tmp_path / "f"), "-r", str(recipe)).code == 0
    kept_ids = [json.loads(x)["id"] for x in (tmp_path / "f" / "kept.jsonl").open()]
    short_ids = [json.loads(x)["id"] for x in (tmp_path / "f" / "rejected.jsonl").open()]
    assert len(kept_ids) + len(short_ids) == 10_000 and 1000 < len(short_ids) < 9000
    page = tmp_path / "page.html"
    assert cli("view", str(tmp_path / "f"), "--out", str(page)).code == 0
    word = dialogues[0].turns[1].text.split()[-1].strip(".,!?").lower()
    with_word = sum(
        any(word in t.text.lower() for t in d.turns)
        or word in f"{d.id}\n{d.scenario.situation}\n{d.persona.name}".lower()
        for d in dialogues
    )

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 850})
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(page.as_uri())
        tab.wait_for_function("window.viewReady")
        assert tab.inner_text("#count") == "10,000 of 10,000 dialogues"
        assert tab.locator("#list .row").count() < 100  # only what is on screen
        # Full-text search, then a facet: the drop reason.
        tab.fill("#search", word)
        tab.wait_for_function(
            f"document.getElementById('count').textContent.startsWith('{with_word:,}')"
        )
        tab.fill("#search", "")
        tab.wait_for_function("document.getElementById('count').textContent.startsWith('10,000')")
        tab.check("input[data-facet=reason][value=too_few_turns]")
        assert tab.inner_text("#count") == f"{len(short_ids):,} of 10,000 dialogues"
        # Open the first dropped one; its verdict says why; keep it with a note.
        tab.click("#list .row >> nth=0")
        assert tab.is_visible("#dialogue")
        rescued = tab.get_attribute("#list .row.sel", "data-id")
        assert rescued in short_ids
        assert "too_few_turns" in tab.inner_text("#dialogue .side")
        assert tab.locator("#dialogue .bubble").count() >= 2
        tab.fill("#note", "short but warm")
        tab.keyboard.press("Escape")
        tab.keyboard.press("a")
        # Two kept ones dropped with j and d.
        tab.uncheck("input[data-facet=reason][value=too_few_turns]")
        tab.check("input[data-facet=status][value=kept]")
        tab.click("#list .row >> nth=0")
        tab.keyboard.press("d")
        tab.keyboard.press("j")
        tab.keyboard.press("d")
        dropped = tab.eval_on_selector_all(
            "#list .row .mk.drop", "rows => rows.map(r => r.parentElement.dataset.id)"
        )
        assert len(dropped) == 2 and set(dropped) <= set(kept_ids)
        tab.fill("#reviewer", "ana")
        # Marks survive a reload (browser storage), then export them.
        tab.reload()
        tab.wait_for_function("window.viewReady")
        assert tab.inner_text("#marks") == "3"
        with tab.expect_download() as download:
            tab.click("#export")
        exported = tmp_path / "decisions.json"
        download.value.save_as(exported)
        assert errors == []
        browser.close()

    decisions = json.loads(exported.read_text())["decisions"]
    assert {(d["id"], d["decision"]) for d in decisions} == {
        (rescued, "keep"),
        *((i, "drop") for i in dropped),
    }
    assert all(d["reviewer"] == "ana" and d["time"] for d in decisions)
    assert next(d for d in decisions if d["id"] == rescued)["note"] == "short but warm"
    root = tmp_path / "datasets"
    result = cli(
        "curate", str(source), "--name", "esc", "-r", str(recipe), "-o", str(root),
        "--decisions", str(exported),
    )  # fmt: skip
    assert result.code == 0, result.err
    from factory.dataset.table import read_split

    version = root / "esc" / "v0.1.0"
    manifest = json.loads((version / "manifest.json").read_text())
    kept = {d.id for s in manifest["split_files"].values() for d in read_split(version / s)}
    assert kept == (set(kept_ids) - set(dropped)) | {rescued}
    assert manifest["review"]["kept"] == 1 and manifest["review"]["dropped"] == 2


def test_the_skip_names_what_is_missing_and_ci_turns_it_into_a_failure(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("FACTORY_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"a Chromium binary \(apt-get install"):
        _chromium()
    monkeypatch.setenv("FACTORY_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="browser tests need"):
        _chromium()


def test_a_small_page_sorts_shows_malformed_lines_and_draws_the_overview(cli, seeds, tmp_path):
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    from factory.models import Verdict

    judged = [
        d.model_copy(
            update={"verdicts": [Verdict(filter="judge", keep=True, reason="ok", score=k / 4)]}
        )
        for k, d in enumerate(seeds)
    ]
    source = _write(tmp_path / "d.jsonl", judged, "{broken line")
    page = tmp_path / "page.html"
    assert cli("view", str(source), "-o", str(page), "--reference", str(source)).code == 0
    drops = {}
    for d in seeds:
        levels = [d.scenario.initial_intensity] + [t.intensity for t in d.turns if t.intensity]
        drops[d.id] = levels[0] - levels[-1]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 850})
        tab.goto(page.as_uri())
        tab.wait_for_function("window.viewReady")

        def first_ids(n: int) -> list[str]:
            return tab.eval_on_selector_all(
                "#list .row", f"rows => rows.slice(0, {n}).map(r => r.dataset.id)"
            )

        tab.select_option("#sort", "turns-desc")
        longest = max(seeds, key=lambda d: len(d.turns))
        assert first_ids(1) == [longest.id]
        tab.select_option("#sort", "score-desc")
        assert first_ids(2) == [judged[-1].id, judged[-2].id]
        tab.select_option("#sort", "drop-desc")
        assert drops[first_ids(1)[0]] == max(drops.values())
        # The broken line is listed, opens to its raw text, and cannot be marked.
        tab.check("input[data-facet=status][value=malformed]")
        tab.click("#list .row >> nth=0")
        assert "{broken line" in tab.inner_text("#dialogue .raw")
        tab.keyboard.press("d")
        assert tab.inner_text("#marks") == "0"
        tab.click("#clear")
        tab.click("#tab-overview")
        overview = tab.inner_text("#overview")
        assert "No filter report" in overview and "the dark line is the reference" in overview
        assert tab.locator("#overview .grid td").count() > 0
        assert tab.is_hidden("#list-pane")
        browser.close()
