"""One setup call per chapter: ``ch = open_chapter(CHAPTER, globals())`` resolves the
chapter's protocol from the parameters cell, fetches (or trains) its runs from the
results store, and holds them with the report's numbers and the chapter's labels,
so every chapter starts the same way and looks its runs up by what tells them apart.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

import pandas as pd

from . import analyses, claims, protocol, provenance_block, report
from .config import RunConfig, current_numerics, setting
from .execution import note_input
from .store import ResultsStore, Run


CHANGED = "paper, changed"  # the paper profile with a setting changed: not the protocol


@dataclass
class Chapter:
    proto: protocol.Protocol
    runs: list[Run]                                      # the protocol's runs
    ablation_runs: list[Run] = field(default_factory=list)  # its variants' runs
    paper_keys: set[str] = field(default_factory=set)  # runs shown at paper (mixed_profiles)
    by_key: dict[str, Run] = field(init=False)

    def __post_init__(self):
        self.by_key = {r.config.key(): r for r in self.runs}

    @property
    def name(self) -> str:
        return self.proto.chapter.name

    @property
    def profile(self) -> str:
        """The protocol's profile, or ``CHANGED`` where paper runs had a setting
        changed (``-p epochs=2``): they are then not the report's protocol."""
        if self.proto.profile == "paper" and not all(map(self.run_at_protocol, self.runs)):
            return CHANGED
        return self.proto.profile

    @property
    def seed0(self) -> int:
        """The seed the figures show."""
        return self.proto.seeds[0]

    @property
    def at_protocol(self) -> bool:
        return self.proto.at_protocol

    def profile_of(self, run: Run) -> str:
        """The profile ``run`` was trained at: paper where its config is the report's
        protocol, ``CHANGED`` for a paper run with a setting changed, else the
        chapter's."""
        if self.run_at_protocol(run):
            return "paper"
        return CHANGED if self.proto.profile == "paper" else self.proto.profile

    @cached_property
    def protocol_settings(self) -> set[str]:
        """The settings of the report's protocol: the paper profile's runs and
        variants, seeds aside."""
        return {setting(c) for c in protocol.resolve(self.name, "paper").all_configs()}

    def run_at_protocol(self, run: Run) -> bool:
        """Whether ``run`` follows the report's protocol: its config equals one of the
        paper profile's (epochs, images, test images, batch size, everything), its
        seed aside. A paper run with a setting changed does not."""
        return setting(run.config) in self.protocol_settings

    @property
    def profiles_shown(self) -> str:
        """The chapter's profile, or, where it mixes, e.g. 'paper (17 of 24 runs), cpu'."""
        n = sum(map(self.run_at_protocol, self.runs))
        if not n or n == len(self.runs):
            return "paper" if n else self.profile
        return f"paper ({n} of {len(self.runs)} runs), {self.profile} (the rest)"

    @cached_property
    def reported(self) -> dict:
        return report.reported(self.name)

    def labels(self, config: RunConfig) -> dict:
        return self.proto.chapter.labels(config)

    def run(self, seed: int | None = None, **labels) -> Run:
        """The run whose labels equal ``labels`` (compared as text), at ``seed``
        (default: the first seed of that setting, which may have its own list)."""
        wanted = {k: str(v) for k, v in {**labels, **({} if seed is None else {"seed": seed})}.items()}
        for r in self.runs:
            have = self.labels(r.config)
            if all(str(have.get(k)) == v for k, v in wanted.items()):
                return r
        raise KeyError(f"no run of chapter {self.name!r} with {wanted}; the runs have labels "
                       f"{sorted(set(self.labels(self.runs[0].config)))}" if self.runs else
                       f"chapter {self.name!r} has no runs")

    def evidence(self) -> pd.DataFrame:
        """One row per run, its labels as columns, for the claims module, with whether
        each run follows the report's protocol; where it shows runs waiting to be
        retrained, which."""
        frame = claims.evidence_frame(self.runs, self.labels)
        frame[claims.AT_PROTOCOL] = [self.run_at_protocol(r) for r in self.runs]
        if any(r.pending for r in self.runs):
            frame[claims.PENDING] = [bool(r.pending) for r in self.runs]
        return frame

    def judge_claims(self, frame: pd.DataFrame | None = None, **kw):
        """The chapter's claims judged on ``frame`` (default: ``evidence()``) and
        published for the Summary: (judged claims, answer box, claim cards). A claim is judged at
        the protocol only on runs whose config is the protocol's."""
        frame = (self.evidence() if frame is None else frame).copy()
        frame[claims.AT_PROTOCOL] = [self.run_at_protocol(r) for r in frame["run"]]
        return claims.chapter_box(self.name, frame, self.proto, profile=self.profile,
                                  shown=self.profiles_shown, **kw)

    def paper_hours(self) -> float:
        """Hours of training the report's protocol (the paper profile) would take at
        the measured speed of these runs: every paper run whose labels (the seed
        aside) match one of ours, at most all its epochs; runs with no match in
        ours are left out."""
        return paper_hours(protocol.resolve(self.name, "paper").run_configs(), self.runs,
                           self.labels)

    def provenance(self, extra_columns: dict | None = None) -> None:
        """Show the block that ends the chapter: the runs' environment and one row per
        run (with its profile, where the chapter mixes them)."""
        if self.paper_keys:
            extra_columns = {"profile": [self.profile_of(r) for r in self.runs], **(extra_columns or {})}
        if any(r.pending for r in self.runs):
            extra_columns = {**(extra_columns or {}), "retraining": [
                f"pending: model version {r.model_version}" if r.pending else "" for r in self.runs]}
        provenance_block.show(self.runs, self.proto, extra_columns, self.ablation_runs,
                              [self.proto.chapter.ablation_of(self.proto, r.config)
                               for r in self.ablation_runs], profile=self.profiles_shown,
                              labels=self.labels)

    def glue_cost(self) -> None:
        """Glue what the runs cost: n_runs, wall_minutes, devices, paper_hours."""
        report.glue("n_runs", f"{len(self.runs)}")
        report.glue("wall_minutes", f"{wall_seconds(self.runs) / 60:,.0f}")
        report.glue("devices", provenance_block.compute_devices(self.runs))
        report.glue("paper_hours", f"{self.paper_hours():,.1f}")


def identity(labels: dict) -> str:
    """A run's labels without its seed, as one comparable string."""
    return json.dumps({k: v for k, v in labels.items() if k != "seed"}, sort_keys=True, default=str)


def wall_seconds(runs: list[Run]) -> float:
    return sum(r.provenance["timing"]["wall_seconds"] for r in runs)


def paper_hours(paper_configs: list[RunConfig], runs: list[Run], labels) -> float:
    """Hours the distinct ``paper_configs`` would train (every epoch) at the mean
    training speed (images per second) of the ``runs`` with the same labels."""
    speeds: dict[str, list[float]] = {}
    for r in runs:
        speeds.setdefault(identity(labels(r.config)), []).append(
            r.provenance["timing"]["train_images_per_second"])
    seconds = 0.0
    for c in {c.key(): c for c in paper_configs}.values():
        measured = speeds.get(identity(labels(c)))
        if measured:
            seconds += c.epochs * c.images_per_epoch() / (sum(measured) / len(measured))
    return seconds / 3600


def parameters_of(name: str, namespace: Mapping) -> tuple[str, dict]:
    """(profile, overrides): the chapter's parameters found in ``namespace`` (the
    notebook's globals after its parameters cell)."""
    spec = protocol.chapter(name)
    profile = namespace.get("profile", protocol.DEFAULT_PROFILE)
    # a module or function of the same name (an import) is not a parameter value
    return profile, {k: namespace[k] for k in spec.checks
                     if k in namespace and not callable(namespace[k])
                     and not isinstance(namespace[k], types.ModuleType)}


def paper_twins(proto: protocol.Protocol, configs: list[RunConfig]) -> dict[str, RunConfig]:
    """For a chapter that mixes profiles (``ChapterSpec.mixed_profiles``) shown below
    the report's protocol: each of ``configs`` (by key) whose paper-profile run with
    the same labels (seed included) is stored in the same store, mapped to that run's
    config (smoke runs, kept apart, never mix)."""
    if not proto.chapter.mixed_profiles or proto.at_protocol:
        return {}
    paper = protocol.resolve(proto.chapter.name, "paper")
    if paper.store_root != proto.store_root:
        return {}
    store = ResultsStore(paper.store_root)

    def identity_with_seed(config: RunConfig) -> str:
        return json.dumps(proto.chapter.labels(config), sort_keys=True, default=str)

    twins = {identity_with_seed(c): c for c in paper.run_configs()}
    out = {}
    for c in configs:
        twin = twins.get(identity_with_seed(c))
        if twin is None or twin.key() == c.key():
            continue
        found = store.find(twin)
        # the page read this place, run or not: a paper run stored there later makes
        # the page stale, so the next build shows it
        note_input(found or store.path(twin, current_numerics()))
        if found is not None:
            out[c.key()] = twin
    return out


def open_chapter(name: str, namespace: Mapping, verbose: int = 2) -> Chapter:
    """Resolve chapter ``name``'s protocol from the parameters in ``namespace``, get its
    runs from the results store (training what is missing, a line per run; a chapter
    that mixes profiles reads the paper runs stored in place of its own) with the
    analyses stored beside them, and glue the profile for the text."""
    profile, overrides = parameters_of(name, namespace)
    proto = protocol.resolve(name, profile, **overrides)
    store = ResultsStore(proto.store_root)
    own = proto.run_configs()
    twins = paper_twins(proto, own)
    shown = [twins.get(c.key(), c) for c in own]
    configs = list({c.key(): c for c in [*shown, *proto.ablation_configs()]}.values())
    runs = store.get_runs(configs, force=proto.force, requested_by=proto.requested_by(),
                          verbose=verbose, stand_in=True)
    for run in runs:  # computed here, where a page's progress lines go, if not stored yet
        analyses.after_training(run)
    ablation = {c.key() for c in configs} - {c.key() for c in shown}
    by_config = dict(zip((c.key() for c in configs), runs))
    ch = Chapter(proto, [r for k, r in by_config.items() if k not in ablation],
                 [r for k, r in by_config.items() if k in ablation],
                 paper_keys={t.key() for t in twins.values()})
    report.glue_profile(proto, ch.profiles_shown, pending=sum(bool(r.pending) for r in runs))
    return ch
