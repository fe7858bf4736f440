"""The ``tinygan`` command: train a GAN, keep it on disk, sample from it.

    tinygan train                      # the offline default: PacGAN's ring, about 3 minutes
    tinygan train --data grid --steps 20000 --out runs/grid
    tinygan train --out runs/grid --steps 30000 --resume   # continue the same run to 30000
    tinygan sample --run runs/grid --n 2500 --out grid.npy

A run folder holds checkpoint.npz (everything needed to resume), metrics.json (config,
final metrics, evaluations during training, the loss history), samples.png (G's samples: the
digits, a histogram, or for 2-D data their density) and curves.png, plus scatter.png for the
2-D data (the samples over the mode centres) or figure1.png for the 1-D Gaussian, and the
film of the run (film.gif and film.html, the lab's view at 40 log-spaced steps; ``--no-film``
skips it). How it is kept whole (one writer, atomic files, foreign folders refused) is
tinygan/run/runfolder.py's business; matplotlib, for the pictures, is imported by
tinygan/viz.py only when a picture is drawn, so ``tinygan --help`` stays fast.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Any, Sequence

import numpy as np

from tinygan import viz
from tinygan.data.mnist import last_source, load_mnist
from tinygan.data.registry import DATASETS, get_dataset
from tinygan.devices.backend import BackendError
from tinygan.devices.random import Generator
from tinygan.devices.threads import limit_blas_threads
from tinygan.gan.build import build_trainer, make_config
from tinygan.gan.evaluate import EVAL_SAMPLES, eval_generator, evaluate, evaluate_1d, toy_modes
from tinygan.gan.losses import LOSSES
from tinygan.gan.models import MODELS
from tinygan.gan.recipe import add_flags, check_resume, flags_given
from tinygan.gan.trainer import GANTrainer, TrainingDiverged
from tinygan.lab.film import attach_film
from tinygan.run.atomic import WriteError, atomic_write
from tinygan.run.checkpoint import CheckpointError, load_checkpoint
from tinygan.run.runfolder import (CHECKPOINT, RunFolder, RunFolderError, build_report,
                                   run_config, write_report)
from tinygan.run.untrusted import available_memory

# What a run is (its recipe), how it is built (tinygan/gan/build.py) and how it is scored
# (tinygan/gan/evaluate.py) live in gan/; this file reads the command line, keeps the run
# folder in order and calls them.


class CLIError(Exception):
    """A problem with the command line or the run folder; printed as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (steps, batch sizes, sample counts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


# ---- pictures and metrics.json -------------------------------------------------------------
def write_outputs(trainer: GANTrainer, folder: RunFolder, seconds: float | None, status: str
                  ) -> tuple[dict[str, str], dict[str, Any]]:
    """The pictures, then metrics.json (every file atomically); returns ({what: path}, the
    final metrics). The trainer holds the state of the checkpoint beside them."""
    data = trainer.config["data"]
    pictures: dict[str, str] = {}
    final = evaluate(trainer)
    gen = eval_generator()
    if data == "mnist":
        images = trainer.sample(64, generator=gen)
        pictures["samples"] = folder.file("samples.png")
        viz.sample_grid(images, pictures["samples"], nrow=8,
                        title=f"64 generated digits after {trainer.step} steps")
    elif data in ("ring", "grid"):
        modes, _ = toy_modes(data)
        samples = trainer.sample(EVAL_SAMPLES, generator=gen).numpy()
        headline = (f"{data}, step {trainer.step}: {final.get('modes_captured', '?')}/"
                    f"{len(modes)} modes, {100 * final.get('high_quality_fraction', 0):.1f}% "
                    f"high quality")
        # scatter.png: where the samples are; samples.png: how G's mass splits among modes
        pictures["scatter"] = folder.file("scatter.png")
        viz.scatter_2d(samples, modes, pictures["scatter"],
                       title=headline + "\n(blue should sit on every red cross)")
        pictures["samples"] = folder.file("samples.png")
        kl = final.get("reverse_kl", float("nan"))
        viz.histogram_2d(samples, modes, pictures["samples"], counts=final.get("counts"),
                         title=f"{headline}, reverse KL {kl:.3f}\n(every mode should hold "
                               f"an even share)")
    else:
        metrics, curves = evaluate_1d(trainer)
        pictures["figure1"] = folder.file("figure1.png")
        viz.figure1_1d(curves["xs"], curves["p_data"], curves["p_g"], curves["d"],
                       curves["d_star"], pictures["figure1"], step=trainer.step)
        pictures["samples"] = folder.file("samples.png")
        viz.histogram_1d(trainer.sample(EVAL_SAMPLES, generator=gen).numpy(),
                         pictures["samples"], mu=4.0, sigma=0.5)
    pictures["curves"] = folder.file("curves.png")
    viz.training_curves(trainer.history, pictures["curves"],
                        probability=trainer.loss.outputs_probability)
    _write_report(trainer, folder, status, final=final, seconds=seconds)
    return pictures, final


def _write_report(trainer: GANTrainer, folder: RunFolder, status: str, **extra: Any) -> None:
    """metrics.json beside the checkpoint (same step; None when there is no checkpoint)."""
    if trainer.config["data"] == "mnist":
        extra["mnist_source"] = last_source()
    step = trainer.last_checkpoint[0] if trainer.last_checkpoint else None
    write_report(folder.metrics, build_report(trainer, status, step, **extra))


# ---- memory: refuse what cannot fit, before allocating it ------------------------------------
def check_memory(what: str, needed: int) -> None:
    """CLIError when ``needed`` bytes (a lower bound) exceed the memory available."""
    available = available_memory()
    if available is not None and needed > available:
        raise CLIError(f"{what} needs at least {needed / 2 ** 30:.1f} GiB of memory, more than "
                       f"the {available / 2 ** 30:.1f} GiB available")


def _sample_bytes(config: dict[str, Any], n: int) -> int:
    """A lower bound on the memory for n samples: the noise and the float32 samples."""
    return 4 * n * (int(config["z_dim"]) + int(np.prod(get_dataset(config["data"]).shape)))


# ---- the commands --------------------------------------------------------------------------
def _new_run_dir(data: str, loss: str, seed: int) -> str:
    base = os.path.join("runs", f"{data}-{loss}-seed{seed}")
    n = 1
    while os.path.exists(f"{base}-{n}"):
        n += 1
    return f"{base}-{n}"


def cmd_train(args: argparse.Namespace) -> int:
    recipe_flags = flags_given(args)   # --lr-g, --penalty, --ema, ...: tinygan/gan/recipe.py
    for name, value in recipe_flags.items():   # float("nan") and float("inf") parse fine
        if isinstance(value, float) and not math.isfinite(value):
            raise CLIError(f"--{name.replace('_', '-')} must be a finite number, got {value}")
    if args.resume and not args.out:
        raise CLIError("--resume needs --out DIR, the run to continue")
    if args.resume:
        folder, config = RunFolder(args.out), None
    else:
        data, loss = args.data or "ring", args.loss or "ns"
        seed = 0 if args.seed is None else args.seed
        config = make_config(data, loss, args.model or "mlp", seed, args.steps, args.batch_size,
                             **recipe_flags)
        if "penalty_weight" in recipe_flags and config["penalty"] is None:
            raise CLIError(f"--penalty-weight needs --penalty r1|r2|gp (the {data} recipe has "
                           f"no penalty)")
        folder = RunFolder(args.out or _new_run_dir(data, loss, seed))
    folder.check()   # a folder of someone else's files is refused before anything is written
    if args.resume and not os.path.exists(folder.checkpoint):
        raise CLIError(f"--resume: no checkpoint at {folder.checkpoint}")
    with folder.writing() as notes:   # the lock: one writer; stale temporaries removed
        for note in notes:
            print(f"tinygan: {note}", file=sys.stderr)
        if args.resume:
            config = _resume_config(args, folder, recipe_flags)
        elif os.path.exists(folder.checkpoint):
            raise CLIError(f"{folder.checkpoint} exists: pass --resume to continue that run, "
                           f"or another --out")
        return _train(args, folder, config)


def _resume_config(args: argparse.Namespace, folder: RunFolder,
                   recipe_flags: dict[str, Any]) -> dict[str, Any]:
    """The run's config from its checkpoint, with --steps applied; flags that would change
    the run are refused (the recipe's own flags by tinygan/gan/recipe.py's check)."""
    config, step = run_config(folder.checkpoint)
    check_resume(config, {flag: getattr(args, flag) for flag in
                          ("data", "loss", "model", "seed", "batch_size")} | recipe_flags)
    if args.steps is not None:
        if args.steps < step:
            raise CLIError(f"--resume --steps {args.steps}: the run is already at step {step}; "
                           f"--steps is the total, so give at least {step}")
        config["steps"] = args.steps
    return config


def _train(args: argparse.Namespace, folder: RunFolder, config: dict[str, Any]) -> int:
    """Train inside a locked run folder: checkpoints and metrics.json together, divergence
    stopped at the last finite checkpoint, a full disk or an interruption named."""
    data, steps = config["data"], int(config["steps"])
    if data != "mnist":
        limit_blas_threads(1)
    batch = int(config["batch_size"])
    d_steps = int(config["d_steps"])
    check_memory(f"--batch-size {batch}" + (f" with --d-steps {d_steps}" if d_steps > 1 else ""),
                 (2 + d_steps) * _sample_bytes(config, batch))
    trainer = build_trainer(config)
    if data == "mnist":   # the held-out split is read at the end: find a broken one now
        load_mnist("test")
    if args.resume:
        trainer.load(folder.checkpoint)
        trainer.config["steps"] = steps
        if not trainer.evaluations:   # a checkpoint from before they were kept in it
            trainer.evaluations = folder.legacy_evaluations(trainer.step)
        claimed = folder.report_step()
        if claimed != trainer.step:   # a crash fell between the two writes, or worse
            said = "was missing or unreadable" if claimed is None else f"said step {claimed}"
            print(f"tinygan: {folder.metrics} {said}: rewritten from the checkpoint (step "
                  f"{trainer.step})", file=sys.stderr)
            folder.write_progress(trainer)
    if data != "mnist" and steps >= 200:   # ten evaluations along the way
        trainer.add_callback(steps // 10, lambda t: t.evaluations.append(evaluate(t)))
    ckpt_every = args.ckpt_every or max(1, steps // 10)
    trainer.add_callback(ckpt_every, folder.save)   # after the evaluation of the same step
    film = None if args.no_film else attach_film(trainer, folder.path, steps)
    print(f"tinygan: training {data} with the {config['loss']} loss ({config['model']} model) "
          f"from step {trainer.step} to {steps} -> {folder.path}")
    start, status = time.time(), "finished"
    try:
        try:
            trainer.train(steps, progress=not args.quiet)
            if trainer.last_checkpoint is None or trainer.last_checkpoint[0] != trainer.step:
                folder.save(trainer)
        except TrainingDiverged as err:
            status = f"diverged: {err}"
            print(f"tinygan: {err}", file=sys.stderr)
            if trainer.last_checkpoint is None:   # no finite state to draw: the report only
                _write_report(trainer, folder, status)
                return 1
            trainer.load(trainer.last_checkpoint[1])   # pictures of the last finite state
        seconds = round(time.time() - start, 1)
        pictures, final = write_outputs(trainer, folder, seconds, status)
        if film is not None:
            pictures.update(film.save())
    except WriteError as err:
        raise CLIError(f"step {trainer.step}: {err}; {_kept(trainer)}") from None
    except MemoryError:
        raise CLIError(f"out of memory at step {trainer.step + 1} with --batch-size {batch}: "
                       f"try a smaller one; {_kept(trainer)}") from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"at step {trainer.step}; {_kept(trainer)}") from None
    print(f"tinygan: step {trainer.step} in {seconds}s{_summary(final)}")
    print("tinygan: pictures: " + ", ".join(pictures[k] for k in sorted(pictures)))
    print(f"tinygan: metrics: {folder.metrics}; checkpoint: {folder.checkpoint}")
    return 0 if status == "finished" else 1


def _kept(trainer: GANTrainer) -> str:
    """What is safe on disk, for an error or an interruption."""
    if trainer.last_checkpoint is None:
        return "no checkpoint was written yet"
    step, path = trainer.last_checkpoint
    return f"the checkpoint of step {step} in {path} is intact (continue with --resume)"


def _summary(final: dict[str, Any]) -> str:
    if "modes_captured" in final:
        return (f": {final['modes_captured']}/{final['num_modes']} modes, "
                f"{100 * final['high_quality_fraction']:.1f}% high quality, "
                f"reverse KL {final['reverse_kl']:.3f}")
    if "max_abs_d_minus_dstar_2sigma" in final:
        return (f": max |D - D*| {final['max_abs_d_minus_dstar_2sigma']:.3f} on mu +- 2 "
                f"sigma, JSD {final['js_divergence']:.4f}")
    if "frechet_distance_fake" in final:
        return (f": Frechet distance {final['frechet_distance_fake']:.1f} (real digits: "
                f"{final['frechet_distance_real']:.1f}), {final['classes_covered_fake']}/10 "
                f"classes")
    return ""


def cmd_sample(args: argparse.Namespace) -> int:
    ext = os.path.splitext(args.out)[1].lower()
    if ext not in (".npy", ".png"):
        raise CLIError(f"--out must end in .npy or .png, got {args.out!r}")
    ckpt = os.path.join(args.run, CHECKPOINT)
    config = run_config(ckpt)[0]   # refuses a missing, non-finite or config-less checkpoint
    check_memory(f"--n {args.n}", 2 * _sample_bytes(config, args.n))
    trainer = build_trainer(config, load_data=False)   # the checkpoint is all it needs
    load_checkpoint(ckpt, G=trainer.G, D=trainer.D,
                    G_ema=None if trainer.ema is None else trainer.ema.module)
    try:
        samples = trainer.sample(args.n, generator=Generator(args.seed)).numpy()
    except MemoryError:
        raise CLIError(f"out of memory drawing --n {args.n} samples: ask for fewer") from None
    if ext == ".npy":
        with atomic_write(args.out) as f:   # a file object: np.save adds no second .npy
            np.save(f, samples, allow_pickle=False)
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
    train = sub.add_parser("train", help="train a GAN (default: ring, about 3 minutes)")
    train.add_argument("--data", choices=list(DATASETS), help="dataset (default ring)")
    train.add_argument("--loss", choices=list(LOSSES), help="GAN loss (default ns)")
    train.add_argument("--model", choices=list(MODELS), help="architecture (default mlp)")
    train.add_argument("--steps", type=positive_int,
                       help="total training steps (the recipe's default)")
    train.add_argument("--batch-size", type=positive_int,
                       help="minibatch size (the recipe's default)")
    train.add_argument("--seed", type=int, help="random seed (default 0)")
    train.add_argument("--ckpt-every", type=positive_int, help="save a checkpoint every K steps")
    train.add_argument("--out", help="run folder: new, empty or a tinygan run (default: a new "
                                     "one under ./runs/)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--no-film", action="store_true",
                       help="do not write film.gif / film.html (the run's training film)")
    add_flags(train)   # one flag per Recipe field marked as one (tinygan/gan/recipe.py)
    train.set_defaults(func=cmd_train)
    sample = sub.add_parser("sample", help="draw samples from a trained run")
    sample.add_argument("--run", required=True, help="run folder holding checkpoint.npz")
    sample.add_argument("--n", type=positive_int, required=True, help="number of samples")
    sample.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    sample.add_argument("--out", required=True, help="FILE.npy (data values) or FILE.png")
    sample.set_defaults(func=cmd_sample)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tinygan`` and ``python -m tinygan``; returns the exit status."""
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        if not argv:
            argv = ["train"]   # no arguments: the offline default run
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.error("choose a command: train or sample")
        try:
            return args.func(args)
        except (CLIError, CheckpointError, RunFolderError, BackendError, ValueError,
                OSError) as err:
            if os.environ.get("TINYGAN_DEBUG"):
                raise
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(f"tinygan: error: {message}", file=sys.stderr)
            return 1
        except MemoryError:
            if os.environ.get("TINYGAN_DEBUG"):
                raise
            print("tinygan: error: out of memory (try a smaller --batch-size or --n)",
                  file=sys.stderr)
            return 1
    except KeyboardInterrupt as interrupt:   # Ctrl-C, also during start-up: one line
        where = f" {interrupt}" if str(interrupt) else ""
        print(f"tinygan: interrupted{where}", file=sys.stderr)
        return 130
