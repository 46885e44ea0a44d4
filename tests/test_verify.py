"""Verification: stored runs retrained and compared, and the fingerprint of the
training code (reference runs that fail the suite when what training computes
changes under the same TRAINING_CODE_VERSION)."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from cnnrepro import config as config_module
from cnnrepro import protocol, verify
from cnnrepro.__main__ import main
from cnnrepro.store import ResultsStore, Run
from cnnrepro.train import RunConfig
from conftest import needs_mirror
from test_store import TINY, fake_run

DEFAULT = config_module.DEFAULT_NUMERICS


def run_of(probs, accuracy, numerics=DEFAULT, cpu="AMD EPYC", updates=None, n=None):
    probs = np.asarray(probs, dtype=np.float32)
    return Run(TINY, TINY.key(numerics), None,
               updates if updates is not None else pd.DataFrame({"loss": [1.0, 0.5]}),
               pd.DataFrame(), {"accuracy": accuracy}, np.zeros(n or len(probs), np.uint8),
               probs, {"cpu": cpu, "devices": ["cpu:0"], "timing": {"wall_seconds": 1.0}},
               numerics)


P = [[0.9, 0.1], [0.2, 0.8]]


def test_verdicts_from_identical_to_differs():
    stored = run_of(P, 0.5)
    assert verify.verdict(stored, run_of(P, 0.5)) == "identical"
    changed_history = run_of(P, 0.5, updates=pd.DataFrame({"loss": [1.0, 0.4]}))
    assert verify.verdict(stored, changed_history) == "round-off"
    assert verify.verdict(stored, run_of(np.add(P, 5e-4), 0.5)) == "round-off"
    # 10,000 test images at 0.97: twice the standard error is 0.0034
    big = run_of(np.zeros((10000, 2)), 0.97)
    assert verify.verdict(big, run_of(np.full((10000, 2), 0.5), 0.973)) == "within test noise"
    assert verify.verdict(big, run_of(np.full((10000, 2), 0.5), 0.96)) == "differs"


def test_what_is_expected_depends_on_numerics_and_machine():
    stored = run_of(P, 0.5)
    assert verify.expected(stored, run_of(P, 0.5)) == "identical"
    assert verify.expected(stored, run_of(P, 0.5, cpu="Intel Xeon")) == "round-off"
    assert verify.expected(stored, run_of(P, 0.5, numerics={"backend": "jax"})) == \
        verify.ANOTHER_RUN
    far = verify.comparison(run_of(np.zeros((10000, 2)), 0.5),
                            run_of(np.full((10000, 2), 0.3), 0.9, numerics={"backend": "jax"}))
    assert far["verdict"] == "differs" and far["ok"]  # reported, not judged
    row = verify.comparison(stored, run_of(np.add(P, 5e-4), 0.5))
    assert row["verdict"] == "round-off" and not row["ok"]  # same machine: must be identical
    row = verify.comparison(stored, run_of(np.add(P, 5e-4), 0.5, cpu="Intel Xeon"))
    assert row["ok"]


def test_selection_is_cheapest_first_and_limited_per_chapter(tmp_store):
    paths = {}
    for seed, seconds in ((0, 30.0), (1, 10.0), (2, 20.0)):
        config = RunConfig(**{**TINY.__dict__, "seed": seed})
        paths[seed] = fake_run(tmp_store, config, DEFAULT)
        prov = json.loads((paths[seed] / "provenance.json").read_text())
        prov.update(timing={"wall_seconds": seconds}, requested_by={"chapter": "residual_depth"})
        (paths[seed] / "provenance.json").write_text(json.dumps(prov))
    assert [c.seed for _, c in verify.select(tmp_store)] == [1, 2, 0]
    assert [c.seed for _, c in verify.select(tmp_store, runs=2)] == [1, 2]


@needs_mirror
def test_verify_command_retrains_and_finds_a_run_identical(tmp_path, capsys):
    store = ResultsStore(tmp_path / "results")
    store.get_or_train(TINY, verbose=0, log=lambda m: None)
    assert main(["verify", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "identical" in out and "1 of 1 runs as expected" in out
    assert not (tmp_path / "results" / "bench").exists()  # another store is never recorded


@needs_mirror
def test_verify_command_fails_when_a_stored_run_was_edited(tmp_path, capsys):
    store = ResultsStore(tmp_path / "results")
    run = store.get_or_train(TINY, verbose=0, log=lambda m: None)
    metrics = json.loads((run.path / "metrics.json").read_text())
    (run.path / "metrics.json").write_text(json.dumps({**metrics, "accuracy": 0.01}))
    assert main(["verify", "--store", str(store.root)]) == 1
    assert "differs" in capsys.readouterr().out


def test_verify_names_a_bad_option():
    with pytest.raises(SystemExit):
        main(["verify", "--runs", "many"])
    assert main(["verify", "--runs", "0"]) == 2
    assert main(["verify", "no_such_chapter"]) == 2


def test_record_replaces_the_same_run_on_the_same_machine(tmp_path):
    out = tmp_path / "verify.csv"
    row = {"key": "k1", "retrained numerics": "tensorflow, oneDNN on", "retrained on": "AMD EPYC",
           "verdict": "identical"}
    verify.record(pd.DataFrame([row]), out)
    verify.record(pd.DataFrame([{**row, "verdict": "round-off"},
                                {**row, "retrained on": "Intel Xeon"}]), out)
    saved = pd.read_csv(out)
    assert len(saved) == 2 and set(saved["verdict"]) == {"round-off", "identical"}


# -- the fingerprint ---------------------------------------------------------------

needs_default_numerics = pytest.mark.skipif(
    config_module.current_numerics() != DEFAULT,
    reason="the reference runs are stored for TensorFlow with oneDNN")
needs_reference_runs = pytest.mark.skipif(
    not verify.reference_store().runs(),
    reason=f"no reference runs for this processor's instruction sets ({verify.processor_set()}); "
           f"`python -m cnnrepro fingerprint` records them")


def test_every_chapter_task_and_model_has_a_reference_run():
    configs = verify.reference_configs()
    assert {ch for ch, _ in configs} == {"residual_depth", "digit_pairs", "vgg_resnet",
                                         "cnn_sweeps", "dnn_convnet_resnet"}
    assert len({(c.task, c.model) for _, c in configs}) == 13


@needs_mirror
@needs_default_numerics
@needs_reference_runs
def test_the_training_code_computes_its_fingerprint():
    """The suite's drift check, `python -m cnnrepro fingerprint --check` as a user
    runs it: every reference run retrained, identical on this processor, equal up
    to round-off on another."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "cnnrepro", "fingerprint", "--check",
                          "--allow-missing"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1500:]
    # every reference recorded for this processor family is checked (a reference whose
    # config changed since its family's were recorded waits for such a processor)
    recorded = sum(verify.reference_store().find(c, other_numerics=False) is not None
                   for _, c in verify.reference_configs())
    assert recorded >= 1 and f"{recorded} reference runs" in out.stdout


def chapter_1_reference():
    return next(item for item in verify.reference_configs()
                if item[1].model == "resnet_shallow")


@needs_mirror
@needs_default_numerics
@needs_reference_runs
def test_the_fingerprint_fails_when_training_changes_and_renewal_needs_a_new_version(
        tmp_path, monkeypatch):
    store = ResultsStore(tmp_path / "fingerprint")
    chapter, config = chapter_1_reference()
    found = verify.reference_store().find(config)
    shutil.copytree(found, store.root / config.model / found.name)
    assert verify.check_fingerprint(store, [(chapter, config)], log=lambda m: None)["ok"].all()

    import keras
    from cnnrepro import train
    # a change to training: Adam with another first-moment decay
    monkeypatch.setitem(train.OPTIMIZERS, "adam", lambda learning_rate, **kw:
                        keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.5, **kw))
    with pytest.raises(verify.Drift, match="bump TRAINING_CODE_VERSION"):
        verify.check_fingerprint(store, [(chapter, config)], log=lambda m: None)
    with pytest.raises(verify.Drift, match="Bump TRAINING_CODE_VERSION"):
        verify.renew_fingerprint(store, [(chapter, config)], log=lambda m: None)

    # with the version bumped, renewal stores the new reference and drops the old
    monkeypatch.setattr(config_module, "TRAINING_CODE_VERSION", 2)
    with pytest.raises(verify.Drift, match="not in"):
        verify.check_fingerprint(store, [(chapter, config)], log=lambda m: None)
    removed = verify.renew_fingerprint(store, [(chapter, config)], log=lambda m: None)
    assert [p.name for p in removed] == [found.name]
    assert verify.check_fingerprint(store, [(chapter, config)], log=lambda m: None)["ok"].all()


def test_processors_named_alike_are_told_apart_by_their_identity():
    a = run_of(P, 0.5)
    b = run_of(P, 0.5)
    a.provenance["cpu_identity"] = "AMD EPYC (family 25 model 1; avx2 fma)"
    b.provenance["cpu_identity"] = "AMD EPYC (family 25 model 17; avx2 fma avx512f)"
    assert not verify.same_machine(a, b) and verify.expected(a, b) == "round-off"
    del b.provenance["cpu_identity"]  # a run from before identities were recorded
    assert verify.same_machine(a, b)


def test_the_appendix_summary_counts_runs_and_verdicts_per_chapter():
    stored = run_of(P, 0.5)
    rows = pd.DataFrame([
        {"chapter": "residual_depth", **verify.comparison(stored, run_of(P, 0.5))},
        {"chapter": "residual_depth", **verify.comparison(stored, run_of(np.add(P, 5e-4), 0.5))},
        {"chapter": "cnn_sweeps", **verify.comparison(
            stored, run_of(np.add(P, 0.2), 0.5, numerics={"backend": "jax"}))}])
    table = verify.by_chapter(rows)
    assert table.loc["residual_depth", "runs"] == 2 and table.loc["residual_depth", "as expected"] == 1
    assert table.loc["residual_depth", "verdicts"] == "1 identical, 1 round-off"
    assert table.loc["cnn_sweeps", "numerics (stored → retrained)"] == "tensorflow, oneDNN on → jax"
    assert table.loc["residual_depth", "numerics (stored → retrained)"] == \
        "tensorflow, oneDNN on (both)"
    assert verify.counts(rows) == {"runs": 3, "ok": 2, "identical": 1, "round_off": 1,
                                   "within_test_noise": 1, "differs": 0}


def test_the_reference_runs_are_read_beside_the_code_wherever_the_book_is(monkeypatch, tmp_path):
    from conftest import ROOT
    monkeypatch.setenv("CNNREPRO_ROOT", str(tmp_path))  # as the smoke build sets it
    assert verify.reference_store("avx2 fma").root == ROOT / "tests" / "fingerprint" / "avx2-fma"
    assert 0 < len(verify.reference_store("avx2 fma").runs()) <= len(verify.reference_configs())


def test_each_processor_family_has_its_own_reference_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(verify.provenance, "isa", lambda: "avx2 fma avx512f")
    assert verify.processor_set() == "avx2-fma-avx512f"
    assert "avx2-fma" in verify.recorded_sets()
    with pytest.raises(verify.Drift, match="no reference runs for processors with avx2 fma avx512f"):
        verify.check_fingerprint(ResultsStore(tmp_path / "none"))


@needs_mirror
def test_each_verified_run_is_passed_on_as_soon_as_it_is_known(tmp_path):
    store = ResultsStore(tmp_path / "results")
    store.get_or_train(TINY, verbose=0, log=lambda m: None)
    seen = []
    rows = verify.verify(store, [("residual_depth", TINY)], log=lambda m: None, on_row=seen.append)
    assert len(seen) == 1 and seen[0].iloc[0]["key"] == rows.iloc[0]["key"]


@needs_mirror
def test_verify_recomputes_stored_analyses_and_finds_an_edited_one(tmp_path, capsys):
    from cnnrepro import analyses
    store = ResultsStore(tmp_path / "results")
    run = store.get_or_train(TINY.keeping_all_weights(), verbose=0, log=lambda m: None)
    stored = analyses.json_path(run.path, "batchnorm")
    assert stored.is_file()  # computed when the run was trained
    assert main(["verify", "--store", str(store.root), "--analyses"]) == 0
    assert "1 of 1 analyses as stored" in capsys.readouterr().out
    record = json.loads(stored.read_text())
    record["result"]["settings"]["re-estimated"]["accuracy"] += 0.25
    stored.write_text(json.dumps(record))
    assert main(["verify", "--store", str(store.root), "--analyses"]) == 1
    assert "differs" in capsys.readouterr().out


def test_runs_of_an_earlier_model_version_are_listed_as_waiting_not_verified(tmp_path, monkeypatch):
    from cnnrepro.store import ResultsStore
    monkeypatch.setenv(protocol.STORE_VAR, str(tmp_path))
    store = ResultsStore(tmp_path)
    config = protocol.resolve("vgg_resnet", "cpu").run_configs()[0]
    old = tmp_path / config.model / config.key(model_version=1)
    old.mkdir(parents=True)
    (old / "config.json").write_text("{}")
    assert verify.pending(store, ["vgg_resnet"]) == [("vgg_resnet", config)]
    assert verify.chapter_configs(store, ["vgg_resnet"]) == []
