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
  rounding         a float32 (or float16) value differs beyond the tolerance, but tinygan's is
                   no farther from the float64 answer than PyTorch's own (``_rounding``):
                   not a difference in what is computed, and reported apart
  torch_wrong      a gradient differs, and finite differences of the program's own loss (in
                   float64) give tinygan's value, not PyTorch's (``_torch_wrong``): an error
                   in PyTorch, reported apart (tinygan does not copy a wrong derivative)
  ill_conditioned  a value differs, but PyTorch's own moves as far when the program's inputs
                   move by a few units in their last place (``_input_noise``): the value
                   is that sensitive to rounding, and the two libraries round at different
                   places; reported apart
"""
from __future__ import annotations

import re
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
OUTCOMES = ("agree", "both_raise", "silent", "tinygan_raise", "torch_raise", "rounding",
            "torch_wrong", "ill_conditioned")


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


GRADIENT_NAMES = ("gs", "gp", "hs")   # what the grad steps define (generate.py)


def _strides_read(shape: Any, strides: Any, unit: int) -> tuple:
    """The strides, in elements, of the dims a program can step along (longer than 1)."""
    return tuple(st // unit for n, st in zip(shape, strides) if n > 1)


def compare(ours: Any, theirs: Any, where: str, loose: Any = False, views: bool = True
            ) -> tuple[str, str, str] | None:
    """The first difference between a tinygan value and a PyTorch value, as
    (field, where, 'tinygan ... vs torch ...'), or None. ``loose``: the lowest float
    precision seen so far, which values of higher precision may descend from (TOLERANCE).
    ``views``: also refuse a tinygan tensor that is a view where PyTorch's is a tensor of
    its own (then writes into it, its later views and requires_grad_() reach an
    intermediate the op made, not it), and one laid out in memory otherwise (then
    is_contiguous() answers otherwise, and view() raises in one library only). Not for
    gradients, whose views and layouts are autograd's own business in both; nor the other
    way round, where PyTorch's op returns a view of an intermediate of its own (matmul's
    folded batch) that no program can reach."""
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
        if views and ours._base is not None and not theirs._is_view():
            return ("view", where, "a view vs a tensor of its own")
        if views and ours.numel() > 1:   # the layout, which is_contiguous() and view() read
            mine, yours = _strides_read(ours.shape, ours.array.strides, ours.array.itemsize), \
                _strides_read(theirs.shape, theirs.stride(), 1)
            if mine != yours:
                return ("strides", where, f"{mine} vs {yours} (the strides of dims longer "
                                          f"than 1)")
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
            found = compare(g1, g2, where + ".grad", loose, views=False)
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
            found = compare(a, b, f"{where}[{i}]", loose, views)
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


# float32 rounding beyond any fixed tolerance. Both libraries round at their own places
# (their own orders of summation, fused multiply-adds, formulas equal in exact arithmetic),
# and where a program cancels (a second derivative, a gradient that is 0 in exact
# arithmetic, the difference of near-equal numbers) float32's error can pass 1e-4 of the
# result: PyTorch's own float32 answer then differs from its float64 one as much. So a
# float32 value that differs is checked against the same program run by PyTorch with every
# float32 made float64: where tinygan's largest error over the tensor is at most twice
# PyTorch's own float32 one (or within the tolerance), it is rounding, reported as
# "rounding", apart from the silent differences; where the two runs' non-finite values
# differ, it is not. A wrong formula is far from the float64 answer while PyTorch's float32
# value is near it, and stays "silent". float16 values (and values held to float16's
# tolerance because a float16 tensor existed) are judged the same way, the program's float16
# made float64 too.
_TO_FLOAT64 = (("L.float32", "L.float64"), (".float()", ".double()"),
               ("FloatTensor", "DoubleTensor"), ("'float32'", "'float64'"),
               ("L.float16", "L.float64"), (".half()", ".double()"),
               ("HalfTensor", "DoubleTensor"), ("'float16'", "'float64'"))


_CAST = re.compile(r"\b([A-Za-z_]\w*)\.(?:to\(L\.(float16|float32)\)|(half|float)\(\))")


def _float64_code(code: str, original: dict) -> str:
    """``code`` with every float32 and float16 made float64. A cast that copied in the
    original run (its source had another dtype; ``original`` is that run's namespace before
    this step) still copies: made float64, its source may already be float64, and .to()
    would hand back the tensor itself, which a later in-place write would then change."""
    def cast(match: re.Match) -> str:
        name, target = match.group(1), match.group(2) or \
            {"half": "float16", "float": "float32"}[match.group(3)]
        source = original.get(name)
        copies = _is_tensor(source) and _dtype_name(source) != target
        return f"{name}.to(L.float64, copy={copies})"
    code = _CAST.sub(cast, code)
    for old, new in _TO_FLOAT64:
        code = code.replace(old, new)
    return code


def _run_original(code: str, ns: dict, default_dtype: Any) -> Any:
    """_run_step under the program's own default dtype (the float64 run beside it has
    switched PyTorch's default to float64)."""
    torch = _torch()
    now = torch.get_default_dtype()
    torch.set_default_dtype(default_dtype)
    try:
        return _run_step(code, ns)
    finally:
        torch.set_default_dtype(now)


def _float64_reference(program: Program, upto: int, where: str) -> Any:
    """The value ``where`` after step ``upto`` of ``program`` run by PyTorch in float64
    (None where that run raises or lacks it)."""
    torch = _torch()
    ns = namespace("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    original = namespace("torch")
    try:
        for step in program.steps[:upto + 1]:
            code = _float64_code(step.code, original)
            if _run_step(code, ns) is not None or \
                    _run_original(step.code, original, before) is not None:
                return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eval(where, ns)   # noqa: S307 - a name, attribute or index we wrote
    except Exception:  # noqa: BLE001 - no reference, no verdict
        return None
    finally:
        torch.set_default_dtype(before)


def _read(where: str, *namespaces: dict) -> tuple | None:
    """The value of ``where`` (a name, attribute or index the tester wrote) in each
    namespace, warnings silenced; None where any of them cannot give it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(eval(where, ns) for ns in namespaces)   # noqa: S307
    except Exception:  # noqa: BLE001 - no value, no verdict
        return None


def _rounding(program: Program, upto: int, where: str, ours: dict, theirs: dict,
              loose: Any) -> str:
    """'' unless the difference found at ``where`` is float32 or float16 rounding (see above); then
    the float64 answer at the first element that differed, as text."""
    read = _read(where, ours, theirs)
    if read is None:
        return ""
    a, b = read
    if not (_is_tensor(a) and _is_tensor(b)) or \
            _dtype_name(b) not in ("float16", "float32", "float64"):
        return ""
    precision = _held_to(_dtype_name(b), loose)   # float16 rounding is judged the same way
    if precision not in ("float32", "float16"):
        return ""
    r = _float64_reference(program, upto, where)
    if not _is_tensor(r):
        return ""
    a, b, r = (_values(x).astype(np.float64) for x in (a, b, r))
    if not a.shape == b.shape == r.shape:
        return ""
    rtol, atol = TOLERANCE[precision]
    bad = ~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    # where the float64 answer is finite and PyTorch's float32 value is inf or NaN, float32
    # overflowed there (a product of two 1e30s, a square of one): tinygan's value is no
    # farther from the answer when it overflowed too, whichever of inf or NaN the order of
    # its operations left, or when it is the answer within float32's tolerance; the other
    # elements that differ are judged below
    with np.errstate(invalid="ignore"):
        answered = np.isfinite(a) & (np.abs(a - r) <= atol + rtol * np.abs(r))
    overflowed = bad & np.isfinite(r) & ~np.isfinite(b) & (~np.isfinite(a) | answered)
    judged = bad & ~overflowed
    if not bad.any() or not np.isfinite(a[judged]).all() or \
            not np.isfinite(b[judged]).all() or not np.isfinite(r[judged]).all():
        return ""
    if not judged.any():
        first = tuple(int(k) for k in np.argwhere(bad)[0]) if a.ndim else ()
        return (f"float64 answer {r[first]!r}; float32 overflowed there in both "
                f"({a[first]!r} vs {b[first]!r})")
    # errors measured on the whole tensor (its largest), as rounding spreads: cancellation
    # leaves an element small beside its neighbours but with their absolute error
    finite = np.isfinite(a) & np.isfinite(b) & np.isfinite(r)
    ours_off = np.abs(a[finite] - r[finite]).max()
    theirs_off = np.abs(b[finite] - r[finite]).max()
    scope = "tensor"
    if ours_off > max(2 * theirs_off, atol + rtol * np.abs(r[finite]).max()):
        # one gradient of a tuple that one backward pass made (gs[k], hs[k]): its
        # siblings' rounding spreads into it too (a bias gradient that is 0 in exact
        # arithmetic sums the others' noise), so PyTorch's largest error over the tuple
        theirs_off = _tuple_error(program, upto, where, theirs, precision)
        scope = "gradients of that call"
        if ours_off > 2 * theirs_off:
            return ""
    first = tuple(int(k) for k in np.argwhere(bad)[0]) if a.ndim else ()
    return (f"float64 answer {r[first]!r}; largest error over the {scope}: tinygan "
            f"{ours_off:.3g}, PyTorch {theirs_off:.3g}")


# Some values are ill-conditioned: a unit in the last place of the program's inputs moves
# them far (a float64 sum where +-1e30 cancels, a division by a value that rounds near 0,
# the second derivative of a normalised constant image). Two libraries that round at
# different places (BLAS's order, a fused multiply-add) then differ by as much, and neither
# is wrong. PyTorch runs the program again with every float input and parameter multiplied
# by 1 + j eps (j drawn from -4..4, eps of its dtype); where tinygan's value lies within
# NOISE_FACTOR times the distance those runs move PyTorch's own, the difference is that
# sensitivity. A well-conditioned value moves by an eps or two, so float64 work done in
# float32 (an error near 1e-8) or a wrong formula is still a silent difference.
NOISE_RUNS, NOISE_FACTOR = 12, 4.0


def _perturbed_namespace(program: Program, upto: int, rng: np.random.Generator) -> Any:
    """PyTorch's namespace after steps 0..upto of ``program`` with its float inputs and
    the parameters ``fill`` sets moved by a few units in their last place; None where a
    step raises."""
    torch = _torch()
    ns = namespace("torch")
    filled = ns["fill"]

    def nudge(x: Any) -> None:
        if x.dtype.is_floating_point and x.numel():
            eps = torch.finfo(x.dtype).eps
            steps = torch.tensor(rng.integers(-4, 5, tuple(x.shape)), dtype=x.dtype)
            with torch.no_grad():
                x.mul_(1 + eps * steps)

    def fill_then_nudge(m: Any, seed: int) -> Any:
        filled(m, seed)
        for p in m.parameters():
            nudge(p)
        return m

    ns["fill"] = fill_then_nudge
    torch.manual_seed(0)
    for step in program.steps[:upto + 1]:
        if _run_step(step.code, ns) is not None:
            return None
        if step.spec is not None and _is_tensor(ns.get(step.defines[0])):
            nudge(ns[step.defines[0]])
    return ns


def _input_noise(program: Program, upto: int, where: str, ours: dict, theirs: dict,
                 loose: Any) -> str:
    """'' unless every element of ``where`` that differs beyond the tolerance is rounding
    noise (see above): within NOISE_FACTOR times the distance PyTorch's own value moves when
    the inputs move by a few units in their last place, or tinygan's value itself (an inf
    or NaN included) among those PyTorch gives then; that, as text."""
    read = _read(where, ours, theirs)
    if read is None:
        return ""
    a, b = read
    if not (_is_tensor(a) and _is_tensor(b)) or _dtype_name(b) not in TOLERANCE:
        return ""
    rtol, atol = TOLERANCE[_held_to(_dtype_name(b), loose)]
    a, b = _values(a).astype(np.float64), _values(b).astype(np.float64)
    if a.shape != b.shape:
        return ""
    bad = ~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return ""
    a, b = a[bad], b[bad]
    rng = np.random.default_rng(abs(program.seed))
    moved, met = np.zeros(a.shape), np.zeros(a.shape, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(NOISE_RUNS):
            ns = _perturbed_namespace(program, upto, rng)
            got = None if ns is None else _read(where, ns)
            if got is None or not _is_tensor(got[0]):
                return ""
            p = _values(got[0]).astype(np.float64)
            if p.shape != bad.shape:
                return ""
            p = p[bad]
            met |= np.isclose(p, a, rtol=rtol, atol=atol, equal_nan=True)
            step = np.abs(p - b)
            moved = np.maximum(moved, np.where(np.isfinite(step), step, 0.0))
    finite = np.isfinite(a) & np.isfinite(b)
    near = finite & (np.abs(a - b) <= NOISE_FACTOR * moved)
    if not (near | met).all():
        return ""
    if met.all():
        return "PyTorch gives tinygan's value too when the inputs move by up to 4 units " \
               "in their last place"
    return (f"moving the inputs by up to 4 units in their last place moves PyTorch's value "
            f"by up to {moved.max():.3g}; tinygan's is {np.abs(a - b)[finite].max():.3g} "
            f"from it")


def _same_inputs(program: Program, upto: int, where: str, ours: dict, loose: Any) -> str:
    """'' unless PyTorch, running step ``upto`` on tinygan's values of the tensors it reads,
    gives tinygan's value at ``where``; then that, as text. Those inputs agreed within the
    tolerance (they were compared at the steps that made them), so the step computes the
    same function on them, and the difference is its own magnification of their last-bit
    rounding: log of a sum that rounds to 0 in one library and to 3e-8 in the other, a
    division by a near-zero. Values only: a gradient runs through the whole program."""
    torch = _torch()
    step = program.steps[upto]
    if step.tag in ("backward", "grad", "grad2") or "backward(" in step.code or \
            "autograd" in step.code:
        return ""
    import tinygan
    before = {"tinygan": namespace("tinygan"), "torch": namespace("torch")}
    tinygan.manual_seed(0)
    torch.manual_seed(0)
    for name, ns in before.items():
        for earlier in program.steps[:upto]:
            if _run_step(earlier.code, ns) is not None:
                return ""
    theirs = before["torch"]
    for name in step.uses:
        mine, their = before["tinygan"].get(name), theirs.get(name)
        if isinstance(mine, tinygan.Tensor) and isinstance(their, torch.Tensor) and \
                their.dtype.is_floating_point and _readable(their):
            copy = torch.tensor(_values(mine), dtype=their.dtype)
            theirs[name] = copy.requires_grad_(their.requires_grad) if their.is_leaf \
                else copy
    if _run_step(step.code, theirs) is not None:
        return ""
    read = _read(where, ours, theirs)
    if read is None or not all(_is_tensor(v) for v in read):
        return ""
    a, b = (_values(v) for v in read)
    if _diff_arrays(a, b, _dtype_name(read[1]), loose):
        return ""
    return "PyTorch's value too, from tinygan's values of the step's inputs"


def _tuple_error(program: Program, upto: int, where: str, theirs: dict,
                 precision: str) -> float:
    """PyTorch's largest error, against the float64 run, over the tensors of the tuple
    ``where`` indexes (0 where ``where`` is not an element of a tuple of tensors)."""
    match = re.fullmatch(r"(\w+)\[\d+\]", where)
    if not match:
        return 0.0
    ours_tuple, reference = theirs.get(match.group(1)), \
        _float64_reference(program, upto, match.group(1))
    if not isinstance(ours_tuple, (tuple, list)) or not isinstance(reference, (tuple, list)):
        return 0.0
    worst = 0.0
    for b, r in zip(ours_tuple, reference):
        if not (_is_tensor(b) and _is_tensor(r)) or \
                _held_to(_dtype_name(b), precision) != precision:
            continue
        b, r = _values(b).astype(np.float64), _values(r).astype(np.float64)
        if b.shape != r.shape:
            continue
        finite = np.isfinite(b) & np.isfinite(r)
        if finite.any():
            worst = max(worst, float(np.abs(b[finite] - r[finite]).max()))
    return worst


def _run_float64(program: Program, upto: int, after: tuple[str, str] = ("", "")) -> Any:
    """PyTorch's namespace after steps 0..upto-1 of ``program`` in float64, with
    ``after[1]`` run right after the line that assigns ``after[0]`` (a layer's step makes
    the layer and calls it); None where a step raises."""
    torch = _torch()
    ns = namespace("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    original = namespace("torch")
    try:
        for step in program.steps[:upto]:
            code = _float64_code(step.code, original)
            if _run_original(step.code, original, before) is not None:
                return None
            if after[0] and after[0] in step.defines:
                lines = code.split("\n")
                at = next((k for k, line in enumerate(lines)
                           if line.startswith(f"{after[0]} = ")), len(lines) - 1)
                code = "\n".join(lines[:at + 1] + [after[1]] + lines[at + 1:])
            if _run_step(code, ns) is not None:
                return None
        return ns
    finally:
        torch.set_default_dtype(before)


_STOPS_GRADIENT = ("detach", "no_grad", ".data", "grad_enabled", "inference_mode",
                   "requires_grad_(", "requires_grad = ", ".item()", ".tolist()", "numpy(",
                   ".grad)", ".grad.", ".grad ")


def _eval_then_called(program: Program, upto: int) -> bool:
    """Whether a layer is called after a switch to eval mode (then BatchNorm may read the
    running statistics a train-mode call computed from the leaf: a path autograd leaves
    out by design)."""
    lines = "\n".join(st.code for st in program.steps[:upto]).split("\n")
    first = next((k for k, c in enumerate(lines) if "eval()" in c or "train(False)" in c),
                 None)
    return first is not None and any(re.search(r"\bm\d+\(", c) for c in lines[first:])


def _central_difference(program: Program, upto: int, name: str, root: str, target: str,
                        k: int, h: float) -> tuple[Any, list]:
    """(loss(x + h e_k) - loss(x - h e_k)) / 2h for the leaf ``name``, run by PyTorch in
    float64, and the two losses; (None, []) where a run fails or the slope is not finite."""
    losses = []
    for sign in (1, -1):
        nudge = f"with L.no_grad():\n    {name}.view(-1)[{k}] += {sign * h!r}"
        ns = _run_float64(program, upto, (root, nudge))
        if ns is None or not _is_tensor(ns.get(target)):
            return None, []
        losses.append(float(ns[target].detach().sum()))
    slope = (losses[0] - losses[1]) / (2 * h)
    return (slope, losses) if np.isfinite(slope) else (None, [])


def _torch_wrong(program: Program, upto: int, where: str, ours: dict, theirs: dict,
                 loose: Any = False) -> str:
    """'' unless the gradient ``where`` (``x.grad`` after ``loss.backward()``) is tinygan's
    by central finite differences of ``loss`` in float64 at every element that differs, and
    not PyTorch's; then the finite differences, as text."""
    step = program.steps[upto]
    wanted = re.match(r"(gs|hs) = L\.autograd\.grad\((loss|gp), \[([^\]]*)\]", step.code)
    picked = re.fullmatch(r"(gs|hs)\[(\d+)\]", where)
    target = "loss"
    if step.code == "loss.backward()" and where.endswith(".grad"):
        name = where[:-len(".grad")]
    elif wanted and picked and wanted.group(1) == picked.group(1):
        # a derivative from autograd.grad(loss, [...]) or, a second one, of gp = the
        # squared norm of the first ones (which agreed: they were compared at their step)
        name, target = wanted.group(3).split(", ")[int(picked.group(2))], wanted.group(2)
    else:
        return ""
    # finite differences see every path from the leaf to the loss; autograd, by design,
    # not those through a detach, no_grad, a Python number, or BatchNorm's running
    # statistics (used in eval mode): programs with any of them get no verdict
    text = "\n".join(st.code for st in program.steps[:upto])
    if any(word in text for word in _STOPS_GRADIENT) or _eval_then_called(program, upto):
        return ""
    root = name.split(".")[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = _values(eval(where, ours)).astype(np.float64).ravel()    # noqa: S307
            b = _values(eval(where, theirs)).astype(np.float64).ravel()  # noqa: S307
            x = _values(eval(name, theirs)).astype(np.float64).ravel()   # noqa: S307
    except Exception:  # noqa: BLE001
        return ""
    # the elements that differ, by the value's own tolerance; float32's judges the slopes,
    # or for a float64 program the finite differences' own noise (float64's last bit of
    # the loss, over the step h), so a small float64 gradient can be told apart too
    exact64 = _held_to(_dtype_name(eval(where, theirs)), loose) == "float64"  # noqa: S307
    rtol, atol = TOLERANCE["float64" if exact64 else "float32"]
    bad = np.flatnonzero(~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True))[:4]
    if not bad.size or not (np.isfinite(a[bad]).all() and np.isfinite(b[bad]).all()):
        return ""
    rtol, atol = TOLERANCE["float32"]
    found = []
    for k in bad:
        h = 1e-6 * max(1.0, abs(x[k]))
        slope, losses = _central_difference(program, upto, name, root, target, int(k), h)
        if slope is None:
            return ""
        ours_off, theirs_off = abs(a[k] - slope), abs(b[k] - slope)
        if exact64:   # the slope's own error, measured: the same difference over 2h
            wider, _ = _central_difference(program, upto, name, root, target, int(k), 2 * h)
            if wider is None:
                return ""
            noise = max(abs(wider - slope),
                        8 * np.finfo(np.float64).eps * max(1.0, *map(abs, losses)) / (2 * h))
            near, far = noise + 1e-7 * abs(slope), 10 * max(ours_off, noise)
        else:
            near, far = atol + rtol * abs(slope), 100 * max(ours_off, atol)
        if ours_off > near or theirs_off < far:
            return ""
        found.append(f"{slope:.6g}")
    return f"finite differences {', '.join(found)} at flat index {', '.join(map(str, bad))}"


def _contiguous_gradients(program: Program, upto: int, where: str, ours: dict,
                          loose: Any) -> str:
    """'' unless PyTorch gives tinygan's value once every gradient that reaches a tensor of
    the program is made contiguous first (a hook on each); then that value, as text. The
    layout of a gradient cannot change a derivative, so a difference that goes away there
    is PyTorch's: its BatchNorm and InstanceNorm backward, handed a permuted gradient,
    give wrong weight and input gradients (tests/test_pytorch_formulas.py). This judges
    programs whose loss is inf or NaN too, where finite differences cannot."""
    torch = _torch()
    ns, hooked = namespace("torch"), set()
    for step in program.steps[:upto + 1]:
        if _run_step(step.code, ns) is not None:
            return ""
        for value in list(ns.values()):
            if isinstance(value, torch.Tensor) and _readable(value) and \
                    value.requires_grad and value.grad_fn is not None and \
                    id(value) not in hooked:   # (a view PyTorch refuses to read: skipped)
                value.register_hook(lambda g: g.contiguous())
                hooked.add(id(value))
    read = _read(where, ours, ns)
    if read is None:
        return ""
    a, b = read
    if not (_is_tensor(a) and _is_tensor(b)) or _diff_arrays(
            _values(a), _values(b), _dtype_name(b), loose):
        return ""
    return "PyTorch's own value once every gradient is made contiguous"


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
                found = compare(ours[name], theirs[name], name, loose,
                                views=name not in GRADIENT_NAMES)
            except Exception as e:  # noqa: BLE001 - tinygan failed to give a value back
                found = ("access", name, f"tinygan: {_short(e)}")
            if found:
                field, where, detail = found
                kind = "silent"
                if field in ("values", "grad") and "vs" in detail and "shape" not in detail:
                    reference = _rounding(program, i, where, ours, theirs, loose)
                    if reference:
                        kind, detail = "rounding", f"{detail} ({reference})"
                    else:
                        slopes = _torch_wrong(program, i, where, ours, theirs, loose) or \
                            _contiguous_gradients(program, i, where, ours, loose)
                        if slopes:
                            kind, detail = "torch_wrong", f"{detail} ({slopes})"
                        else:
                            noise = _input_noise(program, i, where, ours, theirs, loose) \
                                or (field == "values" and
                                    _same_inputs(program, i, where, ours, loose))
                            if noise:
                                kind, detail = "ill_conditioned", f"{detail} ({noise})"
                return Outcome(kind, i, step.tag, field, where, detail,
                               _operands(step, theirs))
    return Outcome("agree")
