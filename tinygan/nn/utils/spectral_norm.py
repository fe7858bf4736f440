"""Spectral normalisation (Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral Normalization
for Generative Adversarial Networks", ICLR), with torch.nn.utils.spectral_norm's behaviour.

A layer x -> W x is L-Lipschitz with L = sigma(W), W's largest singular value. Dividing W
by sigma(W) makes every normalised layer 1-Lipschitz, so a discriminator built from them
(with 1-Lipschitz activations) cannot grow arbitrarily steep: the Lipschitz control that
WGAN's clipping does crudely. sigma is estimated by the power iteration: for unit vectors

    v <- W^T u / ||W^T u||,    u <- W v / ||W v||,    sigma ~ u^T W v,

u and v turn towards W's first left and right singular vectors (each round multiplies the
other components by (sigma_2/sigma_1)^2). Because W changes only a little per optimizer
step, one round per forward, continuing from the last u, keeps the estimate tight.

The layer keeps ``weight_orig`` (the Parameter the optimizer updates) and two buffers,
``weight_u`` and ``weight_v``; before every forward a hook sets the plain attribute
``weight = weight_orig / sigma``. In training mode the hook first runs the power iteration
(outside the graph, updating the buffers); in eval mode it reuses them. u and v count as
constants for autograd, so with G = dL/dweight and d sigma / dW = u v^T the gradient is

    dL/dW = G / sigma - (<G, W> / sigma^2) u v^T,

which autograd derives on its own from the division (PyTorch does the same).
"""
from __future__ import annotations

from typing import Any

from tinygan.devices import backend
from tinygan.nn.module import Module
from tinygan.devices.random import Generator, default_generator
from tinygan.engine.tensor import Parameter, Tensor, no_grad


def _normalize(x: Any, eps: float) -> Any:
    """x / max(||x||_2, eps), on raw arrays (torch.nn.functional.normalize's rule)."""
    xp = backend.get_array_module(x)
    return x / max(float(xp.sqrt((x * x).sum())), eps)


class SpectralNorm:
    """The forward pre-hook that recomputes ``module.<name>`` as ``<name>_orig / sigma``."""

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        if n_power_iterations < 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be >= 0, got "
                             f"{n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """(h, w): dimension ``dim`` becomes the rows, everything else the columns.
        Linear/Conv2d: (out, in*kh*kw); ConvTranspose2d (dim=1): (out, in*kh*kw) too."""
        if self.dim != 0:
            order = [self.dim] + [d for d in range(weight.ndim) if d != self.dim]
            weight = weight.permute(*order)
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration and self.n_power_iterations > 0:
            w, uu, vv = weight_mat.array, u.array, v.array
            for _ in range(self.n_power_iterations):
                vv = _normalize(w.T @ uu, self.eps)
                uu = _normalize(w @ vv, self.eps)
            u.array[...], v.array[...] = uu, vv   # the buffers persist to the next forward
            u._bump_version()
            v._bump_version()
        # copies: the graph must keep this step's u and v, not the buffers the next
        # forward overwrites in place
        u_const, v_const = Tensor(u.array.copy()), Tensor(v.array.copy())
        sigma = (u_const * (weight_mat @ v_const)).sum()
        return weight / sigma

    def __call__(self, module: Module, inputs: tuple) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.array.copy()))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int, eps: float,
              generator: Generator | None = None) -> "SpectralNorm":
        for hook in module.__dict__.get("_forward_pre_hooks", {}).values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"spectral_norm: {type(module).__name__} already has "
                                   f"spectral_norm on its parameter '{name}'")
        weight = module._parameters.get(name)
        if not isinstance(weight, Parameter):
            raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter "
                             f"'{name}'")
        if not -weight.ndim <= dim < weight.ndim:
            raise IndexError(f"spectral_norm: dim {dim} is out of range for '{name}' of "
                             f"shape {weight.shape}")
        fn = SpectralNorm(name, n_power_iterations, dim % weight.ndim, eps)
        gen = default_generator() if generator is None else generator
        weight_mat = fn.reshape_weight_to_matrix(weight).array
        h, w = weight_mat.shape
        u = _normalize(gen.normal((h,), dtype=weight.dtype), eps)   # random starting vectors
        v = _normalize(gen.normal((w,), dtype=weight.dtype), eps)
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        # the plain attribute ``weight`` still exists (code may read it before a forward)
        object.__setattr__(module, name, Tensor(weight.array))
        module.register_buffer(name + "_u", Tensor(u))
        module.register_buffer(name + "_v", Tensor(v))
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None, *,
                  generator: Generator | None = None) -> Module:
    """Spectrally normalise ``module.<name>`` (torch.nn.utils.spectral_norm): returns the
    module, now holding ``<name>_orig`` (a Parameter) and buffers ``<name>_u``, ``<name>_v``.

    ``dim``: the dimension of the weight that indexes outputs, 0 by default and 1 for
    ConvTranspose2d (whose weight is (in, out, kh, kw)), as PyTorch chooses.
    ``generator`` (tinygan's addition, as for the layers): draws the random starting u and
    v; the default generator when omitted, as PyTorch draws from its global one.
    """
    if dim is None:
        from tinygan.nn.conv import ConvTranspose2d
        dim = 1 if isinstance(module, ConvTranspose2d) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps, generator)
    return module


def spectral_norm_layers(module: Module, *, generator: Generator | None = None) -> Module:
    """``spectral_norm`` on every Linear, Conv2d and ConvTranspose2d weight inside ``module``
    (tinygan's addition, what ``tinygan train --spectral-norm`` and the lab do to D): every
    weight layer becomes 1-Lipschitz, so with 1-Lipschitz activations the whole network is.
    Returns ``module``; ``generator`` draws each layer's starting u and v, in layer order."""
    from tinygan.nn.conv import Conv2d, ConvTranspose2d
    from tinygan.nn.linear import Linear
    for layer in list(module.modules()):
        if isinstance(layer, (Linear, Conv2d, ConvTranspose2d)):
            spectral_norm(layer, generator=generator)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``spectral_norm``: ``<name>`` becomes a Parameter again, holding the normalised
    weight (W / sigma with the current u and v), and the hook and buffers go."""
    hooks = module.__dict__.get("_forward_pre_hooks", {})
    for key, hook in list(hooks.items()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del hooks[key]
            return module
    raise ValueError(f"remove_spectral_norm: spectral_norm of '{name}' not found in "
                     f"{type(module).__name__}")
