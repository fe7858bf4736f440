"""torchvision.models.resnet18 (He et al. 2016), built from the active framework's nn:
the architecture and child order of torchvision's, with its initialisation (He-normal
convolutions with fan_out, BatchNorm at 1 and 0), no pretrained weights."""
from __future__ import annotations

from typing import Any

from torchvision._framework import framework


def _block(nn: Any, inplanes: int, planes: int, stride: int) -> Any:
    class BasicBlock(nn.Module):
        """Two 3x3 convolutions and a shortcut: relu(bn2(conv2(relu(bn1(conv1 x)))) + x)."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(
                    nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes))

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(out + identity)

    return BasicBlock()


def resnet18(weights: Any = None, progress: bool = True, num_classes: int = 1000) -> Any:
    if weights is not None:
        raise ValueError("the torchvision test double has no pretrained weights")
    fw = framework()
    nn = fw.nn

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            inplanes = 64
            for index, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
                layer = nn.Sequential(_block(nn, inplanes, planes, stride),
                                      _block(nn, planes, planes, 1))
                setattr(self, f"layer{index + 1}", layer)
                inplanes = planes
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(fw.flatten(self.avgpool(x), 1))

    return ResNet()
