"""The book's pages, their parameters, and the commands that execute and build them.

A page's source is a Jupytext percent-format script, ``book/chapters/<name>.py``;
its executed notebook ``<name>.ipynb`` beside it is a build product. There is one
execution path: ``jupyter-book build book/`` loads the Sphinx extension
``cnnrepro.book_extension``, which calls ``bring_up_to_date`` before Sphinx reads a
page; ``python -m cnnrepro book`` and ``make book`` run that same build, and
``python -m cnnrepro run`` executes one page with the parameters given.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from . import execution, protocol
from .paths import book_dir

# Pages after the chapters that read stored results but train nothing
# (book/chapters/<name>.py like the chapters): the summary, which takes the book's
# profile to find the runs the chapters show and reads their headline rows, and the
# appendices, which take nothing.
SUMMARY = "summary"
APPENDICES = ("performance", "reliability")
PROFILE_VAR = "CNNREPRO_PROFILE"   # the plain build's profile (default: cpu)
JOBS_VAR = "CNNREPRO_JOBS"         # pages executed at once (default: the cores)
# Parameters that act once and are never kept with a page: a later build must not
# retrain a chapter because a user once forced it.
ONE_OFF = ("force",)


def chapters() -> list[str]:
    """Chapter names in book order (as registered in protocol)."""
    return list(protocol.chapters())


def pages() -> list[str]:
    """Every page the build executes: the chapters, the summary, the appendices."""
    return [*chapters(), SUMMARY, *APPENDICES]


def parse_params(pairs: list[tuple[str, str]]) -> dict:
    """``-p name value`` pairs; values are YAML (``'[32, 256]'``, ``true``, ``0.01``)."""
    return {name: yaml.safe_load(value) for name, value in pairs}


def build_profile() -> str:
    """The profile a plain build uses: ``CNNREPRO_PROFILE``, else cpu."""
    profile = os.environ.get(PROFILE_VAR) or protocol.DEFAULT_PROFILE
    if profile not in protocol.PROFILES:
        raise protocol.ProtocolError(f"{PROFILE_VAR}={profile!r} is not allowed; "
                                     f"allowed: {list(protocol.PROFILES)}")
    return profile


def build_jobs() -> int:
    """Pages executed at once by a plain build: ``CNNREPRO_JOBS``, else the cores."""
    value = os.environ.get(JOBS_VAR)
    if value is None:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise protocol.ProtocolError(f"{JOBS_VAR}={value!r} is not allowed; "
                                     f"allowed: an integer >= 1")
    return int(value)


def book_profile(name: str, profile: str = protocol.DEFAULT_PROFILE) -> str:
    """The profile the book shows a chapter in: ``paper`` where the results store
    already holds every run of the report's protocol (trained on a GPU, say), some
    perhaps by an earlier version of their model, shown marked until retrained
    (``Run.pending``), and ``profile`` is ``cpu``; otherwise ``profile``. Nothing is
    trained to decide."""
    from .store import ResultsStore

    if profile != "cpu":
        return profile
    paper = protocol.resolve(name, "paper")
    store = ResultsStore(paper.store_root)
    return "paper" if all(store.has(c) or store.find_superseded(c)
                          for c in paper.run_configs()) else profile


def stored_ablations(name: str, profile: str) -> list[str] | None:
    """The chapter's default ablations at ``profile`` whose runs are all stored (some
    perhaps by an earlier version of their model), or None where that is all of
    them: a page built at the report's protocol shows the variants trained so far
    (the campaign trains the rest) instead of training hours of them itself."""
    from .store import ResultsStore

    proto = protocol.resolve(name, profile)
    if "ablations" not in proto.values:
        return None
    store = ResultsStore(proto.store_root)
    missing = {proto.chapter.ablation_of(proto, c) for c in proto.ablation_configs()
               if not (store.has(c) or store.find_superseded(c))}
    if not missing:
        return None
    return [a for a in proto.values["ablations"] if a not in missing]


def default_params(name: str, profile: str = protocol.DEFAULT_PROFILE) -> dict:
    """The parameters the build gives a page: a chapter its book profile (and, at the
    report's protocol, the ablations stored so far), the summary the build's
    profile, an appendix nothing."""
    if name in APPENDICES:
        return {}
    if name == SUMMARY:
        return {"profile": profile}
    shown = book_profile(name, profile)
    ablations = stored_ablations(name, shown) if shown == "paper" else None
    return {"profile": shown, **({"ablations": ablations} if ablations is not None else {})}


def checked_params(name: str, params: dict) -> dict:
    """``params`` for page ``name``, validated before any kernel starts (a bad name
    or value raises ProtocolError naming it and what is allowed)."""
    if name not in pages():
        raise protocol.ProtocolError(f"unknown page {name!r}; allowed: {pages()}")
    params = dict(params)
    if name in APPENDICES:
        if params:
            raise protocol.ProtocolError(f"the appendix {name!r} takes no parameters; "
                                         f"got {params}")
        return params
    if name == SUMMARY:
        profile = params.pop("profile", protocol.DEFAULT_PROFILE)
        if params or profile not in protocol.PROFILES:
            raise protocol.ProtocolError(
                f"the summary takes only profile (one of {list(protocol.PROFILES)}); "
                f"got {dict(params, profile=profile)}")
        return {"profile": profile}
    protocol.resolve(name, **params)
    return params


def run_chapter(name: str, params: dict | None = None, book: Path | None = None,
                reset: bool = False, stream=None) -> Path:
    """Execute one page now with ``params`` and return its executed notebook. The
    parameters stay with the page: a later build shows these results, and
    re-executes the page with them only when its source, the package or its runs
    change. ``reset`` (or no parameters at all) executes it with the build's
    defaults instead, and later builds follow the defaults again."""
    book = book or book_dir()
    if reset or not params:
        if reset and params:
            raise protocol.ProtocolError(f"--reset takes no parameters; got {params}")
        params, origin = default_params(name, build_profile()), "default"
    else:
        origin = "user"
    params = checked_params(name, params)
    kept = {k: v for k, v in params.items() if k not in ONE_OFF}
    execution.execute_page(book, name, params, origin, stream, recorded_params=kept)
    return execution.notebook_path(book, name)


def plan(book: Path, profile: str) -> list[execution.Job]:
    """What a build brings up to date, in order: each chapter with the parameters a
    user last ran it with (``cnnrepro run -p``) or the defaults, the appendices,
    then the summary, which reads what the chapters wrote."""
    jobs = []
    for name in pages():
        record = execution.read_record(book, name)
        if record and record.get("origin") == "user":
            job = execution.Job(name, record["params"], "user")
        else:
            job = execution.Job(name, default_params(name, profile))
        if name == SUMMARY:
            job.after = tuple(chapters())
        jobs.append(job)
    # The summary waits for every chapter; the appendices fill the idle cores meanwhile.
    return sorted(jobs, key=lambda j: j.name == SUMMARY)


def bring_up_to_date(book: Path | None = None, profile: str | None = None,
                     jobs: int | None = None, log=print) -> list[str]:
    """Execute every stale page of the book (``jobs`` at a time) and write the
    execution status page; returns the pages executed."""
    book = book or book_dir()
    profile = profile or build_profile()
    executed = execution.execute_stale(book, plan(book, profile), jobs or build_jobs(), log)
    execution.write_status(book, pages())
    return executed


def train_chapter(name: str, params: dict | None = None, jobs: int = 1) -> list:
    """Every run of a chapter's protocol, read from the store or trained into it: what
    executing the chapter trains, without Jupyter (a GPU machine needs only Keras).
    ``jobs`` > 1 trains the missing runs in that many pinned worker processes first
    (``parallel.train_all``; not with ``force``)."""
    from .store import ResultsStore

    if name in (SUMMARY, *APPENDICES):
        raise protocol.ProtocolError(f"{name!r} is not a chapter and trains nothing; "
                                     f"allowed: {chapters()}")
    proto = protocol.resolve(name, **(params or {}))
    store = ResultsStore(proto.store_root)
    if jobs != 1:
        if proto.force:
            raise protocol.ProtocolError("force=True with --jobs > 1 is not allowed; "
                                         "allowed: force with --jobs 1")
        from . import parallel
        parallel.train_all([c for c in proto.all_configs() if not store.has(c)], proto.store_root,
                           jobs, proto.requested_by())
    return store.get_runs(proto.all_configs(), force=proto.force,
                          requested_by=proto.requested_by(), verbose=2)


def jupyter_book() -> str:
    """The ``jupyter-book`` command of this Python's environment (else the PATH's)."""
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else "jupyter-book"


def build_book(book: Path | None = None, extra_args: tuple[str, ...] = (),
               profile: str | None = None, jobs: int | None = None) -> Path:
    """``jupyter-book build book/``, which executes the stale pages first (the
    extension); returns the index.html path."""
    folder = book or book_dir()
    env = dict(os.environ)
    if profile:
        env[PROFILE_VAR] = profile
    if jobs:
        env[JOBS_VAR] = str(jobs)
    result = subprocess.run([jupyter_book(), "build", str(folder), *extra_args], env=env)
    if result.returncode != 0:
        raise execution.PageFailed(f"jupyter-book build {folder} failed (exit {result.returncode}); "
                            f"its output above names the page and the cell")
    return folder / "_build" / "html" / "index.html"
