"""The data folders (prompts/, personas/, filters/) and the card template must ship inside
the wheel: every file the installed tool reads at run time."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_the_data_folders(tmp_path):
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("esc_factory-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "factory/_data/prompts/seeker.jinja",
        "factory/_data/prompts/counselor.jinja",
        "factory/_data/prompts/supporter.jinja",
        "factory/_data/prompts/strategies/esconv.yaml",
        "factory/_data/prompts/strategies/extes.yaml",
        "factory/_data/personas/attributes.yaml",
        "factory/_data/personas/problems.yaml",
        "factory/_data/personas/emotions.yaml",
        "factory/_data/personas/constraints.yaml",
        "factory/_data/personas/situations.yaml",
        "factory/_data/prompts/situation.jinja",
        "factory/_data/prompts/paraphrase.jinja",
        "factory/_data/prompts/labels.yaml",
        "factory/_data/prompts/judge.jinja",
        "factory/_data/prompts/reply_judge.jinja",
        "factory/_data/prompts/sft_system.txt",
        "factory/_data/filters/default.yaml",
        "factory/_data/filters/lexicons/emotion_families.yaml",
        "factory/dataset/card.jinja",
        "factory/view/page.html.jinja",
        "factory/view/view.js",
        "factory/view/view.css",
    ):
        assert shipped in names, shipped
    # pyproject says Apache-2.0: the licence text itself ships with the wheel.
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "Apache License" in (ROOT / "LICENSE").read_text()
