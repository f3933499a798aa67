"""bench/emotion_consistency.py: the word classifier tried as a sixth signal scores the
training texts cross-fitted and new texts from a model of all of them."""

from __future__ import annotations

import numpy as np

from bench.emotion_consistency import word_classifier

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
