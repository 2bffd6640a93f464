"""MultiTaskLoss: Σ wₖ·Lₖ, one gradient per head, the trunk's gradient against finite differences, fit with
tuple and dict targets."""
import math

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import nn, optim
from pydtrain.data import DataLoader
from pydtrain.diagnostics import numerical_gradient
from pydtrain.train import evaluate, fit

RNG = np.random.default_rng(0)


def model64():
    pdt.seed(0)
    trunk = nn.Sequential(nn.Linear(4, 6, dtype=np.float64), nn.Tanh())
    return nn.MultiTask(trunk, [nn.Linear(6, 3, dtype=np.float64), nn.Linear(6, 2, dtype=np.float64)])


def data(n=10):
    x = RNG.standard_normal((n, 4))
    return x, (RNG.integers(0, 3, n), RNG.standard_normal((n, 2)))


def test_value_is_the_weighted_sum_and_backward_one_weighted_gradient_per_head():
    model = model64()
    x, (labels, values) = data()
    ce, mse = nn.CrossEntropyLoss(), nn.MSELoss()
    loss_fn = nn.MultiTaskLoss([nn.CrossEntropyLoss(), nn.MSELoss()], weights=[0.7, 0.2])
    out = model(x)
    total = loss_fn(out, (labels, values))
    l1, l2 = ce(out[0], labels), mse(out[1], values)
    assert loss_fn.values == [l1, l2]
    assert math.isclose(total, 0.7 * l1 + 0.2 * l2, rel_tol=1e-15)
    g1, g2 = loss_fn.backward()
    np.testing.assert_allclose(g1, 0.7 * ce.backward(), rtol=1e-15)
    np.testing.assert_allclose(g2, 0.2 * mse.backward(), rtol=1e-15)


def test_trunk_gets_the_weighted_sum_of_the_heads_gradients():
    model = model64()
    x, targets = data()
    weights = [0.7, 0.2]
    loss_fn = nn.MultiTaskLoss({"digit": nn.CrossEntropyLoss(), "size": nn.MSELoss()},
                               weights={"size": weights[1], "digit": weights[0]})
    by_name = {"digit": targets[0], "size": targets[1]}
    loss_fn(model(x), by_name)
    model.zero_grad(set_to_none=False)
    dx = model.backward(loss_fn.backward())

    def total():
        return loss_fn(model(x), by_name)

    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, numerical_gradient(total, p.data), rtol=1e-6, atol=1e-8, err_msg=name)
    np.testing.assert_allclose(dx, numerical_gradient(total, x), rtol=1e-6, atol=1e-8)
    # and the trunk's gradient is Σ wₖ · (its gradient under task k alone)
    trunk_w = model.trunk[0].weight
    per_task = []
    for k, single in enumerate([nn.CrossEntropyLoss(), nn.MSELoss()]):
        single(model(x)[k], targets[k])
        model.zero_grad(set_to_none=False)
        model.backward([single.backward() if j == k else None for j in range(2)])
        per_task.append(trunk_w.grad.copy())
    model.zero_grad(set_to_none=False)
    loss_fn(model(x), by_name)
    model.backward(loss_fn.backward())
    np.testing.assert_allclose(trunk_w.grad, weights[0] * per_task[0] + weights[1] * per_task[1], rtol=1e-12)


@pytest.mark.parametrize("as_dict", [False, True])
def test_fit_with_tuple_and_dict_targets(as_dict):
    n = 240
    x = RNG.standard_normal((n, 4)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    values = (x[:, 2:3] * 2 - x[:, 3:4]).astype(np.float32)
    pdt.seed(1)
    model = nn.MultiTask(nn.Sequential(nn.Linear(4, 32), nn.ReLU()), [nn.Linear(32, 3), nn.Linear(32, 1)])
    if as_dict:
        loss_fn = nn.MultiTaskLoss({"cls": nn.CrossEntropyLoss(), "reg": nn.MSELoss()}, {"cls": 1.0, "reg": 0.5})
        targets = {"cls": labels, "reg": values}
    else:
        loss_fn = nn.MultiTaskLoss([nn.CrossEntropyLoss(), nn.MSELoss()], [1.0, 0.5])
        targets = (labels, values)
    h = fit(model, loss_fn, optim.Adam(model.parameters(), lr=1e-2), (x, targets), val=DataLoader(x, targets, 64),
            epochs=15, progress=False)
    assert set(h.history) == {"loss", "val_loss", "lr"}  # accuracy needs one array of labels
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    assert math.isclose(evaluate(model, loss_fn, (x, targets))["loss"], h["val_loss"][-1], rel_tol=1e-6)


def test_bad_arguments():
    with pytest.raises(TypeError, match="^MultiTaskLoss: losses must be a list or a dict"):
        nn.MultiTaskLoss(nn.MSELoss())
    with pytest.raises(ValueError, match="^MultiTaskLoss: losses is empty"):
        nn.MultiTaskLoss([])
    with pytest.raises(TypeError, match="^MultiTaskLoss: loss 1 must be a loss with backward"):
        nn.MultiTaskLoss([nn.MSELoss(), np.mean])
    with pytest.raises(ValueError, match="^MultiTaskLoss: 2 losses but 1 weights"):
        nn.MultiTaskLoss([nn.MSELoss(), nn.MSELoss()], [1.0])
    with pytest.raises(ValueError, match="^MultiTaskLoss: the weight of task 'b' must be >= 0"):
        nn.MultiTaskLoss({"a": nn.MSELoss(), "b": nn.MSELoss()}, {"a": 1.0, "b": -1.0})
    with pytest.raises(ValueError, match="^MultiTaskLoss: weights given by name"):
        nn.MultiTaskLoss([nn.MSELoss()], {"a": 1.0})
    loss_fn = nn.MultiTaskLoss([nn.MSELoss(), nn.MSELoss()])
    with pytest.raises(RuntimeError, match="^MultiTaskLoss: backward called before"):
        loss_fn.backward()
    y = np.zeros((3, 1))
    with pytest.raises(ValueError, match="^MultiTaskLoss: targets must be a tuple of 2 arrays"):
        loss_fn([y, y], (y,))
    with pytest.raises(ValueError, match="^MultiTaskLoss: outputs must be a list of 2 arrays"):
        loss_fn(y, (y, y))
    with pytest.raises(ValueError, match="^MultiTaskLoss: targets given by name"):
        loss_fn([y, y], {"a": y, "b": y})


def test_data_loader_cuts_tuple_and_dict_targets_into_the_same_rows():
    x = np.arange(10.0).reshape(5, 2)
    a, b = np.arange(5), np.arange(5.0) * 10
    pdt.seed(0)
    for (xb, (ab, bb)), (xd, d) in zip(DataLoader(x, (a, b), 2), DataLoader(x, {"a": a, "b": b}, 2)):
        rows, rows_d = (xb[:, 0] / 2).astype(int), (xd[:, 0] / 2).astype(int)
        np.testing.assert_array_equal(ab, a[rows])
        np.testing.assert_array_equal(bb, b[rows])
        assert set(d) == {"a", "b"}
        np.testing.assert_array_equal(d["a"], a[rows_d])
        np.testing.assert_array_equal(d["b"], b[rows_d])
    with pytest.raises(ValueError, match=r"X and y\['b'\] must have the same number of examples"):
        DataLoader(x, {"a": a, "b": b[:4]})
