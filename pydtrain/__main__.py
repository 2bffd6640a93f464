"""Command line: ``python -m pydtrain {train,eval,info,bench}``.

``train`` fits a multilayer perceptron on a built-in data set and reports per-epoch
progress and the final test accuracy (``--save``/``--resume`` a checkpoint); ``eval``
reports a saved model's test metrics; ``info`` shows the build configuration; ``bench``
runs the benchmarks. Invalid options end with a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import math
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np

import pydtrain
from pydtrain import _checkpoint, nn, optim, plot, regularizers
from pydtrain.data import DataLoader, StandardScaler, augment, datasets
from pydtrain.init import WEIGHT_INITS
from pydtrain.optim import lr_scheduler
from pydtrain.train import (EarlyStopping, GradientMonitor, History, evaluate, fit, load_checkpoint,
                            save_checkpoint)

PROG = "python -m pydtrain"

# option value -> class name in pydtrain.nn
ACTIVATIONS = {
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "selu": "SELU",
    "gelu": "GELU",
    "silu": "SiLU",
    "softplus": "Softplus",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
}
# option value -> (class name in pydtrain.optim, default learning rate)
OPTIMIZERS = {
    "sgd": ("SGD", 0.1),
    "rmsprop": ("RMSprop", 1e-3),
    "adam": ("Adam", 1e-3),
    "adamw": ("AdamW", 1e-3),
}
DATASETS = ("digits", "moons", "spirals")
SCHEDULES = ("step", "exponential", "cosine", "warm-restarts", "cyclic", "swa")
# the options that decide the model and its data: saved in a checkpoint, used again by eval and --resume
MODEL_OPTIONS = ("dataset", "hidden", "activation", "init", "batch_norm", "layer_norm", "dropout")
DATA_SEED = 0  # the data and its split stay the same whatever --seed is


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports a usage error in one line on stderr (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _build_parser() -> tuple[_Parser, _Parser, _Parser]:
    """The top-level parser and, for their error messages, the ``train`` and ``eval`` subparsers."""
    parser = _Parser(prog=PROG, description="pydtrain: train neural networks on the CPU.")
    parser.add_argument("--version", action="version", version=pydtrain.__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train an MLP on a built-in data set and report its test accuracy",
        description="Train a multilayer perceptron on a built-in data set (split 70/15/15 "
        "into training, validation and test sets, features standardized with the "
        "training statistics) and report the test accuracy.",
    )
    train.add_argument("--dataset", choices=DATASETS, default="digits",
                       help="data set (default: digits, 8x8 images of 10 digits)")
    train.add_argument("--hidden", type=int, nargs="+", default=[128], metavar="UNITS",
                       help="units of each hidden layer, e.g. --hidden 128 64 (default: 128)")
    train.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                       help="activation after each hidden layer (default: relu)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                       help="optimizer (default: sgd)")
    train.add_argument("--lr", type=float, default=None,
                       help="learning rate (default: 0.1 for sgd, 0.001 otherwise)")
    train.add_argument("--momentum", type=float, default=0.0,
                       help="momentum for sgd or rmsprop (default: 0, none)")
    train.add_argument("--epochs", type=int, default=20, help="passes over the data (default: 20)")
    train.add_argument("--batch-size", type=int, default=32,
                       help="examples per step (default: 32)")
    train.add_argument("--dropout", type=float, default=0.0,
                       help="drop probability after each hidden layer (default: 0, none)")
    train.add_argument("--l2", type=float, default=0.0, metavar="LAMBDA",
                       help="L2 penalty λ/2·‖w‖² on the weights (default: 0, none)")
    train.add_argument("--l1", type=float, default=0.0, metavar="LAMBDA",
                       help="L1 penalty λ·‖w‖₁ on the weights (default: 0, none)")
    train.add_argument("--weight-noise", type=float, default=0.0, metavar="STD",
                       help="std of the Gaussian noise on the weights at each step (default: 0, none)")
    train.add_argument("--augment", action="store_true",
                       help="augment the training images with random rotations of up to 10 degrees, drawn "
                       "anew for each batch (digits only; on these centred 8x8 digits a 1-pixel shift "
                       "already costs accuracy)")
    train.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                       help="stop after PATIENCE epochs without a lower validation loss and keep "
                       "the best weights (default: off)")
    train.add_argument("--init", choices=sorted(WEIGHT_INITS), default=None,
                       help="weight initialization of every Linear layer (default: PyTorch's)")
    norm = train.add_mutually_exclusive_group()
    norm.add_argument("--batch-norm", action="store_true", help="batch normalization after each hidden Linear")
    norm.add_argument("--layer-norm", action="store_true", help="layer normalization after each hidden Linear")
    train.add_argument("--weight-decay", type=float, default=0.0, metavar="W",
                       help="the optimizer's weight decay (default: 0; adamw: 0.01)")
    train.add_argument("--label-smoothing", type=float, default=0.0, metavar="EPS",
                       help="label smoothing of the cross-entropy, in [0, 1) (default: 0)")
    train.add_argument("--clip-norm", type=float, default=None, metavar="MAX",
                       help="clip the gradients' global L2 norm to MAX (default: off)")
    train.add_argument("--schedule", choices=SCHEDULES, default=None,
                       help="learning-rate schedule, stepped once per epoch (default: constant)")
    train.add_argument("--step-size", type=int, default=10, metavar="EPOCHS",
                       help="step: epochs between decays (default: 10)")
    train.add_argument("--gamma", type=float, default=0.1,
                       help="step, exponential: factor of each decay (default: 0.1)")
    train.add_argument("--lr-min", type=float, default=0.0,
                       help="cosine, warm-restarts, cyclic, swa: the lowest rate (default: 0; cyclic: lr/10)")
    train.add_argument("--cycle", type=int, default=10, metavar="EPOCHS",
                       help="warm-restarts, cyclic, swa: epochs per cycle (default: 10)")
    train.add_argument("--save", metavar="CKPT", help="save model, optimizer and schedule to CKPT (.npz) at the end")
    train.add_argument("--resume", metavar="CKPT",
                       help="go on from a checkpoint of --save (same model options; --epochs is the total)")
    train.add_argument("--monitor-gradients", action="store_true",
                       help="record per-layer gradient norms; print a table at the end (with --plot, draw them)")
    train.add_argument("--threads", type=int, default=None, help="threads of the C kernels (default: all cores)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed for initialization, shuffling and dropout (default: 0)")
    train.add_argument("--plot", metavar="FILE",
                       help="save a plot of loss and accuracy per epoch (needs matplotlib)")
    train.add_argument("--no-progress", action="store_true",
                       help="no progress bars; still print one line per epoch")

    evaluate_cmd = commands.add_parser("eval", help="report the test metrics of a model saved with train --save")
    evaluate_cmd.add_argument("checkpoint", metavar="CKPT", help="a checkpoint written by train --save")
    commands.add_parser("info", help="show version, SIMD level and threads")
    commands.add_parser("bench", add_help=False,
                        help="run the benchmarks (options are passed on; see bench --help)")
    return parser, train, evaluate_cmd


def _lookup(module: object, name: str, what: str, parser: _Parser) -> type:
    """A class of ``module`` by name, or a usage error if this build lacks it."""
    cls = getattr(module, name, None)
    if cls is None:
        parser.error(f"{what} is not available in this build")
    return cls


def _check_train_args(args: argparse.Namespace, parser: _Parser) -> None:
    """Rejects invalid values with a usage error before any work is done."""
    if args.lr is not None and not 0 < args.lr < math.inf:
        parser.error(f"--lr must be a positive finite number, got {args.lr}")
    if args.epochs < 1:
        parser.error(f"--epochs must be a positive integer, got {args.epochs}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be a positive integer, got {args.batch_size}")
    if any(units < 1 for units in args.hidden):
        parser.error(f"--hidden sizes must be positive integers, got {args.hidden}")
    if not 0 <= args.dropout < 1:
        parser.error(f"--dropout is a drop probability in [0, 1), got {args.dropout}")
    if not 0 <= args.momentum < 1:
        parser.error(f"--momentum must be in [0, 1), got {args.momentum}")
    if args.augment and args.dataset != "digits":
        parser.error(f"--augment needs images (--dataset digits); {args.dataset} are points in the plane")
    for option, value in (("--l2", args.l2), ("--l1", args.l1), ("--weight-noise", args.weight_noise)):
        if not 0 <= value < math.inf:
            parser.error(f"{option} must be a finite number >= 0, got {value}")
    if args.early_stopping is not None and args.early_stopping < 0:
        parser.error(f"--early-stopping is a patience in epochs, an integer >= 0, got {args.early_stopping}")
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    if not 0 <= args.weight_decay < math.inf:
        parser.error(f"--weight-decay must be a finite number >= 0, got {args.weight_decay}")
    if not 0 <= args.label_smoothing < 1:
        parser.error(f"--label-smoothing must be in [0, 1), got {args.label_smoothing}")
    if args.clip_norm is not None and not 0 < args.clip_norm < math.inf:
        parser.error(f"--clip-norm must be a positive finite number, got {args.clip_norm}")
    for option, value in (("--step-size", args.step_size), ("--cycle", args.cycle)):
        if value < 1:
            parser.error(f"{option} must be a positive integer, got {value}")
    if not 0 < args.gamma < math.inf:
        parser.error(f"--gamma must be a positive finite number, got {args.gamma}")
    if not 0 <= args.lr_min < math.inf:
        parser.error(f"--lr-min must be a finite number >= 0, got {args.lr_min}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be a positive integer, got {args.threads}")
    for option, path in (("--save", args.save), ("--plot", args.plot)):
        if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            parser.error(f"{option}: the folder {os.path.dirname(os.path.abspath(path))} does not exist")
    if args.resume is not None and not os.path.isfile(args.resume):
        parser.error(f"--resume: no such file {args.resume}")
    if args.plot is not None:
        if importlib.util.find_spec("matplotlib") is None:
            parser.error("--plot needs matplotlib, which is not installed "
                         "(pip install 'pydtrain[plot]')")


def _load(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "digits":
        return datasets.load_digits()
    if name == "moons":
        return datasets.make_moons(n_samples=1000, noise=0.2, seed=DATA_SEED)
    return datasets.make_spirals(n_samples=1500, n_classes=3, noise=0.05, seed=DATA_SEED)


def _build_model(
    args: argparse.Namespace, parser: _Parser, n_in: int, n_out: int
) -> nn.Module:
    activation = _lookup(nn, ACTIVATIONS[args.activation],
                         f"activation '{args.activation}'", parser)
    dropout = _lookup(nn, "Dropout", "dropout", parser) if args.dropout > 0 else None
    init = {} if args.init is None else {"init": args.init}
    layers = []
    for units in args.hidden:
        layers.append(nn.Linear(n_in, units, **init))
        if args.batch_norm:
            layers.append(nn.BatchNorm(units))
        if args.layer_norm:
            layers.append(nn.LayerNorm(units))
        layers.append(activation())
        if dropout is not None:
            layers.append(dropout(rate=args.dropout))
        n_in = units
    layers.append(nn.Linear(n_in, n_out, **init))
    return nn.Sequential(*layers)


def _build_optimizer(args: argparse.Namespace, parser: _Parser, model: nn.Module) -> object:
    class_name, default_lr = OPTIMIZERS[args.optimizer]
    cls = _lookup(optim, class_name, f"optimizer '{args.optimizer}'", parser)
    kwargs = {"lr": default_lr if args.lr is None else args.lr}
    if args.momentum > 0:
        if "momentum" not in inspect.signature(cls).parameters:
            parser.error(f"--momentum does not apply to optimizer '{args.optimizer}' "
                         "(or is not available in this build)")
        kwargs["momentum"] = args.momentum
    if args.weight_decay > 0:
        kwargs["weight_decay"] = args.weight_decay
    return cls(model.parameters(), **kwargs)


def _build_schedule(args: argparse.Namespace, optimizer: optim.Optimizer) -> lr_scheduler.LRScheduler | None:
    """The --schedule, counted in epochs."""
    lr = optimizer.param_groups[0]["lr"]
    if args.schedule == "step":
        return lr_scheduler.StepLR(optimizer, step_size=args.step_size, gamma=args.gamma)
    if args.schedule == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=args.gamma)
    if args.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr_min)
    if args.schedule == "warm-restarts":
        return lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=args.cycle, eta_min=args.lr_min)
    if args.schedule == "cyclic":
        return lr_scheduler.CyclicLR(optimizer, base_lr=args.lr_min or lr / 10, max_lr=lr,
                                     step_size_up=max(1, args.cycle // 2), cycle_momentum=False)
    if args.schedule == "swa":
        return lr_scheduler.SWACyclicLR(optimizer, lr_max=lr, lr_min=args.lr_min, cycle=args.cycle)
    return None


def _regularizers(args: argparse.Namespace) -> list[regularizers.Regularizer]:
    """The regularizers the options ask for, on the weights (not the biases)."""
    chosen = []
    if args.l2 > 0:
        chosen.append(regularizers.L2(args.l2))
    if args.l1 > 0:
        chosen.append(regularizers.L1(args.l1))
    if args.weight_noise > 0:
        chosen.append(regularizers.WeightNoise(args.weight_noise))
    return chosen


def _save_plot(history: History, path: str) -> None:
    """Two panels, loss and accuracy per epoch, training and validation."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 4), layout="constrained")
    epochs = range(1, history.epochs + 1)
    for ax, key in zip(fig.subplots(1, 2), ("loss", "accuracy")):
        ax.plot(epochs, history[key], label="training")
        ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
    fig.savefig(path)


def _splits(dataset: str) -> tuple[Any, ...]:
    """(train, val, test) of a built-in data set, features standardized with the training statistics, and the scaler."""
    X, y = _load(dataset)
    train, val, test = datasets.train_val_test_split(X, y, val=0.15, test=0.15, seed=DATA_SEED, stratify=True)
    scaler = StandardScaler().fit(train[0])
    return (*((scaler.transform(X).astype(np.float32), y) for X, y in (train, val, test)), scaler)


def _gradient_table(monitor: GradientMonitor) -> str:
    """Per layer: gradient L2 norm at the first and last step, its mean, and the mean update/weight ratio."""
    grads, ratios = monitor.layer_norms("grad"), monitor.layer_norms("update")
    lines = [f"{'layer':<8} {'first ‖g‖':>10} {'mean ‖g‖':>10} {'last ‖g‖':>10} {'update/weight':>14}"]
    for layer, g in grads.items():
        lines.append(f"{layer:<8} {g[0]:10.3g} {g.mean():10.3g} {g[-1]:10.3g} {np.mean(ratios[layer]):14.3g}")
    return "\n".join(lines)


def _train(args: argparse.Namespace, parser: _Parser) -> int:
    _check_train_args(args, parser)
    if args.threads is not None:
        pydtrain.set_num_threads(args.threads)
    (X_train, y_train), (X_val, y_val), (X_test, y_test), scaler = _splits(args.dataset)
    n_features, n_classes = X_train.shape[1], int(y_train.max()) + 1

    pydtrain.seed(args.seed)
    try:
        model = _build_model(args, parser, n_features, n_classes)
        optimizer = _build_optimizer(args, parser, model)
        scheduler = _build_schedule(args, optimizer)
        loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    initial_epoch = 0
    if args.resume is not None:
        try:
            info = load_checkpoint(args.resume, model, optimizer, scheduler)
        except ValueError as exc:
            parser.error(f"--resume: {exc} (give the model options it was saved with)")
        initial_epoch = int(info.get("epoch") or 0)
        if initial_epoch >= args.epochs:
            parser.error(f"--resume: {args.resume} has {initial_epoch} epochs done; --epochs is the total, "
                         f"pass more than {initial_epoch}")
    shape = " -> ".join(str(n) for n in (n_features, *args.hidden, n_classes))
    print(f"{args.dataset}: {len(X_train)} training, {len(X_val)} validation, "
          f"{len(X_test)} test examples; {n_features} features, {n_classes} classes")
    print(f"model: {shape} ({args.activation}), {args.optimizer} lr "
          f"{optimizer.param_groups[0]['lr']:g}, {args.epochs} epochs"
          + (f", resumed after epoch {initial_epoch} from {args.resume}" if args.resume else ""))
    strategies = _regularizers(args)
    callbacks = [] if args.early_stopping is None else [EarlyStopping(patience=args.early_stopping)]
    train_data: Any = (X_train, y_train)
    if args.augment:  # rotate the raw images, then standardize them as the rest
        move = augment.RandomRotation(10, image_shape=(8, 8))

        def transform(xb: np.ndarray) -> np.ndarray:
            return scaler.transform(move(xb)).astype(np.float32)

        raw = np.ascontiguousarray(scaler.inverse_transform(X_train), np.float32)
        train_data = DataLoader(raw, y_train, batch_size=args.batch_size, transform=transform)
    described = [repr(r) for r in strategies] + [f"early stopping (patience {args.early_stopping})" for _ in callbacks]
    if args.augment:
        described.append("augmentation (rotations <= 10 degrees)")
    if described:
        print("regularization: " + ", ".join(described))
    monitor = GradientMonitor() if args.monitor_gradients else None
    # a progress bar redraws itself with control characters: only on a terminal
    progress = True if not args.no_progress and sys.stderr.isatty() else "epoch"
    try:
        history = fit(
            model, loss_fn, optimizer,
            train=train_data, val=(X_val, y_val),
            epochs=args.epochs, batch_size=args.batch_size, scheduler=scheduler,
            regularizers=strategies, callbacks=callbacks + ([monitor] if monitor else []),
            clip_grad_norm=args.clip_norm, progress=progress, initial_epoch=initial_epoch,
        )
    except FloatingPointError as exc:
        print(f"{PROG} train: error: {exc}", file=sys.stderr)
        return 1
    for stop in callbacks:
        ended = f"stopped after epoch {stop.stopped_epoch + 1}" if stop.stopped_epoch else "ran every epoch"
        print(f"early stopping: {ended}; best val_loss {stop.best:.4f} at epoch {stop.best_epoch + 1}, "
              "its weights restored")
    result = evaluate(model, loss_fn, (X_test, y_test))
    print(f"test loss: {result['loss']:.4f}")
    print(f"test accuracy: {result['accuracy']:.3f}")
    if monitor is not None and monitor.steps:
        print("gradient norms per layer (input first):")
        print(_gradient_table(monitor))
    if args.save is not None:
        epochs_done = initial_epoch + history.epochs
        save_checkpoint(args.save, model, optimizer, scheduler, epoch=epochs_done,
                        config={name: getattr(args, name) for name in MODEL_OPTIONS})
        print(f"checkpoint saved to {args.save} (after epoch {epochs_done})")
    if args.plot is not None and history.epochs:
        _save_plot(history, args.plot)
        print(f"plot saved to {args.plot}")
        if monitor is not None and monitor.steps:
            root, ext = os.path.splitext(args.plot)
            plot.grad_flow(monitor).savefig(f"{root}-grad_flow{ext}")
            print(f"gradient flow plot saved to {root}-grad_flow{ext}")
    return 0


def _eval(args: argparse.Namespace, parser: _Parser) -> int:
    """Rebuilds the model a checkpoint was trained as, loads it and reports its test metrics."""
    path = args.checkpoint
    if not os.path.isfile(path):
        parser.error(f"no such file {path}")
    try:
        _, meta = _checkpoint._read(path)
        config = meta.get("extra", {}).get("config")
        if not isinstance(config, dict) or set(config) != set(MODEL_OPTIONS):
            parser.error(f"{path} was not written by {PROG} train --save (no model options in it)")
        options = argparse.Namespace(**config)
        (X_test, y_test) = _splits(options.dataset)[2]
        model = _build_model(options, parser, X_test.shape[1], int(y_test.max()) + 1)
        info = load_checkpoint(path, model)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    result = evaluate(model, nn.CrossEntropyLoss(), (X_test, y_test))
    shape = " -> ".join(str(n) for n in (X_test.shape[1], *options.hidden, int(y_test.max()) + 1))
    print(f"{path}: {options.dataset}, model {shape} ({options.activation}), trained {info['epoch']} epochs")
    print(f"test loss: {result['loss']:.4f}")
    print(f"test accuracy: {result['accuracy']:.3f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line and returns the exit code.

    Args:
        argv: The arguments after ``python -m pydtrain``; None reads ``sys.argv``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # all further options belong to the benchmarks
        from pydtrain import bench

        return int(bench.main(argv[1:]) or 0)
    parser, train_parser, eval_parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "info":
        pydtrain.show_config()  # prints the report
        return 0
    if args.command == "eval":
        return _eval(args, eval_parser)
    return _train(args, train_parser)


if __name__ == "__main__":
    sys.exit(main())
