"""Validation of hyper-parameters, one place for every constructor, with messages for students."""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np


def is_number(value: Any) -> bool:
    """A real number (Python or NumPy), not a bool."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def number(who: str, name: str, value: Any, low: Optional[float] = None, high: Optional[float] = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float in the interval given by low/high (open ends when asked).

    Raises:
        TypeError: not a number. ValueError: outside the interval, NaN or infinite.
    """
    if not is_number(value):
        raise TypeError(f"{who}: {name} must be a number, got {type(value).__name__}")
    v = float(value)
    ok = math.isfinite(v)
    if low is not None:
        ok = ok and (v > low if low_open else v >= low)
    if high is not None:
        ok = ok and (v < high if high_open else v <= high)
    if not ok:
        if low is not None and high is not None:
            want = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        elif low is not None:
            want = f"{'>' if low_open else '>='} {low}"
        elif high is not None:
            want = f"{'<' if high_open else '<='} {high}"
        else:
            want = "finite"
        raise ValueError(f"{who}: {name} must be {want}, got {value!r}")
    return v


def integer(who: str, name: str, value: Any, low: int = 1) -> int:
    """``value`` as an int >= low (Python or NumPy integer, not a bool).

    Raises:
        TypeError: not an integer. ValueError: below low.
    """
    want = "a positive integer" if low == 1 else f"an integer >= {low}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{who}: {name} must be {want}, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{who}: {name} must be {want}, got {value!r}")
    return int(value)


def flag(who: str, name: str, value: Any) -> bool:
    """``value`` as a bool (Python or NumPy bool).

    Raises:
        TypeError: not a bool.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def refuse_masked_or_matrix(what: str, x: Any) -> None:
    """TypeError for a masked array (its mask would be dropped: the kernels read every value) or an np.matrix
    (whose operators are matrix products and whose rows stay 2-d)."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{what} is a numpy.ma.MaskedArray: its mask would be ignored; pass plain values, e.g. "
                        "x.filled(0) or x.compressed() for the unmasked ones")
    if isinstance(x, np.matrix):
        raise TypeError(f"{what} is a numpy.matrix; convert it with np.asarray(x)")


def loadable_array(what: str, value: Any, dtype: np.dtype) -> np.ndarray:
    """A saved value (array, tensor, list) as an array whose real values fit ``dtype`` (a state being loaded).

    Raises:
        TypeError: NumPy cannot read it (a bfloat16 tensor, one that requires grad), or it holds complex
            numbers, objects or strings, or values that do not cast to ``dtype`` (floats into an int buffer).
    """
    try:
        a = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(f"{what} is a {type(value).__name__} of dtype {getattr(value, 'dtype', '?')} that NumPy "
                        f"cannot read ({e}); convert it first (tensor.detach().float().numpy())") from None
    if a.dtype.kind not in "biuf" or not np.can_cast(a.dtype, dtype, casting="same_kind"):
        raise TypeError(f"{what} is {a.dtype}, which does not fit {np.dtype(dtype)}; give real numbers "
                        f"(value.astype(np.{np.dtype(dtype).name}))")
    return a


def float_dtype(who: str, dtype: Any) -> np.dtype:
    """float32 or float64 as a NumPy dtype."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{who}: dtype must be float32 or float64, got {dtype}")
    return dtype
