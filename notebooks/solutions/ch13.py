"""Reference solutions for notebook 13 (the GAN lab)."""
import numpy as np

from tinygan.lab import frames, log_spaced_steps


def exercise_13_1(D, x) -> np.ndarray:
    # saturating / non-saturating = sigmoid(l) / sigmoid(-l) = e^l, sample by sample
    logits = frames.discriminator_map(D, x, probability=False)
    return np.exp(logits)


def exercise_13_2(D, extent) -> tuple[float, float]:
    _, _, grid = frames.plane_grid(extent, 64)
    best = grid[np.argmax(frames.discriminator_map(D, grid))]
    return float(best[0]), float(best[1])


def exercise_13_3() -> int:
    return sum(step <= 200 for step in log_spaced_steps(0, 20000, 40))
