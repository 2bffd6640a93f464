"""Training monitors: GradientMonitor's norms against NumPy, ActivationMonitor's statistics, LearningRateMonitor."""

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import callbacks, nn, optim, train
from pydtrain.callbacks import ActivationMonitor, Callback, GradientMonitor, LearningRateMonitor
from pydtrain.data import datasets


def moons(n=96):
    return datasets.make_moons(n_samples=n, noise=0.1, seed=0)


def model_and_opt(seed=0, act=nn.ReLU, dtype=np.float32, momentum=0.9):
    pdt.seed(seed)
    model = nn.Sequential(nn.Linear(2, 16, dtype=dtype), act(), nn.Linear(16, 8, dtype=dtype), act(),
                          nn.Linear(8, 2, dtype=dtype))
    return model, optim.SGD(model.parameters(), lr=0.1, momentum=momentum)


class Spy(Callback):
    """Copies each parameter's gradient and weights after every step, computed apart from the monitor."""

    def __init__(self):
        self.grads, self.weights = [], []

    def on_train_begin(self, trainer):
        self.weights.append([p.data.astype(np.float64) for p in trainer.model.parameters()])

    def on_batch_end(self, batch, logs):
        self.grads.append([p.grad.astype(np.float64) for p in self.trainer.model.parameters()])
        self.weights.append([p.data.astype(np.float64) for p in self.trainer.model.parameters()])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("every", [1, 3])
def test_gradient_monitor_matches_numpy(dtype, every):
    model, opt = model_and_opt(dtype=dtype)
    X, y = moons()
    mon, spy = GradientMonitor(every=every), Spy()
    train.fit(model, nn.CrossEntropyLoss(), opt, (X.astype(dtype), y), epochs=2, batch_size=16,
              callbacks=[spy, mon], progress=False)
    steps = len(spy.grads)
    assert steps == 12 and mon.steps == list(range(every, steps + 1, every))
    assert mon.names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    rows = [s - 1 for s in mon.steps]
    def norm(arrays):
        return np.array([[np.sqrt((a ** 2).sum()) for a in row] for row in arrays])

    want_g = norm([spy.grads[r] for r in rows])
    want_w = norm([spy.weights[r + 1] for r in rows])
    want_u = norm([[a - b for a, b in zip(spy.weights[r + 1], spy.weights[r])] for r in rows]) / want_w
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert mon.grad_norms.shape == (len(rows), 6)
    np.testing.assert_allclose(mon.grad_norms, want_g, rtol=rtol)
    np.testing.assert_allclose(mon.weight_norms, want_w, rtol=rtol)
    np.testing.assert_allclose(mon.update_ratios, want_u, rtol=1e-4 if dtype == np.float32 else 1e-10)
    layers = mon.layer_norms()
    assert list(layers) == ["0", "2", "4"]
    np.testing.assert_allclose(layers["2"], np.hypot(want_g[:, 2], want_g[:, 3]), rtol=rtol)
    np.testing.assert_allclose(mon.layer_norms("weight")["4"], np.hypot(want_w[:, 4], want_w[:, 5]), rtol=rtol)
    upd = mon.layer_norms("update")["0"]
    num = np.array([np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(spy.weights[r + 1][:2], spy.weights[r][:2])))
                    for r in rows])
    np.testing.assert_allclose(upd, num / np.hypot(want_w[:, 0], want_w[:, 1]), rtol=1e-4)


def test_gradient_monitor_with_parameter_groups_and_clipping():
    pdt.seed(1)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    ps = model.parameters()
    opt = optim.Adam([{"params": ps[2:]}, {"params": ps[:2], "lr": 0.01}])
    mon, spy = GradientMonitor(), Spy()
    X, y = moons(32)
    train.fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=1, batch_size=8, callbacks=[spy, mon],
              clip_grad_norm=0.05, progress=False)
    assert mon.names == ["2.weight", "2.bias", "0.weight", "0.bias"]
    want = np.array([[np.sqrt((g ** 2).sum()) for g in row] for row in spy.grads])[:, [2, 3, 0, 1]]
    np.testing.assert_allclose(mon.grad_norms, want, rtol=1e-5)
    assert np.all(np.sqrt((mon.grad_norms ** 2).sum(axis=1)) <= 0.05 * (1 + 1e-5))  # as clipped


def test_activation_monitor_statistics():
    model, opt = model_and_opt(act=nn.Tanh)
    X, y = moons()
    probe = X[:40].astype(np.float32)
    mon = ActivationMonitor(probe)
    rng_before = None

    class State(Callback):
        def on_epoch_end(self, epoch, logs):
            nonlocal rng_before
            rng_before = pdt._random.get_state()

    train.fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=3, batch_size=16, callbacks=[State(), mon],
              progress=False)
    assert pdt._random.get_state() == rng_before  # the probe draws nothing
    assert mon.names == ["0 Linear", "1 Tanh", "2 Linear", "3 Tanh", "4 Linear"]
    assert mon.epochs == [0, 1, 2, 3] and mon.means.shape == (4, 5)
    # the last record against NumPy's forward of the trained weights
    W = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    h1 = probe @ W["0.weight"].T + W["0.bias"]
    a1 = np.tanh(h1)
    h2 = a1 @ W["2.weight"].T + W["2.bias"]
    a2 = np.tanh(h2)
    outs = [h1, a1, h2, a2, a2 @ W["4.weight"].T + W["4.bias"]]
    np.testing.assert_allclose(mon.means[-1], [o.mean() for o in outs], atol=1e-5)
    np.testing.assert_allclose(mon.stds[-1], [o.std() for o in outs], rtol=1e-4)
    np.testing.assert_allclose(mon.saturations[-1, [1, 3]], [np.mean(np.abs(a) > 0.99) for a in (a1, a2)], atol=0.02)
    assert np.isnan(mon.saturations[:, [0, 2, 4]]).all()
    assert model.training


def test_activation_monitor_dead_relus():
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU())
    model[0].bias.data = np.full(8, -100.0, np.float32)  # every unit dead
    mon = ActivationMonitor(np.ones((5, 2), np.float32))
    train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), (np.ones((4, 2), np.float32),
              np.zeros((4, 8), np.float32)), epochs=1, metrics=(), progress=False, callbacks=[mon])
    np.testing.assert_array_equal(mon.zero_fractions[:, 1], [1.0, 1.0])
    assert mon.values[0][1].size == 40


def test_learning_rate_monitor():
    model, opt = model_and_opt()
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    mon = LearningRateMonitor()
    X, y = moons(64)
    train.fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=3, batch_size=32, scheduler=sched,
              callbacks=[mon], progress=False)
    np.testing.assert_array_equal(mon.lrs[:, 0], [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert mon.steps == [1, 2, 3, 4, 5, 6]


def test_exports_and_errors():
    for name in ("GradientMonitor", "ActivationMonitor", "LearningRateMonitor"):
        assert getattr(train, name) is getattr(callbacks, name)
        assert name in train.__all__ and name in callbacks.__all__
    with pytest.raises(ValueError, match="^GradientMonitor: every must be a positive integer"):
        GradientMonitor(every=0)
    with pytest.raises(TypeError, match="^ActivationMonitor: probe must be"):
        ActivationMonitor([1, 2])
    with pytest.raises(ValueError, match="^GradientMonitor.layer_norms: kind"):
        GradientMonitor().layer_norms("bias")
