"""Seaborn/matplotlib figures shared by every chapter. Each returns a Figure."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

sns.set_theme(style="whitegrid", context="notebook")

UPDATE_PANELS = [("loss", "Training loss (batch)"),
                 ("val_loss", "Validation loss (random test batch)"),
                 ("accuracy", "Training accuracy (batch)"),
                 ("val_accuracy", "Validation accuracy (random test batch)")]


def update_curves(updates: pd.DataFrame, hue: str = "model", skip_loss: int = 20,
                  window: int = 25, title: str | None = None) -> plt.Figure:
    """Loss and accuracy after every parameter update (2x2 panels), one colour per
    ``hue`` value; thin lines are the raw values, thick lines a rolling mean over
    ``window`` updates. The first ``skip_loss`` updates are left out of the loss
    panels, whose early values would flatten the rest."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5), sharex=True)
    palette = dict(zip(updates[hue].unique(), sns.color_palette("deep")))
    for ax, (col, label) in zip(axes.flat, UPDATE_PANELS):
        data = updates[updates["update"] > skip_loss] if "loss" in col else updates
        for key, group in data.groupby(hue, sort=False):
            ax.plot(group["update"], group[col], color=palette[key], alpha=0.25, lw=0.8)
            ax.plot(group["update"], group[col].rolling(window, min_periods=1).mean(),
                    color=palette[key], lw=2, label=str(key))
        ax.set(title=label, ylabel=label.split(" (")[0])
        if "accuracy" in col:
            ax.set(xlabel="parameter update")
    axes[0, 0].legend(title=hue)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def note_figure(text: str) -> plt.Figure:
    """A small figure that only says ``text``: stands in for a figure whose runs a
    chapter run left out, so the page keeps its structure."""
    fig, ax = plt.subplots(figsize=(6, 0.8))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    return fig


def confusion_panels(panels: list[tuple[str, np.ndarray, pd.DataFrame]],
                     class_names: list[str]) -> plt.Figure:
    """Per model: the confusion matrix (counts, true label by row) beside its
    per-class precision, recall and F1. ``panels``: (title, matrix, per-class report).
    Panels of one kind share one colour scale, so equal values have equal colours."""
    n = len(panels)
    fig, axes = plt.subplots(n, 2, figsize=(12, 5.2 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [3.2, 1.4]})
    scores = [report.loc[class_names, ["precision", "recall", "f1"]].astype(float)
              for _, _, report in panels]
    count_max = max(int(np.max(cm)) for _, cm, _ in panels)
    score_min = max(0.0, min(float(np.nanmin(prf.values)) for prf in scores) - 0.02)
    for (title, cm, _), prf, (ax_cm, ax_prf) in zip(panels, scores, axes):
        sns.heatmap(pd.DataFrame(cm, index=class_names, columns=class_names), annot=True,
                    fmt="d", cmap="Blues", vmin=0, vmax=count_max, cbar=False, ax=ax_cm,
                    annot_kws={"size": 8})
        ax_cm.set(title=f"{title}: confusion matrix", xlabel="predicted label",
                  ylabel="true label")
        sns.heatmap(prf, annot=True, fmt=".2f", cmap="RdYlGn", vmin=score_min,
                    vmax=1.0, cbar=False, ax=ax_prf, annot_kws={"size": 9})
        ax_prf.set(title=f"{title}: per class", ylabel="true label")
    fig.tight_layout()
    return fig


def image_grid(images: np.ndarray, titles: list[str], ncols: int = 10,
               title_colors: list[str] | None = None, suptitle: str | None = None,
               size: float = 1.25) -> plt.Figure:
    """Images in a grid with a title above each (grey-scale for one channel)."""
    nrows = max(1, int(np.ceil(len(images) / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.35) * nrows),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        img = np.asarray(images[i])
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        ax.imshow(img, cmap="gray_r" if img.ndim == 2 else None)
        ax.set_title(titles[i], fontsize=9,
                     color=(title_colors[i] if title_colors else "black"))
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def class_distribution(labels: np.ndarray, class_names: list[str],
                       title: str = "Share of each class in the training set") -> plt.Figure:
    counts = np.bincount(labels, minlength=len(class_names))
    frame = pd.DataFrame({"class": class_names, "share": counts / counts.sum(), "count": counts})
    fig, ax = plt.subplots(figsize=(8, 4))
    sns.barplot(frame, x="class", y="share", color=sns.color_palette("deep")[0], ax=ax)
    for patch, count in zip(ax.patches, counts):
        ax.annotate(f"{count:,}", (patch.get_x() + patch.get_width() / 2, patch.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.axhline(1 / len(class_names), color="gray", ls="--", lw=1, label="uniform")
    ax.set(title=title, ylabel="share of images", xlabel="class")
    ax.legend()
    fig.tight_layout()
    return fig


def misclassified_grid(images, y_true, y_pred, class_names, ncols: int = 8,
                       suptitle: str | None = None) -> plt.Figure:
    titles = [f"true {class_names[t]}\npred {class_names[p]}" for t, p in zip(y_true, y_pred)]
    return image_grid(images, titles, ncols=ncols, suptitle=suptitle,
                      title_colors=["firebrick"] * len(titles), size=1.4)


# --- model structure, drawn from a Keras model's own config --------------------

def _inbound_layers(node_args) -> list[str]:
    """Names of the layers feeding a node, found through ``keras_history`` entries."""
    found = []
    if isinstance(node_args, dict):
        if "keras_history" in node_args:
            found.append(node_args["keras_history"][0])
        for value in node_args.values():
            found += _inbound_layers(value)
    elif isinstance(node_args, (list, tuple)):
        for value in node_args:
            found += _inbound_layers(value)
    return found


def _describe(layer) -> str:
    kind = type(layer).__name__
    cfg = layer.get_config()
    if "filters" in cfg:
        k = "x".join(map(str, cfg["kernel_size"]))
        return f"{kind} {cfg['filters']}, {k}"
    if "units" in cfg:
        act = cfg.get("activation")
        return f"{kind} {cfg['units']}" + (f", {act}" if act not in (None, "linear") else "")
    return kind


def model_graph(model, group: str | None = None) -> tuple[list[dict], list[tuple[int, int]]]:
    """Boxes (name, text) and edges of a functional model, in topological order.
    With ``group`` a regex whose first group names a block, consecutive layers of
    one block become one box."""
    config = model.get_config()
    boxes, index, edges = [], {}, set()
    for layer_cfg in config["layers"]:
        name = layer_cfg["name"]
        layer = model.get_layer(name)
        shape = tuple(layer.output.shape[1:]) if hasattr(layer, "output") else ()
        block = re.match(group, name).group(1) if group and re.match(group, name) else None
        if block and boxes and boxes[-1]["block"] == block:
            box = boxes[-1]
            box["lines"].append(_describe(layer))
            box["shape"], box["params"] = shape, box["params"] + layer.count_params()
        else:
            box = {"name": block or name, "block": block, "lines": [_describe(layer)],
                   "shape": shape, "params": layer.count_params()}
            boxes.append(box)
        index[name] = len(boxes) - 1
        for src in _inbound_layers(layer_cfg.get("inbound_nodes", [])):
            if index[src] != index[name]:
                edges.add((index[src], index[name]))
    return boxes, sorted(edges)


# Short layer names where several models share a figure's width (see its caption).
SHORT_NAMES = {"BatchNormalization": "BN", "Concatenate": "Concat", "MaxPooling2D": "MaxPool",
               "ZeroPadding2D": "ZeroPad", "InputLayer": "Input"}


def _box_text(box: dict, short: bool = False) -> str:
    counts: dict[str, int] = {}
    for line in box["lines"]:  # a block lists each kind of layer once, with its count
        counts[line] = counts.get(line, 0) + 1
    text = " + ".join(f"{n}x {line}" if n > 1 else line for line, n in counts.items())
    if short:
        text = re.sub("|".join(SHORT_NAMES), lambda m: SHORT_NAMES[m.group(0)], text)
    shape = "x".join(str(s) for s in box["shape"])
    return f"{box['name']}: {text}\nout {shape}, {box['params']:,} params"


def model_diagram(models, group: str | None = None, title: str | None = None) -> plt.Figure:
    """Boxes and arrows for one or more functional Keras models, side by side.
    Skip connections (edges that jump over boxes) arc on the right. Side by side,
    layer names are shortened (SHORT_NAMES) so that the text stays legible."""
    models = models if isinstance(models, (list, tuple)) else [models]
    graphs = [model_graph(m, group) for m in models]
    tallest = max(len(b) for b, _ in graphs)
    short = len(models) > 1
    width = 4.4 if short else 6.2
    fig, axes = plt.subplots(1, len(models), figsize=(width * len(models), 0.78 * tallest + 1),
                             squeeze=False)
    for ax, model, (boxes, edges) in zip(axes[0], models, graphs):
        ax.set_xlim(-3.2, 4.2 if short else 5.0)
        ax.set_ylim(-tallest + 0.4, 1.0)
        ax.axis("off")
        ax.set_title(f"{model.name}: {model.count_params():,} parameters", fontsize=11)
        color = dict(zip(["Conv2D", "BatchNormalization", "Concatenate", "Dense",
                          "MaxPooling2D"], sns.color_palette("pastel")))
        for i, box in enumerate(boxes):
            kind = box["lines"][0].split()[0]
            face = color.get("Concatenate" if box["block"] else kind, "#eeeeee")
            ax.add_patch(FancyBboxPatch((-2.9, -i - 0.32), 5.8, 0.64,
                                        boxstyle="round,pad=0.02", fc=face, ec="#444444"))
            ax.text(0, -i, _box_text(box, short), ha="center", va="center",
                    fontsize=8.5 if short else 7.5)
        for a, b in edges:
            straight = b == a + 1
            arrow = FancyArrowPatch(
                (0 if straight else 2.9, -a - 0.32 if straight else -a),
                (0 if straight else 2.9, -b + 0.32 if straight else -b),
                arrowstyle="-|>", mutation_scale=10, color="#333333", lw=1,
                connectionstyle="arc3" if straight else "arc3,rad=-0.3")
            ax.add_patch(arrow)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --- pairs of images (Report 3) --------------------------------------------------

def side_by_side(first: np.ndarray, second: np.ndarray, gap: int = 3) -> np.ndarray:
    """Two (n, h, w) image stacks joined into (n, h, 2w + gap), a white gap between."""
    pad = np.zeros((len(first), first.shape[1], gap), dtype=first.dtype)
    return np.concatenate([first, pad, second], axis=2)


def flow_steps(ax, steps: list[str]) -> None:
    """Boxes left to right with arrows between them: a pipeline and its counts."""
    ax.set_xlim(0, len(steps))
    ax.set_ylim(0, 1)
    ax.axis("off")
    for i, text in enumerate(steps):
        ax.add_patch(FancyBboxPatch((i + 0.06, 0.1), 0.88, 0.8, boxstyle="round,pad=0.02",
                                    fc=sns.color_palette("pastel")[i % 10], ec="#444444"))
        ax.text(i + 0.5, 0.5, text, ha="center", va="center", fontsize=8.5, wrap=True)
        if i:
            ax.add_patch(FancyArrowPatch((i - 0.06, 0.5), (i + 0.06, 0.5), arrowstyle="-|>",
                                         mutation_scale=12, color="#333333"))


def pair_generation(steps: list[str], pair_images: np.ndarray, titles: list[str],
                    title_colors: list[str], ncols: int = 8) -> plt.Figure:
    """A pipeline of counts above a grid of example pairs (each pair side by side)."""
    nrows = int(np.ceil(len(pair_images) / ncols))
    fig = plt.figure(figsize=(1.9 * ncols, 1.9 + 1.35 * nrows))
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[1.5] + [1.0] * nrows)
    flow_steps(fig.add_subplot(grid[0, :]), steps)
    for i in range(nrows * ncols):
        ax = fig.add_subplot(grid[1 + i // ncols, i % ncols])
        ax.set(xticks=[], yticks=[])
        if i >= len(pair_images):
            ax.axis("off")
            continue
        ax.imshow(pair_images[i], cmap="gray_r")
        ax.set_title(titles[i], fontsize=10, color=title_colors[i])
        for spine in ax.spines.values():  # a frame in the title's colour holds each pair
            spine.set(color=title_colors[i], linewidth=2)
    fig.tight_layout()
    return fig


def class_metric_bars(frame: pd.DataFrame, col: str = "variant",
                      reported: pd.DataFrame | None = None) -> plt.Figure:
    """Precision, recall and F1 per class, one panel per ``col`` value. ``frame``:
    columns class, metric, value (one row per seed: bars show the mean, ticks the
    spread); ``reported``: class, metric, value, drawn as black diamonds."""
    panels = list(frame[col].unique())
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), sharey=True,
                             squeeze=False)
    classes = list(frame["class"].unique())
    metrics_order = ["precision", "recall", "f1"]
    for ax, panel in zip(axes[0], panels):
        data = frame[frame[col] == panel]
        sns.barplot(data, x="metric", y="value", hue="class", order=metrics_order,
                    hue_order=classes, errorbar=("pi", 100), capsize=0.1, ax=ax)
        for bar in ax.patches:
            if bar.get_height() > 0:
                ax.annotate(f"{bar.get_height():.3f}", (bar.get_x() + bar.get_width() / 2, 0.02),
                            ha="center", va="bottom", fontsize=8, rotation=90, color="white")
        if reported is not None and len(reported):
            width = 0.8 / len(classes)
            for _, r in reported.iterrows():
                x = metrics_order.index(r["metric"]) - 0.4 + width * (classes.index(r["class"]) + 0.5)
                ax.plot(x, r["value"], "D", color="black", ms=7,
                        label="reported" if _ == reported.index[0] else None)
        ax.set(title=str(panel), ylim=(0, 1.05), xlabel="", ylabel="test score")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def feature_maps(rows: list[tuple[str, list[tuple[str, np.ndarray]]]],
                 size: float = 1.15) -> plt.Figure:
    """One row per example: a sequence of (title, 2-D map) panels, each map scaled
    to its own range (viridis); for feature maps of a network."""
    ncols = max(len(panels) for _, panels in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(size * ncols, (size + 0.45) * len(rows)),
                             squeeze=False)
    for (label, panels), row in zip(rows, axes):
        for ax in row:
            ax.axis("off")
        for ax, (title, image) in zip(row, panels):
            ax.imshow(image, cmap="gray_r" if title.startswith("input") else "viridis")
            ax.set_title(title, fontsize=7.5)
        row[0].text(-0.25, 0.5, label, transform=row[0].transAxes, rotation=90,
                    ha="right", va="center", fontsize=10, fontweight="bold")
    fig.tight_layout()
    return fig


def embedding_scatter(points: np.ndarray, labels: np.ndarray, xlabel: str, ylabel: str,
                      max_points: int = 4000, seed: int = 0) -> plt.Figure:
    """2-D points coloured by label (a seeded subsample of ``max_points``), with each
    label's density contours, so overlapping groups stay visible."""
    idx = np.random.default_rng(seed).permutation(len(points))[:max_points]
    frame = pd.DataFrame({"x": points[idx, 0], "y": points[idx, 1], "class": labels[idx]})
    fig, ax = plt.subplots(figsize=(7, 5.5))
    sns.scatterplot(frame, x="x", y="y", hue="class", s=8, alpha=0.35, linewidth=0, ax=ax)
    sns.kdeplot(frame, x="x", y="y", hue="class", levels=5, linewidths=1.2, ax=ax, legend=False)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    fig.tight_layout()
    return fig


# --- per-epoch curves beside a report's printed log (QMUL) ------------------------

def epoch_curves(ours: pd.DataFrame, reported: pd.DataFrame | None = None,
                 title: str | None = None, held_out: str = "test") -> plt.Figure:
    """Loss and accuracy per epoch, training (solid) and held-out (dashed: ``held_out``
    "test" reads test_loss/test_accuracy, "validation" val_loss/val_accuracy); the
    report's printed values, where given, as crosses and circles of the same colours.
    Frames: epoch, loss, accuracy and the held-out columns."""
    prefix = {"test": "test_", "validation": "val_"}[held_out]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    train_c, test_c = sns.color_palette("deep")[:2]
    for ax, (col, label) in zip(axes, [("loss", "loss"), ("accuracy", "accuracy (top-1)")]):
        ax.plot(ours["epoch"], ours[col], "-", color=train_c, lw=2, label="training (ours)")
        ax.plot(ours["epoch"], ours[prefix + col], "--", color=test_c, lw=2,
                label=f"{held_out} (ours)")
        if reported is not None and len(reported):
            ax.plot(reported["epoch"], reported[col], "x", color=train_c, ms=7,
                    label="training (report)")
            ax.plot(reported["epoch"], reported[prefix + col], "o", mfc="none", color=test_c,
                    ms=7, label=f"{held_out} (report)")
        ax.set(xlabel="epoch", ylabel=label, title=label.capitalize())
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    axes[1].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --- one-factor sweeps (NTU) ------------------------------------------------------

def sweep_curves(updates: pd.DataFrame, title: str, hue_title: str, window: int = 10,
                 xlabel: str = "iteration") -> plt.Figure:
    """Training accuracy (left, the report's figures) and loss (right, log scale) per
    iteration, one colour per ``value``: thin lines raw, thick a rolling mean over
    ``window`` iterations. A run that diverged ends where its loss stopped being
    finite, marked with a cross. Where the runs' lengths differ by more than ten
    times (a batch-size sweep), the iteration axis is logarithmic, so the shortest
    run is not a sliver at the left. ``updates``: value, iteration, accuracy, loss."""
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.2))
    palette = dict(zip(updates["value"].unique(), sns.color_palette("deep")))
    for value, group in updates.groupby("value", sort=False):
        finite = group[np.isfinite(group["loss"])]
        colour = palette[value]
        for ax, col in ((ax_acc, "accuracy"), (ax_loss, "loss")):
            ax.plot(finite["iteration"], finite[col], color=colour, alpha=0.25, lw=0.8)
            ax.plot(finite["iteration"], finite[col].rolling(window, min_periods=1).mean(),
                    color=colour, lw=2, label=str(value))
        if len(finite) < len(group):
            last = finite.iloc[-1] if len(finite) else group.iloc[0]
            ax_acc.plot(last["iteration"], last["accuracy"], "x", color=colour, ms=12, mew=3)
    ax_acc.set(xlabel=xlabel, ylabel="training accuracy (batch)", title="Training accuracy",
               ylim=(0, 1.02))
    ax_loss.set(xlabel=xlabel, ylabel="training loss (batch)", title="Training loss (log scale)",
                yscale="log")
    lengths = updates.groupby("value")["iteration"].max()
    if lengths.max() > 10 * lengths.min():
        for ax in (ax_acc, ax_loss):
            ax.set_xscale("log")
            ax.set_xlabel(f"{xlabel} (log scale)")
    plain = plt.FuncFormatter(lambda y, _: f"{y:g}")
    ax_loss.yaxis.set_major_formatter(plain)
    ax_loss.yaxis.set_minor_formatter(plt.NullFormatter())
    ax_acc.legend(title=hue_title, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# --- a grid of models by one factor (UC) ----------------------------------------------

LOSS_STYLES = {"as printed": "-", "double softmax": ":"}


def metric_by_factor(ours: pd.DataFrame, reported: pd.DataFrame, x: str, metric: str,
                     title: str) -> plt.Figure:
    """``metric`` against ``x`` (log scale), one colour per model: ours as lines (one
    style per loss), the report's as crosses. ``ours``: model, x, loss, metric;
    ``reported``: model, x, metric."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    palette = dict(zip(ours["model"].unique(), sns.color_palette("deep")))
    for (model, loss), group in ours.groupby(["model", "loss"], sort=False):
        ax.plot(group[x], group[metric], LOSS_STYLES.get(loss, ":"), marker="o",
                color=palette[model], lw=2, label=f"{model}, loss {loss}")
    for model, group in reported.groupby("model", sort=False):
        if model in palette:
            ax.plot(group[x], group[metric], "x", color=palette[model], ms=10, mew=2.5,
                    label=f"{model}, report")
    ax.set(xscale="log", xlabel=x, ylabel=f"test {metric}", title=title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def accuracy_vs_cost(frame: pd.DataFrame, titles: dict[str, str]) -> plt.Figure:
    """Test accuracy of every run against its parameter count and its training time
    (log axes), one colour per chapter, circles for CPU runs and squares for GPU runs."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    palette = dict(zip(titles, sns.color_palette("tab10", len(titles))))
    for ax, x in zip(axes, ["parameters", "training seconds"]):
        for (chapter, hardware), group in frame.groupby(["chapter", "hardware"], sort=False):
            ax.scatter(group[x], group["test accuracy"], s=36, alpha=0.75,
                       color=palette[chapter], marker="o" if hardware == "CPU" else "s",
                       edgecolor="white", linewidth=0.5)
        ax.set_xscale("log")
        ax.set_xlabel(f"{x} (log scale)")
        ax.grid(True, which="major", alpha=0.4)
    axes[0].set_ylabel("test accuracy")
    handles = [plt.Line2D([], [], color=palette[c], marker="o", linestyle="", label=titles[c])
               for c in titles if c in set(frame["chapter"])]
    handles += [plt.Line2D([], [], color="grey", marker=m, linestyle="", label=f"trained on {h}")
                for h, m in (("CPU", "o"), ("GPU", "s")) if h in set(frame["hardware"])]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), frameon=False,
               fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def throughput_bars(frame: pd.DataFrame) -> plt.Figure:
    """Training images per second per model (log scale), one bar per framework and
    precision, each labelled with its value. ``frame``: model, framework, precision,
    img_per_s."""
    frame = frame.assign(setting=frame["framework"] + " " + frame["precision"])
    fig, ax = plt.subplots(figsize=(11, 4.8))
    sns.barplot(frame, x="model", y="img_per_s", hue="setting", ax=ax, errorbar=None)
    for container in ax.containers:
        ax.bar_label(container, fmt="%.0f", fontsize=8, padding=2)
    ax.set(yscale="log", ylabel="training images / s (median)", xlabel="")
    ax.tick_params(axis="x", labelrotation=20)
    ax.legend(title="", fontsize=9)
    fig.tight_layout()
    return fig
