import numpy as np
import pandas as pd
import pytest

from cnnrepro import protocol, report, sweeps
from cnnrepro.chapters import cnn_sweeps
from cnnrepro.protocol import ProtocolError


def table(rows):
    """A sweeps.summary-shaped table from (sweep, value, mean accuracy[, outcome])."""
    frame = pd.DataFrame([{"sweep": r[0], "value": r[1], "ours": r[2],
                           "outcome": r[3] if len(r) > 3 else ""} for r in rows])
    return frame.set_index(["sweep", "value"])


T = table([("lr", "0.01", 0.90), ("lr", "0.1", 0.97), ("lr", "1", np.nan, "diverged"),
           ("loss", "a", 0.970), ("loss", "b", 0.972)])


@pytest.mark.parametrize("claim, verdict", [
    ({"kind": "best", "value": "0.1"}, "holds beyond the noise"),
    ({"kind": "worst", "value": "1"}, "holds beyond the noise"),       # diverged ranks last
    ({"kind": "order", "values": ["0.01", "0.1"]}, "does not hold"),
    ({"kind": "collapses", "value": "1"}, "holds"),
    ({"kind": "collapses", "value": "0.1"}, "does not hold"),
])
def test_claims_are_checked_against_our_means(claim, verdict):
    assert sweeps.check_claim({"sweep": "lr", **claim}, T, noise_sd=0.005)["verdict"] == verdict


def test_small_differences_hold_only_within_the_noise():
    order = {"sweep": "loss", "kind": "order", "values": ["b", "a"]}
    similar = {"sweep": "loss", "kind": "similar", "values": ["a", "b"]}
    assert sweeps.check_claim(order, T, noise_sd=0.002)["verdict"] == "holds, within the noise"
    assert sweeps.check_claim(order, T, noise_sd=0.0001)["verdict"] == "holds beyond the noise"
    assert sweeps.check_claim(similar, T, noise_sd=0.002)["holds"]
    assert not sweeps.check_claim(similar, T, noise_sd=0.0001)["holds"]
    with pytest.raises(ValueError, match="'bigger'.*order"):
        sweeps.check_claim({"sweep": "loss", "kind": "bigger"}, T, 0.01)


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
    assert len(best) == 1 and best[0].extra["model_options"]["conv_filters"] == [100, 200]
    assert best[0].extra["optimizer_options"]["momentum"] == 0.9
    balanced = [c for c in p.run_configs() if c.extra.get("class_weight")]
    assert sorted(c.seed for c in balanced) == [0, 1, 2]


def test_every_reported_number_names_a_variant_of_the_paper_protocol():
    p = protocol.resolve("cnn_sweeps", "paper")
    variants = {(s.name, v) for s in cnn_sweeps.sweeps(p) for v in s.variants}
    rep = report.reported("cnn_sweeps")
    assert {(s, v) for s, values in rep["accuracy"].items() for v in values} <= variants
    for claim in rep["claims"]:
        named = claim.get("values", [claim.get("value")])
        assert {(claim["sweep"], v) for v in named} <= variants, claim


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
    crosses = [l for l in acc_ax.lines if l.get_marker() == "x"]
    assert len(crosses) == 1 and crosses[0].get_xdata()[0] == 3
    assert all(np.isfinite(l.get_ydata()).all() for l in fig.axes[1].lines)


def test_a_claim_about_a_value_that_was_not_run_is_listed_as_not_tested():
    claims = [{"sweep": "lr", "kind": "best", "value": "0.5", "text": "0.5 is best"},
              {"sweep": "lr", "kind": "best", "value": "0.1", "text": "0.1 is best"},
              {"sweep": "width", "kind": "best", "value": "8", "text": "not run at all"}]
    out = sweeps.claims_table(claims, T, noise_sd=0.005)
    assert out["verdict"].tolist() == ["not tested: a value it names was not run",
                                       "holds beyond the noise"]
