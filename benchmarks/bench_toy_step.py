"""Time one training step of the ring's default recipe in tinygan and in PyTorch, in one process.

The models are the ring recipe's (tinygan/gan/recipe.py): G 2 -> 128 -> 128 -> 128 -> 2 with
ReLU, PacGAN's packed D (packs of 4 samples, so 8 inputs) 8 -> 128 -> 128 -> 128 -> 1 with
LeakyReLU(0.2), batch 256, Adam(1e-3, betas (0.5, 0.999)), non-saturating loss on logits:

    real = a batch of the ring, fake = G(z) under no_grad, z ~ N(0, I_2)
    D step: BCE_logits(D(real), 1) + BCE_logits(D(fake), 0), backward, Adam step
    G step: BCE_logits(D(G(z')), 1) with D's parameters frozen, backward, Adam step

which is GANTrainer.train_step without its bookkeeping (history, divergence checks). The
PyTorch copy starts from the same weights. Blocks of steps alternate (tinygan, PyTorch, ...)
after a warm-up; the ratio is the median of the per-pair ratios. Both frameworks use the same
number of threads (one by default: these matrices are far too small for two).

    python benchmarks/bench_toy_step.py                 # 7 pairs of 200-step blocks, 1 thread
    python benchmarks/bench_toy_step.py --profile       # where tinygan's step goes
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygan as tg  # noqa: E402
from harness import machine_description, profile, set_threads, timed_block  # noqa: E402
from tinygan import functional as F  # noqa: E402
from tinygan import optim  # noqa: E402
from tinygan.data.toy import ring_modes, sample_ring  # noqa: E402
from tinygan.gan.models import toy_mlp  # noqa: E402

BATCH, PACK, HIDDEN, LR, BETAS = 256, 4, (128, 128, 128), 1e-3, (0.5, 0.999)


class TinyganStep:
    def __init__(self, seed: int = 0) -> None:
        gen = tg.Generator(seed)
        self.G, self.D = toy_mlp((2,), 2, hidden_g=HIDDEN, hidden_d=HIDDEN, pack=PACK,
                                 generator=gen)
        self.opt_g = optim.Adam(self.G.parameters(), lr=LR, betas=BETAS)
        self.opt_d = optim.Adam(self.D.parameters(), lr=LR, betas=BETAS)
        self.gen = tg.Generator(seed + 1)
        self.ones, self.zeros = tg.ones(BATCH // PACK, 1), tg.zeros(BATCH // PACK, 1)

    def __call__(self) -> None:
        real = tg.Tensor(sample_ring(BATCH, self.gen))
        with tg.no_grad():
            fake = self.G(tg.Tensor(self.gen.normal((BATCH, 2))))
        loss_d = (F.binary_cross_entropy_with_logits(self.D(real), self.ones)
                  + F.binary_cross_entropy_with_logits(self.D(fake), self.zeros))
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        self.D.requires_grad_(False)
        loss_g = F.binary_cross_entropy_with_logits(
            self.D(self.G(tg.Tensor(self.gen.normal((BATCH, 2))))), self.ones)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.D.requires_grad_(True)
        self.opt_g.step()


class TorchStep:
    def __init__(self, torch: Any, ours: TinyganStep, seed: int = 0) -> None:
        tnn, self.torch = torch.nn, torch

        def mlp(sizes: list[int], activation: Any) -> Any:
            layers: list[Any] = []
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
                layers.append(tnn.Linear(a, b))
                if i < len(sizes) - 2:
                    layers.append(activation())
            return tnn.Sequential(*layers)

        self.G = mlp([2, *HIDDEN, 2], tnn.ReLU)
        self.D = mlp([2 * PACK, *HIDDEN, 1], lambda: tnn.LeakyReLU(0.2))
        for theirs, mine in ((self.G, ours.G), (self.D, ours.D)):   # the same starting point
            theirs.load_state_dict({k.removeprefix("net."): torch.from_numpy(np.array(v))
                                    for k, v in mine.state_dict().items()})
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=LR, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=LR, betas=BETAS)
        self.bce = tnn.BCEWithLogitsLoss()
        self.modes = torch.from_numpy(ring_modes().astype(np.float32))
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.ones, self.zeros = torch.ones(BATCH // PACK, 1), torch.zeros(BATCH // PACK, 1)

    def ring(self) -> Any:
        t = self.torch
        which = t.randint(0, 8, (BATCH,), generator=self.gen)
        return self.modes[which] + 0.01 * t.randn(BATCH, 2, generator=self.gen)

    def __call__(self) -> None:
        t = self.torch
        real = self.ring().reshape(BATCH // PACK, -1)
        with t.no_grad():
            fake = self.G(t.randn(BATCH, 2, generator=self.gen)).reshape(BATCH // PACK, -1)
        loss_d = self.bce(self.D(real), self.ones) + self.bce(self.D(fake), self.zeros)
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        self.D.requires_grad_(False)
        fake = self.G(t.randn(BATCH, 2, generator=self.gen)).reshape(BATCH // PACK, -1)
        loss_g = self.bce(self.D(fake), self.ones)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.D.requires_grad_(True)
        self.opt_g.step()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200, help="steps per timed block")
    p.add_argument("--pairs", type=int, default=7)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--profile", action="store_true", help="profile tinygan instead of timing")
    args = p.parse_args()
    import torch
    set_threads(args.threads, torch)
    print(machine_description(torch), f"threads={args.threads}", flush=True)
    ours = TinyganStep()
    if args.profile:
        profile(ours, args.steps)
        return
    theirs = TorchStep(torch, ours)
    z = np.random.default_rng(3).standard_normal((BATCH, 2)).astype(np.float32)
    with tg.no_grad(), torch.no_grad():   # the same function before anything is timed
        mine = ours.D(ours.G(tg.Tensor(z))).numpy()
        other = theirs.D(theirs.G(torch.from_numpy(z)).reshape(BATCH // PACK, -1)).numpy()
    print(f"same weights, same outputs: largest difference {np.abs(mine - other).max():.1e}")
    for _ in range(args.warmup):
        ours()
        theirs()
    times: dict[str, list[float]] = {"tinygan": [], "torch": []}
    for _ in range(args.pairs):
        times["tinygan"].append(timed_block(ours, args.steps, lambda: None))
        times["torch"].append(timed_block(theirs, args.steps, lambda: None))
    ratios = [a / b for a, b in zip(times["tinygan"], times["torch"])]
    ms = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    print(f"| ring step, batch {BATCH}, packs of {PACK} | {args.threads} | {ms['tinygan']:.2f} | "
          f"{ms['torch']:.2f} | **{statistics.median(ratios):.2f}** ({min(ratios):.2f}-"
          f"{max(ratios):.2f}) |")


if __name__ == "__main__":
    main()
