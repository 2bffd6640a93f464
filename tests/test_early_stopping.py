"""EarlyStopping on constructed validation curves: the epoch it stops at, the weights it restores, the modes."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import callbacks, nn, optim, train
from pydtrain.callbacks import Callback, EarlyStopping
from pydtrain.data import datasets
from pydtrain.train import fit


class Curve(Callback):
    """Puts curve[epoch] in the logs under `key` (before EarlyStopping sees them) and keeps each epoch's weights."""

    def __init__(self, key, curve):
        self.key, self.curve, self.weights = key, curve, []

    def on_epoch_end(self, epoch, logs):
        logs[self.key] = self.curve[epoch]
        self.weights.append(self.trainer.model.state_dict())


def run(curve, key="val_loss", epochs=None, **kwargs):
    X, y = datasets.make_moons(n_samples=64, noise=0.1, seed=0)
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    curve_cb, stop = Curve(key, curve), EarlyStopping(monitor=key, **kwargs)
    h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5), (X, y), val=(X, y),
            epochs=epochs or len(curve), callbacks=[curve_cb, stop], progress=False)
    return model, h, stop, curve_cb.weights


def assert_weights(model, state):
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[key])


def test_stops_after_patience_epochs_without_improvement_and_restores_the_best():
    curve = [1.0, 0.8, 0.85, 0.7, 0.75, 0.72, 0.71, 0.5, 0.4]
    model, h, stop, weights = run(curve, patience=3)
    assert (stop.stopped_epoch, stop.best_epoch, stop.best) == (6, 3, 0.7)
    assert h.epochs == 7
    assert_weights(model, weights[3])
    assert not np.array_equal(weights[3]["0.weight"], weights[6]["0.weight"])


def test_min_delta_counts_small_improvements_as_none():
    curve = [1.0, 0.97, 0.96, 0.95, 0.5, 0.4]
    _, h, stop, _ = run(curve, patience=3, min_delta=0.05)
    assert (stop.stopped_epoch, stop.best_epoch) == (3, 0)
    _, h, stop, _ = run(curve, patience=3)
    assert stop.stopped_epoch == 0 and stop.best_epoch == 5 and h.epochs == 6


def test_restores_the_best_weights_also_when_training_runs_to_the_last_epoch():
    curve = [1.0, 0.5, 0.6, 0.7]
    model, h, stop, weights = run(curve, patience=5)
    assert h.epochs == 4 and stop.stopped_epoch == 0 and stop.best_epoch == 1
    assert_weights(model, weights[1])
    model, _, _, weights = run(curve, patience=5, restore_best_weights=False)
    assert_weights(model, weights[3])


def test_accuracy_is_maximized_and_patience_zero_stops_at_the_first_miss():
    curve = [0.5, 0.6, 0.9, 0.8, 0.95]
    model, _, stop, weights = run(curve, key="val_accuracy", patience=0)
    assert stop.mode == "max" and (stop.stopped_epoch, stop.best_epoch, stop.best) == (3, 2, 0.9)
    assert_weights(model, weights[2])
    _, _, stop, _ = run(curve, key="val_accuracy", patience=0, mode="min")
    assert (stop.stopped_epoch, stop.best_epoch) == (1, 0)


def test_start_from_epoch_ignores_the_first_epochs():
    curve = [0.1, 0.9, 0.8, 0.85, 0.86, 0.87]
    model, _, stop, weights = run(curve, patience=2, start_from_epoch=1)
    assert (stop.stopped_epoch, stop.best_epoch, stop.best) == (4, 2, 0.8)
    assert_weights(model, weights[2])


def test_no_improvement_ever_restores_the_first_watched_epoch():
    curve = [np.inf, np.inf, np.inf, np.inf]
    model, _, stop, weights = run(curve, patience=2)
    assert stop.stopped_epoch == 1 and stop.best_epoch == 0  # Keras counts the first epoch as a miss too
    assert_weights(model, weights[0])


def test_missing_monitor_lists_the_keys_present():
    X, y = datasets.make_moons(n_samples=32, noise=0.1, seed=0)
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"^EarlyStopping: monitor 'val_loss' is not in the epoch logs; "
                                         r"the keys are accuracy, loss, lr \(pass val= to fit"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=2,
            callbacks=[EarlyStopping()], progress=False)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"patience": -1}, ValueError, "patience must be an integer >= 0"),
    ({"patience": 1.5}, TypeError, "patience must be an integer >= 0"),
    ({"min_delta": -0.1}, ValueError, "min_delta must be >= 0"),
    ({"mode": "down"}, ValueError, "mode must be 'auto', 'min' or 'max'"),
    ({"monitor": "val_f1"}, ValueError, "cannot tell whether 'val_f1'"),
    ({"monitor": 3}, TypeError, "monitor must be a string"),
    ({"start_from_epoch": -2}, ValueError, "start_from_epoch must be an integer >= 0"),
    ({"restore_best_weights": "yes"}, TypeError, "restore_best_weights must be True or False"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match="^EarlyStopping: " + match):
        EarlyStopping(**kwargs)


def test_exported_from_train_and_callbacks():
    assert train.EarlyStopping is callbacks.EarlyStopping is EarlyStopping
    assert EarlyStopping(monitor="val_loss").mode == "min"
    assert EarlyStopping(monitor="accuracy").mode == "max"
