"""Optimizers with PyTorch's update rules: SGD, Adam, RMSprop, Adadelta.

Each ``step()`` reads ``p.grad`` and updates ``p.array`` in place, outside any graph (an
update is not part of the model's computation), then bumps ``p``'s version, so a graph built
before the step refuses to backpropagate through the old weights. State (momentum buffers, Adam's moments)
lives in ``self.state[i]`` for the i-th parameter and round-trips through state_dict(), so
a training run can be resumed exactly. Learning-rate schedules (StepLR, CosineAnnealingLR,
ReduceLROnPlateau ...) live in ``tinygan.optim.lr_scheduler``: they change ``group["lr"]``
between steps.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from tinygan.devices import backend
from tinygan.engine.tensor import Tensor


class Optimizer:
    defaults: dict[str, Any]

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        for group in groups:
            full = {**defaults, **group, "params": list(group["params"])}
            for p in full["params"]:
                if not isinstance(p, Tensor) or not p.requires_grad:
                    raise TypeError(f"{type(self).__name__}: every parameter must be a Tensor "
                                    f"with requires_grad=True")
            self.param_groups.append(full)
        self.state: dict[int, dict[str, Any]] = {}
        for group in self.param_groups:
            for key in ("lr", "eps", "weight_decay", "momentum", "alpha", "dampening"):
                if key in group:
                    _check_hyperparameter(type(self).__name__, key, group[key])

    def _params(self) -> Iterable[tuple[int, dict[str, Any], Tensor]]:
        """(index, group, parameter) for every parameter that has a gradient."""
        i = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield i, group, p
                i += 1

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of the last backward (they would otherwise accumulate):
        drop them (``set_to_none``, the default) or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                zero_grad_of(p, set_to_none)

    def step(self) -> None:
        raise NotImplementedError

    # ---- saving and resuming ------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {name: array or number}}, "param_groups": [hyper-parameters]}."""
        state = {i: {k: (v.copy() if hasattr(v, "copy") else v) for k, v in s.items()}
                 for i, s in self.state.items()}
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": list(range(start, start + n))})
            start += n
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(own["params"]) for g, own in zip(groups, self.param_groups)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved optimizer has "
                             f"groups of sizes {[len(g['params']) for g in groups]}, this one "
                             f"{[len(g['params']) for g in self.param_groups]}")
        for own, saved in zip(self.param_groups, groups):
            own.update({k: (tuple(v) if k == "betas" else v)
                        for k, v in saved.items() if k != "params"})
        params = [p for g in self.param_groups for p in g["params"]]
        self.state = {}
        for i, s in state_dict["state"].items():
            i = int(i)
            xp = backend.get_array_module(params[i].array)
            self.state[i] = {k: (xp.asarray(v, dtype=params[i].dtype).copy()
                                 if getattr(v, "ndim", 0) > 0 or (
                                     hasattr(v, "shape") and k != "step") else v)
                             for k, v in s.items()}
            if "step" in self.state[i]:
                self.state[i]["step"] = int(self.state[i]["step"])

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({hyper})"


def _check_hyperparameter(optimizer: str, key: str, value: Any) -> None:
    """lr=NaN, lr=-1 or lr="0.1" would train silently wrong: refuse them up front."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{optimizer}: {key} must be a finite number >= 0, got {value!r}")


def decayed_gradient(p: Tensor, group: dict[str, Any]) -> Any:
    """The gradient every rule starts from: grad + weight_decay * p.

    That is the gradient of loss + weight_decay/2 * |p|^2 (an L2 penalty), PyTorch's
    ``weight_decay`` for SGD, Adam, RMSprop and Adadelta. A new array when there is decay, so
    ``p.grad`` itself is never changed.
    """
    g = p.grad.array
    return g + group["weight_decay"] * p.array if group["weight_decay"] else g


def zero_grad_of(p: Tensor, set_to_none: bool) -> None:
    """One parameter's part of ``zero_grad`` (optimizers and Modules share it)."""
    if set_to_none or p.grad is None:
        p.grad = None
    elif p.grad.creator is not None:       # a gradient with a graph (create_graph=True)
        p.grad = Tensor(backend.get_array_module(p.grad.array).zeros_like(p.grad.array))
    else:
        p.grad.array.fill(0)
        p.grad._bump_version()


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's rule:

        g <- grad + weight_decay * p
        b <- g (first step), then b <- momentum * b + (1 - dampening) * g
        g <- g + momentum * b  (nesterov)  or  g <- b  (momentum)
        p <- p - lr * g
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def step(self) -> None:
        for i, group, p in self._params():
            g = decayed_gradient(p, group)
            mu = group["momentum"]
            if mu:
                state = self.state.setdefault(i, {})
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = g.copy()
                else:
                    buf = state["momentum_buffer"]
                    buf *= mu
                    buf += (1 - group["dampening"]) * g
                buf = state["momentum_buffer"]
                g = g + mu * buf if group["nesterov"] else buf
            p.array -= group["lr"] * g
            p._bump_version()


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", ICLR), PyTorch's
    rule:

        g <- grad + weight_decay * p                     (L2 penalty, as torch.optim.Adam)
        m <- beta1 m + (1 - beta1) g                     first moment
        v <- beta2 v + (1 - beta2) g^2                   second moment
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    GANs use beta1 = 0.5 (Radford et al. 2015): a shorter memory suits a moving target.
    ``_plain_update`` is the rule as written above; ``_fused_update`` computes the same
    numbers without temporaries, and is used by default (``fused=False`` picks the plain
    one; tests/test_optim.py checks the two agree bit for bit).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 fused: bool | None = None, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas}")
        if amsgrad or maximize or differentiable:
            raise NotImplementedError("Adam: amsgrad, maximize and differentiable are not in "
                                      "tinygan; leave them False")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))
        self.fused = True if fused is None else bool(fused)  # foreach/capturable: no effect

    def step(self) -> None:
        update = self._fused_update if self.fused else self._plain_update
        for i, group, p in self._params():
            g = decayed_gradient(p, group)
            xp = backend.get_array_module(g)
            state = self.state.get(i)
            if state is None:
                state = self.state[i] = {"step": 0, "exp_avg": xp.zeros_like(p.array),
                                         "exp_avg_sq": xp.zeros_like(p.array)}
            state["step"] += 1
            update(p.array, g, state["exp_avg"], state["exp_avg_sq"], state["step"], group, xp)
            p._bump_version()

    @staticmethod
    def _plain_update(p, g, m, v, t, group, xp) -> None:
        """The textbook rule, five lines, each a full array expression."""
        beta1, beta2 = group["betas"]
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * (g * g)
        denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t) + group["eps"]
        p -= group["lr"] / (1 - beta1 ** t) * (m / denom)

    @staticmethod
    def _fused_update(p, g, m, v, t, group, xp) -> None:
        """FUSED: the same rule, every line one pass over memory written in place (out=)
        into one scratch buffer, over slices small enough to stay in the CPU cache."""
        beta1, beta2 = group["betas"]
        step_size = group["lr"] / (1 - beta1 ** t)
        sqrt_bias2 = math.sqrt(1 - beta2 ** t)
        eps = group["eps"]
        for p_, g_, m_, v_, tmp in _cache_sized_slices((p, g, m, v), xp):
            m_ *= beta1                                  # m <- beta1 m + (1 - beta1) g
            xp.multiply(g_, 1 - beta1, out=tmp)
            m_ += tmp
            v_ *= beta2                                  # v <- beta2 v + (1 - beta2) g^2
            xp.multiply(g_, g_, out=tmp)
            tmp *= 1 - beta2
            v_ += tmp
            xp.sqrt(v_, out=tmp)                         # sqrt(v) / sqrt(1 - beta2^t) + eps
            tmp /= sqrt_bias2
            tmp += eps
            xp.divide(m_, tmp, out=tmp)                  # p <- p - step_size m / denom
            tmp *= step_size
            p_ -= tmp


# A slice of each array of about this many elements (128 KiB of float32) keeps the few
# arrays an update touches inside a core's L2 cache.
_SLICE_ELEMENTS = 1 << 15


def _cache_sized_slices(arrays: tuple[Any, ...], xp: Any):
    """Yield matching row slices (views) of same-shaped ``arrays``, plus a scratch buffer of
    the slice's shape, for an in-place elementwise update.

    On the CPU the slices are small (see _SLICE_ELEMENTS); on a GPU, where every operation
    is a kernel launch, the whole array is one slice.
    """
    first = arrays[0]
    if first.ndim == 0 or backend.device_of(first) != "cpu":
        yield (*arrays, xp.empty_like(first))
        return
    row_size = first.size // first.shape[0] if first.shape[0] else 1
    rows = max(1, _SLICE_ELEMENTS // max(row_size, 1))
    scratch = xp.empty((min(rows, first.shape[0]),) + first.shape[1:], dtype=first.dtype)
    for start in range(0, first.shape[0], rows):
        views = tuple(a[start:start + rows] for a in arrays)
        yield (*views, scratch[:views[0].shape[0]])


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton 2012), PyTorch's rule; the WGAN paper's optimizer:

        v <- alpha v + (1 - alpha) g^2
        centered: avg <- alpha avg + (1 - alpha) g, and v is replaced by v - avg^2
        p <- p - lr g / (sqrt(v) + eps)                 (or through a momentum buffer)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def step(self) -> None:
        for i, group, p in self._params():
            g = decayed_gradient(p, group)
            xp = backend.get_array_module(g)
            state = self.state.get(i)
            if state is None:
                state = self.state[i] = {"step": 0, "square_avg": xp.zeros_like(p.array)}
                if group["momentum"] > 0:
                    state["momentum_buffer"] = xp.zeros_like(p.array)
                if group["centered"]:
                    state["grad_avg"] = xp.zeros_like(p.array)
            state["step"] += 1
            alpha = group["alpha"]
            v = state["square_avg"]
            v *= alpha
            v += (1 - alpha) * (g * g)
            if group["centered"]:
                avg_g = state["grad_avg"]
                avg_g *= alpha
                avg_g += (1 - alpha) * g
                denom = xp.sqrt(v - avg_g * avg_g) + group["eps"]
            else:
                denom = xp.sqrt(v) + group["eps"]
            if group["momentum"] > 0:
                buf = state["momentum_buffer"]
                buf *= group["momentum"]
                buf += g / denom
                p.array -= group["lr"] * buf
            else:
                p.array -= group["lr"] * (g / denom)
            p._bump_version()


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method"), PyTorch's rule,
    the optimizer of PyTorch's MNIST example:

        v     <- rho v + (1 - rho) g^2                         running mean of g^2
        delta <- sqrt(u + eps) / sqrt(v + eps) * g             a step in p's own units
        u     <- rho u + (1 - rho) delta^2                     running mean of delta^2
        p     <- p - lr delta

    The ratio of the two root-mean-squares gives each entry its own step size; ``lr`` (1.0
    in the paper) only scales it.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0.0, foreach: bool | None = None,
                 *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: rho must be in [0, 1], got {rho}")
        if maximize or differentiable:
            raise NotImplementedError("Adadelta: maximize and differentiable are not in "
                                      "tinygan; leave them False")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def step(self) -> None:
        for i, group, p in self._params():
            g = decayed_gradient(p, group)
            xp = backend.get_array_module(g)
            state = self.state.get(i)
            if state is None:
                state = self.state[i] = {"step": 0, "square_avg": xp.zeros_like(p.array),
                                         "acc_delta": xp.zeros_like(p.array)}
            state["step"] += 1
            rho, eps = group["rho"], group["eps"]
            v, u = state["square_avg"], state["acc_delta"]
            v *= rho
            v += (1 - rho) * (g * g)
            delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
            u *= rho
            u += (1 - rho) * (delta * delta)
            p.array -= group["lr"] * delta
            p._bump_version()


from tinygan.optim import lr_scheduler  # noqa: E402  (it needs Optimizer, defined above)

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "Adadelta", "lr_scheduler"]
