"""Series of numbers: the lecture's PMPE (exponentially weighted moving average), e.g. of a loss curve.

(The averages of a model's weights, EMA and SWA, are in ``pydtrain.optim``.)
"""
from __future__ import annotations

from typing import Iterable, Union

import numpy as np

from . import functional as F

__all__ = ["ema"]

__all__ = ["ema"]


def ema(series: Union[np.ndarray, Iterable[float]], beta: float, bias_correction: bool = True) -> np.ndarray:
    """``e[t+1] = β·e[t] + (1−β)·s[t]`` from ``e[0] = 0``, and ``ê[t] = e[t]/(1−βᵗ)``; e.g. to smooth a loss curve.

    Args:
        series: a 1-d array or sequence of numbers (float32 stays float32, anything else becomes float64).
        beta: β in [0, 1).
        bias_correction: return ê (True) or the raw e (False, biased towards 0 at the start).

    Returns:
        An array as long as the series: element t is the average after t + 1 values.
    """
    s = np.asarray(series)
    if s.dtype not in (np.float32, np.float64):
        s = s.astype(np.float64)
    if s.ndim != 1:
        raise ValueError(f"ema: series must be 1-dimensional, got shape {s.shape}")
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 <= beta < 1:
        raise ValueError(f"ema: beta must be in [0, 1), got {beta!r}")
    return F.ema_series(np.ascontiguousarray(s), float(beta), bool(bias_correction))
