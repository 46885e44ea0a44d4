import math

import numpy as np
import pytest

from cnnrepro import metrics

# Hand-checked case: 3 classes, 6 samples.
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
PROBS = np.array([[0.8, 0.1, 0.1],   # 0 -> 0
                  [0.3, 0.6, 0.1],   # 0 -> 1
                  [0.1, 0.8, 0.1],   # 1 -> 1
                  [0.2, 0.7, 0.1],   # 1 -> 1
                  [0.1, 0.2, 0.7],   # 2 -> 2
                  [0.5, 0.1, 0.4]])  # 2 -> 0


def test_summary_hand_checked():
    s = metrics.summary(Y_TRUE, PROBS, top_k=2)
    assert s["accuracy"] == pytest.approx(4 / 6)
    # precision: class 0 1/2, class 1 2/3, class 2 1/1; recall: 1/2, 1, 1/2
    assert s["precision"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert s["recall"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    f1 = [2 * p * r / (p + r) for p, r in [(1 / 2, 1 / 2), (2 / 3, 1), (1, 1 / 2)]]
    assert s["f1"] == pytest.approx(sum(f1) / 3)
    # every true label is among the two largest probabilities of its row
    assert s["top2_accuracy"] == pytest.approx(1.0)
    expected_loss = -np.mean(np.log([0.8, 0.3, 0.8, 0.7, 0.7, 0.4]))
    assert s["loss"] == pytest.approx(expected_loss)


def test_cross_entropy_clips_zero_probabilities_like_keras():
    assert metrics.cross_entropy(np.array([1]), np.array([[1.0, 0.0]])) == pytest.approx(
        -math.log(1e-7))


def test_confusion_and_per_class_report():
    pred = PROBS.argmax(axis=1)
    cm = metrics.confusion(Y_TRUE, pred, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    rep = metrics.per_class_report(Y_TRUE, pred, ["a", "b", "c"])
    assert rep.loc["b", "precision"] == pytest.approx(2 / 3)
    assert rep.loc["c", "recall"] == pytest.approx(0.5)
    assert rep["support"].tolist() == [2, 2, 2]
