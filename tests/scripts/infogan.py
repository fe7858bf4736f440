"""InfoGAN-style training (Chen et al. 2016): a categorical and a continuous code that the
discriminator's auxiliary heads must recover (mutual information term)."""
import argparse
import itertools
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
parser.add_argument("--latent_dim", type=int, default=62)
parser.add_argument("--code_dim", type=int, default=2)
parser.add_argument("--n_classes", type=int, default=10)
parser.add_argument("--img_size", type=int, default=32)
parser.add_argument("--base", type=int, default=16)
parser.add_argument("--sample_interval", type=int, default=400)
opt = parser.parse_args()

cuda = True if torch.cuda.is_available() else False
FloatTensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
LongTensor = torch.cuda.LongTensor if cuda else torch.LongTensor
os.makedirs("images/static", exist_ok=True)


def weights_init_normal(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight.data, 1.0, 0.02)
        torch.nn.init.constant_(m.bias.data, 0.0)


def to_categorical(y, num_columns):
    """One-hot rows for the integer array y."""
    y_cat = np.zeros((y.shape[0], num_columns))
    y_cat[range(y.shape[0]), y] = 1.0
    return Variable(FloatTensor(y_cat))


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        c = 8 * opt.base
        input_dim = opt.latent_dim + opt.n_classes + opt.code_dim
        self.init_size = opt.img_size // 4
        self.l1 = nn.Sequential(nn.Linear(input_dim, c * self.init_size ** 2))
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(c), nn.Upsample(scale_factor=2),
            nn.Conv2d(c, c, 3, stride=1, padding=1), nn.BatchNorm2d(c, 0.8),
            nn.LeakyReLU(0.2, inplace=True), nn.Upsample(scale_factor=2),
            nn.Conv2d(c, c // 2, 3, stride=1, padding=1), nn.BatchNorm2d(c // 2, 0.8),
            nn.LeakyReLU(0.2, inplace=True), nn.Conv2d(c // 2, 1, 3, stride=1, padding=1),
            nn.Tanh())

    def forward(self, noise, labels, code):
        gen_input = torch.cat((noise, labels, code), -1)
        out = self.l1(gen_input)
        out = out.view(out.shape[0], 8 * opt.base, self.init_size, self.init_size)
        return self.conv_blocks(out)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        b = opt.base

        def block(c_in, c_out, bn=True):
            layers = [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            if bn:
                layers.append(nn.BatchNorm2d(c_out, 0.8))
            return layers

        self.conv_blocks = nn.Sequential(*block(1, b, bn=False), *block(b, 2 * b),
                                         *block(2 * b, 4 * b), *block(4 * b, 8 * b))
        ds_size = opt.img_size // 2 ** 4
        flat = 8 * b * ds_size ** 2
        self.adv_layer = nn.Sequential(nn.Linear(flat, 1))
        self.aux_layer = nn.Sequential(nn.Linear(flat, opt.n_classes), nn.Softmax())
        self.latent_layer = nn.Sequential(nn.Linear(flat, opt.code_dim))

    def forward(self, img):
        out = self.conv_blocks(img)
        out = out.view(out.shape[0], -1)
        return self.adv_layer(out), self.aux_layer(out), self.latent_layer(out)


adversarial_loss = torch.nn.MSELoss()
categorical_loss = torch.nn.CrossEntropyLoss()
continuous_loss = torch.nn.MSELoss()
lambda_cat, lambda_con = 1, 0.1

generator, discriminator = Generator(), Discriminator()
if cuda:
    generator.cuda(); discriminator.cuda()
    adversarial_loss.cuda(); categorical_loss.cuda(); continuous_loss.cuda()
generator.apply(weights_init_normal)
discriminator.apply(weights_init_normal)

dataloader = torch.utils.data.DataLoader(
    datasets.MNIST("data/mnist", train=True, download=True,
                   transform=transforms.Compose([transforms.Resize(opt.img_size),
                                                 transforms.ToTensor(),
                                                 transforms.Normalize([0.5], [0.5])])),
    batch_size=opt.batch_size, shuffle=True)

optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(0.5, 0.999))
optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(0.5, 0.999))
optimizer_info = torch.optim.Adam(
    itertools.chain(generator.parameters(), discriminator.parameters()), lr=opt.lr,
    betas=(0.5, 0.999))

static_z = Variable(FloatTensor(np.zeros((opt.n_classes ** 2, opt.latent_dim))))
static_label = to_categorical(
    np.array([num for _ in range(opt.n_classes) for num in range(opt.n_classes)]),
    num_columns=opt.n_classes)
static_code = Variable(FloatTensor(np.zeros((opt.n_classes ** 2, opt.code_dim))))

for epoch in range(opt.n_epochs):
    for i, (imgs, labels) in enumerate(dataloader):
        batch_size = imgs.shape[0]
        valid = Variable(FloatTensor(batch_size, 1).fill_(1.0), requires_grad=False)
        fake = Variable(FloatTensor(batch_size, 1).fill_(0.0), requires_grad=False)
        real_imgs = Variable(imgs.type(FloatTensor))

        optimizer_G.zero_grad()
        z = Variable(FloatTensor(np.random.normal(0, 1, (batch_size, opt.latent_dim))))
        label_input = to_categorical(np.random.randint(0, opt.n_classes, batch_size),
                                     num_columns=opt.n_classes)
        code_input = Variable(FloatTensor(np.random.uniform(-1, 1, (batch_size, opt.code_dim))))
        gen_imgs = generator(z, label_input, code_input)
        validity, _, _ = discriminator(gen_imgs)
        g_loss = adversarial_loss(validity, valid)
        g_loss.backward()
        optimizer_G.step()

        optimizer_D.zero_grad()
        real_pred, _, _ = discriminator(real_imgs)
        fake_pred, _, _ = discriminator(gen_imgs.detach())
        d_loss = (adversarial_loss(real_pred, valid) + adversarial_loss(fake_pred, fake)) / 2
        d_loss.backward()
        optimizer_D.step()

        # mutual information: recover the codes that made each fake
        optimizer_info.zero_grad()
        sampled_labels = np.random.randint(0, opt.n_classes, batch_size)
        gt_labels = Variable(LongTensor(sampled_labels), requires_grad=False)
        z = Variable(FloatTensor(np.random.normal(0, 1, (batch_size, opt.latent_dim))))
        label_input = to_categorical(sampled_labels, num_columns=opt.n_classes)
        code_input = Variable(FloatTensor(np.random.uniform(-1, 1, (batch_size, opt.code_dim))))
        gen_imgs = generator(z, label_input, code_input)
        _, pred_label, pred_code = discriminator(gen_imgs)
        info_loss = lambda_cat * categorical_loss(pred_label, gt_labels) + \
            lambda_con * continuous_loss(pred_code, code_input)
        info_loss.backward()
        optimizer_info.step()

        print("[Epoch %d/%d] [Batch %d/%d] [D loss: %f] [G loss: %f] [info loss: %f]"
              % (epoch, opt.n_epochs, i, len(dataloader), d_loss.item(), g_loss.item(),
                 info_loss.item()))
        batches_done = epoch * len(dataloader) + i
        if batches_done % opt.sample_interval == 0:
            samples = generator(static_z, static_label, static_code)
            save_image(samples.data, "images/static/%d.png" % batches_done,
                       nrow=opt.n_classes, normalize=True)
