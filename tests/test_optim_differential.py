"""Training loops, differentially against PyTorch (issue 29's promise, for the optimizers).

A PyTorch training loop copied from a public script should run on tinygan with its imports
changed and give PyTorch's parameters. The generator below writes such loops at random:
an optimizer (SGD, Adam, AdamW, RMSprop, Adadelta) with any of PyTorch's arguments, its
parameters given as a list, a generator, named parameters or groups with their own
hyper-parameters, some frozen (requires_grad=False), some without a gradient on a step;
zero_grad either way, gradient clipping, a closure passed to step(), a learning-rate
schedule, a state_dict() round trip into a new optimizer. Each loop runs in both libraries
from the same numbers; after every step the parameters (and learning rates) must agree,
and where PyTorch raises, tinygan must raise at the same point.
"""
from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

import tinygan

HAVE_TORCH = importlib.util.find_spec("torch") is not None
pytestmark = [pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed"),
              pytest.mark.cpu_only]

OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adadelta")


def _options(rng: np.random.Generator, kind: str) -> dict[str, Any]:
    """Random keyword arguments among those PyTorch's ``kind`` takes."""
    def maybe(p: float = 0.5) -> bool:
        return bool(rng.random() < p)
    lr = float(rng.choice([1e-3, 0.01, 0.1, 0.5]))
    out: dict[str, Any] = {}
    if maybe(0.8):
        out["lr"] = lr
    if maybe(0.3):
        out["weight_decay"] = float(rng.choice([0.0, 1e-4, 0.1]))
    if maybe(0.2):
        out["maximize"] = True
    if maybe(0.15):
        out["foreach"] = bool(rng.choice([False, True]))
    if kind == "SGD":
        if maybe(0.6):
            out["momentum"] = float(rng.choice([0.0, 0.5, 0.9]))
        if maybe(0.3):
            out["dampening"] = float(rng.choice([0.0, 0.1]))
        if maybe(0.3):
            out["nesterov"] = True
    elif kind in ("Adam", "AdamW"):
        if maybe(0.5):
            out["betas"] = tuple(rng.choice([(0.5, 0.999), (0.0, 0.9), (0.9, 0.99)]).tolist())
        if maybe(0.3):
            out["eps"] = float(rng.choice([1e-8, 1e-6, 0.1]))
        if maybe(0.3):
            out["amsgrad"] = True
    elif kind == "RMSprop":
        if maybe(0.4):
            out["alpha"] = float(rng.choice([0.9, 0.99]))
        if maybe(0.4):
            out["momentum"] = float(rng.choice([0.0, 0.9]))
        if maybe(0.4):
            out["centered"] = True
        if maybe(0.3):
            out["eps"] = float(rng.choice([1e-8, 0.1]))
    elif kind == "Adadelta":
        if maybe(0.4):
            out["rho"] = float(rng.choice([0.5, 0.9]))
        if maybe(0.3):
            out["eps"] = float(rng.choice([1e-6, 1e-3]))
    return out


def training_loop(fw: Any, seed: int, steps: int = 5) -> list:
    """Run the loop ``seed`` in ``fw`` (tinygan or torch): after each step, the parameters'
    values and the groups' learning rates; ("raises", where) ends it where an error came."""
    rng = np.random.default_rng(seed)
    dtype = getattr(fw, str(rng.choice(["float32", "float64"])))
    kind = str(rng.choice(OPTIMIZERS))
    count = int(rng.integers(1, 4))
    params = []
    for k in range(count):
        shape = tuple(int(n) for n in rng.integers(1, 4, size=int(rng.integers(0, 3))))
        values = np.round(rng.uniform(-2, 2, shape), 2)
        own = dtype if rng.random() < 0.8 else getattr(fw, str(rng.choice(["float32",
                                                                          "float64"])))
        params.append(fw.tensor(values.tolist() if shape else float(values), dtype=own,
                                requires_grad=bool(rng.random() < 0.85)))
    targets = [fw.tensor(np.round(rng.uniform(-1, 1, tuple(p.shape)), 2).tolist(), dtype=dtype)
               for p in params]
    how = str(rng.choice(["list", "generator", "named", "groups"]))
    options = _options(rng, kind)
    records: list = []
    try:
        if how == "list":
            given: Any = list(params)
        elif how == "generator":
            given = (p for p in params)
        elif how == "named":
            given = [(f"p{k}", p) for k, p in enumerate(params)]
        else:
            given = [{"params": params[:1], "lr": 0.05}] + (
                [{"params": params[1:]}] if count > 1 else [])
        optimizer = getattr(fw.optim, kind)(given, **options)
        late = None
        if count > 1 and how in ("list", "generator") and rng.random() < 0.2:
            late = params.pop()   # added to the optimizer later, as its own group
        schedule = None
        if rng.random() < 0.3:
            lr_scheduler = fw.optim.lr_scheduler
            schedule = [lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
                        lambda o: lr_scheduler.MultiStepLR(o, milestones=[1, 3], gamma=0.3),
                        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
                        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=3, eta_min=1e-3),
                        lambda o: lr_scheduler.LambdaLR(o, lambda e: 1.0 / (1 + e)),
                        ][int(rng.integers(5))](optimizer)
        records.append(("built",))
        for step in range(steps):
            set_to_none = bool(rng.random() < 0.7)
            taking_part = [p for p in params if p.requires_grad and rng.random() < 0.85]
            clip = str(rng.choice(["none", "none", "norm", "value"]))
            max_norm = float(rng.choice([0.1, 1.0, 10.0]))
            norm_type = float(rng.choice([2.0, 1.0, float("inf")]))
            use_closure = bool(rng.random() < 0.2)

            def closure():
                optimizer.zero_grad(set_to_none=set_to_none)
                terms = [((p - t) * (p - t)).sum() * 0.5 + (p * t).sum().tanh()
                         for p, t in zip(params, targets) if any(p is q for q in taking_part)]
                if not terms:
                    return None
                loss = sum(terms)
                loss.backward()
                if clip == "norm":
                    fw.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
                elif clip == "value":
                    fw.nn.utils.clip_grad_value_(params, max_norm)
                return loss

            if use_closure:
                loss = optimizer.step(closure)
                records.append(("loss", None if loss is None else float(loss.item())))
            else:
                closure()
                optimizer.step()
            if schedule is not None:
                schedule.step()
            if late is not None and step == 0:
                optimizer.add_param_group({"params": [late], "lr": 0.02})
                params.append(late)
                late = None
            if step == 1 and rng.random() < 0.3:   # resume into a new optimizer
                saved = optimizer.state_dict()
                optimizer = getattr(fw.optim, kind)(
                    [{"params": g["params"]} for g in optimizer.param_groups], **options)
                optimizer.load_state_dict(saved)
                schedule = None
            records.append(([(np.array(p.detach().tolist()), str(p.dtype).split(".")[-1])
                             for p in params],
                            [g["lr"] for g in optimizer.param_groups]))
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as error:
        records.append(("raises", len(records), type(error).__name__, str(error)[:200]))
    return records


def _agree(ours: list, theirs: list, seed: int, float32: bool) -> None:
    # a float32 parameter's numbers reach float64 ones (the loss sums them, clipping
    # scales every gradient by one norm): once one exists, all are held to float32's
    float32 = float32 or any(d == "float32" for r in ours if isinstance(r[0], list)
                             for _, d in r[0])
    rtol, atol = (2e-5, 1e-6) if float32 else (1e-10, 1e-12)
    assert len(ours) == len(theirs) or ours[-1][0] == "raises" or theirs[-1][0] == "raises", \
        (seed, ours[-1], theirs[-1])
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if a[0] == "raises" or b[0] == "raises":
            assert a[0] == b[0] == "raises", (seed, k, a, b)
            assert a[2] == b[2] or {a[2], b[2]} <= {"RuntimeError", "ValueError"}, (seed, a, b)
            return
        if a[0] in ("built", "loss"):
            assert a[0] == b[0], (seed, k, a, b)
            if a[0] == "loss":
                assert (a[1] is None) == (b[1] is None), (seed, k, a, b)
                if a[1] is not None:
                    np.testing.assert_allclose(a[1], b[1], rtol=rtol, atol=atol)
            continue
        for (p, p_dtype), (q, q_dtype) in zip(a[0], b[0]):
            assert p_dtype == q_dtype, (seed, k, p_dtype, q_dtype)
            np.testing.assert_allclose(p, q, rtol=rtol, atol=atol,
                                       err_msg=f"loop {seed}, record {k}")
        np.testing.assert_allclose(a[1], b[1], rtol=1e-12, err_msg=f"loop {seed}: lr")


@pytest.mark.parametrize("block", range(4))
def test_training_loops_give_pytorchs_parameters(block):
    import torch
    for seed in range(block * 100, block * 100 + 100):
        float32 = np.random.default_rng(seed).choice(["float32", "float64"]) == "float32"
        _agree(training_loop(tinygan, seed), training_loop(torch, seed), seed, float32)
