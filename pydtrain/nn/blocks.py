"""The residual block of a small ResNet (He, Zhang, Ren & Sun, CVPR 2016, Fig. 2 and §4.2).

y = ReLU(BN(W₂ ⋆ ReLU(BN(W₁ ⋆ x))) + s(x)), with s the identity, or a 1×1 convolution + BN
(a projection) when the block changes the width or the resolution; without the shortcut
it is the "plain" block of the same depth.
"""
from __future__ import annotations

from typing import Optional, cast

import numpy as np

from .. import _checks
from .activation import ReLU
from .containers import Sequential
from .conv import Conv2d
from .module import Module
from .norm import BatchNorm2d

__all__ = ["BasicBlock"]


class BasicBlock(Module):
    """Two 3×3 convolutions with batch normalization and ReLU, and a shortcut around them.

    Args:
        in_channels: C of the input.
        out_channels: channels of the output (and of both convolutions).
        stride: of the first convolution (2 halves the resolution).
        shortcut: add the skip path s(x) (the residual block); False gives the plain block.
        dtype: np.float32 or np.float64.

    The skip path is the identity when the shape stays, else ``downsample`` = 1×1 convolution
    (stride ``stride``) + BatchNorm. Convolutions have no bias (BatchNorm follows) and He-normal
    weights. State-dict keys as torchvision's BasicBlock: ``conv1``, ``bn1``, ``conv2``, ``bn2``,
    ``downsample.0``, ``downsample.1``. Backward: ``dx = block.backward(d) + s.backward(d)`` with
    ``d`` the gradient through the final ReLU.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: bool = True,
                 dtype=np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        in_channels = _checks.integer(name, "in_channels", in_channels)
        out_channels = _checks.integer(name, "out_channels", out_channels)
        stride = _checks.integer(name, "stride", stride)
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride, 1, bias=False, init="he_normal", dtype=dtype)
        self.bn1 = BatchNorm2d(out_channels, dtype=dtype)
        self.relu1 = ReLU()
        self.conv2 = Conv2d(out_channels, out_channels, 3, 1, 1, bias=False, init="he_normal", dtype=dtype)
        self.bn2 = BatchNorm2d(out_channels, dtype=dtype)
        self.relu = ReLU()
        self.shortcut = bool(shortcut)
        self.downsample: Optional[Sequential] = None
        if self.shortcut and (stride != 1 or in_channels != out_channels):
            self.downsample = Sequential(
                Conv2d(in_channels, out_channels, 1, stride, bias=False, init="he_normal", dtype=dtype),
                BatchNorm2d(out_channels, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        f = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        if self.shortcut:
            f = f + (x if self.downsample is None else self.downsample(x))
        return self.relu(f)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        d = self.relu.backward(dy)
        dx = cast(np.ndarray, self.conv1.backward(self.bn1.backward(self.relu1.backward(
            cast(np.ndarray, self.conv2.backward(self.bn2.backward(d)))))))
        if not self.shortcut:
            return dx
        return dx + (d if self.downsample is None else self.downsample.backward(d))

    def extra_repr(self) -> str:
        return f"shortcut={self.shortcut}"
