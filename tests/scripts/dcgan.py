"""DCGAN variant whose generator upsamples then convolves (instead of transposed convs)."""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable
from torchvision import datasets, transforms
from torchvision.utils import save_image

p = argparse.ArgumentParser()
p.add_argument("--n_epochs", type=int, default=50)
p.add_argument("--batch_size", type=int, default=64)
p.add_argument("--lr", type=float, default=0.0002)
p.add_argument("--b1", type=float, default=0.5)
p.add_argument("--b2", type=float, default=0.999)
p.add_argument("--latent_dim", type=int, default=100)
p.add_argument("--img_size", type=int, default=32)
p.add_argument("--width", type=int, default=128, help="channels of the widest layer")
p.add_argument("--sample_interval", type=int, default=400)
opt = p.parse_args()

cuda = torch.cuda.is_available()
os.makedirs("images", exist_ok=True)


def init_weights(m):
    name = m.__class__.__name__
    if name.find("Conv") != -1:
        torch.nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif name.find("BatchNorm2d") != -1:
        torch.nn.init.normal_(m.weight.data, 1.0, 0.02)
        torch.nn.init.constant_(m.bias.data, 0.0)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        w = opt.width
        self.start = opt.img_size // 4
        self.project = nn.Sequential(nn.Linear(opt.latent_dim, w * self.start ** 2))
        self.body = nn.Sequential(
            nn.BatchNorm2d(w),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(w, w, 3, stride=1, padding=1),
            nn.BatchNorm2d(w, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(w, w // 2, 3, stride=1, padding=1),
            nn.BatchNorm2d(w // 2, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w // 2, 1, 3, stride=1, padding=1),
            nn.Tanh(),
        )

    def forward(self, z):
        x = self.project(z)
        x = x.view(x.shape[0], opt.width, self.start, self.start)
        return self.body(x)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()

        def down(c_in, c_out, bn=True):
            layers = [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
                      nn.Dropout2d(0.25)]
            if bn:
                layers.append(nn.BatchNorm2d(c_out, 0.8))
            return layers

        w = opt.width
        self.features = nn.Sequential(*down(1, w // 8, bn=False), *down(w // 8, w // 4),
                                      *down(w // 4, w // 2), *down(w // 2, w))
        side = opt.img_size // 2 ** 4
        self.head = nn.Sequential(nn.Linear(w * side ** 2, 1), nn.Sigmoid())

    def forward(self, img):
        h = self.features(img)
        return self.head(h.view(h.shape[0], -1))


generator, discriminator = Generator(), Discriminator()
criterion = torch.nn.BCELoss()
if cuda:
    generator.cuda(); discriminator.cuda(); criterion.cuda()
generator.apply(init_weights)
discriminator.apply(init_weights)

data = torch.utils.data.DataLoader(
    datasets.MNIST("data/mnist", train=True, download=True,
                   transform=transforms.Compose([transforms.Resize(opt.img_size),
                                                 transforms.ToTensor(),
                                                 transforms.Normalize([0.5], [0.5])])),
    batch_size=opt.batch_size, shuffle=True)

opt_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
opt_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor

for epoch in range(opt.n_epochs):
    for i, (imgs, _) in enumerate(data):
        real_label = Variable(Tensor(imgs.shape[0], 1).fill_(1.0), requires_grad=False)
        fake_label = Variable(Tensor(imgs.shape[0], 1).fill_(0.0), requires_grad=False)
        real = Variable(imgs.type(Tensor))

        opt_G.zero_grad()
        z = Variable(Tensor(np.random.normal(0, 1, (imgs.shape[0], opt.latent_dim))))
        fake = generator(z)
        g_loss = criterion(discriminator(fake), real_label)
        g_loss.backward()
        opt_G.step()

        opt_D.zero_grad()
        d_real = criterion(discriminator(real), real_label)
        d_fake = criterion(discriminator(fake.detach()), fake_label)
        d_loss = 0.5 * (d_real + d_fake)
        d_loss.backward()
        opt_D.step()

        print("[Epoch %d/%d] [Batch %d/%d] [D loss: %f] [G loss: %f]"
              % (epoch, opt.n_epochs, i, len(data), d_loss.item(), g_loss.item()))
        if (epoch * len(data) + i) % opt.sample_interval == 0:
            save_image(fake.data[:25], "images/%d.png" % (epoch * len(data) + i), nrow=5,
                       normalize=True)
