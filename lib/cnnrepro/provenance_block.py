"""The provenance block that ends every chapter: what the runs share (commit,
packages, numerics, data, dates) and one row per run; what is recorded with each
run is ``provenance``'s."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .config import describe_numerics
from .paths import book_dir
from .provenance import git_commit
from .report import constant_columns, said_once, table
from .store import Run


BACKENDS = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def place(provenance: dict) -> str:
    """Where a run trained, in words: 'NVIDIA H100 80GB HBM3, JAX' or 'AMD EPYC
    (2 cores), TensorFlow' (device strings such as 'gpu:0' stay in the provenance)."""
    gpus = [d.split("(", 1)[1].rstrip(")") if "(" in d else "a GPU"
            for d in provenance.get("devices", []) if not d.startswith("cpu")]
    where = ", ".join(dict.fromkeys(gpus)) if gpus else \
        f"{provenance['cpu']} ({provenance['cpu_count']} cores)"
    backend = provenance.get("backend", "?")
    return f"{where}, {BACKENDS.get(backend, backend)}"


def compute_devices(runs) -> str:
    """Where runs trained (``place``), distinct places joined by ';'."""
    return "; ".join(dict.fromkeys(place(r.provenance) for r in runs))


def commit_words(commit: str) -> str:
    """'1a2b3c4d' or '1a2b3c4d (with uncommitted changes)' for a recorded commit."""
    return commit[:8] + (" (with uncommitted changes)" if "dirty" in commit else "")


def runs_table(runs: list[Run], labels=None) -> tuple[pd.DataFrame, dict]:
    """One row per run, narrow enough for the page: what tells the runs apart (the
    chapter's ``labels`` of each config, else model, batch size and seed), the epochs
    it actually trained (early stopping included), its time and speed, the first 8
    characters of its store key. Columns that are the same for every run come back
    apart, for the caption; the environment table above holds what else the runs
    share (backend, devices, dates)."""
    rows = []
    for run in runs:
        p, c = run.provenance, run.config
        told = {k.replace("_", " "): v for k, v in labels(c).items()} if labels else \
            {"model": c.model, "batch size": c.batch_size, "seed": c.seed}
        rows.append({"run": run.key[:8], **told,
                     "epochs trained": run.metrics.get("epochs_trained", c.epochs),
                     "wall time (s)": p["timing"]["wall_seconds"],
                     "train img/s": p["timing"]["train_images_per_second"],
                     "commit": commit_words(p["git_commit"])})
    return constant_columns(pd.DataFrame(rows).set_index("run"), keep=("seed",))


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


def parameters_text(values: dict) -> str:
    """A chapter's parameters as a reader reads them: 'name: value' in the order the
    chapter declares them, names in words, lists without brackets, a run of whole
    numbers as '0-14' (values stay as they are passed, e.g. a sweep's name). ``force``
    (retrain what is stored) says how a page ran, not what it ran, and is left out."""
    def shown(value) -> str:
        if isinstance(value, (list, tuple)):
            if len(value) > 2 and all(isinstance(v, int) for v in value) \
                    and list(value) == list(range(value[0], value[0] + len(value))):
                return f"{value[0]}-{value[-1]}"
            return ", ".join(map(shown, value)) if value else "none"
        return f"{value:g}" if isinstance(value, float) else str(value)

    return "; ".join(f"{name.replace('_', ' ')}: {shown(value)}" for name, value in values.items()
                     if name != "force")


def environment(runs: list[Run], protocol, profile: str | None = None) -> pd.DataFrame:
    """Facts shared by the runs (each distinct value listed once); ``profile``: the
    profiles shown, where the chapter mixes them."""
    def distinct(get):
        return "; ".join(sorted({str(get(r)) for r in runs}))

    rows = {
        "chapter": protocol.chapter.name,
        "profile": profile or protocol.profile,
        "parameters": parameters_text(protocol.values),
        "book built from commit": commit_words(_head_commit()),
        "runs computed at commits": distinct(lambda r: commit_words(r.provenance["git_commit"])),
        "CPU": distinct(lambda r: r.provenance["cpu"]),
        "numerics and where they ran": distinct(
            lambda r: f"{describe_numerics(r.numerics)}; {place(r.provenance)}"),
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


def run_tables(runs: list[Run], extra_columns: dict | None = None, ablation_runs: list[Run] = (),
               variants: list[str] = (), labels=None) -> list[tuple[pd.DataFrame, str]]:
    """(table, caption) of the protocol's runs (``extra_columns``: name -> one value per
    run, first; a chapter label of the same name takes the given values) and, where the
    chapter has ablations, of their runs with each one's ablation."""
    def caption(title: str, shared: dict) -> str:
        return title + (f" (every one: {said_once(shared)})" if shared else "")

    per_run, shared = runs_table(runs, labels)
    for i, (name, values) in enumerate((extra_columns or {}).items()):
        if name in per_run:
            per_run[name] = list(values)
        else:
            per_run.insert(i, name, values)
    out = [(per_run, caption("Runs", shared))]
    if ablation_runs:
        per_variant, shared = runs_table(ablation_runs, labels)
        per_variant.insert(0, "ablation", list(variants) or [""] * len(ablation_runs))
        out.append((per_variant, caption("Runs of the ablations (Why the numbers differ)", shared)))
    return out


def show(runs: list[Run], protocol, extra_columns: dict | None = None,
         ablation_runs: list[Run] = (), variants: list[str] = (), profile: str | None = None,
         labels=None):
    """The tables that end every chapter (``run_tables``); the environment of all its
    runs is published for the appendix (``publish_environment``), which shows every
    chapter's at once."""
    from IPython.display import display
    publish_environment(environment([*runs, *ablation_runs], protocol, profile))
    for frame, title in run_tables(runs, extra_columns, ablation_runs, variants, labels):
        display(table(frame, title, precision=1).set_properties(**{"font-size": "0.85em"}))


ENVIRONMENT = "_generated/environment"  # one CSV per chapter; environment.md from them


def publish_environment(frame: pd.DataFrame, book: Path | None = None) -> Path:
    """Write a chapter's environment (``environment``) for the appendix."""
    folder = (book or book_dir()) / ENVIRONMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{frame.loc['chapter', 'value']}.csv"
    frame.to_csv(path)
    return path


def environment_markdown(titles: dict[str, str], book: Path | None = None) -> str:
    """The appendix's one environment table: a row per fact, a value said once where
    every chapter shares it, else per chapter (``titles``: chapter -> its name)."""
    folder = (book or book_dir()) / ENVIRONMENT
    values = {}
    for chapter, title in titles.items():
        path = folder / f"{chapter}.csv"
        if path.is_file():
            frame = pd.read_csv(path, index_col=0, keep_default_na=False)
            values[title] = frame["value"].drop("chapter")
    if not values:
        return "No chapter has published its environment yet.\n"
    facts = pd.DataFrame(values)
    rows = []
    for fact, per_chapter in facts.iterrows():
        shared = per_chapter.nunique() == 1 and len(per_chapter) == len(titles)
        said = f"every chapter: {per_chapter.iloc[0]}" if shared else \
            "<br>".join(f"{title}: {value}" for title, value in per_chapter.items())
        rows.append(f"| {fact} | {said.replace('|', '/')} |")
    return "| what | value |\n|---|---|\n" + "\n".join(rows) + "\n"


def _head_commit() -> str:
    return git_commit(book_dir())
