"""Schedules against torch.optim.lr_scheduler's value sequences (>= 40 steps, across boundaries),
lr_at(k) as a pure function equal to what step() sets, SWACyclicLR against the paper's formula."""
import math

import numpy as np
import pytest

from pydtrain import nn, optim
from pydtrain.optim import lr_scheduler as S

STEPS = 45
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of")


def ours_and_torch(opt_name, opt_kwargs, groups=1):
    torch = pytest.importorskip("torch")
    ps = [nn.Parameter(np.zeros(2)) for _ in range(groups)]
    tps = [torch.zeros(2, requires_grad=True) for _ in range(groups)]
    lrs = [opt_kwargs["lr"] * (i + 1) for i in range(groups)]
    ours = getattr(optim, opt_name)([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], **opt_kwargs)
    theirs = getattr(torch.optim, opt_name)([{"params": [p], "lr": lr} for p, lr in zip(tps, lrs)],
                                           **{k: v for k, v in opt_kwargs.items() if k != "lr"}, lr=opt_kwargs["lr"])
    return torch, ours, theirs


def sequences(ours_sched, theirs_sched, opt, topt, key="lr"):
    got, want = [], []
    for _ in range(STEPS):
        got.append([g[key] for g in opt.param_groups])
        want.append([g[key] for g in topt.param_groups])
        ours_sched.step()
        theirs_sched.step()
    return np.array(got, dtype=float), np.array(want, dtype=float)


CASES = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 30], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("PolynomialLR", dict(total_iters=25, power=2.0)),
    ("PolynomialLR", dict(total_iters=10, power=1.0)),
    ("LinearLR", dict(start_factor=0.1, end_factor=1.0, total_iters=8)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.2, total_iters=30)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("CosineAnnealingWarmRestarts", dict(T_0=6)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=5, cycle_momentum=False)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=7, mode="triangular2",
                      cycle_momentum=False)),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=6, mode="exp_range", gamma=0.97,
                      cycle_momentum=False)),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_sequence(name, kwargs):
    torch, opt, topt = ours_and_torch("SGD", dict(lr=0.1, momentum=0.9), groups=2)
    ours = getattr(S, name)(opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    got, want = sequences(ours, theirs, opt, topt)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    lr_at = np.array([[ours.lr_at(k, g) for g in range(2)] for k in range(STEPS)])
    np.testing.assert_allclose(lr_at, got, rtol=0, atol=0)
    assert ours.get_last_lr() == [g["lr"] for g in opt.param_groups]


@pytest.mark.parametrize("opt_name,opt_kwargs,key", [
    ("SGD", dict(lr=0.1, momentum=0.9), "momentum"),
    ("Adam", dict(lr=0.1), "betas"),
])
def test_cyclic_lr_cycles_momentum_like_torch(opt_name, opt_kwargs, key):
    torch, opt, topt = ours_and_torch(opt_name, opt_kwargs)
    kw = dict(base_lr=0.01, max_lr=0.1, step_size_up=5, base_momentum=0.7, max_momentum=0.95)
    ours, theirs = S.CyclicLR(opt, **kw), torch.optim.lr_scheduler.CyclicLR(topt, **kw)
    for _ in range(STEPS):
        a, b = opt.param_groups[0][key], topt.param_groups[0][key]
        np.testing.assert_allclose(np.ravel(a), np.ravel(b), rtol=1e-12)
        np.testing.assert_allclose(opt.param_groups[0]["lr"], topt.param_groups[0]["lr"], rtol=1e-12)
        ours.step()
        theirs.step()


def test_sequential_lr_matches_torch():
    torch, opt, topt = ours_and_torch("SGD", dict(lr=0.1))
    ours = S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=5),
                                S.ExponentialLR(opt, gamma=0.9),
                                S.CosineAnnealingWarmRestarts(opt, T_0=7)], milestones=[5, 20])
    L = torch.optim.lr_scheduler
    theirs = L.SequentialLR(topt, [L.LinearLR(topt, start_factor=0.1, total_iters=5), L.ExponentialLR(topt, gamma=0.9),
                                   L.CosineAnnealingWarmRestarts(topt, T_0=7)], milestones=[5, 20])
    got, want = sequences(ours, theirs, opt, topt)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([ours.lr_at(k) for k in range(STEPS)], got[:, 0], rtol=0, atol=0)


def test_swa_cyclic_lr_follows_the_paper():
    opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=1.0)
    a1, a2, c = 0.05, 0.001, 4
    sched = S.SWACyclicLR(opt, lr_max=a1, lr_min=a2, cycle=c)
    for k in range(STEPS):
        i = k + 1                                   # the i-th update uses the rate after k steps
        t = ((i - 1) % c + 1) / c
        want = (1 - t) * a1 + t * a2
        assert math.isclose(opt.param_groups[0]["lr"], want, rel_tol=1e-15)
        assert sched.lr_at(k) == opt.param_groups[0]["lr"]
        sched.step()
    assert sched.lr_at(c - 1) == a2 and sched.lr_at(2 * c - 1) == a2


def test_lr_at_is_pure_and_state_dict_round_trips():
    opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=0.1)
    sched = S.StepLR(opt, step_size=3)
    assert sched.lr_at(0) == 0.1 and math.isclose(sched.lr_at(7), 0.1 * 0.01)
    assert opt.param_groups[0]["lr"] == 0.1 and sched.last_epoch == 0
    for _ in range(4):
        sched.step()
    state = sched.state_dict()
    opt2 = optim.SGD([nn.Parameter(np.zeros(2))], lr=0.1)
    sched2 = S.StepLR(opt2, step_size=3)
    sched2.load_state_dict(state)
    sched.step()
    sched2.step()
    assert sched.get_last_lr() == sched2.get_last_lr() == [opt2.param_groups[0]["lr"]]


@pytest.mark.parametrize("make,match", [
    (lambda o: S.StepLR(o, step_size=0), "step_size must be a positive integer, got 0"),
    (lambda o: S.ExponentialLR(o, gamma=-1.0), "gamma must be > 0.0, got -1.0"),
    (lambda o: S.LinearLR(o, start_factor=0.0), "start_factor"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0), "T_0"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), "T_max"),
    (lambda o: S.CosineAnnealingLR(o, T_max=3, eta_min=-1), "eta_min"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), "T_mult"),
    (lambda o: S.CyclicLR(o, 0.01, 0.1, mode="sine"), "mode must be"),
    (lambda o: S.SWACyclicLR(o, lr_max=0.01, lr_min=0.1, cycle=3), "lr_min <= lr_max"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[3]), "milestones"),
    (lambda o: S.StepLR(o, 2).lr_at(-1), "k must be an integer >= 0"),
])
def test_invalid_arguments_raise(make, match):
    opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=match):
        make(opt)


def test_cyclic_momentum_needs_a_momentum_optimizer():
    opt = optim.RMSprop([nn.Parameter(np.zeros(2))])
    opt.param_groups[0].pop("momentum")
    with pytest.raises(ValueError, match="cycle_momentum"):
        S.CyclicLR(opt, 0.01, 0.1)
