"""``import tinygan.nn.functional as F`` works as ``torch.nn.functional`` does."""
from tinygan.functional import *  # noqa: F401,F403
from tinygan.functional import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa
                                cross_entropy, dropout, leaky_relu, linear, log_sigmoid,
                                log_softmax, mse_loss, one_hot, relu, sigmoid, softmax, softplus,
                                tanh)
from tinygan.convolution import conv2d, conv_transpose2d  # noqa: F401,E402
