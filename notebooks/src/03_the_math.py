# %% [markdown]
# # 3. The math: optimal discriminator, Jensen-Shannon divergence, Algorithm 1
#
# Companion to [chapters/03_the_math.md](../chapters/03_the_math.md). On 1-D data, where
# every density can be drawn, we
#
# 1. train a discriminator against a *fixed* generator and watch it approach the analytic
#    $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$;
# 2. check numerically that $C(G) = \max_D V(D, G) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data} \| p_g)$;
# 3. run Algorithm 1 with tinygan's trainer and redraw Goodfellow et al.'s Figure 1;
# 4. compare the saturating and non-saturating generator losses.

# %%
import inspect
import math

import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import functional as F
from tinygan import nn, optim
from tinygan.data import toy
from tinygan.data.batching import DistributionBatches
from tinygan.gan.losses import MinimaxLoss, NonSaturatingLoss
from tinygan.gan.models import toy_mlp
from tinygan.gan.trainer import GANTrainer
from tinygan.metrics import theory
from tinygan.run.quick import quick_mode, steps
from tinygan.course import exercise

tg.manual_seed(0)   # layers built without a generator draw from here (fresh per process)

MU, SIGMA = 4.0, 0.5                      # p_data = N(4, 0.5^2): toy.gaussian_1d's default
xs = np.linspace(0.0, 8.0, 801)           # the grid every density is drawn on
dx = float(xs[1] - xs[0])
p_data = theory.gaussian_pdf(xs, MU, SIGMA)

# %% [markdown]
# ## Step 1: the optimal discriminator
#
# Pointwise, $f(y) = a\log y + b\log(1 - y)$ is largest at $y = a/(a + b)$; with
# $a = p_\text{data}(x)$ and $b = p_g(x)$ that is $D^*(x)$. To see a real discriminator get
# there, fix the generator to $G(z) = 0.8z + 3$ with $z \sim \mathcal{N}(0, 1)$, so
# $p_g = \mathcal{N}(3, 0.8^2)$ is known exactly, and run only the discriminator steps of
# tinygan's trainer (the inner loop of Algorithm 1).

# %%
g = tg.Generator(0)
G_fixed = nn.Linear(1, 1)
G_fixed.weight.data[:] = 0.8
G_fixed.bias.data[:] = 3.0
_, D = toy_mlp((1,), z_dim=1, generator=g, hidden_d=(64, 64))
fixed_G_trainer = GANTrainer(
    G_fixed, D, NonSaturatingLoss(),
    opt_g=optim.SGD(G_fixed.parameters(), lr=0.0),          # never used: no G steps here
    opt_d=optim.Adam(D.parameters(), lr=3e-3, betas=(0.5, 0.999)),
    real_data=DistributionBatches(toy.gaussian_1d, g), generator=g,
    z_dim=1, batch_size=512, noise="normal")

p_g_fixed = theory.gaussian_pdf(xs, 3.0, 0.8)
d_star_fixed = theory.optimal_discriminator(p_data, p_g_fixed)
for _ in range(steps(600, 200)):
    fixed_G_trainer.discriminator_step()      # real batch and detached fakes, one Adam step
d_trained = fixed_G_trainer.discriminator_output(tg.tensor(xs.astype(np.float32)[:, None]))
d_trained = d_trained.numpy().ravel()
where_mass = (p_data + p_g_fixed) > 0.05             # where the samples D learns from lie
gap = float(np.abs(d_trained - d_star_fixed)[where_mass].max())
print(f"max |D - D*| where p_data + p_g > 0.05: {gap:.3f}")

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(xs, p_data, color="k", ls=":", label="p_data = N(4, 0.5^2)")
ax.plot(xs, p_g_fixed, color="C2", label="p_g = N(3, 0.8^2) (G fixed)")
ax.plot(xs, d_star_fixed, color="C3", lw=2, label="analytic D* = p_data / (p_data + p_g)")
ax.plot(xs, d_trained, color="C0", ls="--", lw=2, label="trained D(x)")
ax.fill_between(xs, 0, 1.05, where=where_mass, color="gray", alpha=0.1,
                label="where p_data + p_g > 0.05")
ax.set_xlabel("x")
ax.set_ylabel("density / probability real")
ax.set_title("Trained against a fixed G, D approaches D*")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# (Outside the data and the fakes, where $p_\text{data} + p_g \approx 0$, no sample ever
# reaches $D$ and its value there is arbitrary; $D^*$ is only defined where the densities are.)
#
# ## Step 2: the value at the optimum is a Jensen-Shannon divergence
#
# Plug $D^*$ into $V$ and the game becomes $C(G) = -\log 4 + 2\,\mathrm{JSD}$. Check it on the
# grid for a family of generators $p_g = \mathcal{N}(b, 0.8^2)$, sliding $b$ across the data:
# `theory.value_function` integrates $V(D^*, G)$ directly, `theory.value_at_optimum` computes
# $-\log 4 + 2\,\mathrm{JSD}$. And no other discriminator does better: the trained $D$ above
# gives a smaller $V$ than $D^*$ for the same $G$. (The two agree to about $10^{-4}$:
# `value_function` clips $D$ to $[10^{-12}, 1 - 10^{-12}]$ to avoid $\log 0$, which costs a
# little where $p_g$ sits far from the data and $D^*$ is smaller than that.)

# %%
shifts = np.linspace(1.0, 7.0, 31)
c_direct, c_jsd = [], []
for b in shifts:
    p_g = theory.gaussian_pdf(xs, float(b), 0.8)
    d_star = theory.optimal_discriminator(p_data, p_g)
    c_direct.append(theory.value_function(p_data, p_g, d_star, dx))
    c_jsd.append(theory.value_at_optimum(p_data, p_g, dx))
c_direct, c_jsd = np.array(c_direct), np.array(c_jsd)
print(f"largest difference between the two: {np.abs(c_direct - c_jsd).max():.1e}")
assert np.abs(c_direct - c_jsd).max() < 1e-3

v_trained = theory.value_function(p_data, p_g_fixed, d_trained, dx)
c_fixed = theory.value_at_optimum(p_data, p_g_fixed, dx)
print(f"G = N(3, 0.8^2): V(trained D) = {v_trained:.4f} <= C(G) = V(D*) = {c_fixed:.4f}")
assert v_trained <= c_fixed + 1e-9

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(shifts, c_direct, lw=4, alpha=0.4, label="V(D*, G), integrated on the grid")
ax.plot(shifts, c_jsd, "k--", label="-log 4 + 2 JSD(p_data || p_g)")
ax.axhline(-math.log(4), color="gray", ls=":", label="-log 4")
ax.axhline(0.0, color="gray", lw=0.5)
ax.set_xlabel("mean b of p_g = N(b, 0.8^2)   (data mean 4)")
ax.set_ylabel("C(G)")
ax.set_title("C(G) = -log 4 + 2 JSD: lowest where p_g overlaps p_data most")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Step 3: the global optimum
#
# $\mathrm{JSD} \ge 0$, with equality only when $p_g = p_\text{data}$. There
# $D^* = 1/2$ everywhere and $C(G) = -\log 4$. (In the sweep above $C$ never quite reaches
# $-\log 4$: the family's width 0.8 is not the data's 0.5.)

# %%
d_star_equal = theory.optimal_discriminator(p_data, p_data)
print("D* when p_g = p_data: min", d_star_equal.min(), "max", d_star_equal.max())
print(f"C(G) at p_g = p_data: {theory.value_at_optimum(p_data, p_data, dx):.6f}, "
      f"-log 4 = {-math.log(4):.6f}")
print(f"JSD for disjoint supports: {theory.js_divergence(theory.gaussian_pdf(xs, 1, 0.1), p_data, dx):.4f}, "
      f"log 2 = {math.log(2):.4f}")

# %% [markdown]
# ## Algorithm 1, and the paper's Figure 1
#
# tinygan's trainer is Algorithm 1: $k$ discriminator steps (fakes detached), then one
# generator step (the gradient flows through $D$, only $G$'s optimiser steps). Here is the
# step itself:

# %%
print(inspect.getsource(GANTrainer.train_step))

# %% [markdown]
# Now both players learn. $G$ is a small MLP fed with uniform noise, as in Figure 1. At a few
# points of training we draw what the figure draws: the data density (black dots), the
# generator's density (green, estimated from samples with a kernel density estimate), the
# discriminator (blue dashes), and the $D^*$ it should approach for the current $G$ (red).

# %%
g = tg.Generator(0)
G, D = toy_mlp((1,), z_dim=1, generator=g, hidden_g=(32, 32), hidden_d=(64, 64))
trainer = GANTrainer(
    G, D, NonSaturatingLoss(),
    opt_g=optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999)),
    opt_d=optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999)),
    real_data=DistributionBatches(toy.gaussian_1d, g), generator=g,
    z_dim=1, batch_size=128, d_steps=1, noise="uniform")

def figure1_panel(trainer):
    samples = trainer.sample(10_000, generator=tg.Generator(123)).numpy().ravel()
    p_g = theory.kde_pdf(samples, xs)
    d = trainer.discriminator_output(tg.tensor(xs.astype(np.float32)[:, None])).numpy().ravel()
    d_star = theory.optimal_discriminator(p_data, p_g)
    d_star[(p_data + p_g) < 0.01] = np.nan     # D* means nothing where neither density is
    return {"step": trainer.step, "p_g": p_g, "d": d, "d_star": d_star,
            "jsd": theory.js_divergence(p_data, p_g, dx)}

panels = [figure1_panel(trainer)]
for target in [steps(n, q) for n, q in ((300, 60), (1000, 150), (3000, 400))]:
    trainer.train(target, progress=False)
    panels.append(figure1_panel(trainer))

fig, axes = plt.subplots(2, 2, figsize=(8.5, 6.4), sharex=True, sharey=True)
for ax, panel in zip(axes.flat, panels):
    ax.plot(xs, p_data, "k:", lw=2, label="p_data")
    ax.plot(xs, panel["p_g"], "C2", label="p_g (KDE of samples)")
    ax.plot(xs, panel["d"], "C0--", lw=2, label="D(x)")
    ax.plot(xs, panel["d_star"], "C3", lw=1, label="D* for this G")
    ax.axhline(0.5, color="gray", lw=0.5)
    ax.set_ylim(0, 1.6)                        # a collapsed p_g's spike is cut off at the top
    ax.set_title(f"step {panel['step']}: JSD = {panel['jsd']:.3f}")
for ax in axes[1]:
    ax.set_xlabel("x")
for ax in axes[:, 0]:
    ax.set_ylabel("density / D(x)")
axes[0, 0].legend(fontsize=7, loc="upper left")
fig.suptitle("Figure 1 on 1-D data: p_g slides onto p_data\nand D flattens towards 1/2")
plt.tight_layout()
plt.show()
print("JSD at the snapshots:", [round(p["jsd"], 4) for p in panels])
assert panels[-1]["jsd"] < panels[0]["jsd"]

# %% [markdown]
# Look closely at the last panel. $D$ is nearly flat at $1/2$, yet $p_g$ is not exactly
# $p_\text{data}$, and the $D^*$ for this $G$ (red) still sees the differences at the edges.
# A finite network trained by small alternating steps is not the optimal discriminator the
# theory assumes, and $G$ only learns what $D$ can see: this is the gap between Step 1's
# guarantee and practice that chapters 7 and 8 are about.

# %% [markdown]
# ### Closing the gap: what it takes for $D$ to track $D^*$
#
# Three things in the run above keep $D$ away from $D^*$, and `tinygan train --data gauss1d`
# changes all three:
#
# - **Normal noise instead of uniform.** $G(z)$ for bounded $z$ has a bounded support, so in
#   the data's tails $p_g = 0$ and $D^* = 1$: no smooth $D$ sits there while also being near
#   $1/2$ in the middle. With normal noise, $x = 4 + 0.5z$ is within $G$'s reach.
# - **$k = 5$ discriminator steps per generator step**, Algorithm 1's $k$: $D$ re-converges
#   after every move of $G$.
# - **Smooth units (tanh) in both networks.** A ReLU network is a piecewise-linear map, so the
#   density it pushes forward jumps at every kink, and so does $D^*$; a smooth $D$ cannot follow
#   jumps. A tanh $G$ pushes the noise forward into a smooth density.
#
# The recipe's learning rates also decay linearly to 0, so $G$ stops moving at the end and $D$
# is judged against the $G$ it was trained on.

# %%
from tinygan.gan.build import build_trainer, make_config
from tinygan.gan.evaluate import evaluate_1d

config = make_config("gauss1d", loss="ns", model="mlp", seed=0, steps=steps(3000, 150))
print({k: config[k] for k in ("noise", "d_steps", "lr_g", "lr_d", "lr_decay", "model_options")})
recipe = build_trainer(config)
recipe.train(config["steps"], progress=False)
metrics, curves = evaluate_1d(recipe)

fig, ax = plt.subplots(figsize=(7, 3.6))
ax.plot(curves["xs"], curves["p_data"], "k:", lw=2, label="p_data")
ax.plot(curves["xs"], curves["p_g"], "C2", label="p_g (KDE of samples)")
ax.plot(curves["xs"], curves["d"], "C0--", lw=2, label="D(x)")
ax.plot(curves["xs"], curves["d_star"], "C3", lw=1, label="D* for this G")
ax.axvspan(MU - 2 * SIGMA, MU + 2 * SIGMA, color="gray", alpha=0.1, label="mu +- 2 sigma")
ax.set_ylim(0, 1.2)
ax.set_xlabel("x")
ax.set_title(f"gauss1d recipe, step {recipe.step}: "
             f"max |D - D*| on mu +- 2 sigma = {metrics['max_abs_d_minus_dstar_2sigma']:.3f}")
ax.legend(fontsize=7, loc="upper left")
plt.show()
print(f"max |D - D*| on mu +- 2 sigma: {metrics['max_abs_d_minus_dstar_2sigma']:.3f} "
      f"(on mu +- 3 sigma: {metrics['max_abs_d_minus_dstar_3sigma']:.3f}), "
      f"JSD {metrics['js_divergence']:.4f}, G's mean {metrics['g_mean']:.2f}, "
      f"std {metrics['g_std']:.2f}")
if not quick_mode():   # the text below: within 0.05 over the data's body, larger further out
    assert metrics["max_abs_d_minus_dstar_2sigma"] <= 0.05, metrics
    assert metrics["max_abs_d_minus_dstar_3sigma"] > metrics["max_abs_d_minus_dstar_2sigma"]

# %% [markdown]
# Over five seeds this recipe ends with $\max|D - D^*| \le 0.05$ on $\mu \pm 2\sigma$
# (`benchmarks/RESULTS_quality.md`); the same recipe with ReLU units ends at 0.18 on average.
# Further out, where both densities are below a tenth of their peak, $D^*$ rests on a handful
# of samples and $D$ on almost no training data, and the gap is larger.

# %% [markdown]
# The losses and $D$'s mean outputs over training, as the trainer records them. At the
# optimum $D(x) = D(G(z)) = 1/2$ and $D$'s loss is $\log 4 \approx 1.386$.

# %%
h = trainer.history
fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.2))
axes[0].plot(h["d_loss"], label="D loss")
axes[0].plot(h["g_loss"], label="G loss (non-saturating)")
axes[0].axhline(math.log(4), color="gray", ls="--", label="log 4")
axes[0].set_xlabel("step")
axes[0].set_ylabel("loss")
axes[0].set_title("Losses settle near the equilibrium values")
axes[0].legend(fontsize=8)
axes[1].plot(h["d_real"], label="mean D(x), real")
axes[1].plot(h["d_fake"], label="mean D(G(z)), fake")
axes[1].axhline(0.5, color="gray", ls="--")
axes[1].set_xlabel("step")
axes[1].set_ylabel("D output")
axes[1].set_title("D's verdicts on real and fake\nconverge towards 1/2")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Saturating vs non-saturating generator loss
#
# At a confidently rejected fake (logit $a = -6$) the saturating loss $\log(1 - \sigma(a))$
# sends back $-\sigma(a) \approx -0.0025$; the non-saturating $-\log\sigma(a)$ sends back
# $-(1 - \sigma(a)) \approx -1$. Autograd agrees:

# %%
a = tg.tensor(np.linspace(-8, 8, 161, dtype=np.float32), requires_grad=True)
F.log_sigmoid(-a).sum().backward()          # saturating: log(1 - sigmoid(a)) = log_sigmoid(-a)
grad_saturating = a.grad.numpy().copy()
a.grad = None
(-F.log_sigmoid(a)).sum().backward()        # non-saturating: -log sigmoid(a)
grad_non_saturating = a.grad.numpy().copy()

fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(a.detach().numpy(), grad_saturating, label="saturating: d/da log(1 - D) = -sigmoid(a)")
ax.plot(a.detach().numpy(), grad_non_saturating, label="non-saturating: d/da -log D = -(1 - sigmoid(a))")
ax.axvspan(-8, -3, color="gray", alpha=0.15, label="D confidently rejects the fake")
ax.set_xlabel("logit a = logit D(G(z))")
ax.set_ylabel("gradient sent to G")
ax.set_title("Where G is worst, only the non-saturating loss gives a gradient")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# The same in training. Start both runs from the same state: $G$'s samples near 0, far from
# the data, and a discriminator trained for 150 steps so it rejects them confidently
# ($D(G(z)) \approx 0.01$). Then train with each generator loss; $G$ uses plain SGD so the
# size of its gradient is the size of its step (Adam would rescale it and hide the effect).

# %%
def run_from_confident_D(loss, num_steps):
    g = tg.Generator(1)
    G, D = toy_mlp((1,), z_dim=1, generator=g, hidden_g=(32, 32), hidden_d=(64, 64))
    trainer = GANTrainer(G, D, loss, opt_g=optim.SGD(G.parameters(), lr=0.01),
                         opt_d=optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                         real_data=DistributionBatches(toy.gaussian_1d, g), generator=g,
                         z_dim=1, batch_size=128, noise="uniform")
    for _ in range(150):
        trainer.discriminator_step()
    sample_means = []
    for _ in range(num_steps):
        trainer.train_step()
        sample_means.append(float(trainer.sample(500, generator=tg.Generator(5)).numpy().mean()))
    return trainer.history, sample_means

runs = {name: run_from_confident_D(loss, steps(200, 100))
        for name, loss in (("saturating", MinimaxLoss()), ("non-saturating", NonSaturatingLoss()))}

fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.3))
for name, (history, means) in runs.items():
    axes[0].semilogy(history["grad_norm_g"], label=name)
    axes[1].plot(means, label=name)
axes[0].set_xlabel("step")
axes[0].set_ylabel("||grad of G's loss||")
axes[0].set_title("The saturating loss starts ~100x weaker")
axes[1].axhline(MU, color="k", ls=":", label="data mean 4")
axes[1].set_xlabel("step")
axes[1].set_ylabel("mean of G's samples")
axes[1].set_title("...and G barely moves;\nnon-saturating G reaches the data")
for ax in axes:
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
ratio = runs["non-saturating"][0]["grad_norm_g"][0] / runs["saturating"][0]["grad_norm_g"][0]
print(f"first-step gradient ratio, non-saturating / saturating: {ratio:.0f}")
assert ratio > 20

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **3.1** Maximise $f(y) = 3\log y + \log(1 - y)$ on $(0, 1)$: give `(y_best, f_best)`.
# (Numerically, e.g. on a fine grid, or by hand.)

# %%
answer_3_1 = ...   # YOUR CODE: (y_best, f_best)

# %%
answer_3_1 = exercise("3.1", answer_3_1)

# %% [markdown]
# **3.2** $p_\text{data}$ is uniform on $[0, 1]$ and $p_g$ uniform on $[0, 2]$. Compute
# $C(G)$, by hand or with `theory.value_at_optimum` on a grid.

# %%
answer_3_2 = ...   # YOUR CODE: a float

# %%
answer_3_2 = exercise("3.2", answer_3_2)

# %% [markdown]
# **3.3** At logit $a = -10$, what is the ratio of the non-saturating to the saturating
# gradient magnitude? Compute it with tinygan's autograd.

# %%
answer_3_3 = ...   # YOUR CODE: a float

# %%
answer_3_3 = exercise("3.3", answer_3_3)
