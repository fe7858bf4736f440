"""The engine: Tensor and Function, the ops, convolution, gradient checks."""
