"""Every op against every dtype, beside PyTorch: does each library raise, and if both answer,
the same dtype, shape and values? (issue 29)

The differential tester (tests/differential/) draws whole programs; this table is its
exhaustive corner for one class it kept finding: which dtypes an op accepts, and what dtype
it returns. Each op is run on every dtype (binary ops on every pair of dtypes) in both
libraries. A row fails when PyTorch raises and tinygan answers (a missing error), when
tinygan raises and PyTorch answers, or when the answers differ in dtype, shape or value.
Names tinygan does not have at all (AttributeError) are not part of the claim and skipped:
the differential tester covers what ``tinygan.__all__`` claims.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import tinygan
import tinygan.nn.functional as GF

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # pragma: no cover - depends on the machine
    torch = TF = None

pytestmark = [pytest.mark.cpu_only,
              pytest.mark.skipif(torch is None, reason="PyTorch is not installed: the table "
                                                      "compares with it")]

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]

UNARY = {
    "relu": "L.relu(a)", "F.relu": "F.relu(a)", "leaky_relu": "F.leaky_relu(a)",
    "softplus": "F.softplus(a)", "softplus_beta": "F.softplus(a, beta=2.0)", "abs": "a.abs()",
    "neg": "-a", "sigmoid": "a.sigmoid()", "tanh": "a.tanh()", "exp": "a.exp()",
    "log": "a.log()", "sqrt": "a.sqrt()", "log1p": "L.log1p(a)", "pow2": "a ** 2",
    "pow_half": "a ** 0.5", "pow_true": "a ** True", "pow_false": "a ** False", "rpow": "2 ** a",
    "rpow_float": "2.5 ** a", "sum": "a.sum()", "sum0": "a.sum(0)", "mean": "a.mean()",
    "var": "a.var()", "std": "a.std()", "max": "a.max()", "min": "a.min()",
    "amax": "a.amax(0)", "max0": "a.max(0)[0]", "argmax": "a.argmax()", "argmin": "a.argmin(1)",
    "norm": "a.norm()", "clamp": "a.clamp(-1, 1)", "clamp_float": "a.clamp(-0.5, 1.5)",
    "clamp_min": "a.clamp(min=0)", "softmax": "L.softmax(a, 1)",
    "log_softmax": "L.log_softmax(a, 1)", "F.softmax": "F.softmax(a, dim=1)",
    "logsigmoid": "F.logsigmoid(a)", "F.tanh": "F.tanh(a)", "F.sigmoid": "F.sigmoid(a)",
    "dropout_eval": "F.dropout(a, training=False)", "all": "a.all()", "any": "a.any(1)",
    "cat": "L.cat([a, a])", "stack": "L.stack([a, a])", "zeros_like": "L.zeros_like(a)",
    "ones_like": "L.ones_like(a)", "full_like": "L.full_like(a, 2)",
    "randn_like": "L.randn_like(a) * 0", "rand_like": "L.rand_like(a) * 0",
    "where": "L.where(a > 0, a, 0)", "clone": "a.clone()", "float": "a.float()",
    "detach": "a.detach()", "t": "a.t()", "mse": "F.mse_loss(a, a)", "l1": "F.l1_loss(a, a)",
    "bce": "F.binary_cross_entropy(a, a)", "bce_logits": "F.binary_cross_entropy_with_logits(a, a)",
    "mul_": "a.clone().mul_(2)", "add_": "a.clone().add_(1)", "div_": "a.clone().div_(2)",
    "sub_": "a.clone().sub_(1)", "neg_": "a.clone().neg_()", "relu_": "a.clone().relu_()",
    "clamp_": "a.clone().clamp_(-1, 1)", "exp_": "a.clone().exp_()",
    "fill_": "a.clone().fill_(1.5)", "zero_": "a.clone().zero_()", "abs_": "a.clone().abs_()",
    "sigmoid_": "a.clone().sigmoid_()", "pow_": "a.clone().pow_(2)", "sqrt_": "a.clone().sqrt_()",
    "tanh_": "a.clone().tanh_()", "leaky_inplace": "F.leaky_relu(a.clone(), 0.2, inplace=True)",
    "relu_inplace": "F.relu(a.clone(), inplace=True)", "mm": "a @ a.t()", "mv": "a @ a[0]",
    "linear": "F.linear(a, a)", "bmm": "a[None] @ a.t()[None]",
    "eq": "a == a", "lt": "a < 1", "invert": "~a", "rsub": "1 - a", "sub": "a - 1",
    "rdiv": "1 / a", "floordiv": "a // 2", "rfloordiv": "7 // a", "mod": "a % 2",
    "rmod": "7 % a", "div_floor": "L.div(a, 2, rounding_mode='floor')",
    "div_trunc": "L.div(a, -2, rounding_mode='trunc')", "maximum": "L.maximum(a, a)",
    "interpolate": "F.interpolate(a[None], scale_factor=2)",
    "interpolate_linear": "F.interpolate(a[None], scale_factor=2, mode='linear')",
    "interpolate_2d": "F.interpolate(a[None, None], scale_factor=2)",
    "interpolate_bilinear": "F.interpolate(a[None, None], size=(3, 4), mode='bilinear')",
    "sort": "a.sort()[0]", "topk": "a.topk(1)[0]", "one_hot": "F.one_hot(a.long().abs(), 5)",
    "flatten": "a.flatten()", "reshape": "a.reshape(3, 2)", "unsqueeze": "a.unsqueeze(0)",
}

BINARY = {
    "add": "a + b", "sub": "a - b", "mul": "a * b", "div": "a / b", "pow": "a ** b",
    "floordiv": "a // b", "mod": "a % b", "matmul": "a @ b.t()", "maximum": "L.maximum(a, b)",
    "minimum": "L.minimum(a, b)", "where": "L.where(a > 0, a, b)", "eq": "a == b",
    "lt": "a < b", "add_alpha": "L.add(a, b, alpha=2)", "sub_alpha": "L.sub(a, b, alpha=2)",
    "add_alpha_float": "L.add(a, b, alpha=0.5)", "mse": "F.mse_loss(a, b)",
    "l1": "F.l1_loss(a, b)", "bce_logits": "F.binary_cross_entropy_with_logits(a, b)",
    "cat": "L.cat([a, b])", "copy_": "a.clone().copy_(b)", "add_": "a.clone().add_(b)",
    "add_alpha_": "a.clone().add_(b, alpha=2)", "sub_alpha_": "a.clone().sub_(b, alpha=3)",
    "sub_bool_scalar": "a.clone().sub_(False, alpha=3) if b is not None else a",
    "mul_": "a.clone().mul_(b)", "div_": "a.clone().div_(b)", "setitem": "_set(a.clone(), b)",
    "clamp_tensors": "a.clamp(b, b)", "clamp_tensor_min": "a.clamp(min=b)",
}


def _set(x, y):
    x[0] = y[0]
    return x


def _value(lib, dtype: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    shape = (2, 3)
    if dtype == "bool":
        a = rng.random(shape) < 0.5
    elif dtype == "uint8":
        a = rng.integers(0, 4, shape)
    elif dtype.startswith("int"):
        a = rng.integers(-3, 4, shape)
    else:
        a = np.round(rng.standard_normal(shape), 2)
    return lib.tensor(a.tolist(), dtype=getattr(lib, dtype))


def _run(lib, code: str, a, b=None):
    names = dict(L=lib, F=GF if lib is tinygan else TF, a=a, b=b, _set=_set)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = eval(code, names)
    except AttributeError as error:
        return ("missing", str(error))
    except Exception as error:  # noqa: BLE001 - any error is an outcome to compare
        return ("raise", f"{type(error).__name__}: {str(error).splitlines()[0][:100]}")
    values = np.asarray(r.detach().tolist(), dtype=float) if r.numel() else None
    return ("ok", str(r.dtype).split(".")[-1], tuple(r.shape), values)


# where tinygan refuses on purpose, saying what to write instead: (row, dtype)
REFUSED_ON_PURPOSE = {("interpolate_bilinear", "uint8")}   # PyTorch's fixed-point rounding


def _difference(torch_out, ours) -> str | None:
    if ours[0] == "missing":
        return None                 # tinygan lacks the name: not claimed
    if torch_out[0] != ours[0]:
        return f"PyTorch {torch_out[0]} {torch_out[1]} / tinygan {ours[0]} {ours[1]}"
    if torch_out[0] == "raise":
        return None
    if torch_out[1:3] != ours[1:3]:
        return f"PyTorch {torch_out[1]} {torch_out[2]} / tinygan {ours[1]} {ours[2]}"
    if torch_out[3] is not None and not np.allclose(torch_out[3], ours[3], rtol=1e-3,
                                                    atol=1e-3, equal_nan=True):
        return f"values PyTorch {torch_out[3].ravel()} / tinygan {ours[3].ravel()}"
    return None


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_op_on_every_dtype(name):
    code = UNARY[name]
    found = []
    for dtype in DTYPES:
        if (name, dtype) in REFUSED_ON_PURPOSE:
            ours = _run(tinygan, code, _value(tinygan, dtype))
            assert ours[0] == "raise" and "write" in ours[1], ours
            continue
        d = _difference(_run(torch, code, _value(torch, dtype)),
                        _run(tinygan, code, _value(tinygan, dtype)))
        if d:
            found.append(f"{code} on {dtype}: {d}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_op_on_every_pair_of_dtypes(name):
    code = BINARY[name]
    found = []
    for d1, d2 in itertools.product(DTYPES, DTYPES):
        d = _difference(_run(torch, code, _value(torch, d1), _value(torch, d2, seed=1)),
                        _run(tinygan, code, _value(tinygan, d1), _value(tinygan, d2, seed=1)))
        if d:
            found.append(f"{code} on ({d1}, {d2}): {d}")
    assert not found, "\n".join(found)


def test_the_table_reaches_tinygan_for_every_row():
    """A row whose code tinygan cannot even name would make the table blind: every row here
    uses names tinygan has."""
    blind = [n for n, code in {**UNARY, **BINARY}.items()
             if _run(tinygan, code, _value(tinygan, "float32"),
                     _value(tinygan, "float32", 1))[0] == "missing"]
    assert not blind, blind
