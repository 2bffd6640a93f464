"""Command line: ``python -m pydtrain {train,info,bench}``.

``train`` fits a multilayer perceptron on a built-in data set and reports per-epoch
progress and the final test accuracy; ``info`` shows the build configuration; ``bench``
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
from pydtrain import nn, optim, regularizers
from pydtrain.data import DataLoader, augment, datasets
from pydtrain.train import EarlyStopping, History, evaluate, fit

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
DATA_SEED = 0  # the data and its split stay the same whatever --seed is


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports a usage error in one line on stderr (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _build_parser() -> tuple[_Parser, _Parser]:
    """The top-level parser and, for its error messages, the ``train`` subparser."""
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
    train.add_argument("--seed", type=int, default=0,
                       help="seed for initialization, shuffling and dropout (default: 0)")
    train.add_argument("--plot", metavar="FILE",
                       help="save a plot of loss and accuracy per epoch (needs matplotlib)")
    train.add_argument("--no-progress", action="store_true",
                       help="no progress bars; still print one line per epoch")

    commands.add_parser("info", help="show version, SIMD level and threads")
    commands.add_parser("bench", add_help=False,
                        help="run the benchmarks (options are passed on; see bench --help)")
    return parser, train


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
    if args.plot is not None:
        if importlib.util.find_spec("matplotlib") is None:
            parser.error("--plot needs matplotlib, which is not installed "
                         "(pip install matplotlib)")
        folder = os.path.dirname(os.path.abspath(args.plot))
        if not os.path.isdir(folder):
            parser.error(f"--plot: the folder {folder} does not exist")


def _load(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "digits":
        return datasets.load_digits()
    if name == "moons":
        return datasets.make_moons(n_samples=1000, noise=0.2, seed=DATA_SEED)
    return datasets.make_spirals(n_samples=1500, n_classes=3, noise=0.05, seed=DATA_SEED)


def _standardize(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """(x − mean) / std with the training set's statistics; constant features stay 0."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    return tuple(np.ascontiguousarray((x - mean) / std, dtype=np.float32)
                 for x in (train, *others))


def _build_model(
    args: argparse.Namespace, parser: _Parser, n_in: int, n_out: int
) -> nn.Module:
    activation = _lookup(nn, ACTIVATIONS[args.activation],
                         f"activation '{args.activation}'", parser)
    dropout = _lookup(nn, "Dropout", "dropout", parser) if args.dropout > 0 else None
    layers = []
    for units in args.hidden:
        layers += [nn.Linear(n_in, units), activation()]
        if dropout is not None:
            layers.append(dropout(rate=args.dropout))
        n_in = units
    layers.append(nn.Linear(n_in, n_out))
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
    return cls(model.parameters(), **kwargs)


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


def _train(args: argparse.Namespace, parser: _Parser) -> int:
    _check_train_args(args, parser)
    X, y = _load(args.dataset)
    train, val, test = datasets.train_val_test_split(
        X, y, val=0.15, test=0.15, seed=DATA_SEED, stratify=True
    )
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = train, val, test
    X_train, X_val, X_test = _standardize(X_train, X_val, X_test)
    n_classes = int(y.max()) + 1

    pydtrain.seed(args.seed)
    model = _build_model(args, parser, X.shape[1], n_classes)
    optimizer = _build_optimizer(args, parser, model)
    loss_fn = nn.CrossEntropyLoss()
    shape = " -> ".join(str(n) for n in (X.shape[1], *args.hidden, n_classes))
    print(f"{args.dataset}: {len(X_train)} training, {len(X_val)} validation, "
          f"{len(X_test)} test examples; {X.shape[1]} features, {n_classes} classes")
    print(f"model: {shape} ({args.activation}), {args.optimizer} lr "
          f"{optimizer.param_groups[0]['lr']:g}, {args.epochs} epochs")
    strategies = _regularizers(args)
    callbacks = [] if args.early_stopping is None else [EarlyStopping(patience=args.early_stopping)]
    train_data: Any = (X_train, y_train)
    if args.augment:  # rotate the raw images, then standardize them as the rest
        raw = train[0]
        mean, std = raw.mean(axis=0), np.where(raw.std(axis=0) == 0, 1.0, raw.std(axis=0))
        move = augment.RandomRotation(10, image_shape=(8, 8))

        def transform(xb: np.ndarray) -> np.ndarray:
            return ((move(xb) - mean) / std).astype(np.float32)

        train_data = DataLoader(np.ascontiguousarray(raw, np.float32), y_train, batch_size=args.batch_size,
                                transform=transform)
    described = [repr(r) for r in strategies] + [f"early stopping (patience {args.early_stopping})" for _ in callbacks]
    if args.augment:
        described.append("augmentation (rotations <= 10 degrees)")
    if described:
        print("regularization: " + ", ".join(described))
    try:
        history = fit(
            model, loss_fn, optimizer,
            train=train_data, val=(X_val, y_val),
            epochs=args.epochs, batch_size=args.batch_size,
            regularizers=strategies, callbacks=callbacks,
            progress="epoch" if args.no_progress else True,
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
    if args.plot is not None:
        _save_plot(history, args.plot)
        print(f"plot saved to {args.plot}")
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
    parser, train_parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "info":
        pydtrain.show_config()  # prints the report
        return 0
    return _train(args, train_parser)


if __name__ == "__main__":
    sys.exit(main())
