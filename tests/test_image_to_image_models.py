"""The image-to-image GANs' models of a public collection, run on tinygan unchanged.

tests/scripts/cyclegan_models.py and pix2pix_models.py are eriklindernoren/PyTorch-GAN's
model files, copied verbatim (see tests/scripts/README.md). They use what the MNIST GANs do
not: ReflectionPad2d, ZeroPad2d, InstanceNorm2d, a residual block, a U-Net's skip
connections through torch.cat, a PatchGAN discriminator. Each model is built in PyTorch and
in tinygan (only the torch import lines rewritten), given PyTorch's initial weights, and run
forward and backward on the same images: outputs and every parameter's gradient agree (float32
to rounding, float64 to 1e-9), and in float64 after an Adam step the next ones agree too."""
from __future__ import annotations

import types

import numpy as np
import pytest

import tinygan
from tests.script_runner import SCRIPTS, rewrite_imports

torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")


def _load(name: str, framework: str) -> types.ModuleType:
    source = (SCRIPTS / name).read_text()
    if framework == "tinygan":
        source = rewrite_imports(source)
    module = types.ModuleType(f"{framework}_{name[:-3]}")
    exec(compile(source, str(SCRIPTS / name), "exec"), module.__dict__)
    return module


def _pair(script: str, build, double: bool):
    """The same model in both libraries, tinygan's with PyTorch's initial weights."""
    torch.manual_seed(0)
    theirs = build(_load(script, "torch"))
    ours = build(_load(script, "tinygan"))
    if double:
        theirs, ours = theirs.double(), ours.double()
    state = {k: tinygan.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    return ours, theirs


def _close(ours, theirs, double, what, scale=None):
    """float64: the same arithmetic to 1e-9; float32: to rounding, which a deep network
    spreads to about 1e-4 of the largest value around. ``scale``: that value (for a
    gradient, the largest of all the parameters' gradients: a conv bias before an
    InstanceNorm has a gradient that is 0 in exact arithmetic, rounding noise in both)."""
    if scale is None:
        scale = float(np.abs(theirs).max()) if theirs.size else 0.0
    tol = 1e-9 if double else 2e-4
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * scale, err_msg=what)


def _compare(script, build, inputs, double, steps=None):
    """Forward, every gradient, then an Adam step and the same again. In float32 one step
    only: a conv bias before an InstanceNorm has a gradient that is 0 in exact arithmetic,
    rounding noise in both libraries, and Adam divides it by its own size, so that noise
    becomes a full step of +-lr, different in each; float64 shows the step agrees."""
    steps = steps or (2 if double else 1)
    ours, theirs = _pair(script, build, double)
    kind = np.float64 if double else np.float32
    inputs = [x.astype(kind) for x in inputs]
    opt_o = tinygan.optim.Adam(ours.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_t = torch.optim.Adam(theirs.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for step in range(steps):
        out_o = ours(*[tinygan.tensor(x) for x in inputs])
        out_t = theirs(*[torch.tensor(x) for x in inputs])
        _close(out_o.detach().numpy(), out_t.detach().numpy(), double, f"output, step {step}")
        loss_o, loss_t = (out_o - 0.5).pow(2).mean(), (out_t - 0.5).pow(2).mean()
        for opt, loss in ((opt_o, loss_o), (opt_t, loss_t)):
            opt.zero_grad()
            loss.backward()
        grads_t = dict(theirs.named_parameters())
        scale = max(float(p.grad.abs().max()) for p in theirs.parameters())
        for name, p in ours.named_parameters():
            _close(p.grad.numpy(), grads_t[name].grad.numpy(), double, f"{name}.grad", scale)
        opt_o.step()
        opt_t.step()


def _images(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


DOUBLE = pytest.mark.parametrize("double", [False, True], ids=["float32", "float64"])


@DOUBLE
def test_cyclegan_resnet_generator_matches_pytorch(double):
    _compare("cyclegan_models.py", lambda m: m.GeneratorResNet((3, 16, 16), 1),
             [_images(2, 3, 16, 16)], double)


@DOUBLE
def test_cyclegan_patchgan_discriminator_matches_pytorch(double):
    _compare("cyclegan_models.py", lambda m: m.Discriminator((3, 32, 32)),
             [_images(2, 3, 32, 32)], double)


@DOUBLE
def test_pix2pix_discriminator_on_image_pairs_matches_pytorch(double):
    _compare("pix2pix_models.py", lambda m: m.Discriminator(in_channels=3),
             [_images(1, 3, 32, 32), _images(1, 3, 32, 32, seed=1)], double)


@DOUBLE
def test_pix2pix_unet_blocks_match_pytorch(double):
    """The U-Net's down and up blocks (the full generator needs 256 x 256 images), in
    evaluation mode so that Dropout draws nothing."""
    def build(m):
        return _UNetPair(m, m.UNetDown(3, 8), m.UNetUp(8, 3, dropout=0.5)).eval()

    _compare("pix2pix_models.py", build, [_images(2, 3, 8, 8)], double)


def _UNetPair(m, down, up):
    """x -> down -> up, concatenated with x (the skip connection), as a module of the
    script's own library."""
    nn = m.nn

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.down, self.up = down, up

        def forward(self, x):
            return self.up(self.down(x), x)

    return Pair()
