"""Reference solutions for notebook 07 (failure modes)."""
import numpy as np

from tinygan.data import toy
from tinygan.metrics.mode_coverage import kl_to_uniform, mode_coverage


def exercise_7_1() -> tuple[tuple[int, float], tuple[int, float]]:
    answers = []
    for modes, std in ((toy.ring_modes(), toy.RING_STD), (toy.grid_modes(), toy.GRID_STD)):
        collapsed = np.repeat(modes[:1], 2500, axis=0)      # every sample on the first mode
        score = mode_coverage(collapsed, modes, std)
        answers.append((score.modes_captured, score.reverse_kl))   # 1 and log K
    return tuple(answers)


def exercise_7_2() -> float:
    return kl_to_uniform(np.array([1, 1, 1, 1, 0, 0, 0, 0]))        # log(8/4) = log 2


def exercise_7_3(play) -> int:
    # the radius grows by sqrt(1.01) per step: doubled after log 2 / (0.5 log 1.01) = 139.3
    radii = np.hypot(*play(False, 200).T)
    return int(np.argmax(radii >= 2))
