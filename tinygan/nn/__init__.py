"""Layers and models, with torch.nn's names and shapes."""
from tinygan.engine.tensor import Parameter
from tinygan.nn.module import Module
from tinygan.nn.container import ModuleDict, ModuleList, Sequential
from tinygan.nn.linear import Linear
from tinygan.nn.conv import Conv2d, ConvTranspose2d
from tinygan.nn.activation import (Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax,
                                   Softplus, Tanh)
from tinygan.nn.activation import ELU, PReLU, SiLU
from tinygan.nn.upsample import PixelShuffle, PixelUnshuffle
from tinygan.nn.maxout import Maxout
from tinygan.nn.batchnorm import BatchNorm1d, BatchNorm2d
from tinygan.nn.instancenorm import InstanceNorm1d, InstanceNorm2d
from tinygan.nn.dropout import Dropout, Dropout2d
from tinygan.nn.flatten import Flatten, Unflatten
from tinygan.nn.embedding import Embedding
from tinygan.nn.upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from tinygan.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from tinygan.nn.loss import L1Loss, NLLLoss  # issue 33
from tinygan.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # issue 33
from tinygan.nn.rnn import LSTM, LSTMCell  # issue 33
from tinygan.nn import padding as _padding
from tinygan.nn.padding import *  # noqa: F401,F403  (ZeroPad2d, ReflectionPad2d, ...)
from tinygan.nn import functional, init, utils
from tinygan.nn import parallel
from tinygan.nn.parallel import DataParallel

__all__ = [
    "Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "Linear", "ReLU", "LeakyReLU", "Sigmoid",
    "Tanh", "Softplus", "Identity", "Softmax", "LogSoftmax", "Dropout2d", "Maxout", "BatchNorm1d", "BatchNorm2d", "Dropout", "Flatten",
    "Unflatten", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "CrossEntropyLoss", "functional",
    "init", "utils", "parallel", "DataParallel", "Embedding", "Upsample", "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
]
__all__ += ["Conv2d", "ConvTranspose2d"]
__all__ += ["L1Loss", "NLLLoss", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
            "LSTM", "LSTMCell"]  # issue 33
__all__ += _padding.__all__ + ["InstanceNorm1d", "InstanceNorm2d", "SiLU", "ELU", "PReLU",
                                "PixelShuffle", "PixelUnshuffle"]
