"""Every kernel writes every element of each of its outputs.

The binding allocates a missing output uninitialized (PyArray_EMPTY), so a kernel that
skipped an element, or relied on zeros, would return garbage. Each ``_C`` entry with
output arguments is called with fresh outputs (None) and then twice with explicit
outputs pre-filled with two different byte patterns (0xFF bytes: NaN in both float
dtypes, 0x5A bytes: a finite number); all three results must agree bit for bit, so
an element left unwritten shows as the poison. Shapes include empty and one-element
arrays, sizes around the vector widths and one above the parallel threshold (run at
1 and 2 threads), for both dtypes and every SIMD level of this CPU.
"""
import pathlib
import re

import numpy as np
import pytest

from pydtrain import _C, nn

SHAPES = ((0, 5), (4, 0), (1, 1), (3, 7), (9, 17), (70, 33), (300, 257))  # the last > PDT_PAR_MIN elements
BIG = SHAPES[-1]
POISONS = (0xFF, 0x5A)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _elementwise(name, *hp, backward=False):
    fn = getattr(_C, name)

    def make(shape, dtype, rng):
        x = (3 * rng.standard_normal(shape)).astype(dtype)
        if backward:
            dy = rng.standard_normal(shape).astype(dtype)
            return lambda outs: fn(x, dy, *hp, *outs), 1
        return lambda outs: fn(x, *hp, *outs), 1
    return make


def _bias_relu_forward(shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    return lambda outs: _C.bias_relu_forward(x, b, *outs), 1


def _bias_relu_backward(shape, dtype, rng):
    y = np.maximum(rng.standard_normal(shape), 0).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    return lambda outs: _C.bias_relu_backward(y, dy, np.zeros(shape[1], dtype), *outs), 1


def _ema_series(shape, dtype, rng):
    s = rng.standard_normal(shape[0] * shape[1]).astype(dtype)
    return lambda outs: _C.ema_series(s, 0.9, True, *outs), 1


def _segment_sumsq(shape, dtype, rng):
    x = rng.standard_normal(shape[0] * shape[1]).astype(dtype)
    y = rng.standard_normal(x.size).astype(dtype)
    ends = np.linspace(0, x.size, shape[1] + 1).astype(np.int64)[1:]  # shape[1] segments, some empty
    return lambda outs: _C.segment_sumsq(x, ends, y, False, *outs), 1


def _segment_norms(shape, dtype, rng):
    w, g, prev = (rng.standard_normal(shape[0] * shape[1]).astype(dtype) for _ in range(3))
    ends = np.linspace(0, w.size, shape[1] + 1).astype(np.int64)[1:]
    return lambda outs: _C.segment_norms(w, g, prev, ends, False, *outs), 1


def _dropout_forward(shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    return lambda outs: _C.dropout_forward(x, 1234, 56, 0.7, 1 / 0.7, *outs), 2


def _dropout_backward(shape, dtype, rng):
    dy = rng.standard_normal(shape).astype(dtype)
    mask = (rng.random(shape) < 0.7).astype(np.uint8)
    return lambda outs: _C.dropout_backward(dy, mask, 1 / 0.7, *outs), 1


def _gaussian_noise(shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    return lambda outs: _C.gaussian_noise_forward(x, 99, 7, 0.5, *outs), 1


def _augment(name, *hp, size=None):
    """An image batch (N, 2, 3, W) from the shape (N, W); size = (h, dw): translate's output is h × (W + dw).
    Empty images are rejected by the binding."""
    fn = getattr(_C, name)

    def make(shape, dtype, rng):
        if shape[1] == 0:
            return None
        x = rng.standard_normal((shape[0], 2, 3, shape[1])).astype(dtype)
        out_size = () if size is None else (size[0], max(shape[1] + size[1], 1))
        return lambda outs: fn(x, 5, 9, *out_size, *hp, *outs), 1
    return make


def _scale(shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    return lambda outs: _C.scale(x, -1.5, *outs), 1


def _stream_triad(shape, dtype, rng):
    b = rng.standard_normal(shape).astype(dtype)
    c = rng.standard_normal(shape).astype(dtype)
    return lambda outs: _C.stream_triad(outs[0], b, c, 3.0), 1


def _gemm(trans_a, trans_b, bias):
    def make(shape, dtype, rng):
        m, n = shape
        k = n // 2  # 0 for the one-element case: the k = 0 path writes bias or zeros
        a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
        b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
        bv = rng.standard_normal(n).astype(dtype) if bias else None
        return lambda outs: _C.gemm(a, b, outs[0], trans_a, trans_b, 0.5, 0.0, bv), 1
    return make


def _labels(shape, rng):
    return rng.integers(0, shape[1], shape[0]).astype(np.int64)


def _ce_forward(on, off):
    def make(shape, dtype, rng):
        if shape[1] == 0:
            return None  # no class: rejected by the binding
        z = (4 * rng.standard_normal(shape)).astype(dtype)
        y = _labels(shape, rng)
        return lambda outs: _C.cross_entropy_forward(z, y, on, off, *outs), 2
    return make


def _ce_soft_forward(shape, dtype, rng):
    if shape[1] == 0:
        return None
    z = (4 * rng.standard_normal(shape)).astype(dtype)
    t = _softmax(rng.standard_normal(shape)).astype(dtype)
    return lambda outs: _C.cross_entropy_soft_forward(z, t, *outs), 2


def _ce_backward(shape, dtype, rng):
    if shape[1] == 0 and shape[0] > 0:
        return None  # no valid label
    p = _softmax(rng.standard_normal(shape)).astype(dtype) if shape[1] else np.empty(shape, dtype)
    y = _labels(shape, rng) if shape[1] else np.empty(shape[0], np.int64)
    return lambda outs: _C.cross_entropy_backward(p, y, 0.9, 0.05, 0.25, *outs), 1


def _ce_soft_backward(shape, dtype, rng):
    p = rng.random(shape).astype(dtype)
    t = rng.random(shape).astype(dtype)
    return lambda outs: _C.cross_entropy_soft_backward(p, t, 0.25, *outs), 1


def _pair_loss(name, backward):
    fn = getattr(_C, name)

    def make(shape, dtype, rng):
        z = (3 * rng.standard_normal(shape)).astype(dtype)
        t = rng.random(shape).astype(dtype)
        if backward:
            return lambda outs: fn(z, t, 0.5, *outs), 1
        return lambda outs: fn(z, t, *outs), 1
    return make


def _bn_shape(shape, spatial):
    # (N, C, S): C of the shape's columns for S = 1, else 3 channels of the columns as positions
    return (shape[0], shape[1], 1) if not spatial else (shape[0], 3, shape[1])


def _bn_stats(spatial):
    def make(shape, dtype, rng):
        s3 = _bn_shape(shape, spatial)
        if s3[0] * s3[2] < 1 or s3[1] < 1:
            return None  # no value per channel: rejected by the binding
        x = (rng.standard_normal(s3) + 2).astype(dtype)
        return lambda outs: _C.batchnorm_stats(x, *outs), 2
    return make


def _bn_inputs(shape, spatial, dtype, rng):
    """(N, C, S) shape, x, per-channel mean and variance (>= 0.5) for the normalize and backward cases."""
    s3 = _bn_shape(shape, spatial)
    c = s3[1]
    x = rng.standard_normal(s3).astype(dtype)
    mean = rng.standard_normal(c).astype(dtype)
    var = rng.random(c).astype(dtype) + 0.5
    return s3, x, mean, var


def _bn_normalize(spatial, affine):
    def make(shape, dtype, rng):
        s3, x, mean, var = _bn_inputs(shape, spatial, dtype, rng)
        c = s3[1]
        g = rng.standard_normal(c).astype(dtype) if affine else None
        b = rng.standard_normal(c).astype(dtype) if affine else None
        return lambda outs: _C.batchnorm_normalize(x, mean, var, g, b, 1e-5, *outs), 1
    return make


def _bn_backward(spatial, batch_stats):
    def make(shape, dtype, rng):
        s3, x, mean, var = _bn_inputs(shape, spatial, dtype, rng)
        c = s3[1]
        dy = rng.standard_normal(s3).astype(dtype)
        g = rng.standard_normal(c).astype(dtype)
        return (lambda outs: _C.batchnorm_backward(x, dy, mean, var, g, 1e-5, batch_stats, np.zeros(c, dtype),
                                                   np.zeros(c, dtype), *outs)), 1
    return make


def _ln_forward(affine):
    def make(shape, dtype, rng):
        if shape[1] == 0:
            return None  # D >= 1 required by the binding
        x = (rng.standard_normal(shape) + 3).astype(dtype)
        g = rng.standard_normal(shape[1]).astype(dtype) if affine else None
        b = rng.standard_normal(shape[1]).astype(dtype) if affine else None
        return lambda outs: _C.layernorm_forward(x, g, b, 1e-5, *outs), 3
    return make


def _ln_backward(affine):
    def make(shape, dtype, rng):
        m, d = shape
        x = rng.standard_normal(shape).astype(dtype)
        dy = rng.standard_normal(shape).astype(dtype)
        mean = rng.standard_normal(m).astype(dtype)
        rstd = (rng.random(m) + 0.5).astype(dtype)
        g = rng.standard_normal(d).astype(dtype) if affine else None

        def call(outs):
            dg = np.zeros(d, dtype) if affine else None
            db = np.zeros(d, dtype) if affine else None
            return _C.layernorm_backward(x, dy, mean, rstd, g, dg, db, *outs)
        return call, 1
    return make


def _image(shape):
    """An (N, C, H, W) shape for a row of SHAPES (None for the empty ones); BIG runs the pools' loops in parallel."""
    a, b = shape
    return None if a * b == 0 else (1 + a // 20, 1 + b // 32, 3 + b // 8, 3 + a // 10)


def _conv(kernel, stride, padding, groups, backward):
    def make(shape, dtype, rng):
        image = _image(shape)
        if image is None:
            return None
        n, _, h, w = image
        c = 2 * groups
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        wt = rng.standard_normal((3 * groups, 2, kernel, kernel)).astype(dtype)
        geometry = ((stride, stride), (padding,) * 4, (1, 1), groups)
        work = np.empty(_C.conv2d_work_size(n, c, 3 * groups, kernel, kernel, h + 2 * padding, w + 2 * padding, groups),
                        dtype)
        if not backward:
            return lambda outs: _C.conv2d_forward(x, wt, wt[:, 0, 0, 0].copy(), *geometry, work, *outs), 1
        dy = rng.standard_normal(_C.conv2d_forward(x, wt, None, *geometry, work).shape).astype(dtype)
        return (lambda outs: _C.conv2d_backward(x, wt, dy, *geometry, np.zeros_like(wt), np.zeros(3 * groups, dtype),
                                                work, True, *outs)), 1
    return make


def _pool(entry):
    def make(shape, dtype, rng):
        image = _image(shape)
        if image is None:
            return None
        x = rng.standard_normal(image).astype(dtype)
        window = ((3, 3), (2, 2), (1, 1))
        if entry == "maxpool2d_forward":
            return lambda outs: _C.maxpool2d_forward(x, *window, *outs), 2
        if entry == "avgpool2d_forward":
            return lambda outs: _C.avgpool2d_forward(x, *window, *outs), 1
        if entry == "global_avgpool_forward":
            return lambda outs: _C.global_avgpool_forward(x, *outs), 1
        if entry == "global_avgpool_backward":
            return lambda outs: _C.global_avgpool_backward(_C.global_avgpool_forward(x), image[2:], *outs), 1
        y, argmax = _C.maxpool2d_forward(x, *window)
        if entry == "maxpool2d_backward":
            return lambda outs: _C.maxpool2d_backward(y, argmax, image[2:], *outs), 1
        return lambda outs: _C.avgpool2d_backward(y, image[2:], *window, *outs), 1
    return make


def _draw_shapes(shape, dtype, rng):
    images = np.empty((shape[0], 8 + shape[1] % 9, 8 + shape[1] % 9), dtype)
    return lambda outs: _C.draw_shapes(images, np.array([0, 5, 3], np.int64), 7, 11, 2, 0.1, *outs), 1


# entry name -> one or more (case label, maker); every _C function with an output argument is listed
CASES = {
    "relu_forward": [("", _elementwise("relu_forward"))],
    "relu_backward": [("", _elementwise("relu_backward", backward=True))],
    "exp_forward": [("", _elementwise("exp_forward"))],
    "sigmoid_forward": [("", _elementwise("sigmoid_forward"))],
    "sigmoid_backward": [("", _elementwise("sigmoid_backward", backward=True))],
    "tanh_forward": [("", _elementwise("tanh_forward"))],
    "tanh_backward": [("", _elementwise("tanh_backward", backward=True))],
    "gelu_forward": [("", _elementwise("gelu_forward"))],
    "gelu_backward": [("", _elementwise("gelu_backward", backward=True))],
    "gelu_tanh_forward": [("", _elementwise("gelu_tanh_forward"))],
    "gelu_tanh_backward": [("", _elementwise("gelu_tanh_backward", backward=True))],
    "silu_forward": [("", _elementwise("silu_forward"))],
    "silu_backward": [("", _elementwise("silu_backward", backward=True))],
    "leaky_relu_forward": [("", _elementwise("leaky_relu_forward", 0.1))],
    "leaky_relu_backward": [("", _elementwise("leaky_relu_backward", 0.1, backward=True))],
    "elu_forward": [("", _elementwise("elu_forward", 1.6, 1.05))],
    "elu_backward": [("", _elementwise("elu_backward", 1.6, 1.05, backward=True))],
    "softplus_forward": [("", _elementwise("softplus_forward", 2.0, 5.0))],
    "softplus_backward": [("", _elementwise("softplus_backward", 2.0, 5.0, backward=True))],
    "bias_relu_forward": [("", _bias_relu_forward)],
    "bias_relu_backward": [("", _bias_relu_backward)],
    "ema_series": [("", _ema_series)],
    "segment_sumsq": [("", _segment_sumsq)],
    "segment_norms": [("", _segment_norms)],
    "dropout_forward": [("", _dropout_forward)],
    "dropout_backward": [("", _dropout_backward)],
    "gaussian_noise_forward": [("", _gaussian_noise)],
    "augment_translate": [("zeros", _augment("augment_translate", -2, 2, -3, 3, False, size=(3, 0))),
                          ("edge-crop", _augment("augment_translate", -1, 1, -2, 1, True, size=(2, -1)))],
    "augment_hflip": [("", _augment("augment_hflip", 0.5))],
    "augment_rotate": [("", _augment("augment_rotate", 30.0))],
    "augment_erase": [("", _augment("augment_erase", 0.9, 0.1, 0.5, -1.0, 1.0, 7.0))],
    "scale": [("", _scale)],
    "stream_triad": [("", _stream_triad)],
    "gemm": [("nn-bias", _gemm(False, False, True)), ("nt", _gemm(False, True, False)),
             ("tn", _gemm(True, False, False)), ("tt-bias", _gemm(True, True, True))],
    "cross_entropy_forward": [("onehot", _ce_forward(1.0, 0.0)), ("smoothed", _ce_forward(0.9, 0.02))],
    "cross_entropy_soft_forward": [("", _ce_soft_forward)],
    "cross_entropy_backward": [("", _ce_backward)],
    "cross_entropy_soft_backward": [("", _ce_soft_backward)],
    "bce_with_logits_forward": [("", _pair_loss("bce_with_logits_forward", False))],
    "bce_with_logits_backward": [("", _pair_loss("bce_with_logits_backward", True))],
    "mse_forward": [("", _pair_loss("mse_forward", False))],
    "mse_backward": [("", _pair_loss("mse_backward", True))],
    "batchnorm_stats": [("s1", _bn_stats(False)), ("s3", _bn_stats(True))],
    "batchnorm_normalize": [("s1", _bn_normalize(False, True)), ("s3-noaffine", _bn_normalize(True, False))],
    "batchnorm_backward": [("s1-batch", _bn_backward(False, True)), ("s3-running", _bn_backward(True, False))],
    "layernorm_forward": [("affine", _ln_forward(True)), ("plain", _ln_forward(False))],
    "layernorm_backward": [("affine", _ln_backward(True)), ("plain", _ln_backward(False))],
    "conv2d_forward": [("3x3", _conv(3, 1, 1, 1, False)), ("1x1-g2", _conv(1, 1, 0, 2, False)),
                       ("s2", _conv(3, 2, 0, 1, False))],
    "conv2d_backward": [("3x3", _conv(3, 1, 1, 1, True)), ("1x1-g2", _conv(1, 1, 0, 2, True)),
                        ("s2", _conv(3, 2, 0, 1, True))],
    "draw_shapes": [("", _draw_shapes)],
    **{entry: [("", _pool(entry))] for entry in (
        "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
        "global_avgpool_forward", "global_avgpool_backward")},
}

PARAMS = [pytest.param(entry, maker, id=f"{entry}-{label}" if label else entry)
          for entry, makers in CASES.items() for label, maker in makers]


def _bits(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1).view(np.uint8)


def _poisoned(like: np.ndarray, byte: int) -> np.ndarray:
    a = np.empty_like(like)
    _bits(a)[:] = byte
    return a


def _check_all_written(entry, shape, call, nout):
    fresh = call([None] * nout)
    fresh = fresh if isinstance(fresh, tuple) else (fresh,)
    assert len(fresh) == nout
    for byte in POISONS:
        outs = [_poisoned(r, byte) for r in fresh]
        got = call(outs)
        got = got if isinstance(got, tuple) else (got,)
        for i, (g, o, r) in enumerate(zip(got, outs, fresh)):
            assert g is o, f"{entry} {shape}: output {i} is not the array passed"
            if g.dtype.kind == "f" and byte == 0xFF:
                left = np.flatnonzero(np.isnan(g) & ~np.isnan(r))
                assert left.size == 0, (f"{entry} {shape} {g.dtype}: output {i} keeps the NaN poison at flat "
                                        f"indices {left[:10].tolist()} (of {g.size})")
            differ = np.flatnonzero((_bits(g) != _bits(r)).reshape(g.size, -1).any(axis=1)) if g.size else []
            assert len(differ) == 0, (f"{entry} {shape} {g.dtype}: output {i} with poison 0x{byte:02X} differs from "
                                      f"the fresh output at flat indices {list(differ[:10])} (of {g.size})")


@pytest.mark.parametrize("entry,maker", PARAMS)
def test_every_output_element_written(entry, maker, dtype, simd):
    rng = np.random.default_rng(sum(map(ord, entry)))
    threads = _C.get_num_threads()
    try:
        for shape in SHAPES:
            made = maker(shape, dtype, rng)
            if made is None:
                continue
            call, nout = made
            for t in ((1, 2) if shape == BIG else (1,)):
                _C.set_num_threads(t)
                _check_all_written(entry, shape, call, nout)
    finally:
        _C.set_num_threads(threads)


def _entries_with_outputs() -> set:
    """Names of the _C functions whose binding declares an output (pdt_arg_out / pdt_arg_out_typed)."""
    names = set()
    for path in sorted((pathlib.Path(__file__).resolve().parents[1] / "csrc" / "py").glob("*.c")):
        src = path.read_text()
        table = dict((fn, name) for name, fn in re.findall(r'\{"(\w+)",\s*(py_\w+),', src))
        for fn, body in re.findall(r"static PyObject \*(py_\w+)\(PyObject \*self[^)]*\) \{(.*?)\n\}", src, re.S):
            if "pdt_arg_out" in body and fn in table:
                names.add(table[fn])
        for macro, suffixes in (("PDT_ACT_FORWARD", ("",)), ("PDT_ACT_BACKWARD", ("",)),
                                ("PDT_PAIR_LOSS", ("_forward", "_backward")), ("PDT_AUGMENT_ONE", ("",))):
            for base in re.findall(rf"^{macro}\((\w+)", src, re.M):
                names.update(base + s for s in suffixes)
    return names


def test_every_entry_with_outputs_is_covered():
    found = _entries_with_outputs()
    assert {"gemm", "relu_forward", "gelu_backward", "mse_forward", "layernorm_forward"} <= found  # the scan works
    assert found - set(CASES) == set(), "entries with outputs missing from CASES"
    assert set(CASES) - found == set(), "CASES lists entries without outputs"


# ---- layers reuse their large output arrays, never one that someone holds ----

LAYERS = {
    "relu": lambda: nn.ReLU(), "sigmoid": lambda: nn.Sigmoid(), "tanh": lambda: nn.Tanh(),
    "leaky_relu": lambda: nn.LeakyReLU(0.1), "elu": lambda: nn.ELU(), "selu": lambda: nn.SELU(),
    "gelu": lambda: nn.GELU(), "gelu_tanh": lambda: nn.GELU("tanh"), "silu": lambda: nn.SiLU(),
    "softplus": lambda: nn.Softplus(), "linear": lambda: nn.Linear(300, 300),
    "batchnorm": lambda: nn.BatchNorm(300), "layernorm": lambda: nn.LayerNorm(300),
}
LARGE = (128, 300)  # 150 KiB of float32: above the 128 KiB from which layers reuse outputs


def _address(a: np.ndarray) -> int:
    """Where an array's data starts (the norm layers return reshaped views of the array they wrote)."""
    return a.__array_interface__["data"][0]


@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_reuse_only_outputs_nobody_holds(name):
    layer = LAYERS[name]()
    rng = np.random.default_rng(1)
    x = rng.standard_normal(LARGE).astype(np.float32)
    dy = rng.standard_normal(LARGE).astype(np.float32)
    y1 = layer(x)
    dx1 = layer.backward(dy)
    view = y1[1:, ::2]  # a view alone keeps its array held
    kept_y, kept_dx = view.copy(), dx1.copy()
    del y1
    for _ in range(3):
        y = layer(2 * x)
        dx = layer.backward(2 * dy)
        assert not np.shares_memory(y, view) and not np.shares_memory(dx, dx1)
        assert not np.shares_memory(y, dx)
    np.testing.assert_array_equal(view, kept_y)
    np.testing.assert_array_equal(dx1, kept_dx)
    # an output nobody holds any more is the array the next call writes, with the same values as a new one
    del y, dx
    first = _address(layer(x))
    y = layer(x)
    assert _address(y) == first
    first = _address(layer.backward(dy))
    assert _address(layer.backward(dy)) == first
    fresh = LAYERS[name]()
    fresh.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(y, fresh(x))
    assert layer(rng.standard_normal((3, 300)).astype(np.float32)).shape == (3, 300)  # another shape: a new array


def test_activation_output_fed_back_as_input_is_never_overwritten():
    # y of one call is x of the next: the caller holds it, so the kernel writes another array
    layer = nn.Tanh()
    x = np.random.default_rng(2).standard_normal(LARGE).astype(np.float32)
    y1 = layer(x)
    kept = y1.copy()
    y2 = layer(y1)
    y3 = layer(y2)
    np.testing.assert_array_equal(y1, kept)
    assert not np.shares_memory(y2, y1) and not np.shares_memory(y3, y2)
    np.testing.assert_allclose(y3, np.tanh(np.tanh(np.tanh(x.astype(np.float64)))), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shift", [-1, 1])
def test_reuse_turns_itself_off_when_reference_counts_read_differently(monkeypatch, shift):
    # an interpreter counting one reference more or less than measured would hand out a held
    # array (or never reuse one): the import-time self-check must catch both
    from pydtrain.nn import module
    assert module._reuse_works()
    monkeypatch.setattr(module, "_SOLE", module._SOLE + shift)
    assert not module._reuse_works()
