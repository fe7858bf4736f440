"""Least squares GAN (Mao et al. 2017): the sigmoid cross-entropy replaced by MSE to 0/1."""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable
from torchvision import datasets
import torchvision.transforms as transforms
from torchvision.utils import save_image

parser = argparse.ArgumentParser()
parser.add_argument("--n_epochs", type=int, default=200)
parser.add_argument("--batch_size", type=int, default=64)
parser.add_argument("--lr", type=float, default=0.0002)
parser.add_argument("--latent_dim", type=int, default=100)
parser.add_argument("--img_size", type=int, default=32)
parser.add_argument("--channels", type=int, default=1)
parser.add_argument("--base", type=int, default=16, help="channels of the first conv")
parser.add_argument("--sample_interval", type=int, default=400)
opt = parser.parse_args()

cuda = True if torch.cuda.is_available() else False
os.makedirs("images", exist_ok=True)


def weights_init_normal(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.normal_(0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        c = opt.base * 8
        self.init_size = opt.img_size // 4
        self.l1 = nn.Sequential(nn.Linear(opt.latent_dim, c * self.init_size ** 2))
        self.conv_blocks = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.Conv2d(c, c, 3, stride=1, padding=1), nn.BatchNorm2d(c, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(c, c // 2, 3, stride=1, padding=1), nn.BatchNorm2d(c // 2, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(c // 2, opt.channels, 3, stride=1, padding=1), nn.Tanh())

    def forward(self, z):
        out = self.l1(z)
        out = out.view(out.shape[0], opt.base * 8, self.init_size, self.init_size)
        return self.conv_blocks(out)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        b = opt.base
        self.model = nn.Sequential(
            nn.Conv2d(opt.channels, b, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(b, 2 * b, 3, 2, 1), nn.BatchNorm2d(2 * b, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * b, 4 * b, 3, 2, 1), nn.BatchNorm2d(4 * b, 0.8),
            nn.LeakyReLU(0.2, inplace=True))
        ds_size = opt.img_size // 2 ** 3
        self.adv_layer = nn.Linear(4 * b * ds_size ** 2, 1)   # no sigmoid: least squares

    def forward(self, img):
        out = self.model(img)
        return self.adv_layer(out.view(out.shape[0], -1))


adversarial_loss = torch.nn.MSELoss()
generator, discriminator = Generator(), Discriminator()
if cuda:
    generator.cuda(); discriminator.cuda(); adversarial_loss.cuda()
generator.apply(weights_init_normal)
discriminator.apply(weights_init_normal)

dataloader = torch.utils.data.DataLoader(
    datasets.MNIST("data/mnist", train=True, download=True,
                   transform=transforms.Compose([transforms.Resize(opt.img_size),
                                                 transforms.ToTensor(),
                                                 transforms.Normalize([0.5], [0.5])])),
    batch_size=opt.batch_size, shuffle=True, drop_last=True)

optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(0.5, 0.999))
optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(0.5, 0.999))
Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor

for epoch in range(opt.n_epochs):
    for i, (imgs, _) in enumerate(dataloader):
        valid = Variable(Tensor(imgs.shape[0], 1).fill_(1.0), requires_grad=False)
        fake = Variable(Tensor(imgs.shape[0], 1).fill_(0.0), requires_grad=False)
        real_imgs = Variable(imgs.type(Tensor))

        optimizer_G.zero_grad()
        z = Variable(Tensor(np.random.normal(0, 1, (imgs.shape[0], opt.latent_dim))))
        gen_imgs = generator(z)
        g_loss = adversarial_loss(discriminator(gen_imgs), valid)
        g_loss.backward()
        optimizer_G.step()

        optimizer_D.zero_grad()
        real_loss = adversarial_loss(discriminator(real_imgs), valid)
        fake_loss = adversarial_loss(discriminator(gen_imgs.detach()), fake)
        d_loss = 0.5 * (real_loss + fake_loss)
        d_loss.backward()
        optimizer_D.step()

        print("[Epoch %d/%d] [Batch %d/%d] [D loss: %f] [G loss: %f]"
              % (epoch, opt.n_epochs, i, len(dataloader), d_loss.item(), g_loss.item()))
        batches_done = epoch * len(dataloader) + i
        if batches_done % opt.sample_interval == 0:
            save_image(gen_imgs.data[:25], "images/%d.png" % batches_done, nrow=5,
                       normalize=True)
