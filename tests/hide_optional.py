"""A pytest plugin that hides the optional packages, as on a machine that never installed them.

    python -m pytest -p tests.hide_optional ...

makes ``import torch`` (and selenium, and the book extra: sphinx, myst_nb, ...) raise
ImportError, and ``importlib.util.find_spec`` answer None, inside the pytest process, even
where the packages are installed. README promises that ``pip install -e ".[dev]" && python -m
pytest -q`` passes without them: every test module must import, and a test that needs one of
them must skip saying which. tests/test_without_optional.py runs pytest with this plugin to
check that on every run; TINYGAN_HIDE_MODULES=a,b,c hides another list.

Only this process is affected: a subprocess a test starts (a Jupyter kernel, a site build)
sees what is installed. That is enough for collection and for the skips, which happen here.
"""
from __future__ import annotations

import os
import sys

# PyTorch (tests compare against it); selenium (browser tests; in the dev extra, but a test
# module must still import without it); the book extra (the course site and its test).
OPTIONAL = ("torch", "torchvision", "selenium", "sphinx", "myst_nb", "myst_parser",
            "sphinx_book_theme", "sphinx_mathjax_offline")


def hidden_names() -> tuple[str, ...]:
    names = os.environ.get("TINYGAN_HIDE_MODULES", "")
    return tuple(n.strip() for n in names.split(",") if n.strip()) or OPTIONAL


class Hiding:
    """Wraps one finder of sys.meta_path: for a hidden package (or any of its submodules) it
    finds nothing, as if the package were not installed, so ``import torch`` raises
    ModuleNotFoundError and ``importlib.util.find_spec("torch")`` returns None, the two ways
    the tests ask. Everything else is passed to the wrapped finder."""

    def __init__(self, finder, names: tuple[str, ...]):
        self.finder, self.names = finder, names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            return None
        find = getattr(self.finder, "find_spec", None)
        return None if find is None else find(fullname, path, target)

    def find_distributions(self, *args, **kwargs):
        """importlib.metadata asks here: hide the packages' metadata too."""
        find = getattr(self.finder, "find_distributions", None)
        if find is None:
            return iter(())
        return (d for d in find(*args, **kwargs) if d.metadata["Name"] is None
                or d.metadata["Name"].lower().replace("-", "_") not in self.names)

    def __getattr__(self, name):
        return getattr(self.finder, name)


_names = hidden_names()
for _name in list(sys.modules):                 # already imported by something earlier
    if _name.split(".")[0] in _names:
        del sys.modules[_name]
sys.meta_path[:] = [Hiding(f, _names) for f in sys.meta_path]
