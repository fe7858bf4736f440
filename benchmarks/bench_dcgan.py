"""Time one DCGAN training step on 28x28 images in tinygan and in PyTorch, in one process.

The models are tinygan.gan.dcgan's DCGANGenerator / DCGANDiscriminator (base_channels 64,
z_dim 100) and a PyTorch copy of the same architecture, started from the same weights:

    fake = G(z)                                   z ~ N(0, 1), batch 64, fresh every step
    D step: BCE_logits(D(real), 1) + BCE_logits(D(fake.detach()), 0), backward, Adam step
    G step: BCE_logits(D(fake), 1)  (non-saturating), backward, Adam step
    Adam(lr=2e-4, betas=(0.5, 0.999)) for both networks; both in training mode
    (BatchNorm on batch statistics, Dropout 0.3 active).

Both frameworks use the same number of threads. After a warm-up, blocks of steps alternate
(tinygan, torch, tinygan, torch, ...) so a noisy neighbour slows both about equally; the
reported ratio is the median of the per-pair ratios. Before timing, one step on identical
noise with Dropout switched off checks that both compute the same losses.

    python benchmarks/bench_dcgan.py                  # batch 64, 5 pairs of 10-step blocks
    python benchmarks/bench_dcgan.py --quick          # a fast look (3 pairs of 3 steps)
    python benchmarks/bench_dcgan.py --profile        # where tinygan's time goes (cProfile)
    python benchmarks/bench_dcgan.py --backend cupy   # GPU: tinygan on CuPy vs torch CUDA
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygan as tg  # noqa: E402
from harness import machine_description, profile, select_backend, set_threads, timed_block  # noqa: E402
from tinygan import backend, nn, optim  # noqa: E402
from tinygan import functional as F  # noqa: E402
from tinygan.gan.dcgan import DCGANDiscriminator, DCGANGenerator  # noqa: E402

Z_DIM, BASE = 100, 64
LR, BETAS = 2e-4, (0.5, 0.999)


# =======================================================================================
# The step in tinygan
# =======================================================================================
class TinyganStep:
    def __init__(self, batch: int, seed: int = 0) -> None:
        gen = tg.Generator(seed)
        self.G = DCGANGenerator(Z_DIM, BASE, generator=gen)
        self.D = DCGANDiscriminator(BASE, dropout=0.3, generator=gen)
        self.opt_g = optim.Adam(self.G.parameters(), lr=LR, betas=BETAS)
        self.opt_d = optim.Adam(self.D.parameters(), lr=LR, betas=BETAS)
        self.noise = tg.Generator(seed + 1)
        self.real = tg.Tensor(backend.xp().asarray(real_batch(batch, seed)))
        self.ones, self.zeros = tg.ones(batch, 1), tg.zeros(batch, 1)
        self.batch = batch

    def __call__(self, z: Any = None) -> tuple[tg.Tensor, tg.Tensor]:
        if z is None:
            z = self.noise.normal((self.batch, Z_DIM))
        fake = self.G(tg.Tensor(z))
        loss_d = (F.binary_cross_entropy_with_logits(self.D(self.real), self.ones)
                  + F.binary_cross_entropy_with_logits(self.D(fake.detach()), self.zeros))
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(self.D(fake), self.ones)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        return loss_d, loss_g

    def set_dropout(self, p: float) -> None:
        for m in self.D.modules():
            if isinstance(m, nn.Dropout):
                m.p = p


def real_batch(batch: int, seed: int) -> np.ndarray:
    """Stand-in 'real' digits in [-1, 1] (the timing does not depend on their content)."""
    return np.random.default_rng(seed).uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)


# =======================================================================================
# The same in PyTorch
# =======================================================================================
def torch_models(torch: Any) -> tuple[Any, Any]:
    """PyTorch copies of DCGANGenerator and DCGANDiscriminator, module for module, so the
    state_dict keys match and tinygan's weights load directly."""
    tnn, c = torch.nn, BASE

    class Generator(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.project = tnn.Sequential(
                tnn.Linear(Z_DIM, 2 * c * 7 * 7, bias=False), tnn.Unflatten(1, (2 * c, 7, 7)),
                tnn.BatchNorm2d(2 * c), tnn.ReLU())
            self.upsample = tnn.Sequential(
                tnn.ConvTranspose2d(2 * c, 2 * c, 3, 1, 1, bias=False), tnn.BatchNorm2d(2 * c),
                tnn.ReLU(),
                tnn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False), tnn.BatchNorm2d(c),
                tnn.ReLU(),
                tnn.ConvTranspose2d(c, 1, 4, 2, 1), tnn.Tanh())

        def forward(self, z: Any) -> Any:
            return self.upsample(self.project(z))

    class Discriminator(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(1, c, 4, 2, 1), tnn.LeakyReLU(0.2), tnn.Dropout(0.3),
                tnn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), tnn.BatchNorm2d(2 * c),
                tnn.LeakyReLU(0.2), tnn.Dropout(0.3))
            self.classify = tnn.Sequential(tnn.Flatten(), tnn.Linear(2 * c * 7 * 7, 1))

        def forward(self, x: Any) -> Any:
            return self.classify(self.features(x))

    return Generator(), Discriminator()


class TorchStep:
    def __init__(self, torch: Any, ours: TinyganStep, device: str, seed: int = 0) -> None:
        self.torch, self.batch = torch, ours.batch
        self.G, self.D = torch_models(torch)
        for theirs, mine in ((self.G, ours.G), (self.D, ours.D)):  # the same starting point
            theirs.load_state_dict({k: torch.from_numpy(backend.to_numpy(v).copy())
                                    for k, v in mine.state_dict().items()})
            theirs.to(device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=LR, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=LR, betas=BETAS)
        self.bce = torch.nn.BCEWithLogitsLoss()
        self.gen = torch.Generator(device=device).manual_seed(seed + 1)
        self.real = torch.from_numpy(real_batch(self.batch, seed)).to(device)
        self.ones = torch.ones(self.batch, 1, device=device)
        self.zeros = torch.zeros(self.batch, 1, device=device)
        self.device = device

    def __call__(self, z: Any = None) -> tuple[Any, Any]:
        if z is None:
            z = self.torch.randn(self.batch, Z_DIM, generator=self.gen, device=self.device)
        fake = self.G(z)
        loss_d = self.bce(self.D(self.real), self.ones) + self.bce(self.D(fake.detach()),
                                                                   self.zeros)
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        loss_g = self.bce(self.D(fake), self.ones)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        return loss_d, loss_g

    def set_dropout(self, p: float) -> None:
        for m in self.D.modules():
            if isinstance(m, self.torch.nn.Dropout):
                m.p = p


# =======================================================================================
# Running
# =======================================================================================
def check_same_losses(ours: TinyganStep, theirs: TorchStep, torch: Any, device: str) -> float:
    """Two steps on identical noise with Dropout off: the losses must agree (the second
    step also checks that both optimizers moved the weights the same way)."""
    ours.set_dropout(0.0)
    theirs.set_dropout(0.0)
    worst = 0.0
    for seed in (7, 8):
        z = np.random.default_rng(seed).standard_normal((ours.batch, Z_DIM)).astype(np.float32)
        ld, lg = ours(backend.xp().asarray(z))
        td, tgl = theirs(torch.from_numpy(z).to(device))
        worst = max(worst, abs(ld.item() - td.item()), abs(lg.item() - tgl.item()))
    ours.set_dropout(0.3)
    theirs.set_dropout(0.3)
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=10, help="steps per timed block")
    p.add_argument("--pairs", type=int, default=5, help="alternating (tinygan, torch) blocks")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps of each framework")
    p.add_argument("--quick", action="store_true", help="3 pairs of 3-step blocks")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    p.add_argument("--no-torch", action="store_true", help="time tinygan alone")
    p.add_argument("--profile", action="store_true", help="profile tinygan instead of timing")
    p.add_argument("--write", type=Path, default=None,
                   help="append the result (a Markdown table row) to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.pairs, args.warmup = 3, 3, 1

    torch = None
    if not args.no_torch:
        try:
            import torch  # type: ignore[no-redef]
        except ImportError:
            print("PyTorch is not installed: timing tinygan alone", flush=True)
    set_threads(args.threads, torch)

    device, sync, torch = select_backend(args.backend, torch)

    ours = TinyganStep(args.batch)
    if args.profile:
        for _ in range(args.warmup):
            ours()
        profile(ours, args.steps)
        return 0
    theirs = None
    if torch is not None:
        theirs = TorchStep(torch, ours, device)
        diff = check_same_losses(ours, theirs, torch, device)
        print(f"same-noise check: losses agree to {diff:.1e}", flush=True)
        if diff > 1e-3:
            raise SystemExit(f"tinygan and PyTorch losses differ by {diff:.2e} on the same "
                             f"noise; the comparison would not be like for like")
    for _ in range(args.warmup):
        ours()
        if theirs is not None:
            theirs()
    tg_times, torch_times = [], []
    for i in range(args.pairs):
        tg_times.append(timed_block(ours, args.steps, sync))
        line = f"pair {i + 1}: tinygan {1e3 * tg_times[-1]:.1f} ms/step"
        if theirs is not None:
            torch_times.append(timed_block(theirs, args.steps, sync))
            line += (f", torch {1e3 * torch_times[-1]:.1f} ms/step, "
                     f"ratio {tg_times[-1] / torch_times[-1]:.2f}")
        print(line, flush=True)

    machine = (", ".join(f"{k} {v}" for k, v in machine_description(torch).items())
               + f" ({args.threads} threads for both)")
    tg_ms = 1e3 * statistics.median(tg_times)
    print(f"\nmachine: {machine}; backend {args.backend}, batch {args.batch}, "
          f"{args.pairs} pairs x {args.steps} steps")
    row = f"| {args.backend} | {args.batch} | {tg_ms:.1f} |"
    if torch_times:
        ratios = [a / b for a, b in zip(tg_times, torch_times)]
        torch_ms = 1e3 * statistics.median(torch_times)
        print(f"tinygan {tg_ms:.1f} ms/step, PyTorch {torch_ms:.1f} ms/step, median per-pair "
              f"ratio {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")
        row += (f" {torch_ms:.1f} | {statistics.median(ratios):.2f} "
                f"({min(ratios):.2f}-{max(ratios):.2f}) |")
    else:
        print(f"tinygan {tg_ms:.1f} ms/step")
        row += " - | - |"
    if args.write:
        with open(args.write, "a") as f:
            f.write(row + f" {args.pairs} x {args.steps} | {machine} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
