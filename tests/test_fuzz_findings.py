"""Regression tests for the defects tests/test_fuzz.py found, one test each, with the case that showed it."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _random, functional as F, nn

import reference as ref


def test_zero_dimensional_arrays(dtype):
    """0-d arrays through the "..." shape patterns (memcpy from a NULL shape: undefined behaviour, seen by UBSan)."""
    x = np.array(-0.3, dtype)
    y = F.relu(x)
    assert y.shape == () and y == 0
    np.testing.assert_array_equal(F.relu_backward(x, np.array(2.0, dtype)), np.array(0.0, dtype))
    drop = nn.Dropout(keep_prob=0.5)
    assert drop(np.array(1.5, dtype)).shape == ()
    assert drop.backward(np.array(1.0, dtype)).shape == ()


def test_convolution_of_an_empty_batch():
    """N = 0 divided the work buffer among zero blocks: SIGFPE (integer division by zero)."""
    x, w = np.zeros((0, 2, 4, 3), np.float32), np.ones((3, 2, 3, 3), np.float32)
    assert F.conv2d(x, w, padding=1).shape == (0, 3, 4, 3)
    dw = np.zeros_like(w)
    assert F.conv2d_backward(x, w, np.zeros((0, 3, 4, 3), np.float32), dw, padding=1).shape == x.shape
    assert not dw.any()
    conv = nn.Conv2d(2, 3, 3, padding=1)
    assert conv(x).shape == (0, 3, 4, 3) and conv.backward(np.zeros((0, 3, 4, 3), np.float32)).shape == x.shape


@pytest.mark.parametrize("fn, want", [
    (F.silu, [-0.0, np.inf]),
    (lambda x: F.gelu(x, "tanh"), [-0.0, np.inf]),
    (lambda x: F.silu_backward(x, np.ones_like(x)), [0.0, 1.0]),
    (lambda x: F.gelu_backward(x, np.ones_like(x)), [0.0, 1.0]),
])
def test_activations_at_infinity_give_their_limits(simd, dtype, fn, want):
    """x·σ(x)-type formulas made inf·0 = NaN at ±inf."""
    np.testing.assert_array_equal(fn(np.array([-np.inf, np.inf], dtype)), np.array(want, dtype))


def test_gelu_backward_far_in_the_tails_is_exactly_zero_or_dy(simd, dtype):
    """Beyond the tail cut the derivative's ≈1e-36 (float) remainder turned a huge dy into 1e-6, and dy = ∓inf
    into inf instead of NaN (inf·0)."""
    x = np.array([-1e30, -200.0, 200.0, -np.inf], dtype)
    dy = np.array([-1e30, 3e38, 1e30, -np.inf], dtype)
    got = F.gelu_backward(x, dy)
    np.testing.assert_array_equal(got[:3], np.array([0.0, 0.0, 1e30], dtype))
    assert np.isnan(got[3])
    np.testing.assert_array_equal(got[:3], ref.gelu_backward(x[:3], dy[:3]).astype(dtype))


def test_normalization_of_values_holding_inf_is_nan(simd, dtype):
    """An inf made the one-pass variance NaN, then clamped to 0: the other values came out as ∓inf or finite."""
    x = np.array([[0.25, -0.5, 1.25], [0.2, -1.0, np.inf]], dtype)
    y = nn.BatchNorm1d(3, dtype=dtype)(x)
    assert np.isfinite(y[:, :2]).all() and np.isnan(y[:, 2]).all()
    mean, var = F.batchnorm_stats(x)
    assert np.isnan(var[2])
    y, mean, rstd = F.layernorm(x)
    assert np.isfinite(y[0]).all() and np.isnan(y[1]).all() and np.isnan(rstd[1])


def test_empty_batches_through_flatten_and_functional_batchnorm():
    """reshape(N, -1) cannot size an empty array: NumPy's error instead of an empty result (Flatten) or of a
    message saying the batch is empty (batch norm)."""
    x = np.zeros((0, 2, 3), np.float32)
    flat = nn.Flatten()
    assert flat(x).shape == (0, 6) and flat.backward(np.zeros((0, 6), np.float32)).shape == x.shape
    with pytest.raises(ValueError, match=r"batchnorm: x of shape \(0, 3, 2\) is empty"):
        F.batchnorm(np.zeros((0, 3, 2), np.float32), np.zeros(3, np.float32), np.ones(3, np.float32))


def test_an_output_of_another_shape_is_refused_whatever_its_size():
    """out= was checked by its number of elements only: (2, 1, 4, 3) was taken for (2, 1, 3, 4)."""
    x = np.zeros((2, 1, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"out must have shape \(2, 1, 3, 4\), got \(2, 1, 4, 3\)"):
        F.augment_hflip(x, 0.5, 1, 2, out=np.empty((2, 1, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"out must have shape \(2, 1, 2, 6\), got \(2, 1, 6, 2\)"):
        F.augment_translate(x, (0, 0), (0, 0), (2, 6), seed=1, offset=2, out=np.empty((2, 1, 6, 2), np.float32))
    with pytest.raises(ValueError, match=r"out must have shape \(2, 3, 4\), got \(24,\)"):
        F.layernorm(np.zeros((2, 3, 4), np.float32), out=np.empty(24, np.float32))
    with pytest.raises(ValueError, match=r"gamma must have shape \(3, 4\), got \(4, 3\)"):
        F.layernorm(np.zeros((2, 3, 4), np.float32), 2, np.ones((4, 3), np.float32), np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 3\), got \(3, 2\)"):
        y, mean, rstd = F.layernorm(np.ones((2, 3), np.float32))
        F.layernorm_backward(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32), mean, rstd)


def test_seeded_dropout_layer_on_zero_dimensional_input_matches_the_oracle():
    pdt.seed(5)
    seed, offset = _random.take(F.dropout_counters(1))
    pdt.seed(5)
    x = np.array(2.0, np.float64)
    y = nn.Dropout(keep_prob=0.5)(x)
    want, _ = ref.dropout_forward(x, seed, offset, 0.5, 2.0)
    np.testing.assert_array_equal(y, want)


def test_batchnorm_statistics_and_inference_gradient_with_an_inf(simd, dtype):
    """The one-pass statistics were shifted by the first value, x − inf = NaN: the mean of {inf} came out NaN;
    and with fixed statistics dx = γ·rstd·dy took 0·x̂ = 0·inf = NaN from an infinite x."""
    x = np.array([[np.inf, 1.0]], dtype)
    mean, var = F.batchnorm_stats(x)
    assert mean[0] == np.inf and np.isnan(var[0]) and mean[1] == 1.0 and var[1] == 0.0
    dx = F.batchnorm_backward(x, np.ones_like(x), np.zeros(2, dtype), np.full(2, 3.0, dtype), eps=1.0,
                              batch_stats=False)
    np.testing.assert_array_equal(dx, np.full((1, 2), 0.5, dtype))


def test_nll_loss_of_an_empty_batch_is_refused():
    """The mean over N = 0 labels divided by zero: ZeroDivisionError, not a ValueError naming the loss."""
    with pytest.raises(ValueError, match=r"NLLLoss: the batch is empty \(N = 0\)"):
        nn.NLLLoss()(np.zeros((0, 3), np.float32), np.zeros(0, np.int64))


def test_loss_targets_in_any_layout_are_converted():
    """A misaligned (or byte-swapped) target reached the C kernel, which refused it: the layers convert targets."""
    buf = np.zeros(4 * 6 + 1, np.uint8)
    t = np.frombuffer(buf.data, np.float32, 6, offset=1).reshape(2, 3)
    t[...] = 0.5
    z = np.zeros((2, 3), np.float32)
    assert nn.BCEWithLogitsLoss()(z, t) == pytest.approx(np.log(2.0))
    assert nn.MSELoss()(z, t.astype(">f4")) == pytest.approx(0.25)
    assert np.isfinite(nn.CrossEntropyLoss()(z, t))
