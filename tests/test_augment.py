"""Data augmentation: kernels vs the float64 oracle at every SIMD level, invariants (flip twice,
zero shift and angle, kept pixels, rot90), seeding, threads, PyTorch's affine_grid/grid_sample
parity, the DataLoader transform and every bad value."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _C, _random, functional as F
from pydtrain.data import DataLoader, augment as A
from pydtrain.data.datasets import load_digits

import reference as R
from conftest import tol

SEED, OFFSET = 0x5EED_0F_A0_6, 321
SHAPES = [(1, 1, 1, 1), (3, 1, 7, 9), (4, 3, 8, 8), (2, 2, 17, 15), (5, 1, 28, 28), (2, 1, 33, 1)]


def _images(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---- kernels vs oracle, every SIMD level and dtype ----


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("edge", [False, True], ids=["zeros", "edge"])
def test_translate_matches_oracle(simd, dtype, shape, edge):
    x = _images(shape, dtype)
    h, w = shape[-2:]
    for oh, ow, dy, dx in ((h, w, (-3, 3), (-2, 2)), (h + 2, max(w - 1, 1), (-h - 4, h + 4), (0, 5))):
        y = _C.augment_translate(x, SEED, OFFSET, oh, ow, *dy, *dx, edge)
        np.testing.assert_array_equal(y, R.augment_translate(x, SEED, OFFSET, oh, ow, dy, dx, edge))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_hflip_matches_oracle(simd, dtype, shape):
    x = _images(shape, dtype)
    np.testing.assert_array_equal(_C.augment_hflip(x, SEED, OFFSET, 0.5), R.augment_hflip(x, SEED, OFFSET, 0.5))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("degrees", [7.5, 45.0, 180.0])
def test_rotate_matches_oracle(simd, dtype, shape, degrees):
    x = _images(shape, dtype)
    y = _C.augment_rotate(x, SEED, OFFSET, degrees)
    # float32 rounds the sampling positions (up to 34) to float32: a few 1e-6 of a pixel, times pixel
    # differences up to ~8
    np.testing.assert_allclose(y, R.augment_rotate(x, SEED, OFFSET, degrees), **tol(dtype, f32=(1e-5, 1e-4)))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_erase_matches_oracle(simd, dtype, shape):
    x = _images(shape, dtype)
    log_ratio = (np.log(0.3), np.log(3.3))
    y = _C.augment_erase(x, SEED, OFFSET, 0.7, 0.02, 0.4, *log_ratio, -2.5)
    np.testing.assert_array_equal(y, R.augment_erase(x, SEED, OFFSET, 0.7, (0.02, 0.4), log_ratio, -2.5))


def test_erase_in_place_and_erases_some_images():
    x = _images((64, 3, 12, 10), np.float32)
    expected = R.augment_erase(x, 1, 2, 0.5, (0.1, 0.3), (0.0, 0.5), 9.0)
    F.augment_erase(x, 0.5, (0.1, 0.3), (1.0, np.exp(0.5)), 9.0, seed=1, offset=2, out=x)
    np.testing.assert_array_equal(x, expected)
    erased = (x == 9.0).reshape(64, -1).any(axis=1)
    assert 16 < erased.sum() < 48  # p = 0.5 of 64 images, 4 sigma
    # every plane of an image alike: the rectangle covers the same pixels in each
    planes = x == 9.0
    assert (planes[:, 0] == planes[:, 1]).all() and (planes[:, 0] == planes[:, 2]).all()


# ---- invariants ----


def test_flip_twice_is_the_identity(dtype):
    x = _images((50, 2, 9, 11), dtype)
    once = F.augment_hflip(x, 0.5, seed=3, offset=0)
    assert not np.array_equal(once, x)
    np.testing.assert_array_equal(F.augment_hflip(once, 0.5, seed=3, offset=0), x)
    np.testing.assert_array_equal(A.RandomHorizontalFlip(1.0)(A.RandomHorizontalFlip(1.0)(x)), x)
    np.testing.assert_array_equal(A.RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(A.RandomHorizontalFlip(0.0)(x), x)


def test_zero_shift_and_zero_angle_are_the_identity(dtype):
    x = _images((20, 3, 13, 10), dtype)
    for t in (A.RandomShift(0), A.RandomShift(0, fill="edge"), A.RandomRotation(0), A.RandomCrop((13, 10)),
              A.GaussianNoise(0.0), A.RandomErasing(p=0.0)):
        y = t(x)
        assert y is not x
        np.testing.assert_array_equal(y, x, err_msg=repr(t))


def test_flips_and_in_bounds_shifts_keep_the_pixels():
    x = np.zeros((40, 2, 16, 16), np.float32)
    x[:, :, 3:13, 3:13] = _images((40, 2, 10, 10), np.float32)  # a zero border of 3 pixels
    for t in (A.RandomHorizontalFlip(0.5), A.RandomShift(3), A.RandomShift(3, fill="edge")):
        y = t(x)
        assert not np.array_equal(y, x)
        # the same values, moved: sums kept, and the sorted pixels of each image equal
        np.testing.assert_allclose(y.sum(axis=(2, 3), dtype=np.float64), x.sum(axis=(2, 3), dtype=np.float64),
                                   rtol=1e-6, atol=1e-5)
        np.testing.assert_array_equal(np.sort(y.reshape(40, -1), axis=1), np.sort(x.reshape(40, -1), axis=1))


def test_shifts_cover_the_range_uniformly():
    # a single 1 pixel at the centre lands dy rows and dx columns away
    x = np.zeros((4000, 9, 9))
    x[:, 4, 4] = 1.0
    y = A.RandomShift(2)(x)
    rows, cols = np.nonzero(y.sum(axis=2))[1] - 4, np.nonzero(y.sum(axis=1))[1] - 4
    for d in (rows, cols):
        counts = np.bincount(d + 2, minlength=5)
        assert counts.size == 5 and np.all(np.abs(counts - 800) < 5 * np.sqrt(800 * 0.8)), counts


def test_edge_fill_repeats_the_border_pixels():
    x = np.arange(12.0).reshape(1, 3, 4)
    y = F.augment_translate(x, (1, 1), (2, 2), edge=True, seed=0, offset=0)
    np.testing.assert_array_equal(y[0], [[0, 0, 0, 1], [0, 0, 0, 1], [4, 4, 4, 5]])
    y = F.augment_translate(x, (1, 1), (2, 2), seed=0, offset=0)
    np.testing.assert_array_equal(y[0], [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 4, 5]])


def test_crop_windows_of_the_padded_image():
    pdt.seed(0)  # 1000 draws over 49 windows: each window is seen (1 − 1/49)^1000 < 1e-8 misses apiece
    x = _images((1000, 1, 6, 7), np.float64)
    y = A.RandomCrop((4, 5), padding=2)(x)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    seen = set()
    for k in range(len(x)):
        hits = [(t, left) for t in range(7) for left in range(7)
                if np.array_equal(padded[k, :, t:t + 4, left:left + 5], y[k])]
        assert hits, k
        seen.update(hits)
    assert len(seen) == 49  # every top-left corner of the 10 x 11 padded image that fits


def _angle_90_offset(seed, sign):
    """An offset whose first draw turns by 90° to within 2e-4° (u within 1e-6 of 1, or of 0 for −90°)."""
    u = R.uniform_at(seed, 0, 1 << 21)
    k = int(np.argmax(u) if sign > 0 else np.argmin(u))
    assert abs(u[k] - (1.0 if sign > 0 else 0.0)) < 1e-6
    return k


@pytest.mark.parametrize("sign", [1, -1])
def test_rotation_by_90_degrees_is_rot90(dtype, sign):
    x = _images((1, 2, 11, 11), dtype)
    y = F.augment_rotate(x, 90.0, seed=7, offset=_angle_90_offset(7, sign))
    np.testing.assert_allclose(y, np.rot90(x, k=sign, axes=(2, 3)), atol=1e-4)


def test_rotation_keeps_the_centre_and_a_disc_symmetric_image():
    i, j = np.meshgrid(np.arange(21.0), np.arange(21.0), indexing="ij")
    disc = ((i - 10) ** 2 + (j - 10) ** 2 <= 36).astype(np.float64)[None].repeat(30, axis=0)
    y = A.RandomRotation(180)(disc)
    np.testing.assert_array_equal(y[:, 10, 10], 1.0)
    assert np.abs(y - disc).max() < 1.0 and np.abs(y.sum(axis=(1, 2)) - disc[0].sum()).max() < 3.0


# ---- seeds and threads ----


TRANSFORMS = [A.RandomShift(3), A.RandomShift(2, fill="edge"), A.RandomCrop(20, padding=4),
              A.RandomHorizontalFlip(), A.RandomRotation(20), A.GaussianNoise(0.3), A.RandomErasing(p=0.8),
              A.Compose([A.RandomShift(2), A.RandomHorizontalFlip(), A.RandomRotation(15)])]


@pytest.mark.parametrize("t", TRANSFORMS, ids=repr)
def test_same_seed_same_output_different_seeds_differ(t):
    x = _images((32, 1, 24, 24), np.float32)
    pdt.seed(5)
    a = t(x)
    pdt.seed(5)
    b = t(x)
    pdt.seed(6)
    c = t(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(t(x), b)  # the generator moved on


@pytest.mark.parametrize("t", TRANSFORMS, ids=repr)
def test_one_and_two_threads_bit_identical(t):
    x = _images((300, 1, 28, 28), np.float32)  # past every kernel's parallel threshold
    threads = pdt.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            pdt.set_num_threads(n)
            pdt.seed(9)
            results.append(t(x))
    finally:
        pdt.set_num_threads(threads)
    np.testing.assert_array_equal(results[0], results[1])


def test_draws_are_per_image():
    # image k depends on (seed, offset, k) only: the first images of a batch equal a shorter batch's
    x = _images((40, 1, 10, 10), np.float64)
    for fn in (lambda v: F.augment_rotate(v, 30, seed=1, offset=5),
               lambda v: F.augment_translate(v, (-2, 2), (-2, 2), seed=1, offset=5),
               lambda v: F.augment_hflip(v, 0.5, seed=1, offset=5),
               lambda v: F.augment_erase(v, 0.9, seed=1, offset=5)):
        np.testing.assert_array_equal(fn(x)[:13], fn(x[:13]))


def test_counters_taken_from_the_global_generator():
    x = _images((10, 1, 5, 5), np.float32)
    for t, per_image in ((A.RandomShift(1), 2), (A.RandomHorizontalFlip(), 1), (A.RandomRotation(5), 1),
                         (A.RandomErasing(), F.ERASE_DRAWS), (A.GaussianNoise(1.0), 25)):
        pdt.seed(0)
        t(x)
        assert _random.get_state()[1] == 10 * per_image, t


# ---- PyTorch parity: affine_grid + grid_sample (align_corners=False, zeros), flip ----


def _torch_affine(x, theta):
    torch = pytest.importorskip("torch")
    xt = torch.from_numpy(x)
    grid = torch.nn.functional.affine_grid(torch.from_numpy(theta), list(xt.shape), align_corners=False)
    return torch.nn.functional.grid_sample(xt, grid, mode="bilinear", padding_mode="zeros",
                                           align_corners=False).numpy()


@pytest.mark.parametrize("shape", [(6, 1, 28, 28), (4, 3, 8, 8), (5, 2, 9, 14), (5, 1, 15, 6)], ids=str)
def test_rotation_matches_torch_affine_grid_grid_sample(dtype, shape):
    x = _images(shape, dtype)
    n, _, h, w = shape
    y = F.augment_rotate(x, 40.0, seed=11, offset=3)
    theta = np.deg2rad(40.0 * (2 * R.uniform_at(11, 3, n) - 1))
    c, s = np.cos(theta), np.sin(theta)
    # the pixel-space rotation in affine_grid's normalized coordinates (x/w and y/h scale differently)
    mats = np.stack([np.stack([c, -s * h / w, 0 * c], 1), np.stack([s * w / h, c, 0 * c], 1)], 1)
    expected = _torch_affine(x.astype(np.float64), mats)
    np.testing.assert_allclose(y, expected, **tol(dtype, f32=(1e-5, 1e-4), f64=(1e-10, 1e-11)))


def test_shift_and_flip_match_torch():
    torch = pytest.importorskip("torch")
    x = _images((8, 2, 10, 12), np.float64)
    y = F.augment_translate(x, (-3, 3), (-3, 3), seed=2, offset=4)
    u = R.uniform_at(2, 4, 16).reshape(8, 2)
    dy, dx = np.floor(u[:, 0] * 7) - 3, np.floor(u[:, 1] * 7) - 3
    one, zero = np.ones(8), np.zeros(8)
    mats = np.stack([np.stack([one, zero, -2 * dx / 12], 1), np.stack([zero, one, -2 * dy / 10], 1)], 1)
    np.testing.assert_allclose(y, _torch_affine(x, mats), atol=1e-12)
    flip = R.uniform_at(2, 4, 8) < 0.5
    xt = torch.from_numpy(x)
    expected = torch.where(torch.from_numpy(flip)[:, None, None, None], xt.flip(-1), xt).numpy()
    np.testing.assert_array_equal(F.augment_hflip(x, 0.5, seed=2, offset=4), expected)


# ---- layouts, out=, DataLoader ----


def test_flat_digits_with_image_shape_come_back_flat():
    X, _ = load_digits()
    for t in (A.RandomShift(1, image_shape=(8, 8)), A.RandomRotation(10, image_shape=(8, 8)),
              A.Compose([A.RandomShift(1), A.RandomRotation(10)], image_shape=(8, 8))):
        pdt.seed(1)
        y = t(X[:50])
        assert y.shape == (50, 64) and y.dtype == X.dtype
        pdt.seed(1)
        np.testing.assert_array_equal(y, t(X[:50].reshape(50, 8, 8)).reshape(50, 64))
    assert A.RandomCrop(6, image_shape=(8, 8))(X[:5]).shape == (5, 36)
    assert A.RandomCrop(6, image_shape=(8, 8))(np.tile(X[:5], 3)).shape == (5, 108)  # 3 planes of 8 x 8
    assert A.RandomShift(1, image_shape=(3, 8, 8))(np.tile(X[:5], 3)).shape == (5, 192)


def test_out_is_written_and_returned(dtype):
    x = _images((6, 2, 8, 8), dtype)
    for t, shape in ((A.RandomRotation(20), x.shape), (A.RandomCrop(5, padding=1), (6, 2, 5, 5)),
                     (A.RandomErasing(p=1.0), x.shape), (A.GaussianNoise(0.5), x.shape)):
        out = np.full(shape, np.nan, dtype)
        pdt.seed(2)
        assert t(x, out=out) is out
        pdt.seed(2)
        np.testing.assert_array_equal(out, t(x))
    assert A.RandomHorizontalFlip(1.0)(x[:, 0]).shape == (6, 8, 8)


def test_non_contiguous_input_is_copied_not_rejected():
    x = _images((6, 8, 16), np.float32)[:, :, ::2]
    np.testing.assert_array_equal(A.RandomHorizontalFlip(1.0)(x), x[..., ::-1])


def test_dataloader_transform():
    X, y = load_digits()
    X, y = X[:100], y[:100]
    aug = A.Compose([A.RandomShift(1), A.RandomHorizontalFlip(), A.RandomRotation(10)], image_shape=(8, 8))
    before = X.copy()
    batches = []
    for _ in range(2):
        pdt.seed(4)
        loader = DataLoader(X, y, batch_size=32, transform=aug)
        batches.append([(xb, yb) for xb, yb in loader])
    np.testing.assert_array_equal(X, before)
    for (xa, ya), (xb, yb) in zip(*batches):
        assert xa.shape[1] == 64 and xa.dtype == np.float32
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    pdt.seed(4)
    order = _random.permutation(100)
    xa, ya = batches[0][0]
    np.testing.assert_array_equal(ya, y[order[:32]])
    assert not np.array_equal(xa, X[order[:32]])
    # an unshuffled loader hands the transform copies, so X stays intact with in-place transforms too
    loader = DataLoader(X, y, batch_size=50, shuffle=False, transform=A.RandomErasing(p=1.0, image_shape=(8, 8)))
    assert sum(len(xb) for xb, _ in loader) == 100
    np.testing.assert_array_equal(X, before)


def test_public_names():
    import pydtrain.data as data

    ns = {}
    exec("from pydtrain.data import *", ns)
    assert ns["augment"] is A is data.augment is pdt.data.augment
    assert sorted(A.__all__) == sorted(["RandomShift", "RandomCrop", "RandomHorizontalFlip", "RandomRotation",
                                        "GaussianNoise", "RandomErasing", "Compose"])


# ---- bad values ----


BAD = [
    (lambda: A.RandomShift(-1), ValueError, "RandomShift: max_px must be an integer >= 0"),
    (lambda: A.RandomShift(1.5), TypeError, "RandomShift: max_px must be an integer"),
    (lambda: A.RandomShift(1, fill="reflect"), ValueError, "RandomShift: fill must be 'zeros' or 'edge'"),
    (lambda: A.RandomShift(1, fill=0), TypeError, "RandomShift: fill must be"),
    (lambda: A.RandomCrop(0), ValueError, "RandomCrop: size must be a positive integer"),
    (lambda: A.RandomCrop((3, 4, 5)), TypeError, "RandomCrop: size must be an integer or a pair"),
    (lambda: A.RandomCrop(3, padding=-1), ValueError, "RandomCrop: padding must be an integer >= 0"),
    (lambda: A.RandomHorizontalFlip(1.5), ValueError, r"RandomHorizontalFlip: p must be in \[0.0, 1.0\]"),
    (lambda: A.RandomHorizontalFlip(-0.1), ValueError, "RandomHorizontalFlip: p must be in"),
    (lambda: A.RandomHorizontalFlip("0.5"), TypeError, "RandomHorizontalFlip: p must be a number"),
    (lambda: A.RandomRotation(-5), ValueError, "RandomRotation: degrees must be in"),
    (lambda: A.RandomRotation(float("nan")), ValueError, "RandomRotation: degrees must be in"),
    (lambda: A.RandomRotation(None), TypeError, "RandomRotation: degrees must be a number"),
    (lambda: A.GaussianNoise(-0.1), ValueError, "GaussianNoise: std must be >= 0"),
    (lambda: A.RandomErasing(p=2), ValueError, "RandomErasing: p must be in"),
    (lambda: A.RandomErasing(scale=(0.5, 0.2)), ValueError, r"RandomErasing: scale\[1\] must be in"),
    (lambda: A.RandomErasing(scale=0.2), TypeError, "RandomErasing: scale must be a pair"),
    (lambda: A.RandomErasing(ratio=(0.0, 2.0)), ValueError, r"RandomErasing: ratio\[0\] must be > 0"),
    (lambda: A.RandomErasing(value="x"), TypeError, "RandomErasing: value must be a number"),
    (lambda: A.RandomShift(1, image_shape=8), TypeError, "RandomShift: image_shape must be a tuple"),
    (lambda: A.RandomShift(1, image_shape=(0, 8)), ValueError, "RandomShift: each image_shape entry must be"),
    (lambda: A.Compose(A.RandomShift(1)), TypeError, "Compose: transforms must be a list"),
    (lambda: A.Compose([3]), TypeError, "Compose: every transform must be callable"),
]


@pytest.mark.parametrize("make, exc, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_hyper_parameters_raise(make, exc, message):
    with pytest.raises(exc, match=f"^{message}"):
        make()


X4 = np.zeros((2, 1, 8, 8), np.float32)
BAD_CALLS = [
    (lambda: A.RandomRotation(5)(np.zeros((2, 8))), ValueError,
     r"RandomRotation: x must be a batch of images \(N, H, W\) or \(N, C, H, W\), got shape \(2, 8\); flat rows"),
    (lambda: A.RandomShift(1)(np.zeros((2, 1, 1, 8, 8))), ValueError, "RandomShift: x must be a batch of images"),
    (lambda: A.RandomShift(1)(np.zeros(8)), ValueError, "RandomShift: x must be a batch of images"),
    (lambda: A.RandomShift(1, image_shape=(8, 8))(np.zeros((2, 60))), ValueError,
     r"RandomShift: image_shape \(8, 8\) does not divide the width 60"),
    (lambda: A.RandomShift(1, image_shape=(3, 8, 8))(np.zeros((2, 128))), ValueError,
     r"RandomShift: image_shape \(3, 8, 8\) does not divide the width 128"),
    (lambda: A.RandomShift(1, image_shape=(8, 8))(np.zeros((2, 7, 8))), ValueError,
     r"RandomShift: x of shape \(2, 7, 8\) does not end in image_shape \(8, 8\)"),
    (lambda: A.Compose([A.RandomShift(1)], image_shape=(8, 8))(np.zeros((2, 60))), ValueError,
     "Compose: image_shape"),
    (lambda: A.RandomHorizontalFlip()(np.zeros((2, 8, 8), np.int64)), TypeError,
     "RandomHorizontalFlip: x must be float32 or float64, got int64"),
    (lambda: A.GaussianNoise(1.0)(np.zeros((2, 8, 8), np.float16)), TypeError, "GaussianNoise: x must be float32"),
    (lambda: A.RandomRotation(5)([[[0.0]]]), TypeError, "RandomRotation: x must be a numpy.ndarray, got list"),
    (lambda: A.RandomCrop(9)(X4), ValueError, r"RandomCrop: size \(9, 9\) is larger than the padded image 8 x 8"),
    (lambda: A.RandomRotation(5)(X4, out=np.zeros((2, 1, 8, 7), np.float32)), ValueError,
     r"RandomRotation: out must be a C-contiguous float32 array of shape \(2, 1, 8, 8\)"),
    (lambda: A.RandomRotation(5)(X4, out=np.zeros((2, 1, 8, 8))), ValueError, "RandomRotation: out must be a C-contiguous"),
    (lambda: A.RandomRotation(5)(X4, out=np.zeros((2, 1, 8, 16), np.float32)[..., ::2]), ValueError,
     "RandomRotation: out must be a C-contiguous"),
    (lambda: A.RandomRotation(5)(X4, out=X4), ValueError, "augment_rotate: argument 'out' shares memory with 'x'"),
    (lambda: A.RandomShift(1)(np.zeros((2, 0, 8))), ValueError, "RandomShift: images must be at least 1 x 1"),
    (lambda: F.augment_translate(np.zeros((2, 0, 8)), (0, 0), (0, 0), size=(2, 2)), ValueError,
     "augment_translate: images must be at least 1 x 1"),
]


@pytest.mark.parametrize("call, exc, message", BAD_CALLS, ids=[m for _, _, m in BAD_CALLS])
def test_bad_batches_raise(call, exc, message):
    with pytest.raises(exc, match=f"^{message}"):
        call()


def test_kernel_arguments_checked_in_the_binding():
    x = np.zeros((2, 1, 4, 4))
    with pytest.raises(ValueError, match="augment_hflip: p must be in"):
        _C.augment_hflip(x, 0, 0, 1.5)
    with pytest.raises(ValueError, match="augment_rotate: degrees must be in"):
        _C.augment_rotate(x, 0, 0, -1.0)
    with pytest.raises(ValueError, match="augment_translate: shift ranges must not be empty"):
        _C.augment_translate(x, 0, 0, 4, 4, 1, 0, 0, 0, False)
    with pytest.raises(ValueError, match="augment_erase: scale must satisfy"):
        _C.augment_erase(x, 0, 0, 0.5, 0.5, 0.2, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="augment_translate: argument 'out' has shape"):
        _C.augment_translate(x, 0, 0, 3, 3, 0, 0, 0, 0, False, np.zeros((2, 1, 4, 4)))


# ---- the benchmark's baselines compute the same augmentation ----


def test_bench_baselines_do_what_pydtrain_does():
    from pydtrain.bench import augment as B

    x = _images((6, 1, 28, 28), np.float32)
    degrees = np.array([10.0, -15.0, 3.0, 0.0, 14.0, -7.0])
    flips = np.array([True, False, True, False, True, False])
    d = np.array([[1, -2, 0, 2, -1, 1], [0, 1, -2, 2, 1, -1]])
    steps = np.empty(x.shape)
    for k in range(len(x)):  # the three steps in turn, in float64
        shifted = R.augment_translate(x[k:k + 1], 0, 0, 28, 28, (d[0, k],) * 2, (d[1, k],) * 2, False)[0]
        steps[k] = R.rotate_image(shifted[..., ::-1] if flips[k] else shifted, np.deg2rad(degrees[k]))
    np.testing.assert_allclose(B.numpy_augment(x, degrees, flips, d), steps, atol=1e-5)
    torch = pytest.importorskip("torch")
    y = B.torch_augment(torch, torch.from_numpy(x.astype(np.float64)), torch.from_numpy(degrees),
                        torch.from_numpy(flips), torch.from_numpy(d)).numpy()
    # one matrix: the pixels a shift pushes out of the frame come back where the rotation turns the corners in
    np.testing.assert_allclose(y[:, :, 3:-3, 3:-3], steps[:, :, 3:-3, 3:-3], atol=1e-5)
    assert np.abs(y - steps).max() > 0.01
