"""GEMM benchmark: the measured FMA peak, square products and the MLP shapes of a Linear layer.

Rows (each at every thread count of ``--threads``):

* ``fma peak``: independent FMA chains in registers (``_C.fma_peak``), the
  yardstick of "% of peak" (2·VN flops per FMA, one chain set per thread).
* square ``C = A·B``: float32 at 256, 512, 1024, 2048 and float64 at 512, 1024,
  against ``numpy.matmul`` (OpenBLAS) and ``torch.matmul``, all writing into a
  preallocated output; the note gives GFLOP/s and two shares of the peak for
  each library: of the best peak of the run (its median call time over the best
  of all peak samples, each the best of three of 25–50 ms), and at 1 thread
  "paired" (median over calls, each against a peak timed just before it; see
  ``common.paired_efficiency``).
* MLP shapes, batch M ∈ {32, 64, 128, 256} × (K in, N out) ∈ {64, 256, 1024}²,
  float32: forward ``y = x·Wᵀ + b`` and backward ``dW += dyᵀ·x, db += Σ dy,
  dx = dy·W`` against NumPy (the same products) and PyTorch (``F.linear`` and its
  autograd backward).

NumPy's BLAS threads follow ``--threads`` through threadpoolctl when installed,
else through OpenBLAS's own ``openblas_set_num_threads`` (found in the loaded
library), so that 1-thread rows compare one thread with one thread. Each
library's timing starts after a short pause: OpenBLAS, OpenMP and PyTorch
threads spin for a while after a call, and on two cores they would steal the
next library's time. The peak is the best of all measurements taken in the run
(the machine is shared; a busy neighbour lowers a single measurement).
"""
from __future__ import annotations

import ctypes
import time

import numpy as np

from .. import _C
from .common import Table, fma_reps, median_time, paired_efficiency, set_threads, torch

__all__ = ["fma_peak", "run"]


def _set_blas_threads(n: int) -> str:
    """Set OpenBLAS's thread count directly (when threadpoolctl is missing); returns what was done."""
    try:
        import threadpoolctl  # noqa: F401  (set_threads already used it)

        return "threadpoolctl"
    except ImportError:
        pass
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                return name
    return "BLAS threads not controlled"


def _timed(fn, repeats: int) -> float:
    """median_time after letting the previous library's spinning threads go to sleep."""
    time.sleep(0.1)
    return median_time(fn, repeats=repeats)


def _threads(n: int) -> None:
    set_threads(n)
    _set_blas_threads(n)


def fma_peak(dtype, threads: int, seconds: float = 0.1) -> float:
    """Measured FMA peak in flop/s for `dtype` with `threads` threads (best of three)."""
    sink = np.zeros(threads, dtype)
    reps = fma_reps(sink, seconds / 4)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        flops = _C.fma_peak(sink, reps)
        best = max(best, flops / (time.perf_counter() - t0))
    return best


def _square_rows(table: Table, threads: int, quick: bool, peaks: dict) -> None:
    rng = np.random.default_rng(0)
    cases = [(np.float32, (256, 512, 1024, 2048)), (np.float64, (512, 1024))]
    for dtype, sizes in cases:
        dtype = np.dtype(dtype)
        for s in sizes[:2] if quick else sizes:
            a, b = rng.standard_normal((s, s)).astype(dtype), rng.standard_normal((s, s)).astype(dtype)
            c = np.empty((s, s), dtype)
            repeats = 3 if quick or s >= 1024 else 5
            t_pdt = _timed(lambda: _C.gemm(a, b, c), repeats)
            t_np = _timed(lambda: np.matmul(a, b, out=c), repeats)
            t_th = None
            if torch is not None:
                ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
                t_th = _timed(lambda: torch.matmul(ta, tb, out=tc), repeats)
            flops = 2.0 * s ** 3
            peaks[dtype.name] = peak = max(peaks[dtype.name], fma_peak(dtype, threads))
            calls = [("pdt", t_pdt, lambda: _C.gemm(a, b, c)), ("numpy", t_np, lambda: np.matmul(a, b, out=c))]
            if t_th is not None:
                calls.append(("torch", t_th, lambda: torch.matmul(ta, tb, out=tc)))
            notes = []
            for name, t, fn in calls:
                share = f"{100 * flops / t / peak:.0f}% of best peak"
                # paired only at 1 thread: between the calls of a paired run, the other libraries' thread
                # pools spin or sleep, and a 2-thread peak sample then measures them, not the machine
                if threads == 1:
                    share += f", {100 * paired_efficiency(fn, flops, dtype, 1, 7 if quick else 25):.0f}% paired"
                notes.append(f"{name} {flops / t / 1e9:.0f} GF/s ({share})")
            table.row(f"{dtype.name} {s}x{s}x{s} {threads}t", t_pdt, t_np, t_th, " ".join(notes))


def _mlp_rows(table: Table, threads: int, quick: bool) -> list:
    """Forward and backward of a Linear layer at the course's shapes; returns (M, dir, np ratio, torch ratio)."""
    rng = np.random.default_rng(1)
    dtype = np.float32
    batches = (32, 128) if quick else (32, 64, 128, 256)
    widths = (64, 1024) if quick else (64, 256, 1024)
    repeats = 3 if quick else 5
    ratios = []
    for m in batches:
        for k in widths:
            for n in widths:
                x, w = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((n, k)).astype(dtype)
                bias, dy = rng.standard_normal(n).astype(dtype), rng.standard_normal((m, n)).astype(dtype)
                dw, db = np.zeros((n, k), dtype), np.zeros(n, dtype)
                y_np, dw_np = np.empty((m, n), dtype), np.empty((n, k), dtype)

                def pdt_fwd():
                    return _C.gemm(x, w, None, False, True, 1.0, 0.0, bias)

                def np_fwd():
                    return np.add(np.matmul(x, w.T, out=y_np), bias, out=y_np)

                def pdt_bwd():
                    _C.gemm(dy, x, dw, True, False, 1.0, 1.0)
                    _C.bias_grad(dy, db)
                    return _C.gemm(dy, w, None, False, False, 1.0, 0.0)

                def np_bwd():
                    np.add(dw, np.matmul(dy.T, x, out=dw_np), out=dw)
                    np.add(db, dy.sum(axis=0), out=db)
                    return dy @ w

                t = {"fwd": [_timed(pdt_fwd, repeats), _timed(np_fwd, repeats), None],
                     "bwd": [_timed(pdt_bwd, repeats), _timed(np_bwd, repeats), None]}
                if torch is not None:
                    tx = torch.from_numpy(x).requires_grad_(True)
                    tw = torch.from_numpy(w.copy()).requires_grad_(True)
                    tbias = torch.from_numpy(bias.copy()).requires_grad_(True)
                    tdy = torch.from_numpy(dy)
                    F = torch.nn.functional
                    with torch.no_grad():
                        t["fwd"][2] = _timed(lambda: F.linear(tx, tw, tbias), repeats)
                    ty = F.linear(tx, tw, tbias)
                    t["bwd"][2] = _timed(lambda: ty.backward(tdy, retain_graph=True), repeats)
                flops = 2.0 * m * n * k
                for direction, (tp, tn, tt) in t.items():
                    f = flops if direction == "fwd" else 2 * flops
                    table.row(f"linear {direction} M={m} K={k} N={n} {threads}t", tp, tn, tt,
                              f"GF/s pdt {f / tp / 1e9:.0f} numpy {f / tn / 1e9:.0f}")
                    ratios.append((m, direction, tn / tp, tt / tp if tt is not None else None))
    return ratios


def _summary(threads: int, ratios: list) -> None:
    def gmean(values):
        return float(np.exp(np.mean(np.log(values)))) if values else float("nan")

    for direction in ("fwd", "bwd"):
        r = [x for x in ratios if x[1] == direction]
        small = [x[2] for x in r if x[0] <= 64]
        worst_np = min(x[2] for x in r)
        line = (f"  {threads}t {direction}: numpy/pdt geo-mean M<=64 {gmean(small):.2f}, all {gmean([x[2] for x in r]):.2f},"
                f" worst {worst_np:.2f}")
        th = [x[3] for x in r if x[3] is not None]
        if th:
            line += f"; torch/pdt geo-mean {gmean(th):.2f}, worst {min(th):.2f}"
        print(line)


def run(args) -> None:
    """Prints the peak, square and MLP rows at every thread count in args.threads."""
    for threads in args.threads:
        _threads(threads)
        print(f"\nthreads {threads}: NumPy BLAS threads set by {_set_blas_threads(threads)}")
        peaks = {name: fma_peak(np.dtype(name), threads) for name in ("float32", "float64")}
        table = Table(f"gemm: FMA peak and square products, {threads} thread(s)")
        for name, p in peaks.items():
            table.row(f"fma peak {name} {threads}t", 1.0 / p * 1e9, None, None,
                      f"{p / 1e9:.0f} GFLOP/s (time column: per GFLOP)")
        _square_rows(table, threads, args.quick, peaks)
        for name, p in peaks.items():
            print(f"best fma peak {name} {threads}t over the run: {p / 1e9:.0f} GFLOP/s")
        mlp = Table(f"gemm: Linear layer shapes (float32), {threads} thread(s)")
        ratios = _mlp_rows(mlp, threads, args.quick)
        print(f"summary, {threads} thread(s) (ratio > 1: pydtrain faster):")
        _summary(threads, ratios)
