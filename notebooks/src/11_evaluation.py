# %% [markdown]
# # 11. Evaluating GANs
#
# Companion to [chapters/11_evaluation.md](../chapters/11_evaluation.md). A GAN has no
# likelihood to report, so we measure it three ways, from the easiest setting to the hardest:
# against the theory in 1-D, with mode coverage in 2-D, and with a classifier's Fréchet
# distance and score on digits, always next to the value real held-out data get. Then we
# break each number on purpose to see what it cannot see.

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import optim
from tinygan.data import toy
from tinygan.data.batching import DatasetBatches, DistributionBatches
from tinygan.data.mnist import load_mnist
from tinygan.gan.losses import get_loss
from tinygan.gan.models import mnist_mlp, toy_mlp
from tinygan.gan.trainer import GANTrainer
from tinygan.metrics import theory
from tinygan.metrics.digits import classifier_score, digit_report, frechet_distance, get_digit_classifier
from tinygan.metrics.mode_coverage import mode_coverage
from tinygan.run.quick import quick_mode, steps
from tinygan.course import exercise

# %% [markdown]
# ## 1-D: compare with the theory
#
# With the data density known, a trained GAN can be checked against chapter 3: the JSD
# between $p_\text{data}$ and (a kernel density estimate of) $p_g$, and how far $D$ is from the
# $D^*$ of the current $G$ on the data's support $\mu \pm 2\sigma$.

# %%
g = tg.Generator(0)
G, D = toy_mlp((1,), z_dim=1, generator=g, hidden_g=(32, 32), hidden_d=(64, 64))
trainer_1d = GANTrainer(G, D, get_loss("ns"),
                        optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                        optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                        DistributionBatches(toy.gaussian_1d, g), g, z_dim=1, batch_size=128,
                        noise="uniform")
xs = np.linspace(2.0, 6.0, 401)
p_data = theory.gaussian_pdf(xs, 4.0, 0.5)
support = np.abs(xs - 4.0) <= 1.0
checks = []
for target in (steps(500, 40), steps(3000, 120)):
    trainer_1d.train(target, progress=False)
    samples = trainer_1d.sample(20_000, generator=tg.Generator(9)).numpy().ravel()
    p_g = theory.kde_pdf(samples, xs)
    d = trainer_1d.discriminator_output(tg.tensor(xs.astype(np.float32)[:, None])).numpy().ravel()
    gap = np.abs(d - theory.optimal_discriminator(p_data, p_g))[support].max()
    jsd = theory.js_divergence(p_data, p_g, float(xs[1] - xs[0]))
    checks.append((jsd, gap))
    print(f"step {trainer_1d.step:5d}: JSD(p_data, p_g) = {jsd:.4f}, "
          f"max |D - D*| on mu +- 2 sigma = {gap:.3f}")
if not quick_mode():   # the text below: p_g already close to the data, D far from D*
    assert all(jsd < 0.15 for jsd, _ in checks)       # measured about 0.07 at both steps
    assert all(gap > 0.3 for _, gap in checks)        # measured about 0.5 at both steps

# %% [markdown]
# The two numbers tell different stories. $p_g$ is close to the data at both points (a JSD
# of about 0.07, where disjoint densities would give $\log 2 \approx 0.69$), and training
# longer does not lower it further here. $D$, however, stays far from the $D^*$ of the current
# $G$ somewhere on the support (a gap of about 0.5 at both points): the optimal-$D$ argument
# of chapter 3 describes a $D$ that training does not reach, even when $G$ is good.

# %% [markdown]
# ## 2-D: mode coverage, and what it cannot see
#
# PacGAN's protocol scores 2,500 samples. Four made-up "generators" on the ring show what each
# of its three numbers reacts to:
#
# * the **real data**: the best case;
# * a **collapsed** generator, all samples on 3 modes: modes captured and reverse KL notice;
# * a **blurry** generator, every mode but with 5x the spread: high-quality fraction notices;
# * a **copying** generator that returns 2,500 of the training points: a perfect score. No
#   sample-based metric of this kind can tell memorising from generalising.

# %%
g = tg.Generator(0)
modes, std = toy.ring_modes(), toy.RING_STD
training_points = toy.sample_ring(2500, g)
candidates = {
    "real data": toy.sample_ring(2500, g),
    "collapsed (3 modes)": toy.sample_mixture(2500, g, modes[:3], std),
    "blurry (5x std)": toy.sample_mixture(2500, g, modes, 5 * std),
    "copying the training set": training_points.copy(),
}
scores = {name: mode_coverage(s, modes, std) for name, s in candidates.items()}
for name, s in scores.items():
    print(f"{name:26s} {s.modes_captured}/8 modes, {s.high_quality_fraction:6.1%} high quality, "
          f"reverse KL {s.reverse_kl:.3f}")
if not quick_mode():   # each made-up generator moves the number the list above says
    real, collapsed = scores["real data"], scores["collapsed (3 modes)"]
    blurry, copying = scores["blurry (5x std)"], scores["copying the training set"]
    assert real.modes_captured == 8 and real.high_quality_fraction > 0.9
    assert collapsed.modes_captured == 3 and collapsed.reverse_kl > 0.5 > 10 * real.reverse_kl
    assert blurry.modes_captured == 8 and blurry.high_quality_fraction < 0.5
    assert copying.modes_captured == 8 and copying.reverse_kl < 0.05
    assert copying.high_quality_fraction > real.high_quality_fraction - 0.02

fig, axes = plt.subplots(2, 2, figsize=(8, 8.4))   # 2 x 2: four in a row is too wide to read
axes = axes.ravel()
for ax, (name, s) in zip(axes, candidates.items()):
    ax.scatter(*s.T, s=2, alpha=0.5)
    ax.scatter(*modes.T, marker="+", color="r", s=60)
    sc = scores[name]
    ax.set_title(f"{name}\n{sc.modes_captured}/8, {sc.high_quality_fraction:.0%} HQ, KL {sc.reverse_kl:.2f}",
                 fontsize=9)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
axes[0].set_ylabel("x2")
axes[2].set_ylabel("x2")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Digits: Fréchet distance and classifier score
#
# The Inception network behind FID and the Inception Score is replaced by a small digit
# classifier trained with tinygan on the real training images (`get_digit_classifier`, cached
# on disk). `digit_report` fits Gaussians to its penultimate features and reports the
# Fréchet distance of the fakes to half of the held-out real images, *beside* the distance
# between the two halves of the real held-out set: the number a perfect generator would get at
# this sample size. The classifier score $\exp(\mathbb{E}_x \mathrm{KL}(p(y|x) \| p(y)))$ lies
# between 1 and 10.

# %%
classifier = get_digit_classifier()
train_images, train_labels = load_mnist("train")
test_images, test_labels = load_mnist("test")
print(f"classifier accuracy on held-out digits: {classifier.accuracy(test_images, test_labels):.1%}")

g = tg.Generator(1)
only_five = train_images[np.isin(train_labels, [0, 1, 2, 3, 4])]
blurred = (train_images + np.roll(train_images, 1, axis=-1) + np.roll(train_images, -1, axis=-1)
           + np.roll(train_images, 1, axis=-2) + np.roll(train_images, -1, axis=-2)) / 5
fakes = {
    "noise": np.clip(g.normal((1000, 1, 28, 28)), -1, 1),
    "5 of 10 digits (real)": only_five[:1000],
    "blurred real digits": blurred[:1000],
    "copies of training digits": train_images[:1000],
}
reports = {name: digit_report(images, test_images, classifier) for name, images in fakes.items()}
reference = next(iter(reports.values()))
print(f"{'':28s} Frechet distance   classifier score   classes covered")
print(f"{'real held-out (reference)':28s} {reference['frechet_distance_real']:16.2f} "
      f"{reference['classifier_score_real']:18.2f} {reference['classes_covered_real']:17d}")
for name, r in reports.items():
    print(f"{name:28s} {r['frechet_distance_fake']:16.2f} {r['classifier_score_fake']:18.2f} "
          f"{r['classes_covered_fake']:17d}")
if not quick_mode():   # the reading below, number by number
    fd_real, score_real = reference["frechet_distance_real"], reference["classifier_score_real"]
    fd = {name: r["frechet_distance_fake"] for name, r in reports.items()}
    score = {name: r["classifier_score_fake"] for name, r in reports.items()}
    assert fd["noise"] > 20 * fd_real and score["noise"] < 3
    assert fd["5 of 10 digits (real)"] > 5 * fd_real and score["5 of 10 digits (real)"] < 6
    assert reports["5 of 10 digits (real)"]["classes_covered_fake"] == 6
    assert abs(score["blurred real digits"] - score_real) < 0.5
    assert fd["blurred real digits"] > 1.5 * fd_real
    assert fd["copies of training digits"] < min(1.5 * fd_real, fd["blurred real digits"])
    assert abs(score["copies of training digits"] - score_real) < 0.5

# %% [markdown]
# Read the table as a list of limits. Noise is caught by both numbers. Dropping half the
# digits brings the classifier score down to about 5 (from about 8.3 for real digits; five
# equally likely digits read with certainty would score exactly 5) and raises the Fréchet
# distance by an order of magnitude. Blurring leaves the classifier score where real digits have it
# (the classifier still recognises blurred digits) and only the Fréchet distance notices,
# nearly doubling. Copying the training set scores close to real held-out digits on both
# (8.0 against 6.4, and 8.6 against 8.3), better than the blurred digits: neither number can
# tell memorising from generalising. (The "classes covered" count, a class with at least 1% of
# the images, is coarse: six classes for five digits, because a few digits are read as a
# sixth.)
#
# Now a real generator: the seed's MLP GAN, measured at three points of training. A
# generator that learns moves both numbers towards the real held-out values (dotted); one that
# has collapsed shows a classifier score near 1 and few classes covered.

# %%
rng = tg.Generator(0)
G, D = mnist_mlp(z_dim=100, generator=rng)
mnist_trainer = GANTrainer(G, D, get_loss("ns"),
                           optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                           optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                           DatasetBatches(train_images, train_labels, rng), rng, z_dim=100,
                           batch_size=64)
history = []
for target in [steps(n, q) for n, q in ((500, 8), (1500, 16), (3000, 24))]:
    mnist_trainer.train(target, progress=False)
    generated = mnist_trainer.sample(1000, generator=tg.Generator(5)).numpy()
    history.append((mnist_trainer.step, digit_report(generated, test_images, classifier)))

fig, axes = plt.subplots(3, 1, figsize=(6.5, 10.5))   # stacked: three in a row are too wide
steps_done = [s for s, _ in history]
axes[0].plot(steps_done, [r["frechet_distance_fake"] for _, r in history], "o-", label="generated")
axes[0].axhline(history[-1][1]["frechet_distance_real"], color="k", ls=":", label="real held-out")
axes[0].set_ylabel("Frechet distance (lower is better)")
axes[1].plot(steps_done, [r["classifier_score_fake"] for _, r in history], "o-", label="generated")
axes[1].axhline(history[-1][1]["classifier_score_real"], color="k", ls=":", label="real held-out")
axes[1].set_ylabel("classifier score (1 to 10)")
for ax in axes[:2]:
    ax.set_xlabel("training step")
    ax.legend(fontsize=8)
axes[0].set_title("Frechet distance: falling towards the real value")
axes[1].set_title("Classifier score: rising towards the real value")
axes[2].bar(range(10), history[-1][1]["class_histogram_fake"], label="generated")
axes[2].plot(range(10), history[-1][1]["class_histogram_real"], "k_", ms=20, label="real held-out")
axes[2].set_xlabel("digit the classifier sees")
axes[2].set_ylabel("fraction of samples")
axes[2].set_title(f"Which digits G makes (step {steps_done[-1]})")
axes[2].legend(fontsize=8)
plt.tight_layout()
plt.show()
for step, r in history:
    print(f"step {step:5d}: Frechet distance {r['frechet_distance_fake']:6.1f}, classifier score "
          f"{r['classifier_score_fake']:.2f}, {r['classes_covered_fake']} classes covered")
if not quick_mode():   # the text below
    first, last = history[0][1], history[-1][1]
    assert first["classifier_score_fake"] < 2 and first["classes_covered_fake"] <= 3
    assert last["classes_covered_fake"] == 10
    assert last["frechet_distance_fake"] < first["frechet_distance_fake"] / 2
    assert last["classifier_score_fake"] > first["classifier_score_fake"] + 2
    assert last["frechet_distance_fake"] > 5 * last["frechet_distance_real"]
    assert last["classifier_score_fake"] < last["classifier_score_real"] - 1
    made = np.asarray(last["class_histogram_fake"])
    assert made.max() > 3 * made.min()

# %% [markdown]
# This run shows both cases. At step 500 $G$ has collapsed: a classifier score near 1 and
# only two or three classes covered. By step 1,500 it makes every digit, and both numbers have
# moved most of the way from where they started; at step 3,000 they are still far from the
# real digits' values (a Fréchet distance around 100 against about 6, a score around 5
# against about 8), and the histogram shows $G$ making some digits several times as often as
# others. Three thousand steps of the seed's MLP GAN give digits, not yet the data's
# distribution of digits.

# %% [markdown]
# ## Fréchet distance depends on the sample size
#
# Two samples of the *same* distribution are not at distance 0: the estimated means and
# covariances differ. The bias shrinks as the samples grow, so compare numbers only at the
# same sample size (which is why `digit_report` always computes the real reference with the
# same count as the fakes).

# %%
sizes = [50, 100, 200, 500, 1000, 2000]
g = tg.Generator(2)
same_distribution = [frechet_distance(g.normal((n, 8)), g.normal((n, 8))) for n in sizes]
fig, ax = plt.subplots(figsize=(6, 3.3))
ax.loglog(sizes, same_distribution, "o-")
ax.set_xlabel("samples per set")
ax.set_ylabel("Frechet distance")
ax.set_title("Two samples of one 8-D Gaussian: the distance is a bias, not 0")
plt.show()
if not quick_mode():   # the text: the bias shrinks as the samples grow
    assert all(a > b for a, b in zip(same_distribution, same_distribution[1:]))
    assert same_distribution[-1] < same_distribution[0] / 10

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **11.1** The Fréchet distance between $\mathcal{N}(\mu_1, \sigma_1^2)$ and
# $\mathcal{N}(\mu_2, \sigma_2^2)$ is $(\mu_1 - \mu_2)^2 + (\sigma_1 - \sigma_2)^2$. What is it
# for $\mathcal{N}(0, 1)$ and $\mathcal{N}(0, 4)$?

# %%
answer_11_1 = ...   # YOUR CODE: a float

# %%
answer_11_1 = exercise("11.1", answer_11_1)
big = 200_000
estimate = frechet_distance(tg.Generator(3).normal((big, 1)), tg.Generator(4).normal((big, 1), std=2.0))
print(f"frechet_distance on {big:,} samples each gives {estimate:.3f}")

# %% [markdown]
# **11.2** A generator produces each of 5 of the 10 digits equally often, and the classifier
# is certain about every image. What is the classifier score? Check it with
# `classifier_score` on made-up probabilities.

# %%
answer_11_2 = ...   # YOUR CODE: a float

# %%
answer_11_2 = exercise("11.2", answer_11_2)
