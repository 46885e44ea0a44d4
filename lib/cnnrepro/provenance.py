"""Where a result came from: code commit, packages, backend, hardware, date."""

from __future__ import annotations

import datetime as dt
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


def git_commit(cwd: Path | None = None, paths=()) -> str:
    """HEAD of the working tree, with '+dirty' when tracked files (under ``paths``,
    if given) differ from it."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    try:
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", *paths)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


@lru_cache(maxsize=1)
def code_commit() -> str:
    """The commit of the code this process runs, taken once: the first time a run
    asks, so later edits to the checkout do not change what a run records. A copy
    of the checkout without ``.git`` (a GPU machine) names it in CNNREPRO_CODE_COMMIT."""
    import os
    return os.environ.get("CNNREPRO_CODE_COMMIT") or git_commit(Path(__file__).parent, CODE_PATHS)


# Environment variables that change how fast (and, in the last digits, what) a
# run computes.
SETTINGS = ("TF_ENABLE_ONEDNN_OPTS", "KERAS_BACKEND", "OMP_NUM_THREADS")


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def environment() -> dict:
    import os

    import keras
    return {"backend": keras.backend.backend(), "devices": accelerators(),
            "cpu": cpu_model(), "cpu_count": os.cpu_count(),
            "packages": package_versions(), "git_commit": code_commit(),
            "settings": {k: os.environ[k] for k in SETTINGS if k in os.environ},
            "date": now_utc()}
