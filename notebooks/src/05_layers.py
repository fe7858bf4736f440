# %% [markdown]
# # 5. The layers, and why GANs use them
#
# Companion to [chapters/05_layers.md](../chapters/05_layers.md). Each section runs the layer
# the chapter describes and shows the behaviour that matters for a GAN: saturation, dead
# units, BatchNorm's two modes, inverted dropout, Adam's short memory, maxout.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import functional as F
from tinygan import nn, optim
from tinygan.run.quick import steps
from tinygan.course import exercise

# %% [markdown]
# ## Sigmoid, Tanh and saturation
#
# The derivatives, computed by tinygan's autograd (one backward pass through a sum gives every
# elementwise derivative at once). Both curves flatten for large $|x|$: a unit there passes
# almost no gradient.

# %%
xs = tg.tensor(np.linspace(-8, 8, 401, dtype=np.float32), requires_grad=True)
curves = {}
for name, fn in (("sigmoid", F.sigmoid), ("tanh", F.tanh)):
    xs.grad = None
    y = fn(xs)
    y.sum().backward()
    curves[name] = (y.detach().numpy(), xs.grad.numpy().copy())

fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.3))
for ax, (name, (y, dy)) in zip(axes, curves.items()):
    ax.plot(xs.detach().numpy(), y, label=name)
    ax.plot(xs.detach().numpy(), dy, label=f"{name}' (autograd)")
    ax.set_xlabel("x")
    ax.set_title(f"{name}: the gradient\nvanishes for large |x|", fontsize=10)
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# At $D$'s output this is why the sigmoid belongs inside the loss. A very confident wrong
# logit $a = 30$ for a fake (label 0): `Sigmoid` then `BCELoss` rounds $1 - \sigma(30)$ to 0,
# clamps $\log 0$ at $-100$, and sends back **no gradient**; `BCEWithLogitsLoss` gets the loss
# and the gradient $\sigma(a) - t \approx 1$ right.

# %%
for name, make_loss in (("Sigmoid + BCELoss", lambda a: nn.BCELoss()(nn.Sigmoid()(a), tg.zeros(1, 1))),
                        ("BCEWithLogitsLoss", lambda a: nn.BCEWithLogitsLoss()(a, tg.zeros(1, 1)))):
    a = tg.tensor([[30.0]], requires_grad=True)
    loss = make_loss(a)
    loss.backward()
    print(f"{name:18s} loss {loss.item():6.1f}, gradient {a.grad.item():.3f}")
    if name == "Sigmoid + BCELoss":
        assert loss.item() == 100.0 and a.grad.item() == 0.0       # clamped, no gradient
    else:
        assert abs(loss.item() - 30.0) < 1e-4 and abs(a.grad.item() - 1.0) < 1e-6

# %% [markdown]
# Inside a network the factors $\sigma' \le 1/4$ multiply from layer to layer. The gradient
# reaching each layer's weights in an 8-layer stack of sigmoids, against LeakyReLU:

# %%
def layer_gradient_norms(activation, depth=8, width=32, seed=0):
    gen = tg.Generator(seed)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, generator=gen), activation()]
    net = nn.Sequential(*layers, nn.Linear(width, 1, generator=gen))
    net(tg.randn(64, width, generator=gen)).sum().backward()
    return [float(np.linalg.norm(m.weight.grad.numpy())) for m in net if isinstance(m, nn.Linear)][:depth]

norms = {"Sigmoid": layer_gradient_norms(nn.Sigmoid),
         "LeakyReLU(0.2)": layer_gradient_norms(lambda: nn.LeakyReLU(0.2))}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, n in norms.items():
    ax.semilogy(range(1, 9), n, "o-", label=name)
ax.set_xlabel("layer (1 = nearest the input)")
ax.set_ylabel("||dL/dW|| of the layer")
ax.set_title("Sigmoid stacks starve their first layers of gradient")
ax.legend()
plt.show()
assert norms["Sigmoid"][0] < norms["Sigmoid"][-1] / 100

# %% [markdown]
# ## ReLU, LeakyReLU and dead units
#
# The chapter's experiment: half the units of a layer start with a bias of $-10$, so their
# input is negative for every sample. With ReLU they get **no** gradient (they are dead and
# stay dead); with LeakyReLU(0.2) every unit still learns.

# %%
g = tg.Generator(0)
x = tg.randn(256, 20, generator=g)
grad_per_unit = {}
for act in (nn.ReLU(), nn.LeakyReLU(0.2)):
    layer = nn.Linear(20, 100, generator=tg.Generator(1))
    layer.bias.data[:50] = -10.0
    act(layer(x)).sum().backward()
    grad_per_unit[type(act).__name__] = abs(layer.weight.grad.numpy()).sum(axis=1)

fig, ax = plt.subplots(figsize=(7, 3.2))
for name, gpu in grad_per_unit.items():
    ax.plot(gpu, "o", ms=3, label=f"{name}: {int((gpu == 0).sum())} units with zero gradient")
ax.set_xlabel("unit (0-49 have bias -10)")
ax.set_ylabel("sum |dL/dW| of the unit")
ax.set_title("Units 0-49 are dead under ReLU, alive under LeakyReLU")
ax.legend()
plt.show()
assert (grad_per_unit["ReLU"][:50] == 0).all() and (grad_per_unit["LeakyReLU"] > 0).all()

# %% [markdown]
# LeakyReLU is $\max(\alpha x, x)$: with $\alpha = 0$ it *is* ReLU, with $\alpha = 1$ the
# identity.

# %%
t = tg.tensor([-2.0, -0.5, 0.0, 1.5])
print("LeakyReLU(0)  :", nn.LeakyReLU(0.0)(t).numpy(), " ReLU:", nn.ReLU()(t).numpy())
print("LeakyReLU(1)  :", nn.LeakyReLU(1.0)(t).numpy())
print("LeakyReLU(0.2):", nn.LeakyReLU(0.2)(t).numpy())
assert np.array_equal(nn.LeakyReLU(0.0)(t).numpy(), nn.ReLU()(t).numpy())
assert np.array_equal(nn.LeakyReLU(1.0)(t).numpy(), t.numpy())

# %% [markdown]
# ## Batch normalisation: training vs evaluation
#
# In training mode each output is normalised with its *batch's* statistics, so a sample's
# output depends on the other samples in the batch. In eval mode the running averages are
# used, so each output depends on its own input only.

# %%
bn = nn.BatchNorm1d(3)
g = tg.Generator(2)
batch = 5.0 + 2.0 * tg.randn(64, 3, generator=g)
y_train = bn(batch)
print("train mode: batch mean", y_train.numpy().mean(0).round(3), "std", y_train.numpy().std(0).round(3))
assert abs(y_train.numpy().mean(0)).max() < 1e-5 and abs(y_train.numpy().std(0) - 1).max() < 1e-3

running = []
for _ in range(steps(100, 60)):
    bn(5.0 + 2.0 * tg.randn(64, 3, generator=g))
    running.append(bn.running_mean.numpy()[0])

same_sample = tg.tensor([[5.0, 7.0, 3.0]])
mates_low = tg.cat([same_sample, tg.zeros(7, 3)])            # the sample with two different
mates_high = tg.cat([same_sample, 10.0 * tg.ones(7, 3)])     # sets of batch-mates
# each batch once: a training-mode forward also moves the running averages
out_low, out_high = bn(mates_low).numpy()[0], bn(mates_high).numpy()[0]
print("train mode, same sample, two batches:", out_low.round(2), out_high.round(2))
assert not np.allclose(out_low, out_high)
bn.eval()
out_low, out_high = bn(mates_low).numpy()[0], bn(mates_high).numpy()[0]
print("eval mode,  same sample, two batches:", out_low.round(2), out_high.round(2))
assert np.array_equal(out_low, out_high)
print("eval mode, a batch of one:           ", bn(same_sample).numpy().round(2))
assert abs(bn(same_sample).numpy() - [[0.0, 1.0, -1.0]]).max() < 0.15
bn.train()

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(running)
ax.axhline(5.0, color="gray", ls="--", label="true mean 5")
ax.set_xlabel("training batch")
ax.set_ylabel("running_mean[0]")
ax.set_title("Running mean approaches the data mean (momentum 0.1)")
ax.legend()
plt.show()
assert abs(running[-1] - 5.0) < 0.25 and abs(running[0] - 5.0) > 3   # from 0 to about 5

# %% [markdown]
# A batch of one has no variance to normalise with: in training mode tinygan refuses it, as
# PyTorch does. This is one more reason to sample from a generator in **eval mode**.

# %%
try:
    bn(same_sample)
    raise AssertionError("BatchNorm accepted a batch of one in training mode")
except ValueError as err:
    print("train mode, batch of one:", err)

# %% [markdown]
# ## Dropout, inverted
#
# In training, each unit is zeroed with probability $p$ and the survivors are multiplied by
# $1/(1 - p)$, so the *expected* output equals the input and evaluation needs no correction.

# %%
drop = nn.Dropout(p=0.25, generator=tg.Generator(3))
ones = tg.ones(10_000)
y = drop(ones).numpy()
print(f"train: zeroed {np.mean(y == 0):.3f}, survivors {y.max():.4f} (= 1/(1 - 0.25)), "
      f"mean {y.mean():.3f}")
assert abs(np.mean(y == 0) - 0.25) < 0.02 and abs(y.max() - 1 / 0.75) < 1e-6
means = [drop(tg.ones(100)).numpy().mean() for _ in range(steps(2000, 300))]
assert abs(np.mean(means) - 1.0) < 0.02           # the expected output is the input
drop.eval()
assert (drop(ones).numpy() == 1).all()
print("eval: the identity")

fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(means, bins=30)
ax.axvline(1.0, color="k", ls="--", label="input value 1")
ax.set_xlabel("mean of Dropout(p=0.25) applied to 100 ones")
ax.set_ylabel("count")
ax.set_title("Inverted dropout keeps the mean: no rescaling at eval time")
ax.legend()
plt.show()

# %% [markdown]
# ## Adam with $\beta_1 = 0.5$
#
# Adam's first moment is an exponential average: the gradient from $k$ steps ago gets weight
# $(1 - \beta_1)\beta_1^k$. With $\beta_1 = 0.9$ the memory is about 10 steps, with $0.5$
# about 2.

# %%
k = np.arange(20)
fig, ax = plt.subplots(figsize=(6, 3))
for beta1 in (0.5, 0.9):
    ax.bar(k + (0.2 if beta1 == 0.9 else -0.2), (1 - beta1) * beta1 ** k, width=0.4,
           label=f"beta1 = {beta1}")
ax.set_xlabel("steps ago")
ax.set_ylabel("weight in Adam's m")
ax.set_title("beta1 = 0.5 forgets old gradients fast")
ax.legend()
plt.show()

# %% [markdown]
# In a GAN each network chases a target that the other keeps moving. A one-parameter stand-in:
# minimise $(\theta - c_t)^2$ where the target $c_t$ jumps between $+1$ and $-1$ every 50
# steps. The long memory of $\beta_1 = 0.9$ keeps pushing towards the old target: after
# every jump it takes longer than $\beta_1 = 0.5$ to come within 0.5 of the new one, and in
# the first stretches it overshoots the target, which $\beta_1 = 0.5$ never does. (No
# randomness and no quick-mode shortcut here: the checks hold in every mode.)

# %%
trajectories, mean_error = {}, {}
targets = np.array([1.0 if (t // 50) % 2 == 0 else -1.0 for t in range(300)], dtype=np.float32)
for beta1 in (0.5, 0.9):
    theta = tg.Parameter(tg.zeros(1).data)
    opt = optim.Adam([theta], lr=0.05, betas=(beta1, 0.999))
    path = []
    for c in targets:
        loss = ((theta - float(c)) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        path.append(theta.item())
    trajectories[beta1] = np.array(path)
    mean_error[beta1] = float(np.abs(trajectories[beta1] - targets).mean())

fig, ax = plt.subplots(figsize=(7, 3.2))
ax.plot(targets, "k--", lw=1, label="target c_t")
for beta1, path in trajectories.items():
    ax.plot(path, label=f"beta1 = {beta1}: mean |error| {mean_error[beta1]:.2f}")
ax.set_xlabel("step")
ax.set_ylabel("theta")
ax.set_title("A moving target: beta1 = 0.9 lags behind each jump")
ax.legend(fontsize=8)
plt.show()
assert mean_error[0.5] < mean_error[0.9]

def turn_and_overshoot(path):
    """Steps to come within 0.5 of the target after each jump; the largest overshoot."""
    starts = range(0, 300, 50)                    # the target holds for 50 steps from each
    turns = [int(np.argmax(abs(path[j:j + 50] - targets[j]) < 0.5)) for j in starts[1:]]
    overshoot = max(float(((path[j:j + 50] - targets[j]) * targets[j]).max()) for j in starts)
    return turns, overshoot

turns_05, over_05 = turn_and_overshoot(trajectories[0.5])
turns_09, over_09 = turn_and_overshoot(trajectories[0.9])
print(f"steps to within 0.5 of the new target: beta1 = 0.5 {turns_05}, beta1 = 0.9 {turns_09}")
print(f"largest overshoot: beta1 = 0.5 {over_05:+.3f}, beta1 = 0.9 {over_09:+.3f}")
assert all(a < b for a, b in zip(turns_05, turns_09)) and over_05 < 0 < over_09

# %% [markdown]
# ## Maxout
#
# A maxout unit takes the maximum of $k$ affine pieces: a learned, convex, piecewise-linear
# activation. Its gradient is never zero everywhere (some piece is always active).

# %%
unit = nn.Maxout(1, 1, pieces=3, generator=tg.Generator(4))
line = tg.tensor(np.linspace(-3, 3, 301, dtype=np.float32).reshape(-1, 1), requires_grad=True)
out = unit(line)
out.sum().backward()
pieces = unit.linear(line).detach().numpy()

fig, ax = plt.subplots(figsize=(6, 3.2))
for j in range(3):
    ax.plot(line.detach().numpy(), pieces[:, j], "--", lw=1, label=f"piece {j}")
ax.plot(line.detach().numpy(), out.detach().numpy(), "k", lw=2, label="maxout = max of pieces")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title("Maxout: a convex piecewise-linear activation")
ax.legend(fontsize=8)
plt.show()
print("smallest |dy/dx| on the line:", float(np.abs(line.grad.numpy()).min()))
assert np.abs(line.grad.numpy()).min() > 0        # some piece active, none of them flat

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **5.1** With tinygan's autograd, compute $\sigma'(0)$, $\sigma'(10)$, $\tanh'(0)$ and
# $\tanh'(3)$, as a tuple of four floats.

# %%
answer_5_1 = ...   # YOUR CODE: (sigmoid'(0), sigmoid'(10), tanh'(0), tanh'(3))

# %%
answer_5_1 = exercise("5.1", answer_5_1)

# %% [markdown]
# **5.2** Build a `BatchNorm1d(1)` in eval mode with running mean 2, running variance 9,
# $\gamma = 2$, $\beta = 1$ and `eps=0`, and compute its output for $x = 5$.

# %%
answer_5_2 = ...   # YOUR CODE: a float, the layer's output

# %%
answer_5_2 = exercise("5.2", answer_5_2)

# %% [markdown]
# **5.3** `Dropout(p=0.2)` in training mode on an all-ones input: what value do the
# surviving entries take? Measure it with tinygan.

# %%
answer_5_3 = ...   # YOUR CODE: a float

# %%
answer_5_3 = exercise("5.3", answer_5_3)

# %% [markdown]
# **5.4** How much weight does Adam's $m$ give to the gradient from 5 steps ago with
# $\beta_1 = 0.5$, and with $\beta_1 = 0.9$? A tuple of two floats.

# %%
answer_5_4 = ...   # YOUR CODE: (weight for beta1 = 0.5, weight for beta1 = 0.9)

# %%
answer_5_4 = exercise("5.4", answer_5_4)

# %% [markdown]
# **5.5** Write `count_dead_units(activation)`: build `Linear(2, 64)` + `activation` +
# `Linear(64, 1)` (seeded), train it with SGD at a large learning rate (0.2) for a few
# hundred steps to regress $y = x_1 x_2$ on standard-normal inputs, then return how many of the
# 64 hidden units have a zero gradient on a fresh batch. The check expects dead units with ReLU
# and none with LeakyReLU(0.2).

# %%
count_dead_units = ...   # YOUR CODE: a function activation -> int

# %%
count_dead_units = exercise("5.5", count_dead_units)
