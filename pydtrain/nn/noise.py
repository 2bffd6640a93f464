"""Gaussian input noise: a regularizer active in training only (the lecture's input noise)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import _C, _random
from .module import Module, check_input

__all__ = ["GaussianNoise"]


class GaussianNoise(Module):
    """Adds ``N(0, std²)`` noise in training, ``y = x + std·z``; identity at inference.

    Args:
        std: standard deviation of the noise, a finite number >= 0.

    Draws come from the seeded generator (one counter per element), so the same
    seed gives the same noise for any thread count or SIMD level. Backward ``dx = dy``.
    The identity steps return their input array itself, without a copy.
    """

    def __init__(self, std: float) -> None:
        super().__init__()
        if isinstance(std, bool) or not isinstance(std, (int, float, np.integer, np.floating)) \
                or not np.isfinite(std) or std < 0:
            raise ValueError(f"GaussianNoise: std must be a finite number >= 0, got {std!r}")
        self.std = float(std)
        self._shape: Optional[tuple] = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(self, x)
        self._shape = x.shape
        if not self.training:
            return x
        seed, offset = _random.take(x.size)
        return _C.gaussian_noise_forward(x, seed, offset, self.std, None)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._shape is None:
            raise RuntimeError("GaussianNoise: backward called before forward")
        dy = check_input(self, dy)
        if dy.shape != self._shape:
            raise ValueError(f"GaussianNoise: dy has shape {dy.shape}, the forward output had {self._shape}")
        return dy

    def extra_repr(self) -> str:
        return f"std={self.std:g}"
