"""The suite's network definitions (torch): one builder per architecture family.

Every network takes raw MNIST pixels in [0, 1), shape (N, 1, 28, 28), and
returns 10 logits. Each stresses a different part of the conversion:

* ``vgg``: 4 convs, 2 max pools, a wide 3136 -> 256 -> 10 classifier (issue 13's
  network: max pooling and a wide fully connected layer).
* ``resnet``: 9 convs in 4 basic blocks, 4 residual adds, 2 of them with
  projection shortcuts (1x1 conv, stride 2), global average pooling, 48 -> 10.
* ``mobilenet``: mobilenet_v2-style inverted residuals: 1x1 expansion, 3x3
  depthwise, ReLU6 everywhere, linear 1x1 bottlenecks with residual adds
  (no activation after the add: 3 of them), a 1x1 head, global average pooling.
* ``densenet``: densenet-style pre-activation blocks (BN - ReLU - conv,
  concatenated onto the block's input), a 1x1 transition with average pooling,
  global average pooling.

Batch norm everywhere (kept in the ONNX files: snnc folds it).
"""
from __future__ import annotations

from typing import Callable, Dict

from torch import nn


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> list:
    return [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]


def vgg() -> nn.Module:
    return nn.Sequential(
        *conv_bn(1, 16), nn.ReLU(), *conv_bn(16, 16), nn.ReLU(), nn.MaxPool2d(2),   # 28 -> 14
        *conv_bn(16, 32), nn.ReLU(), *conv_bn(32, 64), nn.ReLU(), nn.MaxPool2d(2),  # 14 -> 7
        nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Linear(256, 10))


class BasicBlock(nn.Module):
    """y = ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x)); shortcut = BN(conv1x1 stride s) when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(cin, cout, 3, stride), nn.ReLU(), *conv_bn(cout, cout))
        self.shortcut = (nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride != 1 or cin != cout
                         else nn.Identity())
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.body(x) + self.shortcut(x))


def resnet() -> nn.Module:
    return nn.Sequential(
        *conv_bn(1, 16), nn.ReLU(),
        BasicBlock(16, 24, 2), BasicBlock(24, 24),    # 28 -> 14
        BasicBlock(24, 48, 2), BasicBlock(48, 48),    # 14 -> 7
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(48, 10))


class InvertedResidual(nn.Module):
    """mobilenet_v2's block: ReLU6(BN(1x1 expand)) -> ReLU6(BN(3x3 depthwise, stride s)) -> BN(1x1 project),
    plus the input when the stride is 1 and the width is kept (a linear bottleneck: no activation after the add)."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.body = nn.Sequential(
            *conv_bn(cin, hidden, 1), nn.ReLU6(),
            *conv_bn(hidden, hidden, 3, stride, groups=hidden), nn.ReLU6(),
            *conv_bn(hidden, cout, 1))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def mobilenet() -> nn.Module:
    return nn.Sequential(
        *conv_bn(1, 16, 3, 2), nn.ReLU6(),                                                # 28 -> 14
        InvertedResidual(16, 16, 1, 2),
        InvertedResidual(16, 24, 2, 4), InvertedResidual(24, 24, 1, 4), InvertedResidual(24, 24, 1, 4),  # -> 7
        *conv_bn(24, 96, 1), nn.ReLU6(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(96, 10))


class DenseLayer(nn.Module):
    """densenet's layer: concat(x, conv3x3(ReLU(BN(x)))), ``growth`` new channels."""

    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, growth, 3, padding=1, bias=False))

    def forward(self, x):
        import torch
        return torch.cat([x, self.body(x)], 1)


def dense_block(cin: int, growth: int, layers: int) -> list:
    return [DenseLayer(cin + i * growth, growth) for i in range(layers)]


def densenet(growth: int = 12) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.MaxPool2d(2),                 # 28 -> 14
        *dense_block(16, growth, 3),                                                 # 16 -> 52 channels
        nn.BatchNorm2d(52), nn.ReLU(), nn.Conv2d(52, 32, 1, bias=False), nn.AvgPool2d(2),  # transition, -> 7
        *dense_block(32, growth, 4),                                                 # 32 -> 80 channels
        nn.BatchNorm2d(80), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(80, 10))


MODELS: Dict[str, Callable[[], nn.Module]] = {
    "vgg": vgg, "resnet": resnet, "mobilenet": mobilenet, "densenet": densenet,
}
