"""What every benchmark row shares: timing, thread settings, the comparison libraries, printing.

A row times pydtrain, NumPy and PyTorch (when installed) in one process, with
the same thread count, and prints median times and the ratios
``numpy/pydtrain`` and ``torch/pydtrain`` (> 1 means pydtrain is faster).
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

import numpy as np

from .. import _C

__all__ = ["Table", "blas_info", "calls_for", "fma_reps", "median_time", "paired_efficiency", "set_threads",
           "stream_triad", "triad_fn"]

try:
    import torch
except ImportError:  # PyTorch is optional: its columns are left empty
    torch = None


def set_threads(n: int) -> None:
    """Same thread count for pydtrain, PyTorch and (best effort) NumPy's BLAS."""
    import pydtrain

    pydtrain.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        pass


def calls_for(fn: Callable[[], object], min_time: float = 0.05) -> int:
    """After one warm-up call, the number of calls (a power of two, at most 2^20) that take `min_time` or more."""
    fn()
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time or calls >= 1 << 20:
            return calls
        calls *= 2


def median_time(fn: Callable[[], object], repeats: int = 7, min_time: float = 0.05) -> float:
    """Median seconds per call over `repeats` runs, each looping until `min_time` has passed."""
    calls = calls_for(fn, min_time)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t0) / calls)
    return float(np.median(samples))


def interleaved_medians(fns: list[Callable[[], object]], repeats: int = 7, min_time: float = 0.05) -> list[float]:
    """Median seconds per call of each fn, their runs taken in turn (fn 0, fn 1, ..., fn 0, ...).

    On a shared machine the load changes from one second to the next; taking the candidates' runs in
    turn exposes them to the same load, so their ratios hold better than those of runs taken apart."""
    calls = [calls_for(fn, min_time) for fn in fns]
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, count, times in zip(fns, calls, samples):
            t0 = time.perf_counter()
            for _ in range(count):
                fn()
            times.append((time.perf_counter() - t0) / count)
    return [float(np.median(t)) for t in samples]
def layer_step(layer, x: np.ndarray, dy: np.ndarray) -> Callable[[], None]:
    """One training step of a pydtrain layer: forward on x, backward with the fixed dy."""
    def run():
        layer(x)
        layer.backward(dy)
    return run


def torch_layer_step(module, xt, dyt) -> Callable[[], None]:
    """The same step of a PyTorch module with autograd (gradients cleared, not accumulated)."""
    def run():
        xt.grad = None
        module.zero_grad(set_to_none=True)
        module(xt).backward(dyt)
    return run


def fma_reps(sink: np.ndarray, seconds: float) -> int:
    """Repetitions (a power of two) for which ``_C.fma_peak(sink, reps)`` takes more than ``seconds``."""
    reps = 1 << 12
    while True:
        t0 = time.perf_counter()
        _C.fma_peak(sink, reps)
        if time.perf_counter() - t0 > seconds:
            return reps
        reps *= 2


def paired_efficiency(fn, flops: float, dtype, threads: int, pairs: int = 15) -> float:
    """Median over `pairs` of (flops / time of one call of fn) / (the FMA peak timed just before that call).

    On a shared machine the speed a core gets varies from one moment to the next (this machine's
    1-thread peak measured 104–240 GFLOP/s within one run), so a median call time over the best peak
    sample of a run counts the neighbours' load against the code. Pairing each call with a peak taken
    just before it measures both under the same conditions. The yardstick is pydtrain's own FMA loop
    (``_C.fma_peak``, the widest vectors of this CPU) for every library alike; at more than one thread
    the other libraries' spinning thread pools would be measured too, so the benches pair at 1 thread."""
    sink = np.zeros(threads, dtype)
    reps = fma_reps(sink, 1e-3)  # peak samples of about a millisecond
    fn()
    ratios = []
    for _ in range(pairs):
        t0 = time.perf_counter()
        peak_flops = _C.fma_peak(sink, reps)
        t1 = time.perf_counter()
        fn()
        t2 = time.perf_counter()
        ratios.append((flops / (t2 - t1)) / (peak_flops / (t1 - t0)))
    return float(np.median(ratios))


class Table:
    """Prints rows as they are measured and keeps them for a summary."""

    def __init__(self, title: str, peer: str = "numpy") -> None:
        """``peer`` names the second column (NumPy unless a table compares with another library)."""
        self.title = title
        self.peer = peer
        self.rows: list[dict] = []
        print(f"\n== {title} ==")
        print(f"{'case':<48} {'pydtrain':>11} {peer:>11} {'torch':>11} {peer[:2] + '/pdt':>7} {'th/pdt':>7}  note")

    def row(self, case: str, pdt: float, numpy: Optional[float] = None, torch_t: Optional[float] = None,
            note: str = "") -> dict:
        def fmt(t):
            return f"{t * 1e6:9.1f}us" if t is not None else f"{'-':>11}"

        def ratio(t):
            return f"{t / pdt:7.2f}" if t is not None else f"{'-':>7}"

        print(f"{case:<48} {fmt(pdt)} {fmt(numpy)} {fmt(torch_t)} {ratio(numpy)} {ratio(torch_t)}  {note}", flush=True)
        r = {"case": case, "pydtrain": pdt, self.peer: numpy, "torch": torch_t, "note": note}
        self.rows.append(r)
        return r


def blas_info() -> str:
    """Which BLAS NumPy runs and the OpenBLAS variables that slow it, for the header."""
    notes = []
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            notes.append(f"{var}={os.environ[var]} (unset it to benchmark NumPy fairly)")
    try:
        from threadpoolctl import threadpool_info

        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                notes.append(f"numpy BLAS: {lib.get('internal_api')} {lib.get('version')} {lib.get('architecture')}")
    except ImportError:
        pass
    return "; ".join(notes)


def stream_triad(n: int = 1 << 24) -> float:
    """Memory bandwidth in bytes/s of the C STREAM triad a = b + s·c on float32 (12 bytes per element).

    Run at the thread count set with set_threads; 64 MiB per array by default, far beyond the caches.
    """
    triad, nbytes = triad_fn(n)
    return nbytes / median_time(triad, repeats=5)


def triad_fn(n: int = 1 << 24) -> tuple[Callable[[], object], int]:
    """One C STREAM triad call a = b + 3·c on float32 arrays of n elements, and the 12·n bytes it moves."""
    b = np.ones(n, np.float32)
    c = np.ones(n, np.float32)
    a = np.empty(n, np.float32)
    return (lambda: _C.stream_triad(a, b, c, 3.0)), 12 * n
