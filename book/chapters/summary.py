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
# # Summary: every claim, then every number
#
# Every claim the five reports make, in their words, with a verdict from one rule,
# then every number they print beside ours. Each chapter judges its claims and
# numbers from its stored runs when it executes; this page gathers them and trains
# nothing. Both tables are files too: {download}`claims.csv <../_generated/claims.csv>`
# and {download}`numbers.csv <../_generated/numbers.csv>`.

# %% tags=["parameters"]
profile = "cpu"  # the book's profile (chapters with every paper run stored show paper)

# %% tags=["remove-cell"]
from IPython.display import display

from cnnrepro import answers, claims, headlines, plots, protocol, provenance_block, report, summary
from cnnrepro.paths import book_dir

LINKS = {"residual_depth": "Report 2 (HUST)", "digit_pairs": "Report 3 (HUST)",
         "vgg_resnet": "QMUL", "cnn_sweeps": "NTU", "dnn_convnet_resnet": "UC"}
every_claim = claims.read_all(list(protocol.chapters()))
rows = headlines.read_headlines(list(protocol.chapters()))
summary.write_tables(every_claim, rows)
claim_counts = claims.counts(every_claim).rename(index=LINKS)
number_counts = claims.counts(rows).rename(index=LINKS)
for name, frame in (("claims", claim_counts), ("numbers", number_counts)):
    for glue_name, value in summary.count_glues(name, frame).items():
        report.glue(glue_name, value)
report.glue("n_not_counted", f"{summary.uncounted(rows)}")
report.glue("n_claims_not_counted", f"{summary.uncounted(every_claim)}")
offset = summary.offsets(rows).set_index("chapter").rename(index=LINKS)
profiles = summary.chapter_profiles(rows).rename(index=LINKS)
report.glue("profiles", "; ".join(f"{c} {p}" for c, p in profiles.items()))
# One line for the book's introduction (book/_generated/, a build product).
(book_dir() / "_generated" / "summary.md").write_text(
    summary.intro_line(claim_counts, number_counts, profiles.to_dict()))
# The chapters' environments, once, for the Execution appendix (a build product).
(book_dir() / "_generated" / "environment.md").write_text(
    provenance_block.environment_markdown(LINKS))

# %% [markdown]
# **{glue:text}`n_claims` claims**: {glue:text}`n_claims_holds` hold,
# {glue:text}`n_claims_contradicted` are contradicted, {glue:text}`n_claims_inconclusive`
# are inconclusive, {glue:text}`n_claims_not_tested` are not tested and
# {glue:text}`n_claims_report_inconsistent` are contradicted by the report itself
# (report inconsistent); {glue:text}`n_claims_not_counted` more are judged in their
# chapters but not counted (a second reading of a sentence counted already, a claim
# of this book beyond the report, a slip of wording that changes no result, or a
# statement true of any network that trains).
# **{glue:text}`n_numbers` printed numbers**: {glue:text}`n_numbers_holds` hold,
# {glue:text}`n_numbers_contradicted` are contradicted, {glue:text}`n_numbers_inconclusive`
# are inconclusive and {glue:text}`n_numbers_not_tested` are not tested;
# {glue:text}`n_not_counted` more rows are shown but not counted (a counterfactual
# loss, a number the report did not print). Profiles: {glue:text}`profiles`.
#
# ## Every claim of every report
#
# Each report's answer in short, then each of its claims once, in its words: ★ marks
# the claims it rests its conclusions on. Every line links to the claim's card in its
# chapter, which says what was compared, ours against the report's, the interval, and
# for an open question what would settle it.

# %% tags=["remove-input"]
report.table(claim_counts, "Claims per report, by verdict")

# %% tags=["remove-input"]
for chapter, chapter_claims in every_claim.groupby("chapter", sort=False):
    display(answers.summary_block(chapter_claims, LINKS[chapter], f"{chapter}.html"))

# %% [markdown]
# (summary-rule)=
# ## The rule
#
# - **A number** holds when the report's value lies inside the 95% interval in which
#   one more run of ours would fall: our mean ± t · √(s²(1 + 1/n) + p(1 − p)/N), widened
#   by half a unit of the report's last printed digit (0.93 stands for 0.925 to
#   0.935), and kept inside 0–100% for a share. s is the spread of our n seeds, t
#   Student's quantile for n − 1 degrees of freedom, p(1 − p)/N the test set's own
#   binomial noise. Outside the interval it is *contradicted*. If the interval, before
#   the widening for rounding, is wider than ±2 points (±20% for a loss; a number
#   printed as 0.9 is judged to its own digit, ±5 points), the number is
#   *inconclusive*, never "holds".
# - **A comparison** ("A beats B") uses the 95% interval of mean(A) − mean(B): Welch's
#   for different runs, the paired interval where A and B are two quantities of the
#   same runs (digit 7's precision against the average). Each comparison names the
#   size it is about: the difference the report's own numbers print, or else the
#   smallest difference that matters, with why. The claim *holds* when the interval
#   lies beyond zero on the claimed side, and is *contradicted* when it lies on the
#   other side, when it rules out the report's printed size ("by at most 1.3 points,
#   not the report's 3"), or when it rules out any difference that matters ("no
#   difference larger than 0.4 points"). It is *inconclusive* only when the interval
#   allows both the claim and its denial; the reason then says how many more seeds
#   would settle it and what they cost on this machine (if our mean and spread stay as
#   they are). An interval beyond zero on the claimed side holds even when the effect
#   is smaller than the size that matters: the claim was of a direction; only a size
#   the report printed can make it fail there. "No difference" holds when the interval
#   lies inside the margin. A trend is a chain of comparisons; a claim judged in parts
#   (per batch size, per model) is contradicted if any part is, holds if every part
#   does, and is inconclusive otherwise. A claim about a curve ("trains faster at
#   first") is judged on a statistic of the curve, such as the mean accuracy over the
#   first 100 updates.
# - **One run** has no spread of its own: the verdict uses a spread measured on
#   another setting's repeated seeds of the same backend only where the chapter says
#   so, and is *inconclusive* otherwise.
# - **Not tested**: a run the claim reads is not the report's protocol (its config
#   differs from the paper profile's in epochs, images or any other setting), waits to
#   be retrained, or is missing. A short run never makes a claim fail.
# - **Report inconsistent**: the report's own numbers, text or code contradict the
#   claim or each other (a table against its log, shares that do not add up). This
#   verdict comes first: the claim is report inconsistent whatever our runs show, and
#   its reason then gives what our runs showed too.
# - Parameter counts must match to the printed digit; training times are never
#   judged (the hardware differs).

# %% [markdown]
# ## A systematic offset
#
# Where a report prints many accuracies of one kind of run, the sign of ours minus
# theirs tells noise from bias: were the two the same experiment, ours would be
# higher half the time. The two-sided sign test:

# %% tags=["remove-input"]
report.table(offset, "Ours minus the report's accuracy, per report (runs at the report's "
             "protocol; collapsed runs left out)", precision=4,
             formatter={"sign-test p": "{:.2g}", "mean difference": "{:+.4f}"})

# %% [markdown]
# A small p-value marks a systematic offset, a finding of its own; the NTU chapter
# examines its split. A large one is not evidence of none where a report prints few
# accuracies: with 4, even all 4 higher gives p = 0.125.
#
# ## Every number
#
# One table per report, behind the toggle: ours is the mean ± the standard deviation over seeds where
# the chapter repeats runs, given to one digit more than the report printed; the
# interval is the one the rule above uses. The CSV under each table holds every
# field at full precision.

# %% tags=["remove-input"]
report.table(number_counts, "Printed numbers per report, by verdict (counted rows)")

# %% tags=["remove-input", "hide-output"] mystnb={"code_prompt_show": "Show every printed number, report by report", "code_prompt_hide": "Hide the numbers"}
for chapter, chapter_rows in rows.groupby("chapter", sort=False):
    shown = headlines.summary_table(chapter_rows)
    display(report.table(shown, f"{LINKS[chapter]}: printed numbers "
                         f"({chapter_rows['profile'].iloc[0]} profile)",
                         csv=chapter_rows.set_index("result"))
            .hide(axis="index")
            .set_properties(subset=["result", "reason"], **{"text-align": "left"})
            .set_properties(subset=["ours", "interval for another run"],
                            **{"white-space": "nowrap"})
            .set_properties(**{"font-size": "0.85em"}))

# %% [markdown]
# ## Every MNIST model of the book: accuracy, size and cost
#
# ```{glue:figure} fig_cost
# :name: fig-summary-cost
#
# **Figure S1.** Test accuracy of every run on ten-digit MNIST in the book against the parameter
# count of its network (left) and its training time (right), both on log scales;
# runs that wait to be retrained after a fix of their model are left out.
# Colour: the chapter; marker: the kind of machine it trained on (the legend lists
# those present; a GPU run would be a square). Training time
# depends on the hardware and on how many images a profile trains on; see each
# chapter's provenance.
# ```

# %% tags=["remove-cell"]
shown = summary.book_runs(profile)
models = summary.mnist_models(shown)
titles = {name: LINKS[name] for name in protocol.chapters()}
report.figure("fig_cost", plots.accuracy_vs_cost(models, titles))
per_model = summary.per_model(models, LINKS)

# %% tags=["remove-input"]
report.table(per_model, "The MNIST models of the figure (accuracy and training time over a "
             "chapter's runs of each model)", precision=3, csv=models)
