"""One-factor sweeps as data: a base setting plus the values of one factor, the
runs they name, and the tables and claim checks a chapter draws from them.

A sweep's variants are settings that differ from the base; a chapter turns
settings into a RunConfig, so variants of different sweeps that land on the same
settings (the base appears in most sweeps) are one stored run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .store import Run
from .config import RunConfig


@dataclass(frozen=True)
class Sweep:
    name: str
    factor: str
    figure: int                 # the report's figure number
    variants: dict[str, dict]   # value (as the report names it) -> settings that differ
    seeds: tuple[int, ...] = (0,)


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
            for s in sweeps for value, settings in s.variants.items() for seed in s.seeds]


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
                     "epochs": p.config.epochs, "outcome": outcome(run), "key": run.key})
    return pd.DataFrame(rows)


def evidence_frame(pts: list[Point], runs: dict[str, Run]) -> pd.DataFrame:
    """One row per point for the claims module: sweep, value, seed and the run."""
    return pd.DataFrame([{"sweep": p.sweep.name, "value": p.value, "seed": p.seed,
                          "run": runs[p.config.key()]} for p in pts])


def last_epoch_updates(pts: list[Point], runs: dict[str, Run], sweep: str,
                       seed: int | None = None) -> pd.DataFrame:
    """Per-update training loss and accuracy of the last epoch of each variant's run
    (the first seed unless ``seed``), with the update counted within that epoch;
    the report plots one epoch per run and the 10th epoch of its 10-epoch model."""
    frames = []
    for p in pts:
        if p.sweep.name != sweep or p.seed != (p.sweep.seeds[0] if seed is None else seed):
            continue
        u = runs[p.config.key()].updates
        u = u[u["epoch"] == u["epoch"].max()].copy()
        u["iteration"] = np.arange(1, len(u) + 1)
        u["value"] = p.value
        frames.append(u)
    return pd.concat(frames, ignore_index=True)


def summary(frame: pd.DataFrame, reported: dict[str, dict[str, float]]) -> pd.DataFrame:
    """One row per (sweep, value): our test accuracy (mean, sd and count over seeds),
    the report's, the difference, and what went wrong in any seed."""
    g = frame.groupby(["sweep", "value"], sort=False)
    out = pd.DataFrame({
        "factor": g["factor"].first(), "figure": g["figure"].first(),
        "ours": g["accuracy"].mean(), "sd": g["accuracy"].std(ddof=1), "seeds": g.size(),
        "outcome": g["outcome"].agg(lambda s: "; ".join(sorted(set(filter(None, s)))))})
    out["reported"] = [reported.get(s, {}).get(v, np.nan) for s, v in out.index]
    out["ours - reported"] = out["ours"] - out["reported"]
    return out[["factor", "figure", "ours", "sd", "seeds", "reported", "ours - reported",
                "outcome"]]


# --- the report's claims, checked against our runs -------------------------------

def _means(table: pd.DataFrame, sweep: str, values) -> list[float]:
    """Mean accuracies, a diverged run (NaN) ranking below every other."""
    return [-np.inf if np.isnan(m) else m for m in (table.loc[(sweep, v), "ours"] for v in values)]


def check_claim(claim: dict, table: pd.DataFrame, noise_sd: float) -> dict:
    """Does ``claim`` hold in our runs, and by more than the seed noise?

    kinds: ``order`` (values listed best first), ``best`` / ``worst`` (one value
    against every other), ``similar`` (two values within the noise), ``collapses``
    (a value ends below 50% or diverges). A difference of two single runs has a
    standard deviation of sqrt(2) times the per-run ``noise_sd``; "beyond noise"
    means every difference the claim rests on exceeds twice that.
    """
    sweep, kind = claim["sweep"], claim["kind"]
    values = list(table.loc[sweep].index)
    margin = 2 * np.sqrt(2) * noise_sd
    if kind == "order":
        means = _means(table, sweep, claim["values"])
        gaps = [a - b for a, b in zip(means, means[1:])]
    elif kind in ("best", "worst"):
        sign = 1 if kind == "best" else -1
        mine = _means(table, sweep, [claim["value"]])[0]
        others = _means(table, sweep, [v for v in values if v != claim["value"]])
        gaps = [sign * (mine - o) for o in others]
    elif kind == "similar":
        a, b = _means(table, sweep, claim["values"])
        holds = abs(a - b) <= margin
        return {"holds": holds, "smallest margin": abs(a - b),
                "beyond noise": "n/a (a claim of no difference)",
                "verdict": "holds" if holds else "does not hold"}
    elif kind == "collapses":
        row = table.loc[(sweep, claim["value"])]
        holds = bool(row["outcome"]) or row["ours"] < 0.5
        return {"holds": holds, "smallest margin": np.nan, "beyond noise": "n/a",
                "verdict": "holds" if holds else "does not hold"}
    else:
        raise ValueError(f"unknown claim kind {kind!r}; allowed: order, best, worst, "
                         "similar, collapses")
    gaps = [-np.inf if np.isnan(g) else g for g in gaps]  # both diverged: no ranking
    holds = all(g > 0 for g in gaps)
    beyond = holds and min(gaps) > margin
    return {"holds": holds, "smallest margin": min(gaps),
            "beyond noise": "yes" if beyond else ("no" if holds else "–"),
            "verdict": ("holds beyond the noise" if beyond else "holds, within the noise")
            if holds else "does not hold"}


NOT_TESTED = {"holds": False, "smallest margin": np.nan, "beyond noise": "–",
              "verdict": "not tested: a value it names was not run"}


def claims_table(claims: list[dict], table: pd.DataFrame, noise_sd: float) -> pd.DataFrame:
    """Every claim about a sweep that ran; one that names a value this chapter run
    left out (other sweep values set by parameter) is listed as not tested."""
    rows = []
    for c in claims:
        if c["sweep"] not in table.index.get_level_values(0):
            continue
        named = c.get("values", [c.get("value")])
        tested = all((c["sweep"], v) in table.index for v in named)
        rows.append({"sweep": c["sweep"], "claim": c["text"],
                     **(check_claim(c, table, noise_sd) if tested else NOT_TESTED)})
    return pd.DataFrame(rows)
