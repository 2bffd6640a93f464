"""Property-based fuzzing of every pydtrain.functional kernel and every nn layer (hypothesis).

Arguments come in random shapes (0, 1 and 0-d included), both dtypes and mixed, C order or
strided, negative-stride, Fortran-order, zero-stride, misaligned, byte-swapped, read-only,
lists and Python floats; values moderate, wide-ranged or with NaN/Inf/huge/subnormal entries;
``out=`` fresh, the same array as an input, overlapping one, read-only, strided, of another
dtype or shape. Each case must give the float64 oracle's result (tests/reference.py) or raise
TypeError/ValueError leaving every array unchanged: never a crash, a hang, a copy into ``out=``
returned in its place, or a wrong number. The seed is fixed (derandomize); about 20,000 cases
run by default, PYDTRAIN_FUZZ_EXAMPLES=10 runs ten times as many.
"""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import pydtrain as pdt
from pydtrain import functional as F, nn

import reference as ref
from fuzzing import (CASES, DTYPES, F32, F64, SUMS, array, check, close, fuzz_settings, good_in, good_inout, output, shapes,
                     snapshot, tolerances)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow and NaN in the oracle are expected


@pytest.fixture(scope="module", autouse=True)
def report(request):
    """Prints the number of cases run per family at the end of the module."""
    yield
    line = ", ".join(f"{k} {v}" for k, v in sorted(CASES.items()))
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print(f"\ntest_fuzz: {sum(CASES.values())} cases ({line})")


def is_array(a):
    return isinstance(a, np.ndarray)


# ---- element-wise kernels: name -> (function, oracle, hyper-parameter strategy, backward?) ----

FINITE = st.sampled_from([0.0, 0.01, 0.2, -0.5, 1.0, 3.0])  # hyper-parameters a float32 kernel holds exactly enough
POSITIVE = st.sampled_from([0.05, 0.5, 1.0, 1.7, 4.0])
ELEMENTWISE = {
    "relu": (F.relu, ref.relu_forward, st.tuples(), False),
    "relu_backward": (F.relu_backward, ref.relu_backward, st.tuples(), True),
    "exp": (F.exp, ref.exp_forward, st.tuples(), False),
    "sigmoid": (F.sigmoid, ref.sigmoid_forward, st.tuples(), False),
    "sigmoid_backward": (F.sigmoid_backward, ref.sigmoid_backward, st.tuples(), True),
    "tanh": (F.tanh, ref.tanh_forward, st.tuples(), False),
    "tanh_backward": (F.tanh_backward, ref.tanh_backward, st.tuples(), True),
    "leaky_relu": (F.leaky_relu, ref.leaky_relu_forward, st.tuples(FINITE), False),
    "leaky_relu_backward": (F.leaky_relu_backward, ref.leaky_relu_backward, st.tuples(FINITE), True),
    "elu": (F.elu, ref.elu_forward, st.tuples(POSITIVE), False),
    "elu_backward": (F.elu_backward, ref.elu_backward, st.tuples(POSITIVE), True),
    "selu": (F.selu, lambda x: ref.elu_forward(x, ref.SELU_ALPHA, ref.SELU_SCALE), st.tuples(), False),
    "selu_backward": (F.selu_backward, lambda x, dy: ref.elu_backward(x, dy, ref.SELU_ALPHA, ref.SELU_SCALE),
                      st.tuples(), True),
    "gelu": (F.gelu, ref.gelu_forward, st.tuples(), False),
    "gelu_backward": (F.gelu_backward, ref.gelu_backward, st.tuples(), True),
    "gelu_tanh": (lambda x, out=None: F.gelu(x, "tanh", out), ref.gelu_tanh_forward, st.tuples(), False),
    "gelu_tanh_backward": (lambda x, dy, out=None: F.gelu_backward(x, dy, "tanh", out), ref.gelu_tanh_backward,
                           st.tuples(), True),
    "silu": (F.silu, ref.silu_forward, st.tuples(), False),
    "silu_backward": (F.silu_backward, ref.silu_backward, st.tuples(), True),
    "softplus": (F.softplus, ref.softplus_forward, st.tuples(POSITIVE, st.floats(1, 30)), False),
    "softplus_backward": (F.softplus_backward, ref.softplus_backward, st.tuples(POSITIVE, st.floats(1, 30)), True),
    "scale": (F.scale, ref.scale, st.tuples(FINITE), False),
}


@fuzz_settings(4400)
@given(st.data())
def test_elementwise(data):
    name = data.draw(st.sampled_from(sorted(ELEMENTWISE)), "kernel")
    fn, oracle, hyper, backward = ELEMENTWISE[name]
    dtype, shape = data.draw(DTYPES, "dtype"), data.draw(shapes(), "shape")
    inputs = [data.draw(array(shape, dtype, first=True), "x")] + ([data.draw(array(shape, dtype), "dy")] if backward else [])
    hp = data.draw(hyper, "hyper")
    out, out_ok = data.draw(output(shape, dtype, inputs, alias_ok=True), "out")
    valid = all(good_in(a, dtype) for a in inputs) and out_ok
    rtol, atol = tolerances(dtype)
    if backward and valid:  # dx = dy·f'(x), f' a sum of O(1) terms: its rounding follows |dy|, not |dx|
        atol = 10 * atol * (1 + np.nan_to_num(np.abs(f64(inputs[1])), posinf=0))
    assume(not (backward and valid and _inf_times_tiny(oracle, inputs, hp, dtype)))
    check("elementwise", lambda: fn(*inputs, *hp, out=out), lambda: (oracle(*inputs, *hp), ()), dtype, valid, inputs,
          out, (rtol, atol))


# |f'(x)| below a few ulps of 1 is 0 within the rounding of f'(x)'s O(1) terms (1 + tanh(u) is 0 once tanh(u) rounds
# to -1, in the kernel's dtype or in the float64 oracle): where dy is infinite there, dx is inf·(0 or almost 0), and
# ±inf, 0 and NaN are all defensible (tanh-GELU's 1 + tanh, SELU's e^x underflowed to 0, GELU's tail past |x| = 13
# (float32) / 37 (float64) taken as 0, sigmoid's e^x kept as a subnormal): such cases are not drawn
AMBIGUOUS_SLOPE = {np.float32: 4 * float(np.finfo(np.float32).eps), np.float64: 4 * float(np.finfo(np.float64).eps)}


def _inf_times_tiny(oracle, inputs, hp, dtype):
    """Whether dy is infinite where |f'(x)| < AMBIGUOUS_SLOPE (f' from the float64 oracle)."""
    x, dy = inputs
    with np.errstate(invalid="ignore", over="ignore"):
        slope = np.abs(oracle(x, np.ones(np.shape(dy)), *hp))
    return bool((np.isinf(f64(dy)) & (slope < AMBIGUOUS_SLOPE[np.dtype(dtype).type])).any())


def eps(dtype):
    return float(np.finfo(dtype).eps)


def f64(a):
    """The float64 value the oracle reads (NaN-safe magnitudes come from np.abs of it)."""
    return np.asarray(a, np.float64)


# ---- bias_relu, bias_grad, gemm and linear ----


@fuzz_settings(1500)
@given(st.data())
def test_bias_relu(data):
    dtype, n, m = data.draw(DTYPES), data.draw(st.sampled_from([0, 1, 3, 9])), data.draw(st.sampled_from([0, 1, 5, 17]))
    op = data.draw(st.sampled_from(["forward", "backward", "bias_grad"]))
    if op == "forward":
        x, b = data.draw(array((n, m), dtype, first=True)), data.draw(array((m,), dtype))
        out, out_ok = data.draw(output((n, m), dtype, [x, b], alias_ok=True))
        check("bias_relu", lambda: F.bias_relu(x, b, out=out), lambda: (ref.bias_relu_forward(x, b), ()), dtype,
              good_in(x, dtype) and good_in(b, dtype) and out_ok, [x, b], out)
        return
    dy = data.draw(array((n, m), dtype, kinds=SUMS, first=op == "bias_grad"))
    db = data.draw(array((m,), dtype, layout=data.draw(st.sampled_from(["c"] * 5 + ["readonly", "strided"]))))
    tol = (1e-5, 4 * eps(dtype) * (n + 1) * (np.nan_to_num(np.abs(f64(dy))).sum(0) + np.abs(np.nan_to_num(f64(db)))))
    if op == "bias_grad":
        check("bias_relu", lambda: F.bias_grad(dy, db), lambda: (None, [(db, f64(db) + ref.bias_grad(dy))]), dtype,
              good_in(dy, dtype) and good_inout(db, dtype), [dy, db], rtol_atol=tol)
        return
    y = data.draw(array((n, m), dtype, kinds=SUMS, first=True))
    if isinstance(y, np.ndarray) and y.dtype.kind == "f" and y.flags.writeable:
        y[...] = np.maximum(y, 0)  # a forward output
    out, out_ok = data.draw(output((n, m), dtype, [y, dy], alias_ok=True))

    def oracle():
        dx, inc = ref.bias_relu_backward(y, dy)
        return dx, [(db, f64(db) + inc)]
    check("bias_relu", lambda: F.bias_relu_backward(y, dy, db, out=out), oracle, dtype,
          good_in(y, dtype) and good_in(dy, dtype) and good_inout(db, dtype) and out_ok, [y, dy, db], out, tol)


@fuzz_settings(1500)
@given(st.data())
def test_gemm(data):
    dtype = data.draw(DTYPES)
    m, n, k = (data.draw(st.sampled_from([0, 1, 2, 7, 17])) for _ in range(3))
    ta, tb = data.draw(st.booleans()), data.draw(st.booleans())
    a = data.draw(array((k, m) if ta else (m, k), dtype, kinds=SUMS, first=True))
    b = data.draw(array((n, k) if tb else (k, n), dtype, kinds=SUMS))
    bias = data.draw(st.one_of(st.none(), array((n,), dtype, kinds=SUMS)))
    alpha, beta = data.draw(st.sampled_from([1.0, 0.5, -2.0])), data.draw(st.sampled_from([0.0, 0.0, 1.0, -0.5]))
    out, out_ok = data.draw(output((m, n), dtype, [a, b], alias_ok=False))
    if beta != 0.0 and out is not None and out.flags.writeable and out.dtype == dtype and out.shape == (m, n):
        out[...] = np.random.default_rng(k).standard_normal((m, n))
    arrays = [a, b] + ([bias] if bias is not None else [])
    valid = all(good_in(v, dtype) for v in arrays) and out_ok and (beta == 0.0 or out is not None)
    if data.draw(st.booleans()) and not ta and tb and beta == 0.0 and alpha == 1.0:  # linear(x, W, b): PyTorch's layout
        call = lambda: F.linear(a, b, bias, out=out)  # noqa: E731
    else:
        call = lambda: F.gemm(a, b, out, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta, bias=bias)  # noqa: E731

    def oracle():
        c = None if out is None else out.copy()
        return ref.gemm(a, b, ta, tb, alpha, beta, c, bias), ()

    def bound():  # |error| ≤ γ_k·(|α|·|op(a)|·|op(b)| + |β·c| + |bias|)
        aa, bb = (np.nan_to_num(np.abs(f64(v))) for v in (a, b))
        mag = abs(alpha) * ((aa.T if ta else aa) @ (bb.T if tb else bb))
        mag = mag + (abs(beta) * np.nan_to_num(np.abs(f64(out))) if beta else 0) + \
            (np.nan_to_num(np.abs(f64(bias))) if bias is not None else 0)
        return 0.0, 4 * eps(dtype) * (k + 2) * mag
    check("gemm", call, oracle, dtype, valid, arrays, out, bound() if valid else None)


# ---- losses ----


@st.composite
def labels(draw, n, k):
    """int64 labels in [0, k), or ones the binding must refuse: out of range, another dtype, strided, a list."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y = rng.integers(0, max(k, 1), n).astype(np.int64)
    kind = draw(st.sampled_from(["good"] * 8 + ["range", "int32", "float", "strided", "list"]))
    if kind == "range" and n:
        y[rng.integers(n)] = draw(st.sampled_from([-1, k, 2**40]))
    elif kind in ("int32", "float"):
        y = y.astype(np.int32 if kind == "int32" else np.float64)
    elif kind == "strided" and n > 1:
        y = np.repeat(y, 2)[::2]
    elif kind == "list":
        return y.tolist()
    return y


def labels_ok(y, k):
    return type(y) is np.ndarray and y.dtype == np.int64 and y.flags.c_contiguous and \
        bool(((y >= 0) & (y < k)).all())


@fuzz_settings(2200)
@given(st.data())
def test_losses(data):
    dtype = data.draw(DTYPES)
    n, k = data.draw(st.sampled_from([0, 1, 2, 5, 9])), data.draw(st.sampled_from([1, 2, 3, 10, 33]))
    op = data.draw(st.sampled_from(["ce", "ce_soft", "ce_backward", "ce_soft_backward", "bce", "bce_backward",
                                    "mse", "mse_backward"]))
    z = data.draw(array((n, k), dtype, kinds=SUMS, first=True))
    scale = data.draw(st.sampled_from([1.0, 0.25, -1.0]))
    big = np.nan_to_num(np.abs(f64(z)), posinf=0).max(initial=0) if isinstance(z, np.ndarray) else 0
    tol = (1e-5 if dtype == F32 else 1e-12, 8 * eps(dtype) * (big + 1) * max(k, 1) * 4)
    if op in ("ce", "ce_backward"):
        y = data.draw(labels(n, k))
        on = data.draw(st.sampled_from([1.0, 0.9]))
        off = (1 - on) / max(k - 1, 1)
        if op == "ce":
            probs, losses = data.draw(st.one_of(st.just((None, None)), st.tuples(
                output((n, k), dtype, [z], alias_ok=False), output((n,), dtype, [z], alias_ok=False))))
            outs = [o for o in (probs, losses) if isinstance(o, tuple)]
            p_out, l_out = (probs[0] if probs else None), (losses[0] if losses else None)
            valid = good_in(z, dtype) and labels_ok(y, k) and all(ok for _, ok in outs) and \
                (p_out is None or l_out is None or not np.shares_memory(p_out, l_out))
            check("loss", lambda: F.cross_entropy(z, y, on, off, probs=p_out, losses=l_out),
                  lambda: (ref.cross_entropy_forward(z, y, on, off), ()), dtype, valid, [z, y], p_out, tol)
        else:
            p = ref.log_softmax(np.nan_to_num(f64(z)) if isinstance(z, np.ndarray) else np.zeros((n, k)))
            p = np.exp(p).astype(dtype) if isinstance(z, np.ndarray) and z.dtype == dtype and good_in(z, dtype) else z
            out, out_ok = data.draw(output((n, k), dtype, [p], alias_ok=False))
            check("loss", lambda: F.cross_entropy_backward(p, y, on, off, scale, out=out),
                  lambda: (ref.cross_entropy_backward(p, y, on, off, scale), ()), dtype,
                  good_in(p, dtype) and labels_ok(y, k) and out_ok, [p, y], out)
        return
    if op in ("ce_soft", "ce_soft_backward"):
        t = data.draw(array((n, k), dtype, low=0.0, kinds=("normal",)))
        if isinstance(t, np.ndarray) and t.dtype.kind == "f" and t.flags.writeable and t.size:
            t /= t.sum(axis=1, keepdims=True)
        if op == "ce_soft":
            check("loss", lambda: F.cross_entropy_soft(z, t), lambda: (ref.cross_entropy_soft_forward(z, t), ()),
                  dtype, good_in(z, dtype) and good_in(t, dtype), [z, t], None, tol)
        else:
            out, out_ok = data.draw(output((n, k), dtype, [z, t], alias_ok=False))
            check("loss", lambda: F.cross_entropy_soft_backward(z, t, scale, out=out),
                  lambda: (scale * (f64(z) - f64(t)), ()), dtype,
                  good_in(z, dtype) and good_in(t, dtype) and out_ok, [z, t], out)
        return
    shape = data.draw(shapes())
    x, t = data.draw(array(shape, dtype, first=True)), data.draw(array(shape, dtype))
    fn, oracle = {"bce": (F.bce_with_logits, ref.bce_with_logits_forward),
                  "bce_backward": (lambda a, b, out: F.bce_with_logits_backward(a, b, scale, out),
                                   lambda a, b: ref.bce_with_logits_backward(a, b, scale)),
                  "mse": (F.mse, ref.mse_forward),
                  "mse_backward": (lambda a, b, out: F.mse_backward(a, b, scale, out),
                                   lambda a, b: ref.mse_backward(a, b, scale))}[op]
    out, out_ok = data.draw(output(shape, dtype, [x, t], alias_ok=False))
    check("loss", lambda: fn(x, t, out), lambda: (oracle(x, t), ()), dtype,
          good_in(x, dtype) and good_in(t, dtype) and out_ok, [x, t], out)


# ---- optimizer steps: param and state updated in place ----

STEPS = ("normal", "wide", "nonfinite")


@fuzz_settings(2000)
@given(st.data())
def test_optimizer_steps(data):
    dtype, shape = data.draw(DTYPES), data.draw(shapes(0, 2))
    rule = data.draw(st.sampled_from(["sgd", "momentum", "rmsprop", "adam"]))
    inout = st.sampled_from(["c"] * 8 + ["readonly", "strided", "other_float", "list"])
    p = data.draw(array(shape, dtype, layout=data.draw(st.sampled_from(["c"] * 8 + ["readonly", "strided", "list"])),
                        kinds=STEPS))
    g = p if data.draw(st.integers(0, 15)) == 0 else data.draw(array(shape, dtype, kinds=STEPS))
    lr, wd = data.draw(st.sampled_from([0.1, 1e-3, 0.0])), data.draw(st.sampled_from([0.0, 0.0, 1e-2]))

    def state(low=None):
        return data.draw(array(shape, dtype, layout=data.draw(inout), kinds=("normal",), low=low))

    if rule == "sgd":
        call, oracle, held = (lambda: F.sgd_step(p, g, lr)), (lambda: ref.sgd_step(p, g, lr)), []
    elif rule == "momentum":
        mu, damp = data.draw(st.sampled_from([0.0, 0.9])), data.draw(st.sampled_from([0.0, 0.1]))
        nesterov, conv, first = data.draw(st.booleans()), data.draw(st.sampled_from(["classic", "pytorch"])), \
            data.draw(st.booleans())
        buf = state() if mu or data.draw(st.booleans()) else None
        held = [buf]
        call = lambda: F.sgd_momentum_step(p, g, buf, lr, mu, damp, wd, nesterov, conv, first)  # noqa: E731
        oracle = lambda: ref.sgd_momentum_step(p, g, buf, lr, mu, damp, wd, nesterov, conv, first)  # noqa: E731
    elif rule == "rmsprop":
        beta, mom, centered = data.draw(st.sampled_from([0.9, 0.99])), data.draw(st.sampled_from([0.0, 0.5])), \
            data.draw(st.booleans())
        inside = data.draw(st.booleans())
        sq, ga = state(low=0.0), state() if centered else None
        if centered and isinstance(ga, np.ndarray) and isinstance(sq, np.ndarray) and sq.flags.writeable \
                and sq.dtype.kind == "f" and ga.shape == sq.shape:
            sq += f64(ga).astype(sq.dtype) ** 2  # v ≥ ḡ²: a variance
        mb = state() if mom else None
        held = [sq, ga, mb]
        call = lambda: F.rmsprop_step(p, g, sq, lr, beta, 1e-8, inside, wd, mom, ga, mb)  # noqa: E731
        oracle = lambda: ref.rmsprop_step(p, g, sq, ga, mb, lr, beta, 1e-8, wd, mom, centered, inside)  # noqa: E731
    else:
        step, decoupled, ams = data.draw(st.sampled_from([1, 2, 10])), data.draw(st.booleans()), data.draw(st.booleans())
        m, v = state(), state(low=0.0)
        vmax = state(low=0.0) if ams else None
        held = [m, v, vmax]
        call = lambda: F.adam_step(p, g, m, v, step, lr, 0.9, 0.999, 1e-8, wd, decoupled, vmax)  # noqa: E731
        oracle = lambda: ref.adam_step(p, g, m, v, vmax, lr, 0.9, 0.999, 1e-8, wd, step, decoupled)  # noqa: E731
    states = [s for s in held if s is not None]
    valid = good_inout(p, dtype) and good_in(g, dtype) and (g is not p or p.size == 0) and \
        all(good_inout(s, dtype) for s in states)
    if valid and p.size and len({id(a) for a in [p, g, *states]}) < 2 + len(states):
        valid = False

    def expected():
        new = (oracle(),) if rule == "sgd" else oracle()
        return None, [(p, new[0])] + [(s, w) for s, w in zip(held, new[1:]) if s is not None]
    check("optim", call, expected, dtype, valid, [p, g, *states], rtol_atol=tolerances(dtype, (1e-5, 1e-6)))


# ---- sums, norms, clipping, penalties, averages ----


@st.composite
def segment_ends(draw, n):
    """int64 ascending ends, the last n; or ones to refuse: descending, past n, another dtype."""
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=4)))
    ends = np.array(cuts + [n], np.int64)
    bad = draw(st.sampled_from(["good"] * 6 + ["descending", "past", "int32", "short"]))
    if bad == "descending" and len(ends) > 1 and ends[0] < ends[-1]:
        ends = ends[::-1].copy()
    elif bad == "past":
        ends[-1] = n + 1
    elif bad == "int32":
        ends = ends.astype(np.int32)
    elif bad == "short" and n > 0:
        ends[-1] = n - 1
    return ends


def ends_ok(ends, n):
    return ends.dtype == np.int64 and ends.size > 0 and ends[-1] == n and bool(np.all(np.diff(ends) >= 0)) \
        and ends[0] >= 0


@fuzz_settings(2400)
@given(st.data())
def test_reductions(data):
    dtype = data.draw(DTYPES)
    op = data.draw(st.sampled_from(["sum_squares", "max_abs", "segment_sum_squares", "segment_norms", "clamp_",
                                    "scale_", "l2_penalty", "l1_penalty", "average_update", "ema_series"]))
    shape = data.draw(shapes(0, 3))
    n = int(np.prod(shape))
    if op in ("sum_squares", "max_abs"):
        x = data.draw(array(shape, dtype, kinds=SUMS if op == "sum_squares" else ("normal", "special"), first=True))
        fn = F.sum_squares if op == "sum_squares" else F.max_abs
        oracle = ref.clip_sumsq if op == "sum_squares" else ref.clip_maxabs
        # x² rounded to x's dtype, the sum in double: a float32 square is off by up to 2^-24
        check("reduce", lambda: fn(x), lambda: (oracle(x), ()), dtype, good_in(x, dtype), [x],
              rtol_atol=(2 * eps(dtype) + 1e-16 * n, 0.0))
        return
    if op in ("segment_sum_squares", "segment_norms"):
        vecs = [data.draw(array((n,), dtype, kinds=SUMS, first=i == 0)) for i in range(3)]
        ends, keep = data.draw(segment_ends(n)), data.draw(st.booleans())
        valid = ends_ok(ends, n)
        if op == "segment_sum_squares":
            y = vecs[1] if data.draw(st.booleans()) else None
            arrays = [vecs[0]] + ([y] if y is not None else [])
            valid = valid and all(good_in(v, dtype) for v in arrays) and \
                (not keep or (y is not None and good_inout(y, dtype)))
            expect = ref.segment_sumsq(vecs[0], ends, y) if valid else None
            check("reduce", lambda: F.segment_sum_squares(vecs[0], ends, y, keep),
                  lambda: (expect, [(y, f64(vecs[0]))] if keep else []), dtype, valid,
                  arrays + [ends], rtol_atol=(2 * eps(dtype) + 1e-16 * n, 0.0), result_dtype=F64)
        else:
            w, g, prev = vecs
            valid = valid and good_in(w, dtype) and good_in(g, dtype) and (good_inout if keep else good_in)(prev, dtype)
            expect = ref.segment_norms(w, g, prev, ends) if valid else None
            check("reduce", lambda: F.segment_norms(w, g, prev, ends, keep),
                  lambda: (expect, [(prev, f64(w))] if keep else []), dtype, valid, vecs + [ends],
                  rtol_atol=(2 * eps(dtype) + 1e-16 * n, 0.0), result_dtype=F64)
        return
    if op in ("clamp_", "scale_"):
        x = data.draw(array(shape, dtype, first=True))
        c = data.draw(st.sampled_from([0.0, 0.5, 3.0, 1e30]))
        fn, oracle = (F.clamp_, ref.clip_value) if op == "clamp_" else (F.scale_, ref.scale)
        check("reduce", lambda: fn(x, c), lambda: (None, [(x, oracle(x, c))]), dtype, good_inout(x, dtype), [x])
        return
    if op in ("l2_penalty", "l1_penalty"):
        w = data.draw(array(shape, dtype, kinds=SUMS, first=True))
        g = w if data.draw(st.integers(0, 9)) == 0 else data.draw(array(shape, dtype, kinds=SUMS))
        lam = data.draw(st.sampled_from([0.0, 1e-3, 0.5]))
        fn, oracle = (F.l2_penalty, ref.l2_penalty) if op == "l2_penalty" else (F.l1_penalty, ref.l1_penalty)

        def expected():
            omega, new = oracle(w, g, lam)
            return omega, [(g, new)]
        check("reduce", lambda: fn(w, g, lam), expected, dtype,
              good_in(w, dtype) and good_inout(g, dtype) and (g is not w or w.size == 0), [w, g],
              rtol_atol=tolerances(dtype))
        return
    if op == "average_update":
        avg, x = data.draw(array(shape, dtype, kinds=SUMS, first=True)), data.draw(array(shape, dtype, kinds=SUMS))
        wt = data.draw(st.sampled_from([0.0, 0.1, 1.0, 0.5]))
        check("reduce", lambda: F.average_update(avg, x, wt), lambda: (None, [(avg, ref.average_update(avg, x, wt))]),
              dtype, good_inout(avg, dtype) and good_in(x, dtype), [avg, x])
        return
    s = data.draw(array((n,), dtype, kinds=SUMS, first=True))
    beta, corrected = data.draw(st.sampled_from([0.0, 0.5, 0.9, 0.99])), data.draw(st.booleans())
    out, out_ok = data.draw(output((n,), dtype, [s], alias_ok=True))
    check("reduce", lambda: F.ema_series(s, beta, corrected, out=out), lambda: (ref.ema_series(s, beta, corrected), ()),
          dtype, good_in(s, dtype) and out_ok, [s], out, tolerances(dtype, (1e-5, 1e-6), (1e-11, 1e-12)))


# ---- counter-based randomness: dropout, noise, augmentation (the oracle replays Philox) ----


@fuzz_settings(2000)
@given(st.data())
def test_random_kernels(data):
    dtype = data.draw(DTYPES)
    seed, offset = data.draw(st.integers(0, 2**64 - 1)), data.draw(st.integers(0, 2**40))
    op = data.draw(st.sampled_from(["dropout", "dropout_backward", "gaussian_noise", "translate", "hflip", "rotate",
                                    "erase"]))
    if op in ("dropout", "dropout_backward", "gaussian_noise"):
        shape = data.draw(shapes())
        x = data.draw(array(shape, dtype, kinds=("normal", "wide", "nonfinite"), first=True))
        out, out_ok = data.draw(output(shape, dtype, [x], alias_ok=True))
        if op == "gaussian_noise":
            std = data.draw(st.sampled_from([0.0, 0.1, 2.0]))
            check("random", lambda: F.gaussian_noise(x, std, seed, offset, out=out),
                  lambda: (ref.gaussian_noise_forward(x, seed, offset, std), ()), dtype, good_in(x, dtype) and out_ok,
                  [x], out, tolerances(dtype, (1e-5, 1e-6), (1e-12, 1e-12)))
            return
        keep = data.draw(st.sampled_from([1.0, 0.5, 0.9, 1e-3, 0.0, 1.5, float("nan")]))
        scale = data.draw(st.sampled_from([None, 1.0]))
        s = (1.0 / keep if keep > 0 else 1.0) if scale is None else scale
        if op == "dropout":
            kind = data.draw(st.sampled_from([None, "fresh", "int8", "readonly"]))
            mask = None if kind is None else np.zeros(shape, np.int8 if kind == "int8" else np.uint8)
            if kind == "readonly":
                mask.flags.writeable = False
            valid = good_in(x, dtype) and out_ok and 0 < keep <= 1 and \
                (mask is None or (mask.dtype == np.uint8 and mask.flags.writeable))
            check("random", lambda: F.dropout(x, keep, scale, seed, offset, out=out, mask=mask),
                  lambda: (tuple(ref.dropout_forward(x, seed, offset, keep, s)), ()), dtype, valid, [x, mask], out)
        else:
            m = np.random.default_rng(seed % 2**32).integers(0, 2, shape).astype(
                data.draw(st.sampled_from([np.uint8] * 6 + [np.int64, np.bool_])))
            check("random", lambda: F.dropout_backward(x, m, s, out=out),
                  lambda: (ref.dropout_backward(x, m, s), ()), dtype, good_in(x, dtype) and out_ok and m.dtype == np.uint8
                  and np.isfinite(s), [x, m], out)
        return
    n, c, h, w = (data.draw(st.sampled_from(sizes)) for sizes in ([0, 1, 3], [1, 2], [1, 2, 5], [1, 3, 6]))
    shape = data.draw(st.sampled_from([(n, c, h, w), (n, h, w)]))
    x = data.draw(array(shape, dtype, kinds=("normal", "wide") if op == "rotate" else ("normal", "special"), first=True))
    x4 = lambda: f64(x).reshape(n, len(shape) == 4 and c or 1, h, w)  # noqa: E731
    back = lambda y: y.reshape(shape[:-2] + y.shape[-2:])  # noqa: E731
    if op == "translate":
        size = data.draw(st.sampled_from([None, (2, 3), (h + 2, w)]))
        oh, ow = size or (h, w)
        dy, dx = data.draw(st.sampled_from([(0, 0), (-2, 2), (-1, 3)])), data.draw(st.sampled_from([(0, 0), (-3, 1)]))
        edge = data.draw(st.booleans())
        out, out_ok = data.draw(output(shape[:-2] + (oh, ow), dtype, [x], alias_ok=False))
        check("random", lambda: F.augment_translate(x, dy, dx, size, edge, seed, offset, out=out),
              lambda: (back(ref.augment_translate(x4(), seed, offset, oh, ow, dy, dx, edge)), ()), dtype,
              good_in(x, dtype) and out_ok, [x], out)
        return
    out, out_ok = data.draw(output(shape, dtype, [x], alias_ok=op == "erase"))
    if op == "hflip":
        p = data.draw(st.sampled_from([0.0, 0.5, 1.0]))
        call, oracle = (lambda: F.augment_hflip(x, p, seed, offset, out=out)), \
            (lambda: back(ref.augment_hflip(x4(), seed, offset, p)))
    elif op == "rotate":
        deg = data.draw(st.sampled_from([0.0, 15.0, 180.0]))
        call, oracle = (lambda: F.augment_rotate(x, deg, seed, offset, out=out)), \
            (lambda: back(ref.augment_rotate(x4(), seed, offset, deg)))
    else:
        p, value = data.draw(st.sampled_from([0.0, 0.5, 1.0])), data.draw(st.sampled_from([0.0, -1.0]))
        call = lambda: F.augment_erase(x, p, (0.02, 0.33), (0.3, 3.3), value, seed, offset, out=out)  # noqa: E731
        oracle = lambda: back(ref.augment_erase(x4(), seed, offset, p, (0.02, 0.33), np.log((0.3, 3.3)),  # noqa: E731
                                                value))
    check("random", call, lambda: (oracle(), ()), dtype, good_in(x, dtype) and out_ok, [x], out,
          tolerances(dtype, (1e-5, 1e-5), (1e-12, 1e-12)))


# ---- batch norm and layer norm ----


@fuzz_settings(1600)
@given(st.data())
def test_norms(data):
    dtype = data.draw(DTYPES)
    shape = data.draw(st.sampled_from([(0, 3), (1, 1), (2, 3), (5, 4), (3, 2, 4), (2, 3, 2, 2), (4, 0, 2)]))
    c = shape[1]
    x = data.draw(array(shape, dtype, kinds=SUMS, first=True))
    dy = data.draw(array(shape, dtype, kinds=SUMS))
    eps_ = data.draw(st.sampled_from([1e-5, 1e-3]))
    op = data.draw(st.sampled_from(["bn_stats", "bn", "bn_backward", "ln", "ln_backward"]))
    loose = (2e-4, 2e-4) if dtype == F32 else (1e-9, 1e-9)  # 1/√(σ²+ε) amplifies rounding by up to 1/√ε
    if op.startswith("bn"):
        mean, var = data.draw(array((c,), dtype, kinds=("normal",))), data.draw(array((c,), dtype, kinds=("normal",),
                                                                                      low=0.1))
        affine = data.draw(st.booleans())
        gamma, beta = (data.draw(array((c,), dtype, kinds=("normal",))) for _ in range(2)) if affine else (None, None)
        params = [a for a in (mean, var, gamma, beta) if a is not None]
        if op == "bn_stats":
            check("norm", lambda: F.batchnorm_stats(x), lambda: (ref.batchnorm_stats(x), ()), dtype,
                  good_in(x, dtype) and int(np.prod(shape)) > 0, [x], None, loose)
        elif op == "bn":
            out, out_ok = data.draw(output(shape, dtype, [x], alias_ok=True))
            check("norm", lambda: F.batchnorm(x, mean, var, gamma, beta, eps_, out=out),
                  lambda: (ref.batchnorm_normalize(x, mean, var, gamma, beta, eps_), ()), dtype,
                  good_in(x, dtype) and all(good_in(a, dtype) for a in params) and out_ok and int(np.prod(shape)) > 0,
                  [x, *params], out, loose)
        else:
            batch = data.draw(st.booleans())
            dgamma, dbeta = (data.draw(array((c,), dtype, kinds=("normal",), layout="c")) for _ in range(2)) \
                if affine else (None, None)
            out, out_ok = data.draw(output(shape, dtype, [x, dy], alias_ok=True))
            if batch and isinstance(x, np.ndarray) and good_in(x, dtype) and x.shape[0] * int(np.prod(shape[2:])):
                mean, var = (a.astype(dtype) for a in ref.batchnorm_stats(x))  # the statistics of this batch
                params = [a for a in (mean, var, gamma, beta) if a is not None]

            def oracle():
                dx, dg, db = ref.batchnorm_backward(x, dy, mean, var, gamma, eps_, batch)
                return dx, ([(dgamma, f64(dgamma) + dg), (dbeta, f64(dbeta) + db)] if affine else [])
            arrays = [x, dy, mean, var] + ([gamma, dgamma, dbeta] if affine else [])  # the backward takes no beta
            check("norm", lambda: F.batchnorm_backward(x, dy, mean, var, gamma, eps_, batch, dgamma, dbeta, out=out),
                  oracle, dtype, all(good_in(a, dtype) for a in arrays) and out_ok and int(np.prod(shape)) > 0, arrays,
                  out, loose)
        return
    d = shape[-1]
    affine = data.draw(st.booleans())
    gamma, beta = (data.draw(array((d,), dtype, kinds=("normal",))) for _ in range(2)) if affine else (None, None)
    rows = int(np.prod(shape[:-1]))
    valid = good_in(x, dtype) and (not affine or (good_in(gamma, dtype) and good_in(beta, dtype)))
    if op == "ln":
        out, out_ok = data.draw(output(shape, dtype, [x], alias_ok=True))

        def oracle():
            y, mean, rstd = ref.layernorm_forward(f64(x).reshape(rows, d), gamma, beta, eps_)
            return (y.reshape(shape), mean, rstd), ()
        check("norm", lambda: F.layernorm(x, 1, gamma, beta, eps_, out=out), oracle, dtype, valid and out_ok and d > 0,
              [x] + ([gamma, beta] if affine else []), out, loose)
        return
    x2 = np.nan_to_num(f64(x)).reshape(rows, d) if isinstance(x, np.ndarray) and d > 0 else np.zeros((rows, max(d, 1)))
    _, mean, rstd = ref.layernorm_forward(x2, None, None, eps_)
    mean, rstd = mean.astype(dtype), rstd.astype(dtype)
    dgamma, dbeta = (np.zeros(d, dtype) for _ in range(2)) if affine else (None, None)
    out, out_ok = data.draw(output(shape, dtype, [x, dy], alias_ok=True))

    def ln_oracle():
        dx, dg, db = ref.layernorm_backward(f64(x).reshape(rows, d), f64(dy).reshape(rows, d), mean, rstd, gamma)
        return dx.reshape(shape), ([(dgamma, dg), (dbeta, db)] if affine else [])
    valid = good_in(x, dtype) and (not affine or good_in(gamma, dtype))  # the backward takes no beta
    check("norm", lambda: F.layernorm_backward(x, dy, mean, rstd, gamma, dgamma, dbeta, out=out), ln_oracle, dtype,
          valid and good_in(dy, dtype) and out_ok and rows > 0 and d > 0, [x, dy, mean, rstd], out, loose)


# ---- convolution and pooling ----


def conv_geometry_ok(h, w, k, stride, pad, dil):
    return all(s >= 1 and d >= 1 and p >= 0 and (size + 2 * p - d * (kk - 1) - 1) // s + 1 >= 1
               for size, kk, s, p, d in ((h, k[0], stride, pad, dil), (w, k[1], stride, pad, dil)))


@fuzz_settings(1500)
@given(st.data())
def test_conv_pool(data):
    dtype = data.draw(DTYPES)
    n, h, w = data.draw(st.sampled_from([0, 1, 2])), data.draw(st.sampled_from([1, 3, 5])), data.draw(st.sampled_from([1, 4]))
    groups = data.draw(st.sampled_from([1, 1, 2]))
    c, o = groups * data.draw(st.sampled_from([1, 2])), groups * data.draw(st.sampled_from([1, 3]))
    k = data.draw(st.sampled_from([(1, 1), (3, 3), (2, 1)]))
    stride, pad, dil = data.draw(st.sampled_from([1, 1, 2])), data.draw(st.sampled_from([0, 1])), \
        data.draw(st.sampled_from([1, 1, 2]))
    x = data.draw(array((n, c, h, w), dtype, kinds=("normal", "nonfinite"), first=True))
    op = data.draw(st.sampled_from(["conv", "conv_backward", "max", "avg", "global"]))
    geometry = conv_geometry_ok(h, w, k, stride, pad, dil)
    if op.startswith("conv"):
        weight = data.draw(array((o, c // groups) + k, dtype, kinds=("normal",)))
        bias = data.draw(st.one_of(st.none(), array((o,), dtype, kinds=("normal",))))
        pad4 = (pad, pad, pad, pad)
        oh, ow = F.conv2d_output_size((h, w), k, (stride, stride), pad4, (dil, dil))
        valid = geometry and good_in(x, dtype) and good_in(weight, dtype)  # the backward takes dbias, not bias
        valid = valid and (op == "conv_backward" or bias is None or good_in(bias, dtype))
        absx, absw = (np.nan_to_num(np.abs(f64(a))) if valid else None for a in (x, weight))
        tol = (1e-5, 4 * eps(dtype) * (c * k[0] * k[1] + 2) * (ref.conv2d_forward(
            absx, absw, None, (stride,) * 2, pad4, (dil,) * 2, groups) + 1)) if valid else None
        if op == "conv":
            out, out_ok = data.draw(output((n, o, max(oh, 1), max(ow, 1)), dtype, [x, weight], alias_ok=False))
            check("conv", lambda: F.conv2d(x, weight, bias, stride, pad, dil, groups, out=out),
                  lambda: (ref.conv2d_forward(x, weight, bias, (stride,) * 2, pad4, (dil,) * 2, groups), ()), dtype,
                  valid and out_ok, [x, weight] + ([bias] if bias is not None else []), out, tol)
            return
        dy = data.draw(array((n, o, max(oh, 1), max(ow, 1)), dtype, kinds=("normal",)))
        dweight = np.zeros(weight.shape if isinstance(weight, np.ndarray) else (o, c // groups) + k, dtype)
        dbias = np.zeros(o, dtype) if bias is not None else None
        out, out_ok = data.draw(output((n, c, h, w), dtype, [x, weight, dy], alias_ok=False))

        def oracle():
            dx, dw, db = ref.conv2d_backward(x, weight, dy, (stride,) * 2, pad4, (dil,) * 2, groups)
            return dx, [(dweight, dw)] + ([(dbias, db)] if bias is not None else [])
        dtol = None
        if valid and good_in(dy, dtype):  # dx sums over o·kh·kw taps, dweight over n·oh·ow
            absdy = np.abs(f64(dy))
            bound = ref.conv2d_backward(absx, absw, absdy, (stride,) * 2, pad4, (dil,) * 2, groups)
            dtol = (1e-5, 4 * eps(dtype) * (o * k[0] * k[1] + n * oh * ow + 2) * (np.concatenate(
                [b.ravel() for b in bound]).max(initial=0) + 1))
        check("conv", lambda: F.conv2d_backward(x, weight, dy, dweight, dbias, stride, pad, dil, groups, out=out),
              oracle, dtype, valid and good_in(dy, dtype) and out_ok and oh >= 1 and ow >= 1,
              [x, weight, dy, dweight] + ([dbias] if bias is not None else []), out, dtol)
        return
    if op == "global":
        out, out_ok = data.draw(output((n, c, 1, 1), dtype, [x], alias_ok=False))
        if data.draw(st.booleans()):
            check("conv", lambda: F.global_avg_pool2d(x, out=out), lambda: (ref.global_avgpool_forward(x), ()), dtype,
                  good_in(x, dtype) and out_ok, [x], out)
        else:
            dy = data.draw(array((n, c, 1, 1), dtype, first=True))
            out, out_ok = data.draw(output((n, c, h, w), dtype, [dy], alias_ok=False))
            check("conv", lambda: F.global_avg_pool2d_backward(dy, (h, w), out=out),
                  lambda: (ref.global_avgpool_backward(dy, (h, w)), ()), dtype, good_in(dy, dtype) and out_ok, [dy], out)
        return
    k = (min(k[0], 2), k[1])
    pad = min(pad, k[0] // 2, k[1] // 2)
    geometry = conv_geometry_ok(h, w, k, stride, pad, 1)
    oh, ow = F.conv2d_output_size((h, w), k, (stride, stride), (pad,) * 4)
    backward = data.draw(st.booleans())
    src = data.draw(array((n, c, h, w), dtype, kinds=("normal",), first=True)) if op == "max" else x  # no ties, NaN
    if not backward:
        fn, oracle = (F.max_pool2d, ref.maxpool2d_forward) if op == "max" else (F.avg_pool2d, ref.avgpool2d_forward)
        out, out_ok = data.draw(output((n, c, max(oh, 1), max(ow, 1)), dtype, [src], alias_ok=False))
        check("conv", lambda: fn(src, k, stride, pad, out=out), lambda: (oracle(src, k, (stride,) * 2, (pad, pad)), ()),
              dtype, good_in(src, dtype) and out_ok and geometry, [src], out)
        return
    if op == "max":
        if not (good_in(src, dtype) and geometry):
            return
        _, argmax = ref.maxpool2d_forward(src, k, (stride,) * 2, (pad, pad))
        dy = data.draw(array(argmax.shape, dtype, first=True))
        out, out_ok = data.draw(output((n, c, h, w), dtype, [dy], alias_ok=False))
        check("conv", lambda: F.max_pool2d_backward(dy, argmax, (h, w), out=out),
              lambda: (ref.maxpool2d_backward(dy, argmax, (h, w)), ()), dtype, good_in(dy, dtype) and out_ok,
              [dy, argmax], out)
        return
    dy = data.draw(array((n, c, max(oh, 1), max(ow, 1)), dtype, first=True))
    out, out_ok = data.draw(output((n, c, h, w), dtype, [dy], alias_ok=False))
    check("conv", lambda: F.avg_pool2d_backward(dy, (h, w), k, stride, pad, out=out),
          lambda: (ref.avgpool2d_backward(dy, (h, w), k, (stride,) * 2, (pad, pad)), ()), dtype,
          good_in(dy, dtype) and out_ok and geometry, [dy], out)


# ---- layers: forward and backward against the oracle; non-contiguous inputs are copied, not refused ----


def softmax_rows(z):
    return np.exp(ref.log_softmax(z))


def module_case(data, name, dtype):
    """(layer, input shape, parameters fix the dtype?, oracle forward(x) -> y, oracle backward(x, dy) -> dx)."""
    n = data.draw(st.sampled_from([0, 1, 3]))
    if name in ACTIVATIONS:
        cls, hp, fwd, bwd = ACTIVATIONS[name]
        args = data.draw(hp)
        return cls(*args), data.draw(shapes(1, 3)), False, lambda x: fwd(x, *args), lambda x, dy: bwd(x, dy, *args)
    if name in ("Softmax", "LogSoftmax"):
        k = data.draw(st.sampled_from([1, 2, 7]))
        if name == "Softmax":
            def sm_bwd(x, dy):
                y = softmax_rows(x)
                return y * (dy - (dy * y).sum(1, keepdims=True))
            return pdt.nn.Softmax(), (n, k), False, softmax_rows, sm_bwd
        return pdt.nn.LogSoftmax(), (n, k), False, ref.log_softmax, \
            lambda x, dy: dy - softmax_rows(x) * dy.sum(1, keepdims=True)
    if name == "Linear":
        i, o, bias = data.draw(st.sampled_from([1, 4])), data.draw(st.sampled_from([1, 3])), data.draw(st.booleans())
        layer = pdt.nn.Linear(i, o, bias=bias, dtype=dtype)
        w = f64(layer.weight.data)
        b = f64(layer.bias.data) if bias else 0.0
        return layer, (n, i), True, lambda x: x @ w.T + b, lambda x, dy: dy @ w
    if name == "Conv2d":
        layer = pdt.nn.Conv2d(2, 3, 3, padding=1, dtype=dtype)
        w, b = f64(layer.weight.data), f64(layer.bias.data)
        return layer, (n, 2, 4, 3), True, lambda x: ref.conv2d_forward(x, w, b, (1, 1), (1,) * 4, (1, 1), 1), \
            lambda x, dy: ref.conv2d_backward(x, w, dy, (1, 1), (1,) * 4, (1, 1), 1)[0]
    if name == "MaxPool2d":
        return pdt.nn.MaxPool2d(2), (n, 2, 4, 5), False, lambda x: ref.maxpool2d_forward(x, (2, 2), (2, 2), (0, 0))[0], \
            lambda x, dy: ref.maxpool2d_backward(dy, ref.maxpool2d_forward(x, (2, 2), (2, 2), (0, 0))[1], (4, 5))
    if name == "AvgPool2d":
        return pdt.nn.AvgPool2d(2, 1), (n, 2, 3, 3), False, lambda x: ref.avgpool2d_forward(x, (2, 2), (1, 1), (0, 0)), \
            lambda x, dy: ref.avgpool2d_backward(dy, (3, 3), (2, 2), (1, 1), (0, 0))
    if name == "AdaptiveAvgPool2d":
        return pdt.nn.AdaptiveAvgPool2d(1), (n, 3, 2, 2), False, ref.global_avgpool_forward, \
            lambda x, dy: ref.global_avgpool_backward(dy, (2, 2))
    if name in ("BatchNorm1d", "BatchNorm2d"):
        shape = (max(n, 2), 3) if name == "BatchNorm1d" else (max(n, 1), 3, 2, 2)  # empty batches: another issue
        layer = getattr(pdt.nn, name)(3, dtype=dtype)

        def bn_fwd(x):
            mean, var = ref.batchnorm_stats(x)
            return ref.batchnorm_normalize(x, mean, var, np.ones(3), np.zeros(3), 1e-5)

        def bn_bwd(x, dy):
            mean, var = ref.batchnorm_stats(x)
            return ref.batchnorm_backward(x, dy, mean, var, np.ones(3), 1e-5, True)[0]
        return layer, shape, True, bn_fwd, bn_bwd
    if name == "LayerNorm":
        d = data.draw(st.sampled_from([1, 4]))

        def ln_fwd(x):
            return ref.layernorm_forward(x.reshape(-1, d), None, None, 1e-5)[0].reshape(x.shape)

        def ln_bwd(x, dy):
            _, mean, rstd = ref.layernorm_forward(x.reshape(-1, d), None, None, 1e-5)
            return ref.layernorm_backward(x.reshape(-1, d), dy.reshape(-1, d), mean, rstd, None)[0].reshape(x.shape)
        return pdt.nn.LayerNorm(d, dtype=dtype), (n, 2, d), True, ln_fwd, ln_bwd
    if name == "Flatten":
        return pdt.nn.Flatten(), (n, 2, 3), False, lambda x: x.reshape(len(x), 6), lambda x, dy: dy.reshape(x.shape)
    if name in ("Dropout", "GaussianNoise"):  # in eval mode: the identity
        layer = pdt.nn.Dropout(keep_prob=0.8) if name == "Dropout" else pdt.nn.GaussianNoise(0.5)
        return layer.eval(), data.draw(shapes(1, 3)), False, lambda x: x, lambda x, dy: dy
    if name == "Sequential":
        i = data.draw(st.sampled_from([1, 3]))
        a, b = pdt.nn.Linear(i, 4, dtype=dtype), pdt.nn.Linear(4, 2, dtype=dtype)
        (wa, ba), (wb, bb) = ((f64(m.weight.data), f64(m.bias.data)) for m in (a, b))
        return pdt.nn.Sequential(a, pdt.nn.ReLU(), b), (n, i), True, \
            lambda x: np.maximum(x @ wa.T + ba, 0) @ wb.T + bb, \
            lambda x, dy: ((dy @ wb) * (x @ wa.T + ba > 0)) @ wa
    block = pdt.nn.Linear(3, 3, dtype=dtype)  # Residual
    w, b = f64(block.weight.data), f64(block.bias.data)
    return pdt.nn.Residual(block), (n, 3), True, lambda x: x + x @ w.T + b, lambda x, dy: dy + dy @ w


ACTIVATIONS = {
    "ReLU": (pdt.nn.ReLU, st.tuples(), ref.relu_forward, ref.relu_backward),
    "Sigmoid": (pdt.nn.Sigmoid, st.tuples(), ref.sigmoid_forward, ref.sigmoid_backward),
    "Tanh": (pdt.nn.Tanh, st.tuples(), ref.tanh_forward, ref.tanh_backward),
    "LeakyReLU": (pdt.nn.LeakyReLU, st.tuples(st.sampled_from([0.01, 0.2])), ref.leaky_relu_forward,
                  ref.leaky_relu_backward),
    "ELU": (pdt.nn.ELU, st.tuples(st.sampled_from([1.0, 0.5])), ref.elu_forward, ref.elu_backward),
    "SELU": (pdt.nn.SELU, st.tuples(), lambda x: ref.elu_forward(x, ref.SELU_ALPHA, ref.SELU_SCALE),
             lambda x, dy: ref.elu_backward(x, dy, ref.SELU_ALPHA, ref.SELU_SCALE)),
    "GELU": (pdt.nn.GELU, st.tuples(), ref.gelu_forward, ref.gelu_backward),
    "SiLU": (pdt.nn.SiLU, st.tuples(), ref.silu_forward, ref.silu_backward),
    "Softplus": (pdt.nn.Softplus, st.tuples(st.sampled_from([1.0, 2.0]), st.sampled_from([20.0, 5.0])),
                 ref.softplus_forward, ref.softplus_backward),
}
MODULES = sorted(ACTIVATIONS) + ["Softmax", "LogSoftmax", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d",
                                 "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Flatten", "Dropout",
                                 "GaussianNoise", "Sequential", "Residual"]


def layer_input_ok(x, dtype, fixed):
    """A layer takes any float ndarray of its dtype (a layer without parameters: either), copying a
    non-contiguous one. (A misaligned contiguous one goes as it is: a C kernel refuses it, NumPy takes it.)"""
    return isinstance(x, np.ndarray) and x.dtype in (F32, F64) and (not fixed or x.dtype == dtype)


@fuzz_settings(2400)
@given(st.data())
def test_layers(data):
    dtype, name = data.draw(DTYPES), data.draw(st.sampled_from(MODULES))
    pdt.seed(data.draw(st.integers(0, 2**32)))
    layer, shape, fixed, fwd, bwd = module_case(data, name, dtype)
    kinds = ("normal", "normal", "wide", "special") if name in ACTIVATIONS else SUMS
    if name in ("MaxPool2d",):
        kinds = ("normal",)
    x = data.draw(array(shape, dtype, kinds=kinds))
    valid = isinstance(x, np.ndarray) if name == "Flatten" else layer_input_ok(x, dtype, fixed)  # a view of anything
    dt = x.dtype if valid else dtype
    CASES["layers"] += 1
    if not valid:
        before = snapshot([x])
        with pytest.raises((TypeError, ValueError)):
            layer(x)
        assert all(a.tobytes() == b for a, b in before)
        return
    want = fwd(f64(x))
    if not x.flags.aligned and x.flags.c_contiguous:
        try:
            y = layer(x)
        except ValueError as err:
            assert "aligned" in str(err)
            return
    else:
        y = layer(x)
    rtol, atol = tolerances(dt, (1e-4, 1e-5), (1e-10, 1e-12)) if fixed else tolerances(dt)
    if fixed and want.size:  # a product's rounding follows its terms' magnitude
        atol = atol * (1 + np.nan_to_num(np.abs(f64(x)), posinf=0).max(initial=0))
    close(y, want, dt, rtol, atol)
    dy = data.draw(array(y.shape, dt, kinds=("normal",), layout="c"))
    dx = layer.backward(dy)
    close(dx, bwd(f64(x), f64(dy)), dt, rtol, atol * (1 + np.abs(f64(dy)).max(initial=0)))


# ---- loss layers: the mean (or sum) of the oracle's per-example losses, and its gradient ----

LOSSES = ("CrossEntropyLoss", "BCEWithLogitsLoss", "MSELoss", "NLLLoss")


@fuzz_settings(1000)
@given(st.data())
def test_loss_layers(data):
    dtype, name = data.draw(DTYPES), data.draw(st.sampled_from(LOSSES))
    n, k = data.draw(st.sampled_from([0, 1, 4])), data.draw(st.sampled_from([1, 2, 5]))
    reduction = data.draw(st.sampled_from(["mean", "sum"]))
    z = data.draw(array((n, k), dtype, kinds=SUMS))
    scale = 1.0 / max(n * (1 if name in ("CrossEntropyLoss", "NLLLoss") else k), 1) if reduction == "mean" else 1.0
    if name in ("CrossEntropyLoss", "NLLLoss"):
        y = data.draw(labels(n, k))
        eps_ = data.draw(st.sampled_from([0.0, 0.1])) if name == "CrossEntropyLoss" and k > 1 else 0.0
        on, off = 1.0 - eps_, eps_ / max(k - 1, 1)
        loss = nn.CrossEntropyLoss(eps_, reduction=reduction) if name == "CrossEntropyLoss" else nn.NLLLoss(reduction)

        def oracle():
            if name == "NLLLoss":
                lz = f64(z)
                return -lz[np.arange(n), y].sum() * scale, -scale * np.eye(k)[y]
            p, losses = ref.cross_entropy_forward(z, y, on, off)
            return losses.sum() * scale, scale * (p - ref.smoothed_targets(y, k, on, off))
        labels_given = np.asarray(y)  # a layer converts any integer labels, a list too
        valid = labels_given.dtype.kind in "iu" and bool(((labels_given >= 0) & (labels_given < k)).all())
    else:
        t = data.draw(array((n, k), dtype, kinds=("normal",), low=0.0 if name == "BCEWithLogitsLoss" else None))
        loss = getattr(nn, name)(reduction)
        fwd, bwd = ((ref.bce_with_logits_forward, ref.bce_with_logits_backward) if name == "BCEWithLogitsLoss"
                    else (ref.mse_forward, ref.mse_backward))

        def oracle():
            return fwd(z, t).sum() * scale, bwd(z, t, scale)
        valid = np.asarray(t).dtype.kind in "iuf" and np.shape(t) == (n, k)  # converted to the input's dtype
        y = t
    CASES["loss layers"] += 1
    valid = valid and layer_input_ok(z, dtype, False)
    dtype = z.dtype if valid else dtype
    if valid and not z.flags.aligned and z.flags.c_contiguous:  # a C kernel refuses it, NumPy takes it
        valid = name == "NLLLoss"
    if not valid:
        with pytest.raises((TypeError, ValueError)):
            loss(z, y)
        return
    if n == 0:  # an empty batch: refused, or the empty sum (never a mean of nothing)
        try:
            got = loss(z, y)
        except ValueError:
            return
        assert reduction == "sum" and got == 0.0, got
        return
    want, dwant = oracle()
    got = loss(z, y)
    big = np.nan_to_num(np.abs(f64(z)), posinf=0).max(initial=0) + 1
    close(got, want, F64, 1e-5 if dtype == F32 else 1e-12, 1e-5 * big * n * k)
    close(loss.backward(), dwant, dtype, 1e-4 if dtype == F32 else 1e-11, 1e-6 * scale * big)
