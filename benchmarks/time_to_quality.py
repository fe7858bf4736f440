"""Time to quality on the ring and the grid: how many seconds of training a recipe needs
before PacGAN's targets are met, and stay met until the end of the run.

    python benchmarks/time_to_quality.py --data ring --seeds 0 1 2 3 4
    python benchmarks/time_to_quality.py --data ring --seeds 0 1 2 --with steps=10000 batch_size=512
    python benchmarks/time_to_quality.py --report-only

Each run trains one recipe (``tinygan train``'s, or a variant given with ``--with``) and
evaluates G every ``--eval-every`` steps with PacGAN's protocol (2,500 samples, the CLI's
evaluation seed). The training clock stops during an evaluation, so the seconds are
training seconds, what a run without evaluations would take on the same machine. A run is
on target from the first evaluation after which every evaluation meets all three targets
(modes, high quality, reverse KL); its time to quality is the training time at that point.
Every run goes into benchmarks/time_to_quality_runs.jsonl (config, load average, the whole
curve); the table and the plot are made from that log.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import quality_toy as qt  # noqa: E402  (first: it sets one BLAS thread before NumPy loads)
from harness import blas_kernel  # noqa: E402

LOG = os.path.join(qt.HERE, "time_to_quality_runs.jsonl")
REPORT = os.path.join(qt.HERE, "RESULTS_time_to_quality.md")
PLOT = os.path.join(qt.HERE, "time_to_quality.png")
NOTES = os.path.join(qt.HERE, "time_to_quality_notes.md")
TIME_TARGETS = {"ring": 60.0, "grid": 180.0}     # seconds on the project's 2-core machine


def meets(metrics: dict, data: str) -> bool:
    t = qt.TARGETS[data]
    return (metrics["modes_captured"] == t["modes"] and metrics["high_quality_fraction"] >= t["hq"]
            and metrics["reverse_kl"] <= t["rkl"])


def time_on_target(curve: list[dict], data: str) -> float | None:
    """Training seconds at the first evaluation from which every later one meets the targets
    (None when the last one does not)."""
    first = None
    for point in curve:
        if meets(point, data):
            first = point if first is None else first
        else:
            first = None
    return None if first is None else first["seconds"]


def run_one(data: str, seed: int, options: dict, eval_every: int) -> dict:
    from tinygan.gan.build import build_trainer, make_config
    from tinygan.gan.evaluate import evaluate
    config = make_config(data, "ns", "mlp", seed, **options)
    trainer = build_trainer(config)
    curve: list[dict] = []
    clock = {"train": 0.0, "since": time.perf_counter()}

    def evaluate_now(tr) -> None:
        clock["train"] += time.perf_counter() - clock["since"]
        m = evaluate(tr)
        curve.append({"step": tr.step, "seconds": round(clock["train"], 2),
                      **{k: m[k] for k in ("modes_captured", "high_quality_fraction",
                                           "reverse_kl")}})
        clock["since"] = time.perf_counter()

    trainer.add_callback(eval_every, evaluate_now)
    load_before = os.getloadavg()[0]
    trainer.train(int(config["steps"]), progress=False)
    if not curve or curve[-1]["step"] != trainer.step:
        evaluate_now(trainer)
    return {"data": data, "seed": seed, "options": options, "config": config,
            "eval_every": eval_every, "curve": curve,
            "time_on_target": time_on_target(curve, data), "seconds": curve[-1]["seconds"],
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "blas_kernel": blas_kernel(),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"}


def _label(run: dict) -> str:
    """"default recipe", or the fields a variant sets: "steps 10000, ema 0.999"."""
    def show(value):
        if isinstance(value, dict):
            return "; ".join(f"{k} {show(v)}" for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return "x".join(str(v) for v in value)
        return str(value)
    opts = run["options"]
    return "default recipe" if not opts else ", ".join(f"{k} {show(v)}" for k, v in opts.items())


def _groups(runs: list[dict]) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["data"], _label(r)), []).append(r)
    return groups


def write_plot(runs: list[dict]) -> None:
    """High quality against training seconds and against steps (the load of a shared
    machine moves the first, not the second), one line per run, one colour per recipe."""
    from tinygan.viz import _finish, _plt
    plt = _plt()
    datasets = [d for d in ("ring", "grid") if any(r["data"] == d for r in runs)]
    fig, axes = plt.subplots(len(datasets), 2, figsize=(12, 4.6 * len(datasets)), squeeze=False)
    for row, data in zip(axes, datasets):
        colours = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"])
        for (d, label), group in _groups(runs).items():
            if d != data:
                continue
            colour = next(colours)
            for i, r in enumerate(group):
                ys = [100 * p["high_quality_fraction"] for p in r["curve"]]
                for ax, key in zip(row, ("seconds", "step")):
                    ax.plot([p[key] for p in r["curve"]], ys, color=colour, lw=1, alpha=0.8,
                            label=label if i == 0 else None)
        for ax, key in zip(row, ("seconds", "step")):
            ax.axhline(100 * qt.TARGETS[data]["hq"], color="k", ls="--", lw=1,
                       label="high-quality target")
            ax.set_ylim(0, 100)
            ax.set_ylabel("high-quality samples %")
        row[0].axvline(TIME_TARGETS[data], color="r", ls=":", lw=1, label="time target")
        row[0].set_xlabel("training seconds (evaluations excluded; machine load varies)")
        row[1].set_xlabel("training steps")
        row[0].set_title(f"{data}: quality against training time, one line per run", fontsize=10)
        row[1].set_title(f"{data}: the same runs against steps", fontsize=10)
        row[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    _finish(fig, PLOT)


def write_report(runs: list[dict], command: str) -> str:
    lines = ["# Time to quality (benchmarks/time_to_quality.py)", "",
             f"Last command: `{command}`. Machine: {platform.machine()}, {os.cpu_count()} CPU "
             f"cores, Python {platform.python_version()}, NumPy backend, one BLAS thread per "
             f"run. Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
             "Time to quality: training seconds (evaluations excluded) until PacGAN's targets "
             "are met and stay met at every later evaluation. Targets: ring <= 60 s, grid <= "
             "180 s. The load average (1 minute, at the start and the end of each run) says how "
             "busy the 2 cores were: a load above 1 slows a one-thread run.", ""]
    for (data, label), group in _groups(runs).items():
        group = sorted(group, key=lambda r: r["seed"])
        times = [r["time_on_target"] for r in group]
        reached = [t for t in times if t is not None]
        lines += [f"## {data}: {label}", "",
                  "| seed | steps | time to quality (s) | run's training time (s) | final modes "
                  "| final high quality % | final reverse KL | load average | BLAS kernel |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in group:
            last = r["curve"][-1]
            t = r["time_on_target"]
            lines.append(f"| {r['seed']} | {last['step']} | {'-' if t is None else f'{t:.0f}'} | "
                         f"{r['seconds']:.0f} | {last['modes_captured']} | "
                         f"{100 * last['high_quality_fraction']:.1f} | {last['reverse_kl']:.3f} | "
                         f"{r['load_average'][0]:.1f}-{r['load_average'][1]:.1f} | "
                         f"{r.get('blas_kernel', 'not recorded').split(' (')[0]} |")
        summary = (f"on target in {len(reached)}/{len(group)} runs"
                   + (f"; time to quality mean {statistics.fmean(reached):.0f} s, worst "
                      f"{max(reached):.0f} s" if reached else ""))
        lines += ["", summary + ".", ""]
    lines += [f"![quality against time]({os.path.basename(PLOT)})", ""]
    text = "\n".join(lines) + "\n"
    if os.path.exists(NOTES):
        with open(NOTES) as f:
            text += f.read()
    with open(REPORT, "w") as f:
        f.write(text)
    write_plot(runs)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["ring"], choices=["ring", "grid"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--with", dest="options", nargs="+", default=[], metavar="FIELD=VALUE",
                        help="a variant: Recipe fields set, e.g. steps=10000 batch_size=512")
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    command = "python benchmarks/time_to_quality.py " + " ".join(sys.argv[1:])
    if not args.report_only:
        options = qt.parse_options(args.options)
        for data in args.data:
            for seed in args.seeds:
                result = run_one(data, seed, options, args.eval_every)
                with open(LOG, "a") as f:
                    f.write(json.dumps(result) + "\n")
                last = result["curve"][-1]
                print(f"{data} {options} seed {seed}: on target at {result['time_on_target']} s "
                      f"of {result['seconds']} s; final {last}", flush=True)
    print(write_report(qt.load_log(LOG), command))


if __name__ == "__main__":
    main()
