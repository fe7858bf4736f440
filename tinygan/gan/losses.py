"""GAN losses, all computed from the discriminator's raw outputs ("logits" or critic values).

Every loss is one small object with two methods:

    d_loss(real_logits, fake_logits)   what the discriminator (critic) minimises
    g_loss(fake_logits)                what the generator minimises

plus two optional hooks the trainer calls: ``penalty(D, real, fake, generator)`` (an extra
term of the D loss, used by WGAN-GP) and ``after_d_step(D)`` (WGAN's weight clipping).

Why logits: with p = sigmoid(l), the logs in the GAN game become softplus terms,

    log p       = log sigmoid(l)     = -softplus(-l)
    log (1 - p) = log sigmoid(-l)    = -softplus(l)

and softplus(x) = log(1 + e^x) is finite for any x, whereas log(sigmoid(l)) in float32
turns into log(0) = -inf once l < -104. All expectations below are minibatch means.
"""
from __future__ import annotations

from typing import Any, Callable

from tinygan.engine import functional as F
from tinygan.gan.penalties import gradient_penalty  # noqa: F401  (WGAN-GP's; importable here too)
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Tensor, no_grad


class GANLoss:
    """The interface; subclasses fill in d_loss and g_loss."""

    name = "base"
    #: True when D's output is a logit of P(real); the trainer then records sigmoid(D(x)).
    #: False for critics (WGAN, hinge, LSGAN), whose raw values are recorded instead.
    outputs_probability = True

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def penalty(self, D: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                generator: Generator) -> Tensor | None:
        """An extra term added to the D loss (None: there is none)."""
        return None

    def after_d_step(self, D: Any) -> None:
        """Called after every optimizer step of D (WGAN clips the weights here)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MinimaxLoss(GANLoss):
    """The original game (Goodfellow et al. 2014, eq. 1), with its *saturating* G loss:

        max_D  E[log D(x)] + E[log(1 - D(G(z)))]
        min_G  E[log(1 - D(G(z)))]

    From logits: D minimises softplus(-l_real) + softplus(l_fake) (binary cross-entropy
    with labels 1 for real, 0 for fake), and G minimises log(1 - sigmoid(l)) = -softplus(l).

    The catch (section 3 of the paper): early on D rejects fakes easily, l_fake << 0, and the
    gradient of -softplus(l) is -sigmoid(l) ~ 0, so G barely learns. Kept for the lesson.
    """

    name = "minimax"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return -F.softplus(fake_logits).mean()


class NonSaturatingLoss(MinimaxLoss):
    """The non-saturating generator loss (Goodfellow et al. 2014, section 3), the default:

        min_G  -E[log D(G(z))] = E[softplus(-l_fake)]

    Same fixed point as the minimax game, but the gradient -sigmoid(-l) ~ -1 is strong
    exactly when D confidently rejects the fakes. D's loss is the minimax one.
    """

    name = "ns"

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return F.softplus(-fake_logits).mean()


class WassersteinLoss(GANLoss):
    """WGAN (Arjovsky, Chintala & Bottou 2017). The critic f estimates the Wasserstein-1
    distance through the Kantorovich-Rubinstein dual, sup over 1-Lipschitz f of
    E[f(x)] - E[f(G(z))]:

        critic minimises  E[f(G(z))] - E[f(x)]
        G minimises       -E[f(G(z))]

    The Lipschitz constraint is enforced crudely by clipping every critic weight to
    [-clip, clip] after each critic step (the paper: clip 0.01, RMSprop lr 5e-5, 5 critic
    steps per G step).
    """

    name = "wgan"
    outputs_probability = False

    def __init__(self, clip_value: float | None = 0.01) -> None:
        self.clip_value = clip_value

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return fake_logits.mean() - real_logits.mean()

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()

    def after_d_step(self, D: Any) -> None:
        if self.clip_value is not None:
            clip_weights_(D, self.clip_value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(clip_value={self.clip_value})"


def clip_weights_(module: Any, clip_value: float) -> None:
    """Clamp every parameter of ``module`` to [-clip_value, clip_value], in place."""
    with no_grad():
        for p in module.parameters():
            p.clamp_(-clip_value, clip_value)


class WGANGPLoss(WassersteinLoss):
    """WGAN-GP (Gulrajani et al. 2017): the WGAN losses, no clipping, and a gradient penalty

        lambda * E[(||grad_x f(x_hat)||_2 - 1)^2],   x_hat = e x + (1 - e) G(z), e ~ U[0, 1]

    on random points between real and fake samples: an optimal critic has gradient norm 1
    almost everywhere between the two distributions. The penalty contains a gradient, so
    training the critic on it differentiates twice (``grad(..., create_graph=True)``).
    The paper uses lambda = 10, Adam(lr 1e-4, betas (0, 0.9)) and 5 critic steps.
    """

    name = "wgan-gp"

    def __init__(self, gp_lambda: float = 10.0) -> None:
        super().__init__(clip_value=None)
        self.gp_lambda = gp_lambda

    def penalty(self, D: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                generator: Generator) -> Tensor:
        return self.gp_lambda * gradient_penalty(D, real, fake, generator)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(gp_lambda={self.gp_lambda})"


class LSGANLoss(GANLoss):
    """Least-squares GAN (Mao et al. 2017), targets a = 0 (fake), b = 1 (real), c = 1:

        D minimises  1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]
        G minimises  1/2 E[(D(G(z)) - 1)^2]

    Fakes that D already calls real but that lie far from the data are still penalised,
    so G's gradient does not vanish the way it does with a saturated sigmoid.
    """

    name = "lsgan"
    outputs_probability = False

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return 0.5 * ((fake_logits - 1) ** 2).mean()


class HingeLoss(GANLoss):
    """Hinge loss (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018, SN-GAN):

        D minimises  E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]
        G minimises  -E[D(G(z))]

    D stops pushing once a sample is beyond its margin (real > 1, fake < -1).
    """

    name = "hinge"
    outputs_probability = False

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()


LOSSES: dict[str, type[GANLoss]] = {
    "minimax": MinimaxLoss,
    "ns": NonSaturatingLoss,
    "wgan": WassersteinLoss,
    "wgan-gp": WGANGPLoss,
    "lsgan": LSGANLoss,
    "hinge": HingeLoss,
}


def get_loss(name: str, **kwargs: Any) -> GANLoss:
    """A loss object by name: one of ``LOSSES``."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}: choose one of {', '.join(LOSSES)}")
    return LOSSES[name](**kwargs)
