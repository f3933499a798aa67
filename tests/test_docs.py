"""The documentation cannot drift from the code: the configuration reference is generated
from the settings models, and every settings key is described."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_configuration_page_is_the_one_the_models_generate():
    from factory.cli.reference import render_reference

    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == render_reference(), (
        "docs/configuration.md differs from the settings models: regenerate it with"
        " `python -m factory.cli.reference > docs/configuration.md`"
    )


def test_every_settings_key_is_described():
    from factory.cli.reference import reference_sections

    bare = [
        f"{page}: {row.key}"
        for page, sections in reference_sections().items()
        for section in sections
        for row in section.rows
        if not row.meaning
    ]
    assert not bare, f"give these fields a description=: {bare}"


def test_the_reference_shows_types_bounds_defaults_and_choices():
    from factory.cli.reference import render_reference

    page = render_reference()
    assert "| `concurrency` | integer, >= 1, <= 4096 | `8` |" in page
    assert "| `structured` | `json_schema` \\| `json_object` \\| `prompt` | `json_schema` |" in page
    assert "| `budget.prices.NAME.prompt` | number, >= 0 | required |" in page
    assert "### `kind: openai`" in page and "### `minhash_dedup`" in page
    # Every link inside the page lands on an anchor the page defines.
    import re

    anchors = set(re.findall(r'<a id="([^"]+)"></a>', page))
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", page, re.M)
    }
    for target in re.findall(r"\]\(#([^)]+)\)", page):
        assert target in anchors | headings, target
