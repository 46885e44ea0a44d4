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
# Cincinnati), `004_793215aed1969ee4.txt`.*
#
# The report builds three Keras models for MNIST from its own code (a "DNN" whose
# Dense layers come before `Flatten`, a small ConvNet, and a network made of the
# first blocks of a ResNet-50), trains each with Adam at four learning rates with
# validation and early stopping, and prints the accuracy and F1 of each (Tables 1
# and 2) and the curves, confusion matrix and classification report of the ResNet
# at learning rate 0.0001. Its code compiles every model, all of which end in
# softmax, with `SparseCategoricalCrossentropy(from_logits=True)`, which as written
# takes a second softmax of the probabilities. This chapter reruns the grid three
# times: with the code as printed, with the double softmax the call asks for, and
# with the loss corrected, and sets all three beside the report.

# %% tags=["parameters"]
profile = "cpu"
models = None             # default: ["dnn", "convnet", "resnet50_block"]
learning_rates = None     # default: [0.1, 0.01, 0.001, 0.0001]
losses = None             # default: ["as printed", "double softmax", "corrected"]
seeds = None              # default: [0]
batch_size = None         # default: 32 (Keras's default; the report does not say)
max_epochs = None         # default: 20 (paper), 5 (cpu)
patience = None           # default: 3 (paper), 2 (cpu): epochs without a lower val loss
validation_split = None   # default: 0.1, the last 10% of the training images
train_images = None       # default: 60000 (paper), 4000 (cpu): the first N
test_images = None        # default: 10000 (paper), 2000 (cpu)
force = False             # retrain even when the store holds the run

# %% tags=["remove-cell"]
import numpy as np
import pandas as pd

from cnnrepro import claims, data, plots, protocol, report
from cnnrepro.chapters import dnn_convnet_resnet as uc
from cnnrepro.chapters.dnn_convnet_resnet import LOSSES, MODELS
from cnnrepro.models import build_model, shapes_only
from cnnrepro.store import ResultsStore
from cnnrepro.train import fit_size

CHAPTER = "dnn_convnet_resnet"
proto = protocol.resolve(
    CHAPTER, profile, models=models, learning_rates=learning_rates, losses=losses, seeds=seeds,
    batch_size=batch_size, max_epochs=max_epochs, patience=patience,
    validation_split=validation_split, train_images=train_images, test_images=test_images,
    force=force)
store = ResultsStore(proto.store_root)
runs = store.get_runs(proto.run_configs(), force=proto.force,
                      requested_by=proto.requested_by(), verbose=2)
paper = report.reported(CHAPTER)
NAMES = {"dnn": "DNN", "convnet": "ConvNet", "resnet50_block": "ResNet"}
seed0 = proto.seeds[0]


LOSS_NAMES = {v: k for k, v in LOSSES.items()}


def loss_of(run) -> str:
    return LOSS_NAMES[run.config.extra.get("loss", "categorical_crossentropy")]


def frame_of(runs) -> pd.DataFrame:
    """One row per run: model, learning rate, loss, seed, test accuracy and macro F1,
    and how early stopping ended it."""
    return pd.DataFrame([{
        "model": NAMES[r.config.model], "learning rate": r.config.learning_rate,
        "loss": loss_of(r), "seed": r.config.seed, "accuracy": r.metrics["accuracy"],
        "f1": r.metrics["f1"], "epochs trained": r.metrics.get("epochs_trained"),
        "best epoch": r.metrics.get("best_epoch"), "key": r.key} for r in runs])


results = frame_of(runs)


def identical_pairs() -> tuple[int, int]:
    """(pairs of 'as printed' and 'corrected' runs with identical per-update history,
    pairs compared)."""
    by = {(r.config.model, r.config.learning_rate, r.config.seed, loss_of(r)): r for r in runs}
    pairs = [(by[k], by[(*k[:3], "corrected")]) for k in by
             if k[3] == "as printed" and (*k[:3], "corrected") in by]
    same = sum(a.updates[["loss", "accuracy"]].equals(b.updates[["loss", "accuracy"]])
               for a, b in pairs)
    return same, len(pairs)


same, compared = identical_pairs()
report.glue("identical", f"{same}")
report.glue("pairs", f"{compared}")
mean = results.groupby(["model", "learning rate", "loss"], sort=False)[["accuracy", "f1"]].mean()

# %% tags=["remove-cell"]
report.glue_profile(proto)
n_fit = fit_size(proto.train_images, proto.validation_split)
report.glue("n_fit", f"{n_fit:,}")
report.glue("n_val", f"{proto.train_images - n_fit:,}")
report.glue("n_test", f"{proto.test_images:,}")
report.glue("minutes", f"{sum(r.provenance['timing']['wall_seconds'] for r in runs) / 60:.0f}")
report.glue("n_runs", f"{len(runs)}")


def paper_hours() -> float:
    """Hours the paper protocol would train at most (every run to its last epoch) at
    the measured speed of our run of the same model, rate and loss."""
    full = protocol.resolve(CHAPTER, "paper")
    images = fit_size(full.train_images, full.validation_split) * full.max_epochs
    return sum(images / r.provenance["timing"]["train_images_per_second"] for r in runs) / 3600


_ = report.glue("paper_hours", f"{paper_hours():.0f}")

# %% tags=["remove-cell"]
chapter_claims, verdict_box = claims.chapter_box(
    CHAPTER, claims.evidence_frame(runs, uc.labels), proto)

# %% [markdown]
# ## The report's claims, judged
#
# Each claim of the report, in its words, with the verdict of the book's rule (see
# the Summary page). The runs shown are at the `cpu` profile, short of the
# report's protocol, so no claim about the runs themselves is tested here; the
# report's tables are still checked against each other, and several of its claims
# fail on its own numbers.

# %% tags=["remove-input"]
verdict_box

# %% [markdown]
# ## How this chapter was run
#
# Profile: {glue:text}`profile_note`. Each run fits {glue:text}`n_fit` images,
# validates on the next {glue:text}`n_val` after every epoch, stops when the
# validation loss has not improved for the patience given, goes back to the weights
# of its best epoch, and is then tested on {glue:text}`n_test` test images. The
# {glue:text}`n_runs` runs took {glue:text}`minutes` minutes of wall time.
#
# The report's protocol as chosen here for `paper` (all 60,000 training images, at
# most 20 epochs, patience 3) would train up to {glue:text}`paper_hours` hours at
# the speed of these runs, most of it the ResNet at batch size 32; early stopping
# ends most runs well before 20 epochs. It is meant for a GPU
# (`python -m cnnrepro run dnn_convnet_resnet --profile paper`, with
# `KERAS_BACKEND=jax` where TensorFlow is missing; note that there the "as printed"
# loss becomes the double softmax, see below). The `cpu` profile's accuracies sit
# below the report's because each run sees a fifteenth of the images.
#
# The report leaves these settings open; the choices made here:
#
# | setting | report | this chapter |
# |---|---|---|
# | DNN layers | `model_DNN(input_shape, num_classes, LR, *layers)`, sizes not given | two Dense layers of 128 and 64 units (ReLU), on the 28x28 arrays as the report's data are |
# | ConvNet filters | `model_ConvNet(..., *layers)`, not given | 32, 64, 64: the structure is that of the TensorFlow CNN tutorial, which uses these |
# | ResNet blocks | `model_ResNet(..., nbOfBlock, LR)`, not given | as printed, all four block calls sit under `if i == 0`, so any number of blocks gives the same network: a convolution block (stride 1), an identity block, a convolution block (stride 2), an identity block, all with filters 64, 64, 256 |
# | ResNet block internals | "something like the first block of a ResNet50", after a Kaggle notebook | that notebook's: 1x1 (carrying the stride), 3x3 "same", 1x1, batch norm after each, a 1x1 projection with batch norm on the shortcut of a convolution block; the block's stride defaults to 1, since the report passes 2 explicitly |
# | loss | `SparseCategoricalCrossentropy(from_logits=True)` on softmax outputs | three runs each: the call as printed (categorical on one-hot labels, the same number), the double softmax it asks for, and `from_logits=False` |
# | batch size | not stated | 32, Keras's default |
# | validation | "a drop in accuracy on the validation dataset", early stopping that preserves the best parameters | `validation_split=0.1` (Keras holds out the last 10% of the training images), `EarlyStopping(monitor="val_loss", restore_best_weights=True)` with the patience above |
# | epochs | not stated | at most 20 (`cpu`: 5) |
# | F1 | "F1" | macro F1 (scikit-learn), which the report's last line names |
# | initialisation, Adam | Keras defaults | Keras defaults |

# %% [markdown]
# ## Figure 1: the data

# %% tags=["remove-cell"]
mnist = data.load_mnist()
report.figure("fig_first", plots.image_grid(
    mnist.x_train[:20], [f"label {y}" for y in mnist.y_train[:20]], ncols=10))
split = pd.DataFrame({
    "images": [proto.train_images, n_fit, proto.train_images - n_fit, proto.test_images],
    "source": ["the first N of mnist.load_data()'s 60,000 training images",
               "the first part, shuffled every epoch",
               "the last part, as Keras's validation_split takes it",
               "the 10,000 test images (the first N)"]},
    index=["training set", "fit", "validation", "test"])
report.glue("split_table", report.table(split, f"Data split ({proto.profile} profile)"))
pixels = pd.DataFrame({"raw (uint8)": [mnist.x_train.min(), mnist.x_train.max()],
                       "after / 255.0": [mnist.x_train.min() / 255.0, mnist.x_train.max() / 255.0]},
                      index=["minimum", "maximum"])
report.glue("pixel_table", report.table(pixels, "Pixel values before and after normalisation",
                                        precision=2))

# %% [markdown]
# ```{glue:figure} fig_first
# :name: fig-uc-1
#
# **Figure 1.** First images of the MNIST training set with their labels (the data
# mirror's `mnist.npz`, the file `keras.datasets.mnist.load_data()` reads).
# ```
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
        report.layer_table(model), f"{NAMES[name]} (`{name}`): {model.count_params():,} parameters")
        .set_properties(**{"font-size": "0.85em"}))

# %% [markdown]
# ```{glue:} summary_dnn
# ```
#
# ```{glue:} summary_convnet
# ```
#
# ```{glue:} summary_resnet50_block
# ```

# %% tags=["remove-cell"]
def defective_loss(probs: np.ndarray, label: int) -> float:
    """The report's loss on one output: cross-entropy of softmax(probabilities)."""
    z = np.exp(probs - probs.max())
    return float(-np.log(z[label] / z.sum()))


perfect = np.eye(10)[0]
report.glue("floor", f"{defective_loss(perfect, 0):.3f}")
report.glue("floor_formula", "log(1 + 9/e)")

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
# were correct: of the {glue:text}`pairs` pairs of runs here "as printed" and
# "corrected" (same model, learning rate and seed), {glue:text}`identical` have the
# same loss and accuracy after every update, to the last digit. The JAX backend cannot attach the logits to its arrays, so the same
# code there computes the double softmax. The "double softmax" runs show what the
# defect costs where it takes effect.

# %% tags=["remove-cell"]
def reported_grid() -> pd.DataFrame:
    rows = []
    for model, by_lr in paper["by_learning_rate"].items():
        for lr, (acc, f1) in by_lr.items():
            rows.append({"model": NAMES[model], "learning rate": float(lr),
                         "accuracy": acc, "f1": f1})
    return pd.DataFrame(rows).set_index(["model", "learning rate"])


theirs = reported_grid()
ours_by_loss = {loss: mean.xs(loss, level="loss") for loss in proto.losses}
table2 = pd.concat(
    {metric: pd.concat({"report": theirs[metric], **{loss: t[metric] for loss, t in ours_by_loss.items()}},
                       axis=1).dropna(subset=list(ours_by_loss), how="all")
     for metric in ("accuracy", "f1")}, axis=1)
report.glue("table2", report.table(
    table2, f"Table 2. Test accuracy and macro F1 by learning rate: the report's and ours "
    f"with each loss ({proto.profile} profile)", precision=3)
    .format_index("{:g}", axis=0, level=1).set_properties(**{"font-size": "0.85em"}))

best_rows = []
for model in proto.models:
    rep = paper["best"][model]
    best_rows.append({"model": NAMES[model], "run": "report", "accuracy": rep["accuracy"],
                      "F1": rep["f1"], "learning rate": "not stated"})
    for loss, ours in ours_by_loss.items():
        lr = ours.loc[NAMES[model], "accuracy"].idxmax()
        best_rows.append({"model": NAMES[model], "run": f"ours, {loss}",
                          "accuracy": ours.loc[(NAMES[model], lr), "accuracy"],
                          "F1": ours.loc[(NAMES[model], lr), "f1"], "learning rate": f"{lr:g}"})
table1 = pd.DataFrame(best_rows).set_index(["model", "run"])
report.glue("table1", report.table(
    table1, f"Table 1. The best run of each model: the report's and ours ({proto.profile} profile)",
    precision=3))

if {"double softmax", "corrected"} <= set(proto.losses):
    cost = (mean.xs("corrected", level="loss") - mean.xs("double softmax", level="loss"))
    cost = cost.unstack("learning rate")
    report.glue("cost", report.table(
        cost, f"What the double softmax costs: corrected minus double softmax "
        f"({proto.profile} profile)", precision=3).format_index("{:g}", axis=1, level=1))
else:
    report.glue("cost", "(needs the double-softmax and corrected runs)")

lr_frame = results.groupby(["model", "learning rate", "loss"], sort=False)[["accuracy", "f1"]] \
    .mean().reset_index()
report.figure("fig_grid", plots.metric_by_factor(
    lr_frame, theirs.reset_index(), x="learning rate", metric="accuracy",
    title=f"Test accuracy by learning rate ({proto.profile} profile)"))

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
# ```{glue:figure} fig_grid
# :name: fig-uc-grid
#
# Test accuracy of each model by learning rate (log scale): ours with the loss as
# printed (solid), the double softmax (dotted) and corrected (dashed; on TensorFlow
# it lies on the solid line), the report's as crosses. Profile: {glue:text}`profile`.
# ```
#
# ```{glue:} cost
# ```
#
# The report's own numbers disagree with each other in places (the claims judged
# *report inconsistent* at the top of the chapter):

# %% tags=["remove-input"]
report.table(claims.inconsistencies(chapter_claims), "Inconsistencies in the report",
             csv=chapter_claims).hide(axis="index").set_properties(
                 subset=["the report's claim", "why"], **{"text-align": "left"})

# %% tags=["remove-cell"]
def run_of(model, lr, loss, seed=seed0):
    return next(r for r in runs if (r.config.model, r.config.learning_rate, loss_of(r),
                                    r.config.seed) == (model, lr, loss, seed))


# the report's example run: the ResNet at 0.0001, its smallest rate (or ours, if set otherwise)
focus_lr, focus_model = min(proto.learning_rates), "resnet50_block"
TAGS = {loss: loss.replace(" ", "_") for loss in LOSSES}
has_focus = focus_model in proto.models
report.glue("focus_lr", f"{focus_lr:g}")
focus = {loss: run_of(focus_model, focus_lr, loss) for loss in proto.losses} if has_focus else {}
for loss, run in focus.items():
    tag = TAGS[loss]
    report.figure(f"fig_curves_{tag}", plots.epoch_curves(
        run.epochs, title=f"ResNet, learning rate {focus_lr:g}, loss {loss} ({proto.profile} profile)",
        held_out="validation"))
    report.figure(f"fig_confusion_{tag}", plots.confusion_panels(
        [report.confusion_panel(f"ResNet, loss {loss}", run, data.MNIST_CLASSES)],
        data.MNIST_CLASSES))
    report.glue(f"class_report_{tag}", report.table(
        report.per_class(run, data.MNIST_CLASSES),
        f"Classification report, ResNet at {focus_lr:g}, loss {loss} ({proto.profile} profile)",
        precision=4, formatter={"support": "{:,.0f}"}))
    report.glue(f"macro_f1_{tag}", f"{run.metrics['f1']:.5f}")
    report.glue(f"stopped_{tag}", f"{run.metrics['epochs_trained']} epochs (best: "
                                  f"{run.metrics['best_epoch']})")
for loss in LOSSES:
    if loss not in focus:  # keep the page's references whole when a loss was not run
        tag = TAGS[loss]
        for name in (f"fig_curves_{tag}", f"fig_confusion_{tag}"):
            report.figure(name, plots.note_figure(f"the ResNet with loss {loss} was not run"))
        report.glue(f"class_report_{tag}", report.table(pd.DataFrame({"note": ["not run"]}),
                                                        f"Classification report, loss {loss}"))
        for name in (f"macro_f1_{tag}", f"stopped_{tag}"):
            report.glue(name, "(not run)")
_ = report.glue("f1_reported", f"{paper['resnet_lr_0.0001_macro_f1']:.5f}")
BN_MOMENTUM = 0.99  # Keras's BatchNormalization default, which the report's code keeps
updates_per_epoch = -(-n_fit // proto.batch_size)
report.glue("updates_per_epoch", f"{updates_per_epoch:,}")
report.glue("bn_left", f"{BN_MOMENTUM ** updates_per_epoch:.2f}")
_ = report.glue("bn_left_paper", f"{BN_MOMENTUM ** -(-fit_size(60000, 0.1) // 32):.0e}")

# %% [markdown]
# ## The ResNet at learning rate 0.0001
#
# The report shows loss and accuracy curves (training and validation), the
# confusion matrix and the classification report of this run, and a macro F1 of
# {glue:text}`f1_reported`. Ours, at learning rate {glue:text}`focus_lr` (the
# smallest of this chapter run), with the loss as printed: macro F1
# {glue:text}`macro_f1_as_printed` after {glue:text}`stopped_as_printed`; with the
# double softmax: {glue:text}`macro_f1_double_softmax` after
# {glue:text}`stopped_double_softmax`; corrected: {glue:text}`macro_f1_corrected`
# after {glue:text}`stopped_corrected`.
#
# ```{glue:figure} fig_curves_as_printed
# :name: fig-uc-curves
#
# Loss and accuracy per epoch of the ResNet at learning rate {glue:text}`focus_lr`
# with the loss as printed, training and validation. Profile: {glue:text}`profile`.
# ```
#
# ```{glue:figure} fig_confusion_as_printed
# :name: fig-uc-confusion
#
# Its confusion matrix on the test images (counts; true label by row) and each
# digit's precision, recall and F1. Profile: {glue:text}`profile`.
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
# Loss and accuracy per epoch, ResNet at {glue:text}`focus_lr`, double softmax. Its loss cannot
# fall below {glue:text}`floor`. Profile: {glue:text}`profile`.
# ```
#
# ```{glue:figure} fig_confusion_double_softmax
# :name: fig-uc-confusion-double-softmax
#
# Its confusion matrix and per-digit scores. Profile: {glue:text}`profile`.
# ```
#
# ```{glue:} class_report_double_softmax
# ```

# %% [markdown]
# Where the ResNet's test accuracy sits near 10% although its training accuracy is
# high, the network answers one class for every test image because of batch norm,
# not the weights: at test time each batch-norm layer normalises with moving
# averages of the training batches' mean and variance, which start at 0 and 1 and,
# with Keras's momentum 0.99, keep 0.99^n of that start after n updates. One epoch
# here is {glue:text}`updates_per_epoch` updates, after which {glue:text}`bn_left`
# of the starting variance of 1 is still in the average, while the real variances
# are far smaller; the layers then shrink their inputs and every image lands on
# the same class. The report's full epoch of 1,688 updates leaves
# {glue:text}`bn_left_paper`. Learning rates that move the weights faster inflate
# the real variances and hide the lag sooner.
#
# ## Early stopping
#
# How many epochs each run trained and which epoch's weights it kept (the one with
# the lowest validation loss).

# %% tags=["remove-input"]
stops = results.pivot_table(index=["model", "loss"], columns="learning rate",
                            values=["epochs trained", "best epoch"], aggfunc="first")
report.table(stops, f"Epochs trained and best epoch ({proto.profile} profile)", precision=0
             ).format_index("{:g}", axis=1, level=1)

# %% [markdown]
# ## Provenance

# %% tags=["remove-input"]
report.provenance_tables(runs, proto)

# %% tags=["remove-cell"]
headline = []
for (model, run_name), row in table1.iterrows():
    if run_name == "report":
        reported_row = row
        continue
    variant = run_name.removeprefix("ours, ")
    reason = ("the report's loss taken as written (softmax applied twice)"
              if variant == "double softmax" else "")
    for kind, column in (("accuracy", "accuracy"), ("f1", "F1")):
        headline.append(report.headline(
            f"{model}, best test {'accuracy' if kind == 'accuracy' else 'macro F1'} ({variant}, "
            f"lr {row['learning rate']})", kind, reported_row[column], row[column],
            profile=proto.profile, decimals=3, reason=reason, test_size=proto.test_images,
            counted=variant != "double softmax"))  # the counterfactual is shown, not counted
_ = report.publish_headlines(CHAPTER, headline)
