"""What was tried to break a run, and what happens: each case of the book's
Reliability appendix is one test here."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from cnnrepro import data, run, sweeps
from cnnrepro.protocol import ProtocolError
from cnnrepro.store import ResultsStore
from cnnrepro.train import RunConfig
from conftest import ROOT, needs_mirror

TINY = RunConfig(task="mnist", model="resnet_shallow", epochs=1, batch_size=32, seed=0,
                 train_limit=96, test_limit=64)


@pytest.mark.parametrize("chapter, params, fragments", [
    ("vgg_resnet", {"profile": "fastest"}, ["profile='fastest'", "paper", "cpu", "smoke"]),
    ("vgg_resnet", {"models": ["alexnet"]}, ["alexnet", "vgg16", "resnet18"]),
    ("vgg_resnet", {"mnist_epochs": -1}, ["mnist_epochs=-1", "positive integer"]),
    ("vgg_resnet", {"batch_size": 0}, ["batch_size=0", "positive integer"]),
    ("vgg_resnet", {"learning_rate": "fast"}, ["learning_rate='fast'", "number > 0"]),
    ("cnn_sweeps", {"batch_sizes": [128, 0]}, ["batch_sizes=[128, 0]", ">= 1"]),
    ("cnn_sweeps", {"best_epochs": "ten"}, ["best_epochs='ten'", "positive integer"]),
    ("dnn_convnet_resnet", {"losses": ["mse"]}, ["mse", "as printed", "double softmax"]),
    ("residual_depth", {"epochs": 2.5}, ["epochs=2.5", "positive integer"]),
])
def test_bad_chapter_parameters_stop_before_any_training(chapter, params, fragments, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained despite bad parameters")

    monkeypatch.setattr("cnnrepro.store.train", no_training)
    with pytest.raises(ProtocolError) as err:
        run.train_chapter(chapter, params)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


def test_cli_names_the_bad_value_and_exits_2_before_a_kernel_starts():
    out = subprocess.run([sys.executable, "-m", "cnnrepro", "run", "vgg_resnet",
                          "-p", "batch_size", "0"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "batch_size=0" in out.stderr and "allowed" in out.stderr


def _empty(store: ResultsStore) -> bool:
    """No run entry (a write in progress stages its files under .tmp/, not an entry)."""
    return not [p for p in store.root.rglob("config.json") if ".tmp" not in p.parts]


def test_data_missing_without_network_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_DIR_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # no cached download
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # a port nothing listens on: offline
    store = ResultsStore(tmp_path / "results")
    with pytest.raises(data.DataError) as err:
        store.get_or_train(TINY, verbose=0, log=lambda m: None)
    assert data.DATA_DIR_VAR in str(err.value) and data.MNIST_FILE in str(err.value)
    assert _empty(store)


@needs_mirror
def test_corrupt_data_file_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    source = data.Path(os.environ[data.DATA_DIR_VAR]) / data.MNIST_FILE
    bad = tmp_path / "mirror" / data.MNIST_FILE
    bad.parent.mkdir()
    bad.write_bytes(source.read_bytes()[:-100])  # a truncated copy
    monkeypatch.setenv(data.DATA_DIR_VAR, str(bad.parent))
    store = ResultsStore(tmp_path / "results")
    with pytest.raises(data.DataError) as err:
        store.get_or_train(TINY, verbose=0, log=lambda m: None)
    assert str(bad) in str(err.value) and data.MNIST_SHA256 in str(err.value)
    assert _empty(store)


# The child trains TINY into a store whose prediction writer stalls, so that it is
# killed in the worst place: halfway through writing the run's files.
KILLED_CHILD = """
import sys, time
import numpy as np
from cnnrepro import store as store_module
from cnnrepro.store import ResultsStore
from cnnrepro.train import RunConfig
real = np.savez_compressed
def stalled(path, **arrays):
    real(path, **arrays)
    print("WRITING", flush=True)
    time.sleep(600)
store_module.np.savez_compressed = stalled
config = RunConfig(task="mnist", model="resnet_shallow", epochs=1, batch_size=32, seed=0,
                   train_limit=96, test_limit=64)
ResultsStore(sys.argv[1]).get_or_train(config, verbose=0)
"""


@needs_mirror
def test_kill_9_while_writing_leaves_no_entry_and_the_next_run_trains(tmp_path):
    store = ResultsStore(tmp_path / "results")
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(store.root)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.time() + 300
    line = ""
    while "WRITING" not in line and time.time() < deadline and child.poll() is None:
        line = child.stdout.readline()
    assert "WRITING" in line, "the child never reached the write"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert any((store.root / ".tmp").iterdir())  # it died with files half written
    assert not store.has(TINY) and _empty(store)
    logs = []
    again = store.get_or_train(TINY, verbose=0, log=logs.append)
    assert any("training" in m for m in logs) and store.has(TINY)
    assert np.isfinite(again.metrics["accuracy"])
    assert not any((store.root / ".tmp").iterdir())  # the dead writer's files are gone


@needs_mirror
def test_a_diverging_run_is_stored_with_its_nan_and_named(tmp_path):
    config = RunConfig(task="mnist", model="simple_cnn", epochs=2, batch_size=32, seed=0,
                       optimizer="sgd", learning_rate=1e30, train_limit=256, test_limit=64,
                       extra={"model_options": {"conv_filters": [4]}, "per_update_test": False})
    store = ResultsStore(tmp_path / "results")
    stored = store.get_or_train(config, verbose=0, log=lambda m: None)
    metrics = json.loads((stored.path / "metrics.json").read_text())
    assert metrics["diverged_at_update"] >= 1
    assert metrics["accuracy"] is None or np.isnan(metrics["accuracy"])
    assert sweeps.outcome(store.load(config)).startswith("diverged: NaN loss at update")


@needs_mirror
def test_same_config_and_seed_twice_give_identical_stored_metrics(tmp_path):
    store = ResultsStore(tmp_path / "results")
    first = store.get_or_train(TINY, verbose=0, log=lambda m: None)
    first_metrics = (first.path / "metrics.json").read_text()
    first_probs = first.test_probs.copy()
    second = store.get_or_train(TINY, force=True, verbose=0, log=lambda m: None)
    assert (second.path / "metrics.json").read_text() == first_metrics
    assert np.array_equal(second.test_probs, first_probs)
    assert second.updates.equals(first.updates)

