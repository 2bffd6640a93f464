"""fit_ensemble: members with their own seeds, bagging, averaged probabilities or outputs."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import nn, optim
from pydtrain.data import DataLoader, datasets
from pydtrain.train import History, fit, fit_ensemble


def moons(n=96):
    return datasets.make_moons(n_samples=n, noise=0.2, seed=1)


def make_model():
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(rate=0.1), nn.Linear(16, 2))


def make_optimizer(model):
    return optim.SGD(model.parameters(), lr=0.2, momentum=0.9)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


KW = {"epochs": 3, "batch_size": 16, "progress": False}


def test_members_with_identical_seeds_equal_one_member():
    X, y = moons()
    ens, histories = fit_ensemble(make_model, make_optimizer, nn.CrossEntropyLoss(), (X, y), k=3, seeds=[7, 7, 7],
                                  **KW)
    pdt.seed(7)
    single = make_model()
    h = fit(single, nn.CrossEntropyLoss(), make_optimizer(single), (X, y), **KW)
    assert isinstance(ens, nn.Ensemble) and len(ens.members) == 3 and ens.probabilities
    assert all(isinstance(hk, History) and hk.history == h.history for hk in histories)
    ens.eval()
    single.eval()
    np.testing.assert_allclose(ens(X), softmax(single(X).astype(np.float64)), rtol=1e-6, atol=1e-7)


def test_default_seeds_differ_per_member_and_follow_the_global_seed():
    X, y = moons()
    runs = []
    for _ in range(2):
        pdt.seed(3)
        ens, _ = fit_ensemble(make_model, make_optimizer, nn.CrossEntropyLoss(), (X, y), k=3, **KW)
        runs.append([m[0].weight.data.copy() for m in ens.members])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[0][0], runs[0][1]) and not np.array_equal(runs[0][1], runs[0][2])


def test_ensemble_predicts_the_mean_of_the_members_probabilities():
    X, y = moons()
    pdt.seed(0)
    ens, _ = fit_ensemble(make_model, make_optimizer, nn.CrossEntropyLoss(), (X, y), k=4, **KW)
    ens.eval()
    want = np.mean([softmax(m(X).astype(np.float64)) for m in ens.members], axis=0)
    np.testing.assert_allclose(ens(X), want, rtol=1e-6, atol=1e-7)


def test_regression_averages_outputs_and_bagging_resamples():
    X = np.linspace(-1, 1, 64).reshape(-1, 1).astype(np.float32)
    y = (X ** 2).astype(np.float32)

    def make_reg():
        return nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))

    kw = dict(KW, metrics=())
    bagged, _ = fit_ensemble(make_reg, make_optimizer, nn.MSELoss(), DataLoader(X, y, 16), k=2, bootstrap=True,
                             seeds=[5, 5], **kw)
    plain, _ = fit_ensemble(make_reg, make_optimizer, nn.MSELoss(), DataLoader(X, y, 16), k=1, seeds=[5], **kw)
    assert not bagged.probabilities
    bagged.eval()
    plain.eval()
    a, b = (m(X) for m in bagged.members)
    np.testing.assert_array_equal(a, b)  # the same seed draws the same resample
    np.testing.assert_allclose(bagged(X), (a + b) / 2, rtol=1e-6)
    assert not np.allclose(a, plain(X))  # a resample is not the data set


@pytest.mark.parametrize("kwargs, error, match", [
    ({"k": 0}, ValueError, "k must be a positive integer"),
    ({"make_model": 3}, TypeError, "make_model must be a function"),
    ({"bootstrap": "yes"}, TypeError, "bootstrap must be True or False"),
    ({"seeds": [1, 2]}, ValueError, "seeds must be a list of k = 3 integers"),
    ({"make_model": lambda: "net"}, TypeError, "make_model must return a Module"),
])
def test_bad_arguments(kwargs, error, match):
    X, y = moons(16)
    args = {"make_model": make_model, "make_optimizer": make_optimizer, "loss_fn": nn.CrossEntropyLoss(),
            "train": (X, y), "k": 3, **KW, **kwargs}
    with pytest.raises(error, match="^fit_ensemble: " + match):
        fit_ensemble(**args)
