"""The measurement files under ``results/bench/`` as the Performance page reads them
(``python -m cnnrepro bench`` writes them). Reading one records it as an input of
the executing page, so the page is re-executed when a file changes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .execution import note_input
from .paths import repo_root

SETTINGS_CHECK = "settings-check.csv"   # bench --check-settings
BOOK_TIMING = "book-timing.csv"         # bench --time-book
PAGE_TIMING = "page-timing.csv"         # bench --time-book: each executed page
UPDATE_PROFILE = "update-profile.csv"   # bench --profile-update
UPDATE_KERNELS = "update-kernels.csv"   # bench --profile-update: kernels by kind
CHAPTER_TIMING = "chapter-timing.csv"   # bench --time-chapter
VERIFY = "verify.csv"                   # verify: stored runs retrained and compared
OWN_SECTIONS = {SETTINGS_CHECK, BOOK_TIMING, PAGE_TIMING, CHAPTER_TIMING, VERIFY,
                UPDATE_PROFILE, UPDATE_KERNELS}  # not throughput files


def bench_dir() -> Path:
    return repo_root() / "results" / "bench"


def throughput() -> pd.DataFrame:
    """Every throughput file, one row per (model, precision, framework) measured,
    with the file's name as ``source``; empty when there is none."""
    files = sorted(f for f in bench_dir().glob("*.csv") if f.name not in OWN_SECTIONS)
    for f in files:
        note_input(f)
    if not files:
        return pd.DataFrame()
    frame = pd.concat([pd.read_csv(f).assign(source=f.name) for f in files], ignore_index=True)
    frame["batch_size"] = frame["batch_size"].astype(int)
    if "isa" in frame:  # same name, other vector width, other speed: say which
        frame["cpu"] = [f"{cpu} ({'AVX-512' if 'avx512f' in isa else 'AVX2'})" if isinstance(isa, str)
                        else cpu for cpu, isa in zip(frame["cpu"], frame["isa"])]
    return frame


def read(name: str) -> pd.DataFrame | None:
    """One of the files with a section of its own (``OWN_SECTIONS``), or None."""
    path = bench_dir() / name
    if not path.is_file():
        return None
    note_input(path)
    return pd.read_csv(path)


def throughput_table(measured: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The CPU throughput table: per model, batch size, precision and framework, the
    median images per second, their range over the timed epochs, GFLOP/s and the
    share of the CPU's nominal peak; columns and index levels that are the same in
    every row come back apart, for the caption (report.constant_columns)."""
    from .report import constant_columns
    table = measured.assign(**{
        "images/s (median)": measured["img_per_s"].round(),  # whole images: a narrower column
        "range": [f"{a:,.0f}–{b:,.0f}" for a, b in zip(measured["img_per_s_min"], measured["img_per_s_max"])],
        "GFLOP/s": measured["achieved_gflop_s"],
        "% of peak": 100 * measured["achieved_gflop_s"] / measured["peak_gflop_s"]})
    table = table.rename(columns={"batch_size": "batch size"}).set_index(
        ["model", "batch size", "precision", "framework", "cpu"])
    return constant_columns(table[["images/s (median)", "range", "GFLOP/s", "% of peak"]]
                            .sort_index(), keep=("model", "framework"))


def peer_ratios(measured: pd.DataFrame) -> pd.DataFrame:
    """Keras's images per second against the PyTorch peer's measured in the same file
    (one machine, one bench run), per model, precision, framework and processor."""
    peer = measured[measured["framework"] == "pytorch"][["model", "precision", "source", "img_per_s"]]
    keras_rows = measured[measured["framework"] != "pytorch"]
    paired = keras_rows.merge(peer, on=["model", "precision", "source"], suffixes=("", "_peer"))
    table = pd.DataFrame({"model": paired["model"], "precision": paired["precision"],
                          "framework": paired["framework"], "cpu": paired["cpu"],
                          "Keras images/s": paired["img_per_s"],
                          "PyTorch images/s": paired["img_per_s_peer"],
                          "Keras / PyTorch": paired["img_per_s"] / paired["img_per_s_peer"]})
    return table.set_index(["model", "precision", "framework", "cpu"]).sort_index()


def peak_share(measured: pd.DataFrame, model: str) -> float:
    """The largest share of the nominal fp32 peak that Keras on TensorFlow reached
    training ``model`` on any measured processor."""
    rows = measured[(measured["model"] == model) & (measured["precision"] == "float32")
                    & measured["framework"].str.startswith("keras/tensorflow")]
    return float((rows["achieved_gflop_s"] / rows["peak_gflop_s"]).max())


def book_timings(frame: pd.DataFrame) -> pd.DataFrame:
    """``bench --time-book`` rows as one row per scenario of the latest measurement
    (the rows of its commit and machine): median and range of the build's seconds,
    and the pages each build executed."""
    latest = frame[(frame["commit"] == frame["commit"].iloc[-1])
                   & (frame["cpu"] == frame["cpu"].iloc[-1])]
    every = max((len(str(v).split()) for v in latest["executed"].dropna()), default=0)

    def named(pages) -> str:  # a build that executed every page says so, not its 8 names
        pages = pages if isinstance(pages, str) and pages else ""
        return f"all {every}" if every > 1 and len(pages.split()) == every else pages or "none"
    grouped = latest.groupby("scenario", sort=False)
    return pd.DataFrame({
        "builds": grouped.size(),
        "median (s)": grouped["seconds"].median(),
        "range (s)": grouped["seconds"].agg(lambda s: f"{s.min():.1f}–{s.max():.1f}"),
        "pages executed": grouped["executed"].agg(lambda s: "; ".join(sorted({named(v) for v in s}))),
    }).rename_axis("build")


def page_timings(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """``bench --time-book``'s page rows of the latest measurement (its commit): per
    page, the median of its seconds in the cold builds and, where timed, in the fresh
    clone's ``make book`` (the CSV has every build); what it read, and what it had to make (runs
    trained, analyses computed, weights loaded: none when the store holds everything).
    Columns the same on every page come back apart, for the caption."""
    from .report import constant_columns
    latest = frame[frame["commit"] == frame["commit"].iloc[-1]]
    cold = latest[latest["scenario"] == "cold"].groupby("page", sort=False)
    table = pd.DataFrame({
        "cold builds": cold.size(), "cold, median (s)": cold["seconds"].median(),
        "runs read": cold["runs read"].max(), "runs trained": cold["runs trained"].max(),
        "analyses computed": cold["analyses computed"].max(),
        "weights loaded": cold["weights loaded"].max()}).rename_axis("page")
    clone = latest[latest["scenario"].str.startswith("fresh clone")].set_index("page")["seconds"]
    if len(clone):
        table.insert(2, "fresh clone (s)", clone.reindex(table.index))
    return constant_columns(table)


def update_profile(frame: pd.DataFrame) -> pd.DataFrame:
    """``bench --profile-update`` rows of the latest measurement (its commit): per model
    and part of an update, milliseconds and share of the update."""
    latest = frame[frame["commit"] == frame["commit"].iloc[-1]].drop_duplicates(
        ["model", "part"], keep="last")  # a model measured again replaces its rows
    return latest.set_index(["model", "part"])[["ms", "share"]].rename(
        columns={"ms": "ms per update", "share": "share of the update"})


def update_kernels(frame: pd.DataFrame) -> pd.DataFrame:
    """``bench --profile-update`` kernel rows of the latest measurement: milliseconds
    per update of each kind of kernel (columns: models), summed over threads."""
    latest = frame[frame["commit"] == frame["commit"].iloc[-1]].drop_duplicates(
        ["model", "kernels"], keep="last")
    return latest.pivot_table(index="kernels", columns="model", values="ms", sort=False)


def kernel_share(frame: pd.DataFrame | None, model: str, kind: str) -> float:
    """The share of ``model``'s kernel time in the kind of kernel whose name starts
    with ``kind`` (``bench.OP_GROUPS``); NaN when not measured."""
    if frame is None:
        return float("nan")
    ms = update_kernels(frame)
    if model not in ms:
        return float("nan")
    rows = ms[ms.index.str.startswith(kind)]
    return float(rows[model].sum() / ms[model].sum())


def chapter_timings(frame: pd.DataFrame) -> pd.DataFrame:
    """``bench --time-chapter`` rows: per chapter, runs and worker count, the minutes
    from an empty store, the speed-up over one worker of the same chapter and runs
    (where measured), and whether the predictions matched."""
    out = frame.copy()
    serial = out[out["jobs"] == 1].groupby(["chapter", "runs"])["minutes"].last()
    out["speed-up"] = [serial.get((c, r), float("nan")) / m
                       for c, r, m in zip(out["chapter"], out["runs"], out["minutes"])]
    return out.set_index(["chapter", "runs", "jobs"])[
        ["minutes", "speed-up", "same predictions", "cpu", "cores"]]
