"""Linear, ReLU, Sequential and CrossEntropyLoss: finite differences, PyTorch parity, a seeded MLP vs NumPy."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import nn, optim
from pydtrain.diagnostics import gradient_errors, gradcheck

rng = np.random.default_rng(7)


class LossAsModule(nn.Module):
    """Wraps a loss with fixed targets so gradcheck sees it as a module with a scalar output."""

    def __init__(self, loss, y):
        super().__init__()
        self.loss, self.y = loss, y

    def forward(self, z):
        return np.array([self.loss(z, self.y)])

    def backward(self, dy):
        return self.loss.backward() * dy[0]


def test_linear_gradcheck_float64():
    pdt.seed(0)
    layer = nn.Linear(7, 5, dtype=np.float64)
    x = rng.standard_normal((4, 7))
    errors = gradient_errors(layer, x)
    assert set(errors) == {"input", "weight", "bias"}
    for name, (err, scale) in errors.items():
        assert err <= 1e-7 * max(scale, 1.0), (name, err, scale)


def test_linear_on_3d_input_gradcheck():
    layer = nn.Linear(3, 2, dtype=np.float64)
    assert gradcheck(layer, rng.standard_normal((2, 4, 3)))


def test_relu_gradcheck_away_from_the_kink():
    x = rng.standard_normal((6, 5))
    x[np.abs(x) < 1e-3] = 0.5
    assert gradcheck(nn.ReLU(), x)


@pytest.mark.parametrize("smoothing", ["exclusive", "uniform"])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_gradcheck(smoothing, eps):
    z = rng.standard_normal((5, 4)) * 3
    y = rng.integers(0, 4, 5)
    assert gradcheck(LossAsModule(nn.CrossEntropyLoss(label_smoothing=eps, smoothing=smoothing), y), z)


def test_cross_entropy_soft_targets_gradcheck():
    z = rng.standard_normal((5, 4))
    t = rng.random((5, 4))
    t /= t.sum(1, keepdims=True)
    assert gradcheck(LossAsModule(nn.CrossEntropyLoss(label_smoothing=0.1), t), z)


def test_lecture_label_smoothing_example():
    # k = 5, eps = 0.01, class 3 -> q = [0.0025, 0.0025, 0.99, 0.0025, 0.0025]; dL/dz = p - q for one example
    loss = nn.CrossEntropyLoss(label_smoothing=0.01)
    z = np.zeros((1, 5))
    loss(z, np.array([2]))
    q = 0.2 - loss.backward()[0]
    np.testing.assert_allclose(q, [0.0025, 0.0025, 0.99, 0.0025, 0.0025], rtol=1e-12)


def test_sequential_mlp_gradcheck():
    pdt.seed(1)
    model = nn.Sequential(nn.Linear(6, 8, dtype=np.float64), nn.ReLU(), nn.Linear(8, 3, dtype=np.float64))
    x = rng.standard_normal((5, 6))
    assert gradcheck(model, x)


def test_float32_and_non_contiguous_inputs():
    pdt.seed(2)
    layer = nn.Linear(4, 3)
    x64 = rng.standard_normal((8, 4))
    x = x64.astype(np.float32)
    strided = np.asfortranarray(x)
    np.testing.assert_array_equal(layer(strided), layer(x))
    want = x64 @ layer.weight.data.T.astype(np.float64) + layer.bias.data
    np.testing.assert_allclose(layer(x), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="parameters are float32 but the input is float64"):
        layer(x64)
    with pytest.raises(ValueError, match=r"input must have shape \(\.\.\., 4\)"):
        layer(np.ones((2, 5), np.float32))


def test_parameters_and_gradients_are_never_copied():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    loss = nn.CrossEntropyLoss()
    x, y = np.ones((5, 4), np.float32), np.zeros(5, np.int64)
    opt = optim.SGD(model.parameters(), lr=0.1)  # moves them into its flat arena, once
    arrays = [(p.data, p.grad) for p in model.parameters()]
    for _ in range(3):
        loss(model(x), y)
        model.zero_grad()
        model.backward(loss.backward())
        opt.step()
    for p, (data, grad) in zip(model.parameters(), arrays):
        assert p.data is data and p.grad is grad


def test_backward_accumulates_into_grad():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x, dy = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(x)
    layer.backward(dy)
    once = layer.weight.grad.copy()
    layer.backward(dy)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert not layer.weight.grad.any()


def test_module_bookkeeping():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model.eval()
    assert not any(m.training for m in model.modules())
    state = model.state_dict()
    state["0.weight"][:] = 1.0
    target = model[0].weight.data
    model.load_state_dict(state)
    assert model[0].weight.data is target and np.all(target == 1.0)
    with pytest.raises(KeyError, match="missing keys"):
        model.load_state_dict({})


@pytest.mark.parametrize("bad, message", [
    (lambda: nn.Linear(0, 3), "in_features must be a positive integer"),
    (lambda: nn.Linear(3, 2, init="he_normalish"), "unknown init 'he_normalish'"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), r"label_smoothing must be in \[0, 1\)"),
    (lambda: nn.CrossEntropyLoss(smoothing="both"), "smoothing must be one of"),
    (lambda: nn.Sequential(nn.ReLU(), "relu"), "item 1 must be a Module"),
    (lambda: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda: optim.SGD(nn.Linear(2, 2).parameters(), lr=-1.0), "lr must be >= 0.0, got -1.0"),
])
def test_bad_arguments_raise(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        bad()


# ---- PyTorch parity ----


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    layer = nn.Linear(13, 7, dtype=dtype)
    x = rng.standard_normal((9, 13)).astype(dtype)
    dy = rng.standard_normal((9, 7)).astype(dtype)
    tl = torch.nn.Linear(13, 7, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(layer.weight.data))
        tl.bias.copy_(torch.from_numpy(layer.bias.data))
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = tl(tx)
    ty.backward(torch.from_numpy(dy))
    y = layer(x)
    dx = layer.backward(dy)
    kw = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, ty.detach().numpy(), **kw)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **kw)
    np.testing.assert_allclose(layer.weight.grad, tl.weight.grad.numpy(), **kw)
    np.testing.assert_allclose(layer.bias.grad, tl.bias.grad.numpy(), **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_matches_torch(dtype, eps):
    torch = pytest.importorskip("torch")
    z = (rng.standard_normal((11, 6)) * 4).astype(dtype)
    y = rng.integers(0, 6, 11)
    loss = nn.CrossEntropyLoss(label_smoothing=eps, smoothing="uniform")
    tz = torch.from_numpy(z).requires_grad_(True)
    tloss = torch.nn.functional.cross_entropy(tz, torch.from_numpy(y), label_smoothing=eps)
    tloss.backward()
    kw = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss(z, y), tloss.item(), **kw)
    np.testing.assert_allclose(loss.backward(), tz.grad.numpy(), **kw)


# ---- a seeded MLP against the same network in pure NumPy ----


def test_first_ten_losses_match_a_numpy_mlp():
    from pydtrain.data.datasets import load_digits

    X, y = load_digits()
    X = (X[:320] / 16.0).astype(np.float64)
    y = y[:320]
    pdt.seed(123)
    model = nn.Sequential(nn.Linear(64, 32, dtype=np.float64), nn.ReLU(), nn.Linear(32, 10, dtype=np.float64))
    W1, b1, W2, b2 = (p.data.copy() for p in model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.5)
    ours, theirs = [], []
    for step in range(10):
        xb, yb = X[step * 32:(step + 1) * 32], y[step * 32:(step + 1) * 32]
        ours.append(loss_fn(model(xb), yb))
        model.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
        # the same step written out in NumPy
        h = xb @ W1.T + b1
        a = np.maximum(h, 0)
        z = a @ W2.T + b2
        z = z - z.max(1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        theirs.append(-np.mean(np.log(p[np.arange(32), yb])))
        dz = (p - np.eye(10)[yb]) / 32
        dW2, db2 = dz.T @ a, dz.sum(0)
        dh = (dz @ W2) * (h > 0)
        dW1, db1 = dh.T @ xb, dh.sum(0)
        W1, b1, W2, b2 = W1 - 0.5 * dW1, b1 - 0.5 * db1, W2 - 0.5 * dW2, b2 - 0.5 * db2
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    assert theirs[-1] < theirs[0]


def test_backward_without_input_gradient_skips_only_dx():
    pdt.seed(4)
    model = nn.Sequential(nn.Linear(5, 4, dtype=np.float64), nn.ReLU(), nn.Linear(4, 3, dtype=np.float64))
    x, dy = rng.standard_normal((6, 5)), rng.standard_normal((6, 3))
    model(x)
    dx = model.backward(dy)
    grads = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(x)
    assert model.backward(dy, input_grad=False) is None
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)
    w1, b1, w2 = model[0].weight.data, model[0].bias.data, model[2].weight.data
    want = ((dy @ w2) * (x @ w1.T + b1 > 0)) @ w1  # dx = (dy·W2 ⊙ [x·W1ᵀ + b1 > 0])·W1
    np.testing.assert_allclose(dx, want, rtol=1e-12, atol=1e-13)
