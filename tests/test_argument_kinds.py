"""Arguments of the wrong kind, answered or refused as PyTorch's parser does (issue 29,
thirteenth session).

The argument generator (tests/differential/arguments.py) now gives a tenth of the
parameters a value of another kind than their own: None, a string, a 0-d or one-element
tensor, a float, an int, a bool, a list. Its first 20,000 such calls differed in 274
(tinygan accepted ``keepdim=1``, ``dtype='float64'``, ``other=[1.0]``, refused
``dim=torch.tensor(1)``, took ``x.max(torch.tensor(1))`` for a dim). The rules are PyTorch's
parser's, written once in tinygan/engine/arguments.py; each row below is one member of the
class, failing before (a row compares outcomes: dtype, shape and values, or that both raise).
"""
from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest

import tinygan
from tests.test_argument_forms import _outcome

torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")


def _x(L):
    return L.tensor([[1., 2., 3.], [4., 5., 6.]])


def _bn(L, **kw):
    """batch_norm of a (3, 2) input with running statistics, keywords replaced."""
    args = dict(running_mean=L.zeros(2), running_var=L.ones(2), training=True)
    args.update(kw)
    return L.nn.functional.batch_norm(L.ones(3, 2), args.pop("running_mean"),
                                      args.pop("running_var"), **args)


ROWS = {
    # bool parameters: True or False only
    "keepdim=1": lambda L: _x(L).sum(0, keepdim=1),
    "keepdim=None": lambda L: _x(L).sum(0, keepdim=None),
    "keepdim a tensor": lambda L: _x(L).sum(0, keepdim=L.tensor(True)),
    "keepdim a NumPy bool": lambda L: _x(L).mean(0, keepdim=np.bool_(True)),
    "argmax's keepdim 1": lambda L: _x(L).argmax(1, 1),
    "all(0, 1)": lambda L: _x(L).all(0, 1),
    "logsumexp's keepdim 1": lambda L: _x(L).logsumexp(0, 1),
    "var's unbiased 1": lambda L: _x(L).var(0, 1),
    "std's unbiased None": lambda L: _x(L).std(0, None),
    "norm's keepdim None": lambda L: L.norm(_x(L), 1, -2, None),
    "topk's largest 1": lambda L: _x(L).topk(1, largest=1),
    "sort's descending a NumPy bool": lambda L: _x(L).sort(descending=np.bool_(True)),
    "sort(0, stable=None)": lambda L: _x(L).sort(0, stable=None),
    "sort(stable=None)": lambda L: _x(L).sort(stable=None),
    # int parameters: an int, a NumPy integer, a 0-d integer tensor
    "softmax over a 0-d int tensor": lambda L: _x(L).softmax(L.tensor(-1)),
    "softmax over a one-element tensor": lambda L: _x(L).softmax(L.tensor([-1])),
    "softmax over a bool tensor": lambda L: _x(L).softmax(L.tensor(True)),
    "softmax over a NumPy int": lambda L: _x(L).softmax(np.int64(0)),
    "unsqueeze(1.0)": lambda L: _x(L).unsqueeze(1.0),
    "unsqueeze(True)": lambda L: _x(L).unsqueeze(True),
    "transpose by a 0-d tensor": lambda L: _x(L).transpose(L.tensor(0), 1),
    "cumsum over a 0-d tensor": lambda L: _x(L).cumsum(L.tensor(0)),
    "argmax over a 0-d tensor": lambda L: _x(L).argmax(L.tensor(1)),
    "any over a 0-d tensor": lambda L: _x(L).any(L.tensor(0)),
    "any over a bool tensor": lambda L: _x(L).any(L.tensor(True)),
    "chunk(0-d tensor)": lambda L: _x(L).chunk(L.tensor(2)),
    "one_hot's num_classes a 0-d tensor": lambda L: L.nn.functional.one_hot(
        L.tensor([0, 1]), L.tensor(3)),
    "pixel_unshuffle by a uint8 0-d tensor": lambda L: L.nn.functional.pixel_unshuffle(
        L.ones(1, 1, 2, 2), L.tensor(2, dtype=L.uint8)),
    "round(decimals=None)": lambda L: L.round(_x(L), decimals=None),
    # SymInt parameters (k, a diagonal, a size): any integer tensor of one element
    "topk(tensor([1]))": lambda L: _x(L).topk(L.tensor([1])),
    "topk(1.0)": lambda L: _x(L).topk(1.0),
    "triu(tensor([1]))": lambda L: _x(L).triu(L.tensor([1])),
    "triu(bool tensor)": lambda L: _x(L).triu(L.tensor(True)),
    "triu(NumPy int)": lambda L: _x(L).triu(np.int64(1)),
    "eye(2.0)": lambda L: L.eye(2.0),
    "eye(tensor, [1])": lambda L: L.eye(L.tensor(3), [1]),
    "new_ones(1.5)": lambda L: _x(L).new_ones(1.5),
    "new_ones(False)": lambda L: _x(L).new_ones(False),
    "view(1.5)": lambda L: _x(L).view(1.5),
    "split(tensor([3]), 1)": lambda L: _x(L).split(L.tensor([3]), 1),
    # lists of dims: a tuple of ints, one int, or a tensor of one element (bool too)
    "sum over tensor([1])": lambda L: _x(L).sum(L.tensor([1])),
    "sum over tensor(True)": lambda L: _x(L).sum(L.tensor(True)),
    "sum over tensor([0, 1])": lambda L: _x(L).sum(L.tensor([0, 1])),
    "sum over (tensor(0), 1)": lambda L: _x(L).sum((L.tensor(0), 1)),
    "sum over (0.0,)": lambda L: _x(L).sum((0.0,)),
    "mean over tensor([0])": lambda L: _x(L).mean(L.tensor([0])),
    "amax over tensor([False])": lambda L: _x(L).amax(L.tensor([False])),
    "flip(tensor(0))": lambda L: _x(L).flip(L.tensor(0)),
    "flip(False)": lambda L: _x(L).flip(False),
    "max_pool2d with a kernel of tensor(True)": lambda L: L.nn.functional.max_pool2d(
        L.ones(1, 1, 2, 2), L.tensor(True), 1),
    # max and min: a tensor by position is `other` unless a keepdim follows it
    "max(tensor(1))": lambda L: _x(L).max(L.tensor(1)),
    "max(dim=tensor(1))": lambda L: _x(L).max(dim=L.tensor(1)),
    "max(tensor(1), True)": lambda L: _x(L).max(L.tensor(1), True),
    "min(uint8 tensor)": lambda L: _x(L).min(L.tensor(1, dtype=L.uint8)),
    "torch.max(x, dim=tensor(0))": lambda L: L.max(_x(L), dim=L.tensor(0)),
    "max(1, tensor(True))": lambda L: _x(L).max(1, L.tensor(True)),
    # dtype parameters: a dtype or one of Python's number types
    "sum(dtype='float64')": lambda L: _x(L).sum(dtype="float64"),
    "sum(dtype=a tensor)": lambda L: _x(L).sum(dtype=L.tensor(1)),
    "sum(dtype=float)": lambda L: _x(L).sum(dtype=float),
    "full(dtype=a tensor)": lambda L: L.full((2,), 1, dtype=L.tensor(1)),
    "new_ones(dtype='a')": lambda L: _x(L).new_ones(2, dtype="a"),
    "log_softmax(dtype='a')": lambda L: L.log_softmax(_x(L), 0, dtype="a"),
    "arange(dtype='float32')": lambda L: L.arange(3, dtype="float32"),
    "tensor(dtype='float32')": lambda L: L.tensor([1], dtype="float32"),
    "type(a tensor)": lambda L: _x(L).type(L.tensor(1)),
    "type(non_blocking=1)": lambda L: _x(L).type(L.float64, non_blocking=1),
    # tensor operands: Python data is refused (x == None is False)
    "add(x, [1.0])": lambda L: L.add(_x(L), [1.]),
    "x + [1.0]": lambda L: _x(L) + [1.],
    "x.add((1.0,))": lambda L: _x(L).add((1.,)),
    "x == None": lambda L: _x(L) == None,  # noqa: E711 - the comparison under test
    "x != [1.0]": lambda L: _x(L) != [1.],
    "x.eq(None)": lambda L: _x(L).eq(None),
    "torch.ne(x, 'a')": lambda L: L.ne(_x(L), "a"),
    "x < [1.0]": lambda L: _x(L) < [1.],
    "x.matmul([1, 2, 3])": lambda L: _x(L).matmul([1., 2., 3.]),
    "x.clamp_min([1.0])": lambda L: _x(L).clamp_min([1.]),
    "x.mul_([1.0])": lambda L: _x(L).mul_([1.]),
    "x.remainder([1])": lambda L: _x(L).remainder([1]),
    "x.bitwise_or([1])": lambda L: _x(L).long().bitwise_or([1]),
    "x.copy_(1.5)": lambda L: _x(L).copy_(1.5),
    "x.copy_([1.0])": lambda L: _x(L).copy_([1.]),
    "where(x > 2, x, None)": lambda L: L.where(_x(L) > 2, _x(L), None),
    "where(x > 2, x)": lambda L: L.where(_x(L) > 2, _x(L)),
    "new_tensor(None)": lambda L: _x(L).new_tensor(None),
    "new_tensor(-1, dtype=uint8)": lambda L: _x(L).new_tensor(-1, dtype=L.uint8),
    "linspace to a list": lambda L: L.linspace(0, [1], 2),
    "linspace to a one-element tensor": lambda L: L.linspace(0, L.tensor([1.]), 2),
    "torch.reshape(x, 6)": lambda L: L.reshape(_x(L), 6),
    "torch.reshape(x, tensor(6))": lambda L: L.reshape(_x(L), L.tensor(6)),
    # batch_norm: tensors or None, training a bool, momentum and eps numbers
    "batch_norm with a number for running_var": lambda L: _bn(L, running_var=1.0),
    "batch_norm with a number for the weight": lambda L: _bn(L, weight=1.0),
    "batch_norm with momentum None": lambda L: _bn(L, momentum=None),
    "batch_norm with a 0-d momentum": lambda L: _bn(L, momentum=L.tensor(0.5)),
    "batch_norm with a one-element momentum": lambda L: _bn(L, momentum=L.tensor([0.5])),
    "batch_norm with an eps that requires grad": lambda L: _bn(
        L, eps=L.tensor(0.5, requires_grad=True)),
    "batch_norm with training=None": lambda L: _bn(L, training=None),
    "batch_norm with training=1": lambda L: _bn(L, training=1),
    "batch_norm with an empty training tensor": lambda L: _bn(L, training=L.tensor([])),
    "batch_norm with eps=0 in training": lambda L: _bn(L, eps=0.0),
    "batch_norm with eps=0 in evaluation": lambda L: _bn(L, eps=0.0, training=False),
    "batch_norm with eps<0 in evaluation": lambda L: _bn(L, eps=-1e-3, training=False),
    # embedding: padding_idx a row, the flags bools, the indices Long or Int
    "embedding's padding_idx past the rows": lambda L: L.nn.functional.embedding(
        L.tensor([0, 1]), L.ones(5, 2), padding_idx=10),
    "embedding's padding_idx -6": lambda L: L.nn.functional.embedding(
        L.tensor([0, 1]), L.ones(5, 2), padding_idx=-6),
    "embedding's padding_idx -5": lambda L: L.nn.functional.embedding(
        L.tensor([0, 1]), L.ones(5, 2, requires_grad=True), padding_idx=-5),
    "embedding's padding_idx 1.5": lambda L: L.nn.functional.embedding(
        L.tensor([0, 1]), L.ones(5, 2), padding_idx=1.5),
    "embedding's sparse=1": lambda L: L.nn.functional.embedding(
        L.tensor([0, 1]), L.ones(5, 2), sparse=1),
    "embedding of uint8 indices": lambda L: L.nn.functional.embedding(
        L.tensor([0, 1], dtype=L.uint8), L.ones(5, 2)),
    "embedding of int32 indices": lambda L: L.nn.functional.embedding(
        L.tensor([0, 1], dtype=L.int32), L.ones(5, 2)),
    # losses
    "cross_entropy's label_smoothing -0.2 (none)": lambda L: L.nn.functional.cross_entropy(
        _x(L), L.tensor([0, 2]), label_smoothing=-0.2),
    "cross_entropy's label_smoothing NaN, probabilities": lambda L:
        L.nn.functional.cross_entropy(_x(L), L.tensor([[.2, .3, .5], [1., 0, 0]]),
                                      label_smoothing=float("nan")),
    "cross_entropy's label_smoothing 1.5": lambda L: L.nn.functional.cross_entropy(
        _x(L), L.tensor([0, 2]), label_smoothing=1.5),
    "nll_loss's reduction a tensor": lambda L: L.nn.functional.nll_loss(
        L.zeros(3, 2), L.tensor([0, 1, 0]), reduction=L.tensor([False, True, True])),
    "mse_loss's reduction 'avg'": lambda L: L.nn.functional.mse_loss(
        _x(L), _x(L), reduction="avg"),
    # linear with a vector weight: PyTorch's fused paths want a matrix
    "linear(vector, vector weight, bias (3,))": lambda L: L.nn.functional.linear(
        L.tensor([1., 2, 2]), L.tensor([-2., 1, -2]), L.tensor([-1., 3, -1])),
    "linear(vector, vector weight, 0-d bias)": lambda L: L.nn.functional.linear(
        L.tensor([1., 2, 2]), L.tensor([-2., 1, -2]), L.tensor(1.)),
    # pooling and resampling
    "avg_pool2d of ints": lambda L: L.nn.functional.avg_pool2d(
        L.ones(1, 1, 4, 4, dtype=L.int32), 2),
    "avg_pool2d of uint8": lambda L: L.nn.functional.avg_pool2d(
        L.ones(1, 1, 4, 4, dtype=L.uint8), 2),
    "avg_pool2d of no ints": lambda L: L.nn.functional.avg_pool2d(
        L.ones(0, 1, 4, 4, dtype=L.int64), 2),
    "max_pool2d of bools": lambda L: L.nn.functional.max_pool2d(
        L.ones(1, 1, 4, 4, dtype=L.bool), 2),
    "max_pool2d of no bools": lambda L: L.nn.functional.max_pool2d(
        L.ones(0, 1, 4, 4, dtype=L.bool), 2),
    "max_pool2d of ints": lambda L: L.nn.functional.max_pool2d(
        L.ones(1, 1, 4, 4, dtype=L.int32), 2),
    "max_pool2d with kernel_size=True": lambda L: L.nn.functional.max_pool2d(
        L.ones(1, 1, 4, 4), True),
    "interpolate to size 1.5": lambda L: L.nn.functional.interpolate(L.ones(2, 1, 3), 1.5),
    "interpolate to size 2.0": lambda L: L.nn.functional.interpolate(L.ones(2, 1, 3), 2.0),
    "interpolate to size tensor(2)": lambda L: L.nn.functional.interpolate(
        L.ones(2, 1, 3), L.tensor(2)),
    "interpolate by a tensor scale": lambda L: L.nn.functional.interpolate(
        L.ones(2, 1, 3), scale_factor=L.tensor(2.)),
    "interpolate with align_corners=1": lambda L: L.nn.functional.interpolate(
        L.ones(2, 1, 3), 4, mode="linear", align_corners=1),
    # bmm with nothing to add up returns before its dtype check (long run 5193999)
    "bmm of an empty half batch by float64": lambda L: L.zeros(1, 0, 1, dtype=L.float16).bmm(
        L.ones(1, 1, 1, dtype=L.float64)),
    "bmm of int64 with no inner terms": lambda L: L.bmm(L.zeros(1, 2, 0, dtype=L.int64),
                                                        L.ones(1, 0, 3)),
    "bmm of half by float64": lambda L: L.bmm(L.ones(1, 2, 2, dtype=L.float16),
                                              L.ones(1, 2, 2, dtype=L.float64)),
    # addcmul_'s value is read in the dtype the three compute in (long run 9569735)
    "uint8.addcmul_(int64, uint8, value=-0.73)": lambda L: L.full((1, 2), 9, dtype=L.uint8)
        .addcmul_(L.tensor([[9, 1]]), L.tensor([[4, 2]], dtype=L.uint8), value=-0.73),
    "uint8.addcmul_(uint8, uint8, value=-0.73)": lambda L: L.full((1, 2), 9, dtype=L.uint8)
        .addcmul_(L.tensor([[9, 1]], dtype=L.uint8), L.tensor([[4, 2]], dtype=L.uint8),
                  value=-0.73),
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_an_argument_of_another_kind_as_pytorch_takes_it(name):
    assert _outcome(tinygan, ROWS[name]) == _outcome(torch, ROWS[name])


def test_an_integer_tensor_of_one_element_is_an_index():
    """Tensor.__index__, as PyTorch's: Python's own indexing and range() take it."""
    for lib in (tinygan, torch):
        assert [10, 20][lib.tensor(1)] == 20 and [10, 20][lib.tensor([True])] == 20
        assert list(range(lib.tensor([[3]]))) == [0, 1, 2]
        for not_an_index in (lib.tensor(1.0), lib.tensor([1, 2])):
            with pytest.raises(TypeError):
                operator.index(not_an_index)


def test_batch_norm_over_every_dtype_of_its_input_and_parameters_as_pytorch():
    """The input and each of weight, bias, running_mean and running_var half, float32,
    float64 or absent, in training and evaluation: 912 calls. PyTorch's CPU kernels take
    parameters of one dtype, the input's (or float32 for a half input); tinygan took any mix
    (865 of the 912 differed), and a bias without a weight was dropped (9 differed in value).
    Where PyTorch answers, the output's dtype and shape, and its values but for a half input
    with half (or no) parameters: there PyTorch rounds the batch's mean and 1/std to half
    before it normalises in float32, a last bit or two that tinygan does not follow (see
    the closing note of the thirteenth session)."""
    kinds = ["float16", "float32", "float64"]
    differ = []
    for x_kind, stats, w_kind, b_kind, training in itertools.product(
            kinds, [None] + kinds, [None] + kinds, [None] + kinds, (True, False)):
        if stats is None and not training:
            continue   # (evaluation needs running statistics)
        outcomes = []
        for lib in (tinygan, torch):
            def given(kind, value, lib=lib):
                return None if kind is None else lib.full((2,), value,
                                                          dtype=getattr(lib, kind))
            outcomes.append(_outcome(lib, lambda L, lib=lib: L.nn.functional.batch_norm(
                L.tensor([[1., -2.], [0.5, 3.], [2., 1.]], dtype=getattr(L, x_kind)),
                given(stats, 0.25), given(stats, 2.0), given(w_kind, 1.5),
                given(b_kind, -0.5), training=training)))
        if x_kind == "float16" and {stats, w_kind, b_kind} <= {None, "float16"}:
            outcomes = [o if o == "raises" else [r[:2] for r in o] for o in outcomes]
        if outcomes[0] != outcomes[1]:
            differ.append((x_kind, stats, w_kind, b_kind, training, outcomes))
    assert not differ, f"{len(differ)} differ, e.g. {differ[:3]}"
