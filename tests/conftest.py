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
