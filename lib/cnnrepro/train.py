"""Training with Keras ``fit``: per-update history, per-epoch test metrics, timing
and determinism. Backend-agnostic Keras 3 (data are NumPy arrays)."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from . import checkpoint, metrics, provenance
from .config import TRAINING_CODE_VERSION, RunConfig, Transfer  # noqa: F401 (re-exported)
from .config import current_numerics, fit_size  # noqa: F401 (re-exported)
from .data import Task, check_validation_split, prepare_task
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

    STATE = ("update_rows", "epoch_rows", "eval_seconds", "test_probs", "diverged_at_update")

    def state(self) -> dict:
        """What a checkpoint keeps of the history: its rows, seconds, last test-set
        predictions and the test-batch stream's position."""
        return {**{k: getattr(self, k) for k in self.STATE}, "rng": self.rng.bit_generator.state}

    def restore(self, state: dict) -> None:
        for k in self.STATE:
            setattr(self, k, state[k])
        self.rng.bit_generator.state = state["rng"]

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


CHECKPOINTS = ("resume", "fresh", "off")  # train(checkpoints=...)
STOPPER_STATE = ("wait", "stopped_epoch", "best", "best_weights", "best_epoch")


class Checkpointer(keras.callbacks.Callback):
    """Saves the run's checkpoint at the end of every epoch (listed last, so after the
    history and early stopping have taken the epoch in), and gives a resumed run's
    early stopping back the state that ``fit`` resets when it starts."""

    def __init__(self, key: str, history: UpdateHistory, stoppers: list, resumed=None,
                 deadline: float | None = None, progress=None):
        super().__init__()
        self.key, self.history, self.stoppers, self.deadline = key, history, stoppers, deadline
        self.progress = progress
        self.resumed = resumed
        self.started, self.first_epoch = time.perf_counter(), resumed.epoch if resumed else 0
        self.date = provenance.now_utc()

    def on_train_begin(self, logs=None):
        if self.resumed and self.resumed.stopper:
            restore_stopper(self.stoppers[0], self.resumed.stopper)

    def seconds(self) -> float:
        """Wall seconds of training so far, every segment included."""
        before = self.resumed.seconds.get("wall", 0.0) if self.resumed else 0.0
        return before + time.perf_counter() - self.started

    def segments(self, epochs_done: int) -> list[dict]:
        """Every process's part of the run: its epochs, machine, start and seconds."""
        earlier = self.resumed.segments if self.resumed else []
        return [*earlier, {"epochs": [self.first_epoch + 1, epochs_done], "date": self.date,
                           "host": platform.node(), "cpu": provenance.cpu_model(),
                           "cpu_identity": provenance.cpu_identity(),
                           "commit": provenance.code_commit(),
                           "seconds": round(time.perf_counter() - self.started, 1)}]

    def on_epoch_end(self, epoch, logs=None):
        stopper = ({k: getattr(self.stoppers[0], k) for k in STOPPER_STATE}
                   if self.stoppers else None)
        checkpoint.save(self.key, checkpoint.State(
            epoch=epoch + 1, model_variables=checkpoint.variables_by_path(self.model.variables),
            optimizer_variables=[np.array(v.numpy()) for v in self.model.optimizer.variables],
            history=self.history.state(), stopper=stopper, seconds={"wall": self.seconds()},
            segments=self.segments(epoch + 1)))
        per_epoch = (time.perf_counter() - self.started) / (epoch + 1 - self.first_epoch)
        if self.progress:
            self.progress(f"epoch {epoch + 1}/{self.params['epochs']} checkpointed, "
                          f"{per_epoch / 60:.1f} min per epoch")
        if (self.deadline is not None and epoch + 1 < self.params["epochs"]
                and not self.model.stop_training and time.time() + per_epoch > self.deadline):
            raise checkpoint.Paused(f"paused after epoch {epoch + 1}: the next would end "
                                    "after the deadline")


def restore_stopper(stopper: keras.callbacks.EarlyStopping, state: dict) -> None:
    for k in STOPPER_STATE:
        setattr(stopper, k, state[k])


def resume(model: keras.Model, state: checkpoint.State) -> None:
    """Give a freshly compiled network the variables of a checkpoint: its weights, batch
    norm statistics and random states, and the optimizer's slots and step count."""
    model.optimizer.build(model.trainable_variables)
    checkpoint.restore_variables(model.variables, state.model_variables)
    slots = list(model.optimizer.variables)
    if len(slots) != len(state.optimizer_variables):
        raise ValueError(f"the checkpoint has {len(state.optimizer_variables)} optimizer "
                         f"variables; this optimizer has {len(slots)}")
    for v, value in zip(slots, state.optimizer_variables):
        v.assign(value)


def finished(state: checkpoint.State, epochs: int) -> bool:
    """Whether a checkpointed run has nothing left to train: every epoch, divergence
    or early stopping."""
    return (state.epoch >= epochs or state.history["diverged_at_update"] is not None
            or bool(state.stopper and state.stopper["stopped_epoch"] > 0))


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
    for name in config.extra.get("freeze", []):  # e.g. an extractor that never learned
        model.get_layer(name).trainable = False
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
          pretrained: dict | None = None, checkpoints: str = "resume", log=print,
          deadline: float | None = None, progress=None) -> RunResult:
    """Train one run and evaluate it on the test set. A run with
    ``extra["transfer"]`` needs its source run's kept weights as ``pretrained``.
    ``checkpoints`` (``CHECKPOINTS``): "resume" saves a checkpoint after every epoch
    (``cnnrepro.checkpoint``; the store deletes it once the run is stored) and starts
    from the run's last one; "fresh" saves but starts from the beginning; "off".
    ``deadline`` (a ``time.time()``): stop with ``checkpoint.Paused`` at the first
    checkpoint after which the next epoch would not end in time. ``progress``: called
    with a line after every checkpoint."""
    if checkpoints not in CHECKPOINTS:
        raise ValueError(f"checkpoints={checkpoints!r} is not allowed; allowed: {list(CHECKPOINTS)}")
    provenance.code_state()  # the code as it is when training starts
    numerics = run_numerics()
    key = config.key(numerics)
    state = checkpoint.load(key) if checkpoints == "resume" else None
    if state is not None and not checkpoint.epoch_order_repeats():
        log(f"{config.label()}: not resuming the checkpoint of epoch {state.epoch}: on "
            f"{numerics['backend']} a resumed run is not proven identical; training from the start")
        state = None
    task = prepare_task(config.task, config.train_limit, config.test_limit,
                        **config.extra.get("task", {}))
    check_validation_split(task.labels_train, config.extra.get("validation_split", 0.0))
    seed_everything(config.seed)
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        model = compile_model(config, task, pretrained)
        split = config.extra.get("validation_split", 0.0)
        n_fit = fit_size(len(task.x_train), split)
        history = UpdateHistory(task, config.batch_size, config.seed,
                                config.extra.get("per_update_test", True), n_train=n_fit)
        stoppers = early_stopping(config)
        if state is not None:
            log(f"{config.label()}: resuming after epoch {state.epoch} of {config.epochs}")
            resume(model, state)
            history.restore(state.history)
        saver = ([Checkpointer(key, history, stoppers, state, deadline, progress)]
                 if checkpoints != "off" else [])
        start = time.perf_counter()
        if state is None or not finished(state, config.epochs):
            model.fit(task.x_train, task.y_train, batch_size=config.batch_size,
                      epochs=config.epochs, initial_epoch=state.epoch if state else 0,
                      shuffle=True, callbacks=[history, *stoppers, *saver],
                      verbose=verbose, validation_split=split,
                      class_weight=class_weights(config.extra.get("class_weight"),
                                                 task.labels_train[:n_fit], len(task.class_names)))
        elif stoppers:  # stopped in an earlier segment: end as fit would have ended
            restore_stopper(stoppers[0], state.stopper)
            stoppers[0].set_model(model)
            stoppers[0].on_train_end()
        wall = saver[0].seconds() if saver else time.perf_counter() - start
        if stoppers:  # the weights are now the best epoch's: test those
            history.test_probs = np.asarray(
                model.predict(task.x_test, batch_size=1024, verbose=0), dtype=np.float64)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    fit_seconds = wall - history.eval_seconds
    timing = {"wall_seconds": wall, "eval_seconds": history.eval_seconds,
              "train_seconds": fit_seconds,  # includes fit's validation passes
              "train_images_per_second": len(history.epoch_rows) * n_fit / fit_seconds}
    if state is not None:  # resumed: every process's part of the run
        timing["segments"] = saver[0].segments(len(history.epoch_rows))
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
