"""Dropout and GaussianNoise: kernels vs the oracle, keep-rate statistics, both scaling
schemes, reproducibility across threads and SIMD levels, gradients, bad inputs."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _C, _random, functional as F, nn
from pydtrain.diagnostics import gradient_errors

import reference as R
from conftest import AWKWARD_SIZES, tol

SEED, OFFSET = 0x1234_5678_9ABC_DEF0, 1000


# ---- kernels vs oracle ----


@pytest.mark.parametrize("n", AWKWARD_SIZES + (4099,))
def test_dropout_forward_matches_oracle(simd, dtype, n):
    x = np.random.default_rng(n).standard_normal(n).astype(dtype)
    y, mask = _C.dropout_forward(x, SEED, OFFSET, 0.7, 1 / 0.7)
    yr, mr = R.dropout_forward(x, SEED, OFFSET, 0.7, 1 / 0.7)
    assert mask.dtype == np.uint8 and y.dtype == dtype
    np.testing.assert_array_equal(mask, mr)
    np.testing.assert_allclose(y, yr, **tol(dtype))


@pytest.mark.parametrize("n", AWKWARD_SIZES)
def test_dropout_backward_and_scale_match_oracle(simd, dtype, n):
    rng = np.random.default_rng(n)
    dy = rng.standard_normal(n).astype(dtype)
    mask = (rng.random(n) < 0.5).astype(np.uint8)
    np.testing.assert_allclose(_C.dropout_backward(dy, mask, 2.5), R.dropout_backward(dy, mask, 2.5), **tol(dtype))
    np.testing.assert_allclose(_C.scale(dy, 0.3), R.scale(dy, 0.3), **tol(dtype))


@pytest.mark.parametrize("n", AWKWARD_SIZES)
def test_gaussian_noise_matches_oracle(simd, dtype, n):
    x = np.random.default_rng(n).standard_normal(n).astype(dtype)
    y = _C.gaussian_noise_forward(x, SEED, OFFSET, 0.3)
    np.testing.assert_allclose(y, R.gaussian_noise_forward(x, SEED, OFFSET, 0.3), **tol(dtype))


def test_dropout_in_place_and_out(dtype):
    x = np.random.default_rng(0).standard_normal((7, 9)).astype(dtype)
    expected, mr = R.dropout_forward(x, 3, 0, 0.5, 2.0)
    out, mask = np.empty_like(x), np.empty(x.shape, np.uint8)
    y, m = F.dropout(x, 0.5, seed=3, offset=0, out=out, mask=mask)
    assert y is out and m is mask
    F.dropout(x, 0.5, seed=3, offset=0, out=x)
    np.testing.assert_allclose(x, expected, **tol(dtype))


def test_keep_decision_depends_only_on_seed_offset_index():
    x = np.ones(5000)
    _, m_full = _C.dropout_forward(x, 9, 0, 0.5, 2.0)
    # the element at index i of a call at offset o equals a longer call's: prefix property
    _, m_prefix = _C.dropout_forward(x[:1234], 9, 0, 0.5, 2.0)
    np.testing.assert_array_equal(m_full[:1234], m_prefix)
    _, m_other = _C.dropout_forward(x, 10, 0, 0.5, 2.0)
    assert (m_other != m_full).any()


# ---- statistics ----


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.8, 0.95])
def test_keep_rate_statistics(keep):
    n = 1 << 20
    _, mask = _C.dropout_forward(np.ones(n, np.float32), 42, 0, keep, 1.0)
    rate = mask.mean()
    # binomial standard deviation; 5 sigma
    assert abs(rate - keep) < 5 * np.sqrt(keep * (1 - keep) / n), rate
    # no structure between neighbours: P(keep_i and keep_{i+1}) ≈ keep²
    both = (mask[:-1] & mask[1:]).mean()
    assert abs(both - keep * keep) < 5 * np.sqrt(keep * keep * (1 - keep * keep) / n) + 1e-4


def test_keep_prob_one_keeps_everything():
    x = np.random.default_rng(1).standard_normal(1000).astype(np.float32)
    y, mask = _C.dropout_forward(x, 1, 0, 1.0, 1.0)
    assert mask.all()
    np.testing.assert_array_equal(y, x)


def test_inverted_dropout_preserves_the_mean():
    pdt.seed(3)
    layer = nn.Dropout(keep_prob=0.5)
    y = layer(np.ones(1 << 18, np.float64))
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(1.0 / (1 << 18))


def test_gaussian_noise_statistics():
    pdt.seed(4)
    y = nn.GaussianNoise(0.5)(np.zeros(1 << 18))
    assert abs(y.mean()) < 5 * 0.5 / np.sqrt(1 << 18)
    assert abs(y.std() - 0.5) < 0.01


# ---- layers: modes and schemes ----


def test_dropout_schemes_train_and_eval():
    x = np.random.default_rng(2).standard_normal((64, 33))
    for scaling, train_scale, eval_scale in (("inverted", 1 / 0.8, 1.0), ("inference", 1.0, 0.8)):
        pdt.seed(11)
        layer = nn.Dropout(keep_prob=0.8, scaling=scaling)
        seed, offset = _random.get_state()
        y = layer(x)
        yr, mr = R.dropout_forward(x, seed, offset, 0.8, train_scale)
        np.testing.assert_allclose(y, yr, rtol=1e-15)
        np.testing.assert_array_equal(layer.mask, mr)
        dy = np.random.default_rng(3).standard_normal(x.shape)
        np.testing.assert_allclose(layer.backward(dy), R.dropout_backward(dy, mr, train_scale), rtol=1e-15)
        layer.eval()
        state = _random.get_state()
        np.testing.assert_array_equal(layer(x), eval_scale * x)  # exact
        assert _random.get_state() == state  # inference draws nothing
        np.testing.assert_array_equal(layer.backward(dy), eval_scale * dy)


def test_rate_and_keep_prob_are_the_same_layer():
    x = np.random.default_rng(5).standard_normal(500)
    pdt.seed(1)
    a = nn.Dropout(0.25)(x)
    pdt.seed(1)
    b = nn.Dropout(keep_prob=0.75)(x)
    np.testing.assert_array_equal(a, b)
    assert nn.Dropout(rate=0.25).keep_prob == 0.75


def test_noise_identity_at_eval_and_backward():
    layer = nn.GaussianNoise(1.0).eval()
    x = np.random.default_rng(6).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_array_equal(layer(x), x)
    layer.train()
    y = layer(x)
    assert not np.array_equal(y, x)
    dy = np.ones_like(x)
    np.testing.assert_array_equal(layer.backward(dy), dy)


# ---- reproducibility across threads and SIMD levels ----


@pytest.mark.parametrize("layer_fn, oracle", [
    (lambda: nn.Dropout(keep_prob=0.6), lambda x: R.dropout_forward(x, 2024, 0, 0.6, 1 / 0.6)[0]),
    (lambda: nn.GaussianNoise(0.7), lambda x: R.gaussian_noise_forward(x, 2024, 0, 0.7)),
], ids=["dropout", "noise"])
def test_same_seed_same_draws_across_threads_and_simd(layer_fn, oracle):
    x = np.random.default_rng(7).standard_normal((300, 1111)).astype(np.float32)  # large enough to go parallel
    results = []
    previous_level, previous_threads = _C.simd_level(), pdt.get_num_threads()
    try:
        for level in _C.simd_supported():
            _C._set_simd(level)
            for threads in (1, 2):
                pdt.set_num_threads(threads)
                pdt.seed(2024)
                results.append(layer_fn()(x))
    finally:
        _C._set_simd(previous_level)
        pdt.set_num_threads(previous_threads)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    np.testing.assert_allclose(results[0], oracle(x), **tol(np.float32))  # pdt.seed(2024): seed 2024, offset 0


# ---- gradients ----


def test_dropout_reuses_only_outputs_nobody_holds():
    layer = nn.Dropout(keep_prob=0.5)
    x = np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)
    pdt.seed(3)
    y1, mask1 = layer(x), layer.mask
    dx1 = layer.backward(x)
    kept = y1.copy(), mask1.copy(), dx1.copy()
    for _ in range(3):
        y, dx = layer(x), layer.backward(x)
        assert not any(np.shares_memory(a, b) for a in (y, layer.mask, dx) for b in (y1, mask1, dx1))
    for a, b in zip((y1, mask1, dx1), kept):
        np.testing.assert_array_equal(a, b)
    del y, dx
    first = id(layer(x))
    assert id(layer(x)) == first  # dropped: written again
    first = id(layer.backward(x))
    assert id(layer.backward(x)) == first


def test_dropout_gradient_with_fixed_mask():
    pdt.seed(8)
    x = np.random.default_rng(8).standard_normal((6, 7))
    for scaling in ("inverted", "inference"):
        errors = gradient_errors(nn.Dropout(keep_prob=0.6, scaling=scaling), x)
        err, ref = errors["input"]
        assert ref > 0 and err <= 1e-8 * ref


def test_noise_gradient():
    pdt.seed(9)
    err, ref = gradient_errors(nn.GaussianNoise(0.3), np.random.default_rng(9).standard_normal((5, 4)))["input"]
    assert ref > 0 and err <= 1e-8 * ref


# ---- bad inputs ----


@pytest.mark.parametrize("kwargs, match", [
    ({}, "exactly one"),
    ({"rate": 0.5, "keep_prob": 0.5}, "exactly one"),
    ({"keep_prob": 1.5}, r"keep_prob must be in \(0, 1\]"),
    ({"keep_prob": 0.0}, r"keep_prob must be in \(0, 1\]"),
    ({"keep_prob": -0.1}, r"keep_prob must be in \(0, 1\]"),
    ({"rate": 1.0}, r"rate must be in \[0, 1\)"),
    ({"rate": -0.2}, r"rate must be in \[0, 1\)"),
    ({"rate": "0.5"}, "rate must be"),
    ({"keep_prob": 0.5, "scaling": "pytorch"}, "scaling must be"),
])
def test_dropout_bad_hyper_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.Dropout(**kwargs)


def test_dropout_rate_is_keyword_or_positional_but_keep_prob_keyword_only():
    with pytest.raises(TypeError):
        nn.Dropout(0.5, 0.5)


@pytest.mark.parametrize("std", [-1.0, float("nan"), float("inf"), "1"])
def test_noise_bad_std(std):
    with pytest.raises(ValueError, match="std must be"):
        nn.GaussianNoise(std)


def test_dropout_kernel_bad_inputs():
    x = np.ones(10, np.float32)
    with pytest.raises(ValueError, match="keep_prob"):
        _C.dropout_forward(x, 1, 0, 1.5, 1.0)
    with pytest.raises(TypeError):
        _C.dropout_forward(np.ones(10, np.int32), 1, 0, 0.5, 2.0)
    with pytest.raises((TypeError, ValueError)):
        _C.dropout_forward(np.ones((10, 10), np.float32)[:, ::2], 1, 0, 0.5, 2.0)
    with pytest.raises(TypeError, match="argument 'mask' must be uint8; got float32"):
        _C.dropout_backward(x, np.ones(10, np.float32), 2.0)
    with pytest.raises(ValueError, match="argument 'mask' must have the shape of 'dy'"):
        _C.dropout_backward(x, np.ones(9, np.uint8), 2.0)
    buf = np.ones(40, np.uint8)  # a uint8 mask and a float32 output over the same bytes
    with pytest.raises(ValueError, match="argument 'out' shares memory with 'mask'"):
        _C.dropout_backward(x, buf[:10], 2.0, buf.view(np.float32))
    with pytest.raises(ValueError, match="keep_prob"):
        F.dropout(x, 0.0)
    _, mask = F.dropout(x, 0.5, scale=0.0, seed=1, offset=0)  # the mask does not depend on the scale
    np.testing.assert_array_equal(mask, R.dropout_mask(10, 1, 0, 0.5))
    layer = nn.Dropout(keep_prob=0.5)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(x)
    layer(x)
    with pytest.raises(ValueError, match="shape"):
        layer.backward(np.ones(11, np.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        layer(np.ones(3, np.int64))
