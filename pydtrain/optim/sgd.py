"""Stochastic gradient descent."""
from __future__ import annotations

from typing import Any, Iterable

from .. import _C
from .optimizer import Optimizer


class SGD(Optimizer):
    """Minibatch SGD: ``θ ← θ − α·g``.

    Args:
        params: Parameters or group dicts.
        lr: learning rate α.
    """

    def __init__(self, params: Iterable[Any], lr: float) -> None:
        super().__init__(params, {"lr": lr})

    def step(self) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                _C.sgd_step(p.data, p.grad, float(g["lr"]))
