"""A differential-test program: a list of steps, each one or two lines of Python.

A step's code names the library ``L`` (``tinygan`` or ``torch``), ``F`` (its
``nn.functional``) and ``nn``; the same text runs in both, which is how the two runs get
identical programs, and how a failure prints as a runnable snippet for either library.

Inputs are steps too (``v0 = L.tensor([[0.5, -1.2]], dtype=L.float32, requires_grad=True)``),
kept with their values as an ``InputSpec`` so the shrinker can cut them smaller.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

DTYPES = ("float32", "float64", "int32", "int64", "bool", "float16")


@dataclass(frozen=True)
class InputSpec:
    """A tensor written as a literal: its values (a NumPy array), dtype name, requires_grad."""
    values: np.ndarray
    dtype: str
    requires_grad: bool = False

    def literal(self) -> str:
        vals = self.values
        if self.dtype == "bool":
            data = repr(vals.astype(bool).tolist())
        elif self.dtype.startswith("int"):
            data = repr(vals.astype(np.int64).tolist())
        else:   # (NaN and inf written as float('nan'), float('inf'): runnable as printed)
            data = repr(np.round(vals.astype(np.float64), 2).tolist())
            data = re.sub(r"\bnan\b", "float('nan')", re.sub(r"\binf\b", "float('inf')", data))
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"L.tensor({data}, dtype=L.{self.dtype}{grad})"


@dataclass(frozen=True)
class Step:
    """One statement. ``tag`` names the operation (``"binary:+"``, ``"inplace:add_"``...);
    ``defines``/``uses`` are the variable names it writes and reads (for shrinking)."""
    code: str
    tag: str
    defines: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    spec: InputSpec | None = None

    @staticmethod
    def input(name: str, spec: InputSpec) -> "Step":
        return Step(f"{name} = {spec.literal()}", "input", (name,), (), spec)

    def with_spec(self, spec: InputSpec) -> "Step":
        return replace(self, code=f"{self.defines[0]} = {spec.literal()}", spec=spec)


# A helper every program may call: give a layer's parameters fixed values from a seed, the same
# in both libraries (copy_ under no_grad, as a PyTorch user initialises weights by hand).
PREAMBLE = '''\
def fill(m, seed):
    rng = np.random.default_rng(seed)
    with L.no_grad():
        for p in m.parameters():
            p.copy_(L.tensor(np.round(rng.uniform(-1, 1, tuple(p.shape)), 2).tolist(),
                             dtype=p.dtype))
    return m
'''


@dataclass
class Program:
    steps: list[Step] = field(default_factory=list)
    seed: int = -1

    def code(self) -> str:
        return "\n".join(s.code for s in self.steps)

    def render(self, library: str) -> str:
        """A runnable script for ``library`` ("tinygan" or "torch")."""
        body = self.code()
        head = [f"import {library}", f"import {library} as L"]
        if "F." in body:
            head.append(f"import {library}.nn.functional as F")
        if "nn." in body:
            head.append(f"from {library} import nn")
        if "np." in body or "fill(" in body:
            head.insert(0, "import numpy as np")
        if "fill(" in body:
            head.append(PREAMBLE)
        text = "\n".join(head) + "\n" + body
        # L stands for the library: write its real name, so the snippet reads as user code
        text = re.sub(r"\bL\.", f"{library}.", text)
        return text.replace(f"import {library} as L\n", "")

    def without(self, names: set[str]) -> "Program":
        """This program minus every step that defines or uses one of ``names``, and
        (transitively) the steps that use what those defined."""
        gone = set(names)
        kept = []
        for s in self.steps:
            if gone & (set(s.defines) | set(s.uses)):
                gone |= set(s.defines)
                continue
            kept.append(s)
        return Program(kept, self.seed)


def namespace(library: str) -> dict[str, Any]:
    """The globals a program runs in: L, F, nn, np and fill, for ``library``."""
    if library == "torch":
        import torch as lib
    else:
        import tinygan as lib
    ns: dict[str, Any] = {"L": lib, "F": lib.nn.functional, "nn": lib.nn, "np": np}
    exec(PREAMBLE, ns)
    return ns
