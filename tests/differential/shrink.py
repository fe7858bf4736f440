"""Shrink a failing program to a smallest one that fails the same way (delta debugging).

"The same way" is the outcome's signature: its kind, the tag of the step where it happened and
what differed (``("silent", "matmul", "shape")``). Three moves, repeated until none helps:
drop everything after the failing step; drop one step (and, transitively, every step that
uses what it defined); replace an op's result by an input holding the same values (so the
op that made it, and its operands, can go); cut an input smaller (one axis to length 1, or one element shorter)
or stop it requiring grad. Each move is kept only if the program still fails the same way.
"""
from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from tests.differential.execute import Outcome, run
from tests.differential.program import DTYPES, InputSpec, Program, Step, namespace


def _smaller_specs(spec: InputSpec) -> list[InputSpec]:
    out = []
    v = spec.values
    for axis, n in enumerate(v.shape):
        if n > 1:
            out.append(replace(spec, values=np.take(v, [0], axis=axis)))
            if n > 2:
                out.append(replace(spec, values=np.take(v, range(n - 1), axis=axis)))
    if spec.requires_grad:
        out.append(replace(spec, requires_grad=False))
    return out


def _as_input(program: Program, i: int) -> InputSpec | None:
    """The value step ``i`` of ``program`` gives its variable in PyTorch, as an input."""
    import torch
    ns = namespace("torch")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for step in program.steps[:i + 1]:
                exec(step.code, ns)
    except Exception:  # noqa: BLE001
        return None
    value = ns.get(program.steps[i].defines[0])
    if not isinstance(value, torch.Tensor) or str(value.dtype)[6:] not in DTYPES \
            or not np.isfinite(value.detach().double().numpy()).all():
        return None
    return InputSpec(value.detach().numpy().astype(np.float64 if value.is_floating_point()
                                                   else value.detach().numpy().dtype),
                     str(value.dtype)[6:], bool(value.requires_grad))


def _replaced(program: Program, i: int, spec: InputSpec) -> Program:
    steps = list(program.steps)
    steps[i] = Step.input(steps[i].defines[0], spec)
    return Program(steps, program.seed)


def shrink(program: Program, outcome: Outcome, max_runs: int = 300) -> tuple[Program, Outcome]:
    """The smallest program found (within ``max_runs`` trial runs) with ``outcome``'s
    signature, and its outcome."""
    target = outcome.signature()
    best, best_outcome = program, outcome
    runs = 0

    def attempt(candidate: Program) -> bool:
        nonlocal best, best_outcome, runs
        runs += 1
        result = run(candidate)
        if result.signature() == target:
            best, best_outcome = candidate, result
            return True
        return False

    if outcome.step >= 0:
        attempt(Program(best.steps[:outcome.step + 1], best.seed))
    changed = True
    while changed and runs < max_runs:
        changed = False
        i = len(best.steps) - 1
        while i >= 0 and runs < max_runs:           # drop steps, the last ones first
            step = best.steps[i]
            if step.defines:
                candidate = best.without(set(step.defines))
            else:
                candidate = Program(best.steps[:i] + best.steps[i + 1:], best.seed)
            if attempt(candidate):
                changed = True
                if best_outcome.step >= 0:
                    best = Program(best.steps[:best_outcome.step + 1], best.seed)
            i = min(i - 1, len(best.steps) - 1)
        for i, step in enumerate(best.steps):       # an op's result becomes an input
            if runs >= max_runs or step.spec is not None or len(step.defines) != 1:
                continue
            spec = _as_input(best, i)
            if spec is not None and attempt(_replaced(best, i, spec)):
                changed = True
        for i, step in enumerate(best.steps):       # cut inputs smaller
            if step.spec is None:
                continue
            for spec in _smaller_specs(step.spec):
                if runs >= max_runs:
                    break
                steps = list(best.steps)
                steps[i] = step.with_spec(spec)
                if attempt(Program(steps, best.seed)):
                    changed = True
                    break
    return best, best_outcome
