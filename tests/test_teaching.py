"""A course a teacher can hand out (issue 32): licences, checks that hint without telling, the
release (student, instructor, autograder editions) and the grader.

The grader test runs real Jupyter kernels on two small notebooks (01 and 04) for four
students, in quick mode: about a minute on a busy 2-core machine.
"""
from __future__ import annotations

import ast
import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOK_PATHS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def editions():
    sys.path.insert(0, str(BOOK))
    try:
        import editions as module
        yield module
    finally:
        sys.path.remove(str(BOOK))


# --- licences ---------------------------------------------------------------------------------
def test_licence_files_and_where_they_are_stated():
    mit = (ROOT / "LICENSE").read_text()
    assert mit.startswith("MIT License") and "the tinygan authors" in mit
    content = (ROOT / "LICENSE-CONTENT").read_text()
    for part in ("Creative Commons Attribution 4.0 International Public License",
                 "Section 1 -- Definitions.", "Section 8 -- Interpretation.",
                 "https://creativecommons.org/licenses/by/4.0/"):
        assert part in content
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = { text = "MIT" }' in pyproject
    readme = (ROOT / "README.md").read_text()
    assert "[LICENSE](LICENSE)" in readme and "[LICENSE-CONTENT](LICENSE-CONTENT)" in readme
    # every site page's footer: the theme's extra_footer, set in book/conf.py
    tree = ast.parse((BOOK / "conf.py").read_text())
    footer = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                  and getattr(n.targets[0], "id", "") == "LICENCE_FOOTER")
    assert "MIT" in footer and "CC BY 4.0" in footer
    assert re.search(r'"extra_footer":\s*LICENCE_FOOTER', (BOOK / "conf.py").read_text())


# --- the student notebooks give nothing away ----------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=[p.stem for p in NOTEBOOK_PATHS])
def test_student_notebook_holds_no_answer(path, editions):
    """No reference solution line, no answer value, no check cell with its own assert, and
    nothing imported from the solutions folder: the notebook runs alone with tinygan."""
    nb = json.loads(path.read_text())
    assert editions.leaks(nb, int(path.name[:2])) == []
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert not re.search(r"^\s*(from|import) solutions\b", code, re.M)
    assert "from tinygan.course import exercise" in code


def test_leak_scan_catches_the_old_check_cells(editions):
    """The scan fails on what the check cells used to hold (this is not a test that cannot fail)."""
    nb = json.loads(NOTEBOOK_PATHS[3].read_text())          # 04_autograd
    for cell in nb["cells"]:
        if 'exercise("4.1"' in "".join(cell["source"]):
            cell["source"] = ['answer_4_1 = exercise("4.1", answer_4_1)\n',
                              "assert abs(answer_4_1 - 0.75) < 1e-6, answer_4_1"]
    found = editions.leaks(nb, 4)
    assert any("0.75" in f for f in found) and any("own assert" in f for f in found)
    nb = json.loads(NOTEBOOK_PATHS[3].read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                        "source": ["return gy * 2 * x / (1 + x * x)"]})
    assert any("solution line ch04.py" in f for f in editions.leaks(nb, 4))
    nb = json.loads(NOTEBOOK_PATHS[3].read_text())
    nb["metadata"]["hint"] = "the gradient is 0.75"
    assert any("0.75" in f for f in editions.leaks(nb, 4))


def test_every_exercise_has_a_check_and_a_solution(editions):
    from tinygan.course.checks import CHECKS
    numbers = [e.number for s in editions.sources() for e in editions.exercises(s)]
    assert len(numbers) == len(set(numbers)) == 42
    assert sorted(numbers) == sorted(CHECKS)
    solutions = (ROOT / "notebooks" / "solutions")
    for number in numbers:
        chapter = int(number.partition(".")[0])
        text = (solutions / f"ch{chapter:02d}.py").read_text()
        assert f"def exercise_{number.replace('.', '_')}(" in text, number


def _perturbed(value):
    """A wrong answer of the same shape: every number moved by 37%, or by 3 when an integer."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, (int,)) or (isinstance(value, float) and value.is_integer() and abs(value) > 1):
        return value + 3
    if isinstance(value, float):
        return value * 1.37 + 0.11
    if isinstance(value, (tuple, list)):
        return type(value)(_perturbed(v) for v in value)
    return value


def test_checks_pass_the_reference_and_tell_without_telling(editions):
    """Each check that needs no notebook object passes the reference answer, and fails a
    perturbed one with a message naming the exercise but no form of the reference value."""
    from tinygan.course import WrongAnswer
    from tinygan.course.checks import run_check
    sys.path.insert(0, str(ROOT / "notebooks"))
    try:
        import importlib
        values = editions.answer_values()
        checked = 0
        import inspect

        from tinygan.course.checks import CHECKS
        for number in values:
            if len(inspect.signature(CHECKS[number]).parameters) > 1:
                continue                  # the check needs a notebook object: the notebooks test it
            chapter = int(number.partition(".")[0])
            solve = getattr(importlib.import_module(f"solutions.ch{chapter:02d}"),
                            f"exercise_{number.replace('.', '_')}")
            reference = solve()
            run_check(number, reference)
            if callable(reference) or hasattr(reference, "shape"):
                continue                  # code and arrays: the feedback tests below
            wrong = _perturbed(reference)
            if wrong == reference:
                continue
            with pytest.raises(WrongAnswer) as err:
                run_check(number, wrong)
            message = str(err.value)
            assert message.startswith(f"Exercise {number}: "), message
            for v in editions._flatten(reference):
                if isinstance(v, float):
                    for form in editions._number_patterns(v):
                        assert not re.search(rf"(?<![\w.]){re.escape(form)}(?![\w.]*\d)", message), \
                            (number, form, message)
            checked += 1
        assert checked >= 25
    finally:
        sys.path.remove(str(ROOT / "notebooks"))


def test_feedback_names_the_mistake():
    """The examples the issue asks for: a factor of 2 in a backward, a raw-array backward, a
    tuple in the wrong order, a wrong answer that is a known slip."""
    import numpy as np

    import tinygan as tg
    from tinygan.course import WrongAnswer
    from tinygan.course.checks import run_check
    from tinygan.engine.tensor import Function

    class Half(Function):
        def forward(self, x):
            return np.log1p(x * x)

        def backward(self, gy):
            x = self.inputs[0]
            return gy * x / (1 + x * x)

    class Raw(Function):
        def forward(self, x):
            return np.log1p(x * x)

        def backward(self, gy):
            x = self.inputs[0].array
            return gy * tg.Tensor(2 * x / (1 + x * x))

    with pytest.raises(WrongAnswer, match=r"at x = 0\.5 .*factor of 2.*chain rule"):
        run_check("4.2", Half)
    with pytest.raises(WrongAnswer, match=r"first derivatives agree, second derivatives do not: "
                                          r"your backward uses raw arrays"):
        run_check("4.2", Raw)
    right = (-math.log(0.9) - math.log(0.8), math.log(0.8), -math.log(0.2))
    with pytest.raises(WrongAnswer, match="right but in the wrong order"):
        run_check("2.2", (right[2], right[1], right[0]))
    with pytest.raises(WrongAnswer, match="used twice"):
        run_check("4.4", 8.0)
    with pytest.raises(WrongAnswer, match="Tensor of shape"):
        run_check("4.4", tg.tensor([1.0, 2.0]))


# --- the release ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def release(tmp_path_factory):
    pytest.importorskip("nbformat")
    out = tmp_path_factory.mktemp("release") / "OUT"
    done = subprocess.run([sys.executable, str(BOOK / "release.py"), str(out), "--site", "none", "--no-slides"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def test_release_writes_three_editions(release, editions):
    names = [p.name for p in NOTEBOOK_PATHS]
    assert sorted(p.name for p in (release / "student").glob("*.ipynb")) == names
    assert sorted(p.name for p in (release / "instructor").glob("*.ipynb")) == names
    assert not (release / "student" / "solutions").exists()
    for path in (release / "student").glob("*.ipynb"):
        nb = json.loads(path.read_text())
        assert nb["metadata"]["tinygan"]["edition"] == "student"
        assert editions.leaks(nb, int(path.name[:2])) == [], path.name
    filled = 0
    for path in (release / "instructor").glob("*.ipynb"):
        nb = json.loads(path.read_text())
        filled += sum("solution" in c["metadata"].get("tinygan", {}) for c in nb["cells"])
    assert filled == 42
    assert (release / "instructor" / "solutions" / "ch04.py").is_file()
    spec = json.loads((release / "autograder" / "spec.json").read_text())
    assert sum(len(n["exercises"]) for n in spec["notebooks"].values()) == 42
    assert {"grade.py", "hidden_checks.py", "spec.json"} <= {p.name for p in (release / "autograder").iterdir()}
    assert (release / "syllabus.md").read_text() == (BOOK / "instructor" / "syllabus.md").read_text()
    answers = (release / "instructor" / "answers.md").read_text()
    assert "## Chapter 13" in answers and "Rubric" in answers


def test_syllabus_covers_every_chapter_with_times():
    text = (BOOK / "instructor" / "syllabus.md").read_text()
    assert "Two-week module" in text and "Six-week module" in text
    assert not re.search(r"FULL\d|TODO|XXX", text)
    rows = re.findall(r"^\| (\d+) [^|]+\| [^|]+\| (\d+) min \| ([^|]+) \|", text, re.M)
    assert [int(r[0]) for r in rows] == list(range(1, 15))
    assert all(re.match(r"\d+ s / ", r[2]) for r in rows)      # every quick run was measured


def test_release_refuses_a_folder_in_use(release):
    done = subprocess.run([sys.executable, str(BOOK / "release.py"), str(release), "--site", "none"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "not empty" in done.stderr


# --- the grader ----------------------------------------------------------------------------------
def _set_answer(path: Path, number: str, source: str) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("tinygan", {}).get("solution") == number:
            cell["source"] = source
            break
    else:
        raise AssertionError(f"no solution cell for {number} in {path}")
    path.write_text(json.dumps(nb))


@pytest.mark.host_only   # grading runs notebooks on the CPU, whatever the suite's device
def test_grader_scores_and_explains(release, tmp_path):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    import shutil
    subs = tmp_path / "submissions"
    notebooks = ("01_generative_models.ipynb", "04_autograd.ipynb")
    for student, edition in (("alice", "instructor"), ("bob", "student"), ("carol", "instructor"),
                             ("dave", "instructor")):
        (subs / student).mkdir(parents=True)
        for name in notebooks:
            shutil.copy2(release / edition / name, subs / student / name)
    # carol: one deliberately wrong answer, a known slip
    _set_answer(subs / "carol" / "04_autograd.ipynb", "4.4", "answer_4_4 = 8.0")
    # dave: a notebook that is not JSON, and one whose kernel dies, then one that loops
    (subs / "dave" / "01_generative_models.ipynb").write_text("{not a notebook")
    nb = json.loads((subs / "dave" / "04_autograd.ipynb").read_text())
    nb["cells"].insert(1, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                           "source": "while True:\n    pass"})
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                        "source": "import os\nos._exit(3)"})
    (subs / "dave" / "04_autograd.ipynb").write_text(json.dumps(nb))
    out = tmp_path / "graded"
    done = subprocess.run([sys.executable, str(release / "autograder" / "grade.py"), str(subs),
                           str(out), "--cell-timeout", "10"],
                          capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "TINYGAN_SOLUTIONS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["alice", "bob", "carol", "dave"]
    with (out / "grades.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "notebook", "exercise", "points", "max_points"]
    score = {}
    for r in rows:
        s = score.setdefault(r["student"], {})
        s[r["exercise"]] = (int(r["points"]), int(r["max_points"]))
    full = sum(m for _, m in score["alice"].values())
    assert len(score["alice"]) == 7 and full == 9       # 7 exercises; 1.3 and 4.2 have hidden checks
    assert all(p == m for p, m in score["alice"].values()), score["alice"]
    assert lines[0].startswith(f"alice: {full} / {full}")
    # the untouched student edition: zero, although TINYGAN_SOLUTIONS=1 was set for the grader
    assert sum(p for p, _ in score["bob"].values()) == 0
    # ... and every other cell of the student edition ran, alone in an empty folder
    bob = (out / "feedback" / "bob.md").read_text()
    assert "not answered" in bob and "stopped with" not in bob, bob
    # carol loses exactly 4.4's point, and is told why without the answer
    assert {k: v for k, v in score["carol"].items() if v[0] != v[1]} == {"4.4": (0, 1)}
    feedback = (out / "feedback" / "carol.md").read_text()
    line_44 = next(line for line in feedback.splitlines() if "**4.4**" in line)
    assert "used twice" in line_44 and not re.search(r"\b10(\.0)?\b", line_44)
    # dave: nothing for a broken file, a looping cell interrupted, a dead kernel: no crash
    dave = (out / "feedback" / "dave.md").read_text()
    assert "not a valid Jupyter notebook" in dave
    assert "died" in dave and "ran longer than 10 s and was interrupted" in dave
    assert sum(p for p, _ in score["dave"].values()) == 0
    assert lines[3].startswith("dave: 0 / 9")


def test_instructor_answers_cover_every_chapter_exercise():
    """chapters/solutions.md plus book/instructor/model_answers.md (the instructor edition's
    answers.md) hold an entry for every exercise of every chapter, chapter 13 included."""
    answers = (ROOT / "chapters" / "solutions.md").read_text() + \
        (BOOK / "instructor" / "model_answers.md").read_text()
    have = set(re.findall(r"\*\*(\d+\.\d+)\*\*", answers))
    missing = []
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md")):
        section = path.read_text().split("## Exercises")[1].split("\n## ")[0]
        count = len(re.findall(r"^\d+\. ", section, re.M))
        assert count > 0, path.name
        missing += [f"{int(path.name[:2])}.{k}" for k in range(1, count + 1)
                    if f"{int(path.name[:2])}.{k}" not in have]
    assert not missing, f"exercises without a model answer: {missing}"
    assert "Rubric" in (BOOK / "instructor" / "model_answers.md").read_text()
