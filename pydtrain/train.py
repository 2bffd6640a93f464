"""The training loop: ``fit`` a model on minibatches, ``evaluate`` it, keep a ``History``.

One training step, in the order the lecture derives it::

    optimizer.zero_grad()
    r.before_forward(params)                          # regularizers: noise on θ (WeightNoise)
    yb = r.transform_target(yb)                       # and on the targets (TargetNoise)
    out = model(xb); loss = loss_fn(out, yb)          # forward
    model.backward(loss_fn.backward())                # backpropagation fills p.grad
    r.after_backward(params)                          # the clean θ back
    loss += Σ r.penalty(params)                       # penalties add their gradients (L1, L2)
    optim.clip_grad_norm_(params, clip_grad_norm)     # optional: ‖g‖ ≤ η
    optimizer.step()                                  # θ ← θ − α·(update)

and after each epoch: validation, ``scheduler.step()`` (once per epoch), callbacks.
A NaN/Inf loss or gradient norm stops training with a ``FloatingPointError`` naming the
step and layer; Ctrl-C ends it and returns the History so far. ``save_checkpoint`` /
``load_checkpoint`` and ``fit(initial_epoch=k)`` resume a run bit for bit; the monitors
(``GradientMonitor``, ``ActivationMonitor``, ``LearningRateMonitor``) and
``ModelCheckpoint`` are callbacks (see ``pydtrain.callbacks``).
"""

from __future__ import annotations

import functools
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, KeysView, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
from tqdm import tqdm

from . import _C, _checks, _random, optim
from ._checkpoint import load_checkpoint, save_checkpoint
from .callbacks import (ActivationMonitor, Callback, EarlyStopping, GradientMonitor, LearningRateMonitor,
                        ModelCheckpoint)
from .data import DataLoader
from .nn import CrossEntropyLoss, Ensemble, Module, Sequential
from .nn.containers import check_unshared
from .regularizers import Regularizer

__all__ = ["ActivationMonitor", "EarlyStopping", "GradientMonitor", "History", "LearningRateMonitor", "ModelCheckpoint",
           "Trainer", "accuracy", "evaluate", "fit", "fit_ensemble", "load_checkpoint", "save_checkpoint"]

Data = Union[tuple[np.ndarray, np.ndarray], DataLoader]
Metric = Union[str, Callable[[np.ndarray, np.ndarray], float]]


def accuracy(output: np.ndarray, target: np.ndarray) -> float:
    """Fraction of examples whose largest output is the true class.

    accuracy = mean(argmax_k output[i, k] == target[i]).

    Args:
        output: Scores, logits or probabilities of shape (N, k), one column per class.
        target: Integer class labels of shape (N,).

    Returns:
        The accuracy in [0, 1].
    """
    if output.ndim != 2 or output.shape[1] < 2:
        raise ValueError(
            "accuracy needs one output column per class, shape (N, k) with k >= 2, "
            f"got shape {output.shape}; pass metrics=() to fit/evaluate to skip it"
        )
    return np.count_nonzero(output.argmax(axis=1) == target) / len(target)


_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"accuracy": accuracy}
_SHORT_NAMES = {"accuracy": "acc", "val_accuracy": "val_acc"}


class History:
    """What happened in each epoch of ``fit``.

    Attributes:
        history: One list per quantity, one entry per epoch: ``loss`` (mean training
            loss, regularization penalties included), each metric (e.g. ``accuracy``),
            ``val_loss`` and ``val_<metric>`` when validation data was given (data loss
            only), and ``lr`` (the learning rate used during the epoch); with
            ``fit(skip_nonfinite=True)`` also ``skipped_steps``, the steps of each epoch
            skipped for a NaN/Inf loss or gradient.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}

    @property
    def skipped_steps(self) -> int:
        """Steps skipped for a NaN/Inf loss or gradient over the recorded epochs (``fit(skip_nonfinite=True)``)."""
        return int(sum(self.history.get("skipped_steps", ())))

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.history.get("loss", ()))

    def __getitem__(self, key: str) -> list[float]:
        """``h["loss"]`` is ``h.history["loss"]``; an unknown key's KeyError lists the keys there are."""
        try:
            return self.history[key]
        except KeyError:
            raise KeyError(f"History has no {key!r}; its keys are {list(self.history)}") from None

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def __iter__(self) -> Iterator[str]:
        """The recorded quantities' names, as iterating ``h.history`` gives them."""
        return iter(self.history)

    def keys(self) -> KeysView[str]:
        return self.history.keys()

    def _append(self, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self) -> str:
        return f"History({self.epochs} epochs, keys={list(self.history)})"


@dataclass
class Trainer:
    """The state of one ``fit`` run, handed to the callbacks.

    Attributes:
        model: The model being trained.
        loss_fn: The loss.
        optimizer: The optimizer.
        scheduler: The learning-rate scheduler, or None.
        epochs: Number of epochs asked for.
        history: The ``History`` filled so far.
        epoch: Index (0-based) of the current epoch.
        step: Number of optimizer steps taken so far in this run.
        skipped: Steps skipped in the current epoch (``skip_nonfinite``).
        stop_training: Set it to True to end training after the current batch.
    """

    model: Module
    loss_fn: Any
    optimizer: Any
    scheduler: Any
    epochs: int
    history: History = field(default_factory=History)
    epoch: int = 0
    step: int = 0
    skipped: int = 0
    stop_training: bool = False


def _as_loader(data: Data, batch_size: int, shuffle: bool, name: str) -> DataLoader:
    """Turns ``(X, y)`` into a DataLoader; a DataLoader is used as it is."""
    if isinstance(data, DataLoader):
        loader = data
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        loader = DataLoader(data[0], data[1], batch_size=batch_size, shuffle=shuffle)
    else:
        raise TypeError(
            f"{name} must be a pair (X, y) or a DataLoader, got {type(data).__name__}"
        )
    if loader.y is None:
        raise ValueError(f"{name} needs labels: its DataLoader was built with y=None")
    return loader


def _check_finite_data(name: str, loader: DataLoader) -> None:
    """ValueError naming the array and its first row holding a NaN or Inf (one C pass over each float array)."""
    ys = loader.y.values() if isinstance(loader.y, dict) else loader.y if isinstance(loader.y, tuple) else (loader.y,)
    for label, a in (("X", loader.X), *(("y", y) for y in ys)):
        if a.dtype not in (np.float32, np.float64) or math.isfinite(_C.clip_maxabs(a.reshape(-1))):
            continue
        rows = np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(axis=1))
        raise ValueError(
            f"fit: the {name} data's {label} holds NaN or Inf in {len(rows)} of its {len(a)} rows, the first at row "
            f"{rows[0]}; training on it would diverge. Drop or repair those rows (e.g. "
            f"{label} = {label}[np.isfinite({label}).all(axis=1)], with the labels filtered alike)")


def _resolve_metrics(
    metrics: Metric | Sequence[Metric], target: np.ndarray
) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """Maps metric names to functions; class metrics are skipped for non-integer targets."""
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    # class metrics need one array of integer labels (not regression, not multi-task targets)
    classification = isinstance(target, np.ndarray) and np.issubdtype(target.dtype, np.integer)
    resolved = {}
    for metric in metrics:
        if callable(metric):
            resolved[metric.__name__] = metric
        elif metric in _METRICS:
            if classification:
                resolved[metric] = _METRICS[metric]
        else:
            raise ValueError(
                f"unknown metric {metric!r}; available: {', '.join(_METRICS)}, "
                "or a function (output, y) -> float"
            )
    return resolved


def evaluate(
    model: Module,
    loss_fn: Any,
    data: Data,
    batch_size: int = 256,
    metrics: Metric | Sequence[Metric] = ("accuracy",),
) -> dict[str, float]:
    """Measures the loss and metrics of a model on a data set, in inference mode.

    The model runs in ``eval()`` mode (dropout off, batch norm with population
    statistics); its previous mode is restored afterwards. Values are means over all
    examples (batch means weighted by batch size).

    Args:
        model: The model to evaluate.
        loss_fn: A loss with ``reduction="mean"``.
        data: ``(X, y)`` or a DataLoader.
        batch_size: Examples per forward pass when ``data`` is ``(X, y)``; it only
            changes memory use, not the result.
        metrics: Metric names (``"accuracy"``) or functions ``f(output, y) -> float``.
            ``"accuracy"`` is skipped when ``y`` does not hold integer class labels.

    Returns:
        ``{"loss": ..., "accuracy": ...}`` (one entry per metric computed).
    """
    loader = _as_loader(data, batch_size, shuffle=False, name="data")
    metric_fns = _resolve_metrics(metrics, loader.y)
    sums = dict.fromkeys(["loss", *metric_fns], 0.0)
    seen = 0
    was_training = model.training
    model.eval()
    try:
        for xb, yb in loader:
            out = model(xb)
            n = len(xb)
            sums["loss"] += n * float(loss_fn(out, yb))
            for name, fn in metric_fns.items():
                sums[name] += n * fn(out, yb)
            seen += n
    finally:
        if was_training:
            model.train()
    return {name: total / seen for name, total in sums.items()}


def _diverged(trainer: Trainer, batch: int, n_batches: int, loss: float, norm: float) -> FloatingPointError:
    """The error that stops ``fit`` when the loss or the gradient norm is NaN or infinite."""
    what = f"the training loss is {loss}" if not math.isfinite(loss) else f"the gradient norm is {norm}"
    bad = [name for name, p in reversed(list(trainer.model.named_parameters())) if not np.isfinite(p.grad).all()]
    where = (f"The first non-finite gradient backpropagation reached is that of '{bad[0]}' (layer "
             f"'{bad[0].rpartition('.')[0] or bad[0]}'; {len(bad)} parameters have one). " if bad
             else "Every gradient is finite. ")
    lr = trainer.optimizer.param_groups[0]["lr"]
    return FloatingPointError(
        f"fit: training diverged at epoch {trainer.epoch + 1}, step {batch + 1} of {n_batches} (step "
        f"{trainer.step + 1} of the run): {what}. {where}Usual causes: a learning rate too high (lr={lr:g}; try "
        f"{lr / 10:g}), no gradient clipping (pass clip_grad_norm=1.0), or bad inputs (NaN/Inf or huge values "
        "in X or y; check np.isfinite(X).all() and standardize the features)"
    )


def _format_logs(logs: dict[str, float]) -> str:
    parts = []
    for key, value in logs.items():
        if key == "lr":
            parts.append(f"lr {value:.3g}")
        elif key == "skipped_steps":
            parts.append(f"skipped {int(value)}")
        elif key in ("loss", "val_loss"):
            parts.append(f"{key} {value:.4f}")
        else:
            parts.append(f"{_SHORT_NAMES.get(key, key)} {value:.3f}")
    return "  ".join(parts)


def _grad_norm_fn(optimizer: Any, params: list[Any]) -> Callable[[], float]:
    """‖g‖₂ over the parameters: one pass per optimizer arena when the arenas hold exactly them, else grad_norm."""
    arenas = getattr(optimizer, "_arenas", None)
    held = [p for g in getattr(optimizer, "param_groups", ()) for p in g["params"]]
    if arenas is None or {id(p) for p in held} != {id(p) for p in params}:
        return lambda: optim.grad_norm(params)
    grads = [grad for _, grad in arenas]
    sumsq = _C.clip_sumsq

    def norm() -> float:
        for p in params:
            if p._grad_zero:  # marked zero and not written by this backward: its array still holds old values
                p._zero_grad(False)
        return math.sqrt(sum(map(sumsq, grads)))

    return norm


class _HeldInterrupts:
    """Ctrl-C (SIGINT) while ``inside`` is set is held until the caller clears it and calls ``interrupt()``, so
    that an optimizer step (its count, every group's update) is never cut in half: after an interrupt the model
    and the optimizer are those of a whole number of steps. Elsewhere it raises KeyboardInterrupt at once, as
    Python's own handler does.
    ``install()`` puts the handler in place for a whole ``fit`` (two system calls, none per step), only over
    Python's own handler and in the main thread, where signals are delivered; ``restore()`` puts it back."""

    def __init__(self) -> None:
        self.inside = self.pending = False
        self.previous: Any = None

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self._handle)

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.inside:
            raise KeyboardInterrupt
        self.pending = True

    def interrupt(self) -> None:
        """Raises the KeyboardInterrupt of a Ctrl-C that came while ``inside`` was set."""
        self.pending = False
        raise KeyboardInterrupt


def _buffers(model: Module) -> list[tuple[np.ndarray, np.ndarray]]:
    """(buffer, copy) for every buffer of the model (BatchNorm's running statistics), to undo a skipped step."""
    return [(b, b.copy()) for m in model.modules() for b in m._buffers.values() if isinstance(b, np.ndarray)]


def _train_epoch(
    trainer: Trainer,
    loader: DataLoader,
    params: list[Any],
    regularizers: Sequence[Any],
    clip_grad_norm: float | None,
    metric_fns: dict[str, Callable[[np.ndarray, np.ndarray], float]],
    callbacks: Sequence[Callback],
    bar: tqdm | None,
    held: _HeldInterrupts,
    skip_nonfinite: bool = False,
) -> dict[str, float]:
    """Runs one pass over ``loader``; returns the epoch means of loss and metrics (of the steps taken)."""
    model, loss_fn, optimizer = trainer.model, trainer.loss_fn, trainer.optimizer
    trainer.skipped = 0
    model.train()
    keys, fns = ["loss", *metric_fns], list(metric_fns.values())
    sizes: list[int] = []  # of each step taken: the batch size and its [loss, *metrics] (averaged at the end)
    records: list[list[float]] = []
    running, shown = [0.0] * len(keys), 0  # Σ n·value and Σ n so far, for the progress bar
    hooked = [r for r in regularizers if isinstance(r, Regularizer)]
    unhooked = hooked[::-1]
    grad_norm = _grad_norm_fn(optimizer, params)
    # the input is data: a Sequential skips its gradient (a leading Linear's dx product)
    backward = functools.partial(model.backward, input_grad=False) if isinstance(model, Sequential) else model.backward
    # a transform makes new inputs each batch: those are checked as they come
    transformed = loader.transform is not None and loader.X.dtype in (np.float32, np.float64)
    for batch, (xb, yb) in enumerate(loader):
        if transformed and not math.isfinite(_C.clip_maxabs(xb.reshape(-1))):
            rows = np.flatnonzero(~np.isfinite(xb.reshape(len(xb), -1)).all(axis=1))
            raise ValueError(f"fit: batch {batch + 1} of epoch {trainer.epoch + 1} holds NaN or Inf in {len(rows)} "
                             f"rows after the DataLoader's transform, the first at row {rows[0]} of the batch; "
                             f"check the transform {loader.transform!r}")
        optimizer.zero_grad()  # marks the gradients zero: the next backward writes them
        saved = _buffers(model) if skip_nonfinite else ()
        for regularizer in hooked:
            regularizer.before_forward(params)
        try:
            for regularizer in hooked:
                yb = regularizer.transform_target(yb)
            out = model(xb)
            loss = float(loss_fn(out, yb))
            values = [loss]
            for fn in fns:
                values.append(fn(out, yb))
            backward(loss_fn.backward())
        finally:  # parameters perturbed by before_forward are clean again, whatever happened
            for regularizer in unhooked:
                regularizer.after_backward(params)
        for regularizer in regularizers:
            values[0] += float(regularizer.penalty(params))
        if clip_grad_norm is not None:
            try:  # a non-finite norm leaves the gradients as they are, for the message to name the layer
                norm = optim.clip_grad_norm_(params, clip_grad_norm, error_if_nonfinite=True)
            except RuntimeError:
                norm = math.nan
        else:
            norm = grad_norm()
        if not (math.isfinite(values[0]) and math.isfinite(norm)):
            if not skip_nonfinite:
                raise _diverged(trainer, batch, len(loader), values[0], norm)
            for buffer, before in saved:  # the step is undone: no update, running statistics as they were
                buffer[...] = before
            trainer.skipped += 1
            if bar is not None:
                bar.update()
            continue
        held.inside = True  # Ctrl-C waits for the step to complete
        try:
            optimizer.step()
            trainer.step += 1
        finally:
            held.inside = False
        if held.pending:
            held.interrupt()

        sizes.append(len(xb))
        records.append(values)
        if bar is not None:
            running, shown = [t + sizes[-1] * v for t, v in zip(running, values)], shown + sizes[-1]
            bar.set_postfix_str(_format_logs({k: t / shown for k, t in zip(keys, running)}), refresh=False)
            bar.update()
        if callbacks:
            logs: dict[str, Any] = dict(zip(keys, values))
            logs["batch_size"] = sizes[-1]
            for callback in callbacks:
                callback.on_batch_end(batch, logs)
            if trainer.stop_training:
                break
    if not sizes and trainer.skipped:
        raise FloatingPointError(
            f"fit: every step of epoch {trainer.epoch + 1} ({trainer.skipped}) had a NaN or Inf loss or gradient "
            "and was skipped (skip_nonfinite=True); training is not progressing. Lower the learning rate, clip the "
            "gradients (clip_grad_norm=1.0) or check the data")
    seen = sum(sizes)
    totals = [sum(n * r[i] for n, r in zip(sizes, records)) for i in range(len(keys))]
    logs = {k: t / seen if seen else math.nan for k, t in zip(keys, totals)}
    if skip_nonfinite:
        logs["skipped_steps"] = trainer.skipped
    return logs


def fit(
    model: Module,
    loss_fn: Any,
    optimizer: Any,
    train: Data,
    val: Data | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    scheduler: Any = None,
    callbacks: Iterable[Callback] = (),
    regularizers: Iterable[Any] = (),
    clip_grad_norm: float | None = None,
    metrics: Metric | Sequence[Metric] = ("accuracy",),
    progress: bool | str = True,
    initial_epoch: int = 0,
    skip_nonfinite: bool = False,
) -> History:
    """Trains a model with minibatch gradient descent for a number of epochs.

    Each epoch visits the training set once in a new random order (from pydtrain's
    seeded generator), taking one optimizer step per batch: forward, loss, backward,
    regularization penalties, optional gradient clipping, step. Then it evaluates the
    validation set (in ``eval()`` mode), records everything in the ``History``, calls
    ``scheduler.step()`` once, and runs the callbacks' ``on_epoch_end``.

    Args:
        model: The network, e.g. an ``nn.Sequential``.
        loss_fn: A loss such as ``nn.CrossEntropyLoss()`` (``reduction="mean"``).
        optimizer: An optimizer built on ``model.parameters()``.
        train: Training data, ``(X, y)`` or a DataLoader (e.g. one with augmentation).
        val: Validation data, ``(X, y)`` or a DataLoader, or None.
        epochs: Number of passes over the training data.
        batch_size: Examples per step when ``train`` is ``(X, y)`` (a DataLoader keeps
            its own).
        scheduler: A learning-rate scheduler; its ``step()`` is called once per epoch,
            so its periods are counted in epochs (``ReduceLROnPlateau`` gets the epoch's
            ``scheduler.monitor`` value, ``val_loss`` by default).
        callbacks: ``Callback`` objects; see ``pydtrain.callbacks`` for when each hook
            runs and how a callback stops training.
        regularizers: ``regularizers.L2``, ``L1``, ``WeightNoise``, ``TargetNoise``, or any
            object with ``penalty(params) -> float``: each penalty is added to the reported
            training loss and its gradient to the parameters' gradients, before clipping.
            ``Regularizer`` objects also get the hooks around the forward and backward
            passes (see ``pydtrain.regularizers`` for the order).
        clip_grad_norm: If given, rescale the gradients so that their global L2 norm is
            at most this value (``optim.clip_grad_norm_``).
        metrics: Metric names (``"accuracy"``) or functions ``f(output, y) -> float``,
            recorded under their ``__name__``. ``"accuracy"`` is skipped for non-integer
            targets (regression).
        progress: True shows a progress bar during each epoch and prints a one-line
            summary after it; ``"epoch"`` prints only the summaries; False prints nothing.
        initial_epoch: The epoch to start from (0-based), when going on from a checkpoint
            written after that many epochs (``load_checkpoint``); ``epochs`` stays the
            total, so epochs ``initial_epoch`` … ``epochs − 1`` run.
        skip_nonfinite: A step whose loss or gradient norm is NaN or infinite is skipped
            instead of stopping training: no parameter, optimizer state or running
            statistic changes, the step is left out of the epoch's mean loss and metrics,
            and it is counted in ``history["skipped_steps"]`` (per epoch) and
            ``history.skipped_steps`` (in all). An epoch whose every step is skipped
            still raises ``FloatingPointError``.

    Returns:
        The ``History`` of per-epoch losses, metrics and learning rates.

    Raises:
        FloatingPointError: If the training loss or the gradient norm becomes infinite
            or NaN (training diverged); the message names the epoch and step, the layer
            whose gradient backpropagation made non-finite first, and the usual causes.
            Ctrl-C (KeyboardInterrupt) does not raise: training ends, the callbacks'
            ``on_train_end`` runs and the History of the complete epochs is returned. An
            optimizer step under way completes first, so the model and the optimizer are
            those after ``trainer.step`` whole steps.
        ValueError, TypeError: For invalid arguments, with what was expected.

    Example:
        >>> h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        ...         train=(X_train, y_train), val=(X_val, y_val), epochs=20)
        >>> h.history["val_accuracy"][-1]
    """
    epochs = _checks.integer("fit", "epochs", epochs)
    initial_epoch = _checks.integer("fit", "initial_epoch", initial_epoch, low=0)
    if initial_epoch > epochs:
        raise ValueError(f"fit: initial_epoch ({initial_epoch}) is past epochs ({epochs}); epochs is the total count")
    if clip_grad_norm is not None:
        clip_grad_norm = _checks.number("fit", "clip_grad_norm (or None)", clip_grad_norm, low=0.0, low_open=True)
    if not isinstance(skip_nonfinite, bool):
        raise TypeError(f"fit: skip_nonfinite must be True or False, got {skip_nonfinite!r}")
    if progress not in (True, False, "epoch"):
        raise ValueError(f'fit: progress must be True, False or "epoch", got {progress!r}')
    for name, obj, example, needs in (("loss_fn", loss_fn, "nn.CrossEntropyLoss()", "backward"),
                                      ("optimizer", optimizer, "optim.SGD(model.parameters(), lr=0.1)", "param_groups")):
        if isinstance(obj, type) or not hasattr(obj, needs):
            what = f"the class {obj.__name__} (add the parentheses)" if isinstance(obj, type) else type(obj).__name__
            raise TypeError(f"fit: {name} must be an object such as {example}, got {what}")
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(
                "fit: callbacks must be instances of pydtrain.callbacks.Callback (or a "
                f"subclass), got {type(callback).__name__}"
            )
    regularizers = list(regularizers)
    for regularizer in regularizers:
        if not callable(getattr(regularizer, "penalty", None)):
            raise TypeError(
                "fit: regularizers must have a penalty(params) method (e.g. "
                f"pydtrain.regularizers.L2), got {type(regularizer).__name__}"
            )
    check_unshared("fit", model)
    train_loader = _as_loader(train, batch_size, shuffle=True, name="train")
    val_loader = None if val is None else _as_loader(val, 256, shuffle=False, name="val")
    for name, loader in (("train", train_loader), ("val", val_loader)):
        if loader is not None:
            _check_finite_data(name, loader)
    metric_fns = _resolve_metrics(metrics, train_loader.y)
    params = list(model.parameters())

    trainer = Trainer(model, loss_fn, optimizer, scheduler, int(epochs))
    for callback in callbacks:
        callback.trainer = trainer
    for callback in callbacks:
        callback.on_train_begin(trainer)
    width = len(str(epochs))
    held = _HeldInterrupts()
    held.install()
    try:
        for epoch in range(initial_epoch, epochs):
            trainer.epoch = epoch
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            lr = optimizer.param_groups[0]["lr"]
            title = f"epoch {epoch + 1:>{width}}/{epochs}"
            bar = None
            if progress is True:
                bar = tqdm(total=len(train_loader), desc=title, unit="batch", leave=False)
            try:
                logs = _train_epoch(
                    trainer, train_loader, params, regularizers, clip_grad_norm,
                    metric_fns, callbacks, bar, held, skip_nonfinite,
                )
            finally:
                if bar is not None:
                    bar.close()
            if val_loader is not None:
                val_logs = evaluate(model, loss_fn, val_loader, metrics=list(metric_fns.values()))
                logs.update({f"val_{name}": value for name, value in val_logs.items()})
            logs["lr"] = lr
            trainer.history._append(logs)
            if progress:
                print(f"{title}  {_format_logs(logs)}", flush=True)
            if isinstance(scheduler, optim.lr_scheduler.ReduceLROnPlateau):
                if scheduler.monitor not in logs:
                    raise ValueError(f"fit: ReduceLROnPlateau monitors {scheduler.monitor!r}, not in the epoch logs "
                                     f"({', '.join(sorted(logs))}); pass val= or monitor='loss'")
                scheduler.step(logs[scheduler.monitor])
            elif scheduler is not None:
                scheduler.step()
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if trainer.stop_training:
                break
    except KeyboardInterrupt:  # Ctrl-C: the epochs done so far are the result
        print(f"\nfit: interrupted in epoch {trainer.epoch + 1} after {trainer.step} steps; returning the history "
              f"of the {trainer.history.epochs} complete epochs", file=sys.stderr, flush=True)
    finally:
        held.restore()
    for callback in callbacks:
        callback.on_train_end()
    return trainer.history


def _member_seeds(k: int) -> list[int]:
    """k seeds derived from the global generator's state (which moves on by k counters)."""
    seed, offset = _random.take(k)
    state = np.random.SeedSequence([seed, offset]).generate_state(2 * k, dtype=np.uint32)
    return [int(state[2 * i]) << 32 | int(state[2 * i + 1]) for i in range(k)]


def _bootstrap(loader: DataLoader) -> DataLoader:
    """A loader over n examples drawn with replacement from ``loader``'s n (bagging), same settings."""
    n = loader.num_examples
    rows = np.minimum((_random.uniform((n,)) * n).astype(np.int64), n - 1)
    return DataLoader(loader.X[rows], loader.take(rows), batch_size=loader.batch_size, shuffle=loader.shuffle,
                      drop_last=loader.drop_last, transform=loader.transform)


def fit_ensemble(
    make_model: Callable[[], Module],
    make_optimizer: Callable[[Module], Any],
    loss_fn: Any,
    train: Data,
    k: int = 5,
    bootstrap: bool = False,
    seeds: Sequence[int] | None = None,
    probabilities: bool | None = None,
    **fit_kwargs: Any,
) -> tuple[Ensemble, list[History]]:
    """Trains k members, each from its own seed, and returns them as one ``nn.Ensemble``.

    Member i runs under its own generator, ``pydtrain.seed(seeds[i])``: ``make_model()``
    builds it (its initialization draws from that seed), its shuffling, dropout and noise
    draw from it too, and with ``bootstrap=True`` it trains on n examples drawn with
    replacement from the n of ``train`` (bagging, Breiman 1996). The global generator is
    left where it was, moved on by k counters. The ensemble predicts
    ``(1/k)·Σᵢ softmax(fᵢ(x))`` for classification, ``(1/k)·Σᵢ fᵢ(x)`` otherwise.

    Args:
        make_model: Builds one member, e.g. ``lambda: nn.Sequential(...)``.
        make_optimizer: Builds a member's optimizer, e.g. ``lambda m: optim.SGD(m.parameters(), lr=0.1)``.
        loss_fn: The loss, shared by the members (it holds no state between steps).
        train: ``(X, y)`` or a DataLoader.
        k: Number of members, a positive integer.
        bootstrap: Train each member on a bootstrap resample of ``train``.
        seeds: The members' seeds; by default k seeds derived from the global generator,
            so ``pydtrain.seed(n)`` before the call makes the whole ensemble reproducible.
        probabilities: Average softmax probabilities (the members output logits) instead of
            outputs; by default True when ``loss_fn`` is a ``CrossEntropyLoss``.
        **fit_kwargs: Passed to ``fit`` for every member (``val``, ``epochs``,
            ``regularizers``, ``callbacks``…).

    Returns:
        ``(ensemble, histories)``: the ``nn.Ensemble`` of the trained members and their
        ``History`` objects, in order.

    Example:
        >>> ens, hs = fit_ensemble(lambda: nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)),
        ...                        lambda m: optim.Adam(m.parameters()), nn.CrossEntropyLoss(),
        ...                        (X, y), k=5, val=(Xv, yv), epochs=30, progress=False)
        >>> probs = ens.eval()(Xv)
    """
    who = "fit_ensemble"
    k = _checks.integer(who, "k", k)
    for name, fn in (("make_model", make_model), ("make_optimizer", make_optimizer)):
        if not callable(fn):
            raise TypeError(f"{who}: {name} must be a function, got {type(fn).__name__}")
    if not isinstance(bootstrap, bool):
        raise TypeError(f"{who}: bootstrap must be True or False, got {bootstrap!r}")
    if seeds is None:
        seeds = _member_seeds(k)
    else:
        seeds = list(seeds)
        if len(seeds) != k or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seeds):
            raise ValueError(f"{who}: seeds must be a list of k = {k} integers, got {seeds!r}")
    if probabilities is None:
        probabilities = isinstance(loss_fn, CrossEntropyLoss)
    loader = _as_loader(train, fit_kwargs.get("batch_size", 32), shuffle=True, name="train")
    members, histories = [], []
    for seed in seeds:
        with _random.fork(int(seed)):
            model = make_model()
            if not isinstance(model, Module):
                raise TypeError(f"{who}: make_model must return a Module, got {type(model).__name__}")
            optimizer = make_optimizer(model)
            data = _bootstrap(loader) if bootstrap else loader
            histories.append(fit(model, loss_fn, optimizer, data, **fit_kwargs))
        members.append(model)
    return Ensemble(members, probabilities=probabilities), histories
