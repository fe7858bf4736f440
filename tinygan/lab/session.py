"""The lab's engine room: a real ``GANTrainer`` that the controls poke, one press at a time.

``LabSession`` holds the settings, builds the trainer from them (all randomness from one
seed, so ``reset()`` gives back exactly the seed's state), and offers what the buttons do:

    step_d()     one discriminator step (G does not move)
    step_g()     one generator step (D does not move)
    step()       one full step of Algorithm 1: k D steps, then one G step
    reset()      rebuild everything from the seed
    set(...)     change a setting; the loss, learning rates, optimiser, D steps, instance
                 noise and gradient penalty change the running game; the data, pack, spectral
                 norm and seed (anything that changes the networks) start a new one

It knows nothing of widgets (``tinygan.lab.widget`` puts buttons on it), so it works in a
script and in tests. The view is drawn from fixed noise and fixed real points, drawn from
their own generators: looking never changes what training does.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, fields, replace
from typing import Any, Iterator

import numpy as np

import tinygan
from tinygan import optim
from tinygan.devices import backend
from tinygan.data.batching import DistributionBatches
from tinygan.data.toy import ToyData, get_toy_data, sample_noise
from tinygan.gan.losses import LOSSES, get_loss
from tinygan.gan.models import toy_mlp
from tinygan.gan.penalties import PENALTIES, Penalty, get_penalty
from tinygan.gan.recipe import DEFAULT_PENALTY_WEIGHT, RECIPES
from tinygan.gan.trainer import HISTORY_KEYS, GANTrainer
from tinygan.lab import frames as lab_frames
from tinygan.lab.frames import Frame
from tinygan.nn.utils import spectral_norm_layers

OPTIMIZERS = ("adam", "rmsprop", "sgd")
#: settings that change the running game; all others rebuild it from the seed
LIVE_SETTINGS = ("loss", "lr_g", "lr_d", "optimizer", "d_steps", "instance_noise", "penalty",
                 "penalty_weight")
#: settings whose default comes from the recipe (the ring's for 2-D data, gauss1d's for 1-D)
RECIPE_SETTINGS = ("lr_g", "lr_d", "d_steps", "pack", "batch_size")


def default_recipe(dim: int) -> dict[str, Any]:
    """The ``tinygan train`` recipe the lab starts from: the ring's for 2-D data (the default
    model: 3 x 128 ReLU G, 3 x 128 LeakyReLU D judging packs of 4, Adam 1e-3, beta1 0.5,
    batch 256, 2-D noise), the 1-D Gaussian's for 1-D data."""
    return RECIPES["ring" if dim == 2 else "gauss1d"]


@dataclass(frozen=True)
class LabSettings:
    """Everything that defines a lab run. ``None`` means "the recipe's value" (for
    ``penalty_weight``: the library's default weight; ``penalty=None`` is no penalty).
    ``spectral_norm`` and ``penalty`` are ``tinygan train``'s --spectral-norm and --penalty."""

    data: str | ToyData = "ring"
    loss: str = "ns"
    lr_g: float | None = None
    lr_d: float | None = None
    optimizer: str = "adam"
    d_steps: int | None = None
    pack: int | None = None
    instance_noise: float = 0.0
    seed: int = 0
    batch_size: int | None = None
    spectral_norm: bool = False
    penalty: str | None = None
    penalty_weight: float | None = None

    def resolved(self) -> "LabSettings":
        """The same settings with every ``None`` replaced by the recipe's value, checked."""
        data = self.toy_data()
        recipe = default_recipe(data.dim)
        out = replace(self,
                      lr_g=recipe["lr_g"] if self.lr_g is None else float(self.lr_g),
                      lr_d=recipe["lr_d"] if self.lr_d is None else float(self.lr_d),
                      d_steps=recipe["d_steps"] if self.d_steps is None else int(self.d_steps),
                      pack=(recipe["model_options"].get("pack", 1) if self.pack is None
                            else int(self.pack)),
                      batch_size=(recipe["batch_size"] if self.batch_size is None
                                  else int(self.batch_size)),
                      spectral_norm=bool(self.spectral_norm),
                      penalty_weight=(DEFAULT_PENALTY_WEIGHT if self.penalty_weight is None
                                      else float(self.penalty_weight)))
        if out.loss not in LOSSES:
            raise ValueError(f"lab: unknown loss {out.loss!r}: choose one of {', '.join(LOSSES)}")
        if out.penalty is not None and out.penalty not in PENALTIES:
            raise ValueError(f"lab: unknown penalty {out.penalty!r}: choose None or one of "
                             f"{', '.join(PENALTIES)}")
        if not out.penalty_weight > 0:
            raise ValueError(f"lab: penalty_weight must be > 0, got {out.penalty_weight}")
        if out.optimizer not in OPTIMIZERS:
            raise ValueError(f"lab: unknown optimizer {out.optimizer!r}: choose one of "
                             f"{', '.join(OPTIMIZERS)}")
        if not (out.lr_g > 0 and out.lr_d > 0 and out.d_steps >= 1 and out.pack >= 1
                and out.instance_noise >= 0):
            raise ValueError(f"lab: learning rates must be > 0, d_steps and pack >= 1, "
                             f"instance_noise >= 0; got lr_g={out.lr_g}, lr_d={out.lr_d}, "
                             f"d_steps={out.d_steps}, pack={out.pack}, "
                             f"instance_noise={out.instance_noise}")
        if out.batch_size % out.pack:
            raise ValueError(f"lab: batch size {out.batch_size} is not a multiple of the "
                             f"pack size {out.pack}")
        return out

    def toy_data(self) -> ToyData:
        return self.data if isinstance(self.data, ToyData) else get_toy_data(self.data)

    def penalty_term(self) -> Penalty | None:
        """The gradient penalty these settings add to D's loss (None: none)."""
        s = self.resolved()
        return None if s.penalty is None else get_penalty(s.penalty, s.penalty_weight)


def make_optimizer(name: str, params: Any, lr: float, betas: tuple[float, float]) -> Any:
    """Adam (with the recipe's betas), RMSprop or plain SGD at learning rate ``lr``."""
    if name == "adam":
        return optim.Adam(params, lr=lr, betas=betas)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    return optim.SGD(params, lr=lr)


def build_lab_trainer(settings: LabSettings) -> GANTrainer:
    """A fresh GANTrainer for ``settings`` (resolved), every random draw from its seed."""
    s = settings.resolved()
    data = s.toy_data()
    recipe = default_recipe(data.dim)
    gen = tinygan.Generator(s.seed)
    options = {k: tuple(v) if isinstance(v, list) else v
               for k, v in recipe["model_options"].items()}
    options["pack"] = s.pack
    G, D = toy_mlp((data.dim,), recipe["z_dim"], generator=gen, **options)
    if s.spectral_norm:   # as tinygan train --spectral-norm: every weight layer of D
        spectral_norm_layers(D, generator=gen)
    betas = tuple(recipe["betas"])
    return GANTrainer(G, D, get_loss(s.loss),
                      make_optimizer(s.optimizer, G.parameters(), s.lr_g, betas),
                      make_optimizer(s.optimizer, D.parameters(), s.lr_d, betas),
                      DistributionBatches(data.sample, gen), gen, z_dim=recipe["z_dim"],
                      batch_size=s.batch_size, d_steps=s.d_steps, noise=recipe["noise"],
                      instance_noise=s.instance_noise, penalty=s.penalty_term(),
                      config={"lab": True})


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread (when threadpoolctl is installed), as ``tinygan
    train`` does for toy data: the lab's matrices are a few hundred numbers wide, so threads
    cost more than they give, and one thread makes a seed's run the same on every machine.
    Scoped to the block, so the learner's other notebook work keeps its threads."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield


class LabSession:
    """A GAN being trained under the learner's hands; see the module docstring."""

    VIEW_POINTS = 512   # fakes and reals drawn in the view (and scored for coverage)

    def __init__(self, settings: LabSettings | None = None, **changes: Any) -> None:
        self.settings = replace(settings or LabSettings(), **changes).resolved()
        self.reset()

    # ---- building ----------------------------------------------------------------------
    def reset(self) -> None:
        """Back to step 0 of the current settings' seed: the same networks, optimiser state,
        data stream and view points as a fresh session with those settings."""
        self.trainer = build_lab_trainer(self.settings)
        data = self.data
        view_gen = tinygan.Generator(10_000 + self.settings.seed)   # the view's own draws
        self.view_z = np.asarray(backend.to_numpy(
            sample_noise(self.VIEW_POINTS, self.trainer.z_dim, view_gen, self.trainer.noise)))
        self.view_real = np.asarray(backend.to_numpy(
            data.sample(self.VIEW_POINTS, view_gen)))
        self.updates = 0   # presses: D steps, G steps and full steps, each counts one
        self.history: dict[str, list[float]] = {k: [] for k in ("step",) + HISTORY_KEYS}
        self.metrics: dict[str, list[float]] = {"step": []}

    @property
    def data(self) -> ToyData:
        return self.settings.toy_data()

    def set(self, **changes: Any) -> None:
        """Change settings. Live ones (``LIVE_SETTINGS``) apply to the running trainer from
        its next step on; any other change rebuilds the run from the seed. Moving between
        1-D and 2-D data takes the new recipe's ``RECIPE_SETTINGS`` unless they are given."""
        unknown = set(changes) - {f.name for f in fields(LabSettings)}
        if unknown:
            raise ValueError(f"lab: unknown setting(s) {sorted(unknown)}")
        old = self.settings
        if "data" in changes:
            dim = (changes["data"] if isinstance(changes["data"], ToyData)
                   else get_toy_data(changes["data"])).dim
            if dim != old.toy_data().dim:   # 1-D <-> 2-D: the other recipe's defaults
                changes = {**{k: None for k in RECIPE_SETTINGS}, **changes}
        self.settings = replace(old, **changes).resolved()
        changed = {k for k in changes if getattr(old, k) != getattr(self.settings, k)}
        if changed - set(LIVE_SETTINGS):
            self.reset()
            return
        t, s = self.trainer, self.settings
        if "loss" in changed:
            t.loss = get_loss(s.loss)
        if "optimizer" in changed:   # a new optimiser starts with empty moment estimates
            betas = tuple(default_recipe(self.data.dim)["betas"])
            t.opt_g = make_optimizer(s.optimizer, t.G.parameters(), s.lr_g, betas)
            t.opt_d = make_optimizer(s.optimizer, t.D.parameters(), s.lr_d, betas)
        for opt, lr in ((t.opt_g, s.lr_g), (t.opt_d, s.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr
        t.d_steps, t.instance_noise = s.d_steps, s.instance_noise
        if changed & {"penalty", "penalty_weight"}:   # a term of D's loss from its next step
            t.penalty = s.penalty_term()

    # ---- the buttons -------------------------------------------------------------------
    def step_d(self) -> dict[str, float]:
        """One discriminator step: D learns from a fresh real and fake batch, G is untouched."""
        with one_blas_thread():
            return self._record(self.trainer.discriminator_step())

    def step_g(self) -> dict[str, float]:
        """One generator step: G follows D's gradient, D is untouched."""
        with one_blas_thread():
            return self._record(self.trainer.generator_step())

    def step(self, n: int = 1) -> dict[str, float]:
        """n full steps (k D steps, one G step each); returns the last record."""
        return self.train_for(n)[1]

    def train_for(self, steps: int, seconds: float | None = None
                  ) -> tuple[int, dict[str, float]]:
        """Up to ``steps`` full steps, stopping early once ``seconds`` have passed (at least
        one step). Returns (steps done, the last record)."""
        record: dict[str, float] = {}
        done, start = 0, time.perf_counter()
        with one_blas_thread():
            while done < steps and (seconds is None or done == 0
                                    or time.perf_counter() - start < seconds):
                record = self._record(self.trainer.train_step())
                done += 1
        return done, record

    def _record(self, record: dict[str, float]) -> dict[str, float]:
        """Append a history row; a lone D or G step carries the other network's numbers on."""
        self.updates += 1
        self.history["step"].append(self.updates)
        for key in HISTORY_KEYS:
            column = self.history[key]
            column.append(float(record[key]) if key in record
                          else (column[-1] if column else math.nan))
        return record

    # ---- what is seen ------------------------------------------------------------------
    def frame(self, resolution: int = 64, arrows: int = 64, remember: bool = True) -> Frame:
        """The layered view now (and, with ``remember``, its numbers in ``self.metrics``)."""
        t = self.trainer
        with one_blas_thread():
            frame = lab_frames.capture(t.G, t.D, t.loss, self.data, self.view_z,
                                       self.view_real, self.updates, resolution, arrows)
        if remember:
            if self.metrics["step"] and self.metrics["step"][-1] == self.updates:
                return frame
            self.metrics["step"].append(self.updates)
            for key, value in frame.metrics.items():
                column = self.metrics.setdefault(key, [])
                column.extend([math.nan] * (len(self.metrics["step"]) - 1 - len(column)))
                column.append(float(value))
        return frame

    def parameters_of(self, which: str) -> list[np.ndarray]:
        """Copies of G's or D's parameters (``which`` = "G" or "D"), for comparisons."""
        module = self.trainer.G if which == "G" else self.trainer.D
        return [p.numpy().copy() for p in module.parameters()]
