"""Reference solutions for notebook 04 (autograd)."""
import math

import tinygan as tg
from tinygan import backend
from tinygan import functional as F
from tinygan.engine.tensor import Function


def exercise_4_1() -> float:
    x = tg.tensor([1.0, 2.0])
    w = tg.tensor(0.0, requires_grad=True)
    F.sigmoid(w * x).sum().backward()
    return w.grad.item()          # sum_i x_i sigma'(0) = 3 * 0.25


class Log1pSquare(Function):
    """y = log(1 + x^2), y' = 2x / (1 + x^2)."""

    def forward(self, x):
        return backend.get_array_module(x).log1p(x * x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * 2 * x / (1 + x * x)     # Tensor ops, so gradgradcheck passes too


def exercise_4_2() -> type:
    return Log1pSquare


def exercise_4_3() -> tuple[float, float]:
    f, x, eps = math.exp, 1.0, 1e-3
    one_sided = (f(x + eps) - f(x)) / eps
    central = (f(x + eps) - f(x - eps)) / (2 * eps)
    return abs(one_sided - math.e), abs(central - math.e)


def exercise_4_4() -> float:
    w = tg.tensor(1.0, requires_grad=True)
    x = tg.tensor(2.0)
    ((w * x) ** 2 + w * x).backward()
    return w.grad.item()          # 2 w x^2 + x = 10
