"""Ready-made networks for the course: a multilayer perceptron and a small ResNet.

``resnet`` follows the CIFAR ResNets of He et al. (CVPR 2016, §4.2): a 3×3 stem, stages of
BasicBlocks whose first block halves the resolution (from the second stage on) while the
width grows, global average pooling and one linear layer. ``shortcut=False`` builds the plain
network of the same depth, the lecture's comparison: deeper plain nets train worse.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from . import _checks, nn

__all__ = ["mlp", "resnet", "ACTIVATIONS"]

ACTIVATIONS = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "selu": nn.SELU, "gelu": nn.GELU,
    "silu": nn.SiLU, "softplus": nn.Softplus, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
}


def mlp(sizes: Sequence[int], activation: str = "relu", dropout: Optional[float] = None, batchnorm: bool = False,
        init: str = "default", dtype=np.float32) -> nn.Sequential:
    """A fully connected network: Linear(sizes[0], sizes[1]), activation, …, Linear(sizes[-2], sizes[-1]).

    Args:
        sizes: input width, hidden widths, output width (at least two numbers).
        activation: name of the activation after each hidden layer (``ACTIVATIONS``).
        dropout: drop probability after each hidden activation (None: no dropout).
        batchnorm: BatchNorm after each hidden Linear, before the activation (Ioffe & Szegedy 2015).
        init: weight initializer of every Linear (see ``pydtrain.init``).
        dtype: np.float32 or np.float64.

    Returns:
        The ``nn.Sequential``; its last layer gives logits (no activation).
    """
    sizes = list(sizes) if not isinstance(sizes, (str, bytes)) else []
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes must list the input and output widths at least, got {sizes!r}")
    sizes = [_checks.integer("mlp", "sizes", s) for s in sizes]
    if activation not in ACTIVATIONS:
        raise ValueError(f"mlp: activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(n_in, n_out, init=init, dtype=dtype))
        if batchnorm:
            layers.append(nn.BatchNorm1d(n_out, dtype=dtype))
        layers.append(ACTIVATIONS[activation]())
        if dropout:
            layers.append(nn.Dropout(rate=dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1], init=init, dtype=dtype))
    return nn.Sequential(*layers)


def resnet(depths: Sequence[int] = (2, 2, 2), widths: Sequence[int] = (16, 32, 64), in_channels: int = 1,
           num_classes: int = 10, shortcut: bool = True, dtype=np.float32) -> nn.Sequential:
    """A small ResNet for (N, in_channels, H, W) images (He et al. 2016).

    Args:
        depths: BasicBlocks per stage.
        widths: channels per stage (as many as depths); stages after the first start with stride 2.
        in_channels: channels of the input images.
        num_classes: outputs (logits) of the final Linear.
        shortcut: residual blocks; False gives the plain network of the same depth.
        dtype: np.float32 or np.float64.

    Returns:
        ``Sequential(Conv2d 3×3, BatchNorm2d, ReLU, BasicBlock…, AdaptiveAvgPool2d(1), Flatten, Linear)``
        with 2·Σdepths + 2 weight layers.
    """
    depths, widths = list(depths), list(widths)
    if not depths or len(depths) != len(widths):
        raise ValueError(f"resnet: depths and widths must have the same nonzero length, got {depths!r} and {widths!r}")
    depths = [_checks.integer("resnet", "depths", d) for d in depths]
    widths = [_checks.integer("resnet", "widths", w) for w in widths]
    layers = [nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False, init="he_normal", dtype=dtype),
              nn.BatchNorm2d(widths[0], dtype=dtype), nn.ReLU()]
    channels = widths[0]
    for stage, (depth, width) in enumerate(zip(depths, widths)):
        for i in range(depth):
            stride = 2 if stage > 0 and i == 0 else 1
            layers.append(nn.BasicBlock(channels, width, stride, shortcut=shortcut, dtype=dtype))
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes, dtype=dtype)]
    return nn.Sequential(*layers)
