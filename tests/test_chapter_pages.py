"""The functions each chapter page calls (lib/cnnrepro/chapters/*.py), on small
hand-made inputs whose answers are known."""
from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pytest

from cnnrepro import ablations, protocol, report
from cnnrepro.ablations import PROTOCOL
from cnnrepro.chapters import cnn_sweeps as ntu
from cnnrepro.chapters import digit_pairs as dp
from cnnrepro.chapters import dnn_convnet_resnet as uc
from cnnrepro.chapters import residual_depth as rd
from cnnrepro.chapters import vgg_resnet as qmul
from cnnrepro.config import RunConfig


def test_confused_pairs_pick_digits_some_model_calls_the_other_digit():
    labels = np.array([7, 7, 9, 9, 1])
    preds = {"resnet_shallow": np.array([9, 7, 9, 7, 1]), "resnet_deep": np.array([7, 7, 7, 9, 1])}
    picked, titles, counts = rd.confused(labels, preds)
    assert picked == [0, 2, 3] and counts == [1, 2]  # one 7 as 9, two 9s as 7
    assert titles[0] == "true 7\ns:9 d:7"


def test_residual_headlines_carry_every_metric_and_the_parameter_counts():
    summary = pd.DataFrame({"accuracy_mean": [0.95], "accuracy_sd": [0.01], "f1_mean": [0.94],
                            "f1_sd": [0.01], "seeds": [5]},
                           index=pd.MultiIndex.from_tuples([(64, "resnet_shallow")],
                                                           names=["batch_size", "model"]))
    stated = [{"batch_size": 64, "model": "resnet_shallow", "accuracy": 0.93, "f1": 0.93}]
    model = NS(count_params=lambda: 98060, trainable_weights=[])
    rows = rd.headlines(summary, stated, {"resnet_shallow": model}, {"resnet_shallow": {"total": 98060}},
                        profile="paper", test_size=10000)
    assert [r["kind"] for r in rows] == ["accuracy", "f1", "parameters"]
    assert rows[0]["difference"] == pytest.approx(0.02) and rows[2]["verdict"] == "holds"


def test_loss_seeds_pairs_the_two_losses_by_seed_and_measures_the_base_spread():
    results = pd.DataFrame({"sweep": "loss", "seed": [0, 1, 2, 0, 1, 2],
                            "value": ["cross-entropy"] * 3 + ["balanced cross-entropy"] * 3,
                            "accuracy": [0.90, 0.92, 0.94, 0.91, 0.92, 0.90]})
    table, noise = ntu.loss_seeds(results)
    assert table["balanced - plain"].tolist() == pytest.approx([0.01, 0.0, -0.04])
    assert noise.sd == pytest.approx(0.02) and noise.seeds == 3
    _, single = ntu.loss_seeds(results[results["seed"] == 0])
    assert single is None  # one seed has no spread


def test_sweep_percent_says_not_run_for_a_missing_value():
    summary = pd.DataFrame({"ours": [0.9722]}, index=pd.MultiIndex.from_tuples([("base", "base")]))
    assert ntu.percent(summary, "base", "base") == "97.22%"
    assert ntu.percent(summary, "width", "10") == "(not run)"


def uc_run(model, lr, loss, seed, acc, history):
    config = RunConfig(task="mnist", model=model, epochs=5, batch_size=32, seed=seed, learning_rate=lr,
                       extra={"loss": "double_softmax"} if loss == "double softmax" else {})
    return NS(config=config, key=f"{model}{lr}{loss}{seed}", metrics={"accuracy": acc, "f1": acc},
              updates=pd.DataFrame({"loss": history, "accuracy": history}))


def uc_chapter(runs, paper=()):
    """A stand-in for the chapter object: its runs, those at paper named in ``paper``."""
    keys = {r.config.key() for r in runs if r.key in paper}
    return NS(runs=runs, profile_of=lambda r: "paper" if r.config.key() in keys else "cpu")


def test_uc_best_runs_and_their_headlines_leave_the_double_softmax_uncounted():
    runs = [uc_run("dnn", lr, loss, 0, acc, [1.0])
            for lr, loss, acc in ((0.1, "as printed", 0.8), (0.01, "as printed", 0.96),
                                  (0.1, "double softmax", 0.5), (0.01, "double softmax", 0.7))]
    ours = uc.mean_by_loss(uc.results_frame(uc_chapter(runs)), ["as printed", "double softmax"])
    best = uc.table1(report.reported("dnn_convnet_resnet"), ours, ["dnn"])
    assert best.loc[("DNN", "ours, as printed"), "learning rate"] == "0.01"
    rows = uc.headlines(best, test_sizes={"cpu": 2000})
    assert [r["counted"] for r in rows] == [True, True, False, False]
    assert {r["profile"] for r in rows} == {"cpu"}
    # the report's last line, the featured ResNet's macro F1, has a row of its own at its rate only
    featured = uc.headlines(best, test_sizes={"cpu": 2000, "paper": 10000},
                            featured=(0.0001, 0.987, "paper", 0.98978))
    assert featured[0]["kind"] == "f1" and featured[0]["reported"] == 0.98978 and featured[0]["counted"]
    assert len(uc.headlines(best, test_sizes={"cpu": 2000}, featured=(0.1, 0.5, "cpu", 0.98978))) == 4
    assert uc.double_softmax_cost(ours).loc["DNN", ("accuracy", 0.1)] == pytest.approx(0.3)


def test_uc_cells_are_means_over_their_seeds_and_say_how_many():
    runs = [uc_run("dnn", 0.1, "as printed", seed, acc, [1.0])
            for seed, acc in ((0, 0.80), (1, 0.82), (2, 0.84))] + \
        [uc_run("dnn", 0.01, "as printed", 0, 0.96, [1.0])]
    ours = uc.mean_by_loss(uc.results_frame(uc_chapter(runs, {"dnn0.1as printed0", "dnn0.1as printed1",
                                                               "dnn0.1as printed2"})), ["as printed"])
    table = uc.table2(report.reported("dnn_convnet_resnet"), ours)
    # cells whose runs differ say them in a column, the caption says what it holds
    assert table.loc[("DNN", 0.1), ("", "runs")] == "3 at paper"
    assert table.loc[("DNN", 0.01), ("", "runs")] == "1 at cpu"
    assert uc.table2_caption(ours).endswith("; runs: how many seeds as printed, at which profile")
    assert table.loc[("DNN", 0.1), ("accuracy", "as printed")] == pytest.approx(0.82)
    assert uc.cell_text(ours, "dnn", 0.1) == ("0.820", "mean of 3 seeds at paper")
    assert uc.cell_text(ours, "dnn", 0.01) == ("0.960", "one seed at cpu")
    assert uc.cell_text(ours, "convnet", 0.1) == ("(not run)", "(not run)")
    best = uc.table1(report.reported("dnn_convnet_resnet"), ours, ["dnn"])
    assert best.loc[("DNN", "ours, as printed"), "seeds"] == "1"  # 0.01 (0.96) is the best rate
    # the report's rate: its text's where it names one, else Table 2's cell of equal accuracy
    assert best.loc[("DNN", "report"), "learning rate"] == "0.0001 (Table 2)"
    rep = report.reported("dnn_convnet_resnet")
    assert uc.reported_best_rate(rep, "resnet50_block") == "0.001 (text)"
    assert uc.reported_best_rate({**rep, "best": {"dnn": {"accuracy": 0.5}}}, "dnn") == "not stated"
    frame = pd.DataFrame({"model": "DNN", "loss": "as printed", "learning rate": 0.1,
                          "epochs trained": [6, 9, 12], "best epoch": [3, 6, 9]})
    assert uc.stops(frame).loc[("DNN", "as printed"), ("best epoch", 0.1)] == 6  # not seed 0's 3


def test_uc_cells_carry_their_profile_and_a_model_is_at_paper_only_where_every_rate_is():
    runs = [uc_run("dnn", lr, loss, 0, acc, [1.0])
            for lr, loss, acc in ((0.1, "as printed", 0.8), (0.01, "as printed", 0.96),
                                  (0.1, "double softmax", 0.5), (0.01, "double softmax", 0.7))]
    at_paper = {"dnn0.1as printed0", "dnn0.01as printed0", "dnn0.1double softmax0"}
    ours = uc.mean_by_loss(uc.results_frame(uc_chapter(runs, at_paper)), ["as printed", "double softmax"])
    table = uc.table2(report.reported("dnn_convnet_resnet"), ours)
    assert ("", "runs") not in table.columns  # every cell as printed: 1 seed at paper
    reported = report.reported("dnn_convnet_resnet")["by_learning_rate"]["dnn"]
    assert table.loc[("DNN", 0.1), ("accuracy", "difference")] == pytest.approx(0.8 - reported[0.1][0])
    best = uc.table1(report.reported("dnn_convnet_resnet"), ours, ["dnn"])
    assert best.loc[("DNN", "ours, as printed"), "profile"] == "paper"
    assert best.loc[("DNN", "ours, double softmax"), "profile"] == "cpu"  # 0.01 is at cpu
    rows = uc.headlines(best, test_sizes={"cpu": 2000, "paper": 10000})
    assert [r["profile"] for r in rows] == ["paper", "paper", "cpu", "cpu"]
    assert uc.table2_caption(ours).endswith(
        "; every cell as printed: 1 seed at paper"
        "; the double softmax: 1 seed per cell; the double softmax at cpu: DNN at 0.01")
    # the double softmax's cost is compared only where both losses ran at one profile
    cost = uc.double_softmax_cost(ours)
    assert cost.loc["DNN", ("accuracy", 0.1)] == pytest.approx(0.3)
    assert ("accuracy", 0.01) not in cost.columns


def test_the_double_softmax_floor_is_log_of_one_plus_nine_over_e():
    assert uc.double_softmax_floor() == pytest.approx(np.log(1 + 9 / np.e), abs=1e-6)
    assert uc.moving_average_left(100) == pytest.approx(0.99 ** 100)


def test_lean_counts_and_tail_statistics():
    lean = pd.DataFrame({"share predicted same": [0.45, 0.55], "P same": [0.9, 0.8], "P not_same": [0.8, 0.9],
                         "R same": [0.8, 0.9], "R not_same": [0.9, 0.8]})
    counts = dp.lean_counts(lean)
    assert (counts["share_low"], counts["share_high"], counts["seeds"]) == (0.45, 0.55, 2)
    assert counts["lower_p_same"] == 1 and counts["higher_r_not_same"] == 1
    updates = pd.DataFrame({"val_accuracy": [0.0] * 10 + [0.5, 1.0], "accuracy": [0.0] * 10 + [1.0, 1.0]})
    t = dp.tail(updates, batch_size=4, last=2)
    assert (t["updates"], t["mean"], t["train_mean"]) == (2, 0.75, 1.0)
    assert t["binomial_sd"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))


def test_finetune_gain_per_seed_and_against_the_seed_spread():
    results = pd.DataFrame({"seed": [0, 1, 2] * 2, "variant": ["frozen"] * 3 + ["fine_tuned"] * 3,
                            "accuracy": [0.90, 0.91, 0.92, 0.95, 0.96, 0.92]})
    gain = dp.finetune_gain(results)
    assert gain["per_seed"] == "+0.0500, +0.0500, +0.0000" and gain["seeds"] == 3
    assert gain["spread"] == pytest.approx(np.std([0.95, 0.96, 0.92], ddof=1))
    assert gain["exceed"] == 2  # 0.05 > 2 x 0.0208; 0.0 is not
    assert dp.finetune_gain(results[results["variant"] == "frozen"]) is None


def test_the_reports_generator_fails_as_printed_and_runs_with_the_range_fixed():
    mnist = NS(y_train=np.arange(40) % 10, y_test=np.arange(20) % 10)
    p = NS(source_train=40, source_test=20, train_pairs=30, test_pairs=10, pair_seed=0)
    table = dp.report_generator_table(mnist, p)
    outcomes = table["outcome"].tolist()
    assert len(outcomes) == 4 and all(o.endswith("pairs") or o.startswith("IndexError") for o in outcomes)
    assert outcomes[1] == "30 pairs" and outcomes[3] == "10 pairs"


def test_qmul_epoch_log_sets_the_reports_numbers_beside_ours():
    epochs = pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5], "accuracy": [0.5, 0.8],
                           "test_loss": [0.9, 0.6],
                           "test_accuracy": [0.6, 0.7], "test_top5_accuracy": [0.9, 0.95]})
    run = NS(epochs=epochs)
    ch = NS(reported=report.reported("vgg_resnet"), run=lambda **labels: run)
    log = qmul.epoch_log(ch, "vgg16", "mnist")
    assert list(log.columns[:2]) == [("train loss", "report"), ("train loss", "ours")]
    assert log.loc[2, ("top-1", "ours")] == 0.7
    assert not np.isnan(log.loc[1, ("top-1", "report")])  # the report logged VGG16 on MNIST


def qmul_run(model, acc, variant=None, train_acc=0.98, test_losses=(1.0, 0.8, 1.2), pending=None):
    from cnnrepro.ablations import apply
    config = qmul.run_config(__import__("cnnrepro.protocol", fromlist=["resolve"]).resolve(
        "vgg_resnet", "paper"), model, "cifar10", 0)
    if variant:
        config = apply(config, next(v for v in qmul.VARIANTS if v.name == variant))
    epochs = pd.DataFrame({"epoch": [1, 2, 3], "accuracy": [0.5, 0.9, train_acc],
                           "test_loss": list(test_losses)})
    return NS(config=config, epochs=epochs, metrics={"accuracy": acc, "loss": 0.5, "top5_accuracy": 0.99},
              pending=pending, provenance={"backend": "jax" if variant is None else "tensorflow",
                          "devices": ["gpu:0 (H100)"] if variant is None else ["cpu:0"],
                          "cpu": "EPYC", "cpu_count": 2})


def qmul_chapter(runs, ablation_runs, ablations=("crop_flip",), models=("resnet18",)):
    proto = NS(ablations=list(ablations), ablation_models=list(models), ablation_seeds=[0],
               profile="paper")
    return NS(runs=runs, ablation_runs=ablation_runs, proto=proto, profile="paper",
              reported=report.reported("vgg_resnet"))


def test_qmul_why_tables_set_each_variant_beside_the_protocol_and_the_report():
    ch = qmul_chapter([qmul_run("resnet18", 0.708), qmul_run("vgg16", 0.771)],
                      [qmul_run("resnet18", 0.786, "crop_flip", train_acc=0.85, test_losses=(1.0, 0.7, 0.6))])
    table = qmul.why_numbers(ch, "resnet18")
    assert list(table.index) == ["protocol", "crop_flip"] and table.loc["crop_flip", "reported"] == 0.785
    assert table.loc["crop_flip", "reproduces the report"] != "holds"  # one seed: never holds
    over = qmul.overfitting(ch, "resnet18")
    assert list(over.index) == ["report", "protocol", "crop_flip"]
    assert over.loc["protocol", "at epoch"] == 2 and over.loc["crop_flip", "at epoch"] == 3
    assert over.loc["crop_flip", "train acc., last epoch"] == 0.85
    assert qmul.untried(ch) == ["flatten_head", "weight_decay"]
    assert qmul.cifar_reason(ch, "resnet18", "accuracy").startswith(
        "unexplained after the variants crop_flip")
    assert qmul.cifar_reason(ch, "vgg16", "accuracy") == (
        "unexplained: no variant run on VGG16 yet (tried on ResNet18: see Why the numbers differ)")
    assert qmul.why_summary(ch)["why_closest"] == "crop_flip"
    assert qmul.where_trained(ch) == \
        "protocol: ResNet18 on H100, JAX; crop_flip: ResNet18 on EPYC (2 cores), TensorFlow"
    # a setting whose run awaits retraining is shown, not judged
    waiting = qmul_chapter([qmul_run("resnet18", 0.785, pending="model version 1")],
                           [qmul_run("resnet18", 0.786, "crop_flip")])
    table = qmul.why_numbers(waiting, "resnet18")
    assert table.loc["protocol", "reproduces the report"] == "not tested"
    assert table.loc["protocol", "ours"] == 0.785


def test_qmul_marks_a_run_awaiting_retraining_and_never_calls_it_the_nearest():
    vgg = qmul_run("vgg16", 0.70, pending="model version 1")
    resnet = qmul_run("resnet18", 0.761)
    resnet.provenance = {"backend": "tensorflow", "devices": ["cpu:0"], "cpu": "EPYC", "cpu_count": 2}
    for run in (vgg, resnet):
        run.provenance["timing"] = {"wall_seconds": 100.0, "train_images_per_second": 50.0}
    ch = qmul_chapter([vgg, resnet], [qmul_run("resnet18", 0.76, "crop_flip")],
                      models=("vgg16", "resnet18"))
    summary = qmul.why_summary(ch)
    assert summary["why_models"] == "ResNet18" and summary["why_model"] == "ResNet18"
    assert summary["why_flip_model"] == "ResNet18" and summary["why_closest"] != "none"
    assert list(qmul.overfitting(ch, "vgg16").index) == ["report", "protocol (retraining pending)"]
    assert qmul.marked("VGG16", resnet) == "VGG16"
    # where the two models trained on different machines, the caption says which where
    ch.proto.models = ["vgg16", "resnet18"]
    ch.run = lambda model, dataset: vgg if model == "vgg16" else resnet
    assert qmul.hardware(ch, "cifar10") == "VGG16: H100, JAX; ResNet18: EPYC (2 cores), TensorFlow"
    rows = qmul.results_table(ch, "cifar10").index.get_level_values("model")
    assert "VGG16 (retraining pending)" in rows and "ResNet18" in rows
    # only pending runs: nothing is the nearest
    table = ablations.number_table({PROTOCOL: [0.70]}, 0.9, kind="accuracy", decimals=3,
                                   test_size=10000, pending=frozenset({PROTOCOL}))
    assert ablations.closest(table)[0] == "none"


def test_a_variant_run_is_told_apart_in_labels_and_logs():
    run = qmul_run("resnet18", 0.7, "crop_flip")
    assert qmul.labels(run.config)["variant"] == "crop_flip"
    assert "augment=crop_flip" in run.config.label()
    assert qmul.labels(qmul_run("resnet18", 0.7).config)["variant"] == "protocol"


def canned_rescore(accuracies):
    """batchnorm.rescore_stored stand-in: per run path, accuracies as trained,
    re-estimated and with batch statistics."""
    def rescore(run):
        a = accuracies[run.path]
        return pd.DataFrame({"accuracy": a, "f1": a, "classes predicted": [1, 10, 10]},
                            index=pd.Index(["as trained", "re-estimated", "batch statistics"],
                                           name="statistics"))
    return rescore


def test_uc_batchnorm_table_rescores_the_kept_weight_runs_of_every_seed(monkeypatch):
    from cnnrepro import batchnorm, protocol
    p = protocol.resolve("dnn_convnet_resnet", "cpu")
    configs = p.ablation_configs()
    assert sorted((c.model, c.learning_rate, c.seed) for c in configs) == sorted(
        ("resnet50_block", lr, s) for lr in (0.001, 0.0001) for s in (0, 1, 2))
    assert all(uc.ablation_of(c) == "bn_stats" for c in configs)
    assert all(uc.ablation_of(c) == "protocol" for c in p.run_configs())
    runs = [NS(config=c, path=str(i)) for i, c in enumerate(configs)]
    monkeypatch.setattr(batchnorm, "rescore_stored", canned_rescore(
        {str(i): [0.1, 0.9 + i / 100, 0.95] for i in range(len(configs))}))
    table = uc.batchnorm_table(NS(ablation_runs=runs))
    first = configs[0]
    assert table.loc[(f"{first.learning_rate:g}", first.seed, "re-estimated"), "accuracy"] == 0.9
    assert table.loc[("0.001", 2, "as trained"), "classes predicted"] == 1
    assert len(table) == 3 * len(configs)
    # the higher rate first, then seed by seed, as the chapter reads it
    assert list(table.index.unique("learning rate")) == ["0.001", "0.0001"]


def test_report_3_phase1_batchnorm_rows_are_the_bn_stats_runs_per_seed(monkeypatch):
    from cnnrepro import batchnorm, protocol
    p = protocol.resolve("digit_pairs", "paper")
    bn = [c for c in p.ablation_configs() if dp.ablation_of(c, p) == "bn_stats"]
    assert [c.seed for c in bn] == p.ablation_seeds and all(c.train_limit == 6000 for c in bn)
    runs = [NS(config=c, path=str(c.seed)) for c in bn]
    monkeypatch.setattr(batchnorm, "rescore_stored", canned_rescore(
        {str(s): [0.8, 0.95 + s / 100, 0.94] for s in p.ablation_seeds}))
    table = dp.phase1_batchnorm(NS(ablation_runs=runs, proto=p))
    assert list(table.index) == p.ablation_seeds
    assert table.loc[1, "re-estimated"] == pytest.approx(0.96) and table.loc[0, "as trained"] == 0.8


def test_bn_identical_compares_only_runs_of_the_same_processor_and_backend():
    from cnnrepro.ablations import apply
    from cnnrepro import protocol
    p = protocol.resolve("residual_depth", "paper", seeds=[0, 1, 2], ablation_seeds=[0, 1, 2])
    bn = next(v for v in rd.VARIANTS if v.name == rd.BN_STATS)
    base = [c for c in p.run_configs() if c.batch_size == 64 and c.model == "resnet_shallow"]
    probs = [np.eye(3)[[0, 1]], np.eye(3)[[1, 1]], np.eye(3)[[2, 2]]]
    avx2 = {"cpu_identity": "avx2", "backend": "tensorflow"}
    avx512 = {"cpu_identity": "avx512", "backend": "tensorflow"}
    runs = [NS(config=c, test_probs=probs[c.seed], provenance=avx2) for c in base]
    kept = [NS(config=apply(c, bn), test_probs=probs[c.seed] if c.seed < 2 else probs[0],
               provenance=avx2 if c.seed != 1 else avx512) for c in base]
    # seed 0: same machine, same predictions; seed 1: other processor; seed 2: differs
    assert rd.bn_identical(NS(runs=runs, ablation_runs=kept)) == (1, 2, 3)


def test_uc_data_split_has_a_column_per_profile():
    split = uc.data_split(protocol.resolve("dnn_convnet_resnet", "paper"),
                          protocol.resolve("dnn_convnet_resnet", "cpu"))
    assert split.loc["fit"].tolist()[:2] == [54000, 3600] and split.loc["test"].tolist()[:2] == [10000, 2000]
    assert uc.classes_predicted(NS(test_pred=np.array([3, 3, 1]))) == 2
    assert uc.classes_predicted(NS(test_pred=np.array([3, 3, 1]))) == 2


def test_report_2_parameter_table_has_a_row_per_model_and_count_and_matches_the_report():
    from cnnrepro.models import build_model, shapes_only
    with shapes_only():
        models = {n: build_model(n, (28, 28, 1), 10) for n in ("resnet_shallow", "resnet_deep")}
    table = rd.parameter_table(models, report.reported("residual_depth")["parameters"])
    assert list(table.columns) == ["reported", "ours", "match"]  # narrow enough for a laptop
    assert table.loc[("resnet_shallow (2 blocks)", "total"), "ours"] == "98,060 (383.05 KB)"
    assert table["match"].all()


def test_qmul_numbers_are_judged_on_every_seed_of_a_model():
    paper = protocol.resolve("vgg_resnet", "paper")
    runs = [NS(config=qmul.run_config(paper, "resnet18", "mnist", seed), pending=None,
               metrics={"loss": 0.04, "accuracy": acc, "top5_accuracy": 0.999},
               provenance={"timing": {"train_seconds": 600.0}, "devices": ["cpu:0"], "cpu": "EPYC",
                           "cpu_count": 2, "backend": "tensorflow"})
            for seed, acc in ((0, 0.9886), (1, 0.9918))]
    ch = NS(runs=runs, reported=report.reported("vgg_resnet"), profile="paper",
            proto=NS(datasets=["mnist"], models=["resnet18"]))
    rows = {r["result"]: r for r in qmul.headlines(ch, 138_357_544)}
    top1 = rows["ResNet18 on MNIST, test top1"]
    assert top1["seeds"] == 2 and top1["ours"] == pytest.approx(0.9902)
    assert "2 seeds" in top1["reason"]
