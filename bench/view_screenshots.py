"""The screenshots of docs/view.md and the README: a `factory view` page opened in headless
Chromium, as a list (the dropped dialogues, one marked keep), a dialogue (rationales open) and
the overview.

    python bench/view_screenshots.py PAGE.html DIALOGUE_ID [--out docs]
"""

from __future__ import annotations

import argparse
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("dialogue", help="the id of the dialogue to show")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS)
        tab = browser.new_page(viewport={"width": 1440, "height": 860})
        tab.goto(args.page.resolve().as_uri())
        tab.wait_for_function("window.viewReady")
        tab.fill("#reviewer", "ana")
        tab.check("input[data-facet=status][value=dropped]")
        tab.click("#list .row >> nth=1")
        tab.fill("#note", "the emotion label is arguable; the talk is good")
        tab.keyboard.press("Escape")
        tab.keyboard.press("a")
        tab.keyboard.press("Escape")
        tab.screenshot(path=args.out / "view-list.png")
        tab.uncheck("input[data-facet=status][value=dropped]")
        tab.fill("#search", args.dialogue)
        tab.wait_for_function("document.getElementById('count').textContent.startsWith('1 ')")
        tab.click("#list .row >> nth=0")
        for chip in range(1, 4):
            tab.click(f"#dialogue .chip >> nth={chip}")
        tab.screenshot(path=args.out / "view-dialogue.png")
        tab.fill("#search", "")
        tab.keyboard.press("Escape")
        tab.click("#clear")
        tab.click("#tab-overview")
        tab.set_viewport_size({"width": 1440, "height": 1080})
        tab.screenshot(path=args.out / "view-overview.png")
        browser.close()


if __name__ == "__main__":
    main()
