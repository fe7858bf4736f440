"""Quality on the toy data: PacGAN's Table 1 protocol on the ring and the grid, and D vs D* in 1-D.

    python benchmarks/quality_toy.py                       # ring + grid + gauss1d, 5 seeds
    python benchmarks/quality_toy.py --data ring --seeds 10 --jobs 2
    python benchmarks/quality_toy.py --baseline            # also PacGAN's plain-GAN setup
    python benchmarks/quality_toy.py --report-only         # re-write the table from the log
    python benchmarks/quality_toy.py --import-runs runs/grid-s0 ...   # add `tinygan train` runs
    python benchmarks/quality_toy.py --data ring --seeds 3 --with spectral_norm=true  # a variant

Every finished run is appended to a JSON-lines log (one line per run, with its full config),
so an interrupted benchmark keeps what it measured and a re-run skips what is done. A row of
the table gathers the runs of one recipe (the config minus the seed); a variant (an earlier
default, or a recipe tried on the way) is labelled with what differs from today's default. The table
(mean, standard deviation, min and max over seeds) goes to benchmarks/RESULTS_quality.md.

Protocol (Lin et al. 2018, after Srivastava et al. 2017): 2,500 samples from the trained G;
a sample is high quality within 3 std of its nearest mode; a mode is captured when it is the
nearest mode of at least one high-quality sample; reverse KL between the histogram of
high-quality samples over modes and the uniform one. Targets (issue 3, beating PacGAN4):
ring 8/8 modes, >= 95% high quality, reverse KL <= 0.05; grid 25/25, >= 93.6%, <= 0.04.
1-D: max |D(x) - D*(x)| <= 0.1 on the data's support, D* = p_data / (p_data + p_g).
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # tiny matrices: one BLAS thread is faster
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import blas_kernel  # noqa: E402

LOG = os.path.join(HERE, "quality_toy_runs.jsonl")
REPORT = os.path.join(HERE, "RESULTS_quality.md")

# Seeds from 100 on are held out: recipes are chosen on seeds 0-4 and then, unchanged, run
# on seeds 100-109, which get their own rows so a recipe is never judged on its own test.
HELD_OUT_FROM = 100


def held_out_set(seed: int) -> int:
    """0 for a tuning seed; 1 for the held-out seeds 100-199; 2 for 200-299, a second,
    fresh held-out set for a recipe chosen after the first set had been looked at."""
    return 0 if seed < HELD_OUT_FROM else seed // HELD_OUT_FROM
TARGETS = {"ring": dict(modes=8, hq=0.95, rkl=0.05), "grid": dict(modes=25, hq=0.936, rkl=0.04)}
PACGAN_TABLE1 = {  # Lin et al. 2018, Table 1 (10 runs each): modes, high quality %, reverse KL
    "ring": {"GAN": (6.3, 98.2, 0.45)},   # (the issue quotes no PacGAN4 ring row)
    "grid": {"GAN": (17.3, 94.8, 0.70), "PacGAN4 (best)": (24.8, 93.6, 0.04)},
}


# The status and the history of the recipes, in words: appended to the generated tables.
NOTES_FILE = os.path.join(HERE, "quality_toy_notes.md")


def run_one(job: dict) -> dict:
    """Train one (data, recipe, seed) and measure it; runs in a worker process."""
    from tinygan.gan.build import build_trainer, make_config
    from tinygan.gan.evaluate import evaluate
    config = make_config(job["data"], job["loss"], job["model"], job["seed"], job.get("steps"),
                         **job.get("options", {}))
    start = time.time()
    trainer = build_trainer(config)
    status = "finished"
    try:
        trainer.train(int(config["steps"]), progress=False)
    except Exception as err:  # a diverged run is a result too, recorded as such
        status = f"{type(err).__name__}: {err}"
    result = evaluate(trainer) if status == "finished" else {}
    return {**job, "steps": int(config["steps"]), "status": status, "metrics": result,
            "seconds": round(time.time() - start, 1), "config": config,
            "blas_kernel": blas_kernel()}


def import_run(run_dir: str) -> dict:
    """A ``tinygan train`` run folder (its metrics.json) as a line of the log, so runs made
    with the CLI count too."""
    with open(os.path.join(run_dir, "metrics.json")) as f:
        saved = json.load(f)
    config = saved["config"]
    if saved.get("status") != "finished" or saved.get("step") != config["steps"]:
        raise SystemExit(f"{run_dir}: not a finished run (status {saved.get('status')!r}, "
                         f"step {saved.get('step')} of {config['steps']})")
    metrics = dict(saved["final"])
    return {"data": config["data"], "loss": config["loss"], "model": config["model"],
            "seed": config["seed"], "steps": config["steps"], "status": "finished",
            "metrics": metrics, "seconds": saved.get("seconds"), "config": config,
            "source": f"tinygan train --data {config['data']} --seed {config['seed']}"}


def load_log(path: str = LOG) -> list[dict]:
    """The runs of a JSON-lines log, one dict a line (none when the file is missing)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _off_values() -> dict:
    """Options added to the config after runs were logged, with the value that means "off"
    (the Recipe's defaults): a config without the key trained exactly as one with it."""
    from tinygan.gan.recipe import off_values
    return off_values()


OFF_VALUES = _off_values()


def parse_options(pairs: list[str]) -> dict:
    """``--with spectral_norm=true ema=0.999`` as Recipe overrides, typed by the field
    (a dict field as JSON: ``model_options='{"hidden_g": [64, 64, 64], "pack": 4}'``)."""
    import dataclasses
    from tinygan.gan.recipe import Recipe
    types = {f.name: str(f.type) for f in dataclasses.fields(Recipe)}
    options = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        if name not in types or not text:
            raise SystemExit(f"--with {pair!r}: expected FIELD=VALUE with FIELD one of "
                             f"{', '.join(types)}")
        kind = types[name]
        options[name] = (text.lower() in ("1", "true", "yes") if kind == "bool" else
                         int(text) if kind == "int" else
                         float(text) if kind.startswith("float") else
                         json.loads(text) if kind.startswith("dict") else text)
    return options


def recipe_id(config: dict) -> str:
    """A short fingerprint of everything in a run's config but its seed: two runs share a
    row of the table only when they trained with the same recipe."""
    recipe = {k: v for k, v in config.items()
              if k != "seed" and not (k in OFF_VALUES and v == OFF_VALUES[k])}
    return hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:10]


#: the BLAS kernel of the runs logged before the log recorded it: this machine's image forces
#: OpenBLAS's Haswell kernel, and every earlier run used it
FORCED_HASWELL = "Haswell (OPENBLAS_CORETYPE=Haswell)"


def kernel_of(run: dict) -> str:
    """The OpenBLAS kernel a run trained with. Another kernel rounds the products
    differently, and a GAN amplifies that: the same seed is another run."""
    return run.get("blas_kernel", FORCED_HASWELL)


def _key(run: dict) -> tuple:
    return (run["data"], run["loss"], run["model"], run["seed"], recipe_id(run["config"]),
            kernel_of(run))


def _flat(config: dict) -> dict:
    flat = {k: v for k, v in {**OFF_VALUES, **config}.items() if k not in ("model_options", "seed")}
    std, until = flat.pop("instance_noise"), flat.pop("instance_noise_until")
    flat["instance_noise"] = f"{std} to 0 at {until:.0%} of the run" if std else "none"
    flat.update(config.get("model_options", {}))
    return flat


def recipe_summary(config: dict) -> str:
    """What a recipe does beyond a plain GAN, in words: packing, noise, schedules."""
    parts = []
    pack = config.get("model_options", {}).get("pack", 1)
    if pack > 1:
        parts.append(f"D judges packs of {pack} (PacGAN)")
    parts.append(f"{config['z_dim']}-D {config['noise']} noise")
    if config.get("d_steps", 1) > 1:
        parts.append(f"{config['d_steps']} D steps per G step")
    parts.append("learning rate decaying linearly to 0" if config.get("lr_decay")
                 else "constant learning rate")
    if config.get("instance_noise"):
        parts.append(f"instance noise {config['instance_noise']} falling to 0 at "
                     f"{config.get('instance_noise_until', 1.0):.0%} of the run")
    if config.get("penalty"):
        parts.append(f"{config['penalty'].upper()} penalty, weight {config['penalty_weight']:g}")
    if config.get("ema"):
        parts.append(f"samples from an EMA of G (decay {config['ema']})")
    return ", ".join(parts)


def describe_recipe(config: dict) -> str:
    """The row label: the current default recipe, or how a variant (an earlier default, or
    a recipe tried on the way) differs from it."""
    from tinygan.gan.build import make_config
    current = make_config(config["data"], config["loss"], config["model"], 0)
    who = (f"tinygan default recipe: {recipe_summary(current)}" if config["model"] == "mlp" else
           "PacGAN's plain-GAN architecture and settings")
    label = f"{who} ({config['model']}, {config['loss']})"
    old, new = _flat(config), _flat(current)
    weightless = old.get("penalty") is None
    changed = [f"{k} {old.get(k, '-')} (default {new.get(k, '-')})"
               for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k) and k != "steps"
               and not (k == "penalty_weight" and weightless)]   # no penalty: no weight
    if config["model"] != "mlp":            # the baseline: its own settings, our step counts
        return label + (f": {', '.join(changed)}" if changed else "")
    if config["steps"] != current["steps"]:
        changed.append(f"{config['steps']} steps (default {current['steps']})")
    if changed:
        label = "variant: " + ", ".join(changed)
    return label


def _stats(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return (f"{mean:{fmt}} ± {spread:{fmt}} ({min(values):{fmt}}..{max(values):{fmt}})")


def _row_order(item: tuple) -> tuple:
    """The current recipes first, then earlier ones; tinygan's before PacGAN's."""
    (_, model, loss, steps, _, held_out, kernel), runs = item
    return ("variant" in describe_recipe(runs[0]["config"]), model != "mlp", loss, -steps,
            kernel != FORCED_HASWELL, held_out)   # tuning seeds, then held-out ones


def _kernel_note(kernel: str) -> str:
    """Rows trained with another BLAS kernel than the forced Haswell one say which."""
    return "" if kernel == FORCED_HASWELL else f"; BLAS kernel {kernel.split(' (')[0]}"


def _seeds_cell(runs: list[dict], held_out: bool, diverged: int = 0) -> str:
    seeds = sorted(r["seed"] for r in runs)
    name = "" if not held_out else "held out: " if held_out == 1 else "fresh held out: "
    text = (f"{name}{seeds[0]}-{seeds[-1]} ({len(seeds)})" if held_out and
            seeds == list(range(seeds[0], seeds[0] + len(seeds))) else name + str(seeds))
    return text + (f" ({diverged} diverged)" if diverged else "")


def _worst(runs: list[dict], badness, describe) -> str:
    """The seed that did worst by ``badness(metrics)``, and its figures."""
    ok = [r for r in runs if r["status"] == "finished"]
    if not ok:
        return "-"
    worst = max(ok, key=lambda r: badness(r["metrics"]))
    return f"seed {worst['seed']}: {describe(worst['metrics'])}"


def write_report(results: list[dict], command: str) -> str:
    lines = ["# Toy-data quality (benchmarks/quality_toy.py)", "",
             "Runs: every line of `benchmarks/quality_toy_runs.jsonl` (one per run, with its "
             "full config), made by `python benchmarks/quality_toy.py` (for example `--data "
             "ring grid gauss1d --seeds 5 --baseline --jobs 2`) or by `tinygan train --data D "
             "--seed S` and added with `--import-runs`; the last command that wrote this file: "
             f"`{command}`.  ",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), Python "
             f"{platform.python_version()}, NumPy backend, one BLAS thread per run.  ",
             f"Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
             "Each row: mean ± standard deviation (min..max) over the seeds listed; 2,500 "
             "samples per run, PacGAN's protocol (see the script's docstring).", ""]
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        key = (r["data"], r["model"], r["loss"], r["steps"], recipe_id(r["config"]),
               held_out_set(r["seed"]), kernel_of(r))
        groups.setdefault(key, []).append(r)
    for data in ("ring", "grid"):
        rows = [(k, v) for k, v in groups.items() if k[0] == data]
        if not rows:
            continue
        t = TARGETS[data]
        lines += [f"## {data}", "",
                  f"Target: {t['modes']}/{t['modes']} modes, >= {100 * t['hq']:.1f}% high "
                  f"quality, reverse KL <= {t['rkl']}.", "",
                  "| setup | steps | seeds | modes captured | high quality % | reverse KL | "
                  "runs meeting all targets | worst seed | s/run |",
                  "|---|---|---|---|---|---|---|---|---|"]

        def shortfall(x: dict, t: dict = t) -> float:   # how far a run is from its targets
            return (t["modes"] - x["modes_captured"] + max(0.0, t["hq"] - x["high_quality_fraction"])
                    * 10 + max(0.0, x["reverse_kl"] - t["rkl"]) * 10 - x["high_quality_fraction"])

        for (_, model, loss, steps, _, held_out, kernel), runs in sorted(rows, key=_row_order):
            ok = [r for r in runs if r["status"] == "finished"]
            m = [r["metrics"] for r in ok]
            meets = sum(1 for x in m if x["modes_captured"] == t["modes"]
                        and x["high_quality_fraction"] >= t["hq"] and x["reverse_kl"] <= t["rkl"])
            label = describe_recipe(runs[0]["config"]) + _kernel_note(kernel)
            diverged = len(runs) - len(ok)
            lines.append(
                f"| {label} | {steps} | {_seeds_cell(runs, held_out, diverged)} | "
                f"{_stats([x['modes_captured'] for x in m], '.2f')} | "
                f"{_stats([100 * x['high_quality_fraction'] for x in m], '.1f')} | "
                f"{_stats([x['reverse_kl'] for x in m], '.3f')} | {meets}/{len(runs)} | "
                + _worst(runs, shortfall, lambda x: f"{x['modes_captured']} modes, "
                         f"{100 * x['high_quality_fraction']:.1f}%, {x['reverse_kl']:.3f}")
                + f" | {statistics.fmean([r['seconds'] for r in runs]):.0f} |")
        for name, (modes, hq, rkl) in PACGAN_TABLE1[data].items():
            lines.append(f"| PacGAN paper, Table 1: {name} | 400 epochs | 10 | {modes} | {hq} | "
                         f"{rkl} | - | - | - |")
        lines.append("")
    one_d = [(k, v) for k, v in groups.items() if k[0] == "gauss1d"]
    if one_d:
        lines += ["## gauss1d (Figure 1 of Goodfellow et al. 2014)", "",
                  "Target: max |D(x) - D*(x)| <= 0.1 on the data's support (taken as mu ± 2 "
                  "sigma; ± 3 sigma shown too), D* from the data density and a KDE of 10,000 "
                  "samples of G.", "",
                  "| setup | steps | seeds | max abs(D - D*), ± 2 sigma | ± 3 sigma | JSD (nats) "
                  "| G mean | G std | runs meeting the target | worst seed |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for (_, model, loss, steps, _, held_out, kernel), runs in sorted(one_d, key=_row_order):
            m = [r["metrics"] for r in runs if r["status"] == "finished"]
            meets = sum(1 for x in m if x["max_abs_d_minus_dstar_2sigma"] <= 0.1)
            lines.append(
                f"| {describe_recipe(runs[0]['config'])}{_kernel_note(kernel)} | {steps} | "
                f"{_seeds_cell(runs, held_out, len(runs) - len(m))} | "
                f"{_stats([x['max_abs_d_minus_dstar_2sigma'] for x in m], '.3f')} | "
                f"{_stats([x['max_abs_d_minus_dstar_3sigma'] for x in m], '.3f')} | "
                f"{_stats([x['js_divergence'] for x in m], '.4f')} | "
                f"{_stats([x['g_mean'] for x in m], '.3f')} | "
                f"{_stats([x['g_std'] for x in m], '.3f')} | {meets}/{len(runs)} | "
                + _worst(runs, lambda x: x["max_abs_d_minus_dstar_2sigma"],
                         lambda x: f"{x['max_abs_d_minus_dstar_2sigma']:.3f}") + " |")
        lines.append("")
    digits = [(k, v) for k, v in groups.items() if k[0] == "mnist"]
    if digits:
        lines += ["## mnist (the seed's MLP GAN)", "",
                  "Measured by tinygan's digit classifier (tinygan.metrics.digits): the "
                  "Fréchet distance of its features between generated digits and as many "
                  "held-out real ones (500 each with the offline sample), beside the same "
                  "distance between two halves of the real held-out digits (what a perfect G "
                  "would score at this size); a class "
                  "is covered with at least 1% of the images. Target: 10/10 classes.", "",
                  "| setup | steps | seeds | Fréchet distance | real held-out value | "
                  "classifier score | classes covered | runs with 10/10 | worst seed | s/run |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for (_, model, loss, steps, _, held_out, kernel), runs in sorted(digits, key=_row_order):
            m = [r["metrics"] for r in runs if r["status"] == "finished"]
            covered = sum(1 for x in m if x["classes_covered_fake"] == 10)
            lines.append(
                f"| {describe_recipe(runs[0]['config'])}{_kernel_note(kernel)} | {steps} | "
                f"{_seeds_cell(runs, held_out, len(runs) - len(m))} | "
                f"{_stats([x['frechet_distance_fake'] for x in m], '.1f')} | "
                f"{_stats([x['frechet_distance_real'] for x in m], '.1f')} | "
                f"{_stats([x['classifier_score_fake'] for x in m], '.2f')} | "
                f"{_stats([x['classes_covered_fake'] for x in m], '.1f')} | {covered}/{len(runs)} | "
                + _worst(runs, lambda x: x["frechet_distance_fake"],
                         lambda x: f"FD {x['frechet_distance_fake']:.1f}, "
                         f"{x['classes_covered_fake']} classes")
                + f" | {statistics.fmean([r['seconds'] for r in runs]):.0f} |")
        lines.append("")
    with open(NOTES_FILE) as f:
        text = "\n".join(lines) + "\n" + f.read()
    with open(REPORT, "w") as f:
        f.write(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["ring", "grid", "gauss1d"],
                        choices=["ring", "grid", "gauss1d", "mnist"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--baseline", action="store_true",
                        help="also run PacGAN's plain-GAN architecture (--model pacgan)")
    parser.add_argument("--baseline-seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, help="override the recipes' step counts")
    parser.add_argument("--jobs", type=int, default=1, help="training processes at once")
    parser.add_argument("--with", dest="options", nargs="+", default=[], metavar="FIELD=VALUE",
                        help="train a variant: Recipe fields set, e.g. spectral_norm=true")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--import-runs", nargs="+", metavar="DIR", default=[],
                        help="add finished `tinygan train` run folders to the log, then report")
    args = parser.parse_args()
    from tinygan.gan.build import make_config
    command = "python benchmarks/quality_toy.py " + " ".join(sys.argv[1:])
    if args.import_runs:
        done = {_key(r) for r in load_log()}
        with open(LOG, "a") as f:
            for run_dir in args.import_runs:
                run = import_run(run_dir)
                if _key(run) not in done:
                    f.write(json.dumps(run) + "\n")
        args.report_only = True
    if not args.report_only:
        done = {_key(r) for r in load_log()}
        jobs = []
        plan = [(data, "mlp", args.seeds) for data in args.data]
        if args.baseline:   # after tinygan's own rows, so a cut-short run still has those
            plan += [(data, "pacgan", args.baseline_seeds) for data in args.data
                     if data in ("ring", "grid")]
        options = parse_options(args.options)
        for data, model, seeds in plan:
            for seed in range(args.first_seed, args.first_seed + seeds):
                job = {"data": data, "loss": "ns", "model": model, "seed": seed}
                if args.steps:
                    job["steps"] = args.steps
                if options:
                    job["options"] = options
                config = make_config(data, "ns", model, seed, args.steps, **options)
                if _key({**job, "config": config, "blas_kernel": blas_kernel()}) not in done:
                    jobs.append(job)
        print(f"{len(jobs)} runs to do", flush=True)
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for result in pool.map(run_one, jobs):
                with open(LOG, "a") as f:
                    f.write(json.dumps(result) + "\n")
                m = result["metrics"]
                print(f"{result['data']} {result['model']} seed {result['seed']}: "
                      f"{result['status']} in {result['seconds']}s "
                      f"{json.dumps({k: v for k, v in m.items() if k != 'counts'})}", flush=True)
                write_report(load_log(), command)
    print(write_report(load_log(), command))


if __name__ == "__main__":
    main()
