"""The counter-based generator: known answers, seeding, statistics, independence from threads."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _C, _random, init

import reference as R


def test_philox_known_answer():
    # Random123's kat_vectors: philox4x32_10, counter 0, key 0
    assert _C.philox(0, 0) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)


def test_same_seed_same_numbers_and_fresh_draws_differ():
    pdt.seed(3)
    a = _random.normal(1000)
    b = _random.normal(1000)
    pdt.seed(3)
    np.testing.assert_array_equal(_random.normal(1000), a)
    assert not np.array_equal(a, b)


def test_float32_draws_are_the_rounded_float64_draws():
    pdt.seed(5)
    d = _random.uniform(999, dtype=np.float64)
    pdt.seed(5)
    f = _random.uniform(999, dtype=np.float32)
    np.testing.assert_array_equal(f, d.astype(np.float32))


def test_normal_and_uniform_moments():
    pdt.seed(0)
    z = _random.normal(400_000)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    np.testing.assert_allclose(z, R.standard_normal_at(0, 0, z.size), rtol=1e-12, atol=1e-15)  # the oracle's draws
    u = _random.uniform(400_000, 2.0, 5.0)
    assert u.min() >= 2.0 and u.max() < 5.0
    assert abs(u.mean() - 3.5) < 0.01 and abs(u.var() - 0.75) < 0.01


@pytest.mark.parametrize("n", [0, 1, 2, 10, 1000])
def test_permutation_is_a_permutation(n):
    p = _random.permutation(n)
    assert p.dtype == np.int64
    np.testing.assert_array_equal(np.sort(p), np.arange(n))


def test_permutation_is_roughly_uniform():
    pdt.seed(1)
    first = np.bincount([_random.permutation(5)[0] for _ in range(5000)], minlength=5)
    assert first.min() > 850 and first.max() < 1150


def test_fork_leaves_the_global_stream_untouched():
    pdt.seed(9)
    a = _random.uniform(5)
    pdt.seed(9)
    with _random.fork(123):
        inner = _random.uniform(5)
    np.testing.assert_array_equal(_random.uniform(5), a)
    with _random.fork(123):
        np.testing.assert_array_equal(_random.uniform(5), inner)


def test_init_is_reproducible_whatever_the_thread_count():
    out = []
    for threads in (1, 2):
        pdt.set_num_threads(threads)
        pdt.seed(42)
        w = np.empty((512, 300), np.float32)
        init.he_normal_(w)
        out.append(w)
    np.testing.assert_array_equal(out[0], out[1])


def test_seed_rejects_non_integers():
    with pytest.raises(TypeError, match="seed must be an integer"):
        pdt.seed(1.5)
