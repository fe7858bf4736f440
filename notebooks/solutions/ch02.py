"""Reference solutions for notebook 02 (the game)."""
import math

import tinygan as tg
from tinygan import functional as F


def exercise_2_1() -> float:
    # A D whose logit is 0 everywhere outputs 1/2: log(1/2) + log(1 - 1/2) = -log 4,
    # whatever the samples are.
    logits = tg.zeros(100, 1)
    return (F.log_sigmoid(logits).mean() + F.log_sigmoid(-logits).mean()).item()


def exercise_2_2() -> tuple[float, float, float]:
    d_real, d_fake = 0.9, 0.2
    loss_d = -math.log(d_real) - math.log(1 - d_fake)   # BCE(real, 1) + BCE(fake, 0)
    loss_g_saturating = math.log(1 - d_fake)            # G minimises log(1 - D(G(z)))
    loss_g_non_saturating = -math.log(d_fake)           # G minimises -log D(G(z))
    return loss_d, loss_g_saturating, loss_g_non_saturating


def exercise_2_3() -> int:
    a = 0
    while F.sigmoid(tg.tensor([float(a)])).item() < 1.0:
        a += 1
    return a
