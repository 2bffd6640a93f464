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
happen) and no new epoch starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .train import Trainer

__all__ = ["Callback"]


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
