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
# # Are two digits the same number? Pairs and transfer learning (Report 3)
#
# *Source: Computer Vision, Experimental Report 3 (HUST) {cite:p}`hust-report-3`.*

# %% tags=["parameters"]
profile = "cpu"
seeds = None                   # default: 0-17
batch_size = None              # default: 64
phase1_epochs = None           # default: 2
phase2_epochs = None           # default: 2
source_train = None            # default: 6000 (the first N MNIST training images)
source_test = None             # default: 1000
train_pairs = None             # default: 100000
test_pairs = None              # default: 10000
pair_seed = None               # default: 0
variants = None                # default: ["frozen", "fine_tuned"]
finetune_lr_multiplier = None  # default: 0.1 (extractor lr = 0.1 x head lr)
ablations = None              # default: ["pair_draw", "phase1_full", "bn_stats", "random_extractor"]
ablation_pair_seeds = None    # default: [1, 2, 3, 4]
ablation_seeds = None         # default: [0, 1, 2]
force = False                  # retrain even when the store holds the run

# %% tags=["remove-cell"]
import inspect

import numpy as np
import pandas as pd
from IPython.display import Code, display

from cnnrepro import data, headlines, pairs, plots, report, stats
from cnnrepro.ablations import explains, shown
from cnnrepro.ablations import reason as ablation_reason
from cnnrepro.chapter import open_chapter
from cnnrepro.chapters import digit_pairs as dp
from cnnrepro.models import pair_transfer, shapes_only

CHAPTER = "digit_pairs"
ch = open_chapter(CHAPTER, globals())
p = ch.proto
probe = dp.extractor_probe(ch)  # what phase 1's extractor holds, stored beside its run
phase1 = {r.config.seed: r for r in ch.runs if r.config.model == "digit_classifier"}
phase2 = {(dp.variant_of(r.config), r.config.seed): r for r in ch.runs if r.config.model == "pair_classifier"}
classes = data.PAIR_CLASSES
main = "frozen" if "frozen" in p.variants else p.variants[0]
VARIANT_NAMES = {"frozen": "frozen (report)", "fine_tuned": f"fine-tuned (lr x{p.finetune_lr_multiplier:g})"}
results = stats.runs_frame(list(phase2.values())).assign(variant=[v for v, _ in phase2])
for name in ("source_train", "source_test", "train_pairs", "test_pairs", "batch_size"):
    report.glue(name, f"{getattr(p, name):,}")
for name, value in {"seed0": ch.seed0, "n_seeds": report.counted(len(p.seeds), "seed"), "lr_mult": f"{p.finetune_lr_multiplier:g}",
                    "phase1_epochs": p.phase1_epochs, "phase2_epochs": p.phase2_epochs}.items():
    report.glue(name, value)

# %% tags=["remove-cell"]
chapter_claims, answer, claim_cards = ch.judge_claims(dp.evidence(ch))

# %% tags=["remove-input"]
answer

# %% [markdown]
# The report asks whether two MNIST images show the same digit. From 10% of MNIST
# (6,000 training and 1,000 test images) it draws 100,000 training and 10,000 test
# pairs, half of them the same digit, and stacks each pair as the two channels of a
# 28x28x2 input. It trains in two phases: a feature extractor (the concatenation
# blocks of Report 2) with a 10-class head on single digits, then, with the extractor
# frozen, a 2-class head on the pairs; 2 epochs each, batch size 64, Adam. It reports
# P = R = F1 = Acc = 0.89 on the test pairs. This chapter rebuilds the data and both
# phases, reruns them over several seeds, checks the report's reading of its own
# results, and tries the fix its discussion proposes: fine-tuning the extractor.

# %% [markdown]
# ## The report's claims, judged
#
# Each claim of the report, in its words, with the {term}`verdict` of the book's rule (see
# {ref}`the Summary <summary-rule>`), judged on our runs with the frozen extractor, as the report
# trained it, over every seed; *evidence* links lead to the table or figure. Class 1
# is `same`, as the report's code labels it (see the errata section).

# %% tags=["remove-input"]
claim_cards

# %% [markdown]
# ## How this chapter was run
#
# {term}`Profile <profile>` and data: {glue:text}`profile_note`. Every run was repeated with
# {glue:text}`n_seeds`; figures show seed {glue:text}`seed0`, tables give the
# mean ± standard deviation over seeds. What the report states is reproduced as
# stated; where it is silent or contradicts itself, this chapter chose:
#
# | setting | report | this chapter |
# |---|---|---|
# | images | "10% of MNIST"; its code slices the first 6,000 / 1,000 | the first {glue:text}`source_train` training and {glue:text}`source_test` test images |
# | pairs | 100,000 / 10,000 "unique image pairs", same digit with probability 50% | exactly half same-digit; ordered pairs (a, b) and (b, a) are different pairs, as in the report's code; no pair twice; **never an image with itself** (the report's code allows it: see the errata) |
# | drawing the pairs | Python `random`, unseeded | uniform over all same-digit pairs and over all different-digit pairs, NumPy generator with seed `pair_seed` (training pairs) and `pair_seed + 1` (test pairs); the same pairs for every training seed |
# | labels | text: `[0,1]` = different; code: `[0,1]` = same | the code's: class 1 = `same`, class 0 = `not_same` (errata below) |
# | phase 1 data | "the original MNIST dataset", each image copied into both channels | the same {glue:text}`source_train` training images, copied into both channels; tested on the {glue:text}`source_test` test images |
# | epochs, batch size, optimizer, loss | 2 per phase, 64, Adam, categorical cross-entropy | the same; Adam at Keras's default learning rate 0.001 |
# | freezing | `model_2.layers[0].trainable = False` | the same: the extractor's weights, batch-norm statistics included, do not change, and batch norm runs in inference mode |
# | per-update "validation" | `batch_size` random test samples after each update, not used for training | the same: 64 test pairs drawn by a seeded generator after every update |
# | P, R, F1 | "classification report" | macro averages over the two classes (scikit-learn); per-class values in Figure 3 |
# | input scaling, initialisation | not stated | pixels divided by 255; Keras default initialisation |
#
# ## The model (Table 1, Figure 1)
#
# ```{glue:figure} fig_models
# :name: fig-pair-models
#
# **Figure 1.** The three modules, drawn from our Keras models. Phase 1 is
# `feature_extraction` followed by `classifier_10`; phase 2 is the same
# `feature_extraction` (frozen) followed by `classifier_2`. Each green box is a
# concatenation block of Report 2 (three 2x2 convolutions with batch normalisation, BN,
# whose output is stacked onto the block's input by a concatenation, Concat).
# ```

# %% tags=["remove-cell"]
with shapes_only():
    modules = {"feature_extraction": pair_transfer.feature_extraction(),
               "classifier_10": pair_transfer.classifier_10(),
               "classifier_2": pair_transfer.classifier_2()}
report.figure("fig_models", plots.model_diagram(list(modules.values()), group=r"^(block\d+)_"))

# %% tags=["remove-input"]
report.table(dp.module_table(modules, ch.reported["modules"]),
             "Table 1. Modules of the model: report vs our Keras models")

# %% [markdown]
# All three counts are reproduced to the parameter. They also settle a contradiction in
# the report: its text says the extractor stacks *three* blocks, its code and its
# parameter count have two (6 and 16 filters: 8 x 8 x 24 = 1,536 features).
#
# ## The data (Figure 2)
#
# ```{glue:figure} fig_data
# :name: fig-pair-data
#
# **Figure 2.** How the data are generated, with the counts of this run, and the first
# 16 training pairs as the model sees them (the two channels side by side; green: same
# digit, grey: different), each titled with the two digits' labels.
# ```

# %% tags=["remove-cell"]
mnist, train_pairs_drawn, test_pairs_drawn = data.mnist_pairs(
    p.source_train, p.source_test, p.train_pairs, p.test_pairs, p.pair_seed)
report.figure("fig_data", dp.generation_figure(mnist, p, train_pairs_drawn, test_pairs_drawn))

# %% tags=["remove-input"]
report.table(dp.pair_data_table(mnist, train_pairs_drawn, test_pairs_drawn, p, ch.reported["data"]),
             "The pair datasets as built (counted from the pair indices the runs trained on: the same seeded draw)")

# %% [markdown]
# ### Errata in the report's data code, reproduced
#
# The report's Appendix B is ported line by line to `cnnrepro.pairs.report_generate_index`
# (only its `random` is seeded) and run here on the same labels:

# %% tags=["remove-input"]
report.table(dp.report_generator_table(mnist, p), "The report's generate_index as printed (range end = "
             "number of images) and with the range fixed")

# %% [markdown]
# - **Index 6,000 (and 1,000).** `random.randint(0, 6000)` includes 6,000, but the labels
#   passed in are `y_train[:6000]`, so the first draw of 6,000 fails: the code as printed
#   cannot have built the report's data. With the full label array it would run and use
#   6,001 training images (1,001 test images). This chapter uses exactly the first 6,000 and
#   1,000, as the text says.
# - **Balance.** The code alternates between asking for a different and a same pair, but
#   it flips the flag even when the drawn pair is already in the set, so the two kinds are
#   only approximately balanced (the table above). Our sampler fills each half exactly.
# - **Self-pairs.** The code may pair an image with itself (the table counts them); such a
#   pair is a copy, not two handwritten digits, so our sampler excludes it.
# - **Label convention.** The text says `[0,1]` means different digits; the code writes
#   `[0,1] if (a == b)`, i.e. `[0,1]` = same. Training is unaffected (the network learns
#   either coding), but naming the classes by the text while labelling by the code swaps
#   `same` and `not_same` in every per-class number. This chapter uses the code's
#   labels and names the classes by them; section "Does the model lean towards not same?"
#   shows what the swap would explain.
#
# ## Phase 1: the 10-class task

# %% tags=["remove-input"]
phase1_frame = dp.phase1_table(phase1)
p1_test, p1_train = phase1_frame["test accuracy"], phase1_frame["training accuracy, last epoch (progress bar)"]
report.glue("p1_test", stats.mean_sd(p1_test.mean(), p1_test.std(ddof=1), 3))
report.glue("p1_train", stats.mean_sd(p1_train.mean(), p1_train.std(ddof=1), 3))
report.glue("p1_reported", f"{ch.reported['phase1_accuracy']:.2f}")
report.glue("p1_train_diff", f"{p1_train.mean() - ch.reported['phase1_accuracy']:+.3f}")
report.glue("p1_test_diff", f"{p1_test.mean() - ch.reported['phase1_accuracy']:+.3f}")
report.glue("p1_updates", f"{len(phase1[ch.seed0].updates):,}")
gap = probe["bn_gaps"].values()
report.glue("bn_gap_low", f"{min(gap):.2f}")
report.glue("bn_gap_high", f"{max(gap):.2f}")
report.table(phase1_frame, f"Phase 1: digit classifier on the first {p.source_train:,} training images, "
             f"{p.phase1_epochs} epochs, batch size {p.batch_size} (report: about "
             f"{ch.reported['phase1_accuracy']:.0%})", precision=3)

# %% [markdown]
# The report gives "about 93%" for phase 1 without saying on which data. Our extractor
# and 10-class head reach {glue:text}`p1_test` on the {glue:text}`source_test` test
# images, while the running training accuracy that Keras prints in the last epoch is
# {glue:text}`p1_train`. Our mean minus the report's "about 93%": {glue:text}`p1_train_diff`
# for the progress-bar number, {glue:text}`p1_test_diff` for the test accuracy.
#
# Why the test accuracy is lower: in inference mode batch norm normalises with its
# moving averages (momentum 0.99), and after {glue:text}`p1_updates` updates these still
# carry part of their starting values (mean 0, variance 1). Measured on the
# {glue:text}`source_train` training images, the moving mean of each batch-norm layer's
# input is off by {glue:text}`bn_gap_low` to {glue:text}`bn_gap_high` of that input's
# standard deviation (seed {glue:text}`seed0`; mean over channels, per layer). The frozen extractor of phase 2 normalises with exactly these
# statistics.
#
# The test of that explanation: phase 1 trained again, identically but keeping every
# weight, and its test set scored three ways, with no further training.

# %% tags=["remove-input"]
p1_bn = dp.phase1_batchnorm(ch)
report.table(p1_bn, "Phase 1, test accuracy per seed with the batch-norm statistics as trained, "
             f"re-estimated over the {p.source_train:,} training images, and of each test batch "
             f"({ch.profile} profile)", precision=3)

# %% tags=["remove-cell"]
report.glue("p1_bn_trained", f"{p1_bn['as trained'].mean():.3f}")
report.glue("p1_bn_reestimated", f"{p1_bn['re-estimated'].mean():.3f}")
report.glue("p1_bn_batch", f"{p1_bn['batch statistics'].mean():.3f}")
_ = report.glue("p1_bn_diff", f"{p1_bn['re-estimated'].mean() - ch.reported['phase1_accuracy']:+.3f}")

# %% [markdown]
# Mean over seeds: {glue:text}`p1_bn_trained` as trained, {glue:text}`p1_bn_reestimated`
# with re-estimated statistics, {glue:text}`p1_bn_batch` with each test batch's own.
# The weights are the same in all three; only the normalisation differs. The
# re-estimated test accuracy minus the report's "about 93%": {glue:text}`p1_bn_diff`.
#
# ## Overall performance (section 3.2.1)

# %% tags=["remove-input"]
reported_overall = pd.DataFrame([{"variant": "frozen", **ch.reported["overall"]}])
report.table(stats.compare(results, reported_overall, on=["variant"], columns=["precision", "recall", "f1", "accuracy"]),
             f"Phase 2 on the {p.test_pairs:,} test pairs: report vs ours (macro averages; ours: mean ± sd "
             "over seeds)", precision=3)

# %% tags=["remove-cell"]
summary = stats.seed_summary(results, ["variant"], [*stats.METRIC_COLUMNS, "loss"])
report.glue("acc_main", stats.mean_sd(summary.loc[main, "accuracy_mean"], summary.loc[main, "accuracy_sd"], 3))
report.glue("acc_reported", f"{ch.reported['overall']['accuracy']:.2f}")
_ = report.glue("acc_diff", f"{summary.loc[main, 'accuracy_mean'] - ch.reported['overall']['accuracy']:+.3f}")

# %% [markdown]
# With the extractor frozen, as in the report, our phase 2 reaches an accuracy of
# {glue:text}`acc_main` against the report's {glue:text}`acc_reported`
# ({glue:text}`acc_diff`).
#
# ## Performance on the two classes (Figure 3)
#
# ```{glue:figure} fig_classes
# :name: fig-pair-classes
#
# **Figure 3.** Test precision, recall and F1 of `same` and `not_same`, per variant
# (bars: mean over seeds; ticks: range over seeds). Black diamonds: the one per-class
# number the report prints, recall 0.91 of its "same", placed twice: on our `same`, as
# printed, and on our `not_same`, where it belongs if the report's class names are
# swapped (the section on which way the model leans, below, argues that they are).
# ```

# %% tags=["remove-cell"]
scores = dp.class_scores(phase2, classes).replace({"variant": VARIANT_NAMES})
reported_marks = pd.DataFrame([{"class": name, "metric": "recall", "value": ch.reported["per_class"]["recall_same"]}
                               for name in ("same", "not_same")])
report.figure("fig_classes", plots.class_metric_bars(scores, "variant", reported_marks))

# %% [markdown]
# ### Does the model lean towards "not same"?
#
# The report reads its Figure 3 as "precision of same lower, recall of same higher" and
# concludes that the model "tends to classify two input images as different numbers".
# These two statements contradict each other: when `same` has the *higher* recall and the
# *lower* precision, the model predicts `same` too often, not too rarely. The share of
# test pairs each model calls `same` (half of them are) settles which way ours lean:

# %% tags=["remove-input"]
lean = dp.lean(phase2, classes, p.variants)
report.table(lean, "Which way each run leans on the test pairs (P, R, F1 per class; a share above 0.5 means "
             "more \"same\" predictions than \"same\" pairs)", precision=3)

# %% tags=["remove-cell"]
for name, value in dp.lean_counts(lean.loc[main]).items():
    report.glue(f"lean_{name}", f"{value:.3f}" if isinstance(value, float) else f"{value}")

# %% [markdown]
# Measured, with the extractor frozen as in the report: our runs predict `same` for
# {glue:text}`lean_share_low` to {glue:text}`lean_share_high` of the test pairs (half
# of them are `same` pairs, so a share above 0.5 leans towards `same`). Per class,
# `not_same` has the lower precision in {glue:text}`lean_lower_p_not_same` and the
# higher recall in {glue:text}`lean_higher_r_not_same` of {glue:text}`lean_seeds` seeds;
# `same` has the lower precision in {glue:text}`lean_lower_p_same` and the higher
# recall in {glue:text}`lean_higher_r_same`. The report's figure ("precision of same lower, recall of
# same higher") and its conclusion ("tends to classify as different") can both hold only
# if its class names were swapped, which is exactly what its label errata produce:
# labels from the code (`[0,1]` = same) read with the text's names (`[0,1]` = different).
# Under that reading the report's "same" recall of 0.91 is the recall of *not same*.
#
# ## Training process (section 3.2.2, Figure 4)
#
# ```{glue:figure} fig_curves
# :name: fig-pair-curves
#
# **Figure 4.** Phase 2: loss and accuracy after every update, on the batch just trained
# on and on 64 random test pairs drawn after each update (never trained on), seed
# {glue:text}`seed0`, {glue:text}`phase2_epochs` epochs. Thin lines: the value at each
# update; thick lines: a rolling mean over 50 updates. {glue:text}`profile_note`.
# ```

# %% tags=["remove-cell"]
curves = pd.concat([phase2[(v, ch.seed0)].updates.assign(variant=VARIANT_NAMES[v]) for v in p.variants])
report.figure("fig_curves", plots.update_curves(curves, hue="variant", skip_loss=20, window=50,
                                                title=f"phase 2, seed {ch.seed0}"))
for name, value in dp.tail(phase2[(main, ch.seed0)].updates, p.batch_size).items():
    report.glue(f"tail_{name}", f"{value:,}" if isinstance(value, int) else f"{value:.3f}")

# %% [markdown]
# The report saw the accuracy stop rising and "unable to stabilize above 0.85". Ours:
# over the last {glue:text}`tail_updates` updates of the frozen run (seed
# {glue:text}`seed0`), the accuracy on the random test batch averages
# {glue:text}`tail_mean` (batches from {glue:text}`tail_min` to {glue:text}`tail_max`,
# standard deviation {glue:text}`tail_sd`); the training batches average
# {glue:text}`tail_train_mean`. The accuracy of {glue:text}`batch_size` samples drawn at
# random has a binomial standard deviation of {glue:text}`tail_binomial_sd` at that accuracy,
# even for a model that no longer changes: most of the late "fluctuation" the report
# attributes to the model is the noise of measuring on so few samples.
#
# ## What the frozen extractor sees (replacing Figure 5)
#
# The report's Figure 5 was a schematic of convolution, used to argue that a same-digit
# pair gives "similar" feature maps with "significant features" while a different pair
# gives "complex and irregular" ones. Here instead are the real feature maps of the
# frozen extractor (phase 1 weights, seed {glue:text}`seed0`) for one test pair of each
# kind, and where all 10,000 test pairs land in its 1,536 features.
#
# ```{glue:figure} fig_maps
# :name: fig-pair-maps
#
# **Figure 5.** Feature maps of the frozen extractor. For each pair: the two input
# channels (titled with their digits), the 6 maps the first block's convolutions add
# (32x32) and the 16 maps of the second block (16x16), each titled with its block and
# number and scaled to its own range.
# ```
#
# ```{glue:figure} fig_pca
# :name: fig-pair-pca
#
# **Figure 5b.** The extractor's 1,536 features of every test pair projected on their
# first two principal components, coloured by the true class.
# ```

# %% tags=["remove-cell"]
maps, scatter = dp.feature_figures(probe, mnist, test_pairs_drawn)
report.figure("fig_maps", maps)
report.figure("fig_pca", scatter)
report.glue("pca_share", f"{probe['pca_share']:.0%}")
report.glue("probe_accuracy", f"{probe['probe_accuracy']:.3f}")
report.glue("probe_pairs", f"{probe['probe_pairs']:,}")
_ = report.glue("head_accuracy", f"{phase2[(main, ch.seed0)].metrics['accuracy']:.3f}")

# %% [markdown]
# The maps show what the frozen extractor was trained for. In phase 1 both channels
# always held the same image, so every update changed a first-layer filter's weights on
# the two channels by the same amount: training shaped only how the filter responds to
# the *sum* of the channels, and a different-digit pair comes out as the maps of two
# overlaid digits (the second pair above). In the
# projection the two kinds overlap: the extractor was never trained to separate them,
# and the 2-class head has to find the difference. How linearly separable the frozen
# features are: the first two components hold {glue:text}`pca_share` of the variance,
# and a logistic regression on all 1,536 frozen features, trained on
# {glue:text}`probe_pairs` training pairs, classifies {glue:text}`probe_accuracy` of the
# test pairs correctly, against {glue:text}`head_accuracy` for the phase-2 head of the
# same seed.
#
# ## Beyond the report: fine-tuning the extractor
#
# The report proposes, as its fix, to train the extractor in phase 2 "with a different
# learning rate" than the head. The fine-tuned variant does that: the extractor starts
# from the same phase-1 weights and trains with {glue:text}`lr_mult` times the head's
# learning rate (batch norm back in training mode); everything else is unchanged.

# %% tags=["remove-input"]
compared = {VARIANT_NAMES[v]: {m: stats.mean_sd(summary.loc[v, f"{m}_mean"], summary.loc[v, f"{m}_sd"])
                               for m in ("accuracy", "precision", "recall", "f1", "loss")} for v in p.variants}
report.table(pd.DataFrame(compared).rename_axis("metric"),
             "Frozen vs fine-tuned extractor in phase 2 (test pairs; mean ± sd over seeds)")

# %% tags=["remove-cell"]
gain = dp.finetune_gain(results) or {"mean": np.nan, "per_seed": "(not run)", "spread": np.nan, "exceed": 0,
                                     "seeds": 0}
report.glue_number("gain_mean", gain["mean"], "{:+.4f}")
report.glue("gain_per_seed", gain["per_seed"])
report.glue_number("gain_spread", gain["spread"], "{:.4f}",
                   missing="not measured with one seed")
report.glue("gain_exceed", f"{gain['exceed']}")
_ = report.glue("gain_seeds", f"{gain['seeds']}")

# %% [markdown]
# Measured: fine-tuning changes test accuracy by {glue:text}`gain_mean` on average
# (per seed: {glue:text}`gain_per_seed`); in {glue:text}`gain_exceed` of
# {glue:text}`gain_seeds` seeds the change is more than twice the larger seed-to-seed
# standard deviation of the two variants ({glue:text}`gain_spread`). Figure 3 and the
# lean table above show the same comparison per class, and Figure 4 per update.
#
# ## Does learning digits help?
#
# The report's design rests on one idea: a network that first learns the ten digits
# keeps "the standardized writing features" that make two images easier to compare.
# The report never tests it. The ablation does: phase 2 exactly as the protocol, but
# with the extractor frozen at its random initial weights, so only the head learns.

# %% tags=["remove-input"]
report.table(dp.transfer_table(ch), "Phase 2 on the phase-1 extractor and on one that never learned digits "
             "(test pairs; mean ± sd over seeds)")

# %% tags=["remove-cell"]
transfer = chapter_claims.set_index("claim").loc["transfer-learning-helps"]
report.glue("transfer_verdict", transfer["verdict"])
_ = report.glue("transfer_reason", transfer["reason"])

# %% [markdown]
# The report's idea is **{glue:text}`transfer_verdict`**: {glue:text}`transfer_reason`.
#
# (pairs-why)=
# ## Why the numbers differ
#
# Our frozen runs score {glue:text}`acc_main` on the test pairs against the report's
# {glue:text}`acc_reported`. Two things the report leaves open could explain the
# gap, and each was run as a variant of the protocol with the extractor frozen, as
# the report trained it:
#
# - **the draw of the pairs.** The report draws its pairs once, unseeded; our seeds
#   vary the training but keep pair seed 0. Four more pair seeds
#   ({glue:text}`pair_seeds`) at training seed {glue:text}`seed0` show how far the
#   accuracy moves with the draw alone.
# - **phase 1 on "the original MNIST dataset".** The report's code slices the first
#   6,000 images, but its text says phase 1 trained on the original dataset. The
#   variant trains phase 1 on all 60,000 training images (seeds
#   {glue:text}`phase1_seeds`), then phase 2 on the same pairs.
#
# A setting reproduces the report's number when that number lies inside the 95%
# interval for another run of the setting (the rule of the claims above).

# %% tags=["remove-input"]
why = dp.why_numbers(ch)
display(report.table(shown(why), f"Same-digit pairs, test accuracy with the extractor frozen: the report's and "
                     f"ours under the protocol and each variant ({ch.profile} profile)", precision=4).set_properties(**{"font-size": "0.85em"}))
why_phase1 = dp.why_phase1(ch)
report.table(shown(why_phase1), "Phase 1, training accuracy of the last epoch (the progress bar): the report's "
             f"\"about 93%\" and ours on 6,000 or all 60,000 images ({ch.profile} profile)", precision=4).set_properties(**{"font-size": "0.85em"})

# %% tags=["remove-cell"]
report.glue("pair_seeds", ", ".join(map(str, p.ablation_pair_seeds)))
report.glue("phase1_seeds", ", ".join(map(str, p.ablation_seeds)))
report.glue("why_explained", ", ".join(explains(why)) or "none")
_ = report.glue("why_p1_explained", ", ".join(explains(why_phase1)) or "none")

# %% [markdown]
# Variants that reproduce the report's pair accuracy: {glue:text}`why_explained`;
# its phase-1 "about 93%": {glue:text}`why_p1_explained`.
#
# ## Appendix A: the model code
#
# The code that built every model of this chapter, shown from the package (not
# retyped): the report's `feature_extraction`, `classifier_10` and `classifier_2`. The
# block and head functions they call (`residual_block`, `concat_features`,
# `dense_head`) are Report 2's, listed in {ref}`that chapter's Appendix A
# <residual-depth-model-code>`.

# %% tags=["remove-input", "hide-output"] mystnb={"code_prompt_show": "Show the code", "code_prompt_hide": "Hide the code"}
Code(inspect.getsource(pair_transfer), language="python")

# %% [markdown]
# ## Appendix B: the pair sampler
#
# Our sampler and, for the errata, the report's own generator, from `cnnrepro.pairs`.

# %% tags=["remove-input", "hide-output"] mystnb={"code_prompt_show": "Show the code", "code_prompt_hide": "Hide the code"}
Code(inspect.getsource(pairs), language="python")

# %% [markdown]
# ## Provenance
#
# Every number above comes from the stored runs listed behind the toggle
# (`results/<model>/<run>/`: config, per-update and per-epoch history, predictions and
# provenance; for phase 1, the extractor's weights that phase 2 starts from). Where they ran, with which packages, data and commits: the appendix
# {ref}`environment-of-the-runs`.

# %% tags=["remove-input", "hide-output"] mystnb={"code_prompt_show": "Show the runs and where they trained", "code_prompt_hide": "Hide the runs"}
ch.provenance({"phase": ["1" if r.config.model == "digit_classifier" else f"2, {dp.variant_of(r.config)}"
                          for r in ch.runs]})

# %% tags=["remove-cell"]
reasons = {"pairs": ablation_reason(why), "phase1": ablation_reason(why_phase1)}
_ = headlines.publish_headlines(CHAPTER, dp.headlines(summary, phase1_frame, modules, ch.reported, main,
                                                     p=p, profile=ch.profile, reasons=reasons))

