"""The engine: Tensor and Function (tensor.py), the ops (functional.py), Tensor's operators and
op methods bound once (methods.py), interpolation (resample.py), convolution, gradient checks.

Importing any part of the engine runs this file, which imports the ops and binds them onto
Tensor: a Tensor is never seen without its ``+`` or ``sum``.
"""
from tinygan.engine import tensor, functional, methods  # noqa: F401  (methods: the binding)
