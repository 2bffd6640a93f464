"""GEMM (csrc/kernels/gemm.c + gemm_ukernel.c) against the float64 NumPy oracle.

Errors are measured against the natural bound of a dot product,
|α|·|op(A)|·|op(B)| + |β·C| + |bias|, so cancellation does not make a correct
result look wrong: float64 within 1e-12 of it, float32 within 1e-5.
"""
import itertools

import numpy as np
import pytest

import pydtrain
from pydtrain import _C
from pydtrain.optim.optimizer import _aligned_empty
import reference as ref

RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
TRANS = list(itertools.product([False, True], [False, True]))

# (m, n, k): single elements, K = 1, primes, register tiles (6×16, 12×32, 12×16, 4×4) ± 1,
# the copied-panel and unpacked/packed switches (m = 64, 128), the KC = 256, MC = 960 and NC ≤ 1024 block edges,
# the dot-product path of x·Wᵀ (n ≤ NR/2 from k = 128 at any m, m ≤ 16 from k = 256, m ≤ 32 from k = 1024),
# the unpacked path for narrow n at any m (n ≤ 2·NR, or ≤ 4·NR while A ≤ 1 MiB) and the five loops past it (also
# for 32 < m ≤ 128 when k, n ≥ 512 and op(B) is not transposed; A read in place when its rows are contiguous;
# m > MC: A of 1.05 MiB with n = 100); edge tiles of the full height (23 = 12 + 11, 18 + 5, 20 + 3) in the unpacked
# path with op(B) of 2 MiB or more (its panels copied, the last KC block short, the last panel narrow)
SHAPES = [
    (200, 300, 70), (970, 150, 260), (1100, 100, 250), (50, 520, 530),
    (1, 1, 1), (1, 1100, 1), (1100, 1, 3), (7, 13, 1), (2, 3, 5), (11, 13, 17), (23, 47, 97),
    (6, 16, 8), (5, 15, 7), (7, 17, 9), (12, 32, 64), (11, 31, 63), (13, 33, 65),
    (12, 16, 256), (13, 17, 257), (4, 4, 255), (63, 40, 70), (64, 47, 70), (128, 64, 129), (129, 65, 131), (95, 130, 64),
    (101, 103, 107), (241, 37, 600), (481, 33, 70), (3, 4097, 2), (32, 1024, 64), (5, 7, 515), (61, 33, 600),
    (300, 10, 200), (700, 16, 129), (20, 50, 300), (16, 50, 300), (33, 50, 300), (130, 17, 128), (128, 64, 1024),
    (32, 40, 1030), (23, 700, 800),
]


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def operands(rng, m, n, k, ta, tb, dtype):
    a = rand(rng, (k, m) if ta else (m, k), dtype)
    b = rand(rng, (n, k) if tb else (k, n), dtype)
    return a, b


def check(got, a, b, ta, tb, alpha=1.0, beta=0.0, c=None, bias=None):
    """Assert got ≈ the oracle, relative to the magnitude bound of each element."""
    want = ref.gemm(a, b, ta, tb, alpha, beta, c, bias)
    bound = abs(alpha) * ref.gemm(np.abs(a), np.abs(b), ta, tb)
    if beta != 0.0:
        bound = bound + abs(beta) * np.abs(c.astype(np.float64))
    if bias is not None:
        bound = bound + np.abs(bias.astype(np.float64))
    assert got.shape == want.shape
    err = np.abs(got.astype(np.float64) - want)
    limit = RTOL[got.dtype] * (bound + np.finfo(np.float64).tiny)
    worst = np.unravel_index(np.argmax(err - limit), err.shape) if err.size else None
    assert np.all(err <= limit), f"max error {err[worst]:.3g} > {limit[worst]:.3g} at {worst}"


@pytest.mark.parametrize("ta,tb", TRANS, ids=["nn", "nt", "tn", "tt"])
@pytest.mark.parametrize("m,n,k", SHAPES, ids=[f"{m}x{n}x{k}" for m, n, k in SHAPES])
def test_shapes_against_numpy(simd, dtype, m, n, k, ta, tb):
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    a, b = operands(rng, m, n, k, ta, tb, dtype)
    check(_C.gemm(a, b, None, ta, tb), a, b, ta, tb)


@pytest.mark.parametrize("ta,tb", TRANS, ids=["nn", "nt", "tn", "tt"])
def test_large_square_against_numpy(dtype, ta, tb):
    rng = np.random.default_rng(3)
    m, n, k = 1100, 1031, 1100
    a, b = operands(rng, m, n, k, ta, tb, dtype)
    check(_C.gemm(a, b, None, ta, tb), a, b, ta, tb)


@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (1.0, 1.0), (-0.5, 2.5), (0.0, 1.0), (3.0, -1.0)])
@pytest.mark.parametrize("with_bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("ta,tb", TRANS, ids=["nn", "nt", "tn", "tt"])
@pytest.mark.parametrize("m,n,k", [(13, 33, 17), (130, 70, 300), (33, 200, 600)])
def test_alpha_beta_bias(simd, dtype, m, n, k, ta, tb, alpha, beta, with_bias):
    rng = np.random.default_rng(7)
    a, b = operands(rng, m, n, k, ta, tb, dtype)
    c = rand(rng, (m, n), dtype)
    bias = rand(rng, (n,), dtype) if with_bias else None
    out = c.copy()
    got = _C.gemm(a, b, out, ta, tb, alpha, beta, bias)
    assert got is out
    check(out, a, b, ta, tb, alpha, beta, c, bias)


@pytest.mark.parametrize("m,n,k", [(5, 7, 3), (130, 70, 300)])
def test_beta_zero_never_reads_out(simd, dtype, m, n, k):
    rng = np.random.default_rng(11)
    a, b = operands(rng, m, n, k, False, False, dtype)
    out = np.full((m, n), np.nan, dtype)
    _C.gemm(a, b, out, False, False, 1.0, 0.0)
    check(out, a, b, False, False)


def test_k_zero_is_beta_c_plus_bias(simd, dtype):
    rng = np.random.default_rng(5)
    a, b = np.empty((4, 0), dtype), np.empty((0, 9), dtype)
    c, bias = rand(rng, (4, 9), dtype), rand(rng, (9,), dtype)
    out = c.copy()
    _C.gemm(a, b, out, False, False, 1.0, 2.0, bias)
    np.testing.assert_allclose(out, 2.0 * c + bias, rtol=RTOL[dtype])
    np.testing.assert_array_equal(_C.gemm(a, b), np.zeros((4, 9), dtype))
    np.testing.assert_array_equal(_C.gemm(a, b, None, False, False, 1.0, 0.0, bias), np.tile(bias, (4, 1)))


@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (5, 0, 3), (0, 0, 0), (0, 4, 0)])
@pytest.mark.parametrize("ta,tb", TRANS, ids=["nn", "nt", "tn", "tt"])
def test_empty_dimensions(simd, dtype, m, n, k, ta, tb):
    a = np.ones((k, m) if ta else (m, k), dtype)
    b = np.ones((n, k) if tb else (k, n), dtype)
    got = _C.gemm(a, b, None, ta, tb)
    assert got.shape == (m, n) and got.dtype == dtype
    out = np.ones((m, n), dtype)
    _C.gemm(a, b, out, ta, tb, 1.0, 1.0, np.ones(n, dtype))
    np.testing.assert_array_equal(out, np.full((m, n), 2.0 if k == 0 else k + 2.0, dtype))


@pytest.mark.parametrize("ta,tb", TRANS, ids=["nn", "nt", "tn", "tt"])
@pytest.mark.parametrize("m,n,k", [(1100, 37, 1100), (37, 1100, 600), (257, 263, 1031), (64, 1024, 256),
                                   (1024, 256, 64), (513, 511, 7), (32, 300, 700), (100, 64, 600), (600, 10, 784)])
def test_one_and_two_threads_identical(simd, dtype, m, n, k, ta, tb):
    rng = np.random.default_rng(13)
    a, b = operands(rng, m, n, k, ta, tb, dtype)
    c, bias = rand(rng, (m, n), dtype), rand(rng, (n,), dtype)
    previous = pydtrain.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            pydtrain.set_num_threads(threads)
            out = c.copy()
            results.append(_C.gemm(a, b, out, ta, tb, 0.75, 1.0, bias))
    finally:
        pydtrain.set_num_threads(previous)
    np.testing.assert_array_equal(results[0], results[1])
    check(results[1], a, b, ta, tb, 0.75, 1.0, c, bias)


@pytest.mark.parametrize("batch", [1, 32, 64, 128, 256])
@pytest.mark.parametrize("fan_in,fan_out", [(16, 1024), (1024, 16), (64, 256), (256, 1024), (1024, 1024), (784, 10)])
def test_linear_layer_calls(dtype, batch, fan_in, fan_out):
    """The three products of a Linear layer: y = x·Wᵀ + b, dW += dyᵀ·x, dx = dy·W."""
    rng = np.random.default_rng(batch + fan_in + fan_out)
    x, w = rand(rng, (batch, fan_in), dtype), rand(rng, (fan_out, fan_in), dtype)
    bias, dy = rand(rng, (fan_out,), dtype), rand(rng, (batch, fan_out), dtype)
    check(_C.gemm(x, w, None, False, True, 1.0, 0.0, bias), x, w, False, True, bias=bias)
    grad0 = rand(rng, (fan_out, fan_in), dtype)
    grad = grad0.copy()
    _C.gemm(dy, x, grad, True, False, 1.0, 1.0)
    check(grad, dy, x, True, False, 1.0, 1.0, grad0)
    check(_C.gemm(dy, w, None, False, False, 1.0, 0.0), dy, w, False, False)


def test_simd_levels_agree_with_scalar(dtype):
    rng = np.random.default_rng(17)
    a, b = operands(rng, 67, 45, 300, False, True, dtype)
    previous = _C.simd_level()
    try:
        results = {}
        for level in _C.simd_supported():
            _C._set_simd(level)
            results[level] = _C.gemm(a, b, None, False, True)
    finally:
        _C._set_simd(previous)
    for level, got in results.items():
        np.testing.assert_allclose(got, results["scalar"], rtol=RTOL[dtype] * 10, atol=RTOL[dtype] * 300,
                                   err_msg=level)


def test_fma_peak_counts_flops(dtype):
    sink = np.zeros(2, dtype)
    flops = _C.fma_peak(sink, 1000)
    assert flops > 0 and flops % 2000 == 0
    assert np.all(np.isfinite(sink)) and np.all(sink != 0)


def test_bad_inputs():
    a, b = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match="gemm"):
        _C.gemm(a, np.ones((5, 5), np.float32))
    with pytest.raises(ValueError, match="gemm"):
        _C.gemm(a, b, None, True, False)
    with pytest.raises(ValueError, match="beta"):
        _C.gemm(a, b, None, False, False, 1.0, 1.0)
    with pytest.raises(ValueError, match="out"):
        _C.gemm(a, b, np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match="bias"):
        _C.gemm(a, b, None, False, False, 1.0, 0.0, np.ones(4, np.float32))
    square = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="out"):
        _C.gemm(square, square, square, False, False, 1.0, 1.0)
    with pytest.raises(TypeError):
        _C.gemm(a, b.astype(np.float64))
    with pytest.raises(TypeError):
        _C.gemm(a.astype(np.int32), b.astype(np.int32))
    with pytest.raises(ValueError):
        _C.gemm(np.ones((4, 3), np.float32).T, b)
    with pytest.raises(ValueError, match="reps"):
        _C.fma_peak(np.zeros(1), -1)


def test_products_from_several_python_threads_at_once_each_use_their_own_buffer():
    """The GIL is released during a product and each calling thread packs into its own scratch buffer
    (kept between calls): concurrent products of different sizes stay exact, also on new threads after
    the first ones ended."""
    import threading

    shapes = [(300, 260, 280), (40, 1030, 520), (970, 150, 260), (128, 512, 700)]
    rng = np.random.default_rng(11)
    cases = []
    for m, n, k in shapes:
        a, b = rand(rng, (m, k), np.float64), rand(rng, (k, n), np.float64)
        cases.append((a, b, a @ b))
    errors = []

    def work(i):
        a, b, want = cases[i % len(cases)]
        for _ in range(6):
            got = _C.gemm(a, b)
            if not np.allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max()):
                errors.append(i)

    for _round in range(2):  # the second round's threads are new: buffers of ended threads were released
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors


def placed(x, offset_bytes):
    """A C-contiguous copy of x starting `offset_bytes` (a multiple of its itemsize) past a 64-byte boundary."""
    skip = offset_bytes // x.itemsize
    y = _aligned_empty(x.size + skip, x.dtype)[skip:].reshape(x.shape)
    y[...] = x
    assert y.ctypes.data % 64 == offset_bytes
    return y


# The dot-product path of x·Wᵀ copies rows that do not start on a vector boundary to aligned scratch (B's
# strips when m > DM, A's rows when n > 4·DN); the sums must not change. k a multiple of 16, so rows of an
# aligned base are aligned at every level; m ≤ 16 with k ≥ 256, m ≤ 32 with k ≥ 1024, or n ≤ 2 with k ≥ 128: on
# the dot path at every level; the last two shapes are split between threads (by columns, by rows).
@pytest.mark.parametrize("m,n,k", [(16, 50, 256), (7, 100, 320), (1, 40, 272), (33, 2, 128), (130, 2, 784),
                                   (31, 97, 1024), (32, 300, 1024), (2000, 2, 256)])
@pytest.mark.parametrize("threads", [1, 2])
def test_dot_path_same_bits_wherever_the_rows_start(simd, dtype, m, n, k, threads):
    rng = np.random.default_rng(5)
    x, w = rand(rng, (m, k), dtype), rand(rng, (n, k), dtype)
    bias, c0 = rand(rng, (n,), dtype), rand(rng, (m, n), dtype)
    previous = pydtrain.get_num_threads()
    outs = []
    try:
        pydtrain.set_num_threads(threads)
        for off_x, off_w in ((0, 0), (16, 16), (0, 16), (16, 0), (8 if dtype == np.float64 else 4, 48)):
            c = c0.copy()
            _C.gemm(placed(x, off_x), placed(w, off_w), c, False, True, -1.5, 1.0, bias)
            outs.append(c)
    finally:
        pydtrain.set_num_threads(previous)
    for c in outs[1:]:
        np.testing.assert_array_equal(outs[0].view(np.uint8), c.view(np.uint8))
    check(outs[0], x, w, False, True, -1.5, 1.0, c0, bias)


# The register tile's width NR = NV·VN (csrc/kernels/gemm_blocking.h) per SIMD level, float32 then float64.
GEMM_NR = {"scalar": (4, 4), "avx2": (16, 8), "avx512": (32, 16), "neon": (12, 6)}


# x·Wᵀ with β = 0 for a batch that is a multiple of NR, up to 128 rows, runs transposed, Cᵀ = W·xᵀ, then transposed
# into place (gemm_use_swap; from 3·NR rows only when n ≥ 256; past 128 rows, up to 8·NR (AVX-512 float32 only),
# when k ≥ 1024 and n ≥ 512). Each element must still be the unswapped micro-kernel's fused k sequence, i.e. the
# bits of (W·xᵀ)ᵀ (a product that is not swapped: its batch is n > 256 rows, or not a multiple of NR (201, 333), or
# 128 rows with an output narrower than 256, or 256 rows with k < 1024 or an output narrower than 512), with
# the bias added last; at 1 and 2 threads (every product of 2^19 multiply-adds or more is split between them), over
# one or several KC blocks. Batches: one and two tile widths ("NR", "2NR"), and 48–256 rows, past the dot-product
# tiles' batches (≤ 32), where the multiples of NR are swapped (past 128 rows: AVX-512 in float32, NR = 32, and
# only at 520 and 1024 outputs) and the others (48 rows with NR = 32; 64 and 128 with NEON's NR = 12; 160–256
# rows wherever 8·NR ≤ 128) must give the same bits unswapped.
SWAPPED = [(batch, n, k) for batch in ("NR", "2NR") for n, k in ((128, 256), (201, 300), (333, 600), (1024, 1030))] + [
    (batch, n, k) for batch in (48, 64, 96, 128) for n, k in ((256, 300), (333, 600), (1024, 1030))] + [
    (batch, n, k) for batch in (160, 192, 256) for n, k in ((256, 1030), (520, 1030), (1024, 1024))]


@pytest.mark.parametrize("batch,n,k", SWAPPED)
@pytest.mark.parametrize("threads", [1, 2])
def test_batch_of_tile_widths_runs_transposed_with_the_same_bits(simd, dtype, batch, n, k, threads):
    nr = GEMM_NR[simd][dtype == np.float64]
    m = {"NR": nr, "2NR": 2 * nr}.get(batch, batch)
    rng = np.random.default_rng(21)
    x, w, bias = rand(rng, (m, k), dtype), rand(rng, (n, k), dtype), rand(rng, (n,), dtype)
    previous = pydtrain.get_num_threads()
    try:
        pydtrain.set_num_threads(threads)
        got = _C.gemm(x, w, None, False, True, -0.75, 0.0, None)
        unswapped = _C.gemm(w, x, None, False, True, -0.75, 0.0, None)
        with_bias = _C.gemm(x, w, np.full((m, n), np.nan, dtype), False, True, -0.75, 0.0, bias)
    finally:
        pydtrain.set_num_threads(previous)
    np.testing.assert_array_equal(got, unswapped.T)
    np.testing.assert_array_equal(with_bias, got + bias)
    check(with_bias, x, w, False, True, -0.75, 0.0, None, bias)
