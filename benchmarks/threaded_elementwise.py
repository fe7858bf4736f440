"""Would two Python threads make the MLP GAN step's elementwise work faster? (An experiment.)

With 2 BLAS threads, NumPy's matrix products use both cores, but every elementwise op
(activations, their backward, Adam) runs on one core. At batch 1024 that part is about 30 ms
of a ~100 ms step, and it is what keeps tinygan's share of sgemm speed near 65-70% with two
threads (82% with one). NumPy releases the GIL inside its loops, so a second Python thread
could take half of each large array. This script measures whether it pays, in the step of
benchmarks/bench_mlp_gan.py (same models, same Adam settings), without touching the library:

  plain     the step as tinygan runs it
  threaded  the same step with the row halves of every activation forward and backward
            (ReLU, LeakyReLU, Tanh and their gradient ops) on two threads, and each Adam
            split into two optimizers over halves of the parameters, stepped concurrently

Both start from the same weights and noise and must give the same losses. Blocks of steps
alternate (plain, threaded, sgemm reference) so both see the same machine load.

    python benchmarks/threaded_elementwise.py              # batch 1024, 2 threads
    python benchmarks/threaded_elementwise.py --rounds 10 --batch 256
"""
from __future__ import annotations

import argparse
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_mlp_gan import BETAS, LR, TinyganStep, sgemm_operands, sgemm_seconds, tinygan_models  # noqa: E402
from harness import machine_description, set_threads, timed_block  # noqa: E402
from tinygan import functional as F, optim  # noqa: E402
from tinygan.fast import activations as fast_activations  # noqa: E402

HELPER = ThreadPoolExecutor(max_workers=1)
MIN_SPLIT = 1 << 16          # smaller arrays are not worth a hand-off (~20-80 us)


def on_two_threads(kernel: Callable[..., None], out: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
    """kernel(out_rows, *input_rows) on the lower half of the rows here and on the upper
    half in the helper thread at the same time; NumPy drops the GIL inside each loop."""
    if out.ndim == 0 or out.size < MIN_SPLIT:
        kernel(out, *inputs)
        return out
    half = out.shape[0] // 2
    upper = HELPER.submit(kernel, out[half:], *(a[half:] for a in inputs))
    kernel(out[:half], *(a[:half] for a in inputs))
    upper.result()
    return out


# The library's forward passes, written into a given output (same passes, same order, so the
# results are bit for bit the library's).
def relu_into(y, x): np.maximum(x, 0, out=y)
def tanh_into(y, x): np.tanh(x, out=y)


def leaky_relu_into(slope):
    assert 0 <= slope <= 1, "the max(x, slope x) form holds for 0 <= slope <= 1"

    def kernel(y, x):
        np.multiply(x, slope, out=y)
        np.maximum(y, x, out=y)
    return kernel


def leaky_relu_grad_into(slope):
    def kernel(d, gy, x):
        np.greater(x, 0, out=d)
        if slope > 0:
            np.maximum(d, slope, out=d)
        d *= gy
    return kernel


def tanh_grad_into(d, gy, y):
    np.multiply(y, y, out=d)
    np.subtract(1, d, out=d)
    d *= gy


THREADED_FORWARDS = {
    F.ReLU: lambda self, x: on_two_threads(relu_into, np.empty_like(x), x),
    F.Tanh: lambda self, x: on_two_threads(tanh_into, np.empty_like(x), x),
    F.LeakyReLU: lambda self, x: on_two_threads(
        leaky_relu_into(x.dtype.type(self.slope)), np.empty_like(x), x),
    fast_activations.LeakyReLUGrad: lambda self, gy, x: on_two_threads(
        leaky_relu_grad_into(x.dtype.type(self.slope)), np.empty_like(x), gy, x),
    fast_activations.TanhGrad: lambda self, gy, y: on_two_threads(tanh_grad_into, np.empty_like(y), gy, y),
}


@contextmanager
def threaded_activations() -> Iterator[None]:
    saved = {cls: cls.forward for cls in THREADED_FORWARDS}
    for cls, forward in THREADED_FORWARDS.items():
        cls.forward = forward
    try:
        yield
    finally:
        for cls, forward in saved.items():
            cls.forward = forward


class TwoAdams:
    """Adam over two halves of the parameters (balanced by size), stepped concurrently."""

    def __init__(self, params: list[Any]) -> None:
        halves: tuple[list[Any], list[Any]] = ([], [])
        for p in sorted(params, key=lambda p: -p.array.size):   # largest first, to the lighter half
            min(halves, key=lambda h: sum(q.array.size for q in h)).append(p)
        self.halves = [optim.Adam(h, lr=LR, betas=BETAS) for h in halves]

    def zero_grad(self) -> None:
        for opt in self.halves:
            opt.zero_grad()

    def step(self) -> None:
        other = HELPER.submit(self.halves[1].step)
        self.halves[0].step()
        other.result()


def make_steps(batch: int) -> tuple[TinyganStep, TinyganStep]:
    plain = TinyganStep(*tinygan_models(0), batch)
    threaded = TinyganStep(*tinygan_models(0), batch)
    threaded.opt_g = TwoAdams(list(threaded.G.parameters()))
    threaded.opt_d = TwoAdams(list(threaded.D.parameters()))
    z = plain.noise.normal((batch, 100))
    expected = [float(loss.item()) for loss in plain(z)]
    with threaded_activations():
        got = [float(loss.item()) for loss in threaded(z)]
    if expected != got:
        raise SystemExit(f"the threaded step computes something else: {got} vs {expected}")
    return plain, threaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=5, help="steps per block")
    args = parser.parse_args(argv)
    set_threads(args.threads, None)
    plain, threaded = make_steps(args.batch)
    operands = sgemm_operands(args.batch, np)
    for _ in range(2):                                       # warm-up
        plain()
        with threaded_activations():
            threaded()
    times: dict[str, list[float]] = {"plain": [], "threaded": [], "sgemm": []}
    for _ in range(args.rounds):
        times["plain"].append(timed_block(plain, args.steps, lambda: None))
        with threaded_activations():
            times["threaded"].append(timed_block(threaded, args.steps, lambda: None))
        times["sgemm"].append(min(sgemm_seconds(operands, lambda: None) for _ in range(2)))
    machine = machine_description(None)
    print(f"{machine['cpu']}, {machine['cores']} cores; Python {machine['python']}, "
          f"NumPy {machine['numpy']} ({machine['blas']})")
    print(f"batch {args.batch}, {args.threads} BLAS threads, {args.rounds} rounds of "
          f"{args.steps} steps (medians; share = sgemm time / step time, per round)")
    for name in ("plain", "threaded"):
        share = statistics.median(s / t for s, t in zip(times["sgemm"], times[name]))
        print(f"  {name:9s} {1e3 * statistics.median(times[name]):7.1f} ms/step   "
              f"{100 * share:3.0f}% of sgemm")
    print(f"  sgemm     {1e3 * statistics.median(times['sgemm']):7.1f} ms (the step's products alone)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
