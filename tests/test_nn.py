"""Layers: gradient checks, train/eval semantics, state_dict, errors and printing."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygan
from tinygan import nn
from tests.helpers import on_device, t64, to_np


def layer_check(layer, x, with_params=True):
    """gradcheck + gradgradcheck of a layer w.r.t. its input and all its parameters."""
    layer.double()
    params = list(layer.parameters()) if with_params else []
    # w.r.t. the input ...
    assert tinygan.gradcheck(lambda inp: layer(inp), [x])
    assert tinygan.gradgradcheck(lambda inp: layer(inp), [x])
    # ... and w.r.t. each parameter (gradcheck perturbs the parameter's data in place)
    for p in params:
        assert tinygan.gradcheck(lambda q: layer(x.detach()), [p])
        assert tinygan.gradgradcheck(lambda q: layer(x.detach()), [p])


dims = st.integers(1, 3)


@given(n=st.integers(1, 3), fin=dims, fout=dims)
def test_linear_gradients(n, fin, fout):
    layer_check(nn.Linear(fin, fout), t64(np.random.default_rng(n).normal(size=(n, fin))))


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(),
                                   nn.Softplus()], ids=lambda m: type(m).__name__)
def test_activation_gradients(layer):
    x = np.random.default_rng(0).normal(size=(3, 4))
    x[np.abs(x) < 0.05] = 0.5  # keep finite differences away from the kink at 0
    layer_check(layer, t64(x))


@given(seed=st.integers(0, 100))
def test_maxout_gradients(seed):
    m = nn.Maxout(3, 2, pieces=3, generator=tinygan.Generator(seed))
    layer_check(m, t64(np.random.default_rng(seed).normal(size=(2, 3))))


def test_maxout_takes_the_max_of_its_pieces():
    m = nn.Maxout(4, 3, pieces=2)
    x = tinygan.randn(5, 4)
    z = to_np(m.linear(x)).reshape(5, 3, 2)
    np.testing.assert_allclose(to_np(m(x)), z.max(axis=2), rtol=1e-6)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2)])
def test_batchnorm1d_gradients_in_training(shape):
    bn = nn.BatchNorm1d(3)
    bn.weight.array = on_device([1.5, -0.5, 2.0])
    bn.bias.array = on_device([0.1, 0.2, -0.3])
    layer_check(bn, t64(np.random.default_rng(1).normal(size=shape)))


def test_batchnorm1d_gradients_in_eval():
    bn = nn.BatchNorm1d(3).double()
    bn.running_mean.array = on_device([0.1, -0.2, 0.3])
    bn.running_var.array = on_device([0.5, 2.0, 1.5])
    bn.eval()
    layer_check(bn, t64(np.random.default_rng(2).normal(size=(4, 3))))


def test_batchnorm2d_gradients():
    layer_check(nn.BatchNorm2d(2), t64(np.random.default_rng(3).normal(size=(2, 2, 2, 3))))


def test_batchnorm_training_normalises_and_updates_running_stats():
    bn = nn.BatchNorm1d(2, momentum=0.1)
    x = np.random.default_rng(0).normal(loc=[3.0, -1.0], scale=[2.0, 0.5], size=(64, 2))
    y = to_np(bn(tinygan.tensor(x.astype(np.float32))))
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), 1, atol=1e-3)  # biased variance inside
    np.testing.assert_allclose(to_np(bn.running_mean), 0.1 * x.mean(0), rtol=1e-5)
    # the running variance is the *unbiased* batch variance (PyTorch)
    np.testing.assert_allclose(to_np(bn.running_var), 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)
    assert int(to_np(bn.num_batches_tracked)) == 1


def test_batchnorm_eval_uses_running_stats_and_is_per_sample():
    bn = nn.BatchNorm1d(2)
    bn.running_mean.array[:] = [1.0, 2.0]
    bn.running_var.array[:] = [4.0, 9.0]
    bn.eval()
    x = tinygan.tensor([[3.0, 5.0], [1.0, 2.0]])
    np.testing.assert_allclose(to_np(bn(x)), [[2 / np.sqrt(4 + 1e-5), 3 / np.sqrt(9 + 1e-5)],
                                              [0.0, 0.0]], rtol=1e-5)
    np.testing.assert_allclose(to_np(bn(x[:1])), to_np(bn(x))[:1])  # batch-independent
    before = to_np(bn.running_mean).copy()
    bn(x)
    assert np.array_equal(before, to_np(bn.running_mean))  # eval does not update


def test_batchnorm_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\).*\(4, 5\)"):
        nn.BatchNorm1d(3)(tinygan.zeros(4, 5))
    with pytest.raises(ValueError, match="more than 1 value"):
        nn.BatchNorm1d(3)(tinygan.zeros(1, 3))


def test_dropout_train_eval_and_seeded():
    d = nn.Dropout(0.5, generator=tinygan.Generator(4))
    x = tinygan.ones(100, 100)
    y1 = to_np(d(x))
    assert set(np.unique(y1).tolist()) == {0.0, 2.0}
    d2 = nn.Dropout(0.5, generator=tinygan.Generator(4))
    assert np.array_equal(y1, to_np(d2(x)))  # same seed, same mask
    d.eval()
    assert np.array_equal(to_np(d(x)), to_np(x))
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


def test_linear_wrong_width_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(3, 2\).*\(4, 5\)"):
        nn.Linear(3, 2)(tinygan.zeros(4, 5))


def test_linear_default_init_matches_pytorch_bounds():
    layer = nn.Linear(400, 30)
    bound = 1 / np.sqrt(400)
    w, b = to_np(layer.weight), to_np(layer.bias)
    assert layer.weight.shape == (30, 400) and layer.bias.shape == (30,)
    assert w.min() >= -bound and w.max() <= bound and w.std() > 0.5 * bound / np.sqrt(3)
    assert b.min() >= -bound and b.max() <= bound


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LeakyReLU(0.2))
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        return self.head(self.body(x))


def test_module_registration_names_and_state_dict_round_trip():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                     "head.weight", "head.bias"]
    sd = m.state_dict()
    assert list(sd) == ["body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                        "body.1.running_mean", "body.1.running_var",
                        "body.1.num_batches_tracked", "head.weight", "head.bias"]
    assert all(hasattr(v, "dtype") and not isinstance(v, tinygan.Tensor) for v in sd.values())
    m2 = TwoLayer()
    m2.load_state_dict(sd)
    x = tinygan.randn(5, 3)
    m.eval(), m2.eval()
    np.testing.assert_array_equal(to_np(m(x)), to_np(m2(x)))
    sd["head.weight"][...] = 7  # state_dict holds copies, not views of the parameters
    assert not np.any(to_np(m.head.weight) == 7)


def test_load_state_dict_errors_name_key_and_shapes():
    m = TwoLayer()
    sd = m.state_dict()
    sd["head.weight"] = np.zeros((2, 4), dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"size mismatch for head.weight.*\(2, 4\).*\(1, 4\)"):
        m.load_state_dict(sd)
    with pytest.raises(RuntimeError, match=r"size mismatch"):   # strict or not, as PyTorch
        m.load_state_dict(sd, strict=False)
    sd = m.state_dict()
    del sd["head.bias"]
    sd["extra"] = np.zeros(1)
    with pytest.raises(RuntimeError, match='Missing key.*"head.bias".*\n.*Unexpected.*"extra"'):
        m.load_state_dict(sd)
    before = m.head.weight.detach().clone()
    missing, unexpected = m.load_state_dict(sd, strict=False)   # PyTorch's named pair
    assert (missing, unexpected) == (["head.bias"], ["extra"])
    assert np.array_equal(to_np(m.head.weight), to_np(before))


def test_train_eval_zero_grad_and_repr():
    m = TwoLayer()
    m.eval()
    assert all(not sub.training for sub in m.modules())
    m.train()
    assert all(sub.training for sub in m.modules())
    m(tinygan.randn(4, 3)).sum().backward()
    assert m.head.weight.grad is not None
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    text = repr(m)
    assert "(body): Sequential(" in text and "(0): Linear(in_features=3, out_features=4" in text
    assert len(list(m.children())) == 2


def test_sequential_indexing_and_type_errors():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert isinstance(s[0], nn.Linear) and len(s) == 2
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(2, 3), "relu")


def test_init_functions():
    w = nn.Parameter(np.zeros((200, 100), dtype=np.float32))
    nn.init.normal_(w, 0.0, 0.02, generator=tinygan.Generator(0))
    assert abs(to_np(w).std() - 0.02) < 0.002 and w.dtype == np.float32
    nn.init.zeros_(w)
    assert not to_np(w).any()
    nn.init.xavier_uniform_(w)
    assert np.abs(to_np(w)).max() <= np.sqrt(6 / 300) + 1e-7
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(to_np(w).std() - np.sqrt(2 / 100)) < 0.01


def test_flatten_unflatten():
    x = tinygan.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
