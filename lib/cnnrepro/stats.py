"""Statistics over seeds: one row per run, mean and spread per group, and the
report's numbers beside ours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .store import Run

METRIC_COLUMNS = ["accuracy", "precision", "recall", "f1"]


def runs_frame(runs: list[Run]) -> pd.DataFrame:
    """One row per run: its settings and final test metrics."""
    rows = []
    for run in runs:
        c = run.config
        rows.append({"model": c.model, "batch_size": c.batch_size, "seed": c.seed,
                     "epochs": c.epochs, **{k: run.metrics[k] for k in METRIC_COLUMNS},
                     "loss": run.metrics["loss"], "key": run.key})
    return pd.DataFrame(rows)


def seed_summary(frame: pd.DataFrame, by: list[str], columns=METRIC_COLUMNS) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1) and count over seeds for each group."""
    g = frame.groupby(by, sort=False)[list(columns)]
    out = g.mean().add_suffix("_mean").join(g.std(ddof=1).add_suffix("_sd"))
    out["seeds"] = g.size()
    return out


def mean_sd(mean: float, sd: float, digits: int = 4) -> str:
    return f"{mean:.{digits}f}" if np.isnan(sd) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, on: list[str],
            columns=METRIC_COLUMNS) -> pd.DataFrame:
    """One row per group and metric: reported, ours (mean ± sd over seeds) and
    our mean minus the reported number."""
    summary = seed_summary(ours, on, columns)
    theirs = theirs.set_index(on)
    rows = []
    for idx, row in summary.iterrows():
        idx = idx if isinstance(idx, tuple) else (idx,)
        key = idx if len(idx) > 1 else idx[0]
        for col in columns:
            rep = theirs[col].get(key, np.nan) if col in theirs else np.nan
            rows.append({**dict(zip(on, idx)), "metric": col, "reported": rep,
                         "ours": mean_sd(row[f"{col}_mean"], row[f"{col}_sd"]),
                         "ours - reported": row[f"{col}_mean"] - rep,
                         "seeds": int(row["seeds"])})
    return pd.DataFrame(rows).set_index([*on, "metric"])
