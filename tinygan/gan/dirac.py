"""Dirac-GAN (Mescheder, Geiger & Nowozin 2018, "Which Training Methods for GANs do actually
Converge?", ICML): the smallest GAN, where the dynamics of the game can be seen whole.

The data are a point mass at 0. The generator is one number theta: G(z) = theta for every
z, so p_G = delta_theta. The discriminator is linear with one weight psi: D(x) = psi x.
The unique equilibrium is theta = 0 (G matches the data) with psi = 0 (D cannot tell).

Each player descends its own loss, so a training step follows the vector field

    v(theta, psi) = ( -dL_G/dtheta,  -dL_D/dpsi ).

For the GAN losses, with f'(0) = sigmoid(0) = 1/2, the Jacobian of v at (0, 0) is
[[0, 1/2], [-1/2, 0]]: eigenvalues +-i/2, purely imaginary. The continuous flow circles
the equilibrium; simultaneous gradient steps multiply the distance from it by
|1 + h i/2| > 1 each step (they spiral out); alternating steps have a determinant-1 update
and stay on a closed orbit (they circle). WGAN's field (critic loss psi theta) has
eigenvalues +-i: the same story. R1's gamma/2 psi^2 adds -gamma to dpsi'/dpsi; the
eigenvalues become (-gamma +- sqrt(gamma^2 - 1)) / 2, with negative real parts: the
equilibrium becomes attracting, and small enough steps converge.

Everything here runs on tinygan's own losses, penalties, optimizers and trainer, and the
Jacobian comes from tinygan's second derivatives (``grad(..., create_graph=True)`` twice).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan import nn, optim

from tinygan.devices import backend
from tinygan.gan.losses import GANLoss
from tinygan.gan.penalties import Penalty
from tinygan.gan.trainer import GANTrainer
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Parameter, Tensor, grad, no_grad


class DiracGenerator(nn.Module):
    """G(z) = theta for every noise vector: z (N, z_dim) -> (N, 1)."""

    def __init__(self, theta: float = 1.0) -> None:
        super().__init__()
        self.theta = Parameter(backend.xp().full((1, 1), theta, dtype=np.float64))

    def forward(self, z: Tensor) -> Tensor:
        ones = Tensor(backend.xp().ones((z.shape[0], 1), dtype=np.float64))
        return ones * self.theta


def dirac_discriminator(psi: float = 1.0) -> nn.Linear:
    """D(x) = psi x: a Linear(1, 1) without bias, in float64."""
    D = nn.Linear(1, 1, bias=False).double()
    with no_grad():
        D.weight.fill_(psi)
    return D


class DiracData:
    """The data: a point mass at 0 (``next(n)`` gives n zeros, no labels)."""

    def next(self, batch_size: int) -> tuple[Tensor, None]:
        return Tensor(backend.xp().zeros((batch_size, 1), dtype=np.float64)), None

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def _losses(loss: GANLoss, penalty: Penalty | None, G: DiracGenerator, D: nn.Module,
            generator: Generator) -> tuple[Tensor, Tensor]:
    """(L_G, L_D) at G's and D's current parameters, with a graph through both."""
    real, _ = DiracData().next(1)
    fake = G(real)                                # NOT detached: L_D depends on theta
    d_loss = loss.d_loss(D(real), D(fake))
    for term in (loss.penalty(D, real, fake, generator),
                 None if penalty is None else penalty(D, real, fake, generator)):
        if term is not None:
            d_loss = d_loss + term
    return loss.g_loss(D(fake)), d_loss


def vector_field(loss: GANLoss, theta: float, psi: float, penalty: Penalty | None = None,
                 create_graph: bool = False) -> tuple[Any, Any, Parameter, Parameter]:
    """(v_theta, v_psi, theta, psi): v = (-dL_G/dtheta, -dL_D/dpsi) at (theta, psi), as
    tensors (with a graph back to the returned parameters when ``create_graph``)."""
    G, D = DiracGenerator(theta), dirac_discriminator(psi)
    g_loss, d_loss = _losses(loss, penalty, G, D, Generator(0))
    # the two losses share G's output, so the first grad keeps the graph for the second
    (dg,) = grad(g_loss, G.theta, create_graph=create_graph, retain_graph=True)
    (dd,) = grad(d_loss, D.weight, create_graph=create_graph)
    return -dg.reshape(()), -dd.reshape(()), G.theta, D.weight


def field_on_grid(loss: GANLoss, thetas: np.ndarray, psis: np.ndarray,
                  penalty: Penalty | None = None) -> tuple[np.ndarray, np.ndarray]:
    """v_theta and v_psi at every (theta, psi) of the grid: arrays (len(psis), len(thetas))."""
    vt, vp = np.zeros((len(psis), len(thetas))), np.zeros((len(psis), len(thetas)))
    for i, p in enumerate(psis):
        for j, t in enumerate(thetas):
            a, b, _, _ = vector_field(loss, float(t), float(p), penalty)
            vt[i, j], vp[i, j] = a.item(), b.item()
    return vt, vp


def jacobian(loss: GANLoss, theta: float = 0.0, psi: float = 0.0,
             penalty: Penalty | None = None) -> np.ndarray:
    """The 2x2 Jacobian of v at (theta, psi), rows (v_theta, v_psi), columns (theta, psi):
    second derivatives of the losses, through tinygan's autograd."""
    v_theta, v_psi, t, p = vector_field(loss, theta, psi, penalty, create_graph=True)
    rows = []
    for v in (v_theta, v_psi):
        parts = grad(v, [t, p], retain_graph=True, allow_unused=True)
        rows.append([0.0 if g is None else g.item() for g in parts])
    return np.array(rows)


def closed_form_eigenvalues(kind: str, gamma: float = 0.0) -> np.ndarray:
    """The Jacobian's eigenvalues at (0, 0) from the formulas (Mescheder et al. 2018,
    section 2): "gan" (minimax or non-saturating) +- i/2, "wgan" +- i, "gan+r1"
    (-gamma +- sqrt(gamma^2 - 1)) / 2, sorted by imaginary part."""
    if kind == "gan":
        values = np.array([-0.5j, 0.5j])
    elif kind == "wgan":
        values = np.array([-1j, 1j])
    elif kind == "gan+r1":
        root = np.sqrt(complex(gamma ** 2 - 1.0))
        values = np.array([(-gamma - root) / 2, (-gamma + root) / 2])
    else:
        raise ValueError(f"closed_form_eigenvalues: unknown kind {kind!r} (gan, wgan, gan+r1)")
    return values[np.argsort(values.imag, kind="stable")]


def make_trainer(loss: GANLoss, theta: float, psi: float, lr: float,
                 penalty: Penalty | None = None) -> GANTrainer:
    """A GANTrainer on Dirac-GAN with plain SGD: each train_step is one D step, then one G
    step against the updated D (alternating gradient descent)."""
    G, D = DiracGenerator(theta), dirac_discriminator(psi)
    return GANTrainer(G, D, loss, optim.SGD(G.parameters(), lr=lr),
                      optim.SGD(D.parameters(), lr=lr), DiracData(), Generator(0), z_dim=1,
                      batch_size=1, penalty=penalty)


def trajectory(loss: GANLoss, start: tuple[float, float], lr: float, steps: int,
               mode: str = "alternating", penalty: Penalty | None = None) -> np.ndarray:
    """(steps + 1, 2) points (theta, psi) of gradient descent from ``start``.

    "alternating": tinygan's GANTrainer (D step, then G step against the new D).
    "simultaneous": both players step from the same point, x <- x + lr v(x)."""
    if mode not in ("alternating", "simultaneous"):
        raise ValueError(f"trajectory: mode must be 'alternating' or 'simultaneous', got "
                         f"{mode!r}")
    points = [start]
    if mode == "alternating":
        trainer = make_trainer(loss, *start, lr, penalty)
        for _ in range(steps):
            trainer.train_step()
            points.append((trainer.G.theta.item(), trainer.D.weight.item()))
        return np.array(points)
    theta, psi = start
    for _ in range(steps):
        v_theta, v_psi, _, _ = vector_field(loss, theta, psi, penalty)
        theta, psi = theta + lr * v_theta.item(), psi + lr * v_psi.item()
        points.append((theta, psi))
    return np.array(points)




def classic_games() -> dict[str, tuple[GANLoss, Penalty | None]]:
    """The four games chapter 14 compares, by name: (loss, penalty or None).

    WGAN without clipping shows the bare dynamics; WGAN-GP's lambda = 1 and R1's
    gamma = 0.3 are small enough that the paths stay on the picture."""
    from tinygan.gan import losses, penalties
    return {
        "GAN (minimax)": (losses.MinimaxLoss(), None),
        "WGAN": (losses.WassersteinLoss(clip_value=None), None),
        "WGAN-GP (lambda 1)": (losses.WGANGPLoss(gp_lambda=1.0), None),
        "GAN + R1 (gamma 0.3)": (losses.MinimaxLoss(), penalties.R1Penalty(0.3)),
    }
