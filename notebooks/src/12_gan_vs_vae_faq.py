# %% [markdown]
# # 12. GAN vs VAE, and the questions learners ask
#
# Companion to [chapters/12_gan_vs_vae_faq.md](../chapters/12_gan_vs_vae_faq.md). We train a
# small variational autoencoder and a GAN on the same 2-D ring and compare their samples with
# mode coverage; then we answer the FAQ with code: when to detach, what a NaN looks like,
# BatchNorm's mode at sampling time, and what makes a run reproducible.

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import functional as F
from tinygan import nn, optim
from tinygan.gan.build import build_trainer, make_config
from tinygan.data import toy
from tinygan.data.batching import DistributionBatches
from tinygan.gan.losses import get_loss
from tinygan.gan.models import pacgan_mlp, toy_mlp
from tinygan.gan.trainer import GANTrainer, TrainingDiverged
from tinygan.metrics.mode_coverage import mode_coverage
from tinygan.run.quick import quick_mode, steps
from tinygan.course import exercise

MODES, STD = toy.ring_modes(), toy.RING_STD

# %% [markdown]
# ## A VAE: encoder, decoder, one objective
#
# The encoder maps $x$ to $(\mu, \log\sigma^2)$ of $q(z \mid x)$; a code is drawn with the
# reparameterisation $z = \mu + \sigma \odot \epsilon$ so the gradient flows through the draw;
# the decoder maps $z$ back to the mean of a Gaussian $p(x \mid z)$ with fixed variance
# $s^2$. The loss is the negative ELBO: reconstruction error plus
# $\mathrm{KL}(q(z \mid x) \| \mathcal{N}(0, I)) = \tfrac12\sum(\mu^2 + \sigma^2 - 1 - \log\sigma^2)$.
# No discriminator, no game.

# %%
class VAE(nn.Module):
    def __init__(self, data_dim=2, z_dim=2, hidden=128, generator=None):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(data_dim, hidden, generator=generator), nn.ReLU(),
                                     nn.Linear(hidden, hidden, generator=generator), nn.ReLU(),
                                     nn.Linear(hidden, 2 * z_dim, generator=generator))
        self.decoder = nn.Sequential(nn.Linear(z_dim, hidden, generator=generator), nn.ReLU(),
                                     nn.Linear(hidden, hidden, generator=generator), nn.ReLU(),
                                     nn.Linear(hidden, data_dim, generator=generator))
        self.z_dim = z_dim

    def negative_elbo(self, x, generator, decoder_std=0.1):
        stats = self.encoder(x)
        mu, log_var = stats[:, :self.z_dim], stats[:, self.z_dim:]
        eps = tg.Tensor(generator.normal(mu.shape))
        z = mu + F.exp(0.5 * log_var) * eps                 # reparameterisation
        reconstruction = ((self.decoder(z) - x) ** 2).sum(axis=1) / (2 * decoder_std ** 2)
        kl = 0.5 * (mu * mu + F.exp(log_var) - 1 - log_var).sum(axis=1)
        return (reconstruction + kl).mean()

    def sample(self, n, generator):
        with tg.no_grad():
            return self.decoder(tg.Tensor(generator.normal((n, self.z_dim))))

g = tg.Generator(0)
vae = VAE(generator=g)
opt = optim.Adam(vae.parameters(), lr=1e-3)
elbo_curve = []
for step in range(steps(3000, 100)):
    loss = vae.negative_elbo(tg.Tensor(toy.sample_ring(256, g)), g)
    opt.zero_grad()
    loss.backward()
    opt.step()
    elbo_curve.append(-loss.item())

# %% [markdown]
# Two GANs on the same data. First a plain, untuned GAN (a small MLP pair, 16-D noise, a
# one-sample discriminator, constant learning rate 2e-4) for the same number of steps as the
# VAE. Then tinygan's ring recipe (`tinygan train --data ring`, chapter 7): a packed
# discriminator (PacGAN), 2-D noise and a learning rate decaying to 0 over 20,000 steps.

# %%
g = tg.Generator(0)
G, D = toy_mlp((2,), z_dim=16, generator=g)
plain_gan = GANTrainer(G, D, get_loss("ns"), optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                       optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                       DistributionBatches(toy.sample_ring, g), g, z_dim=16, batch_size=256)
plain_gan.train(steps(3000, 100), progress=False)

recipe_gan = build_trainer(make_config("ring", "ns", "mlp", seed=0, steps=steps(20000, 100)))
recipe_gan.train(recipe_gan.config["steps"], progress=False)

samples = {"VAE": vae.sample(2500, tg.Generator(9)).numpy(),
           "plain, untuned GAN": plain_gan.sample(2500, generator=tg.Generator(9)).numpy(),
           "GAN, tinygan's ring recipe": recipe_gan.sample(2500, generator=tg.Generator(9)).numpy()}
fig, axes = plt.subplots(2, 2, figsize=(9, 8.8))
axes = axes.ravel()
axes[0].plot(elbo_curve)
axes[0].set_xlabel("step")
axes[0].set_ylabel("ELBO (higher is better)")
axes[0].set_title("A VAE has one objective to watch")
scores = {}
for ax, (name, s) in zip(axes[1:], samples.items()):
    score = scores[name] = mode_coverage(s, MODES, STD)
    ax.scatter(*s.T, s=2, alpha=0.4)
    ax.scatter(*MODES.T, marker="+", color="r", s=80)
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"{name}:\n{score.modes_captured}/8 modes, {score.high_quality_fraction:.1%} "
                 f"within 3 std", fontsize=10)
plt.tight_layout()
plt.show()
if not quick_mode():   # the text below, panel by panel
    vae_score = scores["VAE"]
    plain_score = scores["plain, untuned GAN"]
    recipe_score = scores["GAN, tinygan's ring recipe"]
    assert vae_score.modes_captured == 8 and vae_score.high_quality_fraction < 0.5
    assert plain_score.modes_captured == 0 and plain_score.high_quality_fraction < 0.01
    assert recipe_score.modes_captured == 8 and recipe_score.high_quality_fraction > 0.9

# %% [markdown]
# The VAE's likelihood objective penalises missing mass, so it reaches all 8 modes, but its
# Gaussian decoder also spreads mass between and around them: "blurry" samples, under half
# of them within 3 std of a centre. A GAN's objective has no such pressure to cover. The
# plain, untuned GAN shows what that can cost: in the full run it loses the ring
# altogether, its samples one streak off to the side that reaches none of the 8 modes. The
# ring recipe, which adds a packed discriminator, 2-D noise and a decaying learning rate,
# keeps all 8 with sharp samples (over 90% within 3 std here; 8/8 on each of 5 seeds, about
# 97% within 3 std: `benchmarks/RESULTS_quality.md`). So "GANs drop modes, VAEs blur" is a
# tendency of the plain objectives, not a law: the table's coverage row describes plain
# GANs, and stabilised ones close most of the gap.
#
# ## FAQ: when do I detach?
#
# In $D$'s step the fakes are data: detach them. Forget it, and $D$'s backward also fills
# $G$'s `.grad`. If $G$'s step then forgets `zero_grad()`, $G$ is updated with the sum of
# its own gradient and a gradient of *D's* loss: a silently wrong step.

# %%
g = tg.Generator(1)
G, D = toy_mlp((2,), z_dim=4, generator=g, hidden_g=(16,), hidden_d=(16,))
real, z = tg.Tensor(toy.sample_ring(64, g)), tg.randn(64, 4, generator=g)
loss = get_loss("ns")

def g_gradient_after_d_step(detach):
    G.zero_grad()
    D.zero_grad()
    fake = G(z)
    loss.d_loss(D(real), D(fake.detach() if detach else fake)).backward()    # D's step
    loss.g_loss(D(G(z))).backward()                                          # G's step, no zero_grad
    return G.net[0].weight.grad.numpy().copy()

clean = g_gradient_after_d_step(detach=True)
leaked = g_gradient_after_d_step(detach=False)
print("detached:     G's gradient is its own loss's gradient")
print(f"not detached: G's gradient differs by {np.abs(leaked - clean).max():.3g} (D's loss leaked in)")
assert np.abs(leaked - clean).max() > 1e-6

# %% [markdown]
# ## FAQ: why do I get NaN?
#
# tinygan's trainer checks every loss, gradient norm and parameter, and stops at the first NaN
# or Inf with a message naming the step and what went non-finite (and never writes a
# checkpoint holding one). Here a weight of $D$ is poisoned by hand, as an exploding update
# would.

# %%
g = tg.Generator(2)
G, D = toy_mlp((2,), z_dim=4, generator=g)
trainer = GANTrainer(G, D, get_loss("ns"), optim.Adam(G.parameters(), lr=2e-4),
                     optim.Adam(D.parameters(), lr=2e-4),
                     DistributionBatches(toy.sample_ring, g), g, z_dim=4, batch_size=64)
trainer.train(5, progress=False)
D.net[0].weight.data[0, 0] = float("nan")
try:
    trainer.train(10, progress=False)
    raise AssertionError("the trainer did not stop at the NaN")
except TrainingDiverged as err:
    print("TrainingDiverged:", err)
    assert "step 6" in str(err) and "nan" in str(err)   # the first step after the poisoning

# %% [markdown]
# ## FAQ: train or eval mode when I sample?
#
# Eval. In training mode BatchNorm normalises a batch of fakes together, so a sample depends on
# the others in its batch, and a batch of one is refused. PacGAN's generator has BatchNorm;
# feed it the same $z$ inside two different batches.

# %%
G, _ = pacgan_mlp(generator=tg.Generator(3))
z_same = tg.randn(1, 2, generator=tg.Generator(4))
batch_a = tg.cat([z_same, tg.randn(15, 2, generator=tg.Generator(5))])
batch_b = tg.cat([z_same, 3.0 * tg.randn(15, 2, generator=tg.Generator(6))])
with tg.no_grad():
    G.train()
    # (each training-mode forward also moves BatchNorm's running averages: run them once)
    out_a, out_b = G(batch_a).numpy()[0], G(batch_b).numpy()[0]
    print("train mode, same z in two batches:", out_a.round(4), out_b.round(4))
    assert not np.allclose(out_a, out_b)          # a sample depends on its batch-mates
    try:
        G(z_same)
        raise AssertionError("a batch of one was accepted in training mode")
    except ValueError as err:
        print("train mode, batch of one:", err)
    G.eval()
    print("eval mode,  same z in two batches:", G(batch_a).numpy()[0].round(4), G(batch_b).numpy()[0].round(4))
    print("eval mode,  batch of one:         ", G(z_same).numpy()[0].round(4))
    assert np.array_equal(G(batch_a).numpy()[0], G(batch_b).numpy()[0])
_ = G.train()

# %% [markdown]
# `GANTrainer.sample` does this for you: it switches $G$ to eval mode, samples without a graph,
# and restores the mode.
#
# ## FAQ: how do I make a run reproducible?
#
# Draw every random number (initial weights, data order, noise, dropout masks) from one seeded
# `tinygan.Generator`. On NumPy the same seed then gives the same run bit for bit.

# %%
def short_run(seed, num_steps=steps(50, 10)):
    g = tg.Generator(seed)
    G, D = toy_mlp((2,), z_dim=4, generator=g)
    trainer = GANTrainer(G, D, get_loss("ns"), optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                         optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                         DistributionBatches(toy.sample_ring, g), g, z_dim=4, batch_size=64)
    trainer.train(num_steps, progress=False)
    return {**{"G." + k: v for k, v in G.state_dict().items()},
            **{"D." + k: v for k, v in D.state_dict().items()}}

run_a, run_b = short_run(123), short_run(123)
identical = all(np.array_equal(run_a[k], run_b[k]) for k in run_a)
print(f"same seed twice: all {len(run_a)} parameter arrays bit-identical: {identical}")
assert identical

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **12.1** For a 1-D Gaussian encoder with $\mu = 1$, $\sigma = 1$ and prior $\mathcal{N}(0, 1)$,
# what is $\mathrm{KL}(q \| p) = \tfrac12(\mu^2 + \sigma^2 - 1 - \log\sigma^2)$?

# %%
answer_12_1 = ...   # YOUR CODE: a float

# %%
answer_12_1 = exercise("12.1", answer_12_1)

# %% [markdown]
# **12.2** A text generator emits the token $\arg\max_i \mathrm{softmax}(h)_i$. What is the
# derivative of the emitted index with respect to $h$, almost everywhere? Check by nudging $h$.

# %%
answer_12_2 = ...   # YOUR CODE: a float

# %%
answer_12_2 = exercise("12.2", answer_12_2)

# %% [markdown]
# **12.3** Run `short_run` with seeds 123 and 124. How many of the parameter arrays differ?

# %%
answer_12_3 = ...   # YOUR CODE: an int

# %%
answer_12_3 = exercise("12.3", answer_12_3, short_run=short_run)
