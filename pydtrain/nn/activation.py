"""Activation layers: forward y = f(x), backward dx = dy ⊙ f'(x), both in C.

Saturating: Sigmoid, Tanh. Non-saturating: ReLU, LeakyReLU, ELU, SELU, GELU,
SiLU, Softplus. Each layer caches its input x; the backward kernel recomputes
f'(x) from it (cheaper in memory traffic than caching more).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import _C, _checks
from .. import functional as F
from .module import Module, _Outputs, check_input

__all__ = ["ELU", "GELU", "LeakyReLU", "LogSoftmax", "ReLU", "SELU", "SiLU", "Sigmoid", "Softmax", "Softplus", "Tanh"]


class _Elementwise(Module):
    """An activation whose backward needs only the forward input x.

    ``_forward(x, *hp, out)`` and ``_backward(x, dy, *hp, out)`` are the C
    kernels; ``_hyper()`` gives the layer's hyper-parameters ``hp`` for them.
    Outputs (y, dx) of 128 KiB or more are written again by later calls once
    nothing references them (``_Outputs``); smaller ones are new arrays.
    """

    _forward: Callable[..., np.ndarray]   # C kernel (x, *hp, out) -> y, set by each activation
    _backward: Callable[..., np.ndarray]  # C kernel (x, dy, *hp, out) -> dx

    def __init__(self) -> None:
        super().__init__()
        self._x = None
        self._outputs = _Outputs()

    def _hyper(self) -> tuple:
        return ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(self, x)
        self.__dict__["_x"] = x  # a cache, never a parameter: skips Module.__setattr__ on the hot path
        return self._forward(x, *self._hyper(), self._outputs.large("y", x.shape, x.dtype, x.nbytes))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        dy = check_input(self, dy, self._x.dtype)
        return self._backward(self._x, dy, *self._hyper(), self._outputs.large("dx", dy.shape, dy.dtype, dy.nbytes))


class ReLU(_Elementwise):
    """Rectified linear unit ``y = max(x, 0)``; ``dx = dy ⊙ [x > 0]``."""

    _forward = staticmethod(_C.relu_forward)
    _backward = staticmethod(_C.relu_backward)


class Sigmoid(_Elementwise):
    """Logistic sigmoid ``y = σ(x) = 1/(1 + e⁻ˣ)``; ``dx = dy ⊙ σ(x)(1 − σ(x))``.

    Saturates on both sides: ``σ'`` is at most 1/4, which is why deep sigmoid
    nets suffer vanishing gradients.
    """

    _forward = staticmethod(_C.sigmoid_forward)
    _backward = staticmethod(_C.sigmoid_backward)


class Tanh(_Elementwise):
    """Hyperbolic tangent ``y = tanh(x)``; ``dx = dy ⊙ (1 − tanh²(x))``."""

    _forward = staticmethod(_C.tanh_forward)
    _backward = staticmethod(_C.tanh_backward)


class LeakyReLU(_Elementwise):
    """Leaky ReLU (Maas et al. 2013): ``y = x`` for ``x > 0``, else ``negative_slope·x``.

    Args:
        negative_slope: the slope for negative inputs (any finite number; 0.01 by default).
    """

    _forward = staticmethod(_C.leaky_relu_forward)
    _backward = staticmethod(_C.leaky_relu_backward)

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = _checks.number(type(self).__name__, "negative_slope", negative_slope)

    def _hyper(self) -> tuple:
        return (self.negative_slope,)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_Elementwise):
    """Exponential linear unit (Clevert et al. 2016): ``y = x`` for ``x > 0``, else ``α(eˣ − 1)``.

    Args:
        alpha: α ≥ 0, the value −α the unit saturates to for very negative x.
    """

    _forward = staticmethod(_C.elu_forward)
    _backward = staticmethod(_C.elu_backward)

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        alpha = _checks.number(type(self).__name__, "alpha", alpha)
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0 (ELU saturates to -alpha), got {alpha}")
        self.alpha = alpha

    def _hyper(self) -> tuple:
        return (self.alpha, 1.0)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(_Elementwise):
    """Scaled ELU (Klambauer et al. 2017): ``y = λx`` for ``x > 0``, else ``λα(eˣ − 1)``.

    α ≈ 1.6733 and λ ≈ 1.0507 make mean 0 / variance 1 a fixed point of the
    layer map; pair with LeCun-normal initialization.
    """

    _forward = staticmethod(_C.elu_forward)
    _backward = staticmethod(_C.elu_backward)

    def _hyper(self) -> tuple:
        return (F.SELU_ALPHA, F.SELU_SCALE)


class GELU(_Elementwise):
    """Gaussian error linear unit (Hendrycks & Gimpel 2016): ``y = x·Φ(x) = x/2·(1 + erf(x/√2))``.

    Args:
        approximate: ``"none"`` (the exact erf form) or ``"tanh"``:
            ``y = x/2·(1 + tanh(√(2/π)·(x + 0.044715x³)))``.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate
        self._forward, self._backward = F._gelu_kernels(approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_Elementwise):
    """SiLU / Swish (Elfwing et al. 2018; Ramachandran et al. 2017): ``y = x·σ(x)``."""

    _forward = staticmethod(_C.silu_forward)
    _backward = staticmethod(_C.silu_backward)


class Softplus(_Elementwise):
    """Softplus ``y = (1/β)·log(1 + e^(βx))``, a smooth ReLU; ``dx = dy ⊙ σ(βx)``.

    As in PyTorch, the layer is linear (``y = x``) where ``βx > threshold``.

    Args:
        beta: β > 0, the sharpness.
        threshold: above it (in units of βx) the layer is the identity.
    """

    _forward = staticmethod(_C.softplus_forward)
    _backward = staticmethod(_C.softplus_backward)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        beta = _checks.number(type(self).__name__, "beta", beta)
        threshold = _checks.number(type(self).__name__, "threshold", threshold)
        if beta <= 0:
            raise ValueError(f"beta must be > 0, got {beta}")
        if threshold <= 0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        self.beta = beta
        self.threshold = threshold

    def _hyper(self) -> tuple:
        return (self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """``yᵢ = exp(xᵢ − max x)/Σⱼ exp(xⱼ − max x)`` along ``dim``; backward ``dx = y ⊙ (dy − Σ dy ⊙ y)``.

    For probabilities at inference; train on logits with ``CrossEntropyLoss`` (it fuses
    the softmax, stably).

    Args:
        dim: The axis that sums to 1 (default: the last).
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = _checks.integer("Softmax", "dim", dim, low=-32)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(self, x)
        e = np.exp(x - x.max(axis=self.dim, keepdims=True))
        self.y = e / e.sum(axis=self.dim, keepdims=True)
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        y = self.y
        return y * (dy - (dy * y).sum(axis=self.dim, keepdims=True))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """``yᵢ = xᵢ − max x − log Σⱼ exp(xⱼ − max x)`` along ``dim``; backward ``dx = dy − softmax(x)·Σ dy``.

    Pair it with ``NLLLoss`` (together: ``CrossEntropyLoss``).

    Args:
        dim: The axis normalized (default: the last).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(self, x)
        shifted = x - x.max(axis=self.dim, keepdims=True)
        self.y = shifted - np.log(np.exp(shifted).sum(axis=self.dim, keepdims=True))
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy - np.exp(self.y) * dy.sum(axis=self.dim, keepdims=True)
