"""What a chapter declares: its parameters (with a check each), its settings per
profile and its runs (``ChapterSpec``), and one resolved ``Protocol``. The
chapters (``cnnrepro.chapters``) build on this module; ``cnnrepro.protocol`` finds
them by name and resolves their parameters.

Profiles:

- ``paper``: the source report's protocol exactly.
- ``cpu``:   the same experiments within a 2-core CPU budget (the default);
             equal to ``paper`` wherever ``paper`` already fits.
- ``smoke``: a few batches per run, for tests; stored outside ``results/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .config import RunConfig

PROFILES = ("paper", "cpu", "smoke")
DEFAULT_PROFILE = "cpu"
STORE_VAR = "CNNREPRO_RESULTS"


class ProtocolError(ValueError):
    """A profile, parameter name or value that a chapter does not accept."""


# --- checks: each returns the normalised value or raises ProtocolError --------

def positive_int(name: str, value, upper: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (
            upper is not None and value > upper):
        bound = f"1..{upper}" if upper else "a positive integer"
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: {bound}")
    return value


def non_negative_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: an integer >= 0")
    return value


def int_list(name: str, value, minimum: int = 1) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (not isinstance(value, (list, tuple)) or not value
            or any(isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in value)
            or len(set(value)) != len(value)):
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: a non-empty list of "
                            f"distinct integers >= {minimum}")
    return list(value)


def choice_list(name: str, value, allowed, empty_ok: bool = False) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if empty_ok and isinstance(value, list) and not value:
        return []
    bad = [v for v in value or [None] if v not in allowed]
    if bad or len(set(value)) != len(value):
        what = "a list" if empty_ok else "a non-empty list"
        raise ProtocolError(f"{name}={value!r} is not allowed (bad: {bad or 'duplicates'}); "
                            f"allowed: {what} from {list(allowed)}")
    return list(value)


def fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: a number in (0, 1]")
    return float(value)


def positive_number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: a number > 0")
    return float(value)


def unit_interval(name: str, value) -> float:
    """A number in [0, 1), such as a momentum."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: a number in [0, 1)")
    return float(value)


def number_list(name: str, value, check: Callable[[str, Any], float]) -> list[float]:
    """A non-empty list of distinct numbers, each accepted by ``check`` (e.g.
    ``positive_number``); one number is a list of one."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: a non-empty list of numbers")
    numbers = [check(f"{name}[{i}]", v) for i, v in enumerate(value)]
    if len(set(numbers)) != len(numbers):
        raise ProtocolError(f"{name}={value!r} is not allowed (duplicates); allowed: distinct numbers")
    return numbers


def boolean(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: true or false")
    return value


def default_labels(config: RunConfig) -> dict:
    """What tells a chapter's runs apart, for most chapters."""
    return {"model": config.model, "task": config.task, "batch_size": config.batch_size,
            "learning_rate": f"{config.learning_rate:g}", "seed": config.seed}


@dataclass(frozen=True)
class ChapterSpec:
    name: str
    title: str
    checks: dict[str, Callable[[str, Any], Any]]
    profiles: dict[str, dict]
    configs: Callable[["Protocol"], list[RunConfig]]
    deviations: dict[str, list[str]] = field(default_factory=dict)  # profile -> vs paper
    cross_check: Callable[[dict], None] = lambda values: None
    # What tells the chapter's runs apart (its tables' and claims' labels); sizes,
    # epochs and anything else a profile changes are left out.
    labels: Callable[[RunConfig], dict] = default_labels
    # Runs of variants of the protocol (``ablations``), kept apart from its own runs.
    ablations: Callable[["Protocol"], list[RunConfig]] = lambda p: []
    ablation_of: Callable[["Protocol", RunConfig], str] = lambda p, config: ""  # its name
    # Show each protocol run at the paper profile where the store holds a paper run
    # with the same labels (chapter.paper_twins), for a chapter whose paper protocol
    # is trained cell by cell; the rest stay at the chosen profile.
    mixed_profiles: bool = False
    # The seed lists of the protocol's settings (some settings may run more seeds than
    # others): what a campaign's ``--seeds N`` extends to seeds 0 to N-1.
    seed_parameters: tuple[str, ...] = ("seeds",)


@dataclass
class Protocol:
    chapter: ChapterSpec
    profile: str
    values: dict

    def __getattr__(self, name):
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def run_configs(self) -> list[RunConfig]:
        """The runs of the chapter's protocol."""
        return self.chapter.configs(self)

    def ablation_configs(self) -> list[RunConfig]:
        """The runs of the chapter's ablations (variants of its protocol)."""
        return self.chapter.ablations(self)

    def all_configs(self) -> list[RunConfig]:
        return list({c.key(): c for c in [*self.run_configs(), *self.ablation_configs()]}.values())

    @property
    def deviations(self) -> list[str]:
        return self.chapter.deviations.get(self.profile, [])

    @property
    def at_protocol(self) -> bool:
        """The runs follow the report's protocol (the paper profile, or a profile
        equal to it): only then can a claim about them fail."""
        return self.profile == "paper" or not self.deviations

    @property
    def store_root(self) -> Path:
        return default_store_root(self.profile)

    def requested_by(self) -> dict:
        return {"chapter": self.chapter.name, "profile": self.profile}


def default_store_root(profile: str = DEFAULT_PROFILE) -> Path:
    """``CNNREPRO_RESULTS``, else the committed store (``results/``); smoke runs go to
    ``.cache/smoke-results`` and are never committed."""
    if os.environ.get(STORE_VAR):
        return Path(os.environ[STORE_VAR])
    from .paths import repo_root
    return repo_root() / (".cache/smoke-results" if profile == "smoke" else "results")
