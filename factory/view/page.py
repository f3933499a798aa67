"""The `factory view` page: one self-contained HTML file. Its script, styles and markup live
beside this module (view.js, view.css, page.html.jinja) and are inlined; the data goes in as
one JSON blob of positional arrays with a string table for labels, so 10,000 dialogues cost
little more than their text. Nothing is fetched from the network when the page opens.

Dialogue rows (keys of the JSON blob are documented at the top of view.js):
[id, problem, emotion, end reason, status, split, persona, situation, initial intensity,
 turns, verdicts, model], labels as indexes into `S`."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from factory import __version__
from factory.counting import shares
from factory.jsonl import atomic_file
from factory.models import Dialogue, Persona, Turn, Verdict
from factory.view.sources import Entry, ViewSource

HERE = Path(__file__).parent
STATUS = {"kept": 0, "dropped": 1, "unfiltered": 2, "malformed": 3}


class Strings:
    """The page's string table: each label once, referred to by its index."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def __call__(self, value: str | None) -> int:
        if value is None:
            return -1
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.items)
            self.items.append(value)
        return found


def _persona(p: Persona) -> list[Any]:
    extra = {
        k: v
        for k, v in (
            ("age band", p.age_band),
            ("life stage", p.life_stage),
            ("living", p.living_situation),
            ("background", p.cultural_background),
            ("coping", p.coping_style),
            ("disclosure", p.disclosure),
            ("verbosity", p.verbosity),
        )
        if v
    }
    return [p.name, p.age, p.gender, p.occupation, ", ".join(p.traits), p.style, extra]


def _turn(t: Turn, s: Strings) -> list[Any]:
    """[role (0 seeker, 1 supporter), text, strategy, intensity, rationale], trailing
    empties left off."""
    row: list[Any] = [0 if t.role == "seeker" else 1, t.text, s(t.strategy), t.intensity or 0]
    if t.rationale:
        row.append(t.rationale)
    while len(row) > 2 and row[-1] in (-1, 0):
        row.pop()
    return row


def _verdict(v: Verdict, s: Strings) -> list[Any]:
    row: list[Any] = [s(v.filter), int(v.keep), s(v.reason), v.score]
    if v.details:
        row.append(v.details)
    return row


def _row(entry: Entry, s: Strings) -> list[Any]:
    d = entry.dialogue
    status = STATUS[entry.status]
    if d is None:  # a malformed line: its raw text where the situation goes
        bad = [[s("input"), 0, s("malformed_input"), None, {"error": entry.error}]]
        return [entry.where, -1, -1, -1, status, -1, None, entry.raw, 0, [], bad, -1]
    return [
        d.id,
        s(d.scenario.problem_type),
        s(d.scenario.emotion_type),
        s(d.end_reason),
        status,
        s(entry.split),
        _persona(d.persona),
        d.scenario.situation,
        d.scenario.initial_intensity,
        [_turn(t, s) for t in d.turns],
        [_verdict(v, s) for v in d.verdicts],
        s(f"{d.generation.backend}:{d.generation.model}"),
    ]


def strategy_shares(dialogues: list[Dialogue]) -> dict[str, float]:
    """Each strategy's share of the supporter turns that name one."""
    return shares(
        Counter(
            t.strategy for d in dialogues for t in d.turns if t.role == "supporter" and t.strategy
        )
    )


def build_payload(
    source: ViewSource, reference: dict[str, float] | None = None, reference_name: str = ""
) -> dict[str, Any]:
    """The JSON blob the page reads."""
    s = Strings()
    rows = [_row(e, s) for e in source.entries]
    ids = "\n".join(str(r[0]) for r in rows)
    funnel = [
        [step.filter, step.entered, step.dropped, step.kept, step.drop_reasons]
        for step in source.funnel
    ]
    return {
        "v": 1,
        "title": source.title,
        "kind": source.kind,
        "source": source.path.name,
        "made": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": __version__,
        # Marks in the browser's storage belong to this set of dialogues, not to any page.
        "key": hashlib.sha256(f"{source.title}\n{ids}".encode()).hexdigest()[:16],
        "S": s.items,
        "D": rows,
        "F": funnel,
        "R": reference,
        "Rn": reference_name,
    }


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)
    return env.from_string((HERE / "page.html.jinja").read_text(encoding="utf-8"))


def render_page(payload: dict[str, Any]) -> str:
    """The HTML file: template, styles, script and data, with nothing left to fetch."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    # Inside <script> only "</" could end the element early; \u003c reads back as "<".
    data = data.replace("<", "\\u003c")
    return _template().render(
        title=payload["title"] or "dialogues",
        css=Markup((HERE / "view.css").read_text(encoding="utf-8")),
        js=Markup((HERE / "view.js").read_text(encoding="utf-8")),
        data=Markup(data),
    )


def write_page(
    source: ViewSource, out: Path, reference: list[Dialogue] | None = None, reference_name: str = ""
) -> int:
    """Writes the page to `out`; returns its size in bytes."""
    shares_ = strategy_shares(reference) if reference else None
    html = render_page(build_payload(source, shares_, reference_name))
    with atomic_file(out) as handle:
        handle.write(html)
    return out.stat().st_size
