"""Models, optimizers, schedulers and Histories pickle and deepcopy at any time; a pickled model + optimizer
pair goes on training bit for bit as the original."""

import copy
import pickle

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _random, nn, optim, train
from pydtrain.data import datasets

X, Y = datasets.make_moons(n_samples=96, noise=0.2, seed=2)


def build():
    model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm(16), nn.ReLU(), nn.Dropout(rate=0.2), nn.Linear(16, 2))
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, opt, optim.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2)


def fit(model, opt, sched, epochs=2):
    return train.fit(model, nn.CrossEntropyLoss(), opt, (X, Y), epochs=epochs, batch_size=16, scheduler=sched,
                     progress=False)


@pytest.mark.parametrize("copier", [lambda o: pickle.loads(pickle.dumps(o)), copy.deepcopy], ids=["pickle", "deepcopy"])
def test_pair_resumes_bit_identically(copier):
    pdt.seed(0)
    model, opt, sched = build()
    fit(model, opt, sched)
    model2, opt2, sched2 = copier((model, opt, sched))
    rng = _random.get_state()
    fit(model, opt, sched)
    _random.set_state(rng)
    h2 = fit(model2, opt2, sched2)
    for (k, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        assert a.tobytes() == b.tobytes(), k
    assert sched2.last_epoch == sched.last_epoch and opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert all(np.array_equal(s1[i]["momentum_buffer"], s2[i]["momentum_buffer"]) for i in s1)
    # the copy's parameters live in its own optimizer's buffer, not the original's
    assert np.shares_memory(opt2._arenas[0][0], model2[0].weight.data)
    assert not np.shares_memory(opt._arenas[0][0], model2[0].weight.data)
    assert copier(h2).history == h2.history


def test_each_object_alone_pickles():
    pdt.seed(0)
    model, opt, sched = build()
    fit(model, opt, sched, epochs=1)
    m = pickle.loads(pickle.dumps(model))
    assert all(np.array_equal(a, b) for a, b in zip(m.state_dict().values(), model.state_dict().values()))
    assert not any(p.in_arena() for p in m.parameters())
    optim.Adam(m.parameters())  # a model copied alone takes a new optimizer
    o = pickle.loads(pickle.dumps(opt))
    o.step()
    s = pickle.loads(pickle.dumps(sched))
    assert [s.lr_at(k) for k in range(6)] == [sched.lr_at(k) for k in range(6)]
    h = pickle.loads(pickle.dumps(train.History()))
    assert h.epochs == 0
