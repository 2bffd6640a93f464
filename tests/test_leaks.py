"""No leaks: every kernel called many times on tiny inputs (and once more refused, through the binding's
error path), and 1,000 training steps, leave the process's memory where it was.

Per kernel: the reference counts of its arguments are unchanged, and memory traced by tracemalloc
(Python objects and NumPy's array buffers) grows by less than LEAK_BYTES; the process's resident
set (C allocations included) grows by less than RSS_BYTES over the whole run. CI makes 2,000 calls
of each; PYDTRAIN_LEAK_CALLS=100000 makes the full count.
"""
import gc
import os
import sys
import tracemalloc

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import functional as F, nn, optim

CALLS = int(os.environ.get("PYDTRAIN_LEAK_CALLS", "2000"))
WARMUP = 200
LEAK_BYTES = 16 * 1024  # a leak of even 8 bytes a call would show as 16 KB at 2,000 calls
RSS_BYTES = 8 * 1024 * 1024
STEPS = 1000

rng = np.random.default_rng(0)
x, dy = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal((4, 5)).astype(np.float32)
v, w = rng.standard_normal(20).astype(np.float32), rng.standard_normal(20).astype(np.float32)
b5 = rng.standard_normal(5).astype(np.float32)
labels = np.array([0, 2, 4, 1])
img = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
kern = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
state = {name: np.zeros(20, np.float32) for name in ("m", "v", "avg", "sq", "grad")}
f64_out = np.empty((4, 5))
ends = np.array([7, 20], np.int64)

# name -> (call with valid arguments, call that must be refused)
KERNELS = {
    "relu": (lambda: F.relu(x), lambda: F.relu(x, out=f64_out)),
    "gelu_backward": (lambda: F.gelu_backward(x, dy), lambda: F.gelu_backward(x, dy.T)),
    "silu": (lambda: F.silu(x, out=np.empty_like(x)), lambda: F.silu(x.tolist())),
    "softplus": (lambda: F.softplus(x), lambda: F.softplus(x, out=x[:, ::2])),
    "scale": (lambda: F.scale(x, 0.5), lambda: F.scale(x.astype(np.float16), 0.5)),
    "bias_relu": (lambda: F.bias_relu(x, b5), lambda: F.bias_relu(x, v)),
    "gemm": (lambda: F.gemm(x, dy, trans_b=True), lambda: F.gemm(x, dy)),
    "linear": (lambda: F.linear(x, dy, b5[:4]), lambda: F.linear(x, dy, v)),
    "cross_entropy": (lambda: F.cross_entropy(x, labels), lambda: F.cross_entropy(x, labels + 5)),
    "cross_entropy_backward": (lambda: F.cross_entropy_backward(x, labels, scale=0.25),
                               lambda: F.cross_entropy_backward(x, labels.astype(np.int32))),
    "bce_with_logits": (lambda: F.bce_with_logits(x, dy), lambda: F.bce_with_logits(x, f64_out)),
    "mse_backward": (lambda: F.mse_backward(x, dy, 0.5), lambda: F.mse_backward(x, v)),
    "adam_step": (lambda: F.adam_step(state["avg"], v, state["m"], state["v"], 1, 1e-3),
                  lambda: F.adam_step(state["avg"], state["avg"], state["m"], state["v"], 1)),
    "sgd_momentum_step": (lambda: F.sgd_momentum_step(state["avg"], v, state["m"], 0.1, 0.9),
                          lambda: F.sgd_momentum_step(state["avg"], v, None, 0.1, 0.9)),
    "rmsprop_step": (lambda: F.rmsprop_step(state["avg"], v, state["sq"], 1e-3),
                     lambda: F.rmsprop_step(state["avg"], v, v, 1e-3)),
    "sum_squares": (lambda: F.sum_squares(v), lambda: F.sum_squares(v[::2])),
    "segment_norms": (lambda: F.segment_norms(v, w, state["sq"], ends), lambda: F.segment_norms(v, w, v, ends, keep=True)),
    "l2_penalty": (lambda: F.l2_penalty(v, state["grad"], 1e-4), lambda: F.l2_penalty(v, v, 1e-4)),
    "ema_series": (lambda: F.ema_series(v, 0.9), lambda: F.ema_series(x, 0.9)),
    "dropout": (lambda: F.dropout(x, 0.5), lambda: F.dropout(x, 0.0)),
    "gaussian_noise": (lambda: F.gaussian_noise(x, 0.1), lambda: F.gaussian_noise(x, 0.1, out=f64_out)),
    "augment_erase": (lambda: F.augment_erase(img, 1.0), lambda: F.augment_erase(img, 1.0, out=img[:1])),
    "batchnorm": (lambda: F.batchnorm_backward(x, dy, *F.batchnorm_stats(x), eps=1e-3),
                  lambda: F.batchnorm(x, b5, b5[:3])),
    "layernorm": (lambda: F.layernorm(x), lambda: F.layernorm(x, 3)),
    "conv2d": (lambda: F.conv2d(img, kern, padding=1), lambda: F.conv2d(img, kern, groups=3)),
    "conv2d_backward": (lambda: F.conv2d_backward(img, kern, F.conv2d(img, kern), np.zeros_like(kern)),
                        lambda: F.conv2d_backward(img, kern, img, np.zeros_like(kern))),
    "max_pool2d": (lambda: F.max_pool2d(img, 2), lambda: F.max_pool2d(img, 9)),
    "relu_0d": (lambda: F.relu(np.full((), -0.3, np.float32)), lambda: F.relu(np.float32(0.3))),
}


def rss():
    """Resident set size in bytes (Linux), or None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


GROWTH = {}  # traced bytes gained per test, printed at the end


@pytest.fixture(scope="module")
def traced(request):
    rss_before = rss()
    tracemalloc.start()
    yield
    tracemalloc.stop()
    gc.collect()
    grown = rss() - rss_before if rss_before is not None else None
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print(f"\ntest_leaks: {CALLS} calls a kernel, {STEPS} steps; traced growth (bytes): most "
              f"{max(GROWTH.values())} ({max(GROWTH, key=GROWTH.get)}), "
              f"resident set {'?' if grown is None else f'{grown / 2**20:+.1f} MiB'}")
    if grown is not None:
        assert grown < RSS_BYTES, f"the resident set grew by {grown / 2**20:.1f} MiB over the leak tests"


def refcounts(objs):
    return [sys.getrefcount(o) for o in objs]


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_calls_do_not_leak(traced, name):
    good, bad = KERNELS[name]
    watched = [x, dy, v, w, b5, labels, img, kern, f64_out, ends, *state.values()]
    for _ in range(WARMUP):
        good()
        with pytest.raises((TypeError, ValueError)):
            bad()
    gc.collect()
    counts, (before, _) = refcounts(watched), tracemalloc.get_traced_memory()
    for _ in range(CALLS):
        good()
        try:
            bad()
        except (TypeError, ValueError):
            pass
    gc.collect()
    grown = GROWTH[name] = tracemalloc.get_traced_memory()[0] - before
    assert refcounts(watched) == counts, "a call kept a reference to an argument"
    assert grown < LEAK_BYTES, f"{name}: {grown} bytes more traced after {CALLS} calls"


def test_training_steps_do_not_leak(traced):
    """1,000 fit steps (Adam, BatchNorm, Dropout, clipping, an L2 penalty) after a warm-up epoch."""
    from pydtrain.regularizers import L2
    from pydtrain.train import fit

    pdt.seed(0)
    X = rng.standard_normal((320, 16)).astype(np.float32)
    y = rng.integers(0, 3, 320)
    model = nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(keep_prob=0.9), nn.Linear(32, 3))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    kwargs = dict(batch_size=32, progress=False, clip_grad_norm=1.0, regularizers=[L2(1e-4)])
    fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=1, **kwargs)
    gc.collect()
    before, rss_before = tracemalloc.get_traced_memory()[0], rss()
    h = fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=STEPS // 10, **kwargs)
    gc.collect()
    grown = GROWTH["training"] = tracemalloc.get_traced_memory()[0] - before
    assert h.epochs == STEPS // 10
    assert grown < 64 * 1024 + 200 * h.epochs, f"{grown} bytes more traced after {STEPS} steps"  # History: a few floats an epoch
    if rss_before is not None:
        assert rss() - rss_before < RSS_BYTES
