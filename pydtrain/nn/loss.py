"""Losses: calling one returns a float; ``.backward()`` returns dL/d(input)."""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import numpy as np

from .. import _C, _checks
from .module import check_input

__all__ = ["CrossEntropyLoss", "BCEWithLogitsLoss", "MSELoss", "MultiTaskLoss", "NLLLoss"]

_SMOOTHING = ("exclusive", "uniform")
_REDUCTIONS = ("mean", "sum", "none")
_INT64 = np.dtype(np.int64)


class CrossEntropyLoss:
    """Softmax cross-entropy on logits, fused and stable for any finite logits.

    ``L = −(1/N)·Σᵢ Σ_c q_ic·log softmax(zᵢ)_c`` and ``∂L/∂z = (p − q)/N``.

    Args:
        label_smoothing: ε in [0, 1). With integer labels the target q is
            ``smoothing="exclusive"`` (the lecture's): 1−ε at the label and
            ε/(k−1) elsewhere (k = 5, ε = 0.01, class 3 → [0.0025, 0.0025, 0.99,
            0.0025, 0.0025]); ``"uniform"`` (PyTorch's and Keras'):
            (1−ε)·onehot + ε/k.
        smoothing: "exclusive" or "uniform".
        reduction: "mean" (default), "sum", or "none" (per-example losses;
            backward then returns the gradient of their sum).

    Targets ``y``: integer class indices (N,) or probabilities (N, k).
    """

    # (probs, labels or targets, (on, off) for labels / None for probability targets) of the last call
    _cache: Optional[tuple[np.ndarray, np.ndarray, Optional[tuple[float, float]]]]

    def __init__(self, label_smoothing: float = 0.0, smoothing: str = "exclusive", reduction: str = "mean") -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        if smoothing not in _SMOOTHING:
            raise ValueError(f"smoothing must be one of {_SMOOTHING}, got {smoothing!r}")
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.label_smoothing = float(label_smoothing)
        self.smoothing = smoothing
        self.reduction = reduction
        self._cache = None

    def _on_off(self, k: int) -> tuple[float, float]:
        eps = self.label_smoothing
        if self.smoothing == "uniform":
            return 1.0 - eps + eps / k, eps / k
        return (1.0 - eps, eps / (k - 1)) if k > 1 else (1.0, 0.0)

    def _soft_targets(self, t: np.ndarray, k: int) -> np.ndarray:
        on, off = self._on_off(k)
        if self.label_smoothing == 0.0:
            return t
        return np.ascontiguousarray(t * (on - off) + off, dtype=t.dtype)

    def __call__(self, logits: np.ndarray, y: np.ndarray):
        return self.forward(logits, y)

    def forward(self, logits: np.ndarray, y: np.ndarray):
        z = check_input(self, logits)
        if z.ndim != 2:
            raise ValueError(f"CrossEntropyLoss: logits must be (N, k); got shape {z.shape}")
        n, k = z.shape
        if n == 0:
            raise ValueError("CrossEntropyLoss: the batch is empty (N = 0)")
        if type(y) is not np.ndarray:
            y = np.asarray(y)
        kind = y.dtype.kind
        if kind in "iu":
            if kind == "u" and y.size and y.max() >= k:  # caught before the int64 cast wraps 2**64 - 1 to -1
                at = int(np.argmax(y.reshape(-1) >= k))
                raise ValueError(f"CrossEntropyLoss: labels hold class {y.reshape(-1)[at]} at position {at}; classes "
                                 f"must be in [0, {k})")
            labels = y if y.dtype is _INT64 and y.flags.c_contiguous else np.ascontiguousarray(y, dtype=np.int64)
            on, off = (1.0, 0.0) if self.label_smoothing == 0.0 else self._on_off(k)
            probs, losses = _C.cross_entropy_forward(z, labels, on, off)
            self._cache = (probs, labels, (on, off))
        elif kind == "f":
            if y.shape != z.shape:
                hint = (f"; 1-D class labels must be integers: y.astype(np.int64) (got {y.dtype})"
                        if y.ndim == 1 and len(y) == len(z) else "")
                raise ValueError(f"CrossEntropyLoss: probability targets must have the logits' shape {z.shape}; got "
                                 f"{y.shape}{hint}")
            targets = self._soft_targets(np.ascontiguousarray(y, dtype=z.dtype), k)
            probs, losses = _C.cross_entropy_soft_forward(z, targets)
            self._cache = (probs, targets, None)
        else:
            raise TypeError(f"CrossEntropyLoss: targets must be integer labels or float probabilities; got {y.dtype}")
        if self.reduction == "none":
            return losses
        total = float(losses.sum(dtype=np.float64))
        return total / n if self.reduction == "mean" else total

    def backward(self) -> np.ndarray:
        """dL/dlogits for the last call."""
        if self._cache is None:
            raise RuntimeError("CrossEntropyLoss: backward called before the loss was computed")
        probs, target, onoff = self._cache
        scale = 1.0 / probs.shape[0] if self.reduction == "mean" else 1.0
        if onoff is None:
            return _C.cross_entropy_soft_backward(probs, target, scale)
        return _C.cross_entropy_backward(probs, target, onoff[0], onoff[1], scale)


class _ElementwiseLoss:
    """A loss that is a reduction of per-element terms L(zᵢ, yᵢ) over same-shaped input and target."""

    _forward: Callable[..., np.ndarray]   # C kernel (input, target) -> per-element losses, set by each loss
    _backward: Callable[..., np.ndarray]  # C kernel (input, target, scale) -> scale·∂L/∂input
    _cache: Optional[tuple[np.ndarray, np.ndarray]]  # (input, target) of the last call

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self._cache = None

    def __call__(self, input: np.ndarray, target: np.ndarray):
        return self.forward(input, target)

    def forward(self, input: np.ndarray, target: np.ndarray):
        name = type(self).__name__
        z = check_input(self, input)
        if z.size == 0:
            raise ValueError(f"{name}: the input is empty")
        target = np.asarray(target)
        if target.shape != z.shape:
            raise ValueError(f"{name}: target must have the input's shape {z.shape}; got {target.shape}")
        if not (np.issubdtype(target.dtype, np.floating) or np.issubdtype(target.dtype, np.integer)):
            raise TypeError(f"{name}: target must be numeric; got {target.dtype}")
        t = np.ascontiguousarray(target, dtype=z.dtype)
        losses = type(self)._forward(z, t, None)
        self._cache = (z, t)
        if self.reduction == "none":
            return losses
        total = float(losses.sum(dtype=np.float64))
        return total / z.size if self.reduction == "mean" else total

    def backward(self) -> np.ndarray:
        """dL/d(input) for the last call."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before the loss was computed")
        z, t = self._cache
        scale = 1.0 / z.size if self.reduction == "mean" else 1.0
        return type(self)._backward(z, t, scale, None)


class BCEWithLogitsLoss(_ElementwiseLoss):
    """Binary cross-entropy on logits, fused with the sigmoid and stable for any logit.

    ``L = (1/n)·Σᵢ [max(zᵢ, 0) − zᵢ·yᵢ + log(1 + e^(−|zᵢ|))]``, which equals
    ``−(1/n)·Σ [yᵢ·log σ(zᵢ) + (1 − yᵢ)·log(1 − σ(zᵢ))]``; ``∂L/∂z = (σ(z) − y)/n``.

    Args:
        reduction: "mean" (default), "sum", or "none" (per-element losses;
            backward then returns the gradient of their sum).

    Targets ``y``: probabilities in [0, 1] with the logits' shape.
    """

    _forward = staticmethod(_C.bce_with_logits_forward)
    _backward = staticmethod(_C.bce_with_logits_backward)


class MSELoss(_ElementwiseLoss):
    """Mean squared error ``L = (1/n)·Σᵢ (xᵢ − tᵢ)²``; ``∂L/∂x = 2(x − t)/n``.

    Args:
        reduction: "mean" (default), "sum", or "none".
    """

    _forward = staticmethod(_C.mse_forward)
    _backward = staticmethod(_C.mse_backward)


class NLLLoss:
    """Negative log-likelihood of log-probabilities: ``L = −(1/N)·Σᵢ logp[i, yᵢ]``; ``∂L/∂logp[i, yᵢ] = −1/N``.

    After ``nn.LogSoftmax`` it is the cross-entropy (``CrossEntropyLoss`` does both in one
    stable kernel).

    Args:
        reduction: "mean" (default) or "sum".
    """

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"NLLLoss: reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction

    def __call__(self, logp: np.ndarray, y: np.ndarray) -> float:
        return self.forward(logp, y)

    def forward(self, logp: np.ndarray, y: np.ndarray) -> float:
        logp = check_input(self, logp)
        y = np.asarray(y)
        if logp.ndim != 2 or y.shape != logp.shape[:1]:
            raise ValueError(f"NLLLoss: expects log-probabilities (N, k) and labels (N,); got {logp.shape} and {y.shape}")
        if y.dtype.kind not in "iu":
            raise TypeError(f"NLLLoss: labels must be integers (y.astype(np.int64)), got {y.dtype}")
        if y.size and not (0 <= y.min() and y.max() < logp.shape[1]):
            raise ValueError(f"NLLLoss: labels must be in [0, {logp.shape[1]}), got values in [{y.min()}, {y.max()}]")
        rows = np.arange(len(y))
        scale = 1.0 / len(y) if self.reduction == "mean" else 1.0
        self._cache = (logp.shape, logp.dtype, rows, y, scale)
        return float(-logp[rows, y].sum() * scale)

    def backward(self) -> np.ndarray:
        shape, dtype, rows, y, scale = self._cache
        d = np.zeros(shape, dtype)
        d[rows, y] = -scale
        return d


class MultiTaskLoss:
    """The multi-task loss ``L = Σₖ wₖ·Lₖ(yₖ, tₖ)`` over the heads of an ``nn.MultiTask``.

    Calling it with the list of head outputs and the targets returns the total (a float)
    and keeps each task's loss in ``values``; ``backward()`` returns one gradient per head,
    ``wₖ·∂Lₖ/∂yₖ``, which is what ``MultiTask.backward`` takes: the trunk then receives
    ``Σₖ wₖ·(∂Lₖ/∂yₖ)·(∂yₖ/∂h)``, the weighted sum of what the heads send back.

    Args:
        losses: One loss per head, in the heads' order: a list, or a dict ``name -> loss``
            (its order is the heads' order, and targets may then come as a dict by name).
        weights: wₖ >= 0 per task, a list in the same order or a dict by name; all 1 by default.

    Targets: a tuple or list with one array per head, or a dict by task name
    (``DataLoader(X, (y_class, y_value))`` and ``fit`` pass them through).

    Example:
        >>> model = nn.MultiTask(trunk, [nn.Linear(64, 10), nn.Linear(64, 1)])
        >>> loss_fn = nn.MultiTaskLoss({"digit": nn.CrossEntropyLoss(), "size": nn.MSELoss()},
        ...                            weights={"digit": 1.0, "size": 0.5})
        >>> fit(model, loss_fn, opt, (X, {"digit": y, "size": s}), metrics=())
    """

    def __init__(self, losses: Union[Sequence, dict], weights: Union[Sequence[float], dict, None] = None) -> None:
        who = "MultiTaskLoss"
        if isinstance(losses, dict):
            self.names: Optional[list] = list(losses)
            losses = list(losses.values())
        elif isinstance(losses, (list, tuple)):
            self.names = None
        else:
            raise TypeError(f"{who}: losses must be a list or a dict of losses, got {type(losses).__name__}")
        if not losses:
            raise ValueError(f"{who}: losses is empty; give one loss per head")
        for i, loss in enumerate(losses):
            if not (callable(loss) and callable(getattr(loss, "backward", None))):
                raise TypeError(f"{who}: loss {self._label(i)} must be a loss with backward(), got {type(loss).__name__}")
        self.losses = list(losses)
        if weights is None:
            weights = [1.0] * len(losses)
        elif isinstance(weights, dict):
            if self.names is None or set(weights) != set(self.names):
                raise ValueError(f"{who}: weights given by name must name the tasks of losses "
                                 f"({self.names or 'losses is a list: give weights as a list'}), got {list(weights)}")
            weights = [weights[name] for name in self.names]
        elif not isinstance(weights, (list, tuple)):
            raise TypeError(f"{who}: weights must be a list or a dict, got {type(weights).__name__}")
        if len(weights) != len(losses):
            raise ValueError(f"{who}: {len(losses)} losses but {len(weights)} weights")
        self.weights = [_checks.number(who, f"the weight of task {self._label(i)}", w, low=0.0)
                        for i, w in enumerate(weights)]
        self.values: list[float] = []

    def _label(self, i: int) -> str:
        return repr(self.names[i]) if self.names is not None else str(i)

    def _per_task(self, targets) -> list:
        """The targets as a list in the tasks' order."""
        k = len(self.losses)
        if isinstance(targets, dict):
            if self.names is None or set(targets) != set(self.names):
                raise ValueError(f"MultiTaskLoss: targets given by name must name the tasks "
                                 f"{self.names or '(losses is a list: give targets as a tuple)'}, got {list(targets)}")
            return [targets[name] for name in self.names]
        if not isinstance(targets, (list, tuple)) or len(targets) != k:
            length = f" of length {len(targets)}" if isinstance(targets, (list, tuple)) else ""
            raise ValueError(f"MultiTaskLoss: targets must be a tuple of {k} arrays (one per head) or a dict, "
                             f"got {type(targets).__name__}{length}")
        return list(targets)

    def __call__(self, outputs, targets) -> float:
        return self.forward(outputs, targets)

    def forward(self, outputs, targets) -> float:
        """``Σₖ wₖ·Lₖ(outputs[k], targets[k])``; ``values`` keeps each Lₖ."""
        k = len(self.losses)
        if isinstance(outputs, np.ndarray) or not isinstance(outputs, (list, tuple)) or len(outputs) != k:
            raise ValueError(f"MultiTaskLoss: outputs must be a list of {k} arrays, one per head "
                             f"(what nn.MultiTask returns), got {type(outputs).__name__}")
        self.values = [float(loss(y, t)) for loss, y, t in zip(self.losses, outputs, self._per_task(targets))]
        return float(sum(w * v for w, v in zip(self.weights, self.values)))

    def backward(self) -> list:
        """``[wₖ·∂Lₖ/∂yₖ for each head]``, the argument of ``MultiTask.backward``."""
        if not self.values:
            raise RuntimeError("MultiTaskLoss: backward called before the loss was computed")
        return [w * loss.backward() for loss, w in zip(self.losses, self.weights)]
