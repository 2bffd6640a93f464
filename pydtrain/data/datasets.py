"""Small data sets for the course: the shipped digits, synthetic toys, and splitting.

Everything here is in memory and returns NumPy arrays: features ``X`` with one row per
example and labels ``y`` (``int64`` class indices for classification, floats for
regression). Every random draw comes from pydtrain's seeded generator, so after
``pydtrain.seed(n)`` (or with ``seed=n``) the same call returns the same data.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import numbers
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import _C, _checks, _random

__all__ = [
    "load_digits",
    "make_moons",
    "make_spirals",
    "make_polynomial_regression",
    "make_shapes",
    "SHAPES",
    "train_val_test_split",
]


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Draws from a generator seeded with ``seed``, or from the global one if None."""
    if seed is None:
        yield
    else:
        with _random.fork(seed):
            yield


def _blurred_shuffled(X: np.ndarray, y: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """X plus Gaussian noise of standard deviation ``noise`` (in place; none when 0), shuffled with y."""
    if noise > 0:
        X += noise * _random.normal(X.shape)
    order = _random.permutation(len(X))
    return X[order], y[order]


def load_digits(as_images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Loads the 8x8 handwritten digits shipped with pydtrain (no download).

    1797 grey-level images of the digits 0-9 (the UCI "optical recognition of
    handwritten digits" test set, as in scikit-learn's ``load_digits``), each flattened
    row by row into 64 pixels with integer intensities 0-16. Reshape a row with
    ``x.reshape(8, 8)`` to see it. Scale the features before training, e.g. ``X / 16``.

    Args:
        as_images: return X as (1797, 1, 8, 8) images (N, C, H, W) for convolutional networks.

    Returns:
        ``(X, y)``: ``X`` float32 of shape (1797, 64) or (1797, 1, 8, 8), C-contiguous,
        values 0-16; ``y`` int64 of shape (1797,), labels 0-9 (about 180 of each).
    """
    resource = importlib.resources.files(__package__).joinpath("digits.npz")
    with resource.open("rb") as f, np.load(f) as archive:
        images = archive["images"]
        labels = archive["labels"]
    X = np.ascontiguousarray(images, dtype=np.float32)
    y = labels.astype(np.int64)
    return (X.reshape(-1, 1, 8, 8) if as_images else X), y


SHAPES = ("circle", "square", "triangle", "cross", "line", "ring")
"""The shapes make_shapes draws, in the order of its default classes (the C kernel's numbering)."""
_MAX_SPOTS = 16  # the C kernel keeps an image's spots on the stack (PDT_SHAPES_MAX_SPOTS)


def make_shapes(n: int, size: int = 28, classes: int | tuple | list | None = None, seed: int | None = None,
                noise: float = 0.05, dtype: DTypeLike = np.float32, spots: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Images of drawn shapes among ink spots, a data set where a small CNN clearly beats an MLP on the pixels.

    Each image is the anti-aliased outline of one shape (``SHAPES``: circle, square,
    triangle, cross, line, ring) of random size (radius 12–30% of the image), rotation,
    stroke width (1–2.5 px at 28×28) and intensity (0.6–1), anywhere in the image (its
    centre uniform over the places where the whole outline fits), among ``spots`` filled
    discs (radius 1–2.5 px at 28×28, the shape's intensity) anywhere, which may overlap it,
    plus Gaussian pixel noise. The class is in the local form of the strokes (corners,
    curves, crossings, ends), not in which pixels are inked: a convolution's shared weights
    find it wherever it lies, an MLP must learn it at every place and among the spots.
    Drawn in C, shipped as code: nothing is downloaded. The same seed gives the same images
    for any thread count.

    Args:
        n: number of images.
        size: height and width in pixels (at least 8).
        classes: the shapes to draw: None (all six), a number k (the first k of ``SHAPES``)
            or a sequence of names; label j is the j-th of them.
        seed: draw with a generator seeded with it (the global one is left untouched);
            None draws from the global generator (``pydtrain.seed``).
        noise: standard deviation of the pixel noise.
        dtype: np.float32 or np.float64.
        spots: ink spots per image, 0–16 (0: the shape alone).

    Returns:
        ``(X, y)``: ``X`` of shape (n, 1, size, size), ink about 0–1; ``y`` int64 labels,
        uniform over the classes.
    """
    n = _checks.integer("make_shapes", "n", n)
    size = _checks.integer("make_shapes", "size", size, low=8)
    noise = _checks.number("make_shapes", "noise (a standard deviation)", noise, low=0.0)
    dtype = _checks.float_dtype("make_shapes", dtype)
    spots = _checks.integer("make_shapes", "spots", spots, low=0)
    if spots > _MAX_SPOTS:
        raise ValueError(f"make_shapes: spots must be at most {_MAX_SPOTS}, got {spots!r}")
    if classes is None:
        names = list(SHAPES)
    elif _checks.is_number(classes):
        k = _checks.integer("make_shapes", "classes", classes)
        if k > len(SHAPES):
            raise ValueError(f"make_shapes: classes must be at most {len(SHAPES)}, got {classes!r}")
        names = list(SHAPES[:k])
    else:
        names = list(classes)
        unknown = [c for c in names if c not in SHAPES]
        if not names or unknown or len(set(names)) != len(names):
            raise ValueError(f"make_shapes: classes must be distinct names from {SHAPES}, got {classes!r}")
    kinds = np.array([SHAPES.index(c) for c in names], np.int64)
    X = np.empty((n, size, size), dtype)
    with _seeded(seed):
        seed_value, offset = _random.take(n * (2 + spots + size * size))
    y = _C.draw_shapes(X, kinds, seed_value, offset, spots, noise)
    return X.reshape(n, 1, size, size), y


def make_moons(
    n_samples: int = 200,
    noise: float = 0.1,
    seed: int | None = None,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: a 2-d problem a straight line cannot separate.

    Class 0 lies on the upper half of the unit circle, class 1 on a lower half circle
    shifted to (1, 0.5) below it; ``noise`` blurs both, like scikit-learn's
    ``make_moons``. The examples come in shuffled order.

    Args:
        n_samples: Total number of points; class 0 gets ``n_samples // 2``.
        noise: Standard deviation of the Gaussian noise added to each coordinate.
        seed: If given, draw with a generator seeded with it (the global generator is
            left untouched); if None, draw from the global generator (``pydtrain.seed``).
        dtype: Floating dtype of ``X``.

    Returns:
        ``(X, y)``: ``X`` of shape (n_samples, 2), ``y`` int64 labels 0 or 1.
    """
    n_samples = _checks.integer("make_moons", "n_samples", n_samples, low=2)
    noise = _checks.number("make_moons", "noise (a standard deviation)", noise, low=0.0)
    with _seeded(seed):
        n_outer = n_samples // 2
        n_inner = n_samples - n_outer
        t_outer = np.linspace(0.0, np.pi, n_outer)
        t_inner = np.linspace(0.0, np.pi, n_inner)
        X = np.concatenate(
            [
                np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1),
                np.stack([1.0 - np.cos(t_inner), 0.5 - np.sin(t_inner)], axis=1),
            ]
        )
        y = np.concatenate([np.zeros(n_outer, np.int64), np.ones(n_inner, np.int64)])
        X, y = _blurred_shuffled(X, y, noise)
    return np.ascontiguousarray(X, dtype=dtype), y


def make_spirals(
    n_samples: int = 300,
    n_classes: int = 2,
    noise: float = 0.05,
    turns: float = 1.0,
    seed: int | None = None,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Intertwined spiral arms, one per class: a classic hard 2-d toy problem.

    Arm ``k`` of ``n_classes`` is the curve r(cos θ, sin θ) with r going from 0 to 1 and
    θ = 2π·turns·r + 2πk/n_classes; points are spread evenly along r and blurred by
    ``noise``. The examples come in shuffled order.

    Args:
        n_samples: Total number of points, shared as evenly as possible among classes.
        n_classes: Number of arms (classes), at least 2.
        noise: Standard deviation of the Gaussian noise added to each coordinate.
        turns: How many full turns each arm makes; more turns make the problem harder.
        seed: If given, draw with a generator seeded with it (the global generator is
            left untouched); if None, draw from the global generator (``pydtrain.seed``).
        dtype: Floating dtype of ``X``.

    Returns:
        ``(X, y)``: ``X`` of shape (n_samples, 2) inside roughly [-1, 1]², ``y`` int64
        labels 0 .. n_classes - 1.
    """
    n_classes = _checks.integer("make_spirals", "n_classes", n_classes, low=2)
    n_samples = _checks.integer("make_spirals", "n_samples", n_samples, low=n_classes)
    noise = _checks.number("make_spirals", "noise (a standard deviation)", noise, low=0.0)
    turns = _checks.number("make_spirals", "turns", turns, low=0.0, low_open=True)
    with _seeded(seed):
        counts = np.full(n_classes, n_samples // n_classes)
        counts[: n_samples % n_classes] += 1
        y = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
        r = np.concatenate([np.linspace(0.0, 1.0, c) for c in counts])
        theta = 2.0 * np.pi * (turns * r + y / n_classes)
        X = r[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
        X, y = _blurred_shuffled(X, y, noise)
    return np.ascontiguousarray(X, dtype=dtype), y


def make_polynomial_regression(
    n_samples: int = 100,
    degree: int = 3,
    noise: float = 0.1,
    seed: int | None = None,
    coef: ArrayLike | None = None,
    x_range: tuple[float, float] = (-1.0, 1.0),
    dtype: DTypeLike = np.float32,
    return_coef: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy samples of a random polynomial: the 1-d regression of the over-fitting lecture.

    y = c₀ + c₁x + … + c_d·x^d + ε with x ~ U(x_range) and ε ~ N(0, noise²). Fit it with
    too flexible a model and few points to watch over-fitting happen.

    Args:
        n_samples: Number of points.
        degree: Degree d of the true polynomial (0 is a constant).
        noise: Standard deviation of the Gaussian noise added to y.
        seed: If given, draw with a generator seeded with it (the global generator is
            left untouched); if None, draw from the global generator (``pydtrain.seed``).
        coef: The d + 1 coefficients c₀ … c_d, lowest degree first; if None they are
            drawn from N(0, 1).
        x_range: ``(low, high)`` interval x is drawn from.
        dtype: Floating dtype of ``X`` and ``y``.
        return_coef: Also return the coefficients of the true polynomial, e.g. to plot
            the curve the network should find.

    Returns:
        ``(X, y)``: ``X`` of shape (n_samples, 1) and ``y`` of shape (n_samples, 1) (the
        shape of a one-output network, ready for ``MSELoss``); with
        ``return_coef=True``, ``(X, y, coef)`` with ``coef`` the float64 coefficients
        c₀ … c_d.
    """
    n_samples = _checks.integer("make_polynomial_regression", "n_samples", n_samples)
    degree = _checks.integer("make_polynomial_regression", "degree", degree, low=0)
    noise = _checks.number("make_polynomial_regression", "noise (a standard deviation)", noise, low=0.0)
    low, high = (float(v) for v in x_range)
    if not low < high:
        raise ValueError(f"x_range must be (low, high) with low < high, got {x_range!r}")
    if coef is not None:
        coef = np.asarray(coef, dtype=np.float64)
        if coef.shape != (degree + 1,):
            raise ValueError(
                f"coef must hold degree + 1 = {degree + 1} numbers (c0 first), "
                f"got shape {coef.shape}"
            )
    with _seeded(seed):
        if coef is None:
            coef = _random.normal((degree + 1,))
        x = _random.uniform((n_samples,), low=low, high=high)
        y = np.polynomial.polynomial.polyval(x, coef)
        if noise > 0:
            y += noise * _random.normal((n_samples,))
    X = np.ascontiguousarray(x[:, None], dtype=dtype)
    y = np.ascontiguousarray(y[:, None], dtype=dtype)
    return (X, y, coef) if return_coef else (X, y)


def _check_fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a fraction in [0, 1), got {value!r}")
    return float(value)


def train_val_test_split(
    X: ArrayLike,
    y: ArrayLike,
    val: float = 0.15,
    test: float = 0.15,
    seed: int | None = None,
    stratify: bool = False,
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Splits a data set at random into training, validation and test parts.

    The parts are disjoint and together hold every example once. With
    ``stratify=True`` each part keeps the class proportions of ``y`` (to within one or two
    examples per class), which matters for small or unbalanced classification sets.

    Args:
        X: Features, one row per example.
        y: Labels or targets, with the same number of rows as ``X``.
        val: Fraction of the examples for validation, in [0, 1).
        test: Fraction of the examples for testing, in [0, 1); ``val + test < 1``.
            Part sizes are ``round(val * n)`` and ``round(test * n)``; training gets the rest.
        seed: If given, draw with a generator seeded with it (the global generator is
            left untouched); if None, draw from the global generator (``pydtrain.seed``).
        stratify: Keep the class proportions in every part; ``y`` must then hold
            integer class labels.

    Returns:
        ``((X_train, y_train), (X_val, y_val), (X_test, y_test))``, each a pair of new
        C-contiguous arrays in random order, ready to pass to ``fit`` and ``evaluate``.

    Raises:
        ValueError: If the sizes do not match, the fractions are out of range or leave
            no training example, or ``stratify=True`` with non-integer labels.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError("X and y must be arrays with one row per example, got a scalar")
    n = len(X)
    if len(y) != n:
        raise ValueError(
            f"X and y must have the same number of examples (rows), got {n} and {len(y)}"
        )
    val = _check_fraction("val", val)
    test = _check_fraction("test", test)
    n_val, n_test = round(val * n), round(test * n)
    if n_val + n_test >= n:
        raise ValueError(
            f"val={val} and test={test} leave no training example out of {n}; "
            "use smaller fractions"
        )
    if stratify and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"stratify=True needs integer class labels in y, got dtype {y.dtype}; "
            "use stratify=False for regression targets"
        )
    with _seeded(seed):
        order = _random.permutation(n)
    if stratify:
        order = _interleave_classes(order, y[order])
    test_idx = order[:n_test]
    val_idx = order[n_test : n_test + n_val]
    train_idx = order[n_test + n_val :]
    return tuple((X[idx], y[idx]) for idx in (train_idx, val_idx, test_idx))


def _interleave_classes(order: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Reorders a random order so that every prefix keeps the class proportions.

    Each example gets the position (rank within its class + 1/2) / class size, in
    [0, 1); sorting by it spreads every class evenly along the order, and ties keep the
    random order, so any prefix or slice holds each class in proportion, to within an
    example or two.
    """
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    by_class = np.argsort(inverse, kind="stable")
    class_start = np.repeat(np.cumsum(counts) - counts, counts)
    rank = np.empty(len(order), dtype=np.int64)
    rank[by_class] = np.arange(len(order)) - class_start
    position = (rank + 0.5) / counts[inverse]
    return order[np.argsort(position, kind="stable")]
