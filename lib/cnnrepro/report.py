"""Page rendering: the report's numbers as transcribed, glued numbers and figures,
and the book's tables (a styled frame with a CSV download). Statistics over seeds
live in ``stats``, the numbers table in ``headlines``, the provenance block in
``provenance``."""

from __future__ import annotations

import base64
import html
import re
from importlib import resources

import matplotlib.pyplot as plt
import pandas as pd
import yaml

from pandas.io.formats.style import Styler

from . import metrics, plots
from .store import Run

def reported(chapter: str) -> dict:
    """The numbers a chapter's source report printed, as transcribed in reported/."""
    text = resources.files("cnnrepro").joinpath("reported", f"{chapter}.yaml").read_text()
    return yaml.safe_load(text)


def glue(name: str, value, display: bool = False):
    """myst-nb glue that also works outside a kernel (plain python, tests)."""
    try:
        from myst_nb import glue as nb_glue
    except ImportError:  # pragma: no cover - myst-nb is part of the book extra
        return value
    nb_glue(name, value, display=display)
    return value


def glue_number(name: str, value: float, spec: str, missing: str = "not measured") -> str:
    """Glue ``value`` written by ``spec`` ('{:+.2f}'), or ``missing`` where there is no
    value (a spread of one seed, a mean of nothing): a page never says "nan"."""
    text = missing if value is None or value != value else spec.format(value)
    glue(name, text)
    return text


def counted(n: int, noun: str) -> str:
    """'15 seeds', '1 seed': a count and its noun agreeing in number."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def glue_profile(proto, shown: str | None = None, pending: int = 0) -> str:
    """Glue "profile" (its name) and "profile_note" (the name and how it departs from
    the report's protocol) for a chapter's text and captions; returns the note.
    ``shown``: where the chapter mixes profiles, which runs are at which
    (``Chapter.profiles_shown``); ``pending``: how many runs shown wait to be
    retrained (``Run.pending``), which the note says."""
    note = _profile_note(proto, shown)
    if pending:
        note += (f". {pending} of these runs were trained by an earlier version of their "
                 f"model, whose defects have since been fixed; they are shown until they "
                 f"are retrained, and no claim is judged on them")
    glue("profile", shown if shown and shown != proto.profile else proto.profile)
    glue("profile_note", note)
    return note


def _profile_note(proto, shown: str | None) -> str:
    if shown == "paper, changed":
        return ("paper profile with a setting changed: these runs are not the report's "
                "protocol, so no claim is tested on them")
    if shown and shown != proto.profile:
        note = (f"{shown}; the {proto.profile} runs deviate from the report: "
                f"{'; '.join(proto.deviations)}") if shown != "paper" else \
            "paper profile (the report's protocol)"
        return note
    if proto.profile == "paper":
        return "paper profile (the report's protocol)"
    if not proto.deviations:
        return f"{proto.profile} profile (equal to the report's protocol)"
    return f"{proto.profile} profile; deviations from the report: {'; '.join(proto.deviations)}"


def figure(name: str, fig: plt.Figure) -> None:
    """Glue a figure for a ``{glue:figure}`` directive, as the PNG the book shows
    (``plots.png``: its smallest font size recorded in it), and free it. The PNG has
    twice the pixels it is shown at (sharp on a phone's or a retina screen); being
    shown smaller than it is, it links to itself at full size (a tap on a phone)."""
    from IPython.display import Image
    glue(name, Image(data=plots.png(fig, scale=2), format="png", retina=True))
    plt.close(fig)


class Table(Styler):
    """A book table: a pandas Styler whose HTML ends with a link that downloads the
    table's data as CSV (full precision, embedded in the page, so it works offline
    and in any copy of the HTML). ``csv_data``, where set, is downloaded instead of
    the shown frame (e.g. every field at full precision behind a formatted view)."""

    csv_data: pd.DataFrame | None = None

    def _repr_html_(self) -> str:
        data = self.data if self.csv_data is None else self.csv_data
        return self.to_html() + csv_link(data, self.caption or "table")


def csv_link(frame: pd.DataFrame, caption: str) -> str:
    """An HTML link that downloads ``frame`` as ``<caption slug>.csv``."""
    slug = re.sub(r"[^a-z0-9]+", "-", caption.lower()).strip("-")[:60] or "table"
    data = base64.b64encode(frame.to_csv().encode()).decode()
    return (f'<p class="csv-download"><a download="{html.escape(slug)}.csv" '
            f'href="data:text/csv;base64,{data}">Download this table as CSV</a></p>')


def table(frame: pd.DataFrame, caption: str, precision: int = 4, csv: pd.DataFrame | None = None,
          **format_kw) -> Table:
    """A titled table for the book (a Styler with a caption and a CSV download of
    ``frame``, or of ``csv`` where given)."""
    # a row label's name is read as words ("batch size", not "batch_size"); the CSV
    # keeps the names code uses
    shown = frame.rename_axis(index=[n.replace("_", " ") if isinstance(n, str) else n
                                     for n in frame.index.names])
    styled = Table(shown)
    styled.csv_data = frame if csv is None else csv
    styled = styled.set_caption(caption).format(precision=precision, thousands=",", na_rep="–",
                                                **format_kw)
    if "formatter" not in format_kw:  # a caller's formatter wins
        styled = styled.format(number_format(frame, precision), na_rep="–")
    for level in _code_name_levels(shown.index):
        styled = styled.format_index(_breakable, axis=0, level=level)
    return (styled.map(_keep_short_on_one_line)
            .set_table_styles([{"selector": "caption",
                                "props": "caption-side: top; font-weight: bold; text-align: left"}]))


def constant_columns(frame: pd.DataFrame, keep=()) -> tuple[pd.DataFrame, dict]:
    """``frame`` without the columns (and index levels) whose value is the same in
    every row, and those values by name, for the caption: a column that never changes
    only widens a table. ``keep``: names kept whatever they hold."""
    if len(frame) < 2:
        return frame, {}
    constant = {c: frame[c].iloc[0] for c in frame.columns
                if c not in keep and frame[c].astype(str).nunique(dropna=False) == 1}
    out = frame.drop(columns=list(constant))
    if isinstance(out.index, pd.MultiIndex):
        for name in [n for n in out.index.names if n not in keep]:
            level = out.index.get_level_values(name)
            if level.astype(str).nunique(dropna=False) == 1 and out.index.nlevels > 1:
                constant[name] = level[0]
                out = out.droplevel(name)
    return out, constant


def said_once(constant: dict) -> str:
    """'batch size 32, precision float32': what ``constant_columns`` took out."""
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in constant.items())


def number_format(frame: pd.DataFrame, precision: int = 4) -> dict:
    """How each numeric column of a book table is written, by kind: counts (whole
    numbers, some of 2 or more) with thousands separators and no decimals, seconds
    (a column named "... (s)" or "... seconds") to one decimal, other numbers to
    ``precision`` decimals. A column of 1.0s (a top-5 accuracy) stays a fraction. A
    difference (a column named "difference" or "... - ...") always carries its sign."""
    out = {}
    for column in frame.columns:
        values = pd.to_numeric(frame[column], errors="coerce").dropna() \
            if frame[column].dtype.kind in "fiu" else pd.Series(dtype=float)
        if not len(values):
            continue
        name = " ".join(map(str, column)) if isinstance(column, tuple) else str(column)
        if "difference" in name or " - " in name:
            out[column] = unsigned_zero(f"{{:+,.{precision}f}}")
        elif frame[column].dtype.kind in "iu":
            out[column] = "{:,}"
        elif name.endswith("(s)") or "seconds" in name:
            out[column] = unsigned_zero("{:,.1f}")
        elif (values == values.round()).all() and (values.abs() >= 2).any():
            out[column] = unsigned_zero("{:,.0f}")
        else:
            out[column] = unsigned_zero(f"{{:,.{precision}f}}")
    return out


def unsigned_zero(spec: str):
    """A formatter for ``spec`` that writes a value rounding to zero as 0.000, never
    -0.000 or +0.000 (a sign there only says which side of zero the noise fell)."""
    def write(value) -> str:
        text = spec.format(value)
        digits = text.lstrip("+-")
        return digits if digits.strip("0.,") == "" else text
    return write


def _code_name_levels(index: pd.Index) -> list[int]:
    """The row-label levels holding code names ("resnet18_small_stem",
    "keras/tensorflow"): text only, some with an underscore or a slash."""
    levels = []
    for i in range(index.nlevels):
        values = index.get_level_values(i)
        if all(isinstance(v, str) for v in values) and any("_" in v or "/" in v for v in values):
            levels.append(i)
    return levels


def _breakable(label: str) -> str:
    """A code name that may wrap after its underscores and slashes, where a column is
    too narrow for it whole (a line break there is invisible in the text)."""
    return label.replace("_", "_<wbr>").replace("/", "/<wbr>")


def _keep_short_on_one_line(value) -> str:
    """Numbers and short texts ("0.975 ± 0.004") never wrap; sentences do."""
    return "white-space: nowrap" if len(str(value)) <= 24 else ""


def layer_table(model) -> pd.DataFrame:
    """A Keras model's layers: name, kind, output shape and parameters (model.summary
    as a table)."""
    rows = [{"layer": layer.name, "kind": type(layer).__name__,
             "output shape": "(batch, " + ", ".join(str(d) for d in layer.output.shape[1:]) + ")",
             "parameters": layer.count_params()} for layer in model.layers]
    return pd.DataFrame(rows).set_index("layer")


def per_class(run: Run, class_names: list[str]) -> pd.DataFrame:
    return metrics.per_class_report(run.test_labels, run.test_pred, class_names)


def confusion_panel(title: str, run: Run, class_names: list[str]):
    return (title, metrics.confusion(run.test_labels, run.test_pred, len(class_names)),
            per_class(run, class_names))
