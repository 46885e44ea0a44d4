"""The answer box, the claim cards and the Summary's lines (cnnrepro.answers)."""

import pandas as pd
import pytest
import yaml

from cnnrepro import answers, claims
from cnnrepro import verdicts as v


def judged(*rows):
    """Judged claims as claims.table writes them, from (id, verdict, central, plainly)."""
    return pd.DataFrame([{"chapter": "c", "claim": cid, "section": "3.2", "quote": f"quote of {cid}",
                          "kind": "comparison", "central": central, "plainly": plainly,
                          "counted": True, "profile": "paper", "evidence": "", "verdict": verdict,
                          "direction": "", "difference": 0.0, "reason": "", "link": ""}
                         for cid, verdict, central, plainly in rows])


def test_the_bottom_line_groups_the_central_claims_by_verdict_and_links_each_to_its_card():
    frame = judged(("deep", v.CONTRADICTED, True, "deeper is better"),
                   ("bs", v.HOLDS, True, "batch 64 beats 128"),
                   ("wd", v.CONTRADICTED, True, "decay hurts"),
                   ("side", v.HOLDS, False, ""),
                   ("own", v.INCONSISTENT, True, "the table adds up"))
    line = answers.bottom_line(frame, "page.html")
    assert line == ('Our runs confirm that <a href="page.html#claim-bs">batch 64 beats 128</a>. '
                    'They contradict that <a href="page.html#claim-deep">deeper is better</a> and '
                    '<a href="page.html#claim-wd">decay hurts</a>. On whether '
                    '<a href="page.html#claim-own">the table adds up</a>, the report contradicts itself.')


def test_a_claim_not_tested_is_said_so_and_never_confirmed():
    line = answers.bottom_line(judged(("a", v.NOT_TESTED, True, "x beats y")))
    assert line == 'Not yet tested at the report\'s protocol: whether <a href="#claim-a">x beats y</a>.'


def test_the_tally_counts_only_counted_claims_in_words_that_agree_in_number():
    frame = judged(("a", v.HOLDS, False, ""), ("b", v.HOLDS, False, ""),
                   ("c", v.INCONCLUSIVE, False, ""), ("d", v.CONTRADICTED, False, ""))
    frame.loc[3, "counted"] = False
    text = answers.tally(frame)
    assert text.startswith("3 claims checked: 2 <span class=\"verdict verdict-holds\">hold</span>")
    assert "1 <span class=\"verdict verdict-inconclusive\">inconclusive</span>" in text
    assert "contradicted" not in text
    assert "1 <span class=\"verdict verdict-holds\">holds</span>" in answers.tally(frame.iloc[:1])


def test_a_card_escapes_the_quote_sets_the_reports_code_as_code_and_lists_the_parts():
    frame = judged(("deep-is-better", v.CONTRADICTED, True, "deeper is better"))
    frame.loc[0, "quote"] = "taking `batch_size=64` as <x>"
    frame.loc[0, "reason"] = "Of its 2 parts: 2 contradicted.\nbatch 64: a < b\nbatch 128: c"
    frame.loc[0, "link"] = "#overall"
    html = answers.card(next(frame.itertuples()))
    assert '<details class="claim-card" id="claim-deep-is-better" open>' in html
    assert "taking <code>batch_size=64</code> as &lt;x&gt;" in html
    assert ("<p>Of its 2 parts: 2 contradicted.</p>"
            "<ul><li>batch 64: a &lt; b</li><li>batch 128: c</li></ul>") in html
    assert '<a href="#overall">the evidence</a>' in html and "★ central claim" in html


def test_the_summary_lists_each_claim_once_linking_to_its_card_in_the_chapter():
    frame = judged(("a", v.HOLDS, True, "x"), ("b", v.INCONCLUSIVE, False, ""))
    block = str(answers.summary_block(frame, "Report 2", "residual_depth.html"))
    assert block.count('href="residual_depth.html#claim-a"') == 2  # bottom line and its line
    assert block.count('href="residual_depth.html#claim-b"') == 1
    assert '<a href="residual_depth.html">Report 2</a>' in block


def test_every_central_claim_of_every_report_says_itself_plainly():
    for chapter in ("residual_depth", "digit_pairs", "vgg_resnet", "cnn_sweeps", "dnn_convnet_resnet"):
        central = [c for c in claims.load(chapter) if c.get("central")]
        assert central and all(c["plainly"] and not c["plainly"].endswith(".") for c in central)


def test_a_claim_missing_its_plain_clause_or_its_printed_decimals_is_refused(tmp_path, monkeypatch):
    (tmp_path / "reported").mkdir()
    (tmp_path / "reported" / "x.claims.yaml").write_text(yaml.safe_dump(
        [{"id": "a", "quote": "q", "section": "1", "kind": "comparison", "central": True}]))
    monkeypatch.setattr(claims.resources, "files", lambda package: tmp_path)
    with pytest.raises(ValueError, match="central claim 'a' lacks 'plainly'"):
        claims.load("x")
    (tmp_path / "reported" / "x.claims.yaml").write_text(yaml.safe_dump(
        [{"id": "b", "quote": "q", "section": "1", "kind": "comparison", "effect": 0.02}]))
    with pytest.raises(ValueError, match="'b' gives an effect without effect_decimals"):
        claims.load("x")
