"""The notebooks' committed full runs (notebooks/full/, made by notebooks/run_full.py) and how
the course site uses them (book/build.py).

A full run must be current: stamped with the hash of the source it was executed from, which
must be the source as it is now. Editing a notebook's source without running it again fails
here, naming the command that fixes it. A full run must also be what it claims: the cells of
its source, every code cell that the site runs executed, no error output.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.helpers import NOTEBOOK_PICTURE_MAX_PX, pictures_wider_than

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_full = _load("notebooks_run_full", NOTEBOOKS / "run_full.py")
book = _load("book_build", ROOT / "book" / "build.py")
FULL_RUNS = sorted(run_full.FULL.glob("*.ipynb"))


def test_every_full_run_belongs_to_a_notebook():
    assert {p.stem for p in FULL_RUNS} <= set(run_full.names())


@pytest.mark.parametrize("path", FULL_RUNS, ids=[p.stem for p in FULL_RUNS])
def test_a_full_runs_pictures_fit_the_sites_column(path):
    """The site shows these pictures: wider than its column, a row of panels is shrunk until
    its titles cannot be read (issue 31). Stack or wrap panels instead."""
    wide = pictures_wider_than(json.loads(path.read_text())["cells"])
    assert not wide, f"{path.name}: wider than {NOTEBOOK_PICTURE_MAX_PX} px: {wide}"


@pytest.mark.parametrize("path", FULL_RUNS, ids=[p.stem for p in FULL_RUNS])
def test_a_committed_full_run_is_current(path):
    state = run_full.status(path.stem)
    assert state == "current", (
        f"notebooks/full/{path.name} is {state}: its source changed since it was executed; "
        f"run: python notebooks/run_full.py {path.stem}")


@pytest.mark.parametrize("path", FULL_RUNS, ids=[p.stem for p in FULL_RUNS])
def test_a_full_run_holds_its_sources_cells_executed(path):
    nbformat = pytest.importorskip("nbformat")
    build = _load("notebooks_build", NOTEBOOKS / "build.py")
    expected = build.build_notebook(NOTEBOOKS / "src" / f"{path.stem}.py")
    run = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    assert [(c.cell_type, c.source) for c in run.cells] == \
        [(c.cell_type, c.source) for c in expected.cells], "cells differ from the source"
    assert run.metadata[run_full.STAMP]["quick"] is False
    for cell in run.cells:
        if cell.cell_type != "code":
            continue
        if book.SELF_CHECK.search(cell.source):                 # homework: shown, not run
            assert cell.execution_count is None and not cell.outputs, cell.source[:60]
            continue
        assert cell.execution_count is not None, f"not executed: {cell.source[:60]!r}"
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source[:60]


def test_the_stamp_follows_the_source(tmp_path, monkeypatch):
    """A full run is current for the source it was run from and stale after any edit."""
    src, full = tmp_path / "src", tmp_path / "full"
    src.mkdir()
    full.mkdir()
    (src / "99_demo.py").write_text("# %%\nprint(1)\n")
    monkeypatch.setattr(run_full, "SOURCES", src)
    monkeypatch.setattr(run_full, "FULL", full)
    assert run_full.status("99_demo") == "missing"
    stamp = {run_full.STAMP: {"source_sha256": run_full.source_hash("99_demo")}}
    (full / "99_demo.ipynb").write_text(json.dumps({"metadata": stamp, "cells": []}))
    assert run_full.status("99_demo") == "current"
    (src / "99_demo.py").write_text("# %%\nprint(2)\n")
    assert run_full.status("99_demo") == "stale"
    assert run_full.main(["--check"]) == 1


def test_the_site_shows_a_current_full_run_and_says_when_runs_are_quick(monkeypatch):
    names = run_full.names()
    notebook, how = book.notebook_for_site(names[0], quick=True)
    assert how == "quick run"
    assert notebook["cells"][1]["source"] == book.QUICK_NOTE      # under the title
    assert "TINYGAN_QUICK=1" in book.QUICK_NOTE
    current = [p.stem for p in FULL_RUNS if run_full.status(p.stem) == "current"]
    if current:
        notebook, how = book.notebook_for_site(current[0], quick=False)
        assert how == "committed full run"
        assert notebook["metadata"]["mystnb"] == {"execution_mode": "off"}
        assert any(cell.get("outputs") for cell in notebook["cells"])
    monkeypatch.setattr(run_full, "status", lambda name: "stale")
    monkeypatch.setattr(book, "_full_runs", lambda: run_full)
    notebook, how = book.notebook_for_site(names[0], quick=False)
    assert how == "full run now" and "mystnb" not in notebook["metadata"]
