"""Time one MLP-GAN training step in tinygan and in PyTorch, side by side, in one process.

The step (the seed documents' MNIST GAN, with BCE on logits):

    G: 100 -> 256 -> 512 -> 1024 -> 784, ReLU between, Tanh at the end
    D: 784 -> 512 -> 256 -> 1, LeakyReLU(0.2) between, a logit at the end
    Adam(lr=2e-4, betas=(0.5, 0.999)) for both
    fake = G(z)                         z ~ N(0, 1), fresh every step
    D step: BCE(D(real), 1) + BCE(D(fake.detach()), 0), backward, step
    G step: BCE(D(fake), 1) (non-saturating; the same fake batch), backward, step

Both frameworks start from the same weights (copied through state_dict) and run with the
same number of threads. Blocks of steps alternate (tinygan, torch, tinygan, torch, ...) after
a warm-up, so a noisy neighbour slows both about equally; the ratio reported is the median of
the per-pair ratios.

Throughput: the matmul flops a step performs (2*M*K*N per product, listed by
``step_matmuls``) divided by the step time, next to NumPy's own sgemm throughput on exactly
those products, timed in the same run. The gap between them is everything that is not a
matrix product: elementwise ops, Adam, the autograd bookkeeping.

    python benchmarks/bench_mlp_gan.py                  # batches 64, 256, 1024, 4096
    python benchmarks/bench_mlp_gan.py --quick          # a fast look (64 and 1024, few steps)
    python benchmarks/bench_mlp_gan.py --memory         # RSS over a long run (5,000 steps)
    python benchmarks/bench_mlp_gan.py --profile --batches 1024 --threads 1   # where it goes
    python benchmarks/bench_mlp_gan.py --backend cupy   # GPU: tinygan on CuPy vs torch CUDA
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygan as tg  # noqa: E402
from harness import machine_description, profile, select_backend, set_threads, timed_block  # noqa: E402
from tinygan import backend, nn, optim  # noqa: E402
from tinygan import functional as F  # noqa: E402

Z_DIM, IMAGE = 100, 784
G_SIZES = [Z_DIM, 256, 512, 1024, IMAGE]
D_SIZES = [IMAGE, 512, 256, 1]
LR, BETAS = 2e-4, (0.5, 0.999)


# =======================================================================================
# The models and the step, in tinygan
# =======================================================================================
def tinygan_models(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    gen = tg.Generator(seed)
    g_layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(G_SIZES[:-1], G_SIZES[1:])):
        g_layers += [nn.Linear(a, b, generator=gen),
                     nn.ReLU() if i < len(G_SIZES) - 2 else nn.Tanh()]
    d_layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(D_SIZES[:-1], D_SIZES[1:])):
        d_layers.append(nn.Linear(a, b, generator=gen))
        if i < len(D_SIZES) - 2:
            d_layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*g_layers), nn.Sequential(*d_layers)


class TinyganStep:
    """One D step and one G step, as in the module docstring."""

    def __init__(self, G: nn.Module, D: nn.Module, batch: int, seed: int = 1) -> None:
        self.G, self.D = G, D
        self.opt_g = optim.Adam(G.parameters(), lr=LR, betas=BETAS)
        self.opt_d = optim.Adam(D.parameters(), lr=LR, betas=BETAS)
        self.noise = tg.Generator(seed)
        xp = backend.xp()
        self.real = tg.Tensor(xp.asarray(
            np.random.default_rng(seed).uniform(-1, 1, (batch, IMAGE)).astype(np.float32)))
        self.ones = tg.ones(batch, 1)
        self.zeros = tg.zeros(batch, 1)
        self.batch = batch

    def __call__(self, z: Any = None) -> tuple[float, float]:
        if z is None:
            z = self.noise.normal((self.batch, Z_DIM))
        fake = self.G(tg.Tensor(z))
        # D step: real -> 1, detached fake -> 0
        loss_d = (F.binary_cross_entropy_with_logits(self.D(self.real), self.ones)
                  + F.binary_cross_entropy_with_logits(self.D(fake.detach()), self.zeros))
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        # G step (non-saturating): make D call the same fake batch real
        loss_g = F.binary_cross_entropy_with_logits(self.D(fake), self.ones)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        return loss_d, loss_g


# =======================================================================================
# The same in PyTorch
# =======================================================================================
def torch_step_factory(torch: Any, G_tg: nn.Module, D_tg: nn.Module, batch: int,
                       device: str, seed: int = 1) -> Callable[..., Any]:
    tnn = torch.nn

    def build(sizes: list[int], hidden: Callable[[], Any], last: Callable[[], Any] | None):
        layers: list[Any] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(tnn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(hidden())
            elif last is not None:
                layers.append(last())
        return tnn.Sequential(*layers)

    G = build(G_SIZES, tnn.ReLU, tnn.Tanh)
    D = build(D_SIZES, lambda: tnn.LeakyReLU(0.2), None)
    for t_model, tg_model in ((G, G_tg), (D, D_tg)):  # the same starting weights
        t_model.load_state_dict({k: torch.from_numpy(backend.to_numpy(v).copy())
                                 for k, v in tg_model.state_dict().items()})
        t_model.to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    bce = tnn.BCEWithLogitsLoss()
    gen = torch.Generator(device=device).manual_seed(seed)
    real = torch.from_numpy(
        np.random.default_rng(seed).uniform(-1, 1, (batch, IMAGE)).astype(np.float32)).to(device)
    ones = torch.ones(batch, 1, device=device)
    zeros = torch.zeros(batch, 1, device=device)

    def step(z: Any = None) -> tuple[Any, Any]:
        if z is None:
            z = torch.randn(batch, Z_DIM, generator=gen, device=device)
        fake = G(z)
        loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(D(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return loss_d, loss_g

    return step


# =======================================================================================
# Flops and NumPy's own matmul speed on the same products
# =======================================================================================
def step_matmuls(n: int) -> list[tuple[str, int, int, int]]:
    """(kind, n, a, b) for every matrix product one step computes, 2 n a b flops each
    (PyTorch computes the same ones).

    Per Linear(a, b) on a batch of n, with W of shape (b, a):
      "forward"  x W^T   (n, a) @ (a, b)
      "weight"   gy^T x  (b, n) @ (n, a)   the weight gradient
      "input"    gy W    (n, b) @ (b, a)   the input gradient, skipped when the layer's
                                           input needs none (the data batch, the noise z)
    D runs three times (real, detached fake, fake for the G step), each with a backward that
    computes D's weight gradients (the G step computes them too; zero_grad drops them);
    only the G step's backward needs D's input gradient at its first layer.
    """
    g_layers = list(zip(G_SIZES[:-1], G_SIZES[1:]))
    d_layers = list(zip(D_SIZES[:-1], D_SIZES[1:]))
    products: list[tuple[str, int, int, int]] = []

    def pass_through(layers: list[tuple[int, int]], first_input_grad: bool) -> None:
        for i, (a, b) in enumerate(layers):
            products.append(("forward", n, a, b))
            products.append(("weight", n, a, b))
            if i > 0 or first_input_grad:
                products.append(("input", n, a, b))

    pass_through(g_layers, first_input_grad=False)           # G on z
    pass_through(d_layers, first_input_grad=False)           # D on real
    pass_through(d_layers, first_input_grad=False)           # D on fake.detach()
    pass_through(d_layers, first_input_grad=True)            # D on fake, into G
    return products


def step_flops(n: int) -> int:
    return sum(2 * n * a * b for _, n, a, b in step_matmuls(n))


def sgemm_operands(n: int, xp: Any) -> list[tuple[Any, Any]]:
    """The (a, b) pairs of every product of one step, on random float32 arrays laid out as
    the engine's: W stored (out, in) and read through its transposed view, gy^T a view too.
    Arrays are shared between products of the same layer shape (D's three passes)."""
    rng = np.random.default_rng(0)
    layers: dict[tuple[int, int], tuple[Any, Any, Any]] = {}
    operands = []
    for kind, n_, a, b in step_matmuls(n):
        if (a, b) not in layers:
            layers[a, b] = tuple(xp.asarray(rng.standard_normal(shape, dtype=np.float32))
                                 for shape in ((n_, a), (b, a), (n_, b)))
        x, W, gy = layers[a, b]
        operands.append({"forward": (x, W.T), "weight": (gy.T, x), "input": (gy, W)}[kind])
    return operands


def sgemm_seconds(operands: list[tuple[Any, Any]], sync: Callable[[], None]) -> float:
    """Time for NumPy (or CuPy) alone to compute the products of one step, ``a @ b`` each:
    the ceiling for the whole step."""
    sync()
    start = time.perf_counter()
    for a, b in operands:
        a @ b
    sync()
    return time.perf_counter() - start


# =======================================================================================
# Running
# =======================================================================================
def peak_traced_bytes(step: Callable[[], Any]) -> int:
    """Peak bytes NumPy allocates during one step (NumPy reports its buffers to tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def check_same_losses(tg_step: TinyganStep, torch_step: Callable[..., Any], torch: Any,
                      device: str) -> float:
    """One step on identical noise: the losses must agree (the comparison is like for like)."""
    z = np.random.default_rng(7).standard_normal((tg_step.batch, Z_DIM)).astype(np.float32)
    ld, lg = tg_step(backend.xp().asarray(z))
    td, tgl = torch_step(torch.from_numpy(z).to(device))
    return max(abs(ld.item() - td.item()), abs(lg.item() - tgl.item()))


def run_batch(n: int, args: argparse.Namespace, torch: Any, device: str,
              sync: Callable[[], None]) -> dict[str, Any]:
    G, D = tinygan_models(seed=0)
    tg_step = TinyganStep(G, D, n)
    torch_step = None
    if torch is not None:
        torch_step = torch_step_factory(torch, G, D, n, device)
        diff = check_same_losses(tg_step, torch_step, torch, device)
        if diff > 1e-3:
            raise SystemExit(f"batch {n}: tinygan and PyTorch losses differ by {diff:.2e} on "
                             f"the same noise; the comparison would not be like for like")
    steps = args.steps or max(4, int(round(args.step_budget / max(n, 64) * 64)))
    for _ in range(args.warmup):
        tg_step()
        if torch_step is not None:
            torch_step()
    # each round: a block of tinygan steps, a block of torch steps, and NumPy's own time for
    # the step's products (best of 2), so all three see the same machine load
    operands = sgemm_operands(n, backend.xp())
    # the same products in PyTorch (its own BLAS), to tell BLAS speed from engine overhead
    torch_operands = ([(torch.from_numpy(a), torch.from_numpy(b)) for a, b in operands]
                      if torch is not None and device == "cpu" else None)
    tg_times, torch_times, sgemm_times, torch_mm_times = [], [], [], []
    for _ in range(args.pairs):
        tg_times.append(timed_block(tg_step, steps, sync))
        if torch_step is not None:
            torch_times.append(timed_block(torch_step, steps, sync))
        sgemm_times.append(min(sgemm_seconds(operands, sync) for _ in range(2)))
        if torch_operands is not None:
            torch_mm_times.append(min(sgemm_seconds(torch_operands, sync) for _ in range(2)))
    del operands, torch_operands
    flops = step_flops(n)
    best_tg, best_sgemm = min(tg_times), min(sgemm_times)
    row: dict[str, Any] = {
        "batch": n, "steps": steps * args.pairs,
        "tinygan_ms": 1e3 * statistics.median(tg_times), "tinygan_best_ms": 1e3 * best_tg,
        "tinygan_spread": (max(tg_times) - min(tg_times)) / statistics.median(tg_times),
        "tinygan_gflops": flops / best_tg / 1e9,
        "sgemm_gflops": flops / best_sgemm / 1e9, "sgemm_ms": 1e3 * best_sgemm,
        # the share of sgemm's speed, per round (same load), then the median of the rounds
        "of_sgemm": statistics.median(s / t for s, t in zip(sgemm_times, tg_times)),
    }
    if torch_times:
        ratios = [a / b for a, b in zip(tg_times, torch_times)]
        row.update(torch_ms=1e3 * statistics.median(torch_times),
                   torch_best_ms=1e3 * min(torch_times),
                   ratio=statistics.median(ratios), ratio_min=min(ratios),
                   ratio_max=max(ratios), torch_gflops=flops / min(torch_times) / 1e9,
                   torch_of_sgemm=statistics.median(
                       s / t for s, t in zip(sgemm_times, torch_times)))
    if torch_mm_times:
        row["torch_matmul_gflops"] = flops / min(torch_mm_times) / 1e9
    if device == "cpu":
        row["tinygan_peak_mb"] = peak_traced_bytes(tg_step) / 2**20
    return row


def print_row(r: dict[str, Any]) -> None:
    line = (f"batch {r['batch']:5d} | tinygan {r['tinygan_ms']:8.2f} ms/step "
            f"(best {r['tinygan_best_ms']:.2f}, spread {100 * r['tinygan_spread']:.0f}%)")
    if "torch_ms" in r:
        line += (f" | torch {r['torch_ms']:8.2f} ms/step | ratio {r['ratio']:.2f} "
                 f"[{r['ratio_min']:.2f}-{r['ratio_max']:.2f}]")
    line += (f" | tinygan {r['tinygan_gflops']:6.1f} GFLOP/s, sgemm {r['sgemm_gflops']:6.1f}: "
             f"{100 * r['of_sgemm']:3.0f}% of sgemm")
    if "torch_of_sgemm" in r:
        line += f" (torch {100 * r['torch_of_sgemm']:.0f}%)"
    if "torch_matmul_gflops" in r:
        line += f" | torch's own matmul {r['torch_matmul_gflops']:.1f} GFLOP/s"
    if "tinygan_peak_mb" in r:
        line += f" | peak {r['tinygan_peak_mb']:.0f} MB"
    print(line, flush=True)


def markdown_table(rows: list[dict[str, Any]], machine: dict[str, str], args: Any) -> str:
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores ({args.threads} threads for both); "
        f"Python {machine['python']}, NumPy {machine['numpy']} ({machine['blas']}, kernel "
        f"{machine['blas_kernel']}), "
        f"PyTorch {machine['torch']}. Backend: {args.backend}.",
        "",
        "| batch | tinygan ms/step | PyTorch ms/step | tinygan / PyTorch | tinygan GFLOP/s "
        "| sgemm GFLOP/s (same products) | tinygan % of sgemm | PyTorch % of sgemm "
        "| PyTorch's matmul GFLOP/s (same products) | peak traced MB (tinygan step) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        torch_ms = f"{r['torch_ms']:.1f}" if "torch_ms" in r else "-"
        ratio = (f"{r['ratio']:.2f} ({r['ratio_min']:.2f}-{r['ratio_max']:.2f})"
                 if "ratio" in r else "-")
        peak = f"{r['tinygan_peak_mb']:.0f}" if "tinygan_peak_mb" in r else "-"
        torch_pct = f"{100 * r['torch_of_sgemm']:.0f}%" if "torch_of_sgemm" in r else "-"
        torch_mm = f"{r['torch_matmul_gflops']:.0f}" if "torch_matmul_gflops" in r else "-"
        lines.append(f"| {r['batch']} | {r['tinygan_ms']:.1f} | {torch_ms} | {ratio} | "
                     f"{r['tinygan_gflops']:.0f} | {r['sgemm_gflops']:.0f} | "
                     f"{100 * r['of_sgemm']:.0f}% | {torch_pct} | {torch_mm} | {peak} |")
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines += ["", f"Process peak RSS (both frameworks, all batches): {maxrss_mb:.0f} MB. "
              f"{load_note()}"]
    return "\n".join(lines)


def load_note() -> str:
    """The machine's load average: other jobs on the cores make every timing noisier."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return ""
    note = f"Load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
    if five > 0.5 * (os.cpu_count() or 1):
        note += ": a busy machine, timings are noisy (multi-threaded ones most)"
    return note + "."


# =======================================================================================
# --memory: resident memory over a long run
# =======================================================================================
def rss_mb() -> float:
    """Current resident set size (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_run(steps: int, batch: int, every: int, baseline_step: int) -> int:
    """Run ``steps`` tinygan steps; print RSS every ``every`` steps; fail (exit 1) if RSS grew
    by 5% or more between ``baseline_step`` and the end."""
    G, D = tinygan_models(seed=0)
    step = TinyganStep(G, D, batch)
    baseline = None
    print(f"memory check: {steps} steps at batch {batch}", flush=True)
    start = time.perf_counter()
    for i in range(1, steps + 1):
        step()
        if i == baseline_step:
            baseline = rss_mb()
        if i % every == 0 or i == steps:
            print(f"step {i:6d}  RSS {rss_mb():8.1f} MB  ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    final = rss_mb()
    baseline = baseline if baseline is not None else final
    growth = (final - baseline) / baseline
    print(f"RSS at step {baseline_step}: {baseline:.1f} MB, at step {steps}: {final:.1f} MB, "
          f"growth {100 * growth:+.2f}% (limit +5%)")
    return 0 if growth < 0.05 else 1


# =======================================================================================
# --profile: where tinygan's time goes
# =======================================================================================
def profile_run(batch: int, steps: int, top: int = 25) -> int:
    """cProfile (CPU time) of ``steps`` tinygan steps, the functions with most own time first.
    Op names are in the line numbers: functional.py's ``forward`` of MatMul, Linear, ...;
    NumPy work written as operators (``a * b``) is counted in the function that writes it."""
    G, D = tinygan_models(seed=0)
    step = TinyganStep(G, D, batch)
    for _ in range(3):
        step()
    print(f"tinygan step at batch {batch}, {steps} steps, CPU time:")
    profile(step, steps, top, timer=time.process_time)
    return 0


# =======================================================================================
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024, 4096])
    p.add_argument("--steps", type=int, default=0,
                   help="steps per timed block (default: 40 at batch 64, fewer when larger, "
                        "at least 4)")
    p.add_argument("--pairs", type=int, default=7, help="alternating (tinygan, torch) blocks")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps of each framework")
    p.add_argument("--quick", action="store_true", help="batches 64 and 1024, short blocks")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    p.add_argument("--no-torch", action="store_true", help="time tinygan alone")
    p.add_argument("--write", type=Path, default=None,
                   help="write the results table (Markdown) to this file")
    p.add_argument("--memory", action="store_true",
                   help="instead of timing: RSS over a long run (see --memory-steps)")
    p.add_argument("--memory-steps", type=int, default=5000)
    p.add_argument("--memory-batch", type=int, default=64)
    p.add_argument("--profile", action="store_true",
                   help="instead of timing: cProfile tinygan's step at the first --batches")
    args = p.parse_args(argv)
    args.step_budget = 40
    if args.quick:
        args.batches = [64, 1024] if args.batches == p.get_default("batches") else args.batches
        args.pairs, args.warmup, args.step_budget = 3, 2, 12

    torch = None
    if not args.no_torch:
        try:
            import torch  # type: ignore[no-redef]
        except ImportError:
            print("PyTorch is not installed: timing tinygan alone", flush=True)
    set_threads(args.threads, torch)

    if args.memory:
        return memory_run(args.memory_steps, args.memory_batch, every=500, baseline_step=500)
    if args.profile:
        return profile_run(args.batches[0], args.steps or max(5, 4096 // args.batches[0]))

    device, sync, torch = select_backend(args.backend, torch)

    machine = machine_description(torch)
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()), flush=True)
    print(load_note(), flush=True)
    rows = []
    for n in args.batches:
        rows.append(run_batch(n, args, torch, device, sync))
        print_row(rows[-1])
    table = markdown_table(rows, machine, args)
    print()
    print(table)
    if args.write:
        args.write.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
