"""Training with Keras ``fit``: per-update history, per-epoch test metrics, timing
and determinism. Backend-agnostic Keras 3 (data are NumPy arrays)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from . import metrics, provenance
from .config import TRAINING_CODE_VERSION, RunConfig, Transfer  # noqa: F401 (re-exported)
from .config import current_numerics, fit_size  # noqa: F401 (re-exported)
from .data import Task, prepare_task
from .models import build_model
from .models.augment import augmented

OPTIMIZERS = {"adam": keras.optimizers.Adam, "adagrad": keras.optimizers.Adagrad,
              "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}
CLASS_WEIGHTS = ("inverse_frequency",)  # extra["class_weight"]


def double_softmax_crossentropy(y_true, y_pred):
    """Cross-entropy of softmax(y_pred) where y_pred are already probabilities: what
    ``from_logits=True`` on a softmax output means as written. Keras on TensorFlow
    does not compute it for that call (it finds the softmax's logits and uses them);
    the JAX backend, whose arrays cannot carry them, does."""
    return -keras.ops.sum(y_true * keras.ops.log_softmax(y_pred, axis=-1), axis=-1)


# The losses ``compile_for_training`` knows: categorical cross-entropy (every run's,
# unless ``extra["loss"]`` names one of config.COMPUTED_LOSSES); Keras's call with
# from_logits=True on softmax outputs (the UC report's, which a run never names: its
# key says what the call computes, config.computed_loss); the double softmax.
LOSSES = {"categorical_crossentropy": lambda: "categorical_crossentropy",
          "from_logits": lambda: keras.losses.CategoricalCrossentropy(from_logits=True),
          "double_softmax": lambda: double_softmax_crossentropy}


@dataclass
class RunResult:
    config: RunConfig
    updates: pd.DataFrame   # one row per parameter update
    epochs: pd.DataFrame    # one row per epoch
    metrics: dict           # final test metrics
    test_probs: np.ndarray  # final predicted probabilities on the test set
    test_labels: np.ndarray
    timing: dict
    data_source: dict
    weights: dict[str, np.ndarray] | None = None  # kept layers' weights, "<layer>/<i>"
    numerics: dict | None = None  # how it was computed (config.current_numerics)


def run_numerics() -> dict:
    """This process's numerics, checked against the backend Keras actually loaded (a
    keras.json can choose one that KERAS_BACKEND does not name)."""
    numerics = current_numerics()
    if keras.backend.backend() != numerics["backend"]:
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r} but KERAS_BACKEND says "
                           f"{numerics['backend']!r}; set KERAS_BACKEND={keras.backend.backend()} "
                           "so that runs are filed under the backend that computed them")
    return numerics


def seed_everything(seed: int) -> None:
    """Python, NumPy and backend seeds; deterministic TensorFlow kernels."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()


class UpdateHistory(keras.callbacks.Callback):
    """After every update: the loss/accuracy of the batch just trained on, and of a
    random test batch of the same size (never used for training), as Report 2 did,
    unless ``per_update_test`` is off (``extra["per_update_test"]``: the test batch
    costs about a third of an update). After every epoch: loss, accuracy and top-5 on the whole test set.

    A non-finite training loss stops training after that update (the weights are
    NaN from then on) and is kept as ``diverged_at_update``: divergence is a result.

    Keras reports a running mean over the epoch after each batch; the batch's own
    value is recovered from two consecutive means weighted by samples seen.
    """

    def __init__(self, task: Task, batch_size: int, seed: int, per_update_test: bool = True,
                 n_train: int | None = None):
        super().__init__()
        self.task, self.batch_size, self.per_update_test = task, batch_size, per_update_test
        self.n_train = n_train or len(task.x_train)  # fewer when fit holds out validation
        self.rng = np.random.default_rng(seed + 1_000_003)  # own stream, not the shuffle's
        self.update_rows, self.epoch_rows = [], []
        self.eval_seconds = 0.0
        self.test_probs = None
        self.diverged_at_update = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.seen, self.sums = 0, {"loss": 0.0, "accuracy": 0.0}

    def on_train_batch_end(self, batch, logs=None):
        n = min(self.batch_size, self.n_train - batch * self.batch_size)
        seen = self.seen + n
        row = {"update": len(self.update_rows) + 1, "epoch": self.epoch + 1, "batch": batch + 1}
        for name in ("loss", "accuracy"):
            total = float(logs[name]) * seen
            row[name] = (total - self.sums[name]) / n
            self.sums[name] = total
        row["accuracy"] = round(row["accuracy"] * n) / n  # a count of correct samples
        self.seen = seen
        if not np.isfinite(row["loss"]):
            self.diverged_at_update = row["update"]
            self.model.stop_training = True
        elif self.per_update_test:
            self.test_batch(row)
        self.update_rows.append(row)

    def test_batch(self, row: dict) -> None:
        """Loss and accuracy of a random test batch, into ``row``."""
        start = time.perf_counter()
        idx = self.rng.choice(len(self.task.x_test), size=self.batch_size, replace=False)
        probs = np.asarray(self.model.predict_on_batch(self.task.x_test[idx]), dtype=np.float64)
        labels = self.task.labels_test[idx]
        row["val_loss"] = metrics.cross_entropy(labels, probs)
        row["val_accuracy"] = float(np.mean(probs.argmax(axis=1) == labels))
        self.eval_seconds += time.perf_counter() - start

    def on_epoch_end(self, epoch, logs=None):
        start = time.perf_counter()
        probs = np.asarray(self.model.predict(self.task.x_test, batch_size=1024, verbose=0),
                           dtype=np.float64)
        self.eval_seconds += time.perf_counter() - start
        test = metrics.summary(self.task.labels_test, probs)
        row = {"epoch": epoch + 1, "loss": float(logs["loss"]),
               "accuracy": float(logs["accuracy"])}
        row.update({k: float(logs[k]) for k in ("val_loss", "val_accuracy") if k in logs})
        row.update({f"test_{k}": v for k, v in test.items()})
        self.epoch_rows.append(row)
        self.test_probs = probs


def scaled_optimizer(name: str, learning_rate: float, multipliers=(), l2: float = 0.0,
                     **options) -> keras.Optimizer:
    """Optimizer ``name`` (with its Keras ``options``, e.g. momentum) whose update of
    each variable in ``multipliers`` ((variable, factor) pairs) uses the learning rate
    times the factor: one learning rate for a fine-tuned extractor, another for the
    head. ``l2`` adds ``l2 * variable`` to every gradient before the update rule:
    an L2 penalty of l2/2 times the squared weights on every parameter, which is
    PyTorch's ``weight_decay`` (Keras's own ``weight_decay`` option is decoupled
    from the gradient, which differs once there is momentum or Adam's scaling).
    Works on every Keras backend."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; allowed: {sorted(OPTIMIZERS)}")
    base = OPTIMIZERS[name]
    if not multipliers and not l2:
        return base(learning_rate=learning_rate, **options)

    class Scaled(base):
        def update_step(self, gradient, variable, learning_rate):
            if self._l2:
                gradient = keras.ops.add(gradient, keras.ops.multiply(variable, self._l2))
            # _var_key maps a Keras variable and the backend variable it wraps
            # (what update_step receives) to the same key
            factor = self._factors.get(self._var_key(variable), 1.0)
            super().update_step(gradient, variable, learning_rate * factor)

    opt = Scaled(learning_rate=learning_rate, **options)
    opt._factors = {opt._var_key(v): f for v, f in multipliers}
    opt._l2 = float(l2)
    return opt


def set_kept_weights(layer: keras.Layer, weights: dict) -> None:
    """Give ``layer`` the weights a run kept for the layer of the same name."""
    n = len(layer.get_weights())
    missing = [f"{layer.name}/{i}" for i in range(n) if f"{layer.name}/{i}" not in weights]
    if missing:
        raise ValueError(f"no kept weights for {missing}; kept: {sorted(weights)[:4]}...")
    layer.set_weights([weights[f"{layer.name}/{i}"] for i in range(n)])


def apply_transfer(model: keras.Model, transfer: Transfer, weights: dict) -> list:
    """Load the transferred layers' weights; freeze them, or return their
    variables' learning-rate multipliers as (variable, factor) pairs."""
    for name in transfer.layers:
        layer = model.get_layer(name)
        set_kept_weights(layer, weights)
        if transfer.lr_multiplier == 0:
            layer.trainable = False
    if transfer.lr_multiplier in (0, 1):
        return []
    return [(v, transfer.lr_multiplier) for name in transfer.layers
            for v in model.get_layer(name).trainable_variables]


def compile_model(config: RunConfig, task: Task, pretrained: dict | None = None) -> keras.Model:
    model = build_model(config.model, task.input_shape, len(task.class_names),
                        **config.extra.get("model_options", {}))
    multipliers = []
    transfer = Transfer.from_config(config)
    if transfer is not None:
        if pretrained is None:
            raise ValueError(f"{config.label()} starts from another run's weights; "
                             "pass them as pretrained (ResultsStore.get_or_train does)")
        multipliers = apply_transfer(model, transfer, pretrained)
    if config.extra.get("augment"):  # e.g. "crop_flip": active only while training
        model = augmented(model, config.extra["augment"], config.seed)
    return compile_for_training(model, config.optimizer, config.learning_rate, multipliers,
                                l2=config.extra.get("l2", 0.0),
                                loss=config.extra.get("loss", "categorical_crossentropy"),
                                **config.extra.get("optimizer_options", {}))


def compile_for_training(model: keras.Model, optimizer: str, learning_rate: float,
                         multipliers=(), l2: float = 0.0, loss: str = "categorical_crossentropy",
                         **options) -> keras.Model:
    """How every run (and the benchmark) compiles: a loss of ``LOSSES`` (categorical
    cross-entropy unless ``extra["loss"]`` says otherwise), accuracy (unweighted, also
    when the loss is class-weighted); ``l2`` and ``options`` go to the optimizer
    (``extra["l2"]``, ``extra["optimizer_options"]`` of a run)."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; allowed: {list(LOSSES)}")
    model.compile(optimizer=scaled_optimizer(optimizer, learning_rate, multipliers, l2,
                                             **options),
                  loss=LOSSES[loss](), metrics=["accuracy"])
    return model


def early_stopping(config: RunConfig) -> list[keras.callbacks.EarlyStopping]:
    """``extra["early_stopping"]`` (e.g. {"monitor": "val_loss", "patience": 3}) as a
    callback that also restores the best epoch's weights at the end."""
    options = config.extra.get("early_stopping")
    if not options:
        return []
    return [keras.callbacks.EarlyStopping(restore_best_weights=True, **options)]


def class_weights(kind: str | None, labels: np.ndarray, classes: int) -> dict[int, float] | None:
    """Per-class loss weights (``extra["class_weight"]``). "inverse_frequency": N / (K *
    count of the class), so a balanced set weighs every class 1; on full MNIST it is
    the NTU report's 1 / (count / 60,000) / 10. Keras averages the weighted losses over
    the batch size (PyTorch's weighted cross-entropy divides by the sum of the
    weights instead; with weights this close to 1 the two differ by under 1%)."""
    if kind is None:
        return None
    if kind not in CLASS_WEIGHTS:
        raise ValueError(f"unknown class_weight {kind!r}; allowed: {list(CLASS_WEIGHTS)} or None")
    counts = np.bincount(labels, minlength=classes)
    return {c: len(labels) / (classes * n) for c, n in enumerate(counts) if n}


def kept_weights(model: keras.Model, layers) -> dict[str, np.ndarray] | None:
    """The weights of ``layers`` (or of every layer: "all") by "<layer>/<i>", for runs
    that later runs start from or that are analysed after training."""
    if not layers:
        return None
    if layers == "all":
        layers = [layer.name for layer in model.layers if layer.weights]
    return {f"{name}/{i}": w for name in layers
            for i, w in enumerate(model.get_layer(name).get_weights())}


def train(config: RunConfig, verbose: int | str = "auto",
          pretrained: dict | None = None) -> RunResult:
    """Train one run and evaluate it on the test set. A run with
    ``extra["transfer"]`` needs its source run's kept weights as ``pretrained``."""
    provenance.code_state()  # the code as it is when training starts
    numerics = run_numerics()
    task = prepare_task(config.task, config.train_limit, config.test_limit,
                        **config.extra.get("task", {}))
    seed_everything(config.seed)
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        model = compile_model(config, task, pretrained)
        split = config.extra.get("validation_split", 0.0)
        n_fit = fit_size(len(task.x_train), split)
        history = UpdateHistory(task, config.batch_size, config.seed,
                                config.extra.get("per_update_test", True), n_train=n_fit)
        stoppers = early_stopping(config)
        start = time.perf_counter()
        model.fit(task.x_train, task.y_train, batch_size=config.batch_size,
                  epochs=config.epochs, shuffle=True, callbacks=[history, *stoppers],
                  verbose=verbose, validation_split=split,
                  class_weight=class_weights(config.extra.get("class_weight"),
                                             task.labels_train[:n_fit], len(task.class_names)))
        wall = time.perf_counter() - start
        if stoppers:  # the weights are now the best epoch's: test those
            history.test_probs = np.asarray(
                model.predict(task.x_test, batch_size=1024, verbose=0), dtype=np.float64)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    fit_seconds = wall - history.eval_seconds
    timing = {"wall_seconds": wall, "eval_seconds": history.eval_seconds,
              "train_seconds": fit_seconds,  # includes fit's validation passes
              "train_images_per_second": len(history.epoch_rows) * n_fit / fit_seconds}
    final = metrics.summary(task.labels_test, history.test_probs)
    final["diverged_at_update"] = history.diverged_at_update
    if stoppers:
        final["best_epoch"] = stoppers[0].best_epoch + 1
        final["epochs_trained"] = len(history.epoch_rows)
    return RunResult(config, pd.DataFrame(history.update_rows), pd.DataFrame(history.epoch_rows),
                     final,
                     history.test_probs.astype(np.float32), task.labels_test, timing,
                     task.source, kept_weights(model, config.extra.get("keep_weights")),
                     numerics)


def trained_model(config: RunConfig, task: Task, weights: dict) -> keras.Model:
    """The network of a stored run that kept every layer (``keep_weights: "all"``),
    rebuilt with those weights, without its training-time augmentation."""
    model = build_model(config.model, task.input_shape, len(task.class_names),
                        **config.extra.get("model_options", {}))
    for layer in model.layers:
        if layer.weights:
            set_kept_weights(layer, weights)
    return model
