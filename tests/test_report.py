import pandas as pd

from cnnrepro import report, run


def test_headlines_follow_book_order_whatever_the_publishing_order(tmp_path):
    first, second = run.chapters()[:2]
    report.publish_headlines(second, [{"chapter": second, "result": "b"}], book=tmp_path)
    out = report.publish_headlines(first, [{"chapter": first, "result": "a"}], book=tmp_path)
    text = out.read_text()
    assert text.index(first) < text.index(second)
    # republishing a chapter replaces its rows instead of adding to them
    report.publish_headlines(first, [{"chapter": first, "result": "a2"}], book=tmp_path)
    rows = pd.read_csv(tmp_path / "_generated" / "headlines" / f"{first}.csv")
    assert rows["result"].tolist() == ["a2"]


def test_compute_devices_names_gpus_or_the_cpu_once_each():
    from types import SimpleNamespace as NS
    gpu = NS(provenance={"devices": ["gpu:0 (NVIDIA H100 80GB HBM3)"], "cpu": "Xeon",
                         "cpu_count": 16, "backend": "jax"})
    cpu = NS(provenance={"devices": ["cpu:0"], "cpu": "AMD EPYC", "cpu_count": 2,
                         "backend": "tensorflow"})
    assert report.compute_devices([gpu, gpu]) == "gpu:0 (NVIDIA H100 80GB HBM3), jax backend"
    assert report.compute_devices([cpu, gpu]) == ("AMD EPYC (2 cores), tensorflow backend; "
                                                   "gpu:0 (NVIDIA H100 80GB HBM3), jax backend")
