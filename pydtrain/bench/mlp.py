"""Foundation rows: a Linear layer's forward+backward and a whole training step of a small MLP."""
from __future__ import annotations

import numpy as np

from . import common
from .common import Table, median_time, set_threads, torch

__all__ = ["run"]


def _linear_row(table: Table, n: int, d_in: int, d_out: int, threads: int) -> None:
    from pydtrain import nn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d_in)).astype(np.float32)
    dy = rng.standard_normal((n, d_out)).astype(np.float32)
    layer = nn.Linear(d_in, d_out)
    W, b = layer.weight.data.copy(), layer.bias.data.copy()

    def ours():
        layer(x)
        layer.backward(dy)

    def numpy_version():
        x @ W.T + b
        dy.T @ x
        dy.sum(0)
        dy @ W

    t_torch = None
    if torch is not None:
        tl = torch.nn.Linear(d_in, d_out)
        tx = torch.from_numpy(x).requires_grad_(True)
        tdy = torch.from_numpy(dy)

        def torch_version():
            tl.zero_grad(set_to_none=False)
            tx.grad = None
            tl(tx).backward(tdy)

        t_torch = median_time(torch_version)
    table.row(f"Linear fwd+bwd ({n}x{d_in})·({d_in}x{d_out}) {threads}T", median_time(ours),
              median_time(numpy_version), t_torch)


def _mlp_step_row(table: Table, batch: int, threads: int) -> None:
    import pydtrain as pdt
    from pydtrain import nn, optim
    from pydtrain.data.datasets import load_digits

    X, y = load_digits()
    X = np.ascontiguousarray(X[:batch] / 16.0, dtype=np.float32)
    y = y[:batch]
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def ours():
        loss_fn(model(X), y)
        model.zero_grad()
        model.backward(loss_fn.backward(), input_grad=False)  # like torch: the input needs no gradient
        opt.step()

    t_torch = None
    if torch is not None:
        tm = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
        topt = torch.optim.SGD(tm.parameters(), lr=0.1)
        tx, ty = torch.from_numpy(X), torch.from_numpy(y)

        def torch_version():
            topt.zero_grad()
            torch.nn.functional.cross_entropy(tm(tx), ty).backward()
            topt.step()

        t_torch = median_time(torch_version)
    table.row(f"MLP 64-128-10 train step, batch {batch}, SGD {threads}T", median_time(ours), None, t_torch)


def run(args) -> None:
    table = Table("foundation: Linear layer and a small MLP (float32)")
    for threads in args.threads:
        set_threads(threads)
        _linear_row(table, 128, 784, 512, threads)
        _mlp_step_row(table, 32, threads)
    common.set_threads(max(args.threads))
