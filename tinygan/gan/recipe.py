"""A run's settings as one typed object: what ``tinygan train`` trains with, what metrics.json
and the checkpoint record, what --resume checks and what benchmarks/quality_toy.py varies.

A new option is one field of ``Recipe``: its default (the value that means "off", so runs
recorded before the field existed read back unchanged) and, for a command-line flag,
``metadata=flag("help")``; the flag, the record and the resume check follow from it. Only
``build_trainer`` (tinygan/gan/build.py) has to learn what the option does.

Each dataset has a base recipe (``RECIPES``), on which the loss's paper settings
(``LOSS_OVERRIDES``), the model's (``MODEL_OVERRIDES``) and then the flags are laid.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

# Recipes: the settings each dataset trains with unless a flag says otherwise. The toy
# recipes are tuned so the default losses reach PacGAN's targets (benchmarks/quality_toy.py).
RECIPES: dict[str, dict[str, Any]] = {
    # 1-D: normal noise, so x = 4 + 0.5 z is within G's reach and G can match the data's
    # tails (uniform noise, as drawn in Figure 1, leaves G a bounded support: D* = 1 beyond
    # it); 5 D steps per G step keep D near its optimum D*, as the paper's picture assumes;
    # tanh units in both nets: a ReLU G is piecewise linear, so its density (and D*) jumps
    # at every kink, which no smooth D can follow (max |D - D*| 0.18 with ReLU, 0.03 with tanh)
    "gauss1d": dict(steps=3000, batch_size=128, z_dim=1, noise="normal", lr_g=5e-4, lr_d=1e-3,
                    betas=(0.5, 0.999), d_steps=5, lr_decay=True,
                    model_options=dict(hidden_g=(32, 32), hidden_d=(64, 64),
                                       activation_g="tanh", activation_d="tanh")),
    # ring and grid: PacGAN's packed discriminator (D judges m samples at once, which is what
    # stops the generator from dropping modes), 2-D noise as in PacGAN, and a learning rate
    # that decays linearly to 0 (big steps find the modes, small ones sharpen them)
    # (ring: 8,000 steps left 10-45% of samples on "bridges" between modes; by 20,000 the
    # decaying learning rate has pulled them in: 95.6-97.2% high quality over 5 seeds)
    "ring": dict(steps=20000, batch_size=256, z_dim=2, noise="normal", lr_g=1e-3, lr_d=1e-3,
                 betas=(0.5, 0.999), d_steps=1, lr_decay=True,
                 model_options=dict(hidden_g=(128, 128, 128), hidden_d=(128, 128, 128), pack=4)),
    # (grid: packs alone leave a mode or two behind on some seeds (30,000 steps: 24 modes on
    # 2 of 5). Instance noise, std 0.5 falling to 0 at 70% of the run, blurs what D sees so
    # its gradient reaches every mode while G spreads out; the last 30% sharpens the modes.
    # R1 with gamma 1 (Mescheder et al. 2018: gamma/2 E ||grad_x D(x)||^2 on real points)
    # keeps the mass even over the modes: without it 3 of 10 held-out seeds, and tuning seed
    # 0 under another BLAS kernel, ended at reverse KL 0.05-0.11; with it every tuning run,
    # seeds 0-4 under both kernels, met PacGAN's row: benchmarks/RESULTS_quality.md)
    "grid": dict(steps=50000, batch_size=256, z_dim=2, noise="normal", lr_g=1e-3, lr_d=1e-3,
                 betas=(0.5, 0.999), d_steps=1, lr_decay=True, instance_noise=0.5,
                 instance_noise_until=0.7, penalty="r1", penalty_weight=1.0,
                 model_options=dict(hidden_g=(128, 128, 128), hidden_d=(256, 256, 256), pack=2)),
    # (mnist: the seed's MLP GAN, sampled from an EMA of G's weights (Yazici et al. 2019).
    # On the tuning seeds 0-4 the EMA's mean Frechet distance equals the raw G's (27.0) and
    # its worst seed is better (31.2 against 34.9); on held-out seeds the raw G lost a digit
    # once, the EMA never: benchmarks/RESULTS_quality.md)
    "mnist": dict(steps=5000, batch_size=64, z_dim=100, noise="normal", lr_g=2e-4, lr_d=2e-4,
                  betas=(0.5, 0.999), d_steps=1, ema=0.999, model_options={}),
}

# What each loss's paper prescribes, applied on top of a dataset's recipe (a WGAN critic
# keeps its own constraint, clipping or its gradient penalty, not the dataset's R1).
LOSS_OVERRIDES: dict[str, dict[str, Any]] = {
    "wgan": dict(optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, d_steps=5, penalty=None),
    "wgan-gp": dict(lr_g=1e-4, lr_d=1e-4, betas=(0.5, 0.9), d_steps=5, penalty=None),
}

# A model's own paper settings: PacGAN's for its architecture (``--model pacgan``), and no
# EMA for DCGAN (Radford et al. train and sample the raw G), whatever the dataset adds.
MODEL_OVERRIDES: dict[str, dict[str, Any]] = {
    "pacgan": dict(z_dim=2, batch_size=100, lr_g=1e-4, lr_d=1e-4, betas=(0.8, 0.999),
                   d_steps=1, lr_decay=False, instance_noise=0.0, penalty=None, ema=None,
                   model_options={}),
    "dcgan": dict(ema=None),
}

PENALTY_NAMES = ("r1", "r2", "gp")
#: the weight of a gradient penalty when none is given: WGAN-GP's lambda, and the gamma of
#: most of Mescheder et al.'s R1 experiments
DEFAULT_PENALTY_WEIGHT = 10.0


def flag(help: str, metavar: str | None = None, choices: tuple[str, ...] | None = None
         ) -> dict[str, Any]:
    """Field metadata that makes a recipe field a ``tinygan train`` flag (--field-name)."""
    return {"flag": True, "help": help, "metavar": metavar, "choices": choices}


@dataclass
class Recipe:
    """Everything that decides how a run trains (besides the code)."""

    data: str
    loss: str = "ns"
    model: str = "mlp"
    seed: int = 0
    steps: int = 5000
    batch_size: int = 64
    z_dim: int = 100
    noise: str = "normal"
    optimizer: str = "adam"
    # two time-scale update rule (Heusel et al. 2017): G's and D's own learning rates
    lr_g: float = field(default=2e-4, metadata=flag("G's learning rate (TTUR: may differ "
                                                    "from D's)", "LR"))
    lr_d: float = field(default=2e-4, metadata=flag("D's learning rate", "LR"))
    betas: tuple[float, float] = (0.5, 0.999)
    d_steps: int = field(default=1, metadata=flag("D steps per G step", "K"))
    lr_decay: bool = False
    instance_noise: float = 0.0
    instance_noise_until: float = 1.0
    model_options: dict[str, Any] = field(default_factory=dict)
    # stabilisers (chapter 14); every default is "off"
    penalty: str | None = field(default=None, metadata=flag(
        "a gradient penalty on D, added to the loss: r1 (real data), r2 (fakes), gp "
        "(interpolates)", choices=PENALTY_NAMES))
    penalty_weight: float = field(default=DEFAULT_PENALTY_WEIGHT, metadata=flag(
        "the penalty's weight: gamma of R1/R2 (gamma/2 E||grad D||^2), lambda of gp", "W"))
    spectral_norm: bool = field(default=False, metadata=flag(
        "spectral normalisation on every Linear/Conv layer of D"))
    ema: float | None = field(default=None, metadata=flag(
        "keep an EMA of G's weights with this decay (e.g. 0.999) and sample from it",
        "DECAY"))

    def __post_init__(self) -> None:
        # one form in memory, whichever form came in: tuples (JSON records hold lists)
        self.betas = tuple(self.betas)
        self.model_options = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in self.model_options.items()}
        if self.penalty is not None and self.penalty not in PENALTY_NAMES:
            raise ValueError(f"unknown penalty {self.penalty!r}: choose one of "
                             f"{', '.join(PENALTY_NAMES)}")
        if self.penalty_weight < 0:
            raise ValueError(f"--penalty-weight must be >= 0, got {self.penalty_weight}")
        if self.ema is not None and not 0.0 <= self.ema < 1.0:
            raise ValueError(f"--ema must be in [0, 1), got {self.ema}")
        if min(self.lr_g, self.lr_d) <= 0 or self.d_steps < 1:
            raise ValueError(f"learning rates must be > 0 and --d-steps >= 1, got lr_g "
                             f"{self.lr_g}, lr_d {self.lr_d}, d_steps {self.d_steps}")
        pack = self.model_options.get("pack", 1)
        if self.batch_size % pack:
            raise ValueError(f"--batch-size {self.batch_size} must be a multiple of {pack}: "
                             f"the {self.data} recipe's discriminator judges packs of {pack} "
                             f"samples")

    # ---- the recorded form (metrics.json, checkpoints) --------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (tuples become lists)."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        out["model_options"] = {k: list(v) if isinstance(v, tuple) else v
                                for k, v in self.model_options.items()}
        return out

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> "Recipe":
        """The inverse of ``to_dict``; fields a record predates take their ("off") default."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - names)
        if unknown:
            raise ValueError(f"recipe: unknown settings {unknown}")
        return cls(**config)


def make_recipe(data: str, loss: str = "ns", model: str = "mlp", seed: int = 0,
                **overrides: Any) -> Recipe:
    """The dataset's recipe, then the loss's and the model's settings, then ``overrides``
    (None values are ignored: a flag not given)."""
    if data not in RECIPES:
        raise ValueError(f"unknown dataset {data!r}: choose one of {', '.join(RECIPES)}")
    config: dict[str, Any] = dict(RECIPES[data])
    config.update(LOSS_OVERRIDES.get(loss, {}))
    config.update(MODEL_OVERRIDES.get(model, {}))
    config.update(data=data, loss=loss, model=model, seed=seed)
    config.update({k: v for k, v in overrides.items() if v is not None})
    config["model_options"] = dict(config.get("model_options", {}))
    return Recipe.from_dict(config)


def off_values() -> dict[str, Any]:
    """{field: default} for the fields whose default means "off" (the optional extras), so
    a record that lacks one trained exactly as one that holds the default."""
    always = {"data", "loss", "model", "seed", "steps", "batch_size", "z_dim", "noise",
              "lr_g", "lr_d", "betas", "d_steps", "model_options"}
    return {f.name: f.default for f in dataclasses.fields(Recipe)
            if f.name not in always and f.default is not dataclasses.MISSING}


# ---- the command line ----------------------------------------------------------------------
def flag_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(Recipe) if f.metadata.get("flag")]


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` option per flagged field; not given means the recipe's value."""
    for f in flag_fields():
        name = "--" + f.name.replace("_", "-")
        meta = f.metadata
        if f.type in (bool, "bool"):
            parser.add_argument(name, action="store_true", default=None, help=meta["help"])
            continue
        kind = {"float": float, "float | None": float, "int": int}.get(str(f.type), str)
        in_recipes = any(f.name in r for r in (*RECIPES.values(), *LOSS_OVERRIDES.values()))
        default = ("the recipe's" if in_recipes else "none" if f.default is None
                   else str(f.default))
        parser.add_argument(name, type=kind, choices=meta["choices"], metavar=meta["metavar"],
                            help=f"{meta['help']} (default: {default})")


def flags_given(args: argparse.Namespace) -> dict[str, Any]:
    """{field: value} for the recipe flags given on the command line."""
    given = {f.name: getattr(args, f.name, None) for f in flag_fields()}
    return {k: v for k, v in given.items() if v is not None}


def check_resume(saved: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Raise ValueError when a setting given to --resume differs from the run's own."""
    recorded = Recipe.from_dict(saved).to_dict()
    for name, value in given.items():
        if value is None:
            continue
        value = list(value) if isinstance(value, tuple) else value
        if value != recorded[name]:
            raise ValueError(f"--resume: --{name.replace('_', '-')} {value} differs from the "
                             f"run's {recorded[name]} (omit it to continue the run)")
