# %% [markdown]
# # 4. Autograd from scratch
#
# Companion to [chapters/04_autograd.md](../chapters/04_autograd.md). We look inside the
# graph tinygan records, check the chain rule against an explicit Jacobian, write an operation
# of our own as a `tinygan.engine.tensor.Function`, test it with `gradcheck` and `gradgradcheck`,
# and watch both checks catch a wrong backward rule.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import functional as F
from tinygan import gradcheck, gradgradcheck
from tinygan.engine.tensor import Function
from tinygan.course import exercise

# %% [markdown]
# ## Graphs and the chain rule
#
# Every operation on a tensor that requires a gradient records a node: the output's
# `.creator` is the `Function` that made it, and the Function keeps its `.inputs`. Walking
# `creator` links from the loss back to the leaves is exactly the path `backward()` takes.

# %%
x = tg.tensor([1.0, -2.0, 3.0], requires_grad=True)
w = tg.tensor([0.5, 0.5, 0.5], requires_grad=True)
loss = F.sigmoid(x * w).sum()

def show_graph(t, depth=0):
    name = "leaf" if t.creator is None else type(t.creator).__name__
    print("  " * depth + f"{name:8s} shape {t.shape}, requires_grad={t.requires_grad}")
    if t.creator is not None:
        for parent in t.creator.inputs:
            show_graph(parent, depth + 1)

show_graph(loss)

# %% [markdown]
# `backward()` computes vector-Jacobian products: for $y = f(x)$ it turns $\bar y$ into
# $\bar x = J^\top \bar y$ without forming $J$. Check it on $y = \sigma(x \odot w)$ against the
# Jacobian written out by hand ($J$ is diagonal here, $J_{ii} = \sigma'(x_i w_i)\, w_i$).

# %%
y = F.sigmoid(x * w)
y_bar = tg.tensor([1.0, 2.0, 3.0])                 # an upstream gradient dL/dy
y.backward(y_bar)
s = F.sigmoid(x * w).detach().numpy()
jacobian = np.diag(s * (1 - s) * w.numpy())        # dy_i / dx_j
print("autograd  x.grad :", x.grad.numpy())
print("J^T y_bar        :", jacobian.T @ y_bar.numpy())
assert np.allclose(x.grad.numpy(), jacobian.T @ y_bar.numpy(), atol=1e-6)

# %% [markdown]
# ## The engine's four ideas, one cell each
#
# **Gradients add up.** A tensor used twice receives a gradient from each use, and
# `backward` sums them. Leaves *accumulate* into `.grad` across calls too, which is why every
# training step starts with `zero_grad()`.

# %%
a = tg.tensor([3.0], requires_grad=True)
(a * a + a).backward()                  # d/da (a^2 + a) = 2a + 1 = 7: two uses, summed
print("after one backward: ", a.grad.item())
(a * a + a).backward()                  # no zero_grad: 7 + 7
print("after two backwards:", a.grad.item(), "(accumulated)")
assert a.grad.item() == 14.0

# %% [markdown]
# Each of those calls built a fresh graph. Calling `backward()` twice on the *same* graph is
# an error, as in PyTorch (it would add the same gradients a second time, usually by
# mistake); `retain_graph=True` on the first call allows another.

# %%
loss = (a * a).sum()
loss.backward(retain_graph=True)
loss.backward()                          # allowed: the first call kept the graph
try:
    loss.backward()                      # the second call used it up
    raise AssertionError("a third backward through a freed graph was accepted")
except RuntimeError as err:
    print("RuntimeError:", err)

# %% [markdown]
# **Broadcasting has a gradient.** A bias of shape `(3,)` added to a batch `(4, 3)` is used
# by every row, so its gradient is the upstream gradient summed over the batch axis.

# %%
bias = tg.zeros(3, requires_grad=True)
batch = tg.ones(4, 3)
(batch + bias).sum().backward()
print("bias.grad =", bias.grad.numpy(), "(4 rows each sent a 1)")
assert bias.grad.numpy().tolist() == [4.0, 4.0, 4.0]

# %% [markdown]
# **`no_grad()` and `detach()`** cut the graph: nothing computed under `no_grad()` is recorded,
# and `t.detach()` is the same numbers as a new leaf. This is how a GAN's discriminator step
# keeps its gradient out of the generator (chapter 3).

# %%
with tg.no_grad():
    y = x * w
print("under no_grad: requires_grad =", y.requires_grad, ", creator =", y.creator)
assert not y.requires_grad and y.creator is None
y = (x * w).detach()
print("detached:      requires_grad =", y.requires_grad, ", creator =", y.creator)
assert not y.requires_grad and y.creator is None

# %% [markdown]
# ## Writing your own operation
#
# The swish (or SiLU) activation $y = x\,\sigma(x)$ has derivative
# $y' = \sigma(x) + x\,\sigma(x)(1 - \sigma(x))$. `forward` works on raw arrays; `backward`
# is written with **Tensor** operations, so the engine can differentiate the rule itself.

# %%
class Swish(Function):
    def forward(self, x):                          # raw NumPy (or CuPy) array in and out
        xp = tg.backend.get_array_module(x)        # numpy or cupy, whichever holds x
        return x / (1 + xp.exp(-x))

    def backward(self, gy):                        # Tensor ops only: differentiable again
        x = self.inputs[0]
        s = F.sigmoid(x)
        return gy * (s + x * s * (1 - s))

def swish(x):
    return Swish()(x)

t = tg.tensor([-2.0, 0.0, 2.0], requires_grad=True)
swish(t).sum().backward()
print("swish'(-2, 0, 2) =", t.grad.numpy().round(4))

# %% [markdown]
# ## Gradient checking
#
# `gradcheck` compares autograd's gradient with central differences
# $(f(x + \varepsilon e_i) - f(x - \varepsilon e_i)) / 2\varepsilon$, in float64.

# %%
g = tg.Generator(0)
x64 = tg.randn(6, generator=g, dtype=tg.float64, requires_grad=True)
print("Swish passes gradcheck:", gradcheck(swish, [x64]))

# %% [markdown]
# A plausible-looking bug: forget the product rule and return $\bar y\,\sigma(x)$. Nothing
# crashes, the network would train (badly), and only the check notices.

# %%
class WrongSwish(Swish):
    def backward(self, gy):
        return gy * F.sigmoid(self.inputs[0])       # missing the x * s * (1 - s) term

try:
    gradcheck(lambda t: WrongSwish()(t), [x64])
    raise AssertionError("gradcheck should have caught the wrong backward")
except tg.GradcheckError as err:
    print("caught:", err)

# %% [markdown]
# Why float64: the central difference's rounding error is about (machine epsilon) / $\varepsilon$.
# Compare the numeric derivative of swish at $x = 1$ with the exact one in both precisions.

# %%
exact = 1 / (1 + math.exp(-1)) * (1 + 1 * (1 - 1 / (1 + math.exp(-1))))
epsilons = np.logspace(-8, -1, 29)
errors = {}
for dtype in (np.float32, np.float64):
    errs = []
    for eps in epsilons:
        x0 = np.array(1.0, dtype=dtype)
        e = dtype(eps)
        numeric = (Swish().forward(x0 + e) - Swish().forward(x0 - e)) / (2 * e)
        errs.append(abs(float(numeric) - exact))
    errors[dtype.__name__] = np.maximum(errs, 1e-17)

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, errs in errors.items():
    ax.loglog(epsilons, errs, "o-", ms=3, label=name)
ax.set_xlabel("finite-difference step eps")
ax.set_ylabel("|numeric - exact| derivative")
ax.set_title("float32 differences are swamped by rounding: check in float64")
ax.legend()
plt.show()
print(f"best float32 error {errors['float32'].min():.1e}, best float64 error "
      f"{errors['float64'].min():.1e}")
# plain arithmetic, the same in every mode: float64's best is a thousandfold better at least
assert errors["float64"].min() * 1000 < errors["float32"].min()

# %% [markdown]
# ## Second derivatives
#
# Because `Swish.backward` is made of Tensor operations, `grad(..., create_graph=True)`
# returns a gradient that has a graph of its own, and we can differentiate again:
# $y'' = \sigma(x)(1 - \sigma(x))\,(2 + x(1 - 2\sigma(x)))$.

# %%
t = tg.tensor([1.5], requires_grad=True)
(dy,) = tg.grad(swish(t).sum(), t, create_graph=True)
(d2y,) = tg.grad(dy.sum(), t)
s = 1 / (1 + math.exp(-1.5))
print(f"y'  = {dy.item():.6f}   exact {s + 1.5 * s * (1 - s):.6f}")
print(f"y'' = {d2y.item():.6f}   exact {s * (1 - s) * (2 + 1.5 * (1 - 2 * s)):.6f}")
assert abs(dy.item() - (s + 1.5 * s * (1 - s))) < 1e-5
assert abs(d2y.item() - s * (1 - s) * (2 + 1.5 * (1 - 2 * s))) < 1e-5
print("Swish passes gradgradcheck:", gradgradcheck(swish, [x64]))

# %% [markdown]
# Now a backward rule that computes the *right first derivative on raw arrays*. `gradcheck`
# passes, but the engine sees a constant, so the second derivative is silently zero. That is
# exactly the bug that would break WGAN-GP's gradient penalty (chapter 8), and
# `gradgradcheck` catches it.

# %%
class RawArraySwish(Swish):
    def backward(self, gy):
        x = self.inputs[0].array                   # raw array: the graph stops here
        s = 1 / (1 + tg.backend.get_array_module(x).exp(-x))
        return gy * tg.Tensor(s + x * s * (1 - s))

print("first derivative right:", gradcheck(lambda t: RawArraySwish()(t), [x64]))
try:
    gradgradcheck(lambda t: RawArraySwish()(t), [x64])
    raise AssertionError("gradgradcheck should have caught the raw-array backward")
except tg.GradcheckError as err:
    print("second derivative caught:", err)

# %% [markdown]
# ## Views, in-place writes and the version counter
#
# `v.T`, `v[0]` and `v.view(...)` share `v`'s memory and its version counter. Writing through
# a view changes the base, and autograd follows (PyTorch's `CopySlices` idea): the base
# becomes "old base with the covered part replaced", so the overwritten entries get no
# gradient. An op that read a tensor before an in-place change keeps pointing at the old value.

# %%
x = tg.tensor([[1., 2.], [3., 4.]], requires_grad=True)
v = x * 1.0
v.T[1:] = -1.32                  # column 1 of v, written through a transposed view
(v * v).sum().backward()
print(x.grad)                    # [[2, 0], [6, 0]]: the overwritten column gets nothing
assert x.grad.numpy().tolist() == [[2.0, 0.0], [6.0, 0.0]]
y = x * 1.0
z = y * 2
y.mul_(3)                        # z was computed from the old y
x.grad = None
z.sum().backward()
print(x.grad)                    # all 2s: the gradient of z = 2 y, not of 6 y
assert (x.grad.numpy() == 2.0).all()

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **4.1** For $L = \sum_i \sigma(w x_i)$ with $x = (1, 2)$ and $w = 0$, compute
# $\partial L / \partial w$ with tinygan.

# %%
answer_4_1 = ...   # YOUR CODE: a float, from tinygan's backward

# %%
answer_4_1 = exercise("4.1", answer_4_1)

# %% [markdown]
# **4.2** Write a `Function` for $y = \log(1 + x^2)$ (so $y' = 2x / (1 + x^2)$) whose backward
# is made of Tensor operations. The check runs `gradcheck` and `gradgradcheck` on it.

# %%
Log1pSquare = ...   # YOUR CODE: replace with your class, for example
# class Log1pSquare(Function):
#     def forward(self, x):
#         ...
#     def backward(self, gy):
#         ...

# %%
Log1pSquare = exercise("4.2", Log1pSquare)

# %% [markdown]
# **4.3** For $f(x) = e^x$ at $x = 1$ and $\varepsilon = 10^{-3}$ in float64, compute the
# error of the one-sided difference $(f(x + \varepsilon) - f(x))/\varepsilon$ and of the
# central difference, as a tuple `(one_sided_error, central_error)` of absolute errors.

# %%
answer_4_3 = ...   # YOUR CODE: (one_sided_error, central_error)

# %%
answer_4_3 = exercise("4.3", answer_4_3)
print(f"the central difference is {answer_4_3[0] / answer_4_3[1]:.0f}x more accurate at this step")

# %% [markdown]
# **4.4** A parameter used twice: $L = (wx)^2 + wx$. Compute $\partial L / \partial w$ at
# $w = 1$, $x = 2$ with tinygan.

# %%
answer_4_4 = ...   # YOUR CODE: a float

# %%
answer_4_4 = exercise("4.4", answer_4_4)
