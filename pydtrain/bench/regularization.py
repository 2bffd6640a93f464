"""Regularization on a small data set: one over-parameterized MLP, 300 training digits, each strategy of the
lecture switched on alone, one table; and the speed of the L2 penalty against one read pass.

Every strategy trains the same network (64 → 512 → 512 → 10, ReLU, He initialization) from the same seed
with SGD (momentum 0.9, lr 0.05, batch 32) for the same number of epochs; only the strategy differs.
"val" is a held-out set of about 900 digits that no strategy sees or chooses by; early stopping
watches a third set of about 600 digits (its own validation set, as it would have in practice). Train
columns are measured in inference mode on the 300 training digits, losses are data losses (no penalty).
Hyper-parameters (λ, σ, patience, the SWA phase) were picked among a few values by the accuracy on the
early-stopping set, never on "val". The table runs at 1 thread: its seconds are for comparing rows.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .. import _C
from . import common
from .optim import _side_by_side, _timed

__all__ = ["regularization_table", "run"]

TRAIN = 300
EPOCHS = 60
HIDDEN = 512
LR = 0.02
SWA_START = 20  # SWA averages the weights at the end of each epoch from here on,
SWA_LR = 0.1    # at this high constant learning rate


def _digits():
    from ..data import datasets

    X, y = datasets.load_digits()
    test = 1.0 - TRAIN / len(X) - 0.5
    train, val, stop = datasets.train_val_test_split(X, y, val=0.5, test=test, seed=0, stratify=True)
    train = train[0][:TRAIN], train[1][:TRAIN]  # the split's rounding may leave one more
    mean, std = train[0].mean(axis=0), train[0].std(axis=0) + 1.0  # pixels 0–16: +1 keeps constant pixels at 0
    return [(np.ascontiguousarray((x - mean) / std, dtype=np.float32), t) for x, t in (train, val, stop)]


def _model(dropout: float = 0.0, input_noise: float = 0.0):
    from .. import nn

    layers = [nn.GaussianNoise(input_noise)] if input_noise else []
    for n_in, n_out in ((64, HIDDEN), (HIDDEN, HIDDEN)):
        layers += [nn.Linear(n_in, n_out, init="he_normal"), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(rate=dropout))
    layers.append(nn.Linear(HIDDEN, 10))
    return nn.Sequential(*layers)


def _sgd(model):
    from .. import optim

    return optim.SGD(model.parameters(), lr=LR, momentum=0.9)


def _scores(predict: Callable[[np.ndarray], np.ndarray], data, probabilities: bool = False) -> tuple[float, float]:
    """(cross-entropy, accuracy) of a model in inference mode; `predict` gives logits or probabilities."""
    x, y = data
    out = predict(x).astype(np.float64)
    if probabilities:
        log_p = np.log(np.maximum(out, 1e-300))
    else:
        z = out - out.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean()), float((out.argmax(axis=1) == y).mean())


def _fit(model, train, loss_fn=None, **kwargs):
    from .. import nn
    from ..train import fit

    fit(model, loss_fn or nn.CrossEntropyLoss(), _sgd(model), train, epochs=EPOCHS, batch_size=32,
        progress=False, **kwargs)
    return model.eval(), False


def _strategies(train, stop):
    """name -> function training from the current seed and returning (predictor, outputs are probabilities)."""
    from .. import nn, optim, regularizers
    from ..callbacks import Callback
    from ..data import DataLoader, augment
    from ..train import EarlyStopping, fit, fit_ensemble

    def swa():
        model = _model()
        optimizer = _sgd(model)
        averager = optim.SWA(model.parameters())

        class Average(Callback):
            """From epoch SWA_START on: the high constant learning rate, and one update() per epoch."""

            def on_epoch_end(self, epoch, logs):
                if epoch + 1 == SWA_START:
                    optimizer.param_groups[0]["lr"] = SWA_LR
                if epoch + 1 >= SWA_START:
                    averager.update()

        fit(model, nn.CrossEntropyLoss(), optimizer, train, epochs=EPOCHS, batch_size=32, progress=False,
            callbacks=[Average()])
        averager.copy_to(model.parameters())
        return model.eval(), False

    def ensemble():
        members, _ = fit_ensemble(_model, _sgd, nn.CrossEntropyLoss(), train, k=5, epochs=EPOCHS, batch_size=32,
                                  progress=False)
        return members.eval(), True

    return {
        "none": lambda: _fit(_model(), train),
        "L2 (λ = 1e-2)": lambda: _fit(_model(), train, regularizers=[regularizers.L2(1e-2)]),
        "L1 (λ = 1e-4)": lambda: _fit(_model(), train, regularizers=[regularizers.L1(1e-4)]),
        "dropout (rate 0.5)": lambda: _fit(_model(dropout=0.5), train),
        "input noise (std 0.5)": lambda: _fit(_model(input_noise=0.5), train),
        "weight noise (std 0.02)": lambda: _fit(_model(), train, regularizers=[regularizers.WeightNoise(0.02)]),
        "label smoothing (ε = 0.1)": lambda: _fit(_model(), train, nn.CrossEntropyLoss(label_smoothing=0.1)),
        "augmentation (rotations ±10°)": lambda: _fit(_model(), DataLoader(
            *train, batch_size=32, transform=augment.RandomRotation(10, image_shape=(8, 8)))),
        "early stopping (patience 5)": lambda: _fit(_model(), train, val=stop,
                                                    callbacks=[EarlyStopping(patience=5)]),
        "ensemble of 5": ensemble,
        f"SWA (lr {SWA_LR} after epoch {SWA_START})": swa,
    }


def regularization_table() -> list[dict]:
    """Trains every strategy and prints one row each; returns the rows."""
    import pydtrain as pdt

    train, val, stop = _digits()
    print(f"\n== regularization: MLP 64-{HIDDEN}-{HIDDEN}-10 on {len(train[0])} training digits, SGD momentum 0.9, "
          f"lr {LR}, {EPOCHS} epochs; val: {len(val[0])} held-out digits ==")
    print(f"{'strategy':<30} {'train loss':>10} {'train acc':>9} {'val loss':>9} {'val acc':>8} {'seconds':>8}")
    rows = []
    for name, train_with in _strategies(train, stop).items():
        pdt.seed(0)
        start = time.perf_counter()
        model, probabilities = train_with()
        seconds = time.perf_counter() - start
        train_loss, train_acc = _scores(model, train, probabilities)
        val_loss, val_acc = _scores(model, val, probabilities)
        print(f"{name:<30} {train_loss:10.4f} {train_acc:9.3f} {val_loss:9.4f} {val_acc:8.3f} {seconds:8.2f}",
              flush=True)
        rows.append({"strategy": name, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss,
                     "val_acc": val_acc, "seconds": seconds})
    better = [r["strategy"] for r in rows[1:] if r["val_acc"] > rows[0]["val_acc"]]
    print(f"{len(better)} of {len(rows) - 1} strategies beat the unregularized validation accuracy "
          f"{rows[0]['val_acc']:.3f}")
    return rows


def _penalty_rows(args) -> None:
    """L2 value + gradient on 1M float32 parameters against one read pass over the parameters and gradients."""
    n = 1 << 20
    rng = np.random.default_rng(0)
    w = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    both = np.concatenate([w, g])  # the bytes the penalty reads, in one array: the read pass to match
    torch = common.torch
    for threads in args.threads:
        common.set_threads(threads)
        t = common.Table(f"L2 penalty, float32, {threads} thread(s): value λ/2·Σw² and g += λw in one pass")
        ours, read = _side_by_side([_timed(lambda: _C.l2_penalty(w, g, 1e-6)), _timed(lambda: _C.clip_sumsq(both))],
                                   rounds=1 if args.quick else 5)

        def numpy_l2():
            g.__iadd__(1e-6 * w)
            return 0.5e-6 * float(np.dot(w, w))

        tw, tg = (torch.from_numpy(w), torch.from_numpy(g)) if torch is not None else (None, None)

        def torch_l2():
            tg.add_(tw, alpha=1e-6)
            return 0.5e-6 * float(torch.dot(tw, tw))

        t.row("l2_penalty 1M params", ours, common.median_time(numpy_l2),
              common.median_time(torch_l2) if torch is not None else None,
              note=f"{ours / read:.2f}x one read pass over w and g ({read * 1e6:.0f} us, goal <= 1.3x)")


def run(args) -> None:
    _penalty_rows(args)
    common.set_threads(1)
    regularization_table()
