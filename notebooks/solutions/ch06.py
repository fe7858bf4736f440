"""Reference solutions for notebook 06 (the MLP GAN on MNIST)."""
import math


def exercise_6_1() -> int:
    widths = [784, 512, 256, 1]
    return sum(n_in * n_out + n_out for n_in, n_out in zip(widths, widths[1:]))


def exercise_6_2() -> tuple[int, float]:
    steps_per_epoch = math.ceil(4000 / 64)        # 62 full batches and one of 32
    return steps_per_epoch, 10_000 / steps_per_epoch


def exercise_6_3() -> tuple[float, float, float]:
    # D = 1/2: L_D = -log(1/2) - log(1 - 1/2); NS L_G = -log(1/2); saturating log(1 - 1/2)
    return math.log(4), math.log(2), -math.log(2)
