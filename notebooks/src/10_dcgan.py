# %% [markdown]
# # 10. DCGAN: convolutions and transposed convolutions
#
# Companion to [chapters/10_dcgan.md](../chapters/10_dcgan.md). We check that tinygan's
# `Conv2d` computes what the textbook sum says, that `ConvTranspose2d` is its adjoint, and that
# both pass gradient checks; follow a batch through the DCGAN's shapes; and train the DCGAN on
# MNIST, looking at the same noise vectors' samples as training goes.
#
# With `TINYGAN_QUICK=1` the DCGAN is narrow (8 channels instead of 64) and trains for a few
# steps, so the samples are noise; run without it to see digits (slow on a CPU: the full
# 1,500 steps of the 64-channel DCGAN take several minutes; the training cell prints its
# time).

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import gradcheck, nn, optim
from tinygan.data.batching import DatasetBatches
from tinygan.data.mnist import load_mnist
from tinygan.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from tinygan.gan.losses import get_loss
from tinygan.gan.trainer import GANTrainer
from tinygan.run.quick import quick_mode, steps
from tinygan.course import exercise

tg.manual_seed(0)   # layers built without a generator draw from here (fresh per process)

# %% [markdown]
# ## A convolution is a sum over a window...
#
# $y[n, o, i, j] = b_o + \sum_{c, u, v} W[o, c, u, v]\; x_\text{padded}[n, c, s i + u, s j + v]$.
# Written as loops it is slow but unmistakable; tinygan computes the same thing with one
# matrix product. Compare them.

# %%
g = tg.Generator(0)
conv = nn.Conv2d(2, 3, kernel_size=3, stride=2, padding=1, generator=g)
x = tg.randn(1, 2, 7, 7, generator=g)
y = conv(x).detach().numpy()

W, b = conv.weight.numpy(), conv.bias.numpy()
xp = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
out_size = (7 + 2 * 1 - 3) // 2 + 1
loops = np.zeros((1, 3, out_size, out_size), dtype=np.float32)
for o in range(3):
    for i in range(out_size):
        for j in range(out_size):
            loops[0, o, i, j] = b[o] + (W[o] * xp[0, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]).sum()
print("output shape", y.shape, "(floor((7 + 2 - 3) / 2) + 1 = 4)")
print("max |tinygan - loops| =", float(np.abs(y - loops).max()))
assert np.abs(y - loops).max() < 1e-5

# %% [markdown]
# ## ...and the transposed convolution is its adjoint
#
# With the same weights, $\langle \mathrm{conv}(x), y\rangle = \langle x, \mathrm{conv}^\top(y)\rangle$
# for all $x, y$: the transposed convolution is exactly the map that sends the convolution's
# output gradient back to its input. That is why $G$ can *upsample* with it.

# %%
conv = nn.Conv2d(2, 3, 4, stride=2, padding=1, bias=False, generator=g)
deconv = nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1, bias=False)
deconv.weight.data[...] = conv.weight.data            # shapes (3, 2, 4, 4) for both
x = tg.randn(5, 2, 14, 14, generator=g)
y = tg.randn(5, 3, 7, 7, generator=g)
lhs = float((conv(x).numpy() * y.numpy()).sum())
rhs = float((x.numpy() * deconv(y).numpy()).sum())
print(f"<conv(x), y> = {lhs:.5f}   <x, conv_transpose(y)> = {rhs:.5f}")
print("conv: 14x14 -> ", conv(x).shape[2:], "   transposed: 7x7 -> ", deconv(y).shape[2:])
assert abs(lhs - rhs) < 1e-3 * max(1.0, abs(lhs))

# %% [markdown]
# Both layers are checked like every op (chapter 4), in float64 with a stride larger than
# one, including the gradient with respect to the weights.

# %%
g64 = tg.Generator(1)
conv64 = nn.Conv2d(2, 2, 3, stride=2, padding=1, generator=g64).double()
deconv64 = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1, generator=g64).double()
x64 = tg.randn(2, 2, 5, 5, generator=g64, dtype=tg.float64, requires_grad=True)
print("Conv2d gradcheck:         ", gradcheck(lambda t: conv64(t), [x64]))
print("ConvTranspose2d gradcheck:", gradcheck(lambda t: deconv64(t), [x64]))
# the layer reads its own weight, which gradcheck perturbs in place
print("Conv2d weight gradcheck:  ", gradcheck(lambda w: conv64(x64), [conv64.weight]))

# %% [markdown]
# ## The DCGAN's shapes
#
# Radford et al.'s guidelines: strided convolutions instead of pooling, BatchNorm everywhere
# except $G$'s output and $D$'s input, ReLU in $G$ with Tanh at the end, LeakyReLU(0.2) in
# $D$, weights from $\mathcal{N}(0, 0.02^2)$, Adam with $\beta_1 = 0.5$. Follow a batch of 4
# through both networks.

# %%
channels = 8 if quick_mode() else 64
G = DCGANGenerator(z_dim=100, base_channels=channels, generator=tg.Generator(0))
D = DCGANDiscriminator(base_channels=channels, generator=tg.Generator(0))

def trace(module, x):
    for name, layer in module.named_children():
        for sub in (layer if isinstance(layer, nn.Sequential) else [layer]):
            x = sub(x)
            print(f"  {type(sub).__name__:16s} -> {tuple(x.shape)}")
    return x

_ = G.eval(), D.eval()             # just looking: don't touch BatchNorm's running statistics
with tg.no_grad():
    print("G:")
    fake = trace(G, tg.randn(4, 100, generator=g))
    print("D:")
    trace(D, fake)
_ = G.train(), D.train()
print(f"G: {sum(int(np.prod(p.shape)) for p in G.parameters()):,} parameters, "
      f"D: {sum(int(np.prod(p.shape)) for p in D.parameters()):,} ({channels} base channels)")

# %% [markdown]
# ## Training, and samples over training
#
# The same trainer as for the MLP GAN, with Adam(2e-4, $\beta_1 = 0.5$). A callback samples
# the same 16 noise vectors at a few points; 500 more samples, drawn before training and
# again after it, are for the digit classifier below.

# %%
images, labels = load_mnist("train")
rng = tg.Generator(0)
trainer = GANTrainer(G, D, get_loss("ns"),
                     optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                     optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                     DatasetBatches(images, labels, rng), rng, z_dim=100, batch_size=64)
total = steps(1500, 6)
snapshots = {0: trainer.sample(16, generator=tg.Generator(7)).numpy()}
before = trainer.sample(500, generator=tg.Generator(8)).numpy()
trainer.add_callback(max(1, total // 3), lambda t: snapshots.update(
    {t.step: t.sample(16, generator=tg.Generator(7)).numpy()}))
start = time.perf_counter()
trainer.train(total, progress=False)
print(f"{total} steps in {time.perf_counter() - start:.1f} s "
      f"({1000 * (time.perf_counter() - start) / total:.0f} ms per step)")

def tile(images, nrow=4):
    images = images.reshape(-1, 28, 28)
    rows = [np.concatenate(list(images[r * nrow:(r + 1) * nrow]), axis=1) for r in range(len(images) // nrow)]
    return np.concatenate(rows, axis=0)

rows = (len(snapshots) + 1) // 2                 # two a row: narrow enough for the course site
fig, axes = plt.subplots(rows, 2, figsize=(6.4, 3.4 * rows + 0.3))
for ax in axes.ravel()[len(snapshots):]:
    ax.axis("off")
for ax, (step, imgs) in zip(axes.ravel(), snapshots.items()):
    ax.imshow(tile(imgs), cmap="gray", vmin=-1, vmax=1)
    ax.set_title(f"step {step}")
    ax.axis("off")
fig.suptitle("DCGAN samples from the same 16 noise vectors over training")
plt.tight_layout()
plt.show()

# %% [markdown]
# At step 0 every sample is a flat grey. Samples are drawn in eval mode, where BatchNorm
# uses its running statistics, still at their initial mean 0 and variance 1 instead of the
# batch's: nothing rescales the small activations that the $\mathcal{N}(0, 0.02^2)$ weights
# give, and every pixel stays within a few hundredths of 0. Are the last samples digits? Chapter 11's yardsticks answer without our eyes: the digit
# classifier's Fréchet distance to held-out real digits (the real digits' own value beside
# it) and the number of different digits it sees, for 500 samples drawn with the same noise
# before and after training.

# %%
from tinygan.metrics.digits import digit_report, get_digit_classifier

classifier = get_digit_classifier()
test_images, _ = load_mnist("test")
after = trainer.sample(500, generator=tg.Generator(8)).numpy()
report = {name: digit_report(x, test_images, classifier)
          for name, x in (("step 0", before), (f"step {trainer.step}", after))}
print(f"real held-out digits: Frechet distance {report['step 0']['frechet_distance_real']:.1f}")
for name, r in report.items():
    print(f"{name:>10s}: Frechet distance {r['frechet_distance_fake']:7.1f}, classifier score "
          f"{r['classifier_score_fake']:.2f}, {r['classes_covered_fake']} digits covered")
if not quick_mode():   # the text: no digits at step 0, digits of (nearly) every kind at the end
    assert np.abs(snapshots[0]).max() < 0.1                   # the flat grey of step 0
    start, end = report["step 0"], report[f"step {trainer.step}"]
    assert end["frechet_distance_fake"] < start["frechet_distance_fake"] / 4
    assert end["classes_covered_fake"] >= 9          # at least 1% of samples for 9 digits

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **10.1** What spatial size does `Conv2d(kernel_size=4, stride=2, padding=1)` give for a 28x28
# input, and what does `ConvTranspose2d(kernel_size=4, stride=2, padding=1)` give for a 7x7
# input? Answer `(conv_size, transposed_size)`.

# %%
answer_10_1 = ...   # YOUR CODE: (conv output size, transposed output size)

# %%
answer_10_1 = exercise("10.1", answer_10_1)

# %% [markdown]
# **10.2** How many weights (no bias) does `Conv2d(64, 128, kernel_size=4)` have, and how many
# would a `Linear` layer mapping a 64x14x14 input to a 128x7x7 output need?
# Answer `(conv_weights, linear_weights)`.

# %%
answer_10_2 = ...   # YOUR CODE: (conv weights, dense weights)

# %%
answer_10_2 = exercise("10.2", answer_10_2)
print(f"{answer_10_2[0]:,} shared weights vs {answer_10_2[1]:,}")
