"""One rule for every verdict in the book: does a report's number or claim hold up
against our runs?

Five verdicts:

- ``holds``: our evidence agrees with the report, and is precise enough to say so;
- ``contradicted``: our evidence disagrees, beyond seed and test-set noise, in
  direction or in size ("no effect larger than X");
- ``inconclusive``: our interval allows both the report's claim and its denial;
  the reason then says how many more seeds would settle it, and at what cost;
- ``not tested``: the runs shown are short of the report's protocol, or missing;
- ``report inconsistent``: the report contradicts itself on this point.

A number is compared with a 95% prediction interval for one more run of ours:
mean ± t(0.975, df) · sqrt(s²(1 + 1/n) + p(1 - p)/N) + half a unit of the report's
last printed digit, where s is the seed standard deviation (df = n - 1), N the
test-set size and p our mean accuracy; a share's interval stays inside [0, 1].
Where the interval's half-width exceeds ``resolution`` (2 points for a share, or
half a unit of the report's last digit if that is coarser) the verdict is
inconclusive, never holds.

A comparison "A > B" uses the 95% interval of mean(A) - mean(B): Welch's where A and
B are different runs, the paired t interval where they are two quantities of the
same runs. With an ``Effect`` (the report's own printed difference, or the smallest
difference that matters) the rule answers in size as well as in sign:

- the interval beyond zero on the claimed side: holds, unless the report's printed
  effect lies beyond its upper end (the effect is there, but smaller: contradicted);
- beyond zero on the other side: contradicted;
- straddling zero but below the effect: contradicted, "no effect larger than X";
- otherwise inconclusive.

"A ≈ B within a margin" holds when the interval lies inside ± the margin. One run per
setting gives a spread only from an explicitly stated ``Noise`` measured elsewhere;
without one the verdict is inconclusive. Every reason is a sentence: what was
compared, ours and the report's numbers (a share in percentage points), the
interval, and for an inconclusive verdict what would settle it.
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
# 20% of the value for a loss; a count must match to the printed digit. A number
# printed more coarsely (0.9) is judged to its own last digit.
RESOLUTION = {**{k: lambda rep: 0.02 for k in SHARES}, "loss": lambda rep: 0.2 * abs(rep),
              "parameters": lambda rep: 0.0}
KINDS = (*RESOLUTION, "seconds")
SHORT_PROFILE = ("the runs shown are short of the report's protocol (fewer epochs or "
                 "images, or another setting), so they cannot test it")


def retraining_pending(model: str = "", runs: int = 1) -> str:
    """Why a claim waits on runs trained before a fix of their model: ``model`` names
    them for the reader (a ResNet claim may wait on the VGG16 run it compares with)."""
    if not model:
        return "a run it reads was trained before a defect in its model was fixed; it waits to be retrained"
    who = f"the {model} run it reads was" if runs == 1 else f"the {runs} {model} runs it reads were"
    return (f"{who} trained before a defect in its model was fixed; "
            f"{'it waits' if runs == 1 else 'they wait'} to be retrained")


def waits_for_retraining(reason: str) -> bool:
    """Whether ``reason`` is a ``retraining_pending`` one."""
    return reason.endswith("to be retrained")


RETRAINING_PENDING = retraining_pending()
MAX_SEEDS = 1000  # beyond this, no practical number of seeds settles a claim


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
class Effect:
    """The size of difference a comparison claim is about: the report's own
    (``reported``: what its printed numbers differ by) or the smallest difference
    that matters (``why`` says why), in the metric's units (0.01 = 1 point).
    ``rounding``: how much the printed numbers' rounding may overstate a reported
    difference (one unit of their last digit: 0.96 against 0.93 may be 0.955 against
    0.935), so only an interval below ``size - rounding`` rules the report's size out."""

    size: float
    reported: bool = False
    why: str = ""
    rounding: float = 0.0

    @property
    def smallest(self) -> float:
        """The smallest difference the report's printed numbers allow (> 0 or None)."""
        least = self.size - self.rounding if self.reported else self.size
        return least if least > 1e-12 else None

    def __post_init__(self):
        if not self.size > 0:
            raise ValueError(f"an effect size must be > 0; got size={self.size}")


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


# --- words ------------------------------------------------------------------------

def amount(x: float, share: bool = True, signed: bool = False, digits: int = 2) -> str:
    """A value or difference as a reader reads it: a share in percentage points,
    to ``digits`` decimals (a loss to ``digits + 1`` significant figures)."""
    if not np.isfinite(x):
        return "n/a"
    sign = "+" if signed else ""
    if share:  # a value in percent, a difference in points (the caller adds the word)
        text = f"{100 * x:{sign}.{digits}f}" + ("" if signed else "%")
    else:
        text = f"{x:{sign}.{digits + 1}g}"
    return text.replace("-", "−")


def magnitude(x: float, share: bool = True, digits: int = 2) -> str:
    """The size of a difference, without its sign (the caller adds "points")."""
    return amount(abs(x), share, signed=True, digits=digits)[1:]


def points(x: float, share: bool = True) -> str:
    """A difference with its unit: "+1.20 points" (a share) or "+0.031" (a loss)."""
    return amount(x, share, signed=True) + (" points" if share else "")


def _interval(low: float, high: float, share: bool, signed: bool = True) -> str:
    return f"{_bound(low, share, signed)} to {_bound(high, share, signed)}"


def _bound(x: float, share: bool, signed: bool) -> str:
    """An interval's end; one that rounds to zero keeps the digits that show on which
    side of zero it lies ("−0.004", not "−0.00"), since the verdict turns on that."""
    if share and signed and x != 0 and abs(100 * x) < 0.005:
        digits = next((d for d in range(3, 7) if abs(100 * x) >= 0.5 * 10 ** -d), 6)
        return f"{100 * x:+.{digits}f}".replace("-", "−")
    return amount(x, share, signed)


def _runs(n: int) -> str:
    return f"{n} seed{'s' if n != 1 else ''}"


def _settle(s_eff: float, n_now: int, target: float, runs_per_seed: int,
            minutes: float | None, unit: str = "seed") -> str:
    """What would settle an open question: the seeds per setting at which a 95%
    interval of half-width t·s_eff/sqrt(n) shrinks below ``target``, and the CPU
    minutes of the runs still missing; ``unit`` "run" where the values are paired
    runs (perhaps of different settings), not seeds of one."""
    if not (np.isfinite(s_eff) and target > 0):
        return "no number of seeds settles it: our mean sits exactly on the line"
    if s_eff == 0:
        return ""
    for n in range(max(n_now + 1, 2), MAX_SEEDS + 1):
        if stats.t.ppf(0.975, n - 1) * s_eff / math.sqrt(n) < target:
            break
    else:
        return (f"no practical number of seeds settles it: even {MAX_SEEDS:,} seeds per "
                f"setting would leave the interval wider than the difference in question")
    extra = (n - n_now) * runs_per_seed
    cost = f", about {extra * minutes:,.0f} CPU minutes here" if minutes else ""
    per = " per setting" if runs_per_seed > 1 else ""
    return (f"about {n - n_now} more {unit}{'s' if n - n_now != 1 else ''}{per} "
            f"({n} in all{cost}) would settle it, if our mean and spread stay as they are")


# --- a printed number ---------------------------------------------------------------

def resolution(kind: str, reported: float, decimals: int) -> float:
    """The widest half-interval (rounding aside) that still supports "holds"."""
    base = RESOLUTION[kind](reported)
    return max(base, rounding(decimals)) if kind != "parameters" else base


def number(kind: str, reported: float, values: Sequence[float], *, decimals: int,
           at_protocol: bool = True, noise: Noise | None = None,
           test_size: int | None = None, minutes: float | None = None) -> Verdict:
    """A printed number against our runs of the same setting (one value per seed)."""
    values = np.asarray(values, float)
    if not len(values):
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r} is not allowed; allowed: {list(KINDS)}")
        return Verdict(NOT_TESTED, reason="no stored run of this setting")
    sd = float(values.std(ddof=1)) if len(values) >= 2 else math.nan
    return number_from(kind, reported, float(values.mean()), sd, len(values), decimals=decimals,
                       at_protocol=at_protocol, noise=noise, test_size=test_size,
                       minutes=minutes)


def number_from(kind: str, reported: float, mean: float, sd: float, seeds: int, *,
                decimals: int, at_protocol: bool = True, noise: Noise | None = None,
                test_size: int | None = None, minutes: float | None = None) -> Verdict:
    """``number`` from the mean, sd (ddof=1) and count of our seeds; ``minutes``: CPU
    minutes of one run, for what an inconclusive verdict would cost to settle."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not allowed; allowed: {list(KINDS)}")
    diff = mean - float(reported)
    if kind == "seconds":
        return Verdict(NOT_TESTED, diff, reason="training time depends on the hardware, "
                                                "which differs from the report's")
    if kind == "parameters":
        ok = abs(diff) <= rounding(decimals)
        return Verdict(HOLDS if ok else CONTRADICTED, diff, reason=(
            f"our network has {mean:,.0f} parameters, the report's {reported:,.{max(decimals, 0)}f}"
            + ("" if ok else ": a different count means a different network")))
    if not at_protocol:
        return Verdict(NOT_TESTED, diff, reason=SHORT_PROFILE)
    share = kind in SHARES
    ours = f"ours {amount(mean, share)} ({'mean of ' + _runs(seeds) if seeds > 1 else 'one run'}), " \
           f"the report's {amount(reported, share)}"
    if seeds >= 2 and np.isfinite(sd):
        df, source = seeds - 1, f"from the spread of our {_runs(seeds)}"
    elif noise is not None:
        sd, df, source = noise.sd, noise.seeds - 1, f"from the spread of {noise.source}"
    else:
        return Verdict(INCONCLUSIVE, diff, reason=f"{ours}; one run and no measured seed "
                       f"spread, so no interval: " + _first_interval(1, minutes))
    test_var = mean * (1 - mean) / test_size if share and test_size else 0.0
    half = stats.t.ppf(0.975, df) * math.sqrt(sd ** 2 * (1 + 1 / seeds) + test_var) \
        + rounding(decimals)
    low, high = mean - half, mean + half
    if share:  # a share stays inside [0, 1], a loss above 0
        low, high = max(low, 0.0), min(high, 1.0)
    elif kind == "loss":
        low = max(low, 0.0)
    widened = f", widened by the report's rounding to {decimals} decimal{'s' if decimals != 1 else ''}" \
        if rounding(decimals) >= 0.001 else ""
    span = f"another run of ours would land from {_interval(low, high, share, False)} " \
           f"(95%, {source}{widened}"
    if not low <= reported <= high:
        return Verdict(CONTRADICTED, diff, low, high,
                       reason=f"{ours}; {span}), which leaves out the report's number")
    res = resolution(kind, reported, decimals)
    if half - rounding(decimals) > res:
        floor = 1.96 * math.sqrt(sd ** 2 + test_var)
        if floor >= res:
            what = (f"no number of seeds narrows it: single runs of ours spread by "
                    f"±{magnitude(floor, share)}{' points' if share else ''} themselves")
        else:
            need = next((n for n in range(seeds + 1, MAX_SEEDS + 1) if stats.t.ppf(0.975, n - 1)
                         * math.sqrt(sd ** 2 * (1 + 1 / n) + test_var) <= res), None)
            what = "" if need is None else \
                f"about {need - seeds} more seed{'s' if need - seeds != 1 else ''} ({need} in all" + \
                (f", about {(need - seeds) * minutes:,.0f} CPU minutes here" if minutes else "") + \
                ") would settle it"
        return Verdict(INCONCLUSIVE, diff, low, high, reason=(
            f"{ours}; {span}), which includes the report's number but is wider than "
            f"±{magnitude(res, share)}{' points' if share else ''}, too wide to confirm it; {what}"))
    return Verdict(HOLDS, diff, low, high, reason=f"{ours}; {span}), which includes the "
                                                  f"report's number")


def versus(values: Sequence[float], constant: float, expect: str = "<", *,
           at_protocol: bool = True, share: bool = True, name: str = "our mean",
           minutes: float | None = None, line: str = "the report") -> Verdict:
    """The claim that a setting stays below (``'<'``) or above (``'>'``) a level the
    report names (or, where it names none, ``line`` says whose level and why): the 95%
    interval of our mean against the constant."""
    values = np.asarray(values, float)
    if not len(values):
        return Verdict(NOT_TESTED, reason="no stored run of this setting")
    d = float(values.mean() - constant)
    if not at_protocol:
        return Verdict(NOT_TESTED, d, reason=SHORT_PROFILE)
    side = "above" if expect == ">" else "below"
    head = f"{name} is {amount(values.mean(), share)} ({_runs(len(values))}); {line}: " \
           f"{side} {amount(constant, share)}"
    if len(values) < 2:
        return Verdict(INCONCLUSIVE, d, reason=f"{head}; one run and no measured seed spread: "
                                               + _first_interval(1, minutes))
    sd = values.std(ddof=1)
    half = stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values))
    low, high = d - half, d + half
    if share:  # the mean's interval stays inside [0, 1]
        low, high = max(low, -constant), min(high, 1 - constant)
    sign = 1 if expect == ">" else -1
    lo, hi = sorted((sign * low, sign * high))
    mean_low, mean_high = constant + low, constant + high
    head += f"; the 95% interval of our mean is {_interval(mean_low, mean_high, share, False)}"
    if lo > 0:
        return Verdict(HOLDS, d, low, high, f"{head}, {side} it as the report says")
    if hi < 0:
        return Verdict(CONTRADICTED, d, low, high, f"{head}, on the other side of it")
    return Verdict(INCONCLUSIVE, d, low, high,
                   f"{head}, which straddles it; " + _settle(sd, len(values), abs(d), 1, minutes))


# --- A against B --------------------------------------------------------------------

def difference_interval(a: Sequence[float], b: Sequence[float], noise: Noise | None = None,
                        paired: bool = False) -> tuple[float, float, float, str, float] | None:
    """mean(a) - mean(b), its 95% interval, where the spread comes from (in words),
    and the spread per seed of the difference (for what more seeds would do).
    ``paired``: a[i] and b[i] come from the same run (two quantities of it)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = float(a.mean() - b.mean())
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired values need equal counts; got {len(a)} and {len(b)}")
        if len(a) < 2:
            return None
        sd = float(np.std(a - b, ddof=1))
        half = stats.t.ppf(0.975, len(a) - 1) * sd / math.sqrt(len(a))
        return d, d - half, d + half, f"paired over the same {len(a)} runs", sd
    if len(a) >= 2 and len(b) >= 2:
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else 1
        source = f"{_runs(len(a))} each" if len(a) == len(b) else \
            f"{_runs(len(a))} and {_runs(len(b))}"
        s_eff = math.sqrt(a.var(ddof=1) + b.var(ddof=1))
    elif noise is not None:
        se = noise.sd * math.sqrt(1 / len(a) + 1 / len(b))
        df = noise.seeds - 1
        source = f"{'one run each' if len(a) == len(b) == 1 else 'few runs'}; the spread of " \
                 f"{noise.source}"
        s_eff = noise.sd * math.sqrt(2)
    else:
        return None
    half = stats.t.ppf(0.975, df) * se
    return d, d - half, d + half, source, s_eff


def comparison(a: Sequence[float], b: Sequence[float], expect: str = ">", *,
               at_protocol: bool = True, noise: Noise | None = None, margin: float = 0.0,
               effect: Effect | None = None, paired: bool = False, share: bool = True,
               names: tuple[str, str] = ("A", "B"), measure: str = "",
               minutes: float | tuple[float | None, float | None] | None = None) -> Verdict:
    """The claim "A > B" (``expect='>'``), "A < B" or "A ≈ B" (``'~'``: equal within
    ``margin``) on one value per run of each; ``effect``: the size the claim is about;
    ``measure``: what was measured, in words; ``minutes``: CPU minutes of one run (of
    A and of B where they differ), to cost what would settle it."""
    if expect not in (">", "<", "~"):
        raise ValueError(f"expect={expect!r} is not allowed; allowed: '>', '<', '~'")
    if not len(a) or not len(b):
        return Verdict(NOT_TESTED, reason="a setting the claim needs has no stored run")
    d = float(np.mean(a) - np.mean(b))
    dirn = direction(d, "A higher", "A lower")
    if not at_protocol:
        return Verdict(NOT_TESTED, d, reason=SHORT_PROFILE, direction=dirn)
    what = f"{names[0]} minus {names[1]}" + (f" in {measure}" if measure else "")
    side_minutes = minutes if isinstance(minutes, tuple) else (minutes, minutes)
    interval = difference_interval(a, b, noise, paired)
    if interval is None:
        return Verdict(INCONCLUSIVE, d, reason=f"{what}: {points(d, share)} "
                       + _lone_runs(len(a), len(b), names, paired, side_minutes),
                       direction=dirn)
    known = [m for m in side_minutes if m]
    minutes = float(np.mean(known)) if known else None  # per run, for seeds of both sides
    d, low, high, source, s_eff = interval
    head = f"{what}: {points(d, share)} (95% interval {_interval(low, high, share)}; {source})"
    runs_per_seed = 1 if paired else 2
    counted = "run" if paired else "seed"  # paired values are runs, perhaps of many settings
    n_now = min(len(a), len(b)) if noise is None or paired or min(len(a), len(b)) >= 2 else 1
    unit = " points" if share else ""
    if expect == "~":
        m = f"±{magnitude(margin, share)}{unit}"
        if -margin <= low and high <= margin:
            return Verdict(HOLDS, d, low, high, f"{head}: inside {m}, the margin for \"no "
                                                f"difference\", as the report says", dirn)
        if low > margin or high < -margin:
            return Verdict(CONTRADICTED, d, low, high, f"{head}: beyond {m}, a real difference",
                           dirn)
        return Verdict(INCONCLUSIVE, d, low, high, f"{head}: the interval reaches past {m}; " +
                       _settle(s_eff, n_now, abs(margin - abs(d)), runs_per_seed, minutes, counted),
                       dirn)
    return _directional(d, low, high, expect, head, effect, share, names, dirn,
                        _settle_by(s_eff, n_now, runs_per_seed, minutes, counted))


def _first_interval(runs_per_seed: int, minutes: float | None, of: str = "") -> str:
    """What a setting of one run needs first: a second seed (of each side, or of the
    side ``of``), and its cost where the speed of our runs is known."""
    cost = f" (about {runs_per_seed * minutes:,.0f} CPU minutes here)" if minutes else ""
    of = " of each" if runs_per_seed > 1 else (f" of {of}" if of else "")
    return f"a second seed{of}{cost} would give a first interval, and the number of seeds that settles it"


def _lone_runs(n_a: int, n_b: int, names: tuple[str, str], paired: bool,
               minutes: tuple[float | None, float | None]) -> str:
    """Why a comparison has no interval: a side ran once, so its seed spread is
    unmeasured (another setting's spread is not borrowed), and what would give one."""
    if paired or n_a == n_b == 1:
        runs = "one run" if paired else "one run each"
        known = [m for m in minutes if m]
        return (f"on {runs}, and no measured seed spread to say whether that is noise; "
                + _first_interval(1 if paired else 2, float(np.mean(known)) if known else None))
    lone, other, n_other = (0, 1, n_b) if n_a == 1 else (1, 0, n_a)
    return (f"on one run of {names[lone]} against {_runs(n_other)} of {names[other]}, and no "
            f"measured seed spread of the single run to say whether that is noise; "
            + _first_interval(1, minutes[lone], of=names[lone]))


def _settle_by(s_eff, n_now, runs_per_seed, minutes, unit="seed"):
    return lambda target: _settle(s_eff, n_now, target, runs_per_seed, minutes, unit)


def _apart(hi: float, size: float, share: bool) -> int:
    """How many digits it takes for the interval's far end to read below the smallest
    claimed size (0.987 against 0.990, not 0.99 against 0.99): the verdict turns on
    that."""
    for digits in (2, 3, 4):
        if magnitude(hi, share, digits) != magnitude(size, share, digits):
            return digits
    return digits


def _directional(d, low, high, expect, head, effect, share, names, dirn, settle) -> Verdict:
    """The verdict on "A > B" (or "<") from the interval [low, high] of A - B."""
    unit = " points" if share else ""
    sign = 1 if expect == ">" else -1
    lo, hi = sorted((sign * low, sign * high))
    said = f"{names[0]} {'higher' if sign > 0 else 'lower'} than {names[1]}"
    size = effect.smallest if effect else None
    digits = _apart(hi, size, share) if size is not None else 2
    most_text = magnitude(hi, share, digits)
    if effect:  # the size in the claimed direction, signed as the difference is
        whose = "the report's" if effect.reported else "the"
        notes = [effect.why] if effect.why else []
        if effect.reported and effect.rounding and size is not None:
            notes.append(f"at least {amount(sign * size, share, True, digits)}{unit} "
                         f"once its rounding is allowed for")
        claimed = f"{whose} {amount(sign * effect.size, share, signed=True)}{unit}" + \
            ("" if effect.reported else " that would matter") + \
            (f" ({'; '.join(notes)})" if notes else "")
    if lo > 0:
        if effect and effect.reported and size is not None and hi < size:
            return Verdict(CONTRADICTED, d, low, high, f"{head}: {said}, the claimed direction, "
                           f"but by at most {most_text}{unit}, too little for {claimed}", dirn)
        return Verdict(HOLDS, d, low, high, f"{head}: {said}, as claimed", dirn)
    if hi < 0:
        return Verdict(CONTRADICTED, d, low, high,
                       f"{head}: the opposite of the claim, which has {said}", dirn)
    other_way = "; ours points the other way" if sign * d < 0 else ""
    if size is not None and hi < size:
        return Verdict(CONTRADICTED, d, low, high, f"{head}: the interval rules out {claimed}"
                       f"{other_way}; no difference larger than {most_text}{unit} "
                       f"in the claimed direction", dirn)
    target = max(abs(sign * d), (size - sign * d) if size is not None else 0.0)
    return Verdict(INCONCLUSIVE, d, low, high, f"{head}: the interval contains 0 (no difference)"
                   + (f" and also {claimed}" if size is not None else "") + other_way + "; "
                   + settle(target), dirn)


def interaction(a1: Sequence[float], b1: Sequence[float], a2: Sequence[float],
                b2: Sequence[float], expect: str = ">", *, at_protocol: bool = True,
                effect: Effect | None = None, share: bool = True,
                names: tuple[str, str] = ("the gap at 1", "the gap at 2"),
                minutes: float | None = None) -> Verdict:
    """The claim that the gap A - B at one setting is larger (``'>'``) or smaller
    (``'<'``) than at another: the 95% interval of the difference of the two gaps
    (Welch-Satterthwaite over the four groups of runs)."""
    groups = [np.asarray(x, float) for x in (a1, b1, a2, b2)]
    if not all(len(g) for g in groups):
        return Verdict(NOT_TESTED, reason="a setting the claim needs has no stored run")
    d = float(groups[0].mean() - groups[1].mean() - groups[2].mean() + groups[3].mean())
    dirn = direction(d, "first gap higher", "first gap lower")
    if not at_protocol:
        return Verdict(NOT_TESTED, d, reason=SHORT_PROFILE, direction=dirn)
    if min(map(len, groups)) < 2:
        return Verdict(INCONCLUSIVE, d, reason="one run of a setting and no measured seed "
                       "spread; more seeds would give an interval", direction=dirn)
    parts = [g.var(ddof=1) / len(g) for g in groups]
    se = math.sqrt(sum(parts))
    df = sum(parts) ** 2 / sum(p ** 2 / (len(g) - 1) for p, g in zip(parts, groups)) \
        if se > 0 else 1
    half = stats.t.ppf(0.975, df) * se
    low, high = d - half, d + half
    n = min(map(len, groups))
    head = (f"{names[0]} minus {names[1]}: {points(d, share)} (95% interval "
            f"{_interval(low, high, share)}; {n}+ seeds per setting)")
    s_eff = math.sqrt(sum(g.var(ddof=1) for g in groups))
    return _directional(d, low, high, expect, head, effect, share, names, dirn,
                        _settle_by(s_eff, n, 4, minutes))


def trend(levels: Sequence[Sequence[float]], *, at_protocol: bool = True,
          noise: Noise | None = None, effect: Effect | None = None, share: bool = True,
          names: Sequence[str] | None = None, measure: str = "",
          minutes: float | None = None) -> Verdict:
    """The claim that each level beats the next (``levels`` in the claimed order,
    best first): every step is a comparison; all must hold."""
    if len(levels) < 2:
        raise ValueError(f"a trend needs at least 2 levels; got {len(levels)}")
    names = list(names or [f"level {i + 1}" for i in range(len(levels))])
    steps = [comparison(a, b, ">", at_protocol=at_protocol, noise=noise, effect=effect,
                        share=share, names=(x, y), measure=measure, minutes=minutes)
             for a, b, x, y in zip(levels, levels[1:], names, names[1:])]
    d = float(np.mean(levels[0]) - np.mean(levels[-1])) if all(len(x) for x in levels) else math.nan
    out = combine(steps)
    return Verdict(out.verdict, d, reason=out.reason, direction=direction(d, "first higher",
                                                                         "first lower"),
                   parts=tuple(steps))


def combine(parts: Sequence[Verdict], labels: Sequence[str] | None = None) -> Verdict:
    """One verdict from the verdicts of a claim's parts (batch sizes, steps of a
    trend): contradicted if any part is, holds if all hold, inconclusive if a part
    is, else not tested (a part whose runs are missing or short of the protocol
    cannot be confirmed: the claim waits for them, not for more seeds). The reason
    gives each part's, after ``labels``."""
    if not parts:
        return Verdict(NOT_TESTED, reason="no part of the claim could be tested")
    verdicts = [p.verdict for p in parts]
    for v in (INCONSISTENT, CONTRADICTED):
        if v in verdicts:
            break
    else:
        v = HOLDS if all(x == HOLDS for x in verdicts) else \
            INCONCLUSIVE if INCONCLUSIVE in verdicts else NOT_TESTED
    diffs = [p.difference for p in parts if np.isfinite(p.difference)]
    d = float(np.mean(diffs)) if diffs else math.nan
    if len(parts) == 1:
        return Verdict(v, d, parts[0].low, parts[0].high, parts[0].reason,
                       parts[0].direction, tuple(parts))
    labels = list(labels or [""] * len(parts))
    lead = {HOLDS: "holds in both parts" if len(parts) == 2 else f"holds in all {len(parts)} parts",
            NOT_TESTED: f"none of its {len(parts)} parts could be tested"}.get(
        v if len(set(verdicts)) == 1 else None, f"of its {len(parts)} parts: "
           f"{', '.join(f'{verdicts.count(x)} {x}' for x in VERDICTS if x in verdicts)}")
    each = "\n".join(f"{(label + ': ') if label else ''}{_sentence(p.reason)}" for label, p in
                      zip(labels, parts))  # a part a line
    return Verdict(v, d, reason=f"{lead[0].upper()}{lead[1:]}.\n{each}",
                   direction=direction(d, "higher", "lower"), parts=tuple(parts))


def _sentence(text: str) -> str:
    """``text`` ending in one full stop (a part's reason may already end in one)."""
    return text if text.endswith(".") else f"{text}."


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
