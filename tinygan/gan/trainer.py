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
labels), so the same seed gives the same run, bit for bit, and a checkpoint that saves the
generator's state resumes exactly where the run left off.

Devices: the trainer follows G. Noise, labels and instance noise are drawn on G's device,
real batches are moved there (one transfer per batch), and the numbers a step records
(losses, D's outputs, gradient norms) stay on the device until the end of the step, when
they come back to the host in one transfer: on a GPU every read of a value waits for all
queued work, so a step that read each number on its own would stall ~10 times. That
transfer, and the check that stops training at the first NaN or Inf, are ``StepNumbers``'s
job (at the end of this file), so ``train_step`` shows only the algorithm.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterator

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.data.toy import sample_noise
from tinygan.gan.ema import EMA
from tinygan.gan.losses import GANLoss
from tinygan.gan.penalties import Penalty
from tinygan.nn import Module
from tinygan.nn.utils.eval_mode import eval_mode
from tinygan.optim import Optimizer
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Tensor, no_grad

#: what the trainer records after every step (``trainer.history[name]`` is a list)
HISTORY_KEYS = ("d_loss", "g_loss", "penalty", "d_real", "d_fake", "grad_norm_d",
                "grad_norm_g")


def linear_decay(step: int, end: int) -> float:
    """1 at step 0, falling linearly to 0 at step ``end`` and staying 0 after it."""
    return max(0.0, 1.0 - step / end)


class TrainingDiverged(RuntimeError):
    """A loss, a gradient norm or a parameter became NaN or infinite.

    ``step`` is the step that went wrong and ``what`` names the value (``"d_loss is nan"``,
    ``"the gradient norm of G is inf"``, ...); the message also says which checkpoint, if
    any, holds the last finite state."""

    def __init__(self, message: str, step: int, what: str) -> None:
        super().__init__(message)
        self.step, self.what = step, what


def grad_norm_array(module: Module) -> Any:
    """||grad||_2 over all of a module's parameters, as a 0-d array on their device (no
    host synchronisation; 0.0 when none has a gradient). Summed in the gradients' own dtype,
    as torch.nn.utils.clip_grad_norm_ does: a norm float32 cannot hold counts as infinite,
    since the optimizer's g^2 state overflows with it."""
    total = None
    for p in module.parameters():
        if p.grad is not None:
            g = p.grad.array
            with np.errstate(over="ignore", invalid="ignore"):   # reported as inf below
                square_sum = (g * g).sum()
            total = square_sum if total is None else total + square_sum
    return 0.0 if total is None else backend.get_array_module(total).sqrt(total)


def grad_norm(module: Module) -> float:
    """||grad||_2 over all of a module's parameters (0 when none has a gradient)."""
    return float(backend.to_numpy(grad_norm_array(module)))


def parameter_sum_array(module: Module) -> Any:
    """The float64 sum of every parameter, a 0-d array on their device: it is finite exactly
    when every parameter is (a NaN or an Inf anywhere makes it NaN or Inf; float32 values
    cannot overflow a float64 sum), so one number checks them all without a sync."""
    total = None
    for p in module.parameters():
        part = p.array.sum(dtype=np.float64)
        total = part if total is None else total + part
    return 0.0 if total is None else total


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
        #: records made along the way (a callback's evaluations); saved in the checkpoint
        self.evaluations: list[dict[str, Any]] = []
        #: (step, path) of the last checkpoint written or loaded: the last finite state
        self.last_checkpoint: tuple[int, str] | None = None

    @property
    def device(self) -> str:
        """Where G's parameters are; everything a step draws or reads is put there."""
        for p in self.G.parameters():
            return p.device
        return backend.default_device()

    # ---- Algorithm 1 -------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        """One iteration of Algorithm 1: k updates of D, then one update of G.

        Returns the step's numbers (``HISTORY_KEYS``) as floats and records them. They stay
        on the device until the step ends and come back in one transfer, which also checks
        them for NaN/Inf (``StepNumbers``, below)."""
        numbers = StepNumbers(self)
        for _ in range(self.d_steps):                     # for k steps: D learns
            numbers.add("D", self.update_discriminator())
        numbers.add("G", self.update_generator())         # then G learns, once
        record = numbers.read(step=self.step + 1)         # one transfer; NaN/Inf raises
        self.step += 1
        for key in HISTORY_KEYS:
            self.history[key].append(record[key])
        return record

    def update_discriminator(self) -> dict[str, Any]:
        """Descend D's loss on m real examples x and m fakes G(z), the fakes DETACHED.
        Returns the update's numbers as 0-d arrays on the device."""
        real, labels = self.real_batch()              # m real examples (and their classes)
        z = self.sample_z(self.batch_size)            # m noise vectors
        with no_grad():                               # the fakes are data for D: G must not move
            fake = self._G(z, labels)                 # (they share the real batch's classes)
        real, fake = self._blur(real), self._blur(fake)     # instance noise, if any
        real_logits = self._D(real, labels)
        fake_logits = self._D(fake, labels)
        loss = self.loss.d_loss(real_logits, fake_logits)
        penalty = self._penalty(lambda x: self._D(x, labels), real, fake)   # R1, GP, ... or None
        if penalty is not None:
            loss = loss + penalty
        self.opt_d.zero_grad()
        loss.backward()
        norm = grad_norm_array(self.D)
        self.opt_d.step()
        self.loss.after_d_step(self.D)                # WGAN: clip the critic's weights
        return {"d_loss": loss.array, "penalty": 0.0 if penalty is None else penalty.array,
                "d_real": self._d_output(real_logits), "d_fake": self._d_output(fake_logits),
                "grad_norm_d": norm}

    def update_generator(self) -> dict[str, Any]:
        """Descend G's loss on D(G(z)) for m noise vectors z: the gradient flows back
        THROUGH D into G, but D is a fixed judge (frozen) and only G's optimizer steps.
        Returns the update's numbers as 0-d arrays on the device."""
        labels = self.sample_labels(self.batch_size)  # the classes G is asked for, if any
        z = self.sample_z(self.batch_size)            # m noise vectors
        with frozen(self.D):                          # no gradient is computed for D
            loss = self.loss.g_loss(self._D(self._blur(self._G(z, labels)), labels))
            self.opt_g.zero_grad()
            loss.backward()
        norm = grad_norm_array(self.G)
        self.opt_g.step()
        if self.ema is not None:                      # G's moving average follows it
            self.ema.update(self.G)
        return {"g_loss": loss.array, "grad_norm_g": norm}

    # ---- one update alone (notebooks and the lab step D and G by hand) -------------------
    def discriminator_step(self) -> dict[str, float]:
        """One update of D on a fresh real minibatch and fresh (detached) fakes. Returns its
        numbers as floats (one transfer); a NaN/Inf raises TrainingDiverged."""
        numbers = StepNumbers(self)
        numbers.add("D", self.update_discriminator())
        return numbers.read(step=self.step + 1)

    def generator_step(self) -> dict[str, float]:
        """One update of G: its gradient flows back through D, but only G is updated."""
        numbers = StepNumbers(self)
        numbers.add("G", self.update_generator())
        return numbers.read(step=self.step + 1)

    # ---- the pieces of Algorithm 1 -----------------------------------------------------
    def sample_z(self, n: int) -> Tensor:
        """n noise vectors, (n, z_dim), from the trainer's generator, on G's device."""
        return Tensor(sample_noise(n, self.z_dim, self.generator, self.noise, self.device))

    def sample_labels(self, n: int) -> Any:
        """n class labels drawn uniformly (conditional GANs), else None."""
        if not self.num_classes:
            return None
        return self.generator.integers(0, self.num_classes, n, device=self.device)

    def real_batch(self) -> tuple[Tensor, Any]:
        """The next real minibatch, and its labels for a conditional GAN (else None), on
        G's device: one transfer each when the data is elsewhere (MNIST in host memory)."""
        real, labels = self.real_data.next(self.batch_size)
        real = (real if isinstance(real, Tensor) else Tensor(real)).to(self.device)
        if not self.num_classes:
            labels = None
        elif isinstance(labels, Tensor):
            labels = labels.to(self.device)
        elif labels is not None:
            labels = backend.to_device(labels, self.device)
        return real, labels

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
        return x + Tensor(self.generator.normal(x.shape, std=std, dtype=x.dtype,
                                                device=x.device))

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
        A NaN/Inf loss, gradient norm or parameter raises TrainingDiverged naming the step
        and the value; the checkpoint on disk is then the last finite one (a non-finite
        state is never written).
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
        z = sample_noise(n, self.z_dim, gen, self.noise, self.device)
        if self.num_classes and labels is None:
            labels = gen.integers(0, self.num_classes, n, device=self.device)
        elif labels is not None:
            labels = labels.to(self.device) if isinstance(labels, Tensor) else \
                backend.to_device(labels, self.device)
        G = self.ema.module if self.ema is not None and use_ema else self.G
        with eval_mode(G), no_grad():
            chunks = [self._G(Tensor(z[i:i + chunk_size]),
                              None if labels is None else labels[i:i + chunk_size], G).array
                      for i in range(0, n, chunk_size)]
        return Tensor(backend.get_array_module(chunks[0]).concatenate(chunks))

    def discriminator_output(self, x: Tensor, labels: Any = None) -> Tensor:
        """D's opinion of x: P(real) for the minimax losses, the raw critic value otherwise."""
        with no_grad():
            out = self._D(x, labels)
            return F.sigmoid(out) if self.loss.outputs_probability else out

    # ---- saving and resuming -----------------------------------------------------------
    def save(self, path: str) -> None:
        """Write the whole run to ``path``; a non-finite value (an optimizer's state, say)
        raises TrainingDiverged instead, and the file on disk stays the previous one."""
        from tinygan.run.checkpoint import NonFiniteError, save_checkpoint
        try:
            save_checkpoint(path, G=self.G, D=self.D, opt_g=self.opt_g, opt_d=self.opt_d,
                            generator=self.generator, step=self.step, config=self.config,
                            data_state=self.real_data.state_dict(), history=self.history,
                            evaluations=self.evaluations,
                            G_ema=None if self.ema is None else self.ema.module)
        except NonFiniteError as err:
            raise self._diverged(self.step, f"{err.name} is not finite") from None
        self.last_checkpoint = (self.step, path)

    def load(self, path: str) -> None:
        """Restore everything ``save`` wrote; the next step is the one after the saved one."""
        from tinygan.run.checkpoint import load_checkpoint
        state = load_checkpoint(path, G=self.G, D=self.D, opt_g=self.opt_g, opt_d=self.opt_d,
                                generator=self.generator,
                                G_ema=None if self.ema is None else self.ema.module)
        self.step = state["step"]
        self.real_data.load_state_dict(state["data_state"])
        self.history = {k: list(state["history"].get(k, [])) for k in HISTORY_KEYS}
        self.evaluations = list(state["evaluations"])
        self.last_checkpoint = (self.step, path)

    # ---- helpers -----------------------------------------------------------------------
    def _set_learning_rates(self, factor: float) -> None:
        for opt, bases in zip((self.opt_g, self.opt_d), self.base_lrs):
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = base * factor

    def _d_output(self, logits: Tensor) -> Any:
        """Mean D output: a probability (sigmoid of the logit) or a critic value (0-d)."""
        values = F.sigmoid(logits.detach()) if self.loss.outputs_probability else logits
        return values.array.mean()

    def _diverged(self, step: int, what: str) -> TrainingDiverged:
        if self.last_checkpoint is None:
            kept = "no checkpoint was written before it"
        else:
            kept = (f"the last finite checkpoint is {self.last_checkpoint[1]} (step "
                    f"{self.last_checkpoint[0]})")
        lrs = ", ".join(f"{name} {opt.param_groups[0]['lr']:g}"
                        for name, opt in (("lr_g", self.opt_g), ("lr_d", self.opt_d)))
        return TrainingDiverged(f"training stopped at step {step}: {what} "
                                f"({type(self.loss).__name__}, {lrs}); {kept}", step, what)


@contextlib.contextmanager
def frozen(module: Module) -> Iterator[None]:
    """``module``'s parameters switched off (``requires_grad=False``) inside the block, then
    each back as it was (a user may have frozen some layers on purpose)."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad = flag


#: the loss and the gradient norm each network's update records
LOSS, NORM = {"D": "d_loss", "G": "g_loss"}, {"D": "grad_norm_d", "G": "grad_norm_g"}


class StepNumbers:
    """The numbers of one training step, kept on the device until the step ends, then
    brought to the host in one transfer and checked for NaN/Inf.

    On a GPU, reading one value waits for all the work queued before it; a step that read
    its ~10 numbers one by one would stall ~10 times. So each update's numbers (0-d arrays)
    are kept here, with the float64 sum of the parameters the update changed: that sum is
    finite exactly when every parameter is (a NaN or an Inf anywhere makes it NaN or Inf,
    and float32 values cannot overflow a float64 sum), so one number checks a network.

    ``read`` returns the record of the last D update and the G update, and raises
    TrainingDiverged naming the first non-finite value, checked in this order: each earlier
    D update's loss, gradient norm and parameters, then the record's losses (D's, G's),
    gradient norms (D's, G's) and parameters (D's, G's).
    """

    def __init__(self, trainer: GANTrainer) -> None:
        self.trainer = trainer
        #: (who, numbers, parameter sum) of each update, in order; who is "D" or "G"
        self.updates: list[tuple[str, dict[str, Any], Any]] = []

    def add(self, who: str, numbers: dict[str, Any]) -> None:
        """Keep an update's numbers and the sum of the parameters of the network it changed."""
        network = self.trainer.D if who == "D" else self.trainer.G
        self.updates.append((who, numbers, parameter_sum_array(network)))

    def read(self, step: int) -> dict[str, float]:
        """The record as Python floats, every update checked, in one transfer; a non-finite
        value raises TrainingDiverged for ``step`` (no checkpoint is written after it)."""
        last = {who: i for i, (who, _, _) in enumerate(self.updates)}   # each network's last
        recorded = [self.updates[i] for i in sorted(last.values())]
        earlier = [u for i, u in enumerate(self.updates) if i not in last.values()]
        record = {k: v for _, numbers, _ in recorded for k, v in numbers.items()}
        checked = []                             # (what, value) read only to be checked
        for who, numbers, parameters in earlier:
            checked += [(LOSS[who], numbers[LOSS[who]]), (NORM[who], numbers[NORM[who]]),
                        (who, parameters)]
        checked += [(who, parameters) for who, _, parameters in recorded]
        values = iter(to_floats(list(record.values()) + [v for _, v in checked]))
        record = {k: next(values) for k in record}
        checked = [(what, next(values)) for what, _ in checked]
        n = len(checked) - len(recorded)         # the record's losses and norms go before its
        checked[n:n] = [(key[who], record[key[who]])        # parameters (the order above)
                        for key in (LOSS, NORM) for who, _, _ in recorded]
        for what, value in checked:
            if not math.isfinite(value):
                raise self.trainer._diverged(step, self._what(what, value))
        return record

    def _what(self, what: str, value: float) -> str:
        """What went non-finite, in words (a parameter is found by name, on this rare path)."""
        if what in ("D", "G"):
            module = self.trainer.D if what == "D" else self.trainer.G
            for name, p in module.named_parameters():
                if not bool(np.isfinite(backend.to_numpy(p.array)).all()):
                    return f"{what}'s parameter '{name}' is not finite"
            return f"a parameter of {what} is not finite"
        if what.startswith("grad_norm_"):
            return f"the gradient norm of {what[-1].upper()} is {value}"
        return f"{what} is {value}"


def to_floats(values: list[Any]) -> list[float]:
    """Python floats for a list of 0-d arrays (all on one device) and floats: the arrays
    come to the host in one transfer, as float64 (exact for float32 values)."""
    arrays = [v for v in values if type(v) is not float]
    if not arrays:
        return list(values)
    xp = backend.get_array_module(arrays[0])
    host = iter(backend.to_numpy(xp.stack([a.reshape(()).astype(np.float64)
                                           for a in arrays])).tolist())
    return [v if type(v) is float else next(host) for v in values]
