"""A run killed after a checkpoint and trained again resumes, and ends with exactly the
numbers of the same run trained without interruption (cnnrepro.checkpoint)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from cnnrepro import checkpoint
from cnnrepro.config import RunConfig
from conftest import needs_mirror

# Batch norm and Adam (resnet_shallow, with Report 2's per-update test batches), and
# dropout with early stopping on a held-out tail (simple_cnn): every kind of state.
CONFIGS = [
    RunConfig("mnist", "resnet_shallow", epochs=3, batch_size=64, seed=5, train_limit=768,
              test_limit=256),
    RunConfig("mnist", "simple_cnn", epochs=3, batch_size=64, seed=5, train_limit=768,
              test_limit=256, optimizer="sgd", learning_rate=0.05,
              extra={"model_options": {"conv_filters": [8, 16], "fc_units": [32], "dropout": 0.5},
                     "per_update_test": False, "validation_split": 0.25,
                     "early_stopping": {"monitor": "val_loss", "patience": 10}}),
]
TRAIN = """
import json, sys
from cnnrepro.config import RunConfig
from cnnrepro.store import ResultsStore
from cnnrepro.train import train
store = ResultsStore(sys.argv[1])
for canonical in sys.argv[2:]:
    store.save(train(RunConfig.from_canonical(json.loads(canonical)), verbose=0))
"""
RESULT_FILES = ("updates.csv", "epochs.csv", "metrics.json")


def train_in_subprocess(store, checkpoints, configs, wait=True):
    env = {**os.environ, checkpoint.ENV: str(checkpoints)}
    args = [sys.executable, "-c", TRAIN, str(store),
            *(json.dumps(c.canonical()) for c in configs)]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    if wait:
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0, out[-3000:]
    return process


def kill_after_first_checkpoints(store, checkpoints, configs) -> dict[str, int]:
    """Train each of ``configs`` in a subprocess of its own, all at once, and SIGKILL
    each once its first checkpoint is written; returns the epochs each checkpoint holds."""
    processes = {c.key(): train_in_subprocess(store, checkpoints, [c], wait=False) for c in configs}
    deadline = time.monotonic() + 300
    while processes and time.monotonic() < deadline:
        for key, process in list(processes.items()):
            if (checkpoints / f"{key}.pkl").exists() or process.poll() is not None:
                process.send_signal(signal.SIGKILL)
                process.communicate()
                assert process.returncode == -signal.SIGKILL, "the run ended before it was killed"
                del processes[key]
        time.sleep(0.02)
    assert not processes, "no checkpoint within 300 s"
    os.environ[checkpoint.ENV] = str(checkpoints)
    states = {c.key(): checkpoint.load(c.key()) for c in configs}
    for config in configs:
        assert 1 <= states[config.key()].epoch < config.epochs
    return {key: state.epoch for key, state in states.items()}


@needs_mirror
def test_a_killed_run_resumes_to_exactly_the_uninterrupted_numbers(tmp_path, monkeypatch):
    killed = kill_after_first_checkpoints(tmp_path / "resumed", tmp_path / "ck-a", CONFIGS)
    resuming = train_in_subprocess(tmp_path / "resumed", tmp_path / "ck-a", CONFIGS, wait=False)
    straight = train_in_subprocess(tmp_path / "straight", tmp_path / "ck-b", CONFIGS, wait=False)
    for process in (resuming, straight):
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0, out[-3000:]
    for config in CONFIGS:
        resumed = tmp_path / "resumed" / config.model / config.key()
        straight = tmp_path / "straight" / config.model / config.key()
        for name in RESULT_FILES:
            assert (resumed / name).read_bytes() == (straight / name).read_bytes(), (config.model, name)
        with np.load(resumed / "predictions.npz") as a, np.load(straight / "predictions.npz") as b:
            assert a["probs"].tobytes() == b["probs"].tobytes()
        segments = json.loads((resumed / "provenance.json").read_text())["timing"]["segments"]
        assert [s["epochs"] for s in segments] == [[1, killed[config.key()]],
                                                   [killed[config.key()] + 1, config.epochs]]
        assert "segments" not in json.loads((straight / "provenance.json").read_text())["timing"]
    assert not list((tmp_path / "ck-a").glob("*.pkl"))  # stored runs leave no checkpoint


def test_checkpoints_are_replaced_whole_and_cleared(tmp_path, monkeypatch):
    monkeypatch.setenv(checkpoint.ENV, str(tmp_path))
    state = checkpoint.State(epoch=2, model_variables={"w": np.ones(3)}, optimizer_variables=[],
                             history={})
    checkpoint.save("abc", state)
    assert checkpoint.load("abc").epoch == 2 and not list(tmp_path.glob(".*.tmp"))
    checkpoint.save("abc", checkpoint.State(3, {}, [], {}))
    assert checkpoint.load("abc").epoch == 3
    stale = checkpoint.State(4, {}, [], {}, format=checkpoint.FORMAT - 1)
    checkpoint.save("old", stale)
    assert checkpoint.load("old") is None  # another format: not resumed
    assert checkpoint.clear("abc") and checkpoint.load("abc") is None and not checkpoint.clear("abc")


def test_a_bad_checkpoints_setting_names_the_allowed_ones():
    from cnnrepro.train import train
    with pytest.raises(ValueError, match=r"checkpoints='sometimes' is not allowed; allowed: "
                                         r"\['resume', 'fresh', 'off'\]"):
        train(CONFIGS[0], checkpoints="sometimes")


def test_fit_visits_the_same_order_every_epoch_on_tensorflow():
    # what exact resumption rests on; if Keras changes it, resuming stops (train.train)
    assert checkpoint.epoch_order_repeats()


def test_a_resumed_dropout_network_finds_its_seed_generator_under_another_number():
    import keras

    from cnnrepro import checkpoint

    def net():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="fc"),
                                 keras.layers.Dropout(0.5), keras.layers.Dense(2, name="out")])
    first, fresh = net(), net()  # the second process numbers its seed generator anew
    assert {v.path for v in first.variables} != {v.path for v in fresh.variables}
    saved = checkpoint.variables_by_path(first.variables)
    checkpoint.restore_variables(fresh.variables, saved)
    assert np.array_equal(fresh.get_layer("fc").kernel.numpy(), saved["sequential/fc/kernel"])
    with pytest.raises(ValueError, match="does not match this network"):
        checkpoint.restore_variables(fresh.variables, {"x/kernel": saved["sequential/fc/kernel"]})
