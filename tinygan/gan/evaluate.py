"""Evaluating a run: the quality numbers of the current G (and D), per dataset.

    ring, grid   mode coverage (PacGAN's protocol: 2,500 samples, modes captured, high
                 quality fraction, reverse KL): tinygan/metrics/mode_coverage.py
    gauss1d      max |D - D*| on the data's support and JSD(p_data, p_g), Figure 1 of
                 Goodfellow et al. 2014: tinygan/metrics/theory.py
    mnist        Frechet distance and classifier score beside held-out digits:
                 tinygan/metrics/digits.py

Every evaluation draws from its own fixed generator (``eval_generator``), so evaluating a
run never disturbs the random stream its training continues from.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.compat.creation import tensor
from tinygan.data.mnist import load_mnist
from tinygan.data.registry import get_dataset
from tinygan.devices.random import Generator
from tinygan.gan.trainer import GANTrainer
from tinygan.metrics import theory
from tinygan.metrics.digits import digit_report, get_digit_classifier
from tinygan.metrics.mode_coverage import mode_coverage

EVAL_SAMPLES = 2500   # PacGAN's protocol scores 2,500 samples


def eval_generator() -> Generator:
    """A fixed generator for evaluation draws, so evaluating never disturbs training's."""
    return Generator(2 ** 31 - 1)


def toy_modes(data: str) -> tuple[np.ndarray, float]:
    """The centres (num_modes, 2) of a 2-D dataset's modes, and the std of each mode."""
    dataset = get_dataset(data)
    return dataset.modes(), dataset.mode_std


def evaluate(trainer: GANTrainer) -> dict[str, Any]:
    """The dataset's quality numbers for the current G (and D, for the 1-D case), with the
    step they belong to; ``{"finite": False}`` when G's samples are not all finite."""
    data = trainer.config["data"]
    samples = trainer.sample(EVAL_SAMPLES, generator=eval_generator()).numpy()
    if not np.all(np.isfinite(samples)):
        return {"step": trainer.step, "finite": False}
    if data in ("ring", "grid"):
        modes, std = toy_modes(data)
        return {"step": trainer.step, **mode_coverage(samples, modes, std).as_dict()}
    if data == "gauss1d":
        return {"step": trainer.step, **evaluate_1d(trainer)[0]}
    return {"step": trainer.step, **evaluate_digits(trainer)}


def evaluate_digits(trainer: GANTrainer, num_fake: int = 2000) -> dict[str, Any]:
    """Frechet distance and classifier score of G's digits beside held-out real digits
    (tinygan.metrics.digits; its classifier is trained on first use and cached)."""
    if trainer.step < 200:   # a few steps make noise, not digits: skip the classifier
        return {"digits": "not measured before step 200"}
    real, _ = load_mnist("test")
    fakes = trainer.sample(num_fake, generator=eval_generator()).numpy()
    return digit_report(fakes, real[:2 * num_fake], get_digit_classifier())


def evaluate_1d(trainer: GANTrainer) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """max |D - D*| on the data's support, and JSD(p_data, p_g), for the 1-D Gaussian;
    also the curves of Figure 1 (xs, p_data, p_g, d, d_star), each of shape (801,).

    "Support" is taken as mu +- 2 sigma (95% of the data); the value over mu +- 3 sigma is
    reported too (in the far tails both densities, so D*, rest on a handful of samples)."""
    mu, sigma = 4.0, 0.5
    samples = trainer.sample(10000, generator=eval_generator()).numpy().ravel()
    xs = np.linspace(mu - 4 * sigma, mu + 4 * sigma, 801)
    p_data = theory.gaussian_pdf(xs, mu, sigma)
    p_g = theory.kde_pdf(samples, xs)
    d_star = theory.optimal_discriminator(p_data, p_g)   # D* = p_data / (p_data + p_g)
    d = trainer.discriminator_output(tensor(xs.astype(np.float32)[:, None],
                                            device=trainer.device)).numpy()
    d = d.ravel().astype(np.float64)
    gap = np.abs(d - d_star)
    inside2 = np.abs(xs - mu) <= 2 * sigma
    inside3 = np.abs(xs - mu) <= 3 * sigma
    # the JSD needs a grid that holds both densities, wherever G's samples landed
    wide = np.linspace(min(xs[0], samples.min() - 1), max(xs[-1], samples.max() + 1), 1601)
    jsd = theory.js_divergence(theory.gaussian_pdf(wide, mu, sigma),
                               theory.kde_pdf(samples, wide), float(wide[1] - wide[0]))
    metrics = {"max_abs_d_minus_dstar_2sigma": float(gap[inside2].max()),
               "max_abs_d_minus_dstar_3sigma": float(gap[inside3].max()),
               "js_divergence": jsd,
               "g_mean": float(samples.mean()), "g_std": float(samples.std())}
    curves = {"xs": xs, "p_data": p_data, "p_g": p_g, "d": d, "d_star": d_star}
    return metrics, curves
