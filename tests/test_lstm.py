"""nn.LSTM and nn.LSTMCell against PyTorch from the same weights: outputs, final states,
first and second derivatives (inputs and weights), parameter names and shapes."""
import numpy as np
import pytest

import tinygan
from tinygan import nn

torch = pytest.importorskip("torch")

CASES = [dict(input_size=3, hidden_size=4),
         dict(input_size=3, hidden_size=4, batch_first=True),
         dict(input_size=3, hidden_size=2, num_layers=2, bidirectional=True),
         dict(input_size=3, hidden_size=4, num_layers=2, bias=False)]


def _pair(options, dtype):
    theirs = torch.nn.LSTM(**options).to(getattr(torch, np.dtype(dtype).name))
    ours = nn.LSTM(**options, dtype=dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _grads(outputs, inputs, framework, create_graph):
    grad = tinygan.grad if framework is tinygan else torch.autograd.grad
    return grad(outputs, inputs, create_graph=create_graph)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_matches_pytorch_with_two_derivatives(case, dtype, with_state):
    options = CASES[case]
    ours, theirs = _pair(options, dtype)
    rng = np.random.default_rng(case)
    x = rng.normal(size=(2, 5, 3) if options.get("batch_first") else (5, 2, 3)).astype(dtype)
    layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    state = [rng.normal(size=(layers, 2, options["hidden_size"])).astype(dtype)
             for _ in range(2)]
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    results = []
    for fw, model in ((tinygan, ours), (torch, theirs)):
        xs = fw.tensor(x, requires_grad=True)
        hx = tuple(fw.tensor(s, requires_grad=True) for s in state) if with_state else None
        out, (h, c) = model(xs, hx)
        w = model.weight_hh_l0
        loss = (out * fw.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape))
                                .astype(dtype))).sum() + (h * h).sum() + c.sum()
        gx, gw = _grads(loss, [xs, w], fw, True)
        ggx, = _grads((gx * gx).sum() + (gw * gw).sum(), [xs], fw, False)
        results.append([t.detach().numpy() if fw is torch else t.numpy()
                        for t in (out, h, c, gx, gw, ggx)])
    for name, a, b in zip(["output", "h_n", "c_n", "d/dx", "d/dW_hh", "second"], *results):
        np.testing.assert_allclose(a, b, **tol, err_msg=name)


def test_unbatched_input_cell_and_errors():
    ours, theirs = _pair(dict(input_size=3, hidden_size=4), np.float64)
    x = np.random.default_rng(0).normal(size=(6, 3))
    out, (h, c) = ours(tinygan.tensor(x))
    tout, (th, tc) = theirs(torch.tensor(x))
    assert out.shape == tuple(tout.shape) and h.shape == tuple(th.shape)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
    cell, tcell = nn.LSTMCell(3, 4, dtype=np.float64), torch.nn.LSTMCell(3, 4).double()
    assert list(cell.state_dict()) == list(tcell.state_dict())
    cell.load_state_dict(tcell.state_dict())
    h, c = cell(tinygan.tensor(x[:2]))
    th, tc = tcell(torch.tensor(x[:2]))
    np.testing.assert_allclose(c.numpy(), tc.detach().numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="input_size. Expected 3, got 2"):
        ours(tinygan.ones(5, 2, 2, dtype=tinygan.float64))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        ours(tinygan.ones(5, 2, 3, dtype=tinygan.float64), (tinygan.ones(1, 3, 4),) * 2)
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    assert repr(nn.LSTM(3, 4, batch_first=True)) == repr(torch.nn.LSTM(3, 4, batch_first=True))
    bound = 1 / np.sqrt(4)
    assert all(np.abs(p.numpy()).max() <= bound for p in nn.LSTM(3, 4).parameters())


def test_writing_the_output_before_backward_as_pytorch():
    """A float32 LSTM runs in PyTorch through oneDNN, whose backward keeps the last layer's
    output: an in-place write into it (not into h_n, not for float64, not when two
    directions are concatenated) makes backward refuse (seeds 3410613 and 3414099 of issue
    29's long run)."""
    torch = pytest.importorskip("torch")
    found = []
    for fw in (tinygan, torch):
        outcomes = []
        for dtype in (fw.float32, fw.float64):
            for options in ({}, {"num_layers": 2}, {"batch_first": True},
                            {"bidirectional": True}):
                for written in (0, 1):
                    layer = fw.nn.LSTM(3, 2, **options).to(dtype)
                    x = fw.ones(2, 1, 3, dtype=dtype, requires_grad=True)
                    out, (h, c) = layer(x)
                    (out, h)[written].mul_(2)
                    try:
                        (out.sum() + h.sum()).backward()
                        outcomes.append("ran")
                    except RuntimeError:
                        outcomes.append("refused")
        found.append(outcomes)
    assert found[0] == found[1]
