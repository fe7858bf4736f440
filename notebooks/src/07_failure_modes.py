# %% [markdown]
# # 7. Failure modes: mode collapse, vanishing gradients, oscillation
#
# Companion to [chapters/07_failure_modes.md](../chapters/07_failure_modes.md). We make each
# failure happen on purpose and measure it: a generator collapsing onto the point a fixed
# discriminator likes best; the outward spiral of simultaneous gradient steps in the bilinear
# game; the generator's gradient vanishing against a perfect discriminator; and a plain,
# untuned GAN on PacGAN's ring, scored with mode coverage, next to tinygan's ring recipe
# (packed discriminator, 2-D noise, decaying learning rate) and to conditioning on the mode.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import optim
from tinygan.gan.build import build_trainer, make_config
from tinygan.data import toy
from tinygan.data.batching import DistributionBatches
from tinygan.gan.losses import MinimaxLoss, NonSaturatingLoss
from tinygan.gan.models import toy_mlp
from tinygan.gan.trainer import GANTrainer
from tinygan.metrics.mode_coverage import mode_coverage
from tinygan.run.quick import quick_mode, steps
from tinygan.course import exercise

MODES = toy.ring_modes()

def nearest_mode_share(samples, modes=MODES):
    """Fraction of ALL samples (high quality or not) whose nearest centre is each mode."""
    d = np.linalg.norm(np.asarray(samples)[:, None, :] - modes[None], axis=-1)
    return np.bincount(d.argmin(1), minlength=len(modes)) / len(samples)

def untuned_ring_gan(seed=0, loss=None, num_classes=0, data=None):
    """A plain, untuned GAN on the ring: a small MLP pair, 16-D noise, one-sample D (no
    packing), Adam with a constant lr 2e-4 and beta1 0.5, batch 256. NOT tinygan's ring
    recipe (`tinygan train --data ring`), which packs D, uses 2-D noise and a decaying lr."""
    g = tg.Generator(seed)
    G, D = toy_mlp((2,), z_dim=16, num_classes=num_classes, generator=g)
    return GANTrainer(G, D, loss or NonSaturatingLoss(),
                      optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                      optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                      data or DistributionBatches(toy.sample_ring, g), g, z_dim=16,
                      batch_size=256, num_classes=num_classes)

# %% [markdown]
# ## Mode collapse: G's best reply to a fixed D
#
# Hold $D$ fixed and let $G$ minimise $-\mathbb{E}_z[\log D(G(z))]$. Every sample is judged
# alone, so the best reply puts *all* samples where $D$ is highest: nothing rewards diversity.
# Spread $G$'s initial samples over the plane (its last layer scaled up), train $D$ briefly,
# freeze it, then take only generator steps (with a larger learning rate, 1e-3, so the
# collapse happens within a few hundred steps).

# %%
trainer = untuned_ring_gan(seed=1)
trainer.G.net[-1].weight.data *= 40.0        # start with samples spread over the whole square
for _ in range(steps(300, 100)):
    trainer.discriminator_step()
before = trainer.sample(2500, generator=tg.Generator(9)).numpy()
trainer.opt_g = optim.Adam(trainer.G.parameters(), lr=1e-3, betas=(0.5, 0.999))   # bigger G steps
for _ in range(steps(400, 150)):
    trainer.generator_step()                 # D never moves again
after = trainer.sample(2500, generator=tg.Generator(9)).numpy()

gx, gy = np.meshgrid(np.linspace(-4, 4, 160), np.linspace(-4, 4, 160))
points = tg.tensor(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32))
d_map = trainer.discriminator_output(points).numpy().reshape(gx.shape)

fig, panels = plt.subplot_mosaic([["before", "after"], ["share", "share"]], figsize=(8.5, 7.4),
                                 height_ratios=[1.35, 1])
axes = [panels["before"], panels["after"], panels["share"]]
for ax, samples, title in ((axes[0], before, "G's samples before"),
                           (axes[1], after, "after G-only steps\nagainst a frozen D")):
    c = ax.contourf(gx, gy, d_map, levels=20, cmap="viridis", alpha=0.6)
    ax.scatter(*samples.T, s=2, color="w", alpha=0.5)
    ax.scatter(*MODES.T, marker="+", color="r", s=80)
    ax.set_xlim(-4, 4)
    ax.set_ylim(-4, 4)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x1")
    ax.set_aspect("equal")
axes[0].set_ylabel("x2")
fig.colorbar(c, ax=axes[:2], label="D(x), frozen")
share_before, share_after = nearest_mode_share(before), nearest_mode_share(after)
axes[2].bar(np.arange(8) - 0.2, share_before, 0.4, label="before")
axes[2].bar(np.arange(8) + 0.2, share_after, 0.4, label="after")
axes[2].set_xlabel("ring mode")
axes[2].set_ylabel("share of samples nearest it")
axes[2].set_title("All samples pile up where D is highest")
axes[2].legend()
plt.show()
print("modes that are nearest to >= 1% of samples, before / after:",
      int((share_before >= 0.01).sum()), "/", int((share_after >= 0.01).sum()))
assert (share_after >= 0.01).sum() < (share_before >= 0.01).sum()
if not quick_mode():   # the text below, on the full run: the samples stay in the picture,
    inside = (np.abs(after) < 4).all(axis=1).mean()       # and most head to one spot
    assert inside > 0.9 and share_after.max() > 0.5, (inside, share_after.round(2))

# %% [markdown]
# The frozen $D$ is highest along one edge of the ring, and most samples head there. Against a
# fixed judge the best generator is a collapsed one. In a real run $D$ then learns to reject
# that spot and $G$ moves on: the cycle of chapter 7.

# %% [markdown]
# ## Instance noise: what a blurred D sees
#
# Chapter 7's remedy for disjoint supports, and what makes tinygan's grid recipe keep all 25
# modes: $D$ judges $x + \epsilon$ and $G(z) + \epsilon$ with $\epsilon \sim \mathcal N(0, s^2 I)$.
# Below, the grid data as $D$ sees it at the start of the recipe ($s = 0.5$), along the way,
# and at the end ($s = 0$). With $s = 0.5$ the 25 modes (std 0.05) are wide bumps that touch
# their neighbours, so a generated point anywhere near the grid lies in real data's blurred
# density, and $D$'s gradient there points at the modes; with $s = 0$ they are sharp dots
# with empty space between them, where $D$ can be perfect and its gradient says little.

# %%
g = tg.Generator(3)
grid = toy.sample_grid(2000, g)
fig, axes = plt.subplots(2, 2, figsize=(8.5, 8.4))
spread = []
for ax, s in zip(axes.flat, (0.5, 0.25, 0.1, 0.0)):
    seen = grid + g.normal(grid.shape, std=s) if s else grid
    ax.scatter(*seen.T, s=2, alpha=0.4)
    ax.scatter(*toy.grid_modes().T, marker="+", color="r", s=40)
    ax.set_xlim(-5.5, 5.5)
    ax.set_ylim(-5.5, 5.5)
    ax.set_aspect("equal")
    ax.set_title(f"real data as D sees it, s = {s}", fontsize=10)
    # share of points farther than 0.5 from every mode: the space between modes D can see
    to_nearest_mode = np.linalg.norm(seen[:, None, :] - toy.grid_modes()[None], axis=2).min(1)
    spread.append(float((to_nearest_mode > 0.5).mean()))
plt.show()
print("share of the points D sees that lie more than 0.5 from every mode:",
      [round(v, 3) for v in spread])
assert spread[0] > 0.3 and spread[-1] == 0.0

# %% [markdown]
# The grid recipe (`tinygan train --data grid`) starts at $s = 0.5$, lets $s$ fall linearly to
# 0 over the first 70% of its 50,000 steps, and spends the rest sharpening the modes. Over 5
# seeds it keeps 25/25 modes; without the noise, two of five seeds lost modes
# (`benchmarks/RESULTS_quality.md`). The recipe also adds a light R1 penalty (chapter 14,
# $\gamma = 1$), which keeps the mass even across the modes on seeds it was not tuned on. In
# code: `GANTrainer(..., instance_noise=0.5, instance_noise_steps=35_000, penalty=R1Penalty(1.0))`.

# %% [markdown]
# ## Oscillation: the bilinear game
#
# $\min_x \max_y xy$ has its equilibrium at $(0, 0)$. Simultaneous gradient steps rotate and
# grow by $\sqrt{1 + \eta^2}$ per step; alternating steps (Algorithm 1's order) stay bounded
# but circle for ever.

# %%
def play(alternating, num_steps=300, lr=0.1):
    x = tg.tensor([1.0], requires_grad=True)
    y = tg.tensor([0.0], requires_grad=True)
    path = [(1.0, 0.0)]
    for _ in range(num_steps):
        gx, gy = tg.grad((x * y).sum(), [x, y])       # dV/dx = y, dV/dy = x
        x.data -= lr * gx.data                         # x descends
        if alternating:
            (gy,) = tg.grad((x * y).sum(), [y])        # y sees the new x
        y.data += lr * gy.data                         # y ascends
        path.append((x.item(), y.item()))
    return np.array(path)

fig, ax = plt.subplots(figsize=(5, 5))
for alternating, label in ((False, "simultaneous: spirals out"), (True, "alternating: circles")):
    path = play(alternating)
    ax.plot(*path.T, lw=1, label=label)
ax.plot(0, 0, "k*", ms=12, label="equilibrium (0, 0)")
ax.set_xlabel("x (minimises xy)")
ax.set_ylabel("y (maximises xy)")
ax.set_aspect("equal")
ax.set_title("Gradient steps on a saddle do not converge")
ax.legend(fontsize=8)
plt.show()
r_sim = float(np.hypot(*play(False, 100)[-1]))
assert abs(r_sim - 1.01 ** 50) < 1e-3                  # the chapter's formula

# %% [markdown]
# ## Vanishing gradients: a perfect discriminator
#
# An untrained generator's samples sit in a blob near the centre, off the ring. Train $D$
# alone until it separates them perfectly. Then measure the gradient each generator loss sends into $G$. (The saturating
# loss is the minimax game's $\log(1 - D(G(z)))$, chapter 3.)

# %%
trainer = untuned_ring_gan(seed=2)
for _ in range(steps(300, 100)):
    trainer.discriminator_step()
record = trainer.discriminator_step()
print(f"mean D(x) = {record['d_real']:.4f}, mean D(G(z)) = {record['d_fake']:.5f}")
for loss in (MinimaxLoss(), NonSaturatingLoss()):
    trainer.loss = loss
    trainer.G.zero_grad()
    z = trainer.sample_z(256)
    loss.g_loss(trainer.D(trainer.G(z))).backward()
    norm = math.sqrt(sum(float((p.grad.data ** 2).sum()) for p in trainer.G.parameters()))
    print(f"{type(loss).__name__:18s} ||grad of G|| = {norm:.2e}")

# %% [markdown]
# ## The ring: a full run, measured with mode coverage
#
# Now a plain, untuned GAN (`untuned_ring_gan` above: no packing, 16-D noise, constant
# learning rate) trains on the ring as usual. Every few hundred steps we
# score 2,500 samples with PacGAN's protocol (`mode_coverage`: high quality = within 3 std of
# the nearest mode, a mode is captured with at least one high-quality sample) and also record
# which mode each sample is nearest to, high quality or not, to see where the mass goes.

# %%
def train_and_track(trainer, total, every):
    track = []
    for target in range(every, total + 1, every):
        trainer.train(target, progress=False)
        samples = trainer.sample(2500, generator=tg.Generator(9)).numpy()
        score = mode_coverage(samples, MODES, toy.RING_STD)
        track.append(dict(step=target, samples=samples, score=score,
                          share=nearest_mode_share(samples)))
    return track

TOTAL = steps(3000, 60)
plain = train_and_track(untuned_ring_gan(seed=0), TOTAL, TOTAL // 3)

def show_track(track, name):
    cols = min(3, len(track))                 # at most three panels a row: the site's width
    rows = math.ceil(len(track) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(8.5, 8.5 / cols * rows + 0.4), squeeze=False)
    for ax in axes.flat[len(track):]:
        ax.axis("off")
    for ax, t in zip(axes.flat, track):
        s = t["score"]
        ax.scatter(*t["samples"].T, s=2, alpha=0.5)
        ax.scatter(*MODES.T, marker="+", color="r", s=80)
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(-1.6, 1.6)
        ax.set_aspect("equal")
        ax.set_xlabel("x1")
        ax.set_title(f"step {t['step']}: {s.modes_captured}/8 modes,\n"
                     f"{s.high_quality_fraction:.0%} HQ, KL {s.reverse_kl:.2f}", fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("x2")
    fig.suptitle(name, fontsize=11)
    plt.tight_layout()
    plt.show()

show_track(plain, "Unconditional GAN on the ring: mode coverage over training")
print("share of samples nearest each mode at the end:", plain[-1]["share"].round(2))
if not quick_mode():   # the text below: high quality stays near zero; one blob, which moves
    assert all(t["score"].high_quality_fraction < 0.05 for t in plain), \
        [t["score"].high_quality_fraction for t in plain]
    assert all(np.sort(t["share"])[-2:].sum() > 0.95 for t in plain), \
        [t["share"].round(2) for t in plain]                 # nearest one or two modes
    assert plain[0]["share"].argmax() != plain[-1]["share"].argmax(), "the blob moved"

# %% [markdown]
# In a full run (without `TINYGAN_QUICK`) with this seed, the samples form one elongated blob:
# at steps 1,000 and 2,000 every sample is nearest the same mode, and by step 3,000 the blob
# has moved round the ring to lie between two others. Collapse and oscillation together, the
# cycle described at the top; the high-quality fraction stays near zero. (The ring's
# modes are tight, std 0.01, so "high quality" means within 0.03 of a centre.)
#
# ## Beside it: tinygan's ring recipe
#
# `tinygan train --data ring` trains a GAN that stacks three of the remedies of chapter 7:
# PacGAN's packed discriminator (it judges 4 samples at once), 2-D noise as in PacGAN, and a
# learning rate decaying linearly to 0 over 20,000 steps. Same data, same loss
# (non-saturating), same seed; the full run takes about three minutes.

# %%
recipe_config = make_config("ring", "ns", "mlp", seed=0, steps=steps(20000, 60))
print("the ring recipe:", {k: recipe_config[k] for k in ("z_dim", "lr_g", "lr_d", "lr_decay",
                                                        "batch_size", "model_options")})
recipe = train_and_track(build_trainer(recipe_config), recipe_config["steps"],
                         recipe_config["steps"] // 3)
show_track(recipe, "tinygan's ring recipe (packed D, 2-D noise, decaying lr): mode coverage")
if not quick_mode():   # the text below: all 8 modes at every snapshot, quality climbing
    quality = [t["score"].high_quality_fraction for t in recipe]
    assert all(t["score"].modes_captured == 8 for t in recipe), [t["score"] for t in recipe]
    assert quality == sorted(quality) and quality[-1] > 0.9, quality

# %% [markdown]
# In a full run the recipe keeps all 8 modes at every snapshot, and its high-quality
# fraction climbs as the learning rate decays (over 5 seeds it ends at 8/8 modes and about
# 97% high quality: `benchmarks/RESULTS_quality.md`). The two runs are not the same length:
# the plain GAN ran 3,000 steps, the recipe 20,000. Chapter 7's figure trains a plain GAN
# like this one beside the recipe for 20,000 steps each, seed 0: at step 3,000 the recipe's
# samples already lie along the whole ring (8/8 modes, 16% high quality) where the plain
# GAN's form one blob, and the plain GAN, left to run, spreads out too on that seed (6/8
# modes, 92% at 20,000 steps). So the collapse
# above is how a plain GAN starts on this data, not something every GAN must do, nor
# proof that this one never recovers.

# %% [markdown]
# ## A fix: tell both networks which mode
#
# Chapter 7 lists remedies: minibatch discrimination, unrolling, VEEGAN, PacGAN's packing,
# Wasserstein losses (chapter 8), and conditioning on labels (chapter 9). The last is the
# simplest to show: label each real sample with the index of its mode and train a
# conditional GAN, $G(z, y)$ and $D(x, y)$. $G$ no longer has to discover the 8 modes; for
# each $y$ it needs to hit one, and sampling draws $y$ uniformly, so every mode is visited.
# (This uses information the unconditional GAN did not have: it is a fix when labels exist.)

# %%
class LabelledRing:
    """Real ring samples together with the index of the mode each came from."""

    def __init__(self, generator):
        self.generator = generator

    def next(self, batch_size):
        which = self.generator.integers(0, len(MODES), batch_size)
        noise = self.generator.normal((batch_size, 2), std=toy.RING_STD)
        return tg.Tensor((MODES[which] + noise).astype(np.float32)), which

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

g = tg.Generator(0)
conditional_trainer = untuned_ring_gan(seed=0, num_classes=8, data=LabelledRing(g))
conditional = train_and_track(conditional_trainer, TOTAL, TOTAL // 3)
show_track(conditional, "Conditional GAN (label = mode index): mode coverage over training")

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
width = 0.27
ax.bar(np.arange(8) - width, plain[-1]["share"], width,
       label=f"plain, untuned ({plain[-1]['step']} steps)")
ax.bar(np.arange(8), recipe[-1]["share"], width,
       label=f"tinygan's ring recipe ({recipe[-1]['step']} steps)")
ax.bar(np.arange(8) + width, conditional[-1]["share"], width,
       label=f"conditional, untuned ({conditional[-1]['step']} steps)")
ax.axhline(1 / 8, color="k", ls=":", label="even share 1/8")
ax.set_xlabel("ring mode")
ax.set_ylabel("share of samples nearest it")
ax.set_title("Where the mass goes at the end of each run")
ax.legend(fontsize=8)
plt.show()
for name, track in (("plain, untuned", plain), ("ring recipe", recipe), ("conditional", conditional)):
    s = track[-1]["score"]
    print(f"{name:14s}: {s.modes_captured}/8 modes, {s.high_quality_fraction:.1%} high quality, "
          f"reverse KL {s.reverse_kl:.3f}")

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **7.1** For full collapse onto one mode, what are (modes captured, reverse KL) on the ring
# and on the grid? Build collapsed samples and score them with `mode_coverage`; answer
# `((ring_modes, ring_kl), (grid_modes, grid_kl))`.

# %%
answer_7_1 = ...   # YOUR CODE: ((ring modes, ring KL), (grid modes, grid KL))

# %%
answer_7_1 = exercise("7.1", answer_7_1)

# %% [markdown]
# **7.2** High-quality samples spread evenly over 4 of the 8 ring modes: what is the reverse KL?

# %%
answer_7_2 = ...   # YOUR CODE: a float

# %%
answer_7_2 = exercise("7.2", answer_7_2)

# %% [markdown]
# **7.3** In the bilinear game with $\eta = 0.1$, after how many simultaneous steps has the
# distance from the equilibrium first doubled? Use `play`.

# %%
answer_7_3 = ...   # YOUR CODE: an int

# %%
answer_7_3 = exercise("7.3", answer_7_3, play=play)
