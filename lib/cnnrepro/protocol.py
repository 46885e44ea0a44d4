"""Chapters by name and their parameters resolved: one validated protocol per
chapter run. ``resolve`` merges a profile's settings with the caller's overrides
and stops with a message naming the bad value and the allowed ones.
"""

from __future__ import annotations

from .chapters import SPECS
from .spec import (DEFAULT_PROFILE, PROFILES, STORE_VAR, ChapterSpec, Protocol,  # noqa: F401
                   ProtocolError, boolean, choice_list, default_labels, default_store_root,
                   fraction, int_list, non_negative_int, number_list, positive_int,
                   positive_number, unit_interval)


def chapters() -> dict[str, ChapterSpec]:
    """Every chapter's spec, in book order."""
    return dict(SPECS)


def chapter(name: str) -> ChapterSpec:
    specs = chapters()
    if name not in specs:
        raise ProtocolError(f"unknown chapter {name!r}; allowed: {list(specs)}")
    return specs[name]


def check_names(chapter_name: str, names) -> None:
    allowed = ["profile", *chapter(chapter_name).checks]
    bad = [n for n in names if n not in allowed]
    if bad:
        raise ProtocolError(f"unknown parameter(s) {bad} for chapter {chapter_name!r}; "
                            f"allowed: {allowed}")


def resolve(chapter_name: str, profile: str = DEFAULT_PROFILE, **overrides) -> Protocol:
    """The chapter's protocol for ``profile``; ``None`` overrides keep the profile's value."""
    spec = chapter(chapter_name)
    if profile not in PROFILES:
        raise ProtocolError(f"profile={profile!r} is not allowed; allowed: {list(PROFILES)}")
    check_names(chapter_name, overrides)
    values = dict(spec.profiles[profile])
    values.update({k: v for k, v in overrides.items() if v is not None})
    values = {name: check(name, values[name]) for name, check in spec.checks.items()}
    spec.cross_check(values)
    return Protocol(spec, profile, values)
