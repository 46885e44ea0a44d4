"""Executing the book's pages: what an executed notebook was made from, whether it
is stale, and running the stale ones through papermill, several at a time.

Each executed notebook ``<name>.ipynb`` carries a record in its metadata
(``metadata["cnnrepro"]``): hashes of its Jupytext source, its parameters, the
``cnnrepro`` package source and every input it read while executing (results-store
entries, the chapters' headline files, benchmark files), with when, where and how
long it ran. A page is stale when one of those differs from what is on disk now;
timestamps play no part. This module knows nothing of chapters: ``run`` says which
pages the book has, their parameters and their order.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .provenance import now_utc

RECORD = "cnnrepro"                   # the notebook metadata key of a page's record
READ_LOG_VAR = "CNNREPRO_READ_LOG"    # set while a page executes: where its reads go
# Files of a store entry that change when the run is retrained (the predictions and
# histories are written by the same training as the metrics and provenance).
ENTRY_FILES = ("config.json", "metrics.json", "provenance.json")


class PageFailed(RuntimeError):
    """A page raised while executing; the message names the page, the cell and the
    error, and where the failed notebook was kept."""


# --- what a page reads --------------------------------------------------------

def note_input(path: Path, trained: bool = False, computed: bool = False,
               weights: bool = False) -> None:
    """Record that the executing page read ``path`` (a store entry's folder, or a
    file), and whether it had to make it first: a run it ``trained``, an analysis it
    ``computed``, or ``weights`` it loaded (a page that only reads loads none). Does
    nothing outside a page execution."""
    log = os.environ.get(READ_LOG_VAR)
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"path": str(Path(path).resolve()), "trained": trained,
                                "computed": computed, "weights": weights}) + "\n")


def fingerprint(path: Path) -> str | None:
    """Content hash of an input: a store entry (its config, metrics and provenance,
    which a retrain rewrites) or a file; None when it no longer exists."""
    path = Path(path)
    files = [path / f for f in ENTRY_FILES] if path.is_dir() else [path]
    if not all(f.is_file() for f in files):
        return None
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def params_hash(params: dict) -> str:
    return text_hash(json.dumps(params, sort_keys=True))


def package_hash() -> str:
    """One hash of the ``cnnrepro`` package's source (code and transcribed data)."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts and f.suffix in (".py", ".yaml", ".css"):
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def machine() -> dict:
    from . import provenance
    return {"cpu": provenance.cpu_model(), "cores": os.cpu_count(),
            "platform": platform.platform(terse=True)}


def versions() -> dict:
    from importlib import metadata

    from . import provenance
    out = provenance.package_versions()
    for name in ("jupyter-book", "papermill", "jupytext"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


# --- records and staleness ----------------------------------------------------

def notebook_path(book: Path, name: str) -> Path:
    return book / "chapters" / f"{name}.ipynb"


def source_path(book: Path, name: str) -> Path:
    return book / "chapters" / f"{name}.py"


def read_record(book: Path, name: str) -> dict | None:
    """The record of a page's executed notebook (None: not executed, or executed
    without one)."""
    path = notebook_path(book, name)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text()).get("metadata", {}).get(RECORD)
    except (OSError, ValueError):
        return None


def stale_reason(book: Path, name: str, params: dict, package: str | None = None) -> str | None:
    """Why the page must execute with ``params`` (a few words), or None when its
    executed notebook is up to date."""
    record = read_record(book, name)
    if record is None:
        return "not executed yet"
    if record["source"] != text_hash(source_path(book, name).read_text()):
        return "source changed"
    if record["params"] != params:
        return "parameters changed"
    if record["package"] != (package or package_hash()):
        return "package changed"
    changed = [p for p, h in record["inputs"].items() if fingerprint(Path(p)) != h]
    if changed:
        return f"{len(changed)} input(s) changed, e.g. {Path(changed[0]).name}"
    return None


# --- executing one page -----------------------------------------------------------

PARAMETER_TAGS = ("parameters", "injected-parameters")  # the page's own, papermill's
KERNEL_DIED = "Kernel died before replying to kernel_info"  # jupyter_client's words


def hide_parameters(nb) -> None:
    """Tag both parameter cells "remove-cell": a reader sees the parameters in words
    (the provenance table), not two code cells of defaults and overrides."""
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if any(t in tags for t in PARAMETER_TAGS) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]


def execute_page(book: Path, name: str, params: dict, origin: str = "default",
                 stream=None, recorded_params: dict | None = None) -> dict:
    """Execute ``book/chapters/<name>.py`` with ``params`` through papermill into
    ``<name>.ipynb`` and return its record. ``origin`` is "default" (the build chose
    the parameters) or "user" (``cnnrepro run -p``: a later build keeps them).
    Cell output streams go to ``stream`` (a file), if given. ``recorded_params``
    (default: ``params``) is what the record keeps, without one-off parameters.

    The previous executed notebook is replaced only when the new one succeeds; a
    failure keeps the new one as ``<name>.failed.ipynb`` and raises PageFailed."""
    import jupytext
    import nbformat
    import papermill

    folder = book / "chapters"
    source = source_path(book, name)
    if not source.is_file():
        raise PageFailed(f"no page source {source}")
    text = source.read_text()
    target, partial = notebook_path(book, name), folder / f"{name}.executing.ipynb"
    fd, reads = tempfile.mkstemp(prefix=f"{name}-reads-", suffix=".jsonl")
    os.close(fd)
    os.environ[READ_LOG_VAR] = reads  # the kernel inherits it
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    try:
        for attempt in (1, 2):
            try:
                papermill.execute_notebook(jupytext.reads(text, fmt="py:percent"), str(partial),
                                           parameters=params, cwd=str(folder), kernel_name="python3",
                                           # two kernels starting on a busy 2-core machine (CI)
                                           # can take longer than papermill's 60 s
                                           start_timeout=300,
                                           log_output=False, progress_bar=False,
                                           stdout_file=stream, stderr_file=stream)
                break
            except RuntimeError as exc:
                # a kernel that dies before its first reply (seen when several start at
                # once on a loaded machine) ran no cell: starting another is safe
                if attempt == 2 or KERNEL_DIED not in str(exc):
                    raise
    except papermill.PapermillExecutionError as exc:
        failed = folder / f"{name}.failed.ipynb"
        os.replace(partial, failed)
        raise PageFailed(f"page {name} failed in {failed_cell(failed)}: {exc.ename}: "
                         f"{exc.evalue} (the failed notebook is kept at {failed}; the "
                         f"previous executed notebook, if any, is unchanged)") from None
    finally:
        del os.environ[READ_LOG_VAR]
        lines = Path(reads).read_text().splitlines()
        os.unlink(reads)
    seconds = time.perf_counter() - start
    read = [json.loads(line) for line in lines]
    inputs = {r["path"]: fingerprint(Path(r["path"])) for r in read}
    entries = {r["path"] for r in read if Path(r["path"]).is_dir()}
    record = {"page": name, "params": params if recorded_params is None else recorded_params,
              "origin": origin, "source": text_hash(text),
              "package": package_hash(), "inputs": inputs,
              "runs_read": len(entries),
              "runs_trained": len({r["path"] for r in read if r["trained"]}),
              "analyses_computed": len({r["path"] for r in read if r.get("computed")}),
              "weights_loaded": sum(bool(r.get("weights")) for r in read),
              "executed_at": now_utc(), "seconds": round(seconds, 1),
              "versions": versions(), "machine": machine()}
    nb = nbformat.read(partial, as_version=4)
    hide_parameters(nb)
    nb.metadata[RECORD] = record
    nbformat.write(nb, partial)
    os.replace(partial, target)
    return record


def failed_cell(notebook: Path) -> str:
    """Which code cell of a failed notebook raised: its number among the code cells
    (papermill's injected parameters cell not counted) and its first line."""
    import nbformat
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"
            and "injected-parameters" not in c.metadata.get("tags", [])]
    for i, cell in enumerate(code, start=1):
        if cell.metadata.get("papermill", {}).get("exception"):
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            return f"code cell {i} ({first[:60]!r})"
    return "a cell"


# --- executing many pages ------------------------------------------------------------

@dataclass
class Job:
    """One page to bring up to date: its parameters, where they came from, and the
    pages it reads the output of (it is judged and run only after those)."""

    name: str
    params: dict
    origin: str = "default"
    after: tuple[str, ...] = ()
    reason: str | None = field(default=None, init=False)
    started: float = field(default=0.0, init=False)


def _execute_in_child(book: Path, job: Job, log_dir: Path, log) -> tuple[int, str]:
    """One page in its own process (its own kernel, its own read log); returns the
    exit status and the last line it wrote to stderr (the error, on failure)."""
    job.started = time.perf_counter()
    log(f"{job.name} ({_describe(job)}): executing, {job.reason}")
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{job.name}.log", "w") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "cnnrepro.execution", str(book), job.name,
             json.dumps(job.params), job.origin],
            stdout=out, stderr=subprocess.PIPE, text=True, env={**os.environ})
    tail = proc.stderr.strip().splitlines()
    return proc.returncode, tail[-1] if tail else ""


def execute_stale(book: Path, jobs: list[Job], workers: int = 1,
                  log: Callable[[str], None] = print) -> list[str]:
    """Execute every stale page of ``jobs`` (``workers`` at a time, each in its own
    process) and return the names executed. A page is judged once every page it
    comes ``after`` has finished. The first failure stops the build: pages not yet
    started are skipped, running ones finish, and PageFailed names the page."""
    package = package_hash()
    log_dir = book / "_build" / "execution-logs"
    lock = threading.Lock()
    unlocked, log = log, lambda line: _locked(lock, unlocked, line)  # one line at a time
    names = {j.name for j in jobs}
    pending = {j.name: j for j in jobs}
    done: set[str] = set()
    queue: list[Job] = []       # stale, waiting for a free worker
    executed: list[str] = []
    running: dict[Future, Job] = {}
    failure = None
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        while True:
            # Judge every page whose predecessors are done; an up-to-date page is done
            # at once, which may make the pages after it ready in turn.
            judged = True
            while judged and failure is None:
                ready = [j for j in pending.values()
                         if all(a in done or a not in names for a in j.after)]
                judged = bool(ready)
                for job in ready:
                    del pending[job.name]
                    job.reason = stale_reason(book, job.name, job.params, package)
                    if job.reason:
                        queue.append(job)
                    else:
                        done.add(job.name)
            while queue and failure is None and len(running) < max(1, workers):
                job = queue.pop(0)
                running[pool.submit(_execute_in_child, book, job, log_dir, log)] = job
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                job = running.pop(future)
                status, message = future.result()
                if status != 0:
                    failure = failure or (message or f"page {job.name} failed "
                                          f"(see {log_dir / (job.name + '.log')})")
                    log(f"{job.name}: FAILED after {time.perf_counter() - job.started:.0f} s")
                    continue
                record = read_record(book, job.name) or {}
                log(f"{job.name} ({_describe(job)}): {record.get('seconds', 0):.0f} s, "
                    f"{record.get('runs_read', 0)} runs read, "
                    f"{record.get('runs_trained', 0)} trained, "
                    f"{record.get('analyses_computed', 0)} analyses computed")
                done.add(job.name)
                executed.append(job.name)
    if failure:
        raise PageFailed(failure)
    return executed


def _locked(lock: threading.Lock, log, line: str) -> None:
    with lock:
        log(line)


def _describe(job: Job) -> str:
    profile = job.params.get("profile", "no profile")
    extra = {k: v for k, v in job.params.items() if k != "profile"}
    return profile + (f", {job.origin} parameters {extra}" if extra else "")


# --- the execution status page ---------------------------------------------------

STATUS = "_generated/execution.md"  # included by book/chapters/execution.md


def status_rows(book: Path, names: list[str]) -> list[dict]:
    """One row per page: how its executed notebook was made (from its record)."""
    rows = []
    for name in names:
        r = read_record(book, name)
        if r is None:
            rows.append({"page": name, "profile": "not executed"})
            continue
        extra = {k: v for k, v in r["params"].items() if k != "profile"}
        rows.append({
            "page": name, "profile": r["params"].get("profile", "none (trains nothing)"),
            "parameters": ", ".join(f"{k}={json.dumps(v)}" for k, v in extra.items())
            or "defaults",
            "executed (UTC)": r["executed_at"].replace("T", " ").replace("+00:00", ""),
            "seconds": f"{r['seconds']:.0f}", "runs read": str(r["runs_read"]),
            "runs trained": str(r["runs_trained"])})
    return rows


def status_markdown(book: Path, names: list[str]) -> str:
    """The generated part of the execution status page: a table of pages, then the
    packages and machines their records name."""
    rows = status_rows(book, names)
    columns = ["page", "profile", "parameters", "executed (UTC)", "seconds", "runs read",
               "runs trained"]
    lines = [":::{table} How each page was executed", "| " + " | ".join(columns) + " |",
             "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{{doc}}`{row['page']} <{row['page']}>`" if "seconds" in row else row["page"]]
        cells += [row.get(c, "") for c in columns[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    records = [read_record(book, n) for n in names]
    records = [r for r in records if r]
    packages = sorted({k for r in records for k in r["versions"]})
    lines += [":::", "", ":::{table} Packages the pages were executed with",
              "| package | version |", "|---|---|"]
    for p in packages:
        seen = sorted({r["versions"].get(p, "–") for r in records})
        lines.append(f"| {p} | {', '.join(seen)} |")
    machines = sorted({f"{r['machine']['cpu']}, {r['machine']['cores']} cores, "
                       f"{r['machine']['platform']}" for r in records})
    lines += [":::", "", ":::{table} Machines the pages were executed on", "| machine |", "|---|",
              *[f"| {m} |" for m in machines], ":::"]
    return "\n".join(lines) + "\n"


def write_status(book: Path, names: list[str]) -> Path:
    """Write the status page's table; left untouched when nothing changed, so an
    unchanged build re-renders nothing."""
    path = book / STATUS
    text = status_markdown(book, names)
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def main(argv: list[str]) -> int:
    """``python -m cnnrepro.execution <book> <page> <params JSON> <origin>``: one page,
    as ``execute_stale`` runs it in a child process."""
    book, name, params, origin = argv
    try:
        execute_page(Path(book), name, json.loads(params), origin, stream=sys.stdout)
    except PageFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
