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
# # Reliability
#
# What was done to break a run, and what happens. Every case is a test of the
# project's suite (`tests/test_reliability.py` unless named otherwise), run by
# `make test`; the cheap ones are also run again below while this page executes,
# and the messages shown are the ones they gave.

# %% tags=["remove-cell"]
from cnnrepro import failures, report, verify

cases = failures.tried_cases()

# %% tags=["remove-input"]
report.table(cases, "What was tried, and what happened").set_properties(
    **{"text-align": "left", "white-space": "normal", "font-size": "0.85em",
       "overflow-wrap": "anywhere"}).set_properties(
    subset=["test"], **{"word-break": "break-all", "min-width": "9em"}).set_properties(
    subset=["tried"], **{"min-width": "7em"})

# %% [markdown]
# An error names the bad value and what is allowed, and comes before any training
# (the command line exits with status 2 before a notebook kernel starts). A failed
# chapter keeps the last good executed notebook and leaves the failed one beside it
# (`<chapter>.failed.ipynb`). A run killed while writing (or a disk that fills up)
# leaves its half-written files under `results/.tmp/`, in a folder named after its
# process; the next run that writes removes the folders of processes no longer
# running (`test_store.py::test_staging_left_by_dead_writers_is_cleared_and_live_ones_kept`).
#
# ## Do the stored runs come back?
#
# A number in this book is only as good as the claim that rerunning its config gives
# it again. `python -m cnnrepro verify <chapter> --runs N` retrains the chapter's
# stored runs (the cheapest first) into a temporary store and compares each with the
# stored one. The verdicts, from strict to loose:
#
# - *identical*: final metrics, every test-set probability and the per-update
#   history agree to the last bit. Expected when the run is retrained with the
#   numerics it was stored with (Keras backend; on TensorFlow, oneDNN kernels on or
#   off) on the same processor model: every run seeds Python, NumPy and the backend,
#   and TensorFlow's op determinism is on.
# - *round-off*: no metric and no test probability differs by more than 0.001:
#   the same computation in another floating-point order (another processor).
# - *within test noise*: the accuracies differ by at most twice the binomial
#   standard error of the stored one on the test set.
# - *differs*: more than that.
#
# Across numerics nothing is expected ("another run"): a last-digit difference in
# one update grows, over hundreds of updates, into another run of the same
# experiment, which differs as a new seed's would, often by more than the test set's
# noise. The retrained runs of chapter 4 below (stored from Keras on JAX on a GPU,
# retrained with TensorFlow on this CPU) show how much.
#
# A run's key names its numerics when they are not the default (TensorFlow with
# oneDNN), so a run computed with Keras on JAX on a GPU, or with oneDNN off, is
# never taken for one computed here; a chapter reads a run of another numerics
# only when there is none of its own, and its provenance table says which.
# Verified so far: {glue:text}`verified_runs` runs, {glue:text}`verified_ok` as
# expected: {glue:text}`verified_identical` identical, {glue:text}`verified_round_off`
# equal up to round-off, {glue:text}`verified_within_test_noise` within test noise
# and {glue:text}`verified_differs` different.

# %% tags=["remove-cell"]
checks = verify.read_record()
for name, count in verify.counts(checks).items():
    report.glue(f"verified_{name}", f"{count}")

# %% tags=["remove-input"]
report.table(verify.by_chapter(checks), "Stored runs retrained, by chapter (the verify command)",
             precision=0).set_properties(**{"white-space": "normal", "font-size": "0.85em"})

# %% [markdown]
# Run by run, test accuracy stored and retrained:

# %% tags=["remove-input", "hide-output"] mystnb={"code_prompt_show": "Show each retrained run", "code_prompt_hide": "Hide the runs"}
report.table(verify.run_rows(checks), "Each retrained run", precision=4).hide(
    axis="index").set_properties(**{"font-size": "0.85em"}).set_properties(
    subset=["run"], **{"text-align": "left", "white-space": "normal"})

# %% [markdown]
# The training code's own fingerprint: `tests/fingerprint/` holds one smoke-size
# reference run per chapter, task and model ({glue:text}`reference_runs` runs of a
# few batches each, covering every model family, both datasets, transfer, early
# stopping and the UC report's losses). `make test` retrains them
# (`tests/test_verify.py::test_the_training_code_computes_its_fingerprint`): a change
# to the training code, the data preparation or a model that alters what they
# compute fails the suite until `TRAINING_CODE_VERSION` is bumped, which gives every
# run a new key, so no stored run of the old code is read again; and
# `python -m cnnrepro fingerprint` refuses to renew a changed reference under the
# same version.
#
# **A defect this check found, not yet fixed.** The VGG (`init="torchvision"`) and
# ResNet builders (`lib/cnnrepro/models/vgg.py`, `resnet.py`) create their kernel
# initialisers once, when the module is first imported, and Keras then gives such an
# initialiser one integer seed, drawn at that moment. Two consequences: every kernel
# of the same shape in those networks starts from the same values, and a run's
# starting weights depend on which run of the same process imported the module
# first. Retrained in a fresh process, in the same order, the runs come back
# identical (the fingerprint is checked that way); in a process that built these
# models before, they do not. Chapter 3's runs and chapter 4's ResNet runs are
# affected; the fix (one initialiser per layer) changes what those runs compute,
# so it comes with a new code version for these models and their retraining.

# %% tags=["remove-cell"]
_ = report.glue("reference_runs", f"{len(verify.reference_configs())}")
