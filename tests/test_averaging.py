"""EMA and SWA of the weights against their formulas, the applied() swap, and the PMPE of a series."""
import numpy as np
import pytest

import pydtrain
import reference as ref
from conftest import AWKWARD_SIZES, tol
from pydtrain import functional as F, nn, optim
from pydtrain import ema

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("n", AWKWARD_SIZES)
def test_average_kernels(simd, dtype, n):
    avg, x = (RNG.standard_normal(n).astype(dtype) for _ in range(2))
    want = ref.average_update(avg, x, 0.1)
    np.testing.assert_allclose(F.average_update(avg, x, 0.1), want, **tol(dtype))
    np.testing.assert_allclose(F.scale(avg, 1.7), ref.scale(avg, 1.7), **tol(dtype))


@pytest.mark.parametrize("bias_correction", [True, False])
def test_ema_series_matches_recurrence(dtype, bias_correction):
    s = RNG.standard_normal(200).astype(dtype)
    want = ref.ema_series(s, 0.9, bias_correction)
    np.testing.assert_allclose(ema(s, 0.9, bias_correction), want, **tol(dtype))
    np.testing.assert_allclose(F.ema_series(s, 0.9, bias_correction), want, **tol(dtype))


def test_ema_series_lecture_properties():
    e = ema([5.0] * 30, 0.9)
    np.testing.assert_allclose(e, 5.0, rtol=1e-14)             # bias-corrected: a constant stays itself
    raw = ema([5.0] * 30, 0.9, bias_correction=False)
    np.testing.assert_allclose(raw, 5.0 * (1 - 0.9 ** np.arange(1, 31)), rtol=1e-14)
    assert ema(np.arange(4), 0.0).tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="beta must be in"):
        ema([1.0], 1.0)
    with pytest.raises(ValueError, match="1-dimensional"):
        ema(np.zeros((2, 2)), 0.5)


def _setup(dtype=np.float64, arena=True):
    params = [nn.Parameter(RNG.standard_normal(s).astype(dtype)) for s in ((4, 3), (3,))]
    opt = optim.SGD(params, lr=0.1) if arena else None
    return params, opt


def _walk(params, k):
    for p in params:
        p.data += (0.1 * (k + 1)) * np.cos(p.data + k)


@pytest.mark.parametrize("bias_correction", [True, False])
@pytest.mark.parametrize("arena", [True, False])
def test_ema_of_weights_matches_formula(bias_correction, arena):
    params, _ = _setup(arena=arena)
    beta = 0.8
    averager = optim.EMA(params, beta=beta, bias_correction=bias_correction)
    e = [np.zeros(p.shape) for p in params]
    for t in range(1, 12):
        _walk(params, t)
        averager.update()
        for i, p in enumerate(params):
            if bias_correction or t > 1:
                e[i] = beta * e[i] + (1 - beta) * p.data
            else:
                e[i] = p.data.copy()
    live = [p.data.copy() for p in params]
    averager.copy_to([nn.Parameter(np.zeros(p.shape)) for p in params])   # another model: shapes checked
    with averager.applied(params):
        for p, ei in zip(params, e):
            want = ei / (1 - beta ** 11) if bias_correction else ei
            np.testing.assert_allclose(p.data, want, rtol=1e-13, atol=1e-15)
    for p, lv in zip(params, live):
        np.testing.assert_array_equal(p.data, lv)


def test_swa_is_the_running_mean_and_applied_swaps_a_model():
    pydtrain.seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.SGD(model.parameters(), lr=0.1)
    swa = optim.SWA(model)
    samples = []
    for k in range(7):
        _walk(model.parameters(), k)
        swa.update()
        samples.append([p.data.astype(np.float64) for p in model.parameters()])
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    live_out = model(x).copy()
    with swa.applied(model):
        for i, p in enumerate(model.parameters()):
            np.testing.assert_allclose(p.data, np.mean([s[i] for s in samples], axis=0), rtol=1e-6, atol=1e-7)
        assert not np.allclose(model(x), live_out)
    np.testing.assert_array_equal(model(x), live_out)
    assert opt._arenas[0][0].size == sum(p.size for p in model.parameters())


def test_averager_follows_parameters_into_a_new_arena():
    params, _ = _setup(arena=False)
    swa = optim.SWA(params)
    swa.update()
    first = [p.data.copy() for p in params]
    opt = optim.Adam(params)  # moves the parameters after the averager was built
    _walk(params, 0)
    swa.update()
    out = [nn.Parameter(np.zeros(p.shape)) for p in params]
    swa.copy_to(out)
    for o, p, f in zip(out, params, first):
        np.testing.assert_allclose(o.data, (f + p.data) / 2, rtol=1e-14)
    assert np.shares_memory(params[1].data, opt._arenas[0][0])


def test_averaging_errors():
    params, _ = _setup()
    with pytest.raises(ValueError, match="beta must be in"):
        optim.EMA(params, beta=1.0)
    with pytest.raises(RuntimeError, match="no update"):
        optim.SWA(params).copy_to()
    swa = optim.SWA(params)
    swa.update()
    with pytest.raises(ValueError, match="match the averaged"):
        swa.copy_to([nn.Parameter(np.zeros(2))])
