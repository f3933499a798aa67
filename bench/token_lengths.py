"""Token lengths of a version's conversations per layout and split, with a local tokenizer
folder (or the estimate), counted by the same code as `factory curate --tokenizer`.

    python -m bench.token_lengths outputs/datasets/esc/v0.1.0 [TOKENIZER_DIR]

The version's rows are taken as stored and laid out again (valid for one stored as_happened).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.chat_templates import version_conversations
from factory.dataset.chat_layout import ChatLayout, arrange
from factory.dataset.manifest import read_manifest
from factory.dataset.tokens import TokenCounter, TokenTally


def main(version: Path, tokenizer: Path | None) -> None:
    counter = TokenCounter(tokenizer)
    manifest = read_manifest(version)
    print(f"counted with: {counter.method}")
    print("| layout | split | conversations | median | p95 | max | max_length 95% |")
    print("|---|---|---|---|---|---|---|")
    started = time.perf_counter()
    counted = 0
    for layout in ChatLayout:
        tally = TokenTally()
        for split, relative in manifest.split_files.items():
            for messages in version_conversations(version, [relative]):
                tally.add(split, counter.count(arrange(messages, layout)[0]))
                counted += 1
        for split, s in tally.stats().items():
            row = [layout, split, s.conversations, s.median, s.p95, s.max, s.max_length_95]
            print("| " + " | ".join(str(v) for v in row) + " |")
    seconds = time.perf_counter() - started
    print(f"\n{counted} conversations counted in {seconds:.1f} s ({counted / seconds:.0f}/s)")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
