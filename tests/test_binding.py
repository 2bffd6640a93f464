"""The binding's one validation path: every bad input is an exception naming the function and argument."""
import gc
import sys
import tracemalloc

import numpy as np
import pytest

from pydtrain import _C, functional as F


def f32(*shape):
    return np.ones(shape, np.float32)


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda: _C.relu_forward([1.0, 2.0]), TypeError, "relu_forward: argument 'x' must be a numpy.ndarray; got list"),
        (lambda: _C.relu_forward(np.ones(3, np.int32)), TypeError, "argument 'x' must be float32 or float64; got"),
        (lambda: _C.relu_forward(np.ones(3, np.float16)), TypeError, "float32 or float64"),
        (lambda: _C.relu_backward(f32(3), np.ones(3)), TypeError, "argument 'dy' must be float32 like 'x'"),
        (lambda: _C.relu_backward(f32(3), f32(4)), ValueError, "argument 'dy' must have the shape of 'x' (3,); got shape (4,)"),
        (lambda: _C.relu_forward(f32(4, 4)[:, ::2]), ValueError, "argument 'x' must be C-contiguous"),
        (lambda: _C.relu_forward(f32(4, 4).T), ValueError, "C-contiguous"),
        (lambda: _C.relu_forward(np.ones(3, ">f4")), ValueError, "native byte order"),
        (lambda: _C.relu_forward(f32(3), f32(4)), ValueError, "argument 'out' must have the shape of 'x'"),
        (lambda: _C.relu_forward(f32(3), np.ones(3)), TypeError, "argument 'out' must be float32 like 'x'"),
        (lambda: _C.gemm(f32(2, 3), f32(4, 5)), ValueError, "gemm: argument 'b' has shape (4,5), but its dimension 0 (K,N) must be 3 to match 'a'"),
        (lambda: F.gemm(f32(2, 3), f32(3, 5), beta=1.0), ValueError, "beta=1 reads 'out', so 'out' must be given"),
        (lambda: _C.gemm(f32(3), f32(3, 5)), ValueError, "argument 'a' must be 2-dimensional"),
        (lambda: F.gemm(f32(2, 3), f32(3, 5), bias=f32(4)), ValueError, "argument 'bias'"),
        (lambda: _C.cross_entropy_forward(f32(2, 3), np.array([0, 3]), 1.0, 0.0), ValueError, "holds class 3 at position 1; classes must be in [0, 3)"),
        (lambda: _C.cross_entropy_forward(f32(2, 3), np.array([0, -1]), 1.0, 0.0), ValueError, "holds class -1"),
        (lambda: _C.cross_entropy_forward(f32(2, 3), np.array([0, 1], np.int32), 1.0, 0.0), TypeError, "argument 'labels' must be int64; got int32"),
        (lambda: _C.cross_entropy_forward(f32(2, 0), np.array([0, 1]), 1.0, 0.0), ValueError, "at least one class"),
        (lambda: _C.sgd_step(f32(3), f32(3), "0.1"), TypeError, "must be real number"),
        (lambda: _C.set_num_threads(0), ValueError, "between 1 and 512"),
        (lambda: _C._set_simd("sse9"), ValueError, "unknown SIMD level 'sse9'"),
    ],
)
def test_bad_input_raises_with_a_clear_message(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert message in str(info.value)


def test_read_only_output_and_inout_are_rejected():
    out = f32(3)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="output 'out' must be writeable"):
        _C.relu_forward(f32(3), out)
    with pytest.raises(ValueError, match="argument 'param' is updated in place and must be writeable"):
        _C.sgd_step(out, f32(3), 0.1)


def test_aliasing_is_refused_except_exact_in_place():
    x = np.arange(10, dtype=np.float32)
    with pytest.raises(ValueError, match="argument 'out' shares memory with 'x'"):
        _C.relu_forward(x[:8], x[2:])
    a = f32(4, 4)
    with pytest.raises(ValueError, match="shares memory with 'a'"):
        _C.gemm(a, f32(4, 4), a)
    p = f32(5)
    with pytest.raises(ValueError, match="argument 'grad' shares memory with 'param'"):
        _C.sgd_step(p, p, 0.1)
    _C.relu_forward(x, x)  # the exact same array is allowed in place


def test_empty_arrays_are_fine_for_elementwise_kernels():
    assert _C.relu_forward(np.empty(0, np.float32)).shape == (0,)
    assert _C.relu_forward(np.empty((0, 5))).shape == (0, 5)


def test_out_is_written_in_place_and_returned():
    x = np.linspace(-1, 1, 9)
    out = np.empty_like(x)
    assert F.relu(x, out=out) is out
    np.testing.assert_array_equal(out, np.maximum(x, 0))


def test_no_reference_leaks():
    x, dy, out = f32(64), f32(64), f32(64)
    a, b, c = f32(8, 8), f32(8, 8), f32(8, 8)
    labels = np.zeros(8, np.int64)
    calls = [
        lambda: _C.relu_forward(x),
        lambda: _C.relu_forward(x, out),
        lambda: _C.relu_backward(x, dy, out),
        lambda: _C.gemm(a, b, c, False, False, 1.0, 1.0),
        lambda: _C.gemm(a, b),
        lambda: _C.cross_entropy_forward(a, labels, 1.0, 0.0),
        lambda: _C.sgd_step(out, x, 0.1),
    ]
    bad = [lambda: _C.relu_forward(x, f32(3)), lambda: _C.gemm(a, f32(3, 3))]
    watched = (x, dy, out, a, b, c, labels)
    before = [sys.getrefcount(o) for o in watched]
    for fn in calls:
        fn()
    gc.collect()
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    for _ in range(2000):
        for fn in calls:
            fn()
        for fn in bad:
            with pytest.raises((ValueError, TypeError)):
                fn()
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert [sys.getrefcount(o) for o in watched] == before
    growth = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    assert growth < 100_000, f"memory grew by {growth} bytes over 2000 rounds"


def test_no_leaks_over_every_layer_optimizer_and_averager():
    """Every entry point a training step reaches (tuple returns, optional state) run many times."""
    import pydtrain as pdt
    from pydtrain import nn, optim

    pdt.seed(0)
    model = nn.Sequential(
        nn.Linear(8, 16), nn.BatchNorm(16), nn.GELU(), nn.Dropout(keep_prob=0.8), nn.GaussianNoise(0.1),
        nn.Linear(16, 16), nn.LayerNorm(16), nn.SiLU(), nn.Residual(nn.Sequential(nn.Linear(16, 16), nn.Tanh())),
        nn.Linear(16, 4),
    )
    x = np.ones((6, 8), np.float32)
    y = np.array([0, 1, 2, 3, 0, 1])
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizers = [optim.Adam(model.parameters(), lr=1e-3, amsgrad=True), optim.RMSprop(model.parameters(), lr=1e-3, centered=True, momentum=0.9),
                  optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)]
    ema = optim.EMA(model, beta=0.9)

    def step(opt):
        loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        optim.clip_grad_norm_(model.parameters(), 1.0)
        optim.clip_grad_value_(model.parameters(), 0.5)
        opt.step()
        ema.update()

    for opt in optimizers:
        step(opt)
    before = (sys.getrefcount(x), sys.getrefcount(y))
    gc.collect()
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    for _ in range(300):
        for opt in optimizers:
            step(opt)
        with ema.applied(model):
            model.eval()(x)
        model.train()
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert (sys.getrefcount(x), sys.getrefcount(y)) == before
    growth = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    assert growth < 200_000, f"memory grew by {growth} bytes over 300 rounds"
