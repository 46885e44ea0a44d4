import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "data"

# Tests read the local mirror when the checkout sits beside ../shared (as in CI).
if not os.environ.get("REPRO_DATA_DIR") and (MIRROR / "mnist.npz").is_file():
    os.environ["REPRO_DATA_DIR"] = str(MIRROR)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Runs trained by the tests checkpoint into a folder of the test session, never the user's
# (a book build's subprocesses inherit it); each test gets its own (checkpoints_apart).
os.environ["CNNREPRO_CHECKPOINTS"] = tempfile.mkdtemp(prefix="cnnrepro-checkpoints-")
atexit.register(shutil.rmtree, os.environ["CNNREPRO_CHECKPOINTS"], True)

CALL_LOG = "model-calls.jsonl"  # the built book's record of model calls (tests/probes)

needs_mirror = pytest.mark.skipif(not os.environ.get("REPRO_DATA_DIR"),
                                  reason="no dataset mirror (REPRO_DATA_DIR) to read")


@pytest.fixture(autouse=True)
def checkpoints_apart(tmp_path, monkeypatch):
    """A test's runs resume only from its own checkpoints."""
    monkeypatch.setenv("CNNREPRO_CHECKPOINTS", str(tmp_path / "checkpoints"))


@pytest.fixture
def tmp_store(tmp_path):
    from cnnrepro.store import ResultsStore
    return ResultsStore(tmp_path / "results")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, monkeypatch_session):
    """The whole book built by the plain ``jupyter-book build book/`` in the smoke
    profile (CNNREPRO_PROFILE=smoke: the extension executes every page): one build
    shared by test_book.py (the notebooks and HTML) and test_browser.py (the pages
    in Chromium)."""
    import subprocess

    from cnnrepro import run

    work = tmp_path_factory.mktemp("book")
    shutil.copytree(ROOT / "book", work / "book",
                    ignore=shutil.ignore_patterns("_build", "_generated", "*.ipynb"))
    # The copy is its own root: smoke runs and generated pages stay inside it.
    monkeypatch_session.setenv("CNNREPRO_ROOT", str(work))
    monkeypatch_session.setenv("CNNREPRO_PROFILE", "smoke")
    monkeypatch_session.delenv("CNNREPRO_RESULTS", raising=False)
    # Every model call of the build's kernels, and who made it (tests/probes)
    monkeypatch_session.setenv("CNNREPRO_CALL_LOG", str(work / CALL_LOG))
    monkeypatch_session.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(ROOT / "tests" / "probes"), os.environ.get("PYTHONPATH")])))
    if (ROOT / "results" / "bench").is_dir():  # the Performance appendix reads these
        shutil.copytree(ROOT / "results" / "bench", work / "results" / "bench")
    build = subprocess.run([run.jupyter_book(), "build", "book/", "--warningiserror", "--keep-going"],
                           cwd=work, capture_output=True, text=True)
    (work / "build.log").write_text(build.stdout + build.stderr)
    assert build.returncode == 0, (build.stdout + build.stderr)[-3000:]
    return work


@pytest.fixture(scope="session")
def monkeypatch_session():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()
