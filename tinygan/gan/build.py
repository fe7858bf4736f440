"""Building a run from its recipe: a config in, models, optimizers, data and trainer out.

A run is described by one dict, the recorded form of a ``Recipe`` (tinygan/gan/recipe.py):
the dataset's recipe, the loss's and the model's paper settings laid on it, then any flags.
``build_trainer`` turns it into a ``GANTrainer``, every random draw (weights, data, noise)
coming from the one generator seeded by ``config["seed"]``: the same config, the same run.

    config = make_config("ring", "ns", "mlp", seed=0, steps=2000)
    trainer = build_trainer(config)
    trainer.train(config["steps"])

The ``tinygan train`` command does exactly this, inside a run folder (tinygan/run/cli.py).
"""
from __future__ import annotations

from typing import Any

from tinygan import optim
from tinygan.data.registry import get_dataset
from tinygan.devices.random import Generator
from tinygan.gan.losses import get_loss
from tinygan.gan.models import build_models
from tinygan.gan.penalties import get_penalty
from tinygan.gan.recipe import Recipe, make_recipe
from tinygan.gan.trainer import GANTrainer
from tinygan.nn.utils import spectral_norm_layers
from tinygan.optim import Optimizer


def make_config(data: str, loss: str, model: str, seed: int, steps: int | None = None,
                batch_size: int | None = None, **options: Any) -> dict[str, Any]:
    """The full configuration of a run: the dataset's recipe, then the loss's and the
    model's overrides, then ``options`` (any other Recipe field, as a flag would set it),
    in the Recipe's recorded form (what metrics.json and the checkpoint keep)."""
    return make_recipe(data, loss, model, seed, steps=steps, batch_size=batch_size,
                       **options).to_dict()


def build_trainer(config: dict[str, Any], load_data: bool = True) -> GANTrainer:
    """Models, optimizers, data and trainer for ``config``; all randomness from one seed.
    ``load_data=False``: no real data (a trainer that only samples, as ``tinygan sample``)."""
    config = Recipe.from_dict(config).to_dict()   # checked, with every field present
    gen = Generator(int(config["seed"]))
    options = {k: tuple(v) if isinstance(v, list) else v   # JSON keeps tuples as lists
               for k, v in config.get("model_options", {}).items()}
    G, D = build_models(config["model"], config["data"], config["z_dim"], 0, gen, **options)
    if config["spectral_norm"]:   # every weight layer of D divided by its largest singular value
        spectral_norm_layers(D, generator=gen)
    opt_g = make_optimizer(config, G.parameters(), config["lr_g"])
    opt_d = make_optimizer(config, D.parameters(), config["lr_d"])
    real = get_dataset(config["data"]).real_batches(gen) if load_data else None
    penalty = (get_penalty(config["penalty"], config["penalty_weight"])
               if config["penalty"] else None)
    return GANTrainer(G, D, get_loss(config["loss"]), opt_g, opt_d, real, gen,
                      z_dim=config["z_dim"], batch_size=config["batch_size"],
                      d_steps=config["d_steps"], noise=config["noise"],
                      lr_decay_steps=config["steps"] if config.get("lr_decay") else None,
                      instance_noise=config.get("instance_noise", 0.0),
                      instance_noise_steps=instance_noise_steps(config),
                      config=config, ema_decay=config["ema"], penalty=penalty)


def make_optimizer(config: dict[str, Any], params: Any, lr: float) -> Optimizer:
    """The recipe's optimizer: RMSprop (WGAN's clipped critic, whose paper found momentum
    unstable) or Adam with the recipe's betas."""
    if config["optimizer"] == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    return optim.Adam(params, lr=lr, betas=tuple(config["betas"]))


def instance_noise_steps(config: dict[str, Any]) -> int | None:
    """The step at which instance noise reaches 0: ``instance_noise_until`` (a fraction of
    the run, 1 when absent) of ``steps``; None when the recipe has no instance noise."""
    if not config.get("instance_noise"):
        return None
    return max(1, round(config["steps"] * config.get("instance_noise_until", 1.0)))
