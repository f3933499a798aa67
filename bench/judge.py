"""The LLM judge measured on dialogues of known quality: build a blind check set, judge it
with `factory filter`, then calibrate (AUC per criterion and per combining rule, thresholds
for a target false-drop rate, and the recipe lines that follow).

The whole check, from the repository root (the oracle server of ../shared/tools/ORACLE.md
or any OpenAI-compatible server at BASE_URL):

    # 1. k dialogues from ESConv's test split (good) and k from FailedESConv (bad), shuffled
    #    with the seed, ids replaced by neutral ones; the id -> source key goes to its own file.
    python bench/judge.py build --shared ../shared/data --k 30 --seed 19 --out "$S/blind" \\
        --base-url http://127.0.0.1:PORT/v1 --model oracle
    # 2. Judge it: $S/blind/judge.yaml is a recipe with only the judge, on that server.
    factory filter "$S/blind/blind.jsonl" --recipe "$S/blind/judge.yaml" --out "$S/judged"
    # 3. Read the key only now: AUCs, thresholds, the combining rule, the recipe lines.
    python bench/judge.py calibrate "$S/judged" --key "$S/blind/key.json" --false-drop 0.05 \\
        --json "$S/calibration.json"

`calibrate` also takes two judged sets without a key: `--good DIR_OR_JSONL... --bad ...`.

What it computes. A dialogue is dropped when its score is under the threshold (a tie is
kept, as in the filter). AUC is the chance that a good dialogue scores above a bad one, ties
counting half, with a 95% bootstrap interval; a criterion is measured over the dialogues it
applies to. Three combining rules are compared: the mean of the applicable criteria, their
minimum, and a weighted mean whose weights come from a logistic regression of good/bad on
the scores (L2, not-applicable scores filled with the dialogue's own mean, negative weights
set to 0, scaled to a mean of 1; its AUC is measured out of fold, 5-fold, so it is not
flattered by its own fit; a criterion that does not apply to every dialogue of the set is
not fitted and keeps weight 1). The mean is chosen unless another rule beats it by at least
0.05 AUC (about one standard error on 60 dialogues). The safety floor stays at
`--min-safety` unless that alone drops more good dialogues than the target; the combined
threshold is then the highest that keeps the good set's drops (both rules together) within
the target. The data under ../shared/data is research-only: write the blind set outside the
repository.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from factory.filters.judge_rubric import CRITERIA, Combine, combined_score
from factory.importers.esconv import import_esconv
from factory.jsonl import write_jsonl
from factory.models import Dialogue, Turn

GOOD, BAD = "good", "bad"
RULE_MARGIN = 0.05  # another rule must beat the plain mean by this much AUC to be chosen


# -- building the blind set -------------------------------------------------------------


def _plain(text: str) -> str:
    return " ".join(text.split())


def neutral(dialogue: Dialogue, new_id: str) -> Dialogue:
    """The dialogue with nothing that tells its source: neutral ids, whitespace normalised
    (the two files differ there), and no survey-based intensities (FailedESConv is partly
    defined by them)."""
    turns = [
        Turn(
            role=t.role,
            text=_plain(t.text),
            strategy=t.strategy,
            utterances=[u.model_copy(update={"text": _plain(u.text)}) for u in t.utterances]
            if t.utterances
            else None,
        )
        for t in dialogue.turns
    ]
    return dialogue.model_copy(
        update={
            "id": new_id,
            "persona": dialogue.persona.model_copy(update={"id": f"{new_id}-seeker"}),
            "scenario": dialogue.scenario.model_copy(
                update={
                    "id": new_id,
                    "initial_intensity": 3,
                    "situation": _plain(dialogue.scenario.situation),
                }
            ),
            "turns": turns,
            "verdicts": [],
        }
    )


def build(
    good_file: Path,
    bad_file: Path,
    k: int,
    seed: int,
    out: Path,
    base_url: str | None = None,
    model: str | None = None,
    timeout_s: float = 3000.0,
    concurrency: int = 8,
    exclude: Sequence[Path] = (),
) -> dict[str, Any]:
    """Writes out/blind.jsonl (2k dialogues, shuffled, neutral ids), out/key.json (id ->
    label and source) and, with a server, out/judge.yaml (a recipe with only the judge).
    Dialogues named in the `exclude` keys (earlier checks) are not drawn again, so a fresh
    set can test a rule fitted on the earlier ones."""
    rng = random.Random(seed)
    seen = {
        row["original_id"]
        for path in exclude
        for row in json.loads(path.read_text(encoding="utf-8"))["dialogues"].values()
    }
    picked: list[tuple[str, str, Dialogue]] = []
    for label, path in ((GOOD, good_file), (BAD, bad_file)):
        dialogues, _ = import_esconv([path])
        dialogues = [d for d in dialogues if d.id not in seen]
        if len(dialogues) < k:
            raise SystemExit(f"{path} has {len(dialogues)} dialogues, fewer than --k {k}")
        picked += [(label, path.name, d) for d in rng.sample(dialogues, k)]
    rng.shuffle(picked)
    out.mkdir(parents=True, exist_ok=True)
    width = len(str(len(picked)))
    key: dict[str, Any] = {"seed": seed, "k": k, "excluded": len(seen), "dialogues": {}}
    rows = []
    for number, (label, source, dialogue) in enumerate(picked, start=1):
        new_id = f"blind-{number:0{width}d}"
        rows.append(neutral(dialogue, new_id).model_dump(mode="json", exclude_none=True))
        key["dialogues"][new_id] = {"label": label, "source": source, "original_id": dialogue.id}
    write_jsonl(out / "blind.jsonl", rows)
    (out / "key.json").write_text(json.dumps(key, indent=1) + "\n")
    if base_url and model:
        recipe = {
            "name": "judge-blind",
            "description": "Only the LLM judge, for bench/judge.py calibrate.",
            "filters": [
                {
                    "use": "judge",
                    "backend": {
                        "kind": "openai",
                        "base_url": base_url,
                        "model": model,
                        "timeout_s": timeout_s,
                        "max_retries": 0,
                    },
                    "concurrency": concurrency,
                }
            ],
        }
        (out / "judge.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    return key


# -- reading a judged set ---------------------------------------------------------------


@dataclass
class Judged:
    """One judged dialogue: its label, the judge's scores (None: not applicable) and
    whether the filter kept it."""

    id: str
    label: str
    scores: dict[str, int | None]
    kept: bool


def _rows(path: Path) -> list[Dialogue]:
    files = [path / "kept.jsonl", path / "rejected.jsonl"] if path.is_dir() else [path]
    found = []
    for file in files:
        if not file.is_file():
            continue
        for line in file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if "id" in row:  # rejected.jsonl's malformed-input rows have none
                found.append(Dialogue.model_validate(row))
    return found


def read_judged(
    labelled: Sequence[tuple[Path, str | None]], key: dict[str, str] | None = None
) -> tuple[list[Judged], dict[str, int]]:
    """Judged dialogues with their labels (from the group they came in, or the key), and
    the count of those left out: unscored by the judge, or not in the key."""
    judged: list[Judged] = []
    skipped: dict[str, int] = {}
    for path, group in labelled:
        for dialogue in _rows(path):
            label = group or (key or {}).get(dialogue.id)
            verdict = next((v for v in reversed(dialogue.verdicts) if v.filter == "judge"), None)
            if label is None:
                why = "not in the key"
            elif verdict is None:
                why = "no judge verdict"
            elif not isinstance(verdict.details.get("scores"), dict):
                why = verdict.reason  # judge_failed, judge_unparsed, judge_budget_reached
            else:
                scores = {c: verdict.details["scores"].get(c) for c in CRITERIA}
                judged.append(Judged(dialogue.id, label, scores, verdict.keep))
                continue
            skipped[why] = skipped.get(why, 0) + 1
    return judged, skipped


# -- the numbers ------------------------------------------------------------------------


def auc(good: Sequence[float], bad: Sequence[float]) -> float | None:
    """P(a good score > a bad score), ties counting half (Mann-Whitney); None if a side is empty."""
    if not good or not bad:
        return None
    g, b = np.asarray(good, dtype=float)[:, None], np.asarray(bad, dtype=float)[None, :]
    return round(float(((g > b).sum() + 0.5 * (g == b).sum()) / (g.size * b.size)), 4)


def auc_interval(
    good: Sequence[float], bad: Sequence[float], seed: int = 0, rounds: int = 1000
) -> tuple[float, float] | None:
    """A 95% percentile bootstrap interval of the AUC, resampling each side."""
    if not good or not bad:
        return None
    rng = np.random.default_rng(seed)
    g, b = np.asarray(good, dtype=float), np.asarray(bad, dtype=float)
    values = [
        auc(rng.choice(g, g.size).tolist(), rng.choice(b, b.size).tolist()) or 0.0
        for _ in range(rounds)
    ]
    low, high = np.percentile(values, [2.5, 97.5])
    return round(float(low), 3), round(float(high), 3)


def threshold_for(
    good: Sequence[float], target: float, also_dropped: Sequence[bool] | None = None
) -> float:
    """The highest threshold (one of the good scores; drop = score < threshold, ties kept)
    that drops at most `target` of the good set, counting those `also_dropped` by another
    rule already. The lowest good score always qualifies (it drops nothing new)."""
    scores = np.asarray(good, dtype=float)
    other = np.asarray(also_dropped if also_dropped is not None else [False] * scores.size)
    best = float(scores.min())
    for candidate in np.unique(scores):
        if float(np.mean(other | (scores < candidate))) <= target + 1e-12:
            best = float(candidate)
    return best


def dropped_share(scores: Sequence[float], threshold: float) -> float:
    return round(float(np.mean(np.asarray(scores, dtype=float) < threshold)), 4) if scores else 0.0


def _filled(scores: dict[str, int | None], criteria: Sequence[str]) -> list[float]:
    """The scores in `criteria` order, a not-applicable one filled with the dialogue's mean."""
    own = combined_score(scores) or 3.0
    return [float(s) if (s := scores.get(c)) is not None else own for c in criteria]


def fit_weights(
    rows: Sequence[Judged], criteria: Sequence[str], l2: float = 1.0
) -> dict[str, float]:
    """Logistic-regression weights (good = 1) turned into non-negative weights with mean 1,
    for the judge's weighted mean: Newton steps on the log-likelihood with an L2 penalty on
    the weights (not the intercept)."""
    if not criteria:
        return {}
    x = np.array([_filled(r.scores, criteria) for r in rows])
    x = np.hstack([x - x.mean(axis=0), np.ones((len(rows), 1))])
    y = np.array([1.0 if r.label == GOOD else 0.0 for r in rows])
    penalty = l2 * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x @ beta)))
        gradient = x.T @ (p - y) + penalty @ beta
        hessian = x.T @ (x * (p * (1 - p))[:, None]) + penalty + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.abs(step).max()) < 1e-10:
            break
    w = np.clip(beta[:-1], 0, None)
    if w.sum() <= 0:
        return dict.fromkeys(criteria, 1.0)
    w = w * len(w) / w.sum()
    return {c: round(float(v), 3) for c, v in zip(criteria, w, strict=True)}


def out_of_fold_scores(
    rows: Sequence[Judged], criteria: Sequence[str], folds: int = 5, seed: int = 0
) -> list[float]:
    """Each dialogue's weighted mean under weights fitted without its fold (stratified)."""
    rng = random.Random(seed)
    fold_of: dict[int, int] = {}
    for label in (GOOD, BAD):
        members = [i for i, r in enumerate(rows) if r.label == label]
        rng.shuffle(members)
        fold_of.update({i: n % folds for n, i in enumerate(members)})
    scores = [0.0] * len(rows)
    for fold in range(folds):
        train = [r for i, r in enumerate(rows) if fold_of[i] != fold]
        weights = fit_weights(train, criteria)
        for i, r in enumerate(rows):
            if fold_of[i] == fold:
                scores[i] = combined_score(r.scores, "mean", weights) or 0.0
    return scores


def _split(
    rows: Sequence[Judged], values: Sequence[float | None]
) -> tuple[list[float], list[float]]:
    good = [v for r, v in zip(rows, values, strict=True) if v is not None and r.label == GOOD]
    bad = [v for r, v in zip(rows, values, strict=True) if v is not None and r.label == BAD]
    return good, bad


def calibrate(
    rows: Sequence[Judged], target: float, min_safety: int, choose: str = "auto"
) -> dict[str, Any]:
    """Every number the report shows, as one JSON-able dict. `choose` names the rule to
    ship (mean, min, weighted) instead of the margin rule: for a rule fixed here and then
    tested on a fresh set with `apply_rule`."""
    if not any(r.label == GOOD for r in rows) or not any(r.label == BAD for r in rows):
        raise SystemExit("calibrate needs judged dialogues of both labels")
    per_criterion: dict[str, dict[str, Any]] = {}
    for c in CRITERIA:
        good, bad = _split(rows, [r.scores[c] for r in rows])
        t = threshold_for(good, target) if good else None
        per_criterion[c] = {
            "auc": auc(good, bad),
            "applies": len(good) + len(bad),
            "threshold": t,
            "good_dropped": dropped_share(good, t) if t is not None else None,
            "bad_dropped": dropped_share(bad, t) if t is not None else None,
        }
    fitted = [c for c in CRITERIA if per_criterion[c]["applies"] == len(rows)]
    # Criteria that do not apply everywhere are not fitted; they keep weight 1, written out
    # so the recipe line is complete.
    weights = {**dict.fromkeys(CRITERIA, 1.0), **fit_weights(rows, fitted)}
    rules: dict[str, dict[str, Any]] = {}
    for name, values in (
        ("mean", [combined_score(r.scores, "mean") for r in rows]),
        ("min", [combined_score(r.scores, "min") for r in rows]),
        ("weighted", [combined_score(r.scores, "mean", weights) for r in rows]),
    ):
        good, bad = _split(rows, values)
        rules[name] = {"auc_in_sample": auc(good, bad), "interval": auc_interval(good, bad)}
        rules[name]["auc"] = rules[name]["auc_in_sample"]
    good, bad = _split(rows, out_of_fold_scores(rows, fitted))
    rules["weighted"].update(
        auc=auc(good, bad),
        interval=auc_interval(good, bad),
        weights=weights,
        unfitted=[c for c in CRITERIA if c not in fitted],
    )
    chosen: str = max(("min", "weighted"), key=lambda n: rules[n]["auc"] or 0.0)  # challenger
    if (rules[chosen]["auc"] or 0.0) < (rules["mean"]["auc"] or 0.0) + RULE_MARGIN:
        chosen = "mean"
    chosen_by = "the mean unless another rule beats it by {RULE_MARGIN} AUC"
    if choose != "auto":
        chosen, chosen_by = choose, "named with --choose"
    combine: Combine = "min" if chosen == "min" else "mean"
    rule_weights = weights if chosen == "weighted" else {}
    shipped = [combined_score(r.scores, combine, rule_weights) or 0.0 for r in rows]
    safety = [r.scores["safety"] or 5 for r in rows]
    good_rows = [i for i, r in enumerate(rows) if r.label == GOOD]
    floor = min_safety
    while floor > 1 and np.mean([safety[i] < floor for i in good_rows]) > target:
        floor -= 1
    unsafe = [safety[i] < floor for i in good_rows]
    threshold = threshold_for([shipped[i] for i in good_rows], target, unsafe)

    def drops(label: str) -> float:
        members = [i for i, r in enumerate(rows) if r.label == label]
        return round(
            float(np.mean([shipped[i] < threshold or safety[i] < floor for i in members])), 4
        )

    kept_by_filter = {
        label: round(float(np.mean([r.kept for r in rows if r.label == label])), 4)
        for label in (GOOD, BAD)
    }
    return {
        "dialogues": {label: sum(r.label == label for r in rows) for label in (GOOD, BAD)},
        "target_false_drop": target,
        "criteria": per_criterion,
        "rules": rules,
        "chosen": {
            "rule": chosen,
            "chosen_by": chosen_by.format(RULE_MARGIN=RULE_MARGIN),
            "combine": combine,
            "weights": rule_weights,
            "min_mean": round(threshold, 3),
            "min_safety": floor,
            "good_dropped": drops(GOOD),
            "bad_dropped": drops(BAD),
        },
        "kept_by_the_run": kept_by_filter,
    }


def apply_rule(rows: Sequence[Judged], rule: dict[str, Any]) -> dict[str, Any]:
    """A rule fixed beforehand (a `calibrate --json` file's `chosen`), measured on a set it
    was not fitted on: its AUC and drops, beside the plain mean's AUC on the same set."""
    if not any(r.label == GOOD for r in rows) or not any(r.label == BAD for r in rows):
        raise SystemExit("apply needs judged dialogues of both labels")
    fixed = [combined_score(r.scores, rule["combine"], rule["weights"]) or 0.0 for r in rows]
    plain = [combined_score(r.scores, "mean") or 0.0 for r in rows]
    dropped = [
        v < rule["min_mean"] or (r.scores["safety"] or 5) < rule["min_safety"]
        for r, v in zip(rows, fixed, strict=True)
    ]
    good, bad = _split(rows, fixed)
    plain_good, plain_bad = _split(rows, plain)
    return {
        "dialogues": {label: sum(r.label == label for r in rows) for label in (GOOD, BAD)},
        "rule": rule,
        "auc": auc(good, bad),
        "interval": auc_interval(good, bad),
        "mean_auc": auc(plain_good, plain_bad),
        "mean_interval": auc_interval(plain_good, plain_bad),
        "good_dropped": round(
            float(np.mean([d for d, r in zip(dropped, rows, strict=True) if r.label == GOOD])), 4
        ),
        "bad_dropped": round(
            float(np.mean([d for d, r in zip(dropped, rows, strict=True) if r.label == BAD])), 4
        ),
    }


def render(result: dict[str, Any]) -> str:
    """The calibration as Markdown, ending with the recipe lines to ship."""
    n, target = result["dialogues"], result["target_false_drop"]
    lines = [
        f"Judged: {n[GOOD]} good, {n[BAD]} bad. Target: at most {100 * target:.0f}% of the"
        " good set dropped (drop = score < threshold; ties kept).",
        "",
        "| criterion | AUC | applies to | threshold | good dropped | bad dropped |",
        "|---|---|---|---|---|---|",
    ]
    for c, v in result["criteria"].items():
        cells = [
            v["auc"],
            v["applies"],
            v["threshold"],
            v["good_dropped"],
            v["bad_dropped"],
        ]
        lines.append(f"| {c} | " + " | ".join("-" if x is None else str(x) for x in cells) + " |")
    lines += ["", "| combining rule | AUC | 95% interval | note |", "|---|---|---|---|"]
    for name, v in result["rules"].items():
        note = (
            f"out of fold (in sample {v['auc_in_sample']}); weights {v['weights']}; not fitted"
            f" (weight 1): {', '.join(v['unfitted']) or 'none'}"
            if name == "weighted"
            else ""
        )
        lines.append(f"| {name} | {v['auc']} | {v['interval']} | {note} |")
    c = result["chosen"]
    kept = result["kept_by_the_run"]
    lines += [
        "",
        f"Chosen: {c['rule']} ({c['chosen_by']})."
        f" At min_mean {c['min_mean']} and min_safety {c['min_safety']}: good dropped"
        f" {100 * c['good_dropped']:.1f}%, bad dropped {100 * c['bad_dropped']:.1f}%.",
        f"Kept by the judged run's own thresholds: good {100 * kept[GOOD]:.1f}%,"
        f" bad {100 * kept[BAD]:.1f}%.",
        "",
        "Recipe lines:",
        "  - use: judge",
        f"    combine: {c['combine']}",
    ]
    if c["weights"]:
        lines.append(f"    weights: {json.dumps(c['weights'])}")
    lines += [f"    min_mean: {c['min_mean']}", f"    min_safety: {c['min_safety']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build", help="write the blind set, its key and a judge recipe")
    b.add_argument("--shared", type=Path, default=Path("../shared/data"))
    b.add_argument("--k", type=int, default=30, help="dialogues from each source")
    b.add_argument("--seed", type=int, default=19)
    b.add_argument("--out", type=Path, required=True, help="a folder outside the repository")
    b.add_argument("--base-url", help="the judge's OpenAI-compatible server, for judge.yaml")
    b.add_argument("--model", help="the served model name, for judge.yaml")
    b.add_argument("--timeout", type=float, default=3000.0, help="seconds per judge call")
    b.add_argument("--concurrency", type=int, default=8)
    b.add_argument(
        "--exclude", nargs="*", type=Path, default=[], help="key.json files of earlier checks"
    )
    c = commands.add_parser("calibrate", help="AUCs, thresholds and the combining rule")
    c.add_argument("judged", nargs="*", type=Path, help="filter outputs (folders) or JSONL")
    c.add_argument(
        "--key", nargs="*", type=Path, default=[], help="key.json written by build, one per set"
    )
    c.add_argument("--good", nargs="*", type=Path, default=[], help="judged good sets")
    c.add_argument("--bad", nargs="*", type=Path, default=[], help="judged bad sets")
    c.add_argument("--false-drop", type=float, default=0.05, help="most of the good set to drop")
    c.add_argument("--min-safety", type=int, default=3, help="the safety floor to start from")
    c.add_argument("--json", type=Path, help="also write the numbers here")
    c.add_argument(
        "--choose",
        choices=["auto", "mean", "min", "weighted"],
        default="auto",
        help="the rule to ship (auto: the mean unless another beats it by 0.05 AUC)",
    )
    c.add_argument(
        "--apply",
        type=Path,
        help="a calibrate --json file: measure its chosen rule on these sets, without refitting",
    )
    args = parser.parse_args(argv)
    if args.command == "build":
        esconv = args.shared / "esconv"
        key = build(
            esconv / "esconv_test.jsonl",
            esconv / "FailedESConv.json",
            args.k,
            args.seed,
            args.out,
            args.base_url,
            args.model,
            args.timeout,
            args.concurrency,
            args.exclude,
        )
        print(f"wrote {len(key['dialogues'])} dialogues to {args.out / 'blind.jsonl'}")
        print(f"wrote the key to {args.out / 'key.json'} (read it only after judging)")
        if (args.out / "judge.yaml").is_file():
            print(f"wrote {args.out / 'judge.yaml'}: factory filter ... --recipe it")
        return
    if len(args.key) != len(args.judged):
        sys.exit("calibrate: give one --key key.json per judged set, in the same order")
    rows: list[Judged] = []
    skipped: dict[str, int] = {}
    for judged, key_file in zip(args.judged, args.key, strict=True):
        key = {i: v["label"] for i, v in json.loads(key_file.read_text())["dialogues"].items()}
        found, left = read_judged([(judged, None)], key)
        rows += found
        for why, count in left.items():
            skipped[why] = skipped.get(why, 0) + count
    found, left = read_judged([(p, GOOD) for p in args.good] + [(p, BAD) for p in args.bad])
    rows += found
    for why, count in left.items():
        skipped[why] = skipped.get(why, 0) + count
    if skipped:
        print(f"left out: {skipped}", file=sys.stderr)
    if args.apply:
        rule = json.loads(args.apply.read_text(encoding="utf-8"))["chosen"]
        result = apply_rule(rows, rule)
        result["left_out"] = skipped
        n = result["dialogues"]
        print(
            f"Judged: {n[GOOD]} good, {n[BAD]} bad. Rule fixed beforehand: {rule['rule']}"
            f" (combine {rule['combine']}, weights {rule['weights'] or 'none'}, min_mean"
            f" {rule['min_mean']}, min_safety {rule['min_safety']}).\n"
            f"AUC {result['auc']} {result['interval']}; the plain mean on this set:"
            f" {result['mean_auc']} {result['mean_interval']}.\n"
            f"Good dropped {100 * result['good_dropped']:.1f}%,"
            f" bad dropped {100 * result['bad_dropped']:.1f}%."
        )
    else:
        result = calibrate(rows, args.false_drop, args.min_safety, args.choose)
        result["left_out"] = skipped
        print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
