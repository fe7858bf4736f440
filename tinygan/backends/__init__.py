"""``torch.backends``: switches scripts set for speed or reproducibility on the GPU.

    torch.backends.cudnn.benchmark = True        # the DCGAN example does this

tinygan has no cuDNN: ``cudnn`` and ``mps`` are plain modules whose flags can be read and
set (so scripts run) and change nothing; ``is_available()`` says False.
"""
from tinygan.backends import cudnn, mps

__all__ = ["cudnn", "mps"]
