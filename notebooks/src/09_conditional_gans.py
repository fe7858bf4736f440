# %% [markdown]
# # 9. Conditional GANs
#
# Companion to [chapters/09_conditional_gans.md](../chapters/09_conditional_gans.md). We look
# at how a label enters both networks (one-hot concatenation), train the conditional version
# of the seed's MNIST GAN, draw a grid with one row per requested digit and one column per
# noise vector, and ask tinygan's digit classifier whether each sample is the digit we asked
# for.
#
# With `TINYGAN_QUICK=1` the GAN trains for a few steps only, so the digits are noise; run
# without it to see them (10,000 steps: several minutes on a laptop CPU).

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import functional as F
from tinygan import optim
from tinygan.data.batching import DatasetBatches
from tinygan.data.mnist import load_mnist
from tinygan.gan.losses import get_loss
from tinygan.gan.models import mnist_mlp
from tinygan.gan.trainer import GANTrainer
from tinygan.metrics.digits import get_digit_classifier
from tinygan.run.quick import quick_mode, steps
from tinygan.course import exercise

tg.manual_seed(0)   # layers built without a generator draw from here (fresh per process)

# %% [markdown]
# ## Feeding the label in
#
# $G(z, y)$ and $D(x, y)$ see the label as a one-hot vector concatenated to their input. For
# the first layer of $G$ that is the same as adding a learned bias per class: with
# $[z; e_y]$ as input, $W [z; e_y] + b = W_z z + b + w_y$, where $w_y$ is column
# $d_z + y$ of $W$.

# %%
rng = tg.Generator(0)
G, D = mnist_mlp(z_dim=100, num_classes=10, generator=rng)
print("G's first layer:", G.net[0], "  D's first layer:", D.net[0])

z = tg.randn(3, 100, generator=rng)
y = np.array([0, 3, 9])
one_hot = F.one_hot(y, 10)
first = G.net[0]
with tg.no_grad():
    concatenated = first(F.cat([z, one_hot], axis=1))
    per_class_bias = F.linear(z, tg.Tensor(first.weight.data[:, :100]), first.bias) \
        + tg.Tensor(first.weight.data[:, 100 + y].T)
print("one-hot labels:\n", one_hot.numpy().astype(int))
difference = float(np.abs((concatenated - per_class_bias).numpy()).max())
print("max |concatenation - (W_z z + b + w_y)|:", difference)
assert difference < 1e-4

try:
    G(tg.randn(4, 100, generator=rng))        # a conditional G needs its labels
except ValueError as err:
    print("error:", err)

# %% [markdown]
# ## Training the conditional GAN
#
# The trainer passes each real batch's labels to $D$ with the real images, gives the fakes
# in $D$'s step the same labels, and draws labels uniformly for $G$'s step.
#
# Every 1,000 steps a callback asks tinygan's digit classifier (an MLP trained on the real
# training images, cached on disk on first use; chapter 11) how many of 500 samples, 50 per
# digit, it reads as the digit asked for. Chance is 10%.

# %%
images, labels = load_mnist("train")
classifier = get_digit_classifier()
asked = np.repeat(np.arange(10), 50)
z_check = tg.Tensor(tg.Generator(8).normal((500, 100)))

def obeyed(G) -> float:
    """Share of the 500 samples for z_check and ``asked`` that the classifier reads as asked."""
    G.eval()                                               # sampling: eval mode, no graph
    with tg.no_grad():
        out = G(z_check, asked).numpy()
    G.train()
    return float((classifier.probabilities(out).argmax(axis=1) == asked).mean())

agreement = {}
trainer = GANTrainer(G, D, get_loss("ns"),
                     optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                     optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                     DatasetBatches(images, labels, rng), rng, z_dim=100, batch_size=64,
                     num_classes=10)
trainer.add_callback(steps(1000, 4), lambda t: agreement.update({t.step: obeyed(t.G)}))
trainer.train(steps(10000, 16), progress=False)
print(f"trained {trainer.step} steps; last losses: D {trainer.history['d_loss'][-1]:.3f}, "
      f"G {trainer.history['g_loss'][-1]:.3f}")
print("read as the digit asked for:",
      ", ".join(f"{100 * a:.0f}% at {step}" for step, a in agreement.items()))
if not quick_mode():   # the text below: near chance at first, then the label is obeyed
    assert max(agreement[k] for k in (1000, 2000, 3000)) < 0.25
    assert agreement[10000] > 0.85

# %% [markdown]
# $G$ does not obey the label from the start. For the first few thousand steps the agreement
# stays near chance: $G$ learns to draw digits first, and for a while ignores which one it was
# asked for (chapter 9's figure shows the same on its own run). Only after that does it learn
# to obey, and by step 10,000 it does for most samples. A conditional GAN stopped early can
# look trained and still ignore its label.

# %% [markdown]
# ## One row per digit, one column per noise vector
#
# Row $i$ asks for digit $i$; column $j$ reuses the same noise $z_j$ in every row. What the
# label does not fix (stroke width, slant) is left to $z$, so it tends to stay constant down a
# column. One number checks the stroke width: the ink of each sample (its mean pixel value),
# correlated between two rows over the ten columns, averaged over every pair of rows. If $z$
# sets the stroke width, a column that is heavy in one row is heavy in the others.

# %%
def digit_grid(G, z_dim=100, columns=10, seed=7):
    z = tg.Generator(seed).normal((columns, z_dim))
    z_all = tg.Tensor(np.tile(z, (10, 1)))                 # row-major: 10 rows x columns
    labels_all = np.repeat(np.arange(10), columns)
    G.eval()                                               # sampling: eval mode, no graph
    with tg.no_grad():
        out = G(z_all, labels_all).numpy()
    G.train()
    return out, labels_all

grid_images, grid_labels = digit_grid(trainer.G)
canvas = np.ones((10 * 29 + 1, 10 * 29 + 1))
for k, img in enumerate(grid_images.reshape(-1, 28, 28)):
    r, c = divmod(k, 10)
    canvas[1 + r * 29:1 + r * 29 + 28, 1 + c * 29:1 + c * 29 + 28] = img
fig, ax = plt.subplots(figsize=(6, 6))
ax.imshow(canvas, cmap="gray", vmin=-1, vmax=1)
ax.set_yticks(14 + 29 * np.arange(10), [f"y = {d}" for d in range(10)])
ax.set_xticks(14 + 29 * np.arange(10), [f"z{j}" for j in range(10)])
ax.set_title(f"Rows: requested digit; columns: shared noise (step {trainer.step})")
plt.show()

ink = grid_images.reshape(10, 10, -1).mean(axis=2)          # [requested digit, column]
pairs = np.corrcoef(ink)[~np.eye(10, dtype=bool)]
print(f"ink of a column, correlated between two rows: {pairs.mean():.2f} on average "
      f"(0 if z did not carry the stroke width across rows)")
if not quick_mode():
    assert pairs.mean() > 0.2

# %% [markdown]
# ## Did we get the digits we asked for?
#
# The digit classifier reads each of 500 generated samples, 50 per requested digit, drawn
# from other noise than the callback's. The fraction classified as the requested digit is
# the conditional GAN's own score; real held-out digits show the classifier's ceiling. In the
# full run about nine in ten generated digits are read as the digit asked for, about as many
# as real held-out digits, and every row of the matrix below has most of its mass on the
# diagonal.

# %%
test_images, test_labels = load_mnist("test")
requested = np.repeat(np.arange(10), 50)
z = tg.Tensor(tg.Generator(12).normal((500, 100)))
trainer.G.eval()
with tg.no_grad():
    generated = trainer.G(z, requested).numpy()
trainer.G.train()
predicted = classifier.probabilities(generated).argmax(axis=1)
accuracy_fake = float((predicted == requested).mean())
accuracy_real = classifier.accuracy(test_images, test_labels)
print(f"classified as the requested digit: {accuracy_fake:.1%} of generated, "
      f"{accuracy_real:.1%} of real held-out digits (chance: 10%)")

confusion = np.zeros((10, 10))
np.add.at(confusion, (requested, predicted), 1)
if not quick_mode():   # the text above
    assert accuracy_fake > 0.85 and accuracy_fake > accuracy_real - 0.05
    assert (np.diag(confusion) / 50 > 0.7).all()            # each row: mostly its own digit
fig, ax = plt.subplots(figsize=(5, 4.3))
im = ax.imshow(confusion / 50, cmap="Blues", vmin=0, vmax=1)
ax.set_xlabel("digit the classifier sees")
ax.set_ylabel("digit requested from G")
ax.set_xticks(range(10))
ax.set_yticks(range(10))
ax.set_title("A good conditional G puts its mass on the diagonal")
fig.colorbar(im, label="fraction of 50 samples")
plt.show()

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **9.1** How many parameters does the first layer of the conditional $G$ have, and how many
# more than the unconditional one? Answer `(parameters, extra)`.

# %%
answer_9_1 = ...   # YOUR CODE: (parameters, extra)

# %%
answer_9_1 = exercise("9.1", answer_9_1, G=G)

# %% [markdown]
# **9.2** $G$ ignores $y$ and produces the class mixture $p_\text{data}(x)$ for every $y$, with
# ten equally likely, non-overlapping classes. What is $D^*(x \mid y)$ on images of class
# $y$, and on images of other classes? Answer `(on_class_y, on_other_classes)`.

# %%
answer_9_2 = ...   # YOUR CODE: (D* on class y, D* on other classes)

# %%
answer_9_2 = exercise("9.2", answer_9_2)
