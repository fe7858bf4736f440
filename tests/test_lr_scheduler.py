"""tinygan.optim.lr_scheduler and Adadelta against PyTorch: the same rates epoch by epoch (bit
for bit: the same chainable formulas), the same state_dict, the same resume."""
import warnings

import numpy as np
import pytest

import tinygan
from tinygan import optim
from tinygan.optim import lr_scheduler as ours_sched

torch = pytest.importorskip("torch")


class Halver:
    """A callable object: its state (unlike a plain function's) is saved by LambdaLR."""

    def __init__(self):
        self.base = 0.5

    def __call__(self, epoch):
        return self.base ** (epoch // 2)


SCHEDULES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5], gamma=0.1),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda epoch: 0.95 ** epoch),
    "LambdaLR-object": lambda m, o: m.LambdaLR(o, [Halver(), lambda e: 1.0 / (e + 1)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda epoch: 0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=4, eta_min=0.001),
}


def _optimizers():
    """The same two param groups (lr 0.1 and 0.02) in each library."""
    a, b = tinygan.nn.Parameter(tinygan.ones(2)), tinygan.nn.Parameter(tinygan.ones(1))
    ta, tb = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(1))
    ours = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.1)
    theirs = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.02}], lr=0.1)
    return ours, theirs


def _comparable(state):
    return {k: (dict(v) if k == "milestones" else v) for k, v in state.items()}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_matches_pytorch_bit_for_bit_and_resumes(name):
    opt, topt = _optimizers()
    ours, theirs = SCHEDULES[name](ours_sched, opt), SCHEDULES[name](torch.optim.lr_scheduler,
                                                                     topt)
    assert _comparable(ours.state_dict()) == _comparable(theirs.state_dict())
    for epoch in range(11):                       # past T_max: the cosine climbs back
        opt.step()
        topt.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr(), epoch       # exact, not close
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
        if epoch == 4:
            saved = ours.state_dict()
            assert list(saved) == list(theirs.state_dict())          # PyTorch's keys, in order
            assert _comparable(saved) == _comparable(theirs.state_dict())
    # resume: a fresh optimizer and scheduler, loaded from epoch 4's state, continue the same
    opt2, _ = _optimizers()
    opt2.load_state_dict(opt.state_dict())
    resumed = SCHEDULES[name](ours_sched, opt2)
    resumed.load_state_dict(saved)
    for g, lr in zip(opt2.param_groups, saved["_last_lr"]):
        g["lr"] = lr
    opt_ref, _ = _optimizers()
    reference = SCHEDULES[name](ours_sched, opt_ref)
    for _ in range(5):
        opt_ref.step()
        reference.step()
    for _ in range(6):
        opt2.step()
        opt_ref.step()
        resumed.step()
        reference.step()
        assert resumed.get_last_lr() == reference.get_last_lr()


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR",
                                  "CosineAnnealingLR"])
def test_step_with_an_epoch_uses_the_closed_form_and_warns(name):
    opt, topt = _optimizers()
    ours, theirs = SCHEDULES[name](ours_sched, opt), SCHEDULES[name](torch.optim.lr_scheduler,
                                                                     topt)
    opt.step()
    topt.step()
    for epoch in (6, 3, 9):
        with pytest.warns(UserWarning, match="epoch parameter"):
            ours.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs.step(epoch)
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-15)


def test_stepping_the_scheduler_before_the_optimizer_warns_as_pytorch_does():
    opt, _ = _optimizers()
    sched = ours_sched.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt, _ = _optimizers()
    sched = ours_sched.StepLR(opt, 2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
        with pytest.warns(UserWarning, match="get_last_lr"):
            sched.get_lr()


def test_resuming_needs_initial_lr_and_bad_arguments_raise():
    opt, _ = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        ours_sched.StepLR(opt, 2, last_epoch=3)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        ours_sched.StepLR([1, 2], 2)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        ours_sched.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        ours_sched.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode sideways is unknown"):
        ours_sched.ReduceLROnPlateau(opt, mode="sideways")
    with pytest.raises(AttributeError, match="has no OneCycleLR.*LambdaLR"):
        ours_sched.OneCycleLR  # noqa: B018
    assert ours_sched._LRScheduler is ours_sched.LRScheduler


@pytest.mark.parametrize("options", [
    dict(), dict(mode="max", patience=1, cooldown=2, factor=0.5, min_lr=[0.01, 0.0]),
    dict(patience=0, threshold=0.5, threshold_mode="abs", eps=1e-3)])
def test_reduce_on_plateau_matches_pytorch(options):
    opt, topt = _optimizers()
    ours = ours_sched.ReduceLROnPlateau(opt, **options)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **options)
    losses = [1.0, 0.9, 0.95, 0.95, 0.96, 0.5, 0.6, 0.7, 0.8, 0.9] * 3 + [2.0] * 12
    for i, loss in enumerate(losses):
        ours.step(tinygan.tensor(loss) if i % 2 else loss)
        theirs.step(loss)
        assert ours.get_last_lr() == theirs.get_last_lr(), i
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert ours.state_dict() == theirs.state_dict()
    resumed = ours_sched.ReduceLROnPlateau(_optimizers()[0])
    resumed.load_state_dict(ours.state_dict())
    assert resumed._is_better(-1e9, resumed.best) == (options.get("mode", "min") == "min")


# ---- Adadelta ---------------------------------------------------------------------------
@pytest.mark.parametrize("options", [dict(), dict(lr=0.5, rho=0.8, eps=1e-4,
                                                   weight_decay=0.1)])
def test_adadelta_matches_pytorch(options):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 4))
    p = tinygan.nn.Parameter(start.copy())
    tp = torch.nn.Parameter(torch.tensor(start))
    opt, topt = optim.Adadelta([p], **options), torch.optim.Adadelta([tp], **options)
    for _ in range(5):
        g = rng.normal(size=(3, 4))
        p.grad, tp.grad = tinygan.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-14, atol=1e-15)
    ours, theirs = opt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert set(ours) == set(theirs) == {"step", "square_avg", "acc_delta"}
    for k in ("square_avg", "acc_delta"):
        np.testing.assert_allclose(ours[k], theirs[k].numpy(), rtol=1e-14)
    assert opt.defaults == {k: topt.defaults[k] for k in ("lr", "rho", "eps", "weight_decay",
                                                           "maximize")}


def test_adadelta_refuses_what_it_does_not_do():
    p = tinygan.nn.Parameter(tinygan.ones(2))
    with pytest.raises(ValueError, match="rho must be in"):
        optim.Adadelta([p], rho=1.5)
    with pytest.raises(NotImplementedError, match="differentiable"):
        optim.Adadelta([p], differentiable=True)
