"""The second derivative of the fused BatchNorm node, in closed form.

With ``create_graph=True`` the gradients BatchNormBatchStats returns must themselves be
differentiable. Differentiating the first-derivative formula op by op (the chain rule through
x_hat, mu_B and sigma_B) gives the right numbers for finite inputs, but not where an inf
arrives: the chain passes inf through terms that cancel on paper, and inf - inf is NaN. So
each first derivative is a node of its own whose backward is the derivative worked out on
paper and simplified first, the formula PyTorch's ``batchnorm_double_backward`` uses:
finite inputs give the chain rule's values (tests/test_fast_paths.py; against finite
differences and PyTorch: tests/test_batchnorm_second_derivative.py), an inf
gives PyTorch's inf where the chain rule gave NaN (an InstanceNorm, whose gamma is shared by
every image, spreads one image's inf through gamma's gradient to the others).

Notation, per channel, sums S(.) over the n = N x pixels values of that channel (kept as
(1, C, 1, ...)): d = x - mu, s = 1 / sqrt(var + eps), g = dL/dy (the first backward's
incoming gradient), w = gamma (1 without affine). The first derivatives are

    gx     = (w s / n) (n g - S(g) - d s^2 S(g d))      (``first_backward`` below)
    ggamma = s S(g d)            gbeta = S(g)

and for the gradients G (of gx), Gg (of ggamma) arriving at them in the second backward:

    d/dx     = w [d s^3 A / n + (s^3 S(G d) / n)(S(g) / n - g) + (s^3 S(g d) / n)(S(G) / n - G)]
               + Gg [g s - s S(g) / n - d s^3 S(g d) / n]
               with A = S(G) S(g) / n - S(g G) + 3 s^2 S(g d) S(G d) / n
    d/dgamma = S(G gx|w=1)       d/dg = gx|g=G + Gg d s       (+ Gb, through gbeta = S(g))

(the order of the operations below is PyTorch's, so the roundings and the infs agree).
"""
from __future__ import annotations

from typing import Any

from tinygan.engine.tensor import Function, KernelValue, Tensor, is_grad_enabled


def channel_sum(t: Tensor, keepdim: bool = True) -> Tensor:
    """S(t): t (N, C, ...) summed over every dim but the channels, dim 0 first and then
    the last ones inwards (PyTorch's order, so the roundings agree) -> (1, C, 1, ...), or
    (C,) without keepdim."""
    t = t.sum(axis=0, keepdims=keepdim)
    first_pixel_dim = 1 if keepdim else 0
    for dim in range(t.ndim - 1, first_pixel_dim, -1):
        t = t.sum(axis=dim, keepdims=keepdim)
    return t


class Statistics:
    """What the second derivative reads of the forward pass: the number n of values per
    channel, eps, the axes, and mu and s = 1 / sqrt(var + eps) as saved, (1, C, 1, ...)."""

    def __init__(self, n: int, eps: float, axes: tuple[int, ...], mean: Any,
                 inv_std: Any, dtype: Any = None) -> None:
        self.n, self.eps, self.axes, self.mean, self.inv_std = n, eps, axes, mean, inv_std
        # the dtype the formulas run in, when not x's: a half batch is normalised in
        # float32, but PyTorch's second derivative of it works in half (where s^3 overflows
        # for a channel of equal values, and inf * 0 gives NaN)
        self.dtype = dtype

    def cast(self, *tensors: Tensor) -> list[Tensor]:
        """The tensors in the formulas' dtype."""
        return [t if self.dtype is None else t.to(self.dtype) for t in tensors]

    def back(self, grads: list, inputs: tuple) -> tuple:
        """Each gradient in its input's dtype again."""
        return tuple(g if g is None or self.dtype is None else g.to(t.dtype)
                     for g, t in zip(grads, inputs))

    def of(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """mu and s as Tensors. Recording a graph (a third derivative), each is recomputed
        from x in Tensor ops for its graph, its value still the saved one."""
        saved_mean, saved_inv_std = (a.astype(x.dtype, copy=False)
                                     for a in (self.mean, self.inv_std))
        if not (is_grad_enabled() and x.requires_grad):
            return Tensor(saved_mean), Tensor(saved_inv_std)
        mean = x.mean(axis=self.axes, keepdims=True)
        centred = x - mean
        inv_std = ((centred * centred).mean(axis=self.axes, keepdims=True) + self.eps) ** -0.5
        return KernelValue(saved_mean)(mean), KernelValue(saved_inv_std)(inv_std)


def first_backward(g: Tensor, w: Tensor | float, d: Tensor, s: Tensor, n: int) -> Tensor:
    """gx = (w s / n) (n g - S(g) - d s^2 S(g d)): BatchNorm's input gradient for the
    incoming gradient g and scale w."""
    return ((w * s) / n) * ((n * g - channel_sum(g)) - (d * (s ** 2)) * channel_sum(g * d))


class InputGradient(Function):
    """gx, the first derivative for x, as a node: inputs (x, g) or (x, gamma, g), value
    computed by the first backward (``value``); its backward is the closed form above."""
    def __init__(self, value: Any, stats: Statistics) -> None:
        self.value, self.stats = value, stats

    def forward(self, *arrays): return self.value

    def backward(self, big_g: Tensor):
        x, g, big_g = self.stats.cast(self.inputs[0], self.inputs[-1], big_g)
        affine = len(self.inputs) == 3
        w = self.inputs[1].reshape(self.stats.mean.shape) if affine else 1.0
        n = self.stats.n
        mu, s = self.stats.of(x)
        d = x - mu
        grads: list[Tensor | None] = [None] * len(self.inputs)
        if self.needs_input_grad[0]:
            s3 = s ** 3
            g_sum, gd_sum = channel_sum(g), channel_sum(g * d)
            big_g_sum, big_gd_sum = channel_sum(big_g), channel_sum(big_g * d)
            a = ((big_g_sum * g_sum) / n - channel_sum(g * big_g)) \
                + (s ** 2 * gd_sum * big_gd_sum) * (3.0 / n)
            term0 = ((d * s3) * a) / n
            term1 = ((big_gd_sum * s3) / n) * (g_sum / n - g)
            term2 = ((gd_sum * s3) / n) * (big_g_sum / n - big_g)
            grads[0] = w * ((term0 + term1) + term2)
        if affine and self.needs_input_grad[1]:
            grads[1] = channel_sum(big_g * first_backward(g, 1.0, d, s, n), keepdim=False)
        if self.needs_input_grad[-1]:
            grads[-1] = first_backward(big_g, w, d, s, n)
        return self.stats.back(grads, self.inputs)


class GammaGradient(Function):
    """ggamma = s S(g d), the first derivative for gamma, as a node: inputs (x, g), value
    from the first backward; its backward is the closed form above (the Gg terms)."""
    def __init__(self, value: Any, stats: Statistics) -> None:
        self.value, self.stats = value, stats

    def forward(self, x, g): return self.value

    def backward(self, big_gg: Tensor):
        x, g, big_gg = self.stats.cast(*self.inputs, big_gg)
        n = self.stats.n
        mu, s = self.stats.of(x)
        d = x - mu
        big_gg = big_gg.reshape(self.stats.mean.shape)
        gx = gg = None
        if self.needs_input_grad[0]:
            term0 = g * s
            term1 = (s * channel_sum(g)) / -n
            term2 = ((d * s ** 3) * channel_sum(g * d)) / -n
            gx = big_gg * ((term0 + term1) + term2)
        if self.needs_input_grad[1]:
            gg = (big_gg * d) * s
        return self.stats.back([gx, gg], self.inputs)
