"""Optimizers against updates computed by hand from the published rules."""
import numpy as np
import pytest

import tinygan
from tinygan import optim
from tests.helpers import to_np


def param(values):
    return tinygan.nn.Parameter(np.array(values, dtype=np.float64))


def set_grad(p, g):
    p.grad = tinygan.Tensor(np.array(g, dtype=np.float64))


def test_sgd_plain_momentum_nesterov_weight_decay():
    p = param([1.0, -2.0])
    opt = optim.SGD([p], lr=0.1)
    set_grad(p, [0.5, 1.0])
    opt.step()
    np.testing.assert_allclose(to_np(p), [0.95, -2.1])

    p = param([1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    set_grad(p, [1.0])
    opt.step()  # g = 1 + 0.01*1 = 1.01 ; b = 1.01 ; p = 1 - 0.101
    np.testing.assert_allclose(to_np(p), [0.899])
    set_grad(p, [1.0])
    opt.step()  # g = 1 + 0.00899 ; b = 0.9*1.01 + g ; p -= 0.1 b
    g = 1 + 0.01 * 0.899
    np.testing.assert_allclose(to_np(p), [0.899 - 0.1 * (0.9 * 1.01 + g)])

    p = param([1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.5, nesterov=True)
    set_grad(p, [2.0])
    opt.step()  # b = 2 ; g = 2 + 0.5*2 = 3
    np.testing.assert_allclose(to_np(p), [0.7])
    set_grad(p, [2.0])
    opt.step()  # b = 0.5*2 + 2 = 3 ; g = 2 + 1.5 = 3.5
    np.testing.assert_allclose(to_np(p), [0.35])


def adam_reference(p, grads, lr, b1, b2, eps, wd=0.0):
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return p


def test_adam_matches_the_published_rule():
    grads = [np.array([0.3, -1.0]), np.array([0.1, 2.0]), np.array([-0.5, 0.0])]
    for wd in (0.0, 0.1):
        p = param([1.0, 2.0])
        opt = optim.Adam([p], lr=2e-4 * 100, betas=(0.5, 0.999), weight_decay=wd)
        for g in grads:
            set_grad(p, g)
            opt.step()
        expected = adam_reference(np.array([1.0, 2.0]), grads, 2e-2, 0.5, 0.999, 1e-8, wd)
        np.testing.assert_allclose(to_np(p), expected, rtol=1e-10)


def test_rmsprop_plain_centered_and_momentum():
    g1, g2 = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    p = param([0.0, 0.0])
    opt = optim.RMSprop([p], lr=0.01, alpha=0.9)
    v = np.zeros(2)
    expected = np.zeros(2)
    for g in (g1, g2):
        set_grad(p, g)
        opt.step()
        v = 0.9 * v + 0.1 * g * g
        expected = expected - 0.01 * g / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(to_np(p), expected)

    p = param([0.0, 0.0])
    opt = optim.RMSprop([p], lr=0.01, alpha=0.9, centered=True, momentum=0.5)
    v = np.zeros(2); avg = np.zeros(2); buf = np.zeros(2); expected = np.zeros(2)
    for g in (g1, g2):
        set_grad(p, g)
        opt.step()
        v = 0.9 * v + 0.1 * g * g
        avg = 0.9 * avg + 0.1 * g
        buf = 0.5 * buf + g / (np.sqrt(v - avg * avg) + 1e-8)
        expected = expected - 0.01 * buf
    np.testing.assert_allclose(to_np(p), expected)


def test_parameters_without_grad_are_skipped_and_zero_grad_clears():
    a, b = param([1.0]), param([2.0])
    opt = optim.Adam([a, b], lr=0.1)
    set_grad(a, [1.0])
    opt.step()
    assert to_np(b).tolist() == [2.0] and to_np(a)[0] < 1.0
    opt.zero_grad()
    assert a.grad is None


def test_param_groups_have_their_own_hyperparameters():
    a, b = param([1.0]), param([1.0])
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    set_grad(a, [1.0]); set_grad(b, [1.0])
    opt.step()
    np.testing.assert_allclose([to_np(a)[0], to_np(b)[0]], [0.9, 0.0])


@pytest.mark.parametrize("make", [
    lambda ps: optim.Adam(ps, lr=0.01, betas=(0.5, 0.999)),
    lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9),
    lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.3),
], ids=["adam", "sgd", "rmsprop"])
def test_state_dict_resume_is_bit_for_bit(make):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=3) for _ in range(6)]
    p = param([0.1, 0.2, 0.3])
    opt = make([p])
    for g in grads:
        set_grad(p, g)
        opt.step()
    uninterrupted = to_np(p).copy()

    p = param([0.1, 0.2, 0.3])
    opt = make([p])
    for g in grads[:3]:
        set_grad(p, g)
        opt.step()
    saved_p, saved_opt = to_np(p).copy(), opt.state_dict()
    p2 = param(saved_p)
    opt2 = make([p2])
    opt2.load_state_dict(saved_opt)
    for g in grads[3:]:
        set_grad(p2, g)
        opt2.step()
    assert np.array_equal(to_np(p2), uninterrupted)


def test_bad_hyperparameters_and_empty_params():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([param([1.0])], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([param([1.0])], lr=-1)
    with pytest.raises(ValueError, match="group"):
        optim.Adam([param([1.0])]).load_state_dict(
            optim.Adam([param([1.0]), param([2.0])]).state_dict())


def test_optimizer_keeps_float32_parameters_float32():
    layer = tinygan.nn.Linear(3, 2)
    opt = optim.Adam(layer.parameters(), lr=1e-3)
    layer(tinygan.randn(4, 3)).sum().backward()
    opt.step()
    assert all(p.dtype == np.float32 for p in layer.parameters())
    assert all(v.dtype == np.float32 for s in opt.state.values() for k, v in s.items()
               if k != "step")


def test_parameters_are_checked_as_pytorch_checks_them():
    """Frozen parameters (requires_grad=False) are accepted and skipped, as in PyTorch
    (tinygan refused them: fine-tuning code passes model.parameters() with some frozen);
    a lone Tensor (list() would walk its rows), a non-leaf, a set, and one parameter in two
    groups are refused; named parameters are accepted."""
    frozen, live = param([1.0]), param([2.0])
    frozen.requires_grad = False
    opt = optim.SGD([frozen, live], lr=0.5)
    set_grad(live, [1.0])
    opt.step()
    assert to_np(frozen).tolist() == [1.0] and to_np(live).tolist() == [1.5]
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(param([1.0, 2.0]), lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([live * 2.0], lr=0.1)
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD([{"params": {live}}], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [live]}, {"params": [live]}], lr=0.1)
    named = optim.Adam([("w", live)], lr=0.1)
    assert named.param_groups[0]["param_names"] == ["w"]
    assert named.param_groups[0]["params"][0] is live


def test_step_runs_a_closure_first_and_returns_its_loss():
    p = param([3.0])
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    with tinygan.no_grad():   # the closure runs with gradients on, as in PyTorch
        loss = opt.step(closure)
    assert loss.item() == 9.0 and to_np(p).tolist() == [3.0 - 0.1 * 6.0]


def test_a_zero_dimensional_parameter_keeps_its_momentum():
    """A 0-d parameter with weight decay: NumPy made the decayed gradient a scalar, so the
    momentum buffer built from it never changed in place (tinygan's steps 2, 3 ... used the
    first gradient; found by tests/test_optim_differential.py, loop 3)."""
    p = tinygan.nn.Parameter(np.array(1.0))
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    expected, buf = 1.0, None
    for g in (1.0, 2.0, -1.0):
        p.grad = tinygan.Tensor(np.array(g))
        opt.step()
        d = g + 0.1 * expected
        buf = d if buf is None else 0.9 * buf + d
        expected -= 0.1 * buf
        assert float(to_np(p)) == pytest.approx(expected, rel=1e-15)
