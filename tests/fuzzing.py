"""Hypothesis strategies and the one check of tests/test_fuzz.py: arguments in every layout a
caller can pass, and the rule each call must follow (the float64 oracle's result, or a
TypeError/ValueError that leaves every array as it was)."""
import os
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# PYDTRAIN_FUZZ_EXAMPLES multiplies every family's example count (default 1: >= 20,000 cases in all).
SCALE = float(os.environ.get("PYDTRAIN_FUZZ_EXAMPLES", "1"))
CASES: Counter = Counter()  # cases run per family, for the report at the end of the module


def fuzz_settings(examples):
    """Fixed-seed settings: the same cases on every run (derandomize), no time limit per case."""
    return settings(max_examples=max(1, int(examples * SCALE)), derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate, Phase.shrink])


F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
DTYPES = st.sampled_from([F32, F64])
SIZES = st.sampled_from([0, 1, 1, 2, 3, 5, 8, 9, 17, 33])
SUMS = ("normal", "normal", "nonfinite")  # for kernels that sum: huge finite values overflow float32 only
SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 3e38, 1e300, 1e-40, -1e-310, 88.7, -104.0, 710.0])

# How an argument reaches the function: C order, or one of the ways that must raise (or, for a
# layer, be copied): strided, negative-stride, Fortran-order, zero-stride, misaligned, byte-swapped,
# read-only, a list, a Python float, another dtype.
LAYOUTS = ["c"] * 14 + ["strided", "negative", "fortran", "zero_stride", "misaligned", "swapped", "readonly",
                        "list", "scalar", "other_float", "float16", "int64"]


def values(rng, shape, kind):
    """float64 values of one kind: moderate, wide-ranged, or with NaN/Inf/huge/subnormal entries."""
    v = np.asarray(rng.standard_normal(shape) * 2.0)
    if kind == "wide":
        v *= 10.0 ** rng.uniform(-4, 6, shape)
    elif kind in ("special", "nonfinite"):
        hit = rng.random(shape) < (0.3 if kind == "special" else 0.05)
        v[hit] = rng.choice(SPECIALS if kind == "special" else SPECIALS[:3], size=int(hit.sum()))
    return v


@st.composite
def array(draw, shape, dtype, layout=None, kinds=("normal", "normal", "wide", "special"), low=None, first=False):
    """An argument of `shape` and `dtype` in a drawn layout (`layout` forces one), values of one of `kinds`;
    with `low`, |values| + low. The `first` float array of a call sets its dtype: never the other one."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(kinds))
    layout = layout or draw(st.sampled_from(LAYOUTS[:-3] + LAYOUTS[-2:] if first else LAYOUTS))
    shape = tuple(shape)
    v = values(rng, shape, kind)
    if low is not None:
        v = np.abs(v) + low
    a = np.array(v, dtype=dtype)  # an array even for shape (): its flags can be set
    if layout == "strided" and a.ndim:
        wide = np.empty(shape[:-1] + (2 * shape[-1],), dtype)
        wide[..., ::2] = a
        return wide[..., ::2]
    if layout == "negative" and a.ndim:
        return a[::-1].copy()[::-1]
    if layout == "fortran":
        return a.T.copy().T
    if layout == "zero_stride":
        return np.broadcast_to(a.reshape(-1)[0] if a.size else a, shape)
    if layout == "misaligned":
        buf = np.zeros(a.nbytes + a.itemsize, np.uint8)
        m = np.frombuffer(buf.data, dtype, a.size, offset=1).reshape(shape)
        m[...] = a
        return m
    if layout == "swapped":
        return a.astype(a.dtype.newbyteorder())
    if layout == "readonly":
        a.flags.writeable = False
        return a
    if layout == "list":
        return a.tolist()
    if layout == "scalar":
        return float(a.flat[0]) if a.size else 0.5
    if layout == "other_float":
        return a.astype(F64 if dtype == F32 else F32)
    if layout in ("float16", "int64"):
        return v.astype(layout) if layout == "float16" else np.nan_to_num(v).clip(-9, 9).astype(np.int64)
    return a


def shapes(min_dims=0, max_dims=3):
    return st.lists(SIZES, min_size=min_dims, max_size=max_dims).map(tuple)


def describe(a):
    if not isinstance(a, np.ndarray):
        return type(a).__name__
    f = a.flags
    return f"{a.dtype.str}{a.shape} strides {a.strides} C {f.c_contiguous} aligned {f.aligned} writeable {f.writeable}"


def good_in(a, dtype):
    """What the binding reads: an aligned, native, C-contiguous ndarray of the call's float dtype."""
    return type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned


def good_inout(a, dtype):
    return good_in(a, dtype) and a.flags.writeable


@st.composite
def output(draw, shape, dtype, inputs, alias_ok):
    """(out, valid): None, a fresh array, the exact same array as an input (valid when the function
    works in place), or one that must be refused: overlapping, read-only, strided, wrong dtype or shape."""
    kind = draw(st.sampled_from(["none"] * 4 + ["fresh"] * 3 + ["alias", "overlap", "readonly", "strided",
                                                                 "dtype", "shape"]))
    if kind == "none":
        return None, True
    if kind == "alias":
        same = [a for a in inputs if isinstance(a, np.ndarray) and a.shape == tuple(shape) and a.dtype == dtype]
        if same:  # an empty array shares no memory: always allowed
            host = draw(st.sampled_from(same))
            return host, (alias_ok or host.size == 0) and good_inout(host, dtype)
        kind = "fresh"
    if kind == "overlap":
        host = [a for a in inputs if isinstance(a, np.ndarray) and a.size > 1 and a.dtype == dtype
                and a.flags.c_contiguous and a.flags.writeable]
        if host and int(np.prod(shape)) > 1:
            flat = host[0].reshape(-1)
            n = int(np.prod(shape))
            if flat.size >= n:  # the same memory, shifted by at most one element
                start = min(1, flat.size - n)
                view = flat[start:start + n].reshape(shape)
                return view, start == 0 and alias_ok and n == flat.size  # the same bytes: in place, whatever the shape
        kind = "fresh"
    out = np.full(shape, np.nan, dtype)
    if kind == "readonly":
        out.flags.writeable = False
    elif kind == "strided":
        out = draw(array(shape, dtype, layout="strided"))
    elif kind == "dtype":
        out = out.astype(F64 if dtype == F32 else F32)
    elif kind == "shape":
        out = np.full(tuple(shape) + (2,), np.nan, dtype)
    return out, kind == "fresh" or (kind == "strided" and out.flags.c_contiguous)


def snapshot(objs):
    return [(o, o.tobytes()) for o in objs if isinstance(o, np.ndarray)]


def close(got, want, dtype, rtol, atol):
    """|got − want| ≤ atol + rtol·|want| element by element, NaN where the oracle has NaN, infinities equal."""
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64).astype(dtype).astype(np.float64)  # the oracle rounded to the call's dtype
    assert got.shape == want.shape, (got.shape, want.shape)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan), f"NaN at {np.argwhere(np.isnan(got) != nan)[:5].tolist()}"
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf]), "infinities differ"
    finite = ~nan & ~inf
    g, w, atol = got[finite], want[finite], np.broadcast_to(atol, want.shape)[finite]
    bad = ~(np.abs(g - w) <= atol + rtol * np.abs(w))
    assert not bad.any(), f"{int(bad.sum())} of {g.size} differ; got {g[bad][:4]}, want {w[bad][:4]}"


def tolerances(dtype, f32=(2e-5, 1e-6), f64=(1e-11, 1e-13)):
    return f32 if dtype == F32 else f64


def check(family, call, oracle, dtype, valid, args, out=None, rtol_atol=None, result_dtype=None):
    """Runs one case. Invalid arguments: TypeError or ValueError, and every array unchanged.
    Valid ones: oracle() (float64, computed before the call) gives (results, updated); `call()`
    must return results (``out`` itself when given) and leave each array of `updated` with
    its new value."""
    CASES[family] += 1
    before = snapshot(args + [out])
    if not valid:
        try:
            call()
        except (TypeError, ValueError):
            pass
        else:
            pytest.fail("accepted arguments it must refuse: " + "; ".join(describe(a) for a in args + [out]))
        for a, data in before:
            assert a.tobytes() == data, "a refused call changed an array"
        return
    results, updated = oracle()
    got = call()
    rtol, atol = rtol_atol or tolerances(dtype)
    if not isinstance(results, tuple):
        results, got = (results,), (got,)
    assert len(got) == len(results)
    if out is not None:
        assert got[0] is out, "out= was given but another array came back"
    for g, w in zip(got, results):
        if w is None:
            continue
        if type(w) is float:  # a Python float result (sums, penalties)
            assert type(g) is float, type(g)
            close(g, w, np.float64, rtol, atol)
            continue
        w = np.asarray(w)
        if w.dtype.kind in "iub":
            np.testing.assert_array_equal(g, w)
        else:
            assert isinstance(g, np.ndarray) and g.dtype == (result_dtype or dtype), (g.dtype, dtype)
            close(g, w, result_dtype or dtype, rtol, atol)
    for a, w in updated:
        close(a, w, dtype, rtol, atol)
