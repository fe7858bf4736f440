"""Run one program in tinygan and in PyTorch, step by step, and compare everything live.

After every step, every variable the program has made is compared: for a tensor its dtype,
shape, requires_grad, is_leaf, values and (once backward ran) ``.grad``; tuples element by
element; modules by their parameters and buffers; Python numbers by type and value. The first
difference ends the run and becomes the program's outcome:

  agree            every step ran in both and nothing differed
  both_raise       a step raised in both libraries (the program stops there)
  silent          a step ran in both but some live value differs (the worst kind)
  tinygan_raise    tinygan raised where PyTorch ran
  torch_raise      PyTorch raised where tinygan ran (a missing error in tinygan)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.differential.program import Program, namespace

# float32 values are computed in different orders by NumPy and PyTorch (pairwise sums, BLAS),
# so they agree to a few units in the 5th digit; float64 must agree far more closely, which is
# what catches float64 work done in float32 (an error near 1e-8). Once a float32 tensor has
# existed in a program, a float64 value may descend from it (a cast, type promotion) and carry
# its rounding: from then on float64 is held to float32's tolerance ("loose"). Likewise once a
# float16 tensor has existed, float32 and float64 values are held to float16's tolerance: each
# library rounds its half-precision intermediates at its own places (PyTorch's half kernels
# accumulate in float32 and round once), so they agree to a unit or two of float16's 1e-3.
TOLERANCE = {"float16": (2e-3, 2e-3), "float32": (1e-4, 1e-5), "float64": (1e-9, 1e-11)}
OUTCOMES = ("agree", "both_raise", "silent", "tinygan_raise", "torch_raise")


@dataclass
class Outcome:
    kind: str                  # one of OUTCOMES
    step: int = -1             # index of the step where it happened
    tag: str = ""              # that step's tag
    field: str = ""            # silent: what differed (dtype, shape, values, grad, ...)
    where: str = ""            # silent: which variable (and attribute)
    detail: str = ""           # the two sides, or the exception(s)
    operands: tuple = ()       # (shape, dtype) of each tensor the step reads, in PyTorch

    def signature(self) -> tuple[str, str, str]:
        return (self.kind, self.tag, self.field)

    def __str__(self) -> str:
        text = f"{self.kind} at step {self.step} ({self.tag})"
        if self.field:
            text += f": {self.field} of {self.where}"
        return text + (f"\n    {self.detail}" if self.detail else "")


def _dtype_name(x: Any) -> str:
    return str(x.dtype).replace("torch.", "")


def _is_tensor(x: Any) -> bool:
    import tinygan
    if isinstance(x, tinygan.Tensor):
        return True
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return None
    return torch


def _values(x: Any) -> np.ndarray:
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        if torch._is_zerotensor(x):   # sgn's second derivative: a lazy zero; reading it
            return np.zeros(tuple(x.shape), dtype=torch.empty((), dtype=x.dtype).numpy().dtype)
        return x.detach().cpu().numpy()   # (numpy(force=True) segfaults on a sliced one)
    return np.asarray(x.array)


def _grad_of(x: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x.grad


_PRECISION = {"float16": 0, "float32": 1, "float64": 2}


def _held_to(dtype: str, loose: Any) -> str:
    """The tolerance a value of ``dtype`` is held to: its own, or that of the lowest
    precision that has existed in the program (``loose``: False, "float32" or "float16"),
    whichever is looser."""
    if loose and _PRECISION[loose] < _PRECISION[dtype]:
        return loose
    return dtype


def _diff_arrays(a: np.ndarray, b: np.ndarray, dtype: str, loose: Any = False) -> str:
    """'' when equal (within the dtype's tolerance), else a short description."""
    if a.shape != b.shape:
        return f"shape {a.shape} vs {b.shape}"
    if dtype in TOLERANCE:
        rtol, atol = TOLERANCE[_held_to(dtype, loose)]
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        if np.allclose(a64, b64, rtol=rtol, atol=atol, equal_nan=True):
            return ""
        bad = ~np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=True)
        i = tuple(int(k) for k in np.argwhere(bad)[0]) if a.ndim else ()
        return f"at {list(i)}: {a64[i]!r} vs {b64[i]!r}"
    if np.array_equal(a, b):
        return ""
    bad = a != b
    i = tuple(int(k) for k in np.argwhere(bad)[0]) if a.ndim else ()
    return f"at {list(i)}: {a[i]!r} vs {b[i]!r}"


def compare(ours: Any, theirs: Any, where: str, loose: Any = False
            ) -> tuple[str, str, str] | None:
    """The first difference between a tinygan value and a PyTorch value, as
    (field, where, 'tinygan ... vs torch ...'), or None. ``loose``: the lowest float
    precision seen so far, which values of higher precision may descend from (TOLERANCE)."""
    torch = _torch()
    if _is_tensor(theirs) or _is_tensor(ours):
        if not (_is_tensor(theirs) and _is_tensor(ours)):
            return ("type", where, f"{type(ours).__name__} vs {type(theirs).__name__}")
        d1, d2 = _dtype_name(ours), _dtype_name(theirs)
        if d1 != d2:
            return ("dtype", where, f"{d1} vs {d2}")
        if tuple(ours.shape) != tuple(theirs.shape):
            return ("shape", where, f"{tuple(ours.shape)} vs {tuple(theirs.shape)}")
        if bool(ours.requires_grad) != bool(theirs.requires_grad):
            return ("requires_grad", where, f"{ours.requires_grad} vs {theirs.requires_grad}")
        if bool(ours.is_leaf) != bool(theirs.is_leaf):
            return ("is_leaf", where, f"{ours.is_leaf} vs {theirs.is_leaf}")
        text = _diff_arrays(_values(ours), _values(theirs), d2, loose)
        if text:
            return ("values", where, text)
        g1, g2 = _grad_of(ours), _grad_of(theirs)
        if (g1 is None) != (g2 is None):
            return ("grad", where + ".grad", f"{'None' if g1 is None else 'a tensor'} vs "
                                             f"{'None' if g2 is None else 'a tensor'}")
        if g1 is not None:
            found = compare(g1, g2, where + ".grad", loose)
            if found:
                return ("grad", found[1], f"{found[0]}: {found[2]}")
        return None
    if torch is not None and isinstance(theirs, torch.nn.Module):
        import tinygan
        if not isinstance(ours, tinygan.nn.Module):
            return ("type", where, f"{type(ours).__name__} vs {type(theirs).__name__}")
        mine = dict(ours.named_parameters()) | dict(ours.named_buffers())
        for name, t in list(theirs.named_parameters()) + list(theirs.named_buffers()):
            if name not in mine:
                return ("missing", f"{where}.{name}", "absent vs present")
            found = compare(mine[name], t, f"{where}.{name}", loose)
            if found:
                return found
        return None
    if isinstance(theirs, np.ndarray):
        if not isinstance(ours, np.ndarray):
            return ("type", where, f"{type(ours).__name__} vs ndarray")
        if ours.dtype != theirs.dtype:
            return ("dtype", where, f"numpy {ours.dtype} vs {theirs.dtype}")
        text = _diff_arrays(ours, theirs, str(theirs.dtype), loose)
        return ("values", where, text) if text else None
    if isinstance(theirs, (tuple, list)):
        if not isinstance(ours, (tuple, list)):
            return ("type", where, f"{type(ours).__name__} vs {type(theirs).__name__}")
        if len(ours) != len(theirs):
            return ("length", where, f"{len(ours)} vs {len(theirs)}")
        for i, (a, b) in enumerate(zip(ours, theirs)):
            found = compare(a, b, f"{where}[{i}]", loose)
            if found:
                return found
        return None
    if theirs is None or ours is None:
        if (theirs is None) != (ours is None):
            return ("value", where, f"{ours!r} vs {theirs!r}")
        return None
    if isinstance(theirs, (bool, int, float)):
        if isinstance(ours, np.generic):
            return ("type", where, f"numpy {type(ours).__name__} vs {type(theirs).__name__}")
        if type(ours) is not type(theirs):
            return ("type", where, f"{type(ours).__name__} vs {type(theirs).__name__}")
        if isinstance(theirs, float):
            same = np.isclose(ours, theirs, rtol=1e-4, atol=1e-5, equal_nan=True)
        else:
            same = ours == theirs
        return None if same else ("value", where, f"{ours!r} vs {theirs!r}")
    return None  # anything else (a loss module, a function) is not compared


def _readable(x: Any) -> bool:
    """Whether PyTorch lets this value be read. (A view made under no_grad whose base was
    then changed in place raises on any use; the step that uses it is compared instead.)"""
    torch = _torch()
    if isinstance(x, torch.Tensor):
        try:
            x.is_leaf, _grad_of(x), x.requires_grad
        except RuntimeError:
            return False
    return True


def _low_precision(x: Any) -> Any:
    """The lowest float precision a PyTorch value is, holds or has: "float16", "float32" or
    False (float64 only, or no floats)."""
    torch = _torch()
    found: set[str] = set()
    if isinstance(x, torch.Tensor):
        found.add(str(x.dtype).split(".")[-1])
        if x.is_leaf and x.grad is not None:
            found.add(str(x.grad.dtype).split(".")[-1])
    elif isinstance(x, torch.nn.Module):
        found.update(str(p.dtype).split(".")[-1] for p in x.parameters())
    elif isinstance(x, (tuple, list)):
        found.update(p for p in (_low_precision(v) for v in x) if p)
    return "float16" if "float16" in found else "float32" if "float32" in found else False


def _lower(a: Any, b: Any) -> Any:
    """The lower of two precisions (False: float64)."""
    if not a or not b:
        return a or b
    return a if _PRECISION[a] <= _PRECISION[b] else b


def _live(ns: dict[str, Any], base: set[str]) -> list[str]:
    return [k for k in ns if k not in base and not k.startswith("_")]


def _operands(step: Any, ns: dict[str, Any]) -> tuple:
    """(shape, dtype name) of each tensor ``step`` reads, as PyTorch has them."""
    torch = _torch()
    return tuple((tuple(ns[u].shape), _dtype_name(ns[u])) for u in step.uses
                 if isinstance(ns.get(u), torch.Tensor))


def _run_step(code: str, ns: dict[str, Any]) -> BaseException | None:
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            exec(code, ns)
    except Exception as e:  # noqa: BLE001 - any exception is an outcome to compare
        return e
    return None


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text[:160]}"


def run(program: Program) -> Outcome:
    """Run ``program`` in both libraries, comparing after every step."""
    import tinygan
    tinygan.manual_seed(0)
    ours, theirs = namespace("tinygan"), namespace("torch")
    base = set(ours) | set(theirs)
    loose = False
    for i, step in enumerate(program.steps):
        e1, e2 = _run_step(step.code, ours), _run_step(step.code, theirs)
        if e1 or e2:
            kind = "both_raise" if (e1 and e2) else "tinygan_raise" if e1 else "torch_raise"
            detail = " | ".join(f"{lib}: {_short(e)}" for lib, e in
                                (("tinygan", e1), ("torch", e2)) if e)
            return Outcome(kind, i, step.tag, detail=detail, operands=_operands(step, theirs))
        live = [name for name in _live(theirs, base) if _readable(theirs[name])]
        for name in live:
            loose = _lower(loose, _low_precision(theirs[name]))
        for name in live:
            if name not in ours:
                return Outcome("silent", i, step.tag, "missing", name, "absent vs present",
                               _operands(step, theirs))
            try:
                found = compare(ours[name], theirs[name], name, loose)
            except Exception as e:  # noqa: BLE001 - tinygan failed to give a value back
                found = ("access", name, f"tinygan: {_short(e)}")
            if found:
                field, where, detail = found
                return Outcome("silent", i, step.tag, field, where, detail,
                               _operands(step, theirs))
    return Outcome("agree")
