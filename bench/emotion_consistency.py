"""Emotion consistency on real ESConv: fits the evidence weights on train, calibrates the
probability threshold on valid, and reports on test the share of real dialogues flagged
(false flags) against the share of planted family swaps caught (the scenario's emotion replaced
by one from another family, the text unchanged). A 5-fold cross-validation over all 1,300
dialogues gives steadier numbers. The baseline is the prototype similarity of the seeker's
opening alone, calibrated the same way. Also: the off-situation check (situations swapped
between dialogues of different problems) and the filter's speed.

    python bench/emotion_consistency.py --shared ../shared/data
    python bench/emotion_consistency.py --generated docs/oracle-check-12/run*/dialogues.jsonl
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np

from factory.embeddings import minilm_encoder
from factory.filters.emotion_consistency import (
    SIGNALS,
    EmotionConsistencyFilter,
    EmotionConsistencySettings,
    FamilyEvidence,
    emotion_families,
    load_lexicon,
)
from factory.importers.esconv import import_esconv
from factory.models import Dialogue, Turn

TARGETS = (0.05, 0.075, 0.10, 0.15)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 3000, lr: float = 0.5):
    """Weights shared across families: softmax over families of x @ w (a conditional logit)."""
    n, families, k = x.shape
    w = np.zeros(k)
    onehot = np.eye(families)[y]
    for _ in range(steps):
        s = x @ w
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        w -= lr * (((p - onehot)[:, :, None] * x).sum(axis=(0, 1)) / n + l2 * w)
    return w


def own_probability(x: np.ndarray, labels: np.ndarray, w: np.ndarray) -> np.ndarray:
    s = x @ w
    s -= s.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    return p[np.arange(len(p)), labels]


def swapped(labels: np.ndarray, families: int, rng: np.random.Generator) -> np.ndarray:
    return np.array([rng.choice([f for f in range(families) if f != label]) for label in labels])


def rates(score_real, score_swap, score_calib, target):
    threshold = float(np.quantile(score_calib, target))
    return threshold, float((score_real < threshold).mean()), float((score_swap < threshold).mean())


def auc(score_real: np.ndarray, score_swap: np.ndarray) -> float:
    """The chance a real dialogue scores above a swap (ties count half)."""
    real, swap = np.asarray(score_real)[:, None], np.asarray(score_swap)[None, :]
    return float((real > swap).mean() + 0.5 * (real == swap).mean())


def binormal_caught(area: float, false_flags: float) -> float:
    """Swaps caught at a false-flag rate when both scores are normal with equal spread and
    the AUC is `area` (separation d' = sqrt(2) * z(area))."""
    z = NormalDist().inv_cdf
    return NormalDist().cdf(2**0.5 * z(area) - z(1 - false_flags))


def binormal_needed(caught: float, false_flags: float) -> float:
    """The AUC that catches `caught` of the swaps at `false_flags`, under the same model."""
    z = NormalDist().inv_cdf
    return NormalDist().cdf((z(caught) + z(1 - false_flags)) / 2**0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--generated",
        type=Path,
        nargs="*",
        default=[],
        help="dialogue files (e.g. the oracle checks') to try the word classifier on as well",
    )
    parser.add_argument(
        "--families-only",
        action="store_true",
        help="stop after the family evidence (skip the off-situation check and the speed run)",
    )
    args = parser.parse_args()
    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    family_of = emotion_families()
    lexicon = load_lexicon()
    evidence = FamilyEvidence(lexicon, minilm_encoder())
    families = evidence.families
    splits: dict[str, tuple[list[Dialogue], np.ndarray, np.ndarray, np.ndarray]] = {}
    began = time.perf_counter()
    for split in ("train", "valid", "test"):
        dialogues, _ = import_esconv([args.shared / "esconv" / f"esconv_{split}.jsonl"])
        dialogues = [d for d in dialogues if d.scenario.emotion_type in family_of]
        found = evidence(dialogues)
        labels = np.array([families.index(family_of[d.scenario.emotion_type]) for d in dialogues])
        similarity = np.array([s if s is not None else 1.0 for s in found.situation_similarity])
        splits[split] = (dialogues, np.array(found.signals), labels, similarity)
    total = sum(len(v[0]) for v in splits.values())
    print(f"evidence for {total} ESConv dialogues in {time.perf_counter() - began:.1f}s")
    rng = np.random.default_rng(args.seed)

    _, x_train, y_train, _ = splits["train"]
    _, x_valid, y_valid, _ = splits["valid"]
    _, x_test, y_test, _ = splits["test"]
    swap_test = swapped(y_test, len(families), rng)
    w = fit(x_train, y_train)
    print("\n## weights fitted on train (signals: " + ", ".join(SIGNALS) + ")")
    print(
        "all signals:   " + ", ".join(f"{name}={v:.2f}" for name, v in zip(SIGNALS, w, strict=True))
    )
    baseline = fit(x_train[:, :, :1], y_train)
    print(f"baseline:      seeker_embedding={baseline[0]:.2f}")
    print(
        "shipped:       "
        + ", ".join(
            f"{n}={v:.2f}"
            for n, v in zip(SIGNALS, EmotionConsistencySettings().weights.vector(), strict=True)
        )
    )
    accuracy = float(((x_test @ w).argmax(axis=1) == y_test).mean())
    accuracy_base = float(((x_test[:, :, :1] @ baseline).argmax(axis=1) == y_test).mean())
    print(
        f"family accuracy on test (argmax): combined {accuracy:.3f}, baseline {accuracy_base:.3f}"
    )

    print(
        f"\n## threshold calibrated on valid, measured on test ({len(y_test)} real, {len(y_test)} swaps)"
    )
    print(
        f"{'target':>7} {'combined: p_min':>16} {'false flags':>12} {'caught':>7} {'baseline: false flags':>22} {'caught':>7}"
    )
    for target in TARGETS:
        t, ff, caught = rates(
            own_probability(x_test, y_test, w),
            own_probability(x_test, swap_test, w),
            own_probability(x_valid, y_valid, w),
            target,
        )
        _, ff_b, caught_b = rates(
            own_probability(x_test[:, :, :1], y_test, baseline),
            own_probability(x_test[:, :, :1], swap_test, baseline),
            own_probability(x_valid[:, :, :1], y_valid, baseline),
            target,
        )
        print(
            f"{target:>7.3f} {t:>16.3f} {ff:>12.3f} {caught:>7.3f} {ff_b:>22.3f} {caught_b:>7.3f}"
        )

    print("\n## 5-fold cross-validation over train+valid+test (fit and calibrate on 4 folds)")
    x_all = np.concatenate([x_train, x_valid, x_test])
    y_all = np.concatenate([y_train, y_valid, y_test])
    folds = rng.permutation(len(y_all)) % 5
    swap_all = swapped(y_all, len(families), rng)
    for target in TARGETS:
        combined, base = np.zeros((5, 2)), np.zeros((5, 2))
        for k in range(5):
            train, held = folds != k, folds == k
            for cols, out in ((slice(None), combined), (slice(0, 1), base)):
                wk = fit(x_all[train][:, :, cols], y_all[train])
                calib = own_probability(x_all[train][:, :, cols], y_all[train], wk)
                _, ff, caught = rates(
                    own_probability(x_all[held][:, :, cols], y_all[held], wk),
                    own_probability(x_all[held][:, :, cols], swap_all[held], wk),
                    calib,
                    target,
                )
                out[k] = (ff, caught)
        print(
            f"target {target:.3f}: combined false flags {combined[:, 0].mean():.3f}±{combined[:, 0].std():.3f}"
            f" caught {combined[:, 1].mean():.3f}±{combined[:, 1].std():.3f} | baseline false flags"
            f" {base[:, 0].mean():.3f}±{base[:, 0].std():.3f} caught {base[:, 1].mean():.3f}±{base[:, 1].std():.3f}"
        )

    # How far the evidence separates real from swapped as a whole, and what issue 14's mark
    # (80% of swaps at 10% false flags) would take. Scores are out of fold.
    real_oof, swap_oof = np.zeros(len(y_all)), np.zeros(len(y_all))
    for k in range(5):
        train, held = folds != k, folds == k
        wk = fit(x_all[train], y_all[train])
        real_oof[held] = own_probability(x_all[held], y_all[held], wk)
        swap_oof[held] = own_probability(x_all[held], swap_all[held], wk)
    area = auc(real_oof, swap_oof)
    print(
        f"AUC (real above swap, out of fold): {area:.3f}; a binormal model with it catches"
        f" {binormal_caught(area, 0.10):.3f} at 10% false flags; 80% there needs an AUC of"
        f" {binormal_needed(0.80, 0.10):.3f}"
    )

    family_floors(x_all, y_all, swap_all, folds, families, np.random.default_rng(args.seed))

    # Tried for issue 14 (80% of swaps at the false-drop rate that keeps 90% of ESConv), not
    # shipped: a sixth signal, log P(family | problem type) counted on the training folds.
    problems = np.array(
        [d.scenario.problem_type.lower() for split in splits.values() for d in split[0]]
    )
    print("\n## tried, not shipped: + log P(family | problem), counted on the 4 training folds")
    for target in TARGETS:
        rows = np.zeros((5, 2))
        for k in range(5):
            train, held = folds != k, folds == k
            prior_train = problem_prior(problems[train], y_all[train], problems[train], families)
            prior_held = problem_prior(problems[train], y_all[train], problems[held], families)
            x_train_k = np.concatenate([x_all[train], prior_train[:, :, None]], axis=2)
            x_held_k = np.concatenate([x_all[held], prior_held[:, :, None]], axis=2)
            wk = fit(x_train_k, y_all[train])
            _, ff, caught = rates(
                own_probability(x_held_k, y_all[held], wk),
                own_probability(x_held_k, swap_all[held], wk),
                own_probability(x_train_k, y_all[train], wk),
                target,
            )
            rows[k] = (ff, caught)
        print(
            f"target {target:.3f}: false flags {rows[:, 0].mean():.3f}±{rows[:, 0].std():.3f}"
            f" caught {rows[:, 1].mean():.3f}±{rows[:, 1].std():.3f}"
        )

    # Tried for issue 14, not shipped: a classifier over the seeker's words (tf-idf of words
    # and word pairs, logistic regression with balanced classes), its log-probabilities a
    # sixth signal. Its scores for the training folds are cross-fitted inside them, so the
    # weights are not fitted on a classifier that has seen the dialogues it scores.
    seekers = [_seeker(d) for split in splits.values() for d in split[0]]
    print("\n## tried, not shipped: + a classifier over the seeker's words (tf-idf, logistic)")
    words_rows = np.zeros((len(TARGETS), 5, 2))
    words_argmax = np.zeros(len(y_all), dtype=int)
    words_real, words_swap = np.zeros(len(y_all)), np.zeros(len(y_all))
    shipped_argmax = np.zeros(len(y_all), dtype=int)
    for k in range(5):
        train, held = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        inner, outer = word_classifier(
            [seekers[i] for i in train], y_all[train], [seekers[i] for i in held], args.seed
        )
        x_train_k = np.concatenate([x_all[train], inner[:, :, None]], axis=2)
        x_held_k = np.concatenate([x_all[held], outer[:, :, None]], axis=2)
        wk = fit(x_train_k, y_all[train])
        for t, target in enumerate(TARGETS):
            _, ff, caught = rates(
                own_probability(x_held_k, y_all[held], wk),
                own_probability(x_held_k, swap_all[held], wk),
                own_probability(x_train_k, y_all[train], wk),
                target,
            )
            words_rows[t, k] = (ff, caught)
        words_real[held] = own_probability(x_held_k, y_all[held], wk)
        words_swap[held] = own_probability(x_held_k, swap_all[held], wk)
        words_argmax[held] = outer.argmax(axis=1)
        shipped_argmax[held] = (x_all[held] @ fit(x_all[train], y_all[train])).argmax(axis=1)
    for t, target in enumerate(TARGETS):
        rows = words_rows[t]
        print(
            f"target {target:.3f}: false flags {rows[:, 0].mean():.3f}±{rows[:, 0].std():.3f}"
            f" caught {rows[:, 1].mean():.3f}±{rows[:, 1].std():.3f}"
        )
    print(f"AUC (real above swap, out of fold): {auc(words_real, words_swap):.3f}")
    print("family accuracy within one problem type (cross-validated argmax; the classifier")
    print("gains nothing there if what it learned is which problems go with which family):")
    for problem in sorted(set(problems)):
        mine = problems == problem
        if mine.sum() < 40:
            continue
        majority = np.bincount(y_all[mine]).max() / mine.sum()
        print(
            f"  {problem:24s} n={int(mine.sum()):4d}  most common family {majority:.2f}"
            f"  classifier {(words_argmax[mine] == y_all[mine]).mean():.2f}"
            f"  shipped evidence {(shipped_argmax[mine] == y_all[mine]).mean():.2f}"
        )
    if args.generated:
        generated_check(args.generated, evidence, x_all, y_all, seekers, family_of, args.seed)
    if args.families_only:
        return

    print("\n## off-situation check (all 1,300): the opening only vs the best of the opening")
    print("## and the words from each of the seeker's turns 2-4 on (situation_turns 3)")
    dialogues = splits["train"][0] + splits["valid"][0] + splits["test"][0]
    problems = [d.scenario.problem_type for d in dialogues]
    other = [
        next(j for j in rng.permutation(len(dialogues)) if problems[j] != problems[i])
        for i in range(len(dialogues))
    ]
    moved = [
        d.model_copy(update={"scenario": dialogues[j].scenario})
        for d, j in zip(dialogues, other, strict=True)
    ]
    # The same dialogues with a greeting exchange in front: what a greeting opening costs.
    greeted = [
        d.model_copy(
            update={
                "turns": [
                    Turn(role="seeker", text="Hi there, thanks for talking with me."),
                    Turn(role="supporter", text="Hello! How are you feeling today?"),
                    *d.turns,
                ]
            }
        )
        for d in dialogues
    ]
    shipped = EmotionConsistencySettings()
    for turns, thresholds in ((0, (0.15,)), (shipped.situation_turns, (0.15, 0.17, 0.19, 0.21))):
        scorer = FamilyEvidence(lexicon, evidence._encoder, situation_turns=turns)
        scorer._centroids = evidence._centroids
        real, swap, greet = (_similarities(scorer, rows) for rows in (dialogues, moved, greeted))
        for at in thresholds:
            mark = " (shipped)" if turns and at == shipped.min_situation_similarity else ""
            print(
                f"situation_turns {turns}, min_situation_similarity {at:.2f}{mark}: real flagged"
                f" {(real < at).mean():.3f}, swapped situations caught {(swap < at).mean():.3f},"
                f" real with a greeting first flagged {(greet < at).mean():.3f}"
            )
        if turns:
            # What the filter does: situations under min_situation_words words are labels and
            # are not compared.
            at, least = shipped.min_situation_similarity, shipped.min_situation_words
            story = [
                np.array([len(d.scenario.situation.split()) >= least for d in rows])
                for rows in (dialogues, moved, greeted)
            ]
            real_f, swap_f, greet_f = (
                float(((sims < at) & kept).mean())
                for sims, kept in zip((real, swap, greet), story, strict=True)
            )
            print(
                f"  and situations under {least} words not compared (shipped): real flagged"
                f" {real_f:.3f}, swapped situations caught {swap_f:.3f}, real with a greeting"
                f" first flagged {greet_f:.3f}"
            )

    print("\n## the shipped filter on ESConv test (its defaults) and its speed")
    test = splits["test"][0]
    names = {f: sorted(e for e, fam in family_of.items() if fam == f) for f in families}
    swaps = []
    for d, label in zip(test, swap_test, strict=True):
        emotion = str(rng.choice(names[families[label]]))
        swaps.append(
            d.model_copy(
                update={
                    "id": d.id + "-swap",
                    "scenario": d.scenario.model_copy(update={"emotion_type": emotion}),
                }
            )
        )
    filt = EmotionConsistencyFilter(encoder=minilm_encoder())
    filt.check_batch(test[:8])  # load the model and the centroids before timing
    began = time.perf_counter()
    real = filt.check_batch(test)
    elapsed = time.perf_counter() - began
    planted = filt.check_batch(swaps)
    flagged = [o.verdict.reason for o in real if not o.verdict.keep]
    caught = [o.verdict.reason for o in planted if not o.verdict.keep]
    print(
        f"real test dialogues dropped: {len(flagged)}/{len(real)} ({100 * len(flagged) / len(real):.1f}%:"
        f" {flagged.count('emotion_mismatch')} emotion_mismatch, {flagged.count('off_situation')} off_situation)"
    )
    print(
        f"planted family swaps dropped: {len(caught)}/{len(planted)} ({100 * len(caught) / len(planted):.1f}%)"
    )
    print(f"speed: {len(test) / elapsed:.0f} dialogues/s ({len(test)} in {elapsed:.1f}s)")


def family_floors(
    x_all: np.ndarray,
    y_all: np.ndarray,
    swap_all: np.ndarray,
    folds: np.ndarray,
    families: list[str],
    rng: np.random.Generator,
) -> None:
    """One floor for all families against a floor per family (each family's real dialogues of
    the training folds flagged at the target), with the false flags of each family. The
    planted swaps go to every other family alike while real labels follow ESConv's shares, so
    one floor, which flags a rare family's real dialogues more often, also catches swaps to it
    more often; family intercepts (a column per family, fitted with the weights) do the same,
    more so. Swaps drawn in proportion to the families' shares (a mislabel that keeps the
    labels' mix) show what each catches without that. Last, the shipped weights' floors per
    family on all of ESConv, to paste in a recipe."""
    n, count, _ = x_all.shape
    intercepts = np.concatenate(
        [x_all, np.broadcast_to(np.eye(count)[None, :, 1:], (n, count, count - 1))], axis=2
    )
    shares = np.bincount(y_all, minlength=count) / n
    weighted = np.array(
        [
            rng.choice(count, p=np.where(np.arange(count) == y, 0, shares) / (1 - shares[y]))
            for y in y_all
        ]
    )
    print("\n## one floor or a floor per family (5-fold; real flagged per true family, swaps")
    print("## caught per planted family; then swaps drawn by the families' shares)")
    for name, x, per_family in (
        ("one floor (shipped)", x_all, False),
        ("a floor per family", x_all, True),
        ("one floor + family intercepts", intercepts, False),
    ):
        for target in (0.075, 0.10):
            real = np.zeros(n, dtype=bool)
            swap, share_swap = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
            for k in range(5):
                train, held = folds != k, folds == k
                w = fit(x[train], y_all[train])
                own = own_probability(x[train], y_all[train], w)
                floors = (
                    per_family_floors(own, y_all[train], count, target)
                    if per_family
                    else np.full(count, np.quantile(own, target))
                )
                for out, labels in ((real, y_all), (swap, swap_all), (share_swap, weighted)):
                    out[held] = own_probability(x[held], labels[held], w) < floors[labels[held]]
            by_family = ", ".join(
                f"{f} {real[y_all == i].mean():.2f}/{swap[swap_all == i].mean():.2f}"
                for i, f in enumerate(families)
            )
            print(
                f"{name}, target {target:.3f}: false flags {real.mean():.3f} caught"
                f" {swap.mean():.3f} | per family, real flagged/swaps caught: {by_family}"
                f" | swaps by share caught {share_swap.mean():.3f}"
            )
    shipped = EmotionConsistencySettings()
    own = own_probability(x_all, y_all, np.array(shipped.weights.vector()))
    shipped_floor = shipped.min_family_probability
    print(
        f"shipped weights on all {n}: min_family_probability {shipped_floor} flags "
        + ", ".join(
            f"{f} {(own[y_all == i] < shipped_floor).mean():.3f} (of {(y_all == i).sum()})"
            for i, f in enumerate(families)
        )
    )
    # The first: floors that flag as many of ESConv in all as the shipped single floor does.
    for target in (float((own < shipped_floor).mean()), 0.075, 0.10):
        floors = per_family_floors(own, y_all, count, target)
        listed = ", ".join(f"{f}: {floors[i]:.3f}" for i, f in enumerate(families))
        print(f"family_floors flagging {target:.3f} of each family: {{{listed}}}")


def per_family_floors(own: np.ndarray, labels: np.ndarray, count: int, target: float):
    """For each family, the own-family probability under which `target` of its real
    dialogues fall."""
    return np.array([np.quantile(own[labels == f], target) for f in range(count)])


def problem_prior(
    seen: np.ndarray, labels: np.ndarray, asked: np.ndarray, families: list[str]
) -> np.ndarray:
    """log P(family | problem) for each of `asked`, from the families of `seen` dialogues;
    add-one smoothing toward the overall family shares (an unseen problem gets those)."""
    overall = np.bincount(labels, minlength=len(families)) / len(labels)
    out = np.zeros((len(asked), len(families)))
    for i, problem in enumerate(asked):
        counts = np.bincount(labels[seen == problem], minlength=len(families))
        smoothed = counts + overall * len(families)
        out[i] = np.log(smoothed / smoothed.sum())
    return out


def _seeker(dialogue: Dialogue) -> str:
    return " ".join(t.text for t in dialogue.turns if t.role == "seeker")


def word_classifier(
    texts: list[str], labels: np.ndarray, asked: list[str], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Log-probabilities of each family from the seeker's words: for `texts` cross-fitted
    (5 inner folds), for `asked` from a classifier fitted on all of `texts`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline

    def model():
        return make_pipeline(
            TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2)),
            LogisticRegression(max_iter=2000, class_weight="balanced"),
        )

    data = np.array(texts, dtype=object)
    inner = np.zeros((len(texts), int(labels.max()) + 1))
    for a, b in StratifiedKFold(5, shuffle=True, random_state=seed).split(data, labels):
        inner[b] = model().fit(data[a], labels[a]).predict_log_proba(data[b])
    return inner, model().fit(data, labels).predict_log_proba(np.array(asked, dtype=object))


def generated_check(
    paths: list[Path],
    evidence: FamilyEvidence,
    x_all: np.ndarray,
    y_all: np.ndarray,
    seekers: list[str],
    family_of: dict[str, str],
    seed: int,
) -> None:
    """Generated dialogues, whose emotion the scenario sampler drew apart from the problem:
    weights fitted and thresholds calibrated on all of ESConv, with and without the word
    classifier; each dialogue as labelled and moved to each other family."""
    from factory.filters.lines import read_dialogues

    dialogues = [
        d
        for path in paths
        for _, d, _, _ in read_dialogues(path)
        if d is not None and d.scenario.emotion_type in family_of
    ]
    families = evidence.families
    x_gen = np.array(evidence(dialogues).signals)
    y_gen = np.array([families.index(family_of[d.scenario.emotion_type]) for d in dialogues])
    print(f"\n## generated dialogues ({len(dialogues)}), fitted and calibrated on all ESConv")
    inner, outer = word_classifier(seekers, y_all, [_seeker(d) for d in dialogues], seed)
    for name, x_fit, x_asked in (
        ("shipped evidence", x_all, x_gen),
        (
            "+ word classifier",
            np.concatenate([x_all, inner[:, :, None]], axis=2),
            np.concatenate([x_gen, outer[:, :, None]], axis=2),
        ),
    ):
        w = fit(x_fit, y_all)
        for target in (0.075, 0.10):
            threshold = np.quantile(own_probability(x_fit, y_all, w), target)
            dropped = int((own_probability(x_asked, y_gen, w) < threshold).sum())
            moved = [
                (i, f) for i in range(len(y_gen)) for f in range(len(families)) if f != y_gen[i]
            ]
            caught = sum(
                own_probability(x_asked[[i]], np.array([f]), w)[0] < threshold for i, f in moved
            )
            print(
                f"{name}, calibrated to flag {target:.3f} of ESConv: labelled dropped"
                f" {dropped}/{len(y_gen)}, moved to another family caught {caught}/{len(moved)}"
                f" ({caught / len(moved):.3f})"
            )


def _similarities(scorer: FamilyEvidence, dialogues: list[Dialogue]) -> np.ndarray:
    found = scorer(dialogues).situation_similarity
    return np.array([v if v is not None else 1.0 for v in found])


if __name__ == "__main__":
    main()
