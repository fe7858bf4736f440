"""Reference solutions for notebook 03 (the math)."""
import math

import numpy as np

import tinygan as tg
from tinygan import functional as F
from tinygan.metrics import theory


def exercise_3_1() -> tuple[float, float]:
    # f'(y) = 3/y - 1/(1 - y) = 0  =>  y = 3/4
    y = 0.75
    return y, 3 * math.log(y) + math.log(1 - y)


def exercise_3_2() -> float:
    # D* = (1)/(1 + 1/2) = 2/3 on [0, 1] and 0 on (1, 2]:
    # C = log(2/3) + 1/2 log(1/3) + 1/2 log(1) (the last half of p_g meets D* = 0)
    xs = np.linspace(-0.5, 2.5, 300_001)
    dx = xs[1] - xs[0]
    p_data = ((xs >= 0) & (xs <= 1)).astype(float)
    p_g = 0.5 * ((xs >= 0) & (xs <= 2)).astype(float)
    return theory.value_at_optimum(p_data, p_g, dx)


def exercise_3_3() -> float:
    a = tg.tensor([-10.0], dtype=tg.float64, requires_grad=True)
    F.log_sigmoid(-a).sum().backward()             # saturating
    saturating = abs(a.grad.item())
    a.grad = None
    (-F.log_sigmoid(a)).sum().backward()           # non-saturating
    return abs(a.grad.item()) / saturating         # (1 - s)/s = e^10
