"""The fused bias + ReLU kernels against the oracle, on every SIMD level, both dtypes, awkward sizes."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import functional as F

import reference as ref
from conftest import AWKWARD_SIZES, tol

rng = np.random.default_rng(5)


@pytest.mark.parametrize("rows", [1, 3, 17])
@pytest.mark.parametrize("cols", AWKWARD_SIZES + (1100,))
def test_bias_relu_forward_backward(simd, dtype, rows, cols):
    x = rng.standard_normal((rows, cols)).astype(dtype)
    b = rng.standard_normal(cols).astype(dtype)
    dy = rng.standard_normal((rows, cols)).astype(dtype)
    db = rng.standard_normal(cols).astype(dtype)
    y = F.bias_relu(x, b)
    np.testing.assert_allclose(y, ref.bias_relu_forward(x, b), **tol(dtype))
    want_dx, want_db = ref.bias_relu_backward(y, dy)
    want_db = want_db + db
    dx = F.bias_relu_backward(y, dy, db)
    np.testing.assert_array_equal(dx, want_dx.astype(dtype))
    np.testing.assert_allclose(db, want_db, **tol(dtype, f32=(1e-5, 1e-5)))


def test_bias_relu_in_place_and_thread_independent():
    x = rng.standard_normal((300, 1500)).astype(np.float32)
    b = rng.standard_normal(1500).astype(np.float32)
    dy = rng.standard_normal((300, 1500)).astype(np.float32)
    results = []
    previous = pdt.get_num_threads()
    try:
        for threads in (1, 2):
            pdt.set_num_threads(threads)
            y = x.copy()
            F.bias_relu(y, b, out=y)
            db = np.zeros(1500, np.float32)
            dx = dy.copy()
            F.bias_relu_backward(y, dx, db, out=dx)
            results.append((y, dx, db))
    finally:
        pdt.set_num_threads(previous)
    for a, c in zip(results[0], results[1]):
        np.testing.assert_array_equal(a, c)
    y, dx, db = results[0]  # in place gives the oracle's values, not only the same values twice
    np.testing.assert_allclose(y, ref.bias_relu_forward(x, b), **tol(np.float32))
    want_dx, want_db = ref.bias_relu_backward(y, dy)
    np.testing.assert_array_equal(dx, want_dx.astype(np.float32))
    np.testing.assert_allclose(db, want_db, **tol(np.float32, f32=(1e-5, 1e-5)))


def test_bias_relu_rejects_a_wrong_bias():
    with pytest.raises(ValueError, match="argument 'bias' has shape"):
        F.bias_relu(np.ones((2, 3), np.float32), np.ones(4, np.float32))
