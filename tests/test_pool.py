"""MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Dropout2d: kernels vs the float64 oracle at every SIMD
level, finite differences, PyTorch parity, bits for any thread count, bad inputs."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import functional as F, nn

import reference as R
from conftest import assert_gradients, tol

# (shape, kernel, stride, padding): default stride, overlapping windows, padding, odd sizes, batch 1, one channel;
# rows wide enough for whole vectors and a part one at stride 1, 2 (even lanes) and 3 (gathered), beside the
# windows cut by column padding
CASES = [
    ((2, 3, 8, 8), 2, None, 0),
    ((1, 2, 7, 9), 2, 2, 0),
    ((2, 3, 7, 9), 3, 2, 1),
    ((1, 1, 5, 5), 5, 1, 2),
    ((3, 2, 9, 4), (3, 2), (2, 1), (1, 1)),
    ((1, 4, 1, 7), (1, 3), 1, (0, 1)),
    ((2, 17, 33, 31), 3, 2, 1),
    ((2, 3, 9, 70), 2, None, 0),
    ((1, 2, 6, 75), 3, 3, 1),
    ((2, 2, 5, 40), (2, 3), 1, (1, 1)),
    ((1, 1, 4, 67), (1, 2), (1, 2), 0),
]
IDS = [f"{c[0]}k{c[1]}s{c[2]}p{c[3]}" for c in CASES]


def geometry(case):
    shape, k, s, p = case
    return shape, F._pair(k), F._pair(k if s is None else s), F._pair(p)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_max_pool_kernels_match_oracle(simd, dtype, case):
    shape, k, s, p = geometry(case)
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    y, argmax = F.max_pool2d(x, k, s, p)
    yr, ar = R.maxpool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(y, yr.astype(dtype))
    np.testing.assert_array_equal(argmax, ar)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    np.testing.assert_allclose(F.max_pool2d_backward(dy, argmax, shape[2:]), R.maxpool2d_backward(dy, ar, shape[2:]),
                               **tol(dtype))


@pytest.mark.parametrize("kernel,expected", [(2, [0, 9, 4]), ((2, 3), [0, 9])], ids=["2x2", "2x3"])
def test_max_pool_ties_and_nan(kernel, expected):
    # zeros with NaN at flat indices 4 and 9 of a 2×6 plane: the first of equal maxima wins, a NaN wins over
    # a number, and of two NaNs in a window the later (PyTorch's rule)
    x = np.zeros((1, 1, 2, 6))
    x[0, 0, 1, 3] = np.nan
    x[0, 0, 0, 4] = np.nan
    y, argmax = F.max_pool2d(x, kernel)
    np.testing.assert_array_equal(argmax.ravel(), expected)
    assert y[0, 0, 0, 0] == 0 and np.isnan(y[0, 0, 0, 1:]).all()


@pytest.mark.parametrize("case", [((2, 3, 8, 70), 2, None, 0), ((1, 2, 9, 75), 3, 2, 1), ((1, 2, 5, 40), 3, 1, 1)],
                         ids=["2x2", "3x3s2", "3x3s1"])
def test_max_pool_ties_at_every_level(simd, case):
    # values from {0, 1, 2}: most windows hold equal maxima, and the first in row order must win in every lane
    shape, k, s, p = geometry(case)
    x = np.random.default_rng(2).integers(0, 3, shape).astype(np.float32)
    y, argmax = F.max_pool2d(x, k, s, p)
    yr, ar = R.maxpool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(y, yr)
    np.testing.assert_array_equal(argmax, ar)


@pytest.mark.parametrize("case", [((2, 3, 8, 70), 2, None, 0), ((1, 2, 9, 75), 3, 3, 1), ((1, 2, 5, 40), 3, 1, 1)],
                         ids=["2x2", "3x3s3", "3x3s1"])
def test_max_pool_nan_in_wide_rows_matches_torch(simd, case):
    # NaNs among windows computed a vector at a time: the plane is redone window by window (PyTorch's rule)
    torch = pytest.importorskip("torch")
    shape, k, s, p = geometry(case)
    x = np.random.default_rng(3).standard_normal(shape)
    x[0, 1, 2, 20:23] = np.nan
    x[-1, 0, 3, 31] = np.nan
    y, argmax = F.max_pool2d(x, k, s, p)
    yt, at = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, return_indices=True)
    np.testing.assert_array_equal(y, yt.numpy())
    np.testing.assert_array_equal(argmax, at.numpy())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_avg_pool_kernels_match_oracle(simd, dtype, case):
    shape, k, s, p = geometry(case)
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    y = F.avg_pool2d(x, k, s, p)
    np.testing.assert_allclose(y, R.avgpool2d_forward(x, k, s, p), **tol(dtype))
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    np.testing.assert_allclose(F.avg_pool2d_backward(dy, shape[2:], k, s, p),
                               R.avgpool2d_backward(dy, shape[2:], k, s, p), **tol(dtype))


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 7, 9), (3, 5, 17, 33), (1, 2, 32, 32)], ids=str)
def test_global_avg_pool_kernels_match_oracle(simd, dtype, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    y = F.global_avg_pool2d(x)
    np.testing.assert_allclose(y, R.global_avgpool_forward(x), **tol(dtype))
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    np.testing.assert_allclose(F.global_avg_pool2d_backward(dy, shape[2:]), R.global_avgpool_backward(dy, shape[2:]),
                               **tol(dtype))


def layers(case):
    _, k, s, p = case
    return [nn.MaxPool2d(k, s, p), nn.AvgPool2d(k, s, p)]


@pytest.mark.parametrize("case", CASES[:5], ids=IDS[:5])
def test_pool_finite_differences(case):
    x = np.random.default_rng(3).standard_normal(case[0])
    for layer in layers(case) + [nn.AdaptiveAvgPool2d(1)]:
        assert_gradients(layer, x)


torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pool_layers_match_torch(dtype, case):
    shape, k, s, p = geometry(case)
    x = np.random.default_rng(4).standard_normal(shape).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    torch_fns = [lambda t: TF.max_pool2d(t, k, s, p), lambda t: TF.avg_pool2d(t, k, s, p),
                 lambda t: TF.adaptive_avg_pool2d(t, 1)]
    for layer, fn in zip(layers(case) + [nn.AdaptiveAvgPool2d(1)], torch_fns):
        xt = torch.tensor(x.astype(np.float64), requires_grad=True)
        yt = fn(xt)
        y = layer(x)
        dy = np.random.default_rng(5).standard_normal(y.shape).astype(dtype)
        yt.backward(torch.tensor(dy.astype(np.float64)))
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(layer.backward(dy), xt.grad.numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("layer", [nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(3, 2, 1), nn.AdaptiveAvgPool2d(1)],
                         ids=["max", "avg", "global"])
def test_pool_bits_do_not_depend_on_threads(layer, dtype):
    x = np.random.default_rng(0).standard_normal((16, 32, 30, 30)).astype(dtype)
    previous = pdt.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            pdt.set_num_threads(threads)
            y = layer(x).copy()
            results.append((y, layer.backward(np.ones_like(y)).copy()))
    finally:
        pdt.set_num_threads(previous)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [lambda: nn.MaxPool2d(3), lambda: nn.AvgPool2d(3), lambda: nn.AdaptiveAvgPool2d(1)],
                         ids=["max", "avg", "global"])
def test_pool_layers_reject_bad_inputs(make):
    layer = make()
    name = type(layer).__name__
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 1, 1, 1), np.float32))
    for bad, kind, words in [(np.zeros((3, 5, 5), np.float32), ValueError, "4-D"),
                             (np.zeros((1, 1, 5, 5), np.int32), TypeError, "float32 or float64")]:
        with pytest.raises(kind, match=words) as err:
            layer(bad)
        assert str(err.value).startswith(f"{name}:")
    layer(np.zeros((1, 2, 6, 6), np.float32))
    with pytest.raises(ValueError, match=f"^{name}: dy must have the shape"):
        layer.backward(np.zeros((1, 2, 5, 5), np.float32))
    with pytest.raises(TypeError, match=f"^{name}:"):
        layer.backward(np.zeros((1, 2, 2, 2), np.float64))


@pytest.mark.parametrize("kwargs,kind,words", [
    (dict(kernel_size=2, padding=2), ValueError, "padding \\(2, 2\\) must be at most half"),
    (dict(kernel_size=0), ValueError, "kernel_size must be >= 1"),
    (dict(kernel_size=2, stride=0), ValueError, "stride must be >= 1"),
    (dict(kernel_size=2, padding=-1), ValueError, "padding must be >= 0"),
    (dict(kernel_size="2"), TypeError, "kernel_size must be an int"),
])
def test_pool_constructors_reject_bad_arguments(kwargs, kind, words):
    for cls in (nn.MaxPool2d, nn.AvgPool2d):
        with pytest.raises(kind, match=words) as err:
            cls(**kwargs)
        assert str(err.value).startswith(cls.__name__ + ":")
    with pytest.raises(ValueError, match="^MaxPool2d: kernel_size \\(5, 5\\) is larger than the padded input"):
        nn.MaxPool2d(5)(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(NotImplementedError, match="^AdaptiveAvgPool2d: only output_size 1"):
        nn.AdaptiveAvgPool2d(2)


def test_pool_functional_rejects_bad_inputs():
    x = np.zeros((1, 2, 4, 4), np.float32)
    y, argmax = F.max_pool2d(x, 2)
    for call, words in [
        (lambda: F.max_pool2d(x, 5), "^maxpool2d_forward: the kernel"),
        (lambda: F.max_pool2d(x, 2, padding=2), "^maxpool2d_forward: padding \\(2, 2\\) must be at most half"),
        (lambda: F.avg_pool2d(x, 2, stride=0), "^avgpool2d_forward: stride must be >= 1"),
        (lambda: F.max_pool2d_backward(y, argmax + 16, (4, 4)), "^maxpool2d_backward: argmax holds 16"),
        (lambda: F.avg_pool2d_backward(y, (7, 7), 2), "^avgpool2d_backward: dy must have the forward output's size"),
        (lambda: F.global_avg_pool2d_backward(y, (4, 4)), "^global_avgpool_backward: argument 'dy'"),
    ]:
        with pytest.raises(ValueError, match=words):
            call()


# ---- Dropout2d ----


def test_dropout2d_drops_whole_channels_from_the_seeded_generator():
    x = np.random.default_rng(0).standard_normal((64, 16, 5, 5)).astype(np.float32) + 3.0
    layer = nn.Dropout2d(rate=0.25)
    pdt.seed(7)
    y = layer(x)
    kept = layer.mask.astype(bool)
    assert layer.mask.shape == (64, 16) and 0.65 < kept.mean() < 0.85
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-6)
    assert not y[~kept].any()
    pdt.seed(7)
    np.testing.assert_array_equal(nn.Dropout2d(rate=0.25)(x), y)
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_allclose(dx, np.broadcast_to(kept[:, :, None, None] / 0.75, x.shape), rtol=1e-6)
    layer.eval()
    assert layer(x) is x
    assert_gradients(nn.Dropout2d(keep_prob=0.5), x[:2, :3, :2, :2].astype(np.float64))
    with pytest.raises(ValueError, match="^Dropout2d: input must be 4-D"):
        nn.Dropout2d(rate=0.5)(x[0])
