"""Optimizers, schedulers, averagers, loaders and histories print their hyper-parameters, as modules do."""
import numpy as np

from pydtrain import nn, optim
from pydtrain.data import DataLoader
from pydtrain.train import History


def _model():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def test_optimizer_repr_names_every_hyper_parameter_and_the_size():
    m = _model()
    text = repr(optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True))
    assert text.startswith("SGD(lr=0.1, momentum=0.9, nesterov=True")
    assert "convention='classic'" in text and "4 parameters, 58 values" in text
    groups = repr(optim.Adam([{"params": [m[0].weight], "lr": 1e-2}, {"params": [m[0].bias, m[2].weight, m[2].bias]}]))
    assert "group 0: lr=0.01" in groups and "1 parameter, 32 values" in groups and "group 1: lr=0.001" in groups


def test_scheduler_repr_names_its_arguments_step_and_rate():
    opt = optim.SGD(_model().parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        sched.step()
    assert repr(sched) == "StepLR(step_size=2, gamma=0.5; step 3, lr 0.05)"
    assert "scale_fn" not in repr(optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1))


def test_averager_repr():
    m = _model()
    ema = optim.EMA(m.parameters(), beta=0.9)
    ema.update()
    assert repr(ema) == "EMA(beta=0.9, bias_correction=True; 4 parameters, 58 values, 1 updates)"
    assert repr(optim.SWA(m)) == "SWA(4 parameters, 58 values, 0 updates)"


def test_loader_and_history_repr():
    loader = DataLoader(np.zeros((10, 4), np.float32), np.zeros(10, np.int64), 4)
    assert "batch_size=4" in repr(loader) and "10 examples" in repr(loader)
    assert repr(History()).startswith("History(0 epochs")
