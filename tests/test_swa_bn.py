"""SWA followed by nn.recompute_bn_stats: the averaged network gets the population statistics of its own activations."""
import numpy as np

import pydtrain as pdt
from pydtrain import nn, optim


def test_swa_then_recompute_bn_stats_inside_applied():
    pdt.seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 6, dtype=np.float64), nn.BatchNorm(6, dtype=np.float64), nn.ReLU(),
                          nn.Linear(6, 3, dtype=np.float64))
    bn = model[1]
    X = rng.standard_normal((64, 4))
    y = rng.integers(0, 3, 64)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    swa = optim.SWA(model)
    snapshots = []
    for step in range(12):
        xb, yb = X[(step % 4) * 16:(step % 4 + 1) * 16], y[(step % 4) * 16:(step % 4 + 1) * 16]
        loss_fn(model(xb), yb)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
        if step % 3 == 2:
            swa.update()
            snapshots.append([p.data.copy() for p in model.parameters()])
    averaged = [np.mean([s[i] for s in snapshots], axis=0) for i in range(len(snapshots[0]))]
    live = [p.data.copy() for p in model.parameters()]
    live_stats = (bn.running_mean.copy(), bn.running_var.copy())
    batches = [X[i * 16:(i + 1) * 16] for i in range(4)]
    with swa.applied(model):
        for p, a in zip(model.parameters(), averaged):
            np.testing.assert_allclose(p.data, a, rtol=1e-12, atol=1e-14)
        nn.recompute_bn_stats(model, batches)
        W1, b1 = averaged[0], averaged[1]
        h = [xb @ W1.T + b1 for xb in batches]
        want_mean = np.mean([hb.mean(0) for hb in h], axis=0)
        want_var = np.mean([hb.var(0) * 16 / 15 for hb in h], axis=0)
        np.testing.assert_allclose(bn.running_mean, want_mean, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(bn.running_var, want_var, rtol=1e-10, atol=1e-12)
    for p, w in zip(model.parameters(), live):
        np.testing.assert_array_equal(p.data, w)
    np.testing.assert_array_equal(bn.running_mean, live_stats[0])
    np.testing.assert_array_equal(bn.running_var, live_stats[1])
