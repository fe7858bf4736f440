"""Quick mode: short runs for continuous integration and for a first look.

The notebooks (and anything else that trains for a while) ask ``steps(full, quick)`` how long
to train. With the environment variable ``TINYGAN_QUICK=1`` the answer is the small number, so
every notebook runs top to bottom in seconds (the test suite does this); without it, the
full number, which is what the pictures in the chapters are meant to show.
"""
from __future__ import annotations

import os

__all__ = ["quick_mode", "steps"]


def quick_mode() -> bool:
    """True when ``TINYGAN_QUICK`` is set to anything but "", "0", "false" or "no"."""
    return os.environ.get("TINYGAN_QUICK", "").strip().lower() not in ("", "0", "false", "no")


def steps(full: int, quick: int) -> int:
    """``quick`` in quick mode, else ``full`` (training steps, sample counts, epochs...)."""
    if full < 0 or quick < 0:
        raise ValueError(f"steps: counts must be non-negative, got full={full}, quick={quick}")
    return quick if quick_mode() else full
