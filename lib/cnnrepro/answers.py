"""How the judged claims (``claims.table``) reach a reader: the answer box under a
chapter's title (its central claims in words, grouped by verdict, and a tally), one
card per claim (the report's words, the verdict, the reason, a link to the evidence)
and the Summary's block per report (the same answer, then one line per claim linking
to its card). Cards stack at any width, so a phone reads them without scrolling
sideways. Every sentence here is built from the judged claims, so it changes when
the runs do."""

from __future__ import annotations

import html
import re

import pandas as pd

from . import verdicts as v

# What our runs do to a central claim, as the start of a sentence about it; the
# claim's ``plainly`` clause follows ("... that a deeper network is more accurate").
LEADS = {v.HOLDS: "confirm that", v.CONTRADICTED: "contradict that",
         v.INCONCLUSIVE: "leave open whether"}
CLASSES = {verdict: "verdict-" + verdict.replace(" ", "-") for verdict in v.VERDICTS}


class Html:
    """HTML a notebook cell shows as it is (``_repr_html_``), without IPython."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def badge(verdict: str, words: str | None = None) -> str:
    """The verdict (or ``words`` for it) in its colour (book/_static/custom.css,
    light and dark)."""
    return f'<span class="verdict {CLASSES[verdict]}">{html.escape(words or verdict)}</span>'


def anchor(claim_id: str) -> str:
    """The id of a claim's card on its chapter's page."""
    return "claim-" + re.sub(r"[^a-z0-9]+", "-", claim_id.lower()).strip("-")


def quoted(text: str) -> str:
    """The report's words, escaped, its inline code (`batch_size=64`) set as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(text)))


def _clauses(rows: pd.DataFrame, page: str) -> str:
    """'A, B and C', each clause linking to its claim's card."""
    links = [f'<a href="{page}#{anchor(r.claim)}">{html.escape(r.plainly)}</a>'
             for r in rows.itertuples()]
    return links[0] if len(links) == 1 else ", ".join(links[:-1]) + " and " + links[-1]


def bottom_line(claims: pd.DataFrame, page: str = "") -> str:
    """Two or three sentences on the report's central claims, grouped by verdict:
    'Our runs contradict that A. They leave open whether B.' (HTML; each clause
    links to its card on ``page``)."""
    central = claims[claims["central"].astype(bool)]
    sentences = []
    for verdict in v.VERDICTS:
        rows = central[central["verdict"] == verdict]
        if rows.empty:
            continue
        clauses = _clauses(rows, page)
        if verdict in LEADS:
            subject = "They" if any(w in LEADS for w in _said(central, verdict)) else "Our runs"
            sentences.append(f"{subject} {LEADS[verdict]} {clauses}.")
        elif verdict == v.NOT_TESTED:
            sentences.append(f"Not yet tested at the report's protocol: whether {clauses}.")
        else:
            sentences.append(f"On whether {clauses}, the report contradicts itself.")
    return " ".join(sentences)


def _said(central: pd.DataFrame, verdict: str) -> list[str]:
    """The verdicts of central claims said before ``verdict``'s sentence."""
    before = v.VERDICTS[:v.VERDICTS.index(verdict)]
    return [w for w in before if (central["verdict"] == w).any()]


def tally(claims: pd.DataFrame) -> str:
    """'27 claims checked: 8 hold · 5 contradicted ...', counted claims only (HTML)."""
    counted = claims[claims["counted"].astype(bool)]
    counts = counted["verdict"].value_counts()
    parts = [f"{counts[w]} {badge(w, 'hold' if w == v.HOLDS and counts[w] > 1 else w)}"
             for w in v.VERDICTS if counts.get(w, 0)]
    noun = "claim" if len(counted) == 1 else "claims"
    return f"{len(counted)} {noun} checked: " + " · ".join(parts)


def answer_box(claims: pd.DataFrame, summary_link: str = "") -> Html:
    """The box under a chapter's title: the bottom line on the central claims, the
    tally, and a link to the claims below (and to the Summary, ``summary_link``)."""
    more = '<a href="#the-report-s-claims-judged">every claim, with its reason</a>'
    if summary_link:
        more += f'; <a href="{summary_link}">all five reports</a>'
    return Html(f'<div class="answer-box"><p class="answer-title">The answer in short</p>'
                f"<p>{bottom_line(claims)}</p>"
                f'<p class="answer-tally">{tally(claims)}. See {more}.</p></div>')


def _reason(text: str) -> str:
    """A reason as HTML: its first line, then any parts (one per line) as a list."""
    lines = [html.escape(line) for line in str(text).split("\n") if line.strip()]
    if not lines:
        return ""
    parts = "".join(f"<li>{line}</li>" for line in lines[1:])
    return f"<p>{lines[0]}</p>" + (f"<ul>{parts}</ul>" if parts else "")


def card(row) -> str:
    """One claim, folded to a line a reader scans (the verdict, the section, whether it
    is central, the report's words) that opens on the reason (or, where the rule gives
    none, what the claim rests on) and the evidence link. Central claims start open."""
    head = [badge(row.verdict), f"section {html.escape(str(row.section))}"]
    if row.central:
        head.append("★ central claim")
    if not row.counted:
        head.append("not counted")
    why = _reason(row.reason if str(row.reason).strip() else row.evidence)
    if row.link:
        why += f'<p class="claim-link"><a href="{row.link}">the evidence</a></p>'
    return (f'<details class="claim-card" id="{anchor(row.claim)}"{" open" if row.central else ""}>'
            f'<summary><span class="claim-head">{" · ".join(head)}</span>'
            f'<span class="claim-quote">“{quoted(row.quote)}”</span></summary>'
            f'<div class="claim-why">{why}</div></details>')


def cards(claims: pd.DataFrame, caption: str, csv: pd.DataFrame | None = None) -> Html:
    """Every claim as a card, under ``caption`` (which says how to open one), with a
    CSV download of the claims."""
    from .report import csv_link
    body = "".join(card(r) for r in claims.itertuples())
    return Html(f'<div class="claim-cards"><p class="claim-caption">{html.escape(caption)}</p>'
                f"{body}</div>" + csv_link(claims if csv is None else csv, caption))


def claim_lines(claims: pd.DataFrame, page: str = "") -> Html:
    """Each claim once, as one line (verdict, the report's words) linking to its card
    on ``page`` (default: this page)."""
    lines = "".join(
        f'<li>{badge(r.verdict)} {"★ " if r.central else ""}'
        f'<a href="{page}#{anchor(r.claim)}">“{quoted(r.quote)}”</a></li>'
        for r in claims.itertuples())
    return Html(f'<ul class="claim-lines">{lines}</ul>')


def summary_block(claims: pd.DataFrame, title: str, page: str) -> Html:
    """One report on the Summary page: its answer (linking into the chapter, ``page``)
    and each of its claims once (``claim_lines``)."""
    return Html(f'<div class="answer-box"><p class="answer-title">'
                f'<a href="{page}">{html.escape(title)}</a></p>'
                f"<p>{bottom_line(claims, page)}</p>"
                f'<p class="answer-tally">{tally(claims)}.</p></div>'
                + str(claim_lines(claims, page)))
