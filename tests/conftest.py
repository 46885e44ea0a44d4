import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "data"

# Tests read the local mirror when the checkout sits beside ../shared (as in CI).
if not os.environ.get("REPRO_DATA_DIR") and (MIRROR / "mnist.npz").is_file():
    os.environ["REPRO_DATA_DIR"] = str(MIRROR)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

needs_mirror = pytest.mark.skipif(not os.environ.get("REPRO_DATA_DIR"),
                                  reason="no dataset mirror (REPRO_DATA_DIR) to read")


@pytest.fixture
def tmp_store(tmp_path):
    from cnnrepro.store import ResultsStore
    return ResultsStore(tmp_path / "results")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, monkeypatch_session):
    """The whole book executed in the smoke profile and built: one build shared by
    test_book.py (the notebooks and HTML) and test_browser.py (the pages in Chromium)."""
    import shutil

    from cnnrepro import run
    work = tmp_path_factory.mktemp("book")
    shutil.copytree(ROOT / "book", work / "book",
                    ignore=shutil.ignore_patterns("_build", "_generated", "*.ipynb"))
    # The copy is its own root: smoke runs and generated pages stay inside it.
    monkeypatch_session.setenv("CNNREPRO_ROOT", str(work))
    monkeypatch_session.delenv("CNNREPRO_RESULTS", raising=False)
    if (ROOT / "results" / "bench").is_dir():  # the Performance appendix reads these
        shutil.copytree(ROOT / "results" / "bench", work / "results" / "bench")
    for name in run.pages():
        run.run_chapter(name, {"profile": "smoke"}, work / "book")
    run.build_book(work / "book", ("--warningiserror", "--keep-going"))
    return work


@pytest.fixture(scope="session")
def monkeypatch_session():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()
