"""Training throughput of every model family in the book, and of the PyTorch peer.

``BENCHES`` is the one list of what is measured: each model at the batch size its
chapter trains with. A measurement trains on random data through the chapters'
own path (``compile_for_training``, Keras ``fit`` on NumPy arrays, deterministic
kernels as ``seed_everything`` sets them); the first epoch is warm-up (tracing,
memory), the next ``repeats`` epochs are timed, and the median and range of their
images per second are reported.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from . import flops, provenance
from .measurements import UPDATE_KERNELS
from .models import build_model
from .train import compile_for_training, seed_everything

PRECISIONS = ("float32", "mixed_bfloat16")


@dataclass(frozen=True)
class Bench:
    model: str
    input_shape: tuple
    classes: int
    batch_size: int
    chapter: str
    steps: int  # batches per timed epoch: enough for about 2 s or more on 2 cores
    optimizer: str = "adam"
    learning_rate: float = 1e-3


BENCHES = (
    Bench("resnet_shallow", (28, 28, 1), 10, 64, "residual_depth", 40),
    Bench("resnet_deep", (28, 28, 1), 10, 64, "residual_depth", 32),
    Bench("pair_classifier", (28, 28, 2), 2, 64, "digit_pairs", 40),
    Bench("vgg16", (32, 32, 3), 10, 128, "vgg_resnet", 4),
    Bench("resnet18", (32, 32, 3), 10, 128, "vgg_resnet", 24),
    Bench("resnet18_small_stem", (32, 32, 3), 10, 128, "(CPU reference)", 4),
    Bench("simple_cnn", (28, 28, 1), 10, 128, "cnn_sweeps", 24, "sgd", 0.1),
    Bench("dnn", (28, 28, 1), 10, 32, "dnn_convnet_resnet", 200),
    Bench("convnet", (28, 28, 1), 10, 32, "dnn_convnet_resnet", 80),
    Bench("resnet50_block", (28, 28, 1), 10, 32, "dnn_convnet_resnet", 12),
)


def cpu_flags() -> set[str]:
    return set((provenance.cpuinfo("flags") or "").split())


def cpu_mhz() -> float | None:
    try:
        return float(provenance.cpuinfo("cpu MHz"))
    except (TypeError, ValueError):
        return None


def peak_gflops(precision: str) -> float | None:
    """Nominal peak of all cores: two fused multiply-add units per core, each as wide
    as the widest vector unit the flags show (AVX-512: 16 float32, AVX2: 8), 2 FLOPs
    per FMA; bfloat16 only where the CPU computes it (AMX or AVX512_BF16)."""
    flags, mhz = cpu_flags(), cpu_mhz()
    if mhz is None:
        return None
    if precision == "float32":
        lanes = 16 if "avx512f" in flags else 8 if "fma" in flags else 4
        per_cycle = 2 * lanes * 2
    elif "amx_bf16" in flags:
        per_cycle = 1024  # one AMX tile multiply per cycle: 512 bf16 multiply-adds
    elif "avx512_bf16" in flags:
        per_cycle = 2 * 32 * 2
    else:
        return None
    return per_cycle * mhz / 1e3 * os.cpu_count()


def on_accelerator() -> bool:
    """Whether Keras computes on a GPU (or another accelerator) rather than the CPU."""
    return any(not d.startswith("cpu") for d in provenance.accelerators())


def has_bf16_hardware() -> bool:
    return bool(cpu_flags() & {"amx_bf16", "avx512_bf16"})


def synthetic(b: Bench, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, *b.input_shape), dtype=np.float32)
    y = np.eye(b.classes, dtype=np.float32)[rng.integers(0, b.classes, n)]
    return x, y


class EpochSeconds(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def keras_throughput(b: Bench, precision: str, steps: int, repeats: int) -> list[float]:
    """Images per second of each timed epoch of ``steps`` batches."""
    seed_everything(0)
    keras.mixed_precision.set_global_policy(precision)
    try:
        model = compile_for_training(build_model(b.model, b.input_shape, b.classes),
                                     b.optimizer, b.learning_rate)
        x, y = synthetic(b, steps * b.batch_size)
        timer = EpochSeconds()
        model.fit(x, y, batch_size=b.batch_size, epochs=1 + repeats, shuffle=True,
                  verbose=0, callbacks=[timer])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return [len(x) / s for s in timer.seconds[1:]]


def torch_throughput(b: Bench, precision: str, steps: int, repeats: int) -> list[float]:
    """The same for the PyTorch peer: channels-last, bfloat16 by autocast."""
    import torch

    from .torch_peers import PEERS
    torch.manual_seed(0)
    model = PEERS[b.model](b.input_shape[-1], b.classes).to(memory_format=torch.channels_last)
    opt = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[b.optimizer](
        model.parameters(), lr=b.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = synthetic(b, steps * b.batch_size)
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    y = torch.from_numpy(y.argmax(1))
    rates = []
    for epoch in range(1 + repeats):
        order = torch.randperm(len(x))
        start = time.perf_counter()
        for i in range(steps):
            idx = order[i * b.batch_size:(i + 1) * b.batch_size]
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision != "float32"):
                loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        rates.append(len(x) / (time.perf_counter() - start))
    return rates[1:]


UPDATE_PARTS = ("train step in TensorFlow (forward, backward, optimizer)",
                "Keras fit loop and the history callback (Python)",
                "per-update test batch (predict_on_batch, its loss and accuracy)")
PROFILED_MODELS = ("resnet_shallow", "resnet_deep", "simple_cnn")


def _timed_fit(b: Bench, steps: int, per_update_test: bool, profile: bool = False) -> dict:
    """One epoch of ``steps`` updates through ``fit`` with the per-update history (after
    one warm-up epoch): its seconds per update, the test batches' share and, when
    ``profile``, the seconds spent executing TensorFlow's compiled functions."""
    import cProfile
    import pstats
    import types

    from .train import UpdateHistory
    seed_everything(0)
    model = compile_for_training(build_model(b.model, b.input_shape, b.classes), b.optimizer,
                                 b.learning_rate)
    x, y = synthetic(b, steps * b.batch_size)
    test_x, test_y = synthetic(b, 1024, seed=1)
    task = types.SimpleNamespace(x_test=test_x, labels_test=test_y.argmax(1), x_train=x)
    model.fit(x, y, batch_size=b.batch_size, epochs=1, verbose=0, shuffle=True,
              callbacks=[UpdateHistory(task, b.batch_size, 0, per_update_test)])
    history = UpdateHistory(task, b.batch_size, 0, per_update_test)
    history.on_epoch_end = lambda epoch, logs=None: None  # the test set after the epoch: not an update
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    model.fit(x, y, batch_size=b.batch_size, epochs=1, verbose=0, shuffle=True, callbacks=[history])
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - start
    out = {"update": seconds / steps, "test": history.eval_seconds / steps}
    if profiler:
        stats = pstats.Stats(profiler).stats
        out["tensorflow"] = sum(v[2] for (_, _, name), v in stats.items() if "TFE_Py_Execute" in name) / steps
    return out


# TensorFlow kernels by what they compute, for the op-level profile; the first match wins
OP_GROUPS = (
    ("convolutions (forward and both gradients)", ("Conv2D",)),
    ("batch norm, fused", ("BatchNorm",)),
    ("dense layers", ("MatMul",)),  # before the element-wise "Mul"
    ("element-wise and reductions (batch norm's arithmetic, the optimizer)",
     ("Mul", "Sub", "SquaredDifference", "Mean", "Sum", "Tile", "AddV2", "AddN", "Rsqrt",
      "RealDiv", "Sqrt", "Square", "Maximum", "Neg", "Cast", "Pow", "Equal")),
    ("max pooling", ("MaxPool",)),
    ("concatenation, slicing, padding", ("Concat", "Slice", "Pad")),
)


OTHER_KERNELS = "reading and assigning variables, other kernels"
EXECUTOR_SPANS = ("ThreadpoolListener::", "ExecutorState::")  # spans around the kernels


def op_group(op: str) -> str:
    return next((g for g, names in OP_GROUPS if any(n in op for n in names)), OTHER_KERNELS)


def kernel_milliseconds(b: Bench, steps: int = 40) -> dict[str, float]:
    """Milliseconds per update that TensorFlow's kernels of each ``OP_GROUPS`` group run
    (summed over threads) in ``steps`` profiled updates without test batches, read
    from the TensorFlow profiler's trace."""
    import gzip
    import json
    import tempfile

    import tensorflow as tf
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin
    seed_everything(0)
    model = compile_for_training(build_model(b.model, b.input_shape, b.classes), b.optimizer,
                                 b.learning_rate)
    x, y = synthetic(b, steps * b.batch_size)
    model.fit(x, y, batch_size=b.batch_size, epochs=1, verbose=0)  # warm-up: tracing
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        model.fit(x, y, batch_size=b.batch_size, epochs=1, verbose=0)
        tf.profiler.experimental.stop()
        trace, _ = plugin.xspace_to_tools_data([str(next(Path(logdir).rglob("*.xplane.pb")))],
                                               "trace_viewer@", {})
    try:
        trace = gzip.decompress(trace)
    except OSError:
        pass
    events = json.loads(trace)["traceEvents"]
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
               if e.get("ph") == "M" and e.get("name") == "thread_name"}
    ms = dict.fromkeys([g for g, _ in OP_GROUPS] + [OTHER_KERNELS], 0.0)
    for e in events:  # kernels run on TensorFlow's compute threads
        if (e.get("ph") == "X" and not e["name"].startswith(EXECUTOR_SPANS)
                and threads.get((e["pid"], e["tid"]), "").startswith("tf_Compute")):
            ms[op_group(e["name"])] += e["dur"] / 1e3 / steps
    return ms


def update_profile(out: Path, models=PROFILED_MODELS, steps: int = 200, repeats: int = 3,
                   log=print) -> pd.DataFrame:
    """Where one training update of each of ``models`` (its chapter's batch size, with
    Report 2's per-update test batch) spends its time, in milliseconds: ``UPDATE_PARTS``,
    the fastest of ``repeats`` epochs of ``steps`` updates (on a shared 2-core machine
    the slower epochs measure the neighbours). The TensorFlow part is the time
    in its compiled functions (cProfile) of an epoch without test batches, the
    Python part that epoch's remaining time unprofiled, the test batch the extra
    time the history callback measures around it. Each model's rows are appended to
    ``out`` as soon as it is measured, its kernels' milliseconds by ``OP_GROUPS``
    (``kernel_milliseconds``) to ``out``'s sibling ``UPDATE_KERNELS``."""
    by_name = {b.model: b for b in BENCHES}
    unknown = [m for m in models if m not in by_name]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; allowed: {sorted(by_name)}")
    frame = pd.DataFrame()
    for name in models:
        rows = []
        b = by_name[name]
        plain = [_timed_fit(b, steps, False) for _ in range(repeats)]
        traced = [_timed_fit(b, steps, False, profile=True) for _ in range(repeats)]
        tested = [_timed_fit(b, steps, True) for _ in range(repeats)]
        tf_ms = min(t["tensorflow"] for t in traced) * 1e3
        fit_ms = min(t["update"] for t in plain) * 1e3
        fastest = min(tested, key=lambda t: t["update"])
        test_ms, total_ms = fastest["test"] * 1e3, fastest["update"] * 1e3
        parts = dict(zip(UPDATE_PARTS, (tf_ms, max(fit_ms - tf_ms, 0.0), test_ms)))
        for part, ms in parts.items():
            rows.append({"model": name, "batch_size": b.batch_size, "part": part, "ms": round(ms, 2),
                         "share": round(ms / total_ms, 3), "update_ms": round(total_ms, 2),
                         "steps": steps, "repeats": repeats, "cpu": provenance.cpu_model(),
                         "cores": os.cpu_count(), "commit": provenance.code_commit(),
                         "date": provenance.now_utc()})
        log(f"{name}: {total_ms:.1f} ms per update: " + ", ".join(f"{p.split(' (')[0]} {ms:.1f}"
                                                                 for p, ms in parts.items()))
        frame = _append(pd.DataFrame(rows), out)  # each model as measured: an interruption keeps it
        kernels = kernel_milliseconds(b, min(steps, 40))
        _append(pd.DataFrame([{"model": name, "batch_size": b.batch_size, "kernels": group,
                               "ms": round(ms, 2), "kernel_share": round(ms / sum(kernels.values()), 3),
                               **{k: rows[0][k] for k in ("cpu", "cores", "commit", "date")}}
                              for group, ms in kernels.items()]),
                out.with_name(UPDATE_KERNELS))
        log(f"{name}: kernels " + ", ".join(f"{g.split(' (')[0]} {ms:.1f}" for g, ms in kernels.items()))
    return frame


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def measurements(models=None, precisions=PRECISIONS, steps: int | None = None, repeats: int = 3,
                 peer: bool = True, force_bf16: bool = False, log=print):
    """Yield one row per (framework, model, precision), a progress line each;
    ``steps`` overrides every bench's own batches per timed epoch."""
    chosen = [b for b in BENCHES if models is None or b.model in models]
    unknown = sorted(set(models or ()) - {b.model for b in BENCHES})
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; allowed: {[b.model for b in BENCHES]}")
    backend = keras.backend.backend()
    for b in chosen:
        macs = flops.model_macs(build_model(b.model, b.input_shape, b.classes))
        frameworks = [(f"keras/{backend}", keras_throughput)]
        if peer and torch_available() and b.model in _peer_models():
            frameworks.append(("pytorch", torch_throughput))
        for precision in precisions:
            for framework, measure in frameworks:
                row = {"framework": framework, "model": b.model, "chapter": b.chapter,
                       "batch_size": b.batch_size, "precision": precision, "steps": steps or b.steps,
                       "repeats": repeats, "train_gflop_per_image": 6 * macs / 1e9}
                if precision != "float32" and not (has_bf16_hardware() or force_bf16):
                    row["note"] = "skipped: this CPU has no bfloat16 instructions (AMX, AVX512_BF16)"
                    log(f"{framework} {b.model} {precision}: {row['note']}")
                    yield row
                    continue
                rates = measure(b, precision, steps or b.steps, repeats)
                row.update({"img_per_s": statistics.median(rates), "img_per_s_min": min(rates),
                            "img_per_s_max": max(rates)})
                row["achieved_gflop_s"] = row["img_per_s"] * row["train_gflop_per_image"]
                # The nominal peak is the CPU's: a run on an accelerator has none here.
                row["peak_gflop_s"] = None if on_accelerator() else peak_gflops(precision)
                log(f"{framework} {b.model} bs={b.batch_size} {precision}: "
                    f"{row['img_per_s']:.1f} img/s (range {min(rates):.1f}-{max(rates):.1f})")
                yield row


def _peer_models():
    from .torch_peers import PEERS  # needs torch: imported only when it is there
    return PEERS


def write_csv(frame: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Write ``frame`` by one rename, so an interrupted benchmark leaves the old file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    frame.to_csv(tmp, index=False, float_format="%.6g")
    os.replace(tmp, out)
    return frame


def default_csv() -> Path:
    """results/bench/<backend>-<cpu>-<cores>cores.csv (on a GPU: <backend>-<gpu>.csv):
    one file per machine and backend."""
    from .paths import repo_root

    def slug(text: str) -> str:
        return re.sub("-+", "-", "".join(c if c.isalnum() else "-" for c in text.lower())).strip("-")

    backend = keras.backend.backend()
    if on_accelerator():  # e.g. 'gpu:0 (NVIDIA H100 80GB HBM3)' -> jax-nvidia-h100-80gb-hbm3.csv
        device = provenance.accelerators()[0]
        return repo_root() / "results" / "bench" / f"{backend}-{slug(device.split('(')[-1])}.csv"
    cpu = slug(provenance.cpu_model())
    if backend == "tensorflow":
        backend += "-onednn-" + ("off" if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0" else "on")
    return repo_root() / "results" / "bench" / f"{backend}-{cpu}-{os.cpu_count()}cores.csv"


def run(out: Path, **kw) -> pd.DataFrame:
    """Measure and write the CSV (atomically, with the machine's facts per row)."""
    env = provenance.environment()
    facts = {"cpu": env["cpu"], "isa": provenance.isa(), "cores": env["cpu_count"],
             "backend": env["backend"],
             "devices": ", ".join(env["devices"]),
             "keras": env["packages"].get("keras"),
             "tensorflow": env["packages"].get("tensorflow-cpu") or env["packages"].get("tensorflow"),
             "torch": env["packages"].get("torch"), "commit": env["git_commit"], "date": env["date"],
             "tf_onednn": env["settings"].get("TF_ENABLE_ONEDNN_OPTS", "default")}
    frame = pd.DataFrame([{**row, **facts} for row in measurements(**kw)])
    if facts["backend"] == "tensorflow":  # name the setting in the framework column
        keras_rows = frame["framework"] != "pytorch"
        frame.loc[keras_rows, "framework"] += " (oneDNN " + (
            "off" if facts["tf_onednn"] == "0" else "on") + ")"
    if out.is_file():  # a measurement of some models keeps the file's other rows
        old = pd.read_csv(out)
        measured = set(zip(frame["framework"], frame["model"], frame["precision"]))
        kept = [k not in measured for k in zip(old["framework"], old["model"], old["precision"])]
        frame = pd.concat([old[kept], frame], ignore_index=True)
    return write_csv(frame, out)


# --- does the fast setting change results? ------------------------------------------

def _equivalence_configs():
    from .train import RunConfig
    return (  # chapter 1's first run, and the NTU base model the sweeps start from
        RunConfig(task="mnist", model="resnet_shallow", epochs=1, batch_size=64, seed=0),
        RunConfig(task="mnist", model="simple_cnn", epochs=1, batch_size=128, seed=0,
                  optimizer="sgd", learning_rate=0.1),
    )


SETTINGS_COMPARED = {"oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
                     "oneDNN on": {"TF_ENABLE_ONEDNN_OPTS": "1"}}


def train_and_print(canonical_json: str) -> None:
    """Worker: train one config in this process, print its metrics and timing as JSON."""
    import json

    from .train import RunConfig, train
    result = train(RunConfig.from_canonical(json.loads(canonical_json)), verbose=0, checkpoints="off")
    print(json.dumps({**result.metrics, **result.timing}))


def settings_check(out: Path, log=print) -> pd.DataFrame:
    """Each equivalence config trained once per setting, each in a fresh process (the
    setting is read when TensorFlow loads); test metrics and time side by side."""
    import json
    import subprocess
    import sys
    rows = []
    for config in _equivalence_configs():
        for setting, env in SETTINGS_COMPARED.items():
            log(f"{config.label()} with {setting}: training")
            proc = subprocess.run(
                [sys.executable, "-c", "import sys; from cnnrepro.bench import train_and_print; "
                 "train_and_print(sys.argv[1])", json.dumps(config.canonical())],
                env={**os.environ, **env}, capture_output=True, text=True, check=True)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append({"model": config.model, "run": config.label(), "setting": setting,
                         "accuracy": result["accuracy"], "loss": result["loss"], "f1": result["f1"],
                         "train_seconds": result["train_seconds"],
                         "train_img_per_s": result["train_images_per_second"],
                         "cpu": provenance.cpu_model(), "commit": provenance.code_commit()})
            log(f"  accuracy {result['accuracy']:.4f}, {result['train_images_per_second']:.0f} img/s")
    frame = pd.DataFrame(rows)
    return write_csv(frame, out)


BOOK_SCENARIOS = ("cold", "warm", "one chapter edited")
EDITED_CHAPTER = "residual_depth"
FRESH_CLONE = "fresh clone, make book"


def executed_pages(build_log: str) -> list[str]:
    """The pages a build executed, from its "cnnrepro: <page> (...): executing" lines."""
    return re.findall(r"^cnnrepro: (\w+) \(.*\): executing", build_log, re.M)


def page_rows(book: Path, scenario: str, repeat: int, names: list[str]) -> list[dict]:
    """One row per page the build executed: its seconds and what it read and made,
    from its executed notebook's record."""
    from .execution import read_record
    rows = []
    for name in names:
        r = read_record(book, name) or {}
        rows.append({"scenario": scenario, "repeat": repeat, "page": name,
                     "seconds": r.get("seconds"), "runs read": r.get("runs_read"),
                     "runs trained": r.get("runs_trained"),
                     "analyses computed": r.get("analyses_computed"),
                     "weights loaded": r.get("weights_loaded")})
    return rows


def time_book(out: Path, repeats: int = 3, jobs: int | None = None, fresh_clone: bool = False,
              log=print) -> pd.DataFrame:
    """Wall time of the plain build, ``jupyter-book build book/``, on a fresh copy of
    the book that reads this checkout's results store, ``repeats`` times each:
    cold (no executed notebooks, no HTML), warm (nothing changed) and after one
    chapter's markdown was edited; with ``fresh_clone``, also ``make book`` on a clone
    of the last commit (its install included). Each row also counts the pages the
    build executed (its "executing" lines). Rows are appended to ``out``, and each
    executed page's seconds to ``measurements.PAGE_TIMING`` beside it."""
    import shutil
    import subprocess
    import tempfile

    from .measurements import PAGE_TIMING
    from .paths import repo_root
    from .run import jupyter_book
    root = repo_root()
    rows, pages = [], []
    with tempfile.TemporaryDirectory(prefix="time-book-") as tmp:
        work = Path(tmp)
        (work / "results").symlink_to(root / "results")
        env = {**os.environ, "CNNREPRO_ROOT": str(work), "CNNREPRO_PROFILE": "cpu"}
        env.pop("CNNREPRO_RESULTS", None)
        if jobs:
            env["CNNREPRO_JOBS"] = str(jobs)
        for repeat in range(1, repeats + 1):
            shutil.rmtree(work / "book", ignore_errors=True)
            shutil.copytree(root / "book", work / "book",
                            ignore=shutil.ignore_patterns("_build", "_generated", "*.ipynb"))
            for scenario in BOOK_SCENARIOS:
                if scenario == "one chapter edited":
                    source = work / "book" / "chapters" / f"{EDITED_CHAPTER}.py"
                    source.write_text(source.read_text() + f"\n# %% [markdown]\n# Timing edit {repeat}.\n")
                start = time.perf_counter()
                build = subprocess.run([jupyter_book(), "build", "book/"], cwd=work, env=env,
                                       capture_output=True, text=True)
                seconds = time.perf_counter() - start
                if build.returncode != 0:
                    raise RuntimeError(f"the {scenario} build failed:\n{build.stdout[-2000:]}"
                                       f"{build.stderr[-2000:]}")
                executed = executed_pages(build.stdout)
                rows.append(_build_row(scenario, repeat, seconds, executed, jobs))
                pages += page_rows(work / "book", scenario, repeat, executed)
                log(f"{scenario} build {repeat}/{repeats}: {seconds:.1f} s, "
                    f"{len(executed)} page(s) executed {executed}")
        if fresh_clone:
            seconds, executed, book = _time_fresh_clone(root, work / "clone", jobs)
            rows.append(_build_row(FRESH_CLONE, 1, seconds, executed, jobs))
            pages += page_rows(book, FRESH_CLONE, 1, executed)
            log(f"{FRESH_CLONE}: {seconds:.1f} s, {len(executed)} page(s) executed")
    _append(pd.DataFrame(pages).assign(commit=provenance.git_commit(Path(__file__).parent),
                                       date=provenance.now_utc()),
            out.with_name(PAGE_TIMING))
    return _append(pd.DataFrame(rows), out)


def _build_row(scenario: str, repeat: int, seconds: float, executed: list[str],
               jobs: int | None) -> dict:
    return {"scenario": scenario, "repeat": repeat, "seconds": round(seconds, 1),
            "pages executed": len(executed), "executed": " ".join(executed),
            "jobs": jobs or os.cpu_count(), "cpu": provenance.cpu_model(),
            "cores": os.cpu_count(), "commit": provenance.git_commit(Path(__file__).parent),
            "date": provenance.now_utc()}


def _time_fresh_clone(root: Path, clone: Path, jobs: int | None) -> tuple[float, list[str], Path]:
    """``git clone`` of the last commit, then ``make book`` in it (a new .venv, the
    install, every page from the clone's committed store, the HTML): (seconds, pages
    executed, the clone's book)."""
    import subprocess
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CNNREPRO_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(root / ".venv")))
    if jobs:
        env["CNNREPRO_JOBS"] = str(jobs)
    start = time.perf_counter()
    mirror = root.parent / "shared" / "data"  # what the Makefile finds beside a checkout
    if "REPRO_DATA_DIR" not in env and mirror.is_dir():
        env["REPRO_DATA_DIR"] = str(mirror)
    subprocess.run(["git", "clone", "--quiet", str(root), str(clone)], check=True)
    build = subprocess.run(["make", "book"], cwd=clone, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if build.returncode != 0:
        raise RuntimeError(f"make book in a fresh clone failed:\n{build.stdout[-2000:]}"
                           f"{build.stderr[-2000:]}")
    return seconds, executed_pages(build.stdout), clone / "book"


def _append(frame: pd.DataFrame, out: Path) -> pd.DataFrame:
    if out.is_file():
        frame = pd.concat([pd.read_csv(out), frame], ignore_index=True)
    return write_csv(frame, out)


def time_chapter(out: Path, chapter: str, jobs: list[int], params: dict | None = None,
                 log=print) -> pd.DataFrame:
    """Wall time of ``python -m cnnrepro train <chapter>`` from an empty results store
    with each of ``jobs`` worker counts (the chapter's own runs only: ``params`` are
    chapter parameters, e.g. seeds), and whether every count gave the same test
    predictions as the first. Rows are appended to ``out``."""
    import json
    import subprocess
    import sys
    import tempfile

    from .protocol import resolve
    from .store import ResultsStore
    params = {"ablations": [], **(params or {})}
    proto = resolve(chapter, **params)
    configs = proto.run_configs()
    rows, first = [], None
    for n in jobs:
        with tempfile.TemporaryDirectory(prefix="time-chapter-") as tmp:
            env = {**os.environ, "CNNREPRO_RESULTS": tmp}
            command = [sys.executable, "-m", "cnnrepro", "train", chapter, "--jobs", str(n)]
            for name, value in params.items():
                command += ["-p", name, json.dumps(value)]
            log(f"{chapter}, {len(configs)} runs, --jobs {n}: training from an empty store")
            start = time.perf_counter()
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - start
            store = ResultsStore(Path(tmp))
            probs = [store.load(c).test_probs for c in configs]
        same = first is None or all(np.array_equal(a, b) for a, b in zip(first, probs))
        first = probs if first is None else first
        rows.append({"chapter": chapter, "profile": proto.profile, "runs": len(configs), "jobs": n,
                     "minutes": round(seconds / 60, 2), "same predictions": same,
                     "cpu": provenance.cpu_model(), "cores": os.cpu_count(),
                     "commit": provenance.git_commit(Path(__file__).parent),
                     "date": provenance.now_utc()})
        log(f"--jobs {n}: {seconds / 60:.1f} min, same predictions as the first: {same}")
    frame = pd.DataFrame(rows)
    if out.is_file():
        frame = pd.concat([pd.read_csv(out), frame], ignore_index=True)
    return write_csv(frame, out)
