"""Which pages a build executes: a small book of three trivial pages executed through
the same papermill path as the real one (a kernel start each, a few seconds)."""

from pathlib import Path

import nbformat
import pytest

from cnnrepro import execution, run
from cnnrepro.execution import Job, PageFailed

HEADER = ("# ---\n# jupyter:\n#   kernelspec:\n#     display_name: Python 3\n"
          "#     language: python\n#     name: python3\n# ---\n\n")


def page(body: str) -> str:
    return HEADER + body


@pytest.fixture
def book(tmp_path):
    """Page ``a`` writes a file, ``b`` is independent, ``c`` reads what ``a`` wrote
    (recording it as an input) and so must run after it."""
    folder = tmp_path / "book"
    (folder / "chapters").mkdir(parents=True)
    shared = tmp_path / "a-output.txt"
    (folder / "chapters" / "a.py").write_text(page(
        f'# %% [markdown]\n# # Page a\n\n# %% tags=["parameters"]\nx = 1\n\n'
        f'# %%\nfrom pathlib import Path\nPath({str(shared)!r}).write_text(str(x))\n'))
    (folder / "chapters" / "b.py").write_text(page('# %% tags=["parameters"]\ny = 2\n\n# %%\nprint(y)\n'))
    (folder / "chapters" / "c.py").write_text(page(
        f'# %%\nfrom pathlib import Path\nfrom cnnrepro.execution import note_input\n'
        f'note_input(Path({str(shared)!r}))\nprint(Path({str(shared)!r}).read_text())\n'))
    return folder


def jobs(x=1):
    return [Job("a", {"x": x}), Job("b", {}), Job("c", {}, after=("a",))]


def test_a_fresh_book_executes_every_page_and_an_unchanged_one_none(book):
    assert sorted(execution.execute_stale(book, jobs(), workers=2, log=lambda m: None)) == ["a", "b", "c"]
    assert execution.execute_stale(book, jobs(), workers=2, log=lambda m: None) == []
    record = execution.read_record(book, "c")
    assert record["seconds"] > 0 and record["params"] == {}
    assert any(p.endswith("a-output.txt") for p in record["inputs"])


def test_editing_one_pages_text_executes_that_page_only(book):
    execution.execute_stale(book, jobs(), workers=2, log=lambda m: None)
    source = book / "chapters" / "b.py"
    source.write_text(source.read_text() + "\n# %% [markdown]\n# One more sentence.\n")
    lines = []
    assert execution.execute_stale(book, jobs(), workers=2, log=lines.append) == ["b"]
    assert any("b" in line and "source changed" in line for line in lines)


def test_new_parameters_or_a_changed_input_make_pages_stale(book):
    execution.execute_stale(book, jobs(), workers=2, log=lambda m: None)
    assert execution.stale_reason(book, "a", {"x": 2}) == "parameters changed"
    # a page rerun with x=2 rewrites the file c read: c is stale, b is not
    assert execution.execute_stale(book, jobs(x=2), workers=1, log=lambda m: None) == ["a", "c"]


def test_a_page_runs_after_the_pages_it_reads(book):
    # c reads a file that only a writes: run before a, c would fail
    execution.execute_stale(book, jobs(), workers=3, log=lambda m: None)
    nb = nbformat.read(execution.notebook_path(book, "c"), as_version=4)
    assert "1" in "".join(o.get("text", "") for cell in nb.cells for o in cell.get("outputs", []))


def test_a_failing_page_names_the_cell_and_keeps_the_previous_notebook(book):
    execution.execute_stale(book, jobs(), workers=2, log=lambda m: None)
    before = execution.notebook_path(book, "b").read_text()
    source = book / "chapters" / "b.py"
    source.write_text(source.read_text() + '\n# %%\nraise ValueError("no such digit: 11")\n')
    with pytest.raises(PageFailed) as exc:
        execution.execute_stale(book, jobs(), workers=2, log=lambda m: None)
    message = str(exc.value)
    assert "page b failed in code cell 3 ('raise ValueError" in message
    assert "ValueError: no such digit: 11" in message
    assert execution.notebook_path(book, "b").read_text() == before
    assert (book / "chapters" / "b.failed.ipynb").is_file()


def test_a_kernel_that_dies_before_its_first_reply_is_started_once_more(book, monkeypatch):
    import papermill
    real, calls = papermill.execute_notebook, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(f"{execution.KERNEL_DIED}")
        return real(*args, **kwargs)
    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    record = execution.execute_page(book, "a", {})
    assert len(calls) == 2 and record["page"] == "a"
    calls.clear()

    def dead(*args, **kwargs):
        calls.append(1)
        raise RuntimeError(f"{execution.KERNEL_DIED}")
    monkeypatch.setattr(papermill, "execute_notebook", dead)
    with pytest.raises(RuntimeError, match="Kernel died"):  # twice: a real failure, raised
        execution.execute_page(book, "a", {})
    assert len(calls) == 2


def test_parameters_a_user_ran_a_page_with_survive_a_plain_build(book, monkeypatch):
    monkeypatch.setattr(run, "pages", lambda: ["a", "b"])
    monkeypatch.setattr(run, "chapters", lambda: ["a", "b"])
    monkeypatch.setattr(run, "default_params", lambda name, profile="cpu": {"x": 1} if name == "a" else {})
    monkeypatch.setattr(run, "checked_params", lambda name, params: dict(params))
    assert sorted(run.bring_up_to_date(book, "cpu", 2, log=lambda m: None)) == ["a", "b"]
    run.run_chapter("a", {"x": 5, "force": True}, book)  # force acts once, is not kept
    assert execution.read_record(book, "a")["params"] == {"x": 5}
    assert run.bring_up_to_date(book, "cpu", 2, log=lambda m: None) == []
    assert execution.read_record(book, "a")["origin"] == "user"
    run.run_chapter("a", None, book, reset=True)
    assert execution.read_record(book, "a")["params"] == {"x": 1}
    assert "a" in (book / execution.STATUS).read_text()


def test_the_status_page_lists_every_page_with_its_duration(book):
    execution.execute_stale(book, jobs(), workers=2, log=lambda m: None)
    text = execution.write_status(book, ["a", "b", "c"]).read_text()
    rows = [line for line in text.splitlines() if line.startswith("| {doc}")]
    assert len(rows) == 3
    for row, name in zip(rows, "abc"):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == f"{{doc}}`{name} <{name}>`" and float(cells[4]) >= 0
    assert "| keras |" in text or "| numpy |" in text


def test_stale_reason_of_a_page_never_executed(book):
    assert execution.stale_reason(book, "a", {"x": 1}) == "not executed yet"


def test_a_store_entry_is_fingerprinted_by_what_a_retrain_rewrites(tmp_path):
    entry = tmp_path / "entry"
    entry.mkdir()
    for name in execution.ENTRY_FILES:
        (entry / name).write_text("{}")
    first = execution.fingerprint(entry)
    os_time_only = Path(entry / "metrics.json")
    os_time_only.touch()  # a new timestamp alone is not a change
    assert execution.fingerprint(entry) == first
    (entry / "provenance.json").write_text('{"date": "later"}')
    assert execution.fingerprint(entry) != first
    (entry / "metrics.json").unlink()
    assert execution.fingerprint(entry) is None


def test_both_parameter_cells_are_removed_from_the_page(book):
    execution.execute_stale(book, [Job("a", {"x": 3})], workers=1, log=lambda m: None)
    nb = nbformat.read(execution.notebook_path(book, "a"), as_version=4)
    tagged = [c.metadata.get("tags", []) for c in nb.cells
              if {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]
    assert len(tagged) == 2 and all("remove-cell" in tags for tags in tagged)
    assert not any("remove-cell" in c.metadata.get("tags", []) for c in nb.cells
                   if not {"parameters", "injected-parameters"} & set(c.metadata.get("tags", [])))
