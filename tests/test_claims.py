"""Claims as data: every chapter's claims load, and a claim is judged on the evidence
it names (a curve claim on the curve, not on the final number)."""
from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pytest

from cnnrepro import claims, protocol
from cnnrepro import verdicts as v


def fake_run(final: float, early: float, seed: int, model: str):
    updates = pd.DataFrame({"update": np.arange(1, 401),
                            "accuracy": np.r_[np.full(200, early), np.full(200, final)],
                            "loss": np.ones(400)})
    return NS(config=NS(model=model, task="mnist", batch_size=64, learning_rate=1e-3, seed=seed),
              metrics={"accuracy": final}, updates=updates,
              epochs=pd.DataFrame({"accuracy": [early, final]}),
              test_labels=np.array([0, 1, 1, 0]), test_pred=np.array([0, 1, 0, 0]),
              provenance={"timing": {"train_seconds": 10.0}})


# A ends higher, but B leads through the first 200 updates.
RUNS = [fake_run(0.98 + 0.001 * s, 0.50 + 0.01 * s, s, "a") for s in range(3)] + \
       [fake_run(0.95 + 0.001 * s, 0.80 + 0.01 * s, s, "b") for s in range(3)]
FRAME = claims.evidence_frame(RUNS)


def claim(**kw):
    return {"id": "x", "quote": "q", "section": "1", "kind": "comparison",
            "a": {"model": "a"}, "b": {"model": "b"}, "expect": ">", **kw}


def test_a_curve_claim_is_judged_on_the_curve():
    on_final, _ = claims.judge(claim(metric="accuracy"), FRAME, at_protocol=True)
    on_curve, text = claims.judge(claim(metric="updates.accuracy.mean[1:201]"), FRAME,
                                  at_protocol=True)
    assert on_final.verdict == v.HOLDS
    assert on_curve.verdict == v.CONTRADICTED and on_curve.direction == "A lower"
    assert text.startswith("-0.3000")


def test_a_reason_names_models_and_epoch_statistics_as_a_reader_does():
    uc = [fake_run(0.98, 0.5, s, "resnet50_block") for s in range(2)] + \
         [fake_run(0.95, 0.5, s, "dnn") for s in range(2)]
    grouped = {"id": "x", "quote": "q", "section": "1", "kind": "versus", "constant": 0.9,
               "expect": ">", "by": "model"}
    _, evidence = claims.judge(grouped, claims.evidence_frame(uc), at_protocol=True)
    assert evidence.startswith("ResNet: ") and "; DNN: " in evidence
    out, _ = claims.judge(claim(a={"model": "resnet50_block"}, b={"model": "dnn"}),
                          claims.evidence_frame(uc), at_protocol=True)
    assert "ResNet" in out.reason and "resnet50_block" not in out.reason
    assert claims._mid_sentence("ResNet, learning rate 0.001") == "ResNet, learning rate 0.001"
    assert claims._mid_sentence("Of its 3 parts") == "of its 3 parts"
    assert claims.metric_words("epochs.val_accuracy.max") == "the highest validation accuracy of any epoch"
    assert claims.metric_words("epochs.accuracy.last") == "the last epoch's training accuracy"


def test_value_of_reads_final_epoch_update_and_class_statistics():
    run = RUNS[0]
    assert claims.value_of(run, "accuracy") == pytest.approx(0.98)
    assert claims.value_of(run, "epochs.accuracy.first") == pytest.approx(0.5)
    assert claims.value_of(run, "updates.accuracy.mean[201:]") == pytest.approx(0.98)
    assert claims.value_of(run, "class.recall.1") == pytest.approx(0.5)
    assert claims.value_of(run, "class.precision.top.1") == 1.0  # 1 of 1 predicted right
    assert claims.value_of(run, "class.recall.top.1") == 0.0     # class 0: 2 of 2
    assert claims.value_of(run, "seconds.train") == 10.0
    with pytest.raises(ValueError, match="metric='speed' is not allowed"):
        claims.value_of(run, "speed")
    with pytest.raises(ValueError, match="label 'colour' is not allowed"):
        claims.select(FRAME, {"colour": "red"})


def test_a_report_contradicting_itself_overrides_our_verdict_but_keeps_our_evidence():
    check = {"check": "equal", "stated": 0.992, "derived": 0.9882, "decimals": 3,
             "explanation": "table vs log"}
    out, text = claims.judge(claim(metric="accuracy", report_check=check), FRAME,
                             at_protocol=True)
    assert out.verdict == v.INCONSISTENT and out.reason.startswith("table vs log. Our runs: a minus b")
    assert "holds (ours)" in text


def test_single_runs_use_a_noise_figure_only_where_the_claim_asks_for_it():
    single = claims.evidence_frame([RUNS[0], RUNS[3]])
    assert claims.judge(claim(metric="accuracy"), single, at_protocol=True)[0].verdict \
        == v.INCONCLUSIVE
    noise = claims.noise_for({"noise": True, "metric": "accuracy"}, FRAME, {"model": "a"},
                             "model a's seeds")
    assert noise.seeds == 3 and noise.sd == pytest.approx(0.001)
    assert claims.noise_for({"metric": "accuracy"}, FRAME, {"model": "a"}, "x") is None


def test_counterfactual_claims_are_shown_but_not_counted():
    table = pd.DataFrame({"chapter": ["c", "c"], "verdict": [v.HOLDS, v.CONTRADICTED],
                          "counted": [True, False]})
    counts = claims.counts(table)
    assert counts.loc["c", v.HOLDS] == 1 and counts.loc["c", v.CONTRADICTED] == 0


@pytest.mark.parametrize("chapter", list(protocol.chapters()))
def test_every_chapter_has_claims_with_quotes_links_and_known_checks(chapter):
    loaded = claims.load(chapter)
    assert len(loaded) >= 5
    for c in loaded:
        assert c["quote"] and c.get("link", "").startswith("#"), c["id"]
        for spec in (c.get("check"), c.get("report_check")):
            if spec:
                assert isinstance(claims.report_check(spec), v.Verdict)
    assert any(c.get("central") for c in loaded)


def test_the_report_checks_catch_the_inconsistencies_they_name():
    assert claims.report_check({"check": "sum_of_shares", "shares": [3.33, 96.80], "total": 100,
                                "decimals": 2, "explanation": "e"}).verdict == v.INCONSISTENT
    assert claims.report_check({"check": "f1_bound", "accuracy": 0.965, "f1": 0.995,
                                "decimals": 3, "explanation": "e"}).verdict == v.INCONSISTENT
    assert claims.report_check({"check": "f1_bound", "accuracy": 0.965, "f1": 0.965,
                                "decimals": 3, "explanation": "e"}).verdict == v.HOLDS
    table = {"0.1": 0.97, "0.01": 0.99, "0.001": 0.982}
    assert claims.report_check({"check": "best_of", "claimed": 0.01, "table": table,
                                "explanation": "e"}).verdict == v.HOLDS
    with pytest.raises(ValueError, match="check='guess' is not allowed"):
        claims.report_check({"check": "guess"})


def test_no_claim_is_judged_on_a_run_waiting_to_be_retrained():
    frame = FRAME.copy()
    frame[claims.PENDING] = [False] * 5 + [True]
    verdict, _ = claims.judge(claim(metric="accuracy"), frame, at_protocol=True)
    assert verdict.verdict == v.NOT_TESTED
    assert verdict.reason.startswith("the b run it reads was trained before a defect")  # names whose
    frame[claims.PENDING] = [False] * 3 + [True] * 3
    verdict, _ = claims.judge(claim(metric="accuracy"), frame, at_protocol=True)
    assert verdict.reason.startswith("the 3 b runs it reads were") and v.waits_for_retraining(verdict.reason)
    paired = claim(a={"model": "b"}, b={"model": "b"}, a_metric="accuracy", b_metric="class.recall.1")
    assert claims.judge(paired, frame, at_protocol=True)[0].reason.startswith("the 3 b runs")  # not 6
    frame[claims.PENDING] = False
    assert claims.judge(claim(metric="accuracy"), frame, at_protocol=True)[0].verdict == v.HOLDS


def test_a_number_from_a_run_waiting_to_be_retrained_is_not_tested():
    from cnnrepro.headlines import headline
    row = headline("x", "accuracy", 0.99, 0.99, profile="paper", decimals=3, test_size=10000)
    waiting = headline("x", "accuracy", 0.99, 0.99, profile="paper", decimals=3, test_size=10000,
                       pending=True)
    assert row["verdict"] != v.NOT_TESTED
    assert waiting["verdict"] == v.NOT_TESTED and waiting["reason"] == v.RETRAINING_PENDING


def test_a_speed_claim_timed_on_a_gpu_is_not_tested_on_cpus_alone():
    bench = pd.DataFrame({"precision": "float32", "framework": "keras/tensorflow", "cpu": "EPYC",
                          "devices": "cpu:0", "model": ["a", "b"], "img_per_s": [40.0, 10.0]})
    other_model_on_gpu = pd.DataFrame({"precision": "float32", "framework": "keras/jax", "cpu": "host",
                                       "devices": "gpu:0", "model": ["c"], "img_per_s": [1.0]})
    claim = {"id": "x", "kind": "speed_ratio", "a": "a", "b": "b", "range": [0.2, 0.33]}
    assert claims.speed_ratio(claim, bench)[0].verdict == v.HOLDS          # time a / b = 0.25
    on_gpu = {**claim, "device": "gpu", "device_why": "its times imply a GPU"}
    verdict, text = claims.speed_ratio(on_gpu, pd.concat([bench, other_model_on_gpu]))
    assert verdict.verdict == v.NOT_TESTED and "CPUs only; its times imply a GPU" in verdict.reason
    assert text == "time ratio keras/tensorflow on cpu:0: 0.25"
    gpu = bench.assign(devices="gpu:0 (H100)", cpu="host")
    assert claims.speed_ratio(on_gpu, pd.concat([bench, gpu]))[0].verdict == v.HOLDS


def test_a_gap_that_grows_with_a_setting_is_judged_as_a_difference_of_differences():
    runs = [fake_run(acc, 0.5, s, model) for s in range(4) for model, acc in
            (("a", 0.95 + 0.001 * s), ("b", 0.96 + 0.001 * s))]
    wide = [fake_run(acc, 0.5, s, model) for s in range(4) for model, acc in
            (("a", 0.90 + 0.001 * s), ("b", 0.96 + 0.001 * s))]
    for r in wide:
        r.config = NS(**{**vars(r.config), "batch_size": 128})
    frame = claims.evidence_frame(runs + wide)
    gap = claim(kind="interaction", metric="accuracy", factor="batch_size", levels=[128, 64],
                expect="<")
    verdict, _ = claims.judge(gap, frame, at_protocol=True)
    assert verdict.verdict == v.HOLDS and verdict.difference == pytest.approx(-0.05)
    assert ("the gap a minus b in the test accuracy at batch size 128 minus the same gap at batch "
            "size 64") in verdict.reason
    assert claims.judge({**gap, "expect": ">"}, frame, at_protocol=True)[0].verdict == v.CONTRADICTED


def test_a_claim_that_needs_a_run_not_yet_made_says_which():
    needs = claim(metric="accuracy", a={"model": "random_extractor"}, needs_run="a frozen random extractor")
    verdict, _ = claims.judge(needs, FRAME, at_protocol=True)
    assert verdict.verdict == v.NOT_TESTED and "a frozen random extractor" in verdict.reason
    # a label the chapter's runs do not have yet (their number of epochs)
    longer = claim(metric="accuracy", a={"epochs": 5}, needs_run="five epochs")
    assert "five epochs" in claims.judge(longer, FRAME, at_protocol=True)[0].reason


def test_fluctuation_and_paired_quantities_of_the_same_runs():
    run = RUNS[0]
    assert claims.value_of(run, "updates.accuracy.std[1:201]") == pytest.approx(0.0)
    assert claims.value_of(run, "updates.accuracy.max[1:]") == pytest.approx(0.98)
    same_runs = claim(metric=None, a={}, b={}, a_metric="accuracy", b_metric="epochs.accuracy.first",
                      where={"model": "a"})
    verdict, _ = claims.judge(same_runs, FRAME, at_protocol=True)
    assert verdict.verdict == v.HOLDS and "paired over the same 3 runs" in verdict.reason


def test_a_chapter_table_keeps_a_claim_whose_runs_are_not_made_yet():
    frame = FRAME.assign(**{claims.AT_PROTOCOL: True})
    longer = claim(metric="accuracy", a={"epochs": 5}, b={"epochs": 5}, needs_run="five epochs")
    assert claims.claim_profile(longer, frame, "paper") == "paper"
    assert claims.judge(longer, frame, at_protocol=True)[0].verdict == v.NOT_TESTED


REPORTS = {"residual_depth": "000_d667597e05d5b2c7", "digit_pairs": "001_fd9e997f5758c121",
           "vgg_resnet": "002_5e81cbf7a5a04972", "cnn_sweeps": "003_320990f461ea9fbd",
           "dnn_convnet_resnet": "004_793215aed1969ee4"}
SEEDS = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "seeds"


def _plain(text: str) -> str:
    """The report's words without its markup (LaTeX, emphasis, escapes) and spacing."""
    import re
    for markup in ("\\_", "$", "**", "*", "<sup>", "</sup>"):
        text = text.replace(markup, "_" if markup == "\\_" else "")
    text = re.sub(r"[\u2018\u2019]", "'", re.sub(r"[\u201c\u201d]", '"', text))
    return re.sub(r"\s+([,.;:])", r"\1", re.sub(r"\s+", " ", text)).lower().strip()


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the source reports sit in ../shared/seeds")
@pytest.mark.parametrize("chapter", list(REPORTS))
def test_every_quote_is_the_reports_own_words(chapter):
    source = _plain((SEEDS / f"{REPORTS[chapter]}.txt").read_text())
    for c in claims.load(chapter):
        if c["quote"].startswith("(not the report's claim)"):
            continue
        pieces = [_plain(p).strip(" .,") for p in c["quote"].split("...") if p.strip(" .")]
        assert all(p in source for p in pieces), (c["id"], [p for p in pieces if p not in source])


@pytest.mark.parametrize("early, verdict", [
    ([0.9, 0.9, 0.9], v.HOLDS),           # each run trains, then collapses
    ([0.3, 0.3, 0.3], v.CONTRADICTED),    # none trains first: no "starts smoothly"
    ([0.9, 0.3, 0.3], v.INCONCLUSIVE)])   # the seed decides
def test_a_collapse_needs_every_run_to_rise_first_then_end_low(early, verdict):
    runs = [fake_run(0.11, e, s, "a") for s, e in enumerate(early)]
    c = {"id": "x", "quote": "q", "section": "1", "kind": "collapse", "where": {"model": "a"},
         "below": 0.5, "rises_first": {"metric": "updates.accuracy.max[1:101]", "above": 0.5,
                                       "what": "highest batch accuracy"}}
    got, _ = claims.judge(c, claims.evidence_frame(runs), at_protocol=True)
    assert got.verdict == verdict
    assert ("1 of 3 runs do what the report describes" in got.reason) == (verdict == v.INCONCLUSIVE)
    short, _ = claims.judge(c, claims.evidence_frame(runs), at_protocol=False)
    assert short.verdict == v.NOT_TESTED
