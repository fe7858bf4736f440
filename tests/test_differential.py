"""Whole programs against PyTorch: the differential tester (tests/differential/) in CI.

A fixed budget of generated programs (seeds 0..BUDGET-1, the same every run) runs in tinygan
and in PyTorch. Every failure is named by its cause (tests/differential/causes.py). The test
fails when
  - a failure's cause is not in KNOWN_FAILURES: a new kind of difference (the message gives
    its shrunk program as a tinygan snippet next to the PyTorch one), or
  - a cause in KNOWN_FAILURES no longer occurs in the budget: it was fixed, so delete it from
    the list, which makes its return a failure.
A change to the generator draws other programs: then list what they find with
``python -m tests.differential --n 800 --causes`` (and look at every cause that is new).
Long runs: ``python -m tests.differential --n 20000``.
The tester itself is tested too: it imports without PyTorch, its programs are reproducible,
and it catches (and shrinks) a bug planted in tinygan.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_TORCH = False

needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed: the "
                                                       "differential tester compares with it")
# PyTorch runs on the CPU here; under TINYGAN_BACKEND=cupy/standin tinygan's tensors would live
# on "cuda" and every comparison would be between devices: the comparisons are cpu_only.
ROOT = Path(__file__).resolve().parents[1]
BUDGET = 800

# Each cause that programs 0..BUDGET-1 find today: none. A cause that comes back (or a new
# one) fails the test; if one must be tolerated for a while, list it here with a reason.
KNOWN_FAILURES: set[str] = set()


# Names the programs do not draw, each for a reason: devices, seeds, files, optimizers and
# the gradient checkers are not values a program computes (README of tests/differential);
# tinygan's own names have no PyTorch twin to run the same text against.
NOT_DRAWN = {
    "tinygan": {"bool_", "device", "Generator", "manual_seed", "default_generator", "use",
                "backend", "optim", "cuda", "backends", "accelerator", "utils", "save", "load",
                "gradcheck", "gradgradcheck", "GradcheckError", "initial_seed",
                "multiprocessing"},
    "nn.functional": {"broadcast_to", "concatenate", "div_rounded", "index_put", "log_sigmoid",
                      "sum_to", "take_along_dim", "to_device"},
    "nn": {"DataParallel", "Maxout"},
    "Tensor": {"cuda", "device", "is_cpu", "is_cuda", "is_ipu", "is_maia", "is_meta",
               "is_mkldnn", "is_mps", "is_mtia", "is_nested", "is_quantized", "is_shared",
               "is_sparse", "is_sparse_csr", "is_vulkan", "is_xla", "is_xpu", "normal_",
               "share_memory_", "uniform_"},
}


def test_the_programs_reach_every_name_tinygan_claims():
    """Every name in tinygan.__all__, nn.functional, the nn layers and the Tensor methods is
    written somewhere in the generator, or listed in NOT_DRAWN with the reason above: a name
    added to tinygan without a way for the programs to reach it fails here."""
    import re

    import tinygan
    import tinygan.nn as nn
    import tinygan.nn.functional as functional
    source = (ROOT / "tests" / "differential" / "generate.py").read_text()
    claimed = {
        "tinygan": set(tinygan.__all__),
        "nn.functional": {n for n in dir(functional) if not n.startswith("_")
                          and callable(getattr(functional, n))},
        "nn": {n for n in dir(nn) if not n.startswith("_") and isinstance(getattr(nn, n), type)},
        "Tensor": {n for n in dir(tinygan.Tensor) if not n.startswith("_")},
    }
    for where, names in claimed.items():
        unreached = sorted(n for n in names - NOT_DRAWN[where]
                           if not re.search(rf"\b{re.escape(n)}\b", source))
        assert not unreached, f"{where}: the generator never writes {unreached}"
        stale = sorted(NOT_DRAWN[where] - names)
        assert not stale, f"NOT_DRAWN lists names {where} no longer has: {stale}"


def test_the_tester_imports_without_torch():
    """Collection must never break without PyTorch: the package imports torch lazily."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "import tests.differential.campaign, tests.differential.causes\n"
            "import tests.differential.generate, tests.differential.shrink\n"
            "import tests.differential.__main__\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.cpu_only
@needs_torch
def test_programs_are_reproducible():
    from tests.differential.generate import generate
    assert generate(123).code() == generate(123).code()
    assert generate(123).code() != generate(124).code()


@pytest.mark.cpu_only
@needs_torch
def test_a_planted_silent_difference_is_found_and_shrunk(monkeypatch):
    """exp made slightly wrong in tinygan: the tester must report silent differences and
    shrink one to a program of at most three steps that still shows it."""
    import numpy as np
    from tinygan.engine import functional
    from tinygan.engine.tensor import Tensor
    from tests.differential.execute import run
    from tests.differential.generate import generate
    from tests.differential.program import InputSpec, Program, Step
    from tests.differential.shrink import shrink

    program = Program([Step.input("v1", InputSpec(np.array([[0.5, -1.0], [2.0, 0.25]]),
                                                  "float32", True)),
                       Step.input("v2", InputSpec(np.array([1.0, 2.0]), "float32")),
                       Step("v3 = v1 * v2", "binary:*", ("v3",), ("v1", "v2")),
                       Step("v4 = v3.exp()", "method:exp", ("v4",), ("v3",)),
                       Step("v5 = v4.sum(dim=0)", "reduce:sum:dim", ("v5",), ("v4",)),
                       Step("loss = v5.sum()", "loss", ("loss",), ("v5",)),
                       Step("loss.backward()", "backward", (), ("loss",))], seed=-1)
    assert run(program).kind == "agree"
    true_exp = functional.exp      # Tensor.exp is bound to it once (engine/methods.py)
    monkeypatch.setattr(Tensor, "exp", lambda x: true_exp(x) * 1.001)
    outcome = run(program)
    assert (outcome.kind, outcome.tag, outcome.field) == ("silent", "method:exp", "values")
    small, again = shrink(program, outcome)
    assert again.signature() == outcome.signature() and len(small.steps) <= 3
    assert "exp()" in small.render("tinygan") and "import torch" in small.render("torch")
    # and in random programs, where exp is drawn as a method or as a function (planted in
    # both: the function form calls functional.exp)
    monkeypatch.setattr(functional, "exp", lambda x: true_exp(x) * 1.001)
    found = [run(generate(seed)) for seed in range(60)]
    assert any(o.kind == "silent" and "exp" in o.tag for o in found)


@pytest.mark.cpu_only
@needs_torch
def test_a_planted_missing_error_is_found(monkeypatch):
    """tinygan made to accept what PyTorch rejects: reported as torch_raise."""
    import numpy as np
    from tests.differential.execute import run
    from tests.differential.program import InputSpec, Program, Step
    program = Program([Step.input("v1", InputSpec(np.array([1.0, 2.0]), "float32")),
                       Step("v2 = v1.view(3)", "view", ("v2",), ("v1",))])
    assert run(program).kind == "both_raise"
    from tinygan.engine.tensor import Tensor
    monkeypatch.setattr(Tensor, "view", lambda self, *shape: self)
    assert run(program).kind == "torch_raise"


@pytest.mark.cpu_only
@needs_torch
def test_whole_programs_agree_with_pytorch_except_known_causes():
    from tests.differential.campaign import campaign, example
    from tests.differential.causes import describe
    results = campaign(range(BUDGET))
    seen: dict[str, list] = {}
    for seed, program, outcome, cause in results:
        if cause and outcome.kind not in ("rounding", "torch_wrong", "ill_conditioned"):
            seen.setdefault(cause, []).append((program, outcome))
    new = sorted(set(seen) - set(KNOWN_FAILURES))
    fixed = sorted(set(KNOWN_FAILURES) - set(seen))
    message = []
    for cause in new:
        program, outcome = seen[cause][0]
        rule = describe(cause)
        message.append(f"NEW cause {cause} ({len(seen[cause])} programs)"
                       f"{': ' + rule.summary if rule else ''}\n{example(program, outcome)}")
    for cause in fixed:
        message.append(f"{cause} no longer occurs in programs 0..{BUDGET - 1}: if it is "
                       f"fixed, delete it from KNOWN_FAILURES (so that its return fails)")
    assert not message, "\n\n".join(message)


WIDE_BUDGET = 300


@pytest.mark.cpu_only
@needs_torch
def test_programs_with_wide_inputs_agree_with_pytorch(monkeypatch):
    """The same generator with its "wide" inputs (generate.Variant: unrounded values scaled
    by 1e-3 to 100, special values twice as often, longer dims), a budget of its own: no
    silent difference and no missing error. (Found by it and fixed: nothing yet; a float32
    LSTM with saturated gates and a logsigmoid underflowing to a subnormal, in a 3,000-program
    run, are left: LONG_RUNS.md.)"""
    from tests.differential import generate
    from tests.differential.campaign import campaign, example
    monkeypatch.setattr(generate, "variant", generate.VARIANTS["wide"])
    bad = [(program, outcome) for _, program, outcome, _ in campaign(range(WIDE_BUDGET))
           if outcome.kind in ("silent", "torch_raise")]
    assert not bad, example(*bad[0])


# names the argument generator (tests/differential/arguments.py) may find differing, each a
# deliberate refusal: Tensor.stride() (tinygan does not report a size-1 dim's stride, which
# can differ from PyTorch's; it raises and says what to use instead)
DELIBERATE_CALLS = {"Tensor.stride"}
# and the deliberate refusals that any name may meet, by what tinygan says: inplace= that
# is not True or False (nn.ReLU(0.2) is a mistake for nn.LeakyReLU(0.2), which PyTorch
# would take as inplace=True), and a tensor that requires grad written into an int one
DELIBERATE_REFUSALS = ("inplace must be True or False", "that requires grad into a")
CALL_BUDGET = 10000
WRONG_KIND_BUDGET = 4000


def _deliberate(call, difference: str) -> bool:
    return call.name in DELIBERATE_CALLS or (difference.startswith("tinygan raises") and any(
        reason in difference for reason in DELIBERATE_REFUSALS))


def _assert_drawn_calls_agree(budget: int) -> None:
    """Calls 0..budget-1 of the argument generator: none differs but a deliberate refusal."""
    import numpy as np
    from tests.differential.arguments import _names, compare, draw_call
    names = _names()
    found = {}
    for seed in range(budget):
        call = draw_call(np.random.default_rng(seed), names)
        difference = compare(call)
        if difference and not _deliberate(call, difference):
            found.setdefault(call.name, (seed, call.text(), difference))
    assert not found, "\n".join(f"{name} (seed {seed}): {text}\n    {diff}"
                                 for name, (seed, text, diff) in sorted(found.items()))


@pytest.mark.cpu_only
@needs_torch
def test_calls_with_drawn_arguments_agree_with_pytorch():
    """The second generator: every public name called with arguments drawn from its
    signature (dims out of range, tuples of dims, keepdim without dim, numbers where
    tensors go and tensors where numbers go, keywords and positions, empty tensors, every
    dtype). tinygan answers where PyTorch answers (type, dtype, shape, values,
    requires_grad, gradient) and raises where it raises. Found, and fixed, in the twelfth
    session: about 40 names, among them clamp with a low bound above the high one, var's
    correction as a uint8 tensor, pow's gradient with a float32 exponent of a float64
    base, sum(keepdim=True) without a dim, cat of a tensor, softmax() without a dim."""
    _assert_drawn_calls_agree(CALL_BUDGET)


@pytest.mark.cpu_only
@needs_torch
def test_calls_with_arguments_of_other_kinds_agree_with_pytorch(monkeypatch):
    """The second generator with half of the arguments of a kind their parameter does not
    name (None, a string, a 0-d or one-element tensor, a float, an int, a bool, a list):
    tinygan takes what PyTorch's parser takes (dim=torch.tensor(1), dtype=float) and
    refuses what it refuses (keepdim=1, dtype='float64', other=[1.0]). Found in the
    thirteenth session: 274 differences in the first 20,000 calls at a tenth of them."""
    from tests.differential import arguments
    monkeypatch.setattr(arguments, "WRONG_KIND", 0.5)
    _assert_drawn_calls_agree(WRONG_KIND_BUDGET)


@pytest.mark.cpu_only
@needs_torch
def test_float32_rounding_is_told_from_a_wrong_value_by_a_float64_run():
    """A float32 value that differs beyond the tolerance is "rounding" only where tinygan's
    largest error against the program run in float64 is at most twice PyTorch's own."""
    import numpy as np
    import tinygan
    from tests.differential.execute import _rounding
    from tests.differential.program import InputSpec, Program, Step
    program = Program([Step.input("v1", InputSpec(np.array([1000.01, 1000.0]), "float32")),
                       Step("v2 = v1[0:1] - v1[1:2]", "binary:-", ("v2",), ("v1",))], seed=-1)
    theirs = {"v2": torch.tensor([1000.01], dtype=torch.float32) - 1000.0}
    exact = 1000.01 - 1000.0   # what the float64 run gives
    their_error = float(theirs["v2"][0]) - exact
    assert their_error > 1e-4 * exact   # float32 cannot hold 1000.01: the error is rounding
    near = {"v2": tinygan.tensor([exact - 1.5 * their_error], dtype=tinygan.float32)}
    far = {"v2": tinygan.tensor([exact - 5 * their_error], dtype=tinygan.float32)}
    assert "float64 answer" in _rounding(program, 1, "v2", near, theirs, False)
    assert _rounding(program, 1, "v2", far, theirs, False) == ""


@pytest.mark.cpu_only
@needs_torch
def test_float16_rounding_is_judged_by_the_float64_run_with_casts_still_copying():
    """float16 values are judged like float32 ones; in the float64 run a cast that copied
    (float32 to float16) still copies, so an in-place write on its result leaves the source
    alone (made float64, .to() would hand back the source itself)."""
    import numpy as np
    import tinygan
    from tests.differential.execute import _float64_reference, _rounding
    from tests.differential.program import InputSpec, Program, Step
    program = Program([Step.input("v1", InputSpec(np.array([0.1, 1000.3]), "float32")),
                       Step("v2 = v1.half()", "cast", ("v2",), ("v1",)),
                       Step("v2.sub_(1000.0)", "inplace:sub_", (), ("v2",)),
                       Step("v3 = v1 - 0.0", "binary:-", ("v3",), ("v1",))], seed=-1)
    assert _float64_reference(program, 3, "v3").tolist() == [0.1, 1000.3]
    # float16 holds 1000.3 as 1000.5: PyTorch's v2 is [-1000, 0.5], the float64 run's
    # [-999.9, 0.3]; a value 0.1 off is rounding, one 3.2 off (past the
    # tolerance for the tensor's largest value too) is not
    theirs = {"v2": torch.tensor([0.1, 1000.3]).half() - 1000.0}
    assert theirs["v2"].tolist() == [-1000.0, 0.5]
    near = {"v2": tinygan.tensor([-1000.0, 0.4], dtype=tinygan.float16)}
    far = {"v2": tinygan.tensor([-1000.0, 3.5], dtype=tinygan.float16)}
    assert "float64 answer" in _rounding(program, 2, "v2", near, theirs, False)
    assert _rounding(program, 2, "v2", far, theirs, False) == ""


@pytest.mark.cpu_only
@needs_torch
def test_float32_overflow_in_both_is_not_a_difference_but_an_overflow_in_tinygan_alone_is():
    """Where the float64 run is finite and PyTorch's float32 overflowed (inf or NaN), an
    inf or NaN in tinygan is the same overflow, whichever the order of its operations left
    (long run 5060194: -inf against NaN); a finite value of tinygan's there is judged with
    the rest, and tinygan overflowing where PyTorch did not is a difference."""
    import numpy as np
    import tinygan
    from tests.differential.execute import _rounding
    from tests.differential.program import InputSpec, Program, Step
    program = Program([Step.input("v1", InputSpec(np.array([1e30, 2.0]), "float32")),
                       Step("v2 = v1 * v1 - v1 * v1 + v1", "binary:+", ("v2",), ("v1",))],
                      seed=-1)
    theirs = {"v2": torch.tensor([float("nan"), 2.0])}   # inf - inf in float32
    for ours in ([float("inf"), 2.0], [float("-inf"), 2.0], [1e30, 2.0]):
        assert "float64 answer" in _rounding(
            program, 1, "v2", {"v2": tinygan.tensor(ours)}, theirs, False), ours
    assert _rounding(program, 1, "v2", {"v2": tinygan.tensor([3e37, 2.0])}, theirs,
                     False) == ""                         # finite, and far from 1e30
    theirs_finite = {"v2": torch.tensor([1e30, 2.0])}
    assert _rounding(program, 1, "v2", {"v2": tinygan.tensor([float("nan"), 2.0])},
                     theirs_finite, False) == ""


@pytest.mark.cpu_only
@needs_torch
def test_an_ill_conditioned_value_is_told_from_a_wrong_one_by_moving_the_inputs(monkeypatch):
    """float64: 1e15 * 1e15 - 1e30 keeps only the rounding of the product, so the inputs'
    last bits move it by about 1e14, and a value that far from PyTorch's is noise, not a
    difference (long runs 5020722, 5055715: +-1e30 cancelling in a matrix product or a
    variance). A well-conditioned float64 value off by 1e-8 (float64 work done in float32)
    stays a silent difference: moving the inputs moves it by about 1e-16."""
    import numpy as np
    import tinygan
    from tinygan.engine import functional
    from tinygan.engine.tensor import Tensor
    from tests.differential.execute import _input_noise, run
    from tests.differential.program import InputSpec, Program, Step
    program = Program([Step.input("v1", InputSpec(np.array([1e15 + 3, 1e15 - 1, 1e30]),
                                                  "float64")),
                       Step("v2 = v1[0:1] * v1[1:2] - v1[2:3]", "binary:-", ("v2",),
                            ("v1",))], seed=-1)
    theirs = {"v2": torch.tensor([1e15 + 3, 1e15 - 1, 1e30], dtype=torch.float64)}
    theirs["v2"] = theirs["v2"][0:1] * theirs["v2"][1:2] - theirs["v2"][2:3]
    mine = float(theirs["v2"][0])
    near = {"v2": tinygan.tensor([mine + 2.0 ** 48], dtype=tinygan.float64)}
    far = {"v2": tinygan.tensor([mine + 1e17], dtype=tinygan.float64)}
    assert "last place" in _input_noise(program, 1, "v2", near, theirs, False)
    assert _input_noise(program, 1, "v2", far, theirs, False) == ""

    steady = Program([Step.input("v1", InputSpec(np.array([0.3, 1.7]), "float64", True)),
                      Step("v2 = v1.exp()", "method:exp", ("v2",), ("v1",))], seed=-1)
    assert run(steady).kind == "agree"
    true_exp = functional.exp
    monkeypatch.setattr(Tensor, "exp", lambda x: true_exp(x) * (1 + 1e-8))
    assert run(steady).kind == "silent"


@pytest.mark.cpu_only
@needs_torch
def test_an_op_that_magnifies_its_inputs_rounding_is_judged_on_equal_inputs(monkeypatch):
    """A step whose inputs agreed within the tolerance but whose result does not (the log
    of a value that rounds to 0 in PyTorch and to 2e-8 in tinygan, long run 5112025) is
    run by PyTorch on tinygan's inputs: giving tinygan's value, the difference is the
    inputs' rounding magnified ("ill_conditioned"). A wrong op stays a silent difference."""
    import numpy as np
    import tinygan
    from tinygan.engine import functional
    from tinygan.engine.tensor import Tensor
    from tests.differential.execute import run
    from tests.differential.program import InputSpec, Program, Step
    program = Program([Step.input("v1", InputSpec(np.array([0.25, 2.0]), "float32")),
                       Step("v2 = v1 - 0.25", "binary:-", ("v2",), ("v1",)),
                       Step("v3 = v2.log()", "method:log", ("v3",), ("v2",))], seed=-1)
    assert run(program).kind == "agree"   # log(0) = -inf in both
    true_sub, true_log = functional.sub, functional.log
    # tinygan's v2 made 2e-8 where PyTorch's is 0: within the tolerance, so v2 agrees ...
    monkeypatch.setattr(Tensor, "__sub__", lambda a, b: true_sub(a, b) + tinygan.tensor(
        [2e-8, 0.0]))
    outcome = run(program)
    assert (outcome.kind, outcome.step) == ("ill_conditioned", 2), outcome   # ... v3 not
    assert "tinygan's values of the step's inputs" in outcome.detail
    monkeypatch.setattr(Tensor, "__sub__", lambda a, b: true_sub(a, b))
    monkeypatch.setattr(Tensor, "log", lambda x: true_log(x) * 1.001)   # a wrong log
    outcome = run(program)
    assert (outcome.kind, outcome.step) == ("silent", 2), outcome


@pytest.mark.cpu_only
@needs_torch
def test_rounding_of_a_tuple_element_is_measured_against_the_whole_tuple():
    """An element of a tuple one call made (gs[k]) that is 0 in exact arithmetic carries its
    siblings' rounding: it is judged by PyTorch's largest error over the tuple."""
    import numpy as np
    import tinygan
    from tests.differential.execute import _rounding
    from tests.differential.program import InputSpec, Program, Step
    program = Program([Step.input("v1", InputSpec(np.array([1000.01, 1000.0]), "float32")),
                       Step.input("v2", InputSpec(np.array([0.5]), "float32")),
                       Step("v3 = (v1[0:1] - v1[1:2], v2 * 0.0)", "tuple", ("v3",),
                            ("v1", "v2"))], seed=-1)
    theirs = {"v3": (torch.tensor([1000.01]) - 1000.0, torch.tensor([0.0]))}
    sibling_error = abs(float(theirs["v3"][0][0]) - (1000.01 - 1000.0))
    assert sibling_error > 5e-6   # float32 holds 1000.01 only to 1e-5
    near = {"v3": (tinygan.tensor([0.01]), tinygan.tensor([1.5 * sibling_error]))}
    far = {"v3": (tinygan.tensor([0.01]), tinygan.tensor([5 * sibling_error]))}
    assert "gradients of that call" in _rounding(program, 2, "v3[1]", near, theirs, False)
    assert _rounding(program, 2, "v3[1]", far, theirs, False) == ""


@pytest.mark.cpu_only
@needs_torch
def test_a_gradient_that_depends_on_pytorchs_layout_is_told_by_contiguous_gradients():
    """PyTorch 2.13's BatchNorm backward misreads a permuted gradient (bias.grad should be
    the per-channel sum 2 * w); with every gradient made contiguous by a hook PyTorch gives
    tinygan's value: "torch_wrong", even with an inf in the loss, where finite differences
    cannot judge. A value that no layout gives stays silent."""
    import numpy as np
    import tinygan
    from tests.differential.execute import _contiguous_gradients
    from tests.differential.program import InputSpec, Program, Step
    x = np.array([[[[-1.29, 1.63]], [[2.96, 1.69]], [[-1.51, -0.86]], [[-1.63, -0.02]]]])
    program = Program([
        Step.input("v1", InputSpec(x, "float64", True)),
        Step("m2 = nn.BatchNorm2d(4, dtype=L.float64)\nv2 = m2(v1)", "nn.BatchNorm2d",
             ("m2", "v2"), ("v1",)),
        Step.input("v3", InputSpec(np.array([2.05, -0.52, -0.21, -1.89]), "float64")),
        Step("loss = (v2.permute(3, 0, 2, 1) * v3).sum() + float('inf')", "loss",
             ("loss",), ("v2", "v3")),
        Step("loss.backward()", "backward", (), ("loss",))], seed=-1)
    bn = tinygan.nn.BatchNorm2d(4, dtype=tinygan.float64)
    bn.bias.grad = tinygan.tensor(2 * np.array([2.05, -0.52, -0.21, -1.89]))
    assert "contiguous" in _contiguous_gradients(program, 4, "m2.bias.grad", {"m2": bn},
                                                 False)
    bn.bias.grad = tinygan.tensor([1.0, 2.0, 3.0, 4.0], dtype=tinygan.float64)
    assert _contiguous_gradients(program, 4, "m2.bias.grad", {"m2": bn}, False) == ""


@needs_torch
def test_the_layout_judge_passes_over_a_view_pytorch_refuses_to_read():
    """A view made under no_grad and then written in place cannot be asked for its grad_fn
    in PyTorch (it raises); the judge that hooks every tensor of the program skipped none
    and stopped the whole run (the 4,720,000 run, at program 4731391). Such a view is
    passed over now."""
    import numpy as np
    import tinygan
    from tests.differential.execute import _contiguous_gradients
    from tests.differential.program import InputSpec, Program, Step
    program = Program([
        Step.input("v1", InputSpec(np.array([[1.5, -2.0], [0.5, 3.0]]), "float32", True)),
        Step("v2 = v1 * 2", "binary:*", ("v2",), ("v1",)),
        Step("with L.no_grad():\n    v3 = v2[0:1]\n    v3.mul_(2)", "inplace:mul_:view",
             ("v3",), ("v2",)),
        Step("loss = v1.exp().sum()", "loss", ("loss",), ("v1",)),
        Step("loss.backward()", "backward", (), ("loss",))], seed=-1)
    wrong = tinygan.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    wrong.grad = tinygan.tensor([[9.0, 9.0], [9.0, 9.0]])
    assert _contiguous_gradients(program, 4, "v1.grad", {"v1": wrong}, False) == ""


@pytest.mark.cpu_only
@needs_torch
def test_a_wrong_pytorch_gradient_is_told_by_finite_differences():
    """A gradient where finite differences of the program's loss give tinygan's value and
    not PyTorch's is "torch_wrong"; the other way round, or with a detach on the way
    (finite differences see through it, autograd does not), it is not."""
    import numpy as np
    import tinygan
    from tests.differential.execute import _torch_wrong
    from tests.differential.program import InputSpec, Program, Step

    def program(middle: str) -> Program:
        return Program([Step.input("v1", InputSpec(np.array([0.5, -1.0]), "float64", True)),
                        Step(f"loss = ({middle} * v1).sum()", "loss", ("loss",), ("v1",)),
                        Step("loss.backward()", "backward", (), ("loss",))], seed=-1)
    right, wrong = [1.0, -2.0], [1.0, 5.0]

    def spaces(ours: list, theirs: list) -> tuple[dict, dict]:
        a = tinygan.tensor([0.5, -1.0], dtype=tinygan.float64, requires_grad=True)
        b = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
        a.grad = tinygan.tensor(ours, dtype=tinygan.float64)
        b.grad = torch.tensor(theirs, dtype=torch.float64)
        return {"v1": a}, {"v1": b}
    assert "finite differences" in _torch_wrong(program("v1"), 2, "v1.grad",
                                                *spaces(right, wrong))
    assert _torch_wrong(program("v1"), 2, "v1.grad", *spaces(wrong, right)) == ""
    assert _torch_wrong(program("v1.detach()"), 2, "v1.grad", *spaces(right, wrong)) == ""
    # a float64 gradient far below float32's tolerance is judged by the finite differences'
    # own measured noise (v1 ** 3 / 3e6: the gradient is v1 ** 2 / 1e6, tinygan's exact)
    cubic = Program([Step.input("v1", InputSpec(np.array([0.5, -1.0]), "float64", True)),
                     Step("loss = (v1 ** 3 / 3e6).sum()", "loss", ("loss",), ("v1",)),
                     Step("loss.backward()", "backward", (), ("loss",))], seed=-1)
    exact, off = [2.5e-7, 1e-6], [2.6e-7, 1e-6]   # 4% off, as PyTorch's BatchNorm in 4569571
    assert "finite differences" in _torch_wrong(cubic, 2, "v1.grad", *spaces(exact, off))
    assert _torch_wrong(cubic, 2, "v1.grad", *spaces(off, exact)) == ""
