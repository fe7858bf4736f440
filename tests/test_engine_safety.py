"""The engine's safety: no silent wrong answer, PyTorch's errors where PyTorch raises.

Each test here failed on the engine before the version counter and the reorganisation
(issue "The engine you can trust"): it names the case it guards.
"""
import math

import numpy as np
import pytest

import tinygan
from tinygan import functional as F, nn, optim
from tests.helpers import t64, to_np


# ---- 1. permute / transpose with negative axes ----------------------------------------------
def test_permute_with_a_negative_axis_gives_a_gradient_of_the_input_shape():
    x = tinygan.randn(2, 3, 4, requires_grad=True)
    y = x.permute(0, -1, 1)
    assert y.shape == (2, 4, 3)
    y.backward(tinygan.ones(2, 4, 3))
    assert x.grad.shape == (2, 3, 4)
    z = tinygan.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    g = np.random.default_rng(0).normal(size=(2, 4, 3))
    z.permute(0, -1, -2).backward(tinygan.tensor(g, dtype=z.dtype))
    np.testing.assert_allclose(to_np(z.grad), g.transpose(0, 2, 1), rtol=1e-6)


def test_permute_refuses_an_order_that_is_not_a_permutation():
    x = tinygan.randn(2, 3, 4)
    with pytest.raises(ValueError, match="permute"):
        x.permute(0, 0, 1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.permute(0, 1, 3)


# ---- 2. the sigmoid's left tail in float32 ----------------------------------------------------
@pytest.mark.parametrize("x, true", [(-17.0, 4.1399375e-8), (-20.0, 2.0611537e-9),
                                     (-80.0, 1.8048514e-35), (0.0, 0.5), (17.0, 1.0)])
def test_float32_sigmoid_keeps_its_relative_precision_in_the_tail(x, true):
    got = tinygan.tensor([x]).sigmoid().item()
    assert got == pytest.approx(true, rel=1e-6)


def test_bce_on_a_sigmoid_output_keeps_d_gradient_alive_at_logit_minus_20():
    logit = tinygan.tensor([-20.0], requires_grad=True)
    loss = nn.BCELoss()(nn.Sigmoid()(logit), tinygan.tensor([1.0]))
    loss.backward()
    # d/dx -log sigma(x) = sigma(x) - 1: -1 up to rounding, not 0 (what tanh's form gave)
    assert logit.grad.item() == pytest.approx(-1.0, rel=1e-6)
    assert math.isfinite(loss.item()) and loss.item() == pytest.approx(20.0, rel=1e-5)


@pytest.mark.parametrize("x", [1e4, -1e4])
def test_log_sigmoid_and_bce_with_logits_are_exact_at_1e4(x):
    t = tinygan.tensor([x], requires_grad=True)
    F.log_sigmoid(t).backward()
    assert F.log_sigmoid(tinygan.tensor([x])).item() == (0.0 if x > 0 else -1e4)
    assert t.grad.item() == (0.0 if x > 0 else 1.0)
    bce = F.binary_cross_entropy_with_logits(tinygan.tensor([x]), tinygan.tensor([1.0]))
    assert bce.item() == (0.0 if x > 0 else 1e4)


# ---- 3. mixed dtypes ---------------------------------------------------------------------------
def test_a_float64_input_into_a_float32_linear_raises_naming_the_op_and_dtypes():
    layer = nn.Linear(3, 2)
    x = tinygan.randn(4, 3, dtype=tinygan.float64)
    with pytest.raises(RuntimeError, match=r"linear: .*float64, float32"):
        layer(x)
    with pytest.raises(RuntimeError, match=r"matmul: .*float32, float64"):
        tinygan.randn(2, 3) @ tinygan.randn(3, 2, dtype=tinygan.float64)


def test_elementwise_promotion_returns_each_gradient_in_its_inputs_dtype():
    a = tinygan.randn(3, requires_grad=True)                          # float32
    b = tinygan.randn(3, dtype=tinygan.float64, requires_grad=True)
    y = a * b + a
    assert y.dtype == np.float64                                      # as PyTorch: the wider
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(to_np(a.grad), to_np(b) + 1, rtol=1e-6)


def test_scalars_and_zero_dim_tensors_keep_the_tensors_dtype():
    x = tinygan.randn(3)
    assert (x * 2.5).dtype == np.float32 and (2 + x).dtype == np.float32
    assert (x * tinygan.tensor(2.0, dtype=tinygan.float64)).dtype == np.float32
    ints = tinygan.tensor([1, 2, 3])
    assert (ints * 0.5).dtype == np.float32 and (ints * 0.5).tolist() == [0.5, 1.0, 1.5]
    assert (ints + 1).dtype == np.int64
    assert (ints + x).dtype == np.float32


def test_bce_refuses_a_target_of_another_dtype():
    p = tinygan.tensor([0.3, 0.6])
    with pytest.raises(RuntimeError, match="binary_cross_entropy: .*float32, float64"):
        F.binary_cross_entropy(p, tinygan.tensor([0.0, 1.0], dtype=tinygan.float64))


# ---- 4. the version counter ---------------------------------------------------------------------
INPLACE_MESSAGE = "modified by an inplace operation"


def _tiny_gan(seed=0):
    gen = tinygan.Generator(seed)
    G = nn.Sequential(nn.Linear(2, 8, generator=gen), nn.ReLU(), nn.Linear(8, 2, generator=gen))
    D = nn.Sequential(nn.Linear(2, 8, generator=gen), nn.LeakyReLU(0.2),
                      nn.Linear(8, 1, generator=gen))
    return G, D, gen


def test_the_classic_gan_mistake_raises_pytorchs_error_naming_the_op_and_versions():
    """D(G(z)) computed once, D stepped, then G's loss backpropagated through the old graph."""
    G, D, gen = _tiny_gan()
    opt_d = optim.Adam(D.parameters(), lr=1e-3)
    fake = G(tinygan.randn(16, 2, generator=gen))
    d_fake = D(fake)
    loss_d = F.binary_cross_entropy_with_logits(d_fake, tinygan.zeros(16, 1))
    opt_d.zero_grad()
    loss_d.backward(retain_graph=True)
    opt_d.step()                                   # D's weights change in place
    loss_g = F.binary_cross_entropy_with_logits(d_fake, tinygan.ones(16, 1))
    with pytest.raises(RuntimeError, match=INPLACE_MESSAGE) as info:
        loss_g.backward()
    message = str(info.value)
    assert "Linear" in message and "(1, 8)" in message
    assert "is at version 2; expected version 1" in message     # 1: the init, 2: the step


def test_recomputing_after_the_step_is_fine():
    G, D, gen = _tiny_gan()
    opt_d = optim.SGD(D.parameters(), lr=0.1)
    fake = G(tinygan.randn(16, 2, generator=gen))
    F.binary_cross_entropy_with_logits(D(fake.detach()), tinygan.zeros(16, 1)).backward()
    opt_d.step()
    F.binary_cross_entropy_with_logits(D(fake), tinygan.ones(16, 1)).backward()  # no error
    assert G[0].weight.grad is not None


def test_batchnorm_running_stats_bump_their_versions_and_stale_reads_are_caught():
    bn = nn.BatchNorm1d(3)
    x = tinygan.randn(8, 3, requires_grad=True)
    y = x * bn.running_var                        # Mul saves running_var for x's gradient
    bn(tinygan.randn(8, 3))                       # a training forward updates it in place
    assert bn.running_mean._version[0] == bn.running_var._version[0] == 1
    with pytest.raises(RuntimeError, match=INPLACE_MESSAGE):
        y.sum().backward()


def test_init_on_a_weight_saved_for_backward_is_caught():
    layer = nn.Linear(3, 2)
    x = tinygan.randn(4, 3, requires_grad=True)
    y = layer(x)
    nn.init.normal_(layer.weight, 0.0, 0.02)
    with pytest.raises(RuntimeError, match=INPLACE_MESSAGE):
        y.sum().backward()


def test_inplace_methods_bump_the_version_and_saved_outputs_are_checked():
    x = tinygan.randn(5, requires_grad=True)
    y = x.exp()                                    # exp's backward reads its output
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"its output of Exp"):
        y.sum().backward()


def test_inplace_ops_that_need_nothing_saved_do_not_raise():
    """Add needs no values: PyTorch lets this through, so must tinygan."""
    x = tinygan.randn(5, requires_grad=True)
    y = x + 1
    with tinygan.no_grad():
        x.add_(1.0)
    y.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), np.ones(5, dtype=np.float32))


def test_inplace_on_a_graph_node_is_differentiated_like_pytorch():
    x = t64(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    h = x * 3
    h.mul_(x)                                      # h = 3 x^2
    h.add_(1)
    h[0] = 0.0                                     # the first element becomes a constant
    h.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [0.0, 6 * -2.0, 6 * 3.0])


def test_inplace_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w = tinygan.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w.add_(1.0)
    with tinygan.no_grad():
        w.add_(1.0)                               # what an optimizer does: allowed
    assert w._version[0] == 1


def test_views_share_one_version_counter():
    x = tinygan.randn(4, 3, requires_grad=True)
    y = x * 2
    s = y.sigmoid()
    row = s[0]                                     # a view of s's memory
    with tinygan.no_grad():
        row.zero_()
    with pytest.raises(RuntimeError, match=INPLACE_MESSAGE):
        s.sum().backward()


def test_optimizer_steps_bump_every_parameter_version():
    layer = nn.Linear(2, 2)
    for opt in (optim.SGD(layer.parameters(), lr=0.1, momentum=0.9),
                optim.Adam(layer.parameters()), optim.RMSprop(layer.parameters())):
        before = [p._version[0] for p in layer.parameters()]
        layer(tinygan.randn(3, 2)).sum().backward()
        opt.step()
        assert [p._version[0] for p in layer.parameters()] == [v + 1 for v in before]
        opt.zero_grad()


# ---- 5. gradients do not alias ------------------------------------------------------------------
def test_leaf_gradients_never_share_memory_with_each_other_or_the_callers_grad():
    a = tinygan.randn(3, requires_grad=True)
    b = tinygan.randn(3, requires_grad=True)
    g = tinygan.ones(3)
    (a + b).backward(g)
    assert a.grad is not b.grad and a.grad is not g and b.grad is not g
    assert not np.shares_memory(a.grad.array, b.grad.array)
    assert not np.shares_memory(a.grad.array, g.array)
    a.grad.zero_()
    assert to_np(b.grad).tolist() == [1, 1, 1] and to_np(g).tolist() == [1, 1, 1]


def test_a_broadcast_gradient_is_a_writable_copy():
    x = tinygan.randn(3, requires_grad=True)
    x.sum().backward()
    assert x.grad.array.flags.writeable and x.grad.array.base is None
    x.grad.zero_()                                 # would fail on a read-only broadcast view


def test_gradients_accumulate_over_two_backward_calls():
    x = t64(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    first = x.grad
    (3 * x).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [2 + 3, 4 + 3])
    assert x.grad is first                          # accumulated in place, as PyTorch


# ---- 6. zero_grad(set_to_none=False) ------------------------------------------------------------
@pytest.mark.parametrize("owner", ["optimizer", "module"])
def test_zero_grad_without_set_to_none_fills_zeros_in_place(owner):
    layer = nn.Linear(3, 2)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    layer(tinygan.randn(4, 3)).sum().backward()
    grads = [p.grad for p in layer.parameters()]
    (opt if owner == "optimizer" else layer).zero_grad(set_to_none=False)
    for p, g in zip(layer.parameters(), grads):
        assert p.grad is g and not to_np(g).any()
    (opt if owner == "optimizer" else layer).zero_grad()
    assert all(p.grad is None for p in layer.parameters())


# ---- 7. max/min, comparisons, dim= and keepdim= ------------------------------------------------
def test_amax_over_all_axes_or_a_tuple_uses_the_arrays_own_max():
    a = np.random.default_rng(1).normal(size=(3, 4, 5))
    t = t64(a)
    assert F.amax(t).item() == a.max()
    np.testing.assert_array_equal(to_np(F.amax(t, (0, 2))), a.max(axis=(0, 2)))
    np.testing.assert_array_equal(to_np(F.amin(t, (0, -1), keepdim=True)),
                                  a.min(axis=(0, 2), keepdims=True))
    assert t.max().item() == a.max() and t.min().item() == a.min()


def test_comparisons_give_bool_tensors_usable_as_accuracy():
    d_out = tinygan.tensor([[0.9], [0.2], [0.7], [0.4]], requires_grad=True)
    hits = d_out > 0.5
    assert isinstance(hits, tinygan.Tensor) and hits.dtype == np.bool_ and not hits.requires_grad
    assert (hits.float().mean()).item() == 0.5
    assert ((d_out == d_out).all()).item() is True


def test_max_along_a_dim_returns_values_and_indices_and_the_gradient_follows_the_index():
    a = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]])
    x = t64(a, requires_grad=True)
    result = x.max(dim=1)
    values, indices = result
    assert result.values is values and result.indices is indices
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert indices.dtype == np.int64
    values.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [[0, 1, 0], [1, 0, 0]])
    kept = x.min(1, keepdim=True)
    assert kept.values.shape == (2, 1) and kept.indices.tolist() == [[0], [1]]
    assert tinygan.engine.functional.max(x, 0).indices.tolist() == [1, 0, 0]


def test_dim_and_keepdim_are_accepted_wherever_axis_is():
    x = tinygan.randn(2, 3, 4)
    assert F.stack([x, x], dim=1).shape == (2, 2, 3, 4)
    assert F.softmax(x, dim=1).shape == (2, 3, 4)
    np.testing.assert_allclose(to_np(F.softmax(x, dim=1).sum(dim=1)), np.ones((2, 4)),
                               rtol=1e-6)
    assert F.log_softmax(x, dim=-1).shape == (2, 3, 4)
    assert x.unsqueeze(dim=0).shape == (1, 2, 3, 4)
    assert x.unsqueeze(0).squeeze(dim=0).shape == (2, 3, 4)
    assert x.flatten(1).shape == (2, 12) and x.flatten(0, 1).shape == (6, 4)
    assert x.flatten(start_dim=1, end_dim=-2).shape == (2, 3, 4)
    assert x.sum(dim=(0, 2), keepdim=True).shape == (1, 3, 1)
    assert F.cat([x, x], dim=2).shape == (2, 3, 8)


# ---- Tensor.data as PyTorch has it ---------------------------------------------------------------
def test_data_is_a_tensor_sharing_memory_outside_the_graph():
    layer = nn.Linear(3, 2)
    d = layer.weight.data
    assert isinstance(d, tinygan.Tensor) and not d.requires_grad and d.creator is None
    assert np.shares_memory(d.array, layer.weight.array)
    d.clamp_(-0.01, 0.01)                                      # WGAN's weight clipping
    assert float(abs(to_np(layer.weight)).max()) <= 0.01
    nn.init.normal_(layer.weight.data, 0.0, 0.02)              # DCGAN's init
    assert layer.weight.data.size(0) == 2
    layer.weight.data = tinygan.zeros(2, 3)
    assert not to_np(layer.weight).any() and layer.weight.requires_grad
    with pytest.raises(TypeError, match="must be set to a Tensor"):
        layer.weight.data = np.zeros((2, 3))


# ---- dims out of range, bad tensors (the run-folder issue's items 7 and 8) -----------------------
@pytest.mark.parametrize("call", [lambda t: t.transpose(0, 5), lambda t: t.unsqueeze(7),
                                  lambda t: t.squeeze(5), lambda t: t.flatten(5),
                                  lambda t: t.sum(dim=2), lambda t: t.size(-3),
                                  lambda t: t.softmax_like if False else F.softmax(t, 4)])
def test_dimensions_out_of_range_raise_like_pytorch(call):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range "
                                         r"of \[-\d, \d\], but got -?\d\)"):
        call(tinygan.randn(2, 3))


def test_reshape_refuses_sizes_below_minus_one():
    with pytest.raises(ValueError, match="invalid shape"):
        tinygan.randn(2, 6).reshape(-2, 6)
    with pytest.raises(ValueError, match="invalid shape"):
        tinygan.randn(2, 6).view(-1, -1)


@pytest.mark.parametrize("bad", [None, [None, 1.0], "1.5", ["1", 2]])
def test_tensor_refuses_none_and_strings(bad):
    with pytest.raises(TypeError, match="cannot make a tensor"):
        tinygan.tensor(bad)


def test_bools_stay_bool_and_integer_tensors_cannot_require_grad():
    assert tinygan.tensor([True, False]).dtype == np.bool_
    assert tinygan.tensor([1, 2.5]).dtype == np.float32
    with pytest.raises(RuntimeError, match="floating point"):   # PyTorch's error type
        tinygan.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        tinygan.Tensor(np.array([1, 2]), requires_grad=True)


@pytest.mark.parametrize("bad", [float("nan"), -0.1, "0.01", float("inf"), None])
@pytest.mark.parametrize("make", [optim.SGD, optim.Adam, optim.RMSprop])
def test_optimizers_refuse_a_learning_rate_that_is_not_a_finite_non_negative_number(make, bad):
    with pytest.raises(ValueError, match="lr must be a finite number"):
        make(nn.Linear(2, 2).parameters(), lr=bad)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        make([{"params": nn.Linear(2, 2).parameters(), "lr": bad}], lr=0.1)


def test_convolutions_refuse_mixed_dtypes():
    conv = nn.Conv2d(1, 2, 3)
    with pytest.raises(RuntimeError, match=r"Conv2d.*float64, float32"):
        conv(tinygan.randn(1, 1, 5, 5, dtype=tinygan.float64))
    deconv = nn.ConvTranspose2d(2, 1, 3)
    with pytest.raises(RuntimeError, match=r"ConvTranspose2d.*float64, float32"):
        deconv(tinygan.randn(1, 2, 4, 4, dtype=tinygan.float64))
