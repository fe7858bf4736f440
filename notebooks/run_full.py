"""The notebooks' full runs, kept: notebooks/full/NN_name.ipynb, executed without quick mode.

The notebooks in notebooks/ hold no outputs (a change shows in ``git diff`` as code or
text). Their full runs train for minutes, so the course site does not redo them on every
build: each is executed once, here, and committed with its outputs in notebooks/full/,
where GitHub and Jupyter show it too. Each carries a stamp in its metadata,

    "tinygan": {"source": "src/NN_name.py", "source_sha256": "...", "seconds": 123.4, ...}

the hash of the source it was run from. A full run whose source has changed since is
*stale*: ``--check`` (and tests/test_notebooks.py) fails on it, the site build refuses to
show it, and ``python notebooks/run_full.py`` runs it again.

    python notebooks/run_full.py               # run every notebook whose full run is stale or missing
    python notebooks/run_full.py 06_mlp_gan_mnist 13_gan_lab   # these, stale or not
    python notebooks/run_full.py --check       # exit 1 naming each stale or missing full run

A run executes the notebook as the site shows it: in a fresh kernel with this checkout's
tinygan, pictures inline, one BLAS thread, the exercises' self-check cells shown but not
run (homework, not answers). The stamp hashes only the notebook's source: a change in
tinygan itself that changes a notebook's numbers does not make it stale, so after such a
change run the notebooks again (the full-mode assertions in each notebook fail a run whose
numbers no longer match its text).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCES = HERE / "src"
FULL = HERE / "full"
STAMP = "tinygan"


def _load(name: str, path: Path):
    """A helper script of this repository as a module (two of them are called build.py)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def names() -> list[str]:
    """Every notebook, as 'NN_name', in course order."""
    return sorted(p.stem for p in SOURCES.glob("[0-9][0-9]_*.py"))


def source_hash(name: str) -> str:
    return hashlib.sha256((SOURCES / f"{name}.py").read_bytes()).hexdigest()


def stamp_of(path: Path) -> dict:
    """The stamp of a full run on disk ({} when it has none or cannot be read)."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stamp = notebook.get("metadata", {}).get(STAMP, {})
    return stamp if isinstance(stamp, dict) else {}


def status(name: str) -> str:
    """'current', 'stale' (run from another version of its source) or 'missing'."""
    path = FULL / f"{name}.ipynb"
    if not path.is_file() or path.is_symlink():
        return "missing"
    return "current" if stamp_of(path).get("source_sha256") == source_hash(name) else "stale"


def run(name: str, timeout_s: int = 3600) -> float:
    """Execute notebook ``name`` in full mode into notebooks/full/; returns the seconds taken."""
    import nbclient
    import nbformat
    build_nb = _load("notebooks_build", HERE / "build.py")
    book = _load("book_build", ROOT / "book" / "build.py")
    notebook = build_nb.build_notebook(SOURCES / f"{name}.py")
    book._mark_self_checks(notebook)                # exercises: shown, not run
    env = book.kernel_environment(quick=False)
    digest = source_hash(name)                      # the source as it is when the run starts
    start = time.perf_counter()
    saved = dict(os.environ)
    os.environ.clear()                              # the kernel inherits this process's env
    os.environ.update(env)
    try:                                            # run folders it writes go to a temp dir
        with tempfile.TemporaryDirectory(prefix=f"tinygan-{name}-") as workdir:
            nbclient.NotebookClient(notebook, timeout=timeout_s, kernel_name="python3",
                                    skip_cells_with_tag="skip-execution",
                                    resources={"metadata": {"path": workdir}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    seconds = time.perf_counter() - start
    notebook.metadata[STAMP] = {
        "source": f"src/{name}.py", "source_sha256": digest, "quick": False,
        "seconds": round(seconds, 1),
        "executed_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": "executed by notebooks/run_full.py; regenerate it there, do not edit",
    }
    FULL.mkdir(exist_ok=True)
    target = FULL / f"{name}.ipynb"
    tmp = target.with_suffix(".ipynb.tmp")
    tmp.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (NN_name), stale or not; "
                                                 "default: every stale or missing one")
    parser.add_argument("--check", action="store_true",
                        help="run nothing; exit 1 if any full run is stale or missing")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names()))
    if unknown:
        parser.error(f"no such notebook: {', '.join(unknown)} (choose from {', '.join(names())})")
    states = {name: status(name) for name in names()}
    if args.check:
        bad = {n: s for n, s in states.items() if s != "current"}
        for name, state in bad.items():
            print(f"{state}: notebooks/full/{name}.ipynb (run: python notebooks/run_full.py {name})")
        print(f"{len(states) - len(bad)} of {len(states)} full runs are current")
        return 1 if bad else 0
    todo = args.names or [n for n, s in states.items() if s != "current"]
    for name in todo:
        print(f"running {name} in full ({states[name]}) ...", flush=True)
        print(f"  {run(name):.0f} s -> notebooks/full/{name}.ipynb", flush=True)
    if not todo:
        print("every full run is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
