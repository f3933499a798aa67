"""bench/emotion_consistency.py: the word classifier tried as a sixth signal scores the
training texts cross-fitted and new texts from a model of all of them; floors per family flag
each family's real dialogues alike."""

from __future__ import annotations

import numpy as np

from bench.emotion_consistency import per_family_floors, word_classifier

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
