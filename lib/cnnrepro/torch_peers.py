"""The benchmark's peer: VGG16, ResNet18, Report 2's concatenating networks and the
simple CNN written directly in
PyTorch for the CPU (channels-last), layer for layer the models of
``cnnrepro.models``, trained the way a PyTorch user would. Optional: needs torch."""

from __future__ import annotations

import torch
from torch import nn

from .models.vgg import CONFIGS


def vgg16(in_channels=3, classes=10):
    layers, c = [], in_channels
    for v in CONFIGS["D"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(7), nn.Flatten(),  # torchvision's head
                         nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(0.5),
                         nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(0.5), nn.Linear(4096, classes))


class BasicBlock(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
            nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, width, 1, stride, bias=False), nn.BatchNorm2d(width))
                         if stride != 1 or cin != width else nn.Identity())

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet18(in_channels=3, classes=10, stem="imagenet"):
    """ResNet-18; ``stem`` as in ``cnnrepro.models.resnet``."""
    if stem == "imagenet":
        layers = [nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
                  nn.MaxPool2d(3, 2, 1)]
    else:
        layers = [nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(True)]
    cin = 64
    for stage, width in enumerate((64, 128, 256, 512)):
        for b in range(2):
            layers.append(BasicBlock(cin, width, 2 if b == 0 and stage > 0 else 1))
            cin = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes))


def simple_cnn(in_channels=1, classes=10):
    return nn.Sequential(nn.Conv2d(in_channels, 50, 5, padding=2), nn.ReLU(True), nn.MaxPool2d(2),
                         nn.Conv2d(50, 100, 5, padding=2), nn.ReLU(True), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4900, classes))


class ConcatBlock(nn.Module):
    """Three 2x2 'same' convolutions with batch norm, concatenated onto the input:
    ``cnnrepro.models.concat_residual.residual_block`` (Keras pads an even kernel's
    'same' convolution by one row and column at the bottom and right)."""

    def __init__(self, cin, filters):
        super().__init__()
        layers, c = [], cin
        for _ in range(3):
            layers += [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(c, filters, 2),
                       nn.BatchNorm2d(filters, eps=1e-3, momentum=0.01)]
            c = filters
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return torch.cat([x, self.body(x)], dim=1)


def concat_resnet(block_filters, in_channels=1, classes=10):
    """Zero-pad 28x28 to 32x32, a block and a 2x2 max pool per entry, Dense 64 ReLU, Dense."""
    layers, c, side = [nn.ZeroPad2d(2)], in_channels, 32
    for filters in block_filters:
        layers += [ConcatBlock(c, filters), nn.MaxPool2d(2)]
        c, side = c + filters, side // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * side * side, 64), nn.ReLU(True),
                         nn.Linear(64, classes))


PEERS = {"vgg16": vgg16,
         "resnet_shallow": lambda c=1, k=10: concat_resnet((6, 16), c, k),
         "resnet_deep": lambda c=1, k=10: concat_resnet((6, 16, 32, 64), c, k), "resnet18": resnet18,
         "resnet18_small_stem": lambda c=3, k=10: resnet18(c, k, stem="small"), "simple_cnn": simple_cnn}
