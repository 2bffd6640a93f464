"""2-D convolution (LeCun et al. 1989), forward and backward in C by im2col + GEMM.

y[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c] (cross-correlation, as PyTorch), over the input
channels c of o's group. Weight (out, in/groups, kh, kw) and state-dict keys as
``torch.nn.Conv2d``.
"""
from __future__ import annotations

from typing import Optional, Union

import numpy as np

from .. import _C, _checks, init as _init
from ..functional import conv2d_output_size, conv2d_work_size
from .module import Module, Parameter, _Outputs, check_input

__all__ = ["Conv2d"]

_TORCH_PADDING_MODES = ("reflect", "replicate", "circular")


def pair(who: str, name: str, value, low: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= low, as (h, w)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"{who}: {name} must be an int or a pair (h, w), got {value!r}")
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{who}: {name} must be an int or a pair of ints, got {value!r}")
        if v < low:
            raise ValueError(f"{who}: {name} must be >= {low}, got {value!r}")
    return int(items[0]), int(items[1])


class Conv2d(Module):
    """2-D convolution over (N, C, H, W) inputs.

    Args:
        in_channels: C of the input.
        out_channels: O, channels of the output.
        kernel_size: int or (kh, kw).
        stride: int or (sh, sw).
        padding: int, (ph, pw) zeros on both sides, ``"valid"`` (none) or ``"same"`` (stride 1
            only: output size = input size; an odd total puts the extra row/column at the
            bottom/right, as PyTorch).
        dilation: int or (dh, dw), spacing of the kernel taps.
        groups: split the channels into groups convolved separately (in and out channels
            divisible by it; ``groups = in_channels`` is a depthwise convolution).
        bias: learn a bias per output channel.
        padding_mode: ``"zeros"`` only.
        init: weight initializer by name: ``"default"`` (PyTorch's: weight and bias
            U[−1/√fan_in, 1/√fan_in], fan_in = in/groups·kh·kw), ``"he_normal"``, ``"he_uniform"``,
            … (see ``pydtrain.init``; named schemes set the bias to zero).
        dtype: np.float32 or np.float64.

    Output (N, O, oh, ow), ``oh = ⌊(H + 2ph − dh·(kh − 1) − 1)/sh⌋ + 1``. Backward:
    ``dW += Σ_n dy_n·col(x_n)ᵀ``, ``db += Σ dy``, ``dx = col⁻¹(Wᵀ·dy_n)``. The layer keeps a
    working buffer (im2col columns of up to 8 image blocks) between calls, and its output
    arrays are written again by later calls once nothing references them.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Union[int, tuple], stride=1,
                 padding: Union[int, tuple, str] = 0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", init: str = "default", dtype=np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_channels = _checks.integer(name, "in_channels", in_channels)
        self.out_channels = _checks.integer(name, "out_channels", out_channels)
        self.groups = _checks.integer(name, "groups", groups)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{name}: groups ({self.groups}) must divide in_channels ({self.in_channels}) "
                             f"and out_channels ({self.out_channels})")
        self.kernel_size = pair(name, "kernel_size", kernel_size, 1)
        self.stride = pair(name, "stride", stride, 1)
        self.dilation = pair(name, "dilation", dilation, 1)
        if padding_mode in _TORCH_PADDING_MODES:
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not implemented; use 'zeros'")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: padding_mode must be 'zeros', got {padding_mode!r}")
        self.padding_mode = padding_mode
        if padding == "same":
            if self.stride != (1, 1):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride={stride!r}")
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            self._pad4 = (total[0] // 2, total[0] - total[0] // 2, total[1] // 2, total[1] - total[1] // 2)
            self.padding: Union[str, tuple] = "same"
        elif padding == "valid":
            self._pad4, self.padding = (0, 0, 0, 0), "valid"
        elif isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        else:
            ph, pw = pair(name, "padding", padding, 0)
            self._pad4, self.padding = (ph, ph, pw, pw), (ph, pw)
        dtype = _checks.float_dtype(name, dtype)
        kh, kw = self.kernel_size
        self.weight = Parameter(np.empty((self.out_channels, self.in_channels // self.groups, kh, kw), dtype))
        self.bias = Parameter(np.zeros(self.out_channels, dtype)) if bias else None
        if init == "default":
            _init.default_linear_(self.weight, self.bias)
        else:
            _init.init_weight(self.weight, init)
        self._x: Optional[np.ndarray] = None
        self._work = np.empty(0, dtype)
        self._outputs = _Outputs()

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        """(oh, ow) for an input of h × w; ValueError when the kernel is larger than the padded input."""
        oh, ow = conv2d_output_size((h, w), self.kernel_size, self.stride, self._pad4, self.dilation)
        if oh < 1 or ow < 1:
            pt, pb, pl, pr = self._pad4
            eh, ew = (d * (k - 1) + 1 for d, k in zip(self.dilation, self.kernel_size))
            raise ValueError(f"{type(self).__name__}: the kernel ({eh}×{ew} with dilation) is larger than the "
                             f"padded input ({h + pt + pb}×{w + pl + pr})")
        return oh, ow

    def _geometry(self, x: np.ndarray) -> tuple[int, int]:
        """Checks x (N, C, H, W), grows the work buffer; returns (oh, ow)."""
        name = type(self).__name__
        if x.ndim != 4:
            raise ValueError(f"{name}: input must be 4-D (N, C, H, W) with C={self.in_channels}; got shape {x.shape}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{name}: expected {self.in_channels} input channels; got {x.shape[1]} in shape {x.shape}")
        oh, ow = self.output_size(x.shape[2], x.shape[3])
        need = conv2d_work_size(x.shape, self.weight.data.shape, (oh, ow), self.groups)
        if self._work.size < need:
            self.__dict__["_work"] = np.empty(need, x.dtype)
        return oh, ow

    def forward(self, x: np.ndarray) -> np.ndarray:
        weight, bias = self.weight.data, self.bias
        x = check_input(self, x, weight.dtype)
        oh, ow = self._geometry(x)
        self.__dict__["_x"] = x  # a cache, not a parameter: skips Module.__setattr__
        y = self._outputs.get("y", (x.shape[0], self.out_channels, oh, ow), x.dtype)
        return _C.conv2d_forward(x, weight, None if bias is None else bias.data, self.stride, self._pad4,
                                 self.dilation, self.groups, self._work, y)

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> Optional[np.ndarray]:
        """dW += Σ_n dy_n·col(x_n)ᵀ, db += Σ dy; returns dx (None when ``input_grad=False``)."""
        x = self._x
        if x is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        dy = check_input(self, dy, x.dtype)
        oh, ow = self._geometry(x)
        want = (x.shape[0], self.out_channels, oh, ow)
        if dy.shape != want:
            raise ValueError(f"{type(self).__name__}: dy must have the shape of the forward output {want}; "
                             f"got {dy.shape}")
        dx = self._outputs.get("dx", x.shape, x.dtype) if input_grad else None
        return _C.conv2d_backward(x, self.weight.data, dy, self.stride, self._pad4, self.dilation, self.groups,
                                  self.weight.grad, None if self.bias is None else self.bias.grad, self._work,
                                  input_grad, dx)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
             f"padding={self.padding}")
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + f", bias={self.bias is not None}"
