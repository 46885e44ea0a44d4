"""The book's numbers table: each number a report printed, ours beside it, and the
verdict of ``verdicts.number_from``; each chapter publishes its rows for the
Summary page."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from . import verdicts
from .execution import note_input
from .paths import book_dir


def headline(result: str, kind: str, reported: float, ours: float, *, profile: str,
             decimals: int, sd: float = math.nan, seeds: int = 1, reason: str = "",
             at_protocol: bool | None = None, noise: verdicts.Noise | None = None,
             test_size: int | None = None, counted: bool = True, pending: bool = False,
             collapsed: bool = False) -> dict:
    """One row of the book's numbers table: a number the report printed, ours (mean
    over ``seeds``, with their standard deviation) and the verdict of
    ``verdicts.number_from``. ``at_protocol`` defaults to ``profile == "paper"``;
    ``noise`` is the stated seed spread a single run may use; ``counted=False``
    shows a row the counts leave out (a counterfactual, a number the report did not
    print). ``reason``, the cause where a chapter knows it, follows the rule's account
    for any verdict but holds. ``pending``: ours comes from a run waiting to be
    retrained (``Run.pending``), so it is not tested. ``collapsed``: a run of ours
    collapsed or diverged, so ours says nothing about a systematic offset."""
    reported, ours = float(reported), float(ours)
    if math.isnan(reported):
        counted = False
        verdict = verdicts.Verdict(verdicts.NOT_TESTED, reason="the report prints no such number")
    elif pending:
        verdict = verdicts.Verdict(verdicts.NOT_TESTED, reason=verdicts.RETRAINING_PENDING)
    else:
        verdict = verdicts.number_from(
            kind, reported, ours, sd, seeds, decimals=decimals,
            at_protocol=profile == "paper" if at_protocol is None else at_protocol,
            noise=noise, test_size=test_size)
    return {"result": result, "kind": kind, "reported": reported, "decimals": decimals,
            "ours": ours, "ours_sd": sd, "seeds": seeds, "profile": profile,
            "difference": ours - reported, "low": verdict.low, "high": verdict.high,
            "verdict": verdict.verdict, "direction": verdict.direction, "counted": counted,
            "collapsed": collapsed,
            "reason": "; ".join(filter(None, [verdict.reason, reason if verdict.verdict
                                               != verdicts.HOLDS else ""]))}


def publish_headlines(chapter: str, rows: list[dict], book: Path | None = None) -> Path:
    """Write this chapter's headline rows (``headline``) for the Summary page
    (book/_generated/headlines/<chapter>.csv, a build product)."""
    folder = (book or book_dir()) / "_generated" / "headlines"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{chapter}.csv"
    pd.DataFrame(rows).assign(chapter=chapter).to_csv(path, index=False)
    return path


def read_headlines(chapters: list[str], book: Path | None = None) -> pd.DataFrame:
    """The headline rows of ``chapters`` (those published), in that order."""
    folder = (book or book_dir()) / "_generated" / "headlines"
    files = [folder / f"{name}.csv" for name in chapters if (folder / f"{name}.csv").is_file()]
    for f in files:
        note_input(f)
    frames = [pd.read_csv(f, keep_default_na=False, na_values=[""]) for f in files]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def format_number(kind: str, value: float, decimals: int) -> str:
    if math.isnan(value):
        return "–"
    text = f"{value:,.0f}" if kind in ("parameters", "seconds") or decimals < 0 else \
        f"{value:.{decimals}f}"
    return text.lstrip("-") if text.strip("-0.,") == "" else text  # never "-0.000"


def summary_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One chapter's numbers as the Summary page shows them: numbers at the report's
    printed precision (ours one digit finer, ± the sd over seeds), the difference,
    the 95% interval for another run of ours, the verdict and its reason."""
    out = []
    for r in rows.itertuples():
        fine = int(r.decimals) + (1 if r.kind not in ("parameters", "seconds") else 0)
        ours = format_number(r.kind, r.ours, fine)
        if not math.isnan(r.ours_sd) and r.seeds > 1:
            ours += f" ± {format_number(r.kind, r.ours_sd, fine)}"
        interval = "" if math.isnan(r.low) else \
            f"{format_number(r.kind, r.low, fine)} to {format_number(r.kind, r.high, fine)}"
        out.append({"result": r.result,
                    "reported": format_number(r.kind, r.reported, int(r.decimals)),
                    "ours": ours, "difference": format_number(r.kind, r.difference, fine),
                    "interval for another run": interval,
                    "verdict": r.verdict + ("" if r.counted else " (not counted)"),
                    "reason": r.reason if isinstance(r.reason, str) else ""})
    return pd.DataFrame(out)
