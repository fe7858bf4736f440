"""Reference solutions for notebook 14 (stabilisers and the dynamics of the game)."""
import numpy as np

import tinygan as tg
from tinygan import nn
from tinygan.gan import dirac, losses, penalties
from tinygan.gan.ema import EMA


def exercise_14_1():
    def top_singular_value(W, rounds=50):
        u = np.ones(W.shape[0]) / np.sqrt(W.shape[0])
        for _ in range(rounds):
            v = W.T @ u
            v /= np.linalg.norm(v)
            u = W @ v
            u /= np.linalg.norm(u)
        return float(u @ W @ v)
    return top_singular_value


def exercise_14_2():
    J = dirac.jacobian(losses.MinimaxLoss(), penalty=penalties.R1Penalty(1.0))
    return np.linalg.eigvals(J)


def exercise_14_3() -> float:
    G = nn.Linear(1, 1, bias=False).double()
    with tg.no_grad():
        G.weight.fill_(0.0)
    ema = EMA(G, decay=0.9)
    with tg.no_grad():
        G.weight.fill_(1.0)
    for _ in range(10):
        ema.update(G)
    return ema.module.weight.item()
