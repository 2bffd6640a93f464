"""Activation layers: forward y = f(x), backward dx = dy ⊙ f'(x), both in C."""
from __future__ import annotations

import numpy as np

from .. import _C
from .module import Module, check_input


class _Elementwise(Module):
    """An activation whose backward needs only the forward input x."""

    _forward = None   # C kernel (x, out) -> y
    _backward = None  # C kernel (x, dy, out) -> dx

    def __init__(self) -> None:
        super().__init__()
        self._x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(self, x)
        self._x = x
        return type(self)._forward(x, None)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        return type(self)._backward(self._x, check_input(self, dy, self._x.dtype), None)


class ReLU(_Elementwise):
    """Rectified linear unit ``y = max(x, 0)``; ``dx = dy ⊙ [x > 0]``."""

    _forward = staticmethod(_C.relu_forward)
    _backward = staticmethod(_C.relu_backward)
