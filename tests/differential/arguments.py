"""A second generator: one call at a time, its arguments drawn from each name's signature.

The program generator (generate.py) writes each operation in the few forms a PyTorch user
writes most. This one asks another question: for every public name (tinygan's functions
and the Tensor methods), called with arguments drawn from the parameters its signature
lists (dims in and out of range, tuples of dims, keepdim, dtypes, numbers where tensors go,
tensors of every dtype and of shapes that do and do not broadcast, keywords or positions),
does tinygan answer exactly where PyTorch answers, with the same type, dtype, shape, values,
requires_grad and gradient, and raise exactly where PyTorch raises?

    python -m tests.differential.arguments --n 5000 --seed 0

prints each disagreement as a runnable line. tests/test_differential.py runs a budget.
"""
from __future__ import annotations

import argparse
import inspect
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

# names whose calls are not comparable value by value: random draws, process-wide state,
# I/O, and the ones that need a callable or a module rather than tensors
SKIPPED = {"manual_seed", "seed", "initial_seed", "set_default_dtype", "get_default_dtype",
           "rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "randperm",
           "normal", "bernoulli", "multinomial", "save", "load", "set_grad_enabled",
           "no_grad", "enable_grad", "is_grad_enabled", "Generator", "Tensor", "Parameter",
           "tensor", "as_tensor", "from_numpy", "device", "dtype", "Size", "cuda",
           "backward", "register_hook", "retain_grad", "share_memory_", "numpy", "cpu",
           "tolist", "item", "data_ptr", "uniform_", "normal_", "random_", "exponential_",
           "bernoulli_", "cauchy_", "geometric_", "log_normal_", "apply_", "map_",
           "pin_memory", "storage", "untyped_storage", "grad", "manual_seed_all",
           "set_printoptions", "is_shared", "share_tensor_", "empty", "empty_like",
           "new_empty", "get_rng_state", "set_rng_state", "default_generator",
           "GradcheckError", "gradcheck", "gradgradcheck", "autograd", "nn", "optim",
           "utils", "dropout", "multiprocessing", "use_deterministic_algorithms"}

# random draws: their values differ between the two generators; shape, dtype and the
# errors are still compared
RANDOM = {"F.dropout", "F.dropout2d", "Tensor.dropout"}

SHAPES = [(), (3,), (2, 3), (3, 1), (2, 1, 3), (1, 3), (0,), (2, 0)]
DTYPES = ["float32", "float64", "int64", "int32", "bool", "float16", "uint8"]


@dataclass
class Value:
    """A drawn argument: a tensor (values, dtype, requires_grad), a Python value, a dtype
    name, or a tuple of them; ``text`` is how it prints in a reproduction."""
    kind: str
    data: Any
    text: str


def _tensor(rng: np.random.Generator, shape: tuple | None = None,
            dtype: str | None = None) -> Value:
    shape = SHAPES[rng.integers(len(SHAPES))] if shape is None else shape
    dtype = DTYPES[rng.integers(len(DTYPES))] if dtype is None else dtype
    if dtype == "bool":
        values = rng.random(shape) < 0.5
    elif dtype in ("int64", "int32"):
        values = rng.integers(-3, 4, shape)
    elif dtype == "uint8":
        values = rng.integers(0, 5, shape)
    else:
        values = np.round(rng.normal(0, 1.5, shape), 2)
        if values.size and rng.random() < 0.1:
            values.flat[rng.integers(values.size)] = rng.choice([0.0, -0.0, np.inf, np.nan])
    grad = dtype.startswith("float") and rng.random() < 0.5
    literal = repr(values.tolist()).replace("inf", "float('inf')").replace("nan", "float('nan')")
    return Value("tensor", (values, dtype, grad),
                 f"L.tensor({literal}, dtype=L.{dtype}{', requires_grad=True' if grad else ''})")


def _number(rng: np.random.Generator) -> Value:
    v = [0, 1, 2, -1, 3, 0.5, -1.5, 2.0, True, False, 1e-3][rng.integers(11)]
    return Value("py", v, repr(v))


def _dim(rng: np.random.Generator) -> Value:
    r = rng.random()
    if r < 0.7:
        d = int(rng.integers(-3, 3))
        return Value("py", d, repr(d))
    if r < 0.85:
        d = tuple(int(v) for v in rng.integers(-2, 2, int(rng.integers(0, 3))))
        return Value("py", d, repr(d))
    return Value("py", None, "None")


# how often a parameter gets a value of another kind than its own: None, a string, a 0-d
# or one-element tensor, a float, an int, a bool, a list (PyTorch's parser refuses most of
# them: keepdim=1, dim=1.0, dtype='float64', other=[1.0]; and takes some NumPy would not:
# dim=torch.tensor(1))
WRONG_KIND = 0.1


def _wrong_kind(rng: np.random.Generator) -> Value:
    """A value of a kind drawn without looking at the parameter."""
    r = int(rng.integers(8))
    if r == 0:
        return Value("py", None, "None")
    if r == 1:
        return Value("py", "a", "'a'")
    if r == 2:
        return _tensor(rng, (), None)
    if r == 3:
        return _tensor(rng, (1,), None)
    if r == 4:
        return Value("py", 1.5, "1.5")
    if r == 5:
        return Value("py", 1, "1")
    if r == 6:
        v = bool(rng.random() < 0.5)
        return Value("py", v, repr(v))
    return Value("py", [1], "[1]")


def _draw(rng: np.random.Generator, name: str, first: Value | None) -> Value:
    """An argument for a parameter called ``name`` (PyTorch's names: dim, keepdim ...)."""
    shape = first.data[0].shape if first is not None and first.kind == "tensor" else (2, 3)
    if rng.random() < WRONG_KIND:
        return _wrong_kind(rng)
    if name in ("dim", "axis", "dims", "start_dim", "end_dim", "dim0", "dim1"):
        return _dim(rng)
    if name in ("keepdim", "keepdims", "largest", "sorted", "descending", "stable",
                "unbiased", "inplace", "copy", "non_blocking", "right", "upper"):
        v = bool(rng.random() < 0.5)
        return Value("py", v, repr(v))
    if name == "dtype":
        d = DTYPES[rng.integers(len(DTYPES))] if rng.random() < 0.8 else None
        return Value("dtype", d, "None" if d is None else f"L.{d}")
    if name in ("k", "n", "diagonal", "offset", "chunks", "num_classes", "repeats",
                "split_size_or_sections", "steps", "start", "end", "step"):
        v = int(rng.integers(-1, 4))
        return Value("py", v, repr(v))
    if name in ("p", "ord"):
        v = [1, 2, 3, 0.5, math.inf, -math.inf, 0, "fro"][rng.integers(8)]
        return Value("py", v, "float('inf')" if v == math.inf else
                     "-float('inf')" if v == -math.inf else repr(v))
    if name in ("alpha", "value", "weight", "correction", "min", "max", "beta", "threshold",
                "eps", "negative_slope", "momentum", "exponent", "rounding_mode",
                "label_smoothing", "fill_value"):
        if name == "rounding_mode":
            v = [None, "floor", "trunc", "round"][rng.integers(4)]
            return Value("py", v, repr(v))
        if rng.random() < 0.3 and first is not None:
            return _tensor(rng, shape if rng.random() < 0.7 else (), None)
        return _number(rng)
    if name in ("size", "shape", "sizes", "args", "shape_or_args"):
        n = int(np.prod(shape)) if shape else 1
        options = [shape, (-1,), (n,), tuple(reversed(shape)), (1,) + tuple(shape),
                   (2, -1), (n, 1), ()]
        v = tuple(options[rng.integers(len(options))])
        return Value("shape", v, repr(v))
    # a tensor, mostly one that broadcasts with the first
    r = rng.random()
    if r < 0.15:
        return _number(rng)
    if r < 0.6 and first is not None and first.kind == "tensor":
        return _tensor(rng, shape, first.data[1] if rng.random() < 0.6 else None)
    return _tensor(rng)


def _build(lib: Any, v: Value) -> Any:
    if v.kind == "tensor":
        values, dtype, grad = v.data
        t = lib.tensor(values.tolist(), dtype=getattr(lib, dtype))
        return t.requires_grad_() if grad else t
    if v.kind == "dtype":
        return None if v.data is None else getattr(lib, v.data)
    return v.data


@dataclass
class Call:
    name: str              # "L.name" or "Tensor.name"
    args: list             # (keyword or None, Value), in order
    star: bool = False     # *args of a shape (view, expand, permute ...) spread

    def text(self) -> str:
        parts = []
        for key, v in self.args[(1 if self.name.startswith("Tensor.") else 0):]:
            if self.star and key == "*":
                parts.extend(repr(x) for x in v.data)
            else:
                parts.append(f"{key}={v.text}" if key else v.text)
        if not self.name.startswith("Tensor."):
            return f"{self.name}({', '.join(parts)})"
        return f"({self.args[0][1].text}).{self.name[7:]}({', '.join(parts)})"

    def run(self, lib: Any) -> tuple[Any, list]:
        built = [(key, _build(lib, v)) for key, v in self.args]
        leaves = [x for _, x in built if isinstance(x, (lib.Tensor,)) and x.requires_grad]
        positional, keywords = [], {}
        for key, x in built:
            if key == "*":
                positional.extend(x)
            elif key:
                keywords[key] = x
            else:
                positional.append(x)
        if self.name.startswith("L."):
            fn = getattr(lib, self.name[2:])
            return fn(*positional, **keywords), leaves
        if self.name.startswith("F."):
            fn = getattr(lib.nn.functional, self.name[2:])
            return fn(*positional, **keywords), leaves
        self_, rest = positional[0], positional[1:]
        return getattr(self_, self.name[7:])(*rest, **keywords), leaves


def draw_call(rng: np.random.Generator, names: list[tuple[str, Any]]) -> Call:
    """One call of a name drawn from ``names`` ((qualified name, tinygan callable))."""
    qualified, fn = names[rng.integers(len(names))]
    params = list(inspect.signature(fn).parameters.values())
    args: list = []
    first: Value | None = None
    star = False
    for k, p in enumerate(params):
        if p.name.startswith("_") or p.name in (
                "axis", "keepdims", "out", "generator", "layout", "device", "pin_memory",
                "memory_format", "requires_grad", "names", "who"):
            continue                      # (NumPy spellings and placement: not drawn)
        if p.kind is p.VAR_KEYWORD:
            continue
        if k == 0:                        # self or input: always a tensor, by position
            first = _tensor(rng)
            args.append((None, first))
            continue
        if p.kind is p.VAR_POSITIONAL:
            v = _draw(rng, "shape", first)
            if v.kind == "shape" and rng.random() < 0.5:   # view(2, 3) or view((2, 3))
                args.append(("*", v))
                star = True
            else:
                args.append((None, v))
            continue
        optional = p.default is not p.empty
        if optional and rng.random() < 0.5:
            continue                      # left at its default
        v = _draw(rng, p.name, first)
        # (a number where a tensor usually goes is passed by position: PyTorch's overloads
        # for numbers there, where(cond, 2, y), name no keyword)
        keyword = p.kind is p.KEYWORD_ONLY or (optional and rng.random() < 0.5 and not (
            v.kind == "py" and p.name in ("input", "other")) and p.kind is not p.POSITIONAL_ONLY)
        if keyword and any(key is None for key, _ in args[len(args):]):
            keyword = True
        if not keyword and any(key not in (None, "*") for key, _ in args):
            keyword = True                # no positional after a keyword
        args.append((p.name if keyword else None, v))
    return Call(qualified, args, star)


def _names() -> list[tuple[str, Any]]:
    import tinygan
    import torch

    def drawable(n: str, fn: Any) -> bool:
        if n.startswith("_") or n in SKIPPED or not callable(fn) or isinstance(fn, type):
            return False
        try:
            inspect.signature(fn)
        except (TypeError, ValueError):
            return False
        return True

    functional = tinygan.nn.functional
    return ([(f"L.{n}", getattr(tinygan, n)) for n in sorted(tinygan.__all__)
             if drawable(n, getattr(tinygan, n, None))] +
            # nn.functional: the names PyTorch's has too
            [(f"F.{n}", getattr(functional, n)) for n in sorted(dir(functional))
             if drawable(n, getattr(functional, n)) and hasattr(torch.nn.functional, n)
             and inspect.isfunction(getattr(functional, n))] +
            [(f"Tensor.{n}", getattr(tinygan.Tensor, n)) for n in sorted(dir(tinygan.Tensor))
             if drawable(n, getattr(tinygan.Tensor, n))])


def _values(x: Any) -> Any:
    import torch
    if isinstance(x, torch.Tensor):
        return x.detach().numpy() if x.dtype != torch.bfloat16 else x.detach().float().numpy()
    return np.asarray(x.array)


def _describe(x: Any) -> Any:
    """What is compared of a result: type, and for tensors dtype, shape, requires_grad."""
    import torch
    import tinygan
    if isinstance(x, (torch.Tensor, tinygan.Tensor)):
        return ("tensor", str(x.dtype).split(".")[-1], tuple(x.shape), bool(x.requires_grad))
    if isinstance(x, (tuple, list)):
        return (type(x).__name__ if type(x) in (tuple, list) else "tuple",
                tuple(_describe(v) for v in x))
    if isinstance(x, (bool, int, float)):
        return (type(x).__name__,)
    return (type(x).__name__,)


_LOOSEST = ("float16", "float32", "float64")


def _precision(call: Call) -> str:
    """The lowest float precision among the call's tensors and dtypes: a float64 gradient
    through a float32 step (log_softmax(dtype=float32)) carries float32's rounding."""
    found = [v.data[1] for _, v in call.args if v.kind == "tensor"]
    found += [v.data for _, v in call.args if v.kind == "dtype" and v.data]
    floats = [d for d in found if d in _LOOSEST]
    return min(floats, key=_LOOSEST.index) if floats else "float64"


def _same_values(a: Any, b: Any, dtype: str, loosest: str = "float64") -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if dtype.startswith("float") or a.dtype.kind == "f":
        if dtype in _LOOSEST and _LOOSEST.index(loosest) < _LOOSEST.index(dtype):
            dtype = loosest
        rtol = {"float16": 2e-3, "float32": 1e-5}.get(dtype, 1e-9)
        return bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol,
                                atol=rtol, equal_nan=True)) and bool(
            (np.isnan(a.astype(np.float64)) == np.isnan(b.astype(np.float64))).all())
    return bool((a == b).all())


def compare(call: Call) -> str:
    """'' where tinygan and PyTorch agree on ``call``, else what differs."""
    import torch
    import tinygan
    outcomes = []
    for lib in (tinygan, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result, leaves = call.run(lib)
                outcomes.append((result, leaves, None))
            except Exception as e:  # noqa: BLE001 - any exception is an outcome
                outcomes.append((None, None, e))
    (ours, our_leaves, e1), (theirs, their_leaves, e2) = outcomes
    if e1 is not None and e2 is not None:
        return ""
    if e1 is not None or e2 is not None:
        which = "tinygan raises" if e1 is not None else "PyTorch raises"
        return f"{which}: {type(e1 or e2).__name__}: {str(e1 or e2).splitlines()[0][:160]}"
    if _describe(ours) != _describe(theirs):
        return f"result {_describe(ours)} vs {_describe(theirs)}"
    if call.name in RANDOM:
        return ""
    pairs = list(zip(ours, theirs)) if isinstance(ours, (tuple, list)) else [(ours, theirs)]
    for a, b in pairs:
        if isinstance(b, torch.Tensor):
            if not _same_values(_values(a), _values(b), str(b.dtype).split(".")[-1],
                                _precision(call)):
                return f"values {_values(a).tolist()} vs {_values(b).tolist()}"
        elif isinstance(b, float) and not (a == b or (math.isnan(a) and math.isnan(b))):
            return f"value {a!r} vs {b!r}"
        elif not isinstance(b, float) and a != b:
            return f"value {a!r} vs {b!r}"
    # the gradient of every leaf through a weighted sum of the float results
    grads = []
    for result, leaves, lib in ((ours, our_leaves, tinygan), (theirs, their_leaves, torch)):
        outs = [r for r in (result if isinstance(result, (tuple, list)) else [result])
                if isinstance(r, lib.Tensor) and r.requires_grad]
        if not outs or not leaves:
            grads.append(None)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                got = lib.autograd.grad(_objective(lib, outs), leaves, allow_unused=True)
                grads.append([None if g is None else _values(g) for g in got])
            except Exception:  # noqa: BLE001 - which exception is the library's own
                grads.append("raises")
    if (grads[0] is None) != (grads[1] is None):
        return f"gradient {grads[0]!r} vs {grads[1]!r}"
    if isinstance(grads[0], str) or isinstance(grads[1], str):
        return "" if grads[0] == grads[1] else f"gradient {grads[0]} vs {grads[1]}"
    if grads[0] is not None:
        for g1, g2, leaf in zip(grads[0], grads[1], their_leaves):
            if (g1 is None) != (g2 is None):
                return f"gradient {g1} vs {g2}"
            if g1 is not None and not _same_values(g1, g2, str(leaf.dtype).split(".")[-1],
                                                   _precision(call)):
                if _finite_differences_side_with_tinygan(call, leaf, g1, g2):
                    continue   # PyTorch's gradient is not the derivative (dim=() in var)
                return f"gradient {g1.tolist()} vs {g2.tolist()}"
    return ""


def _objective(lib: Any, outs: list) -> Any:
    """The scalar whose gradient is compared: each result element weighted by its index + 1
    (so that every element counts, and differently), added up in float64."""
    return sum((r.double() * lib.arange(1, r.numel() + 1, dtype=lib.float64).reshape(
        r.shape)).sum() for r in outs)


def _finite_differences_side_with_tinygan(call: Call, leaf: Any, ours: Any, theirs: Any
                                          ) -> bool:
    """Whether central differences of the objective, in float64 by PyTorch, give tinygan's
    gradient for ``leaf`` and not PyTorch's (a float64 leaf of at most 6 elements)."""
    import torch
    if leaf.dtype != torch.float64 or leaf.numel() > 6 or call.name in RANDOM:
        return False
    position = next((k for k, (_, v) in enumerate(call.args) if v.kind == "tensor" and
                     v.data[2] and v.data[1] == "float64" and
                     v.data[0].shape == tuple(leaf.shape) and
                     np.array_equal(v.data[0], leaf.detach().numpy(), equal_nan=True)), None)
    if position is None:
        return False
    key, spec = call.args[position]
    slopes = []
    for k in range(leaf.numel()):
        values = []
        h = 1e-6 * max(1.0, abs(float(spec.data[0].flat[k])))
        for sign in (1, -1):
            moved = spec.data[0].astype(np.float64).copy()
            moved.flat[k] += sign * h
            nudged = Call(call.name, list(call.args), call.star)
            nudged.args[position] = (key, Value("tensor", (moved, "float64", True), spec.text))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    result, _ = nudged.run(torch)
                except Exception:  # noqa: BLE001
                    return False
            outs = [r for r in (result if isinstance(result, (tuple, list)) else [result])
                    if isinstance(r, torch.Tensor) and r.dtype.is_floating_point]
            values.append(float(_objective(torch, outs).detach()))
        slopes.append((values[0] - values[1]) / (2 * h))
    slopes = np.array(slopes).reshape(ours.shape)
    if not np.isfinite(slopes).all():
        return False
    return bool(np.allclose(ours, slopes, rtol=1e-5, atol=1e-6)) and \
        not bool(np.allclose(theirs, slopes, rtol=1e-5, atol=1e-6))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--wrong-kinds", type=float, default=WRONG_KIND,
                        help="the share of arguments drawn of another kind (default %(default)s)")
    args = parser.parse_args()
    globals()["WRONG_KIND"] = args.wrong_kinds
    names = _names()
    found: dict[str, list] = {}
    for seed in range(args.seed, args.seed + args.n):
        call = draw_call(np.random.default_rng(seed), names)
        diff = compare(call)
        if diff:
            found.setdefault(call.name, []).append((seed, call.text(), diff))
    for name, cases in sorted(found.items()):
        print(f"## {name}: {len(cases)}")
        for seed, text, diff in cases[:int(__import__("os").environ.get("SHOW", "3"))]:
            print(f"  {seed}: {text}\n      {diff}")
    print(f"{sum(len(c) for c in found.values())} of {args.n} calls differ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
