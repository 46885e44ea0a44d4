# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Performance
#
# How fast each model of the book trains on the machines it was measured on, in Keras
# (on TensorFlow, and on other Keras backends where measured) beside the same
# networks written directly in PyTorch, and how far that is from the processor's
# limit. Every number comes from `results/bench/*.csv`, written by `make bench`
# (`python -m cnnrepro bench`): random data, each model at the batch size its chapter
# trains with, the chapters' own compile-and-fit path (deterministic kernels
# included), one warm-up epoch and then several timed epochs (median and range).

# %% tags=["remove-cell"]
import pandas as pd
from IPython.display import Markdown, display

from cnnrepro import measurements, plots, protocol, report
from cnnrepro.paths import repo_root
from cnnrepro.store import ResultsStore

bench = measurements.throughput()
measured = bench[bench["img_per_s"].notna()] if len(bench) else bench
# GPU rows have their own section; every other section is about CPUs.
on_gpu_mask = (measured["devices"].fillna("").str.contains("gpu|cuda", case=False)
               if len(measured) else pd.Series(dtype=bool))
on_gpu, measured = measured[on_gpu_mask], measured[~on_gpu_mask]
report.glue("n_files", str(bench["source"].nunique() if len(bench) else 0))
report.glue("machines", "; ".join(sorted({f"{r.cpu} ({r.cores} cores)" for r in measured.itertuples()}
                                          | (set(on_gpu["devices"].str.extract(r"\((.*)\)")[0])
                                             if len(on_gpu) else set())))
            or "none yet")

# %% [markdown]
# Measurements: {glue:text}`n_files` file(s), from {glue:text}`machines`.
#
# ## Training throughput

# %% tags=["remove-input"]
if len(measured):
    table, shared = measurements.throughput_table(measured)
    display(report.table(
        table, "Training images per second (training GFLOP = 6 x multiply-adds of one forward "
        "pass, counted from the Keras model" + (f"; every row: {report.said_once(shared)})"
                                                if shared else ")"), precision=1, csv=measured))
    skipped = bench[bench["img_per_s"].isna()]
    if len(skipped):
        display(Markdown("Not measured: " + "; ".join(sorted({
            f"{r.precision} ({r.note})" for r in skipped.itertuples()}))))
else:
    display(Markdown("No measurements yet: run `make bench`."))

# %% [markdown]
# ```{glue:figure} fig_throughput
# :name: fig-throughput
#
# **Figure P1.** Training images per second of each model (median over the timed
# epochs, log scale), one bar per framework and precision; the table above gives the
# range.
# ```

# %% tags=["remove-cell"]
report.figure("fig_throughput", plots.throughput_bars(measured) if len(measured)
              else plots.note_figure("no measurements yet: run make bench"))

# %% [markdown]
# ## What made TensorFlow fast on this processor
#
# The rows "oneDNN off" above are TensorFlow as installed: on processors without
# AVX512_VNNI (this one reports AVX2 and FMA only) TensorFlow leaves its oneDNN
# kernels off and runs convolutions through Eigen. The same networks in PyTorch,
# whose CPU convolutions are oneDNN's, trained 2 to 4 times faster than that on the
# same data and batch sizes, which points at the kernels rather than at the input
# (both read in-memory arrays) or the optimizer. `cnnrepro` therefore sets
# `TF_ENABLE_ONEDNN_OPTS=1` before TensorFlow loads (unless the user set it); the
# "oneDNN on" rows are the result, for every chapter at once, since every run
# trains through the same `compile_for_training` and `fit`. XLA (`jit_compile=True`) was slower for every
# model here and is not used. Mixed bfloat16 is not measured on this processor: it
# has no bfloat16 instructions, so bfloat16 would be emulated (the table says which
# rows were skipped and why).

# %% [markdown]
# ## On a GPU

# %% tags=["remove-input"]
if len(on_gpu):
    cpu_best = measured.groupby(["model", "precision"])["img_per_s"].max()
    gpu_table = on_gpu.set_index(["model", "batch_size", "precision"])[["img_per_s"]].sort_index()
    gpu_table["x the fastest CPU row"] = [
        r / cpu_best.get((m, "float32"), float("nan")) for (m, _, _), r in gpu_table["img_per_s"].items()]
    devices = ", ".join(sorted(set(on_gpu["devices"].str.extract(r"\((.*)\)")[0].dropna())))
    display(Markdown(
        "The same benchmark on a GPU (Keras on JAX), the machine the `paper` runs of chapters "
        "3 and 4 trained on; the ratio is against the fastest float32 CPU row of the same "
        "model above."))
    display(report.table(gpu_table.rename(columns={"img_per_s": "images/s (median)"}),
                         f"Training images per second on {devices}, Keras on JAX", precision=1,
                         csv=on_gpu))
else:
    display(Markdown(
        "No GPU measurement yet: no GPU was lent to the machines this book was built on. "
        "`python -m cnnrepro bench --no-peer` with `KERAS_BACKEND=jax` on a GPU machine "
        "writes its own file to `results/bench/`, and this section shows it."))

# %% [markdown]
# ## Keras against PyTorch
#
# The same network and batch size, Keras images per second divided by PyTorch's:
# above 1, Keras is faster.

# %% tags=["remove-input"]
if len(measured) and (measured["framework"] == "pytorch").any():
    display(report.table(measurements.peer_ratios(measured),
                         "Keras / PyTorch training throughput, same machine and bench run",
                         precision=2))
else:
    display(Markdown("No PyTorch measurements (install the `bench` extra: `torch==2.13.0`)."))

# %% [markdown]
# ## Does the fast setting change results?
#
# TensorFlow turns its oneDNN kernels on by itself only on processors with
# AVX512_VNNI or newer; on others it uses slower Eigen kernels. `cnnrepro` turns
# oneDNN on everywhere (`TF_ENABLE_ONEDNN_OPTS=1` unless the user set it). oneDNN sums
# in a different order, so results differ in the last digits; whether that matters is
# measured here: a chapter-1 run and the base run of the NTU sweeps (chapter 4),
# trained once with each setting from the same seed (`bench --check-settings`).

# %% tags=["remove-input"]
check = measurements.read(measurements.SETTINGS_CHECK)
if check is not None:
    wide = check.pivot_table(index="run", columns="setting", values=["accuracy", "train_img_per_s"])
    off, on = "oneDNN off", "oneDNN on"
    compared = pd.DataFrame({
        f"accuracy, {off}": wide[("accuracy", off)], f"accuracy, {on}": wide[("accuracy", on)],
        "accuracy difference": wide[("accuracy", on)] - wide[("accuracy", off)],
        f"images/s, {off}": wide[("train_img_per_s", off)].round(0),
        f"images/s, {on}": wide[("train_img_per_s", on)].round(0),
        "speed-up": wide[("train_img_per_s", on)] / wide[("train_img_per_s", off)]})
    display(report.table(compared, "Test accuracy and training speed of the same run (same "
                         "seed) with TensorFlow's oneDNN kernels off and on", precision=4))
else:
    display(Markdown("No settings check yet: run `python -m cnnrepro bench --check-settings`."))

# %% [markdown]
# The runs stored for chapters 1 and 2 were trained before this default changed, with
# oneDNN off (TensorFlow's own default on their processor); the store reuses them, so
# their numbers stay as they are, and a rerun with `force` gives the oneDNN numbers.
#
# ## The processor's limit
#
# The peak is nominal: two fused multiply-add units per core, as wide as the widest
# vector instructions the processor reports (AVX-512: 16 float32 lanes, AVX2: 8), two
# operations per multiply-add, at the clock `/proc/cpuinfo` reports, on every core.
# bfloat16 has a peak only where the processor computes it (AMX or AVX512_BF16);
# elsewhere bfloat16 is emulated and is not measured.

# %% tags=["remove-input"]
if len(measured):
    peak = measured.groupby(["cpu", "cores", "precision"])["peak_gflop_s"].first().rename("nominal peak GFLOP/s")
    display(report.table(peak.to_frame(), "Nominal peak of each measured processor", precision=1))

# %% [markdown]
# ## Where a small model's update goes
#
# The small networks train far below the processor's limit. One update of each,
# at its chapter's batch size and with Report 2's per-update test batch, split
# (`python -m cnnrepro bench --profile-update`, the fastest of three epochs of 100
# updates on random images): the time inside TensorFlow's compiled train step
# (measured with `cProfile`), the rest of Keras's `fit` loop and the history callback
# in Python, and the test batch scored after the update.

# %% tags=["remove-input"]
profile = measurements.read(measurements.UPDATE_PROFILE)
if profile is not None:
    display(report.table(measurements.update_profile(profile),
                         f"Milliseconds per update by part, {profile['cpu'].iloc[-1]}, "
                         f"{profile['cores'].iloc[-1]} cores", precision=2, csv=profile))

# %% [markdown]
# Inside TensorFlow's step, by what its kernels compute: the TensorFlow profiler's
# trace of 40 updates without test batches, milliseconds per update summed over the
# threads that run kernels (so a column can exceed the step's wall time).

# %% tags=["remove-input"]
kernels = measurements.read(measurements.UPDATE_KERNELS)
report.glue("elementwise_shallow", measurements.kernel_share(kernels, "resnet_shallow", "element-wise"))
report.glue("conv_shallow", measurements.kernel_share(kernels, "resnet_shallow", "convolutions"))
report.glue("simple_cnn_peak", measurements.peak_share(measured, "simple_cnn"))
if kernels is not None:
    display(report.table(measurements.update_kernels(kernels),
                         f"Kernel milliseconds per update, {kernels['cpu'].iloc[-1]}, "
                         f"{kernels['cores'].iloc[-1]} cores", precision=2, csv=kernels))

# %% [markdown]
# The Report 2 networks have convolutions of 6 to 64 channels on at most 32x32
# images: little arithmetic per kernel, so a kernel's fixed cost dominates. Keras
# computes batch normalization as separate element-wise kernels and reductions
# (mean, squared difference, multiply, tile for the gradient), and they take
# {glue:text}`elementwise_shallow:.0%` of `resnet_shallow`'s kernel time, against
# {glue:text}`conv_shallow:.0%` for its convolutions. The simple CNN's step is the
# opposite case: it is nearly all convolution arithmetic and already runs at up to
# {glue:text}`simple_cnn_peak:.0%` of the processor's nominal peak (throughput table
# above), which bounds what any change of kernels, compilation or threads can gain
# on it without changing the arithmetic (for example to bfloat16).

# %% [markdown]
# ## The book's own timings
#
# The plain build, `jupyter-book build book/`, on a fresh copy of the book that reads
# the committed results store (`python -m cnnrepro bench --time-book`, three builds of
# each kind): *cold* has no executed notebook and no HTML, so every page is executed
# and rendered; *warm* follows with nothing changed and must execute nothing; the
# third follows an edit to one chapter's markdown, which must execute that chapter
# only. *Fresh clone* is `make book` in a new clone of the repository: a new virtual
# environment and the install (from pip's cache on this machine), then the cold build.
# Pages run two at a time on the two cores.

# %% tags=["remove-input"]
timings = measurements.read(measurements.BOOK_TIMING)
if timings is not None:
    display(report.table(measurements.book_timings(timings),
                         f"Build times on {timings['cpu'].iloc[-1]}, {timings['cores'].iloc[-1]} "
                         f"cores (commit {timings['commit'].iloc[-1][:7]}, {timings['date'].iloc[-1][:10]})",
                         precision=1, csv=timings))
else:
    display(Markdown("Not timed yet: run `python -m cnnrepro bench --time-book`."))

# %% [markdown]
# Each page of those builds: a page only reads its runs and the analyses stored beside
# them (`cnnrepro.analyses`: batch-norm re-scoring, the feature probe of Report 3), so
# it trains nothing, computes no analysis and loads no weights; what it costs is its
# kernel, its tables and its figures.

# %% tags=["remove-input"]
page_timing = measurements.read(measurements.PAGE_TIMING)
if page_timing is not None:
    per_page, same = measurements.page_timings(page_timing)
    display(report.table(per_page, f"Seconds each page took to execute in those builds (commit "
                         f"{page_timing['commit'].iloc[-1][:7]}); every page: {report.said_once(same)}",
                         precision=1, csv=page_timing))

# %% [markdown]
# ## Training a chapter's runs in parallel
#
# Small networks leave much of a processor idle between operations, so independent
# runs of a chapter can train side by side: `python -m cnnrepro train <chapter> --jobs 2`
# starts two worker processes, each pinned to one core but keeping the two threads an
# unpinned process uses, so that every run computes exactly what it computes alone.
# Measured with `python -m cnnrepro bench --time-chapter <chapter> --jobs 1 2`: the
# chapter's own runs (no ablations) trained from an empty store, and whether every
# worker count gave the same test predictions.

# %% tags=["remove-input"]
chapter_timing = measurements.read(measurements.CHAPTER_TIMING)
if chapter_timing is not None:
    display(report.table(measurements.chapter_timings(chapter_timing),
                         "Minutes from an empty store by worker count, and the speed-up over one "
                         "worker for the same runs", precision=2, csv=chapter_timing))
else:
    display(Markdown("Not timed yet: run `python -m cnnrepro bench --time-chapter residual_depth`."))

# %% [markdown]
#
# What each chapter costs from an empty store in the `cpu` profile: the wall time
# of its stored runs, summed (runs that shared the processor with other work took
# longer than they would alone).

# %% tags=["remove-input"]
rows = []
for name in protocol.chapters():
    proto = protocol.resolve(name, "cpu")
    store = ResultsStore(repo_root() / "results")
    configs = proto.run_configs()
    stored = [store.load(c) for c in configs if store.has(c)]
    if stored:
        rows.append({"chapter": name, "runs stored": f"{len(stored)} of {len(configs)}",
                     "wall time of the runs (min)": sum(r.provenance["timing"]["wall_seconds"] for r in stored) / 60,
                     "CPU": "; ".join(sorted({r.provenance["cpu"] for r in stored})),
                     "backend": "; ".join(sorted({r.provenance["backend"] for r in stored}))})
if rows:
    display(report.table(pd.DataFrame(rows).set_index("chapter"),
                         "Each chapter from an empty store, cpu profile (sum of its runs' wall times)",
                         precision=1))
else:
    display(Markdown("No stored `cpu`-profile runs in this checkout."))
