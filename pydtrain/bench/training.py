"""End-to-end training steps (forward, loss, backward, optimizer step) against the same network in PyTorch eager
and, when jax and optax are installed, in JAX compiled with ``jax.jit`` (jax_peer.py, one child process per
thread count, pinned to that many CPUs, waiting between the runs it is asked to time).

All start from the same weights and see the same batches, and a row's runs of each
library are taken in turn (medians of 7), so that they meet the same load; each row's note
gives the largest relative difference between our loss curve and each peer's over the
first steps (dropout draws differ between the libraries, so that network is
compared with its dropout layers in eval mode for the curve only). The MLP rows
step Adam; the ResNet rows (``models.resnet()`` on (64, 1, 28, 28) ``make_shapes``
batches, its torch twin built by ``interop.to_torch``) step SGD with momentum and split
one step by layer type: pydtrain's layers
timed around their forward and backward, PyTorch's operators by ``torch.profiler``
(whose own cost inflates its small operators).

The overhead rows time ``train.fit`` against a bare loop over the same loader and
kernels (digits, 64-128-10 MLP, batch 32, both computing the accuracy): fit adds
the gradient-norm check and its bookkeeping; a GradientMonitor adds its reductions.
"""
from __future__ import annotations

import sys
import time
from typing import Optional

import numpy as np

from .common import Table, calls_for, paired_efficiency, set_threads, torch

__all__ = ["run"]

CURVE_STEPS = 20


def _build(widths, activation, layernorm, dropout_keep, dtype=np.float32):
    from pydtrain import nn

    layers = []
    for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(d_in, d_out, dtype=dtype))
        if i < len(widths) - 2:
            if layernorm:
                layers.append(nn.LayerNorm(d_out))
            layers.append(nn.GELU() if activation == "gelu" else nn.ReLU())
            if dropout_keep is not None:
                layers.append(nn.Dropout(keep_prob=dropout_keep))
    return nn.Sequential(*layers)


def _torch_twin(model):
    """The same architecture in torch.nn, with our weights copied in (state-dict keys match)."""
    from pydtrain import nn

    layers = []
    for m in model:
        if isinstance(m, nn.Linear):
            layers.append(torch.nn.Linear(m.in_features, m.out_features))
        elif isinstance(m, nn.LayerNorm):
            layers.append(torch.nn.LayerNorm(m.normalized_shape))
        elif isinstance(m, nn.GELU):
            layers.append(torch.nn.GELU())
        elif isinstance(m, nn.ReLU):
            layers.append(torch.nn.ReLU())
        elif isinstance(m, nn.Dropout):
            layers.append(torch.nn.Dropout(p=1.0 - m.keep_prob))
    twin = torch.nn.Sequential(*layers)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return twin


def _problem(widths, batch, activation, layernorm, dropout_keep):
    """A row's network and its 8 batches, the same at every call (seeded)."""
    import pydtrain as pdt

    pdt.seed(0)
    rng = np.random.default_rng(0)
    model = _build(widths, activation, layernorm, dropout_keep)
    n_batches = 8
    X = rng.standard_normal((n_batches, batch, widths[0])).astype(np.float32)
    Y = rng.integers(0, widths[-1], (n_batches, batch))
    return model, X, Y


def _row(table: Table, label: str, widths, batch, activation, layernorm, dropout_keep, threads, peak=None, jax=None):
    """One MLP row; ``jax`` is (JaxPeer, the row's index there) or None."""
    from pydtrain import nn, optim

    model, X, Y = _problem(widths, batch, activation, layernorm, dropout_keep)
    n_batches = len(X)
    loss_fn = nn.CrossEntropyLoss()
    twin = _torch_twin(model) if torch is not None else None
    opt = optim.Adam(model.parameters(), lr=1e-3)
    state = {"i": 0}

    def ours():
        i = state["i"] = (state["i"] + 1) % n_batches
        loss = loss_fn(model(X[i]), Y[i])
        opt.zero_grad()
        model.backward(loss_fn.backward(), input_grad=False)  # like torch: the input needs no gradient
        opt.step()
        return loss

    notes = []
    theirs = None
    model.eval() if dropout_keep is not None else model.train()  # loss curves with dropout off
    ours_curve = [ours() for _ in range(CURVE_STEPS)]
    model.train()
    if twin is not None:
        topt = torch.optim.Adam(twin.parameters(), lr=1e-3)
        TX, TY = torch.from_numpy(X), torch.from_numpy(Y)
        tstate = {"i": 0}

        def theirs():
            i = tstate["i"] = (tstate["i"] + 1) % n_batches
            topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(twin(TX[i]), TY[i])
            loss.backward()
            topt.step()
            return loss

        twin.eval() if dropout_keep is not None else twin.train()
        theirs_curve = [theirs().item() for _ in range(CURVE_STEPS)]
        twin.train()
        notes.append(f"torch curve {_curve_gap(ours_curve, theirs_curve):.1e} rel")
    if jax is not None:
        notes.append(f"jax curve {_curve_gap(ours_curve, jax[0].curves[jax[1]]):.1e} rel")
    t_ours, t_jax, t_torch = _in_turn(ours, jax, theirs, repeats=7, min_time=0.05)
    note = "; ".join(notes + ["medians of 7 runs taken in turn"])
    if peak:
        flops = 6.0 * batch * sum(p.size for p in model.parameters())
        note += (f"; 6·batch·params/t = {flops / t_ours / 1e9:.0f} GFLOP/s = {100 * flops / t_ours / peak:.0f}% of"
                 f" best peak, {100 * paired_efficiency(ours, flops, np.float32, threads, 25):.0f}% paired")
        if t_torch is not None:
            note += (f" (torch {100 * flops / t_torch / peak:.0f}%,"
                     f" {100 * paired_efficiency(theirs, flops, np.float32, threads, 25):.0f}% paired)")
    table.row(f"{label} {threads}T", t_ours, t_jax, t_torch, note)


def _in_turn(ours, jax, theirs, repeats: int, min_time: float) -> list[Optional[float]]:
    """Median seconds per step of pydtrain's step, JAX's (``jax`` = (JaxPeer, row)) and torch's (None when
    absent), their runs (each as many steps as take ``min_time``) taken in turn, so all three meet the same load
    on a shared machine. The JAX child waits on its pipe while the others run; each run starts after a pause in
    which the previous library's spinning threads go to sleep (on two cores they would take the next one's time)."""
    def runs_of(fn):
        calls = calls_for(fn, min_time)

        def run():
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            return (time.perf_counter() - t0) / calls
        return run

    samplers = [runs_of(ours), None if jax is None else jax[0].sampler(jax[1], min_time),
                None if theirs is None else runs_of(theirs)]
    samples: list[list[float]] = [[] for _ in samplers]
    for _ in range(repeats):
        for sample, times in zip(samplers, samples):
            if sample is not None:
                time.sleep(0.05)
                times.append(sample())
    return [float(np.median(t)) if t else None for t in samples]


def _curve_gap(ours, theirs) -> float:
    """Largest relative difference between two loss curves."""
    return max(abs(a - b) / abs(b) for a, b in zip(ours, theirs))


def _overhead(table: Table, threads: int, rounds: int = 15, epochs: int = 20) -> None:
    """fit per step over a bare loop, and fit with GradientMonitor over fit: runs of ``epochs`` epochs (the command
    line's default, so fit's once-per-call checks spread as in a real run) alternate; the fastest run of each is
    compared. The overhead is the CPU time of the process (every thread), what fit itself executes; the wall-clock
    time, in the note, adds the waits for a core that other load on a shared machine imposes, and differs from run
    to run."""
    import pydtrain as pdt
    from pydtrain import nn, optim, train
    from pydtrain.data import DataLoader, datasets

    X, y = datasets.load_digits()
    X = ((X - X.mean(0)) / (X.std(0) + 1e-8)).astype(np.float32)
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = DataLoader(X, y, batch_size=32)

    def bare():
        for xb, yb in (batch for _ in range(epochs) for batch in loader):
            opt.zero_grad()
            out = model(xb)
            float(loss_fn(out, yb))
            train.accuracy(out, yb)
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()

    monitor = train.GradientMonitor()
    runs = {"bare loop": bare,
            "fit": lambda: train.fit(model, loss_fn, opt, loader, epochs=epochs, progress=False),
            "fit + GradientMonitor": lambda: train.fit(model, loss_fn, opt, loader, epochs=epochs, progress=False,
                                                       callbacks=[monitor])}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    wall: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            cpu[name].append((time.process_time() - c0) / (epochs * len(loader)))
            wall[name].append((time.perf_counter() - t0) / (epochs * len(loader)))
    step = {name: min(t) for name, t in cpu.items()}
    clock = {name: min(t) for name, t in wall.items()}

    def over(a: str, b: str) -> str:
        return f"{100 * (step[a] / step[b] - 1):+.1f}% CPU time (wall clock {100 * (clock[a] / clock[b] - 1):+.1f}%)"

    label = "digits 64-128-10 b32 step, CPU time:"
    table.row(f"{label} bare loop {threads}T", step["bare loop"])
    table.row(f"{label} fit {threads}T", step["fit"], note=f"fit overhead {over('fit', 'bare loop')} (limit 10%)")
    table.row(f"{label} fit+GradientMonitor {threads}T", step["fit + GradientMonitor"],
              note=f"monitor {over('fit + GradientMonitor', 'fit')} over fit (limit 15%)")


RESNET_BATCH = 64
RESNET_LR, RESNET_MOMENTUM = 0.05, 0.9
# torch.profiler events of each layer type: the forward operator and the backward node, each with what it calls
_NODE = "autograd::engine::evaluate_function: "
TORCH_OPS = {"conv forward": "aten::convolution", "conv backward": _NODE + "ConvolutionBackward0",
             "BatchNorm forward": "aten::batch_norm", "BatchNorm backward": _NODE + "NativeBatchNormBackward0",
             "ReLU forward": "aten::relu", "ReLU backward": _NODE + "ReluBackward0",
             "global avg pool forward": "aten::adaptive_avg_pool2d", "global avg pool backward": _NODE + "MeanBackward1"}
REST = "rest: head, loss, SGD, residual adds, Python"


def _resnet_problem(n_batches: int = 8):
    """pydtrain's models.resnet() and its (n_batches, RESNET_BATCH, 1, 28, 28) shapes batches, the same at every call."""
    import pydtrain as pdt
    from pydtrain import models
    from pydtrain.data import datasets

    pdt.seed(0)
    X, Y = datasets.make_shapes(n_batches * RESNET_BATCH, seed=0)
    model = models.resnet(num_classes=int(Y.max()) + 1)
    return model, X.reshape(n_batches, RESNET_BATCH, *X.shape[1:]), Y.reshape(n_batches, RESNET_BATCH)


def _resnet_steps(n_batches: int = 8):
    """pydtrain's models.resnet() and its torch twin, and one training step of each on the next shapes batch."""
    from pydtrain import interop, nn, optim

    model, X, Y = _resnet_problem(n_batches)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=RESNET_LR, momentum=RESNET_MOMENTUM)
    batches = list(zip(X, Y))
    state = {"ours": 0, "theirs": 0}

    def ours():
        xb, yb = batches[state["ours"]]
        state["ours"] = (state["ours"] + 1) % n_batches
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()
        return loss

    if torch is None:
        return model, ours, None
    twin = interop.to_torch(model)
    topt = torch.optim.SGD(twin.parameters(), lr=RESNET_LR, momentum=RESNET_MOMENTUM)
    tbatches = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in batches]

    def theirs():
        xb, yb = tbatches[state["theirs"]]
        state["theirs"] = (state["theirs"] + 1) % n_batches
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(twin(xb), yb)
        loss.backward()
        topt.step()
        return loss.item()

    return model, ours, theirs


def _resnet_row(table: Table, threads: int, jax=None) -> None:
    """The ResNet row; ``jax`` is (JaxPeer, the row's index there) or None."""
    model, ours, theirs = _resnet_steps()
    label = f"ResNet 2-2-2 x 16-32-64 SGD+momentum, batch {RESNET_BATCH} 28x28"
    curve = [float(ours()) for _ in range(CURVE_STEPS)]
    notes = []
    if theirs is not None:
        torch_curve = [theirs() for _ in range(CURVE_STEPS)]
        notes.append(f"torch curve {_curve_gap(curve, torch_curve):.1e} rel")
    if jax is not None:
        notes.append(f"jax curve {_curve_gap(curve, jax[0].curves[jax[1]]):.1e} rel")
    t_ours, t_jax, t_torch = _in_turn(ours, jax, theirs, repeats=7, min_time=0.0)
    table.row(f"{label} {threads}T", t_ours, t_jax, t_torch,
              f"{'; '.join(notes)} over {CURVE_STEPS} steps ({curve[0]:.3f} -> {curve[-1]:.3f}); medians of 7 steps "
              "taken in turn")


def _layer_times(model, step, steps: int) -> dict[str, float]:
    """Seconds per step in each layer type's forward and backward, and the rest of the step."""
    from pydtrain import nn

    kinds = {nn.Conv2d: "conv", nn.BatchNorm: "BatchNorm", nn.ReLU: "ReLU", nn.AdaptiveAvgPool2d: "global avg pool"}
    spent: dict[str, float] = {}

    def timed(fn, key):
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - t0
            return out
        return run

    wrapped = []
    for m in model.modules():
        kind = next((name for cls, name in kinds.items() if isinstance(m, cls)), None)
        if kind is not None:
            for method in ("forward", "backward"):  # an instance attribute, found before the class's method
                vars(m)[method] = timed(getattr(m, method), f"{kind} {method}")
            wrapped.append(m)
    try:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        total = time.perf_counter() - t0
    finally:
        for m in wrapped:
            del vars(m)["forward"], vars(m)["backward"]
    times = {key: spent.get(key, 0.0) / steps for key in TORCH_OPS}
    times[REST] = total / steps - sum(times.values())
    return times


def _torch_layer_times(step, steps: int) -> dict[str, float]:
    """Seconds per step in the operators of each layer type (TORCH_OPS) by torch.profiler, and the rest."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        total = time.perf_counter() - t0
    ops = {e.key: e.cpu_time_total * 1e-6 / steps for e in prof.key_averages()}
    times = {kind: ops.get(op, 0.0) for kind, op in TORCH_OPS.items()}
    times[REST] = total / steps - sum(times.values())
    return times


def _resnet_profile(table: Table, threads: int, steps: int = 10) -> None:
    model, ours, theirs = _resnet_steps()
    for _ in range(3):
        ours()
    mine = _layer_times(model, ours, steps)
    if theirs is not None:
        for _ in range(3):
            theirs()
    other = _torch_layer_times(theirs, steps) if theirs is not None else {}
    total = sum(mine.values())
    for kind, t in mine.items():
        table.row(f"  {kind} {threads}T", t, None, other.get(kind), f"{100 * t / total:.0f}% of the step")


# label, widths, batch, activation, layer norm, dropout keep probability; the last one is left out by --quick
ROWS = [
    ("MLP 64-64-64-10 ReLU, batch 32", [64, 64, 64, 10], 32, "relu", False, None),
    ("MLP 784-512-512-10 ReLU, batch 128", [784, 512, 512, 10], 128, "relu", False, None),
    ("MLP 784-512-512-10 ReLU+dropout, batch 128", [784, 512, 512, 10], 128, "relu", False, 0.9),
    ("MLP 1024x4 GELU+LayerNorm, batch 256", [1024, 1024, 1024, 1024], 256, "gelu", True, None),
]


def _jax_problems(rows) -> list[dict]:
    """What the JAX twins of the MLP rows and of the ResNet row (last) start from (jax_peer.JaxPeer's rows)."""
    problems = [dict(zip(("model", "X", "Y"), _problem(*row[1:])), optimizer=("adam", 1e-3), first=1)
                for row in rows]  # _row's step takes batch 1 first
    model, X, Y = _resnet_problem()
    problems.append({"model": model, "X": X, "Y": Y, "optimizer": ("sgd", RESNET_LR, RESNET_MOMENTUM), "first": 0})
    return problems


def run(args) -> None:
    from . import jax_peer
    from .gemm import fma_peak

    with_jax = jax_peer.available()
    table = Table("training steps: forward + loss + backward + optimizer step (float32)",
                  peer="jax" if with_jax else "numpy")
    if not with_jax:
        print("(jax and optax are not installed: `pip install jax optax` adds the JAX jit column)")
    rows = ROWS[:-1] if args.quick else ROWS
    for threads in args.threads:
        peer = None
        if with_jax:
            try:
                peer = jax_peer.JaxPeer(_jax_problems(rows), threads, CURVE_STEPS)
            except RuntimeError as err:
                print(err, file=sys.stderr)
        set_threads(threads)
        try:
            _overhead(table, threads)
            for r, row in enumerate(rows):
                peak = fma_peak(np.float32, 1) if threads == 1 and row is ROWS[-1] else None
                _row(table, *row, threads, peak=peak, jax=None if peer is None else (peer, r))
            _resnet_row(table, threads, None if peer is None else (peer, len(rows)))
            _resnet_profile(table, threads)
        finally:
            if peer is not None:
                peer.close()
