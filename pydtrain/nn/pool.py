"""Pooling over (N, C, H, W): max, average and global average, forward and backward in C.

Each output is a function of one window of its channel:
max y = max_window x (backward: dy to the argmax), average y = Σ_window x/(kh·kw)
(padding counted as zeros, PyTorch's count_include_pad), global average y = mean over H×W.
"""
from __future__ import annotations

from typing import Optional, Union

import numpy as np

from .. import _C
from .conv import pair
from .module import Module, _Outputs, check_input

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


class _Pool2d(Module):
    """Window, stride (default: the window) and padding (at most half the window) of a pooling layer."""

    def __init__(self, kernel_size: Union[int, tuple], stride=None, padding=0) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = pair(name, "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else pair(name, "stride", stride, 1)
        self.padding = pair(name, "padding", padding, 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{name}: padding {self.padding} must be at most half of kernel_size {self.kernel_size}")
        self._input_size: tuple = ()  # of the last forward input, with its output shape and dtype
        self._out_shape: tuple = ()
        self._dtype: Optional[np.dtype] = None
        self._outputs = _Outputs()

    def _check(self, x: np.ndarray) -> np.ndarray:
        name = type(self).__name__
        x = check_input(self, x)
        if x.ndim != 4:
            raise ValueError(f"{name}: input must be 4-D (N, C, H, W); got shape {x.shape}")
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if kh > x.shape[2] + 2 * ph or kw > x.shape[3] + 2 * pw:
            raise ValueError(f"{name}: kernel_size {self.kernel_size} is larger than the padded input "
                             f"({x.shape[2] + 2 * ph}×{x.shape[3] + 2 * pw})")
        self._input_size, self._dtype = x.shape, x.dtype
        self._out_shape = x.shape[:2] + ((x.shape[2] + 2 * ph - kh) // self.stride[0] + 1,
                                         (x.shape[3] + 2 * pw - kw) // self.stride[1] + 1)
        return x

    def _check_dy(self, dy: np.ndarray) -> np.ndarray:
        name = type(self).__name__
        if not self._input_size:
            raise RuntimeError(f"{name}: backward called before forward")
        dy = check_input(self, dy, self._dtype)
        if dy.shape != self._out_shape:
            raise ValueError(f"{name}: dy must have the shape of the forward output {self._out_shape}; got {dy.shape}")
        return dy

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling: ``y[n, c, r, s] = max`` of x[n, c] over the window at (r·sh − ph, s·sw − pw).

    Args:
        kernel_size: int or (kh, kw).
        stride: int or (sh, sw); defaults to kernel_size.
        padding: int or (ph, pw), at most half the kernel; padded positions never win.

    Backward sends each dy to the position of its window's maximum (the first in row order;
    ``self.argmax`` keeps them as int64 indices ih·W + iw in the plane).
    """

    def __init__(self, kernel_size: Union[int, tuple], stride=None, padding=0) -> None:
        super().__init__(kernel_size, stride, padding)
        self.argmax: Optional[np.ndarray] = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check(x)
        self.argmax = None  # the old indices can be reused unless someone else holds them
        y, self.argmax = _C.maxpool2d_forward(x, self.kernel_size, self.stride, self.padding,
                                              self._outputs.get("y", self._out_shape, x.dtype),
                                              self._outputs.get("argmax", self._out_shape, np.int64))
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dy = self._check_dy(dy)
        return _C.maxpool2d_backward(dy, self.argmax, self._input_size[2:],
                                     self._outputs.get("dx", self._input_size, dy.dtype))


class AvgPool2d(_Pool2d):
    """Average pooling: ``y = Σ_window x/(kh·kw)``, padded positions counted as zeros
    (PyTorch's default count_include_pad=True).

    Args:
        kernel_size: int or (kh, kw).
        stride: int or (sh, sw); defaults to kernel_size.
        padding: int or (ph, pw), at most half the kernel.

    Backward: ``dx[i] = Σ_{windows ∋ i} dy/(kh·kw)``.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check(x)
        return _C.avgpool2d_forward(x, self.kernel_size, self.stride, self.padding,
                                    self._outputs.get("y", self._out_shape, x.dtype))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dy = self._check_dy(dy)
        return _C.avgpool2d_backward(dy, self._input_size[2:], self.kernel_size, self.stride, self.padding,
                                     self._outputs.get("dx", self._input_size, dy.dtype))


class AdaptiveAvgPool2d(Module):
    """Global average pooling ``y[n, c] = mean of x[n, c]`` over H×W, output (N, C, 1, 1).

    Args:
        output_size: 1 or (1, 1); other output sizes are not implemented.

    Backward: ``dx[n, c, :, :] = dy[n, c]/(H·W)``.
    """

    def __init__(self, output_size: Union[int, tuple] = 1) -> None:
        super().__init__()
        size = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size, output_size)
        if size != (1, 1):
            raise NotImplementedError(f"AdaptiveAvgPool2d: only output_size 1 (global average pooling) is "
                                      f"implemented, got {output_size!r}")
        self.output_size = 1
        self._input_size: Optional[tuple] = None
        self._outputs = _Outputs()

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(self, x)
        if x.ndim != 4:
            raise ValueError(f"AdaptiveAvgPool2d: input must be 4-D (N, C, H, W); got shape {x.shape}")
        self._input_size, self._dtype = x.shape, x.dtype
        return _C.global_avgpool_forward(x, self._outputs.get("y", x.shape[:2] + (1, 1), x.dtype))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if not self._input_size:
            raise RuntimeError("AdaptiveAvgPool2d: backward called before forward")
        dy = check_input(self, dy, self._dtype)
        want = self._input_size[:2] + (1, 1)
        if dy.shape != want:
            raise ValueError(f"AdaptiveAvgPool2d: dy must have the shape of the forward output {want}; got {dy.shape}")
        return _C.global_avgpool_backward(dy, self._input_size[2:],
                                          self._outputs.get("dx", self._input_size, dy.dtype))

    def extra_repr(self) -> str:
        return "output_size=1"
