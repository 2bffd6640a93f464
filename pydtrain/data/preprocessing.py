"""Feature scaling fitted on the training data: ``StandardScaler``."""

from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["StandardScaler"]


class StandardScaler:
    """Standardizes features: ``x' = (x − μ)/σ`` with μ and σ of each feature over the training rows.

    Fit it on the training set only and transform every set with those statistics (the
    validation and test sets must not leak into μ and σ). A constant feature (σ = 0) is
    only centred. Floating arrays keep their dtype; others become float32.

    Attributes:
        mean_: μ per feature (the shape of one example).
        scale_: σ per feature (1 where σ = 0).

    Example:
        >>> scaler = StandardScaler().fit(X_train)
        >>> X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
    """

    def __init__(self) -> None:
        self.mean_: Optional[np.ndarray] = None
        self.scale_: Optional[np.ndarray] = None

    @staticmethod
    def _array(who: str, X: ArrayLike) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim < 1 or len(X) == 0:
            raise ValueError(f"StandardScaler.{who}: X must hold at least one row, got shape {X.shape}")
        return X if X.dtype in (np.float32, np.float64) else X.astype(np.float32)

    def fit(self, X: ArrayLike) -> StandardScaler:
        """Computes μ and σ of each feature over the rows of X; returns self."""
        X = self._array("fit", X)
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """``(X − μ)/σ`` as a new C-contiguous array of X's float dtype."""
        if self.mean_ is None:
            raise ValueError("StandardScaler.transform: call fit(X_train) first")
        X = self._array("transform", X)
        if X.shape[1:] != self.mean_.shape:
            raise ValueError(f"StandardScaler.transform: rows of shape {X.shape[1:]}, fitted on {self.mean_.shape}")
        return np.ascontiguousarray((X - self.mean_) / self.scale_, dtype=X.dtype)

    def fit_transform(self, X: ArrayLike) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """``X·σ + μ``: back to the original units."""
        if self.mean_ is None:
            raise ValueError("StandardScaler.inverse_transform: call fit(X_train) first")
        X = self._array("inverse_transform", X)
        return np.ascontiguousarray(X * self.scale_ + self.mean_, dtype=X.dtype)
