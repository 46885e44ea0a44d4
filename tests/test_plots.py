"""The shared figures fit the book's column with legible text: each plotting
function, on small data shaped like a chapter's, draws a figure no wider than the
column whose smallest text is at least MIN_FONT_PT, and the PNG the book shows
records that size."""

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cnnrepro import plots

rng = np.random.default_rng(0)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _scores(index):
    return pd.DataFrame({m: rng.uniform(0.6, 1, len(index)) for m in ("precision", "recall", "f1")},
                        index=index)


def _pairs_model():
    import keras
    x = keras.Input((28, 28, 2), name="pair")
    y = keras.layers.Conv2D(6, 2, padding="same", name="block1_conv")(x)
    y = keras.layers.BatchNormalization(name="block1_bn")(y)
    y = keras.layers.Concatenate(name="block1_concat")([x, y])
    y = keras.layers.Flatten(name="flatten")(y)
    return keras.Model(x, keras.layers.Dense(2, activation="softmax", name="output")(y),
                       name="feature_extraction_with_a_long_name")


FIGURES = {
    "update_curves": lambda: plots.update_curves(pd.DataFrame({
        "model": np.repeat(["resnet_shallow", "resnet_deep"], 50), "update": np.tile(np.arange(1, 51), 2),
        **{c: rng.random(100) for c in ("loss", "val_loss", "accuracy", "val_accuracy")}})),
    "update_curves, fewer updates than the loss panels skip": lambda: plots.update_curves(pd.DataFrame({
        "model": "resnet_shallow", "update": np.arange(1, 6),
        **{c: rng.random(5) for c in ("loss", "val_loss", "accuracy", "val_accuracy")}})),
    "confusion_panels": lambda: plots.confusion_panels(
        [(f"model {i}", rng.integers(0, 1000, (10, 10)), _scores(CLASSES)) for i in range(2)], CLASSES),
    "image_grid": lambda: plots.image_grid(rng.random((20, 32, 32, 3)), CLASSES * 2, ncols=10),
    "misclassified_grid": lambda: plots.misclassified_grid(
        rng.random((24, 32, 32)), rng.integers(0, 10, 24), rng.integers(0, 10, 24), CLASSES),
    "class_distribution": lambda: plots.class_distribution(rng.integers(0, 10, 60_000), CLASSES),
    "model_diagram": lambda: plots.model_diagram([_pairs_model()] * 3, group=r"^(block\d+)_"),
    "pair_generation": lambda: plots.pair_generation(
        ["MNIST\n60,000 training\n10,000 test images", "draw 100,000 training pairs\n(50,000 same + "
         "50,000 different)", "stack each pair as channels\nx: (28, 28, 2), pixels / 255"],
        rng.random((16, 28, 59)), ["different\n5 | 9"] * 16, ["dimgray"] * 16),
    "class_metric_bars": lambda: plots.class_metric_bars(pd.DataFrame(
        [{"variant": v, "class": c, "metric": m, "value": rng.uniform(0.8, 1)}
         for v in "abc" for c in ("same", "not_same") for m in ("precision", "recall", "f1")])),
    "feature_maps": lambda: plots.feature_maps(
        [("same\n2 | 2", [(f"block 2, {k}", rng.random((16, 16))) for k in range(10, 18)])]),
    "embedding_scatter": lambda: plots.embedding_scatter(
        rng.normal(size=(400, 2)), np.where(rng.random(400) > 0.5, "same", "not_same"), "pc 1", "pc 2"),
    "epoch_curves": lambda: plots.epoch_curves(*[pd.DataFrame(
        {"epoch": range(1, 6), **{c: rng.random(5) for c in ("loss", "accuracy", "test_loss",
                                                           "test_accuracy")}})] * 2, title="t"),
    "sweep_curves": lambda: plots.sweep_curves(pd.DataFrame(
        {"value": np.repeat(["0.0001", "0.001", "0.01", "0.1", "1", "10", "100"], 20),
         "iteration": np.tile(np.arange(1, 21), 7), "accuracy": rng.random(140),
         "loss": rng.random(140) + 0.1}), "Learning rate (paper profile)", "learning rate"),
    "sweep_curves, long value names": lambda: plots.sweep_curves(pd.DataFrame(
        {"value": np.repeat(["vanilla (2 FC)", "+ dropout", "+ dropout, momentum, weight decay",
                             "best (100/200 channels)"], 4), "iteration": np.tile(np.arange(1, 5), 4),
         "accuracy": rng.random(16), "loss": rng.uniform(1.5, 2.5, 16)}), "Improvement", "improvement"),
    "metric_by_factor": lambda: plots.metric_by_factor(
        pd.DataFrame([{"model": m, "lr": lr, "loss": loss, "accuracy": rng.random()}
                      for m in ("DNN", "ConvNet", "ResNet") for loss in ("as printed", "double softmax")
                      for lr in (0.1, 0.01)]),
        pd.DataFrame({"model": ["DNN"], "lr": [0.1], "accuracy": [0.78]}), "lr", "accuracy", "t"),
    "accuracy_vs_cost": lambda: plots.accuracy_vs_cost(pd.DataFrame(
        [{"chapter": c, "hardware": h, "parameters": 1e5, "training seconds": 60.0, "test accuracy": 0.9}
         for c in ("a", "b", "c") for h in ("CPU", "GPU")]),
        {"a": "Report 2: residual depth", "b": "Report 3: digit pairs", "c": "QMUL: VGG and ResNet"}),
    "throughput_bars": lambda: plots.throughput_bars(pd.DataFrame(
        [{"model": m, "framework": f, "precision": "float32", "img_per_s": rng.uniform(10, 1e4)}
         for m in ("resnet_shallow", "vgg16 (512-512 head)", "resnet18_small_stem", "dnn", "convnet")
         for f in ("keras/tensorflow (oneDNN off)", "keras/tensorflow (oneDNN on)", "pytorch")])),
    "note_figure": lambda: plots.note_figure("the ResNet with loss double softmax was not run"),
}


@pytest.mark.parametrize("name", FIGURES)
def test_every_shared_figure_fits_the_column_with_legible_text(name):
    fig = FIGURES[name]()
    png = Image.open(io.BytesIO(plots.png(fig)))
    plt.close(fig)
    assert png.width <= plots.COLUMN_PX + 4, f"{name}: {png.width} px wide"
    smallest = float(png.text[plots.FONT_KEY])
    assert smallest >= plots.MIN_FONT_PT, f"{name}: text at {smallest} pt"
    assert plots.shown_points(smallest, float(png.text[plots.DPI_KEY]), png.width,
                              min(png.width, plots.COLUMN_PX)) >= plots.MIN_FONT_PT - 0.05


def test_the_png_records_its_smallest_text_so_a_small_label_is_caught():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.text(0.5, 0.5, "tiny", fontsize=6)
    ax.text(0.5, 0.2, "", fontsize=3)          # empty text is not shown, so not counted
    assert float(Image.open(io.BytesIO(plots.png(fig))).text[plots.FONT_KEY]) == 6
    plt.close(fig)


def test_shown_size_scales_with_the_width_the_page_gives_the_png():
    assert plots.shown_points(9, 96, 700, 700) == 9
    assert plots.shown_points(9, 100, 1200, 768) == pytest.approx(6.0)  # a 12-in figure in the column


def test_wrap_breaks_after_the_separator_and_keeps_each_line_within_the_width():
    text = "block1: 3x Conv2D 6, 2x2 + 3x BN + Concat + MaxPool"
    wrapped = plots.wrap(text, 2.0, sep=" + ")
    lines = wrapped.split("\n")
    assert len(lines) > 1 and all(line.endswith(" +") for line in lines[:-1])
    assert all(plots.text_inches(line) <= 2.0 for line in lines)
    assert wrapped.replace(" +\n", " + ") == text
    assert plots.wrap("short", 2.0) == "short"


def test_a_name_too_wide_for_the_width_breaks_after_an_underscore():
    wrapped = plots.wrap("feature_extraction_with_a_long_name", 1.0)
    assert "\n" in wrapped and wrapped.replace("\n", "") == "feature_extraction_with_a_long_name"
    assert all(plots.text_inches(line) <= 1.0 for line in wrapped.split("\n"))


def test_a_loss_axis_within_one_decade_still_labels_its_ticks():
    fig = FIGURES["sweep_curves, long value names"]()
    fig.canvas.draw()
    low, high = fig.axes[1].get_ylim()
    labelled = [t for t in fig.axes[1].get_yticklabels()
                if t.get_text() and low <= t.get_position()[1] <= high]
    plt.close(fig)
    assert labelled


def test_one_curve_gets_no_legend_and_several_get_one_under_the_panels():
    one = FIGURES["update_curves, fewer updates than the loss panels skip"]()
    several = FIGURES["update_curves"]()
    assert not one.legends and len(several.legends) == 1
    plt.close("all")
