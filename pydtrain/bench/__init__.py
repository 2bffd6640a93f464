"""Benchmarks: side-by-side timings of pydtrain, NumPy and PyTorch (``python -m pydtrain bench``).

Each area is a module with ``run(args)`` printing its rows (see common.Table).
Ratios come from one process and one thread setting; quote them, never one
absolute time. Unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE in the command
when comparing with NumPy.
"""
from __future__ import annotations

import argparse
import importlib

__all__ = ["main"]

AREAS = ("mlp", "layers_act", "layers_norm", "optim", "gemm", "training", "regularization", "augment", "conv", "contention")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pydtrain bench", description=__doc__.splitlines()[0])
    parser.add_argument("areas", nargs="*", metavar="AREA", help=f"areas to run: {', '.join(AREAS)} (default: all)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts to run each row at")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    args = parser.parse_args(argv)
    unknown = [a for a in args.areas if a not in AREAS]
    if unknown:
        parser.error(f"unknown area {unknown[0]!r}; choose from {', '.join(AREAS)}")
    from . import common

    info = common.blas_info()
    if info:
        print(info)
    for area in args.areas or AREAS:
        module = importlib.import_module(f"{__name__}.{area}")
        module.run(args)
    return 0
