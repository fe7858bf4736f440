"""Hidden checks: run by the autograder (book/grade.py) only, never shipped to students.

The public check (tinygan/course/checks.py) is what a student runs in the notebook. For the
exercises whose answer is code, a hidden check tries it where the public one does not look:
other inputs, shapes and edge cases, so that an answer tuned to the public check (a constant
that happens to pass, a function that only works on the check's matrix) loses the hidden point.
Each raises ``WrongAnswer`` with what is wrong, as the public checks do.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import tinygan as tg
from tinygan.course.feedback import WrongAnswer, as_number, fail

HIDDEN_CHECKS = {}


def _hidden(number: str):
    def register(fn):
        HIDDEN_CHECKS[number] = fn
        return fn
    return register


@_hidden("1.3")
def hidden_1_3(answer: Any) -> None:
    """Exactly N(3, 4): w^2 = 4 and b = 3, not merely close on one sample of 20,000."""
    w, b = (as_number("1.3", v) for v in answer)
    if not math.isclose(w * w, 4.0, rel_tol=1e-9) or not math.isclose(b, 3.0, rel_tol=1e-9):
        fail("1.3", "hidden check: your (w, b) gives a distribution close to N(3, 4) on one "
                    "sample, but not exactly N(3, 4)")


@_hidden("4.2")
def hidden_4_2(answer: Any) -> None:
    """The Function on a 2-D float64 input, at 0 and at large |x|, and in float32."""
    from tinygan.engine.gradcheck import GradcheckError, gradcheck, gradgradcheck
    x = tg.tensor([[0.0, 3.0], [-40.0, 0.1]], dtype=tg.float64, requires_grad=True)
    try:
        y = answer()(x)
        if tuple(y.shape) != (2, 2) or not np.allclose(y.numpy(), np.log1p(x.numpy() ** 2)):
            fail("4.2", "hidden check: the forward is wrong on a 2-D input (at 0 or at large |x|)")
        gradcheck(lambda t: answer()(t), [x])
        gradgradcheck(lambda t: answer()(t), [x])
        y32 = answer()(tg.tensor([1.0, -2.0], requires_grad=True))
    except GradcheckError:
        fail("4.2", "hidden check: the derivatives are wrong on a 2-D input (at 0 or at large |x|)")
    except WrongAnswer:
        raise
    except Exception as err:
        fail("4.2", f"hidden check: your Function raised {type(err).__name__} on a 2-D input")
    if y32.dtype != tg.float32:
        fail("4.2", f"hidden check: a float32 input came back as {y32.dtype}: keep the dtype")


@_hidden("5.5")
def hidden_5_5(answer: Any) -> None:
    """A smooth activation never has an exactly-zero gradient: Tanh must count 0 dead units."""
    from tinygan import nn
    try:
        dead = answer(nn.Tanh())
    except Exception as err:
        fail("5.5", f"hidden check: count_dead_units(Tanh()) raised {type(err).__name__}")
    if as_number("5.5", dead) != 0:
        fail("5.5", "hidden check: count_dead_units finds dead units with Tanh, whose gradient "
                    "is never exactly zero: count only exactly-zero gradients")


@_hidden("14.1")
def hidden_14_1(answer: Any) -> None:
    """Wide and tall matrices and a rank-one matrix, with the default number of rounds."""
    rng = np.random.default_rng(123)
    cases = [rng.normal(size=(3, 9)), rng.normal(size=(12, 4)),
             np.outer(rng.normal(size=6), rng.normal(size=5))]
    for W in cases:
        try:
            got = as_number("14.1", answer(W, 300))
        except WrongAnswer:
            raise
        except Exception as err:
            fail("14.1", f"hidden check: top_singular_value raised {type(err).__name__} on a "
                         f"{W.shape[0]}x{W.shape[1]} matrix")
        if not math.isclose(got, np.linalg.svd(W, compute_uv=False)[0], rel_tol=1e-6):
            fail("14.1", f"hidden check: wrong on a {W.shape[0]}x{W.shape[1]} matrix: are u and "
                         "v sized by W's rows and columns?")
