"""Diagnostics: checking gradients against finite differences; a model's summary table."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import _random
from .nn import Module, Sequential

__all__ = ["gradcheck", "gradient_errors", "numerical_gradient", "summary"]


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


def _size(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def summary(model: Any, input_shape: Sequence[int], print_fn: Callable[[str], Any] = print) -> str:
    """Prints a Keras-like table of the model: each layer's output shape and parameter count, totals and memory.

    One forward pass on a zero batch of two examples in ``eval()`` mode (no random draws,
    no statistics updated; the mode is restored) finds the output shapes; a
    ``Sequential`` is listed layer by layer (nested ones entered), another model as one row.

    Args:
        model: A ``pydtrain.nn.Module``.
        input_shape: One example's shape, without the batch axis, e.g. ``(64,)`` or ``(1, 28, 28)``.
        print_fn: Where the table goes; ``print`` by default.

    Returns:
        The table as printed.

    Example:
        >>> pydtrain.summary(model, (64,))     # or model.summary((64,))
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be a pydtrain.nn.Module, got {type(model).__name__}")
    try:
        shape = tuple(int(d) for d in input_shape)
    except TypeError:
        raise TypeError(f"summary: input_shape must be a tuple of sizes such as (64,), got {input_shape!r}") from None
    if not shape or min(shape) < 1:
        raise ValueError(f"summary: input_shape must be one example's shape (sizes >= 1, no batch axis), got {shape}")
    params = model.parameters()
    dtype = params[0].dtype if params else np.dtype(np.float32)
    layers = model.flat_layers() if isinstance(model, Sequential) else [(type(model).__name__, model)]
    rows = [("Layer (type)", "Output shape", "Param #")]
    activations = 0
    was_training = model.training
    model.eval()
    try:
        x = np.zeros((2, *shape), dtype)
        for key, layer in layers:
            x = layer(x)
            out = x if isinstance(x, np.ndarray) else np.asarray(x[0])
            activations += out[0].size
            count = sum(p.size for p in layer.parameters())
            rows.append((f"{key} ({type(layer).__name__})", str((None, *out.shape[1:])), f"{count:,}"))
    finally:
        model.train(was_training)
    total = sum(p.size for p in params)
    buffers = sum(np.asarray(b).size for m in model.modules() for name in m._buffers
                  for b in [getattr(m, name)] if np.asarray(b).dtype.kind == "f")
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    line = "=" * (sum(widths) + 4)
    fmt = lambda r: f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"  # noqa: E731
    item = dtype.itemsize
    text = "\n".join([
        line, fmt(rows[0]), "-" * len(line), *[fmt(r) for r in rows[1:]], line,
        f"Total params: {total:,} ({_size(total * item)}, {dtype.name})",
        f"Trainable params: {total:,}",
        f"Non-trainable (buffers): {buffers:,} ({_size(buffers * item)})",
        f"Activations per example: {activations:,} ({_size(activations * item)}); kept for backward in training",
        line,
    ])
    print_fn(text)
    return text
