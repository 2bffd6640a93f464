"""Tests of pydtrain.train (fit, evaluate, History) and pydtrain.callbacks.Callback."""

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import nn, optim
from pydtrain.callbacks import Callback
from pydtrain.data import DataLoader, datasets
from pydtrain.train import History, Trainer, accuracy, evaluate, fit


def moons(n=200):
    X, y = datasets.make_moons(n_samples=n, noise=0.1, seed=0)
    return X, y


def mlp(n_in=2, hidden=16, n_out=2):
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


def setup(lr=0.1, seed=0, **model_kwargs):
    pdt.seed(seed)
    model = mlp(**model_kwargs)
    return model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr)


class Recorder(Callback):
    """Records every hook call as a tuple."""

    def __init__(self):
        self.events = []

    def on_train_begin(self, trainer):
        self.events.append(("train_begin", trainer))

    def on_epoch_begin(self, epoch):
        self.events.append(("epoch_begin", epoch))

    def on_batch_end(self, batch, logs):
        self.events.append(("batch_end", batch, dict(logs)))

    def on_epoch_end(self, epoch, logs):
        self.events.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self):
        self.events.append(("train_end",))


# ---------------------------------------------------------------- fit


def test_fit_decreases_loss_and_fills_history(capsys):
    X, y = moons()
    model, loss_fn, opt = setup()
    h = fit(model, loss_fn, opt, (X[:150], y[:150]), val=(X[150:], y[150:]),
            epochs=8, batch_size=16, progress=False)
    assert isinstance(h, History) and h.epochs == 8
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(values) == 8 for values in h.history.values())
    assert h["loss"][-1] < 0.75 * h["loss"][0]
    assert h["val_loss"][-1] < h["val_loss"][0]
    assert h["accuracy"][-1] > 0.8
    assert all(0.0 <= a <= 1.0 for a in h["accuracy"] + h["val_accuracy"])
    assert h["lr"] == [0.1] * 8
    assert capsys.readouterr() == ("", "")  # progress=False prints nothing


def test_fit_without_validation_has_no_val_keys():
    X, y = moons(64)
    h = fit(*setup(), (X, y), epochs=2, progress=False)
    assert set(h.history) == {"loss", "accuracy", "lr"}


def test_regression_skips_accuracy():
    X, y = datasets.make_polynomial_regression(64, degree=2, noise=0.05, seed=0)
    pdt.seed(0)
    model = mlp(n_in=1, hidden=16, n_out=1)
    h = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), (X, y),
            val=(X, y), epochs=20, batch_size=16, progress=False)
    assert set(h.history) == {"loss", "val_loss", "lr"}
    assert h["loss"][-1] < h["loss"][0]


def test_custom_metric_function():
    X, y = moons(64)

    def error_rate(output, target):
        return 1.0 - accuracy(output, target)

    h = fit(*setup(), (X, y), val=(X, y), epochs=2, metrics=("accuracy", error_rate),
            progress=False)
    np.testing.assert_allclose(np.add(h["accuracy"], h["error_rate"]), 1.0)
    assert "val_error_rate" in h.history


def test_same_seed_same_training():
    X, y = moons(100)

    def run():
        model, loss_fn, opt = setup(seed=4)
        return fit(model, loss_fn, opt, (X, y), epochs=3, progress=False)["loss"]

    assert run() == run()


def test_progress_epoch_prints_one_line_per_epoch(capsys):
    X, y = moons(64)
    fit(*setup(), (X, y), val=(X, y), epochs=3, progress="epoch")
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 3 and err == ""
    assert lines[0].startswith("epoch 1/3")
    for word in ("loss", "acc", "val_loss", "val_acc", "lr 0.1"):
        assert word in lines[-1]


def test_progress_bar_goes_to_stderr(capsys):
    X, y = moons(64)
    fit(*setup(), (X, y), epochs=2, progress=True)
    out, _ = capsys.readouterr()
    assert len(out.strip().splitlines()) == 2


def test_train_loader_with_transform():
    X, y = moons(40)
    calls = []

    def count(xb):
        calls.append(len(xb))
        return xb

    loader = DataLoader(X, y, batch_size=16, transform=count)
    fit(*setup(), loader, epochs=2, batch_size=999, progress=False)
    assert calls == [16, 16, 8] * 2  # the loader's batch size wins


def test_scheduler_steps_once_per_epoch():
    X, y = moons(64)
    model, loss_fn, opt = setup()

    class Halve:
        calls = 0

        def step(self):
            self.calls += 1
            opt.param_groups[0]["lr"] /= 2

    sched = Halve()
    h = fit(model, loss_fn, opt, (X, y), epochs=3, scheduler=sched, progress=False)
    assert sched.calls == 3
    assert h["lr"] == [0.1, 0.05, 0.025]


def test_regularizer_penalty_comes_after_backward_and_adds_to_loss():
    X, y = moons(64)
    model, loss_fn, opt = setup()
    seen_grad_norms = []

    class Constant:
        def penalty(self, params):
            seen_grad_norms.append(sum(float(np.abs(p.grad).sum()) for p in params))
            return 5.0

    h = fit(model, loss_fn, opt, (X, y), epochs=2, batch_size=32,
            regularizers=[Constant()], progress=False)
    assert len(seen_grad_norms) == 4 and min(seen_grad_norms) > 0
    assert min(h["loss"]) > 5.0


def test_clip_grad_norm_limits_the_step():
    X, y = moons(64)
    model, loss_fn, opt = setup(lr=1.0)
    before = [p.data.copy() for p in model.parameters()]
    fit(model, loss_fn, opt, (X, y), epochs=1, batch_size=64, clip_grad_norm=1e-3,
        progress=False)
    moved = np.sqrt(sum(float(((p.data - b) ** 2).sum())
                        for p, b in zip(model.parameters(), before)))
    assert 0 < moved <= 1e-3 * 1.001


def test_non_finite_loss_stops_with_a_clear_message():
    X, y = moons(64)
    model, loss_fn, opt = setup()

    class NaNOnThirdCall:
        calls = 0

        def __call__(self, out, target):
            self.calls += 1
            value = loss_fn(out, target)
            return float("nan") if self.calls == 3 else value

        def backward(self):
            return loss_fn.backward()

    with pytest.raises(FloatingPointError, match=r"^fit: training diverged at epoch 2, step 1 of 2 \(step 3 of the run\)"
                       r": the training loss is nan\. Every gradient is finite\. .*learning rate too high"):
        fit(model, NaNOnThirdCall(), opt, (X, y), epochs=3, batch_size=32, progress=False)


def poison_second_backward(layer):
    """From now on, the layer's second backward leaves an inf in its weight gradient."""
    backward, calls = layer.backward, []

    def poisoned(dy, *args, **kwargs):
        calls.append(1)
        dx = backward(dy, *args, **kwargs)
        if len(calls) == 2:
            layer.weight.grad[0, 0] = np.inf
        return dx

    layer.backward = poisoned


@pytest.mark.parametrize("clip", [None, 1.0])
def test_non_finite_gradient_names_the_layer(clip):
    X, y = moons(64)
    model, loss_fn, opt = setup()
    poison_second_backward(model[0])
    weights = model.state_dict()
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 2 of 2 .*: the gradient norm is (inf|nan)\. The first "
                       r"non-finite gradient backpropagation reached is that of '0\.weight' \(layer '0'; 1 parameters"
                       r".*clip_grad_norm=1\.0.*bad inputs"):
        fit(model, loss_fn, opt, (X, y), epochs=2, batch_size=32, progress=False, clip_grad_norm=clip)
    assert np.isfinite(model[0].weight.data).all()  # the step was not taken
    assert not np.array_equal(model.state_dict()["0.weight"], weights["0.weight"])  # the first one was


@pytest.mark.parametrize("clip", [None, 1.0])
def test_skip_nonfinite_skips_an_infinite_gradient(clip):
    X, y = moons(64)
    model, loss_fn, opt = setup()
    poison_second_backward(model[0])
    h = fit(model, loss_fn, opt, (X, y), epochs=2, batch_size=16, progress=False, clip_grad_norm=clip,
            skip_nonfinite=True)
    assert h["skipped_steps"] == [1, 0] and h.skipped_steps == 1
    assert all(np.isfinite(v).all() for v in model.state_dict().values())


def test_keyboard_interrupt_returns_the_history(capsys):
    X, y = moons(64)
    model, loss_fn, opt = setup()
    ended = []

    class Interrupt(Callback):
        def on_batch_end(self, batch, logs):
            if self.trainer.epoch == 2 and batch == 1:
                raise KeyboardInterrupt

        def on_train_end(self):
            ended.append(True)

    h = fit(model, loss_fn, opt, (X, y), epochs=5, batch_size=16, callbacks=[Interrupt()], progress="epoch")
    assert h.epochs == 2 and len(h["loss"]) == 2 and ended == [True]
    err = capsys.readouterr().err
    assert "fit: interrupted in epoch 3 after 10 steps; returning the history of the 2 complete epochs" in err
    assert model.training


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": 0}, ValueError, "epochs must be a positive integer, got 0"),
        ({"clip_grad_norm": -1.0}, ValueError, "clip_grad_norm"),
        ({"progress": "yes"}, ValueError, "progress"),
        ({"metrics": ("f1",)}, ValueError, "unknown metric 'f1'"),
        ({"callbacks": [object()]}, TypeError, "Callback"),
        ({"regularizers": [object()]}, TypeError, "penalty"),
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
        ({"train": [np.zeros((4, 2), np.float32)]}, TypeError, r"pair \(X, y\)"),
        ({"train": DataLoader(np.zeros((4, 2), np.float32), None, 2)}, ValueError, "labels"),
    ],
)
def test_bad_fit_arguments(kwargs, error, match):
    X, y = moons(16)
    args = {"train": (X, y), "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        fit(*setup(), **args)


# ---------------------------------------------------------------- evaluate


def test_evaluate_matches_one_big_batch():
    X, y = moons(50)
    model, loss_fn, _ = setup()
    result = evaluate(model, loss_fn, (X, y), batch_size=7)
    model.eval()
    out = model(X)
    assert set(result) == {"loss", "accuracy"}
    np.testing.assert_allclose(result["loss"], loss_fn(out, y), rtol=1e-5)
    assert result["accuracy"] == pytest.approx(accuracy(out, y))


def test_evaluate_runs_in_eval_mode_and_restores_the_mode():
    X, y = moons(20)
    model, loss_fn, _ = setup()
    modes = []

    class Spy:
        """Stands in for the model, recording its mode at each forward pass."""

        @property
        def training(self):
            return model.training

        def train(self):
            return model.train()

        def eval(self):
            return model.eval()

        def __call__(self, x):
            modes.append(model.training)
            return model(x)

    for start_in_training in (True, False):
        model.train() if start_in_training else model.eval()
        evaluate(Spy(), loss_fn, (X, y), batch_size=8)
        assert model.training is start_in_training
    assert modes and not any(modes)


def test_accuracy():
    out = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]])
    assert accuracy(out, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="one output column per class"):
        accuracy(np.zeros((3, 1)), np.zeros(3, np.int64))


# ---------------------------------------------------------------- callbacks


def test_callback_hooks_in_order():
    X, y = moons(20)
    recorder = Recorder()
    h = fit(*setup(), (X, y), val=(X, y), epochs=2, batch_size=10, callbacks=[recorder],
            progress=False)
    names = [event[0] for event in recorder.events]
    assert names == ["train_begin",
                     "epoch_begin", "batch_end", "batch_end", "epoch_end",
                     "epoch_begin", "batch_end", "batch_end", "epoch_end",
                     "train_end"]
    trainer = recorder.events[0][1]
    assert isinstance(trainer, Trainer) and recorder.trainer is trainer
    assert trainer.step == 4 and trainer.history is h
    assert [e[1] for e in recorder.events if e[0] in ("epoch_begin", "epoch_end")] == [0, 0, 1, 1]
    batch_logs = recorder.events[2][2]
    assert batch_logs["batch_size"] == 10 and {"loss", "accuracy"} <= set(batch_logs)
    epoch_logs = recorder.events[4][2]
    assert set(epoch_logs) == set(h.history)
    assert epoch_logs["val_loss"] == h["val_loss"][0]


def test_stop_training_at_epoch_end():
    X, y = moons(20)

    class StopAfterTwo(Recorder):
        def on_epoch_end(self, epoch, logs):
            super().on_epoch_end(epoch, logs)
            if epoch == 1:
                self.trainer.stop_training = True

    cb = StopAfterTwo()
    h = fit(*setup(), (X, y), epochs=10, batch_size=10, callbacks=[cb], progress=False)
    assert h.epochs == 2
    assert cb.events[-1] == ("train_end",)


def test_stop_training_after_a_batch_ends_the_epoch():
    X, y = moons(40)

    class StopNow(Recorder):
        def on_batch_end(self, batch, logs):
            super().on_batch_end(batch, logs)
            self.trainer.stop_training = True

    cb = StopNow()
    h = fit(*setup(), (X, y), val=(X, y), epochs=5, batch_size=10, callbacks=[cb],
            progress=False)
    names = [event[0] for event in cb.events]
    assert names == ["train_begin", "epoch_begin", "batch_end", "epoch_end", "train_end"]
    assert h.epochs == 1 and "val_loss" in h.history


def test_base_callback_hooks_do_nothing():
    X, y = moons(20)
    h = fit(*setup(), (X, y), epochs=2, callbacks=[Callback()], progress=False)
    assert h.epochs == 2


def test_history_reads_like_its_dict():
    h = History()
    h._append({"loss": 0.5, "accuracy": 0.8})
    h._append({"loss": 0.25, "accuracy": 0.9})
    assert "loss" in h and "acc" not in h
    assert list(h) == list(h.keys()) == ["loss", "accuracy"]
    assert h["loss"] == [0.5, 0.25]
    with pytest.raises(KeyError, match=r"History has no 'acc'; its keys are \['loss', 'accuracy'\]"):
        h["acc"]


@pytest.mark.parametrize("mistake", ["loss class", "optimizer class", "no optimizer"])
def test_fit_names_a_class_or_none_where_an_object_belongs(mistake):
    X, y = np.ones((8, 4), np.float32), np.arange(8) % 2
    model = nn.Sequential(nn.Linear(4, 2))
    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1)
    before = model[0].weight.data.copy()
    expected = {"loss class": r"loss_fn must be an object such as nn\.CrossEntropyLoss\(\), got the class "
                              r"CrossEntropyLoss \(add the parentheses\)",
                "optimizer class": r"optimizer must be .*, got the class SGD \(add the parentheses\)",
                "no optimizer": r"optimizer must be an object such as optim\.SGD\(model\.parameters\(\), lr=0\.1\), "
                                r"got NoneType"}[mistake]
    if mistake == "loss class":
        loss_fn = nn.CrossEntropyLoss
    else:
        opt = optim.SGD if mistake == "optimizer class" else None
    with pytest.raises(TypeError, match=expected):
        fit(model, loss_fn, opt, (X, y), epochs=1, progress=False)
    np.testing.assert_array_equal(model[0].weight.data, before)
