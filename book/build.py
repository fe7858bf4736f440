"""Build the course site: the chapters and their executed notebooks, as static HTML.

    pip install -e ".[book]"
    python book/build.py            # the notebooks' full runs, as committed in notebooks/full/
    python book/build.py --quick    # TINYGAN_QUICK=1: every notebook rerun, short training runs

The default build shows each notebook's committed full run (notebooks/full/NN_name.ipynb,
made by ``python notebooks/run_full.py``) without running it again; a notebook whose full
run is stale (its source changed since) or missing is executed in full during the build,
which can take many minutes (``notebooks/run_full.py`` then keeps the result). ``--quick``
reruns every notebook for a few steps instead, and says so at the top of every notebook
page: its pictures are rough and may contradict the text.

The site lands in ``build/book/html/`` (``build/book-quick/html/`` with ``--quick``); open
its ``index.html`` in a browser, straight from disk or served by ``python -m http.server``.
Nothing is fetched from the network, at build time or at view time.

What it does:

1. lays out a staging folder (``BUILD/source``): copies of chapters/ (with its figures),
   the notebooks, notebooks/README.md and the benchmark results the chapters link to, plus
   the navigation (Sphinx toctrees) that gives the site its order: chapter 1, its notebook,
   chapter 2, ... The sources in the repository are not touched.
2. marks each exercise's self-check cell (the cells that call ``exercise(...)``) to be shown
   but not run, so that the site shows the exercises as homework, without the answers and
   without the "fill in the ..." stop;
3. runs Sphinx with MyST-NB (book/conf.py), which renders the committed full runs as they
   are and executes the other notebooks in a fresh Jupyter kernel (this environment's
   python3), rendering their outputs and pictures.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTERS = ROOT / "chapters"
NOTEBOOKS = ROOT / "notebooks"
BENCHMARKS = ROOT / "benchmarks"
NUMBERED = re.compile(r"^\d\d_[a-z0-9_]+$")
SELF_CHECK = re.compile(r"\bexercise\(")
QUICK_NOTE = ("> **Quick build.** This page was executed with `TINYGAN_QUICK=1`: every "
              "training run stopped after a few steps, so its pictures and numbers come from "
              "short runs, are rough, and can contradict the text. The site built by "
              "`python book/build.py` shows the full runs.")


def _full_runs():
    """notebooks/run_full.py as a module (the committed full runs and their stamps)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("notebooks_run_full",
                                                  NOTEBOOKS / "run_full.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _insert_note(notebook: dict, text: str) -> None:
    """A Markdown cell right after the notebook's title cell."""
    cell = {"cell_type": "markdown", "metadata": {}, "source": text,
            "id": "tinygan-build-note"}
    notebook["cells"].insert(1, cell)


def chapter_names() -> list[str]:
    """The chapters in course order: chapters/NN_name.md, as 'NN_name'."""
    return sorted(p.stem for p in CHAPTERS.glob("*.md") if NUMBERED.match(p.stem))


def _toctree(entries: list[str], caption: str | None = None, hidden: bool = True) -> str:
    options = [":hidden:"] if hidden else []
    if caption:
        options.append(f":caption: {caption}")
    return "\n\n```{toctree}\n" + "\n".join(options + [":maxdepth: 2", ""] + entries) + "\n```\n"


def _title_as_notebook(notebook: dict) -> None:
    """'# 7. Failure modes' -> '# 7. Failure modes (notebook)': the chapter and its notebook
    share a title in the sources; on the site they are two pages, told apart."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            lines = "".join(cell["source"]).split("\n")
            if lines[0].startswith("# "):
                lines[0] += " (notebook)"
                cell["source"] = "\n".join(lines)
            return


def _mark_self_checks(notebook: dict) -> int:
    """Tag every code cell that calls exercise(...) 'skip-execution'; return how many."""
    marked = 0
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and SELF_CHECK.search("".join(cell["source"])):
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            if "skip-execution" not in tags:
                tags.append("skip-execution")
            marked += 1
    return marked


def notebook_for_site(name: str, quick: bool) -> tuple[dict, str]:
    """The notebook a page shows, and how it gets its outputs: ("committed full run",
    not executed again), ("full run now", executed during the build) or ("quick run")."""
    if quick:
        notebook = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
        _insert_note(notebook, QUICK_NOTE)
        return notebook, "quick run"
    full = _full_runs()
    if full.status(name) == "current":
        notebook = json.loads((full.FULL / f"{name}.ipynb").read_text(encoding="utf-8"))
        stamp = notebook["metadata"][full.STAMP]
        notebook["metadata"]["mystnb"] = {"execution_mode": "off"}   # shown as committed
        _insert_note(notebook, f"*Outputs: this notebook's full run "
                               f"(`notebooks/full/{name}.ipynb`, executed "
                               f"{stamp.get('executed_utc', '?')[:10]} in "
                               f"{stamp.get('seconds', 0):.0f} s).*")
        return notebook, "committed full run"
    notebook = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    return notebook, "full run now"


def stage(source: Path, quick: bool = False) -> list[str]:
    """Lay out the Sphinx source folder; return the chapters it holds, in order."""
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(CHAPTERS, source / "chapters",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (source / "notebooks").mkdir()
    (source / "benchmarks").mkdir()
    for md in BENCHMARKS.glob("RESULTS_*.md"):    # (quality_toy_notes.md is inside RESULTS_quality.md)
        shutil.copy2(md, source / "benchmarks" / md.name)
    for picture in BENCHMARKS.glob("*.png"):      # the plots the results pages show
        shutil.copy2(picture, source / "benchmarks" / picture.name)
    shutil.copy2(NOTEBOOKS / "README.md", source / "notebooks" / "README.md")

    names = chapter_names()
    for name in names:
        notebook_path = NOTEBOOKS / f"{name}.ipynb"
        chapter = source / "chapters" / f"{name}.md"
        if notebook_path.exists():
            notebook, how = notebook_for_site(name, quick)
            if how == "full run now":
                print(f"{name}: no current full run in notebooks/full/ (its source changed, or "
                      f"it was never run): executing it in full now, which can take minutes; "
                      f"python notebooks/run_full.py {name} keeps the run", flush=True)
            _mark_self_checks(notebook)
            _title_as_notebook(notebook)
            (source / "notebooks" / notebook_path.name).write_text(
                json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")
            # a link from the chapter to its notebook, under the title; and the notebook
            # sits under its chapter in the navigation
            title, _, body = chapter.read_text(encoding="utf-8").partition("\n")
            chapter.write_text(
                f"{title}\n\n*Notebook:* [{name}.ipynb](../notebooks/{name}.ipynb) runs this "
                f"chapter's code; below the chapter in the navigation, with its outputs.\n{body}",
                encoding="utf-8")
            with chapter.open("a", encoding="utf-8") as out:
                out.write(_toctree([f"Notebook {int(name[:2])} </notebooks/{name}>"]))

    extras = [p for p in ("chapters/solutions", "notebooks/README")
              if (source / f"{p}.md").exists()]
    extras += [f"benchmarks/{md.stem}" for md in sorted(BENCHMARKS.glob("RESULTS_*.md"))]
    with (source / "chapters" / "README.md").open("a", encoding="utf-8") as out:
        out.write(_toctree([f"/chapters/{n}" for n in names], caption="Chapters"))
        out.write(_toctree(["/" + p for p in extras], caption="Reference"))
    return names


def kernel_environment(quick: bool) -> dict[str, str]:
    """The environment the notebooks' kernels inherit (the same as tests/test_notebooks.py's,
    except that pictures are captured inline and the exercises are left unanswered)."""
    env = dict(os.environ)
    for name in ("TINYGAN_SOLUTIONS", "TINYGAN_QUICK"):
        env.pop(name, None)
    if quick:
        env["TINYGAN_QUICK"] = "1"
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"   # pictures into outputs
    env["TINYGAN_BACKEND"] = "numpy"          # the notebooks hand arrays to NumPy/matplotlib
    env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = "1"   # small matrices: see notebooks/README.md
    # tinygan from this checkout, and the notebooks' `from solutions import exercise`
    paths = [str(ROOT), str(NOTEBOOKS)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def write_front_door(html: Path) -> None:
    """index.html at the site's root, pointing at the chapters' index (the root document)."""
    (html / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<title>tinygan course</title>\n'
        '<meta http-equiv="refresh" content="0; url=chapters/README.html">\n'
        '</head><body><p><a href="chapters/README.html">The tinygan course</a></p></body></html>\n',
        encoding="utf-8")


def build(build_dir: Path, quick: bool, execute: bool = True, jobs: int = 1,
          strict: bool = False) -> Path:
    """Build the site into ``build_dir/html``; return that folder."""
    try:
        from sphinx.cmd.build import build_main
    except ImportError:   # pragma: no cover - the message is the point
        raise SystemExit('the course site needs the book extra: pip install -e ".[book]"')
    build_dir = build_dir.resolve()
    source, html, doctrees = build_dir / "source", build_dir / "html", build_dir / "doctrees"
    names = stage(source, quick)
    env = kernel_environment(quick)      # Jupyter kernels inherit this process's environment
    os.environ.clear()
    os.environ.update(env)
    os.environ["TINYGAN_BOOK_EXECUTE"] = "force" if execute else "off"
    runs = "quick notebook runs" if quick else "the notebooks' full runs"
    print(f"building the course site ({len(names)} chapters, {runs}"
          f"{'' if execute else ', not executed'}) into {html}", flush=True)
    argv = ["-b", "html", "-c", str(BOOK), "-d", str(doctrees), "-j", str(jobs), "-E", "-q",
            str(source), str(html)]
    if strict:
        argv[:0] = ["-W", "--keep-going"]
    status = build_main(argv)
    if status != 0:
        raise SystemExit(f"the site build failed (sphinx exit status {status}); see the messages above")
    write_front_door(html)
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="run the notebooks with TINYGAN_QUICK=1 (short training runs)")
    parser.add_argument("--build-dir", type=Path, default=None,
                        help="where to build (default build/book, or build/book-quick with --quick); "
                             "the site is BUILD_DIR/html")
    parser.add_argument("--no-execute", action="store_true",
                        help="render the notebooks without running them (layout checks only)")
    parser.add_argument("--jobs", "-j", type=int, default=min(2, os.cpu_count() or 1),
                        help="Sphinx processes reading (and executing notebooks) in parallel "
                             "(default: 2, or 1 on a one-core machine)")
    parser.add_argument("--strict", action="store_true",
                        help="treat every Sphinx warning (a broken link, a missing image) as an error")
    args = parser.parse_args(argv)
    build_dir = args.build_dir or ROOT / "build" / ("book-quick" if args.quick else "book")
    start = time.perf_counter()
    html = build(build_dir, quick=args.quick, execute=not args.no_execute, jobs=args.jobs,
                 strict=args.strict)
    print(f"site built in {time.perf_counter() - start:.0f} s: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
