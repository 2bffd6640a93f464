"""pydtrain — training deep networks on the CPU, every formula of the lecture in fast C.

    import pydtrain as pdt
    from pydtrain import nn, optim
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))

The C core (pydtrain._C) picks the best SIMD level of this CPU at import;
the environment variable PYDTRAIN_SIMD=scalar|avx2|avx512|neon caps it.
"""
from __future__ import annotations

import os as _os
import warnings as _warnings

from . import _C

__version__ = "0.1.0"


def _apply_simd_cap() -> None:
    """Honours PYDTRAIN_SIMD: the chosen level is the best supported one not above the cap."""
    cap = _os.environ.get("PYDTRAIN_SIMD", "").strip().lower()
    if not cap:
        return
    order = ["scalar", "avx2", "avx512"] if "neon" not in _C.simd_compiled() else ["scalar", "neon"]
    if cap not in order:
        _warnings.warn(
            f"PYDTRAIN_SIMD={cap!r} is not one of {', '.join(order)}; using {_C.simd_level()}",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    supported = set(_C.simd_supported())
    allowed = [lvl for lvl in order[: order.index(cap) + 1] if lvl in supported]
    _C._set_simd(allowed[-1])


_apply_simd_cap()

from ._random import seed  # noqa: E402
from ._config import get_num_threads, set_num_threads, show_config  # noqa: E402
from . import functional, init, nn, optim, data, regularizers, train, diagnostics, interop, plot, models  # noqa: E402
from .series import ema  # noqa: E402
from .diagnostics import summary  # noqa: E402

__all__ = [
    "seed", "get_num_threads", "set_num_threads", "show_config", "ema", "summary",
    "functional", "init", "nn", "optim", "data", "regularizers", "train", "diagnostics", "interop", "models",
    "plot",
    "__version__",
]
