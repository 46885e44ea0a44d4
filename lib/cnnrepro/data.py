"""Datasets: MNIST and CIFAR-10 from the local mirror or the Keras downloaders.

The mirror is the folder named by ``REPRO_DATA_DIR`` (``mnist.npz`` and
``cifar10-jpeg.zip``, see shared/data/README.md). Every file read from it is
checked against its published SHA-256 before use, and every loader returns the
provenance of what it read so that a run can store it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import pairs
from .config import DATA_DIR_VAR, MIRROR_FILES

CACHE_DIR_VAR = "REPRO_CACHE_DIR"

MNIST_FILE, MNIST_SHA256 = MIRROR_FILES["mnist"]
CIFAR10_FILE, CIFAR10_SHA256 = MIRROR_FILES["cifar10"]

MNIST_CLASSES = [str(d) for d in range(10)]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]


class DataError(RuntimeError):
    """A dataset file is missing, unreachable or corrupt."""


@dataclass
class Dataset:
    """Raw images (uint8, NHW or NHWC) and integer labels, as published."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: dict = field(default_factory=dict)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mirror_file(filename: str, expected_sha256: str) -> Path | None:
    """The verified mirror file, or None when no mirror is configured."""
    folder = os.environ.get(DATA_DIR_VAR)
    if not folder:
        return None
    path = Path(folder) / filename
    if not path.is_file():
        raise DataError(
            f"{DATA_DIR_VAR}={folder!r} is set but {path} does not exist. "
            f"Put {filename} (SHA-256 {expected_sha256}) there, or unset "
            f"{DATA_DIR_VAR} to download it with keras.datasets.")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise DataError(
            f"{path} (from {DATA_DIR_VAR}) is corrupt: SHA-256 {actual}, "
            f"expected {expected_sha256}. Replace the file.")
    return path


def _download(loader, filename: str, expected_sha256: str):
    try:
        return loader()
    except Exception as exc:  # no network, proxy, ...: say what to do instead
        raise DataError(
            f"Could not download {filename} with keras.datasets ({exc}). "
            f"Offline, set {DATA_DIR_VAR} to a folder holding {filename} "
            f"(SHA-256 {expected_sha256}).") from exc


def load_mnist() -> Dataset:
    """MNIST: 60,000 training and 10,000 test images, 28x28 uint8."""
    path = _mirror_file(MNIST_FILE, MNIST_SHA256)
    if path is not None:
        with np.load(path) as f:
            arrays = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
        source = {"dataset": "mnist", "origin": "local mirror", "file": str(path),
                  "sha256": MNIST_SHA256}
    else:
        import keras
        (xa, ya), (xb, yb) = _download(keras.datasets.mnist.load_data,
                                       MNIST_FILE, MNIST_SHA256)
        arrays = [xa, ya, xb, yb]
        source = {"dataset": "mnist", "origin": "keras.datasets.mnist (download)"}
    x_train, y_train, x_test, y_test = arrays
    return Dataset("mnist", x_train, y_train.astype(np.int64), x_test,
                   y_test.astype(np.int64), MNIST_CLASSES, source)


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_VAR) or Path.home() / ".cache" / "cnnrepro")


def _decode_cifar_zip(path: Path) -> dict[str, np.ndarray]:
    """Decode train/<class>/<n>.jpg and test/<class>/<n>.jpg, label order of Keras."""
    from PIL import Image

    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith(".jpg")]
        for split in ("train", "test"):
            images, labels = [], []
            for label, cls in enumerate(CIFAR10_CLASSES):
                members = sorted(n for n in names if n.startswith(f"{split}/{cls}/"))
                for name in members:
                    with Image.open(io.BytesIO(zf.read(name))) as im:
                        images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
                labels.extend([label] * len(members))
            arrays[f"x_{split}"] = np.stack(images)
            arrays[f"y_{split}"] = np.asarray(labels, dtype=np.int64)
    return arrays


def load_cifar10() -> Dataset:
    """CIFAR-10: 50,000 training and 10,000 test images, 32x32x3 uint8.

    From the mirror it is the JPEG re-encoding (lossy, grouped by class); the
    decoded arrays are cached under ``REPRO_CACHE_DIR`` keyed by the zip's hash.
    """
    path = _mirror_file(CIFAR10_FILE, CIFAR10_SHA256)
    if path is not None:
        cached = cache_dir() / f"cifar10-jpeg-{CIFAR10_SHA256[:16]}.npz"
        if not cached.is_file():
            arrays = _decode_cifar_zip(path)
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            os.replace(tmp, cached)
        with np.load(cached) as f:
            arrays = {k: f[k] for k in f.files}
        source = {"dataset": "cifar10", "file": str(path), "sha256": CIFAR10_SHA256,
                  "origin": "local mirror: JPEG re-encoding (quality 75), "
                            "not bit-identical to the original batches"}
    else:
        import keras
        (xa, ya), (xb, yb) = _download(keras.datasets.cifar10.load_data,
                                       CIFAR10_FILE, CIFAR10_SHA256)
        arrays = {"x_train": xa, "y_train": ya.reshape(-1).astype(np.int64),
                  "x_test": xb, "y_test": yb.reshape(-1).astype(np.int64)}
        source = {"dataset": "cifar10", "origin": "keras.datasets.cifar10 (download)"}
    return Dataset("cifar10", arrays["x_train"], arrays["y_train"], arrays["x_test"],
                   arrays["y_test"], CIFAR10_CLASSES, source)


# --- tasks: a dataset prepared for one kind of model -------------------------

@dataclass
class Task:
    """Model-ready arrays: float32 images in [0, 1] with a channel axis, one-hot labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: dict

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def labels_train(self) -> np.ndarray:
        return self.y_train.argmax(axis=1)

    @property
    def labels_test(self) -> np.ndarray:
        return self.y_test.argmax(axis=1)


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[labels]


def _images(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32) / 255.0
    return x[..., None] if x.ndim == 3 else x


def _limit(x: np.ndarray, n: int | None) -> np.ndarray:
    return x if n is None else x[:n]


def stratified_sample(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Indices (sorted) of a fixed random sample of ``n`` images holding each class in
    its share of ``labels`` (largest remainders round), drawn with its own generator
    (``seed``), so every run with the same ``n`` tests on the same images. MNIST's
    first test images are harder than the rest (accuracy on the first 2,000 is 1.2
    points lower on average than on all 10,000 over the stored full-test runs), so a
    sample answers for the whole test set where the first N do not."""
    classes, counts = np.unique(labels, return_counts=True)
    share = counts * n / len(labels)
    take = np.floor(share).astype(int)
    take[np.argsort(-(share - take), kind="stable")[:n - take.sum()]] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen))


# How a limit picks its images (a task's ``test_subset`` option): the first N, each
# class's first in turn (``balanced_first``), or a fixed stratified random sample.
SUBSETS = ("first", "balanced_first", "stratified")


def subset(labels: np.ndarray, n: int | None, how: str) -> np.ndarray:
    """Indices of the ``n`` images (all for None) that ``how`` (one of SUBSETS) picks."""
    if how not in SUBSETS:
        raise ValueError(f"test_subset={how!r} is not allowed; allowed: {list(SUBSETS)}")
    if n is None:
        return np.arange(len(labels))
    if how == "first":
        return np.arange(min(n, len(labels)))
    return balanced_first(labels, n) if how == "balanced_first" else stratified_sample(labels, n)


def check_validation_split(labels: np.ndarray, split: float) -> None:
    """Refuse a ``validation_split`` whose held-out images (Keras holds out the last
    ``split`` of them, before any shuffling) could not be a random draw of the
    training images' classes (chi-square test, p < 1e-6): on a set grouped by class,
    such as the CIFAR-10 mirror, the last 10% is one class. A small held-out part
    that is merely uneven passes."""
    from scipy.stats import chisquare
    if not split:
        return
    held = labels[len(labels) - int(len(labels) * split):]
    classes, counts = np.unique(labels, return_counts=True)
    observed = np.array([(held == c).sum() for c in classes])
    expected = counts / counts.sum() * len(held)
    if len(classes) < 2 or chisquare(observed, expected).pvalue >= 1e-6:
        return
    raise ValueError(f"validation_split={split} holds out the last {len(held)} training images, "
                     f"whose classes are no random draw of the training set's (held out per "
                     f"class: {observed.tolist()}; expected about "
                     f"{[round(float(e)) for e in expected]}); allowed: a split of a set whose "
                     f"classes are mixed (shuffle a class-grouped set first)")


def mnist_task(train_limit: int | None = None, test_limit: int | None = None,
               channels: int = 1, pixel_scale: float = 255.0, normalize=None,
               test_subset: str = "first") -> Task:
    """MNIST with pixels divided by ``pixel_scale`` (default: to [0, 1]; 1 keeps 0-255)
    and, with ``normalize`` = [mean, sd], standardised as PyTorch's MNIST example does
    ([0.1307, 0.3081]); shape (28, 28, channels): the image repeated in every channel;
    ``train_limit`` keeps the first N training images, ``test_limit`` the N test
    images ``test_subset`` picks (``subset``)."""
    ds = load_mnist()
    test = subset(ds.y_test, test_limit, test_subset)

    def images(x):
        x = x.astype(np.float32) / pixel_scale
        if normalize is not None:
            x = (x - np.float32(normalize[0])) / np.float32(normalize[1])
        return np.repeat(x[..., None], channels, axis=-1)

    return Task("mnist" if channels == 1 else f"mnist_{channels}ch",
                images(_limit(ds.x_train, train_limit)),
                one_hot(_limit(ds.y_train, train_limit), 10),
                images(ds.x_test[test]), one_hot(ds.y_test[test], 10),
                ds.class_names, ds.source)


def mnist_32x3_task(train_limit: int | None = None, test_limit: int | None = None,
                    test_subset: str = "first") -> Task:
    """MNIST for networks built for 32x32 colour images: each 28x28 digit padded with
    2 black pixels on every side (no resampling) and repeated in 3 channels."""
    task = mnist_task(train_limit, test_limit, channels=3, test_subset=test_subset)
    pad = [(0, 0), (2, 2), (2, 2), (0, 0)]
    return replace(task, name="mnist_32x3", x_train=np.pad(task.x_train, pad),
                               x_test=np.pad(task.x_test, pad))


def balanced_first(labels: np.ndarray, n: int | None) -> np.ndarray:
    """Indices of ``n`` images taking each class's first images in turn (class 0's
    first, class 1's first, ..., then each class's second, ...): a subset with every
    class equally present even when the images are grouped by class."""
    if n is None:
        return np.arange(len(labels))
    rank = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        rank[members] = np.arange(len(members))
    return np.lexsort((labels, rank))[:n]


def cifar10_task(train_limit: int | None = None, test_limit: int | None = None,
                 test_subset: str = "balanced_first") -> Task:
    """CIFAR-10 scaled to [0, 1]; a limit keeps a class-balanced subset
    (``balanced_first``; the test images as ``test_subset`` picks), since the
    mirror's images are grouped by class."""
    ds = load_cifar10()
    train = balanced_first(ds.y_train, train_limit)
    test = subset(ds.y_test, test_limit, test_subset)
    return Task("cifar10", _images(ds.x_train[train]), one_hot(ds.y_train[train], 10),
                _images(ds.x_test[test]), one_hot(ds.y_test[test], 10), ds.class_names, ds.source)


PAIR_CLASSES = ["not_same", "same"]  # class 1 = same digit, as the report's code labels it


def mnist_pairs(source_train: int = 6000, source_test: int = 1000,
                train_pairs: int = 100_000, test_pairs: int = 10_000, pair_seed: int = 0):
    """The pair indices of Report 3 over the first ``source_*`` MNIST images:
    ``(dataset, train Pairs, test Pairs)``."""
    ds = load_mnist()
    return (ds, pairs.draw_pairs(ds.y_train[:source_train], train_pairs, pair_seed),
            pairs.draw_pairs(ds.y_test[:source_test], test_pairs, pair_seed + 1))


def mnist_pairs_task(train_limit: int | None = None, test_limit: int | None = None,
                     **pair_options) -> Task:
    """Two MNIST images stacked as channels (28, 28, 2), labelled same / not_same."""
    ds, train, test = mnist_pairs(**pair_options)
    return Task("mnist_pairs",
                _limit(pairs.stack_pairs(_images(ds.x_train)[..., 0], train), train_limit),
                _limit(one_hot(train.same.astype(np.int64), 2), train_limit),
                _limit(pairs.stack_pairs(_images(ds.x_test)[..., 0], test), test_limit),
                _limit(one_hot(test.same.astype(np.int64), 2), test_limit),
                PAIR_CLASSES, {**ds.source, "pairs": {"train": len(train), "test": len(test),
                                                      **pair_options}})


TASKS = {"mnist": mnist_task,
         "mnist_2ch": functools.partial(mnist_task, channels=2),
         "mnist_32x3": mnist_32x3_task,
         "cifar10": cifar10_task,
         "mnist_pairs": mnist_pairs_task}


def prepare_task(name: str, train_limit: int | None = None,
                 test_limit: int | None = None, **options) -> Task:
    """The task's arrays; ``options`` are the task's own settings (pair counts, ...)."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; allowed: {sorted(TASKS)}")
    return TASKS[name](train_limit=train_limit, test_limit=test_limit, **options)
