"""Diagnostics: checking gradients against finite differences."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from . import _random

__all__ = ["numerical_gradient", "gradient_errors", "gradcheck"]


def numerical_gradient(evaluate: Callable[[], float], arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(a + εeᵢ) − f(a − εeᵢ)) / 2ε`` of the scalar ``evaluate()`` w.r.t. each entry of ``arr``.

    ``arr`` is perturbed in place, one entry at a time, and restored.
    """
    g = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = evaluate()
        flat[i] = old - eps
        down = evaluate()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return g


def gradient_errors(module, x: np.ndarray, eps: float = 1e-6, dy: Optional[np.ndarray] = None) -> dict:
    """Largest differences between backward's gradients and central finite differences.

    The scalar checked is ``L = Σ dy ⊙ module(x)`` for a fixed random ``dy``;
    its gradient w.r.t. x is what ``module.backward(dy)`` returns, and w.r.t.
    each parameter what backward accumulates in ``p.grad``. The random
    generator is rewound before every forward, so layers that draw (dropout,
    noise) use the same draws each time, and buffers (running statistics) are
    restored at the end. Work in float64.

    Returns:
        ``{name: (max_abs_error, max_abs_reference)}`` for ``"input"`` and each parameter.
    """
    x = np.array(x, dtype=np.float64, copy=True)
    state = _random.get_state()
    # the many forwards below must leave running statistics (BatchNorm buffers) as they were
    buffers = [(arr, arr.copy()) for m in (module.modules() if hasattr(module, "modules") else [])
               for arr in m._buffers.values() if isinstance(arr, np.ndarray)]

    def forward(inp):
        _random.set_state(state)
        return module(inp)

    y = forward(x)
    if dy is None:
        dy = np.random.default_rng(0).standard_normal(np.shape(y))
    dy = np.ascontiguousarray(dy, dtype=np.float64)
    params = module.named_parameters() if hasattr(module, "named_parameters") else []
    params = list(params)
    for _, p in params:
        p.grad.fill(0)
    dx = module.backward(dy)
    analytic = {"input": np.array(dx)}
    analytic.update({name: p.grad.copy() for name, p in params})

    def loss(inp):
        return float(np.sum(dy * forward(inp)))

    numeric = {"input": numerical_gradient(lambda: loss(x), x, eps)}
    for name, p in params:
        numeric[name] = numerical_gradient(lambda: loss(x), p.data, eps)
    _random.set_state(state)
    for arr, saved in buffers:
        np.copyto(arr, saved)
    return {k: (float(np.max(np.abs(analytic[k] - numeric[k]), initial=0.0)),
                float(np.max(np.abs(numeric[k]), initial=0.0))) for k in numeric}


def gradcheck(module, x: np.ndarray, eps: float = 1e-6, atol: float = 1e-6, rtol: float = 1e-5,
              dy: Optional[np.ndarray] = None) -> bool:
    """True when every gradient of ``module`` at ``x`` matches float64 finite differences.

    Passes when ``max|analytic − numeric| ≤ atol + rtol·max|numeric|`` for the
    input gradient and every parameter's (see ``gradient_errors``).
    """
    errors = gradient_errors(module, x, eps=eps, dy=dy)
    return all(err <= atol + rtol * ref for err, ref in errors.values())
