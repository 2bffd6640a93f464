"""Dropout (Srivastava et al., JMLR 2014): drop units at random while training.

Training draws a keep mask r ~ Bernoulli(p_keep) per element and multiplies;
the two schemes differ in where the compensating factor goes:

* ``scaling="inverted"`` (PyTorch, Keras): training y = r ⊙ x / p_keep, inference y = x.
* ``scaling="inference"`` (the lecture, the paper): training y = r ⊙ x, inference
  y = p_keep·x (equivalently θ_inference = p_keep·θ for the next layer's weights).

Both give E[y_train] = y_inference.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import _C, _checks, _random
from ..functional import dropout_counters
from .module import Module, _Outputs, check_input

__all__ = ["Dropout"]

_SCALINGS = ("inverted", "inference")


class Dropout(Module):
    """Dropout with an unambiguous probability: ``keep_prob`` (keep) or ``rate`` (drop).

    Args:
        rate: probability of dropping a unit, in [0, 1) (PyTorch's ``p``); ``keep_prob = 1 − rate``.
        keep_prob: probability of keeping a unit, in (0, 1] (the lecture's p_keep). Give exactly one.
        p: refused with a message: the lecture's p keeps, PyTorch's drops; say which with
            ``keep_prob=`` or ``rate=``.
        scaling: ``"inverted"`` (divide by keep_prob in training, identity at inference) or
            ``"inference"`` (mask only in training, multiply by keep_prob at inference).

    Forward in training ``y = s·r ⊙ x`` with r_i ~ Bernoulli(keep_prob) from the seeded
    generator (element i's draw depends only on (seed, offset, i): the same seed gives the
    same mask for any thread count or SIMD level) and s = 1/keep_prob or 1. Backward
    ``dx = s·r ⊙ dy`` with the same mask (kept as uint8 in ``self.mask``). An identity
    step (inverted scheme at inference) returns its input array itself, without a copy.
    The output arrays (y, mask, dx) are written again by later calls once nothing references them.
    """

    def __init__(self, rate: Optional[float] = None, *, keep_prob: Optional[float] = None,
                 scaling: str = "inverted", p: Optional[float] = None) -> None:
        super().__init__()
        if p is not None:
            raise TypeError(f"Dropout: p={p!r} has two meanings: the lecture's p is the probability of keeping a "
                            f"unit (write keep_prob={p!r}), PyTorch's p the probability of dropping it (write "
                            f"rate={p!r})")
        if (rate is None) == (keep_prob is None):
            raise ValueError("Dropout: give exactly one of rate= (probability of dropping a unit) "
                             f"or keep_prob= (probability of keeping it); got rate={rate!r}, keep_prob={keep_prob!r}")
        if rate is not None:
            if not _checks.is_number(rate) or not 0.0 <= float(rate) < 1.0:
                raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
            keep_prob = 1.0 - float(rate)
        elif not _checks.is_number(keep_prob) or not 0.0 < float(keep_prob) <= 1.0:
            raise ValueError(f"Dropout: keep_prob must be in (0, 1], got {keep_prob!r}")
        if scaling not in _SCALINGS:
            raise ValueError(f"Dropout: scaling must be 'inverted' or 'inference', got {scaling!r}")
        self.keep_prob = float(keep_prob)
        self.scaling = scaling
        self.mask: Optional[np.ndarray] = None
        self._train_scale = 1.0 / self.keep_prob if scaling == "inverted" else 1.0
        self._fwd_scale: Optional[float] = None
        self._outputs = _Outputs()

    @property
    def rate(self) -> float:
        """Probability of dropping a unit, 1 − keep_prob."""
        return 1.0 - self.keep_prob

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(self, x)
        if not self.training:
            self.mask = None
            if self.scaling == "inverted":
                self._fwd_scale = 1.0
                return x
            self._fwd_scale = self.keep_prob
            return _C.scale(x, self.keep_prob)
        seed, offset = _random.take(dropout_counters(x.size))
        self.mask = None  # the old mask can be reused unless someone else holds it
        out = self._outputs
        y, self.mask = _C.dropout_forward(x, seed, offset, self.keep_prob, self._train_scale,
                                          out.get("y", x.shape, x.dtype), out.get("mask", x.shape, np.uint8))
        self._fwd_scale = self._train_scale
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._fwd_scale is None:
            raise RuntimeError("Dropout: backward called before forward")
        dy = check_input(self, dy)
        if self.mask is None:
            return dy if self._fwd_scale == 1.0 else _C.scale(dy, self._fwd_scale)
        if dy.shape != self.mask.shape:
            raise ValueError(f"Dropout: dy has shape {dy.shape}, the forward output had {self.mask.shape}")
        return _C.dropout_backward(dy, self.mask, self._fwd_scale, self._outputs.get("dx", dy.shape, dy.dtype))

    def extra_repr(self) -> str:
        return f"keep_prob={self.keep_prob:g}, scaling={self.scaling!r}"


class Dropout2d(Dropout):
    """Channel dropout (Tompson et al., CVPR 2015): drops whole channels of (N, C, H, W) inputs.

    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels
    barely regularizes a convolutional layer; this keeps or drops each (n, c) map as a whole:
    ``y[n, c] = s·r[n, c]·x[n, c]`` with r ~ Bernoulli(keep_prob) drawn from the seeded generator
    (``self.mask``, uint8 (N, C)). Arguments, schemes and inference as ``Dropout``.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(self, x)
        if x.ndim != 4:
            raise ValueError(f"Dropout2d: input must be 4-D (N, C, H, W); got shape {x.shape}")
        if not self.training:
            return super().forward(x)
        n, c = x.shape[:2]
        seed, offset = _random.take(dropout_counters(n * c))
        channel, self.mask = _C.dropout_forward(np.ones((n, c), x.dtype), seed, offset, self.keep_prob,
                                                self._train_scale)
        self._channel = channel[:, :, None, None]  # s·r per map
        self._fwd_scale = self._train_scale
        return x * self._channel

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._fwd_scale is None:
            raise RuntimeError("Dropout2d: backward called before forward")
        if self.mask is None:
            return super().backward(dy)
        dy = check_input(self, dy)
        if dy.shape[:2] != self.mask.shape or dy.ndim != 4:
            raise ValueError(f"Dropout2d: dy has shape {dy.shape}, the forward output had {self.mask.shape} channels")
        return dy * self._channel
