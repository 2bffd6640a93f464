"""What a student tripped over (issue 17, item 8): each case now works or fails with a message saying what to do."""

from pathlib import Path

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import diagnostics, nn, optim, train

torch = pytest.importorskip("torch")


def test_course_layer_fails_with_what_to_write():
    class Affine(nn.Module):  # as the course writes it
        def __init__(self):
            super().__init__()
            self.W = nn.Parameter(np.ones((2, 3)))
            self.b = nn.Parameter(np.zeros(2))

        def forward(self, x):
            return x @ self.W.T + self.b

    with pytest.raises(AttributeError, match=r"no attribute 'T': .* write self\.W\.data\.T in forward"):
        Affine()(np.ones((4, 3)))
    with pytest.raises(TypeError, match=r"^Parameter: arithmetic on a Parameter itself; use its array: "
                                        r"x @ self\.W\.data\.T \+ self\.b\.data"):
        np.ones((4, 3)) @ nn.Parameter(np.ones((3, 2)))


def test_the_documented_contract_passes_gradcheck():
    class Affine(nn.Module):  # the Module docstring's example
        def __init__(self, n_in, n_out):
            super().__init__()
            self.W = nn.Parameter(np.random.default_rng(0).standard_normal((n_out, n_in)) * 0.1)
            self.b = nn.Parameter(np.zeros(n_out))

        def forward(self, x):
            self.x = x
            return x @ self.W.data.T + self.b.data

        def backward(self, dy):
            self.W.grad += dy.T @ self.x
            self.b.grad += dy.sum(axis=0)
            return dy @ self.W.data

    assert diagnostics.gradcheck(Affine(3, 2), np.random.default_rng(1).standard_normal((4, 3)))
    readme = Path(__file__).resolve().parents[1] / "README.md"  # the repository's, wherever pydtrain is installed
    assert "your own layer" in readme.read_text()


def test_one_module_used_twice_is_refused():
    sigmoid = nn.Sigmoid()
    with pytest.raises(ValueError, match=r"^Sequential: one Sigmoid instance is used twice \(as '1' and '3'\).*"
                                         r"nn\.Sigmoid\(\) again"):
        nn.Sequential(nn.Linear(2, 3), sigmoid, nn.Linear(3, 2), sigmoid)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = self.a

    model = Twice()
    with pytest.raises(ValueError, match=r"^fit: one Linear instance is used twice \(as 'a' and 'b'\)"):
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                  (np.ones((4, 2), np.float32), np.ones((4, 2), np.float32)), progress=False)


@pytest.mark.parametrize("where", ["X", "y", "val"])
def test_nan_in_the_data_names_the_array_and_row(where):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal((40, 2))
    Xv = X.copy()
    {"X": X, "y": y, "val": Xv}[where][23, 1] = np.nan
    {"X": X, "y": y, "val": Xv}[where][31, 0] = -np.inf
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64))
    name, label = ("val", "X") if where == "val" else ("train", where)
    with pytest.raises(ValueError, match=rf"^fit: the {name} data's {label} holds NaN or Inf in 2 of its 40 rows, "
                                         "the first at row 23"):
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (X, y), val=(Xv, y), progress=False)


def test_torch_tensors_one_rule_for_model_and_fit():
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(3, 2))
    X = torch.randn(16, 3)
    y = torch.randint(0, 2, (16,))
    np.testing.assert_array_equal(model(X), model(X.numpy()))
    train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y), progress=False)
    message = r"^Linear: input must be a numpy\.ndarray or an array NumPy can view without a copy"
    with pytest.raises(TypeError, match=message):
        model([[1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match=message):
        model(torch.randn(2, 3, requires_grad=True))


def test_a_child_called_twice_in_a_custom_forward_is_refused():
    class TwiceSigmoid(nn.Module):  # the notebook's F.sigmoid(F.sigmoid(x)) written with one module
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.act = nn.Sigmoid()

        def forward(self, x):
            return self.act(self.act(self.lin(x)))

        def backward(self, dy):
            return self.lin.backward(self.act.backward(self.act.backward(dy)))

    model = TwiceSigmoid()
    x = np.ones((4, 2), np.float32)
    message = r"^TwiceSigmoid: the Sigmoid module 'act' ran twice in one forward pass"
    with pytest.raises(ValueError, match=message):
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (x, x), metrics=(), progress=False)
    with pytest.raises(ValueError, match=message):  # a hand-written loop too, every pass
        model(x)
    with pytest.raises(ValueError, match=message):
        model(x)
    model.eval()
    np.testing.assert_array_equal(model(x), model.act(model.act(model.lin(x))))  # no backward follows: allowed
    model.train()
    model.act(x)  # one call per pass, pass after pass
    model.act(x)


def test_a_module_called_twice_inside_a_failing_pass_does_not_poison_the_next():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    with pytest.raises(ValueError):
        model(np.ones((4, 3), np.float32))  # raises inside the pass
    assert model(np.ones((4, 2), np.float32)).shape == (4, 2)


def test_nan_made_by_a_transform_is_named_per_batch():
    from pydtrain.data import DataLoader

    def poison(xb):
        xb[2, 0] = np.nan
        return xb

    pdt.seed(0)
    model = nn.Sequential(nn.Linear(3, 2))
    loader = DataLoader(np.ones((16, 3), np.float32), np.zeros(16, np.int64), batch_size=8, transform=poison)
    with pytest.raises(ValueError, match=r"^fit: batch 1 of epoch 1 holds NaN or Inf in 1 rows after the "
                                         r"DataLoader's transform, the first at row 2 of the batch"):
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader, progress=False)
