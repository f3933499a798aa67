"""Realism: can a classifier tell the dialogues from the reference? MiniLM embeddings of each
dialogue's opening words, logistic regression, stratified k-fold cross-validation; the ROC
AUC's mean and spread over the folds. 0.5 means indistinguishable, 1.0 fully separable."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from factory.embeddings import Encoder, minilm_encoder
from factory.errors import TooFewDialogues
from factory.models import Dialogue


class Realism(BaseModel):
    """The real-vs-synthetic classifier's ROC AUC over the folds, and how it was trained."""

    model_config = ConfigDict(extra="forbid")

    auc_mean: float
    auc_std: float
    folds: int
    per_side: int
    max_words: int


def opening_words(dialogue: Dialogue, max_words: int) -> str:
    """The dialogue's first `max_words` words, both roles, in order: what is embedded."""
    words = " ".join(t.text for t in dialogue.turns).split()
    return " ".join(words[:max_words])


def realism_auc(
    dialogues: list[Dialogue],
    reference: list[Dialogue],
    encoder: Encoder | None = None,
    max_per_side: int = 1000,
    folds: int = 5,
    max_words: int = 100,
    seed: int = 0,
) -> Realism:
    """Cross-validated AUC on up to `max_per_side` dialogues from each set; fewer than two
    per fold on a side is TooFewDialogues."""
    return sampled_realism_auc(
        (len(dialogues), lambda picked: [dialogues[i] for i in picked]),
        (len(reference), lambda picked: [reference[i] for i in picked]),
        encoder,
        max_per_side,
        folds,
        max_words,
        seed,
    )


Side = tuple[int, Callable[[Sequence[int]], list[Dialogue]]]


def sampled_realism_auc(
    mine: Side,
    theirs: Side,
    encoder: Encoder | None = None,
    max_per_side: int = 1000,
    folds: int = 5,
    max_words: int = 100,
    seed: int = 0,
    their_encoder: Encoder | None = None,
) -> Realism:
    """As `realism_auc`, for sets known by their size and a way to fetch dialogues by
    position (a stream measured once): the same seeded draw picks the same dialogues.
    `their_encoder` embeds the reference side (its own embedding store), default `encoder`.
    The text is the dialogue's first 100 words, the text semantic dedup embeds, so a store
    the filters filled answers for our side."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    n = min(mine[0], theirs[0], max_per_side)
    if n < folds * 2:
        raise TooFewDialogues(f"needs at least {folds * 2} dialogues on each side (has {n})")
    rng = random.Random(seed)
    # random.sample picks by position only, so drawing positions draws the same dialogues.
    ours = mine[1](rng.sample(range(mine[0]), n))
    theirs_drawn = theirs[1](rng.sample(range(theirs[0]), n))
    encode = encoder or minilm_encoder()
    x = np.vstack(
        [
            np.asarray(encode([opening_words(d, max_words) for d in ours]), dtype=np.float32),
            np.asarray(
                (their_encoder or encode)([opening_words(d, max_words) for d in theirs_drawn]),
                dtype=np.float32,
            ),
        ]
    )
    y = np.array([1] * n + [0] * n)
    aucs = []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        model = LogisticRegression(max_iter=2000, C=1.0)
        model.fit(x[train], y[train])
        aucs.append(float(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])))
    return Realism(
        auc_mean=round(float(np.mean(aucs)), 4),
        auc_std=round(float(np.std(aucs)), 4),
        folds=folds,
        per_side=n,
        max_words=max_words,
    )
