"""Independent runs of a chapter trained in parallel worker processes
(``python -m cnnrepro train <chapter> --jobs N``).

Each worker is pinned to its share of the cores but keeps the thread count of an
unpinned process: TensorFlow's CPU kernels split their work by thread count, so a
run trained by a worker computes exactly what the same run trained alone computes
(same seed, same metrics; tests/test_parallel.py checks it). Runs that start from
another run's weights wait until every run without that need is stored.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from pathlib import Path

from .config import RunConfig, Transfer
from .spec import ProtocolError

THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def core_shares(jobs: int, cores: list[int] | None = None) -> list[list[int]]:
    """The cores of this process split into ``jobs`` shares as equal as can be."""
    cores = sorted(os.sched_getaffinity(0)) if cores is None else cores
    if jobs < 1 or jobs > len(cores):
        raise ProtocolError(f"--jobs={jobs} is not allowed; allowed: 1 to {len(cores)} "
                         f"(the cores this process may use)")
    return [cores[i::jobs] for i in range(jobs)]


def _pin(shares, threads: int) -> None:
    """Worker initialiser: take a share of the cores, keep ``threads`` threads."""
    os.sched_setaffinity(0, shares.get())
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import tensorflow as tf  # before any op runs, or the setting is refused
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _train_one(task: tuple[str, str, dict]) -> tuple[str, float, str, bool, float]:
    """Worker: read or train one run into the store at ``root``."""
    import time

    from .store import ResultsStore
    root, canonical, requested_by = task
    config = RunConfig.from_canonical(json.loads(canonical))
    store = ResultsStore(Path(root))
    had = store.has(config)
    start = time.perf_counter()
    run = store.get_or_train(config, requested_by=requested_by, verbose=0, log=lambda m: None)
    return config.label(), time.perf_counter() - start, str(run.path), had, run.metrics["accuracy"]


def train_all(configs: list[RunConfig], root: Path, jobs: int, requested_by: dict | None = None,
              log=print) -> None:
    """Read or train every config into the store at ``root`` with ``jobs`` workers,
    a line per run as it finishes."""
    shares = core_shares(jobs)
    threads = os.cpu_count() or 1   # an unpinned process's thread count
    first = [c for c in configs if Transfer.from_config(c) is None]
    later = [c for c in configs if Transfer.from_config(c) is not None]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    for share in shares:
        queue.put(share)
    done, n = 0, len(configs)
    with ctx.Pool(jobs, initializer=_pin, initargs=(queue, threads)) as pool:
        for batch in (first, later):
            tasks = [(str(root), json.dumps(c.canonical()), requested_by or {}) for c in batch]
            for label, seconds, path, had, accuracy in pool.imap_unordered(_train_one, tasks):
                done += 1
                log(f"[{done}/{n}] {label}: " + (f"stored ({path})" if had else
                    f"trained in {seconds:.1f} s, test accuracy {accuracy:.4f} -> {path}"))
