"""Conditional GAN: both networks see the digit's label through an embedding."""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable
from torchvision import datasets
import torchvision.transforms as transforms
from torchvision.utils import save_image

ap = argparse.ArgumentParser()
ap.add_argument("--n_epochs", type=int, default=200)
ap.add_argument("--batch_size", type=int, default=64)
ap.add_argument("--lr", type=float, default=0.0002)
ap.add_argument("--latent_dim", type=int, default=100)
ap.add_argument("--n_classes", type=int, default=10)
ap.add_argument("--img_size", type=int, default=32)
ap.add_argument("--hidden", type=int, default=512)
ap.add_argument("--sample_interval", type=int, default=400)
opt = ap.parse_args()

img_shape = (1, opt.img_size, opt.img_size)
flat = int(np.prod(img_shape))
cuda = True if torch.cuda.is_available() else False
os.makedirs("images", exist_ok=True)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.label_emb = nn.Embedding(opt.n_classes, opt.n_classes)
        h = opt.hidden

        def layer(n_in, n_out, bn=True):
            seq = [nn.Linear(n_in, n_out)]
            if bn:
                seq += [nn.BatchNorm1d(n_out, 0.8)]
            seq += [nn.LeakyReLU(0.2, inplace=True)]
            return seq

        self.model = nn.Sequential(*layer(opt.latent_dim + opt.n_classes, h // 4, bn=False),
                                   *layer(h // 4, h // 2), *layer(h // 2, h),
                                   nn.Linear(h, flat), nn.Tanh())

    def forward(self, noise, labels):
        x = torch.cat((self.label_emb(labels), noise), -1)
        return self.model(x).view(x.size(0), *img_shape)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.label_embedding = nn.Embedding(opt.n_classes, opt.n_classes)
        h = opt.hidden
        self.model = nn.Sequential(
            nn.Linear(opt.n_classes + flat, h), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(h, h), nn.Dropout(0.4), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(h, h), nn.Dropout(0.4), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(h, 1))

    def forward(self, img, labels):
        x = torch.cat((img.view(img.size(0), -1), self.label_embedding(labels)), -1)
        return self.model(x)


mse = torch.nn.MSELoss()
generator, discriminator = Generator(), Discriminator()
if cuda:
    generator.cuda(); discriminator.cuda(); mse.cuda()

dataloader = torch.utils.data.DataLoader(
    datasets.MNIST("data/mnist", train=True, download=True,
                   transform=transforms.Compose([transforms.Resize(opt.img_size),
                                                 transforms.ToTensor(),
                                                 transforms.Normalize([0.5], [0.5])])),
    batch_size=opt.batch_size, shuffle=True)

optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(0.5, 0.999))
optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(0.5, 0.999))
FloatTensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
LongTensor = torch.cuda.LongTensor if cuda else torch.LongTensor


def sample_grid(n_row, batches_done):
    """One row per digit class, same noise along each column."""
    z = Variable(FloatTensor(np.random.normal(0, 1, (n_row ** 2, opt.latent_dim))))
    labels = np.array([num for _ in range(n_row) for num in range(n_row)])
    labels = Variable(LongTensor(labels))
    gen_imgs = generator(z, labels)
    save_image(gen_imgs.data, "images/%d.png" % batches_done, nrow=n_row, normalize=True)


for epoch in range(opt.n_epochs):
    for i, (imgs, labels) in enumerate(dataloader):
        batch_size = imgs.shape[0]
        valid = Variable(FloatTensor(batch_size, 1).fill_(1.0), requires_grad=False)
        fake = Variable(FloatTensor(batch_size, 1).fill_(0.0), requires_grad=False)
        real_imgs = Variable(imgs.type(FloatTensor))
        labels = Variable(labels.type(LongTensor))

        optimizer_G.zero_grad()
        z = Variable(FloatTensor(np.random.normal(0, 1, (batch_size, opt.latent_dim))))
        gen_labels = Variable(LongTensor(np.random.randint(0, opt.n_classes, batch_size)))
        gen_imgs = generator(z, gen_labels)
        g_loss = mse(discriminator(gen_imgs, gen_labels), valid)
        g_loss.backward()
        optimizer_G.step()

        optimizer_D.zero_grad()
        d_real_loss = mse(discriminator(real_imgs, labels), valid)
        d_fake_loss = mse(discriminator(gen_imgs.detach(), gen_labels), fake)
        d_loss = (d_real_loss + d_fake_loss) / 2
        d_loss.backward()
        optimizer_D.step()

        print("[Epoch %d/%d] [Batch %d/%d] [D loss: %f] [G loss: %f]"
              % (epoch, opt.n_epochs, i, len(dataloader), d_loss.item(), g_loss.item()))
        batches_done = epoch * len(dataloader) + i
        if batches_done % opt.sample_interval == 0:
            sample_grid(n_row=10, batches_done=batches_done)
