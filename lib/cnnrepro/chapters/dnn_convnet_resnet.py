"""Chapter 5: DNN vs ConvNet vs a ResNet-50-style network across learning rates
(Cincinnati, Deep Learning Homework 2)."""

import numpy as np
import pandas as pd

from ..config import RunConfig, computed_loss, fit_size, sampled_test
from ..models import title
from ..report import counted
from ..spec import (ChapterSpec, Protocol, ProtocolError, boolean, choice_list, int_list,
                    number_list, positive_int, positive_number)

MODELS = ["dnn", "convnet", "resnet50_block"]
# "as printed": the report's SparseCategoricalCrossentropy(from_logits=True) on softmax
# outputs, as the report's Keras on TensorFlow computed it: the softmax's logits are
# used, so it is the correct cross-entropy (config.computed_loss), whatever backend
# trains it here; "double softmax": what the call means as written (and what it
# computes on JAX), the counterfactual.
LOSSES = {"as printed": "from_logits", "double softmax": "double_softmax"}
REPORT_BACKEND = "tensorflow"  # the report's code imports tensorflow and runs on it
MNIST_SIZES = (60000, 10000)


def validation_fraction(name: str, value) -> float:
    """Early stopping needs a validation set and training needs the rest: (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: a number in (0, 1)")
    return float(value)


def run_config(p: Protocol, model: str, learning_rate: float, loss: str, seed: int) -> RunConfig:
    extra = {"per_update_test": False, "validation_split": p.validation_split,
             "early_stopping": {"monitor": "val_loss", "patience": p.patience}}
    computed = computed_loss(LOSSES[loss], REPORT_BACKEND)
    if computed != "categorical_crossentropy":
        extra["loss"] = computed
    test_limit = None if p.test_images == MNIST_SIZES[1] else p.test_images
    return RunConfig(task="mnist", model=model, epochs=p.max_epochs, batch_size=p.batch_size,
                     seed=seed, optimizer="adam", learning_rate=learning_rate,
                     train_limit=None if p.train_images == MNIST_SIZES[0] else p.train_images,
                     test_limit=test_limit, extra={**extra, **sampled_test(test_limit)})


def seeds_of(p: Protocol, model: str, loss: str) -> list[int]:
    """Seeds per setting: the ResNet (up to two hours a run here) has its own list,
    and the counterfactual loss, which no claim reads, its own."""
    if loss != "as printed":
        return p.counterfactual_seeds
    return p.resnet_seeds if model == "resnet50_block" else p.seeds


def _configs(p: Protocol) -> list[RunConfig]:
    return [run_config(p, m, lr, loss, s) for loss in p.losses for m in p.models
            for lr in p.learning_rates for s in seeds_of(p, m, loss)]


# Where the ResNet answers one class on the test set after a high training accuracy,
# the chapter blames batch-norm moving averages that lag the weights. The test: the
# ResNet at the low learning rates again with the loss as printed, every weight
# kept, re-scored without training.
ABLATIONS = {"bn_stats": "stale batch-norm moving averages, not the weights, make the "
                         "low-rate ResNet answer one class"}
BN_RATES = (0.001, 0.0001)
FEATURED_LR = 0.0001   # the ResNet run whose classification report ends the report


def _ablation_configs(p: Protocol) -> list[RunConfig]:
    if "bn_stats" not in p.ablations:
        return []
    out = []
    for lr in [lr for lr in p.learning_rates if lr in BN_RATES]:
        for s in seeds_of(p, "resnet50_block", "as printed"):
            out.append(run_config(p, "resnet50_block", lr, "as printed", s).keeping_all_weights())
    return out


def ablation_of(config: RunConfig) -> str:
    return "bn_stats" if config.extra.get("keep_weights") == "all" else "protocol"


# The report states the optimizer (Adam), the learning rates, the loss, the split
# (the 60,000 Keras training images, the 10,000 test images) and that it stops
# early on validation; the rest is chosen here and listed in the chapter.
_PAPER = {"models": MODELS, "learning_rates": [0.1, 0.01, 0.001, 0.0001], "losses": list(LOSSES),
          "seeds": [0, 1, 2], "resnet_seeds": [0, 1, 2], "counterfactual_seeds": [0],
          "batch_size": 32, "max_epochs": 20, "patience": 3,
          "validation_split": 0.1, "train_images": 60000, "test_images": 10000,
          "ablations": list(ABLATIONS), "force": False}

# 40 minutes from an empty store on 2 cores for the 36 runs of seed 0 (seeds 1-2 add
# 16 DNN and ConvNet runs of well under a minute and 12 ResNet runs, the kept-weight
# ones included, of one to two minutes). The ResNet is the heavy
# one: about 145 images/s at batch size 32 (the ConvNet about 1,000, the DNN about
# 2,800), so every run gets the first 4,000 training images (3,600 to fit, 400 to
# validate), 2,000 test images, and at most 5 epochs with a patience of 2.
_CPU = {**_PAPER, "train_images": 4000, "test_images": 2000, "max_epochs": 5, "patience": 2}

_SMOKE = {**_PAPER, "learning_rates": [0.1, 0.001], "train_images": 300, "test_images": 200,
          "max_epochs": 2, "patience": 1, "seeds": [0], "resnet_seeds": [0]}

def loss_label(config: RunConfig) -> str:
    """The chapter's name for a run's loss: "as printed" (what the report's call
    computed) or "double softmax"."""
    computed = config.extra.get("loss", "categorical_crossentropy")
    return next(name for name, written in LOSSES.items()
                if computed_loss(written, REPORT_BACKEND) == computed)


def labels(config: RunConfig) -> dict:
    """A run's model, learning rate, loss and seed, for the claims."""
    return {"model": config.model, "learning_rate": f"{config.learning_rate:g}",
            "loss": loss_label(config), "seed": config.seed}


SPEC = ChapterSpec(
    name="dnn_convnet_resnet",
    title="DNN vs ConvNet vs a ResNet-50-style network across learning rates (UC homework)",
    checks={"models": lambda n, v: choice_list(n, v, MODELS),
            "learning_rates": lambda n, v: number_list(n, v, positive_number),
            "losses": lambda n, v: choice_list(n, v, list(LOSSES)),
            "seeds": lambda n, v: int_list(n, v, minimum=0),
            "resnet_seeds": lambda n, v: int_list(n, v, minimum=0),
            "counterfactual_seeds": lambda n, v: int_list(n, v, minimum=0),
            "batch_size": positive_int,
            "max_epochs": positive_int,
            "patience": positive_int,
            "validation_split": validation_fraction,
            "train_images": lambda n, v: positive_int(n, v, MNIST_SIZES[0]),
            "test_images": lambda n, v: positive_int(n, v, MNIST_SIZES[1]),
            "ablations": lambda n, v: choice_list(n, v, list(ABLATIONS), empty_ok=True),
            "force": boolean},
    profiles={"paper": _PAPER, "cpu": _CPU, "smoke": _SMOKE},
    deviations={
        "cpu": ["the first 4,000 training images instead of 60,000 (3,600 to fit, 400 to "
                "validate) and a fixed random sample of 2,000 test images (each digit in its "
                "share) instead of 10,000",
                "at most 5 epochs with a patience of 2 instead of the paper profile's 20 and 3 "
                "(the report states neither)"],
        "smoke": ["300 training and 200 test images, learning rates 0.1 and 0.001, at most "
                  "2 epochs with a patience of 1"]},
    configs=_configs,
    ablations=_ablation_configs,
    mixed_profiles=True,
    seed_parameters=("seeds", "resnet_seeds"),
    ablation_of=lambda p, config: ablation_of(config),
    labels=labels,
)


# --- the chapter's tables and figures -------------------------------------------

NAMES = {m: title(m) for m in ("dnn", "convnet", "resnet50_block")}
BN_MOMENTUM = 0.99  # Keras's BatchNormalization default, which the report's code keeps


def results_frame(ch) -> pd.DataFrame:
    """One row per run of chapter ``ch``: model, learning rate, loss, seed, the profile
    it was trained at, test accuracy and macro F1, and how early stopping ended it."""
    return pd.DataFrame([{
        "model": NAMES[r.config.model], "learning rate": r.config.learning_rate,
        "loss": loss_label(r.config), "seed": r.config.seed, "profile": ch.profile_of(r),
        "accuracy": r.metrics["accuracy"], "f1": r.metrics["f1"],
        "epochs trained": r.metrics.get("epochs_trained"),
        "best epoch": r.metrics.get("best_epoch"), "key": r.key} for r in ch.runs])


def batchnorm_table(ch) -> pd.DataFrame:
    """Per learning rate and seed of the bn_stats ablation: the ResNet's test accuracy
    and the number of classes it predicts, with the batch-norm statistics as trained,
    re-estimated over its training images, and of each test batch."""
    from .. import batchnorm
    runs = sorted((r for r in ch.ablation_runs if ablation_of(r.config) == "bn_stats"),
                  key=lambda r: (-r.config.learning_rate, r.config.seed))
    frames = {(f"{r.config.learning_rate:g}", r.config.seed):
              batchnorm.rescore_stored(r)[["accuracy", "classes predicted"]] for r in runs}
    return pd.concat(frames, names=["learning rate", "seed"])


def data_split(*protocols: Protocol) -> pd.DataFrame:
    """Where each part of the data comes from, and how many images it holds under each
    of ``protocols`` (one column per profile)."""
    def images(p: Protocol) -> list[int]:
        n_fit = fit_size(p.train_images, p.validation_split)
        return [p.train_images, n_fit, p.train_images - n_fit, p.test_images]

    columns = {f"images ({p.profile})": images(p) for p in protocols}
    return pd.DataFrame({**columns, "source": [
        "the first N of mnist.load_data()'s 60,000 training images",
        "the first part, shuffled every epoch",
        "the last part, as Keras's validation_split takes it",
        "the 10,000 test images (fewer: a fixed random sample, each digit in its share)"]},
        index=["training set", "fit", "validation", "test"])


def pixel_range(images: np.ndarray) -> pd.DataFrame:
    """Smallest and largest pixel before and after the report's division by 255."""
    return pd.DataFrame({"raw (uint8)": [images.min(), images.max()],
                         "after / 255.0": [images.min() / 255.0, images.max() / 255.0]},
                        index=["minimum", "maximum"])


def double_softmax_floor() -> float:
    """The double-softmax loss of a perfect answer (probability 1 on the right class):
    log(1 + 9/e), the lowest the report's loss as written can go."""
    from ..train import double_softmax_crossentropy
    perfect = np.eye(10)[:1]
    return float(np.asarray(double_softmax_crossentropy(perfect, perfect))[0])


def reported_grid(reported: dict) -> pd.DataFrame:
    """The report's accuracy and F1 per (model, learning rate)."""
    rows = [{"model": NAMES[model], "learning rate": float(lr), "accuracy": acc, "f1": f1}
            for model, by_lr in reported["by_learning_rate"].items() for lr, (acc, f1) in by_lr.items()]
    return pd.DataFrame(rows).set_index(["model", "learning rate"])


def cell_profile(profiles: pd.Series) -> str:
    """A cell's profile: paper only where every run of it is."""
    return "paper" if (profiles == "paper").all() else next(p for p in profiles if p != "paper")


def mean_by_loss(results: pd.DataFrame, losses: list[str]) -> dict[str, pd.DataFrame]:
    """Per loss: mean accuracy and F1 over seeds per (model, learning rate), the
    cell's profile and its number of seeds."""
    cells = results.groupby(["model", "learning rate", "loss"], sort=False)
    mean = cells[["accuracy", "f1"]].mean().join(cells["profile"].agg(cell_profile)) \
        .join(cells["accuracy"].count().rename("seeds"))
    return {loss: mean.xs(loss, level="loss") for loss in losses
            if loss in mean.index.get_level_values("loss")}


def cell_text(ours: dict[str, pd.DataFrame], model: str, learning_rate: float) -> tuple[str, str]:
    """A cell as printed for the text: its mean test accuracy ("0.105") and where it
    comes from ("mean of 3 seeds at paper", "one seed at cpu"); "(not run)" without it."""
    printed = ours.get("as printed")
    key = (NAMES[model], learning_rate)
    if printed is None or key not in printed.index:
        return "(not run)", "(not run)"
    cell = printed.loc[key]
    seeds = int(cell["seeds"])
    where = f"mean of {seeds} seeds" if seeds > 1 else "one seed"
    return f"{cell['accuracy']:.3f}", f"{where} at {cell['profile']}"


def runs_as_printed(printed: pd.DataFrame) -> pd.Series:
    """Each cell's runs with the loss as printed: how many seeds, at which profile
    ("3 at paper")."""
    return pd.Series([f"{n:.0f} at {p}" if pd.notna(p) else "" for n, p in
                      zip(printed["seeds"], printed["profile"])], index=printed.index)


def table2(reported: dict, ours: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Table 2: accuracy and F1 by learning rate, the report's beside ours with each
    loss, the difference (ours as printed minus the report's) and, where cells differ
    in them, the cell's runs as printed (the caption says them where all agree)."""
    theirs = reported_grid(reported)
    printed = ours.get("as printed")
    parts = {}
    for metric in ("accuracy", "f1"):
        part = pd.concat({"report": theirs[metric], **{loss: t[metric] for loss, t in ours.items()}},
                         axis=1)
        if printed is not None:
            part["difference"] = printed[metric] - theirs[metric]
        parts[metric] = part
    table = pd.concat(parts, axis=1).dropna(subset=[(m, loss) for m in parts for loss in ours], how="all")
    if printed is not None and runs_as_printed(printed).nunique() > 1:
        # one narrow column, so the table fits a laptop's page
        table[("", "runs")] = runs_as_printed(printed.reindex(table.index)).to_numpy()
    return table


def table2_caption(ours: dict[str, pd.DataFrame]) -> str:
    """Table 2's caption: what it shows, and the double-softmax cells whose runs are at
    another profile than the same cell as printed (the runs column gives the latter)."""
    caption = ("Table 2. Test accuracy and macro F1 by learning rate: the report's and ours with "
               "each loss, mean over seeds; difference: ours as printed minus the report's")
    if "as printed" in ours:
        printed = ours["as printed"]
        caption += (f"; every cell as printed: {counted(int(printed['seeds'].iloc[0]), 'seed')} at "
                    f"{printed['profile'].iloc[0]}" if runs_as_printed(printed).nunique() == 1
                    else "; runs: how many seeds as printed, at which profile")
    if not {"as printed", "double softmax"} <= set(ours):
        return caption
    seeds = sorted({int(n) for n in ours["double softmax"]["seeds"]})
    caption += (f"; the double softmax: {' or '.join(map(str, seeds))} "
                f"seed{'' if seeds == [1] else 's'} per cell")
    a, b = ours["as printed"]["profile"], ours["double softmax"]["profile"]
    other = b[b != a.reindex(b.index)]
    for profile in dict.fromkeys(other):
        cells = [f"{model} at {lr:g}" for (model, lr), p in other.items() if p == profile]
        caption += f"; the double softmax at {profile}: {', '.join(cells)}"
    return caption


def reported_best_rate(reported: dict, model: str) -> str:
    """The learning rate of the report's Table 1 row for ``model``: the one its text
    names, else the Table 2 cell with the same accuracy, else "not stated"."""
    if model in reported.get("best_learning_rate", {}):
        return f"{reported['best_learning_rate'][model]:g} (text)"
    best = reported["best"][model]["accuracy"]
    same = [lr for lr, (acc, _) in reported["by_learning_rate"][model].items() if acc == best]
    return f"{same[0]:g} (Table 2)" if len(same) == 1 else "not stated"


def table1(reported: dict, ours: dict[str, pd.DataFrame], models: list[str]) -> pd.DataFrame:
    """Table 1: each model's best run, the report's beside our best learning rate per loss."""
    rows = []
    for model in models:
        name, rep = NAMES[model], reported["best"][model]
        rows.append({"model": name, "run": "report", "accuracy": rep["accuracy"], "F1": rep["f1"],
                     "learning rate": reported_best_rate(reported, model), "profile": "", "seeds": ""})
        for loss, t in ours.items():
            lr = t.loc[name, "accuracy"].idxmax()
            # the best of a model is at paper only where every learning rate is
            rows.append({"model": name, "run": f"ours, {loss}", "accuracy": t.loc[(name, lr), "accuracy"],
                         "F1": t.loc[(name, lr), "f1"], "learning rate": f"{lr:g}",
                         "profile": cell_profile(t.loc[name, "profile"]),
                         "seeds": f"{int(t.loc[(name, lr), 'seeds'])}"})
    return pd.DataFrame(rows).set_index(["model", "run"])


def double_softmax_cost(ours: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """As printed minus double softmax, accuracy and F1 per model and learning rate,
    where both losses were run at the same profile (None where no cell was)."""
    if not {"double softmax", "as printed"} <= set(ours):
        return None
    a, b = ours["as printed"], ours["double softmax"]
    same = (a["profile"] == b["profile"]).reindex(a.index, fill_value=False)
    cost = (a[["accuracy", "f1"]] - b[["accuracy", "f1"]])[same].dropna(how="all")
    return cost.unstack("learning rate") if len(cost) else None


def classes_predicted(run) -> int:
    """How many classes a run predicts on its test set (1: it answers one class)."""
    return int(np.unique(run.test_pred).size)


def moving_average_left(updates: int, momentum: float = BN_MOMENTUM) -> float:
    """The weight batch norm's moving averages still give their initial values after
    ``updates`` updates."""
    return momentum ** updates


def stops(results: pd.DataFrame) -> pd.DataFrame:
    """Epochs trained and best epoch per (model, loss) and learning rate, mean over
    the cell's seeds (what the claims about convergence speed read)."""
    return results.pivot_table(index=["model", "loss"], columns="learning rate",
                               values=["epochs trained", "best epoch"], aggfunc="mean")


def headlines(best: pd.DataFrame, *, test_sizes: dict[str, int],
              featured: tuple[float, float, str, float] | None = None) -> list[dict]:
    """The chapter's rows of the book's numbers table, from Table 1: each model's best
    accuracy and F1 per loss against the report's, at the profile of its runs (the
    double softmax shown, not counted: the report never trained with it); ``test_sizes``:
    test images per profile. ``featured``: (learning rate, our macro F1, its profile,
    the report's) of the ResNet run whose macro F1 ends the report, compared only at
    the report's rate (FEATURED_LR)."""
    from ..headlines import headline
    rows = []
    if featured and featured[0] == FEATURED_LR:
        lr, ours, profile, reported = featured
        rows.append(headline(f"ResNet, test macro F1 at lr {lr:g} (the report's last line; loss as printed)",
                             "f1", reported, ours, profile=profile, decimals=5,
                             test_size=test_sizes[profile]))
    for model, runs in best.groupby(level="model", sort=False):
        rep = runs.loc[(model, "report")]
        for (_, run_name), row in runs.drop(index=(model, "report")).iterrows():
            variant = run_name.removeprefix("ours, ")
            reason = "the report's loss taken as written (softmax applied twice)" \
                if variant == "double softmax" else ""
            for kind, column, name in (("accuracy", "accuracy", "accuracy"), ("f1", "F1", "macro F1")):
                rows.append(headline(
                    f"{model}, best test {name} ({variant}, lr {row['learning rate']})", kind, rep[column],
                    row[column], profile=row["profile"], decimals=3, reason=reason,
                    test_size=test_sizes[row["profile"]],
                    counted=variant != "double softmax"))
    return rows
