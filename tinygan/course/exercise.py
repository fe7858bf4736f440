"""``exercise(number, answer)``: the call every exercise's check cell makes.

Each exercise in a notebook has an answer cell, pre-set to ``...`` (Python's Ellipsis),

    answer_4_1 = ...   # YOUR CODE

and a check cell right after it,

    answer_4_1 = exercise("4.1", answer_4_1)

which hands your answer back once it passes the exercise's check (tinygan/course/checks.py),
and otherwise stops with what is wrong, never with the expected answer. While the answer is
still ``...`` it stops and says what to do; with ``TINYGAN_SOLUTIONS=1`` (the test suite, a
teacher) it takes the reference solution instead: ``solutions/chNN.py``, which ships in the
repository's notebooks/ folder and in the instructor edition, never in the student edition.
"""
from __future__ import annotations

import importlib
import inspect
import os
from typing import Any

from tinygan.course.checks import run_check

__all__ = ["exercise", "reference", "solutions_enabled"]


def solutions_enabled() -> bool:
    """True when ``TINYGAN_SOLUTIONS`` asks for reference answers in place of ``...``."""
    return os.environ.get("TINYGAN_SOLUTIONS", "").strip().lower() not in ("", "0", "false", "no")


def reference(number: str, **context: Any) -> Any:
    """The reference answer to exercise "C.K": ``solutions/chCC.py``'s ``exercise_C_K``,
    called with the notebook objects it needs. The ``solutions`` package must be importable
    (the notebooks/ folder of the repository, or of the instructor edition, on the path)."""
    chapter, _, item = number.partition(".")
    name = f"solutions.ch{int(chapter):02d}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            f"TINYGAN_SOLUTIONS=1 needs the reference solutions ({name}): run from the "
            "repository's notebooks/ folder or the instructor edition's, or unset "
            "TINYGAN_SOLUTIONS") from err
    solve = getattr(module, f"exercise_{int(chapter)}_{item}")
    wanted = inspect.signature(solve).parameters      # the check may take more than the solution
    return solve(**{k: v for k, v in context.items() if k in wanted})


def exercise(number: str, answer: Any, **context: Any) -> Any:
    """Check your answer to exercise ``number`` ("4.1") and hand it back.

    answer   your value; ``...`` (not answered yet) stops with what to do, or takes the
             reference solution when TINYGAN_SOLUTIONS=1
    context  notebook objects the check needs (a trained model, a function of the notebook)

    Raises WrongAnswer (an AssertionError) naming what is wrong when the check fails.
    """
    if answer is Ellipsis:
        if not solutions_enabled():
            raise NotImplementedError(
                f"Exercise {number}: replace the `...` in the cell above with your answer and "
                "run both cells again")
        answer = reference(number, **context)
    run_check(number, answer, **context)
    print(f"Exercise {number}: correct")
    return answer

