"""One rule for every verdict in the book: does a report's number or claim hold up
against our runs?

Five verdicts:

- ``holds``: our evidence agrees with the report, and is precise enough to say so;
- ``contradicted``: our evidence disagrees, beyond seed and test-set noise;
- ``inconclusive``: our evidence cannot separate the report's value or ranking
  from noise (too few seeds, no measured spread, or too wide an interval);
- ``not tested``: the runs shown are short of the report's protocol, or missing;
- ``report inconsistent``: the report contradicts itself on this point.

A number is compared with a 95% prediction interval for one more run of ours:
mean ± t(0.975, df) · sqrt(s²(1 + 1/n) + p(1 - p)/N) + half a unit of the report's
last printed digit, where s is the seed standard deviation (df = n - 1), N the
test-set size and p our mean accuracy. Where the interval's half-width exceeds
``RESOLUTION`` the verdict is inconclusive, never holds. A comparison of A with B
uses the 95% interval of mean(A) - mean(B) (Welch); a trend is a chain of
comparisons. One run per setting gives a spread only from an explicitly stated
``Noise`` measured elsewhere; without one the verdict is inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import stats

HOLDS, CONTRADICTED, INCONCLUSIVE, NOT_TESTED, INCONSISTENT = (
    "holds", "contradicted", "inconclusive", "not tested", "report inconsistent")
VERDICTS = (HOLDS, CONTRADICTED, INCONCLUSIVE, NOT_TESTED, INCONSISTENT)

# Kinds of number with a binomial test-set noise (a share of N test items).
SHARES = ("accuracy", "top5", "f1", "precision", "recall")
# The widest half-interval that can still support "holds": 2 points for a share,
# 20% of the value for a loss; a count must match to the printed digit.
RESOLUTION = {**{k: lambda rep: 0.02 for k in SHARES}, "loss": lambda rep: 0.2 * abs(rep),
              "parameters": lambda rep: 0.0}
KINDS = (*RESOLUTION, "seconds")
SHORT_PROFILE = "the runs shown are at a profile short of the report's protocol"
RETRAINING_PENDING = ("a run it reads was trained before a defect in its model was fixed; "
                      "it waits to be retrained")


@dataclass(frozen=True)
class Noise:
    """A seed standard deviation measured on ``seeds`` runs of another setting,
    used for a single run only where the chapter says so (``source``)."""

    sd: float
    seeds: int
    source: str

    def __post_init__(self):
        if self.seeds < 2 or not np.isfinite(self.sd):
            raise ValueError(f"Noise needs a finite sd over >= 2 seeds; got sd={self.sd}, "
                             f"seeds={self.seeds}")


@dataclass(frozen=True)
class Verdict:
    verdict: str
    difference: float = math.nan          # ours minus reported, or A minus B
    low: float = math.nan                 # the interval the verdict rests on
    high: float = math.nan
    reason: str = ""
    direction: str = ""
    parts: tuple = field(default=(), compare=False)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is not allowed; allowed: {list(VERDICTS)}")
        if not self.direction:
            object.__setattr__(self, "direction", direction(self.difference))


def direction(difference: float, higher: str = "ours higher", lower: str = "ours lower") -> str:
    if not np.isfinite(difference):
        return ""
    return higher if difference > 0 else lower if difference < 0 else "equal"


def rounding(decimals: int) -> float:
    """Half a unit of the last printed digit (decimals=-6: a count in millions)."""
    return 0.5 * 10.0 ** -decimals


def number(kind: str, reported: float, values: Sequence[float], *, decimals: int,
           at_protocol: bool = True, noise: Noise | None = None,
           test_size: int | None = None) -> Verdict:
    """A printed number against our runs of the same setting (one value per seed)."""
    values = np.asarray(values, float)
    if not len(values):
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r} is not allowed; allowed: {list(KINDS)}")
        return Verdict(NOT_TESTED, reason="no stored run of this setting")
    sd = float(values.std(ddof=1)) if len(values) >= 2 else math.nan
    return number_from(kind, reported, float(values.mean()), sd, len(values), decimals=decimals,
                       at_protocol=at_protocol, noise=noise, test_size=test_size)


def number_from(kind: str, reported: float, mean: float, sd: float, seeds: int, *,
                decimals: int, at_protocol: bool = True, noise: Noise | None = None,
                test_size: int | None = None) -> Verdict:
    """``number`` from the mean, sd (ddof=1) and count of our seeds."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not allowed; allowed: {list(KINDS)}")
    diff = mean - float(reported)
    if kind == "seconds":
        return Verdict(NOT_TESTED, diff, reason="training time depends on the hardware, "
                                                "which differs from the report's")
    if kind == "parameters":
        ok = abs(diff) <= rounding(decimals)
        return Verdict(HOLDS if ok else CONTRADICTED, diff, reason="" if ok else
                       "a different count means a different network")
    if not at_protocol:
        return Verdict(NOT_TESTED, diff, reason=SHORT_PROFILE)
    if seeds >= 2 and np.isfinite(sd):
        df, source = seeds - 1, f"{seeds} seeds"
    elif noise is not None:
        sd, df, source = noise.sd, noise.seeds - 1, f"1 run; seed sd {noise.sd:.4f} from {noise.source}"
    else:
        return Verdict(INCONCLUSIVE, diff, reason="one run and no measured seed spread")
    test_var = mean * (1 - mean) / test_size if kind in SHARES and test_size else 0.0
    half = stats.t.ppf(0.975, df) * math.sqrt(sd ** 2 * (1 + 1 / seeds) + test_var) \
        + rounding(decimals)
    low, high = mean - half, mean + half
    if not low <= reported <= high:
        return Verdict(CONTRADICTED, diff, low, high,
                       reason=f"outside the 95% interval for another run ({source})")
    if half - rounding(decimals) > RESOLUTION[kind](reported):
        return Verdict(INCONCLUSIVE, diff, low, high,
                       reason=f"interval ±{half:.3g} too wide to judge ({source})")
    return Verdict(HOLDS, diff, low, high, reason=f"inside the 95% interval ({source})")


def versus(values: Sequence[float], constant: float, expect: str = "<", *,
           at_protocol: bool = True) -> Verdict:
    """The claim that a setting stays below (``'<'``) or above (``'>'``) a level the
    report names: the 95% interval of our mean against the constant."""
    values = np.asarray(values, float)
    if not len(values):
        return Verdict(NOT_TESTED, reason="no stored run of this setting")
    d = float(values.mean() - constant)
    if not at_protocol:
        return Verdict(NOT_TESTED, d, reason=SHORT_PROFILE)
    if len(values) < 2:
        return Verdict(INCONCLUSIVE, d, reason="one run and no measured seed spread")
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    low, high = d - half, d + half
    sign = 1 if expect == ">" else -1
    lo, hi = sorted((sign * low, sign * high))
    source = f"{len(values)} seeds"
    if lo > 0:
        return Verdict(HOLDS, d, low, high, f"95% interval of the mean excludes {constant:g} "
                                            f"({source})")
    if hi < 0:
        return Verdict(CONTRADICTED, d, low, high, f"95% interval of the mean is on the other "
                                                   f"side of {constant:g} ({source})")
    return Verdict(INCONCLUSIVE, d, low, high, f"95% interval includes {constant:g} ({source})")


def difference_interval(a: Sequence[float], b: Sequence[float],
                        noise: Noise | None = None) -> tuple[float, float, float, str] | None:
    """mean(a) - mean(b) and its 95% interval (Welch where both have seeds; else
    with ``noise`` as every run's sd), and where the spread comes from."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = float(a.mean() - b.mean())
    if len(a) >= 2 and len(b) >= 2:
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else 1
        source = f"{len(a)} and {len(b)} seeds"
    elif noise is not None:
        se = noise.sd * math.sqrt(1 / len(a) + 1 / len(b))
        df = noise.seeds - 1
        source = f"seed sd {noise.sd:.4f} from {noise.source}"
    else:
        return None
    half = stats.t.ppf(0.975, df) * se
    return d, d - half, d + half, source


def comparison(a: Sequence[float], b: Sequence[float], expect: str = ">", *,
               at_protocol: bool = True, noise: Noise | None = None,
               margin: float = 0.0) -> Verdict:
    """The claim "A > B" (``expect='>'``), "A < B" or "A ≈ B" (``'~'``: equal within
    ``margin``) on one value per run of each."""
    if expect not in (">", "<", "~"):
        raise ValueError(f"expect={expect!r} is not allowed; allowed: '>', '<', '~'")
    if not len(a) or not len(b):
        return Verdict(NOT_TESTED, reason="a setting the claim needs has no stored run")
    d = float(np.mean(a) - np.mean(b))
    dirn = direction(d, "A higher", "A lower")
    if not at_protocol:
        return Verdict(NOT_TESTED, d, reason=SHORT_PROFILE, direction=dirn)
    interval = difference_interval(a, b, noise)
    if interval is None:
        return Verdict(INCONCLUSIVE, d, reason="one run each and no measured seed spread",
                       direction=dirn)
    d, low, high, source = interval
    if expect == "~":
        if -margin <= low and high <= margin:
            return Verdict(HOLDS, d, low, high, f"interval within ±{margin:g} ({source})", dirn)
        if low > margin or high < -margin:
            return Verdict(CONTRADICTED, d, low, high, f"interval beyond ±{margin:g} ({source})",
                           dirn)
        return Verdict(INCONCLUSIVE, d, low, high, f"interval straddles ±{margin:g} ({source})",
                       dirn)
    sign = 1 if expect == ">" else -1
    lo, hi = sorted((sign * low, sign * high))
    if lo > 0:
        return Verdict(HOLDS, d, low, high, f"95% interval excludes 0 ({source})", dirn)
    if hi < 0:
        return Verdict(CONTRADICTED, d, low, high,
                       f"95% interval excludes 0 on the other side ({source})", dirn)
    return Verdict(INCONCLUSIVE, d, low, high, f"95% interval includes 0 ({source})", dirn)


def trend(levels: Sequence[Sequence[float]], *, at_protocol: bool = True,
          noise: Noise | None = None) -> Verdict:
    """The claim that each level beats the next (``levels`` in the claimed order,
    best first): every step is a comparison; all must hold."""
    if len(levels) < 2:
        raise ValueError(f"a trend needs at least 2 levels; got {len(levels)}")
    steps = [comparison(a, b, ">", at_protocol=at_protocol, noise=noise)
             for a, b in zip(levels, levels[1:])]
    d = float(np.mean(levels[0]) - np.mean(levels[-1])) if all(len(x) for x in levels) else math.nan
    out = combine(steps)
    return Verdict(out.verdict, d, reason=out.reason, direction=direction(d, "first higher",
                                                                         "first lower"),
                   parts=tuple(steps))


def combine(parts: Sequence[Verdict]) -> Verdict:
    """One verdict from the verdicts of a claim's parts (batch sizes, steps of a
    trend): contradicted if any part is, holds if all hold, not tested if none was
    tested, else inconclusive."""
    if not parts:
        return Verdict(NOT_TESTED, reason="no part of the claim could be tested")
    verdicts = [p.verdict for p in parts]
    for v in (INCONSISTENT, CONTRADICTED):
        if v in verdicts:
            break
    else:
        v = HOLDS if all(x == HOLDS for x in verdicts) else \
            NOT_TESTED if all(x == NOT_TESTED for x in verdicts) else INCONCLUSIVE
    counts = ", ".join(f"{verdicts.count(x)} {x}" for x in VERDICTS if x in verdicts)
    diffs = [p.difference for p in parts if np.isfinite(p.difference)]
    d = float(np.mean(diffs)) if diffs else math.nan
    return Verdict(v, d, reason=f"parts: {counts}" if len(parts) > 1 else parts[0].reason,
                   direction=parts[0].direction if len(parts) == 1 else direction(d, "higher",
                                                                                  "lower"),
                   parts=tuple(parts))


def consistency(stated: float, derived: float, tolerance: float, explanation: str) -> Verdict:
    """The report's own numbers against each other: ``stated`` as printed, ``derived``
    what its other printed numbers give, ``tolerance`` what rounding allows."""
    diff = float(stated) - float(derived)
    if abs(diff) > tolerance:
        return Verdict(INCONSISTENT, diff, reason=explanation, direction="")
    return Verdict(HOLDS, diff, reason=f"consistent: {explanation}", direction="")


def sign_test(differences: Sequence[float]) -> tuple[int, int, float]:
    """How many of the non-zero differences are positive, how many there are, and
    the two-sided binomial p-value of so lopsided a split (a systematic offset)."""
    d = np.asarray([x for x in differences if np.isfinite(x) and x != 0])
    positive = int((d > 0).sum())
    p = stats.binomtest(positive, len(d), 0.5).pvalue if len(d) else math.nan
    return positive, len(d), float(p)
