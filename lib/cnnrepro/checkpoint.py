"""Checkpoints of runs in training, so that a run outlasts the process that started
it: at the end of every epoch, everything the rest of the run depends on (the
network's and the optimizer's variables, random-number states, the history rows so
far, early stopping's state). Training the same run again resumes from its last
checkpoint and gives the numbers an uninterrupted run gives on the same machine
(tests/test_resume.py kills a run and compares).

What makes that possible without touching the random streams: Keras's ``fit`` on
TensorFlow, with the seeds ``train.seed_everything`` sets, visits the training
images in the same shuffled order in every epoch (``epoch_order_repeats``), so an
epoch needs no shuffling state; dropout's and augmentation's random states are
Keras variables of the network, saved with its weights.

Checkpoints live outside the repository, one file per run key under ``root()``
(``CNNREPRO_CHECKPOINTS``, default ``~/.cache/cnnrepro/checkpoints``), replaced
atomically, and are deleted once the run is stored (``ResultsStore.save``).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import re

import numpy as np

ENV = "CNNREPRO_CHECKPOINTS"
FORMAT = 1  # bump when State changes: an older checkpoint is then not resumed


class Paused(Exception):
    """Training stopped at a checkpoint because the next epoch would end after the
    deadline it was given; training the run again resumes there."""


def root() -> Path:
    return Path(os.environ.get(ENV) or Path.home() / ".cache" / "cnnrepro" / "checkpoints")


def path(key: str) -> Path:
    return root() / f"{key}.pkl"


@dataclass
class State:
    """A run after ``epoch`` completed epochs."""
    epoch: int
    model_variables: dict[str, np.ndarray]      # by variable path
    optimizer_variables: list[np.ndarray]       # in the optimizer's order
    history: dict                               # UpdateHistory.state()
    stopper: dict | None = None                 # EarlyStopping's counters and best weights
    seconds: dict = field(default_factory=dict)  # wall and test-set seconds so far
    segments: list[dict] = field(default_factory=list)  # one per process that trained
    format: int = FORMAT


def save(key: str, state: State) -> Path:
    """Write ``state`` as the checkpoint of run ``key``, replacing the previous one
    only once the new one is complete (a kill while writing keeps the old)."""
    final = path(key)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    return final


def load(key: str) -> State | None:
    """The last checkpoint of run ``key``, or None (none, or one of an older format)."""
    p = path(key)
    if not p.is_file():
        return None
    with open(p, "rb") as f:
        state = pickle.load(f)
    return state if getattr(state, "format", None) == FORMAT else None


def clear(key: str) -> bool:
    """Delete run ``key``'s checkpoint (the run is stored); True if there was one."""
    try:
        path(key).unlink()
        return True
    except FileNotFoundError:
        return False


def variables_by_path(variables) -> dict[str, np.ndarray]:
    out = {}
    for v in variables:
        if v.path in out:
            raise ValueError(f"two variables share the path {v.path!r}; a checkpoint "
                             "could not tell them apart")
        out[v.path] = np.array(v.numpy())
    return out


_NUMBERED = re.compile(r"_\d+(?=/|$)")


def _unnumbered(paths) -> dict[str, str]:
    """Paths without Keras's per-process numbering of auto-named objects
    ("seed_generator_2/..." -> "seed_generator/..."), where that keeps them apart."""
    out = {_NUMBERED.sub("", p): p for p in paths}
    return out if len(out) == len(paths) else {}


def restore_variables(variables, saved: dict[str, np.ndarray]) -> None:
    """Assign ``saved`` (by path) to ``variables``; every variable must be there, with
    its shape. A dropout layer's seed generator is numbered by how many the process
    made before it, so a run resumed in a fresh process matches such paths without
    their numbers."""
    variables = list(variables)
    if any(v.path not in saved for v in variables):
        plain = _unnumbered(list(saved))
        ours = _unnumbered([v.path for v in variables])
        if plain and ours and set(plain) == set(ours):
            saved = {ours[k]: saved[p] for k, p in plain.items()}
    missing = [v.path for v in variables if v.path not in saved]
    if missing or len(saved) != len(variables):
        raise ValueError(f"the checkpoint does not match this network: missing {missing[:4]}, "
                         f"{len(saved)} saved for {len(variables)} variables")
    for v in variables:
        v.assign(saved[v.path])


def epoch_order_repeats() -> bool:
    """Whether ``fit(shuffle=True)`` visits the same order in every epoch once the
    seeds are set, as a resumed run assumes: two epochs of a 12-image set, compared.
    Sets the seeds itself (to 0): call it before a run sets its own."""
    import keras
    if keras.backend.backend() != "tensorflow":
        return False  # JAX and PyTorch shuffle with NumPy's global stream: not proven
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    keras.utils.set_random_seed(0)
    x = np.arange(12, dtype="float32").reshape(12, 1)
    data = ArrayDataAdapter(x, batch_size=4, shuffle=True).get_tf_dataset()
    orders = [np.concatenate([np.asarray(b).ravel() for b in data]) for _ in range(2)]
    return bool(np.array_equal(*orders)) and not np.array_equal(orders[0], x.ravel())
