"""make_shapes: the drawn-shapes data set (C kernel draw_shapes): layout, labels, seeding, bits for any
thread count and SIMD level, the drawing against a float64 rendering of the same outline, bad arguments."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _C
from pydtrain.data.datasets import SHAPES, make_shapes


def test_layout_labels_and_range():
    X, y = make_shapes(600, seed=0, noise=0.0)
    assert X.shape == (600, 1, 28, 28) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(6))
    assert np.bincount(y).min() > 60  # uniform over 6 classes: 100 each on average
    assert X.min() >= 0.0 and X.max() <= 1.0 and (X.reshape(600, -1).max(axis=1) >= 0.6).all()
    X64, y64 = make_shapes(600, seed=0, noise=0.0, dtype=np.float64)
    np.testing.assert_array_equal(y64, y)
    np.testing.assert_allclose(X64, X, atol=1e-7)


def test_classes_select_and_order_the_shapes():
    _, y = make_shapes(200, classes=3, seed=1)
    assert set(np.unique(y)) == {0, 1, 2}
    Xa, ya = make_shapes(50, classes=["ring", "line"], seed=2, noise=0.0)
    Xb, yb = make_shapes(50, classes=["line", "ring"], seed=2, noise=0.0)
    np.testing.assert_array_equal(ya, yb)  # same draws, the names swap which shape a label gets
    ring = [i for i in range(50) if ya[i] == 0]
    assert not np.array_equal(Xa[ring], Xb[ring])


def test_seeding_threads_and_simd_levels():
    a = make_shapes(40, size=16, seed=3)
    b = make_shapes(40, size=16, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(make_shapes(40, size=16, seed=4)[0], a[0])
    pdt.seed(5)
    c = make_shapes(40, size=16)
    d = make_shapes(40, size=16)  # the global generator moved on
    assert not np.array_equal(c[0], d[0])
    previous, level = pdt.get_num_threads(), _C.simd_level()
    try:
        for threads in (1, 2, 3):
            pdt.set_num_threads(threads)
            for simd in _C.simd_supported():
                _C._set_simd(simd)
                got = make_shapes(300, size=20, seed=6)
                if threads == 1 and simd == _C.simd_supported()[0]:
                    first = got
                np.testing.assert_array_equal(got[0], first[0])
                np.testing.assert_array_equal(got[1], first[1])
    finally:
        pdt.set_num_threads(previous)
        _C._set_simd(level)


def test_a_circle_matches_a_float64_rendering():
    # with one class and no noise, each image is one circle outline; its ink centroid is the circle's centre
    # and the ink lies on a ring: the radius spread is about the stroke width
    X, _ = make_shapes(20, size=64, classes=["circle"], seed=7, noise=0.0, dtype=np.float64)
    yy, xx = np.mgrid[0:64, 0:64] + 0.5
    for img in X[:, 0]:
        if img[0].any() or img[-1].any() or img[:, 0].any() or img[:, -1].any():
            continue  # clipped by the border
        w = img / img.sum()
        cy, cx = (w * yy).sum(), (w * xx).sum()
        assert 0.3 * 64 - 1 < cx < 0.7 * 64 + 1 and 0.3 * 64 - 1 < cy < 0.7 * 64 + 1
        radius = np.hypot(yy - cy, xx - cx)
        r = (w * radius).sum()
        assert 0.16 * 64 - 1 < r < 0.30 * 64 + 1
        assert np.sqrt((w * (radius - r) ** 2).sum()) < 2.5


@pytest.mark.parametrize("kwargs,kind,words", [
    (dict(n=0), ValueError, "n must be a positive integer"),
    (dict(n=5, size=4), ValueError, "size must be an integer >= 8"),
    (dict(n=5, classes=7), ValueError, "classes must be at most 6"),
    (dict(n=5, classes=["circle", "star"]), ValueError, "classes must be distinct names"),
    (dict(n=5, noise=-1.0), ValueError, "noise"),
    (dict(n=5, dtype=np.int32), TypeError, "dtype must be float32 or float64"),
])
def test_bad_arguments(kwargs, kind, words):
    with pytest.raises(kind, match=words) as err:
        make_shapes(**kwargs)
    assert str(err.value).startswith("make_shapes:")
    assert SHAPES == ("circle", "square", "triangle", "cross", "line", "ring")
