"""The whole book at once: the runs every chapter shows, and the MNIST models among
them with their size and cost, for the Summary page."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from . import protocol
from .models import build_model, shapes_only
from .store import ResultsStore

# The ten-digit MNIST tasks (our input shapes); the pair task is another problem.
MNIST_TASKS = {"mnist": (28, 28, 1), "mnist_2ch": (28, 28, 2), "mnist_32x3": (32, 32, 3)}


def book_runs(profile: str = protocol.DEFAULT_PROFILE) -> dict[str, tuple[str, list]]:
    """Chapter -> (the profile the book shows it in, its stored runs). Reads only:
    a run the store lacks is left out."""
    from .run import book_profile
    out = {}
    for name in protocol.chapters():
        shown = book_profile(name, profile)
        proto = protocol.resolve(name, shown)
        store = ResultsStore(proto.store_root)
        out[name] = (shown, [store.load(c) for c in proto.run_configs() if store.has(c)])
    return out


@lru_cache(maxsize=None)
def _parameters(model: str, shape: tuple[int, ...], options: tuple) -> int:
    with shapes_only():
        return build_model(model, shape, 10, **dict(options)).count_params()


def parameters(config) -> int:
    """Trainable and frozen parameters of a run's network on its ten-digit task."""
    options = config.extra.get("model_options", {})
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))
    return _parameters(config.model, MNIST_TASKS[config.task], frozen)


def mnist_models(runs_by_chapter: dict[str, tuple[str, list]]) -> pd.DataFrame:
    """One row per stored run on a ten-digit MNIST task: chapter, model, parameters,
    training seconds, test accuracy, and where it trained (CPU or GPU)."""
    rows = []
    for chapter, (profile, runs) in runs_by_chapter.items():
        for r in runs:
            if r.config.task not in MNIST_TASKS:
                continue
            devices = [d for d in r.provenance.get("devices", []) if not d.startswith("cpu")]
            rows.append({"chapter": chapter, "profile": profile, "model": r.config.model,
                         "run": r.key, "parameters": parameters(r.config),
                         "training seconds": r.provenance["timing"]["train_seconds"],
                         "test accuracy": r.metrics["accuracy"],
                         "hardware": "GPU" if devices else "CPU"})
    return pd.DataFrame(rows)

