"""The results store: one folder per run, keyed by the canonical config.

    <root>/<model>/<key>/config.json       canonical config (with code version) and key
                         updates.csv       per-update train and random-test-batch metrics
                         epochs.csv        per-epoch train and full-test metrics
                         metrics.json      final test metrics
                         predictions.npz   test labels and predicted probabilities
                         provenance.json   timing, data source, packages, hardware, commit
                         weights.npz       only for runs that keep layers' weights
                                           (``extra["keep_weights"]``) for later runs

A run folder appears by one rename of a finished temporary folder, so an
interrupted run leaves no entry behind, and ``force`` replaces an entry only
once its replacement is complete.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import provenance
from .execution import note_input
from .config import RunConfig, Transfer

if TYPE_CHECKING:
    from .train import RunResult

log_line = functools.partial(print, flush=True)

FILES = ("config.json", "updates.csv", "epochs.csv", "metrics.json",
         "predictions.npz", "provenance.json")


@dataclass
class Run:
    """A stored run, as the chapters read it."""

    config: RunConfig
    key: str
    path: Path
    updates: pd.DataFrame
    epochs: pd.DataFrame
    metrics: dict
    test_labels: np.ndarray
    test_probs: np.ndarray
    provenance: dict

    @property
    def test_pred(self) -> np.ndarray:
        return self.test_probs.argmax(axis=1)


def train(config: RunConfig, **kw) -> "RunResult":
    """``cnnrepro.train.train``, imported on the first run that trains: reading the
    store, validating a chapter and listing its runs need no Keras."""
    from .train import train as train_run
    return train_run(config, **kw)


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


class ResultsStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, config: RunConfig) -> Path:
        return self.root / config.model / config.key()

    def has(self, config: RunConfig) -> bool:
        return (self.path(config) / "config.json").is_file()

    def load(self, config: RunConfig) -> Run:
        path = self.path(config)
        if not self.has(config):
            raise KeyError(f"no stored run for {config.label()} (key {config.key()}) in {self.root}")
        with np.load(path / "predictions.npz") as f:
            labels, probs = f["labels"], f["probs"]
        note_input(path)
        return Run(config, config.key(), path,
                   pd.read_csv(path / "updates.csv"), pd.read_csv(path / "epochs.csv"),
                   json.loads((path / "metrics.json").read_text()), labels, probs,
                   json.loads((path / "provenance.json").read_text()))

    def load_weights(self, config: RunConfig) -> dict[str, np.ndarray]:
        """The weights a stored run kept, by "<layer>/<i>"."""
        path = self.path(config) / "weights.npz"
        if not path.is_file():
            raise KeyError(f"stored run {config.label()} (key {config.key()}) kept no weights; "
                           f"its extra['keep_weights'] names the layers to keep")
        with np.load(path) as f:
            return {k: f[k] for k in f.files}

    def save(self, result: RunResult, requested_by: dict | None = None) -> Path:
        """Write a finished run atomically; replaces an existing entry of the same key."""
        config, final = result.config, self.path(result.config)
        staging = self.root / ".tmp"
        staging.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{config.key()}-", dir=staging))
        try:
            _write_json(tmp / "config.json", {"key": config.key(), **config.canonical()})
            result.updates.to_csv(tmp / "updates.csv", index=False, float_format="%.6g")
            result.epochs.to_csv(tmp / "epochs.csv", index=False, float_format="%.6g")
            _write_json(tmp / "metrics.json", result.metrics)
            np.savez_compressed(tmp / "predictions.npz", labels=result.test_labels.astype(np.uint8),
                                probs=result.test_probs.astype(np.float32))
            if result.weights:
                np.savez_compressed(tmp / "weights.npz", **result.weights)
            _write_json(tmp / "provenance.json", {
                **provenance.environment(), "timing": result.timing,
                "data_source": result.data_source, "requested_by": requested_by or {}})
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                old = staging / f"replaced-{config.key()}-{os.getpid()}"
                os.rename(final, old)
                os.rename(tmp, final)
                shutil.rmtree(old)
            else:
                os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        return final

    def get_or_train(self, config: RunConfig, force: bool = False, *,
                     requested_by: dict | None = None, verbose="auto", log=log_line) -> Run:
        """The stored run for ``config``; trains and stores it on a miss or with ``force``.
        A run that starts from another run's weights gets that run first (stored
        or trained, never forced)."""
        if self.has(config) and not force:
            run = self.load(config)
            log(f"{config.label()}: stored ({run.path})")
            return run
        pretrained = None
        transfer = Transfer.from_config(config)
        if transfer is not None:
            self.get_or_train(transfer.source, requested_by=requested_by, verbose=verbose,
                              log=lambda m: log(f"source: {m}"))
            pretrained = self.load_weights(transfer.source)
        log(f"{config.label()}: training" + (" (force)" if force else ""))
        start = time.perf_counter()
        result = train(config, verbose=verbose, pretrained=pretrained)
        path = self.save(result, requested_by)
        note_input(path, trained=True)
        log(f"{config.label()}: trained in {time.perf_counter() - start:.1f} s, "
            f"test accuracy {result.metrics['accuracy']:.4f} -> {path}")
        return self.load(config)

    def get_runs(self, configs: list[RunConfig], force: bool = False, log=log_line,
                 **kw) -> list[Run]:
        """Every run of a chapter, a progress line each."""
        n = len(configs)
        return [self.get_or_train(c, force, log=lambda m, i=i: log(f"[{i}/{n}] {m}"), **kw)
                for i, c in enumerate(configs, start=1)]
