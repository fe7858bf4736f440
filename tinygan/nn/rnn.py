"""LSTM (Hochreiter & Schmidhuber 1997), with torch.nn's names, shapes and parameters.

One step of one layer, for an input x_t and the previous state (h, c):

    gates = x_t W_ih^T + b_ih + h W_hh^T + b_hh           (N, 4H), in PyTorch's order i f g o
    i, f, o = sigmoid(...)    input, forget and output gates, each in (0, 1)
    g = tanh(...)             the candidate
    c <- f * c + i * g        the cell: forget some of the old, write some of the new
    h <- o * tanh(c)          what the step shows (the output at time t)

Everything is made of Tensor ops (linear, sigmoid, tanh, products), so backpropagation
through time and second derivatives come from the engine. The input projection x W_ih^T
is computed for all time steps at once, before the loop, which needs only the h W_hh^T part.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.tensor import Parameter, Tensor
from tinygan.nn import init
from tinygan.nn.module import Module


def lstm_step(x_proj: Tensor, h: Tensor, c: Tensor, w_hh: Tensor,
              b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    """One step: x_proj = x_t W_ih^T + b_ih (N, 4H), h and c (N, H) -> new (h, c)."""
    gates = x_proj + F.linear(h, w_hh, b_hh)
    size = h.shape[-1]
    i = F.sigmoid(gates[..., 0 * size:1 * size])
    f = F.sigmoid(gates[..., 1 * size:2 * size])
    g = F.tanh(gates[..., 2 * size:3 * size])
    o = F.sigmoid(gates[..., 3 * size:4 * size])
    c = f * c + i * g
    return o * F.tanh(c), c


class LSTM(Module):
    """input (L, N, input_size), or (N, L, input_size) with ``batch_first``, or (L, input_size)
    -> output (L, N, D * hidden_size) (the last layer's h at every step), (h_n, c_n) each
    (D * num_layers, N, hidden_size); D = 2 when bidirectional.

    Parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and
    ``..._reverse``) as in PyTorch, so state_dicts move between the two; all drawn from
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), PyTorch's initialisation.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None, *, generator: Any = None) -> None:
        super().__init__()
        if proj_size:
            raise NotImplementedError("LSTM: proj_size is not in tinygan; leave it 0 (or add "
                                      "an nn.Linear after the LSTM)")
        if input_size <= 0 or hidden_size <= 0 or num_layers < 1:
            raise ValueError(f"LSTM: input_size, hidden_size and num_layers must be positive, "
                             f"got {input_size}, {hidden_size}, {num_layers}")
        if not 0.0 <= dropout <= 1.0 or isinstance(dropout, bool):
            raise ValueError(f"dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, 0
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                _add_gate_weights(self, f"_l{layer}{suffix}", width, hidden_size, bias, dtype,
                                  generator)
        if device is not None:
            self.to(device)

    def _weights(self, layer: int, suffix: str) -> tuple:
        get = lambda name: getattr(self, f"{name}_l{layer}{suffix}") if (  # noqa: E731
            self.bias or name.startswith("weight")) else None
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None  # noqa: A002
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        if input.ndim not in (2, 3):
            raise ValueError(f"LSTM: Expected input to be 2D or 3D, got {input.ndim}D tensor "
                             f"of shape {input.shape}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"LSTM: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        unbatched = input.ndim == 2
        x = input.unsqueeze(1) if unbatched else (
            input.transpose(0, 1) if self.batch_first else input)       # (L, N, features)
        steps, batch = x.shape[0], x.shape[1]
        directions = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * directions, batch, self.hidden_size)
        if hx is None:
            zeros = Tensor(backend.get_array_module(x.array).zeros(state_shape, dtype=x.dtype))
            h0, c0 = zeros, zeros
        else:
            h0, c0 = hx
            if unbatched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            for name, t in (("h0", h0), ("c0", c0)):
                if t.shape != state_shape:
                    raise RuntimeError(f"LSTM: Expected hidden size {state_shape}, got "
                                       f"{t.shape} for {name}")
        last_h, last_c = [], []
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, suffix)
                projected = F.linear(x, w_ih, b_ih)                      # every step at once
                h, c = h0[layer * directions + d], c0[layer * directions + d]
                order = range(steps) if d == 0 else range(steps - 1, -1, -1)
                hs: list = [None] * steps
                for t in order:
                    h, c = lstm_step(projected[t], h, c, w_hh, b_hh)
                    hs[t] = h
                outputs.append(F.stack(hs, 0))
                last_h.append(h)
                last_c.append(c)
            x = outputs[0] if directions == 1 else F.cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n, c_n = F.stack(last_h, 0), F.stack(last_c, 0)
        if x.dtype == np.float32 and directions == 1:
            # PyTorch runs a float32 LSTM with oneDNN, whose backward keeps the last layer's
            # output: writing into it before backward is refused there, and so here
            x = F.keeps(x, output=True, name="MkldnnRnnLayerBackward0", one_node=False)
        if unbatched:
            return x.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
        return (x.transpose(0, 1) if self.batch_first else x), (h_n, c_n)

    def extra_repr(self) -> str:
        extra = "".join(f", {k}={v}" for k, v, default in (
            ("num_layers", self.num_layers, 1), ("bias", self.bias, True),
            ("batch_first", self.batch_first, False), ("dropout", self.dropout, 0.0),
            ("bidirectional", self.bidirectional, False)) if v != default)
        return f"{self.input_size}, {self.hidden_size}{extra}"


class LSTMCell(Module):
    """One LSTM step as a layer: input (N, input_size), (h, c) each (N, hidden_size) ->
    the new (h, c). Parameters weight_ih, weight_hh, bias_ih, bias_hh, as in PyTorch."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None, *, generator: Any = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        _add_gate_weights(self, "", input_size, hidden_size, bias, dtype, generator)
        if not bias:
            self.bias_ih = self.bias_hh = None
        if device is not None:
            self.to(device)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None  # noqa: A002
                ) -> tuple[Tensor, Tensor]:
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        if hx is None:
            zeros = Tensor(backend.get_array_module(x.array).zeros(
                (x.shape[0], self.hidden_size), dtype=x.dtype))
            hx = (zeros, zeros)
        h, c = (t.unsqueeze(0) for t in hx) if unbatched else hx
        h, c = lstm_step(F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh,
                         self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


def _add_gate_weights(module: Module, suffix: str, width: int, hidden_size: int, bias: bool,
                      dtype: Any, generator: Any) -> None:
    """One LSTM cell's parameters, PyTorch's names and init: weight_ih (4H, width), weight_hh
    (4H, H) and, with bias, bias_ih and bias_hh (4H,), the four gates stacked (i, f, g, o);
    each drawn from U(-1/sqrt(H), 1/sqrt(H))."""
    xp, dtype = backend.xp(), dtype or backend.DEFAULT_DTYPE
    bound = 1.0 / math.sqrt(hidden_size)
    shapes = {"weight_ih": (4 * hidden_size, width), "weight_hh": (4 * hidden_size, hidden_size)}
    if bias:
        shapes.update(bias_ih=(4 * hidden_size,), bias_hh=(4 * hidden_size,))
    for name, shape in shapes.items():
        p = Parameter(xp.empty(shape, dtype=dtype))
        init.uniform_(p, -bound, bound, generator)
        setattr(module, name + suffix, p)
