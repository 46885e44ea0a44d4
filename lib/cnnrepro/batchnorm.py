"""Batch-norm analyses that need no training: a trained network's test accuracy
with its moving averages as trained, with population statistics re-estimated from
the training images, and with each test batch normalised by its own statistics.

A network whose moving averages lag its weights (few updates, a high momentum, a
large learning rate) scores far worse at inference than in training; if
re-estimated statistics recover the accuracy, the weights were fine and only the
averages were stale."""

from __future__ import annotations

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


class _TrainingMode(keras.Model):
    """``net`` in training mode, compiled by ``predict`` (one call per batch rather
    than one eager call): its outputs, or with ``moments`` each batch norm's batch
    mean and variance, a row per batch. The latter needs the batch norms' momentum at
    0, which makes a layer's moving averages its last batch's own statistics."""

    def __init__(self, net: keras.Model, moments: bool = False):
        super().__init__(name=f"{net.name}_training_mode")
        self.net, self.moments = net, moments

    def call(self, x):
        outputs = self.net(x, training=True)
        if not self.moments:
            return outputs
        return [keras.ops.expand_dims(keras.ops.convert_to_tensor(v), 0)
                for bn in batch_norms(self.net) for v in (bn.moving_mean, bn.moving_variance)]


def batch_moments(model: keras.Model, x: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Per batch-norm layer, its input's mean and variance over each batch of
    ``batch_size`` of ``x`` in a training-mode forward pass: [mean_1, var_1, mean_2,
    ...], each (batches, channels). The moving averages are left as they were."""
    layers = batch_norms(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no batch-norm layer to re-estimate")
    saved, momenta = _moving(model), [bn.momentum for bn in layers]
    try:
        for bn in layers:
            bn.momentum = 0.0
        out = _TrainingMode(model, moments=True).predict(x, batch_size=batch_size, verbose=0)
    finally:
        for bn, m in zip(layers, momenta):
            bn.momentum = m
        _restore(model, saved)
    return [np.asarray(o, dtype=np.float64) for o in out]


def reestimate(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> int:
    """Replace every batch norm's moving mean and variance by their average over
    training-mode forward passes on ``x`` in batches (each batch weighs the same;
    ``torch.optim.swa_utils.update_bn`` does the same). No weight changes.
    Returns the number of batches used."""
    moments = batch_moments(model, x, batch_size)
    for bn, mean, var in zip(batch_norms(model), moments[0::2], moments[1::2]):
        bn.moving_mean.assign(mean.mean(axis=0).astype(np.float32))
        bn.moving_variance.assign(var.mean(axis=0).astype(np.float32))
    return len(moments[0])


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities with the moving averages (inference mode)."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)


def predict_batch_statistics(model: keras.Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Class probabilities with each batch of ``batch_size`` test images normalised by
    its own statistics (training mode); the moving averages are left as they were."""
    saved = _moving(model)
    try:
        return np.asarray(_TrainingMode(model).predict(x, batch_size=batch_size, verbose=0),
                          dtype=np.float64)
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


def analyse(run) -> dict:
    """The stored analysis "batchnorm" (``cnnrepro.analyses``) of a run that kept all
    its weights: ``rescore_run``'s table by setting."""
    from .store import ResultsStore
    table = rescore_run(run.config, ResultsStore.load_weights(run))
    return {"settings": table.to_dict(orient="index")}


def rescore_stored(run) -> pd.DataFrame:
    """``rescore_run`` of a stored run, as stored beside it (computed on first demand)."""
    from . import analyses
    settings = analyses.result(run, "batchnorm")["settings"]
    return pd.DataFrame.from_dict(settings, orient="index").loc[list(SETTINGS)].rename_axis("statistics")


def rescored(runs, metric: str = "accuracy") -> dict[str, list[float]]:
    """``metric`` of each stored run (that kept all weights) under the statistics
    other than its own as trained, by setting: what a variant row of a "Why the
    numbers differ" table shows for the batch-norm hypothesis."""
    tables = [rescore_stored(r) for r in runs]
    return {setting: [float(t.loc[setting, metric]) for t in tables]
            for setting in SETTINGS if setting != "as trained"}
