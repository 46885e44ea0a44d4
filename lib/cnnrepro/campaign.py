"""The campaign: every run the book wants that the results store lacks, in the order
that settles claims soonest, trained one after another (or on a Dask cluster) with
each finished run stored at once.

What the book wants: each chapter's runs at the profile its page shows
(``run.book_profile``: what a build would otherwise train on the spot) and the runs of
the report's protocol (the paper profile: only those can make a claim hold or fail).
Order: the runs the pages need first; then, claim by claim, the runs still missing
from each undecided claim's evidence (verdict "inconclusive" or "not tested" in the
last build, or every claim before any build), the claim whose missing runs cost the
fewest minutes first; then the rest, cheapest first.

A run's minutes on this machine are estimated from the store: the median seconds per
training image of stored runs of the same model, batch size and test-batch setting
on this processor (else any processor), else from the benchmark's images per second
(``results/bench``), times the run's images and epochs; for a run that stops early,
the epochs its stored siblings (same model, task and maximum) trained, as a share of
that maximum.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import claims as claims_module
from . import checkpoint, measurements, protocol, provenance, run
from .chapter import paper_twins
from .config import RunConfig
from .store import ResultsStore

UNDECIDED = ("inconclusive", "not tested")
WHY = ("page", "claim", "protocol")  # why a run is queued, in queue order


@dataclass
class Item:
    config: RunConfig
    chapter: str
    profile: str
    why: str                      # one of WHY
    claims: list[str] = field(default_factory=list)  # undecided claims it feeds
    minutes: float | None = None  # estimated on this machine, early stopping included
    epoch_minutes: float | None = None  # one epoch of it: when its first checkpoint comes

    def row(self) -> dict:
        return {"run": self.config.label(), "chapter": self.chapter, "profile": self.profile,
                "why": self.why, "claims": ", ".join(self.claims) or "-",
                "minutes": None if self.minutes is None else round(self.minutes, 1)}


# --- what the book wants ------------------------------------------------------------

def claim_reads(claim: dict, labels: dict) -> bool:
    """Whether a run with ``labels`` is among the runs ``claim`` reads."""
    def matches(where):
        return all(str(labels.get(k)) == str(v) for k, v in (where or {}).items())
    if claim["kind"] in ("consistency", "speed_ratio"):
        return False  # the report's own numbers, or the benchmark: no run
    if not matches(claim.get("where")):
        return False
    if claim["kind"] == "comparison":
        return matches(claim["a"]) or matches(claim["b"])
    return True


def undecided_claims(chapter: str, book: Path | None = None) -> set[str] | None:
    """The ids of the chapter's claims the last build left undecided, or None when no
    build has judged them."""
    judged = claims_module.read_all([chapter], book)
    if judged.empty:
        return None
    return set(judged.loc[judged["verdict"].isin(UNDECIDED), "claim"])


def wanted(chapters: list[str] | None = None, profile: str | None = None,
           book: Path | None = None, seeds: int | None = None) -> list[Item]:
    """Every run the book wants that the store lacks (``profile`` narrows it to one
    profile; ``seeds``: the report's protocol at seeds 0 to seeds-1, where a chapter's
    profile has fewer), unordered."""
    items: dict[str, Item] = {}
    for name in chapters or run.chapters():
        spec = protocol.chapter(name)
        shown = run.book_profile(name)
        chapter_claims = claims_module.load(name)
        undecided = undecided_claims(name, book)
        for prof, why in ((shown, "page"), ("paper", "protocol")):
            if profile and prof != profile:
                continue
            more = {k: list(range(seeds)) for k in spec.seed_parameters} \
                if seeds and why == "protocol" else {}
            proto = protocol.resolve(name, prof, **more)
            store = ResultsStore(proto.store_root)
            configs = proto.all_configs() if why == "page" else proto.run_configs()
            # a page that mixes profiles reads the stored paper run in place of its own
            shown_at_paper = paper_twins(proto, proto.run_configs()) if why == "page" else {}
            for config in configs:
                if store.has(config) or config.key() in items or config.key() in shown_at_paper:
                    continue
                labels = spec.labels(config)
                fed = [c["id"] for c in chapter_claims if claim_reads(c, labels)
                       and (undecided is None or c["id"] in undecided)] if prof == "paper" else []
                items[config.key()] = Item(config, name, prof,
                                           "claim" if why == "protocol" and fed else why, fed)
    return list(items.values())


# --- what a run costs here ------------------------------------------------------------

def stored_runs(stores: list[ResultsStore]) -> list[tuple[RunConfig, dict, int]]:
    """(config, provenance, epochs trained) of every stored run: what costing reads,
    not the whole run."""
    out = []
    for store in stores:
        for path in store.runs():
            out.append((RunConfig.from_canonical(json.loads((path / "config.json").read_text())),
                        json.loads((path / "provenance.json").read_text()),
                        max(len((path / "epochs.csv").read_text().splitlines()) - 1, 1)))
    return out


def seconds_per_image(stored: list[tuple[RunConfig, dict, int]]) -> dict[tuple, list[float]]:
    """Wall seconds per training image of every ``stored_runs`` entry, by (model,
    batch size, per-update test, cpu identity)."""
    out: dict[tuple, list[float]] = {}
    for c, prov, epochs in stored:
        wall = prov.get("timing", {}).get("wall_seconds")
        if not wall or any(not d.startswith("cpu") for d in prov.get("devices", [])):
            continue  # trained on an accelerator: says nothing about this CPU
        key = (c.model, c.batch_size, c.extra.get("per_update_test", True), prov.get("cpu_identity"))
        out.setdefault(key, []).append(wall / (c.images_per_epoch() * epochs))
    return out


def epochs_share(stored: list[tuple[RunConfig, dict, int]]) -> dict[tuple, list[float]]:
    """Epochs trained as a share of the maximum, of every ``stored_runs`` entry that
    stops early, by (model, task, maximum epochs): an early-stopped run trains a
    fraction of its epochs, and a shorter maximum (a cpu profile) leaves it less room
    to stop."""
    out: dict[tuple, list[float]] = {}
    for c, _, epochs in stored:
        if c.extra.get("early_stopping"):
            out.setdefault((c.model, c.task, c.epochs), []).append(min(epochs / c.epochs, 1.0))
    return out


def expected_epochs(config: RunConfig, shares: dict[tuple, list[float]]) -> float:
    """The epochs ``config`` is expected to train: all of them, unless it stops early
    and stored runs of its model, task and maximum say how early."""
    seen = shares.get((config.model, config.task, config.epochs))
    if not config.extra.get("early_stopping") or not seen:
        return float(config.epochs)
    return config.epochs * statistics.median(seen)


def bench_rates() -> dict[tuple, float]:
    """Images per second of Keras on TensorFlow (fp32) by (model, batch size)."""
    frame = measurements.throughput()
    if frame.empty:
        return {}
    rows = frame[frame["framework"].str.startswith("keras/tensorflow")
                 & (frame["precision"] == "float32") & frame["img_per_s"].notna()]
    return rows.groupby(["model", "batch_size"])["img_per_s"].median().to_dict()


def estimate_minutes(config: RunConfig, per_image: dict, rates: dict,
                     cpu: str | None = None) -> float | None:
    """Minutes to train ``config`` here; None when nothing measured tells. Stored runs
    of the model at its batch size come first (this processor's, then any), then the
    benchmark at that batch size, then stored runs at any batch size (the seconds per
    image of a CPU change little with it)."""
    cpu = cpu or provenance.cpu_identity()
    images = config.images_per_epoch() * config.epochs
    test = config.extra.get("per_update_test", True)
    here = per_image.get((config.model, config.batch_size, test, cpu))
    anywhere = [s for (m, b, t, _), v in per_image.items()
                if (m, b, t) == (config.model, config.batch_size, test) for s in v]
    if here or anywhere:
        return statistics.median(here or anywhere) * images / 60
    rate = rates.get((config.model, config.batch_size))
    if rate is not None:
        return images / rate / 60 * (1.25 if test else 1.0)  # a test batch per update: ~1/4 more
    other_sizes = [s for (m, _, t, _), v in per_image.items() if (m, t) == (config.model, test)
                   for s in v]
    return statistics.median(other_sizes) * images / 60 if other_sizes else None


# --- the order -------------------------------------------------------------------------

def ordered(items: list[Item]) -> list[Item]:
    """Pages' runs first; then claim by claim, the claim with the cheapest missing
    evidence first; then the rest, cheapest first (unknown cost last)."""
    def cost(item):
        return (item.minutes is None, item.minutes or 0.0)
    pages = sorted((i for i in items if i.why == "page"), key=cost)
    by_claim: dict[tuple[str, str], list[Item]] = {}
    for i in items:
        if i.why == "claim":
            for c in i.claims:
                by_claim.setdefault((i.chapter, c), []).append(i)

    def claim_cost(runs):
        known = [r.minutes for r in runs if r.minutes is not None]
        return (len(known) < len(runs), sum(known))
    queued, seen = [*pages], {i.config.key() for i in pages}
    for runs in sorted(by_claim.values(), key=claim_cost):
        for i in sorted(runs, key=cost):
            if i.config.key() not in seen:
                queued.append(i)
                seen.add(i.config.key())
    queued += sorted((i for i in items if i.config.key() not in seen), key=cost)
    return queued


def plan(chapters: list[str] | None = None, profile: str | None = None,
         book: Path | None = None, seeds: int | None = None) -> list[Item]:
    """The campaign's queue with each run's estimated minutes (``wanted``'s arguments)."""
    for name in chapters or []:
        protocol.chapter(name)  # an unknown name: ProtocolError naming the allowed ones
    if profile is not None and profile not in protocol.PROFILES:
        raise protocol.ProtocolError(f"profile={profile!r} is not allowed; allowed: "
                                     f"{list(protocol.PROFILES)}")
    if seeds is not None and seeds < 1:
        raise protocol.ProtocolError(f"--seeds={seeds} is not allowed; allowed: an integer >= 1")
    items = wanted(chapters, profile, book, seeds)
    roots = {protocol.resolve(i.chapter, i.profile).store_root for i in items}
    stored = stored_runs([ResultsStore(r) for r in roots])
    per_image, rates, shares = seconds_per_image(stored), bench_rates(), epochs_share(stored)
    cpu = provenance.cpu_identity()
    for i in items:
        full = estimate_minutes(i.config, per_image, rates, cpu)
        if full is not None:
            i.epoch_minutes = full / i.config.epochs
            i.minutes = i.epoch_minutes * expected_epochs(i.config, shares)
    return ordered(items)


def summary(queue: list[Item]) -> pd.DataFrame:
    """The queue as a table, one row per run."""
    return pd.DataFrame([i.row() for i in queue],
                        columns=["run", "chapter", "profile", "why", "claims", "minutes"])


def parse_budget(text: str) -> float:
    """'150m', '2h', '90s' or a number of minutes, in seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    value, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "m")
    try:
        seconds = float(value) * units[unit]
    except ValueError:
        seconds = -1
    if seconds <= 0:
        raise protocol.ProtocolError(f"--budget={text!r} is not allowed; allowed: a positive "
                                     f"number of minutes, or with s, m or h (150m, 2.5h)")
    return seconds


# --- training the queue ------------------------------------------------------------------

def _fits(item: Item, deadline: float | None) -> bool:
    """Whether ``item`` can reach its first checkpoint (one epoch) before ``deadline``."""
    if deadline is None or item.epoch_minutes is None:
        return deadline is None or time.time() < deadline
    return time.time() + item.epoch_minutes * 60 < deadline


def _eta(queue: list[Item], done: int) -> str:
    left = [i.minutes for i in queue[done:] if i.minutes is not None]
    unknown = len(queue) - done - len(left)
    return f"{sum(left):.0f} min left" + (f" (+{unknown} not estimated)" if unknown else "")


def train_queue(queue: list[Item], budget: float | None = None, log=print) -> list[Path]:
    """Train ``queue`` in order here, each run stored (and analysed) as it finishes;
    ``budget`` seconds: start nothing that cannot reach a checkpoint in time, and
    pause the run in training at its last checkpoint when time is up. Returns the
    stored runs' folders."""
    deadline = time.time() + budget if budget else None
    stored = []
    for n, item in enumerate(queue, start=1):
        if not _fits(item, deadline):
            log(f"[{n}/{len(queue)}] {item.config.label()}: skipped, its first epoch "
                f"(~{item.epoch_minutes:.1f} min) would end after the budget")
            continue
        proto = protocol.resolve(item.chapter, item.profile)
        store = ResultsStore(proto.store_root)
        estimate = "?" if item.minutes is None else f"{item.minutes:.1f}"
        log(f"[{n}/{len(queue)}] {item.config.label()} ({item.chapter}, {item.profile}; "
            f"{item.why}{': ' + ', '.join(item.claims) if item.claims else ''}): "
            f"estimated {estimate} min")
        start = time.perf_counter()
        try:
            r = store.get_or_train(item.config, requested_by=proto.requested_by(), verbose=0,
                                   log=lambda m: None, deadline=deadline,
                                   progress=lambda m, n=n: log(f"[{n}/{len(queue)}]   {m}"))
        except checkpoint.Paused as exc:
            log(f"[{n}/{len(queue)}] {item.config.label()}: {exc}; the next campaign resumes it")
            break
        stored.append(r.path)
        log(f"[{n}/{len(queue)}] {item.config.label()}: trained in "
            f"{(time.perf_counter() - start) / 60:.1f} min, test accuracy "
            f"{r.metrics['accuracy']:.4f}; {_eta(queue, n)}")
    return stored


def train_remote(canonical: str, pretrained: dict | None, deadline: float | None):
    """What a Dask worker runs: train one run (resuming from the worker's checkpoint)
    in a fresh Python process, and hand the finished run back to the client, which
    stores it. Not in the worker itself: its own threads draw from Python's global
    random numbers, which Keras's initialisers draw from too, so a network built there
    starts from other weights than the same run started anywhere else."""
    import pickle
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cnnrepro-run-") as tmp:
        job, out = Path(tmp) / "job.pkl", Path(tmp) / "result.pkl"
        job.write_bytes(pickle.dumps((canonical, pretrained, deadline)))
        child = subprocess.run([sys.executable, "-m", "cnnrepro.campaign", str(job), str(out)],
                               capture_output=True, text=True)
        if child.returncode != 0:
            raise RuntimeError(f"training {canonical} failed:\n{child.stderr[-3000:]}")
        result = pickle.loads(out.read_bytes())
    if isinstance(result, Exception):
        raise result
    return result


def _train_job(job: Path, out: Path) -> None:
    """``train_remote``'s child: the run of ``job``, or the pause that stopped it, to ``out``."""
    import pickle

    from .train import train
    canonical, pretrained, deadline = pickle.loads(job.read_bytes())
    try:
        result = train(RunConfig.from_canonical(json.loads(canonical)), verbose=0,
                       pretrained=pretrained, deadline=deadline, log=lambda m: None)
    except checkpoint.Paused as exc:
        result = exc
    out.write_bytes(pickle.dumps(result))


def train_on_cluster(queue: list[Item], scheduler, budget: float | None = None,
                     log=print) -> list[Path]:
    """Train ``queue`` on a Dask distributed cluster (``scheduler``: its address, or a
    ``distributed.Client``): workers train runs, in queue order as they free up, and
    hand each finished run back; this process alone writes them into the store
    (atomically, as a local run is written) and analyses them. A run that starts from
    another run's weights waits until that run is stored. Returns the stored folders."""
    from distributed import Client, as_completed

    from . import analyses
    from .config import Transfer
    from .store import read_run

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    deadline = time.time() + budget if budget else None
    stores = {i.config.key(): ResultsStore(protocol.resolve(i.chapter, i.profile).store_root)
              for i in queue}

    def source_weights(item):  # (ready, weights)
        transfer = Transfer.from_config(item.config)
        if transfer is None:
            return True, None
        store = stores[item.config.key()]
        return (True, store.load_weights(store.load(transfer.source))) \
            if store.has(transfer.source) else (False, None)

    running, waiting, stored = {}, [], []
    done = as_completed()

    def submit_ready(items):
        for item in items:
            ready, weights = source_weights(item)
            if not ready:
                waiting.append(item)
                continue
            future = client.submit(train_remote, json.dumps(item.config.canonical()), weights,
                                   deadline, pure=False, key=f"train-{item.config.key()}")
            running[future.key] = (item, time.perf_counter())
            done.add(future)
    submit_ready(queue)
    n = len(queue)
    for future in done:
        item, start = running.pop(future.key)
        try:
            result = future.result()
        except checkpoint.Paused as exc:
            log(f"{item.config.label()}: {exc}; the next campaign resumes it")
            continue
        proto = protocol.resolve(item.chapter, item.profile)
        path = stores[item.config.key()].save(result, proto.requested_by())
        analyses.after_training(read_run(path), log=lambda m: None)
        stored.append(path)
        log(f"[{len(stored)}/{n}] {item.config.label()}: trained on the cluster in "
            f"{(time.perf_counter() - start) / 60:.1f} min, test accuracy "
            f"{result.metrics['accuracy']:.4f}")
        again, waiting[:] = list(waiting), []
        submit_ready(again)
    for item in waiting:
        log(f"{item.config.label()}: not trained; the run it starts from was not stored")
    return stored


if __name__ == "__main__":  # train_remote's child process
    import sys
    _train_job(Path(sys.argv[1]), Path(sys.argv[2]))
