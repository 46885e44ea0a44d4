"""Analyses of stored runs: what a page computes from a run's weights (batch-norm
re-scoring, a probe of the learned features) is computed once and stored beside the
run, so that a page only reads it.

    <run>/analyses/<name>.json   {"analysis", "version", "params", "result",
                                  "arrays": SHA-256 of the .npz or null, "provenance"}
    <run>/analyses/<name>.npz    the result's arrays, where it has any

A stored analysis is current when its version equals the one registered in
``ANALYSES`` (bumped by a developer whenever the analysis code changes what it
returns) and it was computed with the parameters asked for; otherwise it is stale.
``result`` computes a missing or stale analysis (a line in the log) and stores it;
analyses that a run always gets (``after_training``) are computed as soon as it is
trained. The .npz is written first and the .json last, each by one rename, and the
.json names the .npz's hash: an interrupted write leaves the old analysis or none,
never half of one. A page records the .json it read as an input, so a recomputed
analysis makes that page stale like a retrained run, and nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .config import RunConfig
from .execution import note_input

log_line = functools.partial(print, flush=True)
FOLDER = "analyses"


def _keeps_all_weights(config: RunConfig) -> bool:
    return config.extra.get("keep_weights") == "all"


def _never(config: RunConfig) -> bool:
    return False


@dataclass(frozen=True)
class Analysis:
    name: str
    version: int     # bump when the code changes what the analysis returns
    function: str    # "module:function", called as function(run, **params) -> dict
    what: str
    after_training: Callable[[RunConfig], bool] = _never  # runs that get it when trained


ANALYSES = {a.name: a for a in (
    Analysis("batchnorm", 2, "cnnrepro.batchnorm:analyse",
             "test accuracy with the batch-norm statistics as trained, re-estimated over the "
             "training images, and of each test batch", after_training=_keeps_all_weights),
    Analysis("extractor_probe", 1, "cnnrepro.chapters.digit_pairs:probe_extractor",
             "what a phase-1 extractor's features hold: batch-norm lag, feature maps, "
             "principal components and a linear probe of the test pairs"),
)}


class AnalysisError(ValueError):
    """An unknown analysis, or a stored one that cannot be read."""


def spec(name: str) -> Analysis:
    if name not in ANALYSES:
        raise AnalysisError(f"unknown analysis {name!r}; allowed: {sorted(ANALYSES)}")
    return ANALYSES[name]


def json_path(run_path: Path, name: str) -> Path:
    return Path(run_path) / FOLDER / f"{name}.json"


def arrays_path(run_path: Path, name: str) -> Path:
    return Path(run_path) / FOLDER / f"{name}.npz"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_stored(run_path: Path, name: str) -> dict | None:
    """The stored record of analysis ``name`` (its result's arrays loaded into
    ``record["result"]``), or None when there is none or its arrays do not match."""
    path = json_path(run_path, name)
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    if record.get("arrays"):
        npz = arrays_path(run_path, name)
        if not npz.is_file() or _sha256(npz) != record["arrays"]:
            return None
        with np.load(npz) as f:
            record["result"].update({k: f[k] for k in f.files})
    return record


def stale_reason(record: dict | None, name: str, params: dict) -> str | None:
    """Why a stored record does not answer for analysis ``name`` with ``params`` now
    (a few words), or None when it does."""
    if record is None:
        return "not computed yet"
    if record["version"] != spec(name).version:
        return f"analysis code version {record['version']}, now {spec(name).version}"
    if record["params"] != _plain(params):
        return "other parameters"
    return None


def compute(run, name: str, params: dict | None = None) -> tuple[dict, float]:
    """Analysis ``name`` of stored ``run`` computed now (nothing stored): (result,
    seconds)."""
    module, function = spec(name).function.split(":")
    start = time.perf_counter()
    result = getattr(importlib.import_module(module), function)(run, **(params or {}))
    return result, time.perf_counter() - start


def write(run_path: Path, name: str, params: dict, result: dict, seconds: float) -> Path:
    """Store ``result`` (JSON values and NumPy arrays) as analysis ``name`` of the run
    in ``run_path``, replacing what was there; returns the .json's path. Nothing is
    replaced before both files are complete."""
    from . import provenance
    folder = Path(run_path) / FOLDER
    folder.mkdir(exist_ok=True)
    arrays = {k: v for k, v in result.items() if isinstance(v, np.ndarray)}
    values = _plain({k: v for k, v in result.items() if k not in arrays})
    staged = []
    try:
        digest = None
        if arrays:
            staged.append(_staged(folder, name, ".npz"))
            np.savez_compressed(staged[-1], **arrays)
            digest = _sha256(staged[-1])
        record = {"analysis": name, "version": spec(name).version, "params": _plain(params),
                  "result": values, "arrays": digest,
                  "provenance": {**provenance.environment(), "seconds": round(seconds, 1)}}
        staged.append(_staged(folder, name, ".json"))
        staged[-1].write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        if arrays:
            os.replace(staged[0], arrays_path(run_path, name))
        os.replace(staged[-1], json_path(run_path, name))
    finally:
        for path in staged:
            path.unlink(missing_ok=True)
    if not arrays:
        arrays_path(run_path, name).unlink(missing_ok=True)
    return json_path(run_path, name)


def _staged(folder: Path, name: str, suffix: str) -> Path:
    """A temporary file beside the analyses, named after this process (a dot file:
    ``stored`` and the store's listing skip it)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{os.getpid()}-{name}-", suffix=suffix, dir=folder)
    os.close(fd)
    return Path(tmp)


def result(run, name: str, log=log_line, **params) -> dict:
    """Analysis ``name`` of stored ``run`` with ``params``: read from beside the run,
    or, when missing or stale, computed and stored first (a line in the log)."""
    record = read_stored(run.path, name)
    why = stale_reason(record, name, params)
    if why is None:
        note_input(json_path(run.path, name))
        return record["result"]
    log(f"{run.config.label()}: computing analysis {name} ({why})")
    value, seconds = compute(run, name, params)
    path = write(run.path, name, params, value, seconds)
    note_input(path, computed=True)
    log(f"{run.config.label()}: analysis {name} computed in {seconds:.1f} s -> {path}")
    return read_stored(run.path, name)["result"]


def after_training(run, log=log_line) -> list[str]:
    """Compute the analyses every run like ``run`` gets (``Analysis.after_training``);
    returns their names."""
    names = [a.name for a in ANALYSES.values() if a.after_training(run.config)]
    for name in names:
        result(run, name, log=log)
    return names


def analyse_store(store, log=log_line) -> list[tuple[str, str]]:
    """``after_training`` for every run of ``store`` of the current code version: the
    analyses its runs always get, computed where missing or stale; returns (run key,
    analysis) of each."""
    from .store import read_run
    from .verify import current_runs
    done = []
    paths = [p for p in current_runs(store)
             if any(a.after_training(read_run(p).config) for a in ANALYSES.values())]
    for i, path in enumerate(paths, start=1):
        done += [(path.name, name) for name in
                 after_training(read_run(path), log=lambda m, i=i: log(f"[{i}/{len(paths)}] {m}"))]
    return done


def stored(run_path: Path) -> dict[str, str | None]:
    """Every analysis stored beside the run in ``run_path``, with why it is stale
    under its stored parameters (None: current)."""
    out = {}
    for path in sorted((Path(run_path) / FOLDER).glob("[!.]*.json")):
        record = read_stored(run_path, path.stem)
        out[path.stem] = ("unreadable arrays" if record is None else
                          "unknown analysis" if path.stem not in ANALYSES else
                          stale_reason(record, path.stem, record["params"]))
    return out


def differences(a: dict, b: dict) -> float:
    """The largest absolute difference between two results' numbers (values and arrays,
    nested), ``math.inf`` where their structure or a non-number differs."""
    if a.keys() != b.keys():
        return math.inf
    return max((_difference(a[k], b[k]) for k in a), default=0.0)


def _difference(x, y) -> float:
    if isinstance(x, dict) and isinstance(y, dict):
        return differences(x, y)
    if isinstance(x, (list, tuple, np.ndarray)) or isinstance(y, (list, tuple, np.ndarray)):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            return math.inf
        if x.dtype.kind in "biuf" and y.dtype.kind in "biuf":
            both_nan = np.isnan(x.astype(float)) & np.isnan(y.astype(float))
            gap = np.where(both_nan, 0.0, np.abs(x.astype(float) - y.astype(float)))
            return float(np.nanmax(gap, initial=0.0)) if gap.size else 0.0
        return 0.0 if np.array_equal(x, y) else math.inf
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        if math.isnan(x) and math.isnan(y):
            return 0.0
        return abs(float(x) - float(y))
    return 0.0 if x == y else math.inf


def as_stored(result: dict) -> dict:
    """A computed result as reading it back gives it: arrays as they are, the other
    values as JSON stores them."""
    arrays = {k: v for k, v in result.items() if isinstance(v, np.ndarray)}
    return {**_plain({k: v for k, v in result.items() if k not in arrays}), **arrays}


def _plain(value):
    """``value`` as JSON gives it back: NumPy scalars as Python numbers, tuples as lists."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"an analysis result holds {type(value).__name__}, which JSON cannot store")
