"""The `factory view` page measured in headless Chromium: for 1,000 and 10,000 dialogues
(varied copies of ESConv's test split, run through a structure-only filter so half carry a
drop), the page's size, the time to write it, the time to first render (navigation start
to the first list rows drawn, the median of three loads), and how long a search and a facet
click take to redraw.

    python bench/view.py --shared ../shared/data [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from factory.filters.pipeline import run_recipe
from factory.filters.recipe import load_recipe
from factory.importers.esconv import import_esconv
from factory.testing.corpus import varied_copies
from factory.view.page import write_page
from factory.view.sources import load_source

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
ARGS += ["--disable-quic", "--disable-background-networking", "--disable-component-update"]


def _apply_ms(tab: object, action: str) -> float:
    """Milliseconds the page spent filtering and redrawing after `action` (its own count)."""
    tab.evaluate(f"() => {{ window.viewApplyMs = null; {action}; }}")  # type: ignore[attr-defined]
    tab.wait_for_function("window.viewApplyMs !== null")  # type: ignore[attr-defined]
    return float(tab.evaluate("window.viewApplyMs"))  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    seeds, _ = import_esconv([args.shared / "esconv" / "esconv_test.jsonl"])
    print(
        "| dialogues | page MB | write s | first render ms (median of 3) | search ms | facet ms |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp_name, sync_playwright() as pw:
        tmp = Path(tmp_name)
        recipe_path = tmp / "structure.yaml"
        recipe_path.write_text("name: s\nfilters:\n  - use: structure\n    min_turns: 24\n")
        browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS)
        for n in (int(x) for x in args.sizes.split(",")):
            source = tmp / f"source-{n}.jsonl"
            source.write_text("".join(d.model_dump_json() + "\n" for d in varied_copies(seeds, n)))
            run_recipe(source, load_recipe(str(recipe_path)), tmp / f"f{n}", warn=lambda m: None)
            began = time.perf_counter()
            page = tmp / f"page-{n}.html"
            size = write_page(load_source(tmp / f"f{n}"), page)
            written = time.perf_counter() - began
            renders = []
            for _ in range(3):
                tab = browser.new_page(viewport={"width": 1400, "height": 850})
                tab.goto(page.as_uri())
                tab.wait_for_function("window.viewReady")
                renders.append(float(tab.evaluate("window.viewReady")))
                tab.close()
            tab = browser.new_page(viewport={"width": 1400, "height": 850})
            tab.goto(page.as_uri())
            tab.wait_for_function("window.viewReady")
            # The first search also builds the lower-cased text it looks in.
            search = _apply_ms(
                tab,
                "const s = document.getElementById('search'); s.value = 'feel';"
                " s.dispatchEvent(new Event('input'))",
            )
            facet = _apply_ms(
                tab, "document.querySelector('input[data-facet=status][value=dropped]').click()"
            )
            tab.close()
            print(
                f"| {n:,} | {size / 1e6:.1f} | {written:.1f} | {statistics.median(renders):.0f}"
                f" | {search:.0f} | {facet:.0f} |"
            )
        browser.close()


if __name__ == "__main__":
    main()
