"""Benchmark: Conv2d forward + backward (dx, dW, db) and pooling against PyTorch, float32.

Conv rows: the layers of a digits/shapes ResNet and of a CIFAR-sized network, and a depthwise
layer (groups = channels, its own direct kernel); the note gives
pydtrain's GFLOP/s (forward, dW and dx: 3·2·N·O·C/g·kh·kw·oh·ow, the direct convolution's count) and,
for the largest layer at one thread, its share of the FMA peak measured next to each call
(common.paired_efficiency). 3×3 stride-1 layers of 16+ channels run by Winograd F(2×2, 3×3), with
16/36 of those multiplies, so their share can pass 100%.
Pooling rows (MaxPool2d 2×2 and 3×3 stride 2, global average pooling) give the effective bandwidth
over the compulsory bytes (x and y in the forward, dy and dx in the backward; max pooling also
writes and reads its int64 argmax) as a share of the STREAM triad at the same thread count.
pydtrain's and PyTorch's runs of a row are taken in turn (common.interleaved_medians), so a
busy machine slows both alike.
"""
from __future__ import annotations

import numpy as np

from . import common

__all__ = ["run", "CONV_SHAPES"]

# (N, C, H, W, O, kernel, stride, padding, groups)
CONV_SHAPES = [
    (128, 1, 8, 8, 16, 3, 1, 1, 1),
    (64, 16, 28, 28, 32, 3, 1, 1, 1),
    (64, 32, 14, 14, 32, 3, 2, 1, 1),
    (32, 64, 32, 32, 64, 3, 1, 1, 1),
    (64, 64, 16, 16, 128, 1, 1, 0, 1),
    (64, 32, 28, 28, 32, 3, 1, 1, 32),
]
LARGEST = CONV_SHAPES[3]


def _torch_pair(make, x, dy):
    torch = common.torch
    if torch is None:
        return None
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    return common.torch_layer_step(make(), xt, torch.from_numpy(dy.copy()))


def _times(step, torch_step) -> tuple:
    """Median seconds of pydtrain's step and of PyTorch's (None without PyTorch), their runs taken in turn."""
    if torch_step is None:
        return common.median_time(step), None
    return tuple(common.interleaved_medians([step, torch_step]))


def _conv_rows(table, threads: int) -> None:
    from pydtrain import nn

    torch = common.torch
    for shape in CONV_SHAPES:
        n, c, h, w, o, k, s, p, g = shape
        layer = nn.Conv2d(c, o, k, stride=s, padding=p, groups=g)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, c, h, w), dtype=np.float32)
        dy = rng.standard_normal(layer(x).shape, dtype=np.float32)
        step = common.layer_step(layer, x, dy)
        make = (lambda: torch.nn.Conv2d(c, o, k, stride=s, padding=p, groups=g)) if torch else None
        t_pdt, t_th = _times(step, _torch_pair(make, x, dy) if torch else None)
        flops = 3 * 2 * n * o * c // g * k * k * dy.shape[2] * dy.shape[3]
        note = f"{flops / t_pdt / 1e9:.1f} GFLOP/s"
        if shape == LARGEST and threads == 1:
            note += f", {100 * common.paired_efficiency(step, flops, np.float32, 1):.0f}% of FMA peak"
        depthwise = " depthwise" if g > 1 else ""
        table.row(f"conv N{n} {c}->{o} {h}x{w} k{k} s{s} p{p}{depthwise}, {threads} thr", t_pdt, None, t_th, note)


def _pool_rows(table, threads: int) -> None:
    from pydtrain import nn

    torch = common.torch
    triad = common.stream_triad()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 64, 32, 32), dtype=np.float32)
    cases = [  # name, layer, torch module, compulsory bytes per input element
        ("maxpool 2x2", nn.MaxPool2d(2), (lambda: torch.nn.MaxPool2d(2)) if torch else None,
         4 + 4 + (4 + 8 + 4 + 8) / 4),
        ("maxpool 3x3 s2 p1", nn.MaxPool2d(3, 2, 1), (lambda: torch.nn.MaxPool2d(3, 2, 1)) if torch else None,
         4 + 4 + (4 + 8 + 4 + 8) / 4),
        ("global avgpool", nn.AdaptiveAvgPool2d(1), (lambda: torch.nn.AdaptiveAvgPool2d(1)) if torch else None, 8),
    ]
    for name, layer, make, per_element in cases:
        dy = rng.standard_normal(layer(x).shape, dtype=np.float32)
        t_pdt, t_th = _times(common.layer_step(layer, x, dy), _torch_pair(make, x, dy) if torch else None)
        gbs = per_element * x.size / t_pdt
        table.row(f"{name} {x.shape} fwd+bwd, {threads} thr", t_pdt, None, t_th,
                  f"GB/s {gbs / 1e9:.1f} = {100 * gbs / triad:.0f}% of triad ({triad / 1e9:.1f})")


def run(args) -> None:
    table = common.Table("conv: Conv2d / MaxPool2d / global average pooling, float32, forward + backward")
    for threads in args.threads:
        common.set_threads(threads)
        _conv_rows(table, threads)
        _pool_rows(table, threads)
    ratios = [r["torch"] / r["pydtrain"] for r in table.rows if r["torch"]]
    if ratios:
        print(f"geometric mean torch/pydtrain over {len(ratios)} rows: {np.exp(np.mean(np.log(ratios))):.2f}")
