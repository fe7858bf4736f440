"""What each stabiliser changes on the toy data: the default recipe beside the same recipe
with spectral normalisation in D, with R1, and with an EMA of G (chapter 13).

    python benchmarks/quality_stabilisers.py                      # ring and grid, 3 seeds
    python benchmarks/quality_stabilisers.py --data grid --variants ema sn --jobs 2
    python benchmarks/quality_stabilisers.py --data mnist --variants default sn r1 ema
    python benchmarks/quality_stabilisers.py --report-only

Runs go through benchmarks/quality_toy.py's ``run_one`` (the same Recipe, the same
PacGAN protocol) into its log, benchmarks/quality_toy_runs.jsonl, so a run done once is
never redone and default-recipe runs already logged are reused (training is bit for bit
the same for a seed; only their seconds were measured at another time). The table goes to
benchmarks/RESULTS_stabilisers.md: mean ± standard deviation (min..max) over the seeds.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import quality_toy as qt  # noqa: E402

REPORT = os.path.join(qt.HERE, "RESULTS_stabilisers.md")
# each variant is the default recipe plus these Recipe fields (library defaults, untuned)
# (R1's gamma 10 is the library default; gamma 1 was added after gamma 10 was measured on
# the ring, to see how much the weight matters: both rows are reported)
VARIANTS = {   # key: (row label, Recipe fields)
    "default": ("default recipe", {}),
    "sn": ("+ spectral norm in D", {"spectral_norm": True}),
    "r1": ("+ R1 (gamma 10)", {"penalty": "r1", "penalty_weight": 10.0}),
    "r1-gamma1": ("+ R1 (gamma 1)", {"penalty": "r1", "penalty_weight": 1.0}),
    "ema": ("+ EMA of G (decay 0.999)", {"ema": 0.999}),
}


def _job(data: str, seed: int, options: dict) -> dict:
    job = {"data": data, "loss": "ns", "model": "mlp", "seed": seed}
    if options:
        job["options"] = options
    return job


def _config(job: dict) -> dict:
    from tinygan.gan.build import make_config
    return make_config(job["data"], "ns", "mlp", job["seed"], **job.get("options", {}))


def _finished_runs(by_key: dict, data: str, seeds: list[int], options: dict) -> list[dict]:
    done = []
    for seed in seeds:
        job = _job(data, seed, options)
        run = by_key.get(qt._key({**job, "config": _config(job)}))
        if run is not None:
            done.append(run)
    return done


def _flags(options: dict) -> str:
    return " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")
                    for k, v in options.items()) or "-"


def _mnist_section(by_key: dict, seeds: list[int]) -> list[str]:
    """The seed's MLP GAN on MNIST: Frechet distance of the digit classifier's features
    (lower is better; the real held-out value is what a perfect G scores), classes covered."""
    lines = ["## mnist (the seed's MLP GAN, 5,000 steps)", "",
             "Measured by tinygan's digit classifier (tinygan.metrics.digits): Fréchet distance "
             "of its features between generated digits and as many held-out real ones (500 each with the offline sample; lower "
             "is better; two halves of the real digits score the 'real' value), classifier "
             "score, classes covered (at least 1% of the images).", "",
             "| recipe | flag | seeds done | Fréchet distance | real held-out value | "
             "classifier score | classes covered | s/run |", "|---|---|---|---|---|---|---|---|"]
    for key, (label, options) in VARIANTS.items():
        if key == "r1-gamma1":      # a toy-data question (R1's weight against narrow modes)
            continue
        done = _finished_runs(by_key, "mnist", seeds, options)
        m = [r["metrics"] for r in done if r["status"] == "finished"]
        diverged = len(done) - len(m)
        lines.append(
            f"| {label} | `{_flags(options)}` | {sorted(r['seed'] for r in done)}"
            f"{f' ({diverged} diverged)' if diverged else ''} | "
            f"{qt._stats([x['frechet_distance_fake'] for x in m], '.1f')} | "
            f"{qt._stats([x['frechet_distance_real'] for x in m], '.1f')} | "
            f"{qt._stats([x['classifier_score_fake'] for x in m], '.2f')} | "
            f"{qt._stats([x['classes_covered_fake'] for x in m], '.1f')} | "
            f"{statistics.fmean([r['seconds'] for r in done]) if done else 0:.0f} |")
    return lines + [""]


def write_report(runs: list[dict], datasets: list[str], seeds: list[int], command: str) -> str:
    by_key = {qt._key(r): r for r in runs}
    lines = ["# Stabilisers on the toy data and MNIST (benchmarks/quality_stabilisers.py)", "",
             f"Command: `{command}`.  ",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared with other "
             f"developers' jobs, Python {platform.python_version()}, NumPy backend, one BLAS "
             f"thread per run. Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
             "", "Each variant is today's default recipe (`tinygan train --data D`) with one "
             "stabiliser added at the library's default setting (R1 also at gamma 1, a row "
             "added after gamma 10 was measured on the ring), not tuned; the same seeds. "
             "PacGAN's protocol (2,500 samples; benchmarks/quality_toy.py). Cells: mean ± "
             "standard deviation (min..max) over the seeds that have finished; s/run is wall "
             "time on a shared machine, so compare it loosely (default-recipe runs were "
             "logged in an earlier session).", ""]
    for data in datasets:
        if data == "mnist":
            lines += _mnist_section(by_key, seeds)
            continue
        t = qt.TARGETS[data]
        lines += [f"## {data}", "", f"Target: {t['modes']}/{t['modes']} modes, >= "
                  f"{100 * t['hq']:.1f}% high quality, reverse KL <= {t['rkl']}.", "",
                  "| recipe | flag | seeds done | modes captured | high quality % | "
                  "reverse KL | runs meeting all targets | s/run |",
                  "|---|---|---|---|---|---|---|---|"]
        for label, options in VARIANTS.values():
            done = _finished_runs(by_key, data, seeds, options)
            ok = [r for r in done if r["status"] == "finished"]
            m = [r["metrics"] for r in ok]
            meets = sum(1 for x in m if x["modes_captured"] == t["modes"]
                        and x["high_quality_fraction"] >= t["hq"] and x["reverse_kl"] <= t["rkl"])
            flags = _flags(options)
            diverged = len(done) - len(ok)
            lines.append(
                f"| {label} | `{flags}` | {sorted(r['seed'] for r in done)}"
                f"{f' ({diverged} diverged)' if diverged else ''} | "
                f"{qt._stats([x['modes_captured'] for x in m], '.2f')} | "
                f"{qt._stats([100 * x['high_quality_fraction'] for x in m], '.1f')} | "
                f"{qt._stats([x['reverse_kl'] for x in m], '.3f')} | {meets}/{len(done)} | "
                f"{statistics.fmean([r['seconds'] for r in done]) if done else 0:.0f} |")
        lines.append("")
    notes = os.path.join(qt.HERE, "quality_stabilisers_notes.md")
    text = "\n".join(lines) + "\n"
    if os.path.exists(notes):
        with open(notes) as f:
            text += f.read()
    with open(REPORT, "w") as f:
        f.write(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["ring", "grid"], choices=["ring", "grid", "mnist"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    command = "python benchmarks/quality_stabilisers.py " + " ".join(sys.argv[1:])
    seeds = list(range(args.seeds))
    if not args.report_only:
        done = {qt._key(r) for r in qt.load_log()}
        jobs = [job for data in args.data for key in args.variants
                for seed in seeds for job in [_job(data, seed, VARIANTS[key][1])]
                if qt._key({**job, "config": _config(job)}) not in done]
        print(f"{len(jobs)} runs to do", flush=True)
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for result in pool.map(qt.run_one, jobs):
                with open(qt.LOG, "a") as f:
                    f.write(json.dumps(result) + "\n")
                m = {k: v for k, v in result["metrics"].items() if k != "counts"}
                print(f"{result['data']} {result.get('options', {})} seed {result['seed']}: "
                      f"{result['status']} in {result['seconds']}s {json.dumps(m)}", flush=True)
                write_report(qt.load_log(), ["ring", "grid", "mnist"], seeds, command)
    print(write_report(qt.load_log(), ["ring", "grid", "mnist"], seeds, command))


if __name__ == "__main__":
    main()
