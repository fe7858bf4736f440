# %% [markdown]
# # 2. The game: generator, discriminator and the value V(D, G)
#
# Companion to [chapters/02_the_game.md](../chapters/02_the_game.md). We fix a generator and
# a discriminator on 1-D data, compute the value
#
# $$V(D, G) = \mathbb{E}_{x \sim p_\text{data}}[\log D(x)] + \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))]$$
#
# term by term, check that it is the (negated) binary cross-entropy that code minimises, and
# play one round of the game by hand: $D$ steps up $V$, then $G$ steps down.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import nn
from tinygan import functional as F
from tinygan.data.toy import gaussian_1d
from tinygan.course import exercise

tg.manual_seed(0)   # layers built without a generator draw from here (fresh per process)

# %% [markdown]
# ## The players
#
# * **Noise** $z \sim \mathcal{N}(0, 1)$, one number per sample.
# * **Generator** $G(z) = w z + b$: a `Linear(1, 1)`, so $p_g = \mathcal{N}(b, w^2)$. Here
#   $w = 0.5$, $b = -1$: the fakes sit around $-1$.
# * **Data** $p_\text{data} = \mathcal{N}(1, 0.5^2)$.
# * **Discriminator** $D(x) = \sigma(a x + c)$: a `Linear(1, 1)` that outputs a *logit*; the
#   sigmoid is applied only where a probability is needed. With $a = 2$, $c = 0$ it calls
#   positive numbers real.

# %%
g = tg.Generator(0)                       # every random draw below comes from this generator
m = 2000                                  # minibatch size (large, so the averages are smooth)

G = nn.Linear(1, 1)
G.weight.data[:] = 0.5
G.bias.data[:] = -1.0
D = nn.Linear(1, 1)                       # returns the logit a*x + c
D.weight.data[:] = 2.0
D.bias.data[:] = 0.0

x_real = tg.Tensor(gaussian_1d(m, g, mu=1.0, sigma=0.5))   # x ~ p_data, shape (m, 1)
z = tg.randn(m, 1, generator=g)                             # z ~ p_z
x_fake = G(z)                                               # G(z) ~ p_g
print("real mean/std:", x_real.mean().item(), x_real.var().sqrt().item())
print("fake mean/std:", x_fake.mean().item(), x_fake.var().sqrt().item())

# %%
grid = np.linspace(-3, 3, 400, dtype=np.float32).reshape(-1, 1)
with tg.no_grad():
    d_on_grid = F.sigmoid(D(tg.tensor(grid))).numpy()

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.hist(x_real.numpy().ravel(), bins=60, density=True, alpha=0.5, label="real x ~ p_data")
ax.hist(x_fake.detach().numpy().ravel(), bins=60, density=True, alpha=0.5, label="fake G(z) ~ p_g")
ax.plot(grid.ravel(), d_on_grid.ravel(), "k", lw=2, label="D(x) = sigmoid(2x)")
ax.set_xlabel("x")
ax.set_ylabel("density / D(x)")
ax.set_title("D calls the right-hand bump real: it is winning this round")
ax.legend()
plt.show()

# %% [markdown]
# ## The value function, term by term
#
# $\log D(x) = \log\sigma(\text{logit})$ and $\log(1 - D(x)) = \log\sigma(-\text{logit})$;
# `F.log_sigmoid` computes both without ever forming $\log 0$.

# %%
logit_real = D(x_real)
logit_fake = D(x_fake)
term_real = F.log_sigmoid(logit_real).mean()     # E_x[log D(x)]         only D affects it
term_fake = F.log_sigmoid(-logit_fake).mean()    # E_z[log(1 - D(G(z)))] D and G affect it
V = term_real + term_fake
print(f"E[log D(x)]          = {term_real.item():+.4f}   (at most 0: reached when D(x) = 1)")
print(f"E[log(1 - D(G(z)))]  = {term_fake.item():+.4f}   (at most 0: reached when D(G(z)) = 0)")
print(f"V(D, G)              = {V.item():+.4f}")

# %% [markdown]
# Where does each term come from? Every real sample contributes $\log D(x_i)$ and every fake
# one $\log(1 - D(G(z_i)))$; the terms are averages of these per-sample numbers.

# %%
fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.3), sharey=True)
axes[0].scatter(x_real.numpy().ravel(), F.log_sigmoid(logit_real).detach().numpy().ravel(), s=3)
axes[0].set_title("real samples: log D(x),\nnear 0 where D is sure", fontsize=10)
axes[0].set_xlabel("x")
axes[0].set_ylabel("contribution to V")
axes[1].scatter(x_fake.detach().numpy().ravel(),
                F.log_sigmoid(-logit_fake).detach().numpy().ravel(), s=3, color="C1")
axes[1].set_title("fake samples: log(1 - D(G(z))),\nworst for fakes near 0", fontsize=10)
axes[1].set_xlabel("G(z)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Each objective is a binary cross-entropy
#
# Label real samples 1 and fakes 0. $D$'s classification loss is exactly $-V$, so
# *maximising $V$ over $D$ is training a classifier*. The generator's saturating loss is the
# second term of $V$; its non-saturating loss is the BCE of the fakes against the label 1.

# %%
ones, zeros = tg.ones(m, 1), tg.zeros(m, 1)
loss_D = (F.binary_cross_entropy_with_logits(logit_real, ones)
          + F.binary_cross_entropy_with_logits(logit_fake, zeros))
loss_G_saturating = term_fake                                         # G minimises log(1 - D(G(z)))
loss_G_non_saturating = F.binary_cross_entropy_with_logits(logit_fake, ones)   # -log D(G(z))
print(f"L_D = {loss_D.item():.4f}   -V = {-V.item():.4f}")
print(f"L_G saturating = {loss_G_saturating.item():.4f}, "
      f"non-saturating = {loss_G_non_saturating.item():.4f}")
assert abs(loss_D.item() + V.item()) < 1e-5

# %% [markdown]
# ### Compute from logits
#
# Apply the sigmoid first and take the log afterwards, and float32 rounds $\sigma(-120)$ to
# exactly 0. `binary_cross_entropy` on the probability then has to clamp $\log 0$ at $-100$
# (as PyTorch does); `binary_cross_entropy_with_logits` computes $\mathrm{softplus}(a) - ta$ and
# gets the true loss, 120.

# %%
a = tg.tensor([[-120.0]])
p = F.sigmoid(a)
print("sigmoid(-120) in float32:", p.item())
print("BCE(p, 1), clamped:       ", F.binary_cross_entropy(p, tg.ones(1, 1)).item())
print("BCE with logits(a, 1):    ", F.binary_cross_entropy_with_logits(a, tg.ones(1, 1)).item())
assert p.item() == 0.0 and F.binary_cross_entropy(p, tg.ones(1, 1)).item() == 100.0
assert abs(F.binary_cross_entropy_with_logits(a, tg.ones(1, 1)).item() - 120.0) < 1e-4

# %% [markdown]
# ## D's best reply among these discriminators
#
# $V$ depends on $D$'s two numbers $(a, c)$. Sweep the slope $a$ (with $c = 0$): $V$ peaks at
# one slope. Chapter 3 shows the best possible discriminator is
# $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$; for these two Gaussians with equal
# widths that is exactly $\sigma(8x)$, since
# $\log \frac{p_\text{data}(x)}{p_g(x)} = \frac{(x + 1)^2 - (x - 1)^2}{2 \cdot 0.5^2} = 8x$.
# A flat $D$ ($a = 0$, so $D = 1/2$ everywhere) gives $V = 2\log\frac12 = -\log 4$, whatever $G$
# does.

# %%
slopes = np.linspace(-1, 16, 171)
values = []
with tg.no_grad():
    for s in slopes:
        v = F.log_sigmoid(float(s) * x_real).mean() + F.log_sigmoid(-float(s) * x_fake).mean()
        values.append(v.item())
values = np.array(values)
best = slopes[values.argmax()]

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(slopes, values)
ax.axhline(-math.log(4), color="gray", ls="--", label="-log 4 (D = 1/2 everywhere)")
ax.axvline(best, color="C3", ls=":", label=f"best slope {best:.1f}")
ax.set_xlabel("slope a of D(x) = sigmoid(a x)")
ax.set_ylabel("V(D, G)")
ax.axvline(8.0, color="k", lw=0.8, label="D* = sigmoid(8x) (chapter 3)")
ax.set_title("D maximises V: the best slope is the optimal D*'s")
ax.legend()
plt.show()
assert abs(values[np.argmin(abs(slopes))] + math.log(4)) < 1e-5   # D = 1/2: V = -log 4
assert abs(best - 8.0) < 1.0          # the sample's best slope is near the analytic 8

# %% [markdown]
# ## One round of the game, by hand
#
# $D$ takes a gradient step *up* $V$ (the fakes are detached: $D$'s step must not move $G$);
# then $G$ takes a gradient step *down* $V$'s second term, with the gradient flowing through
# $D$ into $G$ while $D$ stays fixed.

# %%
def value(D, G, x_real, z):
    return F.log_sigmoid(D(x_real)).mean() + F.log_sigmoid(-D(G(z))).mean()

lr = 0.5
v_start = value(D, G, x_real, z).item()
print(f"start:          V = {v_start:+.4f}")

# D's step: gradient ascent on V, with G's output treated as data
V_d = F.log_sigmoid(D(x_real)).mean() + F.log_sigmoid(-D(G(z).detach())).mean()
D.zero_grad()
V_d.backward()
assert G.weight.grad is None                      # the detach kept G out of D's step
with tg.no_grad():
    for p_ in D.parameters():
        p_.data += lr * p_.grad.data              # ascend
v_after_d = value(D, G, x_real, z).item()
print(f"after D's step: V = {v_after_d:+.4f}  (D went up)")

# G's step: gradient descent on log(1 - D(G(z))), the gradient flowing back through D
loss_G = F.log_sigmoid(-D(G(z))).mean()
G.zero_grad(); D.zero_grad()
loss_G.backward()
with tg.no_grad():
    for p_ in G.parameters():
        p_.data -= lr * p_.grad.data              # descend; D's parameters are not touched
v_after_g = value(D, G, x_real, z).item()
print(f"after G's step: V = {v_after_g:+.4f}  (G went down)")
print(f"G is now x = {G.weight.item():.3f} z {G.bias.item():+.3f}: the fakes moved right, "
      f"towards the data")
assert v_after_d > v_start and v_after_g < v_after_d   # each player moved V its own way
assert G.bias.item() > -1.0                            # the fakes' mean, -1 before, moved right

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **2.1** For a discriminator that outputs $D(x) = 1/2$ everywhere, what is $V(D, G)$? Compute
# it with tinygan (a `D` whose logit is 0) on `x_real` and `z`.

# %%
answer_2_1 = ...   # YOUR CODE: a float

# %%
answer_2_1 = exercise("2.1", answer_2_1)

# %% [markdown]
# **2.2** A minibatch has $D(x_i) = 0.9$ for every real and $D(G(z_i)) = 0.2$ for every fake
# sample. Compute $L_D$, the saturating $L_G$ and the non-saturating $L_G$, as a tuple of three
# floats.

# %%
answer_2_2 = ...   # YOUR CODE: (L_D, L_G_saturating, L_G_non_saturating)

# %%
answer_2_2 = exercise("2.2", answer_2_2)

# %% [markdown]
# **2.3** In float32, what is the smallest integer logit $a$ for which
# `F.sigmoid(tg.tensor([a])).item() == 1.0`? Find it with a loop.

# %%
answer_2_3 = ...   # YOUR CODE: an int

# %%
answer_2_3 = exercise("2.3", answer_2_3)
