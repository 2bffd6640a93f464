"""Learning-rate schedules, each a pure function of the step (optax's view) behind PyTorch's interface.

Every scheduler sets ``param_groups[i]["lr"]`` on ``step()``, returns the rates
in force from ``get_last_lr()``, and answers ``lr_at(k)``: the rate in force
after k calls of ``step()`` (``lr_at(0)`` is the initial one), without touching
the optimizer, so a schedule can be plotted before training. Constructor
arguments are PyTorch's; the values agree with ``torch.optim.lr_scheduler``.
"""
from __future__ import annotations

import inspect

import math
from bisect import bisect_right
from typing import Callable, Optional, Sequence, Union, cast

from .. import _checks
from .optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR", "ExponentialLR", "LRScheduler", "LinearLR",
           "MultiStepLR", "OneCycleLR", "PolynomialLR", "ReduceLROnPlateau", "SWACyclicLR", "SequentialLR", "StepLR"]


def _per_group(who: str, name: str, optimizer: Optimizer, value: Union[float, Sequence[float]]) -> list[float]:
    """One value per parameter group, from a scalar or a list."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{who}: {name} has {len(value)} values for {n} parameter groups")
        values = [float(v) for v in value]
    else:
        values = [float(cast(float, value))] * n  # any other sequence: float() raises
    for v in values:
        if not v >= 0:
            raise ValueError(f"{who}: {name} must be >= 0, got {v!r}")
    return values


def _set_momentum(group: dict, m: float, use_beta1: bool) -> None:
    """Set a group's momentum, or Adam's β₁, to m (the schedules that cycle momentum against the rate)."""
    if use_beta1:
        group["betas"] = (m, *group["betas"][1:])
    else:
        group["momentum"] = m


class LRScheduler:
    """Base: ``step()`` counts, ``_lrs(k)`` (a pure function of k) gives each group's rate.

    Args:
        optimizer: the optimizer whose ``param_groups[i]["lr"]`` this sets.
        last_epoch: the step to start from (-1: a fresh schedule, as PyTorch).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{type(self).__name__}: expected an optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [float(g["initial_lr"]) for g in optimizer.param_groups]
        self.last_epoch = last_epoch + 1
        self._apply(self.last_epoch)

    def _lrs(self, k: int) -> list[float]:
        raise NotImplementedError

    def __repr__(self) -> str:
        """The constructor's hyper-parameters, the step count and the rates: ``StepLR(step_size=10, gamma=0.1; …)``."""
        names = inspect.signature(type(self).__init__).parameters
        hyper = [f"{n}={getattr(self, n)!r}" for n in names if n not in ("self", "optimizer", "last_epoch")
                 and hasattr(self, n) and not callable(getattr(self, n))]
        rates = ", ".join(f"{lr:g}" for lr in self.get_last_lr())
        return f"{type(self).__name__}({', '.join(hyper)}{'; ' if hyper else ''}step {self.last_epoch}, lr {rates})"

    def _apply(self, k: int) -> None:
        self._last_lr = self._lrs(k)
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def step(self) -> None:
        """Advance one step and set every group's ``lr``."""
        self.last_epoch += 1
        self._apply(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group set by the last ``step()`` (or the constructor)."""
        return list(self._last_lr)

    def lr_at(self, k: int, group: int = 0) -> float:
        """The learning rate of ``group`` after ``k`` calls of ``step()``; a pure function."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"{type(self).__name__}.lr_at: k must be an integer >= 0, got {k!r}")
        return self._lrs(k)[group]

    def state_dict(self) -> dict:
        """Everything but the optimizer."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedulers")}

    def load_state_dict(self, state: dict) -> None:
        self.__dict__.update(state)


class StepLR(LRScheduler):
    """``α_k = α₀·γ^⌊k/step_size⌋``: constant by periods."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = _checks.integer("StepLR", "step_size", step_size)
        self.gamma = _checks.number("StepLR", "gamma", gamma, low=0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def _lrs(self, k: int) -> list[float]:
        return [b * self.gamma ** (k // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """``α_k = α₀·γ^(number of milestones <= k)``."""

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = sorted(_checks.integer("MultiStepLR", "each milestone", m, 0) for m in milestones)
        self.gamma = _checks.number("MultiStepLR", "gamma", gamma, low=0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def _lrs(self, k: int) -> list[float]:
        return [b * self.gamma ** bisect_right(self.milestones, k) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """``α_k = α₀·γᵏ``: exponential decay."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _checks.number("ExponentialLR", "gamma", gamma, low=0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def _lrs(self, k: int) -> list[float]:
        return [b * self.gamma ** k for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """``α_k = α₀·(1 − min(k, T)/T)^power``: polynomial decay to 0 in T steps."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = _checks.integer("PolynomialLR", "total_iters", total_iters)
        self.power = _checks.number("PolynomialLR", "power", power, low=0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def _lrs(self, k: int) -> list[float]:
        f = (1.0 - min(k, self.total_iters) / self.total_iters) ** self.power
        return [b * f for b in self.base_lrs]


class LinearLR(LRScheduler):
    """``α_k = α₀·(s + (e − s)·min(k, T)/T)``: linear warm-up (or decay) over T steps."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = _checks.integer("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def _lrs(self, k: int) -> list[float]:
        f = self.start_factor + (self.end_factor - self.start_factor) * min(k, self.total_iters) / self.total_iters
        return [b * f for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov & Hutter 2017, without restarts): ``α_k = η_min + (α₀ − η_min)(1 + cos(πk/T_max))/2``.

    The rate falls from α₀ to η_min in T_max steps (PyTorch's closed form; past T_max the
    cosine goes on, back up).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = _checks.integer("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = _checks.number("CosineAnnealingLR", "eta_min", eta_min, low=0.0)
        super().__init__(optimizer, last_epoch)

    def _lrs(self, k: int) -> list[float]:
        c = (1 + math.cos(math.pi * k / self.T_max)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter 2017): ``α = η_min + (α₀ − η_min)(1 + cos(π·T_cur/T_i))/2``.

    T_cur counts the steps since the last restart; the i-th period lasts
    ``T_i = T_0·T_multⁱ`` steps.
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_0 = _checks.integer("CosineAnnealingWarmRestarts", "T_0", T_0)
        self.T_mult = _checks.integer("CosineAnnealingWarmRestarts", "T_mult", T_mult)
        if not eta_min >= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: eta_min must be >= 0, got {eta_min!r}")
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def _lrs(self, k: int) -> list[float]:
        t_cur, t_i = k, self.T_0
        if self.T_mult == 1:
            t_cur = k % t_i
        else:
            while t_cur >= t_i:
                t_cur -= t_i
                t_i *= self.T_mult
        c = (1 + math.cos(math.pi * t_cur / t_i)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith 2017): α goes base_lr → max_lr in ``step_size_up`` steps and back.

    ``α = base + (max − base)·h(k)·scale``, h the triangle wave; scale is 1
    (``triangular``), ``1/2^(cycle−1)`` (``triangular2``) or ``γᵏ`` (``exp_range``).
    With ``cycle_momentum`` the momentum (or β₁) moves the other way, between
    ``max_momentum`` and ``base_momentum``. Sets each group's lr to ``base_lr`` at start.
    """

    def __init__(self, optimizer: Optimizer, base_lr: Union[float, Sequence[float]],
                 max_lr: Union[float, Sequence[float]], step_size_up: int = 2000, step_size_down: Optional[int] = None,
                 mode: str = "triangular", gamma: float = 1.0, scale_fn: Optional[Callable[[float], float]] = None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True, base_momentum: float = 0.8,
                 max_momentum: float = 0.9, last_epoch: int = -1) -> None:
        who = "CyclicLR"
        base_lrs = _per_group(who, "base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
        self.cyclic_base_lrs = base_lrs
        self.max_lrs = _per_group(who, "max_lr", optimizer, max_lr)
        up = float(_checks.integer(who, "step_size_up", step_size_up))
        down = float(_checks.integer(who, "step_size_down", step_size_down)) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range', got {mode!r}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        self.mode, self.gamma = mode, _checks.number(who, "gamma", gamma, low=0.0, low_open=True)
        if scale_fn is not None:
            self.scale_fn, self.scale_mode = scale_fn, scale_mode
        else:  # a method, not a lambda: the scheduler pickles
            self.scale_fn, self.scale_mode = self._mode_scale, "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            groups = optimizer.param_groups
            if not all("momentum" in g or "betas" in g for g in groups):
                raise ValueError("CyclicLR: cycle_momentum=True needs an optimizer with momentum or betas "
                                 "(pass cycle_momentum=False)")
            self.use_beta1 = "betas" in groups[0]
            self.base_momentums = _per_group(who, "base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group(who, "max_momentum", optimizer, max_momentum)
        super().__init__(optimizer, last_epoch)

    def _mode_scale(self, x: float) -> float:
        """The amplitude scale of the built-in modes: 1, 1/2^(cycle−1), or γ^k."""
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def _scale(self, k: int) -> tuple[float, float]:
        """(triangle height in [0, 1], amplitude scale) at step k."""
        cycle = math.floor(1 + k / self.total_size)
        x = 1.0 + k / self.total_size - cycle
        h = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        return h, self.scale_fn(cycle if self.scale_mode == "cycle" else k)

    def _lrs(self, k: int) -> list[float]:
        h, s = self._scale(k)
        return [b + (m - b) * h * s for b, m in zip(self.cyclic_base_lrs, self.max_lrs)]

    def momentum_at(self, k: int, group: int = 0) -> float:
        """The momentum (or β₁) of ``group`` after k steps, when ``cycle_momentum``."""
        h, s = self._scale(k)
        return self.max_momentums[group] - (self.max_momentums[group] - self.base_momentums[group]) * h * s

    def _apply(self, k: int) -> None:
        super()._apply(k)
        if self.cycle_momentum:
            for i, group in enumerate(self.optimizer.param_groups):
                _set_momentum(group, self.momentum_at(k, i), self.use_beta1)


class SWACyclicLR(LRScheduler):
    """The cyclic schedule of SWA (Izmailov et al. 2018): linear decay α₁ → α₂ within each cycle of c steps.

    ``α(i) = (1 − t(i))·α₁ + t(i)·α₂,  t(i) = (((i − 1) mod c) + 1)/c`` for the
    i-th update (i = 1, 2, …), so ``lr_at(k) = α(k + 1)``: each cycle ends at
    α₂, where the paper takes the SWA sample, and restarts one step below α₁.
    """

    def __init__(self, optimizer: Optimizer, lr_max: float, lr_min: float, cycle: int, last_epoch: int = -1) -> None:
        if not 0 <= lr_min <= lr_max:
            raise ValueError(f"SWACyclicLR: need 0 <= lr_min <= lr_max, got lr_min={lr_min!r}, lr_max={lr_max!r}")
        self.lr_max, self.lr_min = float(lr_max), float(lr_min)
        self.cycle = _checks.integer("SWACyclicLR", "cycle", cycle)
        super().__init__(optimizer, last_epoch)

    def _lrs(self, k: int) -> list[float]:
        t = (k % self.cycle + 1) / self.cycle
        return [(1 - t) * self.lr_max + t * self.lr_min] * len(self.base_lrs)


class SequentialLR(LRScheduler):
    """Chains schedulers: ``schedulers[j]`` runs from ``milestones[j−1]`` on, restarted at its own step 0."""

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        if not schedulers:
            raise ValueError("SequentialLR: expects at least one scheduler")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expects len(schedulers) - 1 milestones, got {len(milestones)} "
                             f"for {len(schedulers)} schedulers")
        for s in schedulers:
            if getattr(s, "optimizer", None) is not optimizer:
                raise ValueError("SequentialLR: every scheduler must belong to the optimizer given")
        if list(milestones) != sorted(milestones):
            raise ValueError(f"SequentialLR: milestones must be increasing, got {list(milestones)}")
        self.schedulers = list(schedulers)
        self.milestones = [_checks.integer("SequentialLR", "each milestone", m) for m in milestones]
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        super().__init__(optimizer, last_epoch)

    def _child(self, k: int) -> tuple[LRScheduler, int]:
        j = bisect_right(self.milestones, k)
        return self.schedulers[j], k - (self.milestones[j - 1] if j > 0 else 0)

    def _lrs(self, k: int) -> list[float]:
        child, local = self._child(k)
        return child._lrs(local)

    def _apply(self, k: int) -> None:
        child, local = self._child(k)
        child._apply(local)
        self._last_lr = child.get_last_lr()


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2017): warm up from max_lr/div_factor to max_lr, anneal to the minimum.

    Phases (PyTorch's): up to ``pct_start·T − 1`` from ``max_lr/div_factor`` to ``max_lr``,
    then to ``initial/final_div_factor`` at step T − 1 (``three_phase``: back to the
    initial rate at ``2·pct_start·T − 2`` first); each by ``anneal_strategy`` "cos"
    (``end + (start − end)(1 + cos πp)/2``) or "linear". With ``cycle_momentum`` the momentum
    (or β₁) goes the other way between ``max_momentum`` and ``base_momentum``. Stepped
    once per batch in PyTorch; ``fit`` steps once per epoch, so count T in epochs there.

    Args:
        optimizer: The optimizer.
        max_lr: The peak rate (one per group or one for all).
        total_steps: T; or give ``epochs`` and ``steps_per_epoch``.
    """

    def __init__(self, optimizer: Optimizer, max_lr: Union[float, Sequence[float]], total_steps: Optional[int] = None,
                 epochs: Optional[int] = None, steps_per_epoch: Optional[int] = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1) -> None:
        who = "OneCycleLR"
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError(f"{who}: give total_steps, or epochs and steps_per_epoch")
            total_steps = _checks.integer(who, "epochs", epochs) * _checks.integer(who, "steps_per_epoch",
                                                                                 steps_per_epoch)
        self.total_steps = _checks.integer(who, "total_steps", total_steps)
        pct_start = _checks.number(who, "pct_start", pct_start, 0.0, 1.0, low_open=True, high_open=True)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{who}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        max_lrs = _per_group(who, "max_lr", optimizer, max_lr)
        div = _checks.number(who, "div_factor", div_factor, low=0.0, low_open=True)
        final_div = _checks.number(who, "final_div_factor", final_div_factor, low=0.0, low_open=True)
        self.initial_lrs = [m / div for m in max_lrs]
        self.max_lrs = max_lrs
        self.min_lrs = [i / final_div for i in self.initial_lrs]
        T = float(self.total_steps)
        if three_phase:  # (end step, start key, end key)
            self.phases = [(pct_start * T - 1, "initial", "max"), (2 * pct_start * T - 2, "max", "initial"),
                           (T - 1, "initial", "min")]
        else:
            self.phases = [(pct_start * T - 1, "initial", "max"), (T - 1, "max", "min")]
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if not all("momentum" in g or "betas" in g for g in optimizer.param_groups):
                raise ValueError(f"{who}: cycle_momentum=True needs an optimizer with momentum or betas "
                                 "(pass cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.param_groups[0]
            self.base_momentums = _per_group(who, "base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group(who, "max_momentum", optimizer, max_momentum)
        for group, lr in zip(optimizer.param_groups, self.initial_lrs):
            group["initial_lr"] = lr
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _phase(self, k: int) -> tuple[str, str, float]:
        if k > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {k} times, more than total_steps = {self.total_steps}")
        start = 0.0
        for i, (end, a, b) in enumerate(self.phases):
            if k <= end or i == len(self.phases) - 1:
                return a, b, (k - start) / (end - start)
            start = end
        raise AssertionError("unreachable")

    def _lrs(self, k: int) -> list[float]:
        a, b, pct = self._phase(k)
        table = {"initial": self.initial_lrs, "max": self.max_lrs, "min": self.min_lrs}
        return [self._anneal(table[a][g], table[b][g], pct) for g in range(len(self.max_lrs))]

    def _apply(self, k: int) -> None:
        super()._apply(k)
        if self.cycle_momentum:
            a, b, pct = self._phase(k)
            for g, group in enumerate(self.optimizer.param_groups):
                table = {"initial": self.max_momentums[g], "max": self.base_momentums[g], "min": self.max_momentums[g]}
                _set_momentum(group, self._anneal(table[a], table[b], pct), self.use_beta1)


class ReduceLROnPlateau:
    """Divides the rate by ``1/factor`` when a metric has stopped improving for ``patience`` steps (PyTorch's).

    ``step(metric)`` after each epoch: the metric improves when it beats the best by
    ``threshold`` (relative: ``best·(1 ∓ threshold)``, or absolute); after more than
    ``patience`` steps without an improvement each group's rate becomes
    ``max(lr·factor, min_lr)`` and ``cooldown`` steps pass before counting again. ``fit``
    passes it the epoch's ``monitor`` value (``val_loss`` by default).

    Args:
        optimizer: The optimizer.
        mode: "min" (a loss) or "max" (an accuracy).
        factor: Multiplier of the rate, in (0, 1).
        patience: Steps without improvement tolerated.
        threshold, threshold_mode: What counts as an improvement ("rel" or "abs").
        cooldown: Steps to wait after a reduction.
        min_lr: Lowest rate (one per group or one for all).
        eps: A reduction smaller than this is skipped.
        monitor: The epoch-log key ``fit`` passes to ``step``.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: Union[float, Sequence[float]] = 0.0, eps: float = 1e-8, monitor: str = "val_loss") -> None:
        who = "ReduceLROnPlateau"
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{who}: expected an optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{who}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{who}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.optimizer = optimizer
        self.mode, self.threshold_mode, self.monitor = mode, threshold_mode, monitor
        self.factor = _checks.number(who, "factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.patience = _checks.integer(who, "patience", patience, low=0)
        self.threshold = _checks.number(who, "threshold", threshold, low=0.0)
        self.cooldown = _checks.integer(who, "cooldown", cooldown, low=0)
        self.min_lrs = _per_group(who, "min_lr", optimizer, min_lr)
        self.eps = _checks.number(who, "eps", eps, low=0.0)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [float(g["lr"]) for g in optimizer.param_groups]
        self._history = [list(self._last_lr)]

    def _is_better(self, a: float) -> bool:
        if self.mode == "min":
            return a < (self.best * (1 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold)
        return a > (self.best * (1 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold)

    def step(self, metrics: float) -> None:
        """Take the epoch's metric; reduce the rates after ``patience`` steps without improvement."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, low)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [float(g["lr"]) for g in self.optimizer.param_groups]
        self._history.append(list(self._last_lr))

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group after the last ``step``."""
        return list(self._last_lr)

    def lr_at(self, k: int, group: int = 0) -> float:
        """The rate after k steps, for the steps taken so far (it depends on the metrics, not on k alone)."""
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= self.last_epoch:
            raise ValueError(f"ReduceLROnPlateau.lr_at: k must be an integer in [0, {self.last_epoch}] (the steps "
                             f"taken: the rate depends on the metrics), got {k!r}")
        return self._history[k][group]

    def state_dict(self) -> dict:
        """Everything but the optimizer."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict) -> None:
        self.__dict__.update(state)
