"""Time per iteration of the DCGAN-style public scripts (tests/scripts/), tinygan vs PyTorch.

Each script runs as a learner would run it, with its own options (no code changed): under
PyTorch, and under tinygan with only the torch imports rewritten (tests/script_runner.py),
from the same weights and random draws. The time per iteration is the median gap between
successive iterations inside one run (start-up and data set construction excluded). Runs
alternate (tinygan, PyTorch, tinygan, ...) so both see the same machine load; the ratio is
the median of the per-round ratios. Both use the same number of threads.

    python benchmarks/bench_public_scripts.py                 # both DCGAN scripts, 2 rounds
    python benchmarks/bench_public_scripts.py --rounds 3 --iterations 8
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from harness import machine_description, set_threads  # noqa: E402
from tests.script_runner import SCRIPTS, run_script  # noqa: E402

# the scripts' own defaults for architecture and batch (PyTorch's example: 64x64, ngf=ndf=64)
CONFIGS = {
    "dcgan_example.py": ["--batchSize", "64", "--imageSize", "64", "--ngf", "64", "--ndf", "64",
                         "--niter", "1", "--workers", "2", "--manualSeed", "1"],
    "dcgan.py": ["--n_epochs", "1", "--batch_size", "64", "--img_size", "32", "--width", "128",
                 "--sample_interval", "100000"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--iterations", type=int, default=6, help="iterations per run")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--scripts", nargs="*", default=list(CONFIGS))
    args = p.parse_args()
    import torch
    set_threads(args.threads, torch)
    print(machine_description(torch), f"threads={args.threads}", flush=True)
    for name in args.scripts:
        batch = int(CONFIGS[name][CONFIGS[name].index("--batchSize" if "--batchSize" in
                                                      CONFIGS[name] else "--batch_size") + 1])
        images = batch * args.iterations
        ours, theirs, ratios = [], [], []
        for _ in range(args.rounds):
            weights: list = []
            with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                t = run_script(SCRIPTS / name, "torch", CONFIGS[name], Path(a), weights=weights,
                               mnist_size=images)
                g = run_script(SCRIPTS / name, "tinygan", CONFIGS[name], Path(b),
                               weights=weights, mnist_size=images)
            gap = np.abs(np.array(g.items) - np.array(t.items)).max()
            ours.append(g.per_iteration()), theirs.append(t.per_iteration())
            ratios.append(ours[-1] / theirs[-1])
            print(f"{name}: tinygan {1e3 * ours[-1]:.0f} ms/iteration, PyTorch "
                  f"{1e3 * theirs[-1]:.0f} ms/iteration, ratio {ratios[-1]:.2f} "
                  f"(largest loss difference {gap:.1e})", flush=True)
        print(f"| {name} | {' '.join(CONFIGS[name])} | {1e3 * np.median(ours):.0f} | "
              f"{1e3 * np.median(theirs):.0f} | **{np.median(ratios):.2f}** "
              f"({min(ratios):.2f}-{max(ratios):.2f}) |", flush=True)


if __name__ == "__main__":
    main()
