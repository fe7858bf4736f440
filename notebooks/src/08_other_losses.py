# %% [markdown]
# # 8. Other losses: WGAN, WGAN-GP, LSGAN, hinge
#
# Companion to [chapters/08_other_losses.md](../chapters/08_other_losses.md). We see why the
# Jensen-Shannon divergence gives no signal between distributions that do not overlap while the
# Wasserstein distance does; train WGAN and WGAN-GP critics and read the distance off them;
# watch the gradient penalty's second derivative at work; compare what each loss sends back
# to the generator; and train a 1-D GAN with every loss.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import functional as F
from tinygan import gradcheck, nn, optim
from tinygan.data import toy
from tinygan.data.batching import DistributionBatches
from tinygan.gan.losses import get_loss, gradient_penalty
from tinygan.gan.models import toy_mlp
from tinygan.gan.trainer import GANTrainer
from tinygan.metrics import theory
from tinygan.run.quick import quick_mode, steps
from tinygan.course import exercise

tg.manual_seed(0)   # layers built without a generator draw from here (fresh per process)

# %% [markdown]
# ## WGAN: the Wasserstein distance
#
# Two narrow bumps, $p_\text{data} = \mathcal{N}(0, 0.05^2)$ and $p_g = \mathcal{N}(\theta, 0.05^2)$.
# Once they stop overlapping the JSD is stuck at $\log 2$, whatever $\theta$: no gradient
# tells $G$ which way to move. The Wasserstein-1 distance between two equal-shaped bumps is
# the distance moved, $|\theta|$.

# %%
grid = np.linspace(-3, 5, 8001)
dx = float(grid[1] - grid[0])
thetas = np.linspace(-2, 4, 121)
p_data_narrow = theory.gaussian_pdf(grid, 0.0, 0.05)
jsd = [theory.js_divergence(p_data_narrow, theory.gaussian_pdf(grid, float(t), 0.05), dx)
       for t in thetas]

fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(thetas, jsd, label="JSD(p_data || p_g)")
ax.plot(thetas, np.abs(thetas), label="W(p_data, p_g) = |theta|")
ax.axhline(math.log(2), color="gray", ls=":", label="log 2")
ax.set_xlabel("theta, the mean of p_g (data at 0)")
ax.set_ylabel("divergence / distance")
ax.set_title("JSD is flat once the supports separate; W keeps pointing home")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## The critic estimates the distance
#
# Fix the "generator" to a shifted copy of the data, $p_g = \mathcal{N}(\theta, 0.5^2)$ with
# $p_\text{data} = \mathcal{N}(0, 0.5^2)$, so $W = |\theta|$ exactly. Train only the critic,
# with each of the two Lipschitz constraints, using tinygan's trainer's discriminator steps,
# and read off the critic's estimate $\mathbb{E}[f(x)] - \mathbb{E}[f(G(z))]$ (minus its loss).
#
# * **WGAN** clips every weight to $[-0.01, 0.01]$: $f$ is $K$-Lipschitz for some unknown
#   small $K$, so it estimates $K \cdot W$: proportional to $|\theta|$, on its own scale.
#   (RMSprop at 5e-4 here, ten times the paper's rate, so the critic settles in a few
#   hundred steps.)
# * **WGAN-GP** penalises $(\|\nabla f\| - 1)^2$: $f$ is (softly) 1-Lipschitz and estimates
#   $W$ itself.

# %%
def train_critic(loss_name, theta, num_steps, seed=0):
    g = tg.Generator(seed)
    shift = nn.Linear(1, 1)                      # G(z) = 0.5 z + theta
    shift.weight.data[:] = 0.5
    shift.bias.data[:] = theta
    _, critic = toy_mlp((1,), z_dim=1, generator=g, hidden_d=(64, 64))
    critic.net[-1].weight.data[:] = 0.0          # start flat: see the note below
    if loss_name == "wgan":
        opt_d = optim.RMSprop(critic.parameters(), lr=5e-4)
    else:
        opt_d = optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    trainer = GANTrainer(shift, critic, get_loss(loss_name), optim.SGD(shift.parameters(), lr=0.0),
                         opt_d, DistributionBatches(lambda n, g: toy.gaussian_1d(n, g, 0.0, 0.5), g),
                         g, z_dim=1, batch_size=256, noise="normal")
    for _ in range(num_steps):
        record = trainer.discriminator_step()
    # the critic's own estimate on a large fresh batch, without the penalty
    real = tg.Tensor(toy.gaussian_1d(4000, tg.Generator(1), 0.0, 0.5))
    fake = tg.Tensor(toy.gaussian_1d(4000, tg.Generator(2), theta, 0.5))
    with tg.no_grad():
        return (critic(real).mean() - critic(fake).mean()).item(), trainer

critic_thetas = [0.5, 1.0, 2.0, 3.0]
estimates = {name: [train_critic(name, t, steps(400, 60))[0] for t in critic_thetas]
             for name in ("wgan", "wgan-gp")}
for name, values in estimates.items():
    print(f"{name:8s} critic estimates:", np.round(values, 4), " true W:", critic_thetas)

fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.3))
t = np.array(critic_thetas)
K = float(np.dot(estimates["wgan"], t) / np.dot(t, t))      # best K for estimate = K |theta|
axes[0].plot(t, estimates["wgan"], "o-", label="critic estimate")
axes[0].plot(t, K * t, "k:", label=f"K |theta|, K = {K:.1e}")
axes[1].plot(t, estimates["wgan-gp"], "o-", label="critic estimate")
axes[1].plot(t, t, "k:", label="W = |theta|")
for ax in axes:
    ax.set_xlabel("theta")
    ax.set_ylabel("E f(real) - E f(fake)")
    ax.legend(fontsize=8)
axes[0].set_title("WGAN (clipped): K times W,\nK tiny and unknown", fontsize=10)
axes[1].set_title("WGAN-GP: close to W itself", fontsize=10)
plt.tight_layout()
plt.show()
assert estimates["wgan"][-1] > estimates["wgan"][0] > 0      # grows with the distance
assert all(abs(e - t) < 0.25 * t for e, t in zip(estimates["wgan-gp"], critic_thetas))

# %% [markdown]
# Why the critics start flat (last layer zero): in 1-D a critic with $|f'| = 1$ is, roughly,
# $\pm x$. A randomly initialised critic that the penalty snaps to slope $+1$ when the real
# data sit to the *left* of the fakes is stuck: turning into $-x$ means passing through slope 0,
# where the penalty costs $\lambda (0 - 1)^2 = 10$, more than the Wasserstein term gains.
# Starting flat, the first steps pick the orientation the data ask for.

# %% [markdown]
# ## WGAN-GP: the penalty's second derivative at work
#
# The penalty is a function of $\nabla_{\hat x} f(\hat x)$; training the critic on it needs
# $\partial / \partial\theta$ of that gradient. The chapter's check on a linear critic with
# $\|w\| = 5$: penalty $(5 - 1)^2 = 16$ and gradient $2(\|w\| - 1)\,w/\|w\|$.

# %%
g = tg.Generator(0)
critic = nn.Linear(2, 1)
critic.weight.data[:] = tg.tensor([[3.0, 4.0]])
real, fake = tg.randn(64, 2, generator=g), tg.randn(64, 2, generator=g)
gp = gradient_penalty(critic, real, fake, g)
gp.backward()
print(f"penalty {gp.item():.4f}; d penalty / dw = {critic.weight.grad.numpy().round(4)} "
      f"(expected {(2 * 4 * np.array([3.0, 4.0]) / 5).round(4)})")

# %% [markdown]
# A nonlinear critic, in float64, checked against finite differences. `penalty_of_weights`
# computes the penalty as a function of the critic's first-layer weights: inside, `tg.grad`
# with `create_graph=True` gives $\nabla_{\hat x} f$ *with a graph*, and `gradcheck` then
# differentiates the penalty through it with respect to the weights. Without
# `create_graph` the input gradient would be a constant and the weights would get no
# gradient from the penalty at all.

# %%
g = tg.Generator(3)
x_hat = tg.randn(8, 2, generator=g, dtype=tg.float64, requires_grad=True)
W1 = tg.randn(16, 2, generator=g, dtype=tg.float64, requires_grad=True)
b1 = tg.randn(16, generator=g, dtype=tg.float64, requires_grad=True)
w2 = tg.randn(1, 16, generator=g, dtype=tg.float64)

def critic_fn(x, W1, b1):
    return F.linear(F.tanh(F.linear(x, W1, b1)), w2)

def penalty_of_weights(W1, b1, create_graph=True):
    out = critic_fn(x_hat, W1, b1)
    (grad_x,) = tg.grad(out.sum(), x_hat, create_graph=create_graph)
    norm = F.sqrt((grad_x * grad_x).sum(axis=1))
    return ((norm - 1) ** 2).mean()

print("gradcheck of the penalty w.r.t. the critic's weights:", gradcheck(penalty_of_weights, [W1, b1]))
no_graph = penalty_of_weights(W1, b1, create_graph=False)
print("without create_graph the penalty still has a value,", round(no_graph.item(), 4),
      "but requires_grad =", no_graph.requires_grad, ": the critic could not learn from it")

# %% [markdown]
# In training, the penalty does its job: on the interpolates $\hat x$ the critic's gradient
# norm is pulled towards 1. Compare the WGAN-GP critic trained above with a critic trained on
# the same loss without the penalty (a plain WGAN critic with no clipping, whose scores are
# free to grow).

# %%
def interpolate_grad_norms(critic, theta):
    g = tg.Generator(4)
    real = tg.Tensor(toy.gaussian_1d(512, g, 0.0, 0.5))
    fake = tg.Tensor(toy.gaussian_1d(512, g, theta, 0.5))
    e = tg.Tensor(g.uniform((512, 1)))
    x = (e * real + (1 - e) * fake).requires_grad_(True)
    (grad_x,) = tg.grad(critic(x).sum(), x)
    return np.abs(grad_x.numpy().ravel())

_, gp_trainer = train_critic("wgan-gp", 2.0, steps(400, 60))
unclipped = get_loss("wgan", clip_value=None)
g = tg.Generator(0)
_, free_critic = toy_mlp((1,), z_dim=1, generator=g, hidden_d=(64, 64))
opt = optim.Adam(free_critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
for _ in range(steps(400, 60)):
    real = tg.Tensor(toy.gaussian_1d(256, g, 0.0, 0.5))
    fake = tg.Tensor(toy.gaussian_1d(256, g, 2.0, 0.5))
    loss = unclipped.d_loss(free_critic(real), free_critic(fake))
    opt.zero_grad()
    loss.backward()
    opt.step()

norms_gp = interpolate_grad_norms(gp_trainer.D, 2.0)
norms_free = interpolate_grad_norms(free_critic, 2.0)
fig, ax = plt.subplots(figsize=(6.5, 3.3))
ax.hist(norms_free, bins=40, alpha=0.6, label=f"no penalty: mean {norms_free.mean():.2f}")
ax.hist(norms_gp, bins=40, alpha=0.6, label=f"with penalty: mean {norms_gp.mean():.2f}")
ax.axvline(1.0, color="k", ls=":", label="target norm 1")
ax.set_xlabel("|df/dx| at random interpolates between real and fake")
ax.set_ylabel("count")
ax.set_title("The gradient penalty pulls the critic's slope to 1")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## What each loss sends back to the generator
#
# $G$ learns only through $\partial L_G / \partial(\text{D's output})$. Autograd gives it for
# each loss as a function of $D$'s raw output on a fake (a logit for minimax and
# non-saturating, a score for the others). Where the fake is judged clearly fake (left),
# minimax's gradient vanishes; LSGAN's *grows*; WGAN and hinge send a constant.

# %%
scores = tg.tensor(np.linspace(-6, 6, 241, dtype=np.float32).reshape(-1, 1), requires_grad=True)
fig, ax = plt.subplots(figsize=(7, 3.8))
for name in ("minimax", "ns", "wgan", "lsgan", "hinge"):
    scores.grad = None
    # g_loss is a mean over the batch: scale by the batch size for per-sample gradients
    (get_loss(name).g_loss(scores) * scores.shape[0]).backward()
    ax.plot(scores.detach().numpy().ravel(), scores.grad.numpy().ravel(),
            ls="--" if name == "hinge" else "-", label=name + (" (same as wgan)" if name == "hinge" else ""))
ax.set_xlabel("D's raw output on a fake (logit or score); left = judged fake")
ax.set_ylabel("dL_G / d(output)")
ax.set_title("Which losses still push G when D rejects its samples")
ax.set_ylim(-8, 2)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Every loss on the 1-D Gaussian
#
# The same small MLPs and data, each loss with its paper's settings (WGAN: RMSprop 5e-5 and
# 5 critic steps; WGAN-GP: Adam 1e-4, 5 critic steps, $\lambda = 10$, with $\beta = (0.5, 0.9)$
# from the authors' toy-data script, as in tinygan's command line (the paper's Algorithm 1 has
# $\beta = (0, 0.9)$, chapter 8); others Adam 1e-3, $\beta_1 = 0.5$). Same number of
# generator steps for each; the JSD between the data and a kernel density estimate of the
# samples says how close each got.

# %%
SETTINGS = {
    "minimax": dict(opt="adam", lr=1e-3, betas=(0.5, 0.999), d_steps=1),
    "ns": dict(opt="adam", lr=1e-3, betas=(0.5, 0.999), d_steps=1),
    "wgan": dict(opt="rmsprop", lr=5e-5, d_steps=5),
    "wgan-gp": dict(opt="adam", lr=1e-4, betas=(0.5, 0.9), d_steps=5),
    "lsgan": dict(opt="adam", lr=1e-3, betas=(0.5, 0.999), d_steps=1),
    "hinge": dict(opt="adam", lr=1e-3, betas=(0.5, 0.999), d_steps=1),
}
xs = np.linspace(0, 8, 801)
p_data = theory.gaussian_pdf(xs, 4.0, 0.5)

def make_opt(params, s):
    if s["opt"] == "rmsprop":
        return optim.RMSprop(params, lr=s["lr"])
    return optim.Adam(params, lr=s["lr"], betas=s["betas"])

results, critics = {}, {}
for name, s in SETTINGS.items():
    g = tg.Generator(0)
    G, D = toy_mlp((1,), z_dim=1, generator=g, hidden_g=(32, 32), hidden_d=(64, 64))
    trainer = GANTrainer(G, D, get_loss(name), make_opt(G.parameters(), s), make_opt(D.parameters(), s),
                         DistributionBatches(toy.gaussian_1d, g), g, z_dim=1, batch_size=128,
                         d_steps=s["d_steps"], noise="uniform")
    trainer.train(steps(1500, 40), progress=False)
    samples = trainer.sample(5000, generator=tg.Generator(9)).numpy().ravel()
    # the JSD on a grid that covers the data AND the samples: a G that has drifted off the
    # plotted range [0, 8] gets its true JSD (near log 2 = 0.693), not a density of 0 there
    grid = np.arange(min(0.0, samples.min() - 2.0), max(8.0, samples.max() + 2.0), 0.01)
    results[name] = (samples, theory.js_divergence(theory.gaussian_pdf(grid, 4.0, 0.5),
                                                   theory.kde_pdf(samples, grid), 0.01))
    critics[name] = D

fig, axes = plt.subplots(3, 2, figsize=(8.5, 7.6), sharex=True)
for ax, (name, (samples, j)) in zip(axes.ravel(), results.items()):
    ax.hist(np.clip(samples, 0, 8), bins=60, range=(0, 8), density=True, alpha=0.6,
            label="G's samples (clipped to the plot)")
    ax.plot(xs, p_data, "k:", label="p_data")
    ax.set_title(f"{name}: JSD {j:.3f}", fontsize=10)
for ax in axes[-1]:
    ax.set_xlabel("x")
axes[0, 0].legend(fontsize=7)
fig.suptitle("The same GAN with each loss, after the same number of G steps", fontsize=11)
plt.tight_layout()
plt.show()

# WGAN-GP's critic after training: its mean slope between the fakes' mean and the data's (4),
# beside what the one-dimensional picture below predicts, -1 + gap / (2 lambda)
fake_mean = float(results["wgan-gp"][0].mean())
with tg.no_grad():
    ends = critics["wgan-gp"](tg.tensor([[fake_mean], [4.0]])).numpy().ravel()
gap = 4.0 - fake_mean
gp_slope = float(ends[1] - ends[0]) / gap
print(f"fakes' mean {fake_mean:.2f}, gap {gap:.2f}: the critic's slope {gp_slope:.2f}, "
      f"the trapped minimum -1 + gap/20 = {-1 + gap / 20:.2f}")
if not quick_mode():   # the text below, on the full run: G far from the data, the slope trapped
    assert results["wgan-gp"][1] > 0.6 and fake_mean < 0, results["wgan-gp"][1]
    assert gp_slope < 0 and abs(gp_slope - (-1 + gap / 20)) < 0.25, (gp_slope, gap)

# %% [markdown]
# One panel needs a second look. In this run WGAN-GP's generator has walked *away* from the
# data: its samples sit below x = 0, off the plot (the bar at 0 is all of them, clipped), and
# its JSD is log 2 = 0.693, the value for disjoint supports. The critic above shows why: its
# slope is negative, so it scores the fakes' side higher than the data's, and G, climbing f,
# moves left.
#
# That is the gradient penalty at work, in one dimension. On a line a critic between the
# fakes and the data is roughly f(x) = s x, and its loss is about
#
# $$L(s) = -\Delta\, s + \lambda (|s| - 1)^2,$$
#
# with $\Delta$ the gap between the data's mean and the fakes' (about 4 at the start) and
# $\lambda = 10$. For $s > 0$ its minimum is at $s = 1 + \Delta / 2\lambda$ (1.2 at the
# start), the critic we want; but for $s < 0$ there is a second minimum at
# $s = -1 + \Delta / 2\lambda$ (-0.8 at the start), and between them, at $s = 0$, the
# penalty costs its full $\lambda$. A critic that starts with a negative slope descends into
# the wrong minimum and stays there; as G walks away, $\Delta$ grows and the trapped slope
# flattens, as the line printed above measures at step 1,500. In two or more dimensions
# a gradient can turn from one direction to another while keeping its norm near 1, so this
# trap is a feature of the line, not of WGAN-GP in general. The trap exists only when
# $\lambda > \Delta / 2$ (then L's slope just left of 0, $-\Delta + 2\lambda$, is positive).
# Exercise: rerun this cell with `get_loss("wgan-gp", gp_lambda=1.0)`, below that bound,
# and watch where G's samples go.

# %% [markdown]
# Read this as a picture of what each loss does on this problem, not as a ranking. It is one
# seed, and the settings differ by more than the loss: WGAN's learning rate (5e-5) is 20 times
# smaller than most of the others' (1e-3), and WGAN and WGAN-GP take 5 critic steps per
# generator step. Lucic et al. (2018, "Are GANs Created Equal? A Large-Scale Study", NeurIPS)
# trained many losses with the same budget of hyperparameter search and many seeds, and found
# that most of them reach similar scores: the differences between runs of one loss (seeds,
# learning rates) were as large as the differences between losses. To compare two losses
# here, rerun this cell with several seeds and give each loss its own learning-rate search.

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **8.1** For a linear critic $f(x) = w^\top x + b$ with $w = (1, 1)$, what is the gradient
# penalty $(\|\nabla_x f\| - 1)^2$? Compute it with `gradient_penalty`.

# %%
answer_8_1 = ...   # YOUR CODE: a float

# %%
answer_8_1 = exercise("8.1", answer_8_1)

# %% [markdown]
# **8.2** For LSGAN with codes $a = 0$ (fake), $b = 1$ (real), the optimal $D$ is
# $D^*(x) = \frac{b\,p_\text{data} + a\,p_g}{p_\text{data} + p_g}$. What is $D^*$ where
# $p_\text{data} = 3 p_g$?

# %%
answer_8_2 = ...   # YOUR CODE: a float

# %%
answer_8_2 = exercise("8.2", answer_8_2)

# %% [markdown]
# **8.3** A hinge discriminator outputs $D(x) = 2.5$ on a real sample and $D(G(z)) = -0.4$ on
# a fake one. What is its loss on this pair, and which of the two samples sends it a gradient?
# Answer `(loss, "real" or "fake")`.

# %%
answer_8_3 = ...   # YOUR CODE: (loss, "real" or "fake")

# %%
answer_8_3 = exercise("8.3", answer_8_3)
