"""Checking gradients against finite differences, so a teacher can trust the math.

For a function f and a random direction v (the "upstream gradient"), autograd computes
g = d<v, f(x)>/dx in one backward pass. Each element of g can also be estimated with the
central difference

    g_i ~ (<v, f(x + eps e_i)> - <v, f(x - eps e_i)>) / (2 eps),

whose error shrinks like eps^2. Agreement within ``atol + rtol * |numeric|`` for every
element of every input is strong evidence that backward is right. Second derivatives are
checked the same way, with f replaced by "the gradient of f" (``gradgradcheck``).
Everything runs in float64: float32 rounding would swamp the differences.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from tinygan.devices import backend
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Tensor, grad


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference estimate."""


def _as_inputs(inputs: Any) -> list[Tensor]:
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: input {i} is a {type(t).__name__}, not a Tensor")
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {t.dtype}; use float64 "
                            f"(tinygan.tensor(x, dtype=tinygan.float64)) so rounding does not "
                            f"swamp the finite differences")
        # perturbing elements goes through a flat view, which needs contiguous memory
        t.array = backend.get_array_module(t.array).ascontiguousarray(t.array)
    return inputs


def _outputs(fn: Callable, inputs: Sequence[Tensor]) -> list[Tensor]:
    out = fn(*inputs)
    return [out] if isinstance(out, Tensor) else [o for o in out if o is not None]


def _directions(outputs: Sequence[Tensor], seed: int) -> list[Any]:
    gen = Generator(seed, device=outputs[0].device if outputs else None)
    return [gen.normal(o.shape, dtype=np.float64) for o in outputs]


def _projected(fn: Callable, inputs: Sequence[Tensor], vs: Sequence[Any]) -> float:
    """<v, f(x)> summed over all outputs, as a Python float. The graph stays on: fn may
    itself take gradients (gradgradcheck's fn does)."""
    outs = _outputs(fn, inputs)
    return float(sum((o.array * v).sum() for o, v in zip(outs, vs)))


def gradcheck(fn: Callable[..., Any], inputs: Tensor | Sequence[Tensor], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
              raise_exception: bool = True) -> bool:
    """Compare autograd's gradient of ``fn`` with central finite differences.

    fn      takes the tensors in ``inputs`` and returns a Tensor (or a tuple of them)
    inputs  float64 Tensors; those with requires_grad=True are checked
    Returns True, or raises GradcheckError naming the input, the element and both values.
    """
    inputs = _as_inputs(inputs)
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, nothing to check")
    outputs = _outputs(fn, inputs)
    vs = _directions(outputs, seed)
    live = [(o, v) for o, v in zip(outputs, vs) if o.requires_grad]
    wanted = [inputs[i] for i in checked]
    if live:
        analytic = grad([o for o, _ in live], wanted, [Tensor(v) for _, v in live],
                        allow_unused=True)
    else:
        analytic = (None,) * len(wanted)

    for i, g in zip(checked, analytic):
        x = inputs[i].array
        g_analytic = (backend.to_numpy(g.array) if g is not None
                      else np.zeros(x.shape, dtype=np.float64))
        flat = x.reshape(-1)  # a view: perturbing it perturbs the input in place
        for k in range(flat.size):
            original = flat[k].item()
            flat[k] = original + eps
            plus = _projected(fn, inputs, vs)
            flat[k] = original - eps
            minus = _projected(fn, inputs, vs)
            flat[k] = original
            numeric = (plus - minus) / (2 * eps)
            analytic_k = float(g_analytic.reshape(-1)[k])
            if not abs(analytic_k - numeric) <= atol + rtol * abs(numeric):
                if not raise_exception:
                    return False
                where = np.unravel_index(k, x.shape) if x.ndim else ()
                raise GradcheckError(
                    f"gradient mismatch for input {i} (shape {tuple(x.shape)}) at element "
                    f"{tuple(int(j) for j in where)}: analytic {analytic_k:.8g}, numeric "
                    f"{numeric:.8g} (|diff| {abs(analytic_k - numeric):.3g} > atol {atol} + "
                    f"rtol {rtol} * |numeric|)")
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Tensor | Sequence[Tensor], eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
                  raise_exception: bool = True) -> bool:
    """Check second derivatives: the gradient of <v, fn(x)>, built with create_graph=True,
    is itself treated as a function of x and checked by ``gradcheck``."""
    inputs = _as_inputs(inputs)
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    outputs = _outputs(fn, inputs)
    vs = _directions(outputs, seed + 1)

    def first_derivative(*xs: Tensor) -> tuple[Tensor, ...]:
        outs = _outputs(fn, xs)
        live = [(o, Tensor(v)) for o, v in zip(outs, vs) if o.requires_grad]
        if not live:
            return ()
        gs = grad([o for o, _ in live], [xs[i] for i in checked], [v for _, v in live],
                  create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, inputs, eps, atol, rtol, seed, raise_exception)
