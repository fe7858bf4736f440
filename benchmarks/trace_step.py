"""How many of tinygan's files and functions one training step runs through.

A learner who steps through a GAN's training in a debugger meets every function the step
calls; this counts them. ``sys.setprofile`` reports each Python function call; we keep the
distinct (file, function) pairs whose file is part of the tinygan package, so NumPy, tqdm
and the standard library are not counted (``--list --all`` lists them too). What is not a
function a learner steps into is left out: a comprehension or generator expression (part of
the function that holds it), and import-time code (every tinygan module is imported before
tracing starts, and module and class bodies are skipped).

Two measurements:

* ``train_step``: one ``GANTrainer.train_step`` of ``tinygan train``'s default recipe (the
  ring), after one warm-up step so that first-call work (caches, lazy imports) is left out.
* ``cli``: ``tinygan train`` with its default arguments (in a fresh temporary run folder),
  from the start of its ``main`` until the first call of ``Adam.step``: argument parsing,
  the recipe, building models, optimizers, data and trainer, and the first step up to
  its first update.

    python benchmarks/trace_step.py             # both counts
    python benchmarks/trace_step.py --list      # and the files and functions themselves
    python benchmarks/trace_step.py --json      # one JSON object (the tests read this form)
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import runpy
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tinygan  # noqa: E402

PACKAGE = Path(tinygan.__file__).resolve().parent
#: code objects that are part of the function around them, not functions of their own
INLINE = ("<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>", "<lambda>")


def import_everything() -> None:
    """Import every tinygan module now, so that no import runs while a step is traced
    (``tinygan.__main__`` is left out: importing it would run the command)."""
    for module in pkgutil.walk_packages(tinygan.__path__, "tinygan."):
        if module.name != "tinygan.__main__":
            try:
                importlib.import_module(module.name)
            except ImportError:   # a module for an optional package that is not installed
                pass


class _Reached(BaseException):
    """Raised from the profile hook to stop a traced run at its target function. A
    BaseException, so the command line's error handling (which catches Exception
    subclasses) lets it through; ``finally`` blocks on the way out still run."""


def _where(code: Any) -> tuple[str, str] | None:
    """(path relative to the package's parent, qualified name), or None for a file outside
    the package."""
    path = Path(code.co_filename).resolve()
    try:
        relative = path.relative_to(PACKAGE.parent)
    except ValueError:
        return None
    if relative.parts[0] != PACKAGE.name:
        return None
    return str(relative), getattr(code, "co_qualname", code.co_name)


def trace(run: Callable[[], Any], stop_at: Any = None) -> dict[str, Any]:
    """Run ``run()`` under ``sys.setprofile`` and return what it passed through:
    ``{"tinygan": {file: sorted functions}, "other": {file: sorted functions}}``.

    ``stop_at``: a code object; the run is stopped (by an exception the hook raises) at
    the first call of it, which is itself counted."""
    seen: set[tuple[str, str]] = set()
    other: set[tuple[str, str]] = set()

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        if code is stop_at:
            seen.add(_where(code))
            raise _Reached
        if not code.co_flags & inspect.CO_OPTIMIZED or code.co_name in INLINE:
            return   # a module or class body (import time), or a comprehension
        where = _where(code)
        if where is None:
            other.add((code.co_filename, getattr(code, "co_qualname", code.co_name)))
        else:
            seen.add(where)

    import_everything()
    sys.setprofile(hook)
    try:
        run()
    except _Reached:
        pass
    else:
        if stop_at is not None:
            raise RuntimeError(f"trace: the run ended without calling {stop_at.co_name}")
    finally:
        sys.setprofile(None)
    return {"tinygan": _group(seen), "other": _group(other)}


def _group(pairs: set[tuple[str, str]]) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for file, function in sorted(pairs):
        files.setdefault(file, []).append(function)
    return files


def counts(found: dict[str, list[str]]) -> tuple[int, int]:
    """(files, functions) of one group of ``trace``'s result."""
    return len(found), sum(len(functions) for functions in found.values())


def trace_train_step() -> dict[str, Any]:
    """One train_step of the default recipe (ring), after a warm-up step."""
    from tinygan.gan.build import build_trainer, make_config
    trainer = build_trainer(make_config("ring", "ns", "mlp", seed=0))
    trainer.train_step()   # warm-up
    return trace(trainer.train_step)


def trace_cli(film: bool = True) -> dict[str, Any]:
    """``python -m tinygan train`` with its defaults, from the start until the first Adam
    update (with ``film=False``: ``--no-film``, the run without the lab's film of it)."""
    from tinygan import optim
    with tempfile.TemporaryDirectory() as folder:
        argv = ["tinygan", "train", "--out", os.path.join(folder, "run"), "--quiet"]
        argv += [] if film else ["--no-film"]

        def command() -> None:
            saved, sys.argv = sys.argv, argv
            try:
                runpy.run_module("tinygan", run_name="__main__", alter_sys=True)
            finally:
                sys.argv = saved
        return trace(command, stop_at=optim.Adam.step.__code__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list tinygan's files and functions")
    parser.add_argument("--all", action="store_true",
                        help="with --list: also the files outside tinygan")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", choices=("train_step", "cli", "cli_no_film"),
                        help="one measurement only")
    args = parser.parse_args(argv)
    measures = {"train_step": trace_train_step, "cli": trace_cli,
                "cli_no_film": lambda: trace_cli(film=False)}
    results = {name: fn() for name, fn in measures.items() if args.only in (None, name)}
    if args.json:
        print(json.dumps({name: {"files": counts(r["tinygan"])[0],
                                 "functions": counts(r["tinygan"])[1],
                                 "tinygan": r["tinygan"]} for name, r in results.items()}))
        return 0
    for name, result in results.items():
        files, functions = counts(result["tinygan"])
        other_files, other_functions = counts(result["other"])
        print(f"{name}: {files} tinygan files, {functions} distinct functions "
              f"(outside tinygan: {other_files} files, {other_functions} functions)")
        if args.list:
            groups = ("tinygan", "other") if args.all else ("tinygan",)
            for group in groups:
                for file, names in result[group].items():
                    print(f"  {file} ({len(names)}): {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
