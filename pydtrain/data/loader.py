"""Minibatches from in-memory arrays.

A ``DataLoader`` cuts ``(X, y)`` into minibatches of ``batch_size`` examples, in a new
random order each epoch (drawn from pydtrain's seeded generator, so ``pydtrain.seed(n)``
makes the order reproducible), and can augment each training batch on the fly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from .. import _checks, _random

__all__ = ["DataLoader"]


def _targets(y: ArrayLike, n: int, name: str) -> np.ndarray:
    """``y`` as a C-contiguous array of n rows."""
    _checks.refuse_masked_or_matrix(f"DataLoader: {name}", y)
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != n:
        raise ValueError(
            f"X and {name} must have the same number of examples (first dimension), "
            f"got {n} and {len(y) if y.ndim else 'a scalar'}"
        )
    return np.ascontiguousarray(y)


class DataLoader:
    """Iterates over a data set in minibatches: ``for xb, yb in loader: ...``.

    Each pass (epoch) visits every example once. With ``shuffle=True`` the order is a
    fresh random permutation each pass; otherwise the examples come in their stored
    order. The last batch is smaller when ``batch_size`` does not divide the number of
    examples, unless ``drop_last=True`` drops it. Batches are new C-contiguous arrays
    (or, without shuffling, views of ``X``), ready for pydtrain's C kernels.

    Without labels (``y=None``, e.g. for an autoencoder) the loader yields the feature
    batches ``xb`` alone instead of ``(xb, yb)`` pairs.

    Args:
        X: Features, one row (first-axis entry) per example; any number of dimensions,
            e.g. (N, 64) vectors or (N, C, H, W) images.
        y: Labels or targets with the same number of rows as ``X``, or None. A tuple or
            dict of such arrays (multi-task targets, one per head) is cut into the same
            rows and yielded as a tuple or dict.
        batch_size: Number of examples per batch, a positive integer.
        shuffle: Draw a new random order at the start of every pass.
        drop_last: Skip the final batch when it is smaller than ``batch_size``.
        transform: Function applied to each feature batch ``xb`` (not to ``yb``) before
            it is yielded, e.g. a data augmentation from ``pydtrain.data.augment``. It
            gets a batch of its own, so it may change it in place; ``X`` stays intact.
            Use it for the training loader only.

    Raises:
        ValueError: If ``batch_size`` is not a positive integer, ``X`` is empty, ``X`` and
            ``y`` have different numbers of examples, or ``drop_last=True`` would leave
            no batch at all.
        TypeError: If ``shuffle``/``drop_last`` are not booleans or ``transform`` is not
            callable.

    Example:
        >>> loader = DataLoader(X_train, y_train, batch_size=32)
        >>> len(loader)           # batches per epoch
        >>> for xb, yb in loader:
        ...     loss = loss_fn(model(xb), yb)
    """

    def __init__(
        self,
        X: ArrayLike,
        y: ArrayLike | tuple | dict | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        drop_last: bool = False,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        _checks.refuse_masked_or_matrix("DataLoader: X", X)
        X = np.asarray(X)
        if X.ndim == 0 or len(X) == 0:
            raise ValueError(f"X must hold at least one example, got shape {X.shape}")
        if isinstance(y, dict):
            y = {key: _targets(value, len(X), f"y[{key!r}]") for key, value in y.items()}
        elif isinstance(y, tuple):
            y = tuple(_targets(value, len(X), f"y[{i}]") for i, value in enumerate(y))
        elif y is not None:
            y = _targets(y, len(X), "y")
        X = np.ascontiguousarray(X)
        batch_size = _checks.integer("DataLoader", "batch_size", batch_size)
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        if drop_last and batch_size > len(X):
            raise ValueError(
                f"batch_size={batch_size} is larger than the {len(X)} examples and "
                "drop_last=True, so there would be no batch at all; use a smaller "
                "batch_size or drop_last=False"
            )
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be a function or None, got {transform!r}")
        self.X = X
        self.y = y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform

    @property
    def num_examples(self) -> int:
        """Number of examples in the data set (visited per pass, minus a dropped tail)."""
        return len(self.X)

    def __len__(self) -> int:
        """Number of batches per pass."""
        if self.drop_last:
            return self.num_examples // self.batch_size
        return math.ceil(self.num_examples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray] | np.ndarray]:
        """Yields the batches of one pass; a new shuffled order is drawn here."""
        order = _random.permutation(self.num_examples) if self.shuffle else None
        for b in range(len(self)):
            start = b * self.batch_size
            rows = slice(start, start + self.batch_size)
            if order is not None:
                rows = order[rows]
            xb = self.X[rows]
            if self.transform is not None:
                if order is None:  # a slice is a view: keep the transform off X itself
                    xb = xb.copy()
                xb = np.ascontiguousarray(self.transform(xb))
            if self.y is None:
                yield xb
            else:
                yield xb, self.take(rows)

    def take(self, rows: slice | np.ndarray) -> np.ndarray | tuple | dict:
        """The targets of the given rows: an array, or a tuple or dict of arrays like ``y``."""
        if isinstance(self.y, dict):
            return {key: value[rows] for key, value in self.y.items()}
        if isinstance(self.y, tuple):
            return tuple(value[rows] for value in self.y)
        return self.y[rows]

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.num_examples} examples, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, "
            f"transform={self.transform!r}, {len(self)} batches)"
        )
