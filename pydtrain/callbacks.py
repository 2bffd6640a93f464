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
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from . import _checks

if TYPE_CHECKING:
    from .train import Trainer

__all__ = ["Callback", "EarlyStopping"]


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
