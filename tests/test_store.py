import numpy as np
import pytest

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
