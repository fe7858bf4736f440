"""Seeded random numbers: every random draw in tinygan goes through a ``Generator``.

Same seed, same numbers, bit for bit (on each device). There is one default generator, used
when no ``generator=`` is passed; ``tinygan.manual_seed(seed)`` resets it, so no hidden state
is out of a learner's reach. Changing the default device (``tinygan.use``) keeps it and its seed.

A draw happens on the device of the tensor it serves (``device=``; when a draw names none,
the generator's own ``device``, else the default device). A Generator therefore keeps one
*stream* per device, each seeded from the one seed:

* on the CPU, NumPy's PCG64, whose state can be read and written;
* on a GPU, CuPy's generators, whose state cannot be read. So a device stream is a counter:
  draw number k is made by a fresh device generator seeded with a key derived from
  (seed, device, k) (NumPy's SeedSequence mixes them). Its whole state is (seed, k).

``get_state()`` holds every stream, so a checkpoint resumes bit for bit on either device.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from tinygan.devices import backend

Shape = Sequence[int] | int

_STREAM_IDS = {"cpu": 0, "cuda": 1}   # part of each device stream's key: distinct streams


class _ReadableStream:
    """A device generator whose state can be saved (NumPy's PCG64 on the CPU)."""

    def __init__(self, device: str, seed: int | None) -> None:
        self.rng = backend.new_rng(device, seed)

    def next_rng(self) -> Any:
        return self.rng

    def get_state(self) -> dict:
        return {"kind": "pcg64", "state": self.rng.bit_generator.state}

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["state"]


class _CountedStream:
    """A device whose generator state cannot be read: draw k comes from a generator seeded
    with key(seed, device, k), so (seed, k) is the whole state."""

    def __init__(self, device: str, seed: int | None) -> None:
        self.device = device
        # no seed: fresh entropy once, then counted like any other (so it can be saved)
        self.seed = int(np.random.SeedSequence().entropy) if seed is None else seed
        self.draws = 0

    def next_rng(self) -> Any:
        key = np.random.SeedSequence(self.seed, spawn_key=(_STREAM_IDS[self.device],
                                                           self.draws))
        self.draws += 1
        return backend.new_rng(self.device, int(key.generate_state(1, np.uint64)[0] >> 1))

    def get_state(self) -> dict:
        return {"kind": "counted", "seed": self.seed, "draws": self.draws}

    def set_state(self, state: dict) -> None:
        self.seed, self.draws = int(state["seed"]), int(state["draws"])


def _new_stream(device: str, seed: int | None) -> _ReadableStream | _CountedStream:
    if backend.rng_state_readable(device):
        return _ReadableStream(device, seed)
    return _CountedStream(device, seed)


class Generator:
    """A seeded source of random arrays, one stream per device.

    ``device``: where draws that name no device go (default: the default device at the time
    of the draw). Every draw method takes ``device=`` to draw straight onto a tensor's device.

    >>> g = Generator(0); g.normal((2, 3)).shape
    (2, 3)
    """

    def __init__(self, seed: int | None = 0, device: Any = None) -> None:
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"Generator seed must be a non-negative int, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._device = None if device is None else backend.normalize_device(device)
        self._streams: dict[str, _ReadableStream | _CountedStream] = {}

    @property
    def device(self) -> str:
        """Where a draw that names no device goes."""
        return self._device or backend.default_device()

    @property
    def xp(self):
        """The array module of ``device`` (for code that builds arrays beside its draws)."""
        return backend.module_for_device(self.device)

    def _rng(self, device: Any) -> Any:
        """The source for one draw on ``device`` (the stream is made on first use)."""
        name = self.device if device is None else backend.normalize_device(device)
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = _new_stream(name, self.seed)
        return stream.next_rng()

    def initial_seed(self) -> int:
        """The seed this generator was made with or last given (PyTorch's name)."""
        return self.seed

    def manual_seed(self, seed: int) -> "Generator":
        """Restart every stream from ``seed`` (PyTorch's name)."""
        self.seed = int(seed)
        self._streams.clear()
        return self

    # -- draws (dtype float32 unless asked) ------------------------------------------------
    def random(self, shape: Shape, dtype: Any = None, device: Any = None) -> Any:
        """Uniform on [0, 1)."""
        dtype = _float_draw("check_uniform_bounds", dtype)
        if dtype == np.float16:        # NumPy draws float32 and float64 only
            return self._rng(device).random(shape, np.float32).astype(np.float16)
        return self._rng(device).random(shape, dtype)

    def uniform(self, shape: Shape, low: float = 0.0, high: float = 1.0,
                dtype: Any = None, device: Any = None) -> Any:
        """Uniform on [low, high)."""
        u = self.random(shape, dtype, device)
        return (u * (high - low) + low).astype(u.dtype, copy=False)

    def normal(self, shape: Shape, mean: float = 0.0, std: float = 1.0,
               dtype: Any = None, device: Any = None) -> Any:
        """Gaussian N(mean, std^2)."""
        dtype = _float_draw("normal_kernel_cpu", dtype)
        z = self._rng(device).standard_normal(shape, np.float32 if dtype == np.float16 else dtype)
        z = z.astype(dtype, copy=False)
        if mean != 0.0 or std != 1.0:
            z = (z * std + mean).astype(dtype, copy=False)
        return z

    def integers(self, low: int, high: int | None = None, shape: Shape | None = None,
                 device: Any = None) -> Any:
        """Integers in [low, high) (or [0, low) when high is None), int64."""
        if high is None:
            low, high = 0, low
        return self._rng(device).integers(low, high, shape)

    def permutation(self, n: int, device: Any = None) -> Any:
        """A random ordering of range(n)."""
        return self._rng(device).permutation(n)

    def bernoulli(self, shape: Shape, p: float, dtype: Any = None, device: Any = None) -> Any:
        """1 with probability p, else 0."""
        dtype = dtype or backend.DEFAULT_DTYPE
        return (self.random(shape, dtype, device) < p).astype(dtype)

    # -- state for checkpoints ---------------------------------------------------------
    def get_state(self) -> dict:
        """Plain (JSON-ready) values that restore every stream exactly."""
        return {"seed": self.seed,
                "streams": {name: s.get_state() for name, s in self._streams.items()}}

    def set_state(self, state: dict) -> None:
        """Restore what ``get_state`` returned (or, from older checkpoints, a bare NumPy
        bit-generator state, which was the CPU stream)."""
        if "bit_generator" in state:
            state = {"seed": self.seed, "streams": {"cpu": {"kind": "pcg64", "state": state}}}
        self.seed = None if state["seed"] is None else int(state["seed"])
        self._streams = {}
        for name, saved in state["streams"].items():
            stream = self._streams[name] = _new_stream(name, self.seed)
            stream.set_state(saved)

    def __repr__(self) -> str:
        return f"Generator(seed={self.seed}, device={self.device!r})"


def _fresh_seed() -> int:
    """64 bits from the operating system: a seed no other process shares."""
    return int.from_bytes(os.urandom(8), "little")


# Like PyTorch's, the default generator starts from a fresh seed in every process, so two
# unseeded runs differ (a learner running a script twice sees the spread); a script that
# wants the same numbers calls manual_seed, or passes its own Generator(seed).
_default_generator = Generator(_fresh_seed())


def default_generator() -> Generator:
    """The generator used when a draw is given none; reset it with ``manual_seed``."""
    return _default_generator


def initial_seed() -> int:
    """The seed the default generator started from (or was last given), as
    torch.initial_seed()."""
    return _default_generator.seed


def seed() -> int:
    """Give the default generator a fresh seed from the operating system and return it (as
    torch.seed())."""
    fresh = _fresh_seed()
    _default_generator.manual_seed(fresh)
    return fresh


def manual_seed(seed: int) -> Generator:
    """Reset the default generator to ``seed`` and return it (as torch.manual_seed)."""
    return _default_generator.manual_seed(seed)


def _float_draw(kernel: str, dtype: Any) -> Any:
    """The dtype of a draw of floats: float32 unless asked; an int or bool dtype is refused,
    as PyTorch's kernels refuse it."""
    dtype = np.dtype(dtype or backend.DEFAULT_DTYPE)
    if dtype.kind not in "f":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{backend.TORCH_DTYPE_NAMES.get(dtype.name, dtype.name)}'; ask for "
                                  f"a float dtype (randint draws integers)")
    return dtype
