"""Resident memory of the DCGAN training step over many steps, tinygan beside PyTorch.

The step is bench_dcgan.py's (28x28, batch 64, G and D in training mode, Adam). Each
framework runs in its own process, so one's peak never hides in the other's: the resident
set size (RSS, /proc/self/statm) is read every ``--every`` steps, and the process's peak
(getrusage's ru_maxrss) at the end. "Flat" means the RSS after the warm-up does not keep
growing: the table gives the growth from the first reading after the warm-up to the
average of the last tenth of the run, and the slope of a straight line through every
reading after the warm-up (MB per 1,000 steps).

    python benchmarks/bench_dcgan_memory.py                  # 2,000 steps each, one thread
    python benchmarks/bench_dcgan_memory.py --steps 300 --every 20
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from harness import machine_description, set_threads  # noqa: E402

MB = 2 ** 20


def resident_bytes() -> int:
    """This process's resident set size now (Linux: the second field of /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(framework: str, steps: int, every: int, warmup: int) -> dict:
    """Run ``steps`` DCGAN steps in this process; the RSS readings and the peak."""
    from bench_dcgan import TinyganStep, TorchStep
    ours = TinyganStep(64)
    step = ours
    if framework == "torch":
        import torch
        step = TorchStep(torch, ours, "cpu")
        del ours
    readings = []
    for i in range(1, steps + 1):
        step()
        if i % every == 0 or i == warmup:
            readings.append((i, resident_bytes() / MB))
    return {"framework": framework, "readings": readings,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def summarise(run: dict, warmup: int) -> dict:
    after = [(i, mb) for i, mb in run["readings"] if i >= warmup]
    steps = np.array([i for i, _ in after], dtype=float)
    rss = np.array([mb for _, mb in after])
    tail = rss[steps >= steps[-1] - 0.1 * (steps[-1] - warmup)]
    slope = np.polyfit(steps, rss, 1)[0] * 1000 if len(after) > 1 else 0.0
    return {"start_mb": rss[0], "end_mb": float(tail.mean()), "growth_mb": float(tail.mean() - rss[0]),
            "slope_mb_per_1000": float(slope), "peak_mb": run["peak_mb"]}


def plot(runs: list[dict], path: Path, warmup: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for run, colour in zip(runs, ("tab:blue", "tab:orange")):
        steps, rss = zip(*run["readings"])
        ax.plot(steps, rss, color=colour, label=f"{run['framework']} (peak "
                f"{run['peak_mb']:.0f} MB)")
    ax.axvline(warmup, color="grey", lw=0.8, ls=":")
    ax.text(warmup, ax.get_ylim()[1], " warm-up ends", va="top", fontsize=8, color="grey")
    ax.set_xlabel("training step")
    ax.set_ylabel("resident memory (MB)")
    ax.set_title("DCGAN step (28x28, batch 64): resident memory over the run")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--every", type=int, default=50, help="steps between RSS readings")
    p.add_argument("--warmup", type=int, default=100, help="steps before memory must be flat")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--plot", type=Path, default=HERE / "dcgan_memory.png")
    p.add_argument("--framework", choices=["tinygan", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.warmup >= args.steps:
        raise SystemExit(f"--warmup {args.warmup} must be below --steps {args.steps}")
    if args.framework:   # the child: one framework, its readings as JSON on stdout
        set_threads(args.threads, __import__("torch") if args.framework == "torch" else None)
        print(json.dumps(measure(args.framework, args.steps, args.every, args.warmup)))
        return
    import torch
    print(machine_description(torch), f"threads={args.threads}", flush=True)
    runs = []
    for framework in ("tinygan", "torch"):
        out = subprocess.run([sys.executable, __file__, "--framework", framework,
                              "--steps", str(args.steps), "--every", str(args.every),
                              "--warmup", str(args.warmup), "--threads", str(args.threads)],
                             check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        print(f"{framework}: done", flush=True)
    print(f"\n| framework | RSS after {args.warmup} steps (MB) | RSS at the end (MB) | growth (MB) "
          f"| slope (MB per 1,000 steps) | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for run in runs:
        s = summarise(run, args.warmup)
        print(f"| {run['framework']} | {s['start_mb']:.0f} | {s['end_mb']:.0f} | "
              f"{s['growth_mb']:+.1f} | {s['slope_mb_per_1000']:+.1f} | {s['peak_mb']:.0f} |")
    plot(runs, args.plot, args.warmup)
    print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
