"""Execute chapters with papermill and build the book.

A chapter's source is a Jupytext percent-format script, ``book/chapters/<name>.py``;
its executed notebook ``<name>.ipynb`` beside it is a build product that
``jupyter-book build`` renders without re-executing anything.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import yaml

from . import protocol
from .paths import book_dir


class ChapterFailed(RuntimeError):
    pass


# Pages after the chapters that read stored results but train nothing
# (book/chapters/<name>.py like the chapters): the summary, which takes the book's
# profile to find the runs the chapters show, and the appendices, which take nothing.
SUMMARY = "summary"
APPENDICES = ("performance", "reliability")


def chapters() -> list[str]:
    """Chapter names in book order (as registered in protocol)."""
    return list(protocol.chapters())


def pages() -> list[str]:
    """Everything ``run_book`` executes: the chapters, the summary, the appendices."""
    return [*chapters(), SUMMARY, *APPENDICES]


def parse_params(pairs: list[tuple[str, str]]) -> dict:
    """``-p name value`` pairs; values are YAML (``'[32, 256]'``, ``true``, ``0.01``)."""
    return {name: yaml.safe_load(value) for name, value in pairs}


def run_chapter(name: str, params: dict | None = None, book: Path | None = None) -> Path:
    """Validate the parameters, execute the chapter and return its executed notebook.

    The previous executed notebook is replaced only when the new one succeeds; a
    failed execution is kept as ``<name>.failed.ipynb`` for inspection.
    """
    import jupytext
    import papermill

    params = dict(params or {})
    if name in APPENDICES:
        params = {}  # an appendix trains nothing: no profile, no parameters
    elif name == SUMMARY:
        profile = params.pop("profile", protocol.DEFAULT_PROFILE)
        if params or profile not in protocol.PROFILES:
            raise protocol.ProtocolError(
                f"the summary takes only profile (one of {list(protocol.PROFILES)}); "
                f"got {dict(params, profile=profile)}")
        params = {"profile": profile}
    else:
        protocol.resolve(name, **params)  # fail here, before a kernel starts, on bad input
    folder = (book or book_dir()) / "chapters"
    source = folder / f"{name}.py"
    if not source.is_file():
        raise ChapterFailed(f"no chapter source {source}")
    notebook = jupytext.read(source)
    target = folder / f"{name}.ipynb"
    partial = folder / f"{name}.executing.ipynb"
    logging.getLogger("cnnrepro").info("chapter %s with %s", name, params or "defaults")
    try:
        papermill.execute_notebook(notebook, str(partial), parameters=params, cwd=str(folder),
                                   kernel_name="python3", log_output=True, progress_bar=False)
    except papermill.PapermillExecutionError as exc:
        failed = folder / f"{name}.failed.ipynb"
        os.replace(partial, failed)
        raise ChapterFailed(f"chapter {name} failed in cell {exc.exec_count}: {exc.ename}: "
                            f"{exc.evalue} (executed notebook kept at {failed})") from None
    os.replace(partial, target)
    return target


def train_chapter(name: str, params: dict | None = None) -> list:
    """Every run of a chapter's protocol, read from the store or trained into it: what
    executing the chapter trains, without Jupyter (a GPU machine needs only Keras)."""
    from .store import ResultsStore

    if name in (SUMMARY, *APPENDICES):
        raise protocol.ProtocolError(f"{name!r} is not a chapter and trains nothing; "
                                     f"allowed: {chapters()}")
    proto = protocol.resolve(name, **(params or {}))
    return ResultsStore(proto.store_root).get_runs(
        proto.run_configs(), force=proto.force, requested_by=proto.requested_by(), verbose=2)


def build_book(book: Path | None = None, extra_args: tuple[str, ...] = ()) -> Path:
    """``jupyter-book build`` on the executed chapters; returns the index.html path."""
    folder = book or book_dir()
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(folder), *extra_args]
    subprocess.run(cmd, check=True)
    return folder / "_build" / "html" / "index.html"


def book_profile(name: str, profile: str = protocol.DEFAULT_PROFILE) -> str:
    """The profile the book shows a chapter in: ``paper`` where the results store
    already holds every run of the report's protocol (trained on a GPU, say) and
    ``profile`` is ``cpu``; otherwise ``profile``. Nothing is trained to decide."""
    from .store import ResultsStore

    if profile != "cpu":
        return profile
    paper = protocol.resolve(name, "paper")
    store = ResultsStore(paper.store_root)
    return "paper" if all(store.has(c) for c in paper.run_configs()) else profile


def run_book(profile: str = protocol.DEFAULT_PROFILE, book: Path | None = None) -> Path:
    for name in pages():
        params = ({} if name in APPENDICES else {"profile": profile} if name == SUMMARY
                  else {"profile": book_profile(name, profile)})
        run_chapter(name, params, book)
    return build_book(book)
