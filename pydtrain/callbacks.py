"""Callbacks: code that ``pydtrain.train.fit`` runs at fixed points of training.

Subclass ``Callback`` and override the hooks you need; pass instances to
``fit(..., callbacks=[...])``. ``fit`` calls the hooks in this order::

    on_train_begin(trainer)
    for each epoch:
        on_epoch_begin(epoch)
        for each batch: (forward, backward, step) then on_batch_end(batch, logs)
        (validation) then on_epoch_end(epoch, logs)
    on_train_end()

A callback stops training by setting ``self.trainer.stop_training = True``: the current
epoch ends after the running batch (validation, history and ``on_epoch_end`` still
happen) and no new epoch starts. ``EarlyStopping`` does so when a validation loss or
metric stops improving, and puts the best weights back.

Monitors record what the lecture draws: ``GradientMonitor`` (per-parameter gradient
and weight norms and update-to-weight ratios each step: vanishing and exploding
gradients), ``ActivationMonitor`` (per-layer activation statistics on a fixed probe
batch: dead ReLUs, saturated tanh/sigmoid) and ``LearningRateMonitor``;
``pydtrain.plot`` draws them. ``ModelCheckpoint`` saves the model as training goes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _C, _checks
from ._checkpoint import save_checkpoint
from .nn import Sequential, Sigmoid, Tanh

if TYPE_CHECKING:
    from .train import Trainer

__all__ = ["ActivationMonitor", "Callback", "EarlyStopping", "GradientMonitor", "LearningRateMonitor", "ModelCheckpoint"]


class Callback:
    """Base class of the callbacks; every hook does nothing unless overridden.

    Epochs and batches are counted from 0, so ``epoch`` indexes the lists of
    ``trainer.history.history``; ``trainer.step`` counts the optimizer steps taken so
    far over the whole run.

    Attributes:
        trainer: The running ``Trainer`` (model, optimizer, history, ``stop_training``),
            set by ``fit`` before ``on_train_begin``; None outside of ``fit``.
    """

    trainer: Trainer | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        """Called once before the first epoch."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Called at the start of epoch ``epoch`` (0-based), before its first batch."""

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        """Called after each optimizer step.

        Args:
            batch: Index of the batch within the epoch (0-based).
            logs: ``loss`` of the batch (with regularization penalties), ``batch_size``,
                and the batch's metrics (e.g. ``accuracy``). Gradients are still in
                each parameter's ``.grad`` (after clipping).
        """

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Called at the end of each epoch, after validation.

        Args:
            epoch: Index of the epoch (0-based).
            logs: The epoch's values as recorded in the history: ``loss``, metrics,
                ``val_loss`` and ``val_<metric>`` when there is validation data, ``lr``.
        """

    def on_train_end(self) -> None:
        """Called once after the last epoch (also after an early stop)."""


def _infer_mode(monitor: str) -> str | None:
    """"max" for accuracies, "min" for losses (Keras' rule); None when the name says neither."""
    if monitor.endswith(("acc", "accuracy", "auc")):
        return "max"
    if "loss" in monitor:
        return "min"
    return None


class EarlyStopping(Callback):
    """Stops training when a monitored quantity has stopped improving, and keeps the best weights.

    After each epoch the monitored value (e.g. ``val_loss``) is compared with the best so
    far: it improves when it is lower by more than ``min_delta`` (``mode="min"``) or higher
    by more than ``min_delta`` (``mode="max"``). After ``patience`` epochs in a row without
    an improvement, training stops. With ``restore_best_weights`` the model gets the
    weights (and buffers, e.g. batch-norm statistics) of its best epoch back when training
    ends, whether it stopped early or ran to the last epoch ("usually the model with the
    best validation score is chosen"). Keras' semantics, attribute for attribute.

    Args:
        monitor: A key of the epoch logs: ``"val_loss"``, ``"val_accuracy"``, ``"loss"``…
        patience: Epochs without improvement before stopping, an integer >= 0.
        min_delta: Smallest change that counts as an improvement, >= 0.
        mode: ``"min"``, ``"max"``, or ``"auto"``: max for names ending in ``acc``,
            ``accuracy`` or ``auc``, min for names containing ``loss``.
        restore_best_weights: Load the best epoch's weights at the end of training.
        start_from_epoch: Epochs (counted from 0) to let pass before watching starts.

    Attributes:
        best: The best monitored value so far (±inf before the first watched epoch).
        best_epoch: The epoch (0-based) that gave ``best``.
        stopped_epoch: The epoch (0-based) after which training stopped, 0 if it did not stop early.
        wait: Epochs since the last improvement.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=10)
        >>> fit(model, loss_fn, opt, train, val=val, epochs=200, callbacks=[stop])
        >>> stop.best_epoch, stop.best
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True, start_from_epoch: int = 0) -> None:
        who = "EarlyStopping"
        if not isinstance(monitor, str):
            raise TypeError(f"{who}: monitor must be a string such as 'val_loss', got {type(monitor).__name__}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = _infer_mode(monitor)
            if mode is None:
                raise ValueError(f"{who}: cannot tell whether {monitor!r} should go down or up; "
                                 "pass mode='min' or mode='max'")
        if not isinstance(restore_best_weights, bool):
            raise TypeError(f"{who}: restore_best_weights must be True or False, got {restore_best_weights!r}")
        self.monitor = monitor
        self.patience = _checks.integer(who, "patience", patience, low=0)
        self.min_delta = _checks.number(who, "min_delta", min_delta, low=0.0)
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = _checks.integer(who, "start_from_epoch", start_from_epoch, low=0)
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.wait = 0
        self.best_weights: dict | None = None

    def _improves(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, trainer: Trainer) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            hint = " (pass val= to fit to get validation keys)" if self.monitor.startswith("val_") else ""
            raise ValueError(f"EarlyStopping: monitor {self.monitor!r} is not in the epoch logs; "
                             f"the keys are {', '.join(sorted(logs))}{hint}")
        if epoch < self.start_from_epoch:
            return
        value = float(logs[self.monitor])
        model = self.trainer.model
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = model.state_dict()  # no improvement ever: the first watched epoch's weights
            self.best_epoch = epoch
        self.wait += 1
        if self._improves(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = model.state_dict()
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.trainer.model.load_state_dict(self.best_weights)


def _layer_of(name: str) -> str:
    """The layer a parameter belongs to: its state_dict key without the last part ("0.weight" -> "0")."""
    return name.rpartition(".")[0] or name


class GradientMonitor(Callback):
    """Records, every ``every`` steps, each parameter's gradient norm, weight norm and update-to-weight ratio.

    ‖g‖₂, ‖θₜ‖₂ and ‖θₜ − θₜ₋₁‖₂/‖θₜ‖₂ per parameter, after the optimizer step (the
    gradient as the step used it, after clipping). Healthy training keeps the ratio
    near 1e-3 (Karpathy, CS231n); gradient norms that shrink layer by layer towards
    the input are vanishing gradients. Each quantity is one C reduction per group over
    the optimizer's flat buffers (one sum per parameter, no copies; the three in one C call,
    ``functional.segment_norms``); the ratio keeps one copy of the weights from the step
    before a recorded one.

    Args:
        every: Record every ``every``-th optimizer step, a positive integer.

    Attributes:
        names: The parameters' state_dict keys (``"0.weight"``), in the optimizer's order.
        steps: The step (1-based, counted over the ``fit`` run) of each record.
        grad_norms, weight_norms, update_ratios: Arrays of shape (records, parameters).

    Example:
        >>> mon = GradientMonitor()
        >>> fit(model, loss_fn, opt, train, callbacks=[mon])
        >>> mon.layer_norms()["0"]          # the first layer's gradient norm at each step
        >>> pydtrain.plot.grad_flow(mon)
    """

    def __init__(self, every: int = 1) -> None:
        self.every = _checks.integer("GradientMonitor", "every", every)
        self.names: list[str] = []
        self.steps: list[int] = []
        self._rows: list[np.ndarray] = []  # per record and group: (3, parameters) sums of squares

    def on_train_begin(self, trainer: Trainer) -> None:
        optimizer = trainer.optimizer
        if not hasattr(optimizer, "_arenas"):
            raise TypeError(f"GradientMonitor: needs a pydtrain optimizer, got {type(optimizer).__name__}")
        keys = {id(p): name for name, p in trainer.model.named_parameters()}
        self._groups = []
        self.names = []
        for group, (data, grad) in zip(optimizer.param_groups, optimizer._arenas):
            ends = np.cumsum([p.size for p in group["params"]], dtype=np.int64)
            self._groups.append((data, grad, ends, np.empty_like(data)))
            self.names += [keys.get(id(p), p.name or "?") for p in group["params"]]
        self.steps = []
        self._rows = []
        self._snapshot(0)

    def _snapshot(self, step: int) -> None:
        """Keep θ when the next step is recorded: its update is θ after it minus this."""
        if (step + 1) % self.every == 0:
            for data, _, _, previous in self._groups:
                np.copyto(previous, data)

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        step = self.trainer.step
        if step % self.every != 0:
            self._snapshot(step)
            return
        keep = (step + 1) % self.every == 0  # the update's pass also keeps θ for the next record
        for data, grad, ends, previous in self._groups:
            self._rows.append(_C.segment_norms(data, grad, previous, ends, keep))
        self.steps.append(step)

    def _array(self, kind: str) -> np.ndarray:
        """The sums of squares of ``kind``, one row per record (the groups' parts side by side)."""
        if not self._rows:
            return np.zeros((0, len(self.names)))
        row = ("grad", "weight", "update").index(kind)
        return np.concatenate([r[row] for r in self._rows]).reshape(len(self.steps), len(self.names))

    @property
    def grad_norms(self) -> np.ndarray:
        """‖g‖₂ of each parameter, shape (records, parameters)."""
        return np.sqrt(self._array("grad"))

    @property
    def weight_norms(self) -> np.ndarray:
        """‖θ‖₂ of each parameter after the step, shape (records, parameters)."""
        return np.sqrt(self._array("weight"))

    @property
    def update_ratios(self) -> np.ndarray:
        """‖θₜ − θₜ₋₁‖₂/‖θₜ‖₂ of each parameter, shape (records, parameters) (inf or NaN where θₜ = 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(self._array("update") / self._array("weight"))

    def layer_norms(self, kind: str = "grad") -> dict[str, np.ndarray]:
        """Per layer (state_dict prefix, e.g. ``"0"`` for ``"0.weight"`` and ``"0.bias"``), one value per record.

        Args:
            kind: ``"grad"`` (‖g‖₂ over the layer's parameters together), ``"weight"``
                (‖θ‖₂) or ``"update"`` (the layer's update-to-weight ratio).

        Returns:
            ``{layer: array (records,)}`` in the order of the parameters.
        """
        if kind not in ("grad", "weight", "update"):
            raise ValueError(f"GradientMonitor.layer_norms: kind must be 'grad', 'weight' or 'update', got {kind!r}")
        layers = [_layer_of(name) for name in self.names]
        out = {}
        for layer in dict.fromkeys(layers):
            cols = [i for i, name in enumerate(layers) if name == layer]
            sums = {k: self._array(k)[:, cols].sum(axis=1) for k in ("update", "weight", "grad")}
            with np.errstate(divide="ignore", invalid="ignore"):
                out[layer] = np.sqrt(sums["update"] / sums["weight"] if kind == "update" else sums[kind])
        return out


_SATURATED = 0.99  # |tanh| above this, sigmoid outside [1 − this, this]: the gradient is below ~2% of its peak


class ActivationMonitor(Callback):
    """Per-layer statistics of the activations on a fixed probe batch, before training and after each epoch.

    The model runs in ``eval()`` mode on ``probe`` (no dropout, population batch-norm
    statistics, no random draws, so training is unchanged) layer by layer through its
    ``Sequential`` children (nested ones are entered). Each layer's output gives its
    mean, standard deviation, fraction of exact zeros (dead ReLUs) and fraction of
    saturated units (|tanh| > 0.99; sigmoid < 0.01 or > 0.99; NaN for other layers).

    Args:
        probe: A batch of inputs, e.g. ``X_train[:256]``.

    Attributes:
        names: One label per layer, ``"<key> <Type>"`` (``"1 ReLU"``).
        epochs: The epoch after which each record was taken (0: before training).
        means, stds, zero_fractions, saturations: Arrays of shape (records, layers).
        values: Per record, the list of each layer's outputs (flattened copies) for histograms.
    """

    def __init__(self, probe: np.ndarray) -> None:
        if not isinstance(probe, np.ndarray):
            raise TypeError(f"ActivationMonitor: probe must be a numpy.ndarray batch, got {type(probe).__name__}")
        self.probe = probe
        self.names: list[str] = []
        self.epochs: list[int] = []
        self.values: list[list[np.ndarray]] = []
        self._stats: list[np.ndarray] = []

    @staticmethod
    def _layers(model: Any) -> list[tuple[str, Any]]:
        return model.flat_layers() if isinstance(model, Sequential) else [(type(model).__name__, model)]

    def _record(self, epoch: int) -> None:
        model = self.trainer.model
        was_training = model.training
        model.eval()
        try:
            x, values, stats = self.probe, [], []
            for _, layer in self._layers(model):
                x = layer(x)
                y = np.asarray(x, np.float64).ravel()
                if isinstance(layer, Tanh):
                    saturation = np.mean(np.abs(y) > _SATURATED)
                elif isinstance(layer, Sigmoid):
                    saturation = np.mean((y < 1 - _SATURATED) | (y > _SATURATED))
                else:
                    saturation = np.nan
                stats.append((y.mean(), y.std(), np.mean(y == 0), saturation))
                values.append(y)
        finally:
            model.train(was_training)
        self.epochs.append(epoch)
        self.values.append(values)
        self._stats.append(np.array(stats))

    def on_train_begin(self, trainer: Trainer) -> None:
        self.names = [f"{key} {type(layer).__name__}" for key, layer in self._layers(trainer.model)]
        self.epochs, self.values, self._stats = [], [], []
        self._record(0)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self._record(epoch + 1)

    def _column(self, i: int) -> np.ndarray:
        return np.array([s[:, i] for s in self._stats]) if self._stats else np.zeros((0, len(self.names)))

    @property
    def means(self) -> np.ndarray:
        """Mean activation of each layer, shape (records, layers)."""
        return self._column(0)

    @property
    def stds(self) -> np.ndarray:
        """Standard deviation of each layer's activations, shape (records, layers)."""
        return self._column(1)

    @property
    def zero_fractions(self) -> np.ndarray:
        """Fraction of activations exactly 0 (dead ReLU units), shape (records, layers)."""
        return self._column(2)

    @property
    def saturations(self) -> np.ndarray:
        """Fraction of saturated units of Tanh and Sigmoid layers (NaN for others), shape (records, layers)."""
        return self._column(3)


class LearningRateMonitor(Callback):
    """Records every parameter group's learning rate at each optimizer step.

    Attributes:
        steps: The step (1-based) of each record.
        lrs: Array of shape (steps, groups): the rate each step used.
    """

    def __init__(self) -> None:
        self.steps: list[int] = []
        self._lrs: list[list[float]] = []

    def on_train_begin(self, trainer: Trainer) -> None:
        self.steps, self._lrs = [], []

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        self.steps.append(self.trainer.step)
        self._lrs.append([float(g["lr"]) for g in self.trainer.optimizer.param_groups])

    @property
    def lrs(self) -> np.ndarray:
        """The learning rates, shape (steps, groups)."""
        return np.array(self._lrs) if self._lrs else np.zeros((0, 1))


class ModelCheckpoint(Callback):
    """Saves a checkpoint (``train.save_checkpoint``) after an epoch: every epoch, or when the monitored value improves.

    The file holds the model, optimizer, scheduler, the generator's position, ``epoch``
    (epochs done) and ``history`` (the History's lists so far): ``load_checkpoint`` and
    ``fit(..., initial_epoch=epoch)`` go on exactly where training was. Nothing is
    written for an epoch whose monitored value or weights are not finite (diverged).

    Args:
        path: The file; ``{epoch}`` in it is replaced by the epoch count (1-based), e.g.
            ``"ckpt-{epoch:03d}.npz"``.
        monitor: A key of the epoch logs, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        save_best_only: Write only when ``monitor`` improves on the best so far.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (as for ``EarlyStopping``).

    Attributes:
        best: The best monitored value written so far.
        saved: The paths written, in order.
    """

    def __init__(self, path: str, monitor: str = "val_loss", save_best_only: bool = True, mode: str = "auto") -> None:
        who = "ModelCheckpoint"
        if not isinstance(path, str):
            raise TypeError(f"{who}: path must be a string, got {type(path).__name__}")
        if not isinstance(monitor, str):
            raise TypeError(f"{who}: monitor must be a string such as 'val_loss', got {type(monitor).__name__}")
        if not isinstance(save_best_only, bool):
            raise TypeError(f"{who}: save_best_only must be True or False, got {save_best_only!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        mode = _infer_mode(monitor) if mode == "auto" else mode
        if mode is None:
            raise ValueError(f"{who}: cannot tell whether {monitor!r} should go down or up; pass mode='min' or 'max'")
        self.path, self.monitor, self.save_best_only, self.mode = path, monitor, save_best_only, mode
        self.best = math.inf if mode == "min" else -math.inf
        self.saved: list[str] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(f"ModelCheckpoint: monitor {self.monitor!r} is not in the epoch logs; the keys are "
                             f"{', '.join(sorted(logs))}")
        value = float(logs[self.monitor])
        trainer = self.trainer
        if not math.isfinite(value) or not all(math.isfinite(_C.clip_sumsq(p.data.reshape(-1)))
                                               for p in trainer.model.parameters()):
            return
        if self.save_best_only and not (value < self.best if self.mode == "min" else value > self.best):
            return
        self.best = value
        path = self.path.format(epoch=epoch + 1)
        save_checkpoint(path, trainer.model, trainer.optimizer, trainer.scheduler, epoch=epoch + 1,
                        history=trainer.history.history)
        self.saved.append(path)
