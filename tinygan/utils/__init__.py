"""``tinygan.utils.data`` mirrors ``torch.utils.data``, so a learner's import line maps 1:1."""
from tinygan.utils import data

__all__ = ["data"]
