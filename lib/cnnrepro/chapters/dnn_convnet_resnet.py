"""Chapter 5: DNN vs ConvNet vs a ResNet-50-style network across learning rates
(Cincinnati, Deep Learning Homework 2)."""

import numpy as np
import pandas as pd

from ..config import RunConfig, fit_size
from ..spec import (ChapterSpec, Protocol, ProtocolError, boolean, choice_list, int_list,
                    number_list, positive_int, positive_number)

MODELS = ["dnn", "convnet", "resnet50_block"]
# "as printed": the report's SparseCategoricalCrossentropy(from_logits=True) on softmax
# outputs, run by Keras (on TensorFlow it uses the softmax's logits, so the call does
# no harm); "double softmax": what the call means as written (and what Keras on JAX
# computes); "corrected": from_logits=False, what the models' softmax calls for.
LOSSES = {"as printed": "from_logits", "double softmax": "double_softmax",
          "corrected": "categorical_crossentropy"}
MNIST_SIZES = (60000, 10000)


def validation_fraction(name: str, value) -> float:
    """Early stopping needs a validation set and training needs the rest: (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: a number in (0, 1)")
    return float(value)


def run_config(p: Protocol, model: str, learning_rate: float, loss: str, seed: int) -> RunConfig:
    extra = {"per_update_test": False, "validation_split": p.validation_split,
             "early_stopping": {"monitor": "val_loss", "patience": p.patience}}
    if LOSSES[loss] != "categorical_crossentropy":
        extra["loss"] = LOSSES[loss]
    return RunConfig(task="mnist", model=model, epochs=p.max_epochs, batch_size=p.batch_size,
                     seed=seed, optimizer="adam", learning_rate=learning_rate,
                     train_limit=None if p.train_images == MNIST_SIZES[0] else p.train_images,
                     test_limit=None if p.test_images == MNIST_SIZES[1] else p.test_images,
                     extra=extra)


def _configs(p: Protocol) -> list[RunConfig]:
    return [run_config(p, m, lr, loss, s) for loss in p.losses for m in p.models
            for lr in p.learning_rates for s in p.seeds]


# Where the ResNet answers one class on the test set after a high training accuracy,
# the chapter blames batch-norm moving averages that lag the weights. The test: the
# ResNet at the low learning rates again (corrected loss, which on TensorFlow is what
# the report's call computes), every weight kept, re-scored without training.
ABLATIONS = {"bn_stats": "stale batch-norm moving averages, not the weights, make the "
                         "low-rate ResNet answer one class"}
BN_RATES = (0.001, 0.0001)


def _ablation_configs(p: Protocol) -> list[RunConfig]:
    if "bn_stats" not in p.ablations:
        return []
    out = []
    for lr in [lr for lr in p.learning_rates if lr in BN_RATES]:
        for s in p.seeds:
            out.append(run_config(p, "resnet50_block", lr, "corrected", s).keeping_all_weights())
    return out


def ablation_of(config: RunConfig) -> str:
    return "bn_stats" if config.extra.get("keep_weights") == "all" else "protocol"


# The report states the optimizer (Adam), the learning rates, the loss, the split
# (the 60,000 Keras training images, the 10,000 test images) and that it stops
# early on validation; the rest is chosen here and listed in the chapter.
_PAPER = {"models": MODELS, "learning_rates": [0.1, 0.01, 0.001, 0.0001], "losses": list(LOSSES),
          "seeds": [0], "batch_size": 32, "max_epochs": 20, "patience": 3,
          "validation_split": 0.1, "train_images": 60000, "test_images": 10000,
          "ablations": list(ABLATIONS), "force": False}

# 40 minutes from an empty store on 2 cores for 36 runs. The ResNet is the heavy
# one: about 145 images/s at batch size 32 (the ConvNet about 1,000, the DNN about
# 2,800), so every run gets the first 4,000 training images (3,600 to fit, 400 to
# validate), 2,000 test images, and at most 5 epochs with a patience of 2.
_CPU = {**_PAPER, "train_images": 4000, "test_images": 2000, "max_epochs": 5, "patience": 2}

_SMOKE = {**_PAPER, "learning_rates": [0.1, 0.001], "train_images": 300, "test_images": 200,
          "max_epochs": 2, "patience": 1}

def loss_label(config: RunConfig) -> str:
    """The chapter's name for a run's loss ("as printed", "double softmax", "corrected")."""
    computed = config.extra.get("loss", "categorical_crossentropy")
    return next(name for name, value in LOSSES.items() if value == computed)


def labels(config: RunConfig) -> dict:
    """A run's model, learning rate, loss and seed, for the claims."""
    return {"model": config.model, "learning_rate": f"{config.learning_rate:g}",
            "loss": loss_label(config), "seed": config.seed}


SPEC = ChapterSpec(
    name="dnn_convnet_resnet",
    title="DNN vs ConvNet vs a ResNet-50-style network across learning rates (UC homework)",
    checks={"models": lambda n, v: choice_list(n, v, MODELS),
            "learning_rates": lambda n, v: number_list(n, v, positive_number),
            "losses": lambda n, v: choice_list(n, v, list(LOSSES)),
            "seeds": lambda n, v: int_list(n, v, minimum=0),
            "batch_size": positive_int,
            "max_epochs": positive_int,
            "patience": positive_int,
            "validation_split": validation_fraction,
            "train_images": lambda n, v: positive_int(n, v, MNIST_SIZES[0]),
            "test_images": lambda n, v: positive_int(n, v, MNIST_SIZES[1]),
            "ablations": lambda n, v: choice_list(n, v, list(ABLATIONS), empty_ok=True),
            "force": boolean},
    profiles={"paper": _PAPER, "cpu": _CPU, "smoke": _SMOKE},
    deviations={
        "cpu": ["the first 4,000 training images instead of 60,000 (3,600 to fit, 400 to "
                "validate) and the first 2,000 test images instead of 10,000",
                "at most 5 epochs with a patience of 2 instead of 20 and 3"],
        "smoke": ["300 training and 200 test images, learning rates 0.1 and 0.001, at most "
                  "2 epochs with a patience of 1"]},
    configs=_configs,
    ablations=_ablation_configs,
    ablation_of=lambda p, config: ablation_of(config),
    labels=labels,
)


# --- the chapter's tables and figures -------------------------------------------

NAMES = {"dnn": "DNN", "convnet": "ConvNet", "resnet50_block": "ResNet"}
BN_MOMENTUM = 0.99  # Keras's BatchNormalization default, which the report's code keeps


def results_frame(runs) -> pd.DataFrame:
    """One row per run: model, learning rate, loss, seed, test accuracy and macro F1,
    and how early stopping ended it."""
    return pd.DataFrame([{
        "model": NAMES[r.config.model], "learning rate": r.config.learning_rate,
        "loss": loss_label(r.config), "seed": r.config.seed, "accuracy": r.metrics["accuracy"],
        "f1": r.metrics["f1"], "epochs trained": r.metrics.get("epochs_trained"),
        "best epoch": r.metrics.get("best_epoch"), "key": r.key} for r in runs])


def batchnorm_table(ch) -> pd.DataFrame:
    """Per learning rate of the bn_stats ablation (first seed): the ResNet's test
    accuracy and the number of classes it predicts, with the batch-norm statistics
    as trained, re-estimated over its training images, and of each test batch."""
    from .. import batchnorm
    frames = {f"{r.config.learning_rate:g}": batchnorm.rescore_stored(r)[["accuracy", "classes predicted"]]
              for r in ch.ablation_runs if ablation_of(r.config) == "bn_stats" and r.config.seed == ch.seed0}
    return pd.concat(frames, names=["learning rate"])


def identical_pairs(runs) -> tuple[int, int]:
    """(pairs of 'as printed' and 'corrected' runs with identical per-update history,
    pairs compared)."""
    by = {(r.config.model, r.config.learning_rate, r.config.seed, loss_label(r.config)): r for r in runs}
    pairs = [(by[k], by[(*k[:3], "corrected")]) for k in by
             if k[3] == "as printed" and (*k[:3], "corrected") in by]
    same = sum(a.updates[["loss", "accuracy"]].equals(b.updates[["loss", "accuracy"]]) for a, b in pairs)
    return same, len(pairs)


def data_split(p: Protocol) -> pd.DataFrame:
    """Where each part of the data comes from, and how many images it holds."""
    n_fit = fit_size(p.train_images, p.validation_split)
    return pd.DataFrame({
        "images": [p.train_images, n_fit, p.train_images - n_fit, p.test_images],
        "source": ["the first N of mnist.load_data()'s 60,000 training images",
                   "the first part, shuffled every epoch",
                   "the last part, as Keras's validation_split takes it",
                   "the 10,000 test images (the first N)"]},
        index=["training set", "fit", "validation", "test"])


def pixel_range(images: np.ndarray) -> pd.DataFrame:
    """Smallest and largest pixel before and after the report's division by 255."""
    return pd.DataFrame({"raw (uint8)": [images.min(), images.max()],
                         "after / 255.0": [images.min() / 255.0, images.max() / 255.0]},
                        index=["minimum", "maximum"])


def double_softmax_floor() -> float:
    """The double-softmax loss of a perfect answer (probability 1 on the right class):
    log(1 + 9/e), the lowest the report's loss as written can go."""
    from ..train import double_softmax_crossentropy
    perfect = np.eye(10)[:1]
    return float(np.asarray(double_softmax_crossentropy(perfect, perfect))[0])


def reported_grid(reported: dict) -> pd.DataFrame:
    """The report's accuracy and F1 per (model, learning rate)."""
    rows = [{"model": NAMES[model], "learning rate": float(lr), "accuracy": acc, "f1": f1}
            for model, by_lr in reported["by_learning_rate"].items() for lr, (acc, f1) in by_lr.items()]
    return pd.DataFrame(rows).set_index(["model", "learning rate"])


def mean_by_loss(results: pd.DataFrame, losses: list[str]) -> dict[str, pd.DataFrame]:
    """Per loss: mean accuracy and F1 over seeds per (model, learning rate)."""
    mean = results.groupby(["model", "learning rate", "loss"], sort=False)[["accuracy", "f1"]].mean()
    return {loss: mean.xs(loss, level="loss") for loss in losses}


def table2(reported: dict, ours: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Table 2: accuracy and F1 by learning rate, the report's beside ours with each loss."""
    theirs = reported_grid(reported)
    return pd.concat(
        {metric: pd.concat({"report": theirs[metric], **{loss: t[metric] for loss, t in ours.items()}},
                           axis=1).dropna(subset=list(ours), how="all")
         for metric in ("accuracy", "f1")}, axis=1)


def table1(reported: dict, ours: dict[str, pd.DataFrame], models: list[str]) -> pd.DataFrame:
    """Table 1: each model's best run, the report's beside our best learning rate per loss."""
    rows = []
    for model in models:
        name, rep = NAMES[model], reported["best"][model]
        rows.append({"model": name, "run": "report", "accuracy": rep["accuracy"], "F1": rep["f1"],
                     "learning rate": "not stated"})
        for loss, t in ours.items():
            lr = t.loc[name, "accuracy"].idxmax()
            rows.append({"model": name, "run": f"ours, {loss}", "accuracy": t.loc[(name, lr), "accuracy"],
                         "F1": t.loc[(name, lr), "f1"], "learning rate": f"{lr:g}"})
    return pd.DataFrame(rows).set_index(["model", "run"])


def double_softmax_cost(ours: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """Corrected minus double softmax, per model and learning rate (None without both)."""
    if not {"double softmax", "corrected"} <= set(ours):
        return None
    return (ours["corrected"] - ours["double softmax"]).unstack("learning rate")


def moving_average_left(updates: int, momentum: float = BN_MOMENTUM) -> float:
    """The weight batch norm's moving averages still give their initial values after
    ``updates`` updates."""
    return momentum ** updates


def stops(results: pd.DataFrame) -> pd.DataFrame:
    """Epochs trained and best epoch per (model, loss) and learning rate."""
    return results.pivot_table(index=["model", "loss"], columns="learning rate",
                               values=["epochs trained", "best epoch"], aggfunc="first")


def headlines(best: pd.DataFrame, *, profile: str, test_size: int) -> list[dict]:
    """The chapter's rows of the book's numbers table, from Table 1: each model's best
    accuracy and F1 per loss against the report's (the double softmax shown, not
    counted: the report never trained with it)."""
    from ..headlines import headline
    rows = []
    for model, runs in best.groupby(level="model", sort=False):
        rep = runs.loc[(model, "report")]
        for (_, run_name), row in runs.drop(index=(model, "report")).iterrows():
            variant = run_name.removeprefix("ours, ")
            reason = "the report's loss taken as written (softmax applied twice)" \
                if variant == "double softmax" else ""
            for kind, column, name in (("accuracy", "accuracy", "accuracy"), ("f1", "F1", "macro F1")):
                rows.append(headline(
                    f"{model}, best test {name} ({variant}, lr {row['learning rate']})", kind, rep[column],
                    row[column], profile=profile, decimals=3, reason=reason, test_size=test_size,
                    counted=variant != "double softmax"))
    return rows
