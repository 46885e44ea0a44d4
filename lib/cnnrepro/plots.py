"""Seaborn/matplotlib figures shared by every chapter. Each returns a Figure sized
for the book's text column, its text no smaller than MIN_FONT_PT there."""

from __future__ import annotations

import io
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.ticker import LogLocator
from matplotlib.text import Text
from matplotlib.textpath import TextToPath

# The book's text column is 768 CSS px wide (sphinx-book-theme, 1400-px window).
# Figures are saved at DPI, so one COLUMN_INCHES wide is shown at its own size and
# its text at its own point size; the margin below 7.68 in is for the tight bounding
# box. A wider figure would be scaled down, and its text with it.
COLUMN_PX = 768
DPI = 100
COLUMN_INCHES = 7.5
MIN_FONT_PT = 9.0
# The PNG text chunks that carry what the browser test checks (test_browser.py).
FONT_KEY, DPI_KEY = "cnnrepro:smallest-font-pt", "cnnrepro:dpi"

sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9,
              rc={"figure.dpi": DPI, "savefig.dpi": DPI, "figure.titlesize": 11.5})


def smallest_font(fig: plt.Figure) -> float:
    """The smallest size (pt) of the text a figure shows (call after drawing it, so
    that tick labels hold their text)."""
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=MIN_FONT_PT)


def png(fig: plt.Figure, scale: float = 1) -> bytes:
    """The figure as the PNG a reader gets (``scale`` times DPI, tight bounding box),
    with its smallest font size and its dpi in text chunks, so a test can tell how
    large its text is shown from the PNG alone."""
    fig.canvas.draw()
    buffer = io.BytesIO()
    dpi = DPI * scale
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight",
                metadata={FONT_KEY: f"{smallest_font(fig):g}", DPI_KEY: f"{dpi:g}"})
    return buffer.getvalue()


def shown_points(font_pt: float, dpi: float, natural_px: float, shown_px: float) -> float:
    """The size in CSS points at which text of ``font_pt`` in a PNG saved at ``dpi``
    and ``natural_px`` wide is seen when the page shows the PNG ``shown_px`` wide."""
    return font_pt * dpi / 96 * shown_px / natural_px


def text_inches(text: str, fontsize: float = MIN_FONT_PT) -> float:
    """How wide one line of ``text`` is drawn at ``fontsize``, in inches."""
    width, _, _ = TextToPath().get_text_width_height_descent(
        text, FontProperties(size=fontsize), ismath=False)
    return width / 72


def wrap(text: str, width_in: float, fontsize: float = MIN_FONT_PT, sep: str = " ") -> str:
    """``text`` wrapped, line by line, to fit ``width_in`` inches at ``fontsize``,
    breaking after ``sep`` (a wrapped line keeps ``sep`` stripped at its end, so
    " + " leaves a "+"); a single name still too wide breaks after an underscore."""
    def fits(candidate: str) -> bool:
        return text_inches(candidate, fontsize) <= width_in

    def pack(pieces: list[str], joiner: str, mark: str) -> list[str]:
        lines, current = [], None
        for piece in pieces:
            longer = piece if current is None else f"{current}{joiner}{piece}"
            if current is not None and not fits(longer + mark):
                lines.append(current + mark)
                current = piece
            else:
                current = longer
        return lines + [current or ""]

    out = []
    for line in text.split("\n"):
        for packed in pack(line.split(sep), sep, sep.rstrip()):
            out += [packed] if fits(packed) else pack(re.findall(r"[^_]*_|[^_]+", packed), "", "")
    return "\n".join(out)


def legend_below(fig: plt.Figure, handles, labels, ncol: int, title: str | None = None) -> None:
    """One legend for the whole figure, centred under its panels (which keep the
    column's width), with room made for it; ``ncol`` at most. A figure of one curve
    gets no legend."""
    if len(labels) < 2:
        fig.tight_layout()
        return
    ncol = max(1, min(ncol, len(labels)))
    entry = max(text_inches(str(label), plt.rcParams["legend.fontsize"]) for label in labels) + 0.8
    while ncol > 1 and ncol * entry > fig.get_figwidth():   # the legend fits under the panels
        ncol -= 1
    rows = int(np.ceil(len(labels) / ncol)) + (1 if title else 0)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, title=title)
    fig.tight_layout(rect=(0, min(0.45, (0.25 * rows + 0.05) / fig.get_figheight()), 1, 1))

UPDATE_PANELS = [("loss", "Training loss (batch)"),
                 ("val_loss", "Validation loss (test batch)"),
                 ("accuracy", "Training accuracy (batch)"),
                 ("val_accuracy", "Validation accuracy (test batch)")]


def update_curves(updates: pd.DataFrame, hue: str = "model", skip_loss: int = 20,
                  window: int = 25, title: str | None = None) -> plt.Figure:
    """Loss and accuracy after every parameter update (2x2 panels), one colour per
    ``hue`` value; thin lines are the raw values, thick lines a rolling mean over
    ``window`` updates. The first ``skip_loss`` updates are left out of the loss
    panels, whose early values would flatten the rest."""
    fig, axes = plt.subplots(2, 2, figsize=(COLUMN_INCHES, 6.2), sharex=True)
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
    if title:
        fig.suptitle(title)
    handles, labels = axes[1, 0].get_legend_handles_labels()  # the accuracy panels skip nothing
    legend_below(fig, handles, labels, ncol=4, title=hue)
    return fig


def note_figure(text: str) -> plt.Figure:
    """A small figure that only says ``text``: stands in for a figure whose runs a
    chapter run left out, so the page keeps its structure."""
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 0.8))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    return fig


def confusion_panels(panels: list[tuple[str, np.ndarray, pd.DataFrame]],
                     class_names: list[str]) -> plt.Figure:
    """Per model: the confusion matrix (counts, true label by row) beside its
    per-class precision, recall and F1. ``panels``: (title, matrix, per-class report).
    Panels of one kind share one colour scale, so equal values have equal colours."""
    n = len(panels)
    fig, axes = plt.subplots(n, 2, figsize=(COLUMN_INCHES, 4.6 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [3.0, 1.6]})
    scores = [report.loc[class_names, ["precision", "recall", "f1"]].astype(float)
              for _, _, report in panels]
    count_max = max(int(np.max(cm)) for _, cm, _ in panels)
    score_min = max(0.0, min(float(np.nanmin(prf.values)) for prf in scores) - 0.02)
    for (title, cm, _), prf, (ax_cm, ax_prf) in zip(panels, scores, axes):
        sns.heatmap(pd.DataFrame(cm, index=class_names, columns=class_names), annot=True,
                    fmt="d", cmap="Blues", vmin=0, vmax=count_max, cbar=False, ax=ax_cm,
                    annot_kws={"size": MIN_FONT_PT})
        ax_cm.set(title=f"{title}: confusion matrix", xlabel="predicted label",
                  ylabel="true label")
        sns.heatmap(prf, annot=True, fmt=".2f", cmap="RdYlGn", vmin=score_min,
                    vmax=1.0, cbar=False, ax=ax_prf, annot_kws={"size": MIN_FONT_PT})
        # the rows are the matrix's rows, labelled there
        ax_prf.set(title="per class", ylabel="", yticklabels=[])
    fig.tight_layout()
    return fig


def image_grid(images: np.ndarray, titles: list[str], ncols: int = 10,
               title_colors: list[str] | None = None, suptitle: str | None = None,
               size: float = 1.25) -> plt.Figure:
    """Images in a grid with a title above each (grey-scale for one channel); each
    image ``size`` inches wide, less where ``ncols`` of them would be wider than the
    column."""
    nrows = max(1, int(np.ceil(len(images) / ncols)))
    size = min(size, COLUMN_INCHES / ncols)
    lines = max((t.count("\n") + 1 for t in titles), default=1)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(size * ncols, (size + 0.2 * lines + 0.1) * nrows))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        img = np.asarray(images[i])
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        ax.imshow(img, cmap="gray_r" if img.ndim == 2 else None)
        ax.set_title(titles[i], fontsize=MIN_FONT_PT,
                     color=(title_colors[i] if title_colors else "black"))
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def class_distribution(labels: np.ndarray, class_names: list[str],
                       title: str = "Share of each class in the training set") -> plt.Figure:
    counts = np.bincount(labels, minlength=len(class_names))
    frame = pd.DataFrame({"class": class_names, "share": counts / counts.sum(), "count": counts})
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 3.8))
    sns.barplot(frame, x="class", y="share", color=sns.color_palette("deep")[0], ax=ax)
    for patch, count in zip(ax.patches, counts):
        ax.annotate(f"{count:,}", (patch.get_x() + patch.get_width() / 2, patch.get_height()),
                    ha="center", va="bottom", fontsize=MIN_FONT_PT)
    ax.axhline(1 / len(class_names), color="gray", ls="--", lw=1, label="uniform")
    ax.set(title=title, ylabel="share of images", xlabel="class")
    ax.legend()
    fig.tight_layout()
    return fig


def misclassified_grid(images, y_true, y_pred, class_names, ncols: int = 8,
                       suptitle: str | None = None) -> plt.Figure:
    titles = [f"true {class_names[t]}\npred {class_names[p]}" for t, p in zip(y_true, y_pred)]
    return image_grid(images, titles, ncols=ncols, suptitle=suptitle,
                      title_colors=["firebrick"] * len(titles))


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


LINE_INCHES = MIN_FONT_PT * 1.35 / 72   # one line of box text
GAP_INCHES = 0.24                       # between two boxes, for the arrow


def model_diagram(models, group: str | None = None, title: str | None = None) -> plt.Figure:
    """Boxes and arrows for one or more functional Keras models, side by side in the
    column's width; a box's text wraps (after a "+") to fit its box, and its height
    follows. Skip connections (edges that jump over boxes) arc on the right. Side by
    side, layer names are shortened (SHORT_NAMES)."""
    models = models if isinstance(models, (list, tuple)) else [models]
    graphs = [model_graph(m, group) for m in models]
    short = len(models) > 1
    panel = COLUMN_INCHES / len(models) if short else 6.0
    arcs = any(b != a + 1 for _, edges in graphs for a, b in edges)
    box_w = panel * (0.8 if arcs else 0.94)
    texts = [[wrap(_box_text(box, short), box_w - 0.2, sep=" + ") for box in boxes]
             for boxes, _ in graphs]
    heights = [[0.2 + LINE_INCHES * (t.count("\n") + 1) for t in ts] for ts in texts]
    tallest = max(sum(h) + GAP_INCHES * (len(h) - 1) for h in heights)
    top = 0.5   # the model's name and size above its first box
    fig = plt.figure(figsize=(panel * len(models), tallest + top + 0.1 + (0.35 if title else 0)))
    color = dict(zip(["Conv2D", "BatchNormalization", "Concatenate", "Dense", "MaxPooling2D"],
                     sns.color_palette("pastel")))
    left = 0.03 * panel
    for i, (model, (boxes, edges), ts, hs) in enumerate(zip(models, graphs, texts, heights)):
        # axes in inches: x across the panel, y down from the first box's top
        ax = fig.add_axes((i / len(models), 0, 1 / len(models), (tallest + top + 0.1) / fig.get_figheight()))
        ax.set(xlim=(0, panel), ylim=(-tallest - 0.1, top))
        ax.axis("off")
        ax.text(left + box_w / 2, top / 2, wrap(f"{model.name}: {model.count_params():,} parameters",
                                                 box_w, 10.5, sep=": "),
                ha="center", va="center", fontsize=10.5)
        tops = -np.concatenate([[0], np.cumsum(np.array(hs) + GAP_INCHES)[:-1]])
        for box, text, y, h in zip(boxes, ts, tops, hs):
            kind = box["lines"][0].split()[0]
            face = color.get("Concatenate" if box["block"] else kind, "#eeeeee")
            ax.add_patch(FancyBboxPatch((left, y - h), box_w, h, boxstyle="round,pad=0.01",
                                        fc=face, ec="#444444"))
            ax.text(left + box_w / 2, y - h / 2, text, ha="center", va="center",
                    fontsize=MIN_FONT_PT, linespacing=1.2)
        middle, right = left + box_w / 2, left + box_w
        for a, b in edges:
            straight = b == a + 1
            start = (middle, tops[a] - hs[a]) if straight else (right, tops[a] - hs[a] / 2)
            end = (middle, tops[b]) if straight else (right, tops[b] - hs[b] / 2)
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10,
                                         color="#333333", lw=1,
                                         connectionstyle="arc3" if straight else "arc3,rad=-0.3"))
    if title:
        fig.suptitle(title)
    return fig


# --- pairs of images (Report 3) --------------------------------------------------

def side_by_side(first: np.ndarray, second: np.ndarray, gap: int = 3) -> np.ndarray:
    """Two (n, h, w) image stacks joined into (n, h, 2w + gap), a white gap between."""
    pad = np.zeros((len(first), first.shape[1], gap), dtype=first.dtype)
    return np.concatenate([first, pad, second], axis=2)


FLOW_COLUMNS = 3


def flow_steps(ax, steps: list[str]) -> None:
    """Boxes with arrows between them, a pipeline and its counts (wrapped to fit),
    FLOW_COLUMNS to a row and snaking (the second row runs right to left), so every
    arrow is short."""
    nrows = int(np.ceil(len(steps) / FLOW_COLUMNS))
    ax.set(xlim=(0, FLOW_COLUMNS), ylim=(nrows, 0))
    ax.axis("off")
    places = []
    for i, text in enumerate(steps):
        row, col = divmod(i, FLOW_COLUMNS)
        x = col if row % 2 == 0 else FLOW_COLUMNS - 1 - col
        places.append((x, row))
        ax.add_patch(FancyBboxPatch((x + 0.06, row + 0.1), 0.88, 0.8, boxstyle="round,pad=0.02",
                                    fc=sns.color_palette("pastel")[i % 10], ec="#444444"))
        ax.text(x + 0.5, row + 0.5, text, ha="center", va="center", fontsize=MIN_FONT_PT,
                linespacing=1.2)
    for (x0, y0), (x1, y1) in zip(places, places[1:]):
        if y0 == y1:   # along the row, from one box's side to the next one's
            step = 1 if x1 > x0 else -1
            start, end = (x0 + 0.5 + 0.44 * step, y0 + 0.5), (x1 + 0.5 - 0.44 * step, y1 + 0.5)
        else:          # down to the next row
            start, end = (x0 + 0.5, y0 + 0.9), (x1 + 0.5, y1 + 0.1)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                     color="#333333"))


def pair_generation(steps: list[str], pair_images: np.ndarray, titles: list[str],
                    title_colors: list[str], ncols: int = 8) -> plt.Figure:
    """A pipeline of counts above a grid of example pairs (each pair side by side)."""
    nrows = int(np.ceil(len(pair_images) / ncols))
    steps = [wrap(step, COLUMN_INCHES / FLOW_COLUMNS * 0.88 - 0.2) for step in steps]
    flow_h = int(np.ceil(len(steps) / FLOW_COLUMNS)) * \
        (0.45 + LINE_INCHES * max(step.count("\n") + 1 for step in steps))
    size = COLUMN_INCHES / ncols
    lines = max(t.count("\n") + 1 for t in titles)
    pair_h = size * pair_images.shape[1] / pair_images.shape[2] + 0.2 * lines + 0.1
    fig = plt.figure(figsize=(COLUMN_INCHES, flow_h + pair_h * nrows))
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[flow_h] + [pair_h] * nrows)
    flow_steps(fig.add_subplot(grid[0, :]), steps)
    for i in range(nrows * ncols):
        ax = fig.add_subplot(grid[1 + i // ncols, i % ncols])
        ax.set(xticks=[], yticks=[])
        if i >= len(pair_images):
            ax.axis("off")
            continue
        ax.imshow(pair_images[i], cmap="gray_r")
        ax.set_title(titles[i], fontsize=MIN_FONT_PT, color=title_colors[i])
        for spine in ax.spines.values():  # a frame in the title's colour holds each pair
            spine.set(color=title_colors[i], linewidth=2)
    fig.tight_layout(h_pad=0.4)
    return fig


def class_metric_bars(frame: pd.DataFrame, col: str = "variant",
                      reported: pd.DataFrame | None = None) -> plt.Figure:
    """Precision, recall and F1 per class, one panel per ``col`` value. ``frame``:
    columns class, metric, value (one row per seed: bars show the mean, ticks the
    spread); ``reported``: class, metric, value, drawn as black diamonds."""
    panels = list(frame[col].unique())
    ncols = min(2, len(panels))
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(COLUMN_INCHES, 3.8 * nrows), sharey=True,
                             squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    classes = list(frame["class"].unique())
    metrics_order = ["precision", "recall", "f1"]
    for ax, panel in zip(axes.flat, panels):
        data = frame[frame[col] == panel]
        sns.barplot(data, x="metric", y="value", hue="class", order=metrics_order,
                    hue_order=classes, errorbar=("pi", 100), capsize=0.1, ax=ax)
        for bar in ax.patches:
            if bar.get_height() > 0:
                ax.annotate(f"{bar.get_height():.3f}", (bar.get_x() + bar.get_width() / 2, 0.02),
                            ha="center", va="bottom", fontsize=MIN_FONT_PT, rotation=90,
                            color="white")
        if reported is not None and len(reported):
            width = 0.8 / len(classes)
            for _, r in reported.iterrows():
                x = metrics_order.index(r["metric"]) - 0.4 + width * (classes.index(r["class"]) + 0.5)
                ax.plot(x, r["value"], "D", color="black", ms=7,
                        label="reported" if _ == reported.index[0] else None)
        ax.set(title=str(panel), ylim=(0, 1.05), xlabel="", ylabel="test score")
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    legend_below(fig, handles, labels, ncol=len(labels))
    return fig


def feature_maps(rows: list[tuple[str, list[tuple[str, np.ndarray]]]]) -> plt.Figure:
    """One row per example: a sequence of (title, 2-D map) panels, each map scaled
    to its own range (viridis); for feature maps of a network. The rows fill the
    column's width, a label at the left of each."""
    ncols = max(len(panels) for _, panels in rows)
    size = (COLUMN_INCHES - 0.4) / ncols
    fig, axes = plt.subplots(len(rows), ncols, figsize=(COLUMN_INCHES, (size + 0.3) * len(rows)),
                             squeeze=False)
    for (label, panels), row in zip(rows, axes):
        for ax in row:
            ax.axis("off")
        for ax, (title, image) in zip(row, panels):
            ax.imshow(image, cmap="gray_r" if title.startswith("input") else "viridis")
            ax.set_title(title, fontsize=MIN_FONT_PT)
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
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 5.4))
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
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.9))
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
    if title:
        fig.suptitle(title)
    legend_below(fig, *axes[1].get_legend_handles_labels(), ncol=4 if reported is not None else 2)
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
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.5))
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
    # plain numbers on the log axis; 1-2-5 steps where it spans two decades or less, so
    # that a narrow range still has labelled ticks
    low, high = ax_loss.get_ylim()
    subs = (1.0, 2.0, 5.0) if high / low <= 100 else (1.0,)
    ax_loss.yaxis.set_major_locator(LogLocator(subs=subs))
    ax_loss.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:g}"))
    ax_loss.yaxis.set_minor_formatter(plt.NullFormatter())
    fig.suptitle(title)
    handles, labels = ax_acc.get_legend_handles_labels()
    legend_below(fig, handles, labels, ncol=6, title=hue_title)
    return fig


# --- a grid of models by one factor (UC) ----------------------------------------------

LOSS_STYLES = {"as printed": "-", "double softmax": ":"}


def metric_by_factor(ours: pd.DataFrame, reported: pd.DataFrame, x: str, metric: str,
                     title: str) -> plt.Figure:
    """``metric`` against ``x`` (log scale), one colour per model: ours as lines (one
    style per loss), the report's as crosses. ``ours``: model, x, loss, metric;
    ``reported``: model, x, metric."""
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 4.8))
    palette = dict(zip(ours["model"].unique(), sns.color_palette("deep")))
    for (model, loss), group in ours.groupby(["model", "loss"], sort=False):
        ax.plot(group[x], group[metric], LOSS_STYLES.get(loss, ":"), marker="o",
                color=palette[model], lw=2, label=f"{model}, loss {loss}")
    for model, group in reported.groupby("model", sort=False):
        if model in palette:
            ax.plot(group[x], group[metric], "x", color=palette[model], ms=10, mew=2.5,
                    label=f"{model}, report")
    ax.set(xscale="log", xlabel=x, ylabel=f"test {metric}", title=title)
    legend_below(fig, *ax.get_legend_handles_labels(), ncol=2)
    return fig


def accuracy_vs_cost(frame: pd.DataFrame, titles: dict[str, str]) -> plt.Figure:
    """Test accuracy of every run against its parameter count and its training time
    (log axes), one colour per chapter, circles for CPU runs and squares for GPU runs."""
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 4.6), sharey=True)
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
    legend_below(fig, handles, [h.get_label() for h in handles], ncol=2)
    return fig


def throughput_bars(frame: pd.DataFrame) -> plt.Figure:
    """Training images per second per model (log scale), one bar per framework and
    precision (the values are in the page's table). ``frame``: model, framework,
    precision, img_per_s."""
    frame = frame.assign(setting=frame["framework"] + " " + frame["precision"])
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 5.0))
    sns.barplot(frame, x="model", y="img_per_s", hue="setting", ax=ax, errorbar=None)
    ax.set(yscale="log", ylabel="training images / s (median)", xlabel="")
    plt.setp(ax.get_xticklabels(), rotation=35, ha="right", rotation_mode="anchor")
    handles, labels = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    legend_below(fig, handles, labels, ncol=2)
    return fig
