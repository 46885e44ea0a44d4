"""Stored analyses: computed once, read afterwards, stale when their code version or
parameters change (and only then), never half-written, verified by recomputing."""
import json
import sys
import types

import numpy as np
import pytest

from cnnrepro import analyses
from cnnrepro.config import RunConfig


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """Two registered analyses computed by a module of this test, counting calls, and
    a run folder to store them beside."""
    calls = []

    def probe(run, scale=1.0):
        calls.append(("probe", scale))
        return {"share": 0.25 * scale, "per_layer": {"bn_1": 0.5},
                "maps": np.arange(6.0).reshape(2, 3) * scale}

    def count(run):
        calls.append(("count", None))
        return {"n": 3}

    module = types.ModuleType("fake_analyses")
    module.probe, module.count = probe, count
    monkeypatch.setitem(sys.modules, "fake_analyses", module)
    monkeypatch.setattr(analyses, "ANALYSES", {
        "probe": analyses.Analysis("probe", 1, "fake_analyses:probe", "a probe"),
        "count": analyses.Analysis("count", 1, "fake_analyses:count", "a count",
                                   after_training=lambda c: c.extra.get("keep_weights") == "all")})
    config = RunConfig(task="mnist", model="resnet_shallow", epochs=1, batch_size=32, seed=0,
                       extra={"keep_weights": "all"})
    run = types.SimpleNamespace(path=tmp_path / "run", config=config)
    run.path.mkdir()
    return run, calls


def test_an_analysis_is_computed_once_then_read(fake):
    run, calls = fake
    first = analyses.result(run, "probe", log=lambda m: None, scale=2.0)
    again = analyses.result(run, "probe", log=lambda m: None, scale=2.0)
    assert calls == [("probe", 2.0)]
    assert again["share"] == first["share"] == 0.5
    np.testing.assert_array_equal(again["maps"], np.arange(6.0).reshape(2, 3) * 2)
    stored = json.loads(analyses.json_path(run.path, "probe").read_text())
    assert stored["version"] == 1 and stored["params"] == {"scale": 2.0}
    assert "cpu" in stored["provenance"] and "seconds" in stored["provenance"]


def test_other_parameters_compute_it_again(fake):
    run, calls = fake
    analyses.result(run, "probe", log=lambda m: None, scale=1.0)
    analyses.result(run, "probe", log=lambda m: None, scale=3.0)
    assert [c[1] for c in calls] == [1.0, 3.0]


def test_a_new_code_version_makes_that_analysis_stale_and_no_other(fake, monkeypatch):
    run, calls = fake
    analyses.result(run, "probe", log=lambda m: None)
    analyses.result(run, "count", log=lambda m: None)
    monkeypatch.setitem(analyses.ANALYSES, "probe", analyses.Analysis("probe", 2, "fake_analyses:probe", ""))
    assert analyses.stored(run.path) == {"count": None, "probe": "analysis code version 1, now 2"}
    lines = []
    analyses.result(run, "probe", log=lines.append)
    analyses.result(run, "count", log=lines.append)
    assert calls.count(("count", None)) == 1 and len(calls) == 3
    assert "analysis code version 1, now 2" in lines[0]
    assert analyses.stored(run.path) == {"count": None, "probe": None}


def test_a_deleted_analysis_is_recomputed_alone(fake):
    run, calls = fake
    analyses.result(run, "probe", log=lambda m: None)
    analyses.result(run, "count", log=lambda m: None)
    analyses.json_path(run.path, "probe").unlink()
    analyses.result(run, "probe", log=lambda m: None)
    analyses.result(run, "count", log=lambda m: None)
    assert [c[0] for c in calls] == ["probe", "count", "probe"]


def test_arrays_that_do_not_match_their_record_are_not_read(fake):
    run, calls = fake
    analyses.result(run, "probe", log=lambda m: None)
    np.savez_compressed(analyses.arrays_path(run.path, "probe"), maps=np.zeros(2))
    assert analyses.read_stored(run.path, "probe") is None
    analyses.result(run, "probe", log=lambda m: None)
    assert len(calls) == 2


def test_a_failed_write_keeps_the_stored_analysis(fake):
    run, _ = fake
    analyses.result(run, "probe", log=lambda m: None)
    before = analyses.json_path(run.path, "probe").read_bytes()
    with pytest.raises(TypeError, match="JSON cannot store"):
        analyses.write(run.path, "probe", {}, {"share": object(), "maps": np.ones(3)}, 0.0)
    assert analyses.json_path(run.path, "probe").read_bytes() == before
    assert analyses.read_stored(run.path, "probe") is not None
    assert sorted(p.name for p in (run.path / analyses.FOLDER).iterdir()) == ["probe.json", "probe.npz"]


def test_runs_get_their_after_training_analyses(fake):
    run, calls = fake
    assert analyses.after_training(run, log=lambda m: None) == ["count"]
    assert calls == [("count", None)]


def test_an_unknown_analysis_names_the_allowed_ones(fake):
    run, _ = fake
    allowed = r"unknown analysis 'probes'; allowed: \['count', 'probe'\]"
    with pytest.raises(analyses.AnalysisError, match=allowed):
        analyses.result(run, "probes")


def test_differences_compare_values_and_arrays():
    a = {"x": 0.5, "t": {"acc": 0.9, "n": 3}, "m": np.array([1.0, np.nan])}
    assert analyses.differences(a, a) == 0.0
    assert analyses.differences(a, {**a, "t": {"acc": 0.9004, "n": 3}}) == pytest.approx(4e-4)
    assert analyses.differences(a, {**a, "m": np.array([1.0, 2.0, 3.0])}) == np.inf
    assert analyses.differences(a, {"x": 0.5}) == np.inf


def test_every_registered_analysis_names_an_existing_function():
    import importlib
    for analysis in analyses.ANALYSES.values():
        module, function = analysis.function.split(":")
        assert callable(getattr(importlib.import_module(module), function)), analysis.name
