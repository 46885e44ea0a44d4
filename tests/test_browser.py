"""The smoke build as a reader gets it: every page of the HTML opened in headless
Chromium (Debian's `chromium`, driven by Playwright) in a 1400-pixel-wide window, and
again at a phone's 390 pixels (nothing scrolls sideways there but a table in its own
box; every figure opens at full size on a tap and says its caption as alt text).
Every image loads, no page shows a cell's error output, every internal link
resolves, every table the chapters print carries its CSV download, and the layout
holds: nothing wider than the text column, no parameter cell, no literal backticks
outside code, no "nan" or "None" in a table, glued text in the weight of its
sentence, no figure whose text is shown smaller than 9 pt. Each page is
screenshotted into ``screens/`` beside the HTML, so a failure can be looked at.

``BOOK_HTML=book/_build/html`` runs the same checks on a book already built (the
full book from the committed store: ``make check-book``)."""

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


WINDOW = {"width": 1400, "height": 1000}
LAPTOP = {"width": 1280, "height": 800}

# What a reader must not meet, found in the page as rendered: elements wider than
# the article column (a table or listing that scrolls counts: its content is cut
# off until the reader scrolls sideways), parameter cells, literal backticks in
# text outside code, "nan"/"None" in a table cell.
LAYOUT = """() => {
    const article = document.querySelector('article.bd-article') || document.body;
    const right = article.getBoundingClientRect().right + 1;
    const name = el => el.tagName.toLowerCase() + ': ' +
        ((el.querySelector && el.querySelector('caption')) ? el.querySelector('caption').innerText
         : (el.innerText || el.getAttribute('src') || '')).trim().slice(0, 80);
    const visible = el => el.getClientRects().length > 0 && !el.closest('details:not([open])');
    // a table may scroll in the box that says so (book/_static/reader.js)
    const boxed = el => el.parentElement.classList.contains('scroll-x')
        && el.parentElement.previousElementSibling
        && el.parentElement.previousElementSibling.classList.contains('scroll-note');
    const candidates = Array.from(article.querySelectorAll('table, pre, img, figure, .scroll-x'))
        .filter(visible);
    const wide = candidates.filter(el => !boxed(el))
        .filter(el => el.getBoundingClientRect().right > right
                || !el.classList.contains('scroll-x') && el.scrollWidth > el.clientWidth + 1)
        .map(name);
    const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
    const ticks = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (n.textContent.includes('`') && !n.parentElement.closest('code, pre, script, style')
            && n.parentElement.getClientRects().length > 0)
            ticks.push(n.textContent.trim().slice(0, 80));
    }
    return {
        wide: Array.from(new Set(wide)),
        scrolling: candidates.filter(boxed).map(name),
        bold_glue: Array.from(article.querySelectorAll('span.pasted-text')).filter(
            el => getComputedStyle(el).fontWeight !== getComputedStyle(el.parentElement).fontWeight
        ).map(el => el.innerText.slice(0, 60)),
        parameters: article.querySelectorAll('.tag_parameters, .tag_injected-parameters').length,
        backticks: ticks,
        // a stacked table hides its header: a row label must say its level's name
        labelled: article.querySelectorAll('table.stacked thead th.index_name').length,
        unnamed: Array.from(article.querySelectorAll('table.stacked')).filter(
            t => t.querySelector('thead th.index_name') && Array.from(
                t.querySelectorAll('tbody th')).some(th => !th.dataset.label)).map(name),
        missing: Array.from(article.querySelectorAll('td')).filter(
            td => ['nan', 'NaN', 'None'].includes(td.innerText.trim())).map(
            td => name(td.closest('table'))),
    };
}"""


def html_folder(built_book) -> Path:
    return Path(os.environ["BOOK_HTML"]) if os.environ.get("BOOK_HTML") else \
        built_book / "book" / "_build" / "html"


@pytest.fixture(scope="module")
def built_html(request):
    """The HTML to read: ``BOOK_HTML``, else the smoke build (built only then)."""
    if os.environ.get("BOOK_HTML"):
        return html_folder(None)
    return html_folder(request.getfixturevalue("built_book"))


def visit(browser, html: Path, viewport: dict, prefix: str, look, full_page: bool) -> dict:
    """Open every HTML page of ``html`` at ``viewport``: per page, ``look(page)`` and its
    height once it had loaded; a screenshot of each in ``screens/`` and the heights in
    ``screens/<prefix>page-heights.csv``."""
    screens = html.parent / "screens"
    screens.mkdir(exist_ok=True)
    seen = {}
    page = browser.new_page(viewport=viewport)
    for path in sorted(html.rglob("*.html")):
        if path.name in SKIPPED_PAGES or "_static" in path.parts:
            continue
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(screens / (prefix + path.relative_to(html).as_posix()
                                            .replace("/", "-").removesuffix(".html") + ".png")),
                        full_page=full_page)
        seen[path] = {**look(page),
                      "height": page.evaluate("() => document.documentElement.scrollHeight")}
    page.close()
    (screens / f"{prefix}page-heights.csv").write_text("page,height_px\n" + "".join(
        f"{p.relative_to(html).as_posix()},{g['height']}\n" for p, g in seen.items()))
    return seen


def desktop_look(page) -> dict:
    """What the desktop checks read from a loaded page."""
    return {"layout": page.evaluate(LAYOUT)} | page.evaluate("""() => ({
            images: Array.from(document.images).map(i => ({src: i.src,
                ok: i.complete && i.naturalWidth > 0, natural: i.naturalWidth,
                // an image in a closed dropdown is shown, once opened, at most the column wide
                shown: i.getClientRects().length ? i.getBoundingClientRect().width
                    : Math.min(i.naturalWidth, (document.querySelector('article.bd-article')
                                                || document.body).clientWidth),
                figure: !!i.closest('figure')})),
            errors: document.querySelectorAll('.traceback, .output.error, .output.stderr').length,
            text: document.body.innerText,
            links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
            tables: Array.from(document.querySelectorAll('.cell_output table, .output table'))
                .map(t => !!(t.closest('.cell_output, .output') || t.parentElement)
                      .querySelector('.csv-download a[download][href^="data:text/csv"]')),
        })""")


@pytest.fixture(scope="module")
def pages(built_html, browser):
    """Per HTML page of the build: what the browser saw once it had loaded, and a
    screenshot of the whole page in ``screens/``."""
    return built_html, visit(browser, built_html, WINDOW, "", desktop_look, full_page=True)


def test_nothing_is_wider_than_the_text_column(pages):
    html, seen = pages
    wide = {p.relative_to(html).as_posix(): g["layout"]["wide"] for p, g in seen.items()
            if g["layout"]["wide"]}
    assert not wide, f"wider than the column (or scrolling sideways): {wide}"


@pytest.fixture(scope="module")
def laptop_pages(built_html, browser):
    """Per HTML page: its layout at a laptop's 1280 px, with both sidebars shown."""
    return built_html, visit(browser, built_html, LAPTOP, "laptop-",
                             lambda page: {"layout": page.evaluate(LAYOUT)}, full_page=False)


def test_on_a_laptop_no_table_scrolls_in_its_box(laptop_pages):
    """A table a little too wide closes up its cells (reader.js); none should need
    its scroll box at a laptop's width."""
    html, seen = laptop_pages
    boxed = {p.relative_to(html).as_posix(): g["layout"]["scrolling"] for p, g in seen.items()
             if g["layout"]["scrolling"]}
    assert not boxed, f"tables that scroll sideways at {LAPTOP['width']} px: {boxed}"


def test_no_parameter_cell_backtick_or_missing_value_is_shown(pages):
    html, seen = pages
    for path, got in seen.items():
        page, layout = path.relative_to(html), got["layout"]
        assert layout["parameters"] == 0, f"{page}: a parameters cell is visible"
        assert not layout["backticks"], f"{page}: literal backticks in {layout['backticks']}"
        assert not layout["missing"], f"{page}: nan/None in the table(s) {layout['missing']}"
        assert not layout["bold_glue"], f"{page}: glued text set apart in bold: {layout['bold_glue']}"


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


def test_every_figure_is_legible_at_the_width_it_is_shown(pages):
    """Every figure's text, as the page shows its PNG, is at least plots.MIN_FONT_PT
    (CSS points), from the smallest font size the PNG records (report.figure)."""
    from PIL import Image

    from cnnrepro import plots
    html, seen = pages
    checked = 0
    for path, got in seen.items():
        for image in got["images"]:
            if not image["figure"] or not image["ok"]:
                continue
            png = Image.open(Path(unquote(urlparse(image["src"]).path)))
            assert plots.FONT_KEY in png.text, \
                f"{path.relative_to(html)}: {image['src']} was not glued by report.figure"
            shown = plots.shown_points(float(png.text[plots.FONT_KEY]), float(png.text[plots.DPI_KEY]),
                                       image["natural"], image["shown"])
            assert shown >= plots.MIN_FONT_PT - 0.05, \
                f"{path.relative_to(html)}: {image['src']} shows text at {shown:.1f} pt"
            checked += 1
    assert checked > 10


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


PHONE = {"width": 390, "height": 844}
FIGURES = """() => Array.from(document.querySelectorAll('article.bd-article figure img')).map(i => ({
    src: i.getAttribute('src'), alt: i.getAttribute('alt') || '',
    link: (i.closest('a') || {}).href || '',
    shown: i.getBoundingClientRect().width, natural: i.naturalWidth}))"""


# The page's own words, as shown: code, listings and the reports' quoted words left out.
PROSE = """() => {
    const article = (document.querySelector('article.bd-article') || document.body).cloneNode(true);
    article.querySelectorAll('pre, code, .claim-quote, script, style, details:not([open])')
        .forEach(el => el.remove());
    return article.textContent;
}"""
# Machine words a reader should never meet in the page's own words.
MACHINE = {"seed(s)": r"\bseed\(s\)", "+dirty": r"\+dirty", "device string": r"\b[cg]pu:\d",
           "Python dict": r"\{'", "nan": r"\bnan\b", "minus zero": r"(?<![\d.])-0\.0+(?![\d])",
           "force flag": r"\bforce: (True|False)"}


def phone_look(page) -> dict:
    """What the phone checks read from a loaded page: the layout checks, whether the
    page itself scrolls sideways, its figures and its own words."""
    return {"layout": page.evaluate(LAYOUT), "figures": page.evaluate(FIGURES),
            "prose": page.evaluate(PROSE),
            "sideways": page.evaluate("() => document.documentElement.scrollWidth"
                                      " - document.documentElement.clientWidth")}


@pytest.fixture(scope="module")
def phone_pages(built_html, browser):
    """Per HTML page at a phone's width: ``phone_look``, and a screenshot of its top
    in ``screens/``."""
    return built_html, visit(browser, built_html, PHONE, "phone-", phone_look, full_page=False)


def test_on_a_phone_no_page_scrolls_sideways_and_nothing_leaves_the_column(phone_pages):
    html, seen = phone_pages
    sideways = {p.relative_to(html).as_posix(): g["sideways"] for p, g in seen.items()
                if g["sideways"] > 1}
    assert not sideways, f"pages that scroll sideways at 390 px (by px): {sideways}"
    wide = {p.relative_to(html).as_posix(): g["layout"]["wide"] for p, g in seen.items()
            if g["layout"]["wide"]}
    assert not wide, f"wider than the column at 390 px: {wide}"


def test_on_a_phone_a_stacked_rows_label_names_its_column(phone_pages):
    html, seen = phone_pages
    assert sum(g["layout"]["labelled"] for g in seen.values()) > 10  # the check has work
    unnamed = {p.relative_to(html).as_posix(): g["layout"]["unnamed"] for p, g in seen.items()
               if g["layout"]["unnamed"]}
    assert not unnamed, f"stacked rows whose label lacks its name: {unnamed}"


def test_on_a_phone_every_figure_opens_full_size_and_says_its_caption(phone_pages):
    html, seen = phone_pages
    checked = 0
    for path, got in seen.items():
        for figure in got["figures"]:
            where = f"{path.relative_to(html)}: {figure['src']}"
            assert figure["link"].endswith(".png"), f"{where} does not open at full size"
            assert len(figure["alt"]) > 20 and not figure["alt"].endswith(".png"), \
                f"{where}: alt text {figure['alt']!r} is not its caption"
            assert figure["natural"] >= 1.5 * figure["shown"], f"{where} is not sharp on a phone"
            checked += 1
    assert checked > 10


def test_no_machine_words_in_the_pages_own_words(phone_pages):
    import re
    html, seen = phone_pages
    found = {}
    for path, got in seen.items():
        if path.name == "reliability.html":  # quotes the error messages it provokes
            continue
        hits = {what: re.findall(pattern, got["prose"]) for what, pattern in MACHINE.items()}
        hits = {what: found_ for what, found_ in hits.items() if found_}
        if hits:
            found[path.relative_to(html).as_posix()] = hits
    assert not found, f"machine words on the page: {found}"


# The aim is 12,000 px a chapter on a 1400-px desktop; NTU's chapter, which holds the
# report's twelve figures, is about 21,000 today. This bound keeps pages from growing.
MAX_PAGE_PX = 22_000


def test_no_page_grows_past_the_height_bound_on_a_desktop(pages):
    html, seen = pages
    tall = {p.relative_to(html).as_posix(): g["height"] for p, g in seen.items()
            if g["height"] > MAX_PAGE_PX}
    assert not tall, f"pages taller than {MAX_PAGE_PX:,} px at 1400 px: {tall}"
