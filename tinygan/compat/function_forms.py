"""``torch.mean(x)``, ``torch.cat([a, b], 1)``, ``torch.max(x, 1)``: the function forms.

PyTorch offers most tensor methods as functions of the ``torch`` module too; scripts use
both. Each one here hands over to the method or to tinygan.engine.functional, so there is one
implementation of each op (and one gradient).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.engine import cumulative, flip as flipping, functional as F, \
    logsumexp as log_sum_exp
from tinygan.engine.arguments import dtype_or_none, integer
from tinygan.engine.tensor import NOT_GIVEN, Tensor, number_argument
from tinygan.engine.tensor import MaxMin


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)




def _given(**arguments: Any) -> dict:
    """The arguments the caller gave, for the method to tell its overloads apart."""
    return {k: v for k, v in arguments.items() if v is not NOT_GIVEN}


def mean(input: Tensor, dim: Any = NOT_GIVEN, keepdim: Any = NOT_GIVEN, *,  # noqa: A002
         dtype: Any = None) -> Tensor:
    return _t(input).mean(**_given(dim=dim, keepdim=keepdim), dtype=dtype)


def sum(input: Tensor, dim: Any = NOT_GIVEN, keepdim: Any = NOT_GIVEN, *,  # noqa: A001,A002
        dtype: Any = None) -> Tensor:
    return _t(input).sum(**_given(dim=dim, keepdim=keepdim), dtype=dtype)


def _is_bool(v: Any) -> bool:
    return isinstance(v, (bool, np.bool_)) or (isinstance(v, Tensor) and v.dtype == np.bool_)


def _plus_scaled(op: str, input: Any, other: Any, alpha: Any) -> Tensor:  # noqa: A002
    """input + alpha * other (or -): alpha scales ``other`` in the result's dtype, which the
    two tensors alone decide (PyTorch: alpha never promotes; a float alpha is refused for
    integer results and a bool alpha for non-bool ones)."""
    fn = F.add if op == "add" else F.sub
    alpha = number_argument(op, "alpha", alpha)
    if alpha == 1 and isinstance(alpha, (int, np.integer)) and not isinstance(alpha, bool):
        return fn(input, other)              # (a float 1.0 is still refused for ints below)
    if op == "sub" and (_is_bool(input) or _is_bool(other)):
        return F.sub(input, other)            # refuses a bool operand, as PyTorch does
    a, b = F._as_tensor(input, like=(input, other)), F._as_tensor(other, like=(input, other))
    wide = F.result_type(a, b)
    if isinstance(alpha, bool) and wide.kind != "b":
        raise RuntimeError(f"{op}: Boolean alpha only supported for Boolean results (result "
                           f"dtype {wide}); pass alpha={int(alpha)}")
    if isinstance(alpha, float) and wide.kind in "biu":
        raise RuntimeError(f"{op}: for integral input tensors, argument alpha must not be a "
                           f"floating point number (alpha={alpha}, dtype {wide})")
    if wide.kind == "b":                     # a or (alpha and b): bools stay bools
        return fn(a, F.mul(b, bool(alpha)))
    return F.scaled_add(F.cast(a, wide), F.cast(b, wide), alpha, negated=op == "sub")


def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """input + alpha * other."""
    return _plus_scaled("add", input, other, alpha)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """input - alpha * other."""
    return _plus_scaled("sub", input, other, alpha)


def remainder(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input % other, with the sign of other (Python's rule)."""
    return F.remainder(input, other)


def floor_divide(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input // other, rounded down."""
    return F.floor_divide(input, other)


def bitwise_not(input: Tensor) -> Tensor:  # noqa: A002
    return F.bitwise_not(_t(input))


def mul(input: Any, other: Any) -> Tensor: return F.mul(input, other)  # noqa: A002,E704


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"lerp(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return input.lerp(end, weight)


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:  # noqa: A002
    """input / other; ``rounding_mode`` "trunc" or "floor" rounds the quotient."""
    if rounding_mode is None:
        return F.div(input, other)
    return F.div_rounded(input, other, rounding_mode)
def exp(input: Tensor) -> Tensor: return F.exp(_t(input))  # noqa: A002,E704
def log(input: Tensor) -> Tensor: return F.log(_t(input))  # noqa: A002,E704
def sqrt(input: Tensor) -> Tensor: return F.sqrt(_t(input))  # noqa: A002,E704
def reciprocal(input: Tensor) -> Tensor: return F.reciprocal(_t(input))  # noqa: A002,E704
def abs(input: Tensor) -> Tensor: return F.abs(_t(input))  # noqa: A001,A002,E704
def sigmoid(input: Tensor) -> Tensor: return F.sigmoid(_t(input))  # noqa: A002,E704
def tanh(input: Tensor) -> Tensor: return F.tanh(_t(input))  # noqa: A002,E704
def relu(input: Tensor) -> Tensor: return F.relu(_t(input))  # noqa: A002,E704
def matmul(input: Tensor, other: Tensor) -> Tensor: return F.matmul(input, other)  # noqa


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001,A002
    """input ** exponent; a Python number as the base takes the exponent's dtype (float64
    stays exact), as in PyTorch, not float32 first."""
    if isinstance(input, (bool, np.bool_)) and isinstance(exponent, Tensor):
        return F.pow_of_a_python_bool(input, exponent)
    return F.pow(input, exponent) if isinstance(exponent, Tensor) else _t(input) ** exponent


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A001,A002
    return _t(input).clamp(min, max)


clip = clamp


def where(condition: Any, input: Any = NOT_GIVEN, other: Any = NOT_GIVEN) -> Any:  # noqa: A002
    """``where(cond, a, b)``: a where cond holds, else b. ``where(cond)`` alone: the
    indices where it holds, one int64 tensor per dimension (as ``nonzero(as_tuple=True)``)."""
    if input is NOT_GIVEN and other is NOT_GIVEN:
        raw = condition.array if isinstance(condition, Tensor) else condition
        raw = raw.reshape(1) if raw.ndim == 0 else raw   # (a 0-d one reads as one element)
        return tuple(Tensor(i.astype("int64")) for i in raw.nonzero())
    if not isinstance(condition, Tensor):   # PyTorch: the condition must be a (bool) tensor
        raise TypeError(f"where(): argument 'condition' must be Tensor, not "
                        f"{type(condition).__name__}; write tinygan.tensor({condition!r})")
    if input is NOT_GIVEN or other is NOT_GIVEN:
        raise TypeError("where() takes where(condition) or where(condition, input, other)")
    return F.where(condition, input, other)


def argmax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    return _t(input).argmax(dim, keepdim)


def argmin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    return _t(input).argmin(dim, keepdim)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,  # noqa: A002
         dtype: Any = None) -> Tensor:
    dtype = dtype_or_none("norm", "dtype", dtype)
    if dtype is not None and _t(input).dtype.kind != "f":   # (PyTorch checks the input)
        F._need_float("norm", _t(input))
    if dtype is not None and np.promote_types(_t(input).dtype, dtype) != np.dtype(dtype):
        raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({_t(input).dtype}) "
                           f"should be convertible without narrowing to the specified dtype "
                           f"({np.dtype(dtype)})")
    x = _t(input) if dtype is None else _t(input).to(dtype=dtype)
    return x.norm(2 if p == "fro" else p, dim, keepdim)


def max(input: Tensor, other_or_dim: Any = NOT_GIVEN, /, keepdim: Any = NOT_GIVEN, *,  # noqa: A001,A002
        dim: Any = NOT_GIVEN, other: Any = NOT_GIVEN) -> Any:
    """torch.max(x): the largest element; torch.max(x, dim): (values, indices);
    torch.max(a, b): the elementwise maximum (as torch.maximum). Tensor.max chooses."""
    return _t(input).max(other_or_dim, keepdim, dim=dim, other=other)


def min(input: Tensor, other_or_dim: Any = NOT_GIVEN, /, keepdim: Any = NOT_GIVEN, *,  # noqa: A001,A002
        dim: Any = NOT_GIVEN, other: Any = NOT_GIVEN) -> Any:
    return _t(input).min(other_or_dim, keepdim, dim=dim, other=other)


def _tensor_argument(op: str, name: str, value: Any) -> Tensor:
    """PyTorch's elementwise max/min take a Tensor, not a number (clamp takes numbers)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not "
                        f"{type(value).__name__}; for a number use clamp(min=...)/(max=...)")
    return value


def maximum(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    return F.maximum(_tensor_argument("maximum", "input", input),
                     _tensor_argument("maximum", "other", other))


def minimum(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    return F.minimum(_tensor_argument("minimum", "input", input),
                     _tensor_argument("minimum", "other", other))


def amax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    return _t(input).amax(dim, keepdim)


def amin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    return _t(input).amin(dim, keepdim)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:  # noqa: A002
    return _t(input).flatten(start_dim, end_dim)


def unflatten(input: Tensor, dim: int, sizes: Any) -> Tensor:  # noqa: A002
    from tinygan.engine.methods import split_dim   # (methods imports this module)
    return split_dim(_t(input), dim, sizes)


def reshape(input: Tensor, shape: Any) -> Tensor:  # noqa: A002
    if not isinstance(shape, (tuple, list)):   # (x.reshape(6) is fine; torch.reshape(x, 6)
        raise TypeError(f"reshape(): argument 'shape' (position 2) must be tuple of ints, "
                        f"not {type(shape).__name__}")   # is not)
    return _t(input).reshape(shape)


def squeeze(input: Tensor, dim: Any = NOT_GIVEN) -> Tensor:  # noqa: A002
    if isinstance(dim, Tensor):   # (torch.squeeze's dim: a 0-d integer tensor, as an int;
        dim = integer("squeeze", "dim", dim)   # the method takes any one-element tensor)
    return _t(input).squeeze(**_given(dim=dim))


def unsqueeze(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    return _t(input).unsqueeze(dim)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    return _t(input).transpose(dim0, dim1)


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    return _t(input).softmax(dim, dtype)


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    return _t(input).log_softmax(dim, dtype)


def numel(input: Tensor) -> int:  # noqa: A002
    return _t(input).numel()


def log1p(input: Tensor) -> Tensor: return F.log1p(_t(input))  # noqa: A002,E704
def mm(input: Tensor, mat2: Tensor) -> Tensor: return F.mm(input, mat2)  # noqa: A002,E704
def eq(input: Tensor, other: Any) -> Tensor: return _t(input).eq(other)  # noqa: A002,E704
def ne(input: Tensor, other: Any) -> Tensor: return _t(input).ne(other)  # noqa: A002,E704
def lt(input: Tensor, other: Any) -> Tensor: return _t(input) < other  # noqa: A002,E704
def le(input: Tensor, other: Any) -> Tensor: return _t(input) <= other  # noqa: A002,E704
def gt(input: Tensor, other: Any) -> Tensor: return _t(input) > other  # noqa: A002,E704
def ge(input: Tensor, other: Any) -> Tensor: return _t(input) >= other  # noqa: A002,E704


__all__ = ["log1p", "mm", "eq", "ne", "lt", "le", "gt", "ge",
           "mean", "sum", "add", "sub", "mul", "div", "exp", "log", "sqrt", "reciprocal", "abs", "sigmoid",
           "tanh", "relu", "matmul", "pow", "clamp", "clip", "where", "argmax", "argmin",
           "norm", "max", "min", "maximum", "minimum", "amax", "amin", "flatten", "unflatten",
           "reshape", "squeeze", "unsqueeze", "transpose", "softmax", "log_softmax", "numel",
           "MaxMin"]


# ---- sin/cos, the step functions, the special-value tests, flip, neg, clone ---------------
def _tensor_input(name: str, input: Any) -> Tensor:  # noqa: A002
    """PyTorch's function forms take a tensor, not a number (torch.sin(0.5) is an error)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return input


def sin(input: Tensor) -> Tensor: return _tensor_input("sin", input).sin()  # noqa: A002,E704
def cos(input: Tensor) -> Tensor: return _tensor_input("cos", input).cos()  # noqa: A002,E704
def floor(input: Tensor) -> Tensor: return _tensor_input("floor", input).floor()  # noqa: A002,E704
def ceil(input: Tensor) -> Tensor: return _tensor_input("ceil", input).ceil()  # noqa: A002,E704
def trunc(input: Tensor) -> Tensor: return _tensor_input("trunc", input).trunc()  # noqa: A002,E704
def sign(input: Tensor) -> Tensor: return _tensor_input("sign", input).sign()  # noqa: A002,E704
def isnan(input: Tensor) -> Tensor: return _tensor_input("isnan", input).isnan()  # noqa: A002,E704
def isinf(input: Tensor) -> Tensor: return _tensor_input("isinf", input).isinf()  # noqa: A002,E704
def neg(input: Tensor) -> Tensor: return F.neg(_tensor_input("neg", input))  # noqa: A002,E704


def isfinite(input: Tensor) -> Tensor:  # noqa: A002
    return _tensor_input("isfinite", input).isfinite()


def round(input: Tensor, *, decimals: Any = NOT_GIVEN) -> Tensor:  # noqa: A001,A002
    return _tensor_input("round", input).round(decimals=decimals)


def flip(input: Tensor, dims: Any) -> Tensor:  # noqa: A002
    return flipping.flip(_tensor_input("flip", input), dims)


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:  # noqa: A002
    return _tensor_input("clone", input).clone(memory_format=memory_format)


# ---- issue 29, the eighth session -----------------------------------------------------------
def bmm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """Batched matrix product: (B, n, m) @ (B, m, p) -> (B, n, p). Unlike matmul, both must
    be 3-D with the same batch size (no broadcasting), as in PyTorch."""
    for name, t in (("batch1", input), ("batch2", mat2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bmm(): argument '{'input' if name == 'batch1' else 'mat2'}' "
                            f"must be Tensor, not {type(t).__name__}")
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor (got shape {t.shape})")
    expected = [input.shape[0], input.shape[2]]
    if list(mat2.shape[:2]) != expected:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"{expected} but got: {list(mat2.shape[:2])}.")
    if input.dtype != mat2.dtype:
        if 0 not in input.shape + mat2.shape[2:]:
            raise RuntimeError(f"bmm: expected scalar type {input.dtype} but found "
                               f"{mat2.dtype} (shapes {input.shape}, {mat2.shape}); convert "
                               f"one with .to()")
        # nothing to add up (an empty result, or no inner terms): PyTorch's kernel returns
        # zeros of mat2's dtype before its dtype check
        input = input.to(mat2.dtype)
    return F.matmul(input, mat2)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    return cumulative.cumsum(input, dim, dtype=dtype)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:  # noqa: A002
    return log_sum_exp.logsumexp(input, dim, keepdim)


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:  # noqa: A002
    return _t(input).masked_fill(mask, value)


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A001,A002
    return _t(input).clamp_min(min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A001,A002
    return _t(input).clamp_max(max)


def square(input: Tensor) -> Tensor:  # noqa: A002
    return _t(input).square()
