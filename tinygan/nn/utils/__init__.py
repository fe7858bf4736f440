"""Utilities for layers, under torch.nn.utils's names: ``spectral_norm``, ``remove_spectral_norm``."""
from tinygan.nn.utils.spectral_norm import SpectralNorm, remove_spectral_norm, spectral_norm

__all__ = ["spectral_norm", "remove_spectral_norm", "SpectralNorm"]
