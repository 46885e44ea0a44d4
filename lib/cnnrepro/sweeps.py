"""One-factor sweeps as data: a base setting plus the values of one factor, the
runs they name, and the tables a chapter draws from them (the claims about them
are judged by ``claims``).

A sweep's variants are settings that differ from the base; a chapter turns
settings into a RunConfig, so variants of different sweeps that land on the same
settings (the base appears in most sweeps) are one stored run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from . import claims
from .store import Run
from .config import RunConfig


@dataclass(frozen=True)
class Sweep:
    name: str
    factor: str
    figure: int                 # the report's figure number
    variants: dict[str, dict]   # value (as the report names it) -> settings that differ
    seeds: tuple[int, ...] = (0,)
    # values whose runs cost far more than the rest (a 10-epoch model in a sweep of
    # 1-epoch runs) may run fewer seeds: value -> its own seeds
    variant_seeds: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def seeds_of(self, value: str) -> tuple[int, ...]:
        return self.variant_seeds.get(value, self.seeds)

    @property
    def heading(self) -> str:
        """The factor as a title starts ("ResNet depth" keeps its capitals)."""
        return self.factor[:1].upper() + self.factor[1:]


@dataclass(frozen=True)
class Point:
    """One run of one variant of one sweep."""

    sweep: Sweep
    value: str
    seed: int
    config: RunConfig


def points(sweeps: list[Sweep], config: Callable[[dict, int], RunConfig]) -> list[Point]:
    """Every (sweep, value, seed) with its run config; ``config(settings, seed)``."""
    return [Point(s, value, seed, config(settings, seed))
            for s in sweeps for value, settings in s.variants.items() for seed in s.seeds_of(value)]


def unique_configs(pts: list[Point]) -> list[RunConfig]:
    """The distinct runs, in order of first use."""
    return list({p.config.key(): p.config for p in pts}.values())


def collapsed(run: Run) -> bool:
    """The network predicts one class for every test image (a dead network that
    did not produce NaN)."""
    return np.isfinite(run.test_probs).all() and len(np.unique(run.test_pred)) == 1


def outcome(run: Run) -> str:
    """'diverged at update k', 'collapsed to one class' or ''."""
    at = run.metrics.get("diverged_at_update")
    if at is not None:
        return f"diverged: NaN loss at update {at}"
    if collapsed(run):
        return f"collapsed: answers {int(run.test_pred[0])} always"
    return ""


def results_frame(pts: list[Point], runs: dict[str, Run]) -> pd.DataFrame:
    """One row per point: final test metrics, the best test accuracy over the epochs,
    what went wrong (if anything) and the run's key."""
    rows = []
    for p in pts:
        run = runs[p.config.key()]
        rows.append({"sweep": p.sweep.name, "factor": p.sweep.factor, "figure": p.sweep.figure,
                     "value": p.value, "seed": p.seed,
                     "accuracy": run.metrics["accuracy"],
                     "top5_accuracy": run.metrics.get("top5_accuracy", np.nan),
                     "best_epoch_accuracy": run.epochs["test_accuracy"].max(),
                     "epochs": p.config.epochs, "outcome": outcome(run), "key": run.key,
                     "pending": bool(run.pending)})
    return pd.DataFrame(rows)


def evidence_frame(pts: list[Point], runs: dict[str, Run]) -> pd.DataFrame:
    """One row per point for the claims module: sweep, value, seed and the run (and,
    where some wait to be retrained, which)."""
    frame = pd.DataFrame([{"sweep": p.sweep.name, "value": p.value, "seed": p.seed,
                           "run": runs[p.config.key()]} for p in pts])
    pending = [bool(r.pending) for r in frame["run"]] if len(frame) else []
    if any(pending):
        frame[claims.PENDING] = pending
    return frame


def last_epoch_updates(pts: list[Point], runs: dict[str, Run], sweep: str,
                       seed: int | None = None) -> pd.DataFrame:
    """Per-update training loss and accuracy of the last epoch of each variant's run
    (the first seed unless ``seed``), with the update counted within that epoch;
    the report plots one epoch per run and the 10th epoch of its 10-epoch model."""
    frames = []
    for p in pts:
        if p.sweep.name != sweep or p.seed != (p.sweep.seeds_of(p.value)[0] if seed is None else seed):
            continue
        u = runs[p.config.key()].updates
        u = u[u["epoch"] == u["epoch"].max()].copy()
        u["iteration"] = np.arange(1, len(u) + 1)
        u["value"] = p.value
        frames.append(u)
    return pd.concat(frames, ignore_index=True)


def summary(frame: pd.DataFrame, reported: dict[str, dict[str, float]]) -> pd.DataFrame:
    """One row per (sweep, value): our test accuracy (mean, sd and count over seeds),
    the report's, the difference, what went wrong in any seed, and whether a run
    waits to be retrained."""
    g = frame.groupby(["sweep", "value"], sort=False)
    out = pd.DataFrame({
        "factor": g["factor"].first(), "figure": g["figure"].first(),
        "ours": g["accuracy"].mean(), "sd": g["accuracy"].std(ddof=1), "seeds": g.size(),
        "outcome": g["outcome"].agg(lambda s: "; ".join(sorted(set(filter(None, s))))),
        "pending": g["pending"].any() if "pending" in frame else False})
    out["reported"] = [reported.get(s, {}).get(v, np.nan) for s, v in out.index]
    out["ours - reported"] = out["ours"] - out["reported"]
    return out[["factor", "figure", "ours", "sd", "seeds", "reported", "ours - reported",
                "outcome", "pending"]]
