"""The whole book at once: the runs every chapter shows, and the MNIST models among
them with their size and cost, for the Summary page."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from . import protocol, verdicts
from .models import build_model, shapes_only
from .store import ResultsStore

# The ten-digit MNIST tasks (our input shapes); the pair task is another problem.
MNIST_TASKS = {"mnist": (28, 28, 1), "mnist_2ch": (28, 28, 2), "mnist_32x3": (32, 32, 3)}


def book_runs(profile: str = protocol.DEFAULT_PROFILE) -> dict[str, tuple[str, list]]:
    """Chapter -> (the profile the book shows it in, its stored runs): the runs its
    page shows, a chapter that mixes profiles reading the paper run stored in place of
    its own (``chapter.paper_twins``), so the Summary's figures agree with its numbers
    tables. Reads only: a run the store lacks is left out."""
    from .chapter import paper_twins
    from .run import book_profile
    out = {}
    for name in protocol.chapters():
        shown = book_profile(name, profile)
        proto = protocol.resolve(name, shown)
        store = ResultsStore(proto.store_root)
        own = proto.run_configs()
        twins = paper_twins(proto, own)
        configs = [twins.get(c.key(), c) for c in own]
        out[name] = (shown, [store.load(c) for c in configs if store.has(c)])
    return out


@lru_cache(maxsize=None)
def _parameters(model: str, shape: tuple[int, ...], options: tuple) -> int:
    with shapes_only():
        return build_model(model, shape, 10, **dict(options)).count_params()


def parameters(config) -> int:
    """Trainable and frozen parameters of a run's network on its ten-digit task."""
    options = config.extra.get("model_options", {})
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))
    return _parameters(config.model, MNIST_TASKS[config.task], frozen)


def mnist_models(runs_by_chapter: dict[str, tuple[str, list]]) -> pd.DataFrame:
    """One row per stored run on a ten-digit MNIST task: chapter, model, parameters,
    training seconds, test accuracy, and where it trained (CPU or GPU)."""
    rows = []
    for chapter, (profile, runs) in runs_by_chapter.items():
        for r in runs:
            if r.config.task not in MNIST_TASKS:
                continue
            devices = [d for d in r.provenance.get("devices", []) if not d.startswith("cpu")]
            rows.append({"chapter": chapter, "profile": profile, "model": r.config.model,
                         "run": r.key, "parameters": parameters(r.config),
                         "training seconds": r.provenance["timing"]["train_seconds"],
                         "test accuracy": r.metrics["accuracy"],
                         "hardware": "GPU" if devices else "CPU"})
    return pd.DataFrame(rows)



def chapter_profiles(rows: pd.DataFrame) -> pd.Series:
    """Per chapter, the profile of its rows: one name, or where a chapter mixes them
    (cell by cell) each with its count, e.g. "paper (8 rows), cpu (10 rows)"."""
    def said(profiles: pd.Series) -> str:
        counts = profiles.value_counts(sort=False)
        return counts.index[0] if len(counts) == 1 else \
            ", ".join(f"{p} ({n} row{'s' if n != 1 else ''})" for p, n in counts.items())
    return rows.groupby("chapter", sort=False)["profile"].agg(said)


def offsets(numbers: pd.DataFrame) -> pd.DataFrame:
    """Per report: of its counted accuracies judged at the report's protocol (a run
    that collapsed left out), how many of ours are higher, the mean difference and
    the sign test's p-value. A lopsided split is a systematic offset, not noise. A
    report with no such accuracy gets a row of zero accuracies."""
    rows = []
    judged = (numbers["kind"] == "accuracy") & numbers["counted"].astype(bool) \
        & (numbers["verdict"] != verdicts.NOT_TESTED) \
        & ~numbers.get("collapsed", pd.Series(False, index=numbers.index)).fillna(False).astype(bool)
    for chapter in dict.fromkeys(numbers["chapter"]):
        diffs = numbers.loc[judged & (numbers["chapter"] == chapter), "difference"]
        higher, n, p = verdicts.sign_test(diffs)
        rows.append({"chapter": chapter, "accuracies": n, "ours higher": higher,
                     "mean difference": diffs.mean() if n else float("nan"), "sign-test p": p})
    return pd.DataFrame(rows, columns=["chapter", "accuracies", "ours higher",
                                       "mean difference", "sign-test p"])


def write_tables(claims_frame: pd.DataFrame, numbers: pd.DataFrame, book=None) -> None:
    """claims.csv and numbers.csv beside the book's sources (linked from the Summary
    page, copied into the HTML by the build)."""
    from .paths import book_dir
    folder = (book or book_dir()) / "_generated"
    folder.mkdir(parents=True, exist_ok=True)
    claims_frame.to_csv(folder / "claims.csv", index=False)
    numbers.to_csv(folder / "numbers.csv", index=False)


def intro_line(claim_counts: pd.DataFrame, number_counts: pd.DataFrame,
               profiles: dict[str, str]) -> str:
    """The book introduction's one-line summary: claims and printed numbers by
    verdict (counted rows), and the profile each report is shown at."""
    def by_verdict(frame):
        return ", ".join(f"{int(n)} {'hold' if v == verdicts.HOLDS and n != 1 else v}"
                         for v, n in frame.sum().items() if n)
    return (f"Of the {int(claim_counts.values.sum())} claims the five reports make, "
            f"{by_verdict(claim_counts)}; of their {int(number_counts.values.sum())} printed "
            f"numbers, {by_verdict(number_counts)}. Profiles shown: "
            + "; ".join(f"{name} `{p}`" for name, p in profiles.items()) + ".\n")


def count_glues(name: str, counts: pd.DataFrame) -> dict[str, str]:
    """Glue names and values for a counts table (``claims.counts``): ``n_<name>``
    and ``n_<name>_<verdict>`` summed over reports."""
    total = counts.sum()
    return {f"n_{name}": f"{int(total.sum())}",
            **{f"n_{name}_{v.replace(' ', '_')}": f"{int(n)}" for v, n in total.items()}}


def uncounted(frame: pd.DataFrame) -> int:
    """How many rows of a claims or numbers table are shown but left out of the counts."""
    return int((~frame["counted"].astype(bool)).sum())


def span(values) -> str:
    """'1,234' or '1,234 to 5,678': the range of a count."""
    low, high = int(values.min()), int(values.max())
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


def per_model(models: pd.DataFrame, links: dict[str, str]) -> pd.DataFrame:
    """One row per (chapter, model) of ``mnist_models``: runs, parameters, best and
    median accuracy, median training seconds and where it trained; chapters shown
    by their ``links``."""
    out = (models.groupby(["chapter", "model"], sort=False)
           .agg(runs=("run", "size"), parameters=("parameters", span),
                best=("test accuracy", "max"), median=("test accuracy", "median"),
                seconds=("training seconds", "median"),
                hardware=("hardware", lambda h: ", ".join(sorted(set(h))))))
    out.columns = ["runs", "parameters", "best accuracy", "median accuracy", "median training s",
                   "trained on"]
    return out.set_axis(out.index.set_levels(out.index.levels[0].map(links), level=0))
