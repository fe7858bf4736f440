"""Which of its arguments each op keeps for backward, against PyTorch (issue 29).

PyTorch refuses a backward whose op saved a tensor that was changed in place since (its
version counter moved); an op that saved nothing of an argument does not care. tinygan must
refuse exactly where PyTorch does: a missing refusal is a silently wrong gradient, an extra
one stops a program that works. For every op below and every tensor argument, the generator
bumps that argument's version after the forward pass (``t.copy_(t)``: same values, new
version, so only the bookkeeping differs) and runs backward, in both libraries.
"""
from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

import tinygan

HAVE_TORCH = importlib.util.find_spec("torch") is not None
pytestmark = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")


def _cases(fw):
    """name -> (arguments, call). The first argument is the one that requires grad (a
    non-leaf, so it may be changed in place); the others do not."""
    F = fw.nn.functional
    T = fw.tensor
    rows = np.array([[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]])
    x = T(rows)
    x32 = T(rows, dtype=fw.float32)
    probs = T([[0.2, 0.7, 0.9], [0.4, 0.5, 0.1]], dtype=fw.float64)
    idx = T([2, 0])
    w3 = T([1.0, 2.0, 0.5], dtype=fw.float64)
    return {
        "mse_loss": ([x, T(rows * 0.5)], lambda a, b: F.mse_loss(a, b)),
        "mse_loss, float32 target": ([x, T(rows * 0.5, dtype=fw.float32)],
                                     lambda a, b: F.mse_loss(a, b)),
        "l1_loss": ([x, T(rows * 0.5)], lambda a, b: F.l1_loss(a, b)),
        "nll_loss": ([x, idx, w3], lambda a, t, w: F.nll_loss(a, t, weight=w)),
        "cross_entropy": ([x, idx, w3], lambda a, t, w: F.cross_entropy(a, t, weight=w)),
        "cross_entropy, probabilities": ([x, probs.double()],
                                         lambda a, t: F.cross_entropy(a, t)),
        "binary_cross_entropy": ([probs.double(), probs.double() * 0.5, T(rows + 2.0)],
                                 lambda p, t, w: F.binary_cross_entropy(p, t, weight=w)),
        "bce_with_logits": ([x, probs.double(), T(rows + 2.0), w3],
                            lambda a, t, w, pw: F.binary_cross_entropy_with_logits(
                                a, t, weight=w, pos_weight=pw)),
        "softplus, beta 2": ([x], lambda a: F.softplus(a, beta=2.0)),
        "log_softmax": ([x], lambda a: F.log_softmax(a, 1)),
        "softmax": ([x], lambda a: F.softmax(a, 1)),
        "sigmoid": ([x], lambda a: a.sigmoid()),
        "tanh": ([x], lambda a: a.tanh()),
        "exp": ([x], lambda a: a.exp()),
        "relu": ([x], lambda a: a.relu()),
        "leaky_relu": ([x], lambda a: F.leaky_relu(a, 0.2)),
        "logsigmoid": ([x], lambda a: F.logsigmoid(a)),
        "sigmoid then BCE": ([x, probs.double()],
                             lambda a, t: F.binary_cross_entropy(a.sigmoid(), t)),
        "tanh, in place on a view": ([x], lambda a: a[:].tanh_() * 2.0),
        "sigmoid, in place": ([x], lambda a: a.sigmoid_() * 2.0),
        "relu, in place": ([x], lambda a: F.relu(a, inplace=True) * 2.0),
        "elu, in place": ([x], lambda a: F.elu(a, 0.5, inplace=True) * 2.0),
        "elu, in place, then changed": ([x], lambda a: F.elu(a, 0.5, inplace=True).mul_(2.0)),
        "leaky_relu, in place": ([x], lambda a: F.leaky_relu(a, 0.1, inplace=True) * 2.0),
        "leaky_relu, in place, then changed": ([x], lambda a: F.leaky_relu(
            a, 0.1, inplace=True).mul_(2.0)),

        "abs": ([x], lambda a: a.abs()),
        "var": ([x], lambda a: a.var()),
        "std": ([x], lambda a: a.std(1)),
        "norm p=2": ([x], lambda a: a.norm()),
        "norm p=3": ([x], lambda a: a.norm(p=3)),
        "sum": ([x], lambda a: a.sum()),
        "mean": ([x], lambda a: a.mean(0)),
        "amax": ([x], lambda a: a.amax(1)),
        "max over a dim": ([x], lambda a: a.max(1)[0]),
        "mul": ([x, T(rows + 1.0)], lambda a, b: a * b),
        "mul, float32 other": ([x, x32 + 1.0], lambda a, b: a * b),
        "div": ([x, T(rows + 3.0)], lambda a, b: a / b),
        "pow, tensor exponent": ([x.abs() + 0.5, T(rows)], lambda a, b: a ** b),
        "maximum": ([x, T(rows * 0.5)], lambda a, b: fw.maximum(a, b)),
        "where": ([x, T(rows * 0.5), T(rows > 0)], lambda a, b, c: fw.where(c, a, b)),
        "clamp, tensor bounds": ([x, T(rows * 0.0 - 0.5), T(rows * 0.0 + 0.5)],
                                 lambda a, lo, hi: fw.clamp(a, min=lo, max=hi)),
        "lerp, tensor weight": ([x, T(rows * 0.5), T(rows * 0.0 + 0.3)],
                                lambda a, e, w: fw.lerp(a, e, w)),
        "matmul": ([x, T(rows.T)], lambda a, b: a @ b),
        "linear": ([x, T(rows), T(rows[0, :2])], lambda a, w, b: F.linear(a, w, b)),
        "embedding": ([T(rows), idx.clamp(0, 1)], lambda w, i: F.embedding(i, w)),
        "getitem, index tensor": ([x, idx.clamp(0, 1)], lambda a, i: a[i]),
        "cat": ([x, T(rows)], lambda a, b: fw.cat([a, b])),
        "conv2d": ([T(rows).reshape(1, 1, 2, 3), T(rows[:, :2]).reshape(1, 1, 2, 2),
                    T(rows[0, :1])],
                   lambda a, w, b: F.conv2d(a, w, b)),
        "max_pool2d": ([T(rows).reshape(1, 1, 2, 3)], lambda a: F.max_pool2d(a, 2)),
        "interpolate": ([T(rows).reshape(1, 1, 2, 3)],
                        lambda a: F.interpolate(a, scale_factor=2, mode="nearest")),
        "interpolate, bilinear": ([T(rows).reshape(1, 1, 2, 3)],
                                  lambda a: F.interpolate(a, scale_factor=2, mode="bilinear",
                                                          align_corners=False)),
        "avg_pool2d": ([T(rows).reshape(1, 1, 2, 3)], lambda a: F.avg_pool2d(a, 2)),
        "conv_transpose2d": ([T(rows).reshape(1, 1, 2, 3), T(rows[:, :2]).reshape(1, 1, 2, 2),
                              T(rows[0, :1])], lambda a, w, b: F.conv_transpose2d(a, w, b)),
        "sqrt": ([x.abs() + 0.1], lambda a: a.sqrt()),
        "log": ([x.abs() + 0.1], lambda a: a.log()),
        "log1p": ([x.abs()], lambda a: a.log1p()),
        "pow, number": ([x], lambda a: a ** 3),
        "neg and sub": ([x, T(rows)], lambda a, b: -a - b),
        "rsub": ([x], lambda a: 2.0 - a),
        "sort": ([x], lambda a: a.sort(1)[0]),
        "topk": ([x], lambda a: a.topk(2, 1)[0]),
        "amin": ([x], lambda a: a.amin(0)),
        "min over a dim": ([x], lambda a: a.min(1)[0]),
        "mm": ([x, T(rows.T)], lambda a, b: fw.mm(a, b)),
        "t and matmul": ([x, T(rows)], lambda a, b: a.t() @ b),
        "stack": ([x, T(rows)], lambda a, b: fw.stack([a, b])),
        "expand and mul": ([T(rows[:1]), T(rows)], lambda a, b: a.expand(2, 3) * b),
        "transpose and reshape": ([x], lambda a: a.transpose(0, 1).reshape(6)),
        "div, trunc": ([x, T(rows + 3.0)], lambda a, b: fw.div(a, b, rounding_mode="trunc")),
        "div, floor, by a number": ([x], lambda a: fw.div(a, 1.21, rounding_mode="floor")),
        "remainder": ([x, T(rows + 3.0)], lambda a, b: fw.remainder(a, b)),
        "lerp, number weight": ([x, T(rows * 0.5)], lambda a, e: fw.lerp(a, e, 0.3)),
        "minimum": ([x, T(rows * 0.5)], lambda a, b: fw.minimum(a, b)),
        "batched matmul": ([T(rows).reshape(1, 2, 3), T(rows.T).reshape(1, 3, 2)],
                           lambda a, b: a @ b),
    }




def _outcome(fw, name: str, bumped: int, wanted: tuple = (0,)) -> str:
    """Run ``name`` with the arguments at ``wanted`` requiring grad (fresh non-leaves),
    change argument ``bumped`` in place, and say whether backward refuses."""
    arguments, call = _cases(fw)[name]
    arguments = [a.detach().clone().requires_grad_(True) * 1.0 if k in wanted else a.clone()
                 for k, a in enumerate(arguments)]
    try:
        out = call(*arguments)
    except RuntimeError:   # (a loss's class weights may not require grad)
        return "forward refuses"
    with fw.no_grad():
        arguments[bumped].copy_(arguments[bumped].clone())   # same values, a new version
    try:
        out.sum().backward()
    except RuntimeError as error:
        assert "inplace" in str(error) or "in-place" in str(error), error
        return "refused"
    return "runs"


@pytest.mark.cpu_only
@pytest.mark.parametrize("name", sorted(_cases(tinygan)))
def test_an_op_keeps_the_arguments_pytorch_keeps(name):
    import torch
    count = len(_cases(tinygan)[name][0])
    ours = [_outcome(tinygan, name, k) for k in range(count)]
    theirs = [_outcome(torch, name, k) for k in range(count)]
    assert ours == theirs, f"{name}: argument by argument, tinygan {ours}, PyTorch {theirs}"


@pytest.mark.cpu_only
@pytest.mark.parametrize("name", sorted(_cases(tinygan)))
def test_what_an_op_keeps_follows_which_arguments_want_a_gradient(name):
    """What PyTorch keeps depends on which gradients it will compute (div keeps a only for
    b's gradient: seed 3815321 changed a in place, a number divisor, and tinygan refused).
    Every non-empty set of float arguments requiring grad, every argument changed."""
    import itertools
    import torch
    arguments = _cases(tinygan)[name][0]
    floats = [k for k, a in enumerate(arguments) if a.dtype.kind == "f"]
    for size in range(1, len(floats) + 1):
        for wanted in itertools.combinations(floats, size):
            ours = [_outcome(tinygan, name, k, wanted) for k in range(len(arguments))]
            theirs = [_outcome(torch, name, k, wanted) for k in range(len(arguments))]
            assert ours == theirs, (f"{name}, arguments {wanted} requiring grad: argument by "
                                    f"argument, tinygan {ours}, PyTorch {theirs}")


def _random_product_shapes(rng) -> tuple[list, tuple]:
    """Two shapes matmul may multiply: 1-4 dims each, batch dims of 1 or 2 that broadcast
    or not (PyTorch refuses those that do not), inner sizes 1-3."""
    k, m, p = rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 3)
    dims = rng.randint(1, 4), rng.randint(1, 4)

    def shape(d, left):
        if d == 1:
            return (k,)
        core = (m, k) if left else (k, p)
        return tuple(rng.choice([1, 2]) for _ in range(d - 2)) + core
    return [shape(dims[0], True), shape(dims[1], False)], dims


def _matmul_outcomes(fw, shapes, transposed, requires_grad):
    """For each operand changed in place after the product: does backward refuse, and if
    not, the gradients it gives (from the values PyTorch kept: a copy keeps the old ones)."""
    outcomes = []
    for bumped in (0, 1):
        operands, leaves = [], []
        for shape, flip, grad in zip(shapes, transposed, requires_grad):
            leaf = fw.tensor(np.arange(1.0, np.prod(shape) + 1).reshape(shape),
                             dtype=fw.float64, requires_grad=grad)
            x = leaf * 1.0 if grad else leaf
            leaves.append(leaf)
            operands.append(x.transpose(-1, -2) if flip else x)
        y = operands[0] @ operands[1]
        with fw.no_grad():
            operands[bumped].mul_(-2.0)
        try:
            y.sum().backward()
        except RuntimeError:
            outcomes.append("refused")
            continue
        outcomes.append([None if leaf.grad is None else leaf.grad.tolist() for leaf in leaves])
    return outcomes


@pytest.mark.cpu_only
def test_matmul_keeps_what_pytorch_keeps_over_random_shapes():
    """PyTorch's matmul folds a batch into a matrix when it can and keeps a copy when the
    fold had to copy (functional._matmul_keeps): 250 random broadcasts, transposes and
    requires_grad patterns, operand by operand, refusals and gradients."""
    import random
    import torch
    rng = random.Random(29)
    checked = 0
    while checked < 250:
        shapes, dims = _random_product_shapes(rng)
        transposed = [d >= 2 and rng.random() < 0.3 for d in dims]
        shapes = [s[:-2] + (s[-1], s[-2]) if t else s for s, t in zip(shapes, transposed)]
        requires_grad = [rng.random() < 0.7, rng.random() < 0.7]
        if not any(requires_grad):
            continue
        try:
            theirs = _matmul_outcomes(torch, shapes, transposed, requires_grad)
        except RuntimeError:
            continue                                   # shapes PyTorch refuses to multiply
        ours = _matmul_outcomes(tinygan, shapes, transposed, requires_grad)
        assert ours == theirs, (shapes, transposed, requires_grad, ours, theirs)
        checked += 1


def _laid_out(fw, values: np.ndarray, layout: str, requires_grad: bool):
    """A leaf holding ``values`` in one of four memory layouts (PyTorch's fold test reads
    the strides, size-1 dims included)."""
    if layout == "transposed" and values.ndim >= 2:
        base = fw.tensor(np.swapaxes(values, -1, -2).copy())   # (fresh, standard strides)
        x = base.transpose(-1, -2).detach()
    elif layout == "stepped":
        wide = np.repeat(values, 2, axis=-1)
        x = fw.tensor(wide)[..., ::2].detach()
    elif layout == "expanded" and values.ndim >= 3 and values.shape[0] == 2:
        x = fw.tensor(values[:1]).expand(*values.shape).detach()
        values = np.broadcast_to(values[:1], values.shape)
    else:
        x = fw.tensor(values)
    return x.requires_grad_(requires_grad)


def _second_derivatives_after_late_grad(fw, values, layouts, early):
    """y = a @ b with the operands in ``early`` requiring grad; then the others are made to
    require grad, and the second derivative of |dL/d early|^2 is taken with respect to all.
    It reaches a late operand only where the product kept that operand itself (a view or
    a copy made during the product stays outside)."""
    leaves = [_laid_out(fw, v, lay, e) for v, lay, e in zip(values, layouts, early)]
    y = leaves[0] @ leaves[1]
    for leaf in leaves:
        leaf.requires_grad_()
    wanted = [leaf for leaf, e in zip(leaves, early) if e]
    gs = fw.autograd.grad((y * y).sum(), wanted, create_graph=True)
    gp = sum((g * g).sum() for g in gs)
    if not gp.requires_grad:
        return "no graph"
    hs = fw.autograd.grad(gp, leaves, allow_unused=True)
    return [None if h is None else np.round(np.asarray(h.tolist()), 8).tolist() for h in hs]


@pytest.mark.cpu_only
def test_matmul_keeps_an_operand_itself_exactly_where_pytorch_does():
    """Whether matmul keeps an operand itself, or a view or copy made on the way (folding,
    unsqueezing, transposing, expanding), shows when the operand is made to require grad
    after the product and a second derivative is taken (issue 29's program 1719517: a
    batch-of-1 operand squeezed to a matrix). 300 random shapes, layouts and patterns."""
    import random
    import torch
    rng = random.Random(1719517)
    checked = 0
    while checked < 300:
        shapes, dims = _random_product_shapes(rng)
        values = [np.round(np.random.default_rng(checked + i).uniform(-1, 1, s), 2)
                  for i, s in enumerate(shapes)]
        layouts = [rng.choice(["plain", "transposed", "stepped", "expanded"]) for _ in dims]
        early = [True, False] if rng.random() < 0.5 else [False, True]
        if rng.random() < 0.15:
            early = [True, True]
        try:
            theirs = _second_derivatives_after_late_grad(torch, values, layouts, early)
        except RuntimeError:
            continue                                   # shapes PyTorch refuses to multiply
        ours = _second_derivatives_after_late_grad(tinygan, values, layouts, early)
        assert ours == theirs, ([v.shape for v in values], layouts, early, ours, theirs)
        checked += 1


def _signs_of_zero(fw, values, layouts, requires_grad, op):
    """The sign bit of every element of a product whose every term is a zero of either sign
    (values hold -0.0 and +0.0 against nonzeros), computed by ``op``."""
    leaves = [_laid_out(fw, v, lay, g) for v, lay, g in zip(values, layouts, requires_grad)]
    if op == "matmul":
        y = leaves[0] @ leaves[1]
    elif op == "mm":
        y = fw.mm(leaves[0], leaves[1])
    else:   # linear without a bias (with one, BLAS adds it in kernels of its own choice)
        y = fw.nn.functional.linear(leaves[0], leaves[1].transpose(-1, -2))
    return np.signbit(np.asarray(y.tolist(), dtype=np.float64)).tolist()


@pytest.mark.cpu_only
def test_a_product_of_zeros_has_pytorchs_sign_over_random_shapes():
    """PyTorch's mm with one inner term (k = 1) and more than one row and column writes each
    product as it is, so a -0.0 stays -0.0; its other kernels (dot, mv, bmm, mm with k > 1)
    add to +0.0. Which kernel runs depends on the shapes, the strides and requires_grad
    (the fold), so 1 / y told the libraries apart (issue 29, seed 3911044: (2, 1) @ (1, 1, 2)
    whose left operand requires grad). 400 random products of signed zeros and ones."""
    import random
    import torch
    rng = random.Random(3911044)
    checked = 0
    while checked < 400:
        shapes, dims = _random_product_shapes(rng)
        op = rng.choice(["matmul", "matmul", "mm", "linear"])
        if op == "mm" and dims != (2, 2):
            continue
        if op == "linear" and dims[1] != 2:
            continue
        if rng.random() < 0.6:   # one inner term, the case that differs
            shapes = [s[:-1] + (1,) if len(s) > 1 else (1,) for s in shapes[:1]] + \
                     [((1,) + s[-1:] if len(s) == 2 else s[:-2] + (1, s[-1])) if len(s) > 1
                      else (1,) for s in shapes[1:]]
        seeded = np.random.default_rng(checked)
        values = [np.where(seeded.random(s) < 0.5, -0.0, 0.0) if i == 0 else
                  np.where(seeded.random(s) < 0.5, -1.0, 1.0) for i, s in enumerate(shapes)]
        layouts = [rng.choice(["plain", "plain", "transposed", "stepped", "expanded"])
                   for _ in dims]
        requires_grad = [rng.random() < 0.5, rng.random() < 0.5]
        try:
            theirs = _signs_of_zero(torch, values, layouts, requires_grad, op)
        except RuntimeError:
            continue                                   # shapes PyTorch refuses to multiply
        ours = _signs_of_zero(tinygan, values, layouts, requires_grad, op)
        assert ours == theirs, ([v.shape for v in values], layouts, requires_grad, op)
        checked += 1


@pytest.mark.cpu_only
def test_an_empty_batched_product_of_two_dtypes_as_pytorch():
    """PyTorch's batched matmul returns zeros of the second operand's dtype, before its
    dtype check, when there is nothing to add (an empty result or no inner terms); its mm,
    mv and dot refuse (issue 29, seeds 4100764 and 4112275). The dtype, shape,
    requires_grad and the first operand's gradient, over shapes and requires_grad."""
    import torch
    shapes = [((2, 2, 0), (2, 0, 3)), ((0, 0, 2), (1, 2, 1)), ((1, 0, 2), (2, 3)),
              ((0, 2, 2), (2, 2)), ((2, 2), (0, 2, 2)), ((2, 0, 2), (2, 2, 1)),
              ((3,), (2, 3, 0)), ((2, 3, 0), (0,)), ((0, 2), (2, 3)), ((0, 1), (1, 1, 1)),
              ((2, 2), (1, 2, 0)), ((0, 2, 2), (0, 2, 2)), ((2, 2, 2), (2, 2, 2))]
    for (sa, sb), wants, (da, db) in itertools.product(
            shapes, (False, True), [("float32", "float64"), ("float64", "float32"),
                                    ("int64", "float32")]):
        found = []
        for fw in (torch, tinygan):
            a = fw.zeros(sa, dtype=getattr(fw, da), requires_grad=wants and da != "int64")
            try:
                y = a @ fw.zeros(sb, dtype=getattr(fw, db))
            except RuntimeError:
                found.append("raises")
                continue
            g = fw.autograd.grad(y.sum(), [a])[0] if y.requires_grad else None
            found.append((str(y.dtype).split(".")[-1], tuple(y.shape), y.requires_grad,
                          None if g is None else (str(g.dtype).split(".")[-1], tuple(g.shape))))
        assert found[0] == found[1], (sa, sb, wants, da, db, found)


@pytest.mark.parametrize("mode, refused", [("reflect", True), ("replicate", True),
                                           ("circular", False), ("zeros", True)])
def test_a_padded_layers_input_written_before_backward(mode, refused):
    """nn.Conv2d pads with F.pad, as PyTorch's layer does: the reflect and replicate pads
    keep their input for backward (PyTorch: ReflectionPad2DBackward reads self), so writing
    it in place afterwards is refused; the circular pad keeps nothing of it (the
    convolution keeps the padded copy), zero padding is the convolution's own (it keeps x)."""
    x = tinygan.tensor(np.linspace(-1, 1, 16).reshape(1, 2, 2, 4).astype(np.float32),
                       requires_grad=True)
    layer = tinygan.nn.Conv2d(2, 1, 2, padding=1, padding_mode=mode)
    y = layer(x)
    with tinygan.no_grad():
        x.abs_()
    if refused:
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    else:
        y.sum().backward()
        assert x.grad.shape == x.shape


def test_a_half_input_to_a_float_batchnorm_is_kept_for_backward():
    """PyTorch's BatchNorm of a half input with float32 parameters keeps the half input
    (tinygan normalises a float32 copy): writing the input in place before backward is
    refused there, and so here (the 4,612,968th program of issue 29's long runs)."""
    x = tinygan.tensor([[[-2.0], [-2.0], [-1.0]], [[0.0], [3.0], [0.0]]],
                       dtype=tinygan.float16)
    bn = tinygan.nn.BatchNorm1d(3)
    y = bn(x)
    tinygan.nn.ELU(0.5, True)(x)                      # in place on the kept input
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    fresh = bn(tinygan.tensor([[[-2.0], [1.0], [-1.0]], [[0.5], [3.0], [0.0]]],
                              dtype=tinygan.float16))
    fresh.sum().backward()
    assert fresh.dtype == np.float16 and bn.weight.grad.dtype == np.float32
