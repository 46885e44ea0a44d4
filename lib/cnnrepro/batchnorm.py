"""Batch-norm analyses that need no training: a trained network's test accuracy
with its moving averages as trained, with population statistics re-estimated from
the training images, and with each test batch normalised by its own statistics.

A network whose moving averages lag its weights (few updates, a high momentum, a
large learning rate) scores far worse at inference than in training; if
re-estimated statistics recover the accuracy, the weights were fine and only the
averages were stale."""

from __future__ import annotations

import functools
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from . import metrics

SETTINGS = {"as trained": "the moving averages the run ended with",
            "re-estimated": "population statistics recomputed over the training images",
            "batch statistics": "each test batch normalised by its own mean and variance"}


def batch_norms(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """Every batch-norm layer of ``model``, nested models included."""
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
    return found


def _moving(model) -> list[list[np.ndarray]]:
    return [[np.asarray(bn.moving_mean), np.asarray(bn.moving_variance)] for bn in batch_norms(model)]


def _restore(model, saved) -> None:
    for bn, (mean, var) in zip(batch_norms(model), saved):
        bn.moving_mean.assign(mean)
        bn.moving_variance.assign(var)


def reestimate(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> int:
    """Replace every batch norm's moving mean and variance by their average over
    training-mode forward passes on ``x`` in batches (each batch weighs the same;
    ``torch.optim.swa_utils.update_bn`` does the same). No weight changes.
    Returns the number of batches used."""
    layers = batch_norms(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no batch-norm layer to re-estimate")
    momenta = [bn.momentum for bn in layers]
    starts = range(0, len(x), batch_size)
    try:
        for k, start in enumerate(starts, 1):
            for bn in layers:  # moving = (k-1)/k * moving + 1/k * batch: the running mean
                bn.momentum = (k - 1) / k
            model(x[start:start + batch_size], training=True)
    finally:
        for bn, m in zip(layers, momenta):
            bn.momentum = m
    return len(starts)


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities with the moving averages (inference mode)."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)


def predict_batch_statistics(model: keras.Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Class probabilities with each batch of ``batch_size`` test images normalised by
    its own statistics (training mode); the moving averages are left as they were."""
    saved = _moving(model)
    try:
        return np.concatenate([np.asarray(model(x[s:s + batch_size], training=True), dtype=np.float64)
                               for s in range(0, len(x), batch_size)])
    finally:
        _restore(model, saved)


def rescore(model: keras.Model, x_train: np.ndarray, x_test: np.ndarray, labels: np.ndarray,
            batch_size: int) -> pd.DataFrame:
    """Test accuracy and macro F1 of ``model`` under each of ``SETTINGS``; the
    model's moving averages are back as trained afterwards."""
    saved = _moving(model)
    probs = {"as trained": predict(model, x_test)}
    probs["batch statistics"] = predict_batch_statistics(model, x_test, batch_size)
    try:
        reestimate(model, x_train, batch_size)
        probs["re-estimated"] = predict(model, x_test)
    finally:
        _restore(model, saved)
    rows = {}
    for setting in SETTINGS:
        s = metrics.summary(labels, probs[setting])
        rows[setting] = {"accuracy": s["accuracy"], "f1": s["f1"],
                         "classes predicted": int(len(np.unique(probs[setting].argmax(1))))}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("statistics")


def rescore_run(config, weights: dict) -> pd.DataFrame:
    """``rescore`` for a stored run that kept all its weights: its training images
    (those ``fit`` trained on) re-estimate, its test set is re-scored, in batches of
    its batch size."""
    from .config import fit_size
    from .data import prepare_task
    from .train import trained_model
    task = prepare_task(config.task, config.train_limit, config.test_limit,
                        **config.extra.get("task", {}))
    model = trained_model(config, task, weights)
    n_fit = fit_size(len(task.x_train), config.extra.get("validation_split", 0.0))
    return rescore(model, task.x_train[:n_fit], task.x_test, task.labels_test, config.batch_size)


@functools.lru_cache(maxsize=None)
def _rescored_at(path: str) -> pd.DataFrame:
    from .store import ResultsStore, read_run
    run = read_run(Path(path))
    return rescore_run(run.config, ResultsStore.load_weights(run))


def rescore_stored(run) -> pd.DataFrame:
    """``rescore_run`` of a stored run, computed once per process."""
    return _rescored_at(str(run.path))


def rescored(runs, metric: str = "accuracy") -> dict[str, list[float]]:
    """``metric`` of each stored run (that kept all weights) under the statistics
    other than its own as trained, by setting: what a variant row of a "Why the
    numbers differ" table shows for the batch-norm hypothesis."""
    tables = [rescore_stored(r) for r in runs]
    return {setting: [float(t.loc[setting, metric]) for t in tables]
            for setting in SETTINGS if setting != "as trained"}
