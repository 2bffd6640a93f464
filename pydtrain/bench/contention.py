"""Threads on a busy machine: the default thread count against one thread, with 0, 1 and 2 busy processes.

A student's laptop is rarely idle (a notebook kernel, a browser, a second job). Each row
times the same work at one thread and at the default thread count, alternating the two
so that both see the same load, with k = 0, 1, 2 pure-Python spin loops started by this
benchmark beside it. The ratio default/1-thread is printed for pydtrain and for PyTorch
on the same work: at most 1.25 under contention and at most 1.0 idle is the goal (a
second thread may help or be useless, never cost much).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Callable

import numpy as np

from .common import torch

__all__ = ["ratio", "run"]

SPIN = "while True: pass"


def _default_threads() -> int:
    """The thread count a user gets without asking: OMP_NUM_THREADS, else the CPUs this process may run on."""
    return int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or len(os.sched_getaffinity(0))


def _digits_fit(lib: str) -> Callable[[], object]:
    """The digits MLP 64-256-10, batch 32, SGD lr 0.1, 5 epochs: `fit` for pydtrain, the same loop for PyTorch."""
    import pydtrain as pdt
    from pydtrain import nn, optim, train
    from pydtrain.data import datasets

    X, y = datasets.load_digits()
    X = X / np.float32(16.0)
    if lib == "pydtrain":
        def run():
            pdt.seed(0)
            model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
            opt = optim.SGD(model.parameters(), lr=0.1)
            train.fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=5, batch_size=32, progress=False)
        return run
    TX, TY = torch.from_numpy(X), torch.from_numpy(y)

    def run_torch():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(5):
            perm = torch.randperm(len(TX))
            for i in range(0, len(TX), 32):
                idx = perm[i:i + 32]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(TX[idx]), TY[idx]).backward()
                opt.step()
    return run_torch


def _step(lib: str, widths, batch, gelu_layernorm: bool, dropout_keep) -> Callable[[], object]:
    """One Adam training step of the training bench's networks (forward, loss, backward, update)."""
    import pydtrain as pdt
    from pydtrain import nn, optim

    from .training import _build, _torch_twin

    pdt.seed(0)
    rng = np.random.default_rng(0)
    model = _build(widths, "gelu" if gelu_layernorm else "relu", gelu_layernorm, dropout_keep)
    X = rng.standard_normal((batch, widths[0])).astype(np.float32)
    Y = rng.integers(0, widths[-1], batch)
    if lib == "pydtrain":
        loss_fn = nn.CrossEntropyLoss()
        opt = optim.Adam(model.parameters(), lr=1e-4)

        def step():
            loss_fn(model(X), Y)
            opt.zero_grad()
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()
        return step
    twin = _torch_twin(model)
    topt = torch.optim.Adam(twin.parameters(), lr=1e-4)
    TX, TY = torch.from_numpy(X), torch.from_numpy(Y)

    def step_torch():
        topt.zero_grad()
        torch.nn.functional.cross_entropy(twin(TX), TY).backward()
        topt.step()
    return step_torch


def _gemm(lib: str) -> Callable[[], object]:
    """A 1024³ float32 product C = A·B."""
    from pydtrain import functional as F

    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    b = rng.standard_normal((1024, 1024)).astype(np.float32)
    if lib == "pydtrain":
        c = np.empty((1024, 1024), np.float32)
        return lambda: F.gemm(a, b, out=c)
    ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.empty(1024, 1024)
    return lambda: torch.mm(ta, tb, out=tc)


ROWS = (
    ("digits MLP fit 64-256-10, batch 32, SGD, 5 epochs", _digits_fit),
    ("784-512-512-10 ReLU+dropout Adam step, batch 128",
     lambda lib: _step(lib, [784, 512, 512, 10], 128, False, 0.9)),
    ("1024x4 GELU+LayerNorm Adam step, batch 256", lambda lib: _step(lib, [1024] * 4, 256, True, None)),
    ("GEMM 1024^3 float32", _gemm),
)


def _set(lib: str, n: int) -> None:
    import pydtrain

    if lib == "pydtrain":
        pydtrain.set_num_threads(n)
    else:
        torch.set_num_threads(n)


def _sample(fn: Callable[[], object], calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def ratio(fn: Callable[[], object], set_threads: Callable[[int], None], threads: int, repeats: int,
          min_time: float) -> tuple[float, float]:
    """Median seconds per call at 1 thread and at `threads`, sampled alternately (A, B, A, B, ...)."""
    set_threads(1)
    fn()
    calls = 1
    while _sample(fn, calls) * calls < min_time and calls < 1 << 16:
        calls *= 2
    one, many = [], []
    for _ in range(repeats):
        set_threads(1)
        one.append(_sample(fn, calls))
        set_threads(threads)
        many.append(_sample(fn, calls))
    return float(np.median(one)), float(np.median(many))


def run(args) -> None:
    threads = torch_threads = _default_threads()
    repeats, min_time = (5, 0.05) if args.quick else (11, 0.1)
    libs = ["pydtrain"] + (["torch"] if torch is not None else [])
    print(f"\n== contention: default threads ({threads}; torch {torch_threads or '-'}) / 1 thread, "
          f"k busy processes beside ==")
    print(f"{'case':<52} {'k':>2} {'pdt 1T':>10} {'pdt dflt':>10} {'pdt ratio':>9} {'torch 1T':>10} "
          f"{'th dflt':>10} {'th ratio':>9}")
    for label, make in ROWS:
        fns = {lib: make(lib) for lib in libs}
        for k in (0, 1, 2):
            spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(k)]
            try:
                time.sleep(0.2 if k else 0.0)
                cells = []
                for lib in libs:
                    n = threads if lib == "pydtrain" else torch_threads
                    t1, tn = ratio(fns[lib], lambda m, lib=lib: _set(lib, m), n, repeats, min_time)
                    cells += [f"{t1 * 1e3:8.2f}ms", f"{tn * 1e3:8.2f}ms", f"{tn / t1:9.2f}"]
                print(f"{label:<52} {k:>2} " + " ".join(f"{c:>10}" if i % 3 < 2 else c for i, c in enumerate(cells)),
                      flush=True)
            finally:
                for p in spinners:
                    p.kill()
                    p.wait()
    _set("pydtrain", threads)
    if torch is not None:
        _set("torch", torch_threads)
