"""Second derivatives through abs, where PyTorch's zero is an efficient one (issue 29).

The derivative of sgn(x), which abs's backward multiplies by, is PyTorch's ZeroTensor: a zero
that mul, div and views pass on without computing, so a second derivative through
``abs(x / 0)`` is 0 where plain zeros give 0 * inf = NaN; mm, a sum back to a broadcast
shape and the rest compute on zeros, and there NaN stays. Found by the program tester's
wide runs on the thirteenth session's machine (9516748: ``v9 = v7 / 0; v9.abs_()``; 9533318:
``abs(abs(v2 @ v3))`` with a NaN; 9569364: ``abs(0 ** w)``). tensor._efficient_zeros gives each op PyTorch's answer;
the generator below draws small programs around abs with inf, NaN and zeros in them.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygan

torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")

SPECIALS = [float("inf"), -float("inf"), float("nan"), 0.0, -0.0, 1.5, -2.0, 0.5]

# the op before abs: (x, w) -> t, with the shapes of x and w it takes
BEFORE = {
    "x / w": ((lambda L, x, w: x / w), (3,), (3,)),
    "x * w": ((lambda L, x, w: x * w), (3,), (3,)),
    "x * w, w broadcast": ((lambda L, x, w: x * w), (2, 3), (3,)),
    "x / w, w broadcast": ((lambda L, x, w: x / w), (2, 3), (1,)),
    "x - w": ((lambda L, x, w: x - w), (3,), (3,)),
    "x + w": ((lambda L, x, w: x + w), (3,), (3,)),
    "dot": ((lambda L, x, w: L.matmul(x, w)), (3,), (3,)),
    "mv": ((lambda L, x, w: L.matmul(x, w)), (2, 3), (3,)),
    "batch @ vector": ((lambda L, x, w: L.matmul(x, w)), (1, 2, 3), (3,)),
    "mm": ((lambda L, x, w: L.matmul(x, w)), (2, 3), (3, 2)),
    "vector @ matrix": ((lambda L, x, w: L.matmul(x, w)), (3,), (3, 2)),
    "sum of x / w": ((lambda L, x, w: (x / w).sum(0, keepdim=True)), (2, 3), (2, 3)),
    "exp(x) * w": ((lambda L, x, w: x.exp() * w), (3,), (3,)),
    "cat then view": ((lambda L, x, w: L.cat([x, w]).reshape(2, 3).T), (3,), (3,)),
    # PyTorch's mean backward computes: its zero is a plain one
    "mean of x / w over a dim": ((lambda L, x, w: (x / w).mean(0)), (2, 3), (2, 3)),
    "a slice of x / w": ((lambda L, x, w: (x / w)[0:2]), (3,), (3,)),
    "-(x / w)": ((lambda L, x, w: -(x / w)), (3,), (3,)),
    # long run 9569364: a tensor exponent (its base's gradient a where(): plain zeros)
    "x ** w": ((lambda L, x, w: x ** w), (3,), (3,)),
    "log(x) * w": ((lambda L, x, w: x.log() * w), (3,), (3,)),
    "lerp": ((lambda L, x, w: L.lerp(x, w, 0.3)), (3,), (3,)),
    "logsumexp of x * w": ((lambda L, x, w: (x * w).logsumexp(0, keepdim=True)), (3,), (3,)),
    "norm of x * w": ((lambda L, x, w: (x * w).norm().reshape(1)), (3,), (3,)),
}

# what follows abs: y -> a scalar loss
AFTER = {
    "sum": lambda L, y: (y * 1.5).sum(),
    "abs again": lambda L, y: y.abs().sum(),
    "in place": lambda L, y: (y.clone().abs_() * 2.0).sum(),
    "square": lambda L, y: (y * y).sum(),
    "mean": lambda L, y: y.mean(),
    "an element": lambda L, y: y.reshape(-1)[0] * 2.0,
    "where": lambda L, y: L.where(y > 1, y, y * 2.0).sum(),
    "sqrt": lambda L, y: y.sqrt().sum(),
    "mse_loss": lambda L, y: L.nn.functional.mse_loss(y, L.zeros_like(y)),
}


def _second_derivatives(L, before, after, x, w):
    f, _, _ = BEFORE[before]
    xs = [L.tensor(x, dtype=L.float64, requires_grad=True),
          L.tensor(w, dtype=L.float64, requires_grad=True)]
    loss = AFTER[after](L, f(L, *xs).abs())
    gs = L.autograd.grad(loss, xs, create_graph=True)
    penalty = sum((g * g).sum() for g in gs)
    if not penalty.requires_grad:
        return None
    hs = L.autograd.grad(penalty, xs, allow_unused=True)
    # (PyTorch's ZeroTensor reads out through an add)
    return [None if h is None else (L.zeros(h.shape, dtype=h.dtype) + h).tolist() for h in hs]


@pytest.mark.parametrize("before", sorted(BEFORE))
def test_second_derivatives_through_abs_as_pytorchs_zero_tensor(before):
    """For each op before abs and each after it, 12 draws of values among inf, NaN, +-0
    and ordinary numbers: the second derivatives agree with PyTorch's, NaN for NaN."""
    rng = np.random.default_rng(sum(map(ord, before)))
    _, x_shape, w_shape = BEFORE[before]
    for after in sorted(AFTER):
        for _ in range(12):
            x = rng.choice(SPECIALS, size=x_shape)
            w = rng.choice(SPECIALS, size=w_shape)
            ours = _second_derivatives(tinygan, before, after, x, w)
            theirs = _second_derivatives(torch, before, after, x, w)
            assert (ours is None) == (theirs is None), (after, x, w)
            for a, b in zip(ours or [], theirs or []):
                assert (a is None) == (b is None), (after, x, w)
                if a is not None:
                    np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-12,
                                               err_msg=f"{before}, {after}, x={x}, w={w}")
