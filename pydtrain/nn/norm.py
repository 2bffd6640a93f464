"""Normalization layers: batch normalization and layer normalization, forward and backward in C.

BatchNorm (Ioffe & Szegedy, ICML 2015), per channel over the batch:
    μ_B = (1/m)Σxᵢ, σ²_B = (1/m)Σ(xᵢ − μ_B)², x̂ = (x − μ_B)/√(σ²_B + ε), y = γ⊙x̂ + β.
LayerNorm (Ba, Kiros & Hinton, 2016), per example over its units:
    ŷ = γ/σ ⊙ (a − μ) + β, with σ = √(var + ε), the same in training and inference.
"""
from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from .. import _C, _checks
from .module import Module, Parameter, _Outputs, check_input

__all__ = ["BatchNorm", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "recompute_bn_stats"]


class BatchNorm(Module):
    """Batch normalization for (N, C) and (N, C, …) inputs, statistics per channel C.

    Args:
        num_features: C, the number of channels (features of an (N, C) input).
        eps: ε added to the variance.
        momentum: weight of the new batch in the running averages (PyTorch's convention):
            ``running = (1 − momentum)·running + momentum·batch``; ``None`` gives the
            cumulative average over all batches seen.
        affine: learn γ (``weight``, init 1) and β (``bias``, init 0).
        dtype: np.float32 or np.float64 (of parameters and buffers).

    Training normalizes with the batch mean and biased variance and updates
    ``running_mean`` and ``running_var`` (the unbiased batch variance m/(m−1)·σ²_B,
    m = values per channel) and ``num_batches_tracked``; inference uses the running
    statistics, or the exact population statistics of ``recompute_bn_stats``.
    Backward in training goes through the batch statistics:
    ``dx = γ/√(σ²+ε)·(dy − mean(dy) − x̂·mean(dy·x̂))``, ``dγ += Σ dy·x̂``, ``dβ += Σ dy``.
    State-dict keys are PyTorch's: weight, bias, running_mean, running_var, num_batches_tracked.
    The output arrays (y, dx) are written again by later calls once nothing references them.
    """

    running_mean: np.ndarray  # buffers, set by register_buffer
    running_var: np.ndarray
    num_batches_tracked: np.ndarray
    _cache: Optional[tuple[np.ndarray, tuple[int, ...], np.ndarray, np.ndarray, bool]]  # (x3, shape, mean, var, training)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, dtype=np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = _checks.integer(name, "num_features", num_features)
        self.eps = _checks.number(name, "eps", eps, low=0.0, low_open=True)
        if momentum is not None:
            momentum = _checks.number(name, "momentum (or None for a cumulative average)", momentum, 0.0, 1.0)
        self.momentum = momentum
        self.affine = bool(affine)
        dtype = _checks.float_dtype(name, dtype)
        c = self.num_features
        self.weight = Parameter(np.ones(c, dtype)) if self.affine else None
        self.bias = Parameter(np.zeros(c, dtype)) if self.affine else None
        self.register_buffer("running_mean", np.zeros(c, dtype))
        self.register_buffer("running_var", np.ones(c, dtype))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        self._cache = None
        self._outputs = _Outputs()
        self._collect: Optional[list] = None  # set by recompute_bn_stats

    @property
    def dtype(self) -> np.dtype:
        return self.running_mean.dtype

    def _check(self, x: np.ndarray) -> np.ndarray:
        name = type(self).__name__
        x = check_input(self, x, self.dtype)
        if x.ndim < 2:
            raise ValueError(f"{name}: input must have shape (N, C) or (N, C, ...) with C={self.num_features}; "
                             f"got {x.shape}")
        if x.size == 0:
            raise ValueError(f"{name}: the input of shape {x.shape} is empty; batch normalization needs at least one "
                             "example (N >= 1, at least 2 when training) with a value in every channel")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected {self.num_features} channels (input shape (N, {self.num_features}, ...)); "
                             f"got {x.shape[1]} channels in shape {x.shape}")
        return x

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check(x)
        x3 = x.reshape(x.shape[0], x.shape[1], -1)
        gamma = self.weight.data if self.weight is not None else None
        beta = self.bias.data if self.bias is not None else None
        if self.training:
            m = x3.shape[0] * x3.shape[2]
            if m <= 1:
                raise ValueError(f"{type(self).__name__}: expected more than 1 value per channel when training, "
                                 f"got input shape {x.shape}")
            mean, var = _C.batchnorm_stats(x3)
            if self._collect is not None:
                self._collect.append((mean.astype(np.float64), var.astype(np.float64), m))
            else:
                self._update_running(mean, var, m)
        else:
            mean, var = self.running_mean, self.running_var
        y = _C.batchnorm_normalize(x3, mean, var, gamma, beta, self.eps, self._outputs.get("y", x3.shape, x3.dtype))
        self._cache = (x3, x.shape, mean, var, self.training)
        return y.reshape(x.shape)

    def _update_running(self, mean: np.ndarray, var: np.ndarray, m: int) -> None:
        """running ← (1 − f)·running + f·batch, f = momentum or 1/num_batches_tracked; variance unbiased."""
        self.num_batches_tracked[...] += 1  # in place: reassigning the attribute would unregister the buffer
        f = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        unbiased = var.astype(np.float64) * (m / (m - 1))
        self.running_mean[...] = (1.0 - f) * self.running_mean + f * mean.astype(np.float64)
        self.running_var[...] = (1.0 - f) * self.running_var + f * unbiased

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        x3, shape, mean, var, batch_stats = self._cache
        dy = check_input(self, dy, self.dtype)
        if dy.shape != shape:
            raise ValueError(f"{type(self).__name__}: dy has shape {dy.shape}, the forward output had {shape}")
        dx = _C.batchnorm_backward(x3, dy.reshape(x3.shape), mean, var,
                                   self.weight.data if self.weight is not None else None, self.eps, batch_stats,
                                   self.weight.grad if self.weight is not None else None,
                                   self.bias.grad if self.bias is not None else None,
                                   self._outputs.get("dx", x3.shape, x3.dtype))
        return dx.reshape(shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(BatchNorm):
    """Alias of BatchNorm for (N, C) and (N, C, L) inputs (PyTorch's name)."""


class BatchNorm2d(BatchNorm):
    """Alias of BatchNorm for (N, C, H, W) inputs (PyTorch's name)."""


def recompute_bn_stats(model: Module, batches: Iterable[np.ndarray]) -> Module:
    """Exact population statistics for every BatchNorm of ``model`` (Ioffe & Szegedy 2015, Alg. 2).

    Runs ``model`` over ``batches`` (arrays of inputs, or tuples whose first item is
    the input) with its BatchNorm layers collecting batch statistics and every other
    layer in inference mode (dropout and noise off, as in the inference network of
    Alg. 2; PyTorch's ``update_bn`` leaves them in training mode), and sets each BatchNorm's
    ``running_mean = E_B[μ_B]`` (mean of the batch means) and
    ``running_var = m/(m−1)·E_B[σ²_B]`` (mean of the batch variances made unbiased,
    m = values per channel of a batch), ``num_batches_tracked`` = number of batches.
    Parameters are not touched; the running statistics are not updated by momentum
    during the pass; every module's training flag is restored afterwards. Needed after
    stochastic weight averaging, whose averaged weights never saw their own statistics.

    Returns:
        ``model``.
    """
    bns = [m for m in model.modules() if isinstance(m, BatchNorm)]
    modes = [(m, m.training) for m in model.modules()]
    for bn in bns:
        bn._collect = []
    try:
        model.eval()
        for bn in bns:
            bn.train()
        for batch in batches:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            model(x)
        for bn in bns:
            if not bn._collect:
                raise ValueError("recompute_bn_stats: batches is empty (or the model never reached a BatchNorm)")
            means = np.stack([c[0] for c in bn._collect])
            unbiased = np.stack([c[1] * (c[2] / (c[2] - 1)) for c in bn._collect])
            bn.running_mean[...] = means.mean(axis=0)
            bn.running_var[...] = unbiased.mean(axis=0)
            bn.num_batches_tracked[...] = len(bn._collect)
    finally:
        for bn in bns:
            bn._collect = None
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    return model


class LayerNorm(Module):
    """Layer normalization over the trailing dims ``normalized_shape`` of each example.

    Args:
        normalized_shape: an int or a tuple, the trailing shape normalized together (h units).
        eps: ε added to the variance.
        elementwise_affine: learn γ (``weight``, init 1) and β (``bias``, init 0) of that shape.
        dtype: np.float32 or np.float64.

    ``μ = (1/h)Σaᵢ``, ``σ = √((1/h)Σ(aᵢ − μ)² + ε)``, ``y = γ/σ ⊙ (a − μ) + β``,
    identical in training and inference. Backward with g = γ ⊙ dy, x̂ = (a − μ)/σ:
    ``dx = (g − mean(g) − x̂·mean(g·x̂))/σ``, ``dγ += Σ dy·x̂``, ``dβ += Σ dy``.
    The output arrays (y, dx) are written again by later calls once nothing references them.
    """

    _cache: Optional[tuple[np.ndarray, tuple[int, ...], np.ndarray, np.ndarray]]  # (x2, shape, mean, rstd)

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5,
                 elementwise_affine: bool = True, dtype=np.float32) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must name at least one dim, got ()")
        self.normalized_shape = tuple(_checks.integer("LayerNorm", "normalized_shape entries", d) for d in shape)
        self.eps = _checks.number("LayerNorm", "eps", eps, low=0.0, low_open=True)
        self.elementwise_affine = bool(elementwise_affine)
        dtype = _checks.float_dtype("LayerNorm", dtype)
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if self.elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) if self.elementwise_affine else None
        self._dtype = dtype
        self._cache = None
        self._outputs = _Outputs()

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(self, x, self._dtype)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"LayerNorm: input must end with the dims {self.normalized_shape}; got shape {x.shape}")
        d = math.prod(self.normalized_shape)
        x2 = x.reshape(-1, d)
        gamma = self.weight.data.reshape(-1) if self.weight is not None else None
        beta = self.bias.data.reshape(-1) if self.bias is not None else None
        y, mean, rstd = _C.layernorm_forward(x2, gamma, beta, self.eps, self._outputs.get("y", x2.shape, x2.dtype),
                                             None, None)
        self._cache = (x2, x.shape, mean, rstd)
        return y.reshape(x.shape)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError("LayerNorm: backward called before forward")
        x2, shape, mean, rstd = self._cache
        dy = check_input(self, dy, self._dtype)
        if dy.shape != shape:
            raise ValueError(f"LayerNorm: dy has shape {dy.shape}, the forward output had {shape}")
        w, b = self.weight, self.bias
        dx = _C.layernorm_backward(x2, dy.reshape(x2.shape), mean, rstd,
                                   w.data.reshape(-1) if w is not None else None,
                                   w.grad.reshape(-1) if w is not None else None,
                                   b.grad.reshape(-1) if b is not None else None,
                                   self._outputs.get("dx", x2.shape, x2.dtype))
        return dx.reshape(shape)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps:g}, elementwise_affine={self.elementwise_affine}"
