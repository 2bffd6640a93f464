"""pydtrain.plot: each function returns a Figure with the expected axes, lines, titles and legends (Agg backend)."""

import math
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

import pydtrain as pdt  # noqa: E402
from pydtrain import nn, optim, plot, train  # noqa: E402
from pydtrain.data import datasets  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    pdt.seed(0)
    X, y = datasets.make_moons(n_samples=96, noise=0.1, seed=0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    gm, am = train.GradientMonitor(), train.ActivationMonitor(X[:32].astype(np.float32))
    h = train.fit(model, nn.CrossEntropyLoss(), opt, (X, y), val=(X, y), epochs=3, batch_size=16,
                  callbacks=[gm, am], progress=False)
    return model, opt, h, gm, am


def labelled(ax):
    return ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_history(trained):
    fig = plot.history(trained[2])
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # loss, accuracy
    for ax in fig.axes:
        assert labelled(ax) and len(ax.get_lines()) == 2 and ax.get_legend() is not None
        assert len(ax.get_lines()[0].get_xdata()) == 3
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_grad_flow(trained):
    gm = trained[3]
    fig = plot.grad_flow(gm)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 3 and ax.get_yscale() == "log" and labelled(ax)
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), gm.layer_norms()["2"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["layer 0", "layer 2", "layer 4"]
    assert len(plot.grad_flow(gm, kind="update").axes[0].get_lines()) == 3


def test_grad_flow_draws_the_layers_asked_for_in_the_network_order(trained):
    gm = trained[3]
    (ax,) = plot.grad_flow(gm, layers=["4", "0"]).axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["layer 0", "layer 4"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), gm.layer_norms()["4"])
    (ax,) = plot.grad_flow(gm, kind="weight", layers="2").axes
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), gm.layer_norms("weight")["2"])
    for bad in (["0", "9"], [], ["0.weight"]):
        with pytest.raises(ValueError, match=r"^grad_flow: layers must name layers of the monitor \(0, 2, 4\)"):
            plot.grad_flow(gm, layers=bad)


def test_activations(trained):
    am = trained[4]
    fig = plot.activations(am)
    assert len(fig.axes) == 5
    for ax in fig.axes:
        assert labelled(ax) and len(ax.patches) == 4  # initial + 3 epochs, one step histogram each
    assert "saturated" in fig.axes[1].get_title() and "saturated" not in fig.axes[3].get_title()


def test_lr_schedule_and_weights(trained):
    model, opt = trained[0], trained[1]
    sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    fig = plot.lr_schedule(sched, 40)
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), [0.1 * 0.5 ** (k // 10) for k in range(40)])
    fig = plot.weights_histogram(model)
    assert len(fig.axes) == 6 and all(labelled(ax) for ax in fig.axes)
    assert fig.axes[2].get_title() == "2.weight (8, 8)"


def test_loss_surface_2d():
    fn = lambda x, y: x ** 2 + 10 * y ** 2  # noqa: E731
    paths = {"SGD": [[1.5, 1.0], [1.2, 0.5], [1.0, 0.1]], "Adam": np.array([[-1.0, 1.0], [-0.5, 0.5]])}
    fig = plot.loss_surface_2d(fn, trajectories=paths)
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the plot and its colour bar
    assert len(ax.get_lines()) == 4 and labelled(ax)  # a path and its start marker per optimizer
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD", "Adam"]
    # a function of scalars only, on a log scale
    fig = plot.loss_surface_2d(lambda x, y: math.exp(x) + y * y + 0.1, xlim=(-1, 1), ylim=(-1, 1), resolution=20,
                               log=True)
    assert len(fig.axes[0].get_lines()) == 0
    with pytest.raises(ValueError, match="^loss_surface_2d: trajectory 'a' must have shape"):
        plot.loss_surface_2d(fn, trajectories={"a": [1, 2, 3]})


def test_errors_and_missing_matplotlib(monkeypatch, trained):
    with pytest.raises(TypeError, match="^grad_flow: expected a GradientMonitor"):
        plot.grad_flow(trained[2])
    with pytest.raises(TypeError, match="^history: expected a History"):
        plot.history([1, 2])
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'pydtrain\[plot\]'"):
        plot.history(trained[2])
