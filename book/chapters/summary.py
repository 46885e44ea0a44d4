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
# # Summary: every headline number
#
# Every number the five reports give as a result (accuracies, losses, F1 scores,
# parameter counts, training times), beside ours from the runs their chapters show,
# with the difference and a verdict. Each chapter computes its rows from its stored
# runs when it executes; this page gathers them and trains nothing.

# %% tags=["parameters"]
profile = "cpu"  # the book's profile (chapters with every paper run stored show paper)

# %% tags=["remove-cell"]
from IPython.display import display

from cnnrepro import plots, protocol, report, summary
from cnnrepro.paths import book_dir

LINKS = {"residual_depth": "Report 2 (HUST)", "digit_pairs": "Report 3 (HUST)",
         "vgg_resnet": "QMUL", "cnn_sweeps": "NTU", "dnn_convnet_resnet": "UC"}
rows = report.read_headlines()
counts = rows.groupby(["chapter", "verdict"], sort=False).size().unstack(fill_value=0)
counts.index = counts.index.map(LINKS)
judged = rows[rows["verdict"].isin(["reproduced", "not reproduced"])]
n_hit = int((judged["verdict"] == "reproduced").sum())
report.glue("n_rows", f"{len(rows)}")
report.glue("n_judged", f"{len(judged)}")
report.glue("n_hit", f"{n_hit}")
profiles = rows.groupby("chapter", sort=False)["profile"].first()
report.glue("profiles", "; ".join(f"{LINKS[c]} {p}" for c, p in profiles.items()))
# One line for the book's introduction (book/_generated/, a build product).
(book_dir() / "_generated").mkdir(exist_ok=True)
(book_dir() / "_generated" / "summary.md").write_text(
    f"Of the {len(judged)} headline numbers the reports print and a run of ours can match, "
    f"**{n_hit} are reproduced** within the stated tolerance; "
    f"{len(rows) - len(judged)} more are shown but not judged (training times, numbers "
    f"the reports do not give). Profiles shown: "
    + "; ".join(f"{LINKS[c]} `{p}`" for c, p in profiles.items()) + ".\n")

# %% [markdown]
# **{glue:text}`n_hit` of {glue:text}`n_judged`** judged numbers are reproduced
# ({glue:text}`n_rows` rows in all). Profiles: {glue:text}`profiles`.
#
# **Tolerance.** A number counts as reproduced when ours is within
# - 1 percentage point of an accuracy, top-5 accuracy or F1 score,
# - 10% of a loss,
# - exactly equal for a parameter count,
#
# widened to half a unit of the last digit the report printed (0.93 stands for
# 0.925 to 0.935; "138 M" for 137.5 to 138.5 million) and to two standard deviations
# of our seeds where a chapter repeats runs (for a single run of the NTU sweeps, the
# seed spread measured on its base setting). Training times are shown, never judged:
# the reports' hardware differs from ours or is not stated. Where a number is not
# reproduced, *reason* gives the cause where a chapter knows it (protocol
# difference, the data mirror, a defect in the report's code, seed noise) and
# "unknown" where the report's protocol was followed and the difference remains.
#
# Below, one table per report: ours is the mean ± the standard deviation over seeds
# where the chapter repeats runs, given to one digit more than the report printed.
# The CSV under each table holds every field at full precision (seeds, profile, the
# tolerance as a number).

# %% tags=["remove-input"]
report.table(counts, "Verdicts per report")

# %% tags=["remove-input"]
for chapter, chapter_rows in rows.groupby("chapter", sort=False):
    shown = report.summary_table(chapter_rows)
    display(report.table(shown, f"{LINKS[chapter]}: headline numbers "
                         f"({chapter_rows['profile'].iloc[0]} profile)",
                         csv=chapter_rows.set_index("result"))
            .hide(axis="index")
            .set_properties(subset=["result", "reason"], **{"text-align": "left"})
            .set_properties(subset=["ours", "difference (tolerance)"], **{"white-space": "nowrap"})
            .set_properties(**{"font-size": "0.85em"}))

# %% [markdown]
# ## Every MNIST model of the book: accuracy, size and cost
#
# ```{glue:figure} fig_cost
# :name: fig-summary-cost
#
# **Figure S1.** Test accuracy of every run on ten-digit MNIST in the book against the parameter
# count of its network (left) and its training time (right), both on log scales.
# Colour: the chapter; circles trained on a CPU, squares on a GPU. Training time
# depends on the hardware and on how many images a profile trains on; see each
# chapter's provenance.
# ```

# %% tags=["remove-cell"]
shown = summary.book_runs(profile)
models = summary.mnist_models(shown)
titles = {name: LINKS[name] for name in protocol.chapters()}
report.figure("fig_cost", plots.accuracy_vs_cost(models, titles))
def span(values) -> str:
    low, high = int(values.min()), int(values.max())
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


per_model = (models.groupby(["chapter", "model"], sort=False)
             .agg(runs=("run", "size"), parameters=("parameters", span),
                  best=("test accuracy", "max"), median=("test accuracy", "median"),
                  seconds=("training seconds", "median"),
                  hardware=("hardware", lambda h: ", ".join(sorted(set(h))))))
per_model.columns = ["runs", "parameters", "best accuracy", "median accuracy",
                     "median training s", "trained on"]
per_model.index = per_model.index.set_levels(per_model.index.levels[0].map(LINKS), level=0)

# %% tags=["remove-input"]
report.table(per_model, "The MNIST models of the figure (accuracy and training time over a "
             "chapter's runs of each model)", precision=3, csv=models)
