"""Where a result came from: code commit, packages, backend, hardware, date."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

PACKAGES = ("cnnrepro", "keras", "tensorflow-cpu", "tensorflow", "jax", "torch",
            "numpy", "pandas", "scikit-learn", "matplotlib", "seaborn")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


@lru_cache(maxsize=1)
def cpuinfo(field: str) -> str | None:
    """The first value of ``field`` in /proc/cpuinfo (None where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    return cpuinfo("model name") or platform.processor() or platform.machine()


# Instruction sets that decide which kernels oneDNN and XLA pick, and so the last
# digits of a run: two processors named alike ("AMD EPYC") can differ here.
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def isa() -> str:
    """The instruction sets of ISA_FLAGS this processor has, e.g. 'avx2 fma'."""
    flags = set((cpuinfo("flags") or "").split())
    return " ".join(f for f in ISA_FLAGS if f in flags) or "no flags read"


def cpu_identity() -> str:
    """The processor as far as a run's numbers go: its name, family/model and the
    instruction sets of ISA_FLAGS it has, e.g. 'AMD EPYC (family 25 model 1; avx2 fma)'."""
    family, model = cpuinfo("cpu family"), cpuinfo("model\t")
    where = f"family {family} model {model}; " if family else ""
    return f"{cpu_model()} ({where}{isa()})"


def accelerators() -> list[str]:
    """Devices the Keras backend computes on, e.g. ['cpu:0'] or ['gpu:0']."""
    import keras
    if keras.backend.backend() == "jax":  # names the chip, e.g. 'gpu:0 (NVIDIA H100 80GB HBM3)'
        import jax
        return [f"{d.platform}:{d.id} ({d.device_kind})" for d in jax.devices()]
    try:
        return [str(d) for d in keras.distribution.list_devices()]
    except Exception:  # a backend without the distribution API
        return []


# The files whose changes can change a run's numbers; edits elsewhere (chapters,
# tests, docs) do not make a run "dirty".
CODE_PATHS = (":/lib", ":/requirements.txt", ":/pyproject.toml")


def _git(cwd: Path | None, *args) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=10).stdout.strip()


def git_commit(cwd: Path | None = None, paths=()) -> str:
    """HEAD of the working tree, with '+dirty' when tracked files (under ``paths``,
    if given) differ from it."""
    try:
        head = _git(cwd, "rev-parse", "HEAD")
        dirty = _git(cwd, "status", "--porcelain", "--untracked-files=no", "--", *paths)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def git_diff_hash(cwd: Path | None = None, paths=CODE_PATHS) -> str | None:
    """A hash of how the files under ``paths`` differ from HEAD (the diff, and the
    content of untracked files there); None when they do not. Two runs from the same
    dirty tree share it; a run from another edit does not."""
    try:
        diff = _git(cwd, "diff", "HEAD", "--", *paths)
        untracked = _git(cwd, "ls-files", "--others", "--exclude-standard", "--full-name",
                         "--", *paths).split()
        top = _git(cwd, "rev-parse", "--show-toplevel")
    except (OSError, subprocess.SubprocessError):
        return None
    if not diff and not untracked:
        return None
    h = hashlib.sha256(diff.encode())
    for name in sorted(untracked):
        h.update(name.encode())
        h.update((Path(top) / name).read_bytes())
    return h.hexdigest()[:16]


def source_hash() -> str:
    """A hash of the cnnrepro package's source as this process loaded it: it names the
    code also on a copy without git (a GPU machine)."""
    from .execution import package_hash
    return package_hash()


@lru_cache(maxsize=1)
def code_state() -> dict:
    """The code this process runs, taken once: the first time a run asks, so later
    edits to the checkout do not change what a run records. ``git_commit`` (with
    '+dirty'), ``git_diff_sha256`` of the files that affect training when the tree is
    dirty, and ``source_sha256`` of the package. A copy of the checkout without
    ``.git`` (a GPU machine) names its commit in CNNREPRO_CODE_COMMIT."""
    here = Path(__file__).parent
    commit = os.environ.get("CNNREPRO_CODE_COMMIT") or git_commit(here, CODE_PATHS)
    state = {"git_commit": commit, "source_sha256": source_hash()}
    if commit.endswith("+dirty"):
        state["git_diff_sha256"] = git_diff_hash(here)
    return state


def code_commit() -> str:
    return code_state()["git_commit"]


# Environment variables that change how fast (and, in the last digits, what) a
# run computes.
SETTINGS = ("TF_ENABLE_ONEDNN_OPTS", "KERAS_BACKEND", "OMP_NUM_THREADS",
            "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "TF_DETERMINISTIC_OPS",
            "XLA_FLAGS", "CUDA_VISIBLE_DEVICES")


def numerics_settings() -> dict:
    """The settings that decide how the backend computes, as it runs them: the
    environment's (SETTINGS) and, on TensorFlow, op determinism and its thread pools
    (0 = one thread per core); on JAX, whether XLA's GPU ops are deterministic and
    how the training images are shuffled."""
    import keras
    settings = {k: os.environ[k] for k in SETTINGS if k in os.environ}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        from tensorflow.python.framework import config as tf_config
        settings["op_determinism"] = tf_config.is_op_determinism_enabled()
        settings["intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
        settings["inter_op_threads"] = tf.config.threading.get_inter_op_parallelism_threads()
    elif keras.backend.backend() == "jax":
        settings["xla_gpu_deterministic_ops"] = \
            "--xla_gpu_deterministic_ops=true" in os.environ.get("XLA_FLAGS", "")
    if keras.backend.backend() != "tensorflow":
        # Keras shuffles NumPy arrays with NumPy's global generator on these backends;
        # train.seed_everything seeds it with the run's seed just before the model is
        # built, and nothing between draws from it
        settings["shuffle"] = "numpy global generator, seeded with the run's seed"
    return settings


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def environment() -> dict:
    import keras
    return {"backend": keras.backend.backend(), "devices": accelerators(),
            "cpu": cpu_model(), "cpu_identity": cpu_identity(), "cpu_count": os.cpu_count(),
            "packages": package_versions(), **code_state(),
            "settings": numerics_settings(), "date": now_utc()}
