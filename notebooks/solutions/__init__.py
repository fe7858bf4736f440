"""Reference solutions to the notebooks' exercises, and the helper the self-checks call.

Each exercise in a notebook has an answer cell, pre-set to ``...`` (Python's Ellipsis):

    answer_2_1 = ...   # YOUR CODE

and a check cell right after it:

    answer_2_1 = exercise("2.1", answer_2_1)
    assert abs(answer_2_1 - expected) < 1e-6

``exercise`` hands your answer straight back once you have replaced the ``...``. While it is
still ``...`` it stops with a message saying what to do, unless the environment variable
``TINYGAN_SOLUTIONS=1`` is set: then it returns the reference solution from
``solutions/chNN.py`` instead. The test suite sets it, so every self-check is exercised
against the reference answers on every run; set it yourself to compare your answer with ours.
"""
from __future__ import annotations

import importlib
import os
from typing import Any

__all__ = ["exercise", "solutions_enabled"]


def solutions_enabled() -> bool:
    """True when ``TINYGAN_SOLUTIONS`` asks for reference answers in place of ``...``."""
    return os.environ.get("TINYGAN_SOLUTIONS", "").strip().lower() not in ("", "0", "false", "no")


def reference(number: str, **context: Any) -> Any:
    """The reference answer to exercise "C.K": ``solutions/chCC.py``'s ``exercise_C_K``,
    called with the notebook objects it needs (``context``, e.g. a trained model)."""
    chapter, _, item = number.partition(".")
    module = importlib.import_module(f"{__name__}.ch{int(chapter):02d}")
    return getattr(module, f"exercise_{int(chapter)}_{item}")(**context)


def exercise(number: str, answer: Any, **context: Any) -> Any:
    """Your answer if you gave one; else the reference answer (TINYGAN_SOLUTIONS=1); else stop."""
    if answer is not Ellipsis:
        return answer
    if solutions_enabled():
        return reference(number, **context)
    chapter = int(number.partition(".")[0])
    raise NotImplementedError(
        f"Exercise {number}: replace the `...` in the cell above with your answer and run both "
        f"cells again (reference solution: notebooks/solutions/ch{chapter:02d}.py)")
