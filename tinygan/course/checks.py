"""The notebooks' exercise checks: one function per exercise, ``CHECKS["4.1"](answer)``.

Each check computes its reference at check time, with tinygan (or from the exercise's own
definitions), and compares; it prints nothing and returns nothing when the answer is right,
and raises ``WrongAnswer`` saying what is wrong otherwise (see feedback.py). No notebook holds
an answer value: the student edition can be handed out as it is.

Checks that need an object from the notebook (a trained discriminator, the notebook's
``play`` function) receive it as a keyword argument; the check cell passes it.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import tinygan as tg
from tinygan import functional as F
from tinygan import nn
from tinygan.course.feedback import as_number, compare_number, compare_numbers, fail

__all__ = ["CHECKS", "run_check"]

CHECKS: dict[str, Callable[..., None]] = {}


def _check(number: str):
    def register(fn):
        CHECKS[number] = fn
        return fn
    return register


def run_check(number: str, answer: Any, **context: Any) -> None:
    """Run exercise ``number``'s check on ``answer``; raise WrongAnswer when it is wrong."""
    if number not in CHECKS:
        raise KeyError(f"no check for exercise {number!r}; known: {', '.join(CHECKS)}")
    CHECKS[number](answer, **context)


def _grad(fn: Callable[[tg.Tensor], tg.Tensor], at: float) -> float:
    """d fn / dx at one point, by tinygan's backward (float64)."""
    x = tg.tensor(at, dtype=tg.float64, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.item()


def _bce(p: float, target: float) -> float:
    """Binary cross-entropy of one probability, by tinygan."""
    return F.binary_cross_entropy(tg.tensor([p], dtype=tg.float64),
                                  tg.tensor([target], dtype=tg.float64)).item()


def compare_pair_shape(number: str, answer: Any, shape: str) -> tuple[float, float]:
    """Two numbers, or stop saying the answer should be the tuple ``shape``."""
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__len__") or len(answer) != 2:
        fail(number, f"give a tuple of two numbers {shape}")
    return tuple(as_number(number, v, f"the element {n}")
                 for v, n in zip(answer, shape.strip("()").split(", ")))


# --- chapter 1 -------------------------------------------------------------------------------
# What each model describes; a model is generative when it gives a distribution over x that
# new samples can be drawn from (p(x), or p(x | y) p(y)).
_MODELS_1_1 = [("logistic regression", "p(y | x)"), ("a Gaussian mixture", "p(x)"),
               ("naive Bayes", "p(x | y) p(y)"), ("k-nearest neighbours", "a decision rule"),
               ("a VAE", "p(x)")]


@_check("1.1")
def check_1_1(answer: Any) -> None:
    if isinstance(answer, str) or not isinstance(answer, (list, tuple)) or len(answer) != 5:
        fail("1.1", "give a list of five strings, one per model, in the order of the question")
    if not all(isinstance(a, str) and a.strip().upper() in ("G", "D") for a in answer):
        fail("1.1", 'every entry must be "G" (generative) or "D" (discriminative)')
    reference = ["G" if "p(x" in models else "D" for _, models in _MODELS_1_1]
    wrong = sum(a.strip().upper() != r for a, r in zip(answer, reference))
    if wrong:
        fail("1.1", f"{wrong} of the 5 labels are wrong. For each model ask: does it describe "
                    "how the inputs x themselves are distributed, so that you could draw a new x?")


@_check("1.2")
def check_1_2(answer: Any) -> None:
    images_log10 = 28 * 28 * math.log10(256)      # 256 choices for each of 784 pixels
    compare_number("1.2", answer, images_log10, atol=1e-6, mistakes={
        "is a natural logarithm: the question asks for log10": images_log10 * math.log(10),
        "multiplies 784 by 256: each pixel picks one of 256 levels independently, so the "
        "counts multiply, once per pixel": math.log10(784 * 256),
        "has the roles of pixels and grey levels swapped": 256 * math.log10(784)})


@_check("1.3")
def check_1_3(answer: Any) -> None:
    w, b = compare_pair_shape("1.3", answer, "(w, b)")
    G = nn.Linear(1, 1)
    G.weight.data[:] = w
    G.bias.data[:] = b
    with tg.no_grad():
        samples = G(tg.randn(20_000, 1, generator=tg.Generator(5))).numpy()
    mean_ok, var_ok = abs(samples.mean() - 3) < 0.05, abs(samples.var() - 4) < 0.15
    if not mean_ok and not var_ok:
        fail("1.3", "neither the mean nor the variance of your generator's samples is right: "
                    "E[wz + b] = b and Var(wz + b) = w^2 Var(z)")
    if not mean_ok:
        fail("1.3", "the variance is right but the mean is not: which of w, b moves the mean?")
    if not var_ok:
        hint = " (N(3, 4) means variance 4, not standard deviation 4)" if abs(abs(w) - 4) < 1e-3 else ""
        fail("1.3", "the mean is right but the variance is not: Var(wz + b) = w^2 Var(z)" + hint)


# --- chapter 2 -------------------------------------------------------------------------------
@_check("2.1")
def check_2_1(answer: Any) -> None:
    logits = tg.zeros(8, 1, dtype=tg.float64)          # D(x) = sigmoid(0) = 1/2 everywhere
    log_d, log_one_minus_d = F.log_sigmoid(logits).mean().item(), F.log_sigmoid(-logits).mean().item()
    compare_number("2.1", answer, log_d + log_one_minus_d, atol=1e-5, mistakes={
        "is only one of V's two terms: V adds E[log D(x)] and E[log(1 - D(G(z)))]": log_d,
        "has the sign of a loss: V is a sum of logs of probabilities, so it is negative":
            -(log_d + log_one_minus_d)})


@_check("2.2")
def check_2_2(answer: Any) -> None:
    d_real, d_fake = 0.9, 0.2
    loss_d = _bce(d_real, 1.0) + _bce(d_fake, 0.0)
    saturating, non_saturating = -_bce(d_fake, 0.0), _bce(d_fake, 1.0)
    compare_numbers("2.2", answer, (loss_d, saturating, non_saturating),
                    ("L_D", "L_G_saturating", "L_G_non_saturating"), atol=1e-4, mistakes=[
        {"counts only the real sample's term: L_D has a term for the fake too": _bce(d_real, 1.0)},
        {"is what D maximises on the fake: G minimises log(1 - D(G(z))) itself": -saturating},
        {"uses D(G(z)) where the log needs 1 - D(G(z)), or the other way": _bce(d_fake, 0.0)}])


@_check("2.3")
def check_2_3(answer: Any) -> None:
    a = as_number("2.3", answer)
    if a != int(a):
        fail("2.3", "give an integer logit")
    sigmoid = lambda v: F.sigmoid(tg.tensor([float(v)])).item()
    if sigmoid(a) < 1.0:
        fail("2.3", "at your logit the float32 sigmoid is still below 1.0: go higher")
    if sigmoid(a - 1) == 1.0:
        fail("2.3", "the sigmoid is already exactly 1.0 one below your logit: find the smallest")


# --- chapter 3 -------------------------------------------------------------------------------
@_check("3.1")
def check_3_1(answer: Any) -> None:
    ys = np.linspace(1e-6, 1 - 1e-6, 2_000_001)
    f = 3 * np.log(ys) + np.log1p(-ys)
    best = int(np.argmax(f))
    compare_numbers("3.1", answer, (ys[best], f[best]), ("y_best", "f_best"), atol=(1e-3, 1e-5),
                    mistakes=[{"is where 3 log y alone would peak? it has no maximum inside (0, 1); "
                               "set f'(y) = 3/y - 1/(1 - y) to 0": 1.0}, {}])


@_check("3.2")
def check_3_2(answer: Any) -> None:
    from tinygan.metrics import theory
    xs = np.linspace(-0.5, 2.5, 300_001)
    p_data = ((xs >= 0) & (xs <= 1)).astype(float)
    p_g = 0.5 * ((xs >= 0) & (xs <= 2)).astype(float)
    value = theory.value_at_optimum(p_data, p_g, xs[1] - xs[0])
    compare_number("3.2", answer, value, atol=2e-3, mistakes={
        "is C(G) at p_g = p_data; here the two differ, so D* is not 1/2": -math.log(4),
        "leaves out p_g's half on (1, 2], where D* = 0 and log(1 - D*) = 0 adds nothing, "
        "but the first half's weight is 1/2": math.log(2 / 3) + math.log(1 / 3)})


@_check("3.3")
def check_3_3(answer: Any) -> None:
    saturating = abs(_grad(lambda a: F.log_sigmoid(-a), -10.0))     # G minimises log(1 - D)
    non_saturating = abs(_grad(lambda a: -F.log_sigmoid(a), -10.0))  # G minimises -log D
    compare_number("3.3", answer, non_saturating / saturating, rtol=1e-3, mistakes={
        "is saturating / non-saturating: the question asks the other way round":
            saturating / non_saturating})


# --- chapter 4 -------------------------------------------------------------------------------
@_check("4.1")
def check_4_1(answer: Any) -> None:
    x = tg.tensor([1.0, 2.0], dtype=tg.float64)
    w = tg.tensor(0.0, dtype=tg.float64, requires_grad=True)
    F.sigmoid(w * x).sum().backward()
    grad = w.grad.item()
    compare_number("4.1", answer, grad, atol=1e-6, mistakes={
        "counts only x_1: L sums over both samples, and their gradients add": grad / 3,
        "counts only x_2: L sums over both samples, and their gradients add": 2 * grad / 3,
        "uses sigma(0) where the chain rule needs sigma'(0)": 2 * grad,
        "is L itself, not its derivative": F.sigmoid(w * x).sum().item()})


@_check("4.2")
def check_4_2(answer: Any) -> None:
    from tinygan.engine.gradcheck import GradcheckError, gradcheck, gradgradcheck
    from tinygan.engine.tensor import Function
    if not (isinstance(answer, type) and issubclass(answer, Function)):
        fail("4.2", "Log1pSquare must be a class derived from tinygan.engine.tensor.Function "
                    f"(got {type(answer).__name__}): `class Log1pSquare(Function): ...`")
    op = lambda t: answer()(t)
    point = tg.tensor([0.5], dtype=tg.float64, requires_grad=True)
    try:
        value = op(point).numpy()
    except Exception as err:        # a learner's forward: report whatever it raised
        fail("4.2", f"your forward raised {type(err).__name__}: {err}")
    expected = math.log1p(0.25)
    if not np.allclose(value, expected):
        ratio = float(value.reshape(-1)[0]) / expected
        why = (" (off by a factor of 2)" if abs(ratio - 2) < 1e-3 or abs(ratio - 0.5) < 1e-3
               else " (did you compute log(x^2) or log(1 + x)?)")
        fail("4.2", f"the forward value is wrong at x = 0.5{why}: y = log(1 + x^2)")
    try:
        op(point).sum().backward()
    except Exception as err:
        fail("4.2", f"your backward raised {type(err).__name__}: {err}")
    slope, exact = point.grad.item(), 2 * 0.5 / (1 + 0.25)
    if not math.isclose(slope, exact, rel_tol=1e-6):
        ratio = slope / exact
        if abs(ratio - 2) < 1e-6 or abs(ratio - 0.5) < 1e-6:
            why = "is off by a factor of 2: check the chain rule (d(x^2)/dx = 2x, once)"
        elif abs(ratio + 1) < 1e-6:
            why = "has the wrong sign"
        elif abs(slope * (1 + 0.25) - 2 * 0.5 * (1 + 0.25)) < 1e-9:
            why = "misses the division by 1 + x^2"
        else:
            why = "disagrees with the finite difference: backward must return gy * dy/dx"
        fail("4.2", f"your derivative at x = 0.5 is wrong: it {why}")
    x = tg.randn(5, generator=tg.Generator(1), dtype=tg.float64, requires_grad=True)
    try:
        gradcheck(op, [x])
    except GradcheckError:
        fail("4.2", "your derivative is right at x = 0.5 but not at other points: "
                    "does backward use the input x, or a constant?")
    try:
        gradgradcheck(op, [x])
    except GradcheckError:
        (g,) = tg.grad(op(x).sum(), x, create_graph=True)
        raw = not g.requires_grad
        fail("4.2", "first derivatives agree, second derivatives do not: "
                    + ("your backward uses raw arrays (.array, .numpy() or NumPy functions), so "
                       "the engine cannot differentiate it; write it with Tensor operations on "
                       "self.inputs[0]" if raw else
                       "your backward's own derivative is wrong; use self.inputs[0], not a copy"))


@_check("4.3")
def check_4_3(answer: Any) -> None:
    x, eps = 1.0, 1e-3
    f = lambda t: tg.exp(tg.tensor(t, dtype=tg.float64)).item()
    exact = f(x)                                   # (e^x)' = e^x
    one_sided = abs((f(x + eps) - f(x)) / eps - exact)
    central = abs((f(x + eps) - f(x - eps)) / (2 * eps) - exact)
    compare_numbers("4.3", answer, (one_sided, central), ("one_sided_error", "central_error"),
                    atol=(1e-5, 1e-9), mistakes=[
        {"is the derivative estimate itself, not its error": one_sided + exact},
        {"is the derivative estimate itself, not its error": central + exact}])


@_check("4.4")
def check_4_4(answer: Any) -> None:
    grads = []
    for loss in (lambda w, x: (w * x) ** 2 + w * x, lambda w, x: (w * x) ** 2, lambda w, x: w * x):
        w = tg.tensor(1.0, dtype=tg.float64, requires_grad=True)
        loss(w, tg.tensor(2.0, dtype=tg.float64)).backward()
        grads.append(w.grad.item())
    compare_number("4.4", answer, grads[0], atol=1e-6, mistakes={
        "is only the (wx)^2 term's gradient: w is used twice, and the gradients add": grads[1],
        "is only the wx term's gradient: w is used twice, and the gradients add": grads[2]})


# --- chapter 5 -------------------------------------------------------------------------------
@_check("5.1")
def check_5_1(answer: Any) -> None:
    expected = (_grad(F.sigmoid, 0.0), _grad(F.sigmoid, 10.0), _grad(F.tanh, 0.0), _grad(F.tanh, 3.0))
    values = (F.sigmoid(tg.tensor(0.0)).item(), F.sigmoid(tg.tensor(10.0)).item(),
              F.tanh(tg.tensor(0.0)).item(), F.tanh(tg.tensor(3.0)).item())
    hint = "is the function's value, not its derivative"
    compare_numbers("5.1", answer, expected,
                    ("sigmoid'(0)", "sigmoid'(10)", "tanh'(0)", "tanh'(3)"), atol=0.0, rtol=1e-3,
                    mistakes=[{hint: v} for v in values])


@_check("5.2")
def check_5_2(answer: Any) -> None:
    bn = nn.BatchNorm1d(1, eps=0.0)
    bn.running_mean.data[:], bn.running_var.data[:] = 2.0, 9.0
    bn.weight.data[:], bn.bias.data[:] = 2.0, 1.0
    bn.eval()
    out = bn(tg.tensor([[5.0]])).item()
    compare_number("5.2", answer, out, atol=1e-5, mistakes={
        "divides by the running variance: normalise by its square root, the standard deviation":
            2.0 * (5 - 2) / 9 + 1,
        "is the training-mode output of a batch of one (every sample becomes beta): call "
        ".eval() so that the running statistics are used": 1.0,
        "leaves out gamma and beta: y = gamma * x_hat + beta": (5 - 2) / 3})


@_check("5.3")
def check_5_3(answer: Any) -> None:
    drop = nn.Dropout(p=0.2, generator=tg.Generator(0))
    y = drop(tg.ones(1000)).numpy()
    survivor = float(y[y > 0][0])
    compare_number("5.3", answer, survivor, atol=1e-6, mistakes={
        "is the keep probability: PyTorch's dropout scales the survivors *up* in training, so "
        "that the expected value is unchanged": 0.8,
        "is the input unchanged: in training mode the survivors are rescaled (is the layer in "
        "eval mode?)": 1.0})


@_check("5.4")
def check_5_4(answer: Any) -> None:
    opt_weights = []
    for beta1 in (0.5, 0.9):        # Adam's m after 6 steps of gradients e_0 .. e_5: read the weights
        m = np.zeros(6)
        for step in range(6):
            g = np.eye(6)[step]
            m = beta1 * m + (1 - beta1) * g
        opt_weights.append(m[0])      # the gradient from 5 steps before the last
    compare_numbers("5.4", answer, opt_weights, ("weight for beta1 = 0.5", "weight for beta1 = 0.9"),
                    atol=1e-9, mistakes=[{"leaves out the (1 - beta1) factor": 0.5 ** 5,
                                          "counts one step too many": 0.5 ** 7},
                                         {"leaves out the (1 - beta1) factor": 0.9 ** 5,
                                          "counts one step too many": 0.1 * 0.9 ** 6}])


@_check("5.5")
def check_5_5(answer: Any) -> None:
    if not callable(answer):
        fail("5.5", "count_dead_units must be a function taking an activation module")
    dead = {}
    for name, activation in (("ReLU", nn.ReLU()), ("LeakyReLU(0.2)", nn.LeakyReLU(0.2))):
        try:
            dead[name] = answer(activation)
        except Exception as err:
            fail("5.5", f"count_dead_units({name}) raised {type(err).__name__}: {err}")
        count = as_number("5.5", dead[name], f"count_dead_units({name})")
        if count != int(count) or not 0 <= count <= 64:
            fail("5.5", f"count_dead_units({name}) should be a count between 0 and 64")
    if dead["ReLU"] == 0:
        fail("5.5", "no dead ReLU units: train with SGD at lr 0.2 for a few hundred steps, then "
                    "count hidden units whose weight gradient is exactly zero on a fresh batch")
    if dead["LeakyReLU(0.2)"] != 0:
        fail("5.5", "LeakyReLU units never die (their slope is 0.2 below zero): count only the "
                    "units whose gradient is exactly zero, not merely small")


# --- chapter 6 -------------------------------------------------------------------------------
def _parameters(module: nn.Module) -> int:
    return sum(int(np.prod(p.shape)) for p in module.parameters())


@_check("6.1")
def check_6_1(answer: Any, D: nn.Module) -> None:
    total = _parameters(D)
    weights = sum(int(np.prod(p.shape)) for p in D.parameters() if len(p.shape) == 2)
    compare_number("6.1", answer, total, atol=0, mistakes={
        "counts the weights but not the biases (one per output unit of each layer)": weights})


@_check("6.2")
def check_6_2(answer: Any, dataloader: Any) -> None:
    per_epoch = len(dataloader)
    compare_numbers("6.2", answer, (per_epoch, 10_000 / per_epoch), ("steps_per_epoch", "epochs"),
                    atol=(0, 0.01), mistakes=[
        {"drops the last short batch: the loader keeps it": per_epoch - 1},
        {"divides by the number of full batches only": 10_000 / (per_epoch - 1)}])


@_check("6.3")
def check_6_3(answer: Any) -> None:
    half = 0.5
    compare_numbers("6.3", answer, (_bce(half, 1) + _bce(half, 0), _bce(half, 1), -_bce(half, 0)),
                    ("L_D", "L_G non-saturating", "L_G saturating"), atol=1e-6, mistakes=[
        {"is one of L_D's two terms: L_D adds the real and the fake term": _bce(half, 1)}, {}, {}])


# --- chapter 7 -------------------------------------------------------------------------------
@_check("7.1")
def check_7_1(answer: Any) -> None:
    from tinygan.data import toy
    from tinygan.metrics.mode_coverage import mode_coverage
    if isinstance(answer, str) or not hasattr(answer, "__len__") or len(answer) != 2:
        fail("7.1", "give ((ring modes, ring KL), (grid modes, grid KL))")
    for part, (name, modes, std) in zip(answer, (("ring", toy.ring_modes(), toy.RING_STD),
                                                 ("grid", toy.grid_modes(), toy.GRID_STD))):
        score = mode_coverage(np.repeat(modes[:1], 2500, axis=0), modes, std)
        compare_numbers("7.1", part, (score.modes_captured, score.reverse_kl),
                        (f"{name} modes", f"{name} KL"), atol=1e-6, mistakes=[
            {}, {"is the log of the number of modes captured, not of the modes there are": 0.0}])


@_check("7.2")
def check_7_2(answer: Any) -> None:
    from tinygan.metrics.mode_coverage import kl_to_uniform
    compare_number("7.2", answer, kl_to_uniform(np.array([1, 1, 1, 1, 0, 0, 0, 0])), atol=1e-6,
                   mistakes={"is the KL to a uniform over all 8 modes measured with log base 2? "
                             "use natural logarithms": 1.0})


@_check("7.3")
def check_7_3(answer: Any, play: Callable) -> None:
    n = as_number("7.3", answer)
    if n != int(n) or n < 1:
        fail("7.3", "give the step count as a positive integer")
    n = int(n)
    radii = np.hypot(*play(False, n).T)
    if radii[n] < 2:
        fail("7.3", "after your number of simultaneous steps the distance is still below "
                    "twice its start: play longer")
    if radii[n - 1] >= 2:
        fail("7.3", "the distance had already doubled one step earlier: find the first step")


# --- chapter 8 -------------------------------------------------------------------------------
@_check("8.1")
def check_8_1(answer: Any) -> None:
    from tinygan.gan.penalties import gradient_penalty
    g = tg.Generator(0)
    critic = nn.Linear(2, 1).double()
    critic.weight.data[:] = tg.tensor([[1.0, 1.0]], dtype=tg.float64)
    real = tg.randn(16, 2, generator=g, dtype=tg.float64)
    fake = tg.randn(16, 2, generator=g, dtype=tg.float64)
    penalty = gradient_penalty(critic, real, fake, g).item()
    norm = math.hypot(1.0, 1.0)
    compare_number("8.1", answer, penalty, atol=1e-5, mistakes={
        "is ||grad f|| - 1 before squaring": norm - 1,
        "uses the squared norm ||grad f||^2 where the penalty takes the norm": (norm ** 2 - 1) ** 2,
        "is the gradient's norm, not the penalty": norm})


@_check("8.2")
def check_8_2(answer: Any) -> None:
    a, b, p_g = 0.0, 1.0, 1.0
    p_data = 3 * p_g
    compare_number("8.2", answer, (b * p_data + a * p_g) / (p_data + p_g), atol=1e-9, mistakes={
        "swaps the codes: b (real) goes with p_data": (a * p_data + b * p_g) / (p_data + p_g)})


@_check("8.3")
def check_8_3(answer: Any) -> None:
    from tinygan.gan.losses import get_loss
    if isinstance(answer, str) or not hasattr(answer, "__len__") or len(answer) != 2:
        fail("8.3", 'give (loss, "real" or "fake")')
    real = tg.tensor([[2.5]], dtype=tg.float64, requires_grad=True)
    fake = tg.tensor([[-0.4]], dtype=tg.float64, requires_grad=True)
    loss = get_loss("hinge").d_loss(real, fake)
    loss.backward()
    compare_number("8.3", answer[0], loss.item(), atol=1e-6, what="the loss", mistakes={
        "takes 1 - D(x) for the real sample without the max(0, .): a real output beyond "
        "the margin (D(x) >= 1) adds 0": loss.item() + (1 - 2.5)})
    who = "real" if real.grad.item() != 0 else "fake"
    if not isinstance(answer[1], str) or answer[1].strip().lower() not in ("real", "fake"):
        fail("8.3", 'the second element must be "real" or "fake"')
    if answer[1].strip().lower() != who:
        fail("8.3", "the loss is right, but the sample that sends a gradient is the other one: "
                    "which term of the hinge is inside its margin?")


# --- chapter 9 -------------------------------------------------------------------------------
@_check("9.1")
def check_9_1(answer: Any, G: nn.Module) -> None:
    from tinygan.gan.models import mnist_mlp
    conditional, unconditional = G.net[0], mnist_mlp(z_dim=100)[0].net[0]
    total = _parameters(conditional)
    weights = int(np.prod(conditional.weight.shape))
    compare_numbers("9.1", answer, (total, total - _parameters(unconditional)),
                    ("parameters", "extra"), atol=0, mistakes=[
        {"counts the weights but not the biases": weights}, {}])


@_check("9.2")
def check_9_2(answer: Any) -> None:
    classes = 10
    on_class = classes / (classes + 1)     # p_data(x|y) = 10 p(x), p_g(x|y) = p(x)
    compare_numbers("9.2", answer, (on_class, 0.0), ("on_class_y", "on_other_classes"), atol=1e-9,
                    mistakes=[{"is D* when p_g(x | y) were class y's own images: G ignores y, so it "
                               "spreads over all ten classes": 0.5,
                               "compares p_data(x | y) with p_data(x | y) + 1": 1 / 11}, {}])


# --- chapter 10 ------------------------------------------------------------------------------
@_check("10.1")
def check_10_1(answer: Any) -> None:
    with tg.no_grad():
        conv = nn.Conv2d(1, 1, 4, 2, 1)(tg.zeros(1, 1, 28, 28)).shape[-1]
        transposed = nn.ConvTranspose2d(1, 1, 4, 2, 1)(tg.zeros(1, 1, 7, 7)).shape[-1]
    compare_numbers("10.1", answer, (conv, transposed), ("conv_size", "transposed_size"), atol=0,
                    mistakes=[{"forgets the padding": (28 - 4) // 2 + 1},
                              {"forgets the padding": (7 - 1) * 2 + 4}])


@_check("10.2")
def check_10_2(answer: Any) -> None:
    conv = nn.Conv2d(64, 128, kernel_size=4)
    conv_weights = int(np.prod(conv.weight.shape))
    dense = (64 * 14 * 14) * (128 * 7 * 7)       # every input to every output (too big to build)
    compare_numbers("10.2", answer, (conv_weights, dense), ("conv_weights", "linear_weights"),
                    atol=0, mistakes=[{"includes the biases; the question counts weights only":
                                       conv_weights + 128,
                                       "leaves out the input channels: each output channel has a "
                                       "4x4 kernel per input channel": 128 * 16}, {}])


# --- chapter 11 ------------------------------------------------------------------------------
@_check("11.1")
def check_11_1(answer: Any) -> None:
    sigma1, sigma2 = 1.0, math.sqrt(4.0)            # N(0, 4): variance 4
    compare_number("11.1", answer, (0.0 - 0.0) ** 2 + (sigma1 - sigma2) ** 2, atol=1e-9, mistakes={
        "uses the variance 4 as sigma: sigma is the standard deviation": (1.0 - 4.0) ** 2})


@_check("11.2")
def check_11_2(answer: Any) -> None:
    from tinygan.metrics.digits import classifier_score
    certain = np.eye(10)[np.repeat(np.arange(5), 20)]
    score = classifier_score(certain)
    compare_number("11.2", answer, score, atol=1e-6, mistakes={
        "is the mean KL; the score is its exponential": math.log(score),
        "counts all 10 digits; only 5 are produced": score * 2})


# --- chapter 12 ------------------------------------------------------------------------------
@_check("12.1")
def check_12_1(answer: Any) -> None:
    mu, sigma = 1.0, 1.0
    compare_number("12.1", answer, 0.5 * (mu ** 2 + sigma ** 2 - 1 - math.log(sigma ** 2)),
                   atol=1e-9, mistakes={"leaves out the factor 1/2": mu ** 2 + sigma ** 2 - 1})


@_check("12.2")
def check_12_2(answer: Any) -> None:
    h = np.array([0.3, 1.2, -0.5])
    moved = [int(np.argmax(h + 1e-4 * np.eye(3)[i])) - int(np.argmax(h)) for i in range(3)]
    derivative = sum(abs(m) for m in moved) / 1e-4          # how far the index moves per nudge
    if as_number("12.2", answer) != derivative:
        fail("12.2", "nudge each h_i a little and watch the emitted index: how much does it move "
                     "per unit of change in h?")


@_check("12.3")
def check_12_3(answer: Any, short_run: Callable) -> None:
    a, b = short_run(123), short_run(124)
    differ = sum(not np.array_equal(a[k], b[k]) for k in a)
    compare_number("12.3", answer, differ, atol=0, mistakes={
        "is the number that are equal; the question asks how many differ": len(a) - differ})


# --- chapter 13 ------------------------------------------------------------------------------
@_check("13.1")
def check_13_1(answer: Any, D: nn.Module, x: np.ndarray, measured: np.ndarray) -> None:
    from tinygan.lab import frames
    if answer is Ellipsis or not hasattr(answer, "__len__"):
        fail("13.1", "give an array of 64 ratios, one per sample")
    got = np.asarray(answer, dtype=float).reshape(-1)
    if got.shape != (len(x),):
        fail("13.1", f"give one ratio per sample: {len(x)} values, got {got.size}")
    logits = frames.discriminator_map(D, x, probability=False)
    if np.allclose(got, measured, rtol=1e-3):
        return
    if np.allclose(got, 1 / measured, rtol=1e-3):
        fail("13.1", "your ratios are non-saturating / saturating: the question asks the other "
                     "way round")
    if np.allclose(got, np.exp(-logits), rtol=1e-3):
        fail("13.1", "each ratio has the logit's sign flipped: write both gradients as functions "
                     "of the logit l and divide")
    wrong = int((~np.isclose(got, measured, rtol=1e-3)).sum())
    fail("13.1", f"{wrong} of {len(x)} predictions disagree with the arrows' measured lengths: "
                 "both losses' gradients with respect to the logit are sigmoids of +l or -l")


@_check("13.2")
def check_13_2(answer: Any, D: nn.Module, extent: tuple) -> None:
    from tinygan.lab import frames
    point = np.asarray(compare_pair_shape("13.2", answer, "(x, y)"))
    _, _, grid = frames.plane_grid(extent, 64)
    heat = frames.discriminator_map(D, grid)
    if np.allclose(point, grid[np.argmax(heat)], atol=1e-6):
        return
    on_grid = np.abs(grid - point).max(axis=1).min() < 1e-6
    if not on_grid:
        fail("13.2", "your point is not one of plane_grid(extent, 64)'s points")
    if np.allclose(point, grid[np.argmin(heat)], atol=1e-6):
        fail("13.2", "that is where D is most sure a point is fake: look for the largest D(x)")
    fail("13.2", "D is higher somewhere else on the grid: take the argmax over all its points")


@_check("13.3")
def check_13_3(answer: Any) -> None:
    from tinygan.lab import log_spaced_steps
    frames = log_spaced_steps(0, 20000, 40)
    compare_number("13.3", answer, sum(s <= 200 for s in frames), atol=0, mistakes={
        "leaves out step 200 itself: count steps 0 to 200 inclusive":
            sum(s < 200 for s in frames),
        "is 1% of the frames; the frames are log-spaced, not evenly spaced": 0.4})


# --- chapter 14 ------------------------------------------------------------------------------
@_check("14.1")
def check_14_1(answer: Any) -> None:
    if not callable(answer):
        fail("14.1", "answer_14_1 must be your function top_singular_value, once it works")
    W = np.random.default_rng(0).normal(size=(7, 5))
    try:
        got = answer(W, 200)
    except Exception as err:
        fail("14.1", f"top_singular_value(W, 200) raised {type(err).__name__}: {err}")
    if got is None:
        fail("14.1", "top_singular_value returned None: return u^T W v")
    sigma = np.linalg.svd(W, compute_uv=False)
    compare_number("14.1", got, float(sigma[0]), atol=1e-6, what="top_singular_value(W, 200)", mistakes={
        "is the smallest singular value, not the largest": float(sigma[-1]),
        "is the largest squared singular value (an eigenvalue of W^T W): return u^T W v":
            float(sigma[0] ** 2),
        "is the Frobenius norm, not the spectral norm": float(np.linalg.norm(W))})


@_check("14.2")
def check_14_2(answer: Any) -> None:
    from tinygan.gan import dirac, losses, penalties
    if answer is Ellipsis or not hasattr(answer, "__len__") or len(answer) != 2:
        fail("14.2", "give the Jacobian's 2 eigenvalues, e.g. np.linalg.eigvals(J)")
    got = np.sort_complex(np.asarray(answer, dtype=complex))
    loss = losses.MinimaxLoss()
    with_r1 = np.sort_complex(np.linalg.eigvals(dirac.jacobian(loss, penalty=penalties.R1Penalty(1.0))))
    if np.allclose(got, with_r1, atol=1e-6):
        return
    without = np.sort_complex(np.linalg.eigvals(dirac.jacobian(loss)))
    if np.allclose(got, without, atol=1e-6):
        fail("14.2", "those are the eigenvalues without R1: pass penalty=penalties.R1Penalty(1.0)")
    fail("14.2", "the eigenvalues are not those of dirac.jacobian with R1 at gamma 1 at the "
                 "equilibrium (theta = psi = 0)")


@_check("14.3")
def check_14_3(answer: Any) -> None:
    from tinygan.gan.ema import EMA
    G = nn.Linear(1, 1, bias=False).double()
    with tg.no_grad():
        G.weight.fill_(0.0)
    ema = EMA(G, decay=0.9)
    with tg.no_grad():
        G.weight.fill_(1.0)
    for _ in range(10):
        ema.update(G)
    average = ema.module.weight.item()
    compare_number("14.3", answer, average, atol=1e-9, mistakes={
        "is the weight the starting value 0 still carries, not the average": 1 - average})
