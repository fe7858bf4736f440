"""tinygan: Generative Adversarial Networks from scratch, on NumPy (or CuPy).

The names a PyTorch user looks for are here: ``tinygan.tensor``, ``tinygan.randn``,
``tinygan.no_grad``, ``tinygan.nn``, ``tinygan.optim``, ``tinygan.manual_seed``, the function
forms (``tinygan.cat``, ``tinygan.mean``, ``tinygan.max`` ...), the legacy types
(``tinygan.FloatTensor``), ``tinygan.save``/``load`` (PyTorch's .pt format), and the
submodules ``autograd``, ``utils.data``, ``backends``, ``accelerator``, ``cuda``.
"""
from tinygan.devices import backend
from tinygan.devices.backend import use
from tinygan.compat.creation import (arange, as_tensor, bool_, cat, device, double, empty, empty_like,
                              eye, float16, float32, float64, from_numpy, full, full_like, half,
                              int8, int16, int32, int64, is_tensor, linspace, long, ones,
                              ones_like, rand, rand_like, randint, randn, randn_like, randperm,
                              short, stack, tensor, uint8, zeros, zeros_like)
from tinygan.compat.creation import channels_last, contiguous_format, preserve_format  # noqa
from tinygan.devices.random import Generator, default_generator, manual_seed
from tinygan.devices.random import initial_seed, seed  # issue 33: a fresh seed per process
from tinygan.engine.tensor import (Parameter, Tensor, enable_grad, grad, is_grad_enabled, no_grad,
                            set_grad_enabled)
from tinygan.compat.function_forms import (abs, add, amax, amin, argmax, argmin, clamp, clip, div,  # noqa: A004
                                    exp, flatten, log, log_softmax, matmul, max, maximum,
                                    mean, min, minimum, mul, norm, numel, pow, relu, reshape,
                                    sigmoid, softmax, sqrt, squeeze, sub, sum, tanh,
                                    transpose, unsqueeze, where)
from tinygan.compat.function_forms import eq, ge, gt, le, log1p, lt, mm, ne  # issue 33
from tinygan.compat.function_forms import bitwise_not, floor_divide, lerp, remainder  # issue 29
from tinygan.compat.function_forms import reciprocal  # issue 29: what 2 / t computes
from tinygan.compat.function_forms import unflatten  # issue 29: nn.Unflatten's op
from tinygan.compat.function_forms import (ceil, clone, cos, flip, floor, isfinite, isinf,  # noqa: A004
                                    isnan, neg, round, sign, sin, trunc)  # issue 29
from tinygan.compat.function_forms import (bmm, clamp_max, clamp_min, cumsum, logsumexp,  # noqa: E402
                                            masked_fill, square)  # issue 29
from tinygan.engine.logic import (bitwise_and, bitwise_or, bitwise_xor, logical_and,  # noqa: E402
                                  logical_not, logical_or, logical_xor)
from tinygan.engine.triangular import tril, triu  # noqa: E402
from tinygan.engine import functional  # noqa: E402
from tinygan import cuda  # noqa: E402
from tinygan.compat.legacy_types import CPU_TYPES as _CPU_TYPES  # noqa: E402
from tinygan.engine.gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
from tinygan import nn, optim  # noqa: E402
# the fast forms register with the engine (the switch: tinygan.fast.FUSED; see tinygan/fast/)
from tinygan import fast  # noqa: E402
from tinygan.fast import activations, batchnorm, linear, reductions, upsample  # noqa: E402,F401
del activations, batchnorm, linear, reductions, upsample
from tinygan import autograd, backends, accelerator, utils  # noqa: E402
from tinygan import multiprocessing  # noqa: E402  (issue 33)
from tinygan.compat.serialization import load, save  # noqa: E402
from tinygan.engine.sorting import sort, topk  # noqa: E402
from tinygan.engine.pieces import chunk, narrow, split, split_with_sizes, unbind  # noqa: E402

# torch.FloatTensor, torch.LongTensor, ... (tinygan/compat/legacy_types.py)
FloatTensor, DoubleTensor, HalfTensor = (_CPU_TYPES[n] for n in
                                         ("FloatTensor", "DoubleTensor", "HalfTensor"))
ByteTensor, CharTensor, ShortTensor = (_CPU_TYPES[n] for n in
                                       ("ByteTensor", "CharTensor", "ShortTensor"))
IntTensor, LongTensor, BoolTensor = (_CPU_TYPES[n] for n in
                                     ("IntTensor", "LongTensor", "BoolTensor"))

# PyTorch's dtype names that shadow Python builtins (torch.float is float32, torch.int int32,
# torch.bool bool): defined last, so nothing above sees them instead of the builtins.
float = float32  # noqa: A001
int = int32  # noqa: A001
bool = bool_  # noqa: A001

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Parameter", "tensor", "from_numpy", "as_tensor", "is_tensor", "zeros", "ones",
    "full", "empty", "arange", "linspace", "eye", "zeros_like", "ones_like", "full_like",
    "empty_like", "randn", "randn_like", "rand", "rand_like", "randint", "randperm", "cat",
    "stack", "float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
    "bool_", "half", "double", "long", "short", "float", "int", "bool", "device", "no_grad",
    "enable_grad", "set_grad_enabled", "is_grad_enabled", "grad", "Generator", "manual_seed",
    "default_generator", "use", "backend", "functional", "nn", "optim", "cuda", "autograd",
    "backends", "accelerator", "utils", "save", "load", "gradcheck", "gradgradcheck",
    "GradcheckError", "FloatTensor", "DoubleTensor", "HalfTensor", "ByteTensor", "CharTensor",
    "ShortTensor", "IntTensor", "LongTensor", "BoolTensor",
    "mean", "sum", "add", "sub", "mul", "div", "exp", "log", "sqrt", "abs", "sigmoid", "tanh",
    "relu", "matmul", "pow", "clamp", "clip", "where", "argmax", "argmin", "norm", "max", "min",
    "maximum", "minimum", "amax", "amin", "flatten", "unflatten", "reshape", "squeeze", "unsqueeze",
    "transpose", "softmax", "log_softmax", "numel",
    "log1p", "mm", "eq", "ne", "lt", "le", "gt", "ge", "initial_seed", "seed",
    "multiprocessing", "sort", "topk", "remainder", "floor_divide", "bitwise_not", "lerp",
    "reciprocal", "split", "split_with_sizes", "chunk", "unbind", "narrow",
    "sin", "cos", "floor", "ceil", "trunc", "round", "sign", "isnan", "isinf", "isfinite",
    "flip", "neg", "clone",
    "cumsum", "logsumexp", "tril", "triu", "bmm", "masked_fill", "clamp_min", "clamp_max",
    "square", "bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or",
    "logical_xor", "logical_not",
]
