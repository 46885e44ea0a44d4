"""The campaign: what it queues, in which order, what it estimates, and the same runs
trained on a Dask cluster as here."""

import json

import numpy as np
import pytest
from cnnrepro import campaign, protocol
from cnnrepro.__main__ import main
from cnnrepro.config import RunConfig
from conftest import needs_mirror


def item(model, minutes, why="claim", claims=(), seed=0, chapter="c"):
    config = RunConfig("mnist", model, epochs=2, batch_size=64, seed=seed)
    return campaign.Item(config, chapter, "paper", why, list(claims), minutes)


def test_pages_first_then_the_claim_with_the_cheapest_missing_evidence():
    queue = campaign.ordered([
        item("dnn", 50, claims=["expensive"]),
        item("convnet", 5, claims=["cheap", "expensive"]),
        item("simple_cnn", 1, why="protocol"),
        item("resnet_deep", 30, why="page"),
        item("resnet_shallow", 7, claims=["cheap"]),
        item("vgg16", None, claims=["unknown"]),
    ])
    # "cheap" misses 12 min, "expensive" 55, "unknown" cannot be estimated
    assert [i.config.model for i in queue] == ["resnet_deep", "convnet", "resnet_shallow", "dnn",
                                               "vgg16", "simple_cnn"]


def test_a_run_feeds_the_claims_whose_evidence_selects_it():
    comparison = {"kind": "comparison", "where": {"batch_size": 64},
                  "a": {"model": "resnet_deep"}, "b": {"model": "resnet_shallow"}}
    assert campaign.claim_reads(comparison, {"model": "resnet_deep", "batch_size": 64})
    assert not campaign.claim_reads(comparison, {"model": "resnet_deep", "batch_size": 128})
    assert not campaign.claim_reads(comparison, {"model": "dnn", "batch_size": 64})
    assert not campaign.claim_reads({"kind": "consistency"}, {"model": "dnn"})


def test_minutes_come_from_stored_runs_on_this_cpu_else_anywhere_else_the_benchmark():
    config = RunConfig("mnist", "resnet_shallow", epochs=2, batch_size=64, seed=0)
    images = 60000 * 2
    here = {("resnet_shallow", 64, True, "this"): [0.001], ("resnet_shallow", 64, True, "other"): [0.5]}
    assert campaign.estimate_minutes(config, here, {}, "this") == pytest.approx(images * 0.001 / 60)
    assert campaign.estimate_minutes(config, here, {}, "new") == pytest.approx(images * 0.2505 / 60)
    rates = {("resnet_shallow", 64): 1000.0}
    assert campaign.estimate_minutes(config, {}, rates, "new") == pytest.approx(images / 1000 / 60 * 1.25)
    assert campaign.estimate_minutes(config, {}, {}, "new") is None
    other_batch = {("resnet_shallow", 32, True, "this"): [0.002]}   # e.g. only cpu-profile runs
    assert campaign.estimate_minutes(config, other_batch, {}, "new") == pytest.approx(images * 0.002 / 60)


def test_a_run_that_stops_early_is_expected_to_train_the_share_its_siblings_trained():
    early = RunConfig("mnist", "dnn", epochs=20, batch_size=32, seed=0,
                      extra={"early_stopping": {"monitor": "val_loss", "patience": 3}})
    shares = {("dnn", "mnist", 20): [0.3, 0.5, 0.4], ("dnn", "mnist", 5): [1.0]}
    assert campaign.expected_epochs(early, shares) == pytest.approx(8.0)   # 20 x the median 0.4
    assert campaign.expected_epochs(early, {}) == 20.0                     # nothing seen: all
    fixed = RunConfig("mnist", "dnn", epochs=20, batch_size=32, seed=0)
    assert campaign.expected_epochs(fixed, shares) == 20.0                 # no early stop


def test_a_budget_is_read_in_minutes_or_with_a_unit_and_a_bad_one_is_named():
    assert campaign.parse_budget("150m") == 9000 and campaign.parse_budget("2h") == 7200
    assert campaign.parse_budget("90") == 5400
    for bad in ("soon", "-5m", "0h"):
        with pytest.raises(protocol.ProtocolError, match=f"--budget='{bad}' is not allowed"):
            campaign.parse_budget(bad)


@needs_mirror
def test_the_dry_run_lists_what_the_store_lacks_with_minutes_and_claims(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(protocol.STORE_VAR, str(tmp_path / "empty"))  # nothing stored
    # a book no build has judged: every claim a run feeds is listed, whatever the
    # checkout's last build decided
    monkeypatch.setenv("CNNREPRO_ROOT", str(tmp_path))
    assert main(["campaign", "--dry-run", "--chapters", "residual_depth", "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    proto = protocol.resolve("residual_depth", "paper")
    assert f"{len(proto.run_configs())} runs" in out  # the protocol's runs, each once
    assert "deeper-is-better" in out and "residual_depth" in out
    with pytest.raises(SystemExit):
        main(["campaign", "--dry-run", "--profile", "fast"])
    assert main(["campaign", "--dry-run", "--chapters", "nope"]) == 2
    assert "unknown chapter 'nope'" in capsys.readouterr().err


CLUSTER_RUNS = [RunConfig("mnist", "resnet_shallow", epochs=1, batch_size=64, seed=s,
                          train_limit=256, test_limit=128) for s in (0, 1)]


@needs_mirror
def test_runs_trained_on_a_local_dask_cluster_are_the_runs_trained_here(tmp_path, monkeypatch):
    from cnnrepro.store import ResultsStore
    from distributed import Client, LocalCluster
    monkeypatch.setenv(protocol.STORE_VAR, str(tmp_path / "cluster"))
    queue = [campaign.Item(c, "residual_depth", "smoke", "page") for c in CLUSTER_RUNS]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        stored = campaign.train_on_cluster(queue, client, log=lambda m: None)
    assert len(stored) == 2
    here = ResultsStore(tmp_path / "here")
    for config in CLUSTER_RUNS:
        local = here.get_or_train(config, verbose=0, log=lambda m: None).path
        remote = tmp_path / "cluster" / config.model / config.key()
        assert remote in stored
        for name in ("updates.csv", "epochs.csv", "metrics.json"):
            assert (remote / name).read_bytes() == (local / name).read_bytes(), name
        with np.load(remote / "predictions.npz") as a, np.load(local / "predictions.npz") as b:
            assert a["probs"].tobytes() == b["probs"].tobytes()
        requested = json.loads((remote / "provenance.json").read_text())["requested_by"]
        assert requested == {"chapter": "residual_depth", "profile": "smoke"}


@needs_mirror
def test_a_budget_pauses_the_run_at_a_checkpoint_and_the_next_campaign_resumes_it(tmp_path, monkeypatch):
    monkeypatch.setenv(protocol.STORE_VAR, str(tmp_path / "store"))
    config = RunConfig("mnist", "resnet_shallow", epochs=3, batch_size=64, seed=2, train_limit=384,
                       test_limit=128)
    queue = [campaign.Item(config, "residual_depth", "smoke", "page")]
    lines = []
    assert campaign.train_queue(queue, budget=0.5, log=lines.append) == []  # over after epoch 1
    assert any("epoch 1/3 checkpointed" in m for m in lines)
    assert "paused after epoch 1" in lines[-1] and "the next campaign resumes it" in lines[-1]
    stored = campaign.train_queue(queue, log=lines.append)
    timing = json.loads((stored[0] / "provenance.json").read_text())["timing"]
    assert [s["epochs"] for s in timing["segments"]] == [[1, 1], [2, 3]]


def test_seeds_extend_every_seed_list_of_a_chapter(monkeypatch, tmp_path):
    # NTU's ResNets and best model have their own seed lists; --seeds 2 asks for both
    monkeypatch.setenv(protocol.STORE_VAR, str(tmp_path / "empty"))
    monkeypatch.setenv("CNNREPRO_ROOT", str(tmp_path))
    queue = campaign.wanted(["cnn_sweeps"], "paper", tmp_path / "no-book", seeds=2)
    runs = {(i.config.model, i.config.epochs, i.config.seed) for i in queue}
    assert {("resnet", 1, 1), ("simple_cnn", 10, 1), ("simple_cnn", 1, 1)} <= runs
    assert max(seed for model, _, seed in runs if model == "resnet") == 1


def test_a_page_run_whose_paper_twin_is_stored_is_not_queued(tmp_path):
    """UC's page shows the stored paper run of a cell in place of its cpu run: the
    campaign must not train the cpu run nobody reads."""
    from cnnrepro import chapter
    proto = protocol.resolve("dnn_convnet_resnet", "cpu")
    twins = chapter.paper_twins(proto, proto.run_configs())
    if not twins:
        pytest.skip("no paper run of the UC chapter in this store")
    queued = {i.config.key() for i in campaign.wanted(["dnn_convnet_resnet"], "cpu",
                                                       tmp_path / "no-book")}
    assert not queued & set(twins)
