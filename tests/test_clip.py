"""Gradient clipping: kernels against the oracle, clip_grad_norm_/clip_grad_value_ against torch,
one pass over an optimizer arena, non-finite norms, thread-count independence of the norm."""
import math

import numpy as np
import pytest

import pydtrain
import reference as ref
from conftest import AWKWARD_SIZES, tol
from pydtrain import functional as F, nn, optim

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("n", AWKWARD_SIZES + (0, 40000))
def test_norm_kernels(simd, dtype, n):
    x = RNG.standard_normal(n).astype(dtype)
    assert math.isclose(F.sum_squares(x), ref.clip_sumsq(x), rel_tol=1e-6 if dtype == np.float32 else 1e-13)
    assert F.max_abs(x) == ref.clip_maxabs(x)


@pytest.mark.parametrize("n", AWKWARD_SIZES)
def test_scale_and_clamp_kernels(simd, dtype, n):
    x = RNG.standard_normal(n).astype(dtype)
    want = ref.scale(x, 0.3)
    np.testing.assert_allclose(F.scale(x, 0.3, out=x), want, **tol(dtype))
    want = ref.clip_value(x, 0.1)
    np.testing.assert_allclose(F.clamp_(x, 0.1), want, **tol(dtype))


def test_nan_and_inf_in_kernels(simd):
    x = np.ones(100, np.float32)
    x[77] = np.nan
    assert math.isnan(F.max_abs(x)) and math.isnan(F.sum_squares(x))
    assert np.isnan(F.clamp_(x.copy(), 0.5)[77])
    x[77] = -np.inf
    assert F.max_abs(x) == math.inf and F.sum_squares(x) == math.inf


def _params(dtype=np.float64, shapes=((5, 4), (4,), (3, 5), (3,))):
    return [nn.Parameter(np.zeros(s, dtype)) for s in shapes]


def _fill(params, grads):
    for p, g in zip(params, grads):
        p.grad[...] = g


@pytest.mark.parametrize("norm_type", [2.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
@pytest.mark.parametrize("arena", [False, True])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, arena):
    torch = pytest.importorskip("torch")
    params = _params()
    if arena:
        optim.SGD(params, lr=0.1)  # moves the grads into one buffer: one pass
    grads = [RNG.standard_normal(p.shape) for p in params]
    _fill(params, grads)
    tps = [torch.zeros(p.shape, dtype=torch.float64, requires_grad=True) for p in params]
    for tp, g in zip(tps, grads):
        tp.grad = torch.tensor(g)
    norm = optim.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    tnorm = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert isinstance(norm, float)
    assert math.isclose(norm, float(tnorm), rel_tol=1e-13)
    for p, tp in zip(params, tps):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-13, atol=1e-15)
    if max_norm < norm:
        total = math.sqrt(sum((p.grad ** 2).sum() for p in params)) if norm_type == 2.0 else \
            max(np.abs(p.grad).max() for p in params)
        assert total <= max_norm


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    params = _params(np.float32)
    grads = [RNG.standard_normal(p.shape).astype(np.float32) for p in params]
    _fill(params, grads)
    optim.clip_grad_value_(params, 0.4)
    tps = [torch.nn.Parameter(torch.zeros(p.shape)) for p in params]
    for tp, g in zip(tps, grads):
        tp.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(tps, 0.4)
    for p, tp in zip(params, tps):
        np.testing.assert_array_equal(p.grad, tp.grad.numpy())


def test_nonfinite_norm_raises_or_follows_torch():
    torch = pytest.importorskip("torch")
    params = _params()
    optim.Adam(params)
    grads = [RNG.standard_normal(p.shape) for p in params]
    grads[2][1, 1] = np.inf
    _fill(params, grads)
    with pytest.raises(RuntimeError, match="inf"):
        optim.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(params[0].grad, grads[0])  # untouched when raising
    norm = optim.clip_grad_norm_(params, 1.0)
    tps = [torch.zeros(p.shape, dtype=torch.float64, requires_grad=True) for p in params]
    for tp, g in zip(tps, grads):
        tp.grad = torch.tensor(g)
    tnorm = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    assert norm == float(tnorm) == math.inf
    for p, tp in zip(params, tps):
        np.testing.assert_array_equal(p.grad, tp.grad.numpy())


def test_norm_is_independent_of_the_thread_count():
    x = np.random.default_rng(3).standard_normal(3_000_017).astype(np.float32)
    p = nn.Parameter(np.zeros_like(x))
    previous = pydtrain.get_num_threads()
    try:
        values = []
        for n in (1, 2, 3, 4):
            pydtrain.set_num_threads(n)
            values.append(F.sum_squares(x))
            p.grad[...] = x
            values.append(optim.clip_grad_norm_([p], 1e9) ** 2)
    finally:
        pydtrain.set_num_threads(previous)
    assert len(set(values[0::2])) == 1 and len(set(values[1::2])) == 1
    want = float((x.astype(np.float64) ** 2).sum())
    assert math.isclose(values[0], want, rel_tol=1e-7)
    assert math.isclose(values[1], want, rel_tol=1e-7)  # the total norm clip_grad_norm_ returns, squared


def test_bad_arguments():
    params = _params()
    with pytest.raises(ValueError, match="max_norm must be"):
        optim.clip_grad_norm_(params, -1.0)
    with pytest.raises(ValueError, match="norm_type must be 2 or inf"):
        optim.clip_grad_norm_(params, 1.0, norm_type=1)
    with pytest.raises(ValueError, match="clip_value must be"):
        optim.clip_grad_value_(params, -0.1)
    with pytest.raises(TypeError, match="Parameters"):
        optim.clip_grad_norm_([np.zeros(3)], 1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        F.sum_squares(np.zeros(3, np.int32))


@pytest.mark.parametrize("sizes", [(1,), (3, 0, 7), AWKWARD_SIZES, (40000, 17, 1)])
def test_segment_sum_squares(simd, dtype, sizes):
    ends = np.cumsum(sizes).astype(np.int64)
    x = RNG.standard_normal(ends[-1]).astype(dtype)
    y = RNG.standard_normal(ends[-1]).astype(dtype)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(F.segment_sum_squares(x, ends), ref.segment_sumsq(x, ends), rtol=rtol)
    # float32: x − y is rounded to float32 before it is squared
    np.testing.assert_allclose(F.segment_sum_squares(x, ends, y), ref.segment_sumsq(x, ends, y),
                               rtol=rtol if dtype == np.float64 else 1e-5)
    kept = y.copy()
    assert list(F.segment_sum_squares(x, ends, kept, keep=True)) == list(F.segment_sum_squares(x, ends, y))
    np.testing.assert_array_equal(kept, x)
    # each segment has the bits of the whole-array sum of that segment alone
    starts = np.concatenate([[0], ends[:-1]])
    assert list(F.segment_sum_squares(x, ends)) == [F.sum_squares(x[b:e]) for b, e in zip(starts, ends)]


@pytest.mark.parametrize("sizes", [(1,), (3, 0, 7), AWKWARD_SIZES, (40000, 17, 1)])
def test_segment_norms(simd, dtype, sizes):
    ends = np.cumsum(sizes).astype(np.int64)
    w, g, prev = (RNG.standard_normal(ends[-1]).astype(dtype) for _ in range(3))
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    got = F.segment_norms(w, g, prev, ends)
    np.testing.assert_allclose(got, ref.segment_norms(w, g, prev, ends), rtol=rtol if dtype == np.float64 else 1e-5)
    assert got.tolist() == [F.segment_sum_squares(g, ends).tolist(), F.segment_sum_squares(w, ends).tolist(),
                            F.segment_sum_squares(w, ends, prev).tolist()]
    kept = prev.copy()
    assert F.segment_norms(w, g, kept, ends, keep=True).tolist() == got.tolist()
    np.testing.assert_array_equal(kept, w)
    with pytest.raises(ValueError, match="segment_norms: the last of ends must be w's size"):
        F.segment_norms(w, g, prev, ends[:-1] if len(ends) > 1 else ends + 1)


def test_segment_sum_squares_bad_arguments():
    x = np.ones(10, np.float32)
    with pytest.raises(ValueError, match="segment_sumsq: the last of ends must be x's size 10"):
        F.segment_sum_squares(x, np.array([3, 9]))
    with pytest.raises(ValueError, match="segment_sumsq: ends must be ascending"):
        F.segment_sum_squares(x, np.array([5, 3, 10]))
    with pytest.raises(TypeError):
        F.segment_sum_squares(x, np.array([10], np.int32))
    with pytest.raises(ValueError, match="segment_sumsq: keep=True needs y"):
        F.segment_sum_squares(x, np.array([10]), keep=True)
    with pytest.raises(ValueError):
        F.segment_sum_squares(x, np.array([10]), np.ones(9, np.float32))
