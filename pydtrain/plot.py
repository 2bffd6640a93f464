"""Pictures of training: loss curves, gradient flow, activations, schedules, weights, loss surfaces.

Each function draws on a new ``matplotlib.figure.Figure`` (no pyplot state, so nothing
piles up in a loop) and returns it: a notebook shows it, ``fig.savefig("x.png")``
writes it. Every axes has a title, axis labels and, where there are several lines, a
legend. matplotlib is optional: ``pip install 'pydtrain[plot]'``.

Example:
    >>> mon = pydtrain.train.GradientMonitor()
    >>> h = pydtrain.train.fit(model, loss_fn, opt, train, val=val, callbacks=[mon])
    >>> pydtrain.plot.history(h)
    >>> pydtrain.plot.grad_flow(mon)          # the lecture's vanishing-gradient picture
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

__all__ = ["activations", "grad_flow", "history", "loss_surface_2d", "lr_schedule", "weights_histogram"]


def _figure(who: str, n: int = 1, ncols: int = 3, size: float = 4.0) -> tuple[Any, list[Any]]:
    """A new Figure with n axes on a grid of at most ``ncols`` columns; the unused grid cells removed."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"pydtrain.plot.{who} needs matplotlib: pip install 'pydtrain[plot]'") from e
    cols = min(n, ncols)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(size * 1.3 * cols, size * rows), layout="constrained")
    axes = list(np.ravel(fig.subplots(rows, cols, squeeze=False)))
    for ax in axes[n:]:
        fig.delaxes(ax)
    return fig, axes[:n]


def history(h: Any) -> Any:
    """Loss and each metric per epoch, training against validation, one axes each.

    Args:
        h: A ``train.History`` (or its ``.history`` dict).

    Returns:
        The Figure: one axes for the loss, one per metric (``accuracy``…).
    """
    logs = getattr(h, "history", h)
    if not isinstance(logs, Mapping) or "loss" not in logs:
        raise TypeError(f"history: expected a History from fit (with a 'loss' entry), got {type(h).__name__}")
    names = ["loss"] + [k for k in logs if k not in ("loss", "lr") and not k.startswith("val_")]
    fig, axes = _figure("history", len(names))
    for ax, name in zip(axes, names):
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], marker=".", label=f"training {name}")
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], marker=".", label=f"validation {name}")
        ax.set(title=f"{name} per epoch", xlabel="epoch", ylabel=name)
        ax.legend()
    return fig


def grad_flow(monitor: Any, kind: str = "grad", layers: Optional[Sequence[str]] = None) -> Any:
    """One line per layer over the recorded steps, log scale: how gradients flow back through the network.

    Args:
        monitor: A ``GradientMonitor`` after ``fit``.
        kind: ``"grad"`` (‖g‖₂ per layer), ``"weight"`` (‖θ‖₂) or ``"update"``
            (update-to-weight ratio).
        layers: The layers to draw, by name (keys of ``monitor.layer_norms()``, e.g. ``["0", "3.conv1"]``),
            for a deep network whose every layer would crowd the axes; None draws them all.

    Returns:
        The Figure, one axes; the lines in the network's order, input to output.
    """
    if not callable(getattr(monitor, "layer_norms", None)):
        raise TypeError(f"grad_flow: expected a GradientMonitor, got {type(monitor).__name__}")
    label = {"grad": "gradient L2 norm", "weight": "weight L2 norm", "update": "update / weight ratio"}
    norms = monitor.layer_norms(kind)
    if layers is None:
        chosen = norms
    else:
        wanted = [layers] if isinstance(layers, str) else list(layers)
        unknown = [name for name in wanted if name not in norms]
        if unknown or not wanted:
            raise ValueError(f"grad_flow: layers must name layers of the monitor ({', '.join(norms)}), got {layers!r}")
        chosen = {name: values for name, values in norms.items() if name in wanted}
    fig, (ax,) = _figure("grad_flow", 1, size=4.5)
    for name, values in chosen.items():
        ax.plot(monitor.steps, values, label=f"layer {name}")
    ax.set_yscale("log")
    ax.set(title=f"{label[kind]} per layer", xlabel="step", ylabel=label[kind])
    ax.legend(title="input → output")
    return fig


def activations(monitor: Any, bins: int = 50) -> Any:
    """Histograms of each layer's activations on the probe batch, one per recorded epoch.

    Args:
        monitor: An ``ActivationMonitor`` after ``fit``.
        bins: Histogram bins.

    Returns:
        The Figure: one axes per layer, one histogram line per record (before training,
        after epoch 1, …); titles give the fraction of zeros and of saturated units.
    """
    if not hasattr(monitor, "values") or not hasattr(monitor, "zero_fractions"):
        raise TypeError(f"activations: expected an ActivationMonitor, got {type(monitor).__name__}")
    fig, axes = _figure("activations", len(monitor.names))
    zeros, saturations = monitor.zero_fractions, monitor.saturations
    for j, (ax, name) in enumerate(zip(axes, monitor.names)):
        for r, epoch in enumerate(monitor.epochs):
            ax.hist(monitor.values[r][j], bins=bins, histtype="step", density=True,
                    label="initial" if epoch == 0 else f"epoch {epoch}")
        extra = f", {saturations[-1, j]:.0%} saturated" if not np.isnan(saturations[-1, j]) else ""
        ax.set(title=f"{name}: {zeros[-1, j]:.0%} zeros{extra}", xlabel="activation", ylabel="density")
        ax.legend(fontsize="small")
    return fig


def lr_schedule(scheduler: Any, steps: int) -> Any:
    """The learning rate ``scheduler.lr_at(k)`` for k = 0 … steps − 1, one line per parameter group.

    Args:
        scheduler: A scheduler of ``pydtrain.optim.lr_scheduler`` (it is not stepped).
        steps: How many ``step()`` calls to draw.

    Returns:
        The Figure, one axes.
    """
    if not callable(getattr(scheduler, "lr_at", None)):
        raise TypeError(f"lr_schedule: expected a scheduler with lr_at(k), got {type(scheduler).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"lr_schedule: steps must be a positive integer, got {steps!r}")
    fig, (ax,) = _figure("lr_schedule", 1)
    for g in range(len(scheduler.optimizer.param_groups)):
        ax.plot(range(steps), [scheduler.lr_at(k, g) for k in range(steps)], label=f"group {g}")
    ax.set(title=f"{type(scheduler).__name__} learning rate", xlabel="scheduler step", ylabel="learning rate")
    ax.legend()
    return fig


def weights_histogram(model: Any, bins: int = 50) -> Any:
    """A histogram of every parameter's values, one axes per parameter (titled by its state_dict key).

    Args:
        model: A ``pydtrain.nn.Module``.
        bins: Histogram bins.

    Returns:
        The Figure.
    """
    if not callable(getattr(model, "named_parameters", None)):
        raise TypeError(f"weights_histogram: expected a Module, got {type(model).__name__}")
    named = list(model.named_parameters())
    if not named:
        raise ValueError("weights_histogram: the model has no parameters")
    fig, axes = _figure("weights_histogram", len(named), ncols=4, size=3.0)
    for ax, (name, p) in zip(axes, named):
        data = p.data.ravel()
        ax.hist(data, bins=bins, label=f"std {data.std():.3g}")
        ax.set(title=f"{name} {p.shape}", xlabel="value", ylabel="count")
        ax.legend(fontsize="small")
    return fig


Trajectories = Union[Mapping[str, Any], Sequence[Any], None]


def loss_surface_2d(fn: Callable[[np.ndarray, np.ndarray], Any], trajectories: Trajectories = None,
                    xlim: Optional[tuple[float, float]] = None, ylim: Optional[tuple[float, float]] = None,
                    resolution: int = 200, levels: int = 30, log: bool = False) -> Any:
    """Contours of a function of two variables, with one path per optimizer on top.

    Args:
        fn: ``fn(x, y) -> loss``, called on grids (arrays); a function of scalars only is
            evaluated point by point.
        trajectories: ``{"SGD": points, "Adam": points}`` or a list of paths, each an
            array-like of shape (steps, 2) (e.g. the (x, y) after each optimizer step).
        xlim, ylim: The window; by default the trajectories' extent plus a margin, or (−2, 2).
        resolution: Grid points per axis.
        levels: Number of contour levels.
        log: Space the levels logarithmically (for losses over several decades; fn > 0).

    Returns:
        The Figure, one axes: filled contours with a colour bar, each path with its start
        marked, a legend naming the paths.
    """
    if not callable(fn):
        raise TypeError(f"loss_surface_2d: fn must be a function fn(x, y), got {type(fn).__name__}")
    if trajectories is None:
        paths: dict[str, np.ndarray] = {}
    elif isinstance(trajectories, Mapping):
        paths = {str(k): np.asarray(v, np.float64) for k, v in trajectories.items()}
    else:
        paths = {f"path {i}": np.asarray(v, np.float64) for i, v in enumerate(trajectories)}
    for name, path in paths.items():
        if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
            raise ValueError(f"loss_surface_2d: trajectory {name!r} must have shape (steps, 2), got {path.shape}")
    points = np.concatenate(list(paths.values())) if paths else np.array([[-2.0, -2.0], [2.0, 2.0]])
    lo, hi = points.min(axis=0), points.max(axis=0)
    margin = 0.15 * np.maximum(hi - lo, 1e-3)
    xlim = xlim or (lo[0] - margin[0], hi[0] + margin[0])
    ylim = ylim or (lo[1] - margin[1], hi[1] + margin[1])
    gx, gy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    try:
        z = np.broadcast_to(np.asarray(fn(gx, gy), np.float64), gx.shape)
    except (TypeError, ValueError):
        z = np.vectorize(lambda a, b: float(fn(a, b)))(gx, gy)
    fig, (ax,) = _figure("loss_surface_2d", 1, size=5.0)
    if log:
        finite = z[np.isfinite(z) & (z > 0)]
        lv = np.geomspace(finite.min(), finite.max(), levels)
        from matplotlib.colors import LogNorm
        cs = ax.contourf(gx, gy, z, levels=lv, norm=LogNorm(), cmap="viridis")
    else:
        cs = ax.contourf(gx, gy, z, levels=levels, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="loss")
    for name, path in paths.items():
        line, = ax.plot(path[:, 0], path[:, 1], marker=".", markersize=3, label=name)
        ax.plot(path[0, 0], path[0, 1], "o", color=line.get_color(), markersize=7)
    ax.set(title="loss surface" + (" and optimizer paths (o: start)" if paths else ""), xlabel="x", ylabel="y",
           xlim=xlim, ylim=ylim)
    if paths:
        ax.legend()
    return fig
