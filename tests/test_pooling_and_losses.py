"""Pooling (max, average, adaptive average) and the L1 / NLL losses against PyTorch: values,
first and second derivatives (tests/test_oracle.py's check), and gradient checks."""
import numpy as np
import pytest

import tinygan
from tinygan import nn
from tinygan.engine import losses as L, pooling as P
from tests.test_oracle import Row, check

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _distinct(shape, seed=0):
    """Values with no ties (max pooling's gradient is not defined at a tie)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1 - 1.0 + \
        rng.normal(size=shape) * 1e-3


MAX_CASES = [((2, 3, 7, 6), dict(kernel_size=2)),
             ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
             ((1, 2, 9, 9), dict(kernel_size=(3, 2), stride=(2, 1), dilation=2)),
             ((1, 2, 7, 7), dict(kernel_size=2, ceil_mode=True)),
             ((2, 5, 5), dict(kernel_size=2, stride=1, padding=1))]      # no batch, overlaps
AVG_CASES = [((2, 3, 7, 6), dict(kernel_size=2)),
             ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
             ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
             ((1, 2, 7, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
             ((1, 2, 7, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                 count_include_pad=False)),
             ((1, 2, 7, 8), dict(kernel_size=3, divisor_override=4)),
             ((3, 6, 6), dict(kernel_size=2))]
ADAPTIVE_CASES = [((2, 3, 7, 6), 1), ((2, 3, 7, 6), (3, 4)), ((2, 3, 5, 9), (None, 4)),
                  ((3, 10, 10), (7, 3)), ((1, 1, 4, 4), 6)]                   # upsampling bins


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(MAX_CASES)))
def test_max_pool2d_matches_pytorch_with_two_derivatives(case, dtype):
    shape, options = MAX_CASES[case]
    row = Row(None, lambda x: P.max_pool2d(x, **options), lambda x: TF.max_pool2d(x, **options))
    check(row, [_distinct(shape)], {}, dtype)
    y, i = P.max_pool2d(tinygan.tensor(_distinct(shape)), return_indices=True, **options)
    ty, ti = TF.max_pool2d(torch.tensor(_distinct(shape)), return_indices=True, **options)
    assert i.dtype == np.int64 and i.numpy().tolist() == ti.numpy().tolist()


def test_max_pool2d_ties_go_to_the_first_as_in_pytorch():
    a = np.zeros((1, 1, 4, 4))                  # after a ReLU: whole windows of zeros
    a[0, 0, 3, 3] = 1.0
    x, xt = tinygan.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    P.max_pool2d(x, 2, 1).sum().backward()
    TF.max_pool2d(xt, 2, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(AVG_CASES)))
def test_avg_pool2d_matches_pytorch_with_two_derivatives(case, dtype):
    shape, options = AVG_CASES[case]
    row = Row(None, lambda x: P.avg_pool2d(x, **options), lambda x: TF.avg_pool2d(x, **options))
    check(row, [np.random.default_rng(case).normal(size=shape)], {}, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(ADAPTIVE_CASES)))
def test_adaptive_avg_pool2d_matches_pytorch_with_two_derivatives(case, dtype):
    shape, size = ADAPTIVE_CASES[case]
    row = Row(None, lambda x: P.adaptive_avg_pool2d(x, size),
              lambda x: TF.adaptive_avg_pool2d(x, size))
    check(row, [np.random.default_rng(case).normal(size=shape)], {}, dtype)


def test_pooling_passes_gradcheck():
    x = tinygan.tensor(_distinct((1, 2, 5, 5)), requires_grad=True)
    for fn in (lambda t: P.max_pool2d(t, 3, 2, 1), lambda t: P.avg_pool2d(t, 2, 1),
               lambda t: P.adaptive_avg_pool2d(t, (2, 3))):
        assert tinygan.gradcheck(fn, (x,)) and tinygan.gradgradcheck(fn, (x,))


def test_pooling_modules_and_errors():
    x = tinygan.tensor(_distinct((2, 3, 8, 8)))
    xt = torch.tensor(_distinct((2, 3, 8, 8)))
    for ours, theirs in ((nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
                         (nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
                         (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
                         (nn.AdaptiveAvgPool2d((1, 1)), torch.nn.AdaptiveAvgPool2d((1, 1)))):
        np.testing.assert_allclose(ours(x).numpy(), theirs(xt).numpy(), rtol=1e-12)
    assert tinygan.nn.functional.max_pool2d(x, 2).shape == (2, 3, 4, 4)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        P.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="3-D .* or 4-D"):
        P.max_pool2d(tinygan.ones(4, 4), 2)
    with pytest.raises(RuntimeError, match="too small"):
        P.max_pool2d(tinygan.ones(1, 1, 2, 2), 3)


# ---- losses -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_l1_loss_matches_pytorch(reduction, dtype):
    rng = np.random.default_rng(1)
    row = Row(None, lambda x, t: L.l1_loss(x, t, reduction=reduction),
              lambda x, t: TF.l1_loss(x, t, reduction=reduction))
    check(row, [rng.normal(size=(4, 3)), rng.normal(size=(4, 3))], {}, dtype)
    assert nn.L1Loss(reduction=reduction)(tinygan.ones(2), tinygan.zeros(2)).shape == \
        tuple(torch.nn.L1Loss(reduction=reduction)(torch.ones(2), torch.zeros(2)).shape)


NLL_CASES = [((5, 4), [0, 3, 1, 1, 2], {}),
             ((5, 4), [0, 3, -100, 1, 2], dict(ignore_index=-100)),
             ((5, 4), [0, 3, 2, 1, 2], dict(ignore_index=2)),
             ((5, 4), [0, 3, 1, 1, 2], dict(weight=[1.0, 2.0, 0.5, 3.0])),
             ((2, 3, 2, 2), [[[0, 1], [2, 2]], [[1, 1], [0, 2]]], {}),          # per pixel
             ((4,), 2, {})]                                                      # one sample


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", range(len(NLL_CASES)))
def test_nll_loss_matches_pytorch(case, reduction, dtype):
    shape, target, options = NLL_CASES[case]
    target = np.array(target, dtype=np.int64)
    weight = options.get("weight")
    rest = {k: v for k, v in options.items() if k != "weight"}
    row = Row(None, lambda x: L.nll_loss(x, tinygan.tensor(target), None if weight is None
                                         else tinygan.tensor(np.array(weight, dtype)),
                                         reduction=reduction, **rest),
              lambda x: TF.nll_loss(x, torch.tensor(target), None if weight is None
                                    else torch.tensor(np.array(weight, dtype)),
                                    reduction=reduction, **rest))
    check(row, [np.random.default_rng(case).normal(size=shape)], {}, dtype)


def test_nll_loss_module_errors_and_legacy_flags():
    x = tinygan.randn(3, 4)
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        L.nll_loss(x, tinygan.tensor([0, 4, 1]))
    with pytest.raises(RuntimeError, match="Long or Byte, but got int32"):
        L.nll_loss(x, tinygan.tensor([0, 1, 1], dtype=tinygan.int32))
    with pytest.raises(ValueError, match=r"batch_size \(3\) to match target batch_size \(2\)"):
        L.nll_loss(x, tinygan.tensor([0, 1]))
    assert np.isnan(L.nll_loss(x, tinygan.tensor([-100] * 3)).item())        # as PyTorch
    labels = tinygan.tensor([0, 1, 1])
    assert L.nll_loss(x, labels, reduce=False).shape == (3,)
    assert L.nll_loss(x, labels, size_average=False).item() == pytest.approx(
        L.nll_loss(x, labels, reduction="sum").item())
    loss = nn.NLLLoss(weight=tinygan.tensor([1.0, 2.0, 1.0, 1.0]))
    np.testing.assert_allclose(
        loss(x, labels).item(), torch.nn.NLLLoss(weight=torch.tensor([1.0, 2.0, 1.0, 1.0]))(
            torch.tensor(x.numpy()), torch.tensor(labels.numpy())).item(), rtol=1e-6)
    ce = tinygan.nn.functional.cross_entropy(x, labels)            # log_softmax + nll = CE
    np.testing.assert_allclose(L.nll_loss(tinygan.nn.functional.log_softmax(x, 1), labels)
                               .item(), ce.item(), rtol=1e-6)


def test_max_pool_refuses_an_input_changed_in_place_before_backward():
    """Its winners were chosen from x's values: PyTorch refuses the stale backward, so must
    tinygan (it passed silently before)."""
    x = tinygan.ones(1, 1, 4, 4, requires_grad=True)
    y = x * 1.0
    z = P.max_pool2d(y, 2)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (z * z).sum().backward()


def test_l1_loss_broadcasts_with_pytorchs_warning_and_refuses_what_does_not_broadcast():
    x, t = tinygan.ones(2, 3, requires_grad=True), tinygan.tensor([0.0, 1.0, 3.0])
    with pytest.warns(UserWarning, match="different to the input size"):
        loss = L.l1_loss(x, t)
    assert loss.item() == pytest.approx((1 + 0 + 2) / 3)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="do not broadcast"):
        L.l1_loss(x, tinygan.ones(3, 2))



def test_max_pool_winners_ties_nan_and_inf_as_pytorch():
    """PyTorch's max_pool2d walks a window in reading order from its first pixel inside and
    moves on at a larger value or a NaN: the first of equal maxima wins, the last NaN wins,
    and a window of -inf keeps its first pixel inside (not a padding position). Values,
    indices and the gradient's place, against PyTorch, on rounded (so often tied) values
    with NaN and infinities mixed in."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for trial in range(300):
        dtype = ("float32", "float64")[trial % 2]
        shape = tuple(int(v) for v in (1 + rng.integers(2), 1 + rng.integers(2),
                                       1 + rng.integers(5), 1 + rng.integers(5)))
        x = np.round(rng.standard_normal(shape), 0).astype(dtype)
        if trial % 2:
            x[rng.random(shape) < 0.25] = rng.choice([np.nan, np.inf, -np.inf])
        k = (int(1 + rng.integers(3)), int(1 + rng.integers(3)))
        s = (int(1 + rng.integers(2)), int(1 + rng.integers(2)))
        p = (int(rng.integers(k[0] // 2 + 1)), int(rng.integers(k[1] // 2 + 1)))
        d = (int(1 + rng.integers(2)), int(1 + rng.integers(2)))
        ceil = bool(rng.integers(2))
        found = []
        for fw in (tinygan, torch):
            xt = fw.tensor(x, requires_grad=True)
            try:
                y, i = fw.nn.functional.max_pool2d(xt, k, s, p, d, ceil, return_indices=True)
            except RuntimeError as error:   # too small for both, or (tinygan) the next test
                if "entirely in the padding" not in str(error):
                    with pytest.raises(RuntimeError):
                        torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, d, ceil)
                break
            y.backward(fw.tensor(np.ones(tuple(y.shape), dtype=dtype)))
            found.append([np.asarray(t.tolist()) for t in (y, i, xt.grad)])
        else:
            for ours, theirs in zip(*found):
                assert np.array_equal(ours, theirs, equal_nan=True), (shape, k, s, p, d)


def test_max_pool_window_entirely_in_the_padding_is_refused():
    """With dilation a window can miss the input altogether; PyTorch 2.13 then reads memory
    outside the input (garbage indices, and at times a crash), so tinygan refuses."""
    x = tinygan.zeros(1, 1, 5, 1)
    with pytest.raises(RuntimeError, match="entirely in the padding"):
        tinygan.nn.functional.max_pool2d(x, (3, 2), (2, 1), (1, 1), (2, 2))


_EMPTY_PROBES = {
    "max_pool2d k1": lambda F, x: F.max_pool2d(x, 1),
    "max_pool2d k2 s1 p1": lambda F, x: F.max_pool2d(x, 2, 1, 1),
    "avg_pool2d k1": lambda F, x: F.avg_pool2d(x, 1),
    "avg_pool2d k2 s1 p1": lambda F, x: F.avg_pool2d(x, 2, 1, 1),
    "adaptive (1, 1)": lambda F, x: F.adaptive_avg_pool2d(x, (1, 1)),
    "adaptive 1": lambda F, x: F.adaptive_avg_pool2d(x, 1),
    "adaptive (2, 3)": lambda F, x: F.adaptive_avg_pool2d(x, (2, 3)),
    "adaptive (0, 1)": lambda F, x: F.adaptive_avg_pool2d(x, (0, 1)),
    "adaptive (None, 1)": lambda F, x: F.adaptive_avg_pool2d(x, (None, 1)),
}


def _pooled(fw, shape, probe):
    """Forward and backward of one pooling on ones of ``shape``: shapes and values (NaN as
    7) or the exception's type."""
    try:
        x = fw.ones(shape, requires_grad=True)
        y = _EMPTY_PROBES[probe](fw.nn.functional, x)
        y.sum().backward()
    except (RuntimeError, ValueError, IndexError) as error:
        return "raises", type(error).__name__
    values = np.nan_to_num(np.asarray(y.detach().tolist(), dtype=float), nan=7.0)
    return tuple(y.shape), np.round(values, 6).tolist(), np.asarray(x.grad.tolist()).tolist()


@pytest.mark.parametrize("probe", sorted(_EMPTY_PROBES))
def test_pooling_of_empty_and_small_inputs_as_pytorch(probe):
    """Every shape of 2 to 4 dims with sizes 0, 1 and 2, against PyTorch (issue 29, seeds
    3904418 and 3918498): the windowed pools accept an empty batch only; adaptive pooling
    to 1 x 1 is PyTorch's mean shortcut, which accepts any input of 3 dims or more (an int
    size even 2), and its other sizes need pixels, allow an empty output side, and refuse
    an empty gradient in backward; max pooling of an empty batch crashed in a reshape."""
    import itertools
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    for ndim in (2, 3, 4):
        for shape in itertools.product((0, 1, 2), repeat=ndim):
            ours, theirs = _pooled(tinygan, shape, probe), _pooled(torch, shape, probe)
            if theirs[0] == "raises":
                assert ours[0] == "raises", (shape, ours, theirs)
            else:
                assert ours == theirs, (shape, ours, theirs)


@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy", "cross_entropy smoothed"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_losses_with_special_weights_as_pytorch(loss, reduction):
    """nll_loss and cross_entropy with an inf, NaN or zero class weight, targets ignored or
    not, float32 and float64: the loss, its gradient and the second derivative of the
    gradient's squared norm as PyTorch's (issue 29, special values: an ignored row took
    w[0] * 0 = NaN into cross_entropy's mean; nll_loss's zero second derivative came back
    through its own composite as 0 * inf; label smoothing divided its two parts together,
    inf where PyTorch's 0 / 0 is NaN)."""
    import itertools
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    for w0, ignore, dtype in itertools.product((float("inf"), 2.0, float("nan"), 0.0, None),
                                              (-100, 0, 3), ("float64", "float32")):
        found = []
        for fw in (tinygan, torch):
            F = fw.nn.functional
            x = fw.tensor([[-0.0, 1.22, -0.3, -0.4], [0.31, 0.48, 1.72, -0.0]],
                         dtype=getattr(fw, dtype), requires_grad=True)
            target = fw.tensor([3, 0])
            weight = None if w0 is None else fw.tensor([w0, 1.0, 0.94, 0.35],
                                                      dtype=getattr(fw, dtype))
            extra = {"label_smoothing": 0.2} if loss.endswith("smoothed") else {}
            fn = F.nll_loss if loss == "nll_loss" else F.cross_entropy
            y = fn(x, target, weight=weight, reduction=reduction, ignore_index=ignore,
                   **extra).sum()
            (g,) = fw.autograd.grad(y, [x], create_graph=True)
            (h,) = fw.autograd.grad((g * g).sum(), [x], allow_unused=True)
            found.append([np.nan_to_num(np.asarray(v.tolist(), dtype=float), nan=7.0)
                          for v in (y, g, h)])
        for ours, theirs in zip(*found):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{w0}, ignore {ignore}, {dtype}")


def test_nll_loss_refuses_a_weight_of_another_dtype_as_pytorch():
    """PyTorch's nll_loss needs the class weights in the input's dtype ("expected scalar
    type Float but found Double"); tinygan computed (issue 29, seed 4303557)."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    for reduction in ("none", "mean", "sum"):
        for fw in (tinygan, torch):
            with pytest.raises(RuntimeError):
                fw.nn.functional.nll_loss(fw.tensor([[-0.25, 0.1]]), fw.tensor([0]),
                                          weight=fw.tensor([1.47, 0.5], dtype=fw.float64),
                                          reduction=reduction)
