"""Activations, forward + backward on float32 batches: bias + ReLU and GELU (exact erf form),
and the output layer's softmax cross-entropy on integer labels.

Each row times one forward and one backward pass into preallocated outputs:
pydtrain's C kernels, a plain NumPy implementation (GELU's erf from
scipy.special, NumPy having none) and PyTorch's own forward and backward
kernels (``aten.gelu`` / ``aten.gelu_backward``, ``relu`` / ``threshold_backward``,
the ops autograd runs for ``y.backward(dy)``, called directly without the graph).
The note gives pydtrain's rate in GB/s over the compulsory bytes — forward reads x
and writes y, backward reads x and dy and writes dx: 5 arrays of 4-byte elements —
and that rate as a percentage of the STREAM triad (common.triad_fn, as common.stream_triad times it)
at the same thread count. The columns and the triad are timed in interleaved rounds
(every function once per round, medians over rounds), so the load of a shared
machine drifts over all of them alike.

Cross-entropy rows time ``nn.CrossEntropyLoss()`` (mean over the batch) on (N, k)
logits: the forward alone, and forward + ``backward()``; against a straightforward
NumPy log-softmax and PyTorch's ``F.cross_entropy`` (its backward through autograd,
the logits' gradient reset each call). The note gives pydtrain's ns per logit.
"""
from __future__ import annotations

import time

import numpy as np

from .. import _C
from .. import functional as F
from . import common

__all__ = ["cross_entropy_rows", "run"]

SHAPES = ((256, 1024), (4096, 1024))
CE_SHAPES = ((256, 1024), (128, 10), (32, 10))


def _bias_relu(x, b, dy, rows, cols):
    z = np.empty_like(x)
    dx = np.empty_like(x)
    db = np.zeros(cols, np.float32)

    def pdt():
        F.bias_relu(x, b, out=z)
        db.fill(0.0)
        F.bias_relu_backward(z, dy, db, out=dx)

    def numpy():
        np.add(x, b, out=z)
        np.maximum(z, 0.0, out=z)
        np.multiply(dy, z > 0, out=dx)
        dx.sum(axis=0, out=db)

    fns = {"pdt": pdt, "numpy": numpy}
    torch = common.torch
    if torch is not None:
        xt, bt, dyt = torch.from_numpy(x), torch.from_numpy(b), torch.from_numpy(dy)
        zt, dxt, dbt = torch.empty_like(xt), torch.empty_like(xt), torch.empty_like(bt)

        def torch_fb():
            torch.add(xt, bt, out=zt)
            torch.relu_(zt)
            torch.ops.aten.threshold_backward.grad_input(dyt, zt, 0, grad_input=dxt)
            torch.sum(dxt, 0, out=dbt)

        fns["torch"] = torch_fb
    return fns


def _gelu(x, dy):
    y = np.empty_like(x)
    dx = np.empty_like(x)

    def pdt():
        _C.gelu_forward(x, y)
        _C.gelu_backward(x, dy, dx)

    fns = {"pdt": pdt}
    try:
        from scipy.special import erf
    except ImportError:  # NumPy has no erf: leave the column empty
        erf = None
    if erf is not None:
        c = np.float32(1 / np.sqrt(2.0))
        k = np.float32(1 / np.sqrt(2 * np.pi))

        def numpy():
            cdf = 0.5 * (1.0 + erf(x * c))
            np.multiply(x, cdf, out=y)
            pdf = np.exp(-0.5 * x * x) * k
            np.multiply(dy, cdf + x * pdf, out=dx)

        fns["numpy"] = numpy
    torch = common.torch
    if torch is not None:
        xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
        yt, dxt = torch.from_numpy(y.copy()), torch.from_numpy(dx.copy())

        def torch_fb():
            torch.ops.aten.gelu.out(xt, out=yt)
            torch.ops.aten.gelu_backward.grad_input(dyt, xt, grad_input=dxt)

        fns["torch"] = torch_fb
    return fns


def _cross_entropy(z, labels, backward):
    from ..nn import CrossEntropyLoss

    loss_fn = CrossEntropyLoss()
    rows = np.arange(len(labels))

    def pdt():
        loss_fn(z, labels)
        if backward:
            loss_fn.backward()

    def numpy():
        m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - z[rows, labels], dtype=np.float64))
        if backward:
            d = e / s
            d[rows, labels] -= 1.0
            d /= len(labels)
        return loss

    fns = {"pdt": pdt, "numpy": numpy}
    torch = common.torch
    if torch is not None:
        zt, yt = torch.from_numpy(z), torch.from_numpy(labels)
        if backward:
            zt.requires_grad_(True)

        def torch_fn():
            loss = torch.nn.functional.cross_entropy(zt, yt)
            if backward:
                zt.grad = None
                loss.backward()

        fns["torch"] = torch_fn
    return fns


def _interleaved_medians(fns: dict, repeats: int, min_time: float = 0.05) -> dict:
    """Median seconds per call of each function, measured in rounds that run every function
    once in turn, so drifts of a shared, noisy machine hit all columns alike."""
    calls = {name: common.calls_for(fn, min_time) for name, fn in fns.items()}
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            samples[name].append((time.perf_counter() - t0) / calls[name])
    return {name: float(np.median(v)) for name, v in samples.items()}


def cross_entropy_rows(table: common.Table, args, rng: np.random.Generator, repeats: int) -> list:
    """The cross-entropy rows at each thread count; returns their torch/pydtrain ratios."""
    ratios = []
    for threads in args.threads:
        common.set_threads(threads)
        for rows, cols in CE_SHAPES[:1] if getattr(args, "quick", False) else CE_SHAPES:
            z = (3.0 * rng.standard_normal((rows, cols))).astype(np.float32)
            labels = rng.integers(0, cols, rows)
            for name, backward in (("fwd", False), ("fwd+bwd", True)):
                t = _interleaved_medians(_cross_entropy(z, labels, backward), repeats)
                table.row(f"cross-entropy {name} ({rows}, {cols}) t={threads}", t["pdt"], t.get("numpy"),
                          t.get("torch"), f"{t['pdt'] / z.size * 1e9:.2f} ns/logit")
                if "torch" in t:
                    ratios.append(t["torch"] / t["pdt"])
    return ratios


def run(args) -> None:
    table = common.Table("layers_act: activations forward + backward and softmax cross-entropy, float32")
    rng = np.random.default_rng(0)
    shapes = SHAPES[:1] if getattr(args, "quick", False) else SHAPES
    repeats = 3 if getattr(args, "quick", False) else 7
    triad, triad_bytes = common.triad_fn()
    ratios = []
    for threads in args.threads:
        common.set_threads(threads)
        for rows, cols in shapes:
            x = rng.standard_normal((rows, cols)).astype(np.float32)
            dy = rng.standard_normal((rows, cols)).astype(np.float32)
            b = rng.standard_normal(cols).astype(np.float32)
            for name, fns in (("bias+relu", _bias_relu(x, b, dy, rows, cols)), ("gelu", _gelu(x, dy))):
                t = _interleaved_medians({**fns, "triad": triad}, repeats)
                rate = 5 * 4 * x.size / t["pdt"]
                note = f"GB/s {rate / 1e9:.1f} = {100 * rate * t['triad'] / triad_bytes:.0f}% of triad"
                table.row(f"{name} fwd+bwd {rows}x{cols} t={threads}", t["pdt"], t.get("numpy"), t.get("torch"),
                          note)
                if "torch" in t:
                    ratios.append(t["torch"] / t["pdt"])
    ratios += cross_entropy_rows(table, args, rng, repeats)
    if ratios:
        gmean = float(np.exp(np.mean(np.log(ratios))))
        print(f"geometric mean torch/pydtrain over {len(ratios)} rows: {gmean:.2f}")
