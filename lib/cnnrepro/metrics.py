"""Classification metrics, all from scikit-learn, on stored test predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

EPSILON = 1e-7  # Keras clips probabilities to [eps, 1 - eps] in cross-entropy


def cross_entropy(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean categorical cross-entropy of integer labels under predicted probabilities."""
    p = np.clip(probs[np.arange(len(y_true)), y_true], EPSILON, 1 - EPSILON)
    return float(-np.mean(np.log(p)))


def summary(y_true: np.ndarray, probs: np.ndarray, top_k: int = 5) -> dict:
    """Accuracy, macro precision/recall/F1, top-k accuracy and loss; all NaN for a
    network whose outputs are not finite (a diverged run predicts nothing)."""
    names = ["accuracy", "precision", "recall", "f1", "loss"] + (
        [f"top{top_k}_accuracy"] if probs.shape[1] > top_k else [])
    if not np.isfinite(probs).all():
        return dict.fromkeys(names, float("nan"))
    y_pred = probs.argmax(axis=1)
    p, r, f1, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, average="macro", zero_division=0)
    labels = np.arange(probs.shape[1])
    out = {"accuracy": skm.accuracy_score(y_true, y_pred),
           "precision": p, "recall": r, "f1": f1,
           "loss": cross_entropy(y_true, probs)}
    if probs.shape[1] > top_k:
        out[f"top{top_k}_accuracy"] = skm.top_k_accuracy_score(
            y_true, probs, k=top_k, labels=labels)
    return {k: float(v) for k, v in out.items()}


def per_class_report(y_true, y_pred, class_names) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (rows in label order)."""
    rep = skm.classification_report(y_true, y_pred, labels=np.arange(len(class_names)),
                                    target_names=class_names, output_dict=True,
                                    zero_division=0)
    return pd.DataFrame({c: rep[c] for c in class_names}).T.rename(
        columns={"f1-score": "f1"})


def confusion(y_true, y_pred, n_classes: int) -> np.ndarray:
    return skm.confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))
