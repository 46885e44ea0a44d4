import numpy as np
import pandas as pd
import pytest

from cnnrepro import claims, protocol, report, sweeps
from cnnrepro.chapters import cnn_sweeps
from cnnrepro.protocol import ProtocolError


def test_variants_that_share_settings_share_one_run():
    p = protocol.resolve("cnn_sweeps", "paper")
    pts = cnn_sweeps.chapter_points(p)
    base = cnn_sweeps.run_config(p, {}, 0).key()
    shared = {(pt.sweep.name, pt.value) for pt in pts if pt.config.key() == base}
    assert shared == {("base", "base"), ("learning_rate", "0.1"), ("batch_size", "128"),
                      ("momentum", "0"), ("loss", "cross-entropy"), ("conv_depth", "2"),
                      ("fc_depth", "1"), ("width", "50")}
    configs = p.run_configs()
    assert len(configs) == len({c.key() for c in configs}) < len(pts)
    assert {c.extra["model_options"]["depth"] for c in configs if c.model == "resnet"} == {
        18, 34, 50, 101}


def test_paper_protocol_is_the_reports():
    p = protocol.resolve("cnn_sweeps", "paper")
    base = cnn_sweeps.run_config(p, {}, 0)
    assert (base.model, base.optimizer, base.learning_rate, base.batch_size, base.epochs) == (
        "simple_cnn", "sgd", 0.1, 128, 1)
    assert base.extra["model_options"] == {"conv_filters": [50, 100], "fc_units": [],
                                           "dropout": 0.0}
    assert all(c.train_limit is None and c.test_limit is None for c in p.run_configs())
    best = [c for c in p.run_configs() if c.epochs == 10]
    assert sorted(c.seed for c in best) == [0, 1, 2]
    assert best[0].extra["model_options"]["conv_filters"] == [100, 200]
    assert best[0].extra["optimizer_options"]["momentum"] == 0.9
    balanced = [c for c in p.run_configs() if c.extra.get("class_weight")]
    assert sorted(c.seed for c in balanced) == list(range(10))  # the base model's noise


def test_every_reported_number_names_a_variant_of_the_paper_protocol():
    p = protocol.resolve("cnn_sweeps", "paper")
    variants = {(s.name, v) for s in cnn_sweeps.sweeps(p) for v in s.variants}
    rep = report.reported("cnn_sweeps")
    assert {(s, v) for s, values in rep["accuracy"].items() for v in values} <= variants
    for claim in claims.load("cnn_sweeps"):
        if claim["kind"] == "consistency":
            continue
        where = claim.get("where", {})
        named = {(where.get("sweep"), v) for v in [*claim.get("order", []), claim.get("value"),
                                                   where.get("value")] if v}
        for side in (claim.get("a", {}), claim.get("b", {})):  # a side may name its own sweep
            if side.get("value"):
                named.add((side.get("sweep", where.get("sweep")), side["value"]))
        assert named <= variants, claim["id"]


@pytest.mark.parametrize("kwargs, fragments", [
    ({"learning_rates": [0.1, -1]}, ["learning_rates[1]=-1", "number > 0"]),
    ({"momenta": [0.9, 1.0]}, ["momenta[1]=1.0", "[0, 1)"]),
    ({"resnet_depths": [18, 20]}, ["20", "[18, 34, 50, 101, 152]"]),
    ({"sweeps": ["dropout"]}, ["dropout", "learning_rate"]),
    ({"batch_sizes": [0]}, ["batch_sizes=[0]", "integers >= 1"]),
    ({"weight_decays": "high"}, ["weight_decays='high'", "list of numbers"]),
])
def test_chapter_4_refuses_bad_values_naming_the_allowed_ones(kwargs, fragments):
    with pytest.raises(ProtocolError) as err:
        protocol.resolve("cnn_sweeps", **kwargs)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_summary_averages_seeds_and_sets_the_report_beside():
    frame = pd.DataFrame([
        {"sweep": "loss", "factor": "loss", "figure": 7, "value": "plain", "seed": s,
         "accuracy": a, "outcome": ""} for s, a in enumerate([0.96, 0.97, 0.98])] + [
        {"sweep": "lr", "factor": "learning rate", "figure": 2, "value": "1", "seed": 0,
         "accuracy": np.nan, "outcome": "diverged: NaN loss at update 7"}])
    out = sweeps.summary(frame, {"loss": {"plain": 0.9722}})
    row = out.loc[("loss", "plain")]
    assert row["ours"] == pytest.approx(0.97) and row["sd"] == pytest.approx(0.01)
    assert row["seeds"] == 3 and row["ours - reported"] == pytest.approx(0.97 - 0.9722)
    assert np.isnan(out.loc[("lr", "1"), "reported"])
    assert out.loc[("lr", "1"), "outcome"] == "diverged: NaN loss at update 7"
    assert list(out.index) == [("loss", "plain"), ("lr", "1")]   # sweep order kept


def test_sweep_figure_ends_a_diverged_line_where_its_loss_stopped_being_finite():
    from cnnrepro import plots
    ok = pd.DataFrame({"value": "0.1", "iteration": range(1, 11),
                       "accuracy": np.linspace(0.1, 0.9, 10), "loss": np.linspace(2, 0.3, 10)})
    bad = pd.DataFrame({"value": "1", "iteration": range(1, 5), "accuracy": [0.1, 0.2, 0.1, 0.0],
                        "loss": [2.3, 5.0, 40.0, np.nan]})
    fig = plots.sweep_curves(pd.concat([ok, bad]), "t", "learning rate")
    acc_ax = fig.axes[0]
    crosses = [line for line in acc_ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 1 and crosses[0].get_xdata()[0] == 3
    assert all(np.isfinite(line.get_ydata()).all() for line in fig.axes[1].lines)




def test_nonfinite_runs_count_the_crosses_of_a_sweep_figure():
    from cnnrepro.chapters import cnn_sweeps as ntu
    updates = pd.DataFrame({"value": ["0.1", "0.1", "1", "1", "10"],
                            "loss": [2.0, 1.0, 3.0, np.nan, np.inf]})
    assert ntu.nonfinite_runs(updates) == 2
    assert ntu.nonfinite_runs(updates[updates["value"] == "0.1"]) == 0


def test_model_sizes_show_the_base_network_once_and_only_networks_that_differ():
    from cnnrepro.chapters import cnn_sweeps as ntu
    sizes = ntu.model_sizes(ntu.chapter_points(protocol.resolve("cnn_sweeps", "smoke")))
    base = sizes.loc[("base model", "base")]
    assert not any(s == "learning rate" for s, _ in sizes.index)   # trains the base network
    assert ("convolutional layers", "1") in sizes.index             # a factor in words
    others = sizes.drop(index=("base model", "base"))
    assert len(others) and all((row != base).any() for _, row in others.iterrows())


def test_a_sweep_whose_runs_differ_tenfold_in_length_gets_a_log_iteration_axis():
    from cnnrepro import plots
    long = pd.DataFrame({"value": "32", "iteration": range(1, 1876), "accuracy": 0.9, "loss": 0.3})
    short = pd.DataFrame({"value": "2048", "iteration": range(1, 31), "accuracy": 0.5, "loss": 1.0})
    assert plots.sweep_curves(pd.concat([long, short]), "t", "batch size").axes[0].get_xscale() == "log"
    assert plots.sweep_curves(long, "t", "batch size").axes[0].get_xscale() == "linear"


def test_costly_settings_keep_their_own_seeds():
    # 3 seeds of every 1-epoch setting need not buy 3 of the hour-long ResNets
    p = protocol.resolve("cnn_sweeps", "paper", seeds=[0, 1, 2], resnet_seeds=[0], best_seeds=[0, 1])
    pts = cnn_sweeps.chapter_points(p)

    def seeds_of(sweep, value):
        return sorted(pt.seed for pt in pts if (pt.sweep.name, pt.value) == (sweep, value))
    assert seeds_of("width", "10") == [0, 1, 2]
    assert seeds_of("resnet", "ResNet-50") == [0]
    assert seeds_of("improvements", cnn_sweeps.BEST) == [0, 1]
    assert seeds_of("improvements", "+ dropout") == [0, 1, 2]
    assert sorted(c.seed for c in p.run_configs() if c.epochs == 10) == [0, 1]


def test_the_noise_section_names_the_settings_that_ran_once():
    index = pd.MultiIndex.from_tuples([("base", "base"), ("resnet", "ResNet-18"),
                                       ("resnet", "ResNet-50"), ("improvements", "+ dropout"),
                                       ("improvements", cnn_sweeps.BEST)], names=["sweep", "value"])
    summary = pd.DataFrame({"factor": ["base model", "ResNet depth", "ResNet depth",
                                       "improvement", "improvement"],
                            "seeds": [10, 1, 1, 5, 1]}, index=index)
    assert cnn_sweeps.single_runs(summary) == \
        f"every ResNet depth and {cnn_sweeps.BEST} in the improvement sweep"
    assert cnn_sweeps.single_runs(summary.assign(seeds=1)) == "every setting at this profile"
    assert cnn_sweeps.single_runs(summary.assign(seeds=3)) == "none"


def test_early_spread_is_the_sd_of_one_settings_first_100_updates_over_its_seeds():
    from types import SimpleNamespace

    def run(acc):  # 150 updates at one accuracy; only the first 100 count
        return SimpleNamespace(updates=pd.DataFrame({"update": range(1, 151),
                                                     "accuracy": [acc] * 100 + [1.0] * 50}))
    evidence = pd.DataFrame({"sweep": ["momentum"] * 3 + ["base"],
                             "value": ["0.9"] * 3 + ["base"],
                             "run": [run(0.5), run(0.6), run(0.7), run(0.8)]})
    sd, n = cnn_sweeps.early_spread(evidence, "momentum", "0.9")
    assert sd == pytest.approx(0.1) and n == 3
    sd, n = cnn_sweeps.early_spread(evidence, "base", "base")
    assert np.isnan(sd) and n == 1
    assert cnn_sweeps.early_spread_text(evidence, "momentum", "0.9") == "10.0 points over 3 seeds"
    assert cnn_sweeps.early_spread_text(evidence, "base", "base") == "one seed"
    assert cnn_sweeps.early_spread_text(evidence, "resnet", "ResNet-50") == "not run"


def test_the_best_model_is_averaged_over_its_seeds_and_logged_by_its_first():
    from types import SimpleNamespace
    log = {c: [0.5, 0.9] for c in cnn_sweeps.EPOCH_LOG}
    runs = [SimpleNamespace(key=k, epochs=pd.DataFrame({"epoch": [1, 2], **log}).assign(
        test_accuracy=[0.5, acc])) for k, acc in (("a", 0.98), ("b", 0.99))]
    results = pd.DataFrame({"sweep": "improvements", "value": cnn_sweeps.BEST, "seed": [1, 0],
                            "key": ["b", "a"], "epochs": 10, "accuracy": [0.99, 0.97],
                            "best_epoch_accuracy": [0.99, 0.98], "top5_accuracy": 1.0})
    best = cnn_sweeps.best_model(results, runs)
    assert best.stats["accuracy"] == pytest.approx(0.98) and best.stats["seeds"] == 2
    assert best.stats["accuracy_sd"] == pytest.approx(np.std([0.99, 0.97], ddof=1))
    assert best.log["test accuracy"].iloc[-1] == 0.98  # seed 0's run, key "a"
    text = cnn_sweeps.best_model_text(best)
    assert (text["best_final"], text["best_seeds"]) == ("98.00 ± 1.41%", "mean ± sd over 2 seeds")
    one = cnn_sweeps.best_model(results.iloc[:1], runs)
    assert cnn_sweeps.best_model_text(one)["best_final"] == "99.00%"
    assert cnn_sweeps.best_model_text(None)["best_top5"] == "(not run)"
