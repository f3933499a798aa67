"""`factory eval` measured: ESConv's statistics as eval computes them beside the published
ones (../shared/REFERENCE.md), the time to evaluate 10,000 dialogues without the realism
classifier, and the realism classifier's AUC on pairs of sets where the answer is known
(ESConv's train split against its test split: about 0.5 expected).

    python bench/eval.py --shared ../shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from factory.evaluation.evaluate import evaluate
from factory.evaluation.realism import realism_auc
from factory.importers.esconv import import_esconv

PUBLISHED = {
    "utterances_per_dialogue": 29.5,
    "tokens_per_seeker_utterance": 14.8,
    "tokens_per_supporter_utterance": 18.1,
    "duplicate_supporter_utterance_share": 6.5,
}
PUBLISHED_STRATEGY = {
    "Question": 20.7,
    "Others": 18.2,
    "Providing Suggestions": 16.1,
    "Affirmation and Reassurance": 15.4,
    "Self-disclosure": 9.3,
    "Reflection of feelings": 7.8,
    "Information": 6.6,
    "Restatement or Paraphrasing": 5.9,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    splits = {
        s: import_esconv([args.shared / "esconv" / f"esconv_{s}.jsonl"])[0]
        for s in ("train", "valid", "test")
    }
    esconv = [d for rows in splits.values() for d in rows]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "esconv.jsonl"
        source.write_text("".join(d.model_dump_json() + "\n" for d in esconv))
        report = evaluate(source, tmp / "esconv-report", realism=False)
        m = report.measures
        print("\n## ESConv (1,300 dialogues, imported): factory eval vs published")
        print(f"{'measure':<40}{'eval':>10}{'published':>11}")
        for key, published in PUBLISHED.items():
            value = getattr(m, key) * (100 if key.startswith("duplicate") else 1)
            print(f"{key:<40}{value:>10.2f}{published:>11.1f}")
        for name, published in PUBLISHED_STRATEGY.items():
            print(
                f"{'strategy: ' + name:<40}{100 * (m.strategy or {})[name]:>10.2f}{published:>11.1f}"
            )
        print(
            f"intensity: {json.dumps(m.intensity.model_dump(exclude={'by_seeker_turn'})) if m.intensity else '-'}"
        )

        copies = []
        for i in range(args.n):
            d = esconv[i % len(esconv)]
            copies.append(d.model_copy(update={"id": f"{d.id}-{i}"}))
        big = tmp / "big.jsonl"
        big.write_text("".join(d.model_dump_json() + "\n" for d in copies))
        began = time.perf_counter()
        evaluate(big, tmp / "big-report", reference=source, realism=False)
        print(
            f"\n## speed: eval of {args.n} dialogues with ESConv as reference, no realism"
            f" classifier, plots included: {time.perf_counter() - began:.1f}s"
        )

    print("\n## realism classifier (MiniLM + logistic regression, 5-fold)")
    began = time.perf_counter()
    same = realism_auc(splits["train"], splits["test"])
    print(
        f"ESConv train vs ESConv test (same source): AUC {same.auc_mean} ± {same.auc_std}"
        f" ({same.per_side} per side, {time.perf_counter() - began:.1f}s)"
    )
    failed, _ = import_esconv([args.shared / "esconv" / "FailedESConv.json"])
    other = realism_auc(failed, esconv)
    print(
        f"FailedESConv vs ESConv (same crowd, rejected dialogues): AUC {other.auc_mean} ±"
        f" {other.auc_std} ({other.per_side} per side)"
    )


if __name__ == "__main__":
    main()
