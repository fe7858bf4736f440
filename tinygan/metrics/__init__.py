"""How good is a GAN? Numbers for each of tinygan's datasets.

* mode_coverage: the 2-D mixtures (ring, grid), PacGAN/VEEGAN's modes captured, high-quality
  fraction and reverse KL.
* theory: the 1-D picture of Goodfellow et al. 2014: the optimal discriminator D*, the
  Jensen-Shannon divergence and the value of the game at the optimum, C(G) = -log 4 + 2 JSD.
* digits: MNIST, a Frechet distance and a classifier score in the feature space of a small
  digit classifier trained by tinygan, reported beside the same figures for real images.
"""
from tinygan.metrics.digits import (DigitClassifier, class_histogram, classifier_score,
                                    digit_report, frechet_distance, get_digit_classifier,
                                    sqrtm_psd, train_digit_classifier, trace_sqrt_product)
from tinygan.metrics.mode_coverage import ModeCoverage, kl_to_uniform, mode_coverage
from tinygan.metrics.theory import (gaussian_pdf, js_divergence, kde_pdf, optimal_discriminator,
                                    silverman_bandwidth, value_at_optimum, value_function)

__all__ = [
    "ModeCoverage", "mode_coverage", "kl_to_uniform",
    "gaussian_pdf", "kde_pdf", "silverman_bandwidth", "optimal_discriminator", "js_divergence",
    "value_at_optimum", "value_function",
    "DigitClassifier", "get_digit_classifier", "train_digit_classifier", "frechet_distance",
    "sqrtm_psd", "trace_sqrt_product", "classifier_score", "class_histogram", "digit_report",
]
