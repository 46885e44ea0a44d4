"""End to end: every chapter executed by papermill in the smoke profile, then
`jupyter-book build` on the result; no cell may raise and every figure and table
of every chapter must be in the HTML."""

import json
import re
import subprocess
import sys

import nbformat
import pytest

from cnnrepro import run
from conftest import CALL_LOG, ROOT, needs_mirror

pytestmark = [pytest.mark.book, needs_mirror]


def test_every_page_executed_without_errors(built_book):
    for name in run.pages():
        nb = nbformat.read(built_book / "book" / "chapters" / f"{name}.ipynb", as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors[:1]}"


def test_smoke_runs_went_to_the_smoke_store(built_book):
    assert any((built_book / ".cache" / "smoke-results").rglob("config.json"))
    assert not any((built_book / "results").rglob("config.json"))


@pytest.mark.parametrize("name", run.chapters())
def test_every_figure_and_table_is_in_the_html(built_book, name):
    source = (ROOT / "book" / "chapters" / f"{name}.py").read_text()
    html = (built_book / "book" / "_build" / "html" / "chapters" / f"{name}.html").read_text()
    figures = re.findall(r"\{glue:figure\} (\w+)\n# :name: ([\w-]+)", source)
    assert figures, "a chapter without figures?"
    for glue_name, anchor in figures:
        block = re.search(rf'<figure[^>]*id="{anchor}".*?</figure>', html, re.S)
        assert block, f"figure {anchor} missing from the HTML"
        img = re.search(r'<img[^>]+src="([^"]+\.png)"', block.group(0))
        assert img, f"figure {anchor} has no image"
        assert (built_book / "book" / "_build" / "html" / "chapters" / img.group(1)).is_file()
    for caption in re.findall(r'"(Table[^"]*)"', source):
        assert caption.split(".")[0] in html, f"{caption} missing from the HTML"
    assert "Provenance" in html


def test_intro_summary_lists_each_chapter(built_book):
    html = (built_book / "book" / "_build" / "html" / "intro.html").read_text()
    for name in run.chapters():
        assert f"chapters/{name}" in html
    assert "reproduced" in html


def test_a_diverging_run_is_shown_and_its_chapter_completes(built_book):
    html = (built_book / "book" / "_build" / "html" / "chapters" / "cnn_sweeps.html").read_text()
    assert "diverged: NaN loss at update" in html  # the smoke profile's learning rate 1e12


def test_the_plain_build_executed_every_page_once_with_a_line_each(built_book):
    log = (built_book / "build.log").read_text()
    for name in run.pages():
        started = [line for line in log.splitlines() if line.startswith(f"cnnrepro: {name} (")]
        assert len(started) == 2, f"{name}: {started}"  # "executing, ..." and its end line
        assert "Executing Cell" not in log


def test_a_second_build_with_nothing_changed_executes_nothing(built_book):
    assert run.bring_up_to_date(built_book / "book", "smoke", log=lambda m: None) == []


def test_the_status_page_lists_every_page_with_a_duration(built_book):
    html = (built_book / "book" / "_build" / "html" / "chapters" / "execution.html").read_text()
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    for name in run.pages():
        row = next((r for r in rows if f"{name}.html" in r), None)
        assert row, f"{name} missing from the status page"
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        assert cells[1] in ("smoke", "none (trains nothing)") and float(cells[4]) > 0, cells


@pytest.mark.parametrize("name", run.chapters())
def test_every_claims_evidence_link_leads_to_a_place_on_its_page(built_book, name):
    from cnnrepro import claims
    page = (built_book / "book" / "_build" / "html" / "chapters" / f"{name}.html").read_text()
    ids = set(re.findall(r'id="([^"]+)"', page))
    missing = [c["link"] for c in claims.load(name) if c["link"][1:] not in ids]
    assert not missing, missing


def model_calls(built_book) -> list[dict]:
    path = built_book / CALL_LOG
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_pages_call_models_only_to_train_runs_or_compute_analyses(built_book):
    calls = model_calls(built_book)
    makers = {c["by"] for c in calls}
    assert {"training", "analysis"} <= makers, makers  # the probe saw the smoke runs made
    by_pages = [c for c in calls if c["by"] == "page"]
    assert not by_pages, f"pages computed with a model themselves: {by_pages[:5]}"


# Pages that read analyses of their runs (cnnrepro.analyses): batch-norm re-scoring
# (both) and the extractor probe (digit_pairs); UC's page reads them as Report 2's does
ANALYSING_PAGES = ["residual_depth", "digit_pairs"]


def record(book, name) -> dict:
    return nbformat.read(book / "chapters" / f"{name}.ipynb", as_version=4).metadata["cnnrepro"]


def test_a_page_whose_runs_and_analyses_are_stored_loads_no_weights_and_calls_no_model(built_book):
    book = built_book / "book"
    before = len(model_calls(built_book))
    procs = {name: subprocess.Popen(  # executed again, side by side
        [sys.executable, "-m", "cnnrepro.execution", str(book), name,
         json.dumps(record(book, name)["params"]), "default"],
        cwd=built_book, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for name in ANALYSING_PAGES}
    for name, proc in procs.items():
        _, err = proc.communicate()
        assert proc.returncode == 0, f"{name}: {err[-2000:]}"
    for name in ANALYSING_PAGES:
        made = {k: record(book, name)[k] for k in ("runs_trained", "analyses_computed", "weights_loaded")}
        assert made == {"runs_trained": 0, "analyses_computed": 0, "weights_loaded": 0}, (name, made)
        assert any("/analyses/" in path for path in record(book, name)["inputs"]), name
    assert model_calls(built_book)[before:] == []
