"""The names the next public scripts reach for (issue 33), each against PyTorch: the
comparison methods, torch.mm / log1p / randint's forms, the is_* device flags, the losses,
Linear's positional form, submodule reassignment, seeding, torch.multiprocessing."""
import numpy as np
import pytest

import tinygan
from tinygan import nn

torch = pytest.importorskip("torch")


# ---- comparisons as methods and functions -----------------------------------------------
@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_methods_and_functions_match_pytorch(name):
    a = np.array([[1.0, 2.0, np.nan], [0.0, -1.0, 3.0]], dtype=np.float32)
    b = np.array([1.0, 3.0, np.nan], dtype=np.float32)
    for other_ours, other_theirs in ((tinygan.tensor(b), torch.tensor(b)), (2.0, 2.0),
                                     (1, 1)):
        ours = getattr(tinygan.tensor(a), name)(other_ours)
        theirs = getattr(torch.tensor(a), name)(other_theirs)
        assert ours.dtype == np.bool_ and ours.numpy().tolist() == theirs.numpy().tolist()
        ours_fn = getattr(tinygan, name)(tinygan.tensor(a), other_ours)
        assert ours_fn.numpy().tolist() == theirs.numpy().tolist()
    labels = tinygan.tensor([1, 0, 2])
    assert labels.eq(tinygan.tensor([1, 1, 2])).sum().item() == 2    # the accuracy idiom


def test_mm_and_log1p_function_forms_and_errors():
    a, b = np.arange(6.0).reshape(2, 3), np.ones((3, 2))
    np.testing.assert_array_equal(tinygan.mm(tinygan.tensor(a), tinygan.tensor(b)).numpy(),
                                  torch.mm(torch.tensor(a), torch.tensor(b)).numpy())
    for left, right, message in [((3,), (3, 2), "self must be a matrix"),
                                 ((2, 3), (3,), "mat2 must be a matrix"),
                                 ((2, 3), (4, 2), r"shapes cannot be multiplied \(2x3 and 4x2\)")]:
        with pytest.raises(RuntimeError, match=message):
            torch.mm(torch.ones(left), torch.ones(right))
        with pytest.raises(RuntimeError, match=message):
            tinygan.mm(tinygan.ones(left), tinygan.ones(right))
    with pytest.raises(RuntimeError, match="same dtype"):
        tinygan.mm(tinygan.ones(2, 3), tinygan.ones(3, 2, dtype=tinygan.float64))
    ints = tinygan.log1p(tinygan.tensor([0, 1, 2]))
    theirs = torch.log1p(torch.tensor([0, 1, 2]))
    assert ints.dtype == np.float32 and str(theirs.dtype) == "torch.float32"
    np.testing.assert_allclose(ints.numpy(), theirs.numpy(), rtol=1e-7)
    tiny = tinygan.tensor([1e-10], dtype=tinygan.float64)          # where log(1 + x) fails
    assert tinygan.log1p(tiny).item() == pytest.approx(1e-10, rel=1e-9)


def test_new_functions_pass_gradcheck():
    x = tinygan.tensor(np.linspace(-0.5, 2.0, 6).reshape(2, 3), dtype=tinygan.float64,
                       requires_grad=True)
    w = tinygan.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=tinygan.float64,
                       requires_grad=True)
    assert tinygan.gradcheck(tinygan.log1p, (x,))
    assert tinygan.gradgradcheck(tinygan.log1p, (x,))
    assert tinygan.gradcheck(tinygan.mm, (x, w)) and tinygan.gradgradcheck(tinygan.mm, (x, w))


def test_randint_takes_pytorch_forms():
    tinygan.manual_seed(0)
    for call in (lambda m: m.randint(5, (3, 2)), lambda m: m.randint(5, size=(3, 2)),
                 lambda m: m.randint(2, 5, (3, 2)), lambda m: m.randint(2, 5, size=(3, 2)),
                 lambda m: m.randint(low=2, high=5, size=(3, 2)),
                 lambda m: m.randint(high=5, size=(3, 2))):
        ours, theirs = call(tinygan), call(torch)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == np.int64
        assert 0 <= ours.numpy().min() and ours.numpy().max() < 5
    assert tinygan.randint(0, 2, (4,), dtype=tinygan.float32).dtype == np.float32
    with pytest.raises(TypeError, match="missing the size"):
        tinygan.randint(5)
    with pytest.raises(RuntimeError, match="from=5 >= to=5"):
        tinygan.randint(5, 5, (2,))
    g1, g2 = tinygan.Generator(3), tinygan.Generator(3)
    assert tinygan.randint(9, (5,), generator=g1).tolist() == \
        tinygan.randint(9, (5,), generator=g2).tolist()


def test_every_is_device_flag_of_pytorch_is_there():
    flags = [a for a in dir(torch.ones(1)) if a.startswith("is_")
             and not callable(getattr(torch.ones(1), a))]
    x = tinygan.ones(2)
    for flag in flags:
        assert getattr(x, flag) == getattr(torch.ones(2), flag), flag
    assert x.is_cpu and not x.is_xpu and not x.is_mps


# ---- Linear's positional form; submodule reassignment ------------------------------------
def test_linear_takes_pytorch_positional_arguments():
    ours = nn.Linear(3, 2, False, "cpu", tinygan.float64)
    theirs = torch.nn.Linear(3, 2, False, "cpu", torch.float64)
    assert ours.bias is None and theirs.bias is None
    assert ours.weight.dtype == np.float64 and ours.weight.shape == tuple(theirs.weight.shape)
    assert nn.Linear(3, 2, generator=tinygan.Generator(1)).weight.tolist() == \
        nn.Linear(3, 2, generator=tinygan.Generator(1)).weight.tolist()


def _small_resnet(m):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = m.nn.Conv2d(3, 4, 3)
            self.bn1 = m.nn.BatchNorm2d(4)
            self.fc = m.nn.Linear(4, 2)
    return Net()


def test_reassigning_a_submodule_keeps_its_place_as_in_pytorch():
    """The transfer-learning idiom: replace the first conv, then drop the last layer."""
    for m in (tinygan, torch):
        net = _small_resnet(m)
        net.conv1 = m.nn.Conv2d(1, 4, 3)                  # a grey-scale input layer
        names = [name for name, _ in net.named_children()]
        assert names == ["conv1", "bn1", "fc"], m.__name__
        body = list(net.children())[:-1]
        assert isinstance(body[0], m.nn.Conv2d) and isinstance(body[-1], m.nn.BatchNorm2d)
        assert list(net.state_dict())[:2] == ["conv1.weight", "conv1.bias"]
        net.fc = None                                      # an emptied slot is skipped
        assert [name for name, _ in net.named_children()] == ["conv1", "bn1"]
        net.fc = m.nn.Linear(4, 3)                         # and filled again in place
        assert [name for name, _ in net.named_children()] == ["conv1", "bn1", "fc"]
    lin, tlin = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    lin.weight = nn.Parameter(tinygan.ones(2, 2))
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        lin.weight = tinygan.ones(2, 2)
    with pytest.raises(TypeError, match="as parameter 'weight'"):
        tlin.weight = torch.ones(2, 2)
    net = _small_resnet(tinygan)
    with pytest.raises(TypeError, match="as child module 'fc'"):
        net.fc = 3


# ---- seeds: fresh per process unless a script seeds ------------------------------------
def _in_a_new_process(code):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "import tinygan\n" + code], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def test_unseeded_processes_differ_and_seeded_ones_agree_bit_for_bit():
    draw = "print(tinygan.initial_seed(), tinygan.randn(4).numpy().tobytes().hex())"
    first, second = _in_a_new_process(draw), _in_a_new_process(draw)
    assert first.split()[0] != second.split()[0] and first.split()[1] != second.split()[1]
    seeded = "tinygan.manual_seed(7)\n" + draw
    assert _in_a_new_process(seeded) == _in_a_new_process(seeded)
    assert _in_a_new_process(seeded).split()[0] == "7"
    explicit = ("print(tinygan.randn(4, generator=tinygan.Generator(3)).numpy().tobytes().hex(),"
                " tinygan.nn.Linear(3, 2, generator=tinygan.Generator(3)).weight.numpy()"
                ".tobytes().hex())")
    assert _in_a_new_process(explicit) == _in_a_new_process(explicit)


def test_seed_and_initial_seed_as_in_pytorch():
    tinygan.manual_seed(11)
    assert tinygan.initial_seed() == 11
    fresh = tinygan.seed()
    assert tinygan.initial_seed() == fresh and 0 <= fresh < 2 ** 64
    a = tinygan.randn(3).tolist()
    tinygan.manual_seed(fresh)
    assert tinygan.randn(3).tolist() == a
    assert tinygan.Generator(5).initial_seed() == 5


def test_dropout2d_on_a_2d_input_drops_elements_and_warns_as_pytorch():
    """examples/mnist_rnn applies Dropout2d to (N, features)."""
    x = tinygan.ones(64, 32)
    with pytest.warns(UserWarning, match="2-D input to dropout2d"):
        y = nn.Dropout2d(0.5)(x).numpy()
    with pytest.warns(UserWarning, match="2-D input to dropout2d"):
        torch.nn.Dropout2d(0.5)(torch.ones(64, 32))
    rows_mixed = ((y == 0).any(1) & (y != 0).any(1)).mean()
    assert rows_mixed > 0.9 and set(np.unique(y)) <= {0.0, 2.0}     # elements, not rows
