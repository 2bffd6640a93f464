"""Pieces students reach for: OneCycleLR, ReduceLROnPlateau, Softmax, LogSoftmax, NLLLoss, StandardScaler."""

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import diagnostics, nn, optim, train
from pydtrain.data import StandardScaler
from pydtrain.optim import lr_scheduler as S

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)


def pair(opt_name="SGD", **kw):
    ours = getattr(optim, opt_name)([nn.Parameter(np.zeros(3))], **kw)
    theirs = getattr(torch.optim, opt_name)([torch.nn.Parameter(torch.zeros(3))], **kw)
    return ours, theirs


@pytest.mark.parametrize("kwargs", [dict(max_lr=0.1, total_steps=20), dict(max_lr=0.5, total_steps=17, three_phase=True),
                                    dict(max_lr=0.1, epochs=3, steps_per_epoch=4, anneal_strategy="linear",
                                         pct_start=0.4)])
@pytest.mark.parametrize("opt_name,opt_kw,key", [("SGD", dict(lr=0.1, momentum=0.9), "momentum"),
                                                  ("Adam", dict(lr=0.1), "betas")])
def test_one_cycle_matches_torch(kwargs, opt_name, opt_kw, key):
    o, t = pair(opt_name, **opt_kw)
    s, ts = S.OneCycleLR(o, **kwargs), torch.optim.lr_scheduler.OneCycleLR(t, **kwargs)
    total = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
    for k in range(total):
        assert o.param_groups[0]["lr"] == pytest.approx(t.param_groups[0]["lr"], rel=1e-12, abs=1e-15), k
        assert o.param_groups[0][key] == pytest.approx(t.param_groups[0][key], rel=1e-12), k
        assert s.lr_at(k) == pytest.approx(t.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
        if k < total - 1:
            o.step(), t.step(), s.step(), ts.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped"):
        s.lr_at(total + 1)


@pytest.mark.parametrize("kwargs", [dict(), dict(mode="max", factor=0.5, patience=1, cooldown=1),
                                    dict(threshold_mode="abs", threshold=0.05, patience=0, min_lr=0.02)])
def test_reduce_on_plateau_matches_torch(kwargs):
    o, t = pair(lr=0.1)
    s, ts = S.ReduceLROnPlateau(o, **kwargs), torch.optim.lr_scheduler.ReduceLROnPlateau(t, **kwargs)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.5, 0.6, 0.6, 0.6, 0.7, 0.4] * 3
    for k, m in enumerate(metrics):
        s.step(m)
        ts.step(m)
        assert o.param_groups[0]["lr"] == t.param_groups[0]["lr"], k
    assert s.lr_at(len(metrics)) == o.param_groups[0]["lr"] and s.lr_at(0) == 0.1
    with pytest.raises(ValueError, match="ReduceLROnPlateau.lr_at"):
        s.lr_at(len(metrics) + 1)


def test_fit_steps_plateau_on_the_validation_loss():
    pdt.seed(0)
    X = RNG.standard_normal((64, 3)).astype(np.float32)
    y = RNG.integers(0, 2, 64)
    model = nn.Sequential(nn.Linear(3, 2))
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = S.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=10.0)  # nothing counts as better
    h = train.fit(model, nn.CrossEntropyLoss(), opt, (X, y), val=(X, y), epochs=4, scheduler=sched, progress=False)
    assert h["lr"] == [0.1, 0.05, 0.025, 0.0125]  # every epoch is "no better": halved after each
    with pytest.raises(ValueError, match="^fit: ReduceLROnPlateau monitors 'val_loss'"):
        train.fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=1, scheduler=sched, progress=False)


@pytest.mark.parametrize("cls,tcls", [(nn.Softmax, torch.nn.Softmax), (nn.LogSoftmax, torch.nn.LogSoftmax)])
@pytest.mark.parametrize("dim", [-1, 0])
def test_softmax_layers(cls, tcls, dim):
    x = RNG.standard_normal((5, 7)) * 3
    layer = cls(dim=dim)
    np.testing.assert_allclose(layer(x), tcls(dim=dim)(torch.from_numpy(x)).numpy(), rtol=1e-12, atol=1e-14)
    assert diagnostics.gradcheck(cls(dim=dim), x)


def test_nll_loss_after_log_softmax_is_cross_entropy():
    z = RNG.standard_normal((6, 4))
    y = RNG.integers(0, 4, 6)
    logsm, nll, ce = nn.LogSoftmax(), nn.NLLLoss(), nn.CrossEntropyLoss()
    loss = nll(logsm(z), y)
    tz = torch.from_numpy(z).requires_grad_()
    tl = torch.nn.functional.nll_loss(torch.log_softmax(tz, 1), torch.from_numpy(y))
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12) and loss == pytest.approx(ce(z, y), rel=1e-6)
    np.testing.assert_allclose(logsm.backward(nll.backward()), tz.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert nn.NLLLoss(reduction="sum")(logsm(z), y) == pytest.approx(6 * loss)
    with pytest.raises(TypeError, match=r"^NLLLoss: labels must be integers"):
        nll(z, y.astype(float))
    with pytest.raises(ValueError, match=r"^NLLLoss: labels must be in \[0, 4\)"):
        nll(z, y + 4)


def test_standard_scaler():
    X = (RNG.standard_normal((50, 4)) * [1, 2, 3, 0] + [0, 1, -5, 7]).astype(np.float32)
    Xv = RNG.standard_normal((10, 4)).astype(np.float32)
    sc = StandardScaler().fit(X)
    x64 = X.astype(np.float64)
    std = x64.std(0)
    std[3] = 1.0
    np.testing.assert_allclose(sc.transform(Xv), (Xv - x64.mean(0)) / std, rtol=1e-5, atol=1e-6)
    out = sc.fit_transform(X)
    assert out.dtype == np.float32 and np.allclose(out.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(out.std(0), [1, 1, 1, 0], atol=1e-5)
    np.testing.assert_allclose(sc.inverse_transform(out), X, rtol=1e-5, atol=1e-5)
    assert StandardScaler().fit_transform(np.arange(6).reshape(3, 2)).dtype == np.float32
    with pytest.raises(ValueError, match=r"^StandardScaler.transform: call fit"):
        StandardScaler().transform(X)
    with pytest.raises(ValueError, match=r"^StandardScaler.transform: rows of shape \(3,\)"):
        sc.transform(X[:, :3])
