"""Sequential, ModuleList and ModuleDict against PyTorch's, by random sequences of the list
and dict operations model code uses (issue 29: PyTorch's names and behaviour). After each
operation the containers must hold the same modules under the same names, in the same
order, with the same parameter names, or both libraries must refuse the operation."""
from __future__ import annotations

import importlib.util
import random
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest

import tinygan

HAVE_TORCH = importlib.util.find_spec("torch") is not None
pytestmark = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")


def _layer(nn: Any, k: int) -> Any:
    """The k-th of a few small layers (the same k gives the same layer in both libraries)."""
    kinds = [lambda: nn.Linear(2, k + 1), lambda: nn.ReLU(), lambda: nn.Tanh(),
             lambda: nn.BatchNorm1d(k + 1), lambda: nn.Linear(k + 1, 2, bias=False)]
    return kinds[k % len(kinds)]()


def _describe(c: Any) -> Any:
    """What a container holds: names, layer types and parameter/buffer names, in order."""
    return ([(name, type(m).__name__) for name, m in c._modules.items()],
            [(name, tuple(p.shape)) for name, p in c.named_parameters()],
            [name for name, _ in c.named_buffers()], len(c))


def _session(fw: Any, seed: int) -> list:
    nn = fw.nn
    rng = random.Random(seed)
    kind = rng.choice(["Sequential", "Sequential", "ModuleList", "ModuleDict"])
    made = rng.randrange(4)
    if kind == "Sequential":
        c = nn.Sequential(OrderedDict((f"l{k}", _layer(nn, k)) for k in range(made))) \
            if rng.random() < 0.3 else nn.Sequential(*[_layer(nn, k) for k in range(made)])
    elif kind == "ModuleList":
        c = nn.ModuleList([_layer(nn, k) for k in range(made)])
    else:
        c = nn.ModuleDict({f"k{k}": _layer(nn, k) for k in range(made)})
    log = [_describe(c)]
    for step in range(6):
        k = rng.randrange(5, 9)
        i = rng.randrange(-4, 4)
        op = rng.choice(["append", "extend", "insert", "get", "slice", "set", "del", "del slice",
                         "pop", "iadd", "keys", "update", "contains", "not a module"])
        try:
            if op == "append":
                c.append(_layer(nn, k))
            elif op == "extend":
                c.extend([_layer(nn, k), _layer(nn, k + 1)])
            elif op == "insert":   # (an index past the end or below -len leaves PyTorch's
                # numbering with gaps, which no model code relies on)
                c.insert(rng.randrange(-len(c) if kind == "Sequential" else 0, len(c) + 1),
                         _layer(nn, k))
            elif op == "get":
                got = c[i if kind != "ModuleDict" else f"k{abs(i)}"]
                log.append(("got", type(got).__name__))
            elif op == "slice":
                log.append(("slice", _describe(c[1:])))
            elif op == "set":
                c[i if kind != "ModuleDict" else f"k{abs(i)}"] = _layer(nn, k)
            elif op == "del":
                del c[i if kind != "ModuleDict" else f"k{abs(i)}"]
            elif op == "del slice":
                del c[:1]
            elif op == "pop":
                got = c.pop(i if kind != "ModuleDict" else f"k{abs(i)}")
                log.append(("popped", type(got).__name__))
            elif op == "iadd":
                c += [_layer(nn, k)]
            elif op == "keys":
                log.append(("keys", list(c.keys()), [type(m).__name__ for m in c.values()]))
            elif op == "update":
                c.update({f"k{k}": _layer(nn, k)})
            elif op == "contains":
                log.append(("in", f"k{abs(i)}" in c))
            else:
                c.append(3) if kind != "ModuleDict" else c.update({"x": 3})
        except (TypeError, IndexError, KeyError, ValueError, AttributeError,
                NotImplementedError) as error:
            log.append(("raises", op, type(error).__name__ if not isinstance(
                error, (TypeError, AttributeError, NotImplementedError)) else "TypeError"))
        log.append(_describe(c))
    return log


@pytest.mark.parametrize("block", range(3))
def test_containers_hold_what_pytorchs_hold(block):
    import torch
    for seed in range(block * 150, block * 150 + 150):
        ours, theirs = _session(tinygan, seed), _session(torch, seed)
        assert ours == theirs, (seed, next((a, b) for a, b in zip(ours, theirs) if a != b))


LAYERS = [
    "nn.Linear(3, 4)", "nn.Linear(3, 4, bias=False)", "nn.Conv2d(3, 8, 4, 2, 1, bias=False)",
    "nn.Conv2d(3, 8, (3, 5), padding='same', dilation=2, padding_mode='reflect')",
    "nn.ConvTranspose2d(8, 3, 4, 2, 1, bias=False)",
    "nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, groups=2)",
    "nn.BatchNorm2d(8)", "nn.BatchNorm1d(8, 0.8)",
    "nn.BatchNorm2d(8, momentum=None, affine=False, track_running_stats=False)",
    "nn.InstanceNorm2d(8)", "nn.InstanceNorm2d(8, affine=True, track_running_stats=True)",
    "nn.LeakyReLU(0.2, inplace=True)", "nn.LeakyReLU()", "nn.ReLU(True)", "nn.Tanh()",
    "nn.Sigmoid()", "nn.ELU(0.5)", "nn.Softplus(beta=2)", "nn.SiLU()", "nn.Dropout(0.3)",
    "nn.Dropout2d(0.25)", "nn.Embedding(10, 3)", "nn.Embedding(10, 3, padding_idx=0)",
    "nn.Flatten()", "nn.Unflatten(1, (2, 3))", "nn.Upsample(scale_factor=2)",
    "nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)", "nn.Upsample(size=4)",
    "nn.MaxPool2d(2)", "nn.AvgPool2d(2, 1)", "nn.AdaptiveAvgPool2d((1, 1))",
    "nn.Softmax(dim=1)", "nn.LogSoftmax(dim=1)", "nn.Identity()", "nn.BCELoss()",
    "nn.MSELoss()", "nn.CrossEntropyLoss()", "nn.L1Loss(reduction='sum')",
    "nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))",
    "nn.ModuleList([nn.Linear(2, 2), nn.Tanh()])", "nn.ModuleDict({'a': nn.Linear(2, 2)})",
    "nn.LSTM(3, 4, 2, batch_first=True)", "nn.LSTMCell(3, 4)", "nn.PReLU()",
    "nn.ZeroPad2d(1)", "nn.ReflectionPad2d((1, 2, 0, 1))", "nn.PixelShuffle(2)",
]


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_prints_as_pytorchs(layer):
    """print(model) is how a learner checks an architecture: the text must be PyTorch's
    (Upsample printed scale_factor=2 where PyTorch prints 2.0)."""
    import torch
    assert repr(eval(layer, {"nn": tinygan.nn})) == repr(eval(layer, {"nn": torch.nn}))


def _module_api(fw: Any) -> list:
    """What a PyTorch script asks of a model beside calling it, as plain values."""
    nn = fw.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.bn = nn.BatchNorm2d(2)
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(8, 3))
            self.shared = self.head          # one module under two names
            self.register_buffer("scale", fw.ones(1))
            self.register_buffer("cache", fw.zeros(1), persistent=False)

        def forward(self, x):
            return self.head(self.bn(self.conv(x)))
    m, out = Net(), []
    out.append(list(m.state_dict().keys()))
    out.append([n for n, _ in m.named_modules()])
    out.append([n for n, _ in m.named_modules(remove_duplicate=False)])
    out.append([n for n, _ in m.named_children()])
    out.append([n for n, _ in m.named_buffers()])
    out.append([n for n, _ in m.named_parameters(prefix="model")])
    out.append([n for n, _ in m.bn.named_parameters(recurse=False)])
    out.append(sum(p.numel() for p in m.parameters()))
    out.append(type(m.get_submodule("head.1")).__name__)
    out.append(tuple(m.get_parameter("head.1.weight").shape))
    state = m.state_dict()
    state.pop("bn.weight")
    state["extra"] = fw.zeros(1) if fw.__name__ == "torch" else np.zeros(1)
    result = m.load_state_dict(state, strict=False)
    out.append((list(result.missing_keys), list(result.unexpected_keys)))
    for strict in (True, False):
        bad = m.state_dict()
        bad["conv.weight"] = np.zeros((1, 1, 1, 1), dtype=np.float32) \
            if fw.__name__ != "torch" else fw.zeros(1, 1, 1, 1)
        try:
            m.load_state_dict(bad, strict=strict)
            out.append("loaded")
        except RuntimeError as error:
            out.append(str(error).split(":")[0])
    m.eval()
    out.append([sub.training for sub in m.modules()])
    m.train()
    visited = []
    m.apply(lambda sub: visited.append(type(sub).__name__))
    out.append(visited)
    out.append(repr(m))
    return out


def test_the_module_interface_answers_as_pytorchs():
    """state_dict keys (a non-persistent buffer left out, a shared module under both names),
    named_modules/children/buffers/parameters with their arguments, get_submodule,
    load_state_dict's (missing, unexpected) and its errors, apply's order, print(model)."""
    import torch
    for ours, theirs in zip(_module_api(tinygan), _module_api(torch)):
        assert ours == theirs
