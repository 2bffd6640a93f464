"""Benchmark: data augmentation of a (1000, 1, 28, 28) float32 batch, shift + flip + rotation.

pydtrain runs ``Compose([RandomShift(2), RandomHorizontalFlip(), RandomRotation(15)])``,
three C kernels, each image with its own draws. NumPy does the same vectorized over the
batch, in the form that suits it best: the three maps composed into one sampling position
per output pixel, then one bilinear gather (the same values as the three steps). PyTorch
puts rotation, flip and shift of each image into one matrix for ``affine_grid`` +
``grid_sample`` (bilinear, zeros, align_corners=False), one pass as torchvision's
RandomAffine: the same values but where a shift pushes pixels out of the frame that the
rotation brings back (there the steps in turn see zeros), a little less work than the
steps. Rows for the rotation and the shift alone follow. The random draws are part of
every timing.
"""
from __future__ import annotations

import numpy as np

from . import common

N, H, W = 1000, 28, 28
MAX_PX, P_FLIP, DEGREES = 2, 0.5, 15.0


def _numpy_augment(x: np.ndarray, rng: np.random.Generator, shift: bool = True, flip: bool = True,
                   rotate: bool = True) -> np.ndarray:
    """Shift, flip and rotation of every image of x (n, 1, h, w) as one bilinear gather: each output
    pixel's position in the shifted and flipped frame, its four neighbours kept where they lie inside
    that frame and, moved back by the shift, inside x (the same values as the three steps in turn)."""
    n, _, h, w = x.shape
    theta = np.deg2rad(rng.uniform(-DEGREES, DEGREES, n)).astype(np.float32) if rotate else np.zeros(n, np.float32)
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    cy, cx = np.float32((h - 1) / 2), np.float32((w - 1) / 2)
    i = np.arange(h, dtype=np.float32)[None, :, None] - cy
    j = np.arange(w, dtype=np.float32)[None, None, :] - cx
    sx, sy = cx + c * j - s * i, cy + s * j + c * i
    if flip:
        sx = np.where((rng.random(n) < P_FLIP)[:, None, None], np.float32(w - 1) - sx, sx)
    d = rng.integers(-MAX_PX, MAX_PX + 1, (2, n, 1, 1)) if shift else np.zeros((2, n, 1, 1), np.intp)
    x0, y0 = np.floor(sx), np.floor(sy)
    fx, fy = sx - x0, sy - y0
    x0, y0 = x0.astype(np.intp), y0.astype(np.intp)
    flat = x.reshape(n, h * w)
    out = np.zeros((n, h, w), np.float32)
    for yy, wy in ((y0, 1 - fy), (y0 + 1, fy)):
        for xx, wx in ((x0, 1 - fx), (x0 + 1, fx)):
            ys, xs = yy - d[0], xx - d[1]
            inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h) & (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
            idx = np.clip(ys, 0, h - 1) * w + np.clip(xs, 0, w - 1)
            out += np.where(inside, wy * wx, 0) * np.take_along_axis(flat, idx.reshape(n, -1), 1).reshape(n, h, w)
    return out.reshape(x.shape)


def _torch_augment(torch, xt, shift: bool = True, flip: bool = True, rotate: bool = True):
    """One affine_grid + grid_sample per batch: rotation, flip (x → −x) and shift in one matrix an image."""
    n, _, h, w = xt.shape
    theta = (torch.rand(n) * 2 - 1) * (DEGREES * np.pi / 180) if rotate else torch.zeros(n)
    c, s = torch.cos(theta), torch.sin(theta)
    sign = torch.where(torch.rand(n) < P_FLIP, -1.0, 1.0) if flip else torch.ones(n)
    mats = torch.zeros(n, 2, 3)
    mats[:, 0, 0], mats[:, 0, 1], mats[:, 1, 0], mats[:, 1, 1] = sign * c, -sign * s * h / w, s * w / h, c
    if shift:
        d = torch.randint(-MAX_PX, MAX_PX + 1, (2, n)).float()
        mats[:, 0, 2], mats[:, 1, 2] = -2 * d[1] / w, -2 * d[0] / h
    grid = torch.nn.functional.affine_grid(mats, [n, 1, h, w], align_corners=False)
    return torch.nn.functional.grid_sample(xt, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def run(args) -> None:
    from pydtrain.data import augment as A

    torch = common.torch
    x = np.random.default_rng(0).random((N, 1, H, W), dtype=np.float32)
    xt = torch.from_numpy(x) if torch is not None else None
    rng = np.random.default_rng(1)
    cases = [
        ("shift+flip+rotate", A.Compose([A.RandomShift(MAX_PX), A.RandomHorizontalFlip(P_FLIP),
                                         A.RandomRotation(DEGREES)]), {}),
        ("rotate", A.RandomRotation(DEGREES), {"shift": False, "flip": False}),
        ("shift", A.RandomShift(MAX_PX), {"flip": False, "rotate": False}),
    ]
    repeats = 5 if args.quick else 11
    table = common.Table(f"augment: ({N}, 1, {H}, {W}) float32, shift ±{MAX_PX} px, flip p={P_FLIP}, "
                         f"rotation ±{DEGREES:g}° bilinear")
    for threads in args.threads:
        common.set_threads(threads)
        for name, transform, parts in cases:
            t_pdt = common.median_time(lambda: transform(x), repeats=repeats)
            t_np = common.median_time(lambda: _numpy_augment(x, rng, **parts), repeats=repeats)
            t_th = None
            if torch is not None:
                with torch.no_grad():
                    t_th = common.median_time(lambda: _torch_augment(torch, xt, **parts), repeats=repeats)
            table.row(f"{name}, {threads} thr", t_pdt, t_np, t_th,
                      f"{N * H * W / t_pdt / 1e6:.0f} Mpixel/s")
