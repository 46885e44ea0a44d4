"""The reports' claims as data, judged against a chapter's runs by ``verdicts``.

Each report's claims live in ``reported/<chapter>.claims.yaml``: an id, the report's
words and section, a kind, the evidence (which runs, which metric) and the rule.
A chapter hands over its runs as an evidence frame: one row per run (or per sweep
point), with the labels that tell runs apart (model, batch size, sweep value...)
and the run itself; a claim's ``where`` picks rows by those labels and its
``metric`` names what to read from each run:

- ``accuracy``, ``loss``, ``f1``, ... the final test metrics;
- ``epochs.<column>.<first|last|max|min>``: the per-epoch history;
- ``updates.<column>.<mean|max|min|std>[a:b]``: a statistic over updates a to b-1
  (counted from 1) of the training curve, such as "accuracy in the first 200 updates"
  or how much it fluctuates (``std``);
- ``class.<precision|recall|f1>.<label>``: one class's score on the test set;
  ``class.<...>.top.<label>``: 1 where that class scores highest of all, else 0;
- ``seconds.train``: training time from the run's provenance.

Kinds: ``number`` (a printed number), ``comparison`` (A vs B, optionally ``by`` a
label, every group must agree), ``trend`` (levels of a factor in the claimed
order, best first), ``best`` / ``worst`` (one level against every other),
``collapse`` (a setting ends near chance), ``interaction`` (the gap A - B is larger
at one level of ``factor`` than at another, ``levels``), ``consistency`` (the report's own
numbers against each other: ``check`` names a function in ``CHECKS``). Any claim
may also carry ``report_check``: where the report contradicts itself on the
claim, the verdict is "report inconsistent" and our evidence is still shown.

A comparison (and each step of a trend, best or worst) names the size it is about:
``effect``, the difference the report's printed numbers give, with
``effect_decimals``, the decimals (as a fraction) those numbers were printed to, so
that their rounding never makes a claim fail, or ``min_effect``, the smallest
difference that matters, with ``effect_why``. Where A and B are two
quantities of the same runs (``a: {}``, ``b: {}`` with ``a_metric``/``b_metric``)
they are compared paired, run by run. ``a_name``/``b_name`` name A and B in the
reason where the labels do not.
"""

from __future__ import annotations

import math
import re
from importlib import resources
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from . import models
from . import verdicts as v
from .spec import default_labels
from .store import Run

CLAIM_KINDS = ("number", "comparison", "trend", "best", "worst", "collapse", "versus",
               "interaction", "speed_ratio", "consistency")
# An evidence frame's column saying whether a run follows the report's protocol, for
# a chapter whose runs mix profiles: a group of runs is judged at the protocol only
# if every run it reads does.
AT_PROTOCOL = "at_protocol"
PENDING = "retraining_pending"  # the run's model changed since it was trained

COLUMNS = ["chapter", "claim", "section", "quote", "kind", "central", "plainly", "counted", "profile",
           "evidence", "verdict", "direction", "difference", "reason", "link"]


def load(chapter: str) -> list[dict]:
    """A chapter's claims, checked for the fields every kind needs."""
    path = resources.files("cnnrepro").joinpath("reported", f"{chapter}.claims.yaml")
    claims = yaml.safe_load(path.read_text())
    ids = [c.get("id") for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{chapter}: claim ids repeat: {ids}")
    for c in claims:
        missing = [f for f in ("id", "quote", "section", "kind") if f not in c]
        if missing or c["kind"] not in CLAIM_KINDS:
            raise ValueError(f"{chapter}: claim {c.get('id')!r} lacks {missing} or has kind "
                             f"{c.get('kind')!r}; allowed kinds: {list(CLAIM_KINDS)}")
        if "effect" in c and not isinstance(c.get("effect_decimals"), int):
            raise ValueError(f"{chapter}: claim {c['id']!r} gives an effect without "
                             f"effect_decimals (the decimals its numbers were printed to)")
        if c.get("central") and not c.get("plainly"):  # the answer box says it in words
            raise ValueError(f"{chapter}: central claim {c['id']!r} lacks 'plainly', the "
                             f"claim as a plain clause ('a deeper network is more accurate')")
    return claims


# --- reading a value from a run ------------------------------------------------

_UPDATES = re.compile(r"updates\.(\w+)\.(mean|max|min|std)\[(\d*):(\d*)\]$")
_EPOCHS = re.compile(r"epochs\.(\w+)\.(first|last|max|min|mean)$")
_CLASS = re.compile(r"class\.(precision|recall|f1)\.(\w+)$")
_TOP = re.compile(r"class\.(precision|recall|f1)\.top\.(\w+)$")


def value_of(run: Run, metric: str) -> float:
    """One number from a run, named as in the module docstring."""
    if m := _UPDATES.match(metric):
        column, stat, a, b = m.group(1), m.group(2), int(m.group(3) or 1), m.group(4)
        u = run.updates
        u = u[(u["update"] >= a) & ((u["update"] < int(b)) if b else True)]
        return float(getattr(u[column], stat)()) if len(u) else math.nan
    if m := _EPOCHS.match(metric):
        col = run.epochs[m.group(1)]
        return float({"first": col.iloc[0], "last": col.iloc[-1], "max": col.max(),
                      "min": col.min(), "mean": col.mean()}[m.group(2)])
    if m := _TOP.match(metric):  # 1 where the class scores highest of all, else 0
        from sklearn.metrics import precision_recall_fscore_support
        scores = dict(zip(["precision", "recall", "f1"], precision_recall_fscore_support(
            run.test_labels, run.test_pred, zero_division=0)[:3]))[m.group(1)]
        return float(int(np.argmax(scores)) == int(m.group(2)))
    if m := _CLASS.match(metric):
        from sklearn.metrics import precision_recall_fscore_support
        label = int(m.group(2))
        p, r, f, _ = precision_recall_fscore_support(run.test_labels, run.test_pred,
                                                     labels=[label], zero_division=0)
        return float({"precision": p, "recall": r, "f1": f}[m.group(1)][0])
    if metric == "seconds.train":
        return float(run.provenance["timing"]["train_seconds"])
    if metric in run.metrics:
        return float(run.metrics[metric])
    raise ValueError(f"metric={metric!r} is not allowed; allowed: a final metric "
                     f"{sorted(run.metrics)}, epochs.<col>.<first|last|max|min>, "
                     f"updates.<col>.<mean|max|min|std>[a:b], class.<precision|recall|f1>.<label>, "
                     f"seconds.train")


def evidence_frame(runs: list[Run], labels: Callable[[object], dict] = default_labels
                   ) -> pd.DataFrame:
    """One row per run: ``labels(run.config)`` as columns, the run in column ``run``."""
    return pd.DataFrame([{**labels(r.config), "run": r} for r in runs])


def select(frame: pd.DataFrame, where: dict | None) -> pd.DataFrame:
    """The rows whose labels equal ``where``'s (compared as text, so 64 == "64")."""
    mask = pd.Series(True, index=frame.index)
    for label, wanted in (where or {}).items():
        if label not in frame:
            raise ValueError(f"where: label {label!r} is not allowed; allowed: "
                             f"{[c for c in frame.columns if c not in ('run', AT_PROTOCOL, PENDING)]}")
        mask &= frame[label].astype(str) == str(wanted)
    return frame[mask]


def values(frame: pd.DataFrame, where: dict | None, metric: str) -> list[float]:
    return [value_of(r, metric) for r in select(frame, where)["run"]]


# --- the report against itself ----------------------------------------------------

def _equal(stated, derived, decimals, explanation, truncated=False):
    """Two printed numbers for one quantity; ``truncated``: the report cuts digits
    rather than rounding, so a whole unit of the last digit is allowed."""
    tolerance = 10.0 ** -decimals if truncated else v.rounding(decimals)
    return v.consistency(stated, derived, tolerance, explanation)


def _sum_of_shares(shares, total, decimals, explanation):
    return v.consistency(sum(shares), total, len(shares) * v.rounding(decimals), explanation)


def _share_of(part, whole, stated_pct, decimals, explanation):
    return v.consistency(stated_pct, 100 * part / whole, v.rounding(decimals), explanation)


def _f1_bound(accuracy, f1, decimals, explanation):
    """Macro F1 on balanced classes cannot exceed 2R/(1+R) with R ≈ the accuracy."""
    bound = 2 * accuracy / (1 + accuracy)
    if f1 - v.rounding(decimals) > bound:
        return v.Verdict(v.INCONSISTENT, f1 - bound, reason=explanation, direction="")
    return v.Verdict(v.HOLDS, f1 - bound, reason=f"consistent: {explanation}", direction="")


def _best_of(claimed, table, explanation):
    """The level the text calls best against the best level of the report's table."""
    best = max(table, key=table.get)
    ok = str(claimed) == str(best)
    return v.Verdict(v.HOLDS if ok else v.INCONSISTENT, table[str(claimed)] - table[best],
                     reason=explanation if not ok else f"consistent: {explanation}", direction="")


def _trend_in_table(tables, order, explanation):
    """Each table (name -> {level: value}) falls along ``order`` as the text says."""
    breaks = [name for name, t in tables.items()
              if any(t[str(a)] < t[str(b)] for a, b in zip(order, order[1:]))]
    verdict = v.INCONSISTENT if breaks else v.HOLDS
    return v.Verdict(verdict, reason=explanation if breaks else f"consistent: {explanation}",
                     direction="")


CHECKS: dict[str, Callable[..., v.Verdict]] = {
    "equal": _equal, "sum_of_shares": _sum_of_shares, "share_of": _share_of,
    "f1_bound": _f1_bound, "best_of": _best_of, "trend_in_table": _trend_in_table}


def report_check(spec: dict) -> v.Verdict:
    name = spec.get("check")
    if name not in CHECKS:
        raise ValueError(f"check={name!r} is not allowed; allowed: {list(CHECKS)}")
    return CHECKS[name](**{k: x for k, x in spec.items() if k != "check"})


# --- one claim -----------------------------------------------------------------

def _groups(frame: pd.DataFrame, claim: dict) -> list[tuple[str, dict]]:
    """(label, where) per group of a claim judged ``by`` a label; one group without."""
    by = claim.get("by")
    base = claim.get("where") or {}
    if not by:
        return [("", base)]
    levels = list(dict.fromkeys(select(frame, base)[by].astype(str)))
    return [(_level_words(by, level), {**base, by: level}) for level in levels]


def _level_words(label: str, value) -> str:
    """A label's value as a reader names it: a model by its title ("ResNet"), a
    variant or dataset by itself, a setting with its name ("batch size 64")."""
    if label == "model":
        return models.title(str(value))
    if label in ("variant", "dataset", "sweep", "value"):
        return str(value)
    return f"{label.replace('_', ' ')} {value}"


def _rows_read(frame: pd.DataFrame, claim: dict, where: dict) -> pd.DataFrame:
    """The rows of ``frame`` a claim's group reads: its ``a`` and ``b`` rows for a
    comparison, every row of ``where`` otherwise."""
    rows = select(frame, where)
    if claim["kind"] in ("comparison", "interaction"):
        rows = pd.concat([select(rows, claim["a"]), select(rows, claim["b"])])
    return rows


def effect_of(claim: dict) -> v.Effect | None:
    """The size a comparison claim is about (``effect`` or ``min_effect``)."""
    if "effect" in claim:  # effect_decimals: how the numbers it comes from were printed
        decimals = claim.get("effect_decimals")
        return v.Effect(float(claim["effect"]), reported=True, why=claim.get("effect_why", ""),
                        rounding=10.0 ** -decimals if decimals is not None else 0.0)
    if "min_effect" in claim:
        return v.Effect(float(claim["min_effect"]), why=claim.get("effect_why", ""))
    return None


def is_share(claim: dict) -> bool:
    """Whether the claim's metric is a share (said in percentage points): anything
    but a loss, a time or a count of epochs, unless ``unit`` says."""
    if "unit" in claim:
        return claim["unit"] == "share"
    metric = claim.get("metric") or claim.get("a_metric") or "accuracy"
    return not any(w in metric for w in ("loss", "seconds", "epoch"))


_COLUMNS = {"accuracy": "training-batch accuracy", "val_accuracy": "test-batch accuracy",
            "loss": "training loss", "val_loss": "test-batch loss",
            "test_accuracy": "test accuracy"}
_STATS = {"mean": "mean", "max": "highest", "min": "lowest", "std": "spread (sd) of the"}


def metric_words(metric: str) -> str:
    """A metric as a reader names it: "class.precision.7" -> "the precision of class 7",
    "updates.loss.std[201:1201]" -> "the spread (sd) of the training loss over updates
    201 to 1200"."""
    if m := _UPDATES.match(metric):
        column, stat, a, b = m.group(1), m.group(2), m.group(3) or "1", m.group(4)
        span = f"over updates {a} to {int(b) - 1}" if b else f"from update {a} on"
        return f"the {_STATS[stat]} {_COLUMNS.get(column, column)} {span}"
    if m := _EPOCHS.match(metric):
        column = {"accuracy": "training accuracy", "val_accuracy": "validation accuracy",
                  "val_loss": "validation loss"}.get(m.group(1), _COLUMNS.get(m.group(1), m.group(1)))
        return {"first": f"the first epoch's {column}", "last": f"the last epoch's {column}",
                "max": f"the highest {column} of any epoch", "min": f"the lowest {column} of any epoch",
                "mean": f"the mean over epochs of the {column}"}[m.group(2)]
    if m := _TOP.match(metric):
        return f"whether class {m.group(2)} has the highest {m.group(1)}"
    if m := _CLASS.match(metric):
        return f"the {m.group(1)} of class {m.group(2)}"
    named = {"precision": "the macro precision", "recall": "the macro recall",
             "f1": "the macro F1", "accuracy": "the test accuracy", "loss": "the test loss",
             "top5_accuracy": "the test top-5 accuracy"}
    return named.get(metric, f"the {metric.replace('_', ' ')}")


def _name(side: dict, metric: str | None, fallback: str) -> str:
    """A in words: its labels' values ("resnet_deep"), else its metric."""
    if side:
        return ", ".join(_level_words(k, x) for k, x in side.items())
    return metric_words(metric) if metric else fallback


def _minutes(rows: pd.DataFrame) -> float | None:
    """CPU minutes of one run, from the training time in the provenance of the runs
    that trained on a CPU (a GPU's minutes would understate what a rerun here costs)."""
    got = []
    for run in rows["run"]:
        try:
            if any(not d.startswith("cpu") for d in run.provenance.get("devices", [])):
                continue
            got.append(float(run.provenance["timing"]["train_seconds"]) / 60)
        except (KeyError, TypeError, AttributeError):
            continue
    return float(np.mean(got)) if got else None


def _same_runs(frame: pd.DataFrame, a: dict, b: dict) -> bool:
    """Whether A and B read the same runs (two quantities of each run): then paired."""
    ra, rb = select(frame, a)["run"].tolist(), select(frame, b)["run"].tolist()
    return len(ra) > 1 and len(ra) == len(rb) and all(x is y for x, y in zip(ra, rb))


def _judge_group(frame, claim, where, at_protocol, noise) -> v.Verdict:
    kind, metric = claim["kind"], claim.get("metric", "accuracy")
    rows = _rows_read(frame, claim, where)
    if PENDING in frame and kind != "consistency" and bool(rows[PENDING].any()):
        waiting = rows[rows[PENDING].astype(bool)]
        names = " and ".join(dict.fromkeys(models.title(str(m)) for m in waiting["model"])) \
            if "model" in waiting else ""
        runs = len({id(r) for r in waiting["run"]}) if "run" in waiting else len(waiting)
        return v.Verdict(v.NOT_TESTED, reason=v.retraining_pending(names, runs))  # A and B may share runs
    if AT_PROTOCOL in frame:  # a run counts as the protocol only if its config is
        at_protocol = bool(len(rows)) and bool(rows[AT_PROTOCOL].all())
    minutes = _minutes(rows) if len(rows) else None
    share, effect = is_share(claim), effect_of(claim)
    kw = {"at_protocol": at_protocol, "noise": noise}
    if kind == "number":
        return v.number(claim.get("number_kind", "accuracy"), claim["reported"],
                        values(frame, where, metric), decimals=claim["decimals"],
                        test_size=claim.get("test_size"), minutes=minutes, **kw)
    if kind == "comparison":
        wa, wb = {**where, **claim["a"]}, {**where, **claim["b"]}
        a = values(frame, wa, claim.get("a_metric", metric))
        b = values(frame, wb, claim.get("b_metric", metric))
        names = (claim.get("a_name") or _name(claim["a"], claim.get("a_metric"), "A"),
                 claim.get("b_name") or _name(claim["b"], claim.get("b_metric"), "B"))
        measure = "" if "a_metric" in claim else metric_words(metric)
        # per side: a second seed of a slow side costs its own minutes, not the mean's
        sides = tuple(_minutes(select(frame, w)) or minutes for w in (wa, wb))
        return v.comparison(a, b, claim.get("expect", ">"), margin=claim.get("margin", 0.0),
                            effect=effect, paired=_same_runs(frame, wa, wb), share=share,
                            names=names, measure=measure, minutes=sides, **kw)
    factor = claim.get("factor")
    said = "" if factor == "value" else (factor or "").replace("_", " ")  # "value" names itself
    if kind == "trend":
        levels = [values(frame, {**where, factor: x}, metric) for x in claim["order"]]
        if not all(levels):
            return v.Verdict(v.NOT_TESTED, reason="a level the claim names has no stored run")
        return v.trend(levels, effect=effect, share=share, minutes=minutes,
                       names=[f"{said} {x}".strip() for x in claim["order"]],
                       measure=metric_words(metric), **kw)
    if kind in ("best", "worst"):
        mine = values(frame, {**where, factor: claim["value"]}, metric)
        others = [x for x in dict.fromkeys(select(frame, where)[factor].astype(str))
                  if x != str(claim["value"])]
        expect = ">" if kind == "best" else "<"
        return v.combine([v.comparison(mine, values(frame, {**where, factor: o}, metric),
                                       expect, effect=effect, share=share, minutes=minutes,
                                       names=(f"{said} {claim['value']}".strip(), f"{said} {o}".strip()),
                                       measure=metric_words(metric),
                                       **kw) for o in others])
    if kind == "versus":
        return v.versus(values(frame, where, metric), claim["constant"], claim.get("expect", "<"),
                        line=claim.get("constant_why", "the report"),
                        at_protocol=at_protocol, share=share, minutes=minutes,
                        name=claim.get("a_name") or f"our mean of {metric_words(metric)}")
    if kind == "collapse":
        return _collapse(frame, claim, where, at_protocol, minutes)
    if kind == "interaction":
        (x, y), a, b = claim["levels"], claim["a"], claim["b"]
        names = (claim.get("a_name") or _name(a, None, "A"), claim.get("b_name") or _name(b, None, "B"))

        def at(side, level):
            return values(frame, {**where, **side, factor: level}, metric)
        return v.interaction(at(a, x), at(b, x), at(a, y), at(b, y), claim.get("expect", ">"),
                             at_protocol=at_protocol, effect=effect, share=share, minutes=minutes,
                             names=(f"the gap {names[0]} minus {names[1]} in {metric_words(metric)} "
                                    f"at {said} {x}", f"the same gap at {said} {y}"))
    raise ValueError(f"kind={kind!r} is not allowed; allowed: {list(CLAIM_KINDS)}")


def _collapse(frame, claim, where, at_protocol, minutes: float | None = None) -> v.Verdict:
    """Every run ends below ``below`` (a diverged run, NaN, collapses too); with
    ``rises_first`` ({metric, above}), each must first have trained normally."""
    rows = select(frame, where)
    if not len(rows):
        return v.Verdict(v.NOT_TESTED, reason="no stored run of this setting")
    if not at_protocol:
        return v.Verdict(v.NOT_TESTED, reason=v.SHORT_PROFILE)
    level = claim.get("below", 0.5)
    got = [value_of(r, claim.get("metric", "accuracy")) for r in rows["run"]]
    below = [not (x >= level) for x in got]
    text = f"{sum(below)} of {len(got)} runs end below {100 * level:g}% accuracy"
    rise = claim.get("rises_first")
    if rise:
        early = [value_of(r, rise["metric"]) for r in rows["run"]]
        rose = [x >= rise["above"] for x in early]
        text += (f"; {sum(rose)} of {len(got)} first reach {100 * rise['above']:g}% "
                 f"({rise['what']}: {', '.join(f'{100 * x:.1f}%' for x in early)})")
        below = [b and r for b, r in zip(below, rose)]
    verdict = v.HOLDS if all(below) else v.CONTRADICTED if not any(below) else v.INCONCLUSIVE
    if verdict == v.INCONCLUSIVE:
        cost = f" (about {minutes:,.0f} CPU minutes each here)" if minutes else ""
        text += (f"; {sum(below)} of {len(got)} runs do what the report describes, so the seed "
                 f"decides, and the report's run may have been one that did: more seeds{cost} "
                 "would measure how often it happens")
    return v.Verdict(verdict, reason=text, direction="")


def speed_ratio(claim: dict, bench: pd.DataFrame) -> tuple[v.Verdict, str]:
    """Training time of model ``a`` over model ``b`` (their float32 throughputs in
    the benchmark files, per framework and device) against the ``range`` the
    report's words allow. Where devices disagree the ratio is the hardware's, and
    the report does not state its own: inconclusive. A claim whose times came from
    a GPU (``device: gpu``, with ``device_why``) is not tested on CPUs alone."""
    rows = bench[(bench["precision"] == "float32") & bench["img_per_s"].notna()]
    parts, lines, on_gpu = [], [], False
    for (framework, cpu), g in rows.groupby(["framework", "cpu"], sort=False):
        ips = g.set_index("model")["img_per_s"]
        if claim["a"] not in ips or claim["b"] not in ips:
            continue
        on_gpu = on_gpu or g["devices"].fillna("").str.contains("gpu").any()
        ratio = float(ips[claim["b"]] / ips[claim["a"]])  # time(a) / time(b)
        low, high = claim["range"]
        ok = low <= ratio <= high
        parts.append(v.Verdict(v.HOLDS if ok else v.CONTRADICTED, ratio, direction=""))
        lines.append(f"{framework} on {g['devices'].dropna().iloc[0] if g['devices'].notna().any() else cpu}"
                     f": {ratio:.2f}")
    if not parts:
        return v.Verdict(v.NOT_TESTED, reason="no benchmark measured both models"), ""
    if claim.get("device") == "gpu" and not on_gpu:
        return v.Verdict(v.NOT_TESTED, reason=f"measured on CPUs only; {claim['device_why']}, "
                         f"where the ratio can differ", direction=""), \
            "time ratio " + "; ".join(lines)
    verdicts = {p.verdict for p in parts}
    verdict = verdicts.pop() if len(verdicts) == 1 else v.INCONCLUSIVE
    reason = (f"time ratio {claim['a']} / {claim['b']} within {claim['range']} on every device"
              if verdict == v.HOLDS else "the ratio depends on the hardware, and the report "
              "does not state its own" if verdict == v.INCONCLUSIVE else
              f"time ratio outside {claim['range']} on every device")
    return v.Verdict(verdict, reason=reason, direction=""), "time ratio " + "; ".join(lines)


def noise_for(claim: dict, frame: pd.DataFrame, noise_from: dict | None,
              source: str) -> v.Noise | None:
    """The seed spread of the claim's metric over the rows ``noise_from`` picks (a
    setting the chapter repeats), for a claim that says ``noise: true``."""
    if not claim.get("noise") or not noise_from:
        return None
    got = values(frame, noise_from, claim.get("metric", "accuracy"))
    got = [x for x in got if np.isfinite(x)]
    return v.Noise(float(np.std(got, ddof=1)), len(got), source) if len(got) >= 2 else None


def _lacks_labels(claim: dict, frame: pd.DataFrame) -> bool:
    """A claim that needs runs the chapter never made may name a label its runs lack."""
    wanted = {k for side in ("where", "a", "b") for k in (claim.get(side) or {})}
    return "needs_run" in claim and bool(wanted - set(frame.columns))


def judge(claim: dict, frame: pd.DataFrame, *, at_protocol: bool, noise: v.Noise | None = None,
          bench: pd.DataFrame | None = None) -> tuple[v.Verdict, str]:
    """The claim's verdict and a one-line account of the evidence."""
    own = report_check(claim["report_check"]) if "report_check" in claim else None
    if claim["kind"] == "consistency":
        out = report_check(claim["check"])
        return out, out.reason
    if claim["kind"] == "speed_ratio":
        return speed_ratio(claim, bench if bench is not None else pd.DataFrame(
            columns=["precision", "img_per_s", "framework", "cpu", "model", "devices"]))
    if _lacks_labels(claim, frame):
            out = v.Verdict(v.NOT_TESTED, reason=f"it needs runs the book does not have yet: "
                                                 f"{claim['needs_run']}")
            return out, out.verdict
    parts, lines = [], []
    for label, where in _groups(frame, claim):
        part = _judge_group(frame, claim, where, at_protocol, noise)
        if part.verdict == v.NOT_TESTED and "needs_run" in claim and \
                part.reason != v.SHORT_PROFILE and not v.waits_for_retraining(part.reason):
            part = v.Verdict(v.NOT_TESTED, reason=f"it needs runs the book does not have yet: "
                                                  f"{claim['needs_run']}")
        parts.append(part)
        lines.append(_describe(label, part))
    labels = [label for label, _ in _groups(frame, claim)]
    out = v.combine(parts, labels) if len(parts) > 1 else parts[0]
    evidence = "; ".join(lines)
    if own is not None and own.verdict == v.INCONSISTENT:
        ours = f" Our runs: {_mid_sentence(out.reason)}" if out.reason else ""
        return (v.Verdict(v.INCONSISTENT, out.difference, reason=own.reason + "." + ours,
                          direction=out.direction), f"{evidence} (ours)")
    return out, evidence


def _mid_sentence(text: str) -> str:
    """``text`` continuing a sentence: "Of its parts" -> "of its parts", while a name
    keeps its capitals ("ResNet, ...", "DNN ...")."""
    word = text.split(" ", 1)[0]
    return text[0].lower() + text[1:] if word[1:] == word[1:].lower() else text


def _describe(label: str, part: v.Verdict) -> str:
    text = f"{label}: " if label else ""
    if np.isfinite(part.difference):
        text += f"{part.difference:+.4f}"
        if np.isfinite(part.low):
            text += f" [{part.low:+.4f}, {part.high:+.4f}]"
        text += " "
    return text + part.verdict


def claim_profile(claim: dict, frame: pd.DataFrame, profile: str) -> str:
    """The profile of the runs a claim reads: "paper" where every one of them follows
    the report's protocol in a frame that mixes profiles, else the chapter's."""
    if AT_PROTOCOL not in frame or claim["kind"] in ("consistency", "speed_ratio") \
            or _lacks_labels(claim, frame):
        return profile
    rows = [_rows_read(frame, claim, where) for _, where in _groups(frame, claim)]
    rows = pd.concat(rows) if rows else frame.iloc[:0]
    return "paper" if len(rows) and rows[AT_PROTOCOL].all() else profile


def table(chapter: str, frame: pd.DataFrame, *, profile: str, at_protocol: bool,
          noise_from: dict | None = None, noise_source: str = "",
          bench: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every claim of ``chapter`` judged on ``frame`` (columns ``COLUMNS``).
    ``noise_from`` picks the repeated setting whose seed spread single runs use
    (``noise_source`` says which, in words); ``bench``: the throughput files."""
    rows = []
    for claim in load(chapter):
        noise = noise_for(claim, frame, noise_from, noise_source)
        verdict, evidence = judge(claim, frame, at_protocol=at_protocol, noise=noise, bench=bench)
        rows.append({"chapter": chapter, "claim": claim["id"], "section": claim["section"],
                     "quote": claim["quote"], "kind": claim["kind"],
                     "central": bool(claim.get("central", False)),
                     "plainly": claim.get("plainly", ""),
                     "counted": bool(claim.get("counted", True)),
                     "profile": claim_profile(claim, frame, profile),
                     "evidence": evidence, "verdict": verdict.verdict,
                     "direction": verdict.direction, "difference": verdict.difference,
                     "reason": verdict.reason, "link": claim.get("link", "")})
    return pd.DataFrame(rows, columns=COLUMNS)


# --- where the verdicts show (``answers`` renders them) -------------------------------

def inconsistencies(claims: pd.DataFrame) -> pd.DataFrame:
    """The claims on which the report contradicts itself."""
    return claims[claims["verdict"] == v.INCONSISTENT]


def counts(claims: pd.DataFrame, by: str | None = "chapter") -> pd.DataFrame:
    """Counted claims by verdict (per ``by``), every verdict a column."""
    counted = claims[claims["counted"].astype(bool)]
    if by is None:
        return counted["verdict"].value_counts().reindex(v.VERDICTS, fill_value=0).to_frame().T
    return (counted.groupby(by, sort=False)["verdict"].value_counts().unstack(fill_value=0)
            .reindex(columns=list(v.VERDICTS), fill_value=0))


def publish(chapter: str, claims: pd.DataFrame, book=None):
    """Write a chapter's judged claims for the Summary page (a build product)."""
    from .paths import book_dir
    folder = (book or book_dir()) / "_generated" / "claims"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{chapter}.csv"
    claims.to_csv(path, index=False)
    return path


def read_all(chapters: list[str], book=None) -> pd.DataFrame:
    """The judged claims of ``chapters`` (those published), in that order."""
    from .execution import note_input
    from .paths import book_dir
    folder = (book or book_dir()) / "_generated" / "claims"
    files = [folder / f"{name}.csv" for name in chapters if (folder / f"{name}.csv").is_file()]
    for f in files:
        note_input(f)
    frames = [pd.read_csv(f, keep_default_na=False, na_values=[""]) for f in files]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def chapter_box(chapter: str, frame: pd.DataFrame, proto, profile: str | None = None,
                shown: str | None = None, **kw):
    """Judge a chapter's claims on its evidence frame at its protocol's profile
    (``profile``: as the chapter shows it; ``shown``: the profiles of its runs, where
    it mixes them) and publish them for the Summary page: (judged claims, the answer
    box for under the title, the claim cards)."""
    from . import answers
    profile = profile or proto.profile
    judged = table(chapter, frame, profile=profile, at_protocol=proto.at_protocol, **kw)
    publish(chapter, judged)
    caption = (f"The report's claims and their verdicts ({shown or profile} profile); "
               f"open a claim for the reason and the evidence")
    return judged, answers.answer_box(judged, "summary.html"), answers.cards(judged, caption)
