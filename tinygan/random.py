"""Seeded random numbers: every random draw in tinygan goes through a ``Generator``.

Same seed, same numbers, bit for bit (on NumPy). There is one default generator, used when
no ``generator=`` is passed; ``tinygan.manual_seed(seed)`` resets it, so no hidden state is
out of a learner's reach.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygan import backend


class Generator:
    """A seeded source of random arrays on the CPU (NumPy PCG64) or the GPU (CuPy).

    >>> g = Generator(0); g.normal((2, 3)).shape
    (2, 3)
    """

    def __init__(self, seed: int | None = 0, device: str | None = None) -> None:
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"Generator seed must be a non-negative int, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.device = backend.normalize_device(device) if device else (
            "cuda" if backend.backend_name() == "cupy" else "cpu")
        self._rng = self._make_rng(self.seed)

    def _make_rng(self, seed: int | None) -> Any:
        if self.device == "cuda":
            return backend.require_cupy().random.default_rng(seed)
        return np.random.default_rng(seed)

    @property
    def xp(self):
        return backend.module_for_device(self.device)

    def manual_seed(self, seed: int) -> "Generator":
        """Restart the stream from ``seed`` (PyTorch's name)."""
        self.seed = int(seed)
        self._rng = self._make_rng(self.seed)
        return self

    # -- draws (dtype float32 unless asked) ------------------------------------------------
    def random(self, shape: Sequence[int] | int, dtype: Any = None) -> Any:
        """Uniform on [0, 1)."""
        dtype = dtype or backend.DEFAULT_DTYPE
        if self.device == "cuda":
            return self._rng.random(shape, dtype=dtype)
        return self._rng.random(shape, dtype=dtype)

    def uniform(self, shape: Sequence[int] | int, low: float = 0.0, high: float = 1.0,
                dtype: Any = None) -> Any:
        """Uniform on [low, high)."""
        u = self.random(shape, dtype)
        return (u * (high - low) + low).astype(u.dtype, copy=False)

    def normal(self, shape: Sequence[int] | int, mean: float = 0.0, std: float = 1.0,
               dtype: Any = None) -> Any:
        """Gaussian N(mean, std^2)."""
        dtype = dtype or backend.DEFAULT_DTYPE
        z = self._rng.standard_normal(shape, dtype=dtype)
        if mean != 0.0 or std != 1.0:
            z = (z * std + mean).astype(dtype, copy=False)
        return z

    def integers(self, low: int, high: int | None = None,
                 shape: Sequence[int] | int | None = None) -> Any:
        """Integers in [low, high) (or [0, low) when high is None)."""
        if high is None:
            low, high = 0, low
        if self.device == "cuda":  # CuPy's Generator has no integers(): floor a uniform draw
            u = self._rng.random(shape if shape is not None else 1, dtype=np.float64)
            out = (low + self.xp.floor(u * (high - low))).astype(np.int64)
            return out if shape is not None else out[0]
        return self._rng.integers(low, high, size=shape)

    def permutation(self, n: int) -> Any:
        """A random ordering of range(n)."""
        if self.device == "cuda":
            return self.xp.argsort(self._rng.random(n, dtype=np.float64))
        return self._rng.permutation(n)

    def bernoulli(self, shape: Sequence[int] | int, p: float, dtype: Any = None) -> Any:
        """1 with probability p, else 0."""
        dtype = dtype or backend.DEFAULT_DTYPE
        return (self.random(shape, dtype) < p).astype(dtype)

    # -- state for checkpoints ---------------------------------------------------------
    def get_state(self) -> dict:
        """A dict of plain values that restores this stream exactly (NumPy only)."""
        if self.device == "cuda":
            raise NotImplementedError("saving a CuPy generator's state is not supported")
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state

    def __repr__(self) -> str:
        return f"Generator(seed={self.seed}, device={self.device!r})"


_default_generator: Generator | None = None


def default_generator() -> Generator:
    """The generator used when a draw is given none; reset it with ``manual_seed``."""
    global _default_generator
    wanted = "cuda" if backend.backend_name() == "cupy" else "cpu"
    if _default_generator is None or _default_generator.device != wanted:
        _default_generator = Generator(0, device=wanted)
    return _default_generator


def manual_seed(seed: int) -> Generator:
    """Reset the default generator to ``seed`` and return it (as torch.manual_seed)."""
    return default_generator().manual_seed(seed)
