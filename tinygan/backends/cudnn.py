"""``torch.backends.cudnn``: settable flags with no effect (tinygan does not use cuDNN)."""
enabled = True
benchmark = False        # PyTorch: try several convolution algorithms, keep the fastest
deterministic = False    # PyTorch: only algorithms that repeat bit for bit
allow_tf32 = True


def is_available() -> bool:
    return False


def version() -> None:
    return None
