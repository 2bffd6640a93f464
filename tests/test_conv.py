"""Conv2d: kernels vs the float64 oracle at every SIMD level, finite differences, PyTorch parity,
bits for any thread count, initialization, state_dict with torch.nn.Conv2d, bad inputs."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import functional as F, nn

import reference as R
from conftest import assert_gradients

# (N, C, H, W, O, kernel, stride, padding, dilation, groups): stride, padding, dilation, groups, odd sizes,
# 1×1 kernels, batch 1, a single channel, a kernel as large as the padded input, asymmetric padding, and N > 8
# (several small images batched into one GEMM); depthwise (groups = C = O) with stride, dilation, padding;
# a deep product on a small output plane (batched), a column stride alone (tap tables), depthwise with padding
# past the kernel's reach, rows of whole vectors and a part one, a row stride alone; 3×3 "same" layers of 16+
# channels (Winograd F(2×2, 3×3)): odd height and width (clipped last tiles), even ones with O ≠ C
CASES = [
    (2, 3, 7, 6, 4, 3, 1, 1, 1, 1),
    (3, 4, 9, 8, 6, 3, 2, 1, 2, 2),
    (1, 1, 5, 5, 1, 1, 1, 0, 1, 1),
    (2, 5, 4, 7, 3, 1, 1, 0, 1, 1),
    (2, 4, 7, 5, 4, 1, 2, 0, 1, 1),
    (2, 4, 6, 6, 4, 3, 1, 1, 1, 4),
    (1, 6, 5, 9, 3, (2, 3), (2, 1), (1, 0), (1, 2), 3),
    (11, 2, 5, 6, 3, 3, 1, (0, 2, 1, 1), 1, 1),
    (1, 1, 3, 3, 2, 5, 1, 1, 1, 1),
    (2, 3, 17, 15, 5, 5, 3, 2, 1, 1),
    (40, 4, 5, 5, 6, 3, 1, 1, 1, 2),
    (20, 3, 4, 4, 5, 1, 1, 0, 1, 1),
    (3, 5, 9, 8, 5, 3, 2, 1, 2, 5),
    (2, 3, 7, 7, 3, (3, 5), 1, (1, 1, 2, 2), 1, 3),
    (9, 6, 4, 5, 6, 2, (1, 2), 0, 1, 6),
    (20, 16, 6, 6, 8, 3, 2, 1, 1, 1),
    (2, 3, 6, 11, 4, 3, (1, 2), (0, 1, 2, 0), 1, 1),
    (2, 3, 5, 6, 3, 2, 1, 2, 1, 3),
    (2, 2, 5, 37, 2, 3, 1, 1, 2, 2),
    (2, 3, 7, 8, 3, 3, (2, 1), 1, 1, 3),
    (3, 16, 7, 9, 17, 3, 1, 1, 1, 1),
    (2, 18, 4, 6, 16, 3, 1, 1, 1, 1),
]
IDS = [f"N{c[0]}C{c[1]}x{c[2]}x{c[3]}O{c[4]}k{c[5]}s{c[6]}p{c[7]}d{c[8]}g{c[9]}" for c in CASES]


def geometry(case):
    n, c, h, w, o, k, s, p, d, g = case
    kernel = F._pair(k)
    return (n, c, h, w), (o, c // g) + kernel, F._pair(s), F._padding4(p), F._pair(d), g


def arrays(case, dtype, seed=0):
    xs, ws, s, p, d, g = geometry(case)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    return x, w, b, s, p, d, g


def scaled_close(actual, expected, dtype, f32=1e-5, f64=1e-12):
    """|actual − expected| ≤ rtol·max|expected| (sums of products cancel, so elementwise rtol is unfair)."""
    rtol = f32 if np.dtype(dtype) == np.float32 else f64
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * max(np.abs(expected).max(), 1.0))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_kernels_match_oracle(simd, dtype, case):
    x, w, b, s, p, d, g = arrays(case, dtype)
    y = F.conv2d(x, w, b, s, p, d, g)
    scaled_close(y, R.conv2d_forward(x, w, b, s, p, d, g), dtype)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    dw, db = np.full_like(w, 0.5), np.full_like(b, -0.25)  # backward accumulates
    dx = F.conv2d_backward(x, w, dy, dw, db, s, p, d, g)
    dxr, dwr, dbr = R.conv2d_backward(x, w, dy, s, p, d, g)
    scaled_close(dx, dxr, dtype)
    scaled_close(dw - 0.5, dwr, dtype)
    scaled_close(db + 0.25, dbr, dtype)
    dw2 = np.zeros_like(w)
    assert F.conv2d_backward(x, w, dy, dw2, None, s, p, d, g, input_grad=False) is None
    scaled_close(dw2, dwr, dtype)


def test_conv2d_without_bias_and_with_out(dtype):
    x, w, _, s, p, d, g = arrays(CASES[1], dtype)
    expected = R.conv2d_forward(x, w, None, s, p, d, g)
    out = np.full(expected.shape, np.nan, dtype)
    assert F.conv2d(x, w, None, s, p, d, g, out=out) is out
    scaled_close(out, expected, dtype)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_finite_differences(case):
    n, c, h, w, o, k, s, p, d, g = case
    pdt.seed(3)
    layer = nn.Conv2d(c, o, k, stride=s, padding=p if not (isinstance(p, tuple) and len(p) == 4) else 1,
                      dilation=d, groups=g, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((min(n, 3), c, h, w))
    assert_gradients(layer, x)


def test_conv2d_same_padding_finite_differences():
    layer = nn.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2), dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 6))
    assert layer(x).shape == (2, 3, 5, 6)
    assert_gradients(layer, x)


torch = pytest.importorskip("torch")
TF = torch.nn.functional


def torch_reference(x, w, b, s, p, d, g, dy):
    """PyTorch's conv2d in float64 (explicit padding for the asymmetric case): y, dx, dw, db."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    y = TF.conv2d(TF.pad(xt, (p[2], p[3], p[0], p[1])), wt, bt, s, 0, d, g)
    y.backward(torch.tensor(dy, dtype=torch.float64))
    return [t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_layer_matches_torch(dtype, case):
    n, c, h, w_, o, k, s, p, d, g = case
    x, w, b, s, p4, d, g = arrays(case, dtype, seed=5)
    layer = nn.Conv2d(c, o, k, stride=s, padding=1, dilation=d, groups=g, dtype=dtype)
    layer._pad4 = p4  # the case's exact padding, asymmetric ones included
    layer.weight.data[...] = w
    layer.bias.data[...] = b
    y = layer(x)
    dy = np.random.default_rng(6).standard_normal(y.shape).astype(dtype)
    layer.zero_grad()
    dx = layer.backward(dy)
    ref = torch_reference(x, w, b, s, p4, d, g, dy)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    for ours, theirs in zip((y, dx, layer.weight.grad, layer.bias.grad), ref):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=rtol * max(np.abs(theirs).max(), 1.0))


# Winograd layers against PyTorch (float64): images in several blocks and several transforms per block (a 20×19
# plane has 100 tiles, two images a transform), one image a transform (a 40×33 plane), and the 14×14 and
# 7×7 layers of the ResNet; at every SIMD level. The float32 error of F(2×2, 3×3) stays below 1e-5 of the
# largest value (a few 1e-7 forward, up to about 4e-6 in dW of 64 images).
@pytest.mark.parametrize("n,c,h,w_,o", [(20, 16, 20, 19, 16), (3, 16, 40, 33, 20), (64, 32, 14, 14, 32),
                                        (64, 64, 7, 7, 64)])
def test_winograd_layers_match_torch(simd, dtype, n, c, h, w_, o):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    w = (rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    dy = rng.standard_normal((n, o, h, w_)).astype(dtype)
    dw, db = np.zeros_like(w), np.zeros_like(b)
    y = F.conv2d(x, w, b, 1, 1)
    dx = F.conv2d_backward(x, w, dy, dw, db, 1, 1)
    ref = torch_reference(x, w, b, (1, 1), (1, 1, 1, 1), (1, 1), 1, dy)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    for ours, theirs in zip((y, dx, dw, db), ref):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=rtol * max(np.abs(theirs).max(), 1.0))


@pytest.mark.parametrize("kernel,dilation", [(3, 1), (4, 1), ((2, 5), (2, 1))])
def test_same_padding_matches_torch(kernel, dilation):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8))
    ours = nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation, dtype=np.float64)
    theirs = torch.nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation, dtype=torch.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(ours(x), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)


def test_state_dict_round_trip_with_torch():
    pdt.seed(0)
    ours = nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2)
    theirs = torch.nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2)
    sd = ours.state_dict()
    assert list(sd) == list(theirs.state_dict()) == ["weight", "bias"]
    theirs.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    back = nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2)
    back.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 5)).astype(np.float32)
    np.testing.assert_array_equal(back(x), ours(x))
    np.testing.assert_allclose(ours(x), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    no_bias = torch.nn.Conv2d(3, 5, 1, bias=False)
    assert nn.Conv2d(3, 5, 1, bias=False).state_dict().keys() == no_bias.state_dict().keys()


def test_initialization_uses_pytorchs_fan_in():
    pdt.seed(0)
    fan_in = 8 // 2 * 5 * 3
    layer = nn.Conv2d(8, 64, (5, 3), groups=2)
    bound = 1 / np.sqrt(fan_in)
    for a in (layer.weight.data, layer.bias.data):
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.9 * bound
    he = nn.Conv2d(8, 64, (5, 3), groups=2, init="he_normal").weight.data
    assert abs(he.std() / np.sqrt(2 / fan_in) - 1) < 0.05
    assert not nn.Conv2d(8, 64, 3, init="he_normal").bias.data.any()


# ---- threads ----


@pytest.mark.parametrize("n,c,groups,stride", [(1, 16, 1, 1), (3, 16, 1, 1), (8, 16, 1, 1), (13, 16, 1, 1),
                                               (13, 2, 1, 1), (64, 1, 1, 1), (13, 32, 32, 1), (21, 16, 1, 2),
                                               (13, 32, 32, 2)])
def test_conv2d_bits_do_not_depend_on_threads(n, c, groups, stride, dtype):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, c, 20, 18)).astype(dtype)
    w = rng.standard_normal((32, c // groups, 3, 3)).astype(dtype)
    b = rng.standard_normal(32).astype(dtype)
    dy = rng.standard_normal((n, 32, 20 // stride, 18 // stride)).astype(dtype)
    results = []
    previous = pdt.get_num_threads()
    try:
        for threads in (1, 2, 3):
            pdt.set_num_threads(threads)
            dw, db = np.zeros_like(w), np.zeros_like(b)
            y = F.conv2d(x, w, b, stride, 1, groups=groups)
            dx = F.conv2d_backward(x, w, dy, dw, db, stride, 1, groups=groups)
            results.append((y, dx, dw, db))
    finally:
        pdt.set_num_threads(previous)
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            np.testing.assert_array_equal(a, b_)


# ---- bad inputs ----


def test_conv2d_layer_rejects_bad_inputs():
    layer = nn.Conv2d(3, 4, 3)
    x = np.zeros((2, 3, 5, 5), np.float32)
    for bad, kind, words in [
        (np.zeros((2, 2, 5, 5), np.float32), ValueError, "expected 3 input channels"),
        (np.zeros((3, 5, 5), np.float32), ValueError, "4-D"),
        (np.zeros((2, 3, 2, 5), np.float32), ValueError, "larger than the padded input"),
        (x.astype(np.float64), TypeError, "float32"),
        (x.astype(np.int64), TypeError, "float32 or float64"),
        (x.tolist(), TypeError, "numpy.ndarray"),
    ]:
        with pytest.raises(kind, match=words) as err:
            layer(bad)
        assert str(err.value).startswith("Conv2d:")
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Conv2d(3, 4, 3).backward(np.zeros((2, 4, 3, 3), np.float32))
    layer(x)
    with pytest.raises(ValueError, match="^Conv2d: dy must have the shape"):
        layer.backward(np.zeros((2, 4, 4, 4), np.float32))


@pytest.mark.parametrize("kwargs,kind,words", [
    (dict(padding=-1), ValueError, "padding must be >= 0"),
    (dict(groups=2), ValueError, "groups \\(2\\) must divide in_channels \\(3\\)"),
    (dict(stride=0), ValueError, "stride must be >= 1"),
    (dict(dilation=(1, 0)), ValueError, "dilation must be >= 1"),
    (dict(kernel_size=1.5), TypeError, "kernel_size must be an int"),
    (dict(padding="same", stride=2), ValueError, "padding='same' needs stride 1"),
    (dict(padding="full"), ValueError, "padding must be an int, a pair, 'same' or 'valid'"),
    (dict(padding_mode="reflect"), NotImplementedError, "padding_mode='reflect'"),
    (dict(padding_mode="mirror"), ValueError, "padding_mode must be 'zeros'"),
    (dict(dtype=np.int32), TypeError, "dtype must be float32 or float64"),
])
def test_conv2d_constructor_rejects_bad_arguments(kwargs, kind, words):
    args = dict(in_channels=3, out_channels=6, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(kind, match=words) as err:
        nn.Conv2d(**args)
    assert str(err.value).startswith("Conv2d:")


def test_conv2d_functional_rejects_bad_inputs():
    x = np.zeros((2, 4, 5, 5), np.float32)
    w = np.zeros((6, 2, 3, 3), np.float32)
    for call, kind, words in [
        (lambda: F.conv2d(x, w, groups=3), ValueError, "groups \\(3\\) must divide"),
        (lambda: F.conv2d(x, w, groups=1), ValueError, "weight has 2 input channels per group"),
        (lambda: F.conv2d(x, w, padding=-1, groups=2), ValueError, "padding must be >= 0"),
        (lambda: F.conv2d(x, np.zeros((6, 2, 7, 3), np.float32), groups=2), ValueError, "larger than the padded"),
        (lambda: F.conv2d(x, w.astype(np.float64), groups=2), TypeError, "float32 like 'x'"),
        (lambda: F.conv2d(x[0], w, groups=2), ValueError, "4-dimensional"),
        (lambda: F.conv2d(x, w, groups=2, work=np.zeros(3, np.float32)), ValueError, "work must hold at least"),
        (lambda: F.conv2d(x, w, np.zeros(5, np.float32), groups=2), ValueError, "'bias'"),
    ]:
        with pytest.raises(kind, match=words) as err:
            call()
        assert str(err.value).startswith("conv2d_forward:")
