"""Feedback that hints without telling: how an exercise's check says what is wrong.

A check compares the learner's answer with a reference it computes at check time (with
tinygan itself, never a number written into a notebook) and, when they differ, raises
``WrongAnswer`` with a message that names the part that is wrong and the likely mistake
("the second element has the wrong sign", "off by a factor of 2: check the chain rule"),
but never the expected value. A teacher's autograder reads the same messages.

The diagnosis of a wrong number, in order:
1. the exercise's own list of known mistakes, ``{hint: value that mistake produces}``;
2. generic slips: the wrong sign, a factor of 2 either way, the reciprocal;
3. otherwise only the direction ("too large" / "too small").
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import numpy as np

__all__ = ["WrongAnswer", "fail", "as_number", "compare_number", "compare_numbers"]


class WrongAnswer(AssertionError):
    """An exercise's answer failed its check. The message says what is wrong, not the answer."""


def fail(number: str, message: str) -> NoReturn:
    """Stop with the feedback for exercise ``number`` ("4.1")."""
    raise WrongAnswer(f"Exercise {number}: {message}")


def as_number(number: str, value: Any, what: str = "your answer") -> float:
    """``value`` as a float, or stop saying why it is not a plain real number."""
    if value is Ellipsis:
        fail(number, f"{what} is still `...`: replace it with your value")
    if hasattr(value, "requires_grad") and hasattr(value, "item"):     # a tinygan Tensor
        if int(np.prod(getattr(value, "shape", ()) or (1,))) != 1:
            fail(number, f"{what} is a Tensor of shape {tuple(value.shape)}; one number is expected")
        value = value.item()
    is_number = isinstance(value, (int, float, np.number)) or (
        isinstance(value, np.ndarray) and value.size == 1)
    if isinstance(value, (bool, np.bool_)) or not is_number:
        fail(number, f"{what} should be a number (a float or an int), not {type(value).__name__}")
    result = float(np.asarray(value).reshape(()))
    if not math.isfinite(result):
        fail(number, f"{what} is {result}, not a finite number")
    return result


def _close(a: float, b: float, atol: float, rtol: float) -> bool:
    return abs(a - b) <= atol + rtol * abs(b)


def _diagnose(value: float, expected: float, atol: float, rtol: float,
              mistakes: Mapping[str, float]) -> str:
    """Why ``value`` is not ``expected``, without saying ``expected``."""
    for hint, wrong in mistakes.items():
        if _close(value, wrong, atol, rtol) and not _close(wrong, expected, atol, rtol):
            return hint
    if expected != 0 and _close(-value, expected, atol, rtol):
        return "has the wrong sign"
    if expected != 0 and _close(2 * value, expected, atol, rtol):
        return "is off by a factor of 2 (too small by half)"
    if expected != 0 and _close(value, 2 * expected, atol, rtol):
        return "is off by a factor of 2 (twice too large)"
    if value != 0 and expected != 0 and _close(1 / value, expected, atol, rtol):
        return "is the reciprocal of what is asked: check which quantity goes on top"
    direction = "too large" if value > expected else "too small"
    return f"is {direction} (by more than the check's tolerance)"


def compare_number(number: str, value: Any, expected: float, *, atol: float = 1e-6,
                   rtol: float = 0.0, what: str = "your answer",
                   mistakes: Mapping[str, float] | None = None) -> float:
    """Pass if ``|value - expected| <= atol + rtol |expected|``; else stop with a diagnosis."""
    got = as_number(number, value, what)
    if not _close(got, expected, atol, rtol):
        fail(number, f"{what} {_diagnose(got, expected, atol, rtol, mistakes or {})}")
    return got


def compare_numbers(number: str, value: Any, expected: Sequence[float], names: Sequence[str], *,
                    atol: float | Sequence[float] = 1e-6, rtol: float | Sequence[float] = 0.0,
                    mistakes: Sequence[Mapping[str, float]] | None = None) -> tuple[float, ...]:
    """A tuple answer, element by element, with the elements named in the feedback.

    Checks the length first, then whether the right values came in the wrong order, then
    names every wrong element with its own diagnosis.
    """
    n = len(expected)
    shape = "(" + ", ".join(names) + ")"
    if value is Ellipsis:
        fail(number, "your answer is still `...`: replace it with your tuple " + shape)
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        fail(number, f"expected a tuple of {n} numbers {shape}, got {type(value).__name__}")
    if len(value) != n:
        fail(number, f"expected a tuple of {n} numbers {shape}, got {len(value)} element(s)")
    atols = list(atol) if isinstance(atol, Sequence) else [atol] * n
    rtols = list(rtol) if isinstance(rtol, Sequence) else [rtol] * n
    got = [as_number(number, v, f"the element {name}") for v, name in zip(value, names)]
    wrong = [i for i in range(n) if not _close(got[i], expected[i], atols[i], rtols[i])]
    if not wrong:
        return tuple(got)
    # the right values in another order?
    for i in wrong:
        if not any(_close(got[i], expected[j], atols[j], rtols[j]) for j in wrong if j != i):
            break
    else:
        fail(number, f"your values are right but in the wrong order: the tuple is {shape}")
    problems = [f"{names[i]} {_diagnose(got[i], expected[i], atols[i], rtols[i], (mistakes or [{}] * n)[i])}"
                for i in wrong]
    right = n - len(wrong)
    fail(number, "; ".join(problems) + (f" ({right} of {n} right)" if right else ""))
