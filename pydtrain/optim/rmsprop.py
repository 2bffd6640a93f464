"""RMSprop (Hinton, Lecture 6e of Neural Networks for Machine Learning, 2012)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .. import _C, _checks
from .optimizer import Optimizer, check_number

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """``v ← βv + (1−β)g²;  θ ← θ − α·g/√(v + ε)``  (the lecture: ε inside the root).

    ``eps_inside_sqrt=False`` is PyTorch's ``θ ← θ − α·g/(√v + ε)``. ``centered``
    divides by the estimated variance ``v − ḡ²`` (ḡ the running mean of g);
    ``momentum`` μ > 0 keeps ``b ← μb + g/d; θ ← θ − α·b``; ``weight_decay`` adds λθ to g.

    Args:
        params: Parameters or group dicts.
        lr: α >= 0.
        beta: β in [0, 1) (PyTorch's ``alpha``).
        eps: ε >= 0.
        eps_inside_sqrt: True (lecture) or False (PyTorch).
        weight_decay: λ >= 0.
        momentum: μ >= 0.
        centered: normalise by the variance instead of the second moment.
    """

    _torch_aliases = {"alpha": "beta"}  # PyTorch's name for β
    _state_names = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, params: Iterable[Any], lr: float = 0.01, beta: float = 0.99, eps: float = 1e-8,
                 eps_inside_sqrt: bool = True, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, {"lr": lr, "beta": beta, "eps": eps, "eps_inside_sqrt": eps_inside_sqrt,
                                  "weight_decay": weight_decay, "momentum": momentum, "centered": centered})

    def _validate(self, group: dict) -> None:
        check_number("RMSprop", "lr", group["lr"])
        check_number("RMSprop", "beta", group["beta"], 0.0, 1.0, high_open=True)
        check_number("RMSprop", "eps", group["eps"])
        check_number("RMSprop", "weight_decay", group["weight_decay"])
        check_number("RMSprop", "momentum", group["momentum"])
        _checks.flag("RMSprop", "centered", group["centered"])
        _checks.flag("RMSprop", "eps_inside_sqrt", group["eps_inside_sqrt"])

    def _buffer_names(self, group: dict) -> list[str]:
        names = ["square_avg"]
        if group["centered"]:
            names.append("grad_avg")
        if group["momentum"] != 0:
            names.append("momentum_buffer")
        return names

    def _step_group(self, group: dict, data: np.ndarray, grad: np.ndarray, state: dict, fresh: set[str]) -> None:
        _C.rmsprop_step(data, grad, state["square_avg"], state.get("grad_avg") if group["centered"] else None,
                        state.get("momentum_buffer") if group["momentum"] != 0 else None, float(group["lr"]),
                        float(group["beta"]), float(group["eps"]), float(group["weight_decay"]),
                        float(group["momentum"]), bool(group["centered"]), bool(group["eps_inside_sqrt"]))
