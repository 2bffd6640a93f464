"""Shared fixtures: every supported SIMD level, both dtypes, tolerances."""
import numpy as np
import pytest

from pydtrain import _C

SIMD_LEVELS = _C.simd_supported()
AWKWARD_SIZES = (1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 1023)


@pytest.fixture(params=SIMD_LEVELS)
def simd(request):
    """Run the test with the kernels of one SIMD level, then restore the level in use."""
    previous = _C.simd_level()
    _C._set_simd(request.param)
    yield request.param
    _C._set_simd(previous)


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return np.dtype(request.param)


def tol(dtype, f32=(1e-5, 1e-6), f64=(1e-12, 1e-13)):
    """assert_allclose keyword tolerances for a dtype."""
    rtol, atol = f32 if np.dtype(dtype) == np.float32 else f64
    return {"rtol": rtol, "atol": atol}


def assert_gradients(module, x, rtol=1e-7):
    """Float64 finite differences (diagnostics.gradient_errors) of the input and every parameter gradient:
    each reference is nonzero and each error at most rtol · max(|reference|, 1)."""
    from pydtrain.diagnostics import gradient_errors

    for name, (err, ref) in gradient_errors(module, x).items():
        assert ref > 0 and err <= rtol * max(ref, 1.0), (name, err, ref)
