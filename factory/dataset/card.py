"""The dataset card: README.md with the YAML header the Hub reads (configs, license, task
categories, size category) and a body, card.jinja beside this module, that says how the
version was made."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from factory.dataset.chat_layout import TEMPLATE_FAMILIES, ChatLayout
from factory.dataset.manifest import DatasetManifest
from factory.dataset.terms import human_share, terms_of
from factory.secrets import scrub_text

TEMPLATE = Path(__file__).with_name("card.jinja")


def size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return label
    return "1M<n<10M"


def card_header(manifest: DatasetManifest) -> dict[str, Any]:
    """The YAML header: the Hub's metadata and one config per set of data files."""
    configs = [
        {"config_name": config, "data_files": [{"split": s, "path": p} for s, p in files.items()]}
        for config, files in (
            ("default", manifest.split_files),
            ("strategy", manifest.chat.strategy_files if manifest.chat else {}),
            ("preferences", manifest.preferences.split_files if manifest.preferences else {}),
        )
        if files
    ]
    header: dict[str, Any] = {
        "license": manifest.license,
        "language": ["en"],
        "pretty_name": f"{manifest.name} {manifest.version}",
        "task_categories": ["text-generation"],
        "tags": _tags(human_share(manifest.stats.models), manifest.stats.dialogues),
        "size_categories": [size_category(manifest.stats.dialogues)],
    }
    if configs:
        header["configs"] = configs
    else:
        header["viewer"] = False  # no data files: the Hub viewer has nothing to show
    return header


def _tags(human: float, dialogues: int) -> list[str]:
    """The Hub tags: `synthetic` only when some dialogue is, `human-written` when some is."""
    tags = ["emotional-support"]
    if human < 1 or not dialogues:
        tags.append("synthetic")
    if human > 0:
        tags.append("human-written")
    return [*tags, "dialogue", "esc-factory"]


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    return env.from_string(TEMPLATE.read_text(encoding="utf-8"))


def render_card(manifest: DatasetManifest) -> str:
    """README.md of a version, from its manifest alone, with anything that looks like a
    credential cut out (a key passed by mistake as a model name, say)."""
    models = manifest.stats.models
    human = human_share(models)
    card = _template().render(
        m=manifest,
        header=yaml.safe_dump(card_header(manifest), sort_keys=False),
        imported=bool(models) and human >= 1,
        human=human if models else 0.0,
        terms=terms_of(models),
        used={f.use for f in manifest.recipe.filters},
        prompts=sorted({pair for s in manifest.sources for pair in s.prompt_hashes.items()}),
        families=TEMPLATE_FAMILIES,
        layouts=[layout.value for layout in ChatLayout],
    )
    return scrub_text(card)
