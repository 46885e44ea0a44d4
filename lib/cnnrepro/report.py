"""What chapters share to turn stored runs into the book: reported-vs-ours
tables, glued figures and numbers, the provenance block, the intro summary."""

from __future__ import annotations

import base64
import html
import json
import math
import re
from importlib import resources
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

from pandas.io.formats.style import Styler

from . import metrics, verdicts
from .config import describe_numerics
from .execution import note_input
from .paths import book_dir
from .store import Run

METRIC_COLUMNS = ["accuracy", "precision", "recall", "f1"]


def reported(chapter: str) -> dict:
    """The numbers a chapter's source report printed, as transcribed in reported/."""
    text = resources.files("cnnrepro").joinpath("reported", f"{chapter}.yaml").read_text()
    return yaml.safe_load(text)


def glue(name: str, value, display: bool = False):
    """myst-nb glue that also works outside a kernel (plain python, tests)."""
    try:
        from myst_nb import glue as nb_glue
    except ImportError:  # pragma: no cover - myst-nb is part of the book extra
        return value
    nb_glue(name, value, display=display)
    return value


def glue_profile(proto) -> str:
    """Glue "profile" (its name) and "profile_note" (the name and how it departs from
    the report's protocol) for a chapter's text and captions; returns the note."""
    if proto.profile == "paper":
        note = "paper profile (the report's protocol)"
    elif not proto.deviations:
        note = f"{proto.profile} profile (equal to the report's protocol)"
    else:
        note = f"{proto.profile} profile; deviations from the report: {'; '.join(proto.deviations)}"
    glue("profile", proto.profile)
    glue("profile_note", note)
    return note


def compute_devices(runs) -> str:
    """Where runs trained, from their provenance: 'gpu:0 (NVIDIA H100 80GB HBM3), jax
    backend' or 'AMD EPYC (2 cores), tensorflow backend'; distinct places joined by ';'."""
    places = []
    for r in runs:
        p = r.provenance
        gpus = [d for d in p.get("devices", []) if not d.startswith("cpu")]
        where = ", ".join(gpus) if gpus else f"{p['cpu']} ({p['cpu_count']} cores)"
        place = f"{where}, {p['backend']} backend"
        if place not in places:
            places.append(place)
    return "; ".join(places)


def glue_cost(proto, runs, paper_hours) -> str:
    """Glue "cost_note": where and how long a chapter's runs trained and, for a profile
    short of the report's, the hours ``paper_hours()`` estimates the full protocol
    would take at the runs' speed. Returns the note."""
    minutes = sum(r.provenance["timing"]["wall_seconds"] for r in runs) / 60
    note = f"{len(runs)} runs, {minutes:,.0f} minutes of wall time on {compute_devices(runs)}"
    if proto.profile != "paper":
        note += (f"; the report's full protocol (`paper`) would take about "
                 f"{paper_hours():,.1f} hours at the speed of these runs")
    glue("cost_note", note)
    return note


def figure(name: str, fig: plt.Figure) -> None:
    """Glue a figure for a ``{glue:figure}`` directive and free it."""
    glue(name, fig)
    plt.close(fig)


class Table(Styler):
    """A book table: a pandas Styler whose HTML ends with a link that downloads the
    table's data as CSV (full precision, embedded in the page, so it works offline
    and in any copy of the HTML). ``csv_data``, where set, is downloaded instead of
    the shown frame (e.g. every field at full precision behind a formatted view)."""

    csv_data: pd.DataFrame | None = None

    def _repr_html_(self) -> str:
        data = self.data if self.csv_data is None else self.csv_data
        return self.to_html() + csv_link(data, self.caption or "table")


def csv_link(frame: pd.DataFrame, caption: str) -> str:
    """An HTML link that downloads ``frame`` as ``<caption slug>.csv``."""
    slug = re.sub(r"[^a-z0-9]+", "-", caption.lower()).strip("-")[:60] or "table"
    data = base64.b64encode(frame.to_csv().encode()).decode()
    return (f'<p class="csv-download"><a download="{html.escape(slug)}.csv" '
            f'href="data:text/csv;base64,{data}">Download this table as CSV</a></p>')


def table(frame: pd.DataFrame, caption: str, precision: int = 4, csv: pd.DataFrame | None = None,
          **format_kw) -> Table:
    """A titled table for the book (a Styler with a caption and a CSV download of
    ``frame``, or of ``csv`` where given)."""
    styled = Table(frame)
    styled.csv_data = csv
    return (styled.set_caption(caption).format(precision=precision, thousands=",",
                                                       na_rep="–", **format_kw)
            .map(_keep_short_on_one_line)
            .set_table_styles([{"selector": "caption",
                                "props": "caption-side: top; font-weight: bold; text-align: left"}]))


def _keep_short_on_one_line(value) -> str:
    """Numbers and short texts ("0.975 ± 0.004") never wrap; sentences do."""
    return "white-space: nowrap" if len(str(value)) <= 24 else ""


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


def layer_table(model) -> pd.DataFrame:
    """A Keras model's layers: name, kind, output shape and parameters (model.summary
    as a table)."""
    rows = [{"layer": layer.name, "kind": type(layer).__name__,
             "output shape": "(batch, " + ", ".join(str(d) for d in layer.output.shape[1:]) + ")",
             "parameters": layer.count_params()} for layer in model.layers]
    return pd.DataFrame(rows).set_index("layer")


def per_class(run: Run, class_names: list[str]) -> pd.DataFrame:
    return metrics.per_class_report(run.test_labels, run.test_pred, class_names)


def confusion_panel(title: str, run: Run, class_names: list[str]):
    return (title, metrics.confusion(run.test_labels, run.test_pred, len(class_names)),
            per_class(run, class_names))


# --- provenance ----------------------------------------------------------------

def provenance_runs(runs: list[Run]) -> pd.DataFrame:
    """One row per run, narrow enough for the page: the environment table above it
    holds what the runs share (backend, devices, dates)."""
    rows = []
    for run in runs:
        p, c = run.provenance, run.config
        rows.append({"run": run.key, "model": c.model, "batch size": c.batch_size,
                     "seed": c.seed, "epochs": c.epochs,
                     "wall time (s)": p["timing"]["wall_seconds"],
                     "train img/s": p["timing"]["train_images_per_second"],
                     "commit": p["git_commit"][:8] + ("+dirty" if "dirty" in p["git_commit"] else "")})
    return pd.DataFrame(rows).set_index("run")


def settings_text(provenance: dict) -> str:
    """Op determinism and thread pools as a run recorded them ('not recorded' for runs
    stored before provenance held them)."""
    s = provenance.get("settings") or {}
    if "xla_gpu_deterministic_ops" in s:
        return f"XLA deterministic GPU ops {'on' if s['xla_gpu_deterministic_ops'] else 'off'}"
    if "op_determinism" not in s:
        return "not recorded"
    pools = [s.get("intra_op_threads"), s.get("inter_op_threads")]
    threads = "TensorFlow's defaults (one per core)" if not any(pools) else \
        f"{pools[0] or 'default'} intra-op, {pools[1] or 'default'} inter-op"
    return f"op determinism {'on' if s['op_determinism'] else 'off'}; threads: {threads}"


def provenance_environment(runs: list[Run], protocol) -> pd.DataFrame:
    """Facts shared by the runs (each distinct value listed once)."""
    def distinct(get):
        return "; ".join(sorted({str(get(r)) for r in runs}))

    rows = {
        "chapter": protocol.chapter.name,
        "profile": protocol.profile,
        "parameters": json.dumps(protocol.values, sort_keys=True),
        "book built from commit": _head_commit(),
        "runs computed at commit(s)": distinct(lambda r: r.provenance["git_commit"]),
        "CPU": distinct(lambda r: r.provenance["cpu"]),
        "numerics (backend, oneDNN) and devices": distinct(
            lambda r: f"{describe_numerics(r.numerics)} ({', '.join(r.provenance['devices'])})"),
        "determinism and threads": distinct(lambda r: settings_text(r.provenance)),
        "data": distinct(lambda r: f"{r.provenance['data_source'].get('origin')}: "
                                   f"{Path(r.provenance['data_source'].get('file', '-')).name} "
                                   f"sha256 {r.provenance['data_source'].get('sha256', 'n/a')}"),
        "packages": distinct(lambda r: ", ".join(f"{k} {v}" for k, v in
                                                 r.provenance["packages"].items())),
        "total wall time of the runs (s)": f"{sum(r.provenance['timing']['wall_seconds'] for r in runs):.1f}",
        "dates of the runs": " to ".join(sorted({min(r.provenance["date"][:10] for r in runs),
                                                 max(r.provenance["date"][:10] for r in runs)})),
    }
    return pd.DataFrame({"value": rows}).rename_axis("")


def provenance_tables(runs: list[Run], protocol, extra_columns: dict | None = None):
    """The two tables that end every chapter: the environment of its runs and one
    row per run (``extra_columns``: name -> one value per run, inserted after the
    model)."""
    from IPython.display import display
    display(table(provenance_environment(runs, protocol), "Environment of the runs")
            .set_properties(**{"text-align": "left", "white-space": "normal"}))
    per_run = provenance_runs(runs)
    for i, (name, values) in enumerate((extra_columns or {}).items(), start=1):
        per_run.insert(i, name, values)
    display(table(per_run, "Runs", precision=1).set_properties(**{"font-size": "0.85em"}))


def _head_commit() -> str:
    from .provenance import git_commit
    return git_commit(book_dir())


# --- headline numbers and their verdicts --------------------------------------

def headline(result: str, kind: str, reported: float, ours: float, *, profile: str,
             decimals: int, sd: float = math.nan, seeds: int = 1, reason: str = "",
             at_protocol: bool | None = None, noise: verdicts.Noise | None = None,
             test_size: int | None = None, counted: bool = True) -> dict:
    """One row of the book's numbers table: a number the report printed, ours (mean
    over ``seeds``, with their standard deviation) and the verdict of
    ``verdicts.number_from``. ``at_protocol`` defaults to ``profile == "paper"``;
    ``noise`` is the stated seed spread a single run may use; ``counted=False``
    shows a row the counts leave out (a counterfactual, a number the report did not
    print). ``reason``, the cause where a chapter knows it, follows the rule's account
    for any verdict but holds."""
    reported, ours = float(reported), float(ours)
    if math.isnan(reported):
        counted = False
        verdict = verdicts.Verdict(verdicts.NOT_TESTED, reason="the report prints no such number")
    else:
        verdict = verdicts.number_from(
            kind, reported, ours, sd, seeds, decimals=decimals,
            at_protocol=profile == "paper" if at_protocol is None else at_protocol,
            noise=noise, test_size=test_size)
    return {"result": result, "kind": kind, "reported": reported, "decimals": decimals,
            "ours": ours, "ours_sd": sd, "seeds": seeds, "profile": profile,
            "difference": ours - reported, "low": verdict.low, "high": verdict.high,
            "verdict": verdict.verdict, "direction": verdict.direction, "counted": counted,
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


def read_headlines(book: Path | None = None) -> pd.DataFrame:
    """Every chapter's headline rows, in book order."""
    from .protocol import chapters
    folder = (book or book_dir()) / "_generated" / "headlines"
    files = [folder / f"{name}.csv" for name in chapters() if (folder / f"{name}.csv").is_file()]
    for f in files:
        note_input(f)
    frames = [pd.read_csv(f, keep_default_na=False, na_values=[""]) for f in files]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def format_number(kind: str, value: float, decimals: int) -> str:
    if math.isnan(value):
        return "–"
    if kind in ("parameters", "seconds") or decimals < 0:
        return f"{value:,.0f}"
    return f"{value:.{decimals}f}"


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
