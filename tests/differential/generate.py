"""The program generator: seeded, reproducible, written the way a PyTorch user writes code.

``generate(seed)`` builds a program of 3-8 operations. Each operation comes from a *family*
(binary arithmetic, views and indexing, in-place writes, casts, reductions, creation, matmul,
cat/stack, softmax, losses, layers ...) that picks its operands among the tensors made so far
and writes one line of code. PyTorch is the shape oracle while generating: each proposed line
runs in PyTorch at once, so the generator knows every variable's shape and dtype. A line that
PyTorch rejects is usually dropped, but sometimes kept as the program's last step: those
programs check that tinygan raises too. The program ends with a loss and ``backward()``, or
for a third of the programs ``autograd.grad(..., create_graph=True)`` and a second derivative.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tests.differential.execute import _readable
from tests.differential.program import InputSpec, Program, Step, namespace

FLOATS = ("float32", "float32", "float32", "float64")
# A float input sometimes holds values at the edges of arithmetic, where libraries part
# most easily (what NaN, inf and -0.0 do through each op and its gradient)
SPECIAL_CHANCE = 0.04
SPECIALS = (float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1e30, -1e30)
SPECIALS_POSITIVE = (float("nan"), float("inf"), 1e30, 1e-30)
ALL_DTYPES = ("float32", "float32", "float32", "float64", "int64", "int32", "bool")
KEEP_RAISING = 0.3     # chance that a step PyTorch rejects is kept (as the last step)


class Variant:
    """How inputs are drawn. The default: values rounded to two decimals (so programs print
    short), dims of 1 to 4. "wide" (``--variant wide``): values kept as drawn and scaled by
    1e-3 to 100 (saturated gates, underflows, sums that cancel far from 0), special values
    twice as often, dims up to 39 (11 in 3-D and 4-D tensors): longer sums and batches."""
    round_to: int | None = 2
    scales: tuple = (1.0,)
    special_chance = SPECIAL_CHANCE
    longest = (4, 4)          # (1-D and 2-D, 3-D and 4-D)


VARIANTS = {"default": Variant()}
VARIANTS["wide"] = Variant()
VARIANTS["wide"].round_to, VARIANTS["wide"].scales = None, (1.0, 1.0, 3.0, 1e-3, 100.0)
VARIANTS["wide"].special_chance, VARIANTS["wide"].longest = 2 * SPECIAL_CHANCE, (39, 11)
variant = VARIANTS["default"]   # (the CLI's --variant sets it)


class Context:
    """The program so far, and the PyTorch namespace it ran in."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.program = Program(seed=seed)
        self.ns = namespace("torch")
        self.count = 0
        self.ended = False
        # a third of the programs are float64 throughout (what would be float32 inputs are
        # float64), so float64 is compared at its own tolerance from start to end
        self.f64 = self.chance(1 / 3)

    # ---- randomness --------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def choice(self, seq: Any) -> Any:
        return seq[int(self.rng.integers(len(seq)))]

    def fresh(self, prefix: str = "v") -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    # ---- what exists -------------------------------------------------------------------
    def tensor_names(self, pred: Callable[[Any], bool] | None = None) -> list[str]:
        import torch
        names = [k for k, v in self.ns.items() if k[:1] == "v" and k[1:].isdigit()
                 and isinstance(v, torch.Tensor) and _readable(v)]
        return [k for k in names if pred is None or pred(self.ns[k])]

    def pick(self, pred: Callable[[Any], bool] | None = None) -> str | None:
        """A tensor variable, the recent ones more likely (so operations chain)."""
        names = self.tensor_names(pred)
        if not names:
            return None
        w = np.arange(1, len(names) + 1, dtype=float) ** 2
        return names[int(self.rng.choice(len(names), p=w / w.sum()))]

    def t(self, name: str) -> Any:
        return self.ns[name]

    # ---- values ------------------------------------------------------------------------
    def values(self, shape: tuple[int, ...], dtype: str, positive: bool = False,
               low: int = -3, high: int = 5) -> np.ndarray:
        if dtype == "bool":
            return self.rng.random(shape) < 0.5
        if dtype.startswith("uint"):                       # unsigned: no negative values
            return self.rng.integers(0, high, shape)
        if dtype.startswith("int"):
            return self.rng.integers(max(low, 0) if positive else low, high, shape)
        v = self.rng.standard_normal(shape)
        if variant.round_to is None:
            v = v * float(self.choice(variant.scales))
            v = np.abs(v) + 0.1 if positive else v
        else:
            v = np.round(v, variant.round_to)
            v = np.round(np.abs(v) + 0.1, variant.round_to) if positive else v
        if v.size and self.rng.random() < variant.special_chance:   # NaN, inf, -0.0, huge
            flat = v.reshape(-1)
            for k in self.rng.choice(flat.size, size=min(flat.size, 2), replace=False):
                flat[k] = self.choice(SPECIALS_POSITIVE if positive else SPECIALS)
        return v

    def shape(self, ndim: int | None = None) -> tuple[int, ...]:
        if ndim is None:
            ndim = int(self.choice((0, 1, 1, 2, 2, 2, 3, 3, 4)))
        longest = variant.longest[0 if ndim <= 2 else 1]
        return tuple(int(self.rng.integers(1, longest + 1)) for _ in range(ndim))

    def add_input(self, shape: tuple[int, ...], dtype: str, requires_grad: bool | None = None,
                  positive: bool = False, values: np.ndarray | None = None) -> str:
        if self.f64 and dtype in ("float32", "float16"):
            dtype = "float64"
        if requires_grad is None:
            requires_grad = dtype.startswith("float") and self.chance(0.7)
        spec = InputSpec(self.values(shape, dtype, positive) if values is None else values,
                         dtype, requires_grad)
        name = self.fresh()
        step = Step.input(name, spec)
        exec(step.code, self.ns)
        self.program.steps.append(step)
        return name

    def scalar(self, kinds: str = "fib") -> str:
        kind = self.choice(kinds)
        if kind == "f":
            return repr(float(np.round(self.rng.standard_normal(), 2)))
        if kind == "i":
            return repr(int(self.rng.integers(-2, 4)))
        return repr(bool(self.chance(0.5)))

    def broadcastable(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts with ``shape`` (fewer dims, ones, or one more dim)."""
        s = list(shape)
        if s and self.chance(0.4):
            s = s[int(self.rng.integers(0, len(s) + 1)):]
        s = [1 if self.chance(0.3) else n for n in s]
        if self.chance(0.15) and len(s) < 4:
            s = [int(self.rng.integers(1, 3))] + s
        return tuple(s)

    def dim(self, t: Any, allow_none: bool = False) -> Any:
        nd = t.dim()
        if allow_none and self.chance(0.25):
            return None
        if nd == 0:
            return self.choice((0, -1))
        return int(self.rng.integers(-nd, nd))

    # ---- running a proposed step -------------------------------------------------------
    def propose(self, step: Step) -> bool:
        """Run ``step`` in PyTorch; keep it if it runs (or, sometimes, if it raises: then
        the program ends with it). Returns whether it was kept."""
        import warnings
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                exec(step.code, self.ns)
        except Exception:  # noqa: BLE001
            if self.chance(KEEP_RAISING):
                self.program.steps.append(step)
                self.ended = True
                return True
            self._replay()
            return False
        self.program.steps.append(step)
        return True

    def _replay(self) -> None:
        """Rebuild the namespace from the kept steps (a rejected step may have half-run)."""
        import warnings
        self.ns = namespace("torch")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for i, s in enumerate(self.program.steps):
                try:
                    exec(s.code, self.ns)
                except Exception:  # noqa: BLE001 - it ran before, but not again (it reads
                    del self.program.steps[i + 1:]    # state a rejected step left behind):
                    self.ended = True                 # the program ends with it, raising
                    return


def is_float(t: Any) -> bool:
    return t.is_floating_point()


# ---------------------------------------------------------------------------------------
# Families: each writes one step (or returns None when nothing suits it)
# ---------------------------------------------------------------------------------------
FAMILIES: list[tuple[float, Callable[[Context], Step | None]]] = []


def family(weight: float) -> Callable:
    def register(fn: Callable[[Context], Step | None]) -> Callable:
        FAMILIES.append((weight, fn))
        return fn
    return register


def _other(ctx: Context, a: str) -> str:
    """A second operand for ``a``: a scalar literal, an existing tensor, or a fresh input
    whose shape broadcasts with ``a``'s (maybe of another dtype)."""
    r = ctx.rng.random()
    if r < 0.35:
        return ctx.scalar()
    if r < 0.55:
        b = ctx.pick()
        if b is not None:
            return b
    dtype = ctx.choice(ALL_DTYPES) if ctx.chance(0.3) else str(ctx.t(a).dtype)[6:]
    return ctx.add_input(ctx.broadcastable(tuple(ctx.t(a).shape)), dtype)


def _uses(*tokens: str) -> tuple[str, ...]:
    return tuple(t for t in tokens if t[:1] in "vm" and t[1:].isdigit())


@family(14)
def binary(ctx: Context) -> Step | None:
    a = ctx.pick()
    if a is None:
        return None
    b = _other(ctx, a)
    if ctx.chance(0.3):
        a, b = b, a          # the scalar (or the other tensor) on the left
    out = ctx.fresh()
    form = ctx.rng.integers(6)
    op = ctx.choice(("+", "-", "*", "/", "**", "<", ">=", "=="))
    if form <= 2:
        code, tag = f"{out} = {a} {op} {b}", f"binary:{op}"
    elif form == 3:
        fn = ctx.choice(("add", "sub", "mul", "div", "maximum", "minimum", "pow"))
        if fn in ("add", "sub") and ctx.chance(0.4):
            code, tag = f"{out} = L.{fn}({a}, {b}, alpha={ctx.scalar('fi')})", f"L.{fn}:alpha"
        elif fn == "div" and ctx.chance(0.3):
            mode = ctx.choice(("'floor'", "'trunc'", "None"))
            code, tag = f"{out} = L.div({a}, {b}, rounding_mode={mode})", "L.div:rounding_mode"
        else:
            code, tag = f"{out} = L.{fn}({a}, {b})", f"L.{fn}"
    elif form == 4:
        cond = ctx.pick(lambda t: str(t.dtype) == "torch.bool")
        c = cond if cond is not None else ctx.pick(is_float) or a
        cond_code = c if cond is not None else f"({c} > 0)"
        code, tag = f"{out} = L.where({cond_code}, {a}, {b})", "L.where"
        return Step(code, tag, (out,), _uses(a, b, c))
    elif a[0] == "v" and ctx.chance(0.3):
        # Tensor.add/sub/mul/div/pow: PyTorch's methods (tinygan has the operators)
        fn = ctx.choice(("add", "sub", "mul", "div", "pow"))
        code, tag = f"{out} = {a}.{fn}({b})", f"method:{fn}"
    else:
        code, tag = f"{out} = {a} {op} {b}", f"binary:{op}"
    return Step(code, tag, (out,), _uses(a, b))


UNARY = ("exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "neg", "reciprocal")
# sin/cos, the step functions (a zero gradient) and the special-value tests (bool results)
MORE_UNARY = ("sin", "cos", "floor", "ceil", "round", "trunc", "sign", "isnan", "isinf",
              "isfinite")


@family(10)
def unary(ctx: Context) -> Step | None:
    a = ctx.pick()
    if a is None:
        return None
    out = ctx.fresh()
    r = ctx.rng.integers(5)
    if r == 4:   # the newer names, as methods or functions; round to places; flip
        t = ctx.t(a)
        fn = ctx.choice(MORE_UNARY + ("round:decimals", "flip", "neg", "clone"))
        if fn == "round:decimals":
            d = ctx.choice((1, 2, -1))
            code = ctx.choice((f"{out} = {a}.round(decimals={d})",
                               f"{out} = L.round({a}, decimals={d})"))
        elif fn == "flip":
            dims = tuple(sorted({int(ctx.dim(t)) for _ in range(2)})) if t.dim() else ()
            code = ctx.choice((f"{out} = {a}.flip({', '.join(map(str, dims))})",
                               f"{out} = L.flip({a}, {dims!r})"))
        elif fn in ("neg", "clone"):
            code = f"{out} = L.{fn}({a})"
        else:
            code = ctx.choice((f"{out} = {a}.{fn}()", f"{out} = L.{fn}({a})"))
        return Step(code, f"unary:{fn}", (out,), (a,))
    if r == 0:
        fn = ctx.choice(UNARY)
        code, tag = f"{out} = {a}.{fn}()", f"method:{fn}"
    elif r == 1:
        fn = ctx.choice(("exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "reciprocal"))
        code, tag = f"{out} = L.{fn}({a})", f"L.{fn}"
    elif r == 2:
        fn = ctx.choice(("softplus", "leaky_relu", "logsigmoid", "relu", "sigmoid", "tanh",
                         "softplus:beta", "leaky_relu:slope", "silu", "elu", "elu:alpha"))
        if fn == "softplus:beta":
            code = f"{out} = F.softplus({a}, beta={ctx.choice((0.5, 2.0, 2))}, " \
                   f"threshold={ctx.choice((20, 1.0))})"
        elif fn == "leaky_relu:slope":
            code = f"{out} = F.leaky_relu({a}, {ctx.choice((0.2, 0.1, 0.01))})"
        elif fn == "elu:alpha":
            code = f"{out} = F.elu({a}, alpha={ctx.choice((0.5, 2.0))})"
        else:
            code = f"{out} = F.{fn}({a})"
        tag = f"F.{fn}"
    else:
        lo, hi = sorted(float(np.round(ctx.rng.standard_normal(), 2)) for _ in range(2))
        form = ctx.rng.integers(4)
        if form == 0:
            code = f"{out} = {a}.clamp({lo}, {hi})"
        elif form == 1:
            code = f"{out} = L.clip({a}, min={lo})" if ctx.chance(0.5) else \
                f"{out} = {a}.clamp(max={hi})"
        elif form == 2:
            lo_t = ctx.add_input(ctx.broadcastable(tuple(ctx.t(a).shape)),
                                 str(ctx.t(a).dtype)[6:], requires_grad=False)
            code = f"{out} = L.clamp({a}, min={lo_t})"
            return Step(code, "clamp:tensor", (out,), (a, lo_t))
        else:
            code = f"{out} = L.clamp({a}, {lo}, {hi})"
        tag = "clamp"
    return Step(code, tag, (out,), (a,))


def _index(ctx: Context, t: Any) -> str:
    """An index expression for ``t``: basic (ints, slices, negative steps, None, ...) or
    advanced (lists, long tensors, bool masks)."""
    shape = tuple(t.shape)
    if not shape:
        return ctx.choice(("...", "None", "()"))
    r = ctx.rng.random()
    parts = []
    if r < 0.55:
        for n in shape[:int(ctx.rng.integers(1, len(shape) + 1))]:
            k = ctx.rng.integers(5)
            if k == 0:
                parts.append(str(int(ctx.rng.integers(-n, n))))
            elif k == 1:
                parts.append(":")
            elif k == 2:
                lo = int(ctx.rng.integers(-n, n))
                parts.append(f"{lo}:")
            elif k == 3:
                step = ctx.choice((2, -1, 2, 3))
                parts.append(f"::{step}")
            else:
                parts.append(f"{int(ctx.rng.integers(0, n))}:{int(ctx.rng.integers(0, n + 1))}")
        if ctx.chance(0.15):
            parts.insert(int(ctx.rng.integers(0, len(parts) + 1)), "None")
        if ctx.chance(0.15):
            parts = ["...", parts[-1]]
        return ", ".join(parts)
    if r < 0.75:
        n = shape[0]
        idx = [int(ctx.rng.integers(-n, n)) for _ in range(int(ctx.rng.integers(1, 4)))]
        return repr(idx) if ctx.chance(0.5) else f"L.tensor({idx!r})"
    if r < 0.9:
        mask = (ctx.rng.random(shape) < 0.5).tolist()
        return f"L.tensor({mask!r})"
    n = shape[-1]
    return f"..., {int(ctx.rng.integers(-n, n))}"


@family(12)
def view_or_index(ctx: Context) -> Step | None:
    a = ctx.pick()
    if a is None:
        return None
    t = ctx.t(a)
    out = ctx.fresh()
    shape = tuple(t.shape)
    r = ctx.rng.integers(12)
    if r <= 3:
        code, tag = f"{out} = {a}[{_index(ctx, t)}]", "getitem"
    elif r == 4:
        code, tag = f"{out} = {a}.T" if t.dim() <= 2 else f"{out} = {a}.transpose(0, -1)", "transpose"
    elif r == 5:
        d0, d1 = ctx.dim(t), ctx.dim(t)
        code, tag = (f"{out} = {a}.transpose({d0}, {d1})" if ctx.chance(0.5) else
                     f"{out} = L.transpose({a}, {d0}, {d1})"), "transpose"
    elif r == 6:
        perm = [int(i) for i in ctx.rng.permutation(t.dim())]
        code, tag = f"{out} = {a}.permute({', '.join(map(str, perm))})", "permute"
    elif r == 7:
        n = t.numel()
        target = ctx.choice(([n], [-1], [1, n], [n, 1], [-1, 1]) if n else ([0],))
        meth = ctx.choice(("view", "reshape"))
        code, tag = f"{out} = {a}.{meth}({', '.join(map(str, target))})", meth
        if ctx.chance(0.3):
            code = f"{out} = L.reshape({a}, {tuple(target)!r})"
    elif r == 8:
        d = int(ctx.rng.integers(-t.dim() - 1, t.dim() + 1))
        code, tag = (f"{out} = {a}.unsqueeze({d})" if ctx.chance(0.5) else
                     f"{out} = L.unsqueeze({a}, {d})"), "unsqueeze"
    elif r == 9:
        if ctx.chance(0.5):
            code = f"{out} = {a}.squeeze()"
        else:
            code = f"{out} = {a}.squeeze({ctx.dim(t)})"
        tag = "squeeze"
    elif r == 10:
        big = tuple(int(ctx.rng.integers(2, 4)) if n == 1 else n for n in shape)
        if ctx.chance(0.3):
            big = (2,) + big
        code, tag = f"{out} = {a}.expand({', '.join(map(str, big)) or '()'})", "expand"
        if not big:
            code = f"{out} = {a}.expand(())"
    else:
        form = ctx.rng.integers(4)
        if form == 0:
            code = f"{out} = {a}.flatten()"
        elif form == 1:
            code = f"{out} = L.flatten({a}, {min(1, max(t.dim() - 1, 0))})"
        elif form == 2:
            code = f"{out} = {a}.detach()"
        else:
            code = f"{out} = {a}.clone()"
        tag = code.split(".")[-1].split("(")[0] if form != 1 else "flatten"
    return Step(code, tag, (out,), (a,))


INPLACE_ARG = ("add_", "sub_", "mul_", "div_", "pow_", "copy_", "fill_")
INPLACE_NOARG = ("neg_", "exp_", "sqrt_", "abs_", "tanh_", "sigmoid_", "relu_", "zero_",
                 "reciprocal_")


@family(12)
def inplace(ctx: Context) -> Step | None:
    a = ctx.pick()
    if a is None:
        return None
    t = ctx.t(a)
    view = None
    if ctx.chance(0.35) and t.dim() > 0:
        view = f"{a}[{_index(ctx, t)}]" if ctx.chance(0.6) else \
            (f"{a}.T" if t.dim() <= 2 else f"{a}.transpose(0, 1)")
    r = ctx.rng.integers(8)
    uses: tuple[str, ...] = (a,)
    if r <= 2:
        op = ctx.choice(INPLACE_ARG)
        other = ctx.scalar() if op == "fill_" else _other(ctx, a)
        if op == "copy_" and other[:1] != "v":
            other = ctx.add_input(ctx.broadcastable(tuple(t.shape)), ctx.choice(ALL_DTYPES))
        if op in ("add_", "sub_") and ctx.chance(0.3):
            expr = f".{op}({other}, alpha={ctx.scalar('fi')})"
        else:
            expr = f".{op}({other})"
        uses += _uses(other)
        tag = f"inplace:{op}"
    elif r == 3:
        op = ctx.choice(INPLACE_NOARG)
        expr, tag = f".{op}()", f"inplace:{op}"
    elif r == 4:
        op = ctx.choice(("+=", "-=", "*=", "/="))
        other = _other(ctx, a)
        uses += _uses(other)
        target = view or a
        tag = f"inplace:{op}"
        code = f"{target} {op} {other}" if view is None else f"_w = {view}\n_w {op} {other}"
        return _maybe_no_grad(ctx, Step(code, tag + (":view" if view else ""), (), uses))
    elif r == 5:
        lo, hi = sorted(float(np.round(ctx.rng.standard_normal(), 2)) for _ in range(2))
        expr, tag = f".clamp_({lo}, {hi})", "inplace:clamp_"
    elif r == 6:
        op = ctx.choice(("addcmul_", "addcdiv_", "lerp_"))
        b = _other(ctx, a)
        c = ctx.add_input(ctx.broadcastable(tuple(t.shape)), str(t.dtype)[6:], positive=True)
        uses += _uses(b, c)
        if op == "lerp_":
            expr = f".lerp_({b}, {ctx.choice(('0.3', '0.5', c))})"
        else:
            expr = f".{op}({b}, {c}, value={ctx.scalar('fi')})"
        tag = f"inplace:{op}"
    else:                                           # setitem
        index = _index(ctx, t)
        value = ctx.scalar() if ctx.chance(0.5) else ctx.pick() or ctx.scalar()
        uses += _uses(value)
        return _maybe_no_grad(ctx, Step(f"{a}[{index}] = {value}", "setitem", (), uses))
    if view is None:
        code = f"{a}{expr}"
    elif ctx.chance(0.5):
        code = f"{view}{expr}"
    else:
        out = ctx.fresh()
        return _maybe_no_grad(ctx, Step(f"{out} = {view}\n{out}{expr}", tag + ":view",
                                        (out,), uses))
    return _maybe_no_grad(ctx, Step(code, tag + (":view" if view else ""), (), uses))


def _maybe_no_grad(ctx: Context, step: Step) -> Step:
    if ctx.chance(0.25):
        body = "\n".join("    " + line for line in step.code.splitlines())
        return Step(f"with L.no_grad():\n{body}", step.tag + ":no_grad", step.defines,
                    step.uses)
    return step


@family(7)
def cast(ctx: Context) -> Step | None:
    a = ctx.pick()
    if a is None:
        return None
    out = ctx.fresh()
    r = ctx.rng.integers(5)
    if r == 0:
        m = ctx.choice(("float", "double", "long", "int", "bool"))
        code, tag = f"{out} = {a}.{m}()", f"cast:{m}"
    elif r == 1:
        d = ctx.choice(("float32", "float64", "int64", "int32", "bool", "float16"))
        code, tag = f"{out} = {a}.to({ctx.choice(('', 'dtype='))}L.{d})", f"cast:to:{d}"
    elif r == 2:
        b = ctx.pick()
        code, tag = f"{out} = {a}.{ctx.choice(('to', 'type_as'))}({b})", "cast:like"
        return Step(code, tag, (out,), (a, b))
    elif r == 3:
        d = ctx.choice(("float32", "float64", "int64", "bool"))
        code, tag = f"{out} = {a}.type(L.{d})", f"cast:type:{d}"
    else:
        code, tag = f"{out} = {a}.{ctx.choice(('requires_grad_()', 'detach().requires_grad_()'))}", \
            "requires_grad_"
    return Step(code, tag, (out,), (a,))


@family(12)
def reduction(ctx: Context) -> Step | None:
    a = ctx.pick()
    if a is None:
        return None
    t = ctx.t(a)
    out = ctx.fresh()
    fn = ctx.choice(("sum", "mean", "var", "std", "amax", "amin", "max", "min", "argmax",
                     "argmin", "norm", "all", "any"))
    dim = ctx.dim(t, allow_none=True)
    if dim is not None and t.dim() >= 2 and ctx.chance(0.2) and fn in ("sum", "mean", "amax",
                                                                        "amin", "var", "std"):
        dim = (0, -1)
    keep = ctx.chance(0.4)
    args = []
    if dim is not None:
        args.append(f"dim={dim!r}" if ctx.chance(0.6) else repr(dim))
    if keep and (dim is not None or ctx.chance(0.2)):
        args.append("keepdim=True")
    if fn in ("var", "std") and ctx.chance(0.4):
        args.append(ctx.choice(("unbiased=False", "correction=0", "correction=1")))
    if fn == "norm" and ctx.chance(0.3):
        p = ctx.choice((1, 2, "float('inf')"))
        args.insert(0, f"p={p}")
    if fn in ("sum", "mean") and ctx.chance(0.15):   # cast first, result in that dtype
        kinds = ("float64", "float32", "float16") + (("int64", "int8") if fn == "sum" else ())
        args.append(f"dtype=L.{ctx.choice(kinds)}")
    call = ", ".join(args)
    where = ctx.rng.integers(3)
    if where == 0 and fn in ("sum", "mean", "max", "min", "argmax", "argmin", "norm", "amax",
                             "amin"):
        code = f"{out} = L.{fn}({a}{', ' + call if call else ''})"
    else:
        code = f"{out} = {a}.{fn}({call})"
    if fn in ("max", "min") and dim is not None:
        code += ctx.choice(("[0]", "[1]", ".values", ".indices", ""))
    return Step(code, f"reduce:{fn}" + (":dim" if dim is not None else ""), (out,), (a,))


@family(4)
def creation(ctx: Context) -> Step | None:
    out = ctx.fresh()
    shape = ctx.shape(ctx.choice((1, 2)))
    dims = ", ".join(map(str, shape))
    r = ctx.rng.integers(11)
    dtype = ctx.choice(("", ", dtype=L.float64", ", dtype=L.int64", ", dtype=L.bool",
                        ", dtype=L.int32", "", ""))
    if r == 10:   # a new tensor like a made one: its dtype and device unless given
        a = ctx.pick()
        if a is None:
            return None
        fn = ctx.choice(("new_zeros", "new_ones", "new_full", "new_empty", "new_tensor"))
        kwargs = dtype if ctx.chance(0.3) else ""
        code = {"new_zeros": f"{out} = {a}.new_zeros({dims}{kwargs})",
                "new_ones": f"{out} = {a}.new_ones({shape!r}{kwargs})",
                "new_full": f"{out} = {a}.new_full({shape!r}, {ctx.scalar()}{kwargs})",
                "new_empty": f"{out} = {a}.new_empty({dims}{kwargs}).fill_(1)",
                "new_tensor": f"{out} = {a}.new_tensor("
                              f"{ctx.values(shape, 'float32').tolist()!r}{kwargs})"}[fn]
        return Step(code, f"create:{fn}", (out,), (a,))
    if r == 0:
        code = f"{out} = L.{ctx.choice(('zeros', 'ones'))}({dims}{dtype})"
    elif r == 1:
        code = f"{out} = L.full({shape!r}, {ctx.scalar()}{dtype if ctx.chance(0.3) else ''})"
    elif r == 2:
        stop = int(ctx.rng.integers(1, 6))
        form = ctx.rng.integers(4)
        code = (f"{out} = L.arange({stop})", f"{out} = L.arange(0., 1., .25)",
                f"{out} = L.arange(1, {stop + 1}, 0.5)", f"{out} = L.arange({stop}{dtype})")[form]
    elif r == 3:
        code = f"{out} = L.linspace({ctx.scalar('fi')}, {ctx.scalar('fi')}, {shape[0]}{dtype})"
    elif r == 4:
        code = f"{out} = L.eye({shape[0]}{dtype})"
    elif r <= 6:
        a = ctx.pick()
        if a is None:
            return None
        fn = ctx.choice(("zeros_like", "ones_like", "full_like"))
        extra = f", {ctx.scalar()}" if fn == "full_like" else ""
        code = f"{out} = L.{fn}({a}{extra}{dtype if ctx.chance(0.3) else ''})"
        return Step(code, f"create:{fn}", (out,), (a,))
    elif r == 7:
        code = f"{out} = L.tensor({ctx.scalar()})"
    elif r == 8:
        vals = [ctx.scalar(ctx.choice(("f", "i", "b", "fi"))) for _ in range(shape[0])]
        code = f"{out} = L.tensor([{', '.join(vals)}])"
    else:
        code = f"{out} = L.as_tensor({ctx.values(shape, 'float32').tolist()!r}{dtype})"
    return Step(code, f"create:{code.split('L.')[1].split('(')[0]}", (out,), ())


@family(6)
def eighth_session_names(ctx: Context) -> Step | None:
    """cumsum, logsumexp, tril/triu, masked_fill(_), clamp_min/max, square, bmm, the
    bitwise operators and the logical functions, as methods and as functions; and
    retain_grad(), whose .grad the executor compares with every other tensor's."""
    a = ctx.pick()
    if a is None:
        return None
    t = ctx.t(a)
    out = ctx.fresh()
    d = ctx.dim(t)
    fn = ctx.choice(("cumsum", "logsumexp", "triangle", "masked_fill", "masked_fill_",
                     "clamp_min", "square", "bmm", "bitwise", "logical", "retain_grad"))
    uses: tuple[str, ...] = (a,)
    if fn == "cumsum":
        dtype = f", dtype=L.{ctx.choice(('float64', 'float32', 'int64'))}" \
            if ctx.chance(0.2) else ""
        code = ctx.choice((f"{out} = {a}.cumsum({d}{dtype})", f"{out} = L.cumsum({a}, {d}{dtype})"))
    elif fn == "logsumexp":
        keep = ctx.choice(("", ", keepdim=True", ", True"))
        dims = d if ctx.chance(0.6) or t.dim() < 2 else (0, -1)
        code = ctx.choice((f"{out} = {a}.logsumexp({dims}{keep})",
                           f"{out} = L.logsumexp({a}, {dims}{keep})"))
    elif fn == "triangle":
        name, k = ctx.choice(("tril", "triu")), int(ctx.rng.integers(-2, 3))
        code = ctx.choice((f"{out} = {a}.{name}({k})", f"{out} = L.{name}({a}, diagonal={k})",
                           f"{out} = L.{name}({a})"))
    elif fn in ("masked_fill", "masked_fill_"):
        shape = ctx.broadcastable(tuple(t.shape)) if ctx.chance(0.8) else tuple(t.shape)
        mask = ctx.add_input(shape, "bool" if ctx.chance(0.95) else "int64")
        value = ctx.scalar("fib") if ctx.chance(0.7) else ctx.add_input(
            (), str(t.dtype)[6:] if ctx.chance(0.8) else ctx.choice(FLOATS))
        uses += _uses(mask, value)
        if fn == "masked_fill":
            code = ctx.choice((f"{out} = {a}.masked_fill({mask}, {value})",
                               f"{out} = L.masked_fill({a}, {mask}, {value})"))
        else:
            return _maybe_no_grad(ctx, Step(f"{a}.masked_fill_({mask}, {value})",
                                            "inplace:masked_fill_", (), uses))
    elif fn == "clamp_min":
        name = ctx.choice(("clamp_min", "clamp_max"))
        bound = ctx.scalar("fi") if ctx.chance(0.6) else _other(ctx, a)
        uses += _uses(bound)
        code = ctx.choice((f"{out} = {a}.{name}({bound})", f"{out} = L.{name}({a}, {bound})"))
    elif fn == "square":
        code = ctx.choice((f"{out} = {a}.square()", f"{out} = L.square({a})"))
    elif fn == "bmm":
        if t.dim() != 3:
            return None
        dtype = str(t.dtype)[6:] if ctx.chance(0.9) else ctx.choice(FLOATS)
        b = ctx.add_input((t.shape[0] if ctx.chance(0.9) else 2, t.shape[2],
                           int(ctx.rng.integers(1, 4))), dtype)
        uses += (b,)
        code = ctx.choice((f"{out} = {a}.bmm({b})", f"{out} = L.bmm({a}, {b})"))
    elif fn == "bitwise":
        other = _other(ctx, a) if ctx.chance(0.6) else ctx.scalar("ib")
        uses += _uses(other)
        op = ctx.choice(("&", "|", "^"))
        name = {"&": "bitwise_and", "|": "bitwise_or", "^": "bitwise_xor"}[op]
        code = ctx.choice((f"{out} = {a} {op} {other}", f"{out} = L.{name}({a}, {other})",
                           f"{out} = {other} {op} {a}" if other[:1] != "v" else
                           f"{out} = {a}.{name}({other})"))
    elif fn == "retain_grad":   # (the executor compares every tensor's .grad after backward)
        code = f"{a}.retain_grad()\n{out} = {a}.retains_grad"
    else:
        name = ctx.choice(("logical_and", "logical_or", "logical_xor", "logical_not"))
        if name == "logical_not":
            code = ctx.choice((f"{out} = {a}.logical_not()", f"{out} = L.logical_not({a})"))
        else:
            other = _other(ctx, a)
            uses += _uses(other)
            code = ctx.choice((f"{out} = {a}.{name}({other})",
                               f"{out} = L.{name}({a}, {other})"))
    return Step(code, f"new:{fn}", (out,), uses)


@family(7)
def matmul(ctx: Context) -> Step | None:
    a = ctx.pick(lambda t: t.dim() >= 1)
    if a is None:
        return None
    t = ctx.t(a)
    k = t.shape[-1]
    nd = ctx.choice((1, 2, 2, 3))
    shape = (k,) if nd == 1 else (k, int(ctx.rng.integers(1, 4)))
    if nd == 3:
        shape = (t.shape[0] if t.dim() == 3 and ctx.chance(0.7) else 1 if ctx.chance(0.5) else 2,) + shape
    dtype = str(t.dtype)[6:] if ctx.chance(0.85) else ctx.choice(FLOATS)
    b = ctx.add_input(shape, dtype)
    if ctx.chance(0.25) and t.dim() >= 2:               # b on the left: b^T-shaped
        c = ctx.add_input(tuple(shape[:-2]) + (shape[-1], t.shape[-2]) if nd >= 2 else
                          (t.shape[-2],), dtype)
        a, b = c, a
    out = ctx.fresh()
    code = ctx.choice((f"{out} = {a} @ {b}", f"{out} = L.matmul({a}, {b})"))
    return Step(code, "matmul", (out,), (a, b))


@family(5)
def cat_stack(ctx: Context) -> Step | None:
    a = ctx.pick()
    if a is None:
        return None
    t = ctx.t(a)
    fn = ctx.choice(("cat", "stack"))
    dim = ctx.dim(t) if t.dim() else 0
    shape = list(t.shape)
    if fn == "cat" and shape:
        shape[dim] = int(ctx.rng.integers(1, 4))
    dtype = str(t.dtype)[6:] if ctx.chance(0.75) else ctx.choice(ALL_DTYPES)
    b = ctx.add_input(tuple(shape), dtype)
    names = [a, b] if ctx.chance(0.5) else [b, a]
    out = ctx.fresh()
    seq = f"[{', '.join(names)}]" if ctx.chance(0.7) else f"({', '.join(names)})"
    code = f"{out} = L.{fn}({seq}, {'dim=' if ctx.chance(0.5) else ''}{dim})"
    return Step(code, fn, (out,), (a, b))


@family(5)
def softmax(ctx: Context) -> Step | None:
    a = ctx.pick(is_float)
    if a is None:
        return None
    t = ctx.t(a)
    out = ctx.fresh()
    fn = ctx.choice(("softmax", "log_softmax"))
    d = ctx.dim(t)
    form = ctx.rng.integers(4)
    code = (f"{out} = F.{fn}({a}, dim={d})", f"{out} = L.{fn}({a}, {d})",
            f"{out} = nn.{'Softmax' if fn == 'softmax' else 'LogSoftmax'}(dim={d})({a})",
            f"{out} = {a}.{fn}({d})")[form]
    if form != 2 and ctx.chance(0.15):   # computed in another float dtype
        code = code[:-1] + f", dtype=L.{ctx.choice(('float64', 'float32', 'float16'))})"
    return Step(code, fn, (out,), (a,))


@family(7)
def loss(ctx: Context) -> Step | None:
    a = ctx.pick(is_float)
    if a is None:
        return None
    t = ctx.t(a)
    shape, dtype = tuple(t.shape), str(t.dtype)[6:]
    out = ctx.fresh()
    red = ctx.choice(("", "", ", reduction='sum'", ", reduction='none'"))
    r = ctx.rng.integers(6)
    if r == 0:
        b = ctx.add_input(shape if ctx.chance(0.8) else ctx.broadcastable(shape), dtype)
        code = ctx.choice((f"{out} = F.mse_loss({a}, {b}{red})",
                           f"{out} = nn.MSELoss({red[2:]})({a}, {b})"))
        return Step(code, "loss:mse", (out,), (a, b))
    if r == 1:
        b = ctx.add_input(shape, dtype, requires_grad=False,
                          values=np.round(ctx.rng.random(shape), 2))
        extra = ""
        if ctx.chance(0.25):
            w = ctx.add_input(ctx.broadcastable(shape), dtype, requires_grad=False, positive=True)
            extra = f", weight={w}"
        code = ctx.choice((f"{out} = F.binary_cross_entropy({a}.sigmoid(), {b}{extra}{red})",
                           f"{out} = nn.BCELoss({(extra + red)[2:]})(L.sigmoid({a}), {b})"))
        return Step(code, "loss:bce", (out,), _uses(a, b, extra[9:]))
    if r == 2:
        b = ctx.add_input(shape, dtype, requires_grad=False,
                          values=np.round(ctx.rng.random(shape), 2))
        extra = ""
        if ctx.chance(0.25) and shape:
            w = ctx.add_input((shape[-1],), dtype, requires_grad=False, positive=True)
            extra = f", pos_weight={w}"
        code = ctx.choice((f"{out} = F.binary_cross_entropy_with_logits({a}, {b}{extra}{red})",
                           f"{out} = nn.BCEWithLogitsLoss({(extra + red)[2:]})({a}, {b})"))
        return Step(code, "loss:bce_logits", (out,), _uses(a, b, extra[13:]))
    # cross entropy: logits (N, C) or (C,), class indices or probabilities
    if t.dim() not in (1, 2):
        return None
    n_classes = shape[-1]
    target_shape = shape[:-1]
    extra = ""
    if ctx.chance(0.2):
        target = ctx.add_input(shape, dtype, requires_grad=False,
                               values=np.round(ctx.rng.dirichlet(np.ones(n_classes),
                                                                 target_shape or None), 2))
    else:
        target = ctx.add_input(target_shape, ctx.choice(("int64", "int64", "int32")),
                               values=ctx.rng.integers(0, n_classes, target_shape))
    k = ctx.rng.integers(5)
    if k == 0:
        extra = f", ignore_index={int(ctx.rng.integers(0, n_classes))}"
    elif k == 1:
        extra = f", label_smoothing={ctx.choice((0.1, 0.2))}"
    elif k == 2:
        w = ctx.add_input((n_classes,), dtype, requires_grad=False, positive=True)
        extra = f", weight={w}"
    if r == 5:
        code = f"{out} = F.nll_loss(F.log_softmax({a}, dim=-1), {target}{red})"
    else:
        code = ctx.choice((f"{out} = F.cross_entropy({a}, {target}{extra}{red})",
                           f"{out} = nn.CrossEntropyLoss({(extra + red)[2:]})({a}, {target})"))
    return Step(code, "loss:nll" if r == 5 else "loss:cross_entropy", (out,),
                _uses(a, target, extra.split("=")[-1]))


def _layer_dtype(ctx: Context, t: Any) -> tuple[str, str]:
    """A float64 input needs a float64 layer: ``.double()`` mostly, ``dtype=`` sometimes."""
    if str(t.dtype) != "torch.float64":
        return "", ""
    return (", dtype=L.float64", "") if ctx.chance(0.15) else ("", ".double()")


@family(8)
def layer(ctx: Context) -> Step | None:
    """nn layers and their functional forms; a layer with parameters gets fixed values from
    ``fill(module, seed)`` and its parameters' gradients are compared too."""
    out = ctx.fresh()
    seed = int(ctx.rng.integers(1000))
    r = ctx.rng.integers(10)
    if r <= 1:
        a = ctx.pick(lambda t: t.dim() >= 1 and t.is_floating_point())
        if a is None:
            return None
        t = ctx.t(a)
        m = ctx.fresh("m")
        bias = ctx.choice(("", ", bias=False"))
        dtype, to64 = _layer_dtype(ctx, t)
        code = (f"{m} = fill(nn.Linear({t.shape[-1]}, {int(ctx.rng.integers(1, 4))}{bias}"
                f"{dtype}){to64}, {seed})\n{out} = {m}({a})")
        return Step(code, "nn.Linear", (m, out), (a,))
    if r == 2:
        a = ctx.pick(lambda t: t.is_floating_point())
        if a is None:
            return None
        mod = ctx.choice(("nn.ReLU()", "nn.ReLU(inplace=True)", "nn.LeakyReLU(0.2)",
                          "nn.LeakyReLU(0.1, True)", "nn.Sigmoid()", "nn.Tanh()",
                          "nn.Softplus()", "nn.Softplus(beta=2)", "nn.Identity()",
                          "nn.SiLU()", "nn.ELU()", "nn.ELU(0.5, True)", "nn.SiLU(inplace=True)",
                          "nn.Flatten()", "nn.Dropout(0.0)", "nn.Dropout(0.5).eval()"))
        code = ctx.choice((f"{out} = {mod}({a})", f"{out} = nn.Sequential({mod})({a})"))
        return Step(code, mod.split("(")[0], (out,), (a,))
    if r == 3:
        a = ctx.pick(lambda t: t.is_floating_point())
        if a is None:
            return None
        fn = ctx.choice(("F.relu({}, inplace=True)", "F.leaky_relu({}, 0.2, inplace=True)",
                         "F.relu({})", "{}.relu_()", "F.dropout({}, 0.0)",
                         "F.dropout({}, 0.3, training=False)"))
        return Step(f"{out} = {fn.format(a)}", fn.split("(")[0].replace("{}", ""), (out,), (a,))
    if r <= 5:
        x = ctx.pick(lambda t: t.dim() == 4 and t.is_floating_point())
        if x is None:
            x = ctx.add_input((int(ctx.rng.integers(1, 3)), int(ctx.rng.integers(1, 4)),
                               int(ctx.rng.integers(3, 6)), int(ctx.rng.integers(3, 6))),
                              ctx.choice(("float32", "float32", "float64")))
        t = ctx.t(x)
        c_in = t.shape[1]
        m = ctx.fresh("m")
        kind = ctx.choice(("Conv2d", "Conv2d", "ConvTranspose2d", "BatchNorm2d", "Upsample"))
        dtype, to64 = _layer_dtype(ctx, t)
        if kind == "Conv2d":
            extra = ctx.choice(("", ", stride=2", ", padding=1", ", bias=False",
                                ", dilation=2", ", padding='same'", ", padding_mode='reflect', padding=1",
                                ", groups=" + str(c_in)))
            ctor = f"nn.Conv2d({c_in}, {int(ctx.rng.integers(1, 4))}, {ctx.choice((1, 2, 3))}{extra}{dtype})"
        elif kind == "ConvTranspose2d":
            extra = ctx.choice(("", ", stride=2", ", padding=1", ", bias=False",
                                ", stride=2, output_padding=1"))
            ctor = f"nn.ConvTranspose2d({c_in}, {int(ctx.rng.integers(1, 4))}, {ctx.choice((1, 2, 3))}{extra}{dtype})"
        elif kind == "BatchNorm2d":
            ctor = f"nn.BatchNorm2d({c_in}{dtype})"
        else:
            mode = ctx.choice(("", ", mode='nearest'", ", mode='bilinear'",
                               ", mode='bilinear', align_corners=True"))
            return Step(f"{out} = nn.Upsample(scale_factor=2{mode})({x})", "nn.Upsample",
                        (out,), (x,))
        code = f"{m} = fill({ctor}{to64}, {seed})\n{out} = {m}({x})"
        return Step(code, f"nn.{kind}", (m, out), (x,))
    if r == 6:
        a = ctx.pick(lambda t: t.dim() in (2, 3) and t.is_floating_point() and t.shape[0] > 1)
        if a is None:
            return None
        t = ctx.t(a)
        m = ctx.fresh("m")
        dtype, to64 = _layer_dtype(ctx, t)
        code = f"{m} = fill(nn.BatchNorm1d({t.shape[1]}{dtype}){to64}, {seed})\n{out} = {m}({a})"
        return Step(code, "nn.BatchNorm1d", (m, out), (a,))
    if r == 7:
        idx = ctx.pick(lambda t: str(t.dtype) == "torch.int64")
        if idx is None:
            idx = ctx.add_input(ctx.shape(ctx.choice((1, 2))), "int64")
        m = ctx.fresh("m")
        code = f"{m} = fill(nn.Embedding(5, {int(ctx.rng.integers(1, 4))}), {seed})\n{out} = {m}({idx})"
        return Step(code, "nn.Embedding", (m, out), (idx,))
    if r == 8:
        a = ctx.pick(lambda t: str(t.dtype) == "torch.int64")
        if a is None:
            return None
        code = ctx.choice((f"{out} = F.one_hot({a}, 5)", f"{out} = F.one_hot({a})"))
        return Step(code, "F.one_hot", (out,), (a,))
    a = ctx.pick(lambda t: t.dim() >= 1 and t.is_floating_point())
    if a is None:
        return None
    t = ctx.t(a)
    w = ctx.add_input((int(ctx.rng.integers(1, 4)), t.shape[-1]), str(t.dtype)[6:])
    if ctx.chance(0.5):
        b = ctx.add_input((ctx.t(w).shape[0],), str(t.dtype)[6:])
        return Step(f"{out} = F.linear({a}, {w}, {b})", "F.linear", (out,), (a, w, b))
    return Step(f"{out} = F.linear({a}, {w})", "F.linear", (out,), (a, w))


@family(5)
def pieces_and_padding(ctx: Context) -> Step | None:
    """split / chunk / unbind / narrow (views; the pieces of one call may not be written in
    place under autograd), repeat, expand_as, contiguous, F.pad and the padding layers,
    InstanceNorm and the functional batch_norm / instance_norm."""
    a = ctx.pick(lambda t: t.dim() >= 1)
    if a is None:
        return None
    t = ctx.t(a)
    out = ctx.fresh()
    d = ctx.dim(t)
    n = t.shape[d]
    r = int(ctx.rng.integers(12))
    if r <= 2:
        how = ctx.choice(("split", "split_sizes", "chunk", "unbind", "L.split", "L.chunk",
                          "L.unbind"))
        if how.endswith("split"):
            arg = str(int(ctx.rng.integers(1, n + 2)))
        elif how == "split_sizes":
            k = int(ctx.rng.integers(0, n + 1))
            arg = repr([k, n - k] if ctx.chance(0.85) else [k, n - k + 1])
        elif how.endswith("chunk"):
            arg = str(int(ctx.rng.integers(1, n + 2)))
        else:
            arg = None
        method = how.split(".")[-1].replace("split_sizes", "split")
        args = f"{arg}, {d}" if arg is not None else f"{d}"
        call = f"L.{method}({a}, {args})" if how.startswith("L.") else f"{a}.{method}({args})"
        try:
            count = len(eval(call, ctx.ns))
        except Exception:  # noqa: BLE001 - PyTorch refuses: keep the call, it may raise
            count = 0
        if 1 <= count <= 3 and ctx.chance(0.7):
            names = [out] + [ctx.fresh() for _ in range(count - 1)]
            return Step(f"{', '.join(names)}{',' if count == 1 else ''} = {call}",
                        f"pieces:{method}", tuple(names), (a,))
        return Step(f"{out} = {call}[{int(ctx.rng.integers(0, max(count, 1)))}]",
                    f"pieces:{method}", (out,), (a,))
    if r == 3:
        start = int(ctx.rng.integers(-n, n + 1))
        length = int(ctx.rng.integers(0, n + 1))
        code = ctx.choice((f"{out} = {a}.narrow({d}, {start}, {length})",
                           f"{out} = L.narrow({a}, {d}, {start}, {length})"))
        return Step(code, "narrow", (out,), (a,))
    if r == 4:
        reps = [int(ctx.rng.integers(0 if ctx.chance(0.1) else 1, 3))
                for _ in range(t.dim() + int(ctx.rng.integers(0, 2)))]
        return Step(f"{out} = {a}.repeat({', '.join(map(str, reps))})", "repeat", (out,), (a,))
    if r == 5:
        b = ctx.pick()
        if b is None:
            return None
        return Step(f"{out} = {a}.expand_as({b})", "expand_as", (out,), (a, b))
    if r == 6:
        code = ctx.choice((f"{out} = {a}.contiguous()",
                           f"{out} = {a}.transpose(0, -1).contiguous().view(-1)",
                           f"{out} = {a}.is_contiguous()"))
        return Step(code, "contiguous", (out,), (a,))
    if r == 7:
        mode = ctx.choice(("'constant'", "'reflect'", "'replicate'", "'circular'"))
        k = int(ctx.choice((1, 1, 2, 2, 3)))
        pads = [int(ctx.rng.integers(-1, 3)) for _ in range(2 * min(k, t.dim()))]
        value = ctx.choice(("", "", ", value=1.5")) if mode == "'constant'" else ""
        return Step(f"{out} = F.pad({a}, {tuple(pads)!r}, mode={mode}{value})",
                    f"F.pad:{mode.strip(chr(39))}", (out,), (a,))
    if r == 8:
        kind = ctx.choice(("ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d", "ConstantPad2d",
                           "CircularPad2d", "ReflectionPad1d", "ZeroPad1d"))
        pad = ctx.choice(("1", "2", "(1, 0, 2, 1)", "(0, 1)")) if kind.endswith("2d") \
            else ctx.choice(("1", "2", "(0, 1)"))
        extra = ", 0.5" if kind.startswith("Constant") else ""
        return Step(f"{out} = nn.{kind}({pad}{extra})({a})", f"nn.{kind}", (out,), (a,))
    if r <= 10:
        x = ctx.pick(lambda t: t.dim() in (3, 4) and t.is_floating_point())
        if x is None:
            x = ctx.add_input((int(ctx.rng.integers(1, 3)), int(ctx.rng.integers(1, 4)),
                               int(ctx.rng.integers(1, 4)), int(ctx.rng.integers(1, 4))),
                              ctx.choice(("float32", "float32", "float64")))
        tx = ctx.t(x)
        c = tx.shape[1] if tx.dim() == 4 else tx.shape[0]
        if r == 10 and tx.dim() == 4:
            fn = ctx.choice((f"F.instance_norm({x})",
                             f"F.batch_norm({x}, None, None, training=True)",
                             f"F.batch_norm({x}, L.zeros({c}, dtype={x}.dtype), "
                             f"L.ones({c}, dtype={x}.dtype), training=True, momentum=0.5)"))
            return Step(f"{out} = {fn}", fn.split("(")[0], (out,), (x,))
        m = ctx.fresh("m")
        dtype, to64 = _layer_dtype(ctx, tx)
        options = ctx.choice(("", ", affine=True", ", track_running_stats=True",
                              ", affine=True, track_running_stats=True", ", affine=True, bias=False"))
        seed = int(ctx.rng.integers(1000))
        code = f"{m} = fill(nn.InstanceNorm2d({c}{options}{dtype}){to64}, {seed})\n{out} = {m}({x})"
        if ctx.chance(0.2):
            code += f"\n{m}.eval()"
        return Step(code, "nn.InstanceNorm2d", (m, out), (x,))
    if ctx.chance(0.5) and t.is_floating_point():
        r = ctx.choice((1, 2))
        if ctx.chance(0.5):
            return Step(f"{out} = F.pixel_shuffle({a}, {r})", "F.pixel_shuffle", (out,), (a,))
        return Step(f"{out} = nn.PixelUnshuffle({r})({a})", "nn.PixelUnshuffle", (out,), (a,))
    if t.is_floating_point():
        m = ctx.fresh("m")
        channels = t.shape[1] if t.dim() >= 2 else 1
        dtype, to64 = _layer_dtype(ctx, t)
        size = ctx.choice((1, channels))
        code = (f"{m} = fill(nn.PReLU({size}{dtype}){to64}, {int(ctx.rng.integers(1000))})\n"
                f"{out} = {m}({a})")
        return Step(code, "nn.PReLU", (m, out), (a,))
    fn = ctx.choice(("L.narrow({}, {}, 0, 1)", "{}.split(1, {})[0]"))
    return Step(f"{out} = {fn.format(a, d)}", "pieces:short", (out,), (a,))


@family(6)
def misc(ctx: Context) -> Step | None:
    """The rest of the API: Python values out of tensors, grad-mode switches, legacy types,
    from_numpy, the two-tensor max/min, functional forms of layers."""
    a = ctx.pick()
    if a is None:
        return None
    t = ctx.t(a)
    out = ctx.fresh()
    r = ctx.rng.integers(16)
    if r in (8, 11) and t.dim() != 4:
        a = ctx.add_input((int(ctx.rng.integers(1, 3)), int(ctx.rng.integers(1, 4)),
                           int(ctx.rng.integers(2, 5)), int(ctx.rng.integers(2, 5))),
                          ctx.choice(FLOATS))
        t = ctx.t(a)
    if r == 0:
        expr = ctx.choice(("{}.item()", "{}.tolist()", "{}.size()", "{}.dim()", "{}.numel()",
                           "L.numel({})", "{}.is_floating_point()", "L.is_tensor({})",
                           "len({})", "{}.size(-1)", "{}.element_size()", "{}.ndim",
                           "tuple({}.shape)", "{}.any().item()", "float({}.sum())",
                           "{}.detach().numpy()", "{}.cpu()", "{}.is_leaf", "{}.grad_fn is None",
                           "{}.dtype == L.float32", "L.is_grad_enabled()"))
        return Step(f"{out} = {expr.format(a)}", "python:" + expr.split(".")[-1].split("(")[0]
                    .replace("{}", "").strip("({)") or "python", (out,), (a,))
    if r == 1:
        inner = ctx.choice(("{} * 2", "{}.exp()", "{}.sum()", "{}[0]", "L.relu({})"))
        mode = ctx.choice(("L.no_grad()", "L.enable_grad()", "L.set_grad_enabled(False)",
                           "L.set_grad_enabled(True)"))
        code = f"with {mode}:\n    {out} = {inner.format(a)}"
        if ctx.chance(0.3):
            code = f"with L.no_grad():\n    with L.enable_grad():\n        {out} = {inner.format(a)}"
        return Step(code, "grad_mode", (out,), (a,))
    if r == 2:
        legacy = ctx.choice(("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                             "BoolTensor", "ByteTensor", "CharTensor", "ShortTensor",
                             "HalfTensor"))
        vals = ctx.values((int(ctx.rng.integers(1, 4)),), "float32").tolist()
        return Step(f"{out} = L.{legacy}({vals!r})", f"legacy:{legacy}", (out,), ())
    if r == 3:
        dtype = ctx.choice(("float32", "float64", "int64", "int32", "bool"))
        vals = ctx.values(ctx.shape(ctx.choice((1, 2))), dtype)
        return Step(f"{out} = L.from_numpy(np.array({vals.tolist()!r}, dtype=np.{dtype}))",
                    "from_numpy", (out,), ())
    if r == 4:
        b = _other(ctx, a)
        fn = ctx.choice(("max", "min"))
        return Step(f"{out} = L.{fn}({a}, {b})", f"L.{fn}:binary", (out,), _uses(a, b))
    if r == 5:
        dims = ", ".join(map(str, ctx.shape(ctx.choice((1, 2)))))
        fill = ctx.choice(("fill_(1.5)", "zero_()", "fill_(2)"))
        dtype = ctx.choice(("", ", dtype=L.int64", ", dtype=L.float64"))
        return Step(f"{out} = L.empty({dims}{dtype}).{fill}", "create:empty", (out,), ())
    if r == 6:
        return Step(f"{out} = {a}.data" if ctx.chance(0.5) else f"{out} = {a}.view_as({a})",
                    "data/view_as", (out,), (a,))
    if r == 7:
        return Step(f"{out} = L.squeeze({a})" if ctx.chance(0.5) else
                    f"{out} = L.squeeze({a}, {ctx.dim(t)})", "L.squeeze", (out,), (a,))
    if r == 8 and t.dim() == 4 and t.is_floating_point():
        w = ctx.add_input((int(ctx.rng.integers(1, 3)), t.shape[1], 2, 2), str(t.dtype)[6:])
        fn = ctx.choice(("conv2d", "conv_transpose2d"))
        if fn == "conv_transpose2d":
            w = ctx.add_input((t.shape[1], int(ctx.rng.integers(1, 3)), 2, 2), str(t.dtype)[6:])
        extra = ctx.choice(("", ", stride=2", ", padding=1"))
        return Step(f"{out} = F.{fn}({a}, {w}{extra})", f"F.{fn}", (out,), (a, w))
    if r == 8 and t.dim() == 4:
        return Step(f"{out} = F.interpolate({a}, scale_factor=2)", "F.interpolate", (out,), (a,))
    if r == 9:
        shape = ctx.shape(ctx.choice((1, 2)))
        idx = ctx.add_input(shape, "int64", values=ctx.rng.integers(0, 4, shape))
        w = ctx.add_input((4, int(ctx.rng.integers(1, 4))), ctx.choice(FLOATS))
        return Step(f"{out} = F.embedding({idx}, {w})", "F.embedding", (out,), (idx, w))
    if r == 10 and t.dim() >= 2:
        n = t.shape[1]
        split = (1, n) if ctx.chance(0.5) else (n, 1)
        form = ctx.choice(("layer", "method", "function"))
        if form == "method":   # (a -1 for the size worked out from the rest)
            split = (-1,) + split[1:] if ctx.chance(0.3) else split
            return Step(f"{out} = {a}.unflatten(1, {split!r})", "unflatten", (out,), (a,))
        if form == "function":
            return Step(f"{out} = L.unflatten({a}, -{t.dim() - 1}, {split!r})", "unflatten",
                        (out,), (a,))
        return Step(f"{out} = nn.Unflatten(1, {split!r})({a})", "nn.Unflatten", (out,), (a,))
    if r == 11 and t.dim() == 4:
        mod = ctx.choice(("nn.UpsamplingNearest2d(scale_factor=2)",
                          "nn.UpsamplingBilinear2d(scale_factor=2)", "nn.Dropout2d(0.0)",
                          "F.dropout2d({}, 0.0)", "F.interpolate({}, scale_factor=2)",
                          "F.interpolate({}, size=(3, 5), mode='bilinear')"))
        code = f"{out} = {mod.format(a)}" if "{}" in mod else f"{out} = {mod}({a})"
        return Step(code, mod.split("(")[0], (out,), (a,))
    if r == 12:
        # random creation: the values differ by design, so compare dtype/shape/requires_grad
        # through a product with zero
        fn = ctx.choice(("L.randn({})", "L.rand({})", "L.randint(0, 5, ({},))",
                         "L.randperm(3)", "L.randn_like({v})", "L.rand_like({v})",
                         "L.randn({}, dtype=L.float64)", "L.empty_like({v}).fill_(1)"))
        n = int(ctx.rng.integers(1, 4))
        expr = fn.format(n, v=a) if "{v}" in fn else fn.format(n)
        # "* 0 + 0": the values differ by design (two generators) and so would the signs of
        # their zeros (-0.0 for a negative draw); + 0 makes every zero +0.0
        tail = "" if "fill_" in expr else " * 0 + 0"
        return Step(f"{out} = {expr}{tail}", "random:" + fn.split("(")[0][2:], (out,),
                    (a,) if "{v}" in fn else ())
    if r == 13:
        dtype = ctx.choice(("double", "float", "long", "int", "half", "short", "int8",
                            "int16", "uint8", "float16", "bool"))
        form = ctx.rng.integers(4)
        code = (f"{out} = {a}.to(L.{dtype})", f"{out} = L.zeros(2, dtype=L.{dtype})",
                f"{out} = L.tensor([1, 0], dtype=L.{dtype})",
                f"{out} = {a}.{ctx.choice(('byte', 'char', 'short', 'half'))}()")[form]
        return Step(code, f"dtype-name:{dtype}", (out,), (a,) if form in (0, 3) else ())
    if r == 14:
        vals = ctx.values(ctx.shape(ctx.choice((1, 2))), "float32").tolist()
        form = ctx.rng.integers(4)
        width = len(vals) if isinstance(vals[0], float) else len(vals[0])
        code = (f"{out} = nn.Parameter(L.tensor({vals!r}))",
                f"{out} = nn.Parameter(L.tensor({vals!r}), requires_grad=False)",
                f"{out} = nn.ModuleList([nn.Linear({width}, 2)])[0].weight.shape",
                f"{out} = [n for n, _ in nn.ModuleDict({{'b': nn.Linear({width}, 2), "
                f"'a': nn.Tanh()}}).named_parameters()]")[form]
        return Step(code, ("nn.Parameter", "nn.Parameter", "nn.ModuleList", "nn.ModuleDict")[form],
                    (out,), ())
    if r == 15:
        lo, hi = sorted(float(np.round(ctx.rng.standard_normal(), 2)) for _ in range(2))
        return _maybe_no_grad(ctx, Step(f"{a}.clip_({lo}, {hi})", "inplace:clip_", (), (a,)))
    return None


@family(6)
def rest(ctx: Context) -> Step | None:
    """Names the other families leave out, so that the programs reach every name tinygan
    claims (tests/test_differential.py checks it): comparisons as functions and methods,
    remainder / floor_divide / bitwise_not, log1p, mm, lerp, sort, topk,
    split_with_sizes, pooling, l1 and nll losses, logsigmoid, functional prelu, pixel
    unshuffle, upsample, InstanceNorm1d, the 1-D and 3-D padding layers, LSTM."""
    a = ctx.pick()
    if a is None:
        return None
    t = ctx.t(a)
    out = ctx.fresh()
    r = int(ctx.rng.integers(16))
    if r == 0:
        b = _other(ctx, a)
        op = ctx.choice(("eq", "ne", "lt", "le", "gt", "ge"))
        code = ctx.choice((f"{out} = L.{op}({a}, {b})", f"{out} = {a}.{op}({b})"))
        return Step(code, f"compare:{op}", (out,), _uses(a, b))
    if r == 1:
        b = _other(ctx, a)
        form = ctx.choice(("L.remainder({}, {})", "{}.remainder({})", "{} % {}",
                           "L.floor_divide({}, {})", "{}.floor_divide({})", "{} // {}"))
        return Step(f"{out} = {form.format(a, b)}", "remainder/floor_divide", (out,),
                    _uses(a, b))
    if r == 2:
        form = ctx.choice(("L.bitwise_not({})", "{}.bitwise_not()", "~{}", "L.log1p({})",
                           "{}.log1p()"))
        return Step(f"{out} = {form.format(a)}", form.split("(")[0].strip("{}.~") or "~",
                    (out,), (a,))
    if r == 3:
        x = a if t.dim() == 2 else ctx.add_input(ctx.shape(2), ctx.choice(FLOATS))
        k = ctx.t(x).shape[1]
        y = ctx.add_input((k, int(ctx.rng.integers(1, 4))), str(ctx.t(x).dtype)[6:])
        code = ctx.choice((f"{out} = L.mm({x}, {y})", f"{out} = {x}.mm({y})"))
        return Step(code, "mm", (out,), (x, y))
    if r == 4 and t.is_floating_point():
        end = ctx.add_input(ctx.broadcastable(tuple(t.shape)), str(t.dtype)[6:])
        weight = ctx.scalar("f") if ctx.chance(0.5) else ctx.add_input(
            ctx.broadcastable(tuple(t.shape)), str(t.dtype)[6:])
        form = ctx.choice(("L.lerp({}, {}, {})", "{}.lerp({}, {})"))
        if ctx.chance(0.3):
            return _maybe_no_grad(ctx, Step(f"{a}.lerp_({end}, {weight})", "inplace:lerp_",
                                            (), _uses(a, end, weight)))
        return Step(f"{out} = {form.format(a, end, weight)}", "lerp", (out,),
                    _uses(a, end, weight))
    if r == 5:
        d = ctx.dim(t)
        desc = ctx.choice(("", ", descending=True"))
        stable = ctx.choice(("", "", ", stable=True", ", stable=False"))
        idx = ctx.fresh()
        form = ctx.choice((f"{out}, {idx} = L.sort({a}, {d}{desc}{stable})",
                           f"{out}, {idx} = {a}.sort(dim={d}{desc}{stable})",
                           f"{out} = L.sort({a}{desc}{stable}).values"))
        return Step(form, "sort", (out, idx) if idx in form else (out,), (a,))
    if r == 6 and t.dim() >= 1:
        d = ctx.dim(t)
        k = int(ctx.rng.integers(0, t.shape[d] + 1))
        largest = ctx.choice(("", ", largest=False"))
        idx = ctx.fresh()
        form = ctx.choice((f"{out}, {idx} = L.topk({a}, {k}, {d}{largest})",
                           f"{out}, {idx} = {a}.topk({k}, dim={d}{largest})",
                           f"{out} = L.topk({a}, {k}).indices"))
        return Step(form, "topk", (out, idx) if idx in form else (out,), (a,))
    if r == 7 and t.dim() >= 1:
        d = ctx.dim(t)
        n = t.shape[d]
        cut = int(ctx.rng.integers(0, n + 1))
        sizes = [cut, n - cut] if ctx.chance(0.85) else [cut, n - cut + 1]
        first = ctx.choice(("L.split_with_sizes({}, {}, {})[0]", "{}.split_with_sizes({}, {})[-1]"))
        return Step(f"{out} = {first.format(a, sizes, d)}", "split_with_sizes", (out,), (a,))
    if r <= 9:
        x = a if t.dim() in (3, 4) and t.is_floating_point() else ctx.add_input(
            (int(ctx.rng.integers(1, 3)), int(ctx.rng.integers(1, 3)),
             int(ctx.rng.integers(2, 6)), int(ctx.rng.integers(2, 6))), ctx.choice(FLOATS))
        k, s = int(ctx.rng.integers(1, 4)), ctx.choice(("", ", 1", ", 2"))
        p = ctx.choice(("", "", ", padding=1")) if s else ""
        form = ctx.choice((f"F.max_pool2d({x}, {k}{s}{p})", f"F.avg_pool2d({x}, {k}{s}{p})",
                           f"nn.MaxPool2d({k}{s}{p})({x})", f"nn.AvgPool2d({k}{s}{p})({x})",
                           f"F.adaptive_avg_pool2d({x}, {k})",
                           f"nn.AdaptiveAvgPool2d(({k}, 1))({x})",
                           f"F.avg_pool2d({x}, {k}, count_include_pad=False{p})",
                           f"F.max_pool2d({x}, {k}, ceil_mode=True)"))
        return Step(f"{out} = {form}", "pool:" + form.split("(")[0], (out,), (x,))
    if r == 10 and t.is_floating_point():
        target = ctx.add_input(ctx.broadcastable(tuple(t.shape)), str(t.dtype)[6:])
        red = ctx.choice(("", ", reduction='sum'", ", reduction='none'"))
        code = ctx.choice((f"{out} = F.l1_loss({a}, {target}{red})",
                           f"{out} = nn.L1Loss({red.strip(', ')})({a}, {target})"))
        return Step(code, "l1_loss", (out,), (a, target))
    if r == 11:
        x = a if t.dim() in (1, 2) and t.is_floating_point() else ctx.add_input(
            (int(ctx.rng.integers(1, 4)), int(ctx.rng.integers(2, 5))), ctx.choice(FLOATS))
        tx = ctx.t(x)
        c = tx.shape[-1] if tx.dim() == 1 else tx.shape[1]
        rows = () if tx.dim() == 1 else (tx.shape[0],)
        labels = ctx.add_input(rows, "int64", values=ctx.rng.integers(-1, c + 1 if
                                                                      ctx.chance(0.1) else c, rows))
        weight = "" if ctx.chance(0.6) else f", weight={ctx.add_input((c,), str(tx.dtype)[6:], requires_grad=False, positive=True)}"
        extra = ctx.choice(("", ", ignore_index=-1", ", reduction='sum'", ", reduction='none'"))
        code = ctx.choice((f"{out} = F.nll_loss({x}, {labels}{weight}{extra})",
                           f"{out} = F.nll_loss(F.log_softmax({x}, -1), {labels}{weight}{extra})",
                           f"{out} = nn.NLLLoss({(weight + extra).strip(', ')})({x}, {labels})"))
        return Step(code, "nll_loss", (out,), _uses(x, labels, *weight.split("=")[1:]))
    if r == 12 and t.is_floating_point():
        if ctx.chance(0.5) or t.dim() < 1:
            return Step(f"{out} = F.logsigmoid({a})", "F.logsigmoid", (out,), (a,))
        c = t.shape[1] if t.dim() >= 2 else 1
        w = ctx.add_input((ctx.choice((1, c)),), str(t.dtype)[6:])
        return Step(f"{out} = F.prelu({a}, {w})", "F.prelu", (out,), (a, w))
    if r == 13 and t.dim() in (3, 4) and t.is_floating_point():
        form = ctx.choice((f"F.pixel_unshuffle({a}, {ctx.choice((1, 2))})",
                           f"nn.PixelShuffle({ctx.choice((1, 2))})({a})",
                           f"F.upsample({a}, scale_factor=2)",
                           f"F.upsample({a}, scale_factor=2, mode='bilinear')"))
        return Step(f"{out} = {form}", form.split("(")[0], (out,), (a,))
    if r == 14 and t.is_floating_point() and t.dim() in (2, 3):
        m = ctx.fresh("m")
        c = t.shape[0] if t.dim() == 2 else t.shape[1]
        dtype, to64 = _layer_dtype(ctx, t)
        options = ctx.choice(("", ", affine=True", ", track_running_stats=True"))
        code = (f"{m} = fill(nn.InstanceNorm1d({c}{options}{dtype}){to64}, "
                f"{int(ctx.rng.integers(1000))})\n{out} = {m}({a})")
        return Step(code, "nn.InstanceNorm1d", (m, out), (a,))
    if r == 14 or r == 15 and not t.is_floating_point():
        kind = ctx.choice(("ReplicationPad1d", "ConstantPad1d", "CircularPad1d", "ZeroPad3d",
                           "ReflectionPad3d", "ReplicationPad3d", "ConstantPad3d",
                           "CircularPad3d"))
        pad = ctx.choice(("1", "(0, 1)")) if kind.endswith("1d") else \
            ctx.choice(("1", "(1, 0, 0, 1, 1, 0)"))
        extra = ", 0.5" if kind.startswith("Constant") else ""
        return Step(f"{out} = nn.{kind}({pad}{extra})({a})", f"nn.{kind}", (out,), (a,))
    if not t.is_floating_point():
        return None
    # LSTM / LSTMCell on a small sequence
    m = ctx.fresh("m")
    dtype, to64 = _layer_dtype(ctx, t)
    n_in, hidden = int(ctx.rng.integers(1, 4)), int(ctx.rng.integers(1, 3))
    x = ctx.add_input((int(ctx.rng.integers(1, 3)), int(ctx.rng.integers(1, 3)), n_in),
                      str(t.dtype)[6:])
    seed = int(ctx.rng.integers(1000))
    if ctx.chance(0.5):
        bf = ctx.choice(("", ", batch_first=True"))
        code = (f"{m} = fill(nn.LSTM({n_in}, {hidden}{bf}{dtype}){to64}, {seed})\n"
                f"{out} = {m}({x})[0]")
        return Step(code, "nn.LSTM", (m, out), (x,))
    code = (f"{m} = fill(nn.LSTMCell({n_in}, {hidden}{dtype}){to64}, {seed})\n"
            f"{out} = {m}({x}[0])[1]")
    return Step(code, "nn.LSTMCell", (m, out), (x,))


# ---------------------------------------------------------------------------------------
# A whole program
# ---------------------------------------------------------------------------------------
def _pick_family(ctx: Context) -> Callable[[Context], Step | None]:
    w = np.array([w for w, _ in FAMILIES])
    return FAMILIES[int(ctx.rng.choice(len(FAMILIES), p=w / w.sum()))][1]


def generate(seed: int) -> Program:
    """The program for ``seed`` (the same seed always gives the same program)."""
    ctx = Context(seed)
    for _ in range(int(ctx.rng.integers(1, 3))):
        dtype = ctx.choice(("float32", "float32", "float32", "float64", "int64", "bool"))
        ctx.add_input(ctx.shape(), dtype)
    target = int(ctx.rng.integers(3, 9))
    made, tries = 0, 0
    while made < target and tries < 60 and not ctx.ended:
        tries += 1
        try:
            step = _pick_family(ctx)(ctx)
        except (ValueError, IndexError, ZeroDivisionError):
            step = None      # a family met a shape it cannot build on (an empty tensor, ...)
        if step is not None and ctx.propose(step):
            made += 1
    if not ctx.ended:
        _finish(ctx)
    return ctx.program


def _finish(ctx: Context) -> None:
    """A loss and its backward pass: ``backward()`` for two thirds of the programs, else
    first derivatives with create_graph=True and the gradient of their squared norm."""
    import torch
    live = [n for n in ctx.tensor_names(lambda t: t.requires_grad and t.is_floating_point())]
    if not live:
        return
    source = live[-1] if ctx.chance(0.7) else ctx.choice(live)
    t = ctx.t(source)
    if t.numel() == 1 and ctx.chance(0.5):
        loss_code = f"loss = {source}.sum()"
        uses: tuple[str, ...] = (source,)
    else:
        w = ctx.add_input(tuple(t.shape), str(t.dtype)[6:], requires_grad=False)
        loss_code = f"loss = ({source} * {w}).sum()"
        uses = (source, w)
    if not ctx.propose(Step(loss_code, "loss", ("loss",), uses)) or ctx.ended:
        return
    leaves = []
    for k, v in list(ctx.ns.items()):
        if k[:1] == "v" and k[1:].isdigit() and isinstance(v, torch.Tensor) and _readable(v) \
                and v.is_leaf and v.requires_grad:
            leaves.append(k)
        elif k[:1] == "m" and k[1:].isdigit() and isinstance(v, torch.nn.Module):
            leaves += [f"{k}.{n}" for n, p in v.named_parameters() if p.requires_grad]
    if not ctx.chance(1 / 3) or not leaves:
        ctx.propose(Step("loss.backward()", "backward", (), ("loss",)))
        return
    names = f"[{', '.join(leaves)}]"
    roots = tuple(sorted({x.split('.')[0] for x in leaves}))
    code = (f"gs = L.autograd.grad(loss, {names}, create_graph=True, allow_unused=True)\n"
            f"gp = sum((g * g).sum() for g in gs if g is not None)")
    if not ctx.propose(Step(code, "grad", ("gs", "gp"), ("loss",) + roots)) or ctx.ended:
        return
    gp = ctx.ns.get("gp")
    if isinstance(gp, torch.Tensor) and gp.requires_grad:
        ctx.propose(Step(f"hs = L.autograd.grad(gp, {names}, allow_unused=True)", "grad2",
                         ("hs",), ("gp",) + roots))

