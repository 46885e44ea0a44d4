import numpy as np
import pandas as pd
import pytest

from cnnrepro import bench, measurements
from cnnrepro.__main__ import main

SMALL = bench.Bench("resnet_shallow", (28, 28, 1), 10, 16, "test", steps=2)


def test_keras_throughput_times_each_epoch_after_the_warm_up():
    rates = bench.keras_throughput(SMALL, "float32", steps=2, repeats=2)
    assert len(rates) == 2 and all(r > 0 for r in rates)


def test_every_bench_model_builds_and_names_its_chapter():
    from cnnrepro.models import MODELS
    assert {b.model for b in bench.BENCHES} <= set(MODELS)
    assert len({b.model for b in bench.BENCHES}) == len(bench.BENCHES)


def test_bfloat16_is_skipped_with_a_reason_without_bf16_instructions(monkeypatch):
    monkeypatch.setattr(bench, "cpu_flags", lambda: {"fma", "avx2"})
    monkeypatch.setattr(bench, "cpu_mhz", lambda: 2000.0)
    assert bench.peak_gflops("mixed_bfloat16") is None
    assert bench.peak_gflops("float32") == pytest.approx(32 * 2000 / 1e3 * bench.os.cpu_count())
    rows = list(bench.measurements(models=["resnet_shallow"], precisions=["mixed_bfloat16"],
                                   peer=False, log=lambda m: None))
    assert len(rows) == 1 and "no bfloat16 instructions" in rows[0]["note"]


def test_unknown_model_and_bad_counts_are_refused_before_measuring(capsys):
    assert main(["bench", "--models", "alexnet", "--out", "/dev/null"]) == 2
    assert "'alexnet'" in capsys.readouterr().err
    assert main(["bench", "--steps", "0"]) == 2
    assert "--steps=0" in capsys.readouterr().err


def test_the_pytorch_peers_have_the_keras_models_parameter_counts():
    torch = pytest.importorskip("torch")
    from cnnrepro.models import build_model
    from cnnrepro.torch_peers import PEERS
    for b in bench.BENCHES:
        if b.model in PEERS:
            keras_model = build_model(b.model, b.input_shape, b.classes)
            peer = PEERS[b.model](b.input_shape[-1], b.classes)
            trainable = sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights)
            assert sum(p.numel() for p in peer.parameters()) == trainable, b.model
            x = torch.zeros(2, b.input_shape[-1], *b.input_shape[:2])
            assert tuple(peer(x).shape) == (2, b.classes)


def test_chapter_timings_give_the_speed_up_over_one_worker():
    from cnnrepro import measurements
    frame = pd.DataFrame({"chapter": ["c", "c", "c"], "runs": [8, 8, 20], "jobs": [1, 2, 2],
                          "minutes": [10.0, 6.0, 14.0], "same predictions": [True, True, True],
                          "cpu": "x", "cores": 2})
    table = measurements.chapter_timings(frame)
    assert table.loc[("c", 8, 2), "speed-up"] == pytest.approx(10 / 6)
    assert np.isnan(table.loc[("c", 20, 2), "speed-up"])  # no one-worker time for 20 runs


def test_book_timings_name_a_build_of_every_page_by_its_count():
    from cnnrepro import measurements
    frame = pd.DataFrame({"scenario": ["cold", "warm", "one chapter edited"], "seconds": [70.0, 4.0, 20.0],
                          "executed": ["a b c", np.nan, "a"], "commit": "k", "cpu": "x"})
    table = measurements.book_timings(frame)
    assert list(table["pages executed"]) == ["all 3", "none", "a"]


def test_page_timings_take_the_latest_cold_builds_and_say_what_no_page_made():
    from cnnrepro import measurements
    rows = [{"scenario": s, "repeat": r, "page": p, "seconds": t, "runs read": 5, "runs trained": 0,
             "analyses computed": 0, "weights loaded": 0, "commit": c}
            for s, r, p, t, c in [("cold", 1, "a", 99.0, "old"), ("cold", 1, "a", 10.0, "new"),
                                  ("cold", 2, "a", 12.0, "new"), ("cold", 1, "b", 3.0, "new"),
                                  ("cold", 2, "b", 5.0, "new"), ("warm", 1, "a", 1.0, "new"),
                                  ("fresh clone, make book", 1, "a", 20.0, "new")]]
    table, same = measurements.page_timings(pd.DataFrame(rows))
    assert table["cold, median (s)"].to_dict() == {"a": 11.0, "b": 4.0}
    assert table.loc["a", "fresh clone (s)"] == 20.0 and np.isnan(table.loc["b", "fresh clone (s)"])
    assert same == {"cold builds": 2, "runs read": 5, "runs trained": 0, "analyses computed": 0,
                    "weights loaded": 0}


def test_kernels_are_grouped_by_what_they_compute():
    assert bench.op_group("_MklNativeConv2DBackpropFilterWithBias").startswith("convolutions")
    assert bench.op_group("_MklNativeFusedMatMul") == "dense layers"  # not the element-wise Mul
    assert bench.op_group("SquaredDifference").startswith("element-wise")
    assert bench.op_group("ReadVariableOp") == bench.OTHER_KERNELS


def test_the_update_profile_splits_an_update_into_parts_that_add_up(tmp_path):
    out = tmp_path / "profile.csv"
    frame = bench.update_profile(out, models=["resnet_shallow"], steps=6, repeats=1, log=lambda m: None)
    assert list(frame["part"]) == list(bench.UPDATE_PARTS) and (frame["ms"] >= 0).all()
    assert frame["ms"].iloc[0] > 0 and frame["ms"].iloc[2] > 0  # TensorFlow's step, the test batch
    # parts timed in separate epochs add up to about one update on an idle machine; a
    # busy one (training beside the suite) stretches some epochs, so only the order
    # of magnitude is checked
    assert 0.1 < frame["share"].sum() < 3.0
    assert out.is_file()
    kernels = pd.read_csv(out.with_name(measurements.UPDATE_KERNELS))
    by_kind = kernels.set_index("kernels")["ms"]
    assert by_kind[bench.OP_GROUPS[0][0]] > 0  # convolutions found in the trace
    assert by_kind["batch norm, fused"] == 0  # Keras's batch norm runs as separate kernels
    assert kernels["kernel_share"].sum() == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['vgg'\]"):
        bench.update_profile(out, models=["vgg"])


def test_kernel_shares_read_the_latest_measurement_of_each_model():
    rows = [("old", "m", "convolutions (x)", 9.0), ("new", "m", "convolutions (x)", 3.0),
            ("new", "m", "element-wise and reductions", 1.0),
            ("new", "m", "convolutions (x)", 1.0)]  # m measured again: replaces the 3.0
    frame = pd.DataFrame(rows, columns=["commit", "model", "kernels", "ms"])
    assert measurements.kernel_share(frame, "m", "convolutions") == pytest.approx(0.5)
    assert measurements.kernel_share(frame, "m", "element-wise") == pytest.approx(0.5)
    assert np.isnan(measurements.kernel_share(frame, "other", "convolutions"))
    assert np.isnan(measurements.kernel_share(None, "m", "convolutions"))


def test_keras_is_set_against_the_pytorch_peer_of_the_same_bench_run_only():
    frame = pd.DataFrame({
        "framework": ["keras/tensorflow", "pytorch", "keras/tensorflow", "pytorch"],
        "model": ["m"] * 4, "precision": ["float32"] * 4, "cpu": ["A (AVX2)", "A (AVX2)", "A", "A"],
        "source": ["new.csv", "new.csv", "old.csv", "other.csv"],
        "img_per_s": [300.0, 200.0, 100.0, 50.0]})
    ratios = measurements.peer_ratios(frame)
    assert list(ratios.index) == [("m", "float32", "keras/tensorflow", "A (AVX2)")]  # old.csv has no peer
    assert ratios["Keras / PyTorch"].iloc[0] == pytest.approx(1.5)
