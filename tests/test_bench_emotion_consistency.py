"""bench/emotion_consistency.py: the word classifier tried as a sixth signal scores the
training texts cross-fitted and new texts from a model of all of them; floors per family flag
each family's real dialogues alike; the AUC and the binormal reading of it."""

from __future__ import annotations

import numpy as np

from bench.emotion_consistency import (
    auc,
    binormal_caught,
    binormal_needed,
    per_family_floors,
    word_classifier,
)

WORDS = (
    "worried nervous scared tomorrow",
    "sad empty crying alone",
    "angry furious unfair lied",
)


def test_word_classifier_scores_every_family_for_every_text():
    texts, labels = [], []
    for family, words in enumerate(WORDS):
        for i in range(10):
            texts.append(f"today I feel {words} number {i}")
            labels.append(family)
    asked = ["so worried and nervous", "I am sad and alone", "furious, they lied"]
    inner, outer = word_classifier(texts, np.array(labels), asked, seed=0)
    assert inner.shape == (30, 3) and outer.shape == (3, 3)
    # Log-probabilities: each row's probabilities add up to one.
    assert np.allclose(np.exp(inner).sum(axis=1), 1) and np.allclose(np.exp(outer).sum(axis=1), 1)
    assert outer.argmax(axis=1).tolist() == [0, 1, 2]
    # Cross-fitted scores still find the family: the other texts of a family share its words.
    assert (inner.argmax(axis=1) == np.array(labels)).all()


def test_a_floor_per_family_flags_each_family_alike_where_one_floor_does_not():
    rng = np.random.default_rng(0)
    # A rare family whose own probabilities run low (ESConv's shame), beside a common one.
    labels = np.array([0] * 900 + [1] * 100)
    own = np.concatenate([rng.uniform(0.2, 1.0, 900), rng.uniform(0.0, 0.5, 100)])
    floors = per_family_floors(own, labels, 2, 0.1)
    flagged = own < floors[labels]
    assert [round(flagged[labels == f].mean(), 2) for f in (0, 1)] == [0.1, 0.1]
    one = own < np.quantile(own, 0.1)
    assert one[labels == 1].mean() > 0.4 and one[labels == 0].mean() < 0.07


def test_auc_counts_real_above_swap_and_ties_half():
    assert auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert auc(np.array([0.1, 0.2]), np.array([0.9, 0.8])) == 0.0
    # 0.5 beats 0.4, ties 0.5, loses to 0.6: (1 + 0.5 + 0) / 3.
    assert auc(np.array([0.5]), np.array([0.4, 0.5, 0.6])) == 0.5


def test_binormal_reading_matches_sampled_normal_scores():
    rng = np.random.default_rng(1)
    # Real scores N(1.8, 1), swaps N(0, 1): d' = 1.8.
    real, swap = rng.normal(1.8, 1, 200_000), rng.normal(0, 1, 200_000)
    area = auc(real[:3000], swap[:3000])
    threshold = np.quantile(real, 0.10)
    assert abs(binormal_caught(area, 0.10) - float((swap < threshold).mean())) < 0.03
    # The two functions invert each other.
    assert abs(binormal_needed(binormal_caught(0.9, 0.1), 0.1) - 0.9) < 1e-9
    assert binormal_needed(0.8, 0.1) > binormal_needed(0.7, 0.1)
