"""Build everything a teacher hands out, from one source per notebook (notebooks/src/).

    python book/release.py OUT [--site quick|full|none]

writes
- OUT/student/     the fourteen notebooks as students get them: exercises with ``...`` and
                   checks that say what is wrong without the answer (tinygan/course); no line
                   of a reference solution and no answer value anywhere, metadata included
                   (checked before anything is written: a leak stops the release);
                   each runs on its own after ``pip install tinygan``;
- OUT/instructor/  the same notebooks with every answer cell filled in by its reference
                   solution (they score full marks), notebooks/solutions/, and answers.md:
                   the chapters' answers page and the model answers with rubrics
                   (book/instructor/model_answers.md);
- OUT/autograder/  grade.py, spec.json (the exercises, answer variables and points) and
                   hidden_checks.py: ``python OUT/autograder/grade.py SUBMISSIONS OUT_DIR``;
- OUT/site/        the course site (book/build.py; ``--site quick`` by default: short
                   training runs; ``full`` trains fully, tens of minutes; ``none`` skips it);
- OUT/slides/      one reveal.js deck per chapter, from the chapter's text and figures
                   (book/slides.py; reveal.js vendored from npm at build time, nothing fetched
                   when viewing; ``--no-slides`` skips them);
- OUT/syllabus.md  the two-week and six-week modules (book/instructor/syllabus.md).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import editions  # noqa: E402  (book/ is not a package)

ROOT = editions.ROOT
LICENCES = ("LICENSE", "LICENSE-CONTENT")

STUDENT_README = """# tinygan: the course notebooks (student edition)

    pip install tinygan          # add "tinygan[mnist]" for the MNIST notebooks (6, 9, 10, 11)
    jupyter lab                  # or any Jupyter: open the notebooks in this folder

Each notebook goes with a chapter of the course text. Its exercises are at the end: replace
each `...` with your answer and run the cell after it, which checks your answer and, when it
is wrong, says what is wrong (never what the answer is). Hand in the notebooks under their
names as they are here.

Code: MIT licence (LICENSE). Text and figures: CC BY 4.0 (LICENSE-CONTENT).
"""

INSTRUCTOR_README = """# tinygan: instructor edition

- `NN_name.ipynb`: the student notebooks with every answer cell filled in by the reference
  solution (from `solutions/`); they run top to bottom and score full marks in the autograder.
- `solutions/`: the reference solutions as Python modules. With this folder next to a student
  notebook and `TINYGAN_SOLUTIONS=1`, an unanswered exercise takes the reference answer.
- `answers.md`: answers to the chapters' exercises, model answers to the proofs and
  explanations, and rubrics for the free-text ones.

Do not hand this folder to students. Grade with `python ../autograder/grade.py SUBMISSIONS OUT`.
"""

AUTOGRADER_README = """# tinygan autograder

    python grade.py SUBMISSIONS_DIR OUT_DIR [--full] [--cell-timeout 300]

SUBMISSIONS_DIR: one folder per student, holding that student's notebooks under the student
edition's names. Writes OUT_DIR/grades.csv (student, notebook, exercise, points, max_points)
and OUT_DIR/feedback/STUDENT.md; prints one line per student with the total. Runs locally
(no Docker, no network) in Jupyter kernels of the Python it is started with, which needs
tinygan, nbclient, nbformat and ipykernel (`pip install tinygan nbclient ipykernel`).
Each exercise: 1 point for the public check (the one students run), plus the points of its
hidden check (hidden_checks.py) where it has one; spec.json lists them.
"""


def _write_notebook(nb, path: Path) -> None:
    import nbformat
    path.write_text(nbformat.writes(nb, version=4) + "\n", encoding="utf-8")


def write_student(out: Path) -> list[str]:
    """OUT/student; returns the leaks found (the release stops if there are any)."""
    out.mkdir(parents=True)
    lines, values = editions.solution_lines(), editions.answer_values()
    found = []
    for source in editions.sources():
        nb = editions.student_notebook(source)
        leaks = editions.leaks(json.loads(json.dumps(nb)), int(source.name[:2]), lines, values)
        found += [f"{source.stem}: {leak}" for leak in leaks]
        _write_notebook(nb, out / f"{source.stem}.ipynb")
    (out / "README.md").write_text(STUDENT_README, encoding="utf-8")
    for name in LICENCES:
        shutil.copy2(ROOT / name, out / name)
    return found


def write_instructor(out: Path) -> None:
    out.mkdir(parents=True)
    for source in editions.sources():
        _write_notebook(editions.instructor_notebook(source), out / f"{source.stem}.ipynb")
    shutil.copytree(editions.SOLUTIONS, out / "solutions",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    answers = (ROOT / "chapters" / "solutions.md").read_text(encoding="utf-8")
    model = HERE / "instructor" / "model_answers.md"
    if model.exists():
        answers += "\n\n" + model.read_text(encoding="utf-8")
    (out / "answers.md").write_text(answers, encoding="utf-8")
    (out / "README.md").write_text(INSTRUCTOR_README, encoding="utf-8")
    for name in LICENCES:
        shutil.copy2(ROOT / name, out / name)


def write_autograder(out: Path) -> None:
    out.mkdir(parents=True)
    editions.write_json(out / "spec.json", editions.autograder_spec())
    shutil.copy2(HERE / "grade.py", out / "grade.py")
    shutil.copy2(HERE / "hidden_checks.py", out / "hidden_checks.py")
    (out / "README.md").write_text(AUTOGRADER_README, encoding="utf-8")


def write_site(out: Path, mode: str) -> None:
    """The course site, built by book/build.py in its own process (it resets the environment)."""
    with tempfile.TemporaryDirectory(prefix="tinygan-site-") as build_dir:
        command = [sys.executable, str(HERE / "build.py"), "--build-dir", build_dir]
        if mode == "quick":
            command.append("--quick")
        subprocess.run(command, check=True)
        shutil.copytree(Path(build_dir) / "html", out)


def release(out: Path, site: str = "quick", slides: bool = True) -> None:
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} exists and is not empty: give a new folder")
    out.mkdir(parents=True, exist_ok=True)
    steps = [("student", lambda: write_student(out / "student")),
             ("instructor", lambda: write_instructor(out / "instructor")),
             ("autograder", lambda: write_autograder(out / "autograder"))]
    syllabus = HERE / "instructor" / "syllabus.md"
    for name, step in steps:
        start = time.perf_counter()
        leaks = step()
        if leaks:
            raise SystemExit("the student edition would give answers away:\n  " + "\n  ".join(leaks))
        print(f"{name:10s} {time.perf_counter() - start:6.1f} s  {out / name}", flush=True)
    if syllabus.exists():
        shutil.copy2(syllabus, out / "syllabus.md")
    if slides:
        import slides as slide_builder
        start = time.perf_counter()
        slide_builder.build(out / "slides")
        print(f"{'slides':10s} {time.perf_counter() - start:6.1f} s  {out / 'slides'}", flush=True)
    if site != "none":
        start = time.perf_counter()
        write_site(out / "site", site)
        print(f"{'site':10s} {time.perf_counter() - start:6.1f} s  {out / 'site'}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="a new (or empty) folder")
    parser.add_argument("--site", choices=("quick", "full", "none"), default="quick",
                        help="build the course site with short (quick, default) or full "
                             "training runs, or not at all")
    parser.add_argument("--no-slides", action="store_true",
                        help="do not build the slides (they need reveal.js from npm, once)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    release(args.out, args.site, slides=not args.no_slides)
    print(f"release written in {time.perf_counter() - start:.0f} s: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
