"""Initializers, in place on an ndarray or a Parameter, drawing from the seeded generator.

The lecture's schemes (docs/formulas.md, section 1), with nₑ = fan_in and nₛ = fan_out computed as
PyTorch does: for a weight (out, in, *kernel), fan_in = in·∏kernel and
fan_out = out·∏kernel.

| name             | distribution                                   |
|------------------|------------------------------------------------|
| ``normal_0.01``  | N(0, 0.01) — variance 0.01, std 0.1            |
| ``normal_1``     | N(0, 1)                                        |
| ``glorot_uniform``| U[−√(6/(nₑ+nₛ)), √(6/(nₑ+nₛ))]                |
| ``glorot_normal``| N(0, 2/(nₑ+nₛ))                                |
| ``he_uniform``   | U[−√(6/nₑ), √(6/nₑ)]  (variance 2/nₑ)          |
| ``he_normal``    | N(0, 2/nₑ)                                     |
| ``lecun_normal`` | N(0, 1/nₑ)  (for SELU)                         |
| ``default``      | PyTorch's Linear default: U[−1/√nₑ, 1/√nₑ]     |
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Union

import numpy as np

from . import _C, _random

__all__ = [
    "calculate_fans", "constant_", "default_linear_", "glorot_normal_", "glorot_uniform_", "he_normal_",
    "he_uniform_", "init_weight", "kaiming_normal_", "kaiming_uniform_", "lecun_normal_", "normal_", "ones_",
    "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_", "WEIGHT_INITS"
]

if TYPE_CHECKING:
    from .nn import Parameter

ArrayLike = Union[np.ndarray, "Parameter"]  # nn.Parameter, duck-typed by .data


def _array(a) -> np.ndarray:
    arr = a if isinstance(a, np.ndarray) else getattr(a, "data", None)
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected a numpy.ndarray or a Parameter, got {type(a).__name__}")
    return arr


def _fans(arr: np.ndarray) -> tuple[int, int]:
    if arr.ndim < 2:
        raise ValueError(
            f"fan_in and fan_out need an array with at least 2 dimensions (out, in, ...); got shape {arr.shape}"
        )
    receptive = int(np.prod(arr.shape[2:])) if arr.ndim > 2 else 1
    return arr.shape[1] * receptive, arr.shape[0] * receptive


def calculate_fans(a: ArrayLike) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight array, as PyTorch computes them."""
    return _fans(_array(a))


def uniform_(a: ArrayLike, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Fill with U[low, high) draws."""
    arr = _array(a)
    if not high >= low:
        raise ValueError(f"uniform_: high must be >= low, got low={low}, high={high}")
    _C.fill_uniform(arr, *_random.take(arr.size), float(low), float(high))
    return arr


def normal_(a: ArrayLike, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """Fill with N(mean, std²) draws (``std`` is the standard deviation)."""
    arr = _array(a)
    if not std >= 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    _C.fill_normal(arr, *_random.take(arr.size), float(mean), float(std))
    return arr


def constant_(a: ArrayLike, value: float) -> np.ndarray:
    """Fill with a constant."""
    arr = _array(a)
    arr[...] = value
    return arr


def zeros_(a: ArrayLike) -> np.ndarray:
    """Fill with zeros (biases)."""
    return constant_(a, 0.0)


def ones_(a: ArrayLike) -> np.ndarray:
    """Fill with ones (normalization scales)."""
    return constant_(a, 1.0)


def glorot_uniform_(a: ArrayLike, gain: float = 1.0) -> np.ndarray:
    """Glorot/Xavier uniform: U[−b, b], b = gain·√(6/(nₑ+nₛ)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = _fans(_array(a))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(a, -bound, bound)


def glorot_normal_(a: ArrayLike, gain: float = 1.0) -> np.ndarray:
    """Glorot/Xavier normal: N(0, gain²·2/(nₑ+nₛ))."""
    fan_in, fan_out = _fans(_array(a))
    return normal_(a, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def he_uniform_(a: ArrayLike) -> np.ndarray:
    """He uniform: U[−√(6/nₑ), √(6/nₑ)], variance 2/nₑ (He et al. 2015).

    The lecture prints the bound as √(2/nₑ); a uniform on [−b, b] has variance
    b²/3, so that bound would give variance 2/(3nₑ), not the 2/nₑ that He's
    derivation asks for. This function uses √(6/nₑ), the correct bound.
    """
    fan_in, _ = _fans(_array(a))
    bound = math.sqrt(6.0 / fan_in)
    return uniform_(a, -bound, bound)


def he_normal_(a: ArrayLike) -> np.ndarray:
    """He normal: N(0, 2/nₑ) (He et al. 2015), for ReLU networks."""
    fan_in, _ = _fans(_array(a))
    return normal_(a, 0.0, math.sqrt(2.0 / fan_in))


def lecun_normal_(a: ArrayLike) -> np.ndarray:
    """LeCun normal: N(0, 1/nₑ), the initialization SELU networks need (Klambauer et al. 2017)."""
    fan_in, _ = _fans(_array(a))
    return normal_(a, 0.0, math.sqrt(1.0 / fan_in))


_GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 0.75}


def _gain(nonlinearity: str, a: float) -> float:
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1.0 + a * a))
    if nonlinearity not in _GAINS:
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected one of {sorted(_GAINS) + ['leaky_relu']}")
    return _GAINS[nonlinearity]


def _fan(arr: np.ndarray, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(arr)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(tensor: ArrayLike, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> np.ndarray:
    """PyTorch's name and signature: U[−b, b], b = gain·√(3/fan). With the defaults, he_uniform_."""
    bound = _gain(nonlinearity, a) * math.sqrt(3.0 / _fan(_array(tensor), mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: ArrayLike, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> np.ndarray:
    """PyTorch's name and signature: N(0, gain²/fan). With the defaults, he_normal_."""
    std = _gain(nonlinearity, a) / math.sqrt(_fan(_array(tensor), mode))
    return normal_(tensor, 0.0, std)


xavier_uniform_ = glorot_uniform_
xavier_normal_ = glorot_normal_


def default_linear_(weight: ArrayLike, bias: ArrayLike | None = None) -> None:
    """PyTorch's default for Linear: weight and bias U[−1/√nₑ, 1/√nₑ]."""
    fan_in, _ = _fans(_array(weight))
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    uniform_(weight, -bound, bound)
    if bias is not None:
        uniform_(bias, -bound, bound)


WEIGHT_INITS: dict[str, Callable[[ArrayLike], np.ndarray]] = {
    "normal_0.01": lambda a: normal_(a, 0.0, 0.1),
    "normal_1": lambda a: normal_(a, 0.0, 1.0),
    "glorot_uniform": glorot_uniform_,
    "glorot_normal": glorot_normal_,
    "xavier_uniform": glorot_uniform_,
    "xavier_normal": glorot_normal_,
    "he_uniform": he_uniform_,
    "he_normal": he_normal_,
    "kaiming_uniform": he_uniform_,
    "kaiming_normal": he_normal_,
    "lecun_normal": lecun_normal_,
}


def init_weight(weight: ArrayLike, name: str) -> None:
    """Apply a weight initializer by name (see the module table)."""
    if name not in WEIGHT_INITS:
        choices = ", ".join(["default"] + sorted(WEIGHT_INITS))
        raise ValueError(f"unknown init {name!r}; expected one of: {choices}")
    WEIGHT_INITS[name](weight)
