"""Every notebook runs top to bottom, is stored without outputs, and matches its source.

Each notebook is executed by a fresh Jupyter kernel (the current environment's python3)
with TINYGAN_QUICK=1 (short training runs) and TINYGAN_SOLUTIONS=1 (the exercises' self-checks
run against the reference solutions in notebooks/solutions/), working directory notebooks/,
as a learner's would be. A failing cell fails its notebook's test with that cell's error.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import pytest

from tests.helpers import pictures_wider_than

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT_S = 300   # generous: CI machines are slow and shared


def _ids(paths):
    return [p.stem for p in paths]


def test_one_notebook_per_chapter():
    """notebooks/NN_name.ipynb goes with chapters/NN_name.md (the chapters' index names all 12)."""
    index = (ROOT / "chapters" / "README.md").read_text()
    chapters = sorted(set(re.findall(r"\]\((\d\d_[a-z0-9_]+)\.md\)", index)))
    notebooks = [p.stem for p in NOTEBOOK_PATHS]
    orphans = [n for n in notebooks if n not in chapters]
    assert not orphans, f"notebooks without a chapter of the same name: {orphans}"
    missing = [c for c in chapters if c not in notebooks]
    assert not missing, f"chapters without a notebook: {missing}"


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=_ids(NOTEBOOK_PATHS))
def test_notebook_is_stripped(path):
    nb = json.loads(path.read_text())
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {index} has stored outputs"
            assert cell.get("execution_count") is None, \
                f"{path.name} cell {index} has an execution count"


def test_notebook_sources_hold_no_control_characters():
    """A string like "$\\beta$" written without a raw prefix once put a backspace (\\b) into a
    notebook's text, where Markdown showed "eta": only newlines may appear below a space."""
    found = [(src.name, lineno) for src in sorted((NOTEBOOKS / "src").glob("*.py"))
             for lineno, line in enumerate(src.read_text(encoding="utf-8").split("\n"), 1)
             if re.search(r"[\x00-\x1f\x7f]", line)]
    assert not found, f"control characters in notebook sources (file, line): {found}"


def test_notebooks_match_their_sources():
    # load notebooks/build.py by path: "build" is also the name of a common PyPI package
    spec = importlib.util.spec_from_file_location("tinygan_notebooks_build", NOTEBOOKS / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    sources = sorted((NOTEBOOKS / "src").glob("[0-9][0-9]_*.py"))
    assert [s.stem for s in sources] == [p.stem for p in NOTEBOOK_PATHS]
    stale = [s.stem for s in sources
             if build.notebook_text(s) != (NOTEBOOKS / f"{s.stem}.ipynb").read_text()]
    assert not stale, f"run `python notebooks/build.py`: out of date: {stale}"


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=_ids(NOTEBOOK_PATHS))
def test_notebook_runs(path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient.exceptions import CellExecutionError

    # The kernel inherits this process's environment.
    monkeypatch.setenv("TINYGAN_QUICK", "1")
    monkeypatch.setenv("TINYGAN_SOLUTIONS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The notebooks hand raw arrays to matplotlib and NumPy: they are written for the NumPy
    # backend, even when the rest of the suite runs on CuPy.
    monkeypatch.setenv("TINYGAN_BACKEND", "numpy")
    # One BLAS thread: the notebooks' matrices are small, and on a busy 2-core machine
    # OpenBLAS's threads fight over the cores (measured: ~5x slower training steps).
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"{path.name}: a cell failed:\n{err}", pytrace=False)
    wide = pictures_wider_than(nb.cells)
    assert not wide, f"{path.name}: pictures wider than the course site's column: {wide}"


@pytest.mark.parametrize("value, quick", [("1", True), ("yes", True), ("", False), ("0", False),
                                          ("false", False), ("No", False)])
def test_quick_mode_reads_the_environment(value, quick, monkeypatch):
    from tinygan.run.quick import quick_mode, steps

    monkeypatch.setenv("TINYGAN_QUICK", value)
    assert quick_mode() is quick
    assert steps(1000, 10) == (10 if quick else 1000)
    with pytest.raises(ValueError, match="steps"):
        steps(-1, 10)


def test_unanswered_exercise_stops_with_a_message(monkeypatch):
    from tinygan.course import WrongAnswer, exercise

    monkeypatch.delenv("TINYGAN_SOLUTIONS", raising=False)
    assert exercise("4.4", 10.0) == 10.0                    # a right answer passes straight through
    with pytest.raises(NotImplementedError, match=r"Exercise 4\.4: replace the `\.\.\.`"):
        exercise("4.4", ...)
    with pytest.raises(WrongAnswer, match=r"Exercise 4\.4: .*used twice"):
        exercise("4.4", 8.0)                                 # the (wx)^2 term alone
    monkeypatch.setenv("TINYGAN_SOLUTIONS", "1")
    monkeypatch.syspath_prepend(str(NOTEBOOKS))              # the solutions package
    assert abs(exercise("2.1", ...) + 1.3862943611198906) < 1e-6   # the reference answer
