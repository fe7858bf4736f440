"""Dirac-GAN (tinygan/gan/dirac.py): the Jacobian at the equilibrium from tinygan's second
derivatives against the closed form, and the three behaviours of gradient descent."""
import numpy as np
import pytest

from tinygan.gan import dirac, losses, penalties


@pytest.mark.parametrize("loss, penalty, kind, gamma", [
    (losses.MinimaxLoss(), None, "gan", 0.0),
    (losses.NonSaturatingLoss(), None, "gan", 0.0),
    (losses.WassersteinLoss(clip_value=None), None, "wgan", 0.0),
    (losses.MinimaxLoss(), penalties.R1Penalty(0.3), "gan+r1", 0.3),
    (losses.NonSaturatingLoss(), penalties.R1Penalty(2.0), "gan+r1", 2.0),
], ids=["minimax", "ns", "wgan", "r1-complex", "r1-real"])
def test_jacobian_eigenvalues_match_the_closed_form(loss, penalty, kind, gamma):
    J = dirac.jacobian(loss, penalty=penalty)
    eig = np.linalg.eigvals(J)
    eig = eig[np.lexsort((eig.real, eig.imag))]
    expected = dirac.closed_form_eigenvalues(kind, gamma)
    expected = expected[np.lexsort((expected.real, expected.imag))]
    np.testing.assert_allclose(eig, expected, atol=1e-12)


def test_the_jacobian_of_a_point_away_from_the_equilibrium_matches_finite_differences():
    loss, pen = losses.NonSaturatingLoss(), penalties.R1Penalty(0.5)
    theta, psi, h = 0.7, -0.4, 1e-6

    def v(t, p):
        a, b, _, _ = dirac.vector_field(loss, t, p, pen)
        return np.array([a.item(), b.item()])

    numeric = np.stack([(v(theta + h, psi) - v(theta - h, psi)) / (2 * h),
                        (v(theta, psi + h) - v(theta, psi - h)) / (2 * h)], axis=1)
    np.testing.assert_allclose(dirac.jacobian(loss, theta, psi, pen), numeric, atol=1e-8)


def test_the_trainer_takes_alternating_steps():
    loss, lr = losses.MinimaxLoss(), 0.1
    path = dirac.trajectory(loss, (1.0, 0.5), lr, 5, "alternating")
    theta, psi = 1.0, 0.5
    for k in range(5):   # D first, then G against the updated D
        psi += lr * dirac.vector_field(loss, theta, psi)[1].item()
        theta += lr * dirac.vector_field(loss, theta, psi)[0].item()
        np.testing.assert_allclose(path[k + 1], [theta, psi], rtol=1e-12)


def test_simultaneous_steps_spiral_out_alternating_circle_r1_converges():
    start, lr, steps = (0.5, 0.5), 0.1, 400
    radius = lambda path: np.hypot(path[:, 0], path[:, 1])
    r0 = np.hypot(*start)
    simultaneous = radius(dirac.trajectory(losses.MinimaxLoss(), start, lr, steps, "simultaneous"))
    alternating = radius(dirac.trajectory(losses.MinimaxLoss(), start, lr, steps, "alternating"))
    r1 = radius(dirac.trajectory(losses.MinimaxLoss(), start, lr, steps, "alternating",
                                 penalties.R1Penalty(0.3)))
    assert simultaneous[-1] > 1.3 * r0 and np.all(np.diff(simultaneous) > 0)
    assert 0.8 * r0 < alternating.min() and alternating.max() < 1.25 * r0
    # R1: the linearised rate |1 + h lambda| per step, lambda = -0.15 +- 0.477i: e^-6 in 400
    rate = abs(1 + lr * dirac.closed_form_eigenvalues("gan+r1", 0.3)[0]) ** steps
    assert r1[-1] < 1e-2 * r0 and r1[-1] / r0 == pytest.approx(rate, rel=0.5)


def test_near_the_equilibrium_a_simultaneous_step_grows_the_radius_by_abs_1_plus_h_lambda():
    lr = 0.1
    path = dirac.trajectory(losses.MinimaxLoss(), (1e-4, 0.0), lr, 1, "simultaneous")
    growth = np.hypot(*path[1]) / np.hypot(*path[0])
    assert growth == pytest.approx(abs(1 + lr * 0.5j), rel=1e-6)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="mode must be"):
        dirac.trajectory(losses.MinimaxLoss(), (1.0, 1.0), 0.1, 2, "sideways")
    with pytest.raises(ValueError, match="unknown kind"):
        dirac.closed_form_eigenvalues("lsgan")


def test_the_picture_draws_each_games_field_and_paths(tmp_path):
    """viz.dirac_games (chapter 14's figure and notebook 14's cell): one row per game,
    the path drawn is trajectory()'s, and the PNG is written."""
    from tinygan import viz
    games = dirac.classic_games()
    fig = viz.dirac_games(games, path=str(tmp_path / "dirac.png"), n_steps=5, grid_points=3)
    assert (tmp_path / "dirac.png").stat().st_size > 0
    axes = fig.axes
    assert len(axes) == 2 * len(games)
    loss, penalty = games["GAN + R1 (gamma 0.3)"]
    expected = dirac.trajectory(loss, (1.0, 1.0), 0.1, 5, "alternating", penalty)
    drawn = axes[2 * 3 + 1].lines[0].get_xydata()     # fourth row, right column
    np.testing.assert_allclose(drawn, expected)
