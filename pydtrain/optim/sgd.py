"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .. import _C, _checks
from .optimizer import Optimizer, check_number

__all__ = ["SGD"]

_CONVENTIONS = {"classic": 0, "pytorch": 1}


class SGD(Optimizer):
    """Minibatch SGD, ``θ ← θ − α·g`` with ``g = ∇L(θ) + λθ``, and its momentum variants.

    ``convention="classic"`` (the lecture): ``m ← μm − α(1−τ)g; θ ← θ + m``.
    Nesterov: ``m ← μm − α∇L(θ + μm); θ ← θ + m``, done without a second forward
    pass by the change of variables φ = θ + μm (Sutskever et al. 2013): the
    parameters hold the look-ahead point φ and ``φ ← φ + μm' − αg``, with g taken
    at φ. The lecture's θ is ``p.data − μ·m`` (m is ``state["momentum_buffer"]``).

    ``convention="pytorch"`` (the lecture's footnote, ``torch.optim.SGD``):
    ``b ← μb + (1−τ)g`` (``b = g`` on the first step); ``θ ← θ − α·b``; Nesterov
    ``θ ← θ − α(g + μb)``. The two agree while α is constant and differ once a
    schedule changes it (the classic m carries the old α inside).

    Args:
        params: Parameters or group dicts (each group may set its own hyper-parameters).
        lr: learning rate α >= 0.
        momentum: μ >= 0.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        dampening: τ, the fraction of the gradient held back from the momentum.
        weight_decay: λ >= 0, the L2 term added to the gradient.
        convention: ``"classic"`` or ``"pytorch"``.
    """

    _state_names = ("momentum_buffer",)

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0, nesterov: bool = False,
                 dampening: float = 0.0, weight_decay: float = 0.0, convention: str = "classic") -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov, "dampening": dampening,
                                  "weight_decay": weight_decay, "convention": convention})

    def _validate(self, group: dict) -> None:
        check_number("SGD", "lr", group["lr"])
        check_number("SGD", "momentum", group["momentum"])
        check_number("SGD", "dampening", group["dampening"], 0.0, 1.0)
        check_number("SGD", "weight_decay", group["weight_decay"])
        _checks.flag("SGD", "nesterov", group["nesterov"])
        if group["convention"] not in _CONVENTIONS:
            raise ValueError(f"SGD: convention must be 'classic' or 'pytorch', got {group['convention']!r}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening 0, "
                             f"got momentum={group['momentum']}, dampening={group['dampening']}")

    def _buffer_names(self, group: dict) -> list[str]:
        return ["momentum_buffer"] if group["momentum"] != 0 else []

    def _step_group(self, group: dict, data: np.ndarray, grad: np.ndarray, state: dict, fresh: set[str]) -> None:
        if group["momentum"] == 0 and group["weight_decay"] == 0:
            _C.sgd_step(data, grad, float(group["lr"]))
            return
        _C.sgd_momentum_step(data, grad, state.get("momentum_buffer"), float(group["lr"]), float(group["momentum"]),
                             float(group["dampening"]), float(group["weight_decay"]), bool(group["nesterov"]),
                             _CONVENTIONS[group["convention"]], "momentum_buffer" in fresh)
