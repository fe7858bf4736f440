"""Vanilla GAN on MNIST with fully connected networks (an MLP generator and critic)."""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable
from torch.utils.data import DataLoader
from torchvision import datasets
import torchvision.transforms as transforms
from torchvision.utils import save_image

parser = argparse.ArgumentParser(description="MLP GAN")
parser.add_argument("--epochs", type=int, default=100)
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--lr", type=float, default=2e-4)
parser.add_argument("--beta1", type=float, default=0.5)
parser.add_argument("--beta2", type=float, default=0.999)
parser.add_argument("--zdim", type=int, default=100, help="length of the noise vector")
parser.add_argument("--size", type=int, default=28, help="image height and width")
parser.add_argument("--every", type=int, default=500, help="save samples every N batches")
args = parser.parse_args()

shape = (1, args.size, args.size)
pixels = int(np.prod(shape))
use_gpu = torch.cuda.is_available()
os.makedirs("samples", exist_ok=True)


def dense(n_in, n_out, bn=True):
    """Linear -> (BatchNorm) -> LeakyReLU, returned as a list to splat into Sequential."""
    out = [nn.Linear(n_in, n_out)]
    if bn:
        out.append(nn.BatchNorm1d(n_out, 0.8))   # the second argument is eps
    out.append(nn.LeakyReLU(0.2, inplace=True))
    return out


class G(nn.Module):
    def __init__(self):
        super(G, self).__init__()
        self.layers = nn.Sequential(*dense(args.zdim, 128, bn=False), *dense(128, 256),
                                    *dense(256, 512), nn.Linear(512, pixels), nn.Tanh())

    def forward(self, noise):
        return self.layers(noise).view(noise.size(0), *shape)


class D(nn.Module):
    def __init__(self):
        super(D, self).__init__()
        self.layers = nn.Sequential(nn.Linear(pixels, 512), nn.LeakyReLU(0.2, inplace=True),
                                    nn.Linear(512, 256), nn.LeakyReLU(0.2, inplace=True),
                                    nn.Linear(256, 1), nn.Sigmoid())

    def forward(self, images):
        return self.layers(images.view(images.size(0), -1))


netG, netD = G(), D()
bce = nn.BCELoss()
if use_gpu:
    netG.cuda(); netD.cuda(); bce.cuda()

mnist = datasets.MNIST("data/mnist", train=True, download=True,
                       transform=transforms.Compose([transforms.Resize(args.size),
                                                     transforms.ToTensor(),
                                                     transforms.Normalize([0.5], [0.5])]))
loader = DataLoader(mnist, batch_size=args.batch, shuffle=True)

optG = torch.optim.Adam(netG.parameters(), lr=args.lr, betas=(args.beta1, args.beta2))
optD = torch.optim.Adam(netD.parameters(), lr=args.lr, betas=(args.beta1, args.beta2))
FloatT = torch.cuda.FloatTensor if use_gpu else torch.FloatTensor

for epoch in range(args.epochs):
    for step, (real, _) in enumerate(loader):
        n = real.size(0)
        ones = Variable(FloatT(n, 1).fill_(1.0), requires_grad=False)
        zeros = Variable(FloatT(n, 1).fill_(0.0), requires_grad=False)
        real = Variable(real.type(FloatT))

        # generator: make D call the fakes real
        optG.zero_grad()
        noise = Variable(FloatT(np.random.normal(0, 1, (real.shape[0], args.zdim))))
        fakes = netG(noise)
        lossG = bce(netD(fakes), ones)
        lossG.backward()
        optG.step()

        # discriminator: real as real, fakes (detached) as fake
        optD.zero_grad()
        lossD = (bce(netD(real), ones) + bce(netD(fakes.detach()), zeros)) / 2
        lossD.backward()
        optD.step()

        print("epoch %d/%d batch %d/%d | D %.6f | G %.6f"
              % (epoch, args.epochs, step, len(loader), lossD.item(), lossG.item()))
        done = epoch * len(loader) + step
        if done % args.every == 0:
            save_image(fakes.data[:25], "samples/%d.png" % done, nrow=5, normalize=True)
