"""Adam (Kingma & Ba 2015), with AMSGrad (Reddi et al. 2018), and AdamW (Loshchilov & Hutter 2019)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .. import _C, _checks
from .optimizer import Optimizer, check_number

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """``m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − α·m̂/(√v̂ + ε)``,
    ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``.

    ``weight_decay`` λ adds λθ to g (L2, as ``torch.optim.Adam``); ``amsgrad``
    uses the running maximum of v. The bias corrections are computed once per
    step in double.

    Args:
        params: Parameters or group dicts.
        lr: α >= 0.
        betas: (β₁, β₂), each in [0, 1).
        eps: ε >= 0.
        weight_decay: λ >= 0.
        amsgrad: keep max(v) and divide by it.
    """

    _decoupled = False
    _torch_fixed = {"decoupled_weight_decay": False}
    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad})

    def _validate(self, group: dict) -> None:
        who = type(self).__name__
        check_number(who, "lr", group["lr"])
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{who}: betas must be a pair (beta1, beta2), got {betas!r}")
        check_number(who, "betas[0]", betas[0], 0.0, 1.0, high_open=True)
        check_number(who, "betas[1]", betas[1], 0.0, 1.0, high_open=True)
        check_number(who, "eps", group["eps"])
        check_number(who, "weight_decay", group["weight_decay"])
        _checks.flag(who, "amsgrad", group["amsgrad"])

    def _buffer_names(self, group: dict) -> list[str]:
        return ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if group["amsgrad"] else [])

    def _step_group(self, group: dict, data: np.ndarray, grad: np.ndarray, state: dict, fresh: set[str]) -> None:
        beta1, beta2 = group["betas"]
        _C.adam_step(data, grad, state["exp_avg"], state["exp_avg_sq"],
                     state["max_exp_avg_sq"] if group["amsgrad"] else None, float(group["lr"]), float(beta1),
                     float(beta2), float(group["eps"]), float(group["weight_decay"]), state["step"], self._decoupled)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``θ ← θ(1 − αλ)`` before the Adam update (as ``torch.optim.AdamW``).

    Args as :class:`Adam`; ``weight_decay`` defaults to 0.01.
    """

    _decoupled = True
    _torch_fixed = {"decoupled_weight_decay": True}

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
