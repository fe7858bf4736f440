"""Naming the cause of a failure, by mechanism rather than by program.

``classify(program, outcome)`` gives a failure's cause: the first rule of ``CAUSES`` that
matches it, or for the two mechanical kinds a name built from the message:

  missing-name:<where>.<name>         tinygan has no such function, method or class
  missing-argument:<function>(<arg>)  tinygan's function does not take PyTorch's argument

A failure no rule matches is ``unnamed:<kind>:<tag>:<field>``: a new kind of difference,
which the CI test (tests/test_differential.py) refuses until it is fixed or named here.
Rules look at the outcome (kind, the failing step's tag and code, what differed, the
messages) and, for gradients, at the program's earlier steps.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from tests.differential.execute import Outcome
from tests.differential.program import Program


@dataclass(frozen=True)
class Failure:
    """What a rule sees."""
    kind: str
    tag: str
    field: str
    detail: str
    code: str          # the failing step's code ('' when none)
    earlier: tuple     # the tags of the steps before it
    operands: tuple    # (shape, dtype) of the tensors the failing step reads
    earlier_code: str = ""   # the code of the steps before it

    def zero_d(self) -> bool:
        """Whether the failing step reads a 0-d tensor."""
        return any(shape == () for shape, _ in self.operands)

    def empty(self) -> bool:
        """Whether the failing step reads an empty tensor."""
        return any(0 in shape for shape, _ in self.operands)

    def int_or_bool(self) -> bool:
        """Whether the failing step reads an integer or bool tensor."""
        return any(not dtype.startswith(("float", "complex")) for _, dtype in self.operands)

    def has(self, *words: str) -> bool:
        return any(w in self.detail for w in words)

    def earlier_has(self, prefix: str) -> bool:
        return any(t.startswith(prefix) for t in self.earlier)


@dataclass(frozen=True)
class Cause:
    name: str
    summary: str       # the mechanism, tinygan vs PyTorch, in one line
    in_issue: bool     # named in issue 29's list
    match: Callable[[Failure], bool]


def _silent(f: Failure, field: str, *tags: str) -> bool:
    return f.kind == "silent" and f.field == field and (
        not tags or any(f.tag.startswith(t) for t in tags))


_UNARY_FLOAT = ("L.exp", "L.log", "L.sqrt", "L.sigmoid", "L.tanh", "method:exp", "method:log",
                "method:sqrt", "method:sigmoid", "method:tanh", "F.sigmoid", "F.tanh",
                "F.softplus", "F.logsigmoid", "clamp", "grad_mode")
_PADDED_CONV = re.compile(r"(?:F\.conv\w*|nn\.Conv\w*)\([^\n]*(?:padding=(?!0\b|\(0, 0\))|"
                          r"stride=(?!1\b|\(1, 1\)))")
_NAN_AGAINST_NUMBER = re.compile(r"\(nan\) vs np\.float\d+\((?!nan)|"
                                 r"\((?!nan)[^)]*\) vs np\.float\d+\(nan\)")
_INPLACE = ("inplace:", "setitem", "F.relu", "F.leaky_relu", "nn.ReLU", "nn.LeakyReLU", ".relu_")
_ZERO_D = ("integer modulo by zero", "0-dimensional", "list index out of range",
           "float division by zero", "AxisError", "out of bounds for array of dimension 0")

CAUSES: list[Cause] = [
    Cause("float32-rounding",
          "a float32 (or float16) value beyond the tolerance where tinygan's is no farther "
          "from the float64 answer than PyTorch's own (cancellation: second derivatives, "
          "values that are 0 in exact arithmetic); not a difference in what is computed",
          False, lambda f: f.kind == "rounding"),
    Cause("pytorch-wrong-gradient",
          "PyTorch's derivative differs from central finite differences, in float64, of "
          "the program's own loss (or squared gradient norm), which give tinygan's value: "
          "its CPU BatchNorm/InstanceNorm backward on transposed strides, InstanceNorm's "
          "second derivative with respect to its weight; tinygan does not copy them",
          False, lambda f: f.kind == "torch_wrong"),
    Cause("ill-conditioned",
          "a value whose rounding the inputs' last bits decide: PyTorch's own moves as far "
          "when every float input and parameter moves by a few units in its last place "
          "(+-1e30 cancelling in a float64 sum, a division by a value that rounds near 0, "
          "the second derivative of a normalised constant); not a difference in what is "
          "computed",
          False, lambda f: f.kind == "ill_conditioned"),
    # ---- silent differences --------------------------------------------------------------
    Cause("cast-keeps-graph",
          "a cast to an integer or bool dtype (.long(), .int(), .bool(), .to/.type/.type_as, "
          "copy_ into an int tensor) keeps requires_grad=True; PyTorch's result leaves the graph",
          True, lambda f: _silent(f, "requires_grad", "cast:", "dtype-name:", "inplace:copy_",
                                  "setitem")
          and f.detail.startswith("True vs False")),
    Cause("inplace-activation-not-in-place",
          "inplace=True activations (F.relu/F.leaky_relu(inplace=True), nn.ReLU(True), "
          "nn.LeakyReLU(s, True)) leave their input unchanged",
          True, lambda f: f.kind == "silent" and f.field == "values" and any(
              f.tag.startswith(t) for t in ("F.relu", "F.leaky_relu", "nn.ReLU",
                                            "nn.LeakyReLU")) and "inplace=True" in f.code
          or f.kind == "silent" and f.field == "values" and "True)" in f.code
          and "LeakyReLU" in f.code),
    Cause("int-input-unary-dtype",
          "float ops on int/bool tensors (exp, log, sqrt, sigmoid, tanh, clamp with float "
          "bounds...) give float64 (int) or float16 (bool); PyTorch gives float32",
          True, lambda f: _silent(f, "dtype", *_UNARY_FLOAT) and f.int_or_bool()),
    Cause("creation-dtype",
          "creation dtype inference: full(.., int) float32 vs int64, full(.., True) float32 vs "
          "bool, arange(0., 1., .25) float64 vs float32, linspace with an int dtype",
          True, lambda f: f.kind == "silent" and f.tag.startswith("create:")),
    Cause("division-promotion",
          "true division of int/bool tensors gives float64; PyTorch gives the default float32",
          False, lambda f: _silent(f, "dtype", "binary:/", "L.div", "method:div")
          and f.int_or_bool()),
    Cause("pow-dtype",
          "pow's result dtype: int ** int gives float64 (PyTorch int64), bool ** x gives int8, "
          "float32 ** float64-scalar...",
          True, lambda f: _silent(f, "dtype", "binary:**", "L.pow", "method:pow",
                                  "inplace:pow_")),
    Cause("pow-negative-base",
          "x ** y with a tensor exponent is exp(y log x): NaN for a negative base even when y "
          "is a whole number (PyTorch: (-0.61) ** 1.0 = -0.61), and a NaN gradient at x = 0",
          False, lambda f: f.kind == "silent" and (
              f.tag in ("binary:**", "L.pow", "method:pow") and f.field == "values"
              or "pow_" in f.tag and f.field == "values") and "nan" in f.detail),
    Cause("nan-ignored-by-max-min",
          "elementwise max/min of two tensors (L.max(a, b), L.min(a, b), maximum, minimum) "
          "returns the other value where one is NaN; PyTorch propagates the NaN",
          False, lambda f: f.kind == "silent" and f.field == "values" and "nan" in f.detail
          and f.tag in ("L.max:binary", "L.min:binary", "L.maximum", "L.minimum")),
    Cause("batchnorm-half",
          "BatchNorm of a float16 input: tinygan computes the batch statistics (and "
          "running_mean/var) in float16 and returns float32; PyTorch accumulates in float32 "
          "and returns float16",
          False, lambda f: f.kind == "silent" and f.field in ("values", "dtype")
          and f.tag.startswith("nn.BatchNorm") and any(d == "float16" for _, d in f.operands)),
    Cause("add-alpha",
          "add/sub(x, y, alpha=a) multiplies y by alpha as an op of its own: float64 work done "
          "in float32 (alpha rounded), bool + bool * 0 promoted to int64, a float alpha with "
          "integer tensors accepted (PyTorch raises)",
          True, lambda f: ":alpha" in f.tag and f.kind in ("silent", "torch_raise")),
    Cause("matmul-1d-shape",
          "1-D @ 1-D gives shape (1,) (PyTorch: a 0-d dot product) and raises for length > 1",
          True, lambda f: f.tag == "matmul" and (
              _silent(f, "shape") or f.kind == "tinygan_raise" and f.has("reshape"))),
    Cause("zero-d-keepdim-shape",
          "argmax/argmin of a 0-d tensor with dim and keepdim gives shape (1,), or without dim "
          "() vs (1,) ...: PyTorch keeps 0-d",
          True, lambda f: _silent(f, "shape", "reduce:arg") and f.zero_d()),
    Cause("loss-dtype-promotion",
          "a loss of a float32 input and a float64 target (BCE with logits, ...) gives float32; "
          "PyTorch promotes to float64",
          False, lambda f: _silent(f, "dtype", "loss:")),
    Cause("reduction-keepdim-without-dim",
          "argmax/argmin(keepdim=True) without a dim gives shape (); PyTorch keeps every "
          "dimension as 1",
          False, lambda f: _silent(f, "shape", "reduce:arg") and "keepdim=True" in f.code
          and "dim=" not in f.code.replace("keepdim=", "")),
    Cause("view-is-self",
          "a view whose shape equals the input's (reshape/view/expand/squeeze/view_as to the "
          "same shape, .data) returns the input itself: is_leaf True where PyTorch's view is a "
          "new non-leaf tensor (and later in-place writes hit the input directly)",
          False, lambda f: _silent(f, "is_leaf") and f.detail.startswith("True vs False")),
    Cause("result-is-a-hidden-view",
          "an op PyTorch gives a tensor of its own (max/min with a dim, a pool of one image "
          "(C, H, W), an empty transposed convolution) returns a view of an intermediate it "
          "made: later views, in-place writes and requires_grad_() then reach that "
          "intermediate, not the result",
          False, lambda f: _silent(f, "view")),
    Cause("result-layout",
          "an op's result laid out in memory otherwise than PyTorch's (TensorIterator orders "
          "the dims by the first operand whose strides tell them apart, a size-1 dim's stride "
          "included; some kernels allocate row-major): is_contiguous() answers otherwise, and "
          "view() raises in one library only",
          False, lambda f: _silent(f, "strides")),
    Cause("no-grad-view-requires-grad",
          "a view taken under no_grad()/set_grad_enabled(False) of a tensor that requires grad: "
          "PyTorch's view reports requires_grad=True (a leaf), tinygan's False",
          False, lambda f: _silent(f, "requires_grad", "grad_mode")),
    Cause("view-requires-grad-follows-base",
          "x.requires_grad_() after a view v of x was taken: PyTorch's v then requires grad "
          "too (a view follows its base), tinygan's does not",
          False, lambda f: _silent(f, "requires_grad", "requires_grad_")),
    Cause("inplace-requires-grad",
          "an in-place op whose other operand requires grad (add_, div_, addcdiv_ ... possibly "
          "through a view) leaves requires_grad False on the written tensor or its base",
          True, lambda f: _silent(f, "requires_grad", "inplace:", "setitem")
          and f.detail.startswith("False vs True")),
    Cause("view-write-lost",
          "an in-place write through a view (integer index of a 1-D tensor, advanced index, "
          "or under no_grad) does not reach the base tensor, or reaches it wrongly",
          True, lambda f: f.kind == "silent" and f.field == "values"
          and (f.tag.startswith("inplace:") or f.tag.startswith("setitem"))),
    Cause("double-backward-requires-grad",
          "first derivatives from grad(create_graph=True) that do not depend on the inputs "
          "(a convolution's weight gradient when the image is a constant) do not require grad "
          "in tinygan; PyTorch's do (its convolution backward marks every output once any "
          "input requires grad), so a second grad() of them runs in PyTorch and raises in "
          "tinygan; once also the reverse, after an in-place zero_()",
          False, lambda f: _silent(f, "requires_grad", "grad")),
    Cause("conv-nonfinite-padding-gradient",
          "a gradient through a padded or strided float32 convolution where a NaN or an inf "
          "meets the padding or the zeros a strided transposed product inserts (the weight "
          "gradient, a transposed layer's input gradient, second derivatives): which oneDNN "
          "kernel runs there, one that multiplies those zeros or one that never reads them, "
          "follows oneDNN's rules, not pinned down (tests/test_conv_nonfinite.py)",
          False, lambda f: f.kind == "silent" and f.tag in ("backward", "grad", "grad2")
          and _PADDED_CONV.search(f.earlier_code) is not None
          and _NAN_AGAINST_NUMBER.search(f.detail) is not None),
    Cause("inplace-graph",
          "gradients after in-place writes (on non-leaves, on views, on tensors an earlier op "
          "saved, inplace activations) differ",
          True, lambda f: f.kind == "silent" and f.tag in ("backward", "grad", "grad2")
          and any(t.startswith(_INPLACE) for t in f.earlier)),
    Cause("tie-gradient",
          "the gradient of an elementwise max/min (L.max(a, b), maximum, minimum) at a tie: "
          "PyTorch splits it evenly between the two inputs, tinygan gives it all to one",
          False, lambda f: f.kind == "silent" and f.tag in ("backward", "grad", "grad2")
          and any(t in ("L.max:binary", "L.min:binary", "L.maximum", "L.minimum")
                  for t in f.earlier)),
    Cause("nan-gradient-at-boundary",
          "a NaN (or different) gradient where PyTorch's is finite: clamp/clip masks, "
          "sqrt/pow at 0, max ties",
          True, lambda f: f.kind == "silent" and f.tag in ("backward", "grad", "grad2")
          and "nan" in f.detail),
    # ---- tinygan raises where PyTorch runs ------------------------------------------------
    Cause("empty-tensors",
          "an op whose result is empty (ConvTranspose2d with padding larger than the output, "
          "...) raises; PyTorch returns an empty tensor",
          True, lambda f: f.kind == "tinygan_raise" and (f.has("is not positive", "(0 elements)") or f.empty())),
    Cause("zero-d-with-dim",
          "0-d tensors with dim=0/-1 (mean/var/std/max/min/transpose, softmax backward...) "
          "crash with ZeroDivisionError/IndexError",
          True, lambda f: f.kind == "tinygan_raise" and f.has(*_ZERO_D) and f.zero_d()
          or f.kind == "tinygan_raise" and f.tag in ("backward", "grad", "grad2")
          and f.has(*_ZERO_D)),
    Cause("clamp-tensor-bounds-backward",
          "clamp/clip with tensor bounds runs forward and crashes in backward (TypeError &=)",
          True, lambda f: f.kind == "tinygan_raise" and f.has("&=")),
    Cause("mse-loss-no-broadcast",
          "mse_loss with broadcastable shapes raises (PyTorch broadcasts, with a warning)",
          True, lambda f: f.kind == "tinygan_raise" and f.has("mse_loss: input shape")),
    Cause("cross-entropy-unbatched",
          "cross_entropy of unbatched (C,) logits with a 0-d target raises (PyTorch accepts it); "
          "int32 targets crash with an IndexError",
          False, lambda f: f.kind == "tinygan_raise" and f.tag.startswith("loss:") and
          f.has("logits must be (N, C)", "arrays used as indices")),
    Cause("bool-input-neg",
          "sigmoid (and other ops built on negation) of a bool tensor crashes with NumPy's "
          "'boolean negative' TypeError; PyTorch computes in float32",
          False, lambda f: f.kind == "tinygan_raise" and f.has("boolean negative")),
    Cause("inplace-result-cast",
          "an in-place op on an int/bool tensor whose result type is float (or wider) raises "
          "'can't be cast' where PyTorch writes (or where PyTorch's own message differs)",
          False, lambda f: f.kind == "tinygan_raise" and f.has("can't be cast to the in-place")),
    Cause("norm-p-values",
          "norm with p=0 or negative p raises; PyTorch computes them (torch.norm(x, -1) is p=-1)",
          False, lambda f: f.kind == "tinygan_raise" and f.has("norm: p must be")),
    Cause("cross-entropy-probability-targets",
          "cross_entropy with class-probability targets (a float tensor shaped like the "
          "logits) treats them as class indices and raises",
          True, lambda f: f.kind == "tinygan_raise" and f.tag.startswith("loss:")
          and f.has("one_hot: labels")),
    Cause("refused-gradient-into-ints",
          "a tensor that requires grad filled into an int or bool tensor (fill_, x[a:b] = t, "
          "x[mask] = t): PyTorch marks the int tensor as requiring grad and its backward then "
          "fails; tinygan refuses, deliberately, saying to write t.detach()",
          False, lambda f: f.kind == "tinygan_raise" and f.has("PyTorch marks the")),
    Cause("conv-nonfinite-padding",
          "a float32 convolution whose weights hold inf or NaN, with padding: tinygan "
          "follows PyTorch's choice between a kernel that multiplies the padded zeros "
          "(inf * 0 = NaN) and oneDNN's direct kernel, which never reads them, by the rules "
          "measured in tinygan/engine/conv_padding_skip.py (AVX-512; grouped layers elsewhere "
          "and transposed layers are not pinned down)",
          False, lambda f: f.kind == "silent" and f.tag.startswith(("F.conv", "nn.Conv"))
          and f.field == "values" and "nan" in f.detail.split(" vs ")[0]),
    Cause("refused-order-dependent-overlap",
          "an in-place op or write whose input reads memory it writes, neither being one "
          "dense block (x.pow_(x[:, 1])): PyTorch does not check and writes element by "
          "element, so its answer depends on its loop order; tinygan refuses, deliberately, "
          "saying to clone the input",
          False, lambda f: f.kind == "tinygan_raise"
          and f.has("depends on the order", "reads memory that the written-to tensor")),
    Cause("refused-circular-pad-past-cuts",
          "F.pad(mode='circular') whose padding is wider than what its negative padding "
          "leaves of the dim: PyTorch 2.13 copies between overlapping pieces of its output, "
          "so it raises, repeats in its own write order, or returns memory it never wrote; "
          "tinygan refuses, deliberately",
          False, lambda f: f.kind == "tinygan_raise" and f.has("left after the cuts")),
    Cause("refused-write-through-expanded",
          "a write into an expanded tensor while autograd records it (x.expand(...)[mask] "
          "= v): PyTorch writes the shared element and its backward then sums over the "
          "overlap; tinygan refuses, deliberately, saying to write into a .clone()",
          False, lambda f: f.kind == "tinygan_raise"
          and f.has("does not write through an expanded tensor")),
    Cause("inplace-on-expanded",
          "an in-place write (fill_, x[i] = v) to the result of expand() raises NumPy's "
          "'assignment destination is read-only'; PyTorch writes (one shared element)",
          False, lambda f: f.kind == "tinygan_raise" and f.has("read-only")),
    Cause("setitem-value-shape",
          "x[i] = t where t has more dimensions of size 1 than the slot (a (1, 1) tensor into "
          "a 0-d slot) raises NumPy's 'setting an array element with a sequence'",
          False, lambda f: f.kind == "tinygan_raise" and f.has("with a sequence")),
    Cause("conv-padding-same",
          "Conv2d(padding='same') crashes with int('same')",
          True, lambda f: f.kind == "tinygan_raise" and f.has("'same'")),
    # ---- PyTorch raises where tinygan runs (missing errors) -------------------------------
    Cause("missing-error-int-bool-reduction",
          "mean/var/std/norm/argmax/argmin of int or bool tensors run; PyTorch raises",
          True, lambda f: f.kind == "torch_raise" and f.tag.startswith("reduce:")
          and f.has("floating point", "does not support bool", "could not infer output dtype")),
    Cause("missing-error-int-bool-op",
          "ops PyTorch does not implement for int/bool (matmul of bool, relu/abs/pow/"
          "leaky_relu/softplus of bool or int, bool subtraction, arange of bool) run in tinygan",
          True, lambda f: f.kind == "torch_raise" and f.has(
              "not implemented for", "Boolean inputs not supported",
              "with a bool tensor is not supported")),
    Cause("missing-error-inplace-leaf-view",
          "in-place on a leaf that requires grad, or a view of one (x[0].neg_(), "
          "nn.LeakyReLU(inplace=True) on a leaf) runs and silently changes the leaf",
          True, lambda f: f.kind == "torch_raise" and f.has("leaf Variable that requires grad")),
    Cause("missing-error-modified-saved-tensor",
          "backward after a saved tensor was changed in place runs with the new values; "
          "PyTorch raises 'modified by an inplace operation'",
          True, lambda f: f.kind == "torch_raise" and f.has("modified by an inplace")),
    Cause("missing-error-negative-step",
          "x[::-1] (a negative slice step) runs; PyTorch raises",
          True, lambda f: f.kind == "torch_raise" and f.has("step must be greater than zero")),
    Cause("missing-error-scalar-for-tensor",
          "Python scalars where PyTorch requires tensors (maximum/minimum(x, 0.5), "
          "addcmul_/addcdiv_/lerp_ with numbers) are accepted",
          True, lambda f: f.kind == "torch_raise" and f.has("must be Tensor, not",
                                                           "invalid combination of arguments")
          and not f.tag.startswith("reduce:")),
    Cause("missing-error-embedding-index",
          "negative or too-large embedding indices wrap around or index silently",
          True, lambda f: f.kind == "torch_raise" and f.has("index out of range in self")),
    Cause("missing-error-self-overlap",
          "self-overlapping writes (x[...] = x, copy_ between overlapping views) run",
          True, lambda f: f.kind == "torch_raise" and f.has("refer to a single memory location")),
    Cause("missing-error-cross-entropy-int32",
          "cross_entropy with int32 targets runs; PyTorch requires int64",
          True, lambda f: f.kind == "torch_raise" and f.has("target dtype to be Long")),
    Cause("missing-error-dtype-mismatch",
          "ops that need operands of one dtype (lerp_ with an int end, index_put of another "
          "dtype) run; PyTorch raises",
          True, lambda f: f.kind == "torch_raise" and f.has("expected dtype", "but got dtype",
                                                           "expected scalar type",
                                                           "Index put requires the source")),
    Cause("missing-error-reduction-arguments",
          "sum/min(keepdim=True) without a dim runs; PyTorch raises",
          True, lambda f: f.kind == "torch_raise" and f.tag.startswith("reduce:")
          and f.has("invalid combination of arguments")),
    Cause("missing-error-shape-arguments",
          "shape arguments PyTorch rejects are accepted: permute() with no dims, nn.Flatten on "
          "a 0-d tensor, view() of a non-contiguous tensor",
          False, lambda f: f.kind == "torch_raise" and f.has(
              "permute() missing", "Dimension out of range", "view size is not compatible")),
]


def _failure(program: Program, outcome: Outcome) -> Failure:
    i = outcome.step
    code = program.steps[i].code if 0 <= i < len(program.steps) else ""
    earlier = tuple(s.tag for s in program.steps[:max(i, 0)])
    earlier_code = "\n".join(s.code for s in program.steps[:max(i, 0)])
    return Failure(outcome.kind, outcome.tag, outcome.field, outcome.detail, code, earlier,
                   outcome.operands, earlier_code)


_MISSING_NAME = re.compile(r"AttributeError: (?:module '([\w.]+)'|'(\w+)' object) has no "
                           r"attribute '(\w+)'")
_MISSING_ARG = re.compile(r"TypeError: ([\w.]+)\(\) got an unexpected keyword argument '(\w+)'")
_MISSING_POSITIONAL = re.compile(r"TypeError: ([\w.]+)\(\) missing 1 required positional "
                                 r"argument: '(\w+)'")


def classify(program: Program, outcome: Outcome) -> str:
    """The cause of a failed program (see the module's docstring)."""
    f = _failure(program, outcome)
    if f.kind == "tinygan_raise":
        m = _MISSING_NAME.search(f.detail)
        if m:
            owner = (m.group(1) or m.group(2)).replace("tinygan.nn.functional", "F")
            owner = "Tensor" if owner == "Parameter" else owner
            return f"missing-name:{owner}.{m.group(3)}"
        m = _MISSING_ARG.search(f.detail)
        if m:
            fn = m.group(1).replace(".__init__", "").replace("TensorAPI.", "Tensor.")
            if fn.startswith("_"):                  # a base class: name the layer used
                layer = re.search(r"nn\.(\w+)\([^)]*\b" + m.group(2) + "=", f.code)
                fn = f"nn.{layer.group(1)}" if layer else fn
            return f"missing-argument:{fn}({m.group(2)})"
        m = _MISSING_POSITIONAL.search(f.detail)
        if m:
            return f"missing-argument:{m.group(1)}(without {m.group(2)})"
    for cause in CAUSES:
        if cause.match(f):
            return cause.name
    return f"unnamed:{f.kind}:{f.tag}:{f.field}"


# The missing arguments and names issue 29 lists (its "Missing arguments and ops" item).
ISSUE_API = ("(rounding_mode)", "(correction)", "softplus(beta)", "softplus(threshold)",
             "(pos_weight)", "binary_cross_entropy(weight)", "BCELoss(weight)", "(dilation)",
             "(groups)", "(padding_mode)", "cross_entropy(weight)", "CrossEntropyLoss(weight)",
             "(ignore_index)", "(label_smoothing)", "one_hot(without num_classes)",
             "F.nll_loss", "F.logsigmoid", ".sort", ".topk")


def in_issue(name: str) -> bool:
    """Whether issue 29 names this cause."""
    rule = describe(name)
    if rule is not None:
        return rule.in_issue
    return name.startswith("missing-") and any(name.endswith(k) for k in ISSUE_API)


def describe(name: str) -> Cause | None:
    for cause in CAUSES:
        if cause.name == name:
            return cause
    return None
