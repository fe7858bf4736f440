"""Grade a folder of submitted student notebooks, locally: no Docker, no network.

    python book/grade.py SUBMISSIONS_DIR OUT_DIR [--full] [--cell-timeout S]

SUBMISSIONS_DIR holds one folder per student, each with that student's notebooks under the
student edition's names (``04_autograd.ipynb``...). Writes ``OUT_DIR/grades.csv`` (student,
notebook, exercise, points, max_points) and ``OUT_DIR/feedback/STUDENT.md`` (one per
submission), and prints one line per submission with its total.

How a notebook is graded:
1. it is read as a hostile file: a regular file (no symlink), at most 50 MB, valid nbformat 4;
2. its cells run in a fresh Jupyter kernel, in an empty temporary folder, with
   ``TINYGAN_QUICK=1`` (short training runs; ``--full`` for the full ones), each cell under a
   time limit (``--cell-timeout``, default 300 s): a cell that raises, loops or runs out of time
   is recorded and the next one runs; a kernel that dies ends that notebook, not the grading.
   The notebook's own check cells are skipped: the grader runs the checks itself;
3. then, in the same kernel, one grading cell per exercise reads the answer variable and runs
   the *public* check (tinygan/course/checks.py, the one the student ran) for 1 point and,
   for the exercises that have one, the *hidden* check (hidden_checks.py, which students never
   get) for its points. The feedback is the checks' own message: what is wrong, not the answer.

The grader trusts what runs in the kernel as nbgrader and otter-grader do: a submission that
patches tinygan itself could fool it. Run it on a machine (or account) you do not mind a
student's code running on.

The autograder folder that book/release.py writes holds a copy of this file with its
spec.json and hidden_checks.py; from the repository, the spec is read from notebooks/src/.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
CHECK_CALL = re.compile(r'\bexercise\(\s*"(\d+\.\d+)"')
MARK = "@@tinygan-grade@@"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def load_spec(autograder: Path | None) -> tuple[dict, Path]:
    """(spec, hidden_checks.py): from an autograder folder, or built from this repository."""
    folder = autograder or HERE
    if (folder / "spec.json").is_file():
        return json.loads((folder / "spec.json").read_text(encoding="utf-8")), folder / "hidden_checks.py"
    if autograder is not None:
        raise SystemExit(f"{autograder} has no spec.json: is it an autograder folder from book/release.py?")
    sys.path.insert(0, str(HERE))
    import editions
    return editions.autograder_spec(), HERE / "hidden_checks.py"


def read_notebook(path: Path):
    """The submitted notebook, validated; raises ValueError saying why it cannot be graded."""
    import nbformat
    if path.is_symlink() or not path.is_file():
        raise ValueError("not a regular file")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{size:,} bytes, more than the {MAX_NOTEBOOK_BYTES:,} a notebook may have")
    try:
        with warnings.catch_warnings():      # old notebooks without cell ids: fine to grade
            warnings.simplefilter("ignore")
            nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
            nbformat.validate(nb)
    except Exception as err:          # any parse or schema failure: the file is not a notebook
        raise ValueError(f"not a valid Jupyter notebook ({type(err).__name__}: {str(err)[:200]})")
    return nb


def _grading_cell(exercise: dict, hidden_path: Path) -> str:
    """The code that checks one exercise in the student's kernel and prints a JSON result."""
    number, variable = exercise["number"], exercise["variable"]
    context = ", ".join(f"{k!r}: ({v})" for k, v in exercise["context"].items())
    hidden = exercise["hidden_points"] > 0
    return f'''
import json as _g_json, importlib as _g_importlib
import tinygan.course.feedback as _g_feedback, tinygan.course.checks as _g_checks
_g_importlib.reload(_g_feedback); _g_importlib.reload(_g_checks)   # the shipped checks, unpatched
def _g_run(check, *args, **kwargs):
    try:
        check(*args, **kwargs)
        return [True, ""]
    except _g_feedback.WrongAnswer as err:
        return [False, str(err)]
    except BaseException as err:
        return [False, f"the check could not run on your answer: {{type(err).__name__}}: {{err}}"[:500]]
_g_result = {{"number": {number!r}}}
try:
    _g_answer = {variable}
except NameError:
    _g_answer = ...
if _g_answer is ...:
    _g_result["public"] = [False, "not answered: `{variable}` is still `...` (or was never defined)"]
    _g_result["hidden"] = [False, "not answered"]
else:
    try:
        _g_context = {{{context}}}
    except BaseException as err:
        _g_context = None
        _g_result["public"] = [False, "the notebook objects this check needs were not there "
                               f"({{type(err).__name__}}: {{err}}): did every cell above run?"]
        _g_result["hidden"] = [False, "not run"]
    if _g_context is not None:
        _g_result["public"] = _g_run(_g_checks.run_check, {number!r}, _g_answer, **_g_context)
        if {hidden!r}:
            _g_hidden = {{}}
            exec(compile(open({str(hidden_path)!r}).read(), "hidden_checks.py", "exec"), _g_hidden)
            _g_result["hidden"] = _g_run(_g_hidden["HIDDEN_CHECKS"][{number!r}], _g_answer)
print({MARK!r} + _g_json.dumps(_g_result))
'''


def kernel_environment(quick: bool) -> dict[str, str]:
    """The kernel's environment: no reference solutions reachable, short runs unless --full."""
    env = dict(os.environ)
    env.pop("TINYGAN_SOLUTIONS", None)          # never fill an unanswered exercise
    env.pop("TINYGAN_QUICK", None)
    if quick:
        env["TINYGAN_QUICK"] = "1"
    env.update(MPLBACKEND="Agg", TINYGAN_BACKEND="numpy", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    # keep tinygan importable, but no folder that holds the reference solutions
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
             if p and not (Path(p) / "solutions" / "__init__.py").exists()]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def grade_notebook(path: Path, exercises: list[dict], hidden_path: Path, quick: bool,
                   cell_timeout: int) -> tuple[list[dict], list[str]]:
    """[{number, points, max_points, feedback}], and notes on the run (errors, timeouts)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    def zero(reason):
        return [{"number": e["number"], "points": 0, "max_points": e["public_points"] + e["hidden_points"],
                 "feedback": reason} for e in exercises]

    try:
        submitted = read_notebook(path)
    except ValueError as err:
        return zero(f"could not be graded: {err}"), []
    run = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    student_cells = [c for c in submitted.cells if c.cell_type == "code"
                     and not CHECK_CALL.search(c.source)]
    run.cells = [nbformat.v4.new_code_cell(c.source) for c in student_cells]
    first_grading = len(run.cells)
    run.cells += [nbformat.v4.new_code_cell(_grading_cell(e, hidden_path)) for e in exercises]
    notes = []
    saved_env, kernel_env = dict(os.environ), kernel_environment(quick)
    with tempfile.TemporaryDirectory(prefix="tinygan-grade-") as workdir:
        os.environ.clear()
        os.environ.update(kernel_env)                    # the kernel inherits this environment
        client = NotebookClient(run, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                                interrupt_on_timeout=True, resources={"metadata": {"path": workdir}})
        try:
            client.execute()
        except DeadKernelError:
            notes.append("the notebook's kernel died (out of memory, or the process exited); "
                         "the exercises after that point could not be checked")
        except Exception as err:          # nbclient failing to start or talk to the kernel
            notes.append(f"the notebook could not be run: {type(err).__name__}: {str(err)[:300]}")
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
    for index, cell in enumerate(run.cells[:first_grading]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and out["ename"] == "KeyboardInterrupt":
                notes.append(f"code cell {index + 1} ran longer than {cell_timeout} s and was "
                             "interrupted")
            elif out.get("output_type") == "error":
                notes.append(f"code cell {index + 1} stopped with {out['ename']}: "
                             f"{str(out.get('evalue', ''))[:200]}")
    results = {}
    for cell in run.cells[first_grading:]:
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith(MARK):
                    result = json.loads(line[len(MARK):])
                    results[result["number"]] = result
    rows = []
    for e in exercises:
        result, maximum = results.get(e["number"]), e["public_points"] + e["hidden_points"]
        if result is None:
            rows.append({"number": e["number"], "points": 0, "max_points": maximum,
                         "feedback": "not checked: the notebook stopped before its grading ran"})
            continue
        public_ok, public_msg = result["public"]
        points, feedback = (e["public_points"] if public_ok else 0), []
        feedback.append("public check: passed" if public_ok else f"public check: {public_msg}")
        if e["hidden_points"]:
            hidden_ok, hidden_msg = result.get("hidden", [False, "not run"])
            points += e["hidden_points"] if hidden_ok else 0
            feedback.append("hidden check: passed" if hidden_ok else f"hidden check: {hidden_msg}")
        rows.append({"number": e["number"], "points": points, "max_points": maximum,
                     "feedback": "; ".join(feedback)})
    return rows, notes


def grade(submissions: Path, out: Path, autograder: Path | None = None, quick: bool = True,
          cell_timeout: int = 300) -> list[tuple[str, int, int]]:
    """Grade every student folder; return [(student, points, max_points)]."""
    spec, hidden_path = load_spec(autograder)
    if submissions.is_symlink() or not submissions.is_dir():
        raise SystemExit(f"{submissions}: not a folder of student folders")
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.is_symlink())
    if not students:
        raise SystemExit(f"{submissions} holds no student folders")
    # the assignment: the spec's notebooks that at least one student handed in
    notebooks = [name for name in spec["notebooks"]
                 if any((s / name).exists() or (s / name).is_symlink() for s in students)]
    if not notebooks:
        raise SystemExit(f"no notebook under the student edition's names in {submissions}'s folders "
                         f"(expected names like {next(iter(spec['notebooks']))})")
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    totals = []
    with (out / "grades.csv").open("w", newline="", encoding="utf-8") as table:
        writer = csv.writer(table)
        writer.writerow(["student", "notebook", "exercise", "points", "max_points"])
        for student_dir in students:
            student = student_dir.name if SAFE_NAME.match(student_dir.name) else \
                re.sub(r"[^A-Za-z0-9._-]", "_", student_dir.name)[:100] or "student"
            lines = [f"# Feedback for {student}", ""]
            got = possible = 0
            start = time.perf_counter()
            for name in notebooks:
                exercises = spec["notebooks"][name]["exercises"]
                path = student_dir / name
                if not (path.exists() or path.is_symlink()):
                    rows, notes = [{"number": e["number"], "points": 0,
                                    "max_points": e["public_points"] + e["hidden_points"],
                                    "feedback": "not handed in"} for e in exercises], []
                else:
                    rows, notes = grade_notebook(path, exercises, hidden_path, quick, cell_timeout)
                sub, sub_max = sum(r["points"] for r in rows), sum(r["max_points"] for r in rows)
                got, possible = got + sub, possible + sub_max
                lines += [f"## {name}: {sub} / {sub_max}", ""]
                for r in rows:
                    writer.writerow([student, name, r["number"], r["points"], r["max_points"]])
                    lines.append(f"- **{r['number']}** ({r['points']} / {r['max_points']}): {r['feedback']}")
                if notes:
                    lines += ["", "While running the notebook:"] + [f"- {n}" for n in notes]
                lines.append("")
            lines.insert(1, f"\nTotal: {got} / {possible}\n")
            (out / "feedback" / f"{student}.md").write_text("\n".join(lines), encoding="utf-8")
            print(f"{student}: {got} / {possible} ({time.perf_counter() - start:.0f} s)", flush=True)
            totals.append((student, got, possible))
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="one folder per student, holding their notebooks")
    parser.add_argument("out", type=Path, help="where grades.csv and feedback/ are written")
    parser.add_argument("--autograder", type=Path, default=None,
                        help="an autograder folder from book/release.py (default: this file's "
                             "folder if it holds spec.json, else the repository's notebooks)")
    parser.add_argument("--full", action="store_true",
                        help="run the notebooks' full training (default: TINYGAN_QUICK=1)")
    parser.add_argument("--cell-timeout", type=int, default=300,
                        help="seconds a cell may run before it is interrupted (default 300)")
    args = parser.parse_args(argv)
    grade(args.submissions, args.out, args.autograder, quick=not args.full,
          cell_timeout=args.cell_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
