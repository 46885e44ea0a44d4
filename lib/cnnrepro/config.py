"""What identifies a run: its config (every setting that changes its numbers), the
numerics it was computed with, and the key the results store files it under.
Imports no Keras, so that validating a chapter's parameters and listing its runs
is instant."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass, field

# Bump when the meaning of a stored run changes (training loop, data
# preparation, model definitions, what is recorded); runs of an older version are
# not reused. tests/test_fingerprint.py fails until it is bumped when a change alters
# what the reference runs compute (``python -m cnnrepro fingerprint`` renews them).
TRAINING_CODE_VERSION = 1

# A model family's own version, bumped when only its definition changes, so that
# the runs of every other model keep their keys (a version of 1 is not written into
# the key). 2: one initialiser object per layer (the shared, import-time ones gave
# every kernel of a shape the same start, and a start that depended on the process's
# history), torchvision's symmetric padding of strided convolutions, PyTorch's Linear
# initialisation of the ResNet output, torchvision's VGG16 head.
MODEL_VERSIONS = {"vgg16": 2, "resnet18": 2, "resnet18_small_stem": 2, "resnet": 2}
# What each model version fixed, as a page tells its reader about a run it shows
# while the run waits to be retrained under the new version.
MODEL_CHANGES = {
    2: "one random initialiser was shared by many layers, so every layer of the same "
       "shape started from the same weights, whatever the seed; torchvision's padding, "
       "initialisation and VGG16 head were not all followed",
}

# How a run's arithmetic was done, beyond its config: the Keras backend and, on
# TensorFlow, whether its oneDNN kernels ran. The same config and seed give other
# numbers under other numerics (0.03-0.06 test accuracy in chapter 1's single runs
# with oneDNN on and off), so the numerics are part of a run's key. Runs computed
# the default way keep the keys they had before numerics were recorded.
DEFAULT_NUMERICS = {"backend": "tensorflow", "onednn": True}
BACKENDS = ("tensorflow", "jax", "torch")
ONEDNN_VAR = "TF_ENABLE_ONEDNN_OPTS"


def onednn_enabled(value: str | None) -> bool:
    """TensorFlow's reading of TF_ENABLE_ONEDNN_OPTS (cnnrepro sets it to 1 unless the
    user chose; unset, TensorFlow leaves oneDNN off on processors without AVX512_VNNI,
    such as the AMD EPYC the committed cpu runs were trained on)."""
    return (value or "0").strip().lower() in ("1", "true")


def numerics_of(backend: str, onednn: bool | None = None) -> dict:
    if backend not in BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}; allowed: {list(BACKENDS)}")
    return {"backend": backend, "onednn": bool(onednn)} if backend == "tensorflow" \
        else {"backend": backend}


def describe_numerics(numerics: dict) -> str:
    """'tensorflow, oneDNN on', 'jax', ..."""
    if numerics.get("backend") == "tensorflow":
        return f"tensorflow, oneDNN {'on' if numerics.get('onednn') else 'off'}"
    return str(numerics.get("backend", "?"))


def current_numerics() -> dict:
    """The numerics a run trained by this process gets, from the environment Keras and
    TensorFlow read (KERAS_BACKEND, TF_ENABLE_ONEDNN_OPTS)."""
    return numerics_of(os.environ.get("KERAS_BACKEND", "tensorflow"),
                       onednn_enabled(os.environ.get(ONEDNN_VAR)))


# Every numerics a stored run can have, in the order a lookup prefers them after the
# current process's own: a run computed another way still answers for its config.
KNOWN_NUMERICS = (DEFAULT_NUMERICS, numerics_of("tensorflow", False), numerics_of("jax"),
                  numerics_of("torch"))


# The model- or chapter-specific settings a run's ``extra`` may hold, and what reads
# them. Anything else would be hashed into the key while no code reads it.
EXTRA_KEYS = {
    "model_options": "keyword arguments of the model's builder",
    "optimizer_options": "keyword arguments of the Keras optimizer (momentum, ...)",
    "l2": "L2 penalty added to every gradient (train.scaled_optimizer)",
    "augment": "training-time data augmentation (models.augment)",
    "class_weight": "per-class loss weights (train.class_weights)",
    "loss": "the loss as computed, when not categorical cross-entropy (COMPUTED_LOSSES)",
    "task": "the task's own settings, e.g. pair counts (data.prepare_task)",
    "per_update_test": "whether a random test batch is scored after every update",
    "validation_split": "the last fraction of the training images held out by fit",
    "early_stopping": "keras.callbacks.EarlyStopping options",
    "keep_weights": "layers whose weights the store keeps for later runs",
    "transfer": "layers started from another run's weights (Transfer)",
    "freeze": "layers frozen at their initial, untrained weights",
}


# What a run's loss computes (``extra["loss"]``; absent: categorical cross-entropy).
# A key names the loss as computed, never as written: the same Keras call computes
# different losses on different backends (``computed_loss``), and a run stored under
# the call's name would answer for both.
COMPUTED_LOSSES = ("double_softmax",)


def computed_loss(written: str, backend: str) -> str:
    """What a loss written as ``written`` computes on Keras ``backend``: "from_logits"
    (``CategoricalCrossentropy(from_logits=True)`` on a softmax output, the UC report's
    call) is categorical cross-entropy on TensorFlow, whose softmax tensors carry the
    logits Keras then uses (tests/test_train.py proves it), and the double softmax on
    JAX and torch, whose arrays cannot carry them."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}; allowed: {list(BACKENDS)}")
    if written == "from_logits":
        return "categorical_crossentropy" if backend == "tensorflow" else "double_softmax"
    if written in ("categorical_crossentropy", *COMPUTED_LOSSES):
        return written
    raise ValueError(f"unknown loss {written!r}; allowed: ['categorical_crossentropy', "
                     f"'from_logits', {', '.join(map(repr, COMPUTED_LOSSES))}]")


# The data a run reads, by task. Keys name the data file a run was computed on
# when it is not the mirror's (``REPRO_DATA_DIR``, shared/data/README.md), whose
# files every committed run read and which, like the default numerics, are not
# written into keys: without a mirror the loaders download the original datasets
# (CIFAR-10 as PNG-exact batches, not the mirror's JPEG re-encoding), whose runs
# must not answer for the mirror's.
DATA_DIR_VAR = "REPRO_DATA_DIR"
MIRROR_FILES = {"mnist": ("mnist.npz", "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"),
                "cifar10": ("cifar10-jpeg.zip",
                            "eb4b50b071f0554b9b048b79517ce114e3e8d6913d8ae0db42739bf2b9bbfba9")}
TASK_DATASETS = {"mnist": "mnist", "mnist_2ch": "mnist", "mnist_32x3": "mnist",
                 "mnist_pairs": "mnist", "cifar10": "cifar10"}


def current_data(task: str) -> str:
    """What this process's loaders read for ``task``: the mirror file's SHA-256 (the
    loader refuses any other file there), or the Keras download when no mirror is
    set."""
    dataset = TASK_DATASETS[task]
    if os.environ.get(DATA_DIR_VAR):
        return MIRROR_FILES[dataset][1]
    return f"keras.datasets.{dataset} (download)"


def sampled_test(test_limit: int | None) -> dict:
    """The ``extra`` of a run tested on ``test_limit`` images short of the whole test
    set: a fixed class-stratified random sample (``data.stratified_sample``), never
    the first N, which on MNIST are harder than the rest."""
    return {"task": {"test_subset": "stratified"}} if test_limit is not None else {}


def is_current(stored: dict) -> bool:
    """Whether a stored canonical config was computed by the current code: this
    TRAINING_CODE_VERSION and its model's current version."""
    return (stored.get("code_version") == TRAINING_CODE_VERSION
            and stored.get("model_version", 1) == MODEL_VERSIONS.get(stored.get("model"), 1))


# Training images of each task's full training set (a run's ``train_limit`` keeps
# the first N of them).
FULL_TRAIN_SIZES = {"mnist": 60000, "mnist_2ch": 60000, "mnist_32x3": 60000, "cifar10": 50000}


def fit_size(n: int, validation_split: float) -> int:
    """The training images Keras keeps when ``fit`` holds out the last
    ``validation_split`` of them (before shuffling) for validation: it rounds down
    (keras.src.trainers.data_adapters.array_slicing.train_validation_split)."""
    return int(math.floor(n * (1.0 - validation_split)))


@dataclass(frozen=True)
class RunConfig:
    """Every setting that changes the result of one training run."""

    task: str
    model: str
    epochs: int
    batch_size: int
    seed: int
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    train_limit: int | None = None  # keep the first N training images (None: all)
    test_limit: int | None = None
    precision: str = "float32"
    extra: dict = field(default_factory=dict)  # model- or chapter-specific settings

    def __post_init__(self):
        unknown = sorted(set(self.extra) - set(EXTRA_KEYS))
        if unknown:
            raise ValueError(f"unknown run setting(s) extra={unknown} for {self.model}; "
                             f"allowed: {sorted(EXTRA_KEYS)}")
        loss = self.extra.get("loss")
        if loss is not None and loss not in COMPUTED_LOSSES:
            raise ValueError(f"extra['loss']={loss!r} is not allowed; allowed: "
                             f"{list(COMPUTED_LOSSES)} (a loss as computed; categorical "
                             f"cross-entropy is the absent key; config.computed_loss "
                             f"resolves a written loss for a backend)")

    def keeping_all_weights(self) -> "RunConfig":
        """This run with every weight kept (``keep_weights: "all"``), for analyses of
        the trained network such as ``batchnorm.rescore_run``."""
        return dataclasses.replace(self, extra={**self.extra, "keep_weights": "all"})

    def canonical(self, numerics: dict | None = None, data: str | None = None,
                  model_version: int | None = None) -> dict:
        """The config as stored and hashed; ``numerics`` other than the default, data
        other than the mirror's (default: this process's, ``current_data``) and a
        model version other than 1 (default: the current one) are part of it."""
        d = dataclasses.asdict(self)
        d["code_version"] = TRAINING_CODE_VERSION
        version = MODEL_VERSIONS.get(self.model, 1) if model_version is None else model_version
        if version != 1:
            d["model_version"] = version
        if numerics is not None and numerics != DEFAULT_NUMERICS:
            d["numerics"] = numerics
        data = current_data(self.task) if data is None else data
        if data != MIRROR_FILES[TASK_DATASETS[self.task]][1]:
            d["data"] = data
        return d

    def key(self, numerics: dict | None = None, data: str | None = None,
            model_version: int | None = None) -> str:
        """The store key of this config computed with ``numerics`` (default: the
        default numerics, TensorFlow with oneDNN) on ``data`` (default: what this
        process reads) by ``model_version`` (default: the current one)."""
        blob = json.dumps(self.canonical(numerics, data, model_version), sort_keys=True,
                          separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def mirror_data(self) -> str:
        """The identity of the mirror's file for this run's task."""
        return MIRROR_FILES[TASK_DATASETS[self.task]][1]

    def images_per_epoch(self) -> int:
        """The training images one epoch of this run fits on."""
        pairs = self.extra.get("task", {}).get("train_pairs")
        n = pairs or self.train_limit or FULL_TRAIN_SIZES[self.task]
        return fit_size(n, self.extra.get("validation_split", 0.0))

    @classmethod
    def from_canonical(cls, d: dict) -> "RunConfig":
        """The config of a stored canonical dict (its code and model version, numerics
        and data are the stored run's, not the config's; ``is_current`` compares
        them)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def superseded_versions(self) -> list[int]:
        """Earlier versions of this run's model, newest first (``MODEL_VERSIONS``)."""
        return list(range(MODEL_VERSIONS.get(self.model, 1) - 1, 0, -1))

    def label(self) -> str:
        """A line for logs: what tells this run from its neighbours in a chapter."""
        text = f"{self.model} bs={self.batch_size} seed={self.seed} epochs={self.epochs}"
        details = {**self.extra.get("model_options", {}), **self.extra.get("optimizer_options", {}),
                   **{k: self.extra[k] for k in ("l2", "class_weight", "loss", "augment") if k in self.extra}}
        if self.optimizer != "adam" or self.learning_rate != 1e-3 or details:
            text += f" {self.optimizer} lr={self.learning_rate:g}"
        text += "".join(f" {k}={v}" for k, v in details.items())
        if self.extra.get("keep_weights") == "all":
            text += " (all weights kept)"
        if "transfer" in self.extra:
            text += f" ({Transfer.from_config(self).describe()})"
        return text


def setting(config: RunConfig) -> str:
    """What makes a run what it is, seeds aside (its own and those of the runs it
    starts from): two runs of one setting differ only in seed. Which weights are
    kept changes no number of the run, so it is left out too."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in ("seed", "keep_weights")}
        return [strip(v) for v in x] if isinstance(x, list) else x
    return json.dumps(strip(dataclasses.asdict(config)), sort_keys=True, default=str)


@dataclass(frozen=True)
class Transfer:
    """Start some layers from another run's weights (``extra["transfer"]``).

    ``lr_multiplier`` 0 freezes them (``trainable = False``, which also keeps batch
    norm in inference mode, as Keras freezing does); otherwise they train with
    the learning rate times the multiplier.
    """

    source: RunConfig
    layers: tuple[str, ...]
    lr_multiplier: float

    @classmethod
    def from_config(cls, config: RunConfig) -> "Transfer | None":
        t = config.extra.get("transfer")
        if t is None:
            return None
        return cls(RunConfig.from_canonical(t["from"]), tuple(t["layers"]),
                   float(t["lr_multiplier"]))

    @staticmethod
    def extra(source: RunConfig, layers, lr_multiplier: float) -> dict:
        """The ``extra`` entry of a run that starts ``layers`` from ``source``."""
        return {"transfer": {"from": source.canonical(), "layers": list(layers),
                             "lr_multiplier": lr_multiplier}}

    def describe(self) -> str:
        what = "+".join(self.layers)
        return f"{what} frozen" if self.lr_multiplier == 0 else \
            f"{what} fine-tuned at lr x{self.lr_multiplier:g}"
