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
# # DNN vs ConvNet vs a ResNet-50-style network across learning rates (UC homework)
#
# *Source: Deep Learning, Homework 2, "Convolutional Neural Network" (University of
# Cincinnati) {cite:p}`uc-homework-2`.*

# %% tags=["parameters"]
profile = "cpu"
models = None             # default: ["dnn", "convnet", "resnet50_block"]
learning_rates = None     # default: [0.1, 0.01, 0.001, 0.0001]
losses = None             # default: ["as printed", "double softmax"]
seeds = None              # default: [0, 1, 2]; DNN and ConvNet, the loss as printed
resnet_seeds = None       # default: [0, 1, 2]; the ResNet, the loss as printed
counterfactual_seeds = None  # default: [0]; every model with the double softmax
batch_size = None         # default: 32 (Keras's default; the report does not say)
max_epochs = None         # default: 20 (paper), 5 (cpu)
patience = None           # default: 3 (paper), 2 (cpu): epochs without a lower val loss
validation_split = None   # default: 0.1, the last 10% of the training images
train_images = None       # default: 60000 (paper), 4000 (cpu): the first N
test_images = None        # default: 10000 (paper), 2000 (cpu)
ablations = None          # default: ["bn_stats"]: the low-rate ResNet again, all weights kept
force = False             # retrain even when the store holds the run

# %% tags=["remove-cell"]
import pandas as pd

from cnnrepro import answers, claims, data, headlines, plots, protocol, report
from cnnrepro.chapter import open_chapter
from cnnrepro.chapters import dnn_convnet_resnet as uc
from cnnrepro.chapters.dnn_convnet_resnet import LOSSES, MODELS, NAMES
from cnnrepro.models import build_model, shapes_only

CHAPTER = "dnn_convnet_resnet"
ch = open_chapter(CHAPTER, globals())
results = uc.results_frame(ch)
ours = uc.mean_by_loss(results, ch.proto.losses)

# %% tags=["remove-cell"]
ch.glue_cost()
paper = protocol.resolve(CHAPTER, "paper")
split = uc.data_split(*([paper, ch.proto] if ch.paper_keys else [ch.proto]))

# %% tags=["remove-cell"]
chapter_claims, answer, claim_cards = ch.judge_claims()

# %% tags=["remove-input"]
answer

# %% [markdown]
# The report builds three Keras models for MNIST from its own code (a "DNN" whose
# Dense layers come before `Flatten`, a small ConvNet, and a network made of the
# first blocks of a ResNet-50), trains each with Adam at four learning rates,
# recommends early stopping, and prints the accuracy and F1 of each (Tables 1
# and 2) and the curves, confusion matrix and classification report of the ResNet
# at learning rate 0.0001. Its code compiles every model, all of which end in
# softmax, with `SparseCategoricalCrossentropy(from_logits=True)`. Read as written,
# that takes a second softmax of the probabilities; run as the report ran it, on
# Keras with TensorFlow, it does not: Keras finds the logits behind the softmax and
# computes the ordinary cross-entropy, so, unless the report ran a Keras too old to
# do so (it names no version), its numbers come from a correct loss. This chapter reruns the grid twice, with the loss as the report's code
# computed it ("as printed") and with the double softmax the call asks for on other
# backends, and sets both beside the report. Each cell is shown at the report's
# protocol (`paper`) where that run is stored, otherwise at the `cpu` profile, and
# every table says which.

# %% [markdown]
# ## The report's claims, judged
#
# Each claim of the report, in its words, with the {term}`verdict` of the book's rule (see
# {ref}`the Summary <summary-rule>`). Runs: {glue:text}`profile`. A claim is tested only where every
# run it reads follows the report's protocol; a claim that reads a `cpu` run is "not
# tested". The report's tables are also checked against each other, and several of
# its claims fail on its own numbers.

# %% tags=["remove-input"]
claim_cards

# %% [markdown]
# ## How this chapter was run
#
# {term}`Profile <profile>`: {glue:text}`profile_note`. Each run fits the first part of its training
# images, validates on the rest after every epoch (the data split under Figure 1
# gives the sizes), stops when the validation loss has not improved for the
# patience given, goes back to the weights of its best epoch, and is then tested on
# the test images. The
# {glue:text}`n_runs` runs took {glue:text}`wall_minutes` minutes of wall time on
# {glue:text}`devices`.
#
# The report's protocol as chosen here for `paper` (all 60,000 training images, at
# most 20 epochs, patience 3) would train up to {glue:text}`paper_hours` hours at
# the speed of these runs, most of it the ResNet at batch size 32; early stopping
# ends most runs well before 20 epochs. `python -m cnnrepro train dnn_convnet_resnet
# --profile paper` trains the missing cells on any backend (with `KERAS_BACKEND=jax`
# on a GPU machine without TensorFlow): a run's key names the loss as computed, so
# "as printed" trains the loss TensorFlow computed for the report wherever it runs,
# and a double-softmax run can never be read as one. Cells still at `cpu` sit below
# the report's because each run sees a fifteenth of the images.
#
# The report leaves these settings open; the choices made here:
#
# | setting | report | this chapter |
# |---|---|---|
# | DNN layers | `model_DNN(input_shape, num_classes, LR, *layers)`, sizes not given | two Dense layers of 128 and 64 units (ReLU), on the 28x28 arrays as the report's data are |
# | ConvNet filters | `model_ConvNet(..., *layers)`, not given | 32, 64, 64: the structure is that of the TensorFlow CNN tutorial, which uses these |
# | ResNet blocks | `model_ResNet(..., nbOfBlock, LR)`, not given | as printed, all four block calls sit under `if i == 0`, so any number of blocks gives the same network: a convolution block (stride 1), an identity block, a convolution block (stride 2), an identity block, all with filters 64, 64, 256 |
# | ResNet block internals | "something like the first block of a ResNet50", after a Kaggle notebook | that notebook's: 1x1 (carrying the stride), 3x3 "same", 1x1, batch norm after each, a 1x1 projection with batch norm on the shortcut of a convolution block; the block's stride defaults to 1, since the report passes 2 explicitly |
# | loss | `SparseCategoricalCrossentropy(from_logits=True)` on softmax outputs | two runs each: as printed (what the call computes on TensorFlow: the cross-entropy of the softmax's logits; categorical on one-hot labels, the same number), and the double softmax it asks for |
# | batch size | not stated | 32, Keras's default |
# | validation | "a drop in accuracy on the validation dataset can be observed"; early stopping "can be employed" to "preserve the model's best parameters"; no split, patience or whether its runs used it | `validation_split=0.1` (Keras holds out the last 10% of the training images), `EarlyStopping(monitor="val_loss", restore_best_weights=True)` with the patience above |
# | epochs | not stated | at most 20 (`cpu`: 5) |
# | backend | TensorFlow (the code imports it) | TensorFlow on this book's CPU; a run's provenance names its backend |
# | F1 | "F1" | macro F1 (scikit-learn), which the report's last line names |
# | initialisation, Adam | Keras defaults | Keras defaults |

# %% [markdown]
# ## Figure 1: the data

# %% tags=["remove-cell"]
mnist = data.load_mnist()
report.glue("split_table", report.table(split, "Data split: images per part, by profile"))
report.glue("pixel_table", report.table(uc.pixel_range(mnist.x_train),
                                        "Pixel values before and after normalisation", precision=2))

# %% [markdown]
# The report's Figure 1 previews the first images of the MNIST training set with their
# labels: the images of {ref}`Figure 3 of the Report 2 chapter <fig-mnist-samples>`,
# from the same file (the data mirror's `mnist.npz`, which
# `keras.datasets.mnist.load_data()` reads). Figure 1 is the report's only numbered
# figure. Besides it the report shows a ResNet-50 block diagram from its Kaggle source
# (the settings table gives the blocks) and, unnumbered, the ResNet's curves and
# confusion matrix, which Figures U2 and U3 redraw; this chapter's figures are
# numbered U1 to U5.
#
# ```{glue:} split_table
# ```
#
# ```{glue:} pixel_table
# ```

# %% [markdown]
# ## The three models
#
# Built by `cnnrepro.models.uc_homework` from the report's code. The DNN's Dense
# layers act on each row of 28 pixels separately (its input has no channel axis),
# so only its output layer sees the whole digit.

# %% tags=["remove-cell"]
for name in MODELS:
    with shapes_only():
        model = build_model(name, (28, 28, 1), 10)
    report.glue(f"summary_{name}", report.table(
        report.layer_table(model), f"{NAMES[name]}: {model.count_params():,} parameters")
        .set_properties(**{"font-size": "0.85em"}))

# %% [markdown]
# ````{dropdown} The DNN, layer by layer
# ```{glue:} summary_dnn
# ```
# ````
#
# ````{dropdown} The ConvNet, layer by layer
# ```{glue:} summary_convnet
# ```
# ````
#
# ````{dropdown} The ResNet, layer by layer
# ```{glue:} summary_resnet50_block
# ```
# ````

# %% tags=["remove-cell"]
report.glue("floor", f"{uc.double_softmax_floor():.3f}")
_ = report.glue("floor_formula", "log(1 + 9/e)")

# %% [markdown]
# ## The loss as printed
#
# With `from_logits=True` a loss applies softmax to its input. The models have
# already applied one, so, taken at its word, the loss sees probabilities in
# [0, 1], and softmax(p) keeps every class within a factor e of every other: even a
# perfect, certain prediction costs {glue:text}`floor_formula` = {glue:text}`floor`
# instead of 0, and the gradient that reaches the network is damped by the
# softmax's own slope.
#
# Keras does not take it at its word. A tensor made by Keras's softmax carries the
# logits it came from, and Keras's cross-entropy on TensorFlow uses those logits
# whenever they are there, whatever `from_logits` says (it warns that the output
# "does not represent logits"). The report's code therefore trains as if the loss
# were correct. `tests/test_train.py` trains one network with the call and with
# `from_logits=False` and gets the same loss and weights to the last bit (`make test`
# runs it). So "as printed" here is one run, trained with the correct loss, and a
# run's key names the loss as computed, never as written. The JAX backend cannot attach the logits to
# its arrays, so the same code there computes the double softmax; the "double
# softmax" runs show what the defect costs where it takes effect.

# %% tags=["remove-cell"]
report.glue("table2", report.table(
    uc.table2(ch.reported, ours), uc.table2_caption(ours), precision=3)
    .format_index("{:g}", axis=0, level=1).set_properties(**{"font-size": "0.85em"}))
for model in ("dnn", "convnet"):
    high, where = uc.cell_text(ours, model, 0.1)
    report.glue(f"{model}_high", high)
    report.glue(f"{model}_high_profile", where)
best = uc.table1(ch.reported, ours, ch.proto.models)
report.glue("table1", report.table(
    best, "Table 1. The best learning rate of each model: the report's run and ours (mean "
    "over seeds), at the profile of our runs (paper only where every learning rate of the "
    "model is)", precision=3).set_properties(**{"padding": "0.2em 0.5em"}))
cost = uc.double_softmax_cost(ours)
report.glue("cost", "(needs both losses at one profile)" if cost is None else report.table(
    cost, "What the double softmax costs: as printed minus double softmax, where both ran at one "
    "profile", precision=3).format_index("{:g}", axis=1, level=1))
lr_frame = results.groupby(["model", "learning rate", "loss"], sort=False)[["accuracy", "f1"]].mean()
report.figure("fig_grid", plots.metric_by_factor(
    lr_frame.reset_index(), uc.reported_grid(ch.reported).reset_index(), x="learning rate",
    metric="accuracy", title="Test accuracy by learning rate"))

# %% [markdown]
# ## Table 1: the best of each model
#
# ```{glue:} table1
# ```
#
# ## Table 2: four learning rates
#
# ```{glue:} table2
# ```
#
# The learning rate 0.1 is where the report's numbers are lowest. The ConvNet does
# not learn at 0.1 in ours either
# (test accuracy {glue:text}`convnet_high` against the report's 0.11,
# {glue:text}`convnet_high_profile`), and the DNN reaches {glue:text}`dnn_high`
# against 0.78 ({glue:text}`dnn_high_profile`). The difference column gives
# every other cell; a run at `cpu` (the caption names any) saw a fifteenth of the
# images and tests none of the report's numbers.
#
# ```{glue:figure} fig_grid
# :name: fig-uc-grid
#
# **Figure U1.** Test accuracy of each model by learning rate (log scale): ours with the loss as
# printed (solid) and the double softmax (dotted), the report's as crosses. Each
# point is at the profile Table 2 gives it; runs: {glue:text}`profile`.
# ```
#
# ```{glue:} cost
# ```
#
# The report's own numbers disagree with each other in places (the claims judged
# *report inconsistent* at the top of the chapter):

# %% tags=["remove-input"]
answers.claim_lines(claims.inconsistencies(chapter_claims))

# %% tags=["remove-cell"]
focus_lr, focus_model = min(ch.proto.learning_rates), "resnet50_block"
report.glue("focus_lr", f"{focus_lr:g}")
focus = {loss: ch.run(model=focus_model, learning_rate=f"{focus_lr:g}", loss=loss)
         for loss in ch.proto.losses} if focus_model in ch.proto.models else {}
for loss in LOSSES:
    tag, run = loss.replace(" ", "_"), focus.get(loss)
    report.figure(f"fig_curves_{tag}", plots.epoch_curves(
        run.epochs, title=f"ResNet, learning rate {focus_lr:g}, loss {loss} ({ch.profile_of(run)} profile)",
        held_out="validation") if run else plots.note_figure(f"the ResNet with loss {loss} was not run"))
    report.figure(f"fig_confusion_{tag}", plots.confusion_panels(
        [report.confusion_panel(f"ResNet, loss {loss}", run, data.MNIST_CLASSES)], data.MNIST_CLASSES)
        if run else plots.note_figure(f"the ResNet with loss {loss} was not run"))
    report.glue(f"class_report_{tag}", report.table(
        report.per_class(run, data.MNIST_CLASSES) if run else pd.DataFrame({"note": ["not run"]}),
        f"Classification report, ResNet at {focus_lr:g}, loss {loss} "
        f"({ch.profile_of(run) if run else ch.profile} profile)",
        precision=4, formatter={"support": "{:,.0f}"} if run else None))
    report.glue(f"profile_{tag}", ch.profile_of(run) if run else "(not run)")
    report.glue(f"macro_f1_{tag}", f"{run.metrics['f1']:.5f}" if run else "(not run)")
    report.glue(f"epochs_{tag}", f"{run.metrics['epochs_trained']}" if run else "(not run)")
    report.glue(f"best_epoch_{tag}", f"{run.metrics['best_epoch']}" if run else "(not run)")

# %% tags=["remove-cell"]
report.glue("f1_reported", f"{ch.reported['resnet_lr_0.0001_macro_f1']:.5f}")
updates_per_epoch = -(-split.loc["fit", f"images ({ch.profile})"] // ch.proto.batch_size)
report.glue("updates_per_epoch", f"{updates_per_epoch:,}")
report.glue("bn_left", f"{uc.moving_average_left(updates_per_epoch):.2f}")
full = uc.data_split(paper).loc["fit", "images (paper)"]
_ = report.glue("bn_left_paper", f"{uc.moving_average_left(-(-full // 32)):.0e}")

# %% [markdown]
# ## The ResNet at learning rate 0.0001
#
# The report shows loss and accuracy curves (training and validation), the
# confusion matrix and the classification report of this run, and a macro F1 of
# {glue:text}`f1_reported`. Ours, at learning rate {glue:text}`focus_lr` (the
# smallest this chapter ran), with the loss as printed ({glue:text}`profile_as_printed`
# profile): macro F1 {glue:text}`macro_f1_as_printed` after
# {glue:text}`epochs_as_printed` epochs (best: {glue:text}`best_epoch_as_printed`);
# with the double softmax ({glue:text}`profile_double_softmax` profile):
# {glue:text}`macro_f1_double_softmax` after {glue:text}`epochs_double_softmax`
# epochs (best: {glue:text}`best_epoch_double_softmax`).
#
# ```{glue:figure} fig_curves_as_printed
# :name: fig-uc-curves
#
# **Figure U2.** Loss and accuracy per epoch of the ResNet at learning rate {glue:text}`focus_lr`
# with the loss as printed, training and validation. Profile:
# {glue:text}`profile_as_printed`.
# ```
#
# ```{glue:figure} fig_confusion_as_printed
# :name: fig-uc-confusion
#
# **Figure U3.** Its confusion matrix on the test images (counts; true label by row) and each
# digit's precision, recall and F1. Profile: {glue:text}`profile_as_printed`.
# ```
#
# ```{glue:} class_report_as_printed
# ```
#
# The same network with the double softmax:
#
# ```{glue:figure} fig_curves_double_softmax
# :name: fig-uc-curves-double-softmax
#
# **Figure U4.** Loss and accuracy per epoch, ResNet at {glue:text}`focus_lr`, double softmax. Its loss cannot
# fall below {glue:text}`floor`. Profile: {glue:text}`profile_double_softmax`.
# ```
#
# ```{glue:figure} fig_confusion_double_softmax
# :name: fig-uc-confusion-double-softmax
#
# **Figure U5.** Its confusion matrix and per-digit scores. Profile: {glue:text}`profile_double_softmax`.
# ```
#
# ```{glue:} class_report_double_softmax
# ```

# %% tags=["remove-cell"]
focus_printed = focus.get("as printed")
report.glue("focus_accuracy", f"{focus_printed.metrics['accuracy']:.4f}" if focus_printed else "(not run)")
_ = report.glue("focus_classes", f"{uc.classes_predicted(focus_printed)}" if focus_printed else "(not run)")

# %% [markdown]
# ## Why the `cpu` ResNet answers one class
#
# Our ResNet at learning rate {glue:text}`focus_lr` with the loss as printed
# ({glue:text}`profile_as_printed` profile) reaches test accuracy
# {glue:text}`focus_accuracy` and predicts {glue:text}`focus_classes` of the 10
# classes on the test set. At the `cpu` profile, where the ResNet's test accuracy at
# the low learning rates sits near 10% although its training accuracy is
# high, the network answers one class for every test image because of batch norm,
# not the weights: at test time each batch-norm layer normalises with moving
# averages of the training batches' mean and variance, which start at 0 and 1 and,
# with Keras's momentum 0.99, keep 0.99^n of that start after n updates. One epoch
# here is {glue:text}`updates_per_epoch` updates, after which {glue:text}`bn_left`
# of the starting variance of 1 is still in the average, while the real variances
# are far smaller; the layers then shrink their inputs and every image lands on
# the same class. A `paper` epoch (54,000 images at batch size 32) is 1,688 updates
# and leaves {glue:text}`bn_left_paper`. Learning rates that move the weights faster inflate
# the real variances and hide the lag sooner.
#
# The test of that explanation: the ResNet at the low learning rates trained again
# at `cpu` (loss as printed, otherwise the same), every weight kept, and its test set scored
# with the statistics as trained, re-estimated over its training images, and of each
# test batch, with no further training.

# %% tags=["remove-input"]
bn = uc.batchnorm_table(ch)
report.table(bn, f"ResNet, test accuracy and classes predicted under three batch-norm statistics, "
             f"each seed ({ch.profile} profile)", precision=3)

# %% tags=["remove-cell"]
report.glue("bn_trained_max", f"{bn.xs('as trained', level='statistics')['accuracy'].max():.3f}")
_ = report.glue("bn_reestimated_min", f"{bn.xs('re-estimated', level='statistics')['accuracy'].min():.3f}")

# %% [markdown]
# Highest test accuracy over these learning rates and seeds as trained:
# {glue:text}`bn_trained_max`; lowest with re-estimated statistics, from the same
# weights: {glue:text}`bn_reestimated_min`.
#
# ## Early stopping
#
# How many epochs each run trained and which epoch's weights it kept (the one with
# the lowest validation loss).

# %% tags=["remove-input"]
report.table(uc.stops(results), "Epochs trained and best epoch, mean over seeds (each cell at "
             "the profile and with the seeds Table 2 gives it)", precision=1
             ).format_index("{:g}", axis=1, level=1)

# %% [markdown]
# ## Provenance
#
# Every number above comes from the stored runs listed behind the toggle
# (`results/<model>/<run>/`: config, per-update and per-epoch history, predictions and
# provenance). Where they ran, with which packages, data and commits: the appendix
# {ref}`environment-of-the-runs`.

# %% tags=["remove-input", "hide-output"] mystnb={"code_prompt_show": "Show the runs and where they trained", "code_prompt_hide": "Hide the runs"}
ch.provenance()

# %% tags=["remove-cell"]
_ = headlines.publish_headlines(CHAPTER, uc.headlines(
    best, test_sizes={ch.profile: ch.proto.test_images, "paper": paper.test_images},
    featured=(focus_lr, focus_printed.metrics["f1"], ch.profile_of(focus_printed),
              ch.reported["resnet_lr_0.0001_macro_f1"]) if focus_printed else None))

