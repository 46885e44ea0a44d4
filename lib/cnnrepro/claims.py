"""The reports' claims as data, judged against a chapter's runs by ``verdicts``.

Each report's claims live in ``reported/<chapter>.claims.yaml``: an id, the report's
words and section, a kind, the evidence (which runs, which metric) and the rule.
A chapter hands over its runs as an evidence frame: one row per run (or per sweep
point), with the labels that tell runs apart (model, batch size, sweep value...)
and the run itself; a claim's ``where`` picks rows by those labels and its
``metric`` names what to read from each run:

- ``accuracy``, ``loss``, ``f1``, ... the final test metrics;
- ``epochs.<column>.<first|last|max|min>``: the per-epoch history;
- ``updates.<column>.mean[a:b]``: the mean over updates a to b-1 (counted from 1),
  a statistic of the training curve such as "accuracy in the first 200 updates";
- ``class.<precision|recall|f1>.<label>``: one class's score on the test set;
- ``seconds.train``: training time from the run's provenance.

Kinds: ``number`` (a printed number), ``comparison`` (A vs B, optionally ``by`` a
label, every group must agree), ``trend`` (levels of a factor in the claimed
order, best first), ``best`` / ``worst`` (one level against every other),
``collapse`` (a setting ends near chance), ``consistency`` (the report's own
numbers against each other: ``check`` names a function in ``CHECKS``). Any claim
may also carry ``report_check``: where the report contradicts itself on the
claim, the verdict is "report inconsistent" and our evidence is still shown.
"""

from __future__ import annotations

import html
import math
import re
from importlib import resources
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from . import verdicts as v
from .spec import default_labels
from .store import Run

CLAIM_KINDS = ("number", "comparison", "trend", "best", "worst", "collapse", "versus",
               "speed_ratio", "consistency")
# An evidence frame's column saying whether a run follows the report's protocol, for
# a chapter whose runs mix profiles: a group of runs is judged at the protocol only
# if every run it reads does.
AT_PROTOCOL = "at_protocol"
PENDING = "retraining_pending"  # the run's model changed since it was trained

COLUMNS = ["chapter", "claim", "section", "quote", "kind", "central", "counted", "profile",
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
    return claims


# --- reading a value from a run ------------------------------------------------

_UPDATES = re.compile(r"updates\.(\w+)\.mean\[(\d*):(\d*)\]$")
_EPOCHS = re.compile(r"epochs\.(\w+)\.(first|last|max|min|mean)$")
_CLASS = re.compile(r"class\.(precision|recall|f1)\.(\w+)$")


def value_of(run: Run, metric: str) -> float:
    """One number from a run, named as in the module docstring."""
    if m := _UPDATES.match(metric):
        column, a, b = m.group(1), int(m.group(2) or 1), m.group(3)
        u = run.updates
        u = u[(u["update"] >= a) & ((u["update"] < int(b)) if b else True)]
        return float(u[column].mean()) if len(u) else math.nan
    if m := _EPOCHS.match(metric):
        col = run.epochs[m.group(1)]
        return float({"first": col.iloc[0], "last": col.iloc[-1], "max": col.max(),
                      "min": col.min(), "mean": col.mean()}[m.group(2)])
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
                     f"updates.<col>.mean[a:b], class.<precision|recall|f1>.<label>, "
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
    return [(f"{by} {level}", {**base, by: level}) for level in levels]


def _rows_read(frame: pd.DataFrame, claim: dict, where: dict) -> pd.DataFrame:
    """The rows of ``frame`` a claim's group reads: its ``a`` and ``b`` rows for a
    comparison, every row of ``where`` otherwise."""
    rows = select(frame, where)
    if claim["kind"] == "comparison":
        rows = pd.concat([select(rows, claim["a"]), select(rows, claim["b"])])
    return rows


def _judge_group(frame, claim, where, at_protocol, noise) -> v.Verdict:
    kind, metric = claim["kind"], claim.get("metric", "accuracy")
    if PENDING in frame and kind != "consistency" and \
            bool(_rows_read(frame, claim, where)[PENDING].any()):
        return v.Verdict(v.NOT_TESTED, reason=v.RETRAINING_PENDING)
    if not at_protocol and AT_PROTOCOL in frame:
        rows = _rows_read(frame, claim, where)
        at_protocol = bool(len(rows)) and bool(rows[AT_PROTOCOL].all())
    kw = {"at_protocol": at_protocol, "noise": noise}
    if kind == "number":
        return v.number(claim.get("number_kind", "accuracy"), claim["reported"],
                        values(frame, where, metric), decimals=claim["decimals"],
                        test_size=claim.get("test_size"), **kw)
    if kind == "comparison":
        a = values(frame, {**where, **claim["a"]}, claim.get("a_metric", metric))
        b = values(frame, {**where, **claim["b"]}, claim.get("b_metric", metric))
        return v.comparison(a, b, claim.get("expect", ">"), margin=claim.get("margin", 0.0), **kw)
    factor = claim.get("factor")
    if kind == "trend":
        levels = [values(frame, {**where, factor: x}, metric) for x in claim["order"]]
        if not all(levels):
            return v.Verdict(v.NOT_TESTED, reason="a level the claim names has no stored run")
        return v.trend(levels, **kw)
    if kind in ("best", "worst"):
        mine = values(frame, {**where, factor: claim["value"]}, metric)
        others = [x for x in dict.fromkeys(select(frame, where)[factor].astype(str))
                  if x != str(claim["value"])]
        expect = ">" if kind == "best" else "<"
        return v.combine([v.comparison(mine, values(frame, {**where, factor: o}, metric),
                                       expect, **kw) for o in others])
    if kind == "versus":
        return v.versus(values(frame, where, metric), claim["constant"], claim.get("expect", "<"),
                        at_protocol=at_protocol)
    if kind == "collapse":
        got = values(frame, where, metric)
        if not got:
            return v.Verdict(v.NOT_TESTED, reason="no stored run of this setting")
        if not at_protocol:
            return v.Verdict(v.NOT_TESTED, reason=v.SHORT_PROFILE)
        below = [not (x >= claim.get("below", 0.5)) for x in got]  # NaN (diverged) collapses
        verdict = v.HOLDS if all(below) else v.CONTRADICTED if not any(below) else v.INCONCLUSIVE
        return v.Verdict(verdict, reason=f"{sum(below)} of {len(got)} runs end below "
                                         f"{claim.get('below', 0.5):g}", direction="")
    raise ValueError(f"kind={kind!r} is not allowed; allowed: {list(CLAIM_KINDS)}")


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
    parts, lines = [], []
    for label, where in _groups(frame, claim):
        part = _judge_group(frame, claim, where, at_protocol, noise)
        parts.append(part)
        lines.append(_describe(label, part))
    out = v.combine(parts) if len(parts) > 1 else parts[0]
    evidence = "; ".join(lines)
    if own is not None and own.verdict == v.INCONSISTENT:
        return (v.Verdict(v.INCONSISTENT, out.difference, reason=own.reason,
                          direction=out.direction), f"{evidence} (ours)")
    return out, evidence


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
    if AT_PROTOCOL not in frame or claim["kind"] in ("consistency", "speed_ratio"):
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
                     "counted": bool(claim.get("counted", True)),
                     "profile": claim_profile(claim, frame, profile),
                     "evidence": evidence, "verdict": verdict.verdict,
                     "direction": verdict.direction, "difference": verdict.difference,
                     "reason": verdict.reason, "link": claim.get("link", "")})
    return pd.DataFrame(rows, columns=COLUMNS)


# --- where the verdicts show -----------------------------------------------------

COLOURS = {v.HOLDS: "#1a7f37", v.CONTRADICTED: "#b42318", v.INCONCLUSIVE: "#9a6700",
           v.NOT_TESTED: "#57606a", v.INCONSISTENT: "#8250df"}


def badge(verdict: str) -> str:
    return (f'<span class="verdict" style="color:{COLOURS[verdict]};font-weight:600;'
            f'white-space:nowrap">{verdict}</span>')


def box_frame(claims: pd.DataFrame) -> pd.DataFrame:
    """The chapter-opening verdict box: one line per claim (the report's words, its
    section, the verdict, what it rests on, and a link to the evidence)."""
    def evidence(row):
        # the report against itself: the explanation; our runs: the difference and
        # interval of each part, with the rule's reason where it adds to them
        if row.kind == "consistency":
            text = row.reason
        else:
            text = "; ".join(filter(None, [row.evidence, "" if str(row.reason).startswith(
                "parts:") else row.reason]))
        text = html.escape(str(text))
        return f'{text} <a href="{row.link}">evidence</a>' if row.link else text
    return pd.DataFrame({
        "section": claims["section"],
        "the report's claim": [("★ " if c else "") + html.escape(q)
                               for q, c in zip(claims["quote"], claims["central"])],
        "verdict": [badge(x) for x in claims["verdict"]],
        "why": [evidence(r) for r in claims.itertuples()]})


def inconsistencies(claims: pd.DataFrame) -> pd.DataFrame:
    """The box lines of the claims on which the report contradicts itself."""
    return box_frame(claims[claims["verdict"] == v.INCONSISTENT])


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


def chapter_box(chapter: str, frame: pd.DataFrame, proto, **kw):
    """Judge a chapter's claims on its evidence frame at its protocol's profile,
    publish them for the Summary page, and return the verdict box to display."""
    from . import report
    judged = table(chapter, frame, profile=proto.profile,
                   at_protocol=proto.at_protocol, **kw)
    publish(chapter, judged)
    shown = (report.table(box_frame(judged), f"The report's claims and their verdicts "
                          f"({proto.profile} profile; ★ central claims)", csv=judged)
             .hide(axis="index")
             .set_properties(subset=["the report's claim", "why"], **{"text-align": "left"})
             .set_properties(**{"font-size": "0.85em"}))
    return judged, shown
