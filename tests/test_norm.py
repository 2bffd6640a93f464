"""BatchNorm and LayerNorm: kernels vs the oracle, finite differences, PyTorch parity,
running statistics, recompute_bn_stats, determinism across threads, bad inputs."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _C, functional as F, nn

import reference as R
from conftest import AWKWARD_SIZES, assert_gradients, tol

LOOSE = {"f32": (2e-5, 2e-5), "f64": (1e-11, 1e-12)}


def close(dtype):
    return tol(dtype, f32=LOOSE["f32"], f64=LOOSE["f64"])


def data(shape, dtype, seed=0, loc=0.5):
    return (loc + 2.0 * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


# ---- BatchNorm kernels vs oracle ----

BN_SHAPES = [(n, c) for n in (2, 3, 33) for c in AWKWARD_SIZES] + [(n, 3, s) for n in (1, 2, 5) for s in AWKWARD_SIZES] \
    + [(4, 2, 3, 5), (1023, 7)]


@pytest.mark.parametrize("shape", BN_SHAPES, ids=str)
def test_batchnorm_kernels_match_oracle(simd, dtype, shape):
    x = data(shape, dtype, seed=len(shape))
    c = shape[1]
    rng = np.random.default_rng(1)
    gamma, beta = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    mean, var = F.batchnorm_stats(x)
    mr, vr = R.batchnorm_stats(x)
    np.testing.assert_allclose(mean, mr, **close(dtype))
    np.testing.assert_allclose(var, vr, **close(dtype))
    y = F.batchnorm(x, mean, var, gamma, beta, eps=1e-3)
    np.testing.assert_allclose(y, R.batchnorm_normalize(x, mean, var, gamma, beta, 1e-3), **close(dtype))
    dy = rng.standard_normal(shape).astype(dtype)
    for batch_stats in (True, False):
        dg, db = np.full(c, 0.5, dtype), np.full(c, -0.25, dtype)
        dx = F.batchnorm_backward(x, dy, mean, var, gamma, 1e-3, batch_stats, dg, db)
        dxr, dgr, dbr = R.batchnorm_backward(x, dy, mean, var, gamma, 1e-3, batch_stats)
        scale = np.abs(dxr).max()
        np.testing.assert_allclose(dx, dxr, rtol=close(dtype)["rtol"], atol=close(dtype)["atol"] * max(scale, 1))
        np.testing.assert_allclose(dg, 0.5 + dgr, rtol=close(dtype)["rtol"], atol=close(dtype)["atol"] * x.size)
        np.testing.assert_allclose(db, -0.25 + dbr, rtol=close(dtype)["rtol"], atol=close(dtype)["atol"] * x.size)


def test_batchnorm_without_affine(dtype):
    x = data((9, 4, 3), dtype)
    mean, var = F.batchnorm_stats(x)
    np.testing.assert_allclose(F.batchnorm(x, mean, var, eps=1e-5),
                               R.batchnorm_normalize(x, mean, var, None, None, 1e-5), **close(dtype))


def test_batchnorm_stats_with_a_large_offset():
    # the one-pass sums are shifted, so a mean far from 0 does not cancel the variance away
    x = 1e4 + np.random.default_rng(3).standard_normal((1000, 3)).astype(np.float32)
    _, var = F.batchnorm_stats(x)
    np.testing.assert_allclose(var, R.batchnorm_stats(x)[1], rtol=1e-5)


# ---- LayerNorm kernels vs oracle ----


@pytest.mark.parametrize("d", AWKWARD_SIZES)
@pytest.mark.parametrize("m", [1, 3, 40])
def test_layernorm_kernels_match_oracle(simd, dtype, m, d):
    x = data((m, d), dtype, seed=d)
    rng = np.random.default_rng(2)
    gamma, beta = rng.standard_normal(d).astype(dtype), rng.standard_normal(d).astype(dtype)
    y, mean, rstd = F.layernorm(x, 1, gamma, beta, eps=1e-3)
    yr, mr, rr = R.layernorm_forward(x, gamma, beta, 1e-3)
    np.testing.assert_allclose(y, yr, **close(dtype))
    np.testing.assert_allclose(mean, mr, **close(dtype))
    np.testing.assert_allclose(rstd, rr, **close(dtype))
    dy = rng.standard_normal((m, d)).astype(dtype)
    dg, db = np.ones(d, dtype), np.zeros(d, dtype)
    dx = F.layernorm_backward(x, dy, mean, rstd, gamma, dg, db)
    dxr, dgr, dbr = R.layernorm_backward(x, dy, mean, rstd, gamma)
    c = close(dtype)
    np.testing.assert_allclose(dx, dxr, rtol=c["rtol"], atol=c["atol"] * max(1.0, np.abs(dxr).max()))
    np.testing.assert_allclose(dg, 1 + dgr, rtol=c["rtol"], atol=c["atol"] * m)
    np.testing.assert_allclose(db, dbr, rtol=c["rtol"], atol=c["atol"] * m)
    y0, _, _ = F.layernorm(x, 1, eps=1e-3)
    np.testing.assert_allclose(y0, R.layernorm_forward(x, None, None, 1e-3)[0], **close(dtype))


# ---- determinism across thread counts ----


@pytest.mark.parametrize("shape", [(4096, 64), (64, 16, 300)], ids=str)
def test_batchnorm_bit_identical_across_threads(shape):
    x = data(shape, np.float32)
    dy = data(shape, np.float32, seed=5)
    c = shape[1]
    previous = pdt.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            pdt.set_num_threads(threads)
            mean, var = F.batchnorm_stats(x)
            dg, db = np.zeros(c, np.float32), np.zeros(c, np.float32)
            dx = F.batchnorm_backward(x, dy, mean, var, np.ones(c, np.float32), 1e-5, True, dg, db)
            outs.append((mean, var, dx, dg, db))
    finally:
        pdt.set_num_threads(previous)
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    _check_sums_against_oracle(x, dy, outs[0], "batchnorm")


def _check_sums_against_oracle(x, dy, ours, kind):
    """Float32 results of the parallel paths against the float64 oracle; the reductions over
    thousands of terms get an absolute error of 1e-7 of the largest sum of absolute terms (float32 rounding: 6e-8)."""
    c = close(np.float32)
    ax = (0,) + tuple(range(2, x.ndim)) if kind == "batchnorm" else 0
    if kind == "batchnorm":
        mean, var, dx, dg, db = ours
        mr, vr = R.batchnorm_stats(x)
        np.testing.assert_allclose(mean, mr, **c)
        np.testing.assert_allclose(var, vr, **c)
        dxr, dgr, dbr = R.batchnorm_backward(x, dy, mean, var, None, 1e-5, True)
        xhat = R.batchnorm_normalize(x, mean, var, None, None, 1e-5)
    else:
        y, mean, rstd, dx, dg, db = ours
        yr, mr, rr = R.layernorm_forward(x, None, None, 1e-5)
        for got, want in ((y, yr), (mean, mr), (rstd, rr)):
            np.testing.assert_allclose(got, want, rtol=c["rtol"], atol=c["atol"] * max(1.0, np.abs(want).max()))
        dxr, dgr, dbr = R.layernorm_backward(x, dy, mean, rstd, None)
        xhat = (x.astype(np.float64) - mean[:, None]) * rstd[:, None]
    np.testing.assert_allclose(dx, dxr, rtol=c["rtol"], atol=c["atol"] * max(1.0, np.abs(dxr).max()))
    dy64 = dy.astype(np.float64)
    np.testing.assert_allclose(dg, dgr, rtol=c["rtol"], atol=1e-7 * float(np.abs(dy64 * xhat).sum(axis=ax).max()))
    np.testing.assert_allclose(db, dbr, rtol=c["rtol"], atol=1e-7 * float(np.abs(dy64).sum(axis=ax).max()))


def test_layernorm_bit_identical_across_threads():
    """Bit-identical for any thread count at each SIMD level; the levels agree to rounding."""
    x = data((1000, 300), np.float32)
    dy = data((1000, 300), np.float32, seed=5)
    previous, level = pdt.get_num_threads(), _C.simd_level()
    by_level = []
    try:
        for lvl in _C.simd_supported():
            _C._set_simd(lvl)
            outs = []
            for threads in (1, 2):
                pdt.set_num_threads(threads)
                y, mean, rstd = F.layernorm(x, 1, np.ones(300, np.float32), np.zeros(300, np.float32))
                dg, db = np.zeros(300, np.float32), np.zeros(300, np.float32)
                dx = F.layernorm_backward(x, dy, mean, rstd, np.ones(300, np.float32), dg, db)
                outs.append((y, mean, rstd, dx, dg, db))
            for a, b in zip(*outs):
                np.testing.assert_array_equal(a, b)
            _check_sums_against_oracle(x, dy, outs[0], "layernorm")
            by_level.append(outs[0])
    finally:
        pdt.set_num_threads(previous)
        _C._set_simd(level)
    for o in by_level[1:]:
        for a, b in zip(o, by_level[0]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(b).max())))


# ---- finite differences (float64) ----


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 5)], ids=str)
def test_batchnorm_training_gradients(shape):
    bn = nn.BatchNorm(shape[1], dtype=np.float64)
    bn.weight.data[:] = np.random.default_rng(1).standard_normal(shape[1])
    bn.bias.data[:] = np.random.default_rng(2).standard_normal(shape[1])
    assert_gradients(bn, data(shape, np.float64))


def test_batchnorm_eval_gradients():
    bn = nn.BatchNorm(3, dtype=np.float64)
    bn.running_mean[:] = [0.1, -0.2, 0.3]
    bn.running_var[:] = [0.5, 2.0, 1.5]
    bn.eval()
    assert_gradients(bn, data((4, 3), np.float64))


@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((3, 2, 5), (2, 5))], ids=str)
def test_layernorm_gradients(shape, normalized):
    ln = nn.LayerNorm(normalized, dtype=np.float64)
    ln.weight.data[...] = np.random.default_rng(1).standard_normal(ln.weight.shape)
    ln.bias.data[...] = np.random.default_rng(2).standard_normal(ln.bias.shape)
    assert_gradients(ln, data(shape, np.float64))
    assert_gradients(nn.LayerNorm(normalized, elementwise_affine=False, dtype=np.float64), data(shape, np.float64))


# ---- PyTorch parity ----

PARITY = {np.float64: 1e-10, np.float32: 1e-5}


def _close(ours, theirs, dtype):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    r = PARITY[np.dtype(dtype).type]
    np.testing.assert_allclose(ours, theirs, rtol=r, atol=r * max(1.0, np.abs(theirs).max()))


@pytest.mark.parametrize("shape", [(32, 10), (8, 4, 6, 5)], ids=str)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_parity_with_torch(dtype, shape, momentum):
    torch = pytest.importorskip("torch")
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    c = shape[1]
    ours = nn.BatchNorm(c, eps=1e-4, momentum=momentum, dtype=dtype)
    cls = torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d
    theirs = cls(c, eps=1e-4, momentum=momentum).to(tdtype)
    w = np.random.default_rng(0).standard_normal(c).astype(dtype)
    b = np.random.default_rng(1).standard_normal(c).astype(dtype)
    ours.weight.data[:] = w
    ours.bias.data[:] = b
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(w))
        theirs.bias.copy_(torch.from_numpy(b))
    for step in range(4):  # several training steps: running statistics
        x = data(shape, dtype, seed=10 + step, loc=step)
        dy = data(shape, dtype, seed=20 + step)
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        yt = theirs(xt)
        yt.backward(torch.from_numpy(dy))
        y = ours(x)
        dx = ours.backward(dy)
        _close(y, yt, dtype)
        _close(dx, xt.grad, dtype)
    _close(ours.weight.grad, theirs.weight.grad, dtype)
    _close(ours.bias.grad, theirs.bias.grad, dtype)
    _close(ours.running_mean, theirs.running_mean, dtype)
    _close(ours.running_var, theirs.running_var, dtype)
    assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 4
    ours.eval()
    theirs.eval()
    x = data(shape, dtype, seed=99)
    dy = data(shape, dtype, seed=98)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(dy))
    _close(ours(x), yt, dtype)
    _close(ours.backward(dy), xt.grad, dtype)


@pytest.mark.parametrize("shape, normalized", [((16, 33), (33,)), ((4, 5, 3, 7), (3, 7))], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_parity_with_torch(dtype, shape, normalized, affine):
    torch = pytest.importorskip("torch")
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ours = nn.LayerNorm(normalized, eps=1e-4, elementwise_affine=affine, dtype=dtype)
    theirs = torch.nn.LayerNorm(normalized, eps=1e-4, elementwise_affine=affine).to(tdtype)
    if affine:
        w = np.random.default_rng(0).standard_normal(normalized).astype(dtype)
        b = np.random.default_rng(1).standard_normal(normalized).astype(dtype)
        ours.weight.data[...] = w
        ours.bias.data[...] = b
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(w))
            theirs.bias.copy_(torch.from_numpy(b))
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        x, dy = data(shape, dtype, seed=3), data(shape, dtype, seed=4)
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        yt = theirs(xt)
        yt.backward(torch.from_numpy(dy))
        _close(ours(x), yt, dtype)
        _close(ours.backward(dy), xt.grad, dtype)
    if affine:
        _close(ours.weight.grad, theirs.weight.grad, dtype)
        _close(ours.bias.grad, theirs.bias.grad, dtype)


# ---- recompute_bn_stats ----


def test_recompute_bn_stats_is_ioffe_szegedy_algorithm_2():
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(5, 4, dtype=np.float64), nn.BatchNorm(4, dtype=np.float64), nn.ReLU(),
                          nn.Linear(4, 3, dtype=np.float64), nn.BatchNorm(3, momentum=0.3, dtype=np.float64))
    model.eval()
    batches = [data((16, 5), np.float64, seed=s) for s in range(6)]
    params = [p.data.copy() for p in model.parameters()]
    nn.recompute_bn_stats(model, batches)
    assert not any(m.training for m in model.modules())  # mode restored
    for p, before in zip(model.parameters(), params):
        np.testing.assert_array_equal(p.data, before)
    # expected: each BatchNorm's inputs in training mode, batch by batch
    lin1, bn1, relu, lin2, bn2 = list(model)
    h1 = [lin1.forward(b) for b in batches]
    m1 = np.mean([h.mean(0) for h in h1], axis=0)
    v1 = 16 / 15 * np.mean([h.var(0) for h in h1], axis=0)
    np.testing.assert_allclose(bn1.running_mean, m1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(bn1.running_var, v1, rtol=1e-12)
    assert int(bn1.num_batches_tracked) == 6
    h2 = [lin2.forward(np.maximum(R.batchnorm_normalize(h, *R.batchnorm_stats(h), bn1.weight.data,
                                                        bn1.bias.data, bn1.eps), 0)) for h in h1]
    np.testing.assert_allclose(bn2.running_mean, np.mean([h.mean(0) for h in h2], axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn2.running_var, 16 / 15 * np.mean([h.var(0) for h in h2], axis=0), rtol=1e-10)


def test_recompute_bn_stats_restores_mixed_modes_and_accepts_tuples():
    model = nn.Sequential(nn.BatchNorm(2, dtype=np.float64), nn.BatchNorm(2, dtype=np.float64))
    model[0].eval()
    nn.recompute_bn_stats(model, [(data((4, 2), np.float64, seed=1), None)])
    assert model.training and not model[0].training and model[1].training
    with pytest.raises(ValueError, match="empty"):
        nn.recompute_bn_stats(model, [])


def test_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm(3, momentum=None, dtype=np.float64)
    xs = [data((10, 3), np.float64, seed=s, loc=s) for s in range(5)]
    for x in xs:
        bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, np.mean([x.var(0, ddof=1) for x in xs], axis=0), rtol=1e-12)


def test_eval_uses_running_statistics_exactly():
    bn = nn.BatchNorm(3, dtype=np.float64).eval()
    bn.running_mean[:] = [1.0, 2.0, 3.0]
    bn.running_var[:] = [4.0, 1.0, 0.25]
    x = data((5, 3), np.float64)
    np.testing.assert_allclose(bn(x), (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5), rtol=1e-14)
    assert int(bn.num_batches_tracked) == 0


# ---- bad inputs ----


def test_batchnorm_bad_inputs():
    bn = nn.BatchNorm(3)
    with pytest.raises(ValueError, match="expected 3 channels"):
        bn(np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        bn(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match="float32"):
        bn(np.ones((4, 3), np.float64))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.BatchNorm(3).backward(np.ones((4, 3), np.float32))
    bn(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))
    with pytest.raises(ValueError, match="dy has shape"):
        bn.backward(np.ones((5, 3), np.float32))
    bn.eval()
    bn(np.ones((1, 3), np.float32))  # one example is fine at inference
    for kwargs, match in (({"num_features": 0}, "num_features"), ({"num_features": 3, "eps": 0}, "eps"),
                          ({"num_features": 3, "momentum": 1.5}, "momentum")):
        with pytest.raises(ValueError, match=match):
            nn.BatchNorm(**kwargs)
    with pytest.raises(TypeError, match="num_features must be a positive integer"):  # a wrong type
        nn.BatchNorm(2.5)
    with pytest.raises(ValueError, match="eps"):
        _C.batchnorm_normalize(np.ones((2, 3, 1)), np.zeros(3), np.ones(3), None, None, -1.0)
    with pytest.raises(ValueError):
        _C.batchnorm_normalize(np.ones((2, 3, 1)), np.zeros(4), np.ones(3), None, None, 1e-5)
    with pytest.raises(ValueError, match="both"):
        _C.batchnorm_normalize(np.ones((2, 3, 1)), np.zeros(3), np.ones(3), np.ones(3), None, 1e-5)
    with pytest.raises(ValueError, match="at least one value"):
        _C.batchnorm_stats(np.ones((0, 3, 1)))


def test_layernorm_bad_inputs():
    ln = nn.LayerNorm((3, 4))
    with pytest.raises(ValueError, match=r"end with the dims \(3, 4\)"):
        ln(np.ones((2, 4, 3), np.float32))
    with pytest.raises(ValueError, match="end with"):
        ln(np.ones(4, np.float32))
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(0)
    with pytest.raises(ValueError, match="eps"):
        nn.LayerNorm(3, eps=-1)
    with pytest.raises(TypeError, match="float32"):
        ln(np.ones((2, 3, 4), np.float64))
    ln(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="dy has shape"):
        ln.backward(np.ones((3, 3, 4), np.float32))


def test_batchnorm_aliases_and_non_contiguous_input():
    assert issubclass(nn.BatchNorm1d, nn.BatchNorm) and issubclass(nn.BatchNorm2d, nn.BatchNorm)
    x = data((6, 8), np.float32)
    a = nn.BatchNorm2d(4)(x[:, ::2])
    b = nn.BatchNorm(4)(np.ascontiguousarray(x[:, ::2]))
    np.testing.assert_array_equal(a, b)
