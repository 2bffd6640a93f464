"""Regularizers that ``fit(..., regularizers=[...])`` drives: norm penalties and noise.

``L1`` and ``L2`` add a penalty Ω(w) to the loss (value and gradient in one C pass);
``WeightNoise`` evaluates the gradient at perturbed parameters; ``TargetNoise``
perturbs regression targets. The lecture's three places for noise are then: inputs
and hidden units (``nn.GaussianNoise``), outputs (``nn.CrossEntropyLoss(label_smoothing=…)``
for classes, ``TargetNoise`` for regression targets) and parameters (``WeightNoise``).

The protocol. A regularizer is a ``Regularizer`` (or any object with ``penalty``);
``fit`` calls its hooks once per training step, in this order::

    optimizer.zero_grad()
    r.before_forward(params)     # every regularizer, in list order (WeightNoise: θ ← θ + ε)
    yb = r.transform_target(yb)  # every regularizer, in list order (TargetNoise: y ← y + ε)
    forward, loss, backward      # the gradient at the perturbed θ, on the perturbed targets
    r.after_backward(params)     # in reverse order, also after an error (WeightNoise: θ ← the clean θ)
    loss += r.penalty(params)    # in list order: value added to the loss, gradient to each p.grad
    clip_grad_norm_, optimizer.step()

``params`` is ``model.parameters()``. Penalties therefore see the clean parameters and
their gradients are added before clipping. Every hook of the base class does nothing.

Which parameters: by default weights only, the parameters with two or more dimensions
(the matrices of ``Linear`` layers, the kernels of convolutions); biases and the γ, β of
batch and layer normalization (one dimension) are left alone. ``params=`` overrides it
with an explicit list of Parameters or a predicate ``(name, param) -> bool`` on the
parameter's ``.name`` (the attribute it was registered under: ``"weight"``, ``"bias"``).
A ``LayerNorm`` over several trailing dimensions has a weight of two or more dimensions:
exclude it with a predicate if it is in the model.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Optional, Union

import numpy as np

from . import _C, _checks, _random
from .nn.module import Parameter
from .optim.optimizer import flat_pairs, flat_segments

__all__ = ["Regularizer", "L1", "L2", "WeightNoise", "TargetNoise", "is_weight"]

Selection = Union[None, Iterable[Parameter], Callable[[str, Parameter], bool]]


def is_weight(name: str, param: Parameter) -> bool:
    """The default selection: a parameter with two or more dimensions (a weight matrix or kernel)."""
    return len(param.shape) >= 2


class Regularizer:
    """Base class: the hooks ``fit`` calls each training step (see the module's docstring), all no-ops."""

    def before_forward(self, params: list[Parameter]) -> None:
        """Called before the forward pass."""

    def transform_target(self, y: np.ndarray) -> np.ndarray:
        """The targets the loss sees this step; the base returns ``y`` itself."""
        return y

    def after_backward(self, params: list[Parameter]) -> None:
        """Called after the backward pass, before the penalties."""

    def penalty(self, params: list[Parameter]) -> float:
        """Adds ∂Ω/∂θ into each selected ``p.grad`` and returns Ω; the base adds nothing and returns 0."""
        return 0.0


class _OnParameters(Regularizer):
    """A regularizer acting on a selection of the parameters (see the module's docstring)."""

    def __init__(self, params: Selection) -> None:
        who = type(self).__name__
        self._explicit: Optional[list[Parameter]] = None
        self._predicate: Callable[[str, Parameter], bool] = is_weight
        if callable(params):
            self._predicate = params
        elif params is not None:
            if isinstance(params, (Parameter, np.ndarray)) or not isinstance(params, Iterable):
                raise TypeError(f"{who}: params must be a list of Parameters, a function (name, param) -> bool "
                                f"or None, got {type(params).__name__}")
            self._explicit = list(params)
            for p in self._explicit:
                if not isinstance(p, Parameter):
                    raise TypeError(f"{who}: params must hold Parameters, got {type(p).__name__}")
            if not self._explicit:
                raise ValueError(f"{who}: params is an empty list")
        self._cache: dict = {}

    def selected(self, params: Iterable[Parameter]) -> list[Parameter]:
        """The parameters this regularizer acts on, out of ``params`` (an explicit list replaces them)."""
        if self._explicit is not None:
            return self._explicit
        chosen = [p for p in params if self._predicate(p.name or "", p)]
        if not chosen:
            rule = "the predicate given" if self._predicate is not is_weight else \
                "weights, parameters with 2 or more dimensions"
            raise ValueError(f"{type(self).__name__}: no parameter selected ({rule}); pass params= to choose them")
        return chosen


class _Penalty(_OnParameters):
    """A norm penalty on the selected parameters, value and gradient from one C kernel per run."""

    _kernel: Callable[[np.ndarray, np.ndarray, float], float]

    def __init__(self, lam: float, params: Selection = None) -> None:
        super().__init__(params)
        self.lam = _checks.number(type(self).__name__, "lam", lam, low=0.0)

    def penalty(self, params: Iterable[Parameter]) -> float:
        """Adds ∂Ω/∂w into the selected weights' ``.grad`` and returns Ω (a float)."""
        total = 0.0
        for w, g in flat_pairs(self.selected(params), self._cache):
            total += self._kernel(w, g, self.lam)
        return total

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lam={self.lam:g})"


class L2(_Penalty):
    """The lecture's L2 penalty: ``Ω(w) = λ/2·‖w‖² = λ/2·Σ w²``, gradient ``∂Ω/∂w = λw``.

    Value and gradient come from one C pass over each run of selected weights that lie
    side by side in the optimizer's flat buffer (``functional.l2_penalty``): put the
    weights in a parameter group of their own and the run is one call.

    Relation to ``weight_decay``: the gradient λw is exactly what an optimizer's
    ``weight_decay=λ`` adds to g before its update. So for SGD (with or without momentum)
    and for Adam, ``L2(λ)`` gives the same steps as ``weight_decay=λ`` on the same
    parameters; the difference is that ``L2`` also reports Ω in the loss and by default
    spares biases and normalization parameters. It is not AdamW's decoupled decay
    ``θ ← θ(1 − αλ)``: in Adam, λw passes through the division by √v̂, so weights with
    large gradients decay less; AdamW shrinks every weight by the same factor
    (Loshchilov & Hutter 2019).

    Args:
        lam: λ >= 0.
        params: None (weights only), a list of Parameters, or a predicate
            ``(name, param) -> bool``.

    Example:
        >>> fit(model, loss_fn, opt, train, regularizers=[regularizers.L2(1e-3)])
    """

    _kernel = staticmethod(_C.l2_penalty)


class L1(_Penalty):
    """L1 penalty: ``Ω(w) = λ·‖w‖₁ = λ·Σ |w|``, subgradient ``λ·sign(w)`` (0 at w = 0).

    It drives small weights to exactly zero (sparse weights). The lecture writes the
    penalty as ``λ/2·‖w‖₁`` with gradient ``λ/2·sign(w)``: that is ``L1(λ/2)`` here.
    Value and gradient come from one C pass (``functional.l1_penalty``).

    Args:
        lam: λ >= 0.
        params: None (weights only), a list of Parameters, or a predicate
            ``(name, param) -> bool``.
    """

    _kernel = staticmethod(_C.l1_penalty)


class WeightNoise(_OnParameters):
    """Noise on the parameters: the gradient is evaluated at ``θ + ε``, ``ε ~ N(0, σ²)``,
    and the update is applied to the clean θ (Graves 2011; the lecture's noise on weights).

    ``before_forward`` keeps a copy of the selected parameters and writes ``θ + ε`` over
    them, with a fresh ε each step from the seeded generator (``pydtrain.seed``);
    ``after_backward`` copies the clean θ back, bit for bit, so the optimizer steps from
    θ with the gradient ``g(θ + ε)``. ``std=0`` draws nothing and changes nothing.

    Args:
        std: σ >= 0.
        params: None (weights only), a list of Parameters, or a predicate
            ``(name, param) -> bool``.
    """

    def __init__(self, std: float, params: Selection = None) -> None:
        super().__init__(params)
        self.std = _checks.number(type(self).__name__, "std", std, low=0.0)
        self._copies: list[np.ndarray] = []                      # buffers for θ, kept between steps
        self._perturbed: list[tuple[np.ndarray, np.ndarray]] = []  # (θ + ε in place, clean θ) this step

    def before_forward(self, params: list[Parameter]) -> None:
        """Saves θ and writes θ + ε over the selected parameters."""
        if self.std == 0.0:
            return
        segments = flat_segments([p.data for p in self.selected(params)], self._cache)
        if [(c.shape, c.dtype) for c in self._copies] != [(w.shape, w.dtype) for w in segments]:
            self._copies = [np.empty_like(w) for w in segments]
        for w, copy in zip(segments, self._copies):
            np.copyto(copy, w)
            seed, offset = _random.take(w.size)
            _C.gaussian_noise_forward(copy, seed, offset, self.std, w)
        self._perturbed = list(zip(segments, self._copies))

    def after_backward(self, params: list[Parameter]) -> None:
        """Copies the clean θ back."""
        for w, copy in self._perturbed:
            np.copyto(w, copy)
        self._perturbed = []

    def __repr__(self) -> str:
        return f"WeightNoise(std={self.std:g})"


class TargetNoise(Regularizer):
    """Gaussian noise on regression targets, ``ỹ = y + ε``, ``ε ~ N(0, σ²)`` drawn fresh for each
    training batch from the seeded generator (the lecture's noise at the outputs; for class
    labels use label smoothing instead). Validation and ``evaluate`` see the clean targets.

    Args:
        std: σ >= 0; 0 draws nothing.
    """

    def __init__(self, std: float) -> None:
        self.std = _checks.number("TargetNoise", "std", std, low=0.0)

    def transform_target(self, y: np.ndarray) -> np.ndarray:
        """A new array ``y + ε`` (``y`` itself when σ = 0)."""
        if not isinstance(y, np.ndarray) or y.dtype not in (np.float32, np.float64):
            got = y.dtype if isinstance(y, np.ndarray) else type(y).__name__
            raise TypeError(f"TargetNoise: targets must be a float32 or float64 array (regression), got {got}; "
                            "for class labels use CrossEntropyLoss(label_smoothing=...)")
        if self.std == 0.0:
            return y
        seed, offset = _random.take(y.size)
        return _C.gaussian_noise_forward(np.ascontiguousarray(y), seed, offset, self.std, None)

    def __repr__(self) -> str:
        return f"TargetNoise(std={self.std:g})"
