"""Regularizers: the penalty kernels against the float64 formulas, the weight selection, one call per
arena run, L2 against weight_decay (SGD, Adam) and AdamW, WeightNoise's step, TargetNoise, fit's hooks."""
import math

import numpy as np
import pytest

import pydtrain as pdt
import reference as ref
from conftest import AWKWARD_SIZES, tol
from pydtrain import functional as F, nn, optim, regularizers
from pydtrain.data import DataLoader, datasets
from pydtrain.optim.optimizer import flat_pairs
from pydtrain.train import fit

RNG = np.random.default_rng(0)
KERNELS = {"l2": (F.l2_penalty, ref.l2_penalty), "l1": (F.l1_penalty, ref.l1_penalty)}


def _weights(n, dtype):
    w = RNG.standard_normal(n).astype(dtype)
    w[::5] = 0.0  # sign(0) = 0 for L1
    return w


@pytest.mark.parametrize("kind", ["l2", "l1"])
@pytest.mark.parametrize("n", AWKWARD_SIZES + (0, 40000))
def test_penalty_kernels_match_the_formulas(simd, dtype, kind, n):
    ours, oracle = KERNELS[kind]
    w = _weights(n, dtype)
    g = RNG.standard_normal(n).astype(dtype)
    want_value, want_grad = oracle(w, g, 0.37)
    value = ours(w, g, 0.37)
    assert isinstance(value, float)
    assert math.isclose(value, want_value, rel_tol=1e-6 if dtype == np.float32 else 1e-13, abs_tol=1e-300)
    np.testing.assert_allclose(g, want_grad, **tol(dtype))


@pytest.mark.parametrize("kind", ["l2", "l1"])
def test_penalty_is_independent_of_the_thread_count(kind):
    ours, oracle = KERNELS[kind]
    w = _weights(3_000_017, np.float32)
    g0 = RNG.standard_normal(w.size).astype(np.float32)
    previous = pdt.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            pdt.set_num_threads(threads)
            g = g0.copy()
            results.append((ours(w, g, 0.01), g))
    finally:
        pdt.set_num_threads(previous)
    for value, g in results[1:]:
        assert value == results[0][0]
        np.testing.assert_array_equal(g, results[0][1])
    assert math.isclose(results[0][0], oracle(w, g0, 0.01)[0], rel_tol=1e-6)


def test_penalty_kernel_bad_arguments():
    w = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="^l2_penalty: lam must be"):
        F.l2_penalty(w, np.zeros(4, np.float32), -1.0)
    with pytest.raises(TypeError, match="^l1_penalty: argument 'grad' must be float32 like 'w'"):
        F.l1_penalty(w, np.zeros(4), 1.0)
    with pytest.raises(ValueError, match="^l2_penalty: argument 'grad' must have the shape of 'w'"):
        F.l2_penalty(w, np.zeros(5, np.float32), 1.0)


def mlp(dtype=np.float64, sizes=(6, 8, 5, 3)):
    """Linear, BatchNorm, ReLU blocks and a last Linear."""
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b, dtype=dtype), nn.BatchNorm(b, dtype=dtype), nn.ReLU()]
    return nn.Sequential(*layers[:-2])


def _named(model):
    return dict(model.named_parameters())


@pytest.mark.parametrize("kind, cls", [("l2", regularizers.L2), ("l1", regularizers.L1)])
def test_penalty_covers_the_weights_only_by_default(kind, cls):
    pdt.seed(0)
    model = mlp()
    params = model.parameters()
    for p in params:
        p.grad[...] = RNG.standard_normal(p.shape)
    before = {name: p.grad.copy() for name, p in _named(model).items()}
    value = cls(0.05).penalty(params)
    want = 0.0
    for name, p in _named(model).items():
        if p.data.ndim == 2:  # the Linear weights
            v, g = KERNELS[kind][1](p.data, before[name], 0.05)
            want += v
            np.testing.assert_allclose(p.grad, g, rtol=1e-13, atol=1e-15)
        else:  # biases, BatchNorm's weight and bias
            np.testing.assert_array_equal(p.grad, before[name])
    assert math.isclose(value, want, rel_tol=1e-13)


def test_explicit_params_and_predicate_choose_the_parameters():
    pdt.seed(0)
    model = mlp(dtype=np.float64)
    named = _named(model)
    biases = [p for name, p in named.items() if name.endswith("bias") and name.startswith("0.")]
    value = regularizers.L2(2.0, params=biases).penalty(model.parameters())
    assert math.isclose(value, sum(float((p.data ** 2).sum()) for p in biases), rel_tol=1e-13)
    chosen = regularizers.L1(1.0, params=lambda name, p: name == "bias").selected(model.parameters())
    assert chosen == [p for p in model.parameters() if p.name == "bias"]


def test_one_kernel_call_per_run_of_adjacent_weights(monkeypatch):
    pdt.seed(0)
    model = mlp(dtype=np.float32, sizes=(6, 8, 8, 8, 3))
    weights = [p for p in model.parameters() if p.data.ndim == 2]
    others = [p for p in model.parameters() if p.data.ndim != 2]
    optim.SGD([{"params": weights}, {"params": others, "weight_decay": 0.0}], lr=0.1)
    calls = []
    monkeypatch.setattr(regularizers.L2, "_kernel", staticmethod(lambda w, g, lam: calls.append(w.size) or 0.0))
    regularizers.L2(0.1).penalty(model.parameters())
    assert calls == [sum(p.size for p in weights)]


def test_flat_pairs_splits_where_data_and_grad_runs_differ():
    base = np.arange(10.0)
    params = [nn.Parameter(base[:4]), nn.Parameter(base[4:])]  # data side by side, grads separate arrays
    pairs = flat_pairs(params)
    assert [(d.size, g.size) for d, g in pairs] == [(4, 4), (6, 6)]
    assert all(np.shares_memory(d, p.data) and np.shares_memory(g, p.grad) for (d, g), p in zip(pairs, params))


@pytest.mark.parametrize("cls", [regularizers.L2, regularizers.L1])
def test_bad_penalty_arguments(cls):
    name = cls.__name__
    with pytest.raises(ValueError, match=f"^{name}: lam must be >= 0"):
        cls(-0.1)
    with pytest.raises(ValueError, match=f"^{name}: lam must be"):
        cls(math.nan)
    with pytest.raises(TypeError, match=f"^{name}: lam must be a number"):
        cls("0.1")
    with pytest.raises(TypeError, match=f"^{name}: params must be a list"):
        cls(0.1, params=3)
    with pytest.raises(TypeError, match=f"^{name}: params must hold Parameters"):
        cls(0.1, params=[np.zeros(3)])
    with pytest.raises(ValueError, match=f"^{name}: params is an empty list"):
        cls(0.1, params=[])
    bias_only = nn.Sequential(nn.BatchNorm(3))
    with pytest.raises(ValueError, match=f"^{name}: no parameter selected"):
        cls(0.1).penalty(bias_only.parameters())


def test_bad_noise_arguments():
    with pytest.raises(ValueError, match="^WeightNoise: std must be >= 0"):
        regularizers.WeightNoise(-1.0)
    with pytest.raises(TypeError, match="^WeightNoise: std must be a number"):
        regularizers.WeightNoise(None)
    with pytest.raises(ValueError, match="^TargetNoise: std must be >= 0"):
        regularizers.TargetNoise(-0.5)
    with pytest.raises(TypeError, match="^TargetNoise: std must be a number"):
        regularizers.TargetNoise([0.1])
    with pytest.raises(TypeError, match="^TargetNoise: targets must be a float32 or float64 array"):
        regularizers.TargetNoise(0.1).transform_target(np.arange(4))


# ---------------------------------------------------------------- L2 and weight decay


def digits(n=120):
    X, y = datasets.load_digits()
    X = (X[:n] / 16.0).astype(np.float32)
    return X, y[:n]


def _train_twice(make_opt_decay, make_opt_plain, lam, epochs=4):
    """(params trained with the optimizer's weight decay on the weights, params trained with L2(λ))."""
    X, y = digits()
    results = []
    for use_l2 in (False, True):
        pdt.seed(3)
        model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        weights = [p for p in model.parameters() if p.data.ndim == 2]
        biases = [p for p in model.parameters() if p.data.ndim == 1]
        if use_l2:
            opt = make_opt_plain([{"params": weights}, {"params": biases}])
            regs = [regularizers.L2(lam)]
        else:
            opt = make_opt_decay([{"params": weights, "weight_decay": lam}, {"params": biases, "weight_decay": 0.0}])
            regs = []
        fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=epochs, batch_size=16, regularizers=regs,
            progress=False)
        results.append([p.data.copy() for p in model.parameters()])
    return results


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_l2_equals_sgd_weight_decay(momentum):
    decay, l2 = _train_twice(lambda g: optim.SGD(g, lr=0.1, momentum=momentum),
                             lambda g: optim.SGD(g, lr=0.1, momentum=momentum), lam=0.01)
    for a, b in zip(decay, l2):  # g + λθ with the same fused multiply-add: the same bits
        np.testing.assert_array_equal(a, b)


def test_l2_equals_adam_weight_decay_and_differs_from_adamw():
    decay, l2 = _train_twice(lambda g: optim.Adam(g, lr=1e-2), lambda g: optim.Adam(g, lr=1e-2), lam=0.01)
    for a, b in zip(decay, l2):
        np.testing.assert_array_equal(a, b)
    adamw, l2 = _train_twice(lambda g: optim.AdamW(g, lr=1e-2), lambda g: optim.Adam(g, lr=1e-2), lam=0.01)
    weight_gap = max(float(np.abs(a - b).max()) for a, b in zip(adamw, l2))
    assert weight_gap > 1e-3


def test_fit_reports_the_penalty_in_the_loss():
    X, y = digits(32)
    pdt.seed(1)
    model = nn.Sequential(nn.Linear(64, 10))
    w0 = model[0].weight.data.astype(np.float64)
    loss_fn = nn.CrossEntropyLoss()
    data_loss = loss_fn(model(X), y)
    h = fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=1, batch_size=32,
            regularizers=[regularizers.L2(0.5)], progress=False)
    assert math.isclose(h["loss"][0], data_loss + 0.25 * float((w0 ** 2).sum()), rel_tol=1e-6)


# ---------------------------------------------------------------- weight noise


class Spy(nn.Module):
    """Records the parameters of `model` each time it runs forward."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.seen = []

    def forward(self, x):
        self.seen.append([p.data.copy() for p in self.model.parameters()])
        return self.model(x)

    def backward(self, dy):
        return self.model.backward(dy)


def _regression(n=64):
    X = np.random.default_rng(5).standard_normal((n, 3))
    return X, X @ np.array([[1.0], [-2.0], [0.5]])


def _net():
    return nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Tanh(), nn.Linear(8, 1, dtype=np.float64))


def test_weight_noise_with_std_zero_is_no_noise():
    X, y = _regression()
    results = []
    for regs in ([], [regularizers.WeightNoise(0.0)]):
        pdt.seed(4)
        model = _net()
        fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), (X, y), epochs=3, batch_size=16,
            regularizers=regs, metrics=(), progress=False)
        results.append([p.data.copy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_weight_noise_step_is_clean_theta_minus_lr_times_the_noisy_gradient():
    X, y = _regression(16)
    pdt.seed(4)
    model = _net()
    spy = Spy(model)
    clean = [p.data.copy() for p in model.parameters()]
    lr = 0.05
    fit(spy, nn.MSELoss(), optim.SGD(model.parameters(), lr=lr), (X, y), epochs=2, batch_size=16,
        regularizers=[regularizers.WeightNoise(0.1)], metrics=(), progress=False)
    # spy.seen: θ + ε of each step; the weights moved, the biases (1-d) did not get noise
    for perturbed in spy.seen:  # θ + ε of each step
        for p, q, c in zip(model.parameters(), perturbed, clean):  # the weights moved, the biases did not
            eps = q - c
            if p.data.ndim == 1:  # no noise: only the rounding of the clean θ computed below
                assert np.abs(eps).max() < 1e-12
            else:
                assert 0.05 < eps.std() < 0.2
        # g(θ + ε) on a clone, then θ_clean − lr·g must be the next clean θ
        clone = _net()
        clone.load_state_dict({k: v for k, v in zip(dict(model.named_parameters()), perturbed)})
        loss_fn = nn.MSELoss()
        loss_fn(clone(X), y)
        clone.zero_grad(set_to_none=False)
        clone.backward(loss_fn.backward())
        clean = [c - lr * p.grad for c, p in zip(clean, clone.parameters())]
    assert len(spy.seen) == 2
    assert not np.array_equal(spy.seen[0][0] - spy.seen[1][0], 0)  # a fresh ε each step
    for p, c in zip(model.parameters(), clean):
        np.testing.assert_allclose(p.data, c, rtol=1e-13, atol=1e-15)


def test_weight_noise_restores_the_exact_parameters_and_is_seeded():
    pdt.seed(2)
    model = mlp(dtype=np.float32)
    optim.SGD(model.parameters(), lr=0.1)
    clean = [p.data.copy() for p in model.parameters()]
    noise = regularizers.WeightNoise(0.3)
    draws = []
    for seed in (7, 7, 8):
        pdt.seed(seed)
        noise.before_forward(model.parameters())
        draws.append([p.data - c for p, c in zip(model.parameters(), clean)])
        noise.after_backward(model.parameters())
        for p, c in zip(model.parameters(), clean):
            np.testing.assert_array_equal(p.data, c)
    for a, b, c in zip(*draws):
        np.testing.assert_array_equal(a, b)
        assert a.ndim == 1 or not np.array_equal(a, c)


def test_weight_noise_restores_after_an_error_in_forward():
    X, y = _regression(8)
    pdt.seed(0)
    model = _net()
    clean = [p.data.copy() for p in model.parameters()]

    class Failing:
        def __call__(self, out, target):
            raise RuntimeError("boom")

        def backward(self):
            raise AssertionError

    with pytest.raises(RuntimeError, match="boom"):
        fit(model, Failing(), optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=1,
            regularizers=[regularizers.WeightNoise(1.0)], metrics=(), progress=False)
    for p, c in zip(model.parameters(), clean):
        np.testing.assert_array_equal(p.data, c)


# ---------------------------------------------------------------- target noise


def test_target_noise_draws_gaussian_noise_from_the_seeded_generator():
    y = np.linspace(-1, 1, 200_000).astype(np.float32).reshape(-1, 2)
    noise = regularizers.TargetNoise(0.2)
    pdt.seed(11)
    a = noise.transform_target(y)
    pdt.seed(11)
    b = noise.transform_target(y)
    np.testing.assert_array_equal(a, b)
    eps = (a - y).astype(np.float64)
    assert a.dtype == np.float32 and a.shape == y.shape
    assert abs(eps.mean()) < 3 * 0.2 / math.sqrt(eps.size)
    assert math.isclose(eps.std(), 0.2, rel_tol=0.01)
    np.testing.assert_allclose(a[:500], ref.gaussian_noise_forward(y[:500], 11, 0, 0.2), rtol=1e-6, atol=1e-6)
    assert regularizers.TargetNoise(0.0).transform_target(y) is y


def test_target_noise_in_fit_changes_the_training_targets_only():
    X, y = _regression(32)
    seen = []

    class Recording(nn.MSELoss):
        def forward(self, input, target):
            seen.append(np.array(target))
            return super().forward(input, target)

    pdt.seed(0)
    model = _net()
    fit(model, Recording(), optim.SGD(model.parameters(), lr=0.01), DataLoader(X, y, 32, shuffle=False),
        val=(X, y), epochs=1, regularizers=[regularizers.TargetNoise(0.5)], metrics=(), progress=False)
    train_targets, val_targets = seen
    assert 0.3 < np.std(train_targets - y) < 0.7
    np.testing.assert_array_equal(val_targets, y)


def test_all_regularizers_together_in_fit():
    # penalties, weight noise, dropout, input noise, label smoothing, augmentation and early stopping at once
    from pydtrain.data import DataLoader, augment
    from pydtrain.train import EarlyStopping

    X, y = digits(200)
    pdt.seed(0)
    model = nn.Sequential(nn.GaussianNoise(0.1), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(rate=0.1),
                          nn.Linear(32, 10))
    loader = DataLoader(X[:150], y[:150], batch_size=32,
                        transform=augment.RandomRotation(10, image_shape=(8, 8)))
    stop = EarlyStopping(patience=3)
    h = fit(model, nn.CrossEntropyLoss(label_smoothing=0.1), optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
            loader, val=(X[150:], y[150:]), epochs=8,
            regularizers=[regularizers.L2(1e-3), regularizers.L1(1e-4), regularizers.WeightNoise(0.01)],
            callbacks=[stop], clip_grad_norm=5.0, progress=False)
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_accuracy"][-1] > 0.5 and stop.best_epoch is not None


def test_penalty_gradient_lands_on_gradients_marked_zero():
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(5, 4, dtype=np.float64))
    opt = optim.SGD(model.parameters(), lr=0.1)
    model[0].weight.grad[...] = 7.0  # stale values that zero_grad only marks
    opt.zero_grad()
    regularizers.L2(0.3).penalty(model.parameters())
    np.testing.assert_array_equal(model[0].weight.grad, 0.3 * model[0].weight.data)
    np.testing.assert_array_equal(model[0].bias.grad, 0.0)
