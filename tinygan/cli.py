"""The ``tinygan`` command: train a GAN, keep it on disk, sample from it.

    tinygan train                      # the offline default: PacGAN's ring, about 1-2 minutes
    tinygan train --data grid --steps 20000 --out runs/grid
    tinygan train --out runs/grid --steps 30000 --resume   # continue the same run to 30000
    tinygan sample --run runs/grid --n 2500 --out grid.npy

A run folder holds checkpoint.npz (everything needed to resume), metrics.json (config,
final metrics, evaluations during training, the loss history), samples.png and curves.png,
plus scatter.png for the 2-D data or figure1.png for the 1-D Gaussian.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any, Sequence

import numpy as np

from tinygan.gan.recipe import LOSS_OVERRIDES, MODEL_OVERRIDES, RECIPES  # noqa: F401

DATASETS = ("gauss1d", "ring", "grid", "mnist")
LOSS_NAMES = ("minimax", "ns", "wgan", "wgan-gp", "lsgan", "hinge")

# The recipes (per dataset, per loss, per model) and the typed Recipe they make live in
# tinygan/gan/recipe.py; the names stay importable from here.

class CLIError(Exception):
    """A problem with the command line or the run folder; printed as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def model_names() -> list[str]:
    from tinygan.gan.models import MODELS
    return list(MODELS)


def make_config(data: str, loss: str, model: str, seed: int, steps: int | None = None,
                batch_size: int | None = None, **options: Any) -> dict[str, Any]:
    """The full configuration of a run: recipe, then loss and model overrides, then flags
    (``options``: any other Recipe field), as the Recipe's recorded form."""
    from tinygan.gan.recipe import make_recipe
    return make_recipe(data, loss, model, seed, steps=steps, batch_size=batch_size,
                       **options).to_dict()


# ---- building a run from its config ------------------------------------------------------
def build_trainer(config: dict[str, Any]):
    """Models, optimizers, data and trainer for ``config``; all randomness from one seed."""
    import tinygan
    from tinygan import nn, optim
    from tinygan.data import batching, toy
    from tinygan.gan.losses import get_loss
    from tinygan.gan.models import build_models
    from tinygan.gan.trainer import GANTrainer

    from tinygan.gan.penalties import get_penalty
    from tinygan.gan.recipe import Recipe
    from tinygan.nn.utils import spectral_norm

    config = Recipe.from_dict(config).to_dict()   # checked, with every field present
    gen = tinygan.Generator(int(config["seed"]))
    options = {k: tuple(v) if isinstance(v, list) else v
               for k, v in config.get("model_options", {}).items()}
    G, D = build_models(config["model"], config["data"], config["z_dim"], 0, gen, **options)
    if config["spectral_norm"]:   # every weight layer of D divided by its largest singular value
        for layer in list(D.modules()):
            if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                spectral_norm(layer, generator=gen)

    def make_opt(params: Any, lr: float) -> Any:
        if config["optimizer"] == "rmsprop":
            return optim.RMSprop(params, lr=lr)
        return optim.Adam(params, lr=lr, betas=tuple(config["betas"]))

    opt_g = make_opt(G.parameters(), config["lr_g"])
    opt_d = make_opt(D.parameters(), config["lr_d"])
    data = config["data"]
    if data == "mnist":
        from tinygan.data.mnist import load_mnist
        images, labels = load_mnist("train")
        real = batching.DatasetBatches(images, labels, gen)
    else:
        sampler = {"ring": toy.sample_ring, "grid": toy.sample_grid,
                   "gauss1d": toy.gaussian_1d}[data]
        real = batching.DistributionBatches(sampler, gen)
    return GANTrainer(G, D, get_loss(config["loss"]), opt_g, opt_d, real, gen,
                      z_dim=config["z_dim"], batch_size=config["batch_size"],
                      d_steps=config["d_steps"], noise=config["noise"],
                      lr_decay_steps=config["steps"] if config.get("lr_decay") else None,
                      instance_noise=config.get("instance_noise", 0.0),
                      instance_noise_steps=_instance_noise_steps(config),
                      config=config, ema_decay=config["ema"],
                      penalty=(get_penalty(config["penalty"], config["penalty_weight"])
                               if config["penalty"] else None))


def _instance_noise_steps(config: dict[str, Any]) -> int | None:
    """The step at which instance noise reaches 0: ``instance_noise_until`` (a fraction of
    the run, 1 when absent) of ``steps``; None when the recipe has no instance noise."""
    if not config.get("instance_noise"):
        return None
    return max(1, round(config["steps"] * config.get("instance_noise_until", 1.0)))


# ---- evaluation and pictures -------------------------------------------------------------
EVAL_SAMPLES = 2500   # PacGAN's protocol scores 2,500 samples


def _eval_generator():
    """A fixed generator for evaluation draws, so evaluating never disturbs training's."""
    import tinygan
    return tinygan.Generator(2 ** 31 - 1)


def toy_modes(data: str) -> tuple[np.ndarray, float]:
    from tinygan.data import toy
    return (toy.ring_modes(), toy.RING_STD) if data == "ring" else (toy.grid_modes(),
                                                                    toy.GRID_STD)


def evaluate(trainer: Any) -> dict[str, Any]:
    """The dataset's quality numbers for the current G (and D, for the 1-D case)."""
    data = trainer.config["data"]
    samples = trainer.sample(EVAL_SAMPLES, generator=_eval_generator()).numpy()
    if not np.all(np.isfinite(samples)):
        return {"step": trainer.step, "finite": False}
    if data in ("ring", "grid"):
        from tinygan.metrics.mode_coverage import mode_coverage
        modes, std = toy_modes(data)
        return {"step": trainer.step, **mode_coverage(samples, modes, std).as_dict()}
    if data == "gauss1d":
        return {"step": trainer.step, **evaluate_1d(trainer)[0]}
    return {"step": trainer.step, **evaluate_digits(trainer)}


def evaluate_digits(trainer: Any, num_fake: int = 2000) -> dict[str, Any]:
    """Frechet distance and classifier score of G's digits beside held-out real digits
    (tinygan.metrics.digits; its classifier is trained on first use and cached)."""
    if trainer.step < 200:   # a few steps make noise, not digits: skip the classifier
        return {"digits": "not measured before step 200"}
    from tinygan.data.mnist import load_mnist
    from tinygan.metrics.digits import digit_report, get_digit_classifier
    real, _ = load_mnist("test")
    fakes = trainer.sample(num_fake, generator=_eval_generator()).numpy()
    return digit_report(fakes, real[:2 * num_fake], get_digit_classifier())


def evaluate_1d(trainer: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """max |D - D*| on the data's support, and JSD(p_data, p_g), for the 1-D Gaussian.

    "Support" is taken as mu +- 2 sigma (95% of the data); the value over mu +- 3 sigma is
    reported too (in the far tails both densities, so D*, rest on a handful of samples)."""
    import tinygan
    from tinygan.metrics import theory
    mu, sigma = 4.0, 0.5
    samples = trainer.sample(10000, generator=_eval_generator()).numpy().ravel()
    xs = np.linspace(mu - 4 * sigma, mu + 4 * sigma, 801)
    p_data = theory.gaussian_pdf(xs, mu, sigma)
    p_g = theory.kde_pdf(samples, xs)
    d_star = theory.optimal_discriminator(p_data, p_g)
    d = trainer.discriminator_output(tinygan.tensor(xs.astype(np.float32)[:, None])).numpy()
    d = d.ravel().astype(np.float64)
    gap = np.abs(d - d_star)
    inside2 = np.abs(xs - mu) <= 2 * sigma
    inside3 = np.abs(xs - mu) <= 3 * sigma
    # the JSD needs a grid that holds both densities, wherever G's samples landed
    wide = np.linspace(min(xs[0], samples.min() - 1), max(xs[-1], samples.max() + 1), 1601)
    jsd = theory.js_divergence(theory.gaussian_pdf(wide, mu, sigma),
                               theory.kde_pdf(samples, wide), float(wide[1] - wide[0]))
    metrics = {"max_abs_d_minus_dstar_2sigma": float(gap[inside2].max()),
               "max_abs_d_minus_dstar_3sigma": float(gap[inside3].max()),
               "js_divergence": jsd,
               "g_mean": float(samples.mean()), "g_std": float(samples.std())}
    curves = {"xs": xs, "p_data": p_data, "p_g": p_g, "d": d, "d_star": d_star}
    return metrics, curves


def write_outputs(trainer: Any, run_dir: str, seconds: float | None,
                  evaluations: list[dict[str, Any]], status: str
                  ) -> tuple[dict[str, str], dict[str, Any]]:
    """metrics.json and the pictures; returns ({what: path}, the final metrics)."""
    from tinygan import viz
    config, data = trainer.config, trainer.config["data"]
    pictures: dict[str, str] = {}
    final = evaluate(trainer)
    gen = _eval_generator()
    if data == "mnist":
        images = trainer.sample(64, generator=gen)
        pictures["samples"] = os.path.join(run_dir, "samples.png")
        viz.sample_grid(images, pictures["samples"], nrow=8,
                        title=f"64 generated digits after {trainer.step} steps")
    elif data in ("ring", "grid"):
        modes, _ = toy_modes(data)
        samples = trainer.sample(EVAL_SAMPLES, generator=gen).numpy()
        pictures["samples"] = os.path.join(run_dir, "samples.png")
        title = (f"{data}, step {trainer.step}: {final.get('modes_captured', '?')}/"
                 f"{len(modes)} modes, {100 * final.get('high_quality_fraction', 0):.1f}% "
                 f"high quality\n(blue should sit on every red cross)")
        viz.scatter_2d(samples, modes, pictures["samples"], title=title)
        pictures["scatter"] = os.path.join(run_dir, "scatter.png")
        viz.scatter_2d(samples, modes, pictures["scatter"], title=title)
    else:
        metrics, curves = evaluate_1d(trainer)
        pictures["figure1"] = os.path.join(run_dir, "figure1.png")
        viz.figure1_1d(curves["xs"], curves["p_data"], curves["p_g"], curves["d"],
                       curves["d_star"], pictures["figure1"], step=trainer.step)
        pictures["samples"] = os.path.join(run_dir, "samples.png")
        viz.histogram_1d(trainer.sample(EVAL_SAMPLES, generator=gen).numpy(),
                         pictures["samples"], mu=4.0, sigma=0.5)
    pictures["curves"] = os.path.join(run_dir, "curves.png")
    viz.training_curves(trainer.history, pictures["curves"],
                        probability=trainer.loss.outputs_probability)
    n = len(trainer.history["d_loss"])
    stride = max(1, math.ceil(n / 2000))   # keep metrics.json small: <= 2000 points a curve
    report = {"status": status, "step": trainer.step, "config": config, "final": final,
              "evaluations": evaluations, "seconds": seconds,
              "history_stride": stride,
              "history": {k: v[::stride] for k, v in trainer.history.items()}}
    if data == "mnist":
        from tinygan.data.mnist import last_source
        report["mnist_source"] = last_source()
    with open(os.path.join(run_dir, "metrics.json"), "w") as f:
        json.dump(report, f, indent=1, default=_json_default)
    return pictures, final


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# ---- the commands --------------------------------------------------------------------------
def _new_run_dir(data: str, loss: str, seed: int) -> str:
    base = os.path.join("runs", f"{data}-{loss}-seed{seed}")
    n = 1
    while os.path.exists(f"{base}-{n}"):
        n += 1
    return f"{base}-{n}"


def limit_blas_threads(threads: int = 1) -> None:
    """Ask the BLAS library (OpenBLAS, MKL) to use ``threads`` threads, if threadpoolctl is
    installed. The toy networks multiply matrices of a few hundred numbers: splitting such
    a product over threads costs more than it saves, and on a busy machine spinning BLAS
    threads made a ring step 10x slower (measured: 9 ms with one thread, 110 ms without)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(threads)


def cmd_train(args: argparse.Namespace) -> int:
    from tinygan.gan.trainer import TrainingDiverged

    from tinygan.gan.recipe import flags_given
    ckpt_name = "checkpoint.npz"
    recipe_flags = flags_given(args)   # --lr-g, --penalty, --ema, ...: tinygan/gan/recipe.py
    if args.resume:
        if not args.out:
            raise CLIError("--resume needs --out DIR, the run to continue")
        ckpt = os.path.join(args.out, ckpt_name)
        if not os.path.exists(ckpt):
            raise CLIError(f"--resume: no checkpoint at {ckpt}")
        from tinygan.checkpoint import read_checkpoint
        from tinygan.gan.recipe import check_resume
        config = read_checkpoint(ckpt)[1]["config"]
        check_resume(config, {flag: getattr(args, flag) for flag in
                              ("data", "loss", "model", "seed", "batch_size")} | recipe_flags)
        if args.steps is not None:
            config["steps"] = args.steps
        run_dir = args.out
    else:
        data, loss = args.data or "ring", args.loss or "ns"
        seed = 0 if args.seed is None else args.seed
        config = make_config(data, loss, args.model or "mlp", seed, args.steps, args.batch_size,
                             **recipe_flags)
        run_dir = args.out or _new_run_dir(data, loss, seed)
        ckpt = os.path.join(run_dir, ckpt_name)
        if os.path.exists(ckpt):
            raise CLIError(f"{ckpt} exists: pass --resume to continue that run, or another "
                           f"--out")
    os.makedirs(run_dir, exist_ok=True)
    if config["data"] != "mnist":
        limit_blas_threads(1)
    trainer = build_trainer(config)
    evaluations: list[dict[str, Any]] = []
    if args.resume:
        trainer.load(ckpt)
        trainer.config["steps"] = config["steps"]
        previous = os.path.join(run_dir, "metrics.json")
        if os.path.exists(previous):
            with open(previous) as f:
                evaluations = [e for e in json.load(f).get("evaluations", [])
                               if e.get("step", 0) <= trainer.step]
    steps = int(config["steps"])
    if config["data"] != "mnist" and steps >= 200:   # ten evaluations along the way
        trainer.add_callback(steps // 10, lambda t: evaluations.append(evaluate(t)))
    ckpt_every = args.ckpt_every or max(1, steps // 10)
    print(f"tinygan: training {config['data']} with the {config['loss']} loss "
          f"({config['model']} model) from step {trainer.step} to {steps} -> {run_dir}")
    start, status = time.time(), "finished"
    try:
        trainer.train(steps, progress=not args.quiet, checkpoint_path=ckpt,
                      ckpt_every=ckpt_every)
    except TrainingDiverged as err:
        status = str(err)
        print(f"tinygan: {err} ({ckpt})", file=sys.stderr)
    seconds = round(time.time() - start, 1)
    pictures, final = write_outputs(trainer, run_dir, seconds, evaluations, status)
    summary = ""
    if "modes_captured" in final:
        summary = (f": {final['modes_captured']}/{final['num_modes']} modes, "
                   f"{100 * final['high_quality_fraction']:.1f}% high quality, "
                   f"reverse KL {final['reverse_kl']:.3f}")
    elif "max_abs_d_minus_dstar_2sigma" in final:
        summary = (f": max |D - D*| {final['max_abs_d_minus_dstar_2sigma']:.3f} on mu +- 2 "
                   f"sigma, JSD {final['js_divergence']:.4f}")
    elif "frechet_distance_fake" in final:
        summary = (f": Frechet distance {final['frechet_distance_fake']:.1f} (real digits: "
                   f"{final['frechet_distance_real']:.1f}), {final['classes_covered_fake']}/10 "
                   f"classes")
    print(f"tinygan: step {trainer.step} in {seconds}s{summary}")
    print("tinygan: pictures: " + ", ".join(pictures[k] for k in sorted(pictures)))
    print(f"tinygan: metrics: {os.path.join(run_dir, 'metrics.json')}; checkpoint: {ckpt}")
    return 0 if status == "finished" else 1


def cmd_sample(args: argparse.Namespace) -> int:
    import tinygan
    from tinygan import viz
    from tinygan.checkpoint import load_checkpoint, read_checkpoint
    if args.n < 1:
        raise CLIError(f"--n must be >= 1, got {args.n}")
    ext = os.path.splitext(args.out)[1].lower()
    if ext not in (".npy", ".png"):
        raise CLIError(f"--out must end in .npy or .png, got {args.out!r}")
    ckpt = os.path.join(args.run, "checkpoint.npz")
    config = read_checkpoint(ckpt)[1]["config"]
    trainer = build_trainer(config)
    load_checkpoint(ckpt, G=trainer.G, D=trainer.D,
                    G_ema=None if trainer.ema is None else trainer.ema.module)
    gen = tinygan.Generator(args.seed)
    samples = trainer.sample(args.n, generator=gen).numpy()
    folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    if ext == ".npy":
        np.save(args.out, samples, allow_pickle=False)
    elif config["data"] == "mnist":
        viz.sample_grid(samples, args.out, nrow=min(10, args.n),
                        title=f"{args.n} samples from {args.run}")
    elif config["data"] in ("ring", "grid"):
        viz.scatter_2d(samples, toy_modes(config["data"])[0], args.out)
    else:
        viz.histogram_1d(samples, args.out, mu=4.0, sigma=0.5)
    print(f"tinygan: wrote {args.n} samples of shape {samples.shape[1:]} to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tinygan", description="Train GANs from scratch on NumPy.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    train = sub.add_parser("train", help="train a GAN (default: ring, about 1-2 minutes)")
    train.add_argument("--data", choices=DATASETS, help="dataset (default ring)")
    train.add_argument("--loss", choices=LOSS_NAMES, help="GAN loss (default ns)")
    train.add_argument("--model", choices=model_names(), help="architecture (default mlp)")
    train.add_argument("--steps", type=int, help="total training steps (the recipe's default)")
    train.add_argument("--batch-size", type=int, help="minibatch size (the recipe's default)")
    train.add_argument("--seed", type=int, help="random seed (default 0)")
    train.add_argument("--ckpt-every", type=int, help="save a checkpoint every K steps")
    train.add_argument("--out", help="run folder (default: a new one under ./runs/)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    from tinygan.gan.recipe import add_flags
    add_flags(train)   # one flag per Recipe field marked as one (tinygan/gan/recipe.py)
    train.set_defaults(func=cmd_train)
    sample = sub.add_parser("sample", help="draw samples from a trained run")
    sample.add_argument("--run", required=True, help="run folder holding checkpoint.npz")
    sample.add_argument("--n", type=int, required=True, help="number of samples")
    sample.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    sample.add_argument("--out", required=True, help="FILE.npy (data values) or FILE.png")
    sample.set_defaults(func=cmd_sample)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tinygan`` and ``python -m tinygan``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["train"]   # no arguments: the offline default run
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("choose a command: train or sample")
    from tinygan.backend import BackendError
    from tinygan.checkpoint import CheckpointError
    try:
        return args.func(args)
    except (CLIError, CheckpointError, BackendError, ValueError, OSError) as err:
        if os.environ.get("TINYGAN_DEBUG"):
            raise
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"tinygan: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tinygan: interrupted", file=sys.stderr)
        return 130
