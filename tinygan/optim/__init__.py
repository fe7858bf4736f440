"""Optimizers with PyTorch's update rules: SGD, Adam, AdamW, RMSprop, Adadelta.

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
import warnings
from typing import Any, Callable, Iterable

from tinygan.devices import backend
from tinygan.engine.tensor import Tensor, enable_grad


class Optimizer:
    """What every optimizer shares: its parameter groups (each a dict of the parameters and
    their hyper-parameters, the defaults filled in), its per-parameter state, zero_grad,
    step(closure) and state_dict. Parameters are checked as PyTorch checks them: Tensors,
    leaves (a non-leaf's .grad is never filled), in one group only; a frozen one
    (requires_grad=False) is allowed and simply never has a gradient to follow."""
    defaults: dict[str, Any]

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):   # list(t) would iterate over its rows
            raise TypeError(f"{name}: params argument given to the optimizer should be an "
                            f"iterable of Tensors or dicts, but got a Tensor of shape "
                            f"{params.shape}; pass [t] or model.parameters()")
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{name} got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (the defaults fill in
        the ones it does not give), e.g. a new layer to train from now on."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: param_group must be a dict, but got "
                            f"{type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError(f"{name}: optimizer parameters need to be organized in ordered "
                            f"collections (a set's order changes between runs); use a list")
        params = [params] if isinstance(params, Tensor) else list(params)
        group = {**self.defaults, **param_group}
        if params and isinstance(params[0], tuple):   # model.named_parameters()
            group["param_names"] = [n for n, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (shape "
                                 f"{p.shape}); optimize the leaf it was computed from")
        if len({id(p) for p in params}) != len(params):
            warnings.warn(f"{name}: a parameter group contains the same parameter twice; "
                          f"it will be updated twice per step", UserWarning, stacklevel=3)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if taken & {id(p) for p in params}:
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        for key in ("lr", "eps", "weight_decay", "momentum", "alpha", "dampening"):
            if key in group:
                _check_hyperparameter(name, key, group[key])
        group["params"] = params
        self.param_groups.append(group)

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

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient. ``closure`` (optional):
        a function that zeroes the gradients, computes the loss, calls backward and
        returns the loss; it runs first (with gradients on) and its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._update()
        return loss

    def _update(self) -> None:
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
    """The gradient every rule starts from: grad + weight_decay * p (-grad with
    ``maximize``: a step up the loss instead of down).

    That is the gradient of loss + weight_decay/2 * |p|^2 (an L2 penalty), PyTorch's
    ``weight_decay`` for SGD, Adam, RMSprop and Adadelta (AdamW decays the weights
    themselves instead). A new array when it differs from ``p.grad``, which is never changed.
    """
    g = -p.grad.array if group.get("maximize") else p.grad.array
    if group["weight_decay"] and not group.get("decoupled_weight_decay"):
        g = g + group["weight_decay"] * p.array
    # (NumPy turns a 0-d array's -g or g + x into a scalar, which a state buffer made from
    # it could not update in place)
    return backend.get_array_module(p.array).asarray(g)


def _refuse_differentiable(name: str, differentiable: bool) -> None:
    if differentiable:
        raise NotImplementedError(f"{name}: differentiable=True (an optimizer step inside the "
                                  f"graph) is not in tinygan; leave it False")


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
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        _refuse_differentiable("SGD", differentiable)   # foreach, fused: one loop here
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _update(self) -> None:
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
    ``amsgrad`` (Reddi et al. 2018, "On the Convergence of Adam and Beyond", ICLR) divides by
    the largest v seen so far instead of v; ``decoupled_weight_decay`` shrinks the weights
    themselves, p <- p (1 - lr weight_decay), before the step, instead of adding an L2 term
    to g (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", ICLR: AdamW).
    ``_plain_update`` is the rule as written above; ``_fused_update`` computes the same
    numbers without temporaries, and is used by default (``fused=False`` picks the plain
    one; tests/test_optim.py checks the two agree bit for bit).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False):
        name = type(self).__name__
        for k, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}: Invalid beta parameter at index {k}: {beta} "
                                 f"(betas must be in [0, 1))")
        _refuse_differentiable(name, differentiable)   # foreach, capturable: one loop here
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))
        self.fused = True if fused is None else bool(fused)

    def _update(self) -> None:
        update = self._fused_update if self.fused else self._plain_update
        for i, group, p in self._params():
            if group["decoupled_weight_decay"] and group["weight_decay"]:
                p.array *= 1 - group["lr"] * group["weight_decay"]
            g = decayed_gradient(p, group)
            xp = backend.get_array_module(g)
            state = self.state.get(i)
            if state is None:
                state = self.state[i] = {"step": 0, "exp_avg": xp.zeros_like(p.array),
                                         "exp_avg_sq": xp.zeros_like(p.array)}
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = xp.zeros_like(p.array)
            state["step"] += 1
            update(p.array, g, state["exp_avg"], state["exp_avg_sq"],
                   state.get("max_exp_avg_sq"), state["step"], group, xp)
            p._bump_version()

    @staticmethod
    def _plain_update(p, g, m, v, v_max, t, group, xp) -> None:
        """The textbook rule, five lines, each a full array expression (v_max: amsgrad's
        running maximum of v, or None)."""
        beta1, beta2 = group["betas"]
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * (g * g)
        if v_max is not None:
            xp.maximum(v_max, v, out=v_max)
        denom = xp.sqrt(v if v_max is None else v_max) / math.sqrt(1 - beta2 ** t) + group["eps"]
        p -= group["lr"] / (1 - beta1 ** t) * (m / denom)

    @staticmethod
    def _fused_update(p, g, m, v, v_max, t, group, xp) -> None:
        """FUSED: the same rule, every line one pass over memory written in place (out=)
        into one scratch buffer, over slices small enough to stay in the CPU cache."""
        beta1, beta2 = group["betas"]
        step_size = group["lr"] / (1 - beta1 ** t)
        sqrt_bias2 = math.sqrt(1 - beta2 ** t)
        eps = group["eps"]
        arrays = (p, g, m, v) if v_max is None else (p, g, m, v, v_max)
        for p_, g_, m_, v_, *rest in _cache_sized_slices(arrays, xp):
            tmp = rest[-1]
            m_ *= beta1                                  # m <- beta1 m + (1 - beta1) g
            xp.multiply(g_, 1 - beta1, out=tmp)
            m_ += tmp
            v_ *= beta2                                  # v <- beta2 v + (1 - beta2) g^2
            xp.multiply(g_, g_, out=tmp)
            tmp *= 1 - beta2
            v_ += tmp
            if len(rest) == 2:                           # amsgrad: the largest v so far
                xp.maximum(rest[0], v_, out=rest[0])
            xp.sqrt(v_ if len(rest) == 1 else rest[0], out=tmp)   # sqrt(v) / sqrt(1 - beta2^t)
            tmp /= sqrt_bias2                                      # + eps
            tmp += eps
            xp.divide(m_, tmp, out=tmp)                  # p <- p - step_size m / denom
            tmp *= step_size
            p_ -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's AdamW: the
    weights shrink by (1 - lr weight_decay) each step, apart from the gradient's moments;
    weight_decay defaults to 0.01."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


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
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        _refuse_differentiable("RMSprop", differentiable)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self) -> None:
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
        _refuse_differentiable("Adadelta", differentiable)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update(self) -> None:
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

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "lr_scheduler"]
