"""Pairs of MNIST digits for "are these the same number?" (Report 3).

``draw_pairs`` is the chapter's sampler: exactly half same-digit pairs, every
ordered pair at most once, two different images per pair, reproducible from a
seed. ``report_generate_index`` is the report's own generator (Appendix B),
ported line by line so the chapter can show what it does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pairs:
    """Ordered pairs of image indices and whether the two show the same digit."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray

    def __len__(self) -> int:
        return len(self.first)


def pair_capacity(labels: np.ndarray) -> tuple[int, int]:
    """How many distinct ordered pairs of two different images exist: (same, different)."""
    counts = np.bincount(labels).astype(np.int64)
    n = int(counts.sum())
    same = int(np.sum(counts * (counts - 1)))
    return same, n * (n - 1) - same


def draw_pairs(labels: np.ndarray, n_pairs: int, seed: int) -> Pairs:
    """``n_pairs`` distinct ordered pairs (i, j), i != j, half of them the same digit.

    Candidates are drawn uniformly from all ordered pairs and kept while their kind
    (same / different) still has room, so each half is a uniform sample of its kind,
    as the report's rejection loop intended. The result is shuffled.
    """
    labels = np.asarray(labels)
    want = {True: n_pairs // 2, False: n_pairs - n_pairs // 2}
    capacity = dict(zip((True, False), pair_capacity(labels)))
    for kind, n in want.items():
        if n > capacity[kind]:
            raise ValueError(f"n_pairs={n_pairs} needs {n} {'same' if kind else 'different'}"
                             f"-digit pairs but {len(labels)} images only have {capacity[kind]}")
    rng = np.random.default_rng(seed)
    taken: dict[bool, list[tuple[int, int]]] = {True: [], False: []}
    seen: set[tuple[int, int]] = set()
    while len(taken[True]) < want[True] or len(taken[False]) < want[False]:
        i, j = rng.integers(0, len(labels), size=(2, 4 * n_pairs + 64)).tolist()
        for pair in zip(i, j):
            same = bool(labels[pair[0]] == labels[pair[1]])
            if pair[0] != pair[1] and len(taken[same]) < want[same] and pair not in seen:
                seen.add(pair)
                taken[same].append(pair)
    both = np.asarray(taken[True] + taken[False], dtype=np.int64).reshape(-1, 2)
    same = np.r_[np.ones(want[True], bool), np.zeros(want[False], bool)]
    order = rng.permutation(len(both))
    return Pairs(both[order, 0], both[order, 1], same[order])


def stack_pairs(images: np.ndarray, pairs: Pairs) -> np.ndarray:
    """(n, h, w) images -> (len(pairs), h, w, 2): the pair's two images as channels."""
    return np.stack((images[pairs.first], images[pairs.second]), axis=-1)


def report_generate_index(n, range_start, range_end, y, seed=0):
    """The report's ``generate_index`` (Appendix B), unchanged but for a seeded
    ``random.Random``. It alternates between asking for a different-digit pair
    (flag 0) and a same-digit pair (flag 1); the flag also flips when the pair
    drawn was already in the set, and ``randint`` includes ``range_end``."""
    rnd = random.Random(seed)
    flag = 0
    if n > (range_end - range_start + 1) ** 2:
        raise ValueError("no enough indexes")
    unique_numbers = set()
    while len(unique_numbers) < n:
        num1 = rnd.randint(range_start, range_end)
        num2 = rnd.randint(range_start, range_end)
        if flag == 0 and y[num1] == y[num2]:
            continue
        elif flag == 1 and y[num1] != y[num2]:
            continue
        unique_numbers.add((num1, num2))
        flag = not flag
    x1, x2 = [list(t) for t in zip(*unique_numbers)]
    return x1, x2
