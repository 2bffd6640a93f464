"""make_shapes: the drawn-shapes data set (C kernel draw_shapes): layout, labels, seeding, bits for any
thread count and SIMD level, the drawing against a NumPy rendering from the same random words, where the
shapes lie, the spots, bad arguments."""
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


def _words(seed, counter):
    return np.array(_C.philox(seed, counter), np.float64) / 2.0**32  # the four words of a block as [0, 1) draws


@pytest.mark.parametrize("size,spots", [(28, 4), (20, 0), (64, 16)])
def test_circles_and_spots_match_a_float64_rendering(size, spots):
    # without noise, each image redrawn in NumPy from the rule in make_shapes' docstring and the same Philox
    # blocks: two for the shape (label, radius, stroke, centre, angle, intensity), one per spot
    seed, offset, n = 7, 11, 12
    X = np.empty((n, size, size))
    labels = _C.draw_shapes(X, np.array([0], np.int64), seed, offset, spots, 0.0)
    np.testing.assert_array_equal(labels, 0)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    scale = size / 28
    for i in range(n):
        base = offset + i * (2 + spots + size * size)
        u = np.concatenate([_words(seed, base), _words(seed, base + 1)])
        r = size * (0.12 + 0.18 * u[1])
        stroke = 1 + 1.5 * u[2] * scale
        reach = r + stroke / 2  # the whole outline inside the image
        cx, cy = reach + (size - 2 * reach) * u[3], reach + (size - 2 * reach) * u[4]
        ink = np.clip(stroke / 2 - np.abs(np.hypot(xx - cx, yy - cy) - r) + 0.5, 0, 1)
        for k in range(spots):
            w = _words(seed, base + 2 + k)
            radius = (1 + 1.5 * w[2]) * scale
            ink = np.maximum(ink, np.clip(radius - np.hypot(xx - size * w[0], yy - size * w[1]) + 0.5, 0, 1))
        np.testing.assert_allclose(X[i], (0.6 + 0.4 * u[6]) * ink, atol=1e-12)
    X32 = np.empty((n, size, size), np.float32)
    _C.draw_shapes(X32, np.array([0], np.int64), seed, offset, spots, 0.0)
    np.testing.assert_array_equal(X32, X.astype(np.float32))  # float32: the float64 value rounded once


def test_outlines_lie_anywhere_inside_the_image():
    X, y = make_shapes(600, seed=8, noise=0.0, spots=0, dtype=np.float64)
    ink = X[:, 0]
    yy, xx = np.mgrid[0:28, 0:28] + 0.5
    w = ink / ink.sum(axis=(1, 2), keepdims=True)
    cx, cy = (w * xx).sum(axis=(1, 2)), (w * yy).sum(axis=(1, 2))
    assert cx.min() < 8 and cx.max() > 20 and cy.min() < 8 and cy.max() > 20  # not just the middle
    spotted, _ = make_shapes(600, seed=8, noise=0.0)  # four spots of 1-2.5 px: about 50 more inked pixels
    extra = (spotted > 0).sum(axis=(1, 2, 3)).mean() - (ink > 0).sum(axis=(1, 2)).mean()
    assert 30 < extra < 80, extra


@pytest.mark.parametrize("kwargs,kind,words", [
    (dict(n=0), ValueError, "n must be a positive integer"),
    (dict(n=5, size=4), ValueError, "size must be an integer >= 8"),
    (dict(n=5, classes=7), ValueError, "classes must be at most 6"),
    (dict(n=5, classes=["circle", "star"]), ValueError, "classes must be distinct names"),
    (dict(n=5, noise=-1.0), ValueError, "noise"),
    (dict(n=5, spots=-1), ValueError, "spots must be an integer >= 0"),
    (dict(n=5, spots=17), ValueError, "spots must be at most 16"),
    (dict(n=5, spots=2.0), TypeError, "spots must be an integer"),
    (dict(n=5, dtype=np.int32), TypeError, "dtype must be float32 or float64"),
])
def test_bad_arguments(kwargs, kind, words):
    with pytest.raises(kind, match=words) as err:
        make_shapes(**kwargs)
    assert str(err.value).startswith("make_shapes:")
    assert SHAPES == ("circle", "square", "triangle", "cross", "line", "ring")
