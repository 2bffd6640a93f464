"""Gradient clipping (Pascanu et al. 2013): by global norm and by value, in place on ``p.grad``."""
from __future__ import annotations

import math
from typing import Iterable, Union

import numpy as np

from .. import _C
from ..nn.module import Parameter
from .optimizer import flat_segments

__all__ = ["clip_grad_norm_", "clip_grad_value_", "grad_norm"]

_CACHE: dict = {}  # the last gradient list and its flat views


def _grads(params: Union[Parameter, Iterable[Parameter]], who: str) -> list[np.ndarray]:
    items: Iterable[Parameter] = [params] if isinstance(params, Parameter) else params
    grads = []
    for p in items:
        if not isinstance(p, Parameter):
            raise TypeError(f"{who}: params must be Parameters, got {type(p).__name__}")
        grads.append(p.grad)
    return grads


def _norm(params: Union[Parameter, Iterable[Parameter]], norm_type: float, who: str) -> tuple[float, list[np.ndarray]]:
    """The global norm of the gradients and the flat views it was read from."""
    if norm_type in (2, 2.0):
        reduce = _C.clip_sumsq
    elif norm_type in (math.inf, "inf"):
        reduce = _C.clip_maxabs
    else:
        raise ValueError(f"{who}: norm_type must be 2 or inf, got {norm_type!r}")
    segments = flat_segments(_grads(params, who), _CACHE)
    if reduce is _C.clip_sumsq:
        total = 0.0
        for seg in segments:
            total += reduce(seg)
        return math.sqrt(total), segments
    parts = [reduce(seg) for seg in segments]
    return (math.nan if any(math.isnan(v) for v in parts) else max(parts, default=0.0)), segments


def grad_norm(params: Union[Parameter, Iterable[Parameter]], norm_type: float = 2.0) -> float:
    """The global norm ‖g‖ over every gradient, as ``clip_grad_norm_`` measures it (one read pass per arena).

    Args:
        params: Parameters (or one Parameter).
        norm_type: 2 (Euclidean) or ``inf`` (largest absolute value).

    Returns:
        The norm (NaN or inf when a gradient holds one).
    """
    return _norm(params, norm_type, "grad_norm")[0]


def clip_grad_norm_(params: Union[Parameter, Iterable[Parameter]], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """If ``‖g‖ > η``: ``g ← g·η/(‖g‖ + 1e-6)``, ‖g‖ the global norm over every gradient (PyTorch's factor).

    The norm is one read pass over each optimizer arena the gradients live in
    (or over each gradient otherwise), summed in double in a fixed order: the
    same value for any thread count.

    Args:
        params: Parameters (or one Parameter) whose ``.grad`` is clipped in place.
        max_norm: η >= 0.
        norm_type: 2 (Euclidean) or ``inf`` (largest absolute value).
        error_if_nonfinite: raise when the norm is NaN or Inf; otherwise it is
            returned and, as in PyTorch, the gradients are scaled by the resulting
            factor (NaN, or 0 for an infinite norm).

    Returns:
        The norm before clipping.

    Raises:
        RuntimeError: the norm is not finite and ``error_if_nonfinite``.
    """
    who = "clip_grad_norm_"
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm >= 0:
        raise ValueError(f"{who}: max_norm must be a number >= 0, got {max_norm!r}")
    norm, segments = _norm(params, norm_type, who)
    if not math.isfinite(norm) and error_if_nonfinite:
        raise RuntimeError(f"{who}: the total norm of order {norm_type} of the gradients is {norm}; "
                           "the gradients were left unchanged (pass error_if_nonfinite=False to scale anyway)")
    factor = max_norm / (norm + 1e-6)
    if not factor >= 1.0:  # also NaN
        for seg in segments:
            _C.scale(seg, factor, seg)
    return norm


def clip_grad_value_(params: Union[Parameter, Iterable[Parameter]], clip_value: float) -> None:
    """``g ← min(max(g, −c), c)`` elementwise, in place (NaN stays NaN).

    Args:
        params: Parameters (or one Parameter).
        clip_value: c >= 0.
    """
    who = "clip_grad_value_"
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float)) or not clip_value >= 0:
        raise ValueError(f"{who}: clip_value must be a number >= 0, got {clip_value!r}")
    for seg in flat_segments(_grads(params, who), _CACHE):
        _C.clip_value(seg, float(clip_value))
