"""The results store: one folder per run, keyed by the canonical config and the
numerics it was computed with (``config.current_numerics``).

    <root>/<model>/<key>/config.json       canonical config (with code version and
                                           numerics other than the default) and key
                         updates.csv       per-update train and random-test-batch metrics
                         epochs.csv        per-epoch train and full-test metrics
                         metrics.json      final test metrics
                         predictions.npz   test labels and predicted probabilities
                         provenance.json   timing, data source, packages, hardware, commit
                         weights.npz       only for runs that keep layers' weights
                                           (``extra["keep_weights"]``) for later runs
                         analyses/         what pages compute from the run, stored
                                           (``cnnrepro.analyses``)

A run folder appears by one rename of a finished temporary folder under
``<root>/.tmp/`` (named after the writing process), so an interrupted run leaves no
entry behind, and ``force`` replaces an entry only once its replacement is
complete. The next write clears what dead writers left there.

A config is looked up under this process's numerics first; a run of the same
config computed otherwise (the ``paper`` runs trained with Keras on JAX on a GPU,
read on a CPU with TensorFlow) answers for it when there is none, and its
provenance says how it was computed. Training always uses this process's numerics.
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

from . import analyses, checkpoint, provenance
from .config import (KNOWN_NUMERICS, MIRROR_FILES, MODEL_CHANGES, MODEL_VERSIONS, TASK_DATASETS,
                     RunConfig, Transfer, computed_loss, current_data, current_numerics,
                     describe_numerics, is_current, numerics_of, onednn_enabled)
from .execution import note_input

if TYPE_CHECKING:
    from .train import RunResult

log_line = functools.partial(print, flush=True)

FILES = ("config.json", "updates.csv", "epochs.csv", "metrics.json",
         "predictions.npz", "provenance.json")


@dataclass
class Run:
    """A stored run, as the chapters read it."""

    config: RunConfig
    key: str           # where it is stored: the config's key under its numerics
    path: Path
    updates: pd.DataFrame
    epochs: pd.DataFrame
    metrics: dict
    test_labels: np.ndarray
    test_probs: np.ndarray
    provenance: dict
    numerics: dict
    model_version: int = 1  # the version of its model that trained it

    @property
    def pending(self) -> str | None:
        """Why the run waits to be retrained (its model changed since: a page shows
        it, marked, and judges no claim on it), or None for a run of the current
        code."""
        current = MODEL_VERSIONS.get(self.config.model, 1)
        if self.model_version == current:
            return None
        return (f"trained by version {self.model_version} of its model, before this fix: "
                f"{MODEL_CHANGES[current]}")

    @property
    def test_pred(self) -> np.ndarray:
        return self.test_probs.argmax(axis=1)


def read_run(path: Path) -> Run:
    """The run stored in folder ``path``."""
    stored = json.loads((path / "config.json").read_text())
    with np.load(path / "predictions.npz") as f:
        labels, probs = f["labels"], f["probs"]
    note_input(path)
    return Run(RunConfig.from_canonical(stored), stored["key"], path,
               pd.read_csv(path / "updates.csv"), pd.read_csv(path / "epochs.csv"),
               json.loads((path / "metrics.json").read_text()), labels, probs,
               json.loads((path / "provenance.json").read_text()),
               stored.get("numerics", KNOWN_NUMERICS[0]), stored.get("model_version", 1))


def recorded_numerics(provenance: dict) -> dict:
    """The numerics a stored run was computed with, from its provenance. Runs stored
    before provenance recorded them name the backend and the environment's settings;
    an unset TF_ENABLE_ONEDNN_OPTS there meant oneDNN off (those runs ran on AMD EPYC
    processors, where TensorFlow leaves it off by default)."""
    if "numerics" in provenance:
        return provenance["numerics"]
    settings = provenance.get("settings") or {}
    return numerics_of(provenance["backend"],
                       onednn_enabled(settings.get("TF_ENABLE_ONEDNN_OPTS")))


def recorded_data(provenance: dict, task: str) -> str:
    """The data a stored run read (``config.current_data``'s terms), from its
    provenance: the mirror's file by its SHA-256, or the Keras download; a run that
    recorded no source read the mirror (the only data of runs stored before)."""
    source = provenance.get("data_source")
    if source is None:
        return MIRROR_FILES[TASK_DATASETS[task]][1]
    if source.get("sha256"):
        return source["sha256"]
    return f"keras.datasets.{TASK_DATASETS[task]} (download)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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

    def path(self, config: RunConfig, numerics: dict | None = None) -> Path:
        """Where ``config`` computed with ``numerics`` (default: this process's) lives."""
        return self.root / config.model / config.key(numerics or current_numerics())

    def find(self, config: RunConfig, other_numerics: bool = False,
             exact: bool = False) -> Path | None:
        """The stored run of ``config`` computed with this process's numerics: one
        backend per book, so a run computed another way never stands in for it (or
        joins its spread) unless ``other_numerics`` asks for any; on this process's
        data, then (a process without the mirror reading the committed store, unless
        ``exact``) on the mirror's."""
        return self._find(config, other_numerics, other_data=not exact)

    def _find(self, config: RunConfig, other_numerics: bool = True,
              model_version: int | None = None, other_data: bool = True) -> Path | None:
        numerics = (current_numerics(), *(KNOWN_NUMERICS if other_numerics else ()))
        datas = dict.fromkeys((current_data(config.task),
                               *((config.mirror_data(),) if other_data else ())))
        for data in datas:
            for n in numerics:
                path = self.root / config.model / config.key(n, data, model_version)
                if (path / "config.json").is_file():
                    return path
        return None

    def find_superseded(self, config: RunConfig) -> Path | None:
        """The run of ``config`` stored by an earlier version of its model
        (``config.MODEL_VERSIONS``), newest first: what a page shows, marked, while
        the run waits to be retrained."""
        for version in config.superseded_versions():
            path = self._find(config, model_version=version)
            if path is not None:
                return path
        return None

    def has(self, config: RunConfig) -> bool:
        return self.find(config) is not None

    def load(self, config: RunConfig, other_numerics: bool = False) -> Run:
        path = self.find(config, other_numerics)
        if path is None:
            raise KeyError(f"no stored run for {config.label()} (key {config.key()}) in {self.root}")
        return read_run(path)

    def runs(self) -> list[Path]:
        """Every run folder of the store."""
        return sorted(p.parent for p in self.root.glob("*/*/config.json"))

    @staticmethod
    def load_weights(run: Run) -> dict[str, np.ndarray]:
        """The weights a stored run kept, by "<layer>/<i>"."""
        path = run.path / "weights.npz"
        if not path.is_file():
            raise KeyError(f"stored run {run.config.label()} (key {run.key}) kept no weights; "
                           f"its extra['keep_weights'] names the layers to keep")
        note_input(path, weights=True)
        with np.load(path) as f:
            return {k: f[k] for k in f.files}

    def clear_staging(self) -> list[Path]:
        """Remove what writers that are no longer running left under ``.tmp/`` (a run
        killed while writing its files); returns what was removed."""
        removed = []
        for path in sorted((self.root / ".tmp").glob("*")):
            pid = path.name.split("-", 1)[0]
            if not (pid.isdigit() and _alive(int(pid))):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        return removed

    def save(self, result: RunResult, requested_by: dict | None = None) -> Path:
        """Write a finished run atomically under its config's key for the numerics it
        was computed with; replaces an existing entry of that key, and deletes the
        run's checkpoint."""
        config, numerics = result.config, result.numerics or current_numerics()
        key, final = config.key(numerics), self.path(config, numerics)
        staging = self.root / ".tmp"
        staging.mkdir(parents=True, exist_ok=True)
        self.clear_staging()
        tmp = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-{key}-", dir=staging))
        try:
            _write_json(tmp / "config.json", {"key": key, **config.canonical(numerics)})
            result.updates.to_csv(tmp / "updates.csv", index=False, float_format="%.6g")
            result.epochs.to_csv(tmp / "epochs.csv", index=False, float_format="%.6g")
            _write_json(tmp / "metrics.json", result.metrics)
            np.savez_compressed(tmp / "predictions.npz", labels=result.test_labels.astype(np.uint8),
                                probs=result.test_probs.astype(np.float32))
            if result.weights:
                np.savez_compressed(tmp / "weights.npz", **result.weights)
            _write_json(tmp / "provenance.json", {
                **provenance.environment(), "numerics": numerics, "timing": result.timing,
                "data_source": result.data_source, "requested_by": requested_by or {}})
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                old = staging / f"{os.getpid()}-replaced-{key}"
                os.rename(final, old)
                os.rename(tmp, final)
                shutil.rmtree(old)
            else:
                os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        checkpoint.clear(key)  # stored: its resumption point is no longer needed
        return final

    def get_or_train(self, config: RunConfig, force: bool = False, *,
                     requested_by: dict | None = None, verbose="auto", log=log_line,
                     other_numerics: bool = False, analyse: bool = True,
                     checkpoints: str = "resume", deadline: float | None = None,
                     progress=None, stand_in: bool = False) -> Run:
        """The stored run for ``config``; trains and stores it on a miss or with ``force``,
        with the analyses such a run always gets (unless ``analyse`` is off). Training
        resumes from the run's checkpoint (``train.train``'s ``checkpoints``), except
        with ``force``; a ``deadline`` pauses it at a checkpoint and ``progress`` hears
        of every checkpoint (``train.train``).
        A run that starts from another run's weights gets that run first (stored
        or trained, never forced), computed with this process's numerics as the
        run itself will be. With ``stand_in`` (a page, which only reads), a run of
        an earlier version of the model (any numerics) answers where the current one
        is missing, marked ``Run.pending`` and never judged, instead of being trained."""
        found = None if force else self.find(config, other_numerics)
        if found is None and stand_in and not force:
            found = self.find_superseded(config)
            if found is not None:
                # the page read this place too: the retrained run, once stored there,
                # makes the page stale, so the next build shows it instead
                note_input(self.path(config))
        if found is not None:
            run = read_run(found)
            log(f"{config.label()}: stored ({run.path})" +
                (", retraining pending: an earlier version of its model" if run.pending else ""))
            return run
        pretrained = None
        transfer = Transfer.from_config(config)
        if transfer is not None:
            source = self.get_or_train(transfer.source, requested_by=requested_by,
                                       verbose=verbose, log=lambda m: log(f"source: {m}"),
                                       other_numerics=False)
            pretrained = self.load_weights(source)
        log(f"{config.label()}: training" + (" (force)" if force else ""))
        start = time.perf_counter()
        result = train(config, verbose=verbose, pretrained=pretrained, log=log,
                       checkpoints="fresh" if force and checkpoints == "resume" else checkpoints,
                       deadline=deadline, progress=progress)
        path = self.save(result, requested_by)
        note_input(path, trained=True)
        log(f"{config.label()}: trained in {time.perf_counter() - start:.1f} s, "
            f"test accuracy {result.metrics['accuracy']:.4f} -> {path}")
        run = read_run(path)
        if analyse:
            analyses.after_training(run, log=log)
        return run

    def get_runs(self, configs: list[RunConfig], force: bool = False, log=log_line,
                 **kw) -> list[Run]:
        """Every run of a chapter, a progress line each."""
        n = len(configs)
        return [self.get_or_train(c, force, log=lambda m, i=i: log(f"[{i}/{n}] {m}"), **kw)
                for i, c in enumerate(configs, start=1)]


def note_refiled(path: Path, old_key: str, why: str) -> None:
    """Say in a run's provenance why it lives under another key than it was stored
    under."""
    _note(path, "refiled", {"previous_key": old_key, "date": provenance.now_utc(), "why": why})


def note_merged(path: Path, old_key: str, why: str) -> None:
    """Say in a run's provenance that a stored duplicate of it (``old_key``) was merged
    into it."""
    prov = json.loads((path / "provenance.json").read_text())
    merged = prov.get("merged", []) + [{"previous_key": old_key, "date": provenance.now_utc(),
                                        "why": why}]
    _note(path, "merged", merged)


def _note(path: Path, name: str, value) -> None:
    prov_path = path / "provenance.json"
    prov = json.loads(prov_path.read_text())
    prov[name] = value
    _write_json(prov_path, prov)


def same_run(a: Path, b: Path) -> bool:
    """Whether two stored runs computed the same numbers: equal history and metrics
    files, equal test predictions (timing and provenance aside)."""
    if any((a / f).read_bytes() != (b / f).read_bytes()
           for f in ("updates.csv", "epochs.csv", "metrics.json")):
        return False
    with np.load(a / "predictions.npz") as x, np.load(b / "predictions.npz") as y:
        return sorted(x.files) == sorted(y.files) and all(np.array_equal(x[k], y[k]) for k in x.files)


def computed_config(stored: dict, numerics: dict) -> tuple[dict, str | None]:
    """A stored config with a loss named as written (``"from_logits"``, keys before the
    key named the loss as computed) resolved to what it computed with ``numerics``;
    and why, or None where nothing changed."""
    extra = stored.get("extra") or {}
    if extra.get("loss") != "from_logits":
        return stored, None
    loss = computed_loss("from_logits", numerics["backend"])
    extra = {k: v for k, v in extra.items() if k != "loss"}
    if loss != "categorical_crossentropy":
        extra["loss"] = loss
    return ({**stored, "extra": extra},
            f"its loss, written from_logits=True on a softmax output, computed "
            f"{loss} on {numerics['backend']}; keys name the loss as computed")


def rekey(store: ResultsStore, log=log_line) -> list[tuple[Path, Path]]:
    """File every run of ``store`` under the key its config and recorded numerics
    give: a store written before numerics were part of keys filed runs computed with
    JAX, or with oneDNN off, under the default key; one written before keys named the
    loss as computed filed the UC report's call under "from_logits"
    (``computed_config``). Moves folders, rewrites their config.json, notes why in
    their provenance, and returns (old, new) paths. A run whose new place holds the
    same run (``same_run``) is merged into it (removed, noted on the one kept); a
    run whose new place holds another stays where it is and is named in the log.
    Runs of another code version are left alone: no current config reads them."""
    moved = []
    for path in store.runs():
        stored = json.loads((path / "config.json").read_text())
        if not is_current(stored):
            continue
        prov = json.loads((path / "provenance.json").read_text())
        numerics = recorded_numerics(prov)
        stored, why = computed_config(stored, numerics)
        why = why or (f"computed with {describe_numerics(numerics)}, which became part of "
                      f"the key; the run is unchanged")
        config = RunConfig.from_canonical(stored)
        data = recorded_data(prov, config.task)
        new = store.root / config.model / config.key(numerics, data)
        if new == path:
            continue
        if new.exists():
            if same_run(path, new):
                note_merged(new, path.name, why)
                shutil.rmtree(path)
                log(f"{config.label()}: {path.name} merged into {new.name}, the same run")
                moved.append((path, new))
            else:
                log(f"{path}: its place {new} is taken by another run; left where it is")
            continue
        _write_json(path / "config.json", {"key": new.name, **config.canonical(numerics, data)})
        note_refiled(path, path.name, why)
        os.rename(path, new)
        log(f"{config.label()}: {path.name} -> {new.name} ({numerics})")
        moved.append((path, new))
    return moved
