"""Tests of pydtrain.data: DataLoader, the shipped digits, toy data sets and splitting."""

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _random
from pydtrain.data import DataLoader, datasets


def indexed(n: int, width: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Features whose first column is the example's index; labels = index too."""
    X = np.repeat(np.arange(n, dtype=np.float32)[:, None], width, axis=1)
    return X, np.arange(n, dtype=np.int64)


# ---------------------------------------------------------------- DataLoader


def test_batches_cover_every_example_once():
    X, y = indexed(100)
    loader = DataLoader(X, y, batch_size=32)
    batches = list(loader)
    assert len(loader) == len(batches) == 4
    assert [len(xb) for xb, _ in batches] == [32, 32, 32, 4]
    seen = np.concatenate([xb[:, 0] for xb, _ in batches]).astype(np.int64)
    assert sorted(seen) == list(range(100))
    for xb, yb in batches:  # rows and labels stay paired
        np.testing.assert_array_equal(xb[:, 0], yb)
        assert xb.flags.c_contiguous and yb.flags.c_contiguous


def test_shuffle_draws_a_new_order_each_epoch():
    X, y = indexed(50)
    loader = DataLoader(X, y, batch_size=50)
    (_, first), (_, second) = next(iter(loader)), next(iter(loader))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(50))


def test_no_shuffle_keeps_order():
    X, y = indexed(10)
    loader = DataLoader(X, y, batch_size=4, shuffle=False)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in loader]), np.arange(10))


def test_drop_last():
    X, y = indexed(100)
    loader = DataLoader(X, y, batch_size=32, drop_last=True)
    assert len(loader) == 3
    assert [len(xb) for xb, _ in loader] == [32, 32, 32]
    assert len(DataLoader(X, y, batch_size=25, drop_last=True)) == 4


def test_same_seed_same_order():
    X, y = indexed(40)
    loader = DataLoader(X, y, batch_size=8)

    def one_epoch(seed):
        pdt.seed(seed)
        return np.concatenate([yb for _, yb in loader])

    np.testing.assert_array_equal(one_epoch(3), one_epoch(3))
    assert not np.array_equal(one_epoch(3), one_epoch(4))


def test_batches_are_contiguous_for_strided_input():
    X = np.arange(200, dtype=np.float32).reshape(20, 10)[:, ::2]
    for shuffle in (True, False):
        for xb, _ in DataLoader(X, np.zeros(20, np.int64), batch_size=6, shuffle=shuffle):
            assert xb.flags.c_contiguous


def test_transform_applies_to_features_only_and_keeps_data_intact():
    X, y = indexed(10)
    original = X.copy()

    def negate_in_place(xb):
        xb *= -1
        return xb

    for shuffle in (True, False):
        loader = DataLoader(X, y, batch_size=4, shuffle=shuffle, transform=negate_in_place)
        for xb, yb in loader:
            np.testing.assert_array_equal(xb[:, 0], -yb)
        np.testing.assert_array_equal(X, original)


def test_without_labels_yields_feature_batches():
    X, _ = indexed(10)
    batches = list(DataLoader(X, None, batch_size=4, shuffle=False))
    assert all(isinstance(xb, np.ndarray) for xb in batches)
    np.testing.assert_array_equal(np.concatenate(batches), X)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError),
                                               (True, TypeError), ("8", TypeError), (None, TypeError)])
def test_bad_batch_size(batch_size, error):
    # a wrong value is a ValueError, a wrong type a TypeError
    X, y = indexed(10)
    with pytest.raises(error, match="batch_size must be a positive integer"):
        DataLoader(X, y, batch_size=batch_size)


def test_bad_batch_size_message_shows_the_value():
    X, y = indexed(10)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        DataLoader(X, y, batch_size=0)


def test_length_mismatch():
    X, y = indexed(10)
    with pytest.raises(ValueError, match="same number of examples.*10 and 9"):
        DataLoader(X, y[:9], batch_size=4)


def test_empty_data():
    with pytest.raises(ValueError, match="at least one example"):
        DataLoader(np.zeros((0, 3)), np.zeros(0), batch_size=4)


def test_drop_last_with_too_large_batch():
    X, y = indexed(10)
    with pytest.raises(ValueError, match="no batch at all"):
        DataLoader(X, y, batch_size=11, drop_last=True)
    assert len(DataLoader(X, y, batch_size=11)) == 1


def test_bad_flags_and_transform():
    X, y = indexed(10)
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        DataLoader(X, y, batch_size=4, shuffle="yes")
    with pytest.raises(TypeError, match="transform must be a function"):
        DataLoader(X, y, batch_size=4, transform=3)


# ---------------------------------------------------------------- digits


def test_load_digits():
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    np.testing.assert_array_equal(X, np.round(X))
    counts = np.bincount(y)
    assert len(counts) == 10 and counts.sum() == 1797
    assert counts.min() >= 170 and counts.max() <= 190


def test_load_digits_returns_fresh_arrays():
    X, _ = datasets.load_digits()
    X[:] = -1
    assert datasets.load_digits()[0].min() == 0


def test_data_package_exports():
    assert pdt.data.DataLoader is DataLoader
    assert pdt.data.datasets is datasets


# ---------------------------------------------------------------- toy data sets


def test_make_moons():
    X, y = datasets.make_moons(n_samples=101, noise=0.1, seed=1)
    assert X.shape == (101, 2) and X.dtype == np.float32
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [50, 51]
    clean, labels = datasets.make_moons(n_samples=100, noise=0.0, seed=1)
    outer = clean[labels == 0]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, atol=1e-6)


def test_seed_argument_is_reproducible_and_leaves_global_stream_alone():
    a = datasets.make_moons(seed=7)
    b = datasets.make_moons(seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], datasets.make_moons(seed=8)[0])

    pdt.seed(0)
    expected = _random.permutation(10)
    pdt.seed(0)
    datasets.make_spirals(seed=5)
    np.testing.assert_array_equal(_random.permutation(10), expected)


def test_without_seed_follows_the_global_seed():
    pdt.seed(11)
    a = datasets.make_spirals(n_samples=60)
    pdt.seed(11)
    b = datasets.make_spirals(n_samples=60)
    np.testing.assert_array_equal(a[0], b[0])


def test_make_spirals():
    X, y = datasets.make_spirals(n_samples=100, n_classes=3, noise=0.0, seed=0)
    assert X.shape == (100, 2) and np.bincount(y).tolist() == [34, 33, 33]
    assert np.hypot(X[:, 0], X[:, 1]).max() <= 1.0 + 1e-6


def test_make_polynomial_regression():
    coef = [1.0, -2.0, 0.5]
    X, y, c = datasets.make_polynomial_regression(
        50, degree=2, noise=0.0, coef=coef, seed=0, return_coef=True
    )
    assert X.shape == (50, 1) and y.shape == (50, 1) and y.dtype == np.float32
    x = X[:, 0].astype(np.float64)
    np.testing.assert_allclose(y[:, 0], 1.0 - 2.0 * x + 0.5 * x**2, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(c, coef)
    assert X.min() >= -1 and X.max() <= 1
    assert len(datasets.make_polynomial_regression(10, seed=0)) == 2


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: datasets.make_moons(n_samples=0), "n_samples"),
        (lambda: datasets.make_moons(noise=-1), "noise"),
        (lambda: datasets.make_spirals(n_classes=1), "n_classes"),
        (lambda: datasets.make_polynomial_regression(degree=2, coef=[1, 2]), "coef"),
        (lambda: datasets.make_polynomial_regression(x_range=(1, -1)), "x_range"),
    ],
)
def test_bad_data_set_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- splitting


def test_split_sizes_disjoint_and_complete():
    X, y = indexed(200)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = datasets.train_val_test_split(
        X, y, val=0.1, test=0.25, seed=0
    )
    assert (len(ytr), len(yva), len(yte)) == (130, 20, 50)
    together = np.concatenate([ytr, yva, yte])
    assert sorted(together) == list(range(200))
    for Xp, yp in ((Xtr, ytr), (Xva, yva), (Xte, yte)):
        np.testing.assert_array_equal(Xp[:, 0], yp)
        assert Xp.flags.c_contiguous


def test_split_is_reproducible():
    X, y = indexed(50)
    a = datasets.train_val_test_split(X, y, seed=3)
    b = datasets.train_val_test_split(X, y, seed=3)
    for (_, ya), (_, yb) in zip(a, b):
        np.testing.assert_array_equal(ya, yb)


def test_stratified_split_keeps_class_proportions():
    X, y = datasets.load_digits()
    parts = datasets.train_val_test_split(X, y, val=0.15, test=0.15, seed=0, stratify=True)
    total = np.bincount(y)
    for _, yp in parts:
        expected = total * len(yp) / len(y)
        assert np.abs(np.bincount(yp, minlength=10) - expected).max() <= 2


def test_stratified_split_of_unbalanced_classes():
    y = np.array([0] * 90 + [1] * 10)
    X = np.arange(100.0)[:, None]
    _, (_, yva), (_, yte) = datasets.train_val_test_split(X, y, 0.2, 0.2, seed=1, stratify=True)
    assert np.bincount(yva).tolist() == [18, 2] and np.bincount(yte).tolist() == [18, 2]


def test_bad_split_arguments():
    X, y = indexed(10)
    with pytest.raises(ValueError, match="no training example"):
        datasets.train_val_test_split(X, y, val=0.5, test=0.5)
    with pytest.raises(ValueError, match="fraction"):
        datasets.train_val_test_split(X, y, val=1.5)
    with pytest.raises(ValueError, match="same number of examples"):
        datasets.train_val_test_split(X, y[:5])
    with pytest.raises(ValueError, match="integer class labels"):
        datasets.train_val_test_split(X, y.astype(float), stratify=True)
