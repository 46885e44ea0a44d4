"""Chapter 4: one simple CNN and one-factor sweeps of its training and shape (NTU
course project). Every sweep is a ``Sweep`` (sweeps.py): values of one factor as
settings that differ from ``BASE``; ``run_config`` turns settings into a run."""

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..ablations import PROTOCOL, Variant, apply, name_of, number_table
from ..claims import value_of
from ..headlines import headline
from ..models.names import DEPTHS
from ..stats import mean_sd
from ..verdicts import Noise
from ..spec import (ChapterSpec, Protocol, boolean, choice_list, int_list, number_list,
                    positive_int, positive_number, unit_interval)
from ..sweeps import Sweep, last_epoch_updates, points, unique_configs
from ..config import RunConfig, sampled_test

# The report's base model and training (its text gives all of these but the
# learning rate, where its sweep finds 0.1 best and the base's 97.22% fits 0.1).
BASE = {"model": "simple_cnn", "conv_filters": [50, 100], "fc_units": [], "dropout": 0.0,
        "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.0, "l2": 0.0,
        "loss": "cross_entropy", "batch_size": 128, "epochs": 1}
FC_UNITS = 500          # hidden fully connected layers (the report does not say)
DROPOUT = 0.5           # PyTorch's default rate
IMPROVED_L2 = 5e-4      # weight decay of the improved model (the report does not say)
# Keras's Adam and Adagrad defaults differ from PyTorch's, the report's framework.
PYTORCH_DEFAULTS = {"sgd": {}, "adam": {"epsilon": 1e-8},
                    "adagrad": {"initial_accumulator_value": 0.0, "epsilon": 1e-10}}
MNIST_SIZES = (60000, 10000)

SWEEPS = ["base", "learning_rate", "batch_size", "momentum", "weight_decay", "optimizer",
          "loss", "conv_depth", "fc_depth", "width", "resnet", "improvements"]


def run_config(p: Protocol, settings: dict, seed: int) -> RunConfig:
    """The run for ``settings`` (what differs from BASE) and ``seed``."""
    s = {**BASE, **settings}
    if s["model"] == "resnet":
        options, train_images = {"depth": s["depth"]}, p.resnet_train_images
    else:
        options = {k: s[k] for k in ("conv_filters", "fc_units", "dropout")}
        train_images = p.train_images
    optimizer_options = dict(PYTORCH_DEFAULTS[s["optimizer"]])
    if s["momentum"]:
        optimizer_options["momentum"] = s["momentum"]
    extra = {"model_options": options, "per_update_test": False}
    if optimizer_options:
        extra["optimizer_options"] = optimizer_options
    if s["l2"]:
        extra["l2"] = s["l2"]
    if s["loss"] == "balanced":
        extra["class_weight"] = "inverse_frequency"
    test_limit = None if p.test_images == MNIST_SIZES[1] else p.test_images
    return RunConfig(task="mnist", model=s["model"], epochs=s["epochs"],
                     batch_size=s["batch_size"], seed=seed, optimizer=s["optimizer"],
                     learning_rate=s["learning_rate"],
                     train_limit=None if train_images == MNIST_SIZES[0] else train_images,
                     test_limit=test_limit, extra={**extra, **sampled_test(test_limit)})


BEST = "best (100/200 channels)"  # the report's 10-epoch model, last of Figure 12
BASE_SWEEP = Sweep("base", "base model", 1, {"base": {}})


def sweeps(p: Protocol) -> list[Sweep]:
    """The chosen sweeps, values named as the report's legends would name them."""
    seeds = tuple(p.seeds)
    two_fc = {"fc_units": [FC_UNITS]}
    dropout = {**two_fc, "dropout": DROPOUT}
    improved = {**dropout, "momentum": 0.9, "l2": IMPROVED_L2}
    best = {**dropout, "momentum": 0.9, "conv_filters": [100, 200], "epochs": p.best_epochs}
    every = [
        replace(BASE_SWEEP, seeds=seeds),
        Sweep("learning_rate", "learning rate", 2,
              {f"{v:g}": {"learning_rate": v} for v in p.learning_rates}, seeds),
        Sweep("batch_size", "batch size", 3, {str(v): {"batch_size": v} for v in p.batch_sizes},
              seeds),
        Sweep("momentum", "momentum", 4, {f"{v:g}": {"momentum": v} for v in p.momenta}, seeds),
        Sweep("weight_decay", "L2 weight decay", 5,
              {f"{v:g}": {"l2": v} for v in p.weight_decays}, seeds),
        Sweep("optimizer", "optimizer", 6,
              {"SGD, momentum 0.9": {"momentum": 0.9},
               "Adagrad": {"optimizer": "adagrad", "learning_rate": 0.01},
               "Adam": {"optimizer": "adam", "learning_rate": 0.001}}, seeds),
        Sweep("loss", "loss", 7, {"cross-entropy": {}, "balanced cross-entropy":
                                  {"loss": "balanced"}}, tuple(p.repeat_seeds)),
        Sweep("conv_depth", "convolutional layers", 8,
              {"1": {"conv_filters": [50]}, "2": {}, "3": {"conv_filters": [50, 100, 200]}}, seeds),
        Sweep("fc_depth", "fully connected layers", 9,
              {"1": {}, "2": two_fc, "3": {"fc_units": [FC_UNITS, FC_UNITS]}}, seeds),
        Sweep("width", "first-layer channels", 10,
              {str(w): {"conv_filters": [w, 2 * w]} for w in p.widths}, seeds),
        Sweep("resnet", "ResNet depth", 11,
              {f"ResNet-{d}": {"model": "resnet", "depth": d} for d in p.resnet_depths},
              tuple(p.resnet_seeds)),
        Sweep("improvements", "improvement", 12,
              {"vanilla (2 FC)": two_fc, "+ dropout": dropout,
               "+ dropout, momentum, weight decay": improved,
               BEST: best}, seeds, {BEST: tuple(p.best_seeds)}),
    ]
    return [s for s in every if s.name in p.sweeps]


def chapter_points(p: Protocol):
    return points(sweeps(p), lambda settings, seed: run_config(p, settings, seed))


def _configs(p: Protocol) -> list[RunConfig]:
    return unique_configs(chapter_points(p))


# Ours is above the report in almost every printed accuracy. The report is PyTorch:
# its layers start from PyTorch's default initialisation, and PyTorch's MNIST example
# standardises the pixels; ours are Keras's Glorot and pixels / 255. Run on the base
# model, ablation_seeds, at the chapter's profile.
TORCH_NORM = [0.1307, 0.3081]
VARIANTS = [
    Variant("torch_init", "PyTorch's default initialisation (uniform in +-1/sqrt(fan_in), "
                          "biases too) instead of Keras's Glorot and zero biases",
            {"extra": {"model_options": {"init": "torch"}}}),
    Variant("torch_norm", "pixels standardised with MNIST's mean 0.1307 and sd 0.3081, as "
                          "PyTorch's MNIST example does, instead of / 255",
            {"extra": {"task": {"normalize": TORCH_NORM}}}),
    Variant("torch_both", "both",
            {"extra": {"model_options": {"init": "torch"}, "task": {"normalize": TORCH_NORM}}}),
]


def _ablation_configs(p: Protocol) -> list[RunConfig]:
    return [apply(run_config(p, {}, s), var) for var in VARIANTS if var.name in p.ablations
            for s in p.ablation_seeds]


def labels(config: RunConfig) -> dict:
    """Every setting a sweep can change (sizes and epochs aside), the variant and the seed."""
    extra = config.extra
    return {"model": config.model, **extra["model_options"], "optimizer": config.optimizer,
            "learning_rate": f"{config.learning_rate:g}", "batch_size": config.batch_size,
            **extra.get("optimizer_options", {}), "l2": extra.get("l2", 0.0),
            "class_weight": extra.get("class_weight"), "variant": name_of(config, VARIANTS),
            "seed": config.seed}


# Seeds per setting: the ResNets (2 to 20 minutes a run here) and the 10-epoch best
# model (20 minutes) have their own lists, so the 1-epoch settings can run more.
_PAPER = {"sweeps": SWEEPS, "seeds": list(range(7)), "resnet_seeds": [0, 1, 2],
          "best_seeds": [0, 1, 2],
          "repeat_seeds": list(range(10)),
          "learning_rates": [0.01, 0.1, 1.0], "batch_sizes": [32, 128, 512, 2048],
          "momenta": [0.0, 0.5, 0.9, 0.99], "weight_decays": [0.001, 0.01, 0.1, 1.0],
          "widths": [10, 25, 50, 100], "resnet_depths": [18, 34, 50, 101],
          "best_epochs": 10, "train_images": 60000, "test_images": 10000,
          "resnet_train_images": 60000, "ablations": [v.name for v in VARIANTS],
          "ablation_seeds": [0, 1, 2], "force": False}

# 45 minutes from an empty store on 2 cores, where the base model trains about
# 640 images/s (a full epoch: 95 s), ResNet-18 about 220 and ResNet-101 under 50,
# and the chapter has 34 distinct runs: every simple-CNN run on the first 20,000
# training images, the ResNets on 10,000, and the best model for 3 epochs, not 10.
_CPU = {**_PAPER, "train_images": 20000, "resnet_train_images": 10000, "best_epochs": 3,
        "seeds": [0], "resnet_seeds": [0], "best_seeds": [0], "repeat_seeds": [0, 1, 2]}

# Every sweep and code path (collapse, class weights, momentum, the ResNets, the
# multi-epoch model), with two values per numeric sweep: about 20 runs of seconds each.
# A learning rate of 1e12 turns the loss NaN within its 4 updates: the divergence path
# (stored, plotted, named in the tables) is part of the smoke build.
_SMOKE = {**_PAPER, "seeds": [0], "resnet_seeds": [0], "best_seeds": [0], "repeat_seeds": [0, 1],
          "learning_rates": [0.1, 1.0, 1e12], "batch_sizes": [128, 512], "momenta": [0.0, 0.9],
          "weight_decays": [0.01, 1.0],
          "widths": [10, 50], "resnet_depths": [18, 50], "train_images": 512,
          "test_images": 256, "resnet_train_images": 256, "best_epochs": 2, "ablation_seeds": [0]}


SPEC = ChapterSpec(
    name="cnn_sweeps",
    title="A simple CNN and one-factor sweeps of its training and shape (NTU project)",
    checks={"sweeps": lambda n, v: choice_list(n, v, SWEEPS),
            "seeds": lambda n, v: int_list(n, v, minimum=0),
            "resnet_seeds": lambda n, v: int_list(n, v, minimum=0),
            "best_seeds": lambda n, v: int_list(n, v, minimum=0),
            "repeat_seeds": lambda n, v: int_list(n, v, minimum=0),
            "learning_rates": lambda n, v: number_list(n, v, positive_number),
            "batch_sizes": int_list,
            "momenta": lambda n, v: number_list(n, v, unit_interval),
            "weight_decays": lambda n, v: number_list(n, v, positive_number),
            "widths": int_list,
            "resnet_depths": lambda n, v: choice_list(n, v, list(DEPTHS)),
            "best_epochs": positive_int,
            "train_images": lambda n, v: positive_int(n, v, MNIST_SIZES[0]),
            "test_images": lambda n, v: positive_int(n, v, MNIST_SIZES[1]),
            "resnet_train_images": lambda n, v: positive_int(n, v, MNIST_SIZES[0]),
            "ablations": lambda n, v: choice_list(n, v, [var.name for var in VARIANTS], empty_ok=True),
            "ablation_seeds": lambda n, v: int_list(n, v, minimum=0),
            "force": boolean},
    profiles={"paper": _PAPER, "cpu": _CPU, "smoke": _SMOKE},
    deviations={
        "cpu": ["the simple CNN trains on the first 20,000 training images instead of 60,000 "
                "(157 updates per epoch at batch size 128 instead of 469)",
                "the ResNets train on the first 10,000 training images (79 updates)",
                "the best model trains 3 epochs instead of 10; its figure shows the 3rd",
                f"one seed per 1-epoch setting instead of {len(_PAPER['seeds'])}, per ResNet depth "
                f"instead of {len(_PAPER['resnet_seeds'])} and of the best model instead of "
                f"{len(_PAPER['best_seeds'])}, and {len(_CPU['repeat_seeds'])} of the base model "
                f"instead of {len(_PAPER['repeat_seeds'])}"],
        "smoke": ["512 training and 256 test images (ResNets: 256), two values per numeric "
                  "sweep, ResNet-18 and -50 only, two seeds for the loss comparison, the best "
                  "model 2 epochs, and a learning rate of 1e12 that diverges"]},
    configs=_configs,
    ablations=_ablation_configs,
    ablation_of=lambda p, config: name_of(config, VARIANTS),
    labels=labels,
    seed_parameters=("seeds", "resnet_seeds", "best_seeds"),
)


# --- the chapter's tables and figures -------------------------------------------

SHOWN = {"ours": "test accuracy (ours)", "sd": "sd over seeds", "seeds": "seeds", "reported": "reported",
         "ours - reported": "ours - reported", "outcome": "note"}
EPOCH_LOG = {"loss": "training loss", "accuracy": "training accuracy", "test_loss": "test loss",
             "test_accuracy": "test accuracy", "test_top5_accuracy": "test top-5"}


def model_sizes(pts) -> pd.DataFrame:
    """Parameters and multiply-adds of the base network and of every (factor, value)
    whose network differs from it; the sweeps of training settings (learning rate,
    batch size, optimizer, ...) all train the base network and are left out."""
    from .. import flops
    from ..models import build_model, shapes_only
    sizes = {}
    for p in pts:
        key = (p.sweep.factor, p.value)
        if key not in sizes:
            with shapes_only():
                model = build_model(p.config.model, (28, 28, 1), 10, **p.config.extra["model_options"])
            sizes[key] = {"parameters": model.count_params(),
                          "multiply-adds (M)": flops.model_macs(model) / 1e6}
    base_key = (BASE_SWEEP.factor, "base")
    base = sizes.get(base_key, next(iter(sizes.values())))
    kept = {k: v for k, v in sizes.items() if k == base_key or v != base}
    return pd.DataFrame(kept).T.rename_axis(["factor", "value"])


def sweep_figure(pts, by_key, sweep: Sweep, profile: str):
    """The report's figure for one sweep: training curves of its first seed's runs."""
    from .. import plots
    updates = last_epoch_updates(pts, by_key, sweep.name)
    epochs = max(p.config.epochs for p in pts if p.sweep.name == sweep.name)
    xlabel = "iteration" if epochs == 1 else f"iteration (of epoch {epochs} for the {epochs}-epoch run)"
    return plots.sweep_curves(updates, f"{sweep.heading}, first seed ({profile} profile)", sweep.factor,
                              xlabel=xlabel)


def nonfinite_runs(updates: pd.DataFrame) -> int:
    """Runs of a sweep's figure (``last_epoch_updates``: value, loss) whose training
    loss stopped being finite: each is a cross on the figure."""
    return int(updates.groupby("value")["loss"].apply(lambda x: (~np.isfinite(x)).any()).sum())


def sweep_table(summary: pd.DataFrame, sweep: Sweep, profile: str):
    """The test accuracies of one sweep's figure, ours beside the report's."""
    from ..report import table
    t = summary.loc[sweep.name, list(SHOWN)].rename_axis(sweep.factor).rename(columns=SHOWN)
    return table(t, f"{sweep.heading}: test accuracy, mean over seeds (the settings of "
                    f"Figure {sweep.figure}; {profile} profile)")


def percent(summary: pd.DataFrame, sweep: str, value: str) -> str:
    """Our mean test accuracy of one (sweep, value) as a percentage, for the text."""
    try:
        return f"{100 * summary.loc[(sweep, value), 'ours']:.2f}%"
    except KeyError:
        return "(not run)"


BEST_METRICS = ("accuracy", "best_epoch_accuracy", "top5_accuracy")


@dataclass
class BestModel:
    """The 10-epoch best model over its seeds: mean and standard deviation of each of
    ``BEST_METRICS`` (``<metric>_sd``, NaN for one seed), ``seeds`` and ``epochs``;
    and the per-epoch log of its first seed, which the figures draw."""
    stats: pd.Series
    log: pd.DataFrame


def best_model(results: pd.DataFrame, runs: list) -> BestModel | None:
    """The best model over its seeds, or None where it did not run."""
    rows = results[(results["sweep"] == "improvements") & (results["value"] == BEST)]
    if not len(rows):
        return None
    rows = rows.sort_values("seed")
    stats = {"seeds": len(rows), "epochs": int(rows["epochs"].iloc[0])}
    for m in BEST_METRICS:
        stats[m] = rows[m].mean()
        stats[f"{m}_sd"] = rows[m].std(ddof=1) if len(rows) > 1 else np.nan
    epochs = next(r for r in runs if r.key == rows["key"].iloc[0]).epochs.set_index("epoch")
    return BestModel(pd.Series(stats), epochs[list(EPOCH_LOG)].rename(columns=EPOCH_LOG))


def best_model_text(best: BestModel | None) -> dict[str, str]:
    """The best model's numbers for the text: "98.95 ± 0.04%" (mean ± sd over its
    seeds; a lone run without the ±), its epochs and seeds; "(not run)" without it."""
    names = {"accuracy": "best_final", "best_epoch_accuracy": "best_during",
             "top5_accuracy": "best_top5"}
    if best is None:
        return dict.fromkeys([*names.values(), "best_epochs", "best_seeds"], "(not run)")
    s = best.stats
    text = {name: (f"{100 * s[m]:.2f}%" if np.isnan(s[f"{m}_sd"])
                   else f"{100 * s[m]:.2f} ± {100 * s[f'{m}_sd']:.2f}%")
            for m, name in names.items()}
    seeds = int(s["seeds"])
    return {**text, "best_epochs": f"{int(s['epochs'])}",
            "best_seeds": "one seed" if seeds == 1 else f"mean ± sd over {seeds} seeds"}


def every_sweep(summary: pd.DataFrame) -> pd.DataFrame:
    """All sweeps in one table: factor (figure), value, ours, reported, difference."""
    s = summary.reset_index()
    return pd.DataFrame({
        "factor": [f"{f} (Figure {n})" for f, n in zip(s["factor"], s["figure"])],
        "value": s["value"],
        "ours (± sd, seeds)": [mean_sd(m, sd) + (f" ({n})" if n > 1 else "")
                               for m, sd, n in zip(s["ours"], s["sd"], s["seeds"])],
        "reported": s["reported"], "ours - reported": s["ours - reported"], "note": s["outcome"]})


def loss_seeds(results: pd.DataFrame) -> tuple[pd.DataFrame, Noise | None]:
    """The loss comparison seed by seed (plain, balanced, their difference), and the
    base model's seed spread for single runs (None with fewer than two seeds)."""
    runs = results[results["sweep"] == "loss"]
    t = runs.pivot_table(index="seed", columns="value", values="accuracy")
    t = t.reindex(columns=["cross-entropy", "balanced cross-entropy"])
    t["balanced - plain"] = t["balanced cross-entropy"] - t["cross-entropy"]
    t.columns.name = None
    plain = t["cross-entropy"].dropna()
    noise = Noise(float(plain.std(ddof=1)), len(plain), "the base model's repeated seeds") \
        if len(plain) > 1 else None
    return t, noise


def single_runs(summary: pd.DataFrame) -> str:
    """The settings that ran with one seed, in words, for the noise section: "every
    ResNet depth and best (100/200 channels) in the improvement sweep"."""
    once = summary[summary["seeds"] == 1]
    if once.empty:
        return "none"
    if len(once) == len(summary):
        return "every setting at this profile"
    names = []
    for sweep, rows in once.groupby(level="sweep", sort=False):
        factor = rows["factor"].iloc[0]
        names += [f"every {factor}"] if len(rows) == (summary.index.get_level_values(
            "sweep") == sweep).sum() else [f"{v} in the {factor} sweep"
                                          for v in rows.index.get_level_values("value")]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


EARLY = "updates.accuracy.mean[1:101]"  # the statistic of the "learns faster" claims


def early_spread(evidence: pd.DataFrame, sweep: str, value: str) -> tuple[float, int]:
    """The seed-to-seed sd of one setting's mean training accuracy over its first 100
    updates (``evidence_frame`` rows), and how many seeds it rests on."""
    rows = evidence[(evidence["sweep"] == sweep) & (evidence["value"] == value)]
    early = [value_of(r, EARLY) for r in rows["run"]]
    return (float(np.std(early, ddof=1)) if len(early) > 1 else np.nan), len(early)


def early_spread_text(evidence: pd.DataFrame, sweep: str, value: str) -> str:
    """``early_spread`` for the text: "4.6 points over 7 seeds", "one seed" or "not run"."""
    sd, n = early_spread(evidence, sweep, value)
    return f"{100 * sd:.1f} points over {n} seeds" if n > 1 else ("one seed" if n else "not run")


def headlines(summary: pd.DataFrame, best: BestModel | None, reported: dict, noise: Noise | None,
              *, profile: str, test_size: int, reasons: dict | None = None) -> list[dict]:
    """The chapter's rows of the book's numbers table: every printed test accuracy, and
    the best model's best-epoch and top-5 accuracy; ``reasons`` gives (sweep, value)
    rows what the ablations showed."""
    rows = []
    for (sweep, value), row in summary.iterrows():
        if not np.isnan(row["reported"]):
            rows.append(headline(
                f"{row['factor']} ({row['figure']}): {value}, test accuracy", "accuracy",
                row["reported"], row["ours"], sd=row["sd"], seeds=int(row["seeds"]), noise=noise,
                profile=profile, decimals=4, test_size=test_size, pending=bool(row["pending"]),
                collapsed=bool(row["outcome"]),
                reason="; ".join(filter(None, [f"our run {row['outcome']}" if row["outcome"] else "",
                                               (reasons or {}).get((sweep, value), "")]))))
    if best is not None:
        for key, kind, label in (("best_epoch_accuracy", "accuracy", "best epoch's test accuracy"),
                                 ("top5_accuracy", "top5", "top-5 test accuracy")):
            rows.append(headline(f"best model, {label}", kind, reported["best_model"][key],
                                 best.stats[key], sd=best.stats[f"{key}_sd"],
                                 seeds=int(best.stats["seeds"]), noise=noise, decimals=4,
                                 profile=profile, test_size=test_size))
    return rows


# --- why the numbers differ -------------------------------------------------------

def base_runs(ch) -> list:
    """The protocol's runs of the base model, one per seed of the loss comparison."""
    keys = [run_config(ch.proto, {}, s).key() for s in ch.proto.repeat_seeds]
    return [ch.by_key[k] for k in keys if k in ch.by_key]


def why_offset(ch) -> pd.DataFrame:
    """The base model's test accuracy against the report's 97.22%: ours under the
    protocol (the loss comparison's seeds) and under each variant
    (``ablations.number_table``)."""
    p = ch.proto
    values = {PROTOCOL: [r.metrics["accuracy"] for r in base_runs(ch)]}
    for var in VARIANTS:
        if var.name in p.ablations:
            values[var.name] = [r.metrics["accuracy"] for r in ch.ablation_runs
                                if labels(r.config)["variant"] == var.name]
    return number_table(values, ch.reported["accuracy"]["base"]["base"], kind="accuracy", decimals=4,
                        test_size=p.test_images)
