"""Training a GAN: Algorithm 1 of Goodfellow et al. 2014, one readable step at a time.

    for each training step:
        for k steps:                                     # train the discriminator
            sample a minibatch of m real examples x
            sample a minibatch of m noise vectors z
            update D by descending the D loss on (x, G(z)),  G(z) DETACHED
        sample a minibatch of m noise vectors z          # train the generator
        update G by descending the G loss on D(G(z)),    gradients flowing THROUGH D into G

Two details carry the whole idea:

* In D's step the fakes are made under ``no_grad()``: D's loss must not move G.
* In G's step the gradient must pass through D (that is the only way G learns what D
  finds fake), but only G's optimizer steps; D's parameters are switched off
  (``requires_grad_(False)``) so no gradient is even computed for them.

One ``tinygan.Generator`` drives every random draw (data, noise, interpolation weights,
labels), so the same seed gives the same run, bit for bit on NumPy, and a checkpoint that
saves the generator's state resumes exactly where the run left off.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from tinygan import backend
from tinygan import functional as F
from tinygan.data.toy import sample_noise
from tinygan.gan.ema import EMA
from tinygan.gan.losses import GANLoss
from tinygan.gan.penalties import Penalty
from tinygan.nn import Module
from tinygan.optim import Optimizer
from tinygan.random import Generator
from tinygan.tensor import Tensor, no_grad

#: what the trainer records after every step (``trainer.history[name]`` is a list)
HISTORY_KEYS = ("d_loss", "g_loss", "penalty", "d_real", "d_fake", "grad_norm_d",
                "grad_norm_g")


def linear_decay(step: int, end: int) -> float:
    """1 at step 0, falling linearly to 0 at step ``end`` and staying 0 after it."""
    return max(0.0, 1.0 - step / end)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the loss."""


def grad_norm(module: Module) -> float:
    """||grad||_2 over all of a module's parameters (0 when none has a gradient)."""
    total = 0.0
    for p in module.parameters():
        if p.grad is not None:
            total += float((p.grad.array * p.grad.array).sum())
    return math.sqrt(total)


class GANTrainer:
    """Trains generator ``G`` against discriminator ``D``.

    G(z) maps noise (N, z_dim) to samples; D(x) maps samples to raw scores (N, 1).
    ``real_data.next(batch_size) -> (x Tensor, labels or None)`` supplies real minibatches
    (see ``tinygan.data.batching``). With ``num_classes`` > 0 the GAN is conditional
    (Mirza & Osindero 2014): G(z, y) and D(x, y) both see the label y.
    """

    def __init__(self, G: Module, D: Module, loss: GANLoss, opt_g: Optimizer, opt_d: Optimizer,
                 real_data: Any, generator: Generator, z_dim: int, batch_size: int = 64,
                 d_steps: int = 1, noise: str = "normal", num_classes: int = 0,
                 lr_decay_steps: int | None = None, instance_noise: float = 0.0,
                 instance_noise_steps: int | None = None,
                 config: dict[str, Any] | None = None, penalty: Penalty | None = None,
                 ema_decay: float | None = None) -> None:
        if batch_size < 1 or d_steps < 1:
            raise ValueError(f"GANTrainer: batch_size and d_steps must be >= 1, got "
                             f"{batch_size} and {d_steps}")
        if instance_noise < 0 or (instance_noise_steps is not None and instance_noise_steps < 1):
            raise ValueError(f"GANTrainer: instance_noise must be >= 0 and instance_noise_steps "
                             f">= 1, got {instance_noise} and {instance_noise_steps}")
        self.G, self.D, self.loss = G, D, loss
        self.opt_g, self.opt_d = opt_g, opt_d
        self.real_data, self.generator = real_data, generator
        self.z_dim, self.batch_size, self.d_steps = z_dim, batch_size, d_steps
        self.noise, self.num_classes = noise, num_classes
        # optional linear learning-rate decay to 0 at step ``lr_decay_steps``: large steps
        # early find the modes, small steps late let G settle onto them instead of circling
        self.lr_decay_steps = lr_decay_steps
        self.base_lrs = [[g["lr"] for g in opt.param_groups] for opt in (opt_g, opt_d)]
        # optional instance noise (see ``instance_noise_std``)
        self.instance_noise, self.instance_noise_steps = instance_noise, instance_noise_steps
        self.config = dict(config or {})
        # an optional gradient penalty on D (R1, R2, GP: tinygan.gan.penalties) added to
        # whatever penalty the loss itself carries (WGAN-GP's)
        self.penalty = penalty
        # an optional moving average of G's weights (tinygan.gan.ema), updated after every
        # G step; ``sample`` (so every evaluation) then draws from it
        self.ema = EMA(G, ema_decay) if ema_decay is not None else None
        self.step = 0
        self.history: dict[str, list[float]] = {k: [] for k in HISTORY_KEYS}
        self.callbacks: list[tuple[int, Callable[["GANTrainer"], None]]] = []

    # ---- the pieces of Algorithm 1 -----------------------------------------------------
    def sample_z(self, n: int) -> Tensor:
        """n noise vectors, (n, z_dim), from the trainer's generator."""
        return Tensor(sample_noise(n, self.z_dim, self.generator, self.noise))

    def sample_labels(self, n: int) -> Any:
        """n class labels drawn uniformly (conditional GANs), else None."""
        return self.generator.integers(0, self.num_classes, n) if self.num_classes else None

    def _D(self, x: Tensor, labels: Any) -> Tensor:
        return self.D(x, labels) if self.num_classes else self.D(x)

    def _G(self, z: Tensor, labels: Any, G: Module | None = None) -> Tensor:
        G = self.G if G is None else G
        return G(z, labels) if self.num_classes else G(z)

    def instance_noise_std(self) -> float:
        """Std of the Gaussian noise added to everything D sees at the current step.

        Instance noise (Sonderby et al. 2017; Arjovsky & Bottou 2017): D judges x + e and
        G(z) + e, e ~ N(0, s^2), i.e. the data and generator densities both blurred by the
        same Gaussian. Blurred, two distributions overlap even where the originals do not,
        so D's gradient reaches G's samples from every mode, including modes G has not
        found yet. s decays linearly from ``instance_noise`` to 0 at step
        ``instance_noise_steps`` (constant when that is None), so the game ends unblurred.
        """
        if not self.instance_noise:
            return 0.0
        if self.instance_noise_steps is None:
            return self.instance_noise
        return self.instance_noise * linear_decay(self.step, self.instance_noise_steps)

    def _blur(self, x: Tensor) -> Tensor:
        """x + N(0, s^2) noise with s = ``instance_noise_std()`` (x itself when s is 0)."""
        std = self.instance_noise_std()
        if std == 0.0:
            return x
        return x + Tensor(self.generator.normal(x.shape, std=std, dtype=x.dtype))

    def discriminator_step(self) -> dict[str, float]:
        """One update of D on a fresh real minibatch and a fresh (detached) fake one."""
        real, labels = self.real_data.next(self.batch_size)
        if not self.num_classes:
            labels = None
        z = self.sample_z(self.batch_size)
        with no_grad():                     # the fakes are data for D: G must not move
            fake = self._G(z, labels)       # fakes share the real batch's class mix
        real, fake = self._blur(real), self._blur(fake)
        real_logits = self._D(real, labels)
        fake_logits = self._D(fake, labels)
        d_loss = self.loss.d_loss(real_logits, fake_logits)
        penalty = self._penalty(lambda x: self._D(x, labels), real, fake)
        total = d_loss if penalty is None else d_loss + penalty
        self._check_finite("d_loss", total)
        self.opt_d.zero_grad()
        total.backward()
        norm = grad_norm(self.D)
        self.opt_d.step()
        self.loss.after_d_step(self.D)      # WGAN: clip the critic's weights
        return {"d_loss": total.item(),
                "penalty": 0.0 if penalty is None else penalty.item(),
                "d_real": self._d_output(real_logits), "d_fake": self._d_output(fake_logits),
                "grad_norm_d": norm}

    def generator_step(self) -> dict[str, float]:
        """One update of G: its gradient flows back through D, but only G is updated."""
        labels = self.sample_labels(self.batch_size)
        z = self.sample_z(self.batch_size)
        flags = [(p, p.requires_grad) for p in self.D.parameters()]
        self.D.requires_grad_(False)        # D is a fixed judge during G's step
        try:
            g_loss = self.loss.g_loss(self._D(self._blur(self._G(z, labels)), labels))
            self._check_finite("g_loss", g_loss)
            self.opt_g.zero_grad()
            g_loss.backward()
        finally:
            for p, flag in flags:           # as they were (a user may freeze some layers)
                p.requires_grad = flag
        norm = grad_norm(self.G)
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update(self.G)
        return {"g_loss": g_loss.item(), "grad_norm_g": norm}

    def train_step(self) -> dict[str, float]:
        """k discriminator steps, then one generator step; records and returns the numbers."""
        for _ in range(self.d_steps):
            record = self.discriminator_step()
        record.update(self.generator_step())
        self.step += 1
        for key in HISTORY_KEYS:
            self.history[key].append(float(record[key]))
        return record

    def _penalty(self, D: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor
                 ) -> Tensor | None:
        """The loss's own penalty plus the trainer's ``penalty`` (None when neither)."""
        terms = [self.loss.penalty(D, real, fake, self.generator)]
        if self.penalty is not None:
            terms.append(self.penalty(D, real, fake, self.generator))
        terms = [t for t in terms if t is not None]
        return None if not terms else terms[0] if len(terms) == 1 else terms[0] + terms[1]

    # ---- the loop ----------------------------------------------------------------------
    def add_callback(self, every: int, fn: Callable[["GANTrainer"], None]) -> None:
        """Call ``fn(trainer)`` after every ``every`` steps (sampling pictures, metrics)."""
        if every < 1:
            raise ValueError(f"add_callback: every must be >= 1, got {every}")
        self.callbacks.append((every, fn))

    def train(self, steps: int, progress: bool = True, checkpoint_path: str | None = None,
              ckpt_every: int | None = None) -> None:
        """Train until ``self.step == steps`` (a total, so a resumed run continues to it).

        Every ``ckpt_every`` steps (and at the end) the run is saved to ``checkpoint_path``.
        A NaN/Inf loss raises TrainingDiverged naming the step and the loss; the checkpoint
        on disk is then the last good one (a bad state is never written).
        """
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=self.step, disable=not progress, desc="training",
                   dynamic_ncols=True, leave=False)
        try:
            while self.step < steps:
                if self.lr_decay_steps:
                    self._set_learning_rates(linear_decay(self.step, self.lr_decay_steps))
                record = self.train_step()
                if self.step % 25 == 0 or self.step == steps:
                    bar.set_postfix(d_loss=f"{record['d_loss']:.3f}",
                                    g_loss=f"{record['g_loss']:.3f}", refresh=False)
                bar.update(1)
                for every, fn in self.callbacks:
                    if self.step % every == 0:
                        fn(self)
                if checkpoint_path and ckpt_every and self.step % ckpt_every == 0:
                    self.save(checkpoint_path)
        finally:
            bar.close()
        if checkpoint_path:
            self.save(checkpoint_path)

    # ---- using the trained generator ---------------------------------------------------
    def sample(self, n: int, labels: Any = None, generator: Generator | None = None,
               chunk_size: int = 500, use_ema: bool = True) -> Tensor:
        """n samples from G in eval mode, without a graph. Conditional GANs: ``labels``
        (n,) picks the class of each sample (drawn uniformly when omitted). When the trainer
        keeps an EMA of G, the samples come from the averaged G unless ``use_ema=False``.

        G runs on at most ``chunk_size`` noise vectors at a time: the samples are the same
        as in one big batch (eval mode treats every sample alone), but a DCGAN's peak memory
        stays that of ``chunk_size`` samples (2,500 at once would need about 1 GB)."""
        if n < 1 or chunk_size < 1:
            raise ValueError(f"sample: n and chunk_size must be >= 1, got {n} and {chunk_size}")
        gen = generator or self.generator
        z = sample_noise(n, self.z_dim, gen, self.noise)
        if self.num_classes and labels is None:
            labels = gen.integers(0, self.num_classes, n)
        G = self.ema.module if self.ema is not None and use_ema else self.G
        was_training = G.training
        G.eval()
        try:
            with no_grad():
                chunks = [self._G(Tensor(z[i:i + chunk_size]),
                                  None if labels is None else labels[i:i + chunk_size], G).array
                          for i in range(0, n, chunk_size)]
        finally:
            G.train(was_training)
        return Tensor(backend.get_array_module(chunks[0]).concatenate(chunks))

    def discriminator_output(self, x: Tensor, labels: Any = None) -> Tensor:
        """D's opinion of x: P(real) for the minimax losses, the raw critic value otherwise."""
        with no_grad():
            out = self._D(x, labels)
            return F.sigmoid(out) if self.loss.outputs_probability else out

    # ---- saving and resuming -----------------------------------------------------------
    def save(self, path: str) -> None:
        from tinygan.checkpoint import save_checkpoint
        save_checkpoint(path, G=self.G, D=self.D, opt_g=self.opt_g, opt_d=self.opt_d,
                        generator=self.generator, step=self.step, config=self.config,
                        data_state=self.real_data.state_dict(), history=self.history,
                        G_ema=None if self.ema is None else self.ema.module)

    def load(self, path: str) -> None:
        """Restore everything ``save`` wrote; the next step is the one after the saved one."""
        from tinygan.checkpoint import load_checkpoint
        state = load_checkpoint(path, G=self.G, D=self.D, opt_g=self.opt_g, opt_d=self.opt_d,
                                generator=self.generator,
                                G_ema=None if self.ema is None else self.ema.module)
        self.step = state["step"]
        self.real_data.load_state_dict(state["data_state"])
        self.history = {k: list(state["history"].get(k, [])) for k in HISTORY_KEYS}

    # ---- helpers -----------------------------------------------------------------------
    def _set_learning_rates(self, factor: float) -> None:
        for opt, bases in zip((self.opt_g, self.opt_d), self.base_lrs):
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = base * factor

    def _d_output(self, logits: Tensor) -> float:
        """Mean D output: a probability (sigmoid of the logit) or a critic value."""
        values = F.sigmoid(logits.detach()) if self.loss.outputs_probability else logits
        return float(values.array.mean())

    def _check_finite(self, name: str, value: Tensor) -> None:
        v = value.item()
        if not np.isfinite(v):
            raise TrainingDiverged(f"training stopped at step {self.step + 1}: {name} is {v} "
                                   f"({type(self.loss).__name__}); the checkpoint on disk is "
                                   f"the last good one")
