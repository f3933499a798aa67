"""Which rows of a version each model family's chat template accepts, per layout.

Renders every conversation of a version (all splits, `messages` and the `strategy` config)
in each layout with the chat templates of common model families: the ones TRL ships
offline (trl/chat_templates) and Mistral v0.1's, written here from its published format
because TRL ships none. A template "rejects" a row when rendering raises.

    python -m bench.chat_templates outputs/datasets/esc/v0.1.0
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from factory.dataset.chat_layout import ChatLayout, Message, arrange

# Mistral-7B-Instruct-v0.1's format: [INST] user [/INST] reply</s>, strictly alternating
# from a user turn, no system role.
MISTRAL = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] not in ['user', 'assistant'] %}"
    "{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
)

# Family (as in factory.dataset.chat_layout.TEMPLATE_FAMILIES) -> TRL's template file.
TRL_TEMPLATES = {
    "Qwen2.5": "qwen2_5.jinja",
    "Llama 3": "llama3.jinja",
    "Phi-3": "phi3.jinja",
    "Gemma 3": "gemma3.jinja",
    "Cohere": "cohere.jinja",
    "Gemma 1/2": "gemma.jinja",
}


def template(family: str) -> str:
    if family == "Mistral v0.1":
        return MISTRAL
    folder = resources.files("trl") / "chat_templates"
    return (folder / TRL_TEMPLATES[family]).read_text(encoding="utf-8")


@cache
def renderer(family: str) -> Any:
    """A tokenizer with no vocabulary to speak of, carrying the family's chat template;
    transformers renders it exactly as for the real model (its Jinja sandbox and helpers)."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({"[UNK]": 0, "<s>": 1, "</s>": 2}, unk_token="[UNK]"))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="[UNK]", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.chat_template = template(family)
    return tokenizer


def rejection(family: str, messages: list[Message]) -> str | None:
    """Why the family's template refuses the conversation (None: it renders)."""
    try:
        renderer(family).apply_chat_template(messages, tokenize=False)
    except Exception as exc:  # the template's raise_exception, whatever its class
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def version_conversations(version: Path, files: list[str] | None = None) -> Iterator[list[Message]]:
    """Every `messages` row of a version folder (default: all splits of the default and
    `strategy` configs), read in batches from parquet."""
    import pyarrow.parquet as pq

    from factory.dataset.manifest import read_manifest

    if files is None:
        manifest = read_manifest(version)
        files = list(manifest.split_files.values())
        if manifest.chat:
            files += manifest.chat.strategy_files.values()
    for relative in files:
        for batch in pq.ParquetFile(version / relative).iter_batches(columns=["messages"]):
            yield from batch.column(0).to_pylist()


def accepted(version: Path) -> dict[str, dict[str, tuple[int, int]]]:
    """family -> layout -> (rows accepted, rows); the version's rows are taken as stored
    and laid out again from there (valid for a version stored as_happened)."""
    table: dict[str, dict[str, list[int]]] = {
        f: {layout: [0, 0] for layout in ChatLayout} for f in [*TRL_TEMPLATES, "Mistral v0.1"]
    }
    for messages in version_conversations(version):
        for layout in ChatLayout:
            laid_out, _ = arrange(messages, layout)
            for family, by_layout in table.items():
                by_layout[layout][1] += 1
                by_layout[layout][0] += rejection(family, laid_out) is None
    return {f: {k: (v[0], v[1]) for k, v in t.items()} for f, t in table.items()}


def main(version: Path) -> None:
    layouts = list(ChatLayout)
    print(f"| template | {' | '.join(layouts)} |")
    print("|---|" + "---|" * len(layouts))
    for family, by_layout in accepted(version).items():
        cells = [f"{by_layout[layout][0]}/{by_layout[layout][1]}" for layout in layouts]
        print(f"| {family} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
