"""The emotion judge measured on ESConv: real dialogues against planted emotion-family swaps
(the scenario's emotion replaced by one of another family, the text unchanged), side by side
with the embedding filter (emotion_consistency, shipped defaults) on the same dialogues.

The whole check, from the repository root (the oracle server of ../shared/tools/ORACLE.md
or any OpenAI-compatible server at BASE_URL):

    # 1. n real and n other dialogues swapped, drawn from ESConv valid + test with the seed,
    #    shuffled, ids neutral; the id -> (real|swap, stated and true emotion) key goes to
    #    its own file, kept apart from whoever answers.
    python bench/emotion_judge.py build --shared ../shared/data --n 50 --seed 14 \\
        --out "$S/blind" --key "$S/key.json" --base-url http://127.0.0.1:PORT/v1 --model oracle
    # 2. Judge it: $S/blind/emotion_judge.yaml is a recipe with only the emotion judge.
    factory filter "$S/blind/blind.jsonl" --recipe "$S/blind/emotion_judge.yaml" --out "$S/judged"
    # 3. Read the key only now.
    python bench/emotion_judge.py score "$S/judged" --key "$S/key.json" --json "$S/score.json"

`score` prints, for each class, how many the judge dropped at fits 2, 3 (shipped: kept at
3 or more) and 4, with 95% Wilson intervals; the AUC of the fit score (a real dialogue
scoring above a swap, ties half); and the embedding filter's drops on the same dialogues.
The data under ../shared/data is research-only: write the blind set outside the repository.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bench.judge import neutral
from factory.filters.emotion_consistency import EmotionConsistencyFilter, emotion_families
from factory.importers.esconv import import_esconv
from factory.jsonl import write_jsonl
from factory.models import Dialogue

REAL, SWAP = "real", "swap"
SHIPPED_MIN_FIT = 3


def build(
    shared: Path,
    n: int,
    seed: int,
    out: Path,
    key_path: Path,
    base_url: str | None = None,
    model: str | None = None,
    concurrency: int = 6,
    exclude: Sequence[Path] = (),
) -> dict[str, Any]:
    """Writes out/blind.jsonl (2n dialogues: n real, n swapped; shuffled, neutral ids),
    key_path (id -> class, the stated and the original emotion) and, with a server,
    out/emotion_judge.yaml (a recipe with only the emotion judge). Dialogues named in the
    `exclude` keys (earlier rounds) are not drawn again."""
    rng = random.Random(seed)
    seen = {
        row["original_id"]
        for path in exclude
        for row in json.loads(path.read_text(encoding="utf-8"))["dialogues"].values()
    }
    family_of = emotion_families()
    by_family: dict[str, list[str]] = {}
    for emotion, family in family_of.items():
        by_family.setdefault(family, []).append(emotion)
    pool: list[Dialogue] = []
    for split in ("valid", "test"):
        dialogues, _ = import_esconv([shared / "esconv" / f"esconv_{split}.jsonl"])
        pool += [d for d in dialogues if d.scenario.emotion_type in family_of and d.id not in seen]
    if len(pool) < 2 * n:
        raise SystemExit(f"ESConv valid + test have {len(pool)} usable dialogues, fewer than 2n")
    drawn = rng.sample(pool, 2 * n)
    picked: list[tuple[str, Dialogue, str]] = []
    for number, dialogue in enumerate(drawn):
        own = dialogue.scenario.emotion_type
        if number < n:
            picked.append((REAL, dialogue, own))
            continue
        family = rng.choice(sorted(f for f in by_family if f != family_of[own]))
        stated = rng.choice(sorted(by_family[family]))
        scenario = dialogue.scenario.model_copy(update={"emotion_type": stated})
        picked.append((SWAP, dialogue.model_copy(update={"scenario": scenario}), own))
    rng.shuffle(picked)
    out.mkdir(parents=True, exist_ok=True)
    key: dict[str, Any] = {"seed": seed, "n": n, "excluded": len(seen), "dialogues": {}}
    rows = []
    for number, (label, dialogue, own) in enumerate(picked, start=1):
        new_id = f"emo-{number:03d}"
        rows.append(neutral(dialogue, new_id).model_dump(mode="json", exclude_none=True))
        key["dialogues"][new_id] = {
            "label": label,
            "stated": dialogue.scenario.emotion_type,
            "original": own,
            "original_id": dialogue.id,
        }
    write_jsonl(out / "blind.jsonl", rows)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.write_text(json.dumps(key, indent=1) + "\n")
    if base_url and model:
        backend: dict[str, Any] = {"kind": "openai", "base_url": base_url, "model": model}
        backend |= {"timeout_s": 3000, "max_retries": 0}
        recipe = {
            "name": "emotion-judge-blind",
            "description": "Only the emotion judge, for bench/emotion_judge.py score.",
            "filters": [{"use": "emotion_judge", "backend": backend, "concurrency": concurrency}],
        }
        (out / "emotion_judge.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    return key


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a share."""
    if total == 0:
        return (0.0, 1.0)
    p = hits / total
    middle = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, middle - half), min(1.0, middle + half))


def auc(high: Sequence[float], low: Sequence[float]) -> float | None:
    """The chance a `high` score is above a `low` one, ties half."""
    if not high or not low:
        return None
    wins = sum((h > lo) + 0.5 * (h == lo) for h in high for lo in low)
    return wins / (len(high) * len(low))


def read_answers(judged: Path) -> dict[str, dict[str, Any]]:
    """id -> the emotion judge's verdict details (no `fit` where it gave none)."""
    found: dict[str, dict[str, Any]] = {}
    for name in ("kept.jsonl", "rejected.jsonl"):
        for line in (judged / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            verdict = next(v for v in row["verdicts"] if v["filter"] == "emotion_judge")
            found[row["id"]] = verdict["details"]
    return found


def family_shown(details: dict[str, Any], family_of: dict[str, str]) -> bool:
    """Whether an emotion of the stated one's family is among those the judge named."""
    stated = family_of.get(details["emotion"])
    return any(family_of.get(e) == stated for e in details.get("emotions_shown", []))


def score(judged: Path, key_path: Path) -> dict[str, Any]:
    key = json.loads(key_path.read_text(encoding="utf-8"))["dialogues"]
    answers = read_answers(judged)
    family_of = emotion_families()
    by_class: dict[str, list[int]] = {REAL: [], SWAP: []}
    shown: dict[str, list[bool]] = {REAL: [], SWAP: []}
    unscored: Counter[str] = Counter()
    for dialogue_id, entry in key.items():
        details = answers.get(dialogue_id, {})
        if details.get("fit") is None:
            unscored[entry["label"]] += 1
        else:
            by_class[entry["label"]].append(details["fit"])
            shown[entry["label"]].append(family_shown(details, family_of))
    result: dict[str, Any] = {
        "judged": {c: len(v) for c, v in by_class.items()},
        "unscored": dict(unscored),
        "fit_histogram": {c: dict(sorted(Counter(v).items())) for c, v in by_class.items()},
        "auc": auc(by_class[REAL], by_class[SWAP]),
        "rules": [],
    }
    for min_fit in (2, 3, 4):
        row: dict[str, Any] = {"min_fit": min_fit, "shipped": min_fit == SHIPPED_MIN_FIT}
        for label in (REAL, SWAP):
            values = by_class[label]
            hits = sum(v < min_fit for v in values)
            row[label] = {"dropped": hits, "of": len(values), "interval": wilson(hits, len(values))}
        result["rules"].append(row)
    # The second rule, fixed before round 2: under min_fit 3 and no emotion of the stated
    # one's family among those the judge named.
    family_rule: dict[str, Any] = {}
    for label in (REAL, SWAP):
        pairs = list(zip(by_class[label], shown[label], strict=True))
        hits = sum(fit < SHIPPED_MIN_FIT and not seen for fit, seen in pairs)
        family_rule[label] = {
            "dropped": hits,
            "of": len(pairs),
            "interval": wilson(hits, len(pairs)),
        }
    result["family_rule"] = family_rule
    result["embedding_filter"] = embedding_side(judged, key, answers)
    return result


def embedding_side(
    judged: Path, key: dict[str, Any], answers: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The shipped embedding filter on the same dialogues (read back from the judged output),
    and both filters together as the default recipe with `--judge` runs them: a dialogue
    either drops is dropped."""
    rows = []
    for name in ("kept.jsonl", "rejected.jsonl"):
        for line in (judged / name).read_text(encoding="utf-8").splitlines():
            rows.append(Dialogue.model_validate_json(line).model_copy(update={"verdicts": []}))
    outcomes = EmotionConsistencyFilter().check_batch(rows)
    probability: dict[str, list[float]] = {REAL: [], SWAP: []}
    for o in outcomes:
        if o.verdict.reason in ("ok", "emotion_mismatch") and o.verdict.score is not None:
            probability[key[o.dialogue.id]["label"]].append(o.verdict.score)
    found: dict[str, Any] = {"auc": auc(probability[REAL], probability[SWAP])}
    for label in (REAL, SWAP):
        mine = [o for o in outcomes if key[o.dialogue.id]["label"] == label]
        reasons = Counter(o.verdict.reason for o in mine if not o.verdict.keep)
        either = sum(
            not o.verdict.keep or answers[o.dialogue.id].get("fit", 5) < SHIPPED_MIN_FIT
            for o in mine
        )
        found[label] = {
            "dropped": sum(reasons.values()),
            "of": len(mine),
            "reasons": dict(reasons),
            "either_filter": either,
        }
    return found


def render(result: dict[str, Any]) -> str:
    lines = [
        f"judged: {result['judged']}, unscored: {result['unscored'] or 'none'}",
        f"fit histogram: {result['fit_histogram']}",
        f"AUC of the fit score (real above swap): {result['auc']:.3f}"
        if result["auc"] is not None
        else "AUC: n/a",
        "",
        "| kept at fit >= | real dropped | swaps caught |",
        "|---:|---:|---:|",
    ]
    for row in result["rules"]:
        cells = []
        for label in (REAL, SWAP):
            r = row[label]
            share = 100 * r["dropped"] / r["of"] if r["of"] else 0.0
            low, high = (100 * x for x in r["interval"])
            cells.append(f"{share:.1f}% ({r['dropped']}/{r['of']}; {low:.0f}-{high:.0f})")
        mark = " (shipped)" if row["shipped"] else ""
        lines.append(f"| {row['min_fit']}{mark} | {cells[0]} | {cells[1]} |")
    cells = []
    for label in (REAL, SWAP):
        r = result["family_rule"][label]
        share = 100 * r["dropped"] / r["of"] if r["of"] else 0.0
        low, high = (100 * x for x in r["interval"])
        cells.append(f"{share:.1f}% ({r['dropped']}/{r['of']}; {low:.0f}-{high:.0f})")
    lines.append(f"| 3, unless its family is named | {cells[0]} | {cells[1]} |")
    emb = result["embedding_filter"]
    lines.append("")
    lines.append(f"embedding filter: AUC of its family probability {emb['auc']:.3f}")
    for label in (REAL, SWAP):
        e = emb[label]
        lines.append(
            f"embedding filter, {label}: dropped {e['dropped']}/{e['of']} ({e['reasons'] or 'none'});"
            f" either filter (the default recipe with --judge): {e['either_filter']}/{e['of']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--shared", type=Path, default=Path("../shared/data"))
    b.add_argument("--n", type=int, default=50)
    b.add_argument("--seed", type=int, default=14)
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--key", type=Path, required=True)
    b.add_argument("--base-url")
    b.add_argument("--model")
    b.add_argument("--concurrency", type=int, default=6)
    b.add_argument("--exclude", type=Path, nargs="*", default=[], help="keys of earlier rounds")
    s = sub.add_parser("score")
    s.add_argument("judged", type=Path)
    s.add_argument("--key", type=Path, required=True)
    s.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        key = build(
            args.shared,
            args.n,
            args.seed,
            args.out,
            args.key,
            args.base_url,
            args.model,
            args.concurrency,
            args.exclude,
        )
        print(f"wrote {len(key['dialogues'])} dialogues to {args.out / 'blind.jsonl'}")
        return
    result = score(args.judged, args.key)
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
