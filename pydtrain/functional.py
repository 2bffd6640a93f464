"""The C kernels, one function each, on NumPy arrays.

Inputs are read in place; outputs go to ``out=`` when given (written in place,
no copy) or to a new array. Arrays must be float32 or float64 (one dtype per
call) and C-contiguous; anything else raises an exception that names the
argument. Layers in ``pydtrain.nn`` are built on these functions.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import _C

Array = np.ndarray

# ---- gemm ----


def gemm(a: Array, b: Array, out: Optional[Array] = None, *, trans_a: bool = False, trans_b: bool = False,
         alpha: float = 1.0, beta: float = 0.0, bias: Optional[Array] = None) -> Array:
    """Matrix product ``out = alpha·op(a)·op(b) + beta·out (+ bias on every row)``.

    ``op`` transposes when ``trans_a``/``trans_b`` is set, without copying.
    ``beta=1`` accumulates into ``out`` (as gradients do); ``beta≠0`` needs ``out``.
    """
    return _C.gemm(a, b, out, trans_a, trans_b, alpha, beta, bias)


# ---- activation ----


def relu(x: Array, out: Optional[Array] = None) -> Array:
    """``y = max(x, 0)``; ``out`` may be ``x`` (in place)."""
    return _C.relu_forward(x, out)


def relu_backward(x: Array, dy: Array, out: Optional[Array] = None) -> Array:
    """``dx = dy ⊙ [x > 0]``, with ``x`` the forward input; ``out`` may be ``dy``."""
    return _C.relu_backward(x, dy, out)


# ---- linear ----


def linear(x: Array, weight: Array, bias: Optional[Array] = None, out: Optional[Array] = None) -> Array:
    """``y = x·Wᵀ + b`` for x (N, in), W (out, in), b (out,) — PyTorch's layout."""
    return _C.gemm(x, weight, out, False, True, 1.0, 0.0, bias)


def bias_grad(dy: Array, dbias: Array) -> Array:
    """``dbias += Σ_rows dy`` in place; returns ``dbias``."""
    _C.bias_grad(dy, dbias)
    return dbias


# ---- loss ----


def cross_entropy(logits: Array, labels: Array, on_value: float = 1.0, off_value: float = 0.0,
                  probs: Optional[Array] = None, losses: Optional[Array] = None) -> tuple[Array, Array]:
    """Softmax and per-row cross-entropy for int64 class labels.

    ``Lᵢ = −Σ_c q_c·log softmax(zᵢ)_c`` with ``q`` = ``on_value`` at the label,
    ``off_value`` elsewhere (one-hot by default; smoothed labels otherwise).
    Returns ``(probs, losses)``: the softmax (N, K), kept for the backward, and L (N,).
    """
    return _C.cross_entropy_forward(logits, labels, on_value, off_value, probs, losses)


def cross_entropy_soft(logits: Array, targets: Array, probs: Optional[Array] = None,
                       losses: Optional[Array] = None) -> tuple[Array, Array]:
    """Softmax and per-row cross-entropy against target distributions (N, K)."""
    return _C.cross_entropy_soft_forward(logits, targets, probs, losses)


def cross_entropy_backward(probs: Array, labels: Array, on_value: float = 1.0, off_value: float = 0.0,
                           scale: float = 1.0, out: Optional[Array] = None) -> Array:
    """``dL/dz = scale·(p − q)`` for class labels (``scale = 1/N`` for the mean)."""
    return _C.cross_entropy_backward(probs, labels, on_value, off_value, scale, out)


def cross_entropy_soft_backward(probs: Array, targets: Array, scale: float = 1.0,
                                out: Optional[Array] = None) -> Array:
    """``dL/dz = scale·(p − t)`` for target distributions."""
    return _C.cross_entropy_soft_backward(probs, targets, scale, out)


# ---- optim ----


def sgd_step(param: Array, grad: Array, lr: float) -> Array:
    """``θ ← θ − α·g`` in place; returns ``param``."""
    _C.sgd_step(param, grad, lr)
    return param
