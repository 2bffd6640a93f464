"""The one seeded generator behind every random draw in pydtrain.

It is counter-based (Philox4x32-10 in the C core): a draw is a pure function
of (seed, offset), so the numbers never depend on threads or SIMD level. Each
call takes a block of counters and moves the offset past it, under a lock: draws made
from several Python threads at once never share counters, though which thread gets
which block depends on the order the threads run in, so only draws made from one thread
are reproducible from the seed.
"""
from __future__ import annotations

import contextlib
import secrets
import threading
from typing import Iterator

import numpy as np

from . import _C

_MASK64 = (1 << 64) - 1


class _State:
    def __init__(self, seed_value: int) -> None:
        self.seed = seed_value & _MASK64
        self.offset = 0


_state = _State(secrets.randbits(64))
_lock = threading.Lock()  # guards the read-then-advance of take


def seed(n: int) -> None:
    """Seed the generator used for initialization, dropout, noise, augmentation and shuffling.

    Args:
        n: any integer; the same seed gives the same numbers.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(n).__name__}")
    global _state
    _state = _State(int(n))


def take(count: int) -> tuple[int, int]:
    """Reserve `count` counters: returns (seed, offset) for a kernel and advances the offset."""
    with _lock:
        state = _state
        start = state.offset
        state.offset = (start + int(count)) & _MASK64
        return state.seed, start


@contextlib.contextmanager
def fork(seed_value: int) -> Iterator[None]:
    """Temporarily draw from a generator seeded with `seed_value`; the global one is left untouched."""
    global _state
    saved = _state
    _state = _State(int(seed_value))
    try:
        yield
    finally:
        _state = saved


def get_state() -> tuple[int, int]:
    """(seed, offset) of the generator, e.g. to save in a checkpoint."""
    return _state.seed, _state.offset


def set_state(state: tuple[int, int]) -> None:
    """Restore a state from get_state()."""
    global _state
    _state = _State(int(state[0]))
    _state.offset = int(state[1]) & _MASK64


def _float_array(shape, dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return np.empty(shape, dtype=dtype)


def uniform(shape, low: float = 0.0, high: float = 1.0, dtype=np.float64) -> np.ndarray:
    """A new array of U[low, high) draws."""
    out = _float_array(shape, dtype)
    _C.fill_uniform(out, *take(out.size), float(low), float(high))
    return out


def normal(shape, mean: float = 0.0, std: float = 1.0, dtype=np.float64) -> np.ndarray:
    """A new array of N(mean, std²) draws."""
    out = _float_array(shape, dtype)
    _C.fill_normal(out, *take(out.size), float(mean), float(std))
    return out


def permutation(n: int) -> np.ndarray:
    """A random permutation of 0..n-1 (int64)."""
    n = int(n)
    return _C.permutation(n, *take(n))
