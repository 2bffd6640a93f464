"""Initializers against the formulas of docs/formulas.md §1 (moments and bounds on large draws) and PyTorch's fans."""
import math

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import init, nn

import reference as R

SHAPE = (600, 400)  # fan_out 600, fan_in 400: 240k draws
FAN_IN, FAN_OUT = 400, 600


def draw(fn, shape=SHAPE, dtype=np.float64):
    pdt.seed(11)
    a = np.empty(shape, dtype)
    out = fn(a)
    assert out is a
    return a


@pytest.mark.parametrize("fn, var", [
    (lambda a: init.normal_(a, 0.0, 0.1), 0.01),                       # the lecture's N(0, 0.01): variance 0.01
    (lambda a: init.normal_(a), 1.0),                                   # standard normal
    (init.glorot_normal_, 2.0 / (FAN_IN + FAN_OUT)),
    (init.he_normal_, 2.0 / FAN_IN),
    (init.lecun_normal_, 1.0 / FAN_IN),
    (init.xavier_normal_, 2.0 / (FAN_IN + FAN_OUT)),
    (init.kaiming_normal_, 2.0 / FAN_IN),
])
def test_normal_initializers_have_the_formula_variance(fn, var):
    a = draw(fn)
    assert abs(a.mean()) < 4 * math.sqrt(var / a.size)
    assert abs(a.var() / var - 1) < 0.01
    # exactly the formula's standard deviation times the generator's draws (pdt.seed(11): offset 0)
    np.testing.assert_allclose(a.ravel(), math.sqrt(var) * R.standard_normal_at(11, 0, a.size), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("fn, bound", [
    (init.glorot_uniform_, math.sqrt(6.0 / (FAN_IN + FAN_OUT))),
    (init.he_uniform_, math.sqrt(6.0 / FAN_IN)),   # variance 2/fan_in (the lecture prints √(2/nₑ), a slip)
    (init.xavier_uniform_, math.sqrt(6.0 / (FAN_IN + FAN_OUT))),
    (init.kaiming_uniform_, math.sqrt(6.0 / FAN_IN)),
    (lambda a: init.uniform_(a, -0.5, 0.5), 0.5),
])
def test_uniform_initializers_fill_their_interval(fn, bound):
    a = draw(fn)
    assert a.min() >= -bound and a.max() < bound
    assert a.min() < -0.99 * bound and a.max() > 0.99 * bound
    assert abs(a.var() / (bound ** 2 / 3) - 1) < 0.01


def test_he_uniform_variance_is_two_over_fan_in():
    a = draw(init.he_uniform_)
    assert abs(a.var() * FAN_IN / 2 - 1) < 0.01


def test_constants():
    a = np.empty((3, 4), np.float32)
    np.testing.assert_array_equal(init.zeros_(a), 0)
    np.testing.assert_array_equal(init.ones_(a), 1)
    np.testing.assert_array_equal(init.constant_(a, 0.25), 0.25)


def test_initializers_accept_parameters_and_both_dtypes():
    p = nn.Parameter(np.zeros((50, 40), np.float32))
    init.he_normal_(p)
    assert p.data.std() > 0
    pdt.seed(3)
    d = init.he_normal_(np.empty((50, 40)))
    pdt.seed(3)
    f = init.he_normal_(np.empty((50, 40), np.float32))
    np.testing.assert_array_equal(f, d.astype(np.float32))


@pytest.mark.parametrize("shape", [(5, 3), (7, 4, 3), (6, 2, 3, 5)])
def test_fans_match_pytorch(shape):
    torch = pytest.importorskip("torch")
    from torch.nn.init import _calculate_fan_in_and_fan_out

    assert init.calculate_fans(np.empty(shape)) == _calculate_fan_in_and_fan_out(torch.empty(shape))


def test_kaiming_options_match_pytorch_bounds():
    torch = pytest.importorskip("torch")
    t = torch.empty(SHAPE, dtype=torch.float64)
    for kw in ({}, {"a": math.sqrt(5)}, {"mode": "fan_out", "nonlinearity": "relu"}, {"nonlinearity": "tanh"}):
        torch.nn.init.kaiming_uniform_(t, **kw)
        ours = draw(lambda a: init.kaiming_uniform_(a, **kw))
        assert abs(ours.max() - t.max().item()) / t.max().item() < 0.01


def test_linear_default_init_is_pytorchs():
    layer = nn.Linear(400, 300, dtype=np.float64)
    bound = 1 / math.sqrt(400)
    for arr in (layer.weight.data, layer.bias.data):
        assert arr.min() >= -bound and arr.max() < bound
    assert abs(layer.weight.data.var() / (bound ** 2 / 3) - 1) < 0.02


@pytest.mark.parametrize("name, var", [("he_normal", 2 / 400), ("glorot_normal", 2 / 700), ("normal_0.01", 0.01),
                                       ("normal_1", 1.0), ("lecun_normal", 1 / 400)])
def test_linear_init_names(name, var):
    layer = nn.Linear(400, 300, init=name, dtype=np.float64)
    assert abs(layer.weight.data.var() / var - 1) < 0.02
    assert not layer.bias.data.any()


@pytest.mark.parametrize("bad, exc, message", [
    (lambda: nn.Linear(3, 2, init="he"), ValueError, "unknown init 'he'"),
    (lambda: init.he_normal_(np.empty(5)), ValueError, "at least 2 dimensions"),
    (lambda: init.normal_(np.empty(3), std=-1.0), ValueError, "std must be >= 0"),
    (lambda: init.uniform_(np.empty(3), 1.0, 0.0), ValueError, "high must be >= low"),
    (lambda: init.kaiming_normal_(np.empty((3, 3)), mode="fan"), ValueError, "mode must be 'fan_in' or 'fan_out'"),
    (lambda: init.normal_([1.0, 2.0]), TypeError, "expected a numpy.ndarray or a Parameter"),
    (lambda: init.normal_(np.empty(3, np.int64)), TypeError, "float32 or float64"),
])
def test_bad_arguments(bad, exc, message):
    with pytest.raises(exc, match=message):
        bad()
