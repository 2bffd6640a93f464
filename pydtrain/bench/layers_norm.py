"""Benchmark: Dropout (keep 0.9), BatchNorm and LayerNorm, float32, forward + backward.

Each row times one training step of the layer (forward, then backward with a
fixed dy) through the public layers of pydtrain, the same computation written in
NumPy, and PyTorch's module with autograd. The note gives pydtrain's effective
bandwidth over the compulsory bytes (each array read or written once:
dropout x, y, dy, dx and the uint8 mask written and read; normalization x, y in
the forward and x, dy, dx in the backward) as a share of the STREAM triad at the
same thread count.
"""
from __future__ import annotations

import numpy as np

from . import common

__all__ = ["run"]

KEEP = 0.9
EPS = 1e-5


def _numpy_dropout(x, dy, rng):
    mask = rng.random(x.shape, dtype=np.float32) < KEEP
    y = x * mask * np.float32(1 / KEEP)
    dx = dy * mask * np.float32(1 / KEEP)
    return y, dx


def _numpy_batchnorm(x, dy, gamma, beta):
    mean = x.mean(axis=0)
    xc = x - mean
    var = (xc * xc).mean(axis=0)
    rstd = 1 / np.sqrt(var + EPS)
    xhat = xc * rstd
    y = gamma * xhat + beta
    dgamma = (dy * xhat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    dx = (gamma * rstd) * (dy - dbeta / x.shape[0] - xhat * (dgamma / x.shape[0]))
    return y, dx


def _numpy_layernorm(x, dy, gamma, beta):
    mean = x.mean(axis=1, keepdims=True)
    xc = x - mean
    rstd = 1 / np.sqrt((xc * xc).mean(axis=1, keepdims=True) + EPS)
    xhat = xc * rstd
    y = gamma * xhat + beta
    g = dy * gamma
    dx = rstd * (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True))
    dgamma = (dy * xhat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    return y, dx, dgamma, dbeta


def run(args) -> None:
    import pydtrain as pdt
    from pydtrain import nn

    torch = common.torch
    sizes = [(256, 1024)] if args.quick else [(256, 1024), (4096, 1024)]
    table = common.Table("layers_norm: Dropout(keep 0.9) / BatchNorm / LayerNorm, float32, forward + backward")
    for threads in args.threads:
        common.set_threads(threads)
        for rows, cols in sizes:
            rng = np.random.default_rng(0)
            x = rng.standard_normal((rows, cols), dtype=np.float32)
            dy = rng.standard_normal((rows, cols), dtype=np.float32)
            gamma = np.ones(cols, np.float32)
            beta = np.zeros(cols, np.float32)
            xt = dyt = None
            if torch is not None:
                xt = torch.from_numpy(x.copy()).requires_grad_(True)
                dyt = torch.from_numpy(dy.copy())
            pdt.seed(0)
            cases = [
                ("dropout", 18, nn.Dropout(keep_prob=KEEP), lambda: _numpy_dropout(x, dy, rng),
                 (lambda: torch.nn.Dropout(p=1 - KEEP)) if torch else None),
                ("batchnorm", 20, nn.BatchNorm(cols), lambda: _numpy_batchnorm(x, dy, gamma, beta),
                 (lambda: torch.nn.BatchNorm1d(cols)) if torch else None),
                ("layernorm", 20, nn.LayerNorm(cols), lambda: _numpy_layernorm(x, dy, gamma, beta),
                 (lambda: torch.nn.LayerNorm(cols)) if torch else None),
            ]
            for name, bytes_per_elem, layer, numpy_fn, torch_make in cases:
                t_pdt = common.median_time(common.layer_step(layer, x, dy))
                t_np = common.median_time(numpy_fn)
                t_th = None
                if torch_make is not None:
                    module = torch_make().train()
                    t_th = common.median_time(common.torch_layer_step(module, xt, dyt))
                triad = common.stream_triad()  # next to each row: the machine may be shared and noisy
                gbs = bytes_per_elem * x.size / t_pdt
                table.row(f"{name} {rows}x{cols} fwd+bwd, {threads} thr", t_pdt, t_np, t_th,
                          f"GB/s {gbs / 1e9:.1f} = {100 * gbs / triad:.0f}% of triad ({triad / 1e9:.1f})")
    ratios = [r["torch"] / r["pydtrain"] for r in table.rows if r["torch"]]
    if ratios:
        print(f"geometric mean torch/pydtrain over {len(ratios)} rows: {np.exp(np.mean(np.log(ratios))):.2f}")
