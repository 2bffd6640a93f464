"""Faults during fit: NaN/Inf steps skipped with skip_nonfinite, and Ctrl-C never cutting an optimizer step in half."""
import os
import signal

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import nn, optim
from pydtrain.callbacks import Callback
from pydtrain.data import datasets
from pydtrain.train import fit


def problem(seed=0):
    """64 moons, a model with running statistics, Adam (state that moves every step)."""
    X, y = datasets.make_moons(n_samples=64, noise=0.1, seed=0)
    pdt.seed(seed)
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    return X, y, model, optim.Adam(model.parameters(), lr=0.01)


def snapshot(model, opt):
    return {k: v.copy() for k, v in model.state_dict().items()}, opt.state_dict()


def assert_same(a, b):
    (ma, oa), (mb, ob) = a, b
    assert ma.keys() == mb.keys()
    for k in ma:
        np.testing.assert_array_equal(ma[k], mb[k], err_msg=k)
    for i, entry in oa["state"].items():
        for name, value in entry.items():
            np.testing.assert_array_equal(value, ob["state"][i][name], err_msg=f"{i}.{name}")


class Snapshot(Callback):
    """The model and optimizer after batch `at` of the first epoch."""

    def __init__(self, at):
        self.at, self.state = at, None

    def on_batch_end(self, batch, logs):
        if batch == self.at and self.trainer.epoch == 0:
            self.state = snapshot(self.trainer.model, self.trainer.optimizer)


class NaNLoss:
    """Cross-entropy whose value is NaN on the given calls (counted from 1)."""

    def __init__(self, bad):
        self.inner, self.bad, self.calls = nn.CrossEntropyLoss(), set(bad), 0

    def __call__(self, out, target):
        self.calls += 1
        value = self.inner(out, target)
        return float("nan") if self.calls in self.bad else value

    def backward(self):
        return self.inner.backward()


def test_skip_nonfinite_leaves_no_trace_of_the_bad_step():
    """The last step of the epoch has a NaN loss: the model (running statistics included) and Adam's state
    are those after the step before, bit for bit; the epoch's loss is the mean of the steps taken."""
    X, y, model, opt = problem()
    seen = Snapshot(at=2)
    h = fit(model, NaNLoss({4}), opt, (X, y), epochs=1, batch_size=16, progress=False, callbacks=[seen],
            skip_nonfinite=True)
    assert h["skipped_steps"] == [1] and h.skipped_steps == 1
    assert np.isfinite(h["loss"][0])
    assert opt.state_dict()["state"][0]["step"] == 3
    assert_same(snapshot(model, opt), seen.state)


def test_an_epoch_of_skipped_steps_raises():
    X, y, model, opt = problem()
    with pytest.raises(FloatingPointError, match=r"^fit: every step of epoch 1 \(4\) had a NaN or Inf loss or gradient "
                       r"and was skipped \(skip_nonfinite=True\)"):
        fit(model, NaNLoss(range(1, 5)), opt, (X, y), epochs=2, batch_size=16, progress=False, skip_nonfinite=True)


def test_without_skip_nonfinite_the_history_has_no_skipped_steps():
    X, y, model, opt = problem()
    h = fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=1, batch_size=16, progress=False)
    assert "skipped_steps" not in h.history and h.skipped_steps == 0
    with pytest.raises(TypeError, match="skip_nonfinite must be True or False, got 1"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=1, progress=False, skip_nonfinite=1)


class SignalBetweenGroups(optim.Adam):
    """Adam over two parameter groups; SIGINT arrives after the first group of step `at` is updated."""

    at = 0

    def _step_group(self, group, data, grad, state, fresh):
        super()._step_group(group, data, grad, state, fresh)
        if group is self.param_groups[0] and state["step"] == self.at:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
def test_ctrl_c_in_an_optimizer_step_waits_for_the_whole_step(capsys):
    """A real SIGINT in the middle of step 6 (between the two groups' updates): fit completes the step, then
    returns; the model and the optimizer equal those of a run stopped after 6 whole steps."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("another SIGINT handler is installed")

    def run(opt_cls, **kw):
        X, y, model, _ = problem()
        groups = [{"params": model[0].parameters() + model[1].parameters()}, {"params": model[3].parameters()}]
        opt = opt_cls(groups, lr=0.01)
        return model, opt, fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=3, batch_size=16, progress=False,
                               **kw)

    SignalBetweenGroups.at = 6
    model, opt, h = run(SignalBetweenGroups)
    assert "fit: interrupted in epoch 2 after 6 steps" in capsys.readouterr().err
    assert [entry["step"] for entry in opt.state_dict()["state"].values()] == [6] * 6

    class StopAfter6(Callback):
        def on_batch_end(self, batch, logs):
            self.trainer.stop_training = self.trainer.step == 6
    want_model, want_opt, _ = run(optim.Adam, callbacks=[StopAfter6()])
    assert_same(snapshot(model, opt), snapshot(want_model, want_opt))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
