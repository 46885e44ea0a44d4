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
# **A defect found and fixed: shared initialisers.** The VGG and ResNet builders
# used to create their kernel initialisers once, when their module was first
# imported, and Keras gives such an initialiser one integer seed, drawn at that
# moment. So every kernel of the same shape started from the same values (more
# than half of ResNet18's kernels, and VGG16's first dense layer was a slice of the
# second), different seeds gave the same convolution kernels,
# and a run's starting weights depended on what its process had imported or built
# before it. Those runs could come back only when retrained in a fresh process in
# the same order; the runs stored from a process that imported the builders before
# seeding could not be reproduced at all. Every layer now gets its own initialiser
# (`cnnrepro.models.init`), and `tests/test_models.py` checks that no two kernels
# of a model start alike, that seeds differ, and that a seed gives the same weights
# in a fresh process whatever was built there first (these tests fail on the old
# builders). The fix, with torchvision's padding and VGG16 head, is version 2 of
# these models (`MODEL_VERSIONS` in `lib/cnnrepro/config.py`): only their runs got
# new keys, the other models' runs kept theirs. Their `cpu` runs were retrained;
# a run at the report's protocol that is not retrained yet is still shown, marked
# "retraining pending" in its chapter's run table, and no claim is judged on it.

# %% tags=["remove-cell"]
_ = report.glue("reference_runs", f"{len(verify.reference_configs())}")
