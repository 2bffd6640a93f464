"""Threads and the report of how the core was built and what it chose."""
from __future__ import annotations

from typing import Any

from . import _C


def get_num_threads() -> int:
    """Number of threads the C kernels use."""
    return _C.get_num_threads()


def set_num_threads(n: int) -> None:
    """Set the number of threads the C kernels use (results do not depend on it).

    Args:
        n: a positive integer.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    _C.set_num_threads(n)


def show_config(print_out: bool = True) -> dict:
    """Version, SIMD level in use, levels compiled and supported, threads and how they are run.

    ``threading`` names the back end: ``"pool"`` (the core's own thread pool: the calling
    thread and the workers claim blocks of each parallel loop, so a descheduled worker never
    holds the caller up), ``"openmp"`` (the compiler's OpenMP runtime) or ``"serial"``; with
    the sizes from which kernels go parallel.

    Args:
        print_out: print the report (the dict is returned either way).
    """
    from . import __version__

    info: dict[str, Any] = {
        "version": __version__,
        "simd": _C.simd_level(),
        "simd_compiled": _C.simd_compiled(),
        "simd_supported": _C.simd_supported(),
        "openmp": _C.openmp(),
        "threads": _C.get_num_threads(),
        "threading": _C.threading(),
    }
    if print_out:
        print(f"pydtrain {info['version']}")
        print(f"  SIMD level in use : {info['simd']}")
        print(f"  compiled levels   : {', '.join(info['simd_compiled'])}")
        print(f"  supported here    : {', '.join(info['simd_supported'])}")
        print(f"  OpenMP            : {'yes' if info['openmp'] else 'no (single thread)'}")
        print(f"  threads           : {info['threads']}")
        t = info["threading"]
        print(f"  threading         : {t['backend']}, {t['blocks_per_thread']} blocks per thread per parallel loop,"
              f" workers spin {t['worker_spin_us']:g} us then sleep")
        print(f"  parallel from     : {t['parallel_min_elements']} elements (elementwise),"
              f" {t['parallel_min_gemm_madds']} multiply-adds (products)")
    return info
