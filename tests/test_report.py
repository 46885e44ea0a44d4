import pandas as pd
import pytest

from cnnrepro import headlines, provenance_block, report, run


def _row(result, **kw):
    return headlines.headline(result, "accuracy", 0.9, 0.9, profile="paper", decimals=2, **kw)


def test_headlines_follow_book_order_whatever_the_publishing_order(tmp_path):
    first, second = run.chapters()[:2]
    headlines.publish_headlines(second, [_row("b")], book=tmp_path)
    headlines.publish_headlines(first, [_row("a")], book=tmp_path)
    assert headlines.read_headlines([first, second], tmp_path)["chapter"].tolist() == [first, second]
    # republishing a chapter replaces its rows instead of adding to them
    headlines.publish_headlines(first, [_row("a2")], book=tmp_path)
    assert headlines.read_headlines([first, second], tmp_path)["result"].tolist() == ["a2", "b"]


def test_a_number_row_carries_the_verdict_modules_verdict_and_a_reason():
    nan = float("nan")
    hit = headlines.headline("x", "accuracy", 0.93, 0.931, profile="paper", decimals=2,
                          sd=0.002, seeds=5, test_size=10000)
    assert (hit["verdict"], hit["direction"]) == ("holds", "ours higher")
    short = headlines.headline("x", "accuracy", 0.99, 0.5, profile="cpu", decimals=2)
    assert short["verdict"] == "not tested" and "short of the report's protocol" in short["reason"]
    given = headlines.headline("x", "accuracy", 0.99, 0.5, profile="paper", decimals=2, sd=0.01,
                            seeds=3, reason="defect in the report's code")
    assert given["verdict"] == "contradicted"
    assert given["reason"].endswith("; defect in the report's code")
    unprinted = headlines.headline("x", "f1", nan, 0.9, profile="paper", decimals=3)
    assert unprinted["counted"] is False
    with pytest.raises(ValueError, match="kind='speed' is not allowed"):
        headlines.headline("x", "speed", 1, 1, profile="paper", decimals=0)


def test_tables_download_their_data_as_csv():
    import base64
    import re
    frame = pd.DataFrame({"ours": [0.123456789]}, index=pd.Index(["a"], name="run"))
    page = report.table(frame, "Table 3. Test results")._repr_html_()
    link = re.search(r'download="([^"]+)" href="data:text/csv;base64,([^"]+)"', page)
    assert link.group(1) == "table-3-test-results.csv"
    assert base64.b64decode(link.group(2)).decode() == "run,ours\na,0.123456789\n"


def test_a_row_labels_name_reads_as_words_and_its_csv_keeps_the_codes():
    import base64
    import re
    frame = pd.DataFrame({"ours": [0.97]}, index=pd.Index([64], name="batch_size"))
    page = report.table(frame, "Table 1. Runs")._repr_html_()
    assert ">batch size</th>" in page and ">batch_size</th>" not in page
    csv = re.search(r'href="data:text/csv;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(csv).decode().startswith("batch_size,ours")


def test_a_code_name_row_label_may_wrap_after_its_underscores_and_slashes():
    import base64
    import re
    index = pd.MultiIndex.from_tuples([("resnet18_small_stem", "keras/jax", 32, "0.1"),
                                       ("vgg16", "pytorch", 64, "0.01")],
                                      names=["model", "framework", "batch size", "rate"])
    page = report.table(pd.DataFrame({"ours": [0.9, 0.8]}, index=index), "Runs")._repr_html_()
    assert ">resnet18_<wbr>small_<wbr>stem</th>" in page and ">keras/<wbr>jax</th>" in page
    assert ">vgg16</th>" in page and ">32</th>" in page and ">0.1</th>" in page
    csv = re.search(r'href="data:text/csv;base64,([^"]+)"', page).group(1)
    assert "resnet18_small_stem,keras/jax" in base64.b64decode(csv).decode()


def test_compute_devices_names_gpus_or_the_cpu_once_each_in_words():
    from types import SimpleNamespace as NS
    gpu = NS(provenance={"devices": ["gpu:0 (NVIDIA H100 80GB HBM3)"], "cpu": "Xeon",
                         "cpu_count": 16, "backend": "jax"})
    cpu = NS(provenance={"devices": ["cpu:0"], "cpu": "AMD EPYC", "cpu_count": 2,
                         "backend": "tensorflow"})
    assert provenance_block.compute_devices([gpu, gpu]) == "NVIDIA H100 80GB HBM3, JAX"
    assert provenance_block.compute_devices([cpu, gpu]) == ("AMD EPYC (2 cores), TensorFlow; "
                                                            "NVIDIA H100 80GB HBM3, JAX")
    assert "gpu:0" not in provenance_block.place({**gpu.provenance, "devices": ["gpu:0"]})


def test_settings_text_says_how_a_run_computed_or_that_it_was_not_recorded():
    from cnnrepro.provenance_block import settings_text
    tf = {"settings": {"op_determinism": True, "intra_op_threads": 0, "inter_op_threads": 0}}
    assert settings_text(tf) == "op determinism on; threads: TensorFlow's defaults (one per core)"
    assert "2 intra-op" in settings_text({"settings": {**tf["settings"], "intra_op_threads": 2}})
    assert settings_text({"settings": {"xla_gpu_deterministic_ops": False}}).endswith("off")
    assert settings_text({"settings": None}) == "not recorded"


def test_columns_the_same_in_every_row_leave_the_table_for_its_caption():
    frame = pd.DataFrame({"model": ["a", "b"], "batch": [32, 32], "acc": [0.9, 0.8],
                          "cpu": ["EPYC", "EPYC"]}).set_index(["model", "batch"])
    table, shared = report.constant_columns(frame)
    assert list(table.columns) == ["acc"] and table.index.names == ["model"]
    assert shared == {"cpu": "EPYC", "batch": 32}
    assert report.said_once(shared) == "cpu EPYC, batch 32"
    kept, _ = report.constant_columns(frame, keep=("cpu",))
    assert "cpu" in kept.columns
    assert report.constant_columns(frame.iloc[:1])[1] == {}  # one row: nothing to say once


def test_the_runs_table_tells_runs_apart_by_the_chapters_labels_and_epochs_trained():
    from types import SimpleNamespace as NS

    from cnnrepro.config import RunConfig

    def run(lr, seed, stopped):
        config = RunConfig(task="mnist", model="dnn", epochs=20, batch_size=32, seed=seed, learning_rate=lr)
        return NS(key=config.key(), config=config, metrics={"epochs_trained": stopped},
                  provenance={"timing": {"wall_seconds": 10.0, "train_images_per_second": 100.0},
                              "git_commit": "0123456789ab"})

    runs = [run(0.1, 0, 4), run(0.01, 0, 9)]
    table, shared = provenance_block.runs_table(runs, lambda c: {"learning_rate": c.learning_rate,
                                                                  "seed": c.seed})
    assert table["learning rate"].tolist() == [0.1, 0.01] and table["epochs trained"].tolist() == [4, 9]
    assert "seed" in table and shared == {"wall time (s)": 10.0, "train img/s": 100.0,
                                          "commit": "01234567"}
    assert all(len(k) == 8 for k in table.index)


def test_numbers_are_written_by_kind():
    frame = pd.DataFrame({"runs": [501.0, 1122.0], "wall time (s)": [87.928, 3.0],
                          "top-5": [1.0, 1.0], "accuracy": [0.97654, 0.9], "name": ["a", "b"],
                          "seed": [0, 1], "images": [60000, 4000]})
    html = report.table(frame, "t").to_html()
    for shown in ("501", "1,122", "87.9", "1.0000", "0.9765", "0", "60,000"):
        assert f">{shown}<" in html, shown
    assert "501.0000" not in html and "87.928" not in html
    assert ">3.0<" in html  # seconds keep one decimal
    assert ">1.000<" in report.table(frame[["top-5"]], "t", precision=3).to_html()
    signed = pd.DataFrame({"difference": [0.047, -0.002], "ours - reported": [0.01, 0.0]})
    html = report.table(signed, "t", precision=3).to_html()
    for shown in ("+0.047", "-0.002", "+0.010", "0.000"):
        assert f">{shown}<" in html, shown


def test_run_tables_take_a_label_column_and_name_each_ablation():
    from types import SimpleNamespace as NS

    from cnnrepro.config import RunConfig

    def run(seed, model="pair_classifier"):
        config = RunConfig(task="mnist", model=model, epochs=2, batch_size=64, seed=seed)
        return NS(key=config.key(), config=config, metrics={},
                  provenance={"timing": {"wall_seconds": 1.0 + seed, "train_images_per_second": 9.0},
                              "git_commit": "0123456789ab"})

    def labels(c):  # a chapter label named like the extra column and the ablation column
        return {"model": c.model, "variant": "frozen", "seed": c.seed}

    (runs, caption), (ablations, _) = provenance_block.run_tables(
        [run(0), run(1)], {"variant": ["frozen", "fine-tuned"]}, [run(2)], ["phase1_full"], labels)
    assert runs["variant"].tolist() == ["frozen", "fine-tuned"]
    assert "every one: model pair_classifier" in caption
    assert ablations["ablation"].tolist() == ["phase1_full"] and "variant" in ablations


def test_confusion_panels_of_several_models_share_their_colour_scales():
    import numpy as np

    from cnnrepro import plots
    names = ["a", "b"]

    def panel(title, cm, recall):
        scores = pd.DataFrame({"precision": [0.9, 0.8], "recall": recall, "f1": [0.9, 0.8]}, index=names)
        return title, np.array(cm), scores

    fig = plots.confusion_panels([panel("x", [[50, 0], [10, 40]], [0.95, 0.5]),
                                  panel("y", [[500, 3], [1, 496]], [0.99, 0.98])], names)
    meshes = [ax.collections[0] for ax in fig.axes]
    assert meshes[0].get_clim() == meshes[2].get_clim() == (0, 500)      # counts
    assert meshes[1].get_clim() == meshes[3].get_clim() == (pytest.approx(0.48), 1.0)  # scores


def test_a_column_with_a_missing_value_is_not_constant():
    import numpy as np
    import pandas as pd

    from cnnrepro.report import constant_columns
    table, same = constant_columns(pd.DataFrame({"a": [1.0, np.nan], "b": [2, 2]}))
    assert list(table.columns) == ["a"] and same == {"b": 2}


def test_a_count_agrees_with_its_noun():
    assert (report.counted(1, "seed"), report.counted(15, "seed"), report.counted(1200, "run")) == \
        ("1 seed", "15 seeds", "1,200 runs")


def test_a_value_that_rounds_to_zero_carries_no_sign():
    formats = report.number_format(pd.DataFrame({"difference": [-0.00001, 0.0, -0.0123],
                                                 "accuracy": [-0.00004, 0.5, 0.25]}), precision=3)
    assert [formats["difference"](x) for x in (-0.00001, 0.0, -0.0123)] == ["0.000", "0.000", "-0.012"]
    assert formats["accuracy"](-0.00004) == "0.000"
    assert (headlines.format_number("accuracy", -0.00001, 3),
            headlines.format_number("accuracy", -0.0123, 3)) == ("0.000", "-0.012")


def test_the_environment_is_said_once_for_every_chapter_that_shares_it(tmp_path):
    def env(chapter, cpu):
        return pd.DataFrame({"value": {"chapter": chapter, "CPU": cpu, "packages": "keras 3"}})
    provenance_block.publish_environment(env("a", "EPYC"), book=tmp_path)
    provenance_block.publish_environment(env("b", "Xeon"), book=tmp_path)
    text = provenance_block.environment_markdown({"a": "Report A", "b": "Report B"}, book=tmp_path)
    assert "| packages | every chapter: keras 3 |" in text
    assert "| CPU | Report A: EPYC<br>Report B: Xeon |" in text
    # a chapter not yet published never makes the others' shared value look universal
    text = provenance_block.environment_markdown({"a": "A", "b": "B", "c": "C"}, book=tmp_path)
    assert "every chapter" not in text


def test_a_commit_with_uncommitted_changes_says_so_in_words():
    assert provenance_block.commit_words("0123456789abcdef+dirty") == \
        "01234567 (with uncommitted changes)"
    assert provenance_block.commit_words("0123456789abcdef") == "01234567"


def test_a_glued_number_that_was_not_measured_says_so_instead_of_nan():
    assert report.glue_number("x", float("nan"), "{:+.2f}") == "not measured"
    assert report.glue_number("x", 0.1234, "{:+.2f}") == "+0.12"
