"""Sphinx extension: ``jupyter-book build book/`` executes what it needs.

Listed in ``book/_config.yml`` (``sphinx.extra_extensions``). When the builder
starts, before Sphinx looks for pages, every page whose executed notebook is
missing or stale is executed through papermill (``run.bring_up_to_date``), several
at a time, from the results store; Jupyter Book's own executor stays off. The
build's profile is ``CNNREPRO_PROFILE`` (default cpu), the pages executed at once
``CNNREPRO_JOBS`` (default: the cores). A figure's image takes its caption as
its alt text, which a screen reader reads and which shows where the image fails.
"""

from __future__ import annotations

import os
from pathlib import Path

from sphinx.errors import ExtensionError


def execute_stale_pages(app) -> None:
    from . import execution, protocol, run
    book = Path(app.srcdir)
    # The book being built is the project: its store, its generated pages.
    os.environ.setdefault("CNNREPRO_ROOT", str(book.parent))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        run.bring_up_to_date(book, log=lambda line: print(f"cnnrepro: {line}", flush=True))
    except (execution.PageFailed, protocol.ProtocolError) as exc:
        raise ExtensionError(str(exc)) from None


def caption_as_alt_text(app, doctree, docname) -> None:
    from docutils import nodes
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if captions:
            for image in figure.findall(nodes.image):
                image["alt"] = " ".join(captions[0].astext().split())


def setup(app):
    app.connect("builder-inited", execute_stale_pages)
    app.connect("doctree-resolved", caption_as_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
