"""Run a PyTorch GAN script under PyTorch, or under tinygan with only its imports changed.

``run_script(path, framework, args)`` executes the script as ``__main__`` in a scratch
folder and returns what it reported: every ``.item()`` value in call order (the losses it
prints), and the time of each optimizer step. For the two runs to be comparable, both draw
the same numbers: while a script runs,

* the initial weights: when an optimizer is built, the PyTorch run records its parameters
  and the tinygan run overwrites its own (same order) with those values;
* the global random generator of each framework is seeded with ``seed`` (and restored
  afterwards), so what the script draws outside the shared stream, and so the run, does
  not depend on what ran before it in the same process;
* the random draws the script asks for (``torch.randn/rand/randint/randperm/*_like``, the
  DataLoader's shuffle, dropout masks, ``np.random``, ``random``) come from one NumPy
  stream seeded the same way in both runs.

Nothing else is changed: the scripts' own code runs as written.
"""
from __future__ import annotations

import contextlib
import io
import os
import random
import re
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

HERE = Path(__file__).parent
SCRIPTS = HERE / "scripts"
DOUBLES = HERE / "doubles"

_IMPORT = re.compile(r"^(\s*)import torch((?:\.\w+)*)(\s+as\s+\w+)?\s*$")
_FROM = re.compile(r"^(\s*)from torch((?:\.\w+)*) import (.+)$")


def rewrite_imports(source: str) -> str:
    """Change only the lines that import torch: ``import torch`` -> ``import tinygan as
    torch``, ``import torch.nn as nn`` -> ``import tinygan.nn as nn``, ``import
    torch.utils.data`` -> ``import tinygan.utils.data; import tinygan as torch``, ``from
    torch.x import y`` -> ``from tinygan.x import y``. One line stays one line."""
    out = []
    for line in source.splitlines():
        m, f = _IMPORT.match(line), _FROM.match(line)
        if m:
            indent, sub, alias = m.group(1), m.group(2), m.group(3)
            if alias:
                line = f"{indent}import tinygan{sub}{alias}"
            elif sub:
                line = f"{indent}import tinygan{sub}; import tinygan as torch"
            else:
                line = f"{indent}import tinygan as torch"
        elif f:
            line = f"{f.group(1)}from tinygan{f.group(2)} import {f.group(3)}"
        out.append(line)
    return "\n".join(out) + "\n"


@dataclass
class Run:
    items: list[float] = field(default_factory=list)        # every .item(), in order
    step_times: list[float] = field(default_factory=list)   # last-built optimizer's steps
    stdout: str = ""
    seconds: float = 0.0

    def per_iteration(self) -> float:
        """Median time between successive iterations (steps of the last-built optimizer)."""
        gaps = np.diff(self.step_times)
        return float(np.median(gaps)) if len(gaps) else float("nan")


class _Shared:
    """The one random stream both runs draw from."""

    def __init__(self, seed: int, dtype: Any = np.float32) -> None:
        self.rng, self.dtype = np.random.default_rng(seed), np.dtype(dtype)

    def normal(self, shape: tuple) -> np.ndarray:
        return self.rng.standard_normal(shape).astype(self.dtype)

    def uniform(self, shape: tuple) -> np.ndarray:
        return self.rng.random(shape).astype(self.dtype)

    def keep_mask(self, shape: tuple, p: float) -> np.ndarray:
        """Dropout's multiplier: 0 with probability p, else 1 / (1 - p)."""
        keep = self.rng.random(shape) >= p
        return (keep.astype(self.dtype) * self.dtype.type(1.0 / (1.0 - p))).astype(self.dtype)


def _shape(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


@contextlib.contextmanager
def _patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    had = name in vars(obj)
    old = vars(obj).get(name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        if had:
            setattr(obj, name, old)
        else:
            delattr(obj, name)


def _draws(fw: Any, shared: _Shared, to_tensor: Any) -> dict[str, Any]:
    """Replacements for the framework's random factories, drawing from ``shared``."""
    def make(values: np.ndarray, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Any:
        t = to_tensor(values, dtype, device)
        return t.requires_grad_(True) if requires_grad else t

    def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, **kw):
        return make(shared.normal(_shape(size)), dtype, device, requires_grad)

    def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, **kw):
        return make(shared.uniform(_shape(size)), dtype, device, requires_grad)

    def randint(*args, size=None, generator=None, dtype=None, device=None, **kw):
        args = list(args)
        if size is None:
            size = args.pop()
        low, high = (0, args[0]) if len(args) == 1 else args
        return to_tensor(shared.rng.integers(low, high, tuple(size)).astype(np.int64), dtype,
                         device)

    def randperm(n, generator=None, dtype=None, device=None, **kw):
        return to_tensor(shared.rng.permutation(n).astype(np.int64), dtype, device)

    def randn_like(t, dtype=None, **kw):
        return make(shared.normal(tuple(t.shape)), dtype or t.dtype, t.device)

    def rand_like(t, dtype=None, **kw):
        return make(shared.uniform(tuple(t.shape)), dtype or t.dtype, t.device)

    return {"randn": randn, "rand": rand, "randint": randint, "randperm": randperm,
            "randn_like": randn_like, "rand_like": rand_like}


def _optimizer_hook(fw_name: str, cls: Any, weights: list, step_times: list,
                    last: list) -> Any:
    original = cls.__init__

    def init(self, params, *args, **kwargs):
        params = list(params)
        flat = [p for g in params for p in (g["params"] if isinstance(g, dict) else [g])]
        index = len([w for w in last if w is not None])
        if fw_name == "torch":
            weights.append([p.detach().numpy().copy() for p in flat])
        elif index < len(weights):       # (without a torch run first: tinygan's own init)
            for p, w in zip(flat, weights[index], strict=True):
                if tuple(p.shape) != w.shape:
                    raise AssertionError(f"optimizer {index}: parameter shapes differ "
                                         f"between the runs ({p.shape} vs {w.shape})")
                p.array[...] = w
                p._bump_version()
        last.append(self)
        original(self, params, *args, **kwargs)
        step = type(self).step

        def timed_step(opt, *a, **k):
            out = step(opt, *a, **k)
            if last[-1] is opt:
                step_times.append(time.perf_counter())
            return out

        self.step = types.MethodType(timed_step, self)   # a bound method, as the
        # schedulers of both libraries expect (they wrap optimizer.step)

    return init


def run_script(path: Path, framework: str, args: list[str], workdir: Path, seed: int = 0,
               weights: list | None = None, mnist_size: int | None = None,
               dtype: Any = np.float32) -> Run:
    """Run ``path`` under ``framework`` ("torch" or "tinygan"). ``weights`` is filled by
    the torch run and read by the tinygan run (see the module docstring).

    ``dtype=np.float64`` makes float64 the default of both frameworks (and of the images and
    random draws), and the float32 tensor type a script may name (``torch.FloatTensor``,
    as in ``Tensor = torch.FloatTensor; imgs.type(Tensor)``) means float64 too: the two
    runs then agree to ~1e-12, which separates float32 rounding (amplified by training)
    from a real difference in what is computed.
    """
    import importlib
    fw = importlib.import_module(framework)
    source = path.read_text()
    if framework == "tinygan":
        source = rewrite_imports(source)
    run, shared = Run(), _Shared(seed, dtype)
    weights = [] if weights is None else weights
    np.random.seed(seed)
    random.seed(seed)
    if str(DOUBLES) not in sys.path:
        sys.path.insert(0, str(DOUBLES))
    import torchvision
    torchvision.use_framework(fw, dtype)

    if framework == "torch":
        import torch
        import torch.nn.functional as tF
        import torch.utils.data as tdata

        def to_tensor(values, dtype=None, device=None):
            t = torch.from_numpy(values)
            return t.to(dtype=dtype) if dtype is not None else t
        tensor_cls, optimizers = torch.Tensor, (torch.optim.Adam, torch.optim.RMSprop,
                                                torch.optim.SGD, torch.optim.Adadelta)
        sampler, dropout_owner, dropout2d_owner = tdata.RandomSampler, tF, tF
        dropout_name, dropout2d_name = "dropout", "dropout2d"
        default_dtype = (torch, "set_default_dtype", torch.get_default_dtype(),
                         getattr(torch, np.dtype(dtype).name))
    else:
        import tinygan
        import tinygan.engine.functional as gF
        import tinygan.nn.dropout as gdrop
        import tinygan.utils.data.sampler as gsampler

        def to_tensor(values, dtype=None, device=None):
            return tinygan.tensor(values, dtype=dtype, device=device)
        tensor_cls, optimizers = tinygan.Tensor, (tinygan.optim.Adam, tinygan.optim.RMSprop,
                                                  tinygan.optim.SGD, tinygan.optim.Adadelta)
        sampler, dropout_owner, dropout2d_owner = gsampler.RandomSampler, gF, gdrop
        dropout_name, dropout2d_name = "dropout", "dropout_channels"
        default_dtype = (tinygan.devices.backend, "DEFAULT_DTYPE", tinygan.devices.backend.DEFAULT_DTYPE,
                         np.dtype(dtype).type)

    def dropout(x, p=0.5, training=True, *rest, **kw):
        if not training or p == 0:
            return x
        return x * to_tensor(shared.keep_mask(tuple(x.shape), p), device=x.device)

    def dropout2d(x, p=0.5, training=True, *rest, **kw):
        if not training or p == 0:
            return x
        mask_shape = tuple(x.shape[:2]) + (1,) * (len(x.shape) - 2)
        return x * to_tensor(shared.keep_mask(mask_shape, p), device=x.device)

    original_item = tensor_cls.item

    def item(self):
        value = original_item(self)
        if sys._getframe(1).f_code.co_filename == str(path):   # the script's own calls
            run.items.append(float(value))
        return value

    last: list = []
    with contextlib.ExitStack() as stack:
        owner, attr, before, wanted = default_dtype
        if attr == "set_default_dtype":
            owner.set_default_dtype(wanted)
            stack.callback(owner.set_default_dtype, before)
        else:
            stack.enter_context(_patched(owner, attr, wanted))
        if framework == "torch":
            stack.enter_context(torch.random.fork_rng(devices=[]))
        fw.manual_seed(seed)
        if np.dtype(dtype) == np.float64:
            stack.enter_context(_patched(fw, "FloatTensor", fw.DoubleTensor))
        for name, fn in _draws(fw, shared, to_tensor).items():
            stack.enter_context(_patched(fw, name, fn))
        stack.enter_context(_patched(sampler, "__iter__", lambda self: iter(
            shared.rng.permutation(len(self.data_source)).tolist())))
        stack.enter_context(_patched(dropout_owner, dropout_name, dropout))
        stack.enter_context(_patched(dropout2d_owner, dropout2d_name, dropout2d))
        stack.enter_context(_patched(tensor_cls, "item", item))
        for cls in optimizers:
            stack.enter_context(_patched(cls, "__init__", _optimizer_hook(
                framework, cls, weights, run.step_times, last)))
        stack.enter_context(contextlib.chdir(workdir))
        stack.enter_context(_patched(sys, "argv", [str(path)] + list(args)))
        out = io.StringIO()
        stack.enter_context(contextlib.redirect_stdout(out))
        if mnist_size is not None:
            os.environ["TORCHVISION_DOUBLE_MNIST_SIZE"] = str(mnist_size)
            stack.callback(os.environ.pop, "TORCHVISION_DOUBLE_MNIST_SIZE", None)
        start = time.perf_counter()
        exec(compile(source, str(path), "exec"), {"__name__": "__main__",
                                                  "__file__": str(path)})
        run.seconds = time.perf_counter() - start
        run.stdout = out.getvalue()
    return run
