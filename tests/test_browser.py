"""The smoke build as a reader gets it: every page of the HTML opened in headless
Chromium (Debian's `chromium`, driven by Playwright). Every image loads, no page
shows a cell's error output, every internal link resolves, and every table the
chapters print carries its CSV download."""

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from conftest import needs_mirror

pytestmark = [pytest.mark.book, needs_mirror]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Sphinx's own pages, filled by scripts; index.html only redirects to intro.html.
SKIPPED_PAGES = {"genindex.html", "search.html", "index.html"}


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (`make browser` installs Debian's package)")
        pytest.skip("chromium is not installed (`make browser` installs Debian's package)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(built_book, browser):
    """Per HTML page of the build: what the browser saw once it had loaded."""
    html = built_book / "book" / "_build" / "html"
    seen = {}
    page = browser.new_page()
    for path in sorted(html.rglob("*.html")):
        if path.name in SKIPPED_PAGES or "_static" in path.parts:
            continue
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        seen[path] = page.evaluate("""() => ({
            images: Array.from(document.images).map(i => ({src: i.src,
                ok: i.complete && i.naturalWidth > 0})),
            errors: document.querySelectorAll('.traceback, .output.error, .output.stderr').length,
            text: document.body.innerText,
            links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
            tables: Array.from(document.querySelectorAll('.cell_output table, .output table'))
                .map(t => !!(t.closest('.cell_output, .output') || t.parentElement)
                      .querySelector('.csv-download a[download][href^="data:text/csv"]')),
        })""")
    page.close()
    return html, seen


def test_every_page_of_the_toc_was_opened(pages):
    html, seen = pages
    names = {p.relative_to(html).as_posix() for p in seen}
    for expected in ["intro.html", "chapters/summary.html", "chapters/performance.html",
                     "chapters/residual_depth.html", "chapters/dnn_convnet_resnet.html"]:
        assert expected in names


def test_every_image_loaded(pages):
    html, seen = pages
    for path, got in seen.items():
        broken = [i["src"] for i in got["images"] if not i["ok"]]
        assert not broken, f"{path.relative_to(html)}: images that did not load: {broken}"
    assert sum(len(g["images"]) for g in seen.values()) > 20


def test_no_page_shows_an_error_output(pages):
    html, seen = pages
    for path, got in seen.items():
        assert got["errors"] == 0, f"{path.relative_to(html)} shows an error or stderr output"
        assert "Traceback (most recent call last)" not in got["text"], path.relative_to(html)


def test_every_internal_link_resolves(pages):
    html, seen = pages
    ids_of = {}
    for path, got in seen.items():
        for href in got["links"]:
            url = urlparse(href)
            if url.scheme != "file":
                continue  # the web, and data: downloads
            target = Path(unquote(url.path))
            assert target.exists(), f"{path.relative_to(html)}: link to missing {target}"
            if url.fragment and target.suffix == ".html":
                if target not in ids_of:
                    ids_of[target] = target.read_text(errors="replace")
                assert f'id="{url.fragment}"' in ids_of[target], \
                    f"{path.relative_to(html)}: no #{url.fragment} in {target.name}"


def test_every_table_downloads_as_csv(pages):
    html, seen = pages
    total = 0
    for path, got in seen.items():
        missing = got["tables"].count(False)
        assert missing == 0, f"{path.relative_to(html)}: {missing} table(s) without a CSV link"
        total += len(got["tables"])
    assert total > 20
