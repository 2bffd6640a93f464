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
every timing; the three libraries' runs are taken in turn (common.interleaved_medians).
"""
from __future__ import annotations

import contextlib

import numpy as np

from . import common

__all__ = ["numpy_augment", "run", "torch_augment"]

N, H, W = 1000, 28, 28
MAX_PX, P_FLIP, DEGREES = 2, 0.5, 15.0


def _numpy_draws(rng: np.random.Generator, n: int, shift: bool = True, flip: bool = True,
                 rotate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image: angle in degrees, flip or not, shift (dy, dx) as a (2, n) array."""
    degrees = rng.uniform(-DEGREES, DEGREES, n) if rotate else np.zeros(n)
    flips = rng.random(n) < P_FLIP if flip else np.zeros(n, bool)
    d = rng.integers(-MAX_PX, MAX_PX + 1, (2, n)) if shift else np.zeros((2, n), np.int64)
    return degrees, flips, d


def numpy_augment(x: np.ndarray, degrees: np.ndarray, flips: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Shift by d, flip, then rotation of every image of x (n, 1, h, w) as one bilinear gather: each output
    pixel's position in the shifted and flipped frame, its four neighbours kept where they lie inside
    that frame and, moved back by the shift, inside x (the same values as the three steps in turn)."""
    n, _, h, w = x.shape
    theta = np.deg2rad(degrees).astype(np.float32)
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    cy, cx = np.float32((h - 1) / 2), np.float32((w - 1) / 2)
    i = np.arange(h, dtype=np.float32)[None, :, None] - cy
    j = np.arange(w, dtype=np.float32)[None, None, :] - cx
    sx, sy = cx + c * j - s * i, cy + s * j + c * i
    sx = np.where(flips[:, None, None], np.float32(w - 1) - sx, sx)
    x0, y0 = np.floor(sx), np.floor(sy)
    fx, fy = sx - x0, sy - y0
    x0, y0 = x0.astype(np.intp), y0.astype(np.intp)
    dy, dx = d[0][:, None, None], d[1][:, None, None]
    flat = x.reshape(n, h * w)
    out = np.zeros((n, h, w), np.float32)
    for yy, wy in ((y0, 1 - fy), (y0 + 1, fy)):
        for xx, wx in ((x0, 1 - fx), (x0 + 1, fx)):
            ys, xs = yy - dy, xx - dx
            inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h) & (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
            idx = np.clip(ys, 0, h - 1) * w + np.clip(xs, 0, w - 1)
            out += np.where(inside, wy * wx, 0) * np.take_along_axis(flat, idx.reshape(n, -1), 1).reshape(n, h, w)
    return out.reshape(x.shape)


def _torch_draws(torch, n: int, shift: bool = True, flip: bool = True, rotate: bool = True):
    """The same draws as torch tensors."""
    degrees = (torch.rand(n, dtype=torch.float64) * 2 - 1) * DEGREES if rotate else torch.zeros(n, dtype=torch.float64)
    flips = torch.rand(n) < P_FLIP if flip else torch.zeros(n, dtype=torch.bool)
    d = torch.randint(-MAX_PX, MAX_PX + 1, (2, n)) if shift else torch.zeros(2, n, dtype=torch.int64)
    return degrees, flips, d


def torch_augment(torch, xt, degrees, flips, d):
    """One affine_grid + grid_sample: rotation, flip (x → −x) and shift in one matrix an image."""
    n, _, h, w = xt.shape
    theta = degrees * (np.pi / 180)
    c, s = torch.cos(theta), torch.sin(theta)
    sign = 1.0 - 2.0 * flips.to(theta.dtype)
    mats = torch.zeros(n, 2, 3, dtype=xt.dtype)
    mats[:, 0, 0], mats[:, 0, 1], mats[:, 1, 0], mats[:, 1, 1] = sign * c, -sign * s * h / w, s * w / h, c
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
            fns = [lambda: transform(x), lambda: numpy_augment(x, *_numpy_draws(rng, N, **parts))]
            if torch is not None:
                fns.append(lambda: torch_augment(torch, xt, *_torch_draws(torch, N, **parts)))
            with torch.no_grad() if torch is not None else contextlib.nullcontext():
                times = common.interleaved_medians(fns, repeats=repeats)
            table.row(f"{name}, {threads} thr", times[0], times[1], times[2] if torch is not None else None,
                      f"{N * H * W / times[0] / 1e6:.0f} Mpixel/s")
