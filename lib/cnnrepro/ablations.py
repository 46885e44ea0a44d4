"""Ablations as data: named variants of a chapter's protocol, each a hypothesis
about a setting the report left unstated, trained through the results store like
any run (the changed settings are part of the key), and the table that sets each
variant's number beside the report's and ours.

A variant changes RunConfig fields (``optimizer``, ``learning_rate``, ...) and
entries of its ``extra`` (merged, so ``{"task": {"pixel_scale": 1.0}}`` adds a task
option). It never replaces the chapter's protocol: its runs are kept apart
(``Chapter.ablation_runs``) and shown in the chapter's "Why the numbers differ".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import verdicts as v
from .config import RunConfig

PROTOCOL = "protocol"  # the label of the chapter's own runs


@dataclass(frozen=True)
class Variant:
    name: str
    hypothesis: str                               # what the report left open, and the guess
    changes: dict = field(default_factory=dict)   # RunConfig fields; "extra" is merged
    models: tuple = ()                            # the models it applies to (empty: any)

    def applies_to(self, model: str) -> bool:
        return not self.models or model in self.models


def apply(config: RunConfig, variant: Variant) -> RunConfig:
    """``config`` with the variant's changes."""
    fields = {k: val for k, val in variant.changes.items() if k != "extra"}
    unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(RunConfig)})
    if unknown:
        raise ValueError(f"variant {variant.name!r} changes unknown setting(s) {unknown}; allowed: "
                         f"{[f.name for f in dataclasses.fields(RunConfig)]} and 'extra'")
    extra = dict(config.extra)
    for k, val in variant.changes.get("extra", {}).items():  # dicts merge one level deep
        extra[k] = {**extra.get(k, {}), **val} if isinstance(val, dict) else val
    return dataclasses.replace(config, **fields, extra=extra)


def name_of(config: RunConfig, variants: list[Variant]) -> str:
    """The variant a run belongs to, or PROTOCOL where it matches none."""
    def matches(var):
        fields = {k: val for k, val in var.changes.items() if k != "extra"}
        return all(getattr(config, k) == val for k, val in fields.items()) and \
            all(_has(config.extra.get(k), val) for k, val in var.changes.get("extra", {}).items())

    def size(var):  # the most specific match wins ("both" over either one)
        extra = var.changes.get("extra", {})
        return len(var.changes) + sum(len(val) if isinstance(val, dict) else 1 for val in extra.values())

    found = [var for var in variants if matches(var)]
    return max(found, key=size).name if found else PROTOCOL


def _has(value, wanted) -> bool:
    """``value`` equals ``wanted``, or holds every entry of a wanted dict."""
    if isinstance(wanted, dict):
        return isinstance(value, dict) and all(value.get(k) == w for k, w in wanted.items())
    return value == wanted


def number_table(values: dict[str, list[float]], reported: float, *, kind: str, decimals: int,
                 test_size: int | None, pending: frozenset[str] = frozenset()) -> pd.DataFrame:
    """One row per setting (the protocol first, then each variant): our mean ± sd over
    seeds, the difference to the report's number, and whether that setting's runs
    reproduce it by the book's rule (``verdicts.number``); a setting in ``pending``
    (a run of it awaits retraining after a model fix) is shown but not judged."""
    rows = []
    for name, vals in values.items():
        verdict = v.number(kind, reported, vals, decimals=decimals, test_size=test_size)
        if name in pending:
            verdict = v.Verdict(v.NOT_TESTED, verdict.difference, reason=v.RETRAINING_PENDING)
        arr = np.asarray(vals, float)
        rows.append({"setting": name, "ours": arr.mean() if len(arr) else np.nan,
                     "sd": arr.std(ddof=1) if len(arr) > 1 else np.nan, "seeds": len(arr),
                     "reported": reported, "ours - reported": verdict.difference,
                     "95% interval for another run": "" if np.isnan(verdict.low) else
                     f"{verdict.low:.3f} to {verdict.high:.3f}",
                     "reproduces the report": verdict.verdict})
    return pd.DataFrame(rows).set_index("setting")


def comparison_table(pairs: dict[str, tuple[list[float], list[float]]], expect: str,
                     effect: v.Effect | None = None) -> pd.DataFrame:
    """Per setting, a claim "A expect B" of size ``effect`` judged on that setting's
    runs: the mean difference A - B, its 95% interval and the verdict
    (``verdicts.comparison``, as the claims table judges it)."""
    rows = []
    for name, (a, b) in pairs.items():
        verdict = v.comparison(a, b, expect, effect=effect)
        rows.append({"setting": name, "A - B": verdict.difference,
                     "95% interval": "" if np.isnan(verdict.low) else
                     f"{verdict.low:+.4f} to {verdict.high:+.4f}",
                     "seeds": min(len(a), len(b)), "the report's claim": verdict.verdict})
    return pd.DataFrame(rows).set_index("setting")


def explains(table: pd.DataFrame) -> list[str]:
    """The variants (not the protocol) whose runs reproduce the report's number."""
    hit = table["reproduces the report"] == v.HOLDS
    return [name for name in table.index[hit] if name != PROTOCOL]


def reason(table: pd.DataFrame) -> str:
    """The numbers table's reason for a miss: the variants that reproduce the report's
    number, or what was tried without doing so."""
    tried = [name for name in table.index if name != PROTOCOL and table.loc[name, "seeds"]]
    if not tried:
        return ""
    hits = explains(table)
    if hits:
        return f"reproduced by the variant(s) {', '.join(hits)}"
    name, diff = closest(table.loc[[PROTOCOL, *tried]] if PROTOCOL in table.index else table.loc[tried])
    if name == "none":
        return f"not yet known: the runs of {', '.join(tried)} await retraining"
    return (f"unexplained after the variants {', '.join(tried)} (nearest: {name}, {diff:+.4f}, "
            f"{table.loc[name, 'reproduces the report']})")


def closest(table: pd.DataFrame) -> tuple[str, float]:
    """The setting whose mean lies nearest the report's number, and its difference;
    a setting awaiting retraining is never the nearest ("none", nan where all are)."""
    judged = table["reproduces the report"] != v.NOT_TESTED
    diff = table.loc[judged, "ours - reported"].dropna()
    if diff.empty:
        return "none", float("nan")
    name = diff.abs().idxmin()
    return name, float(diff[name])


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """``number_table`` narrowed for the page: mean ± sd (seeds) in one column, short
    headers, the interval as low–high."""
    return pd.DataFrame({
        "ours ± sd (seeds)": [f"{m:.4f}" + ("" if np.isnan(s) else f" ± {s:.4f}") + f" ({n})"
                              for m, s, n in zip(table["ours"], table["sd"], table["seeds"])],
        "reported": table["reported"],
        "difference": [f"{d:+.4f}" if not np.isnan(d) else "–" for d in table["ours - reported"]],
        "interval": [i.replace(" to ", "–") for i in table["95% interval for another run"]],
        "verdict": table["reproduces the report"]}, index=table.index)


def setting_words(changes: dict) -> str:
    """A variant's changes in words: 'optimizer rmsprop; learning rate 0.001',
    'task: pixel scale 1' (nested settings after their group, lists as '50, 100')."""
    def words(value) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{k.replace('_', ' ')} {words(v)}" for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return ", ".join(words(v) for v in value) or "none"
        return f"{value:g}" if isinstance(value, float) else str(value)
    return "; ".join(f"{k.replace('_', ' ')}{': ' if isinstance(v, dict) else ' '}{words(v)}"
                     for k, v in changes.items())


def variants_table(variants: list[Variant], chosen: list[str]) -> pd.DataFrame:
    """The ``chosen`` variants: what each changes from the protocol, and the guess it
    tests."""
    def changes(var):
        fields = {k: val for k, val in var.changes.items() if k != "extra"}
        return setting_words({**fields, **var.changes.get("extra", {})})
    return pd.DataFrame([{"variant": var.name, "changes": changes(var), "hypothesis": var.hypothesis}
                         for var in variants if var.name in chosen]).set_index("variant")
