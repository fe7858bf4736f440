"""Reference solutions for notebook 12 (GAN vs VAE, FAQ)."""
import math

import numpy as np


def exercise_12_1() -> float:
    mu, sigma = 1.0, 1.0
    return 0.5 * (mu ** 2 + sigma ** 2 - 1 - math.log(sigma ** 2))


def exercise_12_2() -> float:
    # argmax is piecewise constant: a small change of h leaves the index where it is
    return 0.0


def exercise_12_3(short_run) -> int:
    a, b = short_run(123), short_run(124)
    return sum(not np.array_equal(a[k], b[k]) for k in a)      # every array differs
