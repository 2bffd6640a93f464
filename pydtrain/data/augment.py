"""Data augmentation of image batches, in C: random shifts, crops, flips, rotations, noise, erasing.

Each transform is a callable on a float32/float64 batch ``(N, H, W)`` or ``(N, C, H, W)``
(C planes of one image move together) that returns a new array; ``out=`` writes into
a given one. Every image draws its own parameters from pydtrain's seeded generator
(``pydtrain.seed``): the same seed gives the same batch, bit for bit, whatever the
number of threads. Flat rows such as the (N, 64) digits are accepted with
``image_shape=(8, 8)`` and come back flat. Use them as a loader's ``transform``::

    aug = Compose([RandomShift(1), RandomRotation(10)], image_shape=(8, 8))
    loader = DataLoader(X_train, y_train, batch_size=32, transform=aug)

Augmentation enlarges the training set with label-preserving changes of the inputs,
a regularizer (Goodfellow et al., Deep Learning, §7.4); apply it to training batches only.
"""
from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any, Optional

import numpy as np

from .. import _checks
from .. import functional as F

__all__ = [
    "Compose",
    "GaussianNoise",
    "RandomCrop",
    "RandomErasing",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomShift",
]


def _whole(who: str, name: str, value: Any, low: int) -> int:
    """``value`` as an int >= low: TypeError for a non-integer, ValueError below low."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{who}: {name} must be an integer, got {type(value).__name__}")
    return _checks.integer(who, name, value, low)


def _image_shape(who: str, image_shape: Optional[Sequence[int]]) -> Optional[tuple[int, ...]]:
    """None, (H, W) or (C, H, W) of positive integers."""
    if image_shape is None:
        return None
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) not in (2, 3):
        raise TypeError(f"{who}: image_shape must be a tuple (H, W) or (C, H, W), got {image_shape!r}")
    return tuple(_whole(who, "each image_shape entry", d, 1) for d in image_shape)


def _batch(who: str, x: Any, image_shape: Optional[tuple[int, ...]]) -> np.ndarray:
    """x as a C-contiguous (N, C, H, W) array (a view where it can be); flat rows through image_shape."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{who}: x must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{who}: x must be float32 or float64, got {x.dtype}")
    x = np.ascontiguousarray(x)
    if x.ndim == 2 and image_shape is not None:
        plane = int(np.prod(image_shape))
        if x.shape[1] % plane or (len(image_shape) == 3 and x.shape[1] != plane):
            raise ValueError(f"{who}: image_shape {image_shape} does not divide the width {x.shape[1]} of x "
                             f"{x.shape}: each row must hold {'exactly' if len(image_shape) == 3 else 'a multiple of'} "
                             f"{plane} values")
        return x.reshape((x.shape[0], -1) + image_shape[-2:])
    if x.ndim not in (3, 4):
        hint = "; flat rows need image_shape=(H, W)" if x.ndim == 2 else ""
        raise ValueError(f"{who}: x must be a batch of images (N, H, W) or (N, C, H, W), got shape {x.shape}{hint}")
    if x.shape[-2] < 1 or x.shape[-1] < 1:
        raise ValueError(f"{who}: images must be at least 1 x 1 pixels, got x of shape {x.shape}")
    if image_shape is not None and x.shape[-len(image_shape):] != image_shape:
        raise ValueError(f"{who}: x of shape {x.shape} does not end in image_shape {image_shape}")
    return x if x.ndim == 4 else x[:, None]


def _layout(x: np.ndarray, x4: np.ndarray, size: tuple[int, int]) -> tuple[int, ...]:
    """Shape of a result with images of ``size`` in x's layout: flat rows stay flat, (N, H, W) stays 3-d."""
    return x.shape[:-2] + size if x.ndim >= 3 else (x4.shape[0], x4.shape[1] * size[0] * size[1])


class _Augmentation:
    """A transform of an image batch: validates x, views it as (N, C, H, W), calls ``_apply``."""

    def __init__(self, image_shape: Optional[Sequence[int]]) -> None:
        self.image_shape = _image_shape(type(self).__name__, image_shape)

    def __call__(self, x: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Returns the augmented batch in x's layout (flat rows stay flat): a new array, or ``out``."""
        who = type(self).__name__
        x4 = _batch(who, x, self.image_shape)
        size = self._image_size(*x4.shape[-2:])
        shape = _layout(x, x4, size)
        if out is not None and (not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != x4.dtype
                                or not out.flags.c_contiguous):
            raise ValueError(f"{who}: out must be a C-contiguous {x4.dtype} array of shape {shape}, got "
                             f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}")
        y = self._apply(x4, None if out is None else out.reshape(x4.shape[:2] + size))
        return out if out is not None else y.reshape(shape)

    def _image_size(self, h: int, w: int) -> tuple[int, int]:
        """(H', W') of the result for images of h × w."""
        return h, w

    def _apply(self, x4: np.ndarray, out4: Optional[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = [f"{k}={v!r}" for k, v in vars(self).items() if k != "image_shape"]
        args += [f"image_shape={self.image_shape}"] if self.image_shape is not None else []
        return f"{type(self).__name__}({', '.join(args)})"


class RandomShift(_Augmentation):
    """Moves each image by whole pixels: ``y(i, j) = x(i − dy, j − dx)``, dy, dx uniform in
    −max_px..max_px, independently per image.

    Args:
        max_px: largest shift in pixels, an integer >= 0.
        fill: what enters at the borders: ``"zeros"``, or ``"edge"`` (the nearest pixel of x).
        image_shape: (H, W) or (C, H, W) of flat rows (N, C·H·W).
    """

    def __init__(self, max_px: int, fill: str = "zeros", image_shape: Optional[Sequence[int]] = None) -> None:
        super().__init__(image_shape)
        self.max_px = _whole("RandomShift", "max_px", max_px, 0)
        if not isinstance(fill, str):
            raise TypeError(f"RandomShift: fill must be 'zeros' or 'edge', got {type(fill).__name__}")
        if fill not in ("zeros", "edge"):
            raise ValueError(f"RandomShift: fill must be 'zeros' or 'edge', got {fill!r}")
        self.fill = fill

    def _apply(self, x4: np.ndarray, out4: Optional[np.ndarray]) -> np.ndarray:
        m = self.max_px
        return F.augment_translate(x4, (-m, m), (-m, m), edge=self.fill == "edge", out=out4)


class RandomCrop(_Augmentation):
    """A random ``size`` window of each image padded with ``padding`` zeros on every side
    (top-left corner uniform over the positions that fit), torchvision's RandomCrop.

    Args:
        size: output (h, w), or one integer for a square.
        padding: zeros added on each side before cropping, an integer >= 0.
        image_shape: (H, W) or (C, H, W) of flat rows; the result's rows hold C·h·w values.
    """

    def __init__(self, size: int | Sequence[int], padding: int = 0,
                 image_shape: Optional[Sequence[int]] = None) -> None:
        super().__init__(image_shape)
        sizes = (size, size) if isinstance(size, numbers.Integral) else size
        if not isinstance(sizes, (tuple, list)) or len(sizes) != 2:
            raise TypeError(f"RandomCrop: size must be an integer or a pair (h, w), got {size!r}")
        self.size = tuple(_whole("RandomCrop", "size", s, 1) for s in sizes)
        self.padding = _whole("RandomCrop", "padding", padding, 0)

    def _image_size(self, h: int, w: int) -> tuple[int, int]:
        return self.size

    def _apply(self, x4: np.ndarray, out4: Optional[np.ndarray]) -> np.ndarray:
        (oh, ow), p = self.size, self.padding
        h, w = x4.shape[-2:]
        if oh > h + 2 * p or ow > w + 2 * p:
            raise ValueError(f"RandomCrop: size {self.size} is larger than the padded image {h + 2 * p} x {w + 2 * p}")
        # the window's top t ∈ 0..h+2p−oh of the padded image is a shift dy = p − t
        return F.augment_translate(x4, (oh - h - p, p), (ow - w - p, p), size=(oh, ow), out=out4)


class RandomHorizontalFlip(_Augmentation):
    """Mirrors each image left to right with probability ``p``: ``y(i, j) = x(i, W − 1 − j)``.

    Args:
        p: probability of a flip, in [0, 1].
        image_shape: (H, W) or (C, H, W) of flat rows.
    """

    def __init__(self, p: float = 0.5, image_shape: Optional[Sequence[int]] = None) -> None:
        super().__init__(image_shape)
        self.p = _checks.number("RandomHorizontalFlip", "p", p, 0.0, 1.0)

    def _apply(self, x4: np.ndarray, out4: Optional[np.ndarray]) -> np.ndarray:
        return F.augment_hflip(x4, self.p, out=out4)


class RandomRotation(_Augmentation):
    """Turns each image about its centre by θ uniform in [−degrees, degrees], bilinear, zeros outside.

    θ > 0 turns counter-clockwise as displayed (row 0 on top), as torchvision's ``rotate``;
    the sampling is ``affine_grid`` + ``grid_sample(align_corners=False)``'s (see
    ``pydtrain.functional.augment_rotate`` for the formula).

    Args:
        degrees: largest angle in degrees, in [0, 180].
        image_shape: (H, W) or (C, H, W) of flat rows.
    """

    def __init__(self, degrees: float, image_shape: Optional[Sequence[int]] = None) -> None:
        super().__init__(image_shape)
        self.degrees = _checks.number("RandomRotation", "degrees", degrees, 0.0, 180.0)

    def _apply(self, x4: np.ndarray, out4: Optional[np.ndarray]) -> np.ndarray:
        return F.augment_rotate(x4, self.degrees, out=out4)


class GaussianNoise(_Augmentation):
    """Adds noise to every pixel: ``y = x + std·z``, z ~ N(0, 1) (the lecture's input noise).

    Args:
        std: standard deviation, >= 0.
        image_shape: (H, W) or (C, H, W) of flat rows.
    """

    def __init__(self, std: float, image_shape: Optional[Sequence[int]] = None) -> None:
        super().__init__(image_shape)
        self.std = _checks.number("GaussianNoise", "std", std, 0.0)

    def _apply(self, x4: np.ndarray, out4: Optional[np.ndarray]) -> np.ndarray:
        return F.gaussian_noise(x4, self.std, out=out4)


class RandomErasing(_Augmentation):
    """Cutout as torchvision's RandomErasing (Zhong et al., AAAI 2020): with probability ``p``,
    a rectangle of area s·H·W (s uniform in ``scale``) and aspect ratio r (log r uniform in
    log ``ratio``) at a uniform position is set to ``value`` in every plane; after 10 tries
    with no rectangle strictly inside, the image is kept.

    Args:
        p: probability of erasing, in [0, 1].
        scale: (low, high) share of the image's area, 0 <= low <= high <= 1.
        ratio: (low, high) aspect ratio h/w, 0 < low <= high.
        value: the fill value.
        image_shape: (H, W) or (C, H, W) of flat rows.
    """

    def __init__(self, p: float = 0.5, scale: Sequence[float] = (0.02, 0.33), ratio: Sequence[float] = (0.3, 3.3),
                 value: float = 0.0, image_shape: Optional[Sequence[int]] = None) -> None:
        super().__init__(image_shape)
        who = "RandomErasing"
        self.p = _checks.number(who, "p", p, 0.0, 1.0)
        for name, pair in (("scale", scale), ("ratio", ratio)):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"{who}: {name} must be a pair (low, high), got {pair!r}")
        lo = _checks.number(who, "scale[0]", scale[0], 0.0, 1.0)
        self.scale = (lo, _checks.number(who, "scale[1]", scale[1], lo, 1.0))
        lo = _checks.number(who, "ratio[0]", ratio[0], 0.0, low_open=True)
        self.ratio = (lo, _checks.number(who, "ratio[1]", ratio[1], lo))
        self.value = _checks.number(who, "value", value)

    def _apply(self, x4: np.ndarray, out4: Optional[np.ndarray]) -> np.ndarray:
        return F.augment_erase(x4, self.p, self.scale, self.ratio, self.value, out=out4)


class Compose:
    """Applies transforms one after the other: ``Compose([a, b])(x) = b(a(x))``.

    Args:
        transforms: callables, each taking and returning a batch.
        image_shape: (H, W) or (C, H, W): flat rows (N, C·H·W) are viewed as images once,
            for every transform, and the result comes back flat.
    """

    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]],
                 image_shape: Optional[Sequence[int]] = None) -> None:
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f"Compose: transforms must be a list of callables, got {type(transforms).__name__}")
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {t!r}")
        self.transforms = list(transforms)
        self.image_shape = _image_shape("Compose", image_shape)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Returns the batch after every transform, in x's layout (flat rows stay flat)."""
        if self.image_shape is None:
            for t in self.transforms:
                x = t(x)
            return x
        x4 = _batch("Compose", x, self.image_shape)
        y = x4
        for t in self.transforms:
            y = t(y)
        return y.reshape(_layout(x, x4, y.shape[-2:]))

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r}{'' if self.image_shape is None else f', image_shape={self.image_shape}'})"
