"""Command line: ``python -m pydtrain {train,eval,info,bench}``.

``train`` fits a multilayer perceptron or a small ResNet on a built-in data set and reports
per-epoch progress and the final test accuracy (``--save``/``--resume`` a checkpoint); ``eval``
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
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

import pydtrain
from pydtrain import _checkpoint, models, nn, optim, plot, regularizers
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
DATASETS = ("digits", "moons", "spirals", "shapes")
IMAGE_DATASETS = ("digits", "shapes")
SHAPES_IMAGES = 6000  # make_shapes(6000) at 28x28: 4200 training images
# defaults that depend on --model: (epochs, batch size, sgd momentum, schedule, hidden); a ResNet's cosine
# schedule ends on small steps, which its BatchNorm running averages can follow
MODEL_DEFAULTS = {"mlp": (20, 32, 0.0, "constant", [128]), "resnet": (20, 64, 0.9, "cosine", None)}
SCHEDULES = ("constant", "step", "exponential", "cosine", "warm-restarts", "cyclic", "swa")
# the options that decide the model and its data: saved in a checkpoint, used again by eval and --resume
MODEL_OPTIONS = ("model", "dataset", "hidden", "activation", "init", "batch_norm", "layer_norm", "dropout", "depths",
                 "widths", "plain")
RESNET_OPTIONS = {"depths": [1, 1, 1], "widths": [8, 16, 32], "plain": False}  # and their defaults
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
        help="train an MLP or a small ResNet on a built-in data set and report its test accuracy",
        description="Train a multilayer perceptron or a small ResNet on a built-in data set (split "
        "70/15/15 into training, validation and test sets, standardized with the training "
        "statistics: per feature for the MLP, one mean and deviation over all pixels for the "
        "ResNet) and report the test accuracy. On 2 cores shared with other work the default ResNet "
        "(20 epochs) takes about 30 s on digits and 1–2 min on shapes.",
    )
    train.add_argument("--model", choices=tuple(MODEL_DEFAULTS), default="mlp",
                       help="mlp: fully connected layers (--hidden); resnet: pydtrain.models.resnet, "
                       "convolutions on the images (--depths, --widths; digits or shapes) (default: mlp)")
    train.add_argument("--dataset", choices=DATASETS, default="digits",
                       help="data set: digits, 8x8 images of 10 digits; moons, spirals, points in the plane; "
                       f"shapes, {SHAPES_IMAGES} 28x28 images of 6 drawn shapes among ink spots (default: digits)")
    train.add_argument("--hidden", type=int, nargs="+", default=None, metavar="UNITS",
                       help="mlp: units of each hidden layer, e.g. --hidden 128 64 (default: 128)")
    train.add_argument("--depths", type=int, nargs="+", default=None, metavar="BLOCKS",
                       help="resnet: BasicBlocks per stage; stages after the first halve the resolution "
                       f"(default: {' '.join(map(str, RESNET_OPTIONS['depths']))})")
    train.add_argument("--widths", type=int, nargs="+", default=None, metavar="CHANNELS",
                       help="resnet: channels per stage, one per depth "
                       f"(default: {' '.join(map(str, RESNET_OPTIONS['widths']))})")
    train.add_argument("--plain", action="store_true",
                       help="resnet: no shortcuts, the plain network of the same depth")
    train.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                       help="activation after each hidden layer (default: relu)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                       help="optimizer (default: sgd)")
    train.add_argument("--lr", type=float, default=None,
                       help="learning rate (default: 0.1 for sgd, 0.001 otherwise)")
    train.add_argument("--momentum", type=float, default=None,
                       help="momentum for sgd or rmsprop (default: 0, none; resnet with sgd 0.9)")
    train.add_argument("--epochs", type=int, default=None,
                       help="passes over the data (default: 20)")
    train.add_argument("--batch-size", type=int, default=None,
                       help="examples per step (default: mlp 32, resnet 64)")
    train.add_argument("--dropout", type=float, default=0.0,
                       help="drop probability after each hidden layer (default: 0, none)")
    train.add_argument("--l2", type=float, default=0.0, metavar="LAMBDA",
                       help="L2 penalty λ/2·‖w‖² on the weights (default: 0, none)")
    train.add_argument("--l1", type=float, default=0.0, metavar="LAMBDA",
                       help="L1 penalty λ·‖w‖₁ on the weights (default: 0, none)")
    train.add_argument("--weight-noise", type=float, default=0.0, metavar="STD",
                       help="std of the Gaussian noise on the weights at each step (default: 0, none)")
    train.add_argument("--augment", action="store_true",
                       help="augment the training images, drawn anew for each batch: digits, random rotations "
                       "of up to 10 degrees (on these centred 8x8 digits a 1-pixel shift already costs "
                       "accuracy); shapes, random shifts of up to 2 pixels and horizontal flips")
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
                       help="learning-rate schedule, stepped once per epoch (default: constant; resnet: cosine)")
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


def _model_options(args: argparse.Namespace, parser: _Parser) -> None:
    """Fills the defaults that depend on --model; rejects the options of the other model."""
    epochs, batch_size, momentum, schedule, hidden = MODEL_DEFAULTS[args.model]
    momentum = momentum if args.optimizer == "sgd" else 0.0
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("momentum", momentum),
                        ("schedule", schedule)):
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.model == "mlp":
        given = [f"--{name}" for name in RESNET_OPTIONS if getattr(args, name) not in (None, False)]
        if given:
            parser.error(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to --model resnet")
        args.hidden = hidden if args.hidden is None else args.hidden
        return
    mlp_only = {"--hidden": args.hidden is not None, "--activation": args.activation != "relu",
                "--init": args.init is not None, "--batch-norm": args.batch_norm, "--layer-norm": args.layer_norm,
                "--dropout": args.dropout != 0}
    given = [option for option, is_given in mlp_only.items() if is_given]
    if given:
        parser.error(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to --model mlp (a ResNet has "
                     "ReLU, batch normalization and He-normal convolutions built in)")
    if args.dataset not in IMAGE_DATASETS:
        parser.error(f"--model resnet needs images (--dataset {' or '.join(IMAGE_DATASETS)}); {args.dataset} are "
                     "points in the plane")
    for name, value in RESNET_OPTIONS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if any(n < 1 for n in args.depths + args.widths):
        parser.error(f"--depths and --widths must be positive integers, got {args.depths} and {args.widths}")
    if len(args.depths) != len(args.widths):
        parser.error(f"--depths and --widths need one number per stage each, got {len(args.depths)} and "
                     f"{len(args.widths)}")


def _check_train_args(args: argparse.Namespace, parser: _Parser) -> None:
    """Rejects invalid values with a usage error before any work is done."""
    _model_options(args, parser)
    if args.lr is not None and not 0 < args.lr < math.inf:
        parser.error(f"--lr must be a positive finite number, got {args.lr}")
    if args.epochs < 1:
        parser.error(f"--epochs must be a positive integer, got {args.epochs}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be a positive integer, got {args.batch_size}")
    if args.model == "mlp" and any(units < 1 for units in args.hidden):
        parser.error(f"--hidden sizes must be positive integers, got {args.hidden}")
    if not 0 <= args.dropout < 1:
        parser.error(f"--dropout is a drop probability in [0, 1), got {args.dropout}")
    if not 0 <= args.momentum < 1:
        parser.error(f"--momentum must be in [0, 1), got {args.momentum}")
    if args.augment and args.dataset not in IMAGE_DATASETS:
        parser.error(f"--augment needs images (--dataset {' or '.join(IMAGE_DATASETS)}); {args.dataset} are points "
                     "in the plane")
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


def _load(name: str, images: bool) -> tuple[np.ndarray, np.ndarray]:
    """A built-in data set; image sets as (N, 1, H, W) when ``images``, else one flat row per image."""
    if name == "digits":
        return datasets.load_digits(as_images=images)
    if name == "shapes":
        X, y = datasets.make_shapes(SHAPES_IMAGES, seed=DATA_SEED)
        return (X if images else X.reshape(len(X), -1)), y
    if name == "moons":
        return datasets.make_moons(n_samples=1000, noise=0.2, seed=DATA_SEED)
    return datasets.make_spirals(n_samples=1500, n_classes=3, noise=0.05, seed=DATA_SEED)


def _build_model(
    args: argparse.Namespace, parser: _Parser, n_in: int, n_out: int
) -> nn.Module:
    """The --model: an MLP on n_in features, or a ResNet on images of n_in channels; n_out logits."""
    if args.model == "resnet":
        return models.resnet(args.depths, args.widths, in_channels=n_in, num_classes=n_out, shortcut=not args.plain)
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


def _splits(dataset: str, images: bool = False) -> tuple[Any, ...]:
    """(train, val, test) of a built-in data set standardized with the training statistics, the raw training
    inputs and the standardizing function.

    Flat features are standardized each with its own mean and deviation; images with one mean and one
    deviation over all training pixels, so that a shape looks the same to a convolution wherever it lies.
    """
    X, y = _load(dataset, images)
    train, val, test = datasets.train_val_test_split(X, y, val=0.15, test=0.15, seed=DATA_SEED, stratify=True)
    scaler = StandardScaler().fit(train[0].reshape(-1, 1) if images else train[0])

    def standardize(X: np.ndarray) -> np.ndarray:
        flat = X.reshape(-1, 1) if images else X
        return scaler.transform(flat).astype(np.float32).reshape(X.shape)

    return (*((standardize(X), y) for X, y in (train, val, test)), train[0], standardize)


def _augmentation(dataset: str, images: bool) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """The --augment transform of raw training inputs, and its description."""
    if dataset == "digits":
        return augment.RandomRotation(10, image_shape=None if images else (8, 8)), "rotations <= 10 degrees"
    return (augment.Compose([augment.RandomShift(2), augment.RandomHorizontalFlip()],
                            image_shape=None if images else (28, 28)), "shifts <= 2 pixels, horizontal flips")


def _describe(options: argparse.Namespace, n_in: int, n_out: int, model: nn.Module) -> str:
    """The model in a few words: the layer widths of an MLP, the stages of a ResNet."""
    if options.model == "resnet":
        params = sum(p.size for p in model.parameters())
        return (f"{'plain network' if options.plain else 'ResNet'}, widths {'-'.join(map(str, options.widths))}, "
                f"{'-'.join(map(str, options.depths))} BasicBlocks per stage ({2 * sum(options.depths) + 2} weight "
                f"layers, {params:,} parameters)")
    return " -> ".join(str(n) for n in (n_in, *options.hidden, n_out)) + f" ({options.activation})"


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
    images = args.model == "resnet"
    (X_train, y_train), (X_val, y_val), (X_test, y_test), raw_train, standardize = _splits(args.dataset, images)
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
    inputs = f"images {'x'.join(map(str, X_train.shape[1:]))}" if images else f"{n_features} features"
    print(f"{args.dataset}: {len(X_train)} training, {len(X_val)} validation, "
          f"{len(X_test)} test examples; {inputs}, {n_classes} classes")
    momentum = f" momentum {args.momentum:g}" if args.momentum else ""
    print(f"model: {_describe(args, n_features, n_classes, model)}, {args.optimizer} lr "
          f"{optimizer.param_groups[0]['lr']:g}{momentum}, batch {args.batch_size}, {args.epochs} epochs"
          + (f", {args.schedule} schedule" if args.schedule != "constant" else "")
          + (f", resumed after epoch {initial_epoch} from {args.resume}" if args.resume else ""))
    strategies = _regularizers(args)
    callbacks = [] if args.early_stopping is None else [EarlyStopping(patience=args.early_stopping)]
    train_data: Any = (X_train, y_train)
    described = [repr(r) for r in strategies] + [f"early stopping (patience {args.early_stopping})" for _ in callbacks]
    if args.augment:  # move the raw images, then standardize them as the rest
        move, moves = _augmentation(args.dataset, images)
        train_data = DataLoader(raw_train, y_train, batch_size=args.batch_size,
                                transform=lambda xb: standardize(move(xb)))
        described.append(f"augmentation ({moves})")
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
        if not isinstance(config, dict) or not set(config) <= set(MODEL_OPTIONS) \
                or set(MODEL_OPTIONS) - set(config) - {"model", *RESNET_OPTIONS}:
            parser.error(f"{path} was not written by {PROG} train --save (no model options in it)")
        options = argparse.Namespace(**{"model": "mlp", **RESNET_OPTIONS, **config})  # older ones: MLPs
        (X_test, y_test) = _splits(options.dataset, options.model == "resnet")[2]
        n_in, n_out = X_test.shape[1], int(y_test.max()) + 1
        model = _build_model(options, parser, n_in, n_out)
        info = load_checkpoint(path, model)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    result = evaluate(model, nn.CrossEntropyLoss(), (X_test, y_test))
    print(f"{path}: {options.dataset}, model {_describe(options, n_in, n_out, model)}, trained {info['epoch']} "
          "epochs")
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
