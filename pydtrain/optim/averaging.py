"""Weight averaging: EMA of the weights (the lecture's PMPE) and SWA (Izmailov et al. 2018).

Both keep one flat buffer per run of parameters that share an optimizer arena,
so ``update()`` is one C pass per arena: ``avg ← avg + w·(θ − avg)``.
"""
from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, Optional, Union

import numpy as np

from .. import _C
from ..nn.module import Module, Parameter
from .optimizer import check_number, flat_segments

__all__ = ["EMA", "SWA"]


def _param_list(params: Union[Module, Parameter, Iterable[Parameter]], who: str) -> list[Parameter]:
    if isinstance(params, Module):
        return params.parameters()
    if isinstance(params, Parameter):
        return [params]
    out = list(params)
    if not out:
        raise ValueError(f"{who}: got an empty parameter list")
    for p in out:
        if not isinstance(p, Parameter):
            raise TypeError(f"{who}: params must be Parameters, got {type(p).__name__}")
    return out


class _Averager:
    """Shared machinery: the averaged buffers, the live segments, copy_to and applied."""

    def __init__(self, params: Union[Module, Iterable[Parameter]]) -> None:
        self.params = _param_list(params, type(self).__name__)
        self._cache: dict = {}
        self.averages = [np.zeros_like(seg) for seg in flat_segments([p.data for p in self.params], self._cache)]
        self.num_updates = 0

    def _weight(self) -> float:
        raise NotImplementedError

    def _scale(self) -> float:
        return 1.0

    def update(self) -> None:
        """Fold the current weights into the average (call after ``optimizer.step()``)."""
        segments = flat_segments([p.data for p in self.params], self._cache)
        if [s.size for s in segments] != [a.size for a in self.averages]:
            # the parameters were moved into a new arena since: re-slice the averages to the new layout
            flat = np.concatenate(self.averages) if self.averages else np.zeros(0)
            self.averages, offset = [], 0
            for s in segments:
                self.averages.append(flat[offset:offset + s.size].copy())
                offset += s.size
        w = self._weight()
        for avg, seg in zip(self.averages, segments):
            _C.average_update(avg, seg, w)
        self.num_updates += 1

    def copy_to(self, params: Optional[Union[Module, Iterable[Parameter]]] = None) -> None:
        """Write the averaged weights into ``params`` (default: the averaged parameters themselves)."""
        who = type(self).__name__
        if self.num_updates == 0:
            raise RuntimeError(f"{who}.copy_to: no update() yet, there is nothing averaged")
        targets = self.params if params is None else _param_list(params, who)
        if len(targets) != len(self.params) or any(t.shape != p.shape for t, p in zip(targets, self.params)):
            raise ValueError(f"{who}.copy_to: the parameters must match the averaged ones in number and shapes")
        flat = self.averages[0] if len(self.averages) == 1 else np.concatenate(self.averages)
        scale = self._scale()
        offset = 0
        for t in targets:
            if t.data.dtype != flat.dtype:
                raise TypeError(f"{who}.copy_to: parameter {t.name!r} is {t.data.dtype}, the average {flat.dtype}")
            _C.scale(flat[offset:offset + t.size].reshape(t.shape), scale, t.data)
            offset += t.size

    @contextlib.contextmanager
    def applied(self, model: Optional[Union[Module, Iterable[Parameter]]] = None) -> Iterator[None]:
        """Swap the averaged weights in for the block, and the live ones back out after it.

        ``with ema.applied(model): evaluate(model, ...)``. After SWA, recompute the
        batch-norm statistics for the averaged weights inside the block
        (``nn.recompute_bn_stats(model, batches)``): when ``model`` is a Module its
        buffers (running statistics) are restored on exit too, so the live model
        keeps its own.
        """
        targets = self.params if model is None else _param_list(model, type(self).__name__)
        saved = [t.data.copy() for t in targets]
        buffers = []
        if isinstance(model, Module):
            buffers = [(arr, arr.copy()) for m in model.modules() for arr in m._buffers.values()
                       if isinstance(arr, np.ndarray)]
        self.copy_to(targets)
        try:
            yield
        finally:
            for t, s in zip(targets, saved):
                np.copyto(t.data, s)
            for arr, s in buffers:
                np.copyto(arr, s)


class EMA(_Averager):
    """Exponential moving average of the weights: ``e ← βe + (1−β)θ``, used as ``ê = e/(1−βᵗ)``.

    With ``bias_correction=True`` (the lecture's PMPE) e starts at 0 and
    ``copy_to``/``applied`` use ê; with False the first ``update()`` copies θ
    (as ``torch.optim.swa_utils``' EMA) and e is used as is. The two agree at t = 1.

    Args:
        params: Parameters or a Module.
        beta: β in [0, 1).
        bias_correction: divide by 1 − βᵗ.
    """

    def __init__(self, params: Union[Module, Iterable[Parameter]], beta: float = 0.999,
                 bias_correction: bool = True) -> None:
        self.beta = check_number("EMA", "beta", beta, 0.0, 1.0, high_open=True)
        self.bias_correction = bool(bias_correction)
        super().__init__(params)

    def _weight(self) -> float:
        return 1.0 if (self.num_updates == 0 and not self.bias_correction) else 1.0 - self.beta

    def _scale(self) -> float:
        return 1.0 / (1.0 - self.beta ** self.num_updates) if self.bias_correction else 1.0


class SWA(_Averager):
    """Stochastic weight averaging: the equal-weight running mean ``θ_SWA ← θ_SWA + (θ − θ_SWA)/(k+1)``.

    Call ``update()`` every c steps (at the end of each cycle of
    ``SWACyclicLR``) or each epoch; then evaluate inside ``applied(model)``
    after recomputing the batch-norm statistics (``nn.recompute_bn_stats``).
    Updating after every step gives Polyak–Ruppert averaging.

    Args:
        params: Parameters or a Module.
    """

    def _weight(self) -> float:
        return 1.0 / (self.num_updates + 1)
