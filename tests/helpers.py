"""Small helpers shared by tests (importable, unlike conftest)."""
import numpy as np

import tinygan


def t64(array, requires_grad=True):
    """A float64 tensor on the active backend, for gradient checks."""
    data = tinygan.devices.backend.xp().asarray(np.asarray(array, dtype=np.float64))
    return tinygan.Tensor(data, requires_grad=requires_grad, dtype=np.float64)


def to_np(x):
    return tinygan.devices.backend.to_numpy(x.array if isinstance(x, tinygan.Tensor) else x)


def on_device(array, dtype=np.float64):
    """A raw array on the default device (what a test writes into ``.array``)."""
    return tinygan.devices.backend.xp().asarray(np.asarray(array, dtype=dtype))


# The course site's text column is about 770 px wide. Jupyter draws inline figures at 100
# dpi, so a figure 8.5 in wide is ~850 px (a little more with labels past its edge): the site
# shrinks it by at most a seventh and its 10-point titles stay readable. A 15 in row of
# panels would be halved and its titles lost (issue 31).
NOTEBOOK_PICTURE_MAX_PX = 900


def pictures_wider_than(cells: list, limit: int = NOTEBOOK_PICTURE_MAX_PX) -> list[str]:
    """'cell K: W px' for every PNG output of a notebook's cells wider than ``limit`` (the
    width is read from the PNG's header, bytes 16 to 20)."""
    import base64
    wide = []
    for k, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                width = int.from_bytes(base64.b64decode(png)[16:20], "big")
                if width > limit:
                    wide.append(f"cell {k}: {width} px")
    return wide
