"""The Summary page's library side: the offset test and the introduction's line."""
import math

import pandas as pd
import pytest

from cnnrepro import claims, summary


def numbers(diffs, chapter="c", **kw):
    return pd.DataFrame({"chapter": chapter, "kind": "accuracy", "counted": True,
                         "verdict": "contradicted", "reason": "", "difference": diffs, **kw})


def test_a_lopsided_split_shows_as_a_small_sign_test_p_value():
    rows = pd.concat([numbers([0.01] * 12), numbers([0.01, -0.01], chapter="d"),
                      numbers([0.5], chapter="d", collapsed=True)])
    out = summary.offsets(rows).set_index("chapter")
    assert out.loc["c", "ours higher"] == 12 and out.loc["c", "sign-test p"] < 0.001
    assert out.loc["d", "accuracies"] == 2  # the collapsed run is left out


def test_a_report_with_nothing_judged_still_gets_a_row():
    out = summary.offsets(numbers([0.01], verdict="not tested"))
    assert out["accuracies"].tolist() == [0] and math.isnan(out["sign-test p"].iloc[0])


def test_the_introduction_line_and_glues_count_every_verdict():
    table = pd.DataFrame({"chapter": ["a", "a", "b"], "verdict": ["holds", "inconclusive", "holds"],
                          "counted": True})
    counts = claims.counts(table)
    glues = summary.count_glues("claims", counts)
    assert glues["n_claims"] == "3" and glues["n_claims_holds"] == "2"
    assert glues["n_claims_report_inconsistent"] == "0"
    line = summary.intro_line(counts, counts, {"Report A": "paper"})
    assert line.startswith("Of the 3 claims the five reports make, 2 hold, 1 inconclusive;")
    assert line.endswith("Report A `paper`.\n")


def test_per_model_spans_parameters_and_summarises_each_chapters_model():
    models = pd.DataFrame({"chapter": ["a", "a", "a"], "model": ["m", "m", "n"], "run": ["1", "2", "3"],
                           "parameters": [100, 1200, 50], "test accuracy": [0.9, 0.8, 0.7],
                           "training seconds": [10.0, 30.0, 5.0], "hardware": ["cpu", "gpu", "cpu"]})
    t = summary.per_model(models, {"a": "Report A"})
    assert t.loc[("Report A", "m"), "parameters"] == "100 to 1,200"
    assert t.loc[("Report A", "n"), "parameters"] == "50"
    assert t.loc[("Report A", "m"), "median training s"] == 20.0
    assert t.loc[("Report A", "m"), "trained on"] == "cpu, gpu"


def test_a_chapter_that_mixes_profiles_says_how_many_rows_each_has():
    from cnnrepro import summary
    rows = pd.DataFrame({"chapter": ["a", "a", "a", "b"], "profile": ["paper", "cpu", "paper", "cpu"]})
    assert summary.chapter_profiles(rows).to_dict() == {"a": "paper (2 rows), cpu (1 row)", "b": "cpu"}


def test_the_summary_reads_the_runs_a_mixed_chapter_shows_paper_where_stored():
    """UC is shown at cpu, cell by cell at paper where the paper run is stored: the
    Summary's figure must read those same runs, or its accuracies disagree with the
    numbers tables (0.902 against 0.9676 for the same cell)."""
    from cnnrepro import chapter, protocol
    from cnnrepro.store import ResultsStore
    proto = protocol.resolve("dnn_convnet_resnet", "cpu")
    twins = chapter.paper_twins(proto, proto.run_configs())
    if not twins:
        pytest.skip("no paper run of the UC chapter in this store")
    shown, runs = summary.book_runs("cpu")["dnn_convnet_resnet"]
    keys = {r.config.key() for r in runs}
    assert {t.key() for t in twins.values()} <= keys
    assert not keys & set(twins)  # no cpu run whose paper twin is stored
    assert len(runs) == sum(ResultsStore(proto.store_root).has(twins.get(c.key(), c))
                            for c in proto.run_configs())


def test_rows_left_out_of_the_counts_are_counted_for_the_text():
    frame = pd.DataFrame({"verdict": ["holds", "holds", "contradicted"],
                          "counted": [True, False, False]})
    assert summary.uncounted(frame) == 2
