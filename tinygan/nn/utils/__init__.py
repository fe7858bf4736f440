"""Utilities for layers, under torch.nn.utils's names: ``spectral_norm``, ``remove_spectral_norm``,
gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``, ``get_total_norm``,
``clip_grads_with_norm_``)
(and tinygan's ``spectral_norm_layers``: spectral_norm on every weight layer of a network,
and ``eval_mode``: modules in eval mode for a block, then as they were)."""
from tinygan.nn.utils.clip_grad import (clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_,
                                        get_total_norm)
from tinygan.nn.utils.eval_mode import eval_mode
from tinygan.nn.utils.spectral_norm import (SpectralNorm, remove_spectral_norm, spectral_norm,
                                            spectral_norm_layers)

__all__ = ["spectral_norm", "remove_spectral_norm", "SpectralNorm", "spectral_norm_layers", "eval_mode",
           "clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]
