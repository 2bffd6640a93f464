"""Optimizer base: parameter groups, per-group hyper-parameters, validation."""
from __future__ import annotations

from typing import Any, Iterable

from ..nn.module import Parameter


class Optimizer:
    """Holds ``param_groups`` (a list of dicts with ``params`` and hyper-parameters).

    Args:
        params: a list of Parameters, or a list of dicts ``{"params": [...], "lr": ...}``
            whose missing hyper-parameters are taken from ``defaults``.
        defaults: the optimizer's hyper-parameters.
    """

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        seen: set[int] = set()
        for g in groups:
            if not isinstance(g, dict):
                raise TypeError(f"{type(self).__name__}: mix of Parameters and group dicts in params")
            group = {**self.defaults, **g}
            group["params"] = list(g.get("params", []))
            for p in group["params"]:
                if not isinstance(p, Parameter):
                    raise TypeError(f"{type(self).__name__}: params must be Parameters, got {type(p).__name__}")
                if id(p) in seen:
                    raise ValueError(f"{type(self).__name__}: parameter {p.name!r} appears in more than one group")
                seen.add(id(p))
            self._validate(group)
            self.param_groups.append(group)

    def _validate(self, group: dict) -> None:
        lr = group.get("lr")
        if not isinstance(lr, (int, float)) or not lr >= 0:
            raise ValueError(f"{type(self).__name__}: lr must be a number >= 0, got {lr!r}")

    def zero_grad(self) -> None:
        """Set every gradient to zero, in place."""
        for g in self.param_groups:
            for p in g["params"]:
                p.grad.fill(0)

    def step(self) -> None:
        raise NotImplementedError
