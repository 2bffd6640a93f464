"""Linear (fully connected) layer: y = x·Wᵀ + b, with PyTorch's layout W (out, in)."""
from __future__ import annotations

import numpy as np

from .. import _C, init as _init
from .module import Module, Parameter, _Outputs, check_input

__all__ = ["Linear"]


class Linear(Module):
    """Fully connected layer ``y = x·Wᵀ + b``.

    Args:
        in_features: size of each input row.
        out_features: size of each output row.
        bias: learn an additive bias ``b`` (out_features,).
        init: weight initializer by name (see ``pydtrain.init``): ``"default"``
            (PyTorch's: U[−1/√in, 1/√in] for weight and bias), ``"he_normal"``,
            ``"glorot_uniform"``, ``"normal_0.01"``, … Named schemes set the bias to zero.
        dtype: np.float32 or np.float64.

    Input (N, in) or (…, in); output (…, out). Backward: dW += dyᵀ·x,
    db += Σ dy, dx = dy·W. Outputs (y, dx) of 128 KiB or more are written again by
    later calls once nothing references them.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init: str = "default",
                 dtype=np.float32) -> None:
        super().__init__()
        for label, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Linear: {label} must be a positive integer, got {v!r}")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"Linear: dtype must be float32 or float64, got {dtype}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None
        if init == "default":
            _init.default_linear_(self.weight, self.bias)
        else:
            _init.init_weight(self.weight, init)
        self._x = None
        self._out_shape: tuple = ()
        self._outputs = _Outputs()

    def forward(self, x: np.ndarray) -> np.ndarray:
        weight, bias = self.weight.data, self.bias
        x = check_input(self, x, weight.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: input must have shape (..., {self.in_features}); got {x.shape}")
        x2 = x if x.ndim == 2 else x.reshape(-1, self.in_features)
        out_shape = x.shape[:-1] + (self.out_features,)
        cache = self.__dict__  # caches, never parameters: skips Module.__setattr__ on the hot path
        cache["_x"], cache["_out_shape"] = x2, out_shape
        rows = x2.shape[0]
        out = self._outputs.large("y", (rows, self.out_features), x2.dtype, rows * self.out_features * x2.itemsize)
        y = _C.gemm(x2, weight, out, False, True, 1.0, 0.0, None if bias is None else bias.data)
        return y if x.ndim == 2 else y.reshape(out_shape)

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray:
        """dW += dyᵀ·x (dW = dyᵀ·x right after zero_grad), db += Σ dy; returns dx = dy·W.

        dx is None when ``input_grad=False`` (the product is skipped)."""
        if self._x is None:
            raise RuntimeError("Linear: backward called before forward")
        x2, weight, bias = self._x, self.weight, self.bias
        dy = check_input(self, dy, x2.dtype)
        if dy.shape != self._out_shape:
            raise ValueError(f"Linear: dy must have the shape of the forward output {self._out_shape}; got {dy.shape}")
        dy2 = dy if dy.ndim == 2 else dy.reshape(-1, self.out_features)
        dw, beta = weight._grad_for_write()
        _C.gemm(dy2, x2, dw, True, False, 1.0, beta)
        weight._grad_written()
        if bias is not None:
            _C.bias_grad(dy2, bias.grad)
        if not input_grad:
            return None
        dx = _C.gemm(dy2, weight.data, self._outputs.large("dx", x2.shape, x2.dtype, x2.nbytes), False, False, 1.0, 0.0)
        return dx if dy.ndim == 2 else dx.reshape(dy.shape[:-1] + (self.in_features,))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
