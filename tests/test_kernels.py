"""The foundation's kernels on every SIMD level, both dtypes and awkward sizes, against tests/reference.py."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _C, functional as F

import reference as ref
from conftest import AWKWARD_SIZES, tol

rng = np.random.default_rng(1234)


def rand(shape, dtype, scale=2.0):
    return np.ascontiguousarray((rng.standard_normal(shape) * scale).astype(dtype))


@pytest.mark.parametrize("n", AWKWARD_SIZES)
def test_relu_forward_backward(simd, dtype, n):
    x, dy = rand(n, dtype), rand(n, dtype)
    x[::5] = 0.0  # the kink: derivative taken as 0 at x = 0, as PyTorch
    np.testing.assert_array_equal(F.relu(x), ref.relu_forward(x).astype(dtype))
    np.testing.assert_array_equal(F.relu_backward(x, dy), ref.relu_backward(x, dy).astype(dtype))


def test_relu_in_place(simd, dtype):
    x = rand(37, dtype)
    want = ref.relu_forward(x).astype(dtype)
    out = F.relu(x, out=x)
    assert out is x
    np.testing.assert_array_equal(x, want)


@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 7), (8, 16), (9, 17), (33, 31), (5, 1023)])
def test_bias_grad_accumulates(simd, dtype, rows, cols):
    dy = rand((rows, cols), dtype)
    db = rand(cols, dtype)
    want = db.astype(np.float64) + ref.bias_grad(dy)
    F.bias_grad(dy, db)
    np.testing.assert_allclose(db, want, **tol(dtype, f32=(1e-5, 1e-5)))


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (3, 7, 8), (9, 15, 16), (17, 31, 33), (8, 9, 1), (2, 1023, 3), (33, 17, 1023)])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm(simd, dtype, m, n, k, trans_a, trans_b):
    a = rand((k, m) if trans_a else (m, k), dtype, 1.0)
    b = rand((n, k) if trans_b else (k, n), dtype, 1.0)
    c = rand((m, n), dtype, 1.0)
    bias = rand(n, dtype, 1.0)
    want = ref.gemm(a, b, trans_a, trans_b, alpha=0.5, beta=1.0, c=c, bias=bias)
    out = F.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b, alpha=0.5, beta=1.0, bias=bias)
    assert out is c
    np.testing.assert_allclose(out, want, **tol(dtype, f32=(1e-5, 1e-5 * np.sqrt(k))))


def test_gemm_beta_zero_ignores_nan_in_out(dtype):
    a, b = rand((4, 5), dtype), rand((5, 6), dtype)
    out = np.full((4, 6), np.nan, dtype)
    F.gemm(a, b, out)
    np.testing.assert_allclose(out, ref.gemm(a, b), **tol(dtype, f32=(1e-5, 1e-5)))


@pytest.mark.parametrize("m,n,k", [(0, 4, 3), (4, 0, 3), (4, 5, 0), (0, 0, 0)])
def test_gemm_empty_dimensions(simd, dtype, m, n, k):
    a, b = rand((m, k), dtype), rand((k, n), dtype)
    bias = rand(n, dtype)
    out = F.gemm(a, b, bias=bias)
    assert out.shape == (m, n)
    np.testing.assert_allclose(out, ref.gemm(a, b, bias=bias), **tol(dtype))


def test_linear_functional_matches_reference(simd, dtype):
    x, w, b = rand((9, 17), dtype), rand((5, 17), dtype), rand(5, dtype)
    np.testing.assert_allclose(F.linear(x, w, b), ref.gemm(x, w, trans_b=True, bias=b), **tol(dtype, f32=(1e-5, 1e-4)))


@pytest.mark.parametrize("n,k", [(1, 1), (3, 7), (8, 10), (17, 33), (31, 1023)])
@pytest.mark.parametrize("on,off", [(1.0, 0.0), (0.9, 0.1 / 9), (0.91, 0.01)])
def test_cross_entropy(simd, dtype, n, k, on, off):
    z = rand((n, k), dtype, 3.0)
    labels = rng.integers(0, k, n)
    probs, losses = F.cross_entropy(z, labels, on, off)
    want_p, want_l = ref.cross_entropy_forward(z, labels, on, off)
    np.testing.assert_allclose(probs, want_p, **tol(dtype, f32=(1e-5, 1e-7)))
    np.testing.assert_allclose(losses, want_l, **tol(dtype, f32=(1e-5, 1e-5)))
    d = F.cross_entropy_backward(probs, labels, on, off, 1.0 / n)
    np.testing.assert_allclose(d, ref.cross_entropy_backward(want_p, labels, on, off, 1.0 / n), **tol(dtype, f32=(1e-5, 1e-7)))


@pytest.mark.parametrize("n,k", [(1, 1), (3, 7), (17, 33)])
def test_cross_entropy_soft(simd, dtype, n, k):
    z = rand((n, k), dtype, 3.0)
    t = rng.random((n, k))
    t = np.ascontiguousarray((t / t.sum(1, keepdims=True)).astype(dtype))
    probs, losses = F.cross_entropy_soft(z, t)
    want_p, want_l = ref.cross_entropy_soft_forward(z, t)
    np.testing.assert_allclose(losses, want_l, **tol(dtype, f32=(1e-5, 1e-5)))
    d = F.cross_entropy_soft_backward(probs, t, 0.5)
    np.testing.assert_allclose(d, 0.5 * (want_p - t), **tol(dtype, f32=(1e-5, 1e-7)))


def test_cross_entropy_extreme_logits_stay_finite(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype)
    labels = np.array([1, 2])
    probs, losses = F.cross_entropy(z, labels)
    assert np.all(np.isfinite(probs)) and np.all(np.isfinite(losses))
    np.testing.assert_allclose(losses, [2e4, 0.0], rtol=1e-6)


ROW_LENGTHS = (1, 15, 16, 17, 1023, 1025)  # around a vector and the kernels' blocks of 4 and 16 vectors


@pytest.mark.parametrize("k", ROW_LENGTHS)
@pytest.mark.parametrize("shift", [0.0, -200.0])
def test_cross_entropy_row_lengths(simd, dtype, k, shift):
    """Every row length around the vector width, with and without smoothing; the shift makes every logit
    negative, so exp(0 − max) of a padded lane would be huge if it entered a sum."""
    n = 9
    z = rand((n, k), dtype, 3.0) + dtype.type(shift)
    labels = rng.integers(0, k, n)
    on, off = (1.0, 0.0) if k == 1 else (0.9, 0.1 / (k - 1))
    for on_, off_ in ((1.0, 0.0), (on, off), (0.5, 0.25)):
        probs, losses = F.cross_entropy(z, labels, on_, off_)
        want_p, want_l = ref.cross_entropy_forward(z, labels, on_, off_)
        np.testing.assert_allclose(probs, want_p, **tol(dtype, f32=(1e-5, 1e-7)))
        np.testing.assert_allclose(losses, want_l, **tol(dtype, f32=(1e-5, 1e-5)))
    t = rng.random((n, k))
    t = np.ascontiguousarray((t / t.sum(1, keepdims=True)).astype(dtype))
    probs, losses = F.cross_entropy_soft(z, t)
    want_p, want_l = ref.cross_entropy_soft_forward(z, t)
    np.testing.assert_allclose(probs, want_p, **tol(dtype, f32=(1e-5, 1e-7)))
    np.testing.assert_allclose(losses, want_l, **tol(dtype, f32=(1e-5, 1e-5)))


@pytest.mark.parametrize("k", [5, 17, 1025])
def test_cross_entropy_nan_logit_makes_its_row_nan(simd, dtype, k):
    """A NaN first, inside a full vector, or in the last (partial) vector: that row's probabilities and loss
    are NaN (also with smoothing and soft targets), the other rows are untouched."""
    cols = sorted({0, k // 2, k - 1})
    z = rand((len(cols) + 1, k), dtype, 3.0)
    for row, col in enumerate(cols):
        z[row, col] = np.nan
    labels = np.zeros(len(z), np.int64)
    t = np.full((len(z), k), 1.0 / k, dtype)
    clean = len(cols)
    for probs, losses, (want_p, want_l) in (
        (*F.cross_entropy(z, labels), ref.cross_entropy_forward(z[clean:], labels[clean:])),
        (*F.cross_entropy(z, labels, 0.9, 0.1 / (k - 1)),
         ref.cross_entropy_forward(z[clean:], labels[clean:], 0.9, 0.1 / (k - 1))),
        (*F.cross_entropy_soft(z, t), ref.cross_entropy_soft_forward(z[clean:], t[clean:])),
    ):
        assert np.isnan(probs[:clean]).all() and np.isnan(losses[:clean]).all()
        np.testing.assert_allclose(probs[clean:], want_p, **tol(dtype, f32=(1e-5, 1e-7)))
        np.testing.assert_allclose(losses[clean:], want_l, **tol(dtype, f32=(1e-5, 1e-5)))


@pytest.mark.parametrize("k", [5, 17, 1025])
def test_cross_entropy_minus_inf_logits(simd, dtype, k):
    """A −inf logit (a masked class) gets probability 0; where its target is 0 the loss is that of the row
    without it (no 0·(−inf) NaN), with a label elsewhere and no smoothing too. A row of zero targets has
    loss 0 whatever its logits, even NaN or all −inf."""
    z = rand((4, k), dtype, 3.0)
    masked = [0, k // 2, k - 1]
    z[:, masked] = -np.inf
    z[3] = -np.inf
    keep = np.setdiff1d(np.arange(k), masked)
    t = rng.random((4, k))
    t[:, masked] = 0.0
    t = (t / t.sum(1, keepdims=True)).astype(dtype)
    t[2:] = 0.0
    z[2, 1] = np.nan
    probs, losses = F.cross_entropy_soft(z, t)
    want_p, want_l = ref.cross_entropy_soft_forward(z[:2, keep], t[:2, keep])
    assert np.all(probs[:2, masked] == 0.0)
    np.testing.assert_allclose(probs[:2, keep], want_p, **tol(dtype, f32=(1e-5, 1e-7)))
    np.testing.assert_allclose(losses[:2], want_l, **tol(dtype, f32=(1e-5, 1e-5)))
    np.testing.assert_array_equal(losses[2:], [0.0, 0.0])
    labels = keep[:2]
    probs, losses = F.cross_entropy(z[:2].copy(), labels)
    want_p, want_l = ref.cross_entropy_forward(z[:2, keep], np.array([0, 1]))
    assert np.all(probs[:, masked] == 0.0)
    np.testing.assert_allclose(probs[:, keep], want_p, **tol(dtype, f32=(1e-5, 1e-7)))
    np.testing.assert_allclose(losses, want_l, **tol(dtype, f32=(1e-5, 1e-5)))
    _, losses = F.cross_entropy(z[:2].copy(), labels, 0.9, 0.1 / (k - 1))  # smoothing puts mass on −inf logits
    assert np.all(losses == np.inf)


@pytest.mark.parametrize("n", AWKWARD_SIZES)
def test_sgd_step(simd, dtype, n):
    p, g = rand(n, dtype), rand(n, dtype)
    want = ref.sgd_step(p, g, 0.1)
    F.sgd_step(p, g, 0.1)
    np.testing.assert_allclose(p, want, **tol(dtype))


@pytest.mark.parametrize("n", AWKWARD_SIZES)
def test_stream_triad(simd, dtype, n):
    b, c = rand(n, dtype), rand(n, dtype)
    a = np.empty(n, dtype)
    _C.stream_triad(a, b, c, 3.0)
    np.testing.assert_allclose(a, b.astype(np.float64) + 3.0 * c, **tol(dtype))


def test_fills_are_identical_across_simd_levels_and_threads():
    results = []
    previous_level, previous_threads = _C.simd_level(), pdt.get_num_threads()
    try:
        for level in _C.simd_supported():
            for threads in (1, 2):
                _C._set_simd(level)
                pdt.set_num_threads(threads)
                out = np.empty(200_003, np.float64)
                _C.fill_normal(out, 7, 11, 0.0, 1.0)
                results.append(out)
    finally:
        _C._set_simd(previous_level)
        pdt.set_num_threads(previous_threads)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    np.testing.assert_allclose(results[0], ref.standard_normal_at(7, 11, 200_003), **tol(np.float64))
