import json
import os
import subprocess

import numpy as np
import pytest

from cnnrepro import config as config_module
from cnnrepro import execution
from cnnrepro import provenance
from cnnrepro import store as store_module
from cnnrepro.train import TRAINING_CODE_VERSION, RunConfig
from conftest import needs_mirror

TINY = RunConfig(task="mnist", model="resnet_shallow", epochs=1, batch_size=32, seed=0,
                 train_limit=96, test_limit=64)


def test_key_is_canonical_and_sensitive():
    same = RunConfig(**{**TINY.__dict__})
    assert same.key() == TINY.key()
    assert RunConfig(**{**TINY.__dict__, "seed": 1}).key() != TINY.key()
    assert RunConfig(**{**TINY.__dict__, "learning_rate": 1e-4}).key() != TINY.key()
    assert TINY.canonical()["code_version"] == TRAINING_CODE_VERSION


@needs_mirror
def test_miss_trains_then_hit_reads(tmp_store, monkeypatch):
    calls = []
    real_train = store_module.train
    monkeypatch.setattr(store_module, "train", lambda c, **kw: calls.append(c) or real_train(c, **kw))
    assert not tmp_store.has(TINY)
    run = tmp_store.get_or_train(TINY, verbose=0, log=lambda m: None)
    assert len(calls) == 1 and tmp_store.has(TINY)
    assert len(run.updates) == 3                      # 96 images / batch 32
    assert run.test_probs.shape == (64, 10) and run.test_labels.shape == (64,)
    assert {"git_commit", "packages", "cpu", "backend", "timing", "data_source"} <= set(run.provenance)
    for name in store_module.FILES:
        assert (run.path / name).is_file()
    again = tmp_store.get_or_train(TINY, verbose=0, log=lambda m: None)
    assert len(calls) == 1                            # a hit does not train
    assert again.metrics == run.metrics
    assert np.array_equal(again.test_probs, run.test_probs)


@needs_mirror
def test_force_retrains_and_replaces(tmp_store, monkeypatch):
    tmp_store.get_or_train(TINY, verbose=0, log=lambda m: None)
    calls = []
    real_train = store_module.train
    monkeypatch.setattr(store_module, "train", lambda c, **kw: calls.append(c) or real_train(c, **kw))
    tmp_store.get_or_train(TINY, force=True, verbose=0, log=lambda m: None)
    assert len(calls) == 1
    assert sorted(p.name for p in (tmp_store.root / TINY.model).iterdir()) == [TINY.key()]
    assert not any((tmp_store.root / ".tmp").iterdir())


@needs_mirror
def test_interrupted_write_leaves_no_entry(tmp_store, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt("interrupted while writing predictions")

    monkeypatch.setattr(store_module.np, "savez_compressed", crash)
    with pytest.raises(KeyboardInterrupt):
        tmp_store.get_or_train(TINY, verbose=0, log=lambda m: None)
    assert not tmp_store.has(TINY)
    assert not (tmp_store.root / TINY.model).exists()
    assert not any((tmp_store.root / ".tmp").iterdir())


@needs_mirror
def test_interrupted_force_keeps_the_old_entry(tmp_store, monkeypatch):
    first = tmp_store.get_or_train(TINY, verbose=0, log=lambda m: None)

    def crash(config, **kwargs):
        raise KeyboardInterrupt("interrupted while training")

    monkeypatch.setattr(store_module, "train", crash)
    with pytest.raises(KeyboardInterrupt):
        tmp_store.get_or_train(TINY, force=True, verbose=0, log=lambda m: None)
    assert tmp_store.load(TINY).metrics == first.metrics


def test_load_of_a_missing_run_names_it(tmp_store):
    with pytest.raises(KeyError, match=TINY.key()):
        tmp_store.load(TINY)


# -- numerics in the key ---------------------------------------------------------

JAX = config_module.numerics_of("jax")
ONEDNN_OFF = config_module.numerics_of("tensorflow", False)


def test_numerics_other_than_the_default_change_the_key_and_the_default_keeps_it():
    assert TINY.key(config_module.DEFAULT_NUMERICS) == TINY.key()
    keys = {TINY.key(n) for n in (config_module.DEFAULT_NUMERICS, ONEDNN_OFF, JAX)}
    assert len(keys) == 3  # a JAX run of a loss never answers for TensorFlow's
    assert TINY.canonical(JAX)["numerics"] == JAX and "numerics" not in TINY.canonical()


def test_numerics_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert config_module.current_numerics() == JAX
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert config_module.current_numerics() == ONEDNN_OFF
    monkeypatch.setenv("KERAS_BACKEND", "theano")
    with pytest.raises(ValueError, match="'theano'.*allowed.*jax"):
        config_module.current_numerics()


def fake_run(store, config, numerics, accuracy=0.5):
    """A stored run of ``config`` as if computed with ``numerics`` (no training)."""
    path = store.path(config, numerics)
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"key": path.name, **config.canonical(numerics)}))
    (path / "provenance.json").write_text(json.dumps(
        {"backend": numerics["backend"], "numerics": numerics, "timing": {"wall_seconds": 1.0}}))
    (path / "metrics.json").write_text(json.dumps({"accuracy": accuracy}))
    for name in ("updates.csv", "epochs.csv"):
        (path / name).write_text("epoch\n1\n")
    np.savez(path / "predictions.npz", labels=np.zeros(4, np.uint8), probs=np.ones((4, 10), np.float32))
    return path


def test_a_run_of_other_numerics_never_stands_in_for_this_process(tmp_store, monkeypatch):
    jax_path = fake_run(tmp_store, TINY, JAX, accuracy=0.9)
    assert tmp_store.find(TINY) is None and not tmp_store.has(TINY)
    # asked for, as a cross-check: found, and marked as what it is
    assert tmp_store.find(TINY, other_numerics=True) == jax_path
    run = tmp_store.load(TINY, other_numerics=True)
    assert run.numerics == JAX and run.key == TINY.key(JAX) and run.config == TINY
    # a page or campaign asking for the run trains it with this process's numerics
    monkeypatch.setattr(store_module, "train", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(pytest.fail.Exception, match="trained"):
        tmp_store.get_or_train(TINY, verbose=0, log=lambda m: None)
    default = fake_run(tmp_store, TINY, config_module.DEFAULT_NUMERICS, accuracy=0.7)
    assert tmp_store.find(TINY) == default and tmp_store.load(TINY).metrics["accuracy"] == 0.7


def test_rekey_files_runs_under_their_recorded_numerics(tmp_store):
    # a store from before numerics were in keys: a JAX run and a oneDNN-off run at
    # default keys, told apart only by their provenance
    old_jax = fake_run(tmp_store, TINY, config_module.DEFAULT_NUMERICS)
    (old_jax / "provenance.json").write_text(json.dumps(
        {"backend": "jax", "settings": {"KERAS_BACKEND": "jax"}, "timing": {}}))
    other = RunConfig(**{**TINY.__dict__, "seed": 1})
    old_off = fake_run(tmp_store, other, config_module.DEFAULT_NUMERICS)
    (old_off / "provenance.json").write_text(json.dumps(
        {"backend": "tensorflow", "settings": None, "timing": {}}))
    current = fake_run(tmp_store, RunConfig(**{**TINY.__dict__, "seed": 2}),
                       config_module.DEFAULT_NUMERICS)
    moved = store_module.rekey(tmp_store, log=lambda m: None)
    assert sorted(new.name for _, new in moved) == sorted([TINY.key(JAX), other.key(ONEDNN_OFF)])
    assert not old_jax.exists() and current.exists()
    assert tmp_store.load(TINY, True).numerics == JAX and tmp_store.load(other, True).numerics == ONEDNN_OFF
    assert tmp_store.load(TINY, True).provenance["refiled"]["previous_key"] == TINY.key()
    assert store_module.rekey(tmp_store, log=lambda m: None) == []  # idempotent


def test_staging_left_by_dead_writers_is_cleared_and_live_ones_kept(tmp_store):
    staging = tmp_store.root / ".tmp"
    dead = _dead_pid()
    (staging / f"{dead}-0123456789abcdef-x").mkdir(parents=True)
    (staging / f"{os.getpid()}-fedcba9876543210-y").mkdir()
    (staging / "0123456789abcdef-oldstyle").mkdir()
    removed = tmp_store.clear_staging()
    assert sorted(p.name for p in removed) == sorted(
        [f"{dead}-0123456789abcdef-x", "0123456789abcdef-oldstyle"])
    assert [p.name for p in staging.iterdir()] == [f"{os.getpid()}-fedcba9876543210-y"]


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@needs_mirror
def test_a_run_records_its_numerics_and_settings(tmp_store):
    run = tmp_store.get_or_train(TINY, verbose=0, log=lambda m: None)
    assert run.numerics == config_module.current_numerics() == run.provenance["numerics"]
    settings = run.provenance["settings"]
    assert settings["op_determinism"] is True and "intra_op_threads" in settings
    assert settings["TF_ENABLE_ONEDNN_OPTS"] == os.environ["TF_ENABLE_ONEDNN_OPTS"]
    assert len(run.provenance["source_sha256"]) == 16
    assert run.provenance["git_commit"].endswith("+dirty") == ("git_diff_sha256" in run.provenance)


@needs_mirror
def test_a_transfer_source_of_other_numerics_is_not_used_for_training(tmp_store, monkeypatch):
    from test_train import PHASE1, phase2
    fake_run(tmp_store, PHASE1, JAX)  # no weights: using it would fail
    run = tmp_store.get_or_train(phase2(0.0), verbose=0, log=lambda m: None)
    assert run.numerics == config_module.current_numerics()
    assert tmp_store.find(PHASE1, other_numerics=False) is not None


def test_git_diff_hash_names_the_edit(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.py").write_text("x = 1\n")
    (tmp_path / "notes.md").write_text("n\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    assert provenance.git_diff_hash(tmp_path, (":/lib",)) is None
    (tmp_path / "notes.md").write_text("edited\n")  # not training code
    assert provenance.git_diff_hash(tmp_path, (":/lib",)) is None
    (tmp_path / "lib" / "a.py").write_text("x = 2\n")
    first = provenance.git_diff_hash(tmp_path, (":/lib",))
    (tmp_path / "lib" / "a.py").write_text("x = 3\n")
    second = provenance.git_diff_hash(tmp_path, (":/lib",))
    assert first and second and first != second
    (tmp_path / "lib" / "a.py").write_text("x = 1\n")
    (tmp_path / "lib" / "new.py").write_text("y = 1\n")  # untracked code counts
    assert provenance.git_diff_hash(tmp_path, (":/lib",)) not in (None, first, second)


def test_the_committed_store_files_every_run_under_its_config_and_numerics():
    from conftest import ROOT
    store = store_module.ResultsStore(ROOT / "results")
    runs = store.runs()
    assert len(runs) > 100
    for path in runs:
        stored = json.loads((path / "config.json").read_text())
        prov = json.loads((path / "provenance.json").read_text())
        numerics = store_module.recorded_numerics(prov)
        config = RunConfig.from_canonical(stored)
        data = store_module.recorded_data(prov, config.task)
        assert stored.get("numerics", config_module.DEFAULT_NUMERICS) == numerics, path
        assert data == config.mirror_data(), path  # every committed run read the mirror
        assert stored["key"] == path.name == config.key(
            numerics, data, model_version=stored.get("model_version", 1)), path


def test_an_unknown_extra_setting_is_refused_not_hashed_into_a_key():
    with pytest.raises(ValueError, match=r"extra=\['learning_rte'\].*allowed: \['augment', 'class_weight'"):
        RunConfig(**{**TINY.__dict__, "extra": {"learning_rte": 0.1}})
    assert RunConfig(**{**TINY.__dict__, "extra": {"l2": 0.1}}).key() != TINY.key()


def test_a_key_names_the_loss_as_computed_so_backends_cannot_share_one():
    # the UC report's call, from_logits=True on a softmax output: TensorFlow computes
    # the cross-entropy (the default, no key entry), JAX the double softmax
    assert config_module.computed_loss("from_logits", "tensorflow") == "categorical_crossentropy"
    assert config_module.computed_loss("from_logits", "jax") == "double_softmax"

    def of(backend):
        loss = config_module.computed_loss("from_logits", backend)
        extra = {"loss": loss} if loss != "categorical_crossentropy" else {}
        return RunConfig(**{**TINY.__dict__, "extra": extra})

    tf, jax = of("tensorflow"), of("jax")
    assert tf == TINY and tf.key() != jax.key() and tf.key(JAX) != jax.key(JAX)
    with pytest.raises(ValueError, match=r"'from_logits' is not allowed; allowed: \['double_softmax'\]"):
        RunConfig(**{**TINY.__dict__, "extra": {"loss": "from_logits"}})
    with pytest.raises(ValueError, match=r"'logits'.*'from_logits'"):
        config_module.computed_loss("logits", "tensorflow")
    with pytest.raises(ValueError, match=r"'mxnet'.*'jax'"):
        config_module.computed_loss("from_logits", "mxnet")


def written_loss_run(store, config, numerics, name, accuracy=0.5):
    """A run stored the old way, at ``name``: its config naming the loss as written."""
    scratch = store_module.ResultsStore(store.root.parent / f"scratch-{name}")
    path = fake_run(scratch, config, numerics, accuracy)
    stored = json.loads((path / "config.json").read_text())
    stored["extra"] = {**stored["extra"], "loss": "from_logits"}
    (path / "config.json").write_text(json.dumps({**stored, "key": name}))
    old = store.root / config.model / name
    old.parent.mkdir(parents=True, exist_ok=True)
    os.rename(path, old)
    return old


def test_rekey_resolves_a_written_loss_merging_a_run_into_its_identical_twin(tmp_store):
    default = config_module.DEFAULT_NUMERICS
    twin = fake_run(tmp_store, TINY, default)                    # "corrected", TensorFlow
    same = written_loss_run(tmp_store, TINY, default, "a1")      # "as printed", the same run
    other_seed = RunConfig(**{**TINY.__dict__, "seed": 1})
    alone = written_loss_run(tmp_store, other_seed, default, "a2")  # "as printed", no twin
    on_jax = written_loss_run(tmp_store, RunConfig(**{**TINY.__dict__, "seed": 2}), JAX, "a3")
    differs = written_loss_run(tmp_store, TINY, default, "a4", accuracy=0.9)  # other numbers
    moved = dict(store_module.rekey(tmp_store, log=lambda m: None))
    assert moved[same] == twin and not same.exists()
    assert tmp_store.load(TINY).provenance["merged"][0]["previous_key"] == same.name
    assert moved[alone].name == other_seed.key()
    assert "categorical_crossentropy on tensorflow" in tmp_store.load(other_seed).provenance["refiled"]["why"]
    double = RunConfig(**{**TINY.__dict__, "seed": 2, "extra": {"loss": "double_softmax"}})
    assert moved[on_jax].name == double.key(JAX) and tmp_store.load(double, True).numerics == JAX
    assert differs.exists() and differs not in moved               # left, and named in the log


VGG = RunConfig(task="cifar10", model="vgg16", epochs=1, batch_size=32, seed=0,
                train_limit=96, test_limit=64)


def test_a_model_version_moves_only_its_models_keys():
    assert "model_version" not in TINY.canonical()          # resnet_shallow: version 1
    assert VGG.canonical()["model_version"] == config_module.MODEL_VERSIONS["vgg16"] == 2
    assert VGG.key(model_version=1) != VGG.key()
    assert VGG.superseded_versions() == [1] and TINY.superseded_versions() == []
    assert config_module.is_current(VGG.canonical()) and not config_module.is_current(
        VGG.canonical(model_version=1))


def test_a_run_of_an_earlier_model_version_stands_in_marked_and_is_never_trained_for(
        tmp_store, monkeypatch):
    old = tmp_store.root / VGG.model / VGG.key(model_version=1)
    fake_run(tmp_store, VGG, config_module.DEFAULT_NUMERICS).rename(old)
    (old / "config.json").write_text(json.dumps({"key": old.name, **VGG.canonical(model_version=1)}))
    assert tmp_store.find(VGG) is None and tmp_store.find_superseded(VGG) == old

    def no_training(config, **kw):
        raise AssertionError("a page that only reads trained a run")
    monkeypatch.setattr(store_module, "train", no_training)
    reads = tmp_store.root / "reads.jsonl"
    monkeypatch.setenv(execution.READ_LOG_VAR, str(reads))
    run = tmp_store.get_or_train(VGG, stand_in=True, log=lambda m: None)
    assert run.path == old and run.model_version == 1 and "one random initialiser" in run.pending
    # both places were read: the retrained run, stored later, makes the page stale
    read = {json.loads(line)["path"] for line in reads.read_text().splitlines()}
    assert {str(old.resolve()), str(tmp_store.path(VGG).resolve())} <= read
    with pytest.raises(AssertionError, match="only reads"):   # the train command retrains it
        tmp_store.get_or_train(VGG, log=lambda m: None)


def test_a_key_names_data_other_than_the_mirrors_and_lookup_falls_back_to_the_mirror(
        tmp_store, monkeypatch):
    monkeypatch.setenv("REPRO_DATA_DIR", "/anywhere")
    mirror_key = VGG.key()
    mirror_run = fake_run(tmp_store, VGG, config_module.DEFAULT_NUMERICS)
    monkeypatch.delenv("REPRO_DATA_DIR")
    assert VGG.canonical()["data"] == "keras.datasets.cifar10 (download)"
    assert VGG.key() != mirror_key                 # the original CIFAR-10 is another run
    assert tmp_store.find(VGG) == mirror_run       # the committed store still answers
    assert tmp_store.find(VGG, exact=True) is None
