# %% [markdown]
# # 13. The GAN lab: watching a GAN learn
#
# Companion to [chapters/13_gan_lab.md](../chapters/13_gan_lab.md). GAN Lab (Kahng et al.
# 2018) showed that a GAN on 2-D data is something you can *watch*: real and generated
# samples, the discriminator's verdict as a coloured field, the generator's gradient on every
# sample as an arrow, and the warp G applies to a grid of noise. `tinygan.lab` draws the same
# layers with tinygan's own trainer underneath (every layer is a small function in
# `tinygan/lab/frames.py` you can read). Colours: **green is real, purple is generated**; the
# background is $D(x)$, green where D says "real", purple where it says "fake".
#
# First the lab itself, to play with; then three lessons it makes visible: the saturating
# loss's vanishing arrows, a mode collapse caught in the act, and what $k$ D-steps change.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from tinygan.lab import GANLab, LabSession, view
from tinygan.lab import frames as lab_frames
from tinygan.run.quick import quick_mode, steps
from tinygan.course import exercise


def show(frames, titles=None, width=4.0):
    """Frames two to a row, the widest that fits the course site (the layered view only)."""
    cols = min(2, len(frames))
    rows = -(-len(frames) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, width * rows), squeeze=False)
    for ax in axes.flat[len(frames):]:
        ax.axis("off")
    for i, (ax, frame) in enumerate(zip(axes.flat, frames)):
        view.draw_view(ax, frame)
        if titles:
            ax.set_title(titles[i] + "\n" + ax.get_title(), fontsize=9)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## The lab
#
# Run the next cell in JupyterLab and press **Play**: the GAN trains in the background (20
# steps, then a redraw, over and over) while the notebook stays free. **D step** and **G step**
# move one network at a time; **Full step** is one round of Algorithm 1 ($k$ D steps, then
# one G step); **Reset** goes back to step 0 of the seed. Change the loss, the learning rates,
# the optimiser, $k$, the pack size, instance noise or the data while it plays, and switch
# layers off to see the rest. Without ipywidgets you get a still picture and the install line.
#
# The last row holds two stabilisers of chapter 14, as `tinygan train`'s `--spectral-norm`
# and `--penalty`. **spectral norm in D** divides each of D's weight matrices by its largest
# singular value; it changes D's layers, so like the pack size it starts a new run from the
# seed. **penalty on D** adds R1 (on real data), R2 (on fakes) or WGAN-GP's term (on
# interpolates) to D's loss, with the **weight** beside it ($\gamma$ of R1/R2,
# $\lambda$ of GP; 10 unless you change it). Like the loss, it joins the running game at its
# next step, and the loss plot then shows its value.
#
# The default is `tinygan train`'s ring recipe: PacGAN's packed discriminator (it judges 4
# samples at once) and Adam at $10^{-3}$. Within a few thousand steps the purple cloud
# stretches into a loop and settles on the eight green modes.

# %%
lab = GANLab("ring")
lab

# %% [markdown]
# Two things to try with them. Choose R1 at its default weight, $\gamma = 10$, on the ring.
# A D that may not be steep at the data cannot pull samples into modes this narrow (std 0.01
# on the unit circle). In our try (seed 0, 3,000 steps) the heat map faded to an even grey,
# $D(x)$ and $D(G(z))$ sat at 0.5, the arrows all but vanished, and the samples spread round
# the circle without gathering into the modes. Over full 20,000-step runs
# (`benchmarks/RESULTS_stabilisers.md`, 3 seeds) R1 with $\gamma = 10$ left 52 ± 27% of
# samples of high quality, against 96.6 ± 0.9% without it; $\gamma = 1$ gave 93.1 ± 3.1%.
# Then try spectral norm: the same runs kept all eight modes but put fewer samples on them
# (92.5 ± 4.4%), at 1.7 times the time per step.

# %% [markdown]
# The same lab without buttons is a `LabSession`: a real `GANTrainer` and the view's fixed
# points. Here is the view before training and after a few hundred steps.

# %%
session = LabSession(data="ring")
before = session.frame()
session.step(steps(600, 20))
show([before, session.frame()], ["before training", "after training"])

# %% [markdown]
# ## Lesson 1: the saturating loss, seen as arrows
#
# The arrows are $-\partial L_G / \partial x$ at generated samples: where G's loss pushes
# each sample (G's backward starts from exactly this gradient). With D's logit $l(x)$ the
# two losses give, per sample,
#
# $$-\nabla_x\, \text{softplus}(-l) = \sigma(-l)\,\nabla_x l \quad\text{(non-saturating)},
# \qquad -\nabla_x \log(1 - \sigma(l)) = \sigma(l)\,\nabla_x l \quad\text{(saturating)}.$$
#
# Same direction, lengths in the ratio $\sigma(l) / \sigma(-l) = e^{l}$. Early in training
# D rejects the fakes easily ($l \ll 0$), so the saturating arrows all but vanish. Train D
# alone for a while against the untrained G, then look at both losses' arrows on the *same*
# D and the same samples (the arrows share one length scale in every picture).

# %%
lesson1 = LabSession(data="ring", pack=1)   # D judges one sample at a time
for _ in range(steps(150, 30)):
    lesson1.step_d()                     # only D learns: it becomes sure the fakes are fake
lesson1.set(loss="ns")
ns_frame = lesson1.frame(remember=False)
lesson1.set(loss="minimax")              # the saturating game: a live change, D and G unchanged
mm_frame = lesson1.frame(remember=False)
show([ns_frame, mm_frame], ["non-saturating", "saturating (minimax)"])
ns_len = np.linalg.norm(ns_frame.arrows, axis=1)
mm_len = np.linalg.norm(mm_frame.arrows, axis=1)
print(f"mean D(G(z)) on the arrows' samples: "
      f"{lab_frames.discriminator_map(lesson1.trainer.D, ns_frame.arrows_at).mean():.4f}")
print(f"median arrow length, saturating / non-saturating: {np.median(mm_len / ns_len):.2e}")
if not quick_mode():   # what the text says, checked on the full run
    assert np.median(mm_len / ns_len) < 0.05, "the saturating arrows should all but vanish"

# %% [markdown]
# ## Lesson 2: a mode collapse, caught in the act
#
# Take the packing away (`pack=1`: D judges one sample at a time, as in the original GAN).
# Nothing then rewards G for spreading out: each sample goes where D is greenest. We play
# the game with seed 1 and keep a frame every 100 steps; for each frame we count the share
# of G's 512 view samples nearest to each of the 8 modes, and call a mode *held* when it has
# at least 5% of them (an even spread gives 12.5%). The same run with the lab's default
# packed D (`pack=4`) is the control.

# %%
RING = session.data.references            # the 8 mode centres


def nearest_mode_share(fake):
    """Share of the samples (N, 2) whose nearest ring mode is each of the 8."""
    distance = np.linalg.norm(fake[:, None, :] - RING[None], axis=-1)
    return np.bincount(distance.argmin(axis=1), minlength=len(RING)) / len(fake)


def play_ring(pack, seed=1):
    run = LabSession(data="ring", pack=pack, seed=seed)
    kept = []
    for _ in range(steps(30, 3)):
        run.step(steps(100, 5))
        kept.append(run.frame(resolution=48))
    return kept, np.array([nearest_mode_share(f.fake) for f in kept])


kept1, shares1 = play_ring(pack=1)
kept4, shares4 = play_ring(pack=4)
held1, held4 = (shares1 >= 0.05).sum(axis=1), (shares4 >= 0.05).sum(axis=1)
print("modes held, pack 1:", held1.tolist())
print("modes held, pack 4:", held4.tolist())

fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3.4))
frame_steps = [f.step for f in kept1]
left.imshow(shares1.T, aspect="auto", cmap="Purples", vmin=0, vmax=0.4, origin="lower",
            extent=(frame_steps[0] - 50, frame_steps[-1] + 50, -0.5, 7.5))
left.set(xlabel="step", ylabel="mode")
left.set_title("pack 1: share of G's samples\nat each mode", fontsize=10)
right.plot(frame_steps, held1, marker=".", color=view.FAKE, label="pack 1")
right.plot([f.step for f in kept4], held4, marker=".", color=view.REAL, label="pack 4")
right.set(xlabel="step", ylabel="modes held (>= 5% of samples)", ylim=(0, 8.5))
right.legend()
plt.tight_layout()
plt.show()

peak = int(np.argmax(held1))                  # the first frame where pack 1 held the most modes
worst = peak + int(np.argmin(held1[peak:]))   # the fewest it held after that
print(f"pack 1: {held1[peak]} modes held at step {kept1[peak].step}, {held1[worst]} at step "
      f"{kept1[worst].step}; pack 4 at that step: {held4[worst]}")
if not quick_mode():   # chapter 13: a collapse caught in the act, the packed D keeps all 8
    assert held1[worst] < held1[peak], (held1[peak], held1[worst])
    assert held4[worst] == 8 and held4[-1] == 8, held4.tolist()
show([kept1[peak], kept1[worst], kept4[worst]],
     [f"pack 1, step {kept1[peak].step}: {held1[peak]} modes held",
      f"pack 1, step {kept1[worst].step}: {held1[worst]} held",
      f"pack 4, step {kept4[worst].step}: {held4[worst]} held"])

# %% [markdown]
# The left panel of the first figure is the game as it happens: each column is a frame, each
# row a mode, dark where G's samples crowd. Without packing, the crowd can sit on a few modes
# and *hop* from mode to mode as D learns to reject wherever it is, and modes G had found can
# be given up again: the two unpacked pictures are the frame where it held the most modes and
# the fewest it held afterwards (a collapse, caught in the act, whenever the second number is
# smaller). Look at the arrows near the abandoned modes: they point towards the region D
# currently calls real, all alike, not out to the empty modes. A packed D sees that 4
# samples from one mode look too alike (Lin et al. 2018); the packed run is the third
# picture. What happens, and when, depends on the seed: try others.

# %% [markdown]
# ## Lesson 3: what $k$ D-steps per G-step change
#
# Goodfellow et al.'s Proposition 1 gives the best D against a fixed G,
# $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$, and their argument assumes D
# stays near it. On the 1-D Gaussian the lab draws $D$ (black) beside $D^*$ (dashed): with
# one D step per G step D lags behind a moving G; with $k = 5$ it keeps up.

# %%
gaps = {}
frames_1d = []
for k in (1, 5):
    run = LabSession(data="gauss1d", d_steps=k, seed=0)
    run.step(steps(800, 20))
    frame = run.frame()
    frames_1d.append(frame)
    c = frame.curves
    body = np.abs(c["xs"] - 4.0) <= 1.0          # mu +- 2 sigma: where the data is
    gap = np.abs(c["d"] - c["d_star"])[body]
    gaps[k] = (np.nanmean(gap), np.nanmax(gap), frame.metrics["jsd"])
show(frames_1d, [f"k = {k} D steps per G step" for k in (1, 5)])
for k, (mean_gap, max_gap, jsd) in gaps.items():
    print(f"k = {k}: |D - D*| over mu +- 2 sigma: mean {mean_gap:.3f}, max {max_gap:.3f}; "
          f"JSD {jsd:.3f}")
if not quick_mode():   # the text below: k = 5 keeps D much closer to D*, and G closer
    assert gaps[5][0] < gaps[1][0] / 2, gaps     # to the data
    assert gaps[5][2] < gaps[1][2], gaps

# %% [markdown]
# Over the body of the data, D with $k = 5$ lies much closer to $D^*$ (compare the mean
# gaps printed above; in our run 0.21 for $k = 1$ against 0.03 for $k = 5$, after the same
# 800 G steps), and G, trained against a better judge, is closer to the data (the JSD).
# The price is five times the discriminator's work per step. Where $p_g$ changes fast, a
# well-trained D can still be steeper than $D^*$: the title's max |D - D*|, taken wherever
# $D^*$ is defined, catches those edges.

# %% [markdown]
# ## The film of a run
#
# `tinygan train` writes `film.gif` and `film.html` into its run folder: this view at 40
# log-spaced steps (most frames early, where most changes), the HTML page with a step slider
# that works offline. The lab keeps log-spaced frames too, and saves them the same way.

# %%
paths = lab.save_film("runs/lab_film")
print(paths, f"({len(lab.film.frames)} frames)")

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **13.1** For the 64 samples of `ns_frame.arrows_at` and lesson 1's discriminator
# (`lesson1.trainer.D`), compute D's logit $l$ at each sample
# (`lab_frames.discriminator_map(D, x, probability=False)`) and predict the ratio of the
# saturating to the non-saturating arrow length at each. Give the array of 64 predictions.

# %%
answer_13_1 = ...   # YOUR CODE: an array of 64 ratios

# %%
answer_13_1 = exercise("13.1", answer_13_1, D=lesson1.trainer.D, x=ns_frame.arrows_at,
                       measured=mm_len / ns_len)
print("median ratio", np.median(answer_13_1))

# %% [markdown]
# **13.2** Where is D most sure a point is real? Use `lab_frames.plane_grid(extent, 64)` with
# `extent = session.data.extent` and `lab_frames.discriminator_map` on `session.trainer.D`
# (the trained ring session above) and give the grid point `(x, y)` with the largest $D(x)$.

# %%
answer_13_2 = ...   # YOUR CODE: (x, y)

# %%
answer_13_2 = exercise("13.2", answer_13_2, D=session.trainer.D, extent=session.data.extent)

# %% [markdown]
# **13.3** A film of a 20,000-step run has 40 log-spaced frames
# (`tinygan.lab.log_spaced_steps(0, 20000, 40)`). How many of them show the first 1% of
# training (steps 0 to 200)?

# %%
answer_13_3 = ...   # YOUR CODE: an int

# %%
answer_13_3 = exercise("13.3", answer_13_3)
