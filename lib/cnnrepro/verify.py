"""Does the code still give the stored numbers? Stored runs are retrained into a
temporary store and compared with what the store holds.

One rule book for the comparison, from strict to loose:

- ``identical``: the same final metrics, test-set probabilities and per-update
  history, to the last bit. Expected when the run is retrained with the numerics
  (backend, oneDNN) it was stored with, on the same processor model.
- ``round-off``: no test probability differs by more than ``ROUND_OFF``: the same
  computation up to floating-point order (another processor's kernels).
- ``within test noise``: the test accuracies differ by at most twice the binomial
  standard error of the stored accuracy on the test set.
- ``differs``: more than that.

A retrained run is ``ok`` when its verdict is at least as strict as expected. Across
numerics nothing is expected (``ANOTHER_RUN``): training amplifies a last-digit
difference in one update into another run of the same experiment, which differs
as a new seed's would, often by more than the test set's noise; the difference is
reported, not judged.

The reference runs (``REFERENCE_STORE``, one smoke-profile run per chapter, task
and model, one set per processor instruction-set family) fingerprint what the
training code computes: ``tests/test_verify.py``
verifies them, and ``renew_fingerprint`` refuses to re-store a reference run that
changed under the same ``TRAINING_CODE_VERSION``.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import config as config_module
from . import measurements, protocol, provenance
from .config import RunConfig
from .store import ResultsStore, Run, log_line, read_run

VERDICTS = ("identical", "round-off", "within test noise", "differs")
ANOTHER_RUN = "another run"  # what is expected across numerics: any verdict
ROUND_OFF = 1e-3
REFERENCE_STORE = Path("tests") / "fingerprint"  # in the checkout


class Drift(Exception):
    """Retrained runs differ from the stored ones by more than their verdict allows."""


def test_noise(accuracy: float, n_test: int) -> float:
    """Twice the binomial standard error of an accuracy measured on ``n_test`` images."""
    return 2 * math.sqrt(max(accuracy * (1 - accuracy), 0.0) / n_test)


def same_machine(a: Run, b: Run) -> bool:
    """Same devices and processor: by its identity (name, family/model, instruction
    sets) where both runs recorded it, else by name."""
    field = "cpu_identity" if "cpu_identity" in a.provenance and \
        "cpu_identity" in b.provenance else "cpu"
    return (a.provenance.get(field), a.provenance.get("devices")) == \
        (b.provenance.get(field), b.provenance.get("devices"))


def _same_metrics(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # NaN == NaN


def _close_metrics(a: dict, b: dict) -> bool:
    """Every final metric equal within ROUND_OFF (relative above 1), NaN to NaN."""
    for name in a.keys() & b.keys():
        x, y = a[name], b[name]
        if isinstance(x, (int, float)) and isinstance(y, (int, float)):
            if not (math.isnan(x) and math.isnan(y)) and abs(x - y) > ROUND_OFF * max(1, abs(x)):
                return False
        elif x != y:
            return False
    return a.keys() == b.keys()


def verdict(stored: Run, fresh: Run) -> str:
    if (_same_metrics(stored.metrics, fresh.metrics)
            and np.array_equal(stored.test_probs, fresh.test_probs, equal_nan=True)
            and stored.updates.equals(fresh.updates)):
        return "identical"
    if stored.test_probs.shape == fresh.test_probs.shape and _close_metrics(
            stored.metrics, fresh.metrics) and np.nanmax(
            np.abs(stored.test_probs - fresh.test_probs), initial=0.0) <= ROUND_OFF:
        return "round-off"
    acc, acc2 = stored.metrics["accuracy"], fresh.metrics["accuracy"]
    if abs(acc - acc2) <= test_noise(acc, len(stored.test_labels)):
        return "within test noise"
    return "differs"


def expected(stored: Run, fresh: Run) -> str:
    if stored.numerics != fresh.numerics:
        return ANOTHER_RUN
    return "identical" if same_machine(stored, fresh) else "round-off"


def comparison(stored: Run, fresh: Run) -> dict:
    """One row of the verification table."""
    got, want = verdict(stored, fresh), expected(stored, fresh)
    diff = np.abs(stored.test_probs.astype(np.float64) - fresh.test_probs)
    return {"run": stored.config.label(), "key": stored.key, "model": stored.config.model,
            "stored": stored.metrics["accuracy"], "retrained": fresh.metrics["accuracy"],
            "difference": fresh.metrics["accuracy"] - stored.metrics["accuracy"],
            "max |prob difference|": float(np.nanmax(diff, initial=0.0)),
            "verdict": got, "expected": want,
            "ok": want == ANOTHER_RUN or VERDICTS.index(got) <= VERDICTS.index(want),
            "stored numerics": config_module.describe_numerics(stored.numerics),
            "retrained numerics": config_module.describe_numerics(fresh.numerics),
            "stored on": _where(stored), "retrained on": _where(fresh),
            "stored at": stored.provenance.get("git_commit", "")[:12],
            "retrained at": fresh.provenance.get("git_commit", "")[:12],
            "seconds": fresh.provenance["timing"]["wall_seconds"],
            "date": fresh.provenance.get("date")}


def _where(run: Run) -> str:
    gpus = [d for d in run.provenance.get("devices", []) if not d.startswith("cpu")]
    return ", ".join(gpus) or run.provenance.get("cpu_identity") or run.provenance.get("cpu", "?")


def cost(run_path: Path) -> float:
    return json.loads((run_path / "provenance.json").read_text())["timing"]["wall_seconds"]


def current_runs(store: ResultsStore) -> list[Path]:
    """The run folders of ``store`` stored by the current code (this
    TRAINING_CODE_VERSION and their model's current version)."""
    return [p for p in store.runs()
            if config_module.is_current(json.loads((p / "config.json").read_text()))]


def chapter_configs(store: ResultsStore, chapters: list[str],
                    ablations: bool = False) -> list[tuple[str, RunConfig]]:
    """(chapter, config) of every stored run the book shows for ``chapters`` (of their
    protocols; with ``ablations``, their variants' runs too)."""
    from .run import book_profile
    out = []
    for name in chapters:
        proto = protocol.resolve(name, book_profile(name))
        configs = proto.all_configs() if ablations else proto.run_configs()
        out += [(name, c) for c in configs if store.has(c)]
    return out


def pending(store: ResultsStore, chapters: list[str]) -> list[tuple[str, RunConfig]]:
    """(chapter, config) of the runs the book shows for ``chapters`` that only an
    earlier version of their model has stored: retraining them gives a new run by
    design (the fix), so they are not verified but retrained."""
    from .run import book_profile
    out = []
    for name in chapters:
        proto = protocol.resolve(name, book_profile(name))
        out += [(name, c) for c in proto.all_configs()
                if not store.has(c) and store.find_superseded(c) is not None]
    return out


def select(store: ResultsStore, chapters: list[str] | None = None,
           runs: int | None = None, ablations: bool = False) -> list[tuple[str, RunConfig]]:
    """The runs to verify, cheapest first (stored training time): those the book shows
    for ``chapters`` (``chapter_configs``), or with no chapters every run of the
    store's code version; at most ``runs`` per chapter."""
    if chapters:
        picked = chapter_configs(store, chapters, ablations)
    else:
        picked = [(run.provenance.get("requested_by", {}).get("chapter", ""), run.config)
                  for run in map(read_run, current_runs(store))]
    unique = {}
    for chapter, config in picked:
        unique.setdefault(store.find(config), (chapter, config))
    ordered = sorted(unique.items(), key=lambda item: cost(item[0]))
    if runs is None:
        return [v for _, v in ordered]
    taken: dict[str, int] = {}
    out = []
    for _, (chapter, config) in ordered:
        if taken.get(chapter, 0) < runs:
            taken[chapter] = taken.get(chapter, 0) + 1
            out.append((chapter, config))
    return out


def verify(store: ResultsStore, chosen: list[tuple[str, RunConfig]],
           log=log_line, on_row=None) -> pd.DataFrame:
    """Retrain each chosen run into a temporary store with this process's numerics
    and compare it with the stored one: one row per run (``comparison``), each also
    passed to ``on_row`` as soon as it is known (so an interrupted verification
    keeps what it found)."""
    rows = []
    scratch = Path(tempfile.mkdtemp(prefix="cnnrepro-verify-"))
    try:
        fresh_store = ResultsStore(scratch)
        n = len(chosen)
        for i, (chapter, config) in enumerate(chosen, start=1):
            stored = store.load(config)
            start = time.perf_counter()
            fresh = fresh_store.get_or_train(config, verbose=0, log=lambda m: None, checkpoints="off",
                                                analyse=False)
            row = {"chapter": chapter, **comparison(stored, fresh)}
            log(f"[{i}/{n}] {config.label()}: stored {row['stored']:.4f}, retrained "
                f"{row['retrained']:.4f} -> {row['verdict']} (expected {row['expected']}) "
                f"in {time.perf_counter() - start:.0f} s")
            rows.append(row)
            if on_row is not None:
                on_row(pd.DataFrame([row]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return pd.DataFrame(rows)


def verify_analyses(store: ResultsStore, chosen: list[tuple[str, RunConfig]],
                    log=log_line) -> pd.DataFrame:
    """Recompute every analysis stored beside the chosen runs, with its stored
    parameters, and compare it with the stored one: a row each, with the largest
    difference of any of its numbers and a verdict: ``identical``, ``round-off`` (at
    most ``ROUND_OFF``) or ``differs``; a stale analysis (another code
    version) is reported, not recomputed."""
    from . import analyses
    rows = []
    for chapter, config in chosen:
        path = store.find(config)
        for name, why in analyses.stored(path).items():
            row = {"chapter": chapter, "run": config.label(), "key": path.name, "analysis": name}
            if why is not None:
                rows.append({**row, "difference": float("nan"), "verdict": f"stale: {why}", "ok": False})
                log(f"{config.label()}: analysis {name} is stale ({why}); not compared")
                continue
            stored = analyses.read_stored(path, name)
            fresh, seconds = analyses.compute(read_run(path), name, stored["params"])
            gap = analyses.differences(stored["result"], analyses.as_stored(fresh))
            verdict = ("identical" if gap == 0 else "round-off" if gap <= ROUND_OFF
                       else "differs")
            rows.append({**row, "difference": gap, "verdict": verdict, "ok": verdict != "differs"})
            log(f"{config.label()}: analysis {name} recomputed in {seconds:.0f} s -> {verdict} "
                f"(largest difference {gap:.2g})")
    return pd.DataFrame(rows, columns=["chapter", "run", "key", "analysis", "difference", "verdict", "ok"])


def record(rows: pd.DataFrame, out: Path | None = None) -> Path:
    """Add ``rows`` to the verification record (results/bench/verify.csv, which the
    Reliability appendix shows), replacing earlier rows of the same run retrained
    with the same numerics on the same processor."""
    out = out or measurements.bench_dir() / measurements.VERIFY
    same = ["key", "retrained numerics", "retrained on"]
    if out.is_file():
        old = pd.read_csv(out)
        old = old[~old.set_index(same).index.isin(rows.set_index(same).index)]
        rows = pd.concat([old, rows], ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    rows.to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(out)
    return out


def table(rows: pd.DataFrame) -> str:
    """The rows as the terminal shows them."""
    cols = ["run", "stored", "retrained", "difference", "verdict", "expected"]
    return rows[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}")


COLUMNS = ["chapter", "run", "key", "model", "stored", "retrained", "difference",
           "max |prob difference|", "verdict", "expected", "ok", "stored numerics",
           "retrained numerics", "stored on", "retrained on", "stored at", "retrained at",
           "seconds", "date"]


def read_record() -> pd.DataFrame:
    """The verification record (empty when nothing was verified yet)."""
    rows = measurements.read(measurements.VERIFY)
    return pd.DataFrame(columns=COLUMNS) if rows is None else rows


def counts(rows: pd.DataFrame) -> dict[str, int]:
    """Runs verified, how many as expected, and how many per verdict (by names fit
    for glue: round_off, within_test_noise)."""
    return {"runs": len(rows), "ok": int(rows["ok"].astype(bool).sum()),
            **{v.replace(" ", "_").replace("-", "_"): int((rows["verdict"] == v).sum())
               for v in VERDICTS}}


def by_chapter(rows: pd.DataFrame) -> pd.DataFrame:
    """The verification record, one row per chapter and way of retraining: how many
    runs were retrained and came out as expected, the count per verdict, the
    numerics they were stored and retrained with, on what processor and when (the
    commits are in the record's CSV)."""
    def joined(values) -> str:
        return "; ".join(sorted({str(v) for v in values}))

    def verdicts(values) -> str:
        counts = values.value_counts()
        return ", ".join(f"{counts[v]} {v}" for v in VERDICTS if v in counts)

    both = rows["stored numerics"] == rows["retrained numerics"]
    numerics = (rows["stored numerics"] + " → " + rows["retrained numerics"]).where(
        ~both, rows["stored numerics"] + " (both)")
    grouped = rows.assign(numerics=numerics).groupby(
        ["chapter", "numerics", "retrained on"], sort=False)
    out = grouped.agg(runs=("key", "size"), **{
        "as expected": ("ok", "sum"), "verdicts": ("verdict", verdicts),
        "when": ("date", lambda d: joined(str(v)[:10] for v in d))})
    return out.reset_index().set_index("chapter").rename(
        columns={"numerics": "numerics (stored → retrained)"})


def run_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The verification record run by run, as the book lists it (test accuracy)."""
    cols = ["chapter", "run", "stored", "retrained", "difference", "verdict"]
    return rows[cols].sort_values(["chapter", "run"]).reset_index(drop=True)


# -- the fingerprint: reference runs of the training code -----------------------

def reference_configs() -> list[tuple[str, RunConfig]]:
    """One smoke-profile run per chapter, task and model: every model family, task and
    chapter-specific setting (transfer, early stopping, validation split, losses) the
    chapters train with, at a few batches each."""
    out = {}
    for name in protocol.chapters():
        for config in protocol.resolve(name, "smoke").run_configs():
            out.setdefault((name, config.task, config.model), config)
    return [(name, config) for (name, _, _), config in out.items()]


def processor_set(isa: str | None = None) -> str:
    """The fingerprint set of processors with the instruction sets ``isa`` (default:
    this one's), e.g. 'avx2-fma'. TensorFlow's oneDNN picks its kernels by them, so
    a run comes out bit-identical only where they are the same: each set of
    instruction sets has its own reference runs."""
    return (isa or provenance.isa()).replace(" ", "-")


def reference_store(isa: str | None = None) -> ResultsStore:
    """The reference runs of this processor's instruction sets, beside the code that
    computed them (the checkout this package runs from, whatever CNNREPRO_ROOT
    points the book at)."""
    return ResultsStore(Path(__file__).resolve().parents[2] / REFERENCE_STORE / processor_set(isa))


def recorded_sets() -> list[str]:
    """The instruction-set families that have reference runs."""
    root = Path(__file__).resolve().parents[2] / REFERENCE_STORE
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def check_fingerprint(store: ResultsStore | None = None, configs=None,
                      log=log_line, allow_missing: bool = False) -> pd.DataFrame:
    """Retrain every reference run (or ``configs``, (chapter, config) pairs) and
    compare; raises Drift naming what to do when one is missing (a new code version,
    a new chapter setting) or differs. ``allow_missing``: compare those recorded and
    log the missing ones instead (reference runs are recorded per processor family,
    each on such a processor)."""
    store = store or reference_store()
    configs = configs or reference_configs()
    version = config_module.TRAINING_CODE_VERSION
    if not store.runs():
        raise Drift(f"no reference runs for processors with {provenance.isa()} ({store.root}; "
                    f"recorded for: {recorded_sets()}); `python -m cnnrepro fingerprint` records "
                    f"them on this processor")
    missing = [c for _, c in configs if store.find(c, exact=True) is None]
    if missing and allow_missing:
        log(f"{len(missing)} reference run(s) not recorded for processors with {provenance.isa()} "
            f"(first: {missing[0].label()}); `python -m cnnrepro fingerprint` on such a "
            f"processor records them")
        configs = [(ch, c) for ch, c in configs if c not in missing]
    elif missing:
        raise Drift(f"{len(missing)} reference run(s) of code version {version} with "
                    f"{config_module.current_numerics()} are not in {store.root} (first: "
                    f"{missing[0].label()}); `python -m cnnrepro fingerprint` stores them")
    rows = verify(store, configs, log=log)
    bad = rows[~rows["ok"]]
    if len(bad):
        raise Drift(f"the training code computes other numbers than its fingerprint "
                    f"(code version {version}) for {list(bad['run'])}:\n"
                    f"{table(bad)}\nIf the change is meant, bump TRAINING_CODE_VERSION in "
                    f"lib/cnnrepro/config.py and run `python -m cnnrepro fingerprint`")
    return rows


def renew_fingerprint(store: ResultsStore | None = None, configs=None,
                      log=log_line) -> list[Path]:
    """Store the reference runs of this code version; runs no reference config reads
    are removed. A reference run that is already stored for this version must come out
    the same (``check_fingerprint``): otherwise the training code changed what it
    computes without a new TRAINING_CODE_VERSION, and Drift says so."""
    store = store or reference_store()
    configs = configs or reference_configs()
    present = [(ch, c) for ch, c in configs if store.find(c, exact=True) is not None]
    if present:
        rows = verify(store, present, log=log)
        if not rows["ok"].all():
            raise Drift(f"reference runs of code version {config_module.TRAINING_CODE_VERSION} now "
                        f"compute other numbers:\n{table(rows[~rows['ok']])}\nBump "
                        f"TRAINING_CODE_VERSION in lib/cnnrepro/config.py, then renew")
    for _, config in configs:
        store.get_or_train(config, verbose=0, log=log, other_numerics=False, analyse=False,
                           checkpoints="off",
                           requested_by={"fingerprint": config_module.TRAINING_CODE_VERSION})
    # whatever no current reference config reads: other code versions, and configs
    # whose keys moved (a model version, a chapter's new setting)
    removed = sorted(set(store.runs()) - {store.find(c, exact=True) for _, c in configs})
    for path in removed:
        shutil.rmtree(path)
    return removed
