"""Optimizer steps, clipping and weight averaging over the flat arena, against the memory bandwidth and torch.optim.

Each kernel is memory-bound: its floor is (bytes moved per parameter) / (STREAM triad bandwidth). For Adam the
rows also give the tighter floor (bytes read per parameter) / (read rate over the same working set): on one core
the reads are the limit and the writes, to lines just read, come on top for free.
Byte counts per float32 parameter: Adam/AdamW 28 (read θ, g, m, v; write θ, m, v), SGD-momentum 20,
RMSprop 20, EMA/SWA update 12 (read avg, θ; write avg), clip_grad_norm_ 4 (one read pass; the
scaling pass, when the norm exceeds max_norm, adds 8).
"""
from __future__ import annotations

import numpy as np

from .. import _C
from . import common

__all__ = ["run"]

SPLIT = (0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.05, 0.03, 0.02, 0.01)  # the 10 tensors of the "model"


def _params(total: int, tensors: int = 10):
    from pydtrain import nn

    rng = np.random.default_rng(0)
    sizes = [int(total * f) for f in SPLIT[:tensors]] if tensors == 10 else [total]
    sizes[0] += total - sum(sizes)
    params = []
    for s in sizes:
        p = nn.Parameter(rng.standard_normal(s).astype(np.float32))
        p.grad[...] = rng.standard_normal(s).astype(np.float32)
        params.append(p)
    return params


def _torch_params(params):
    torch = common.torch
    out = []
    for p in params:
        t = torch.tensor(p.data, requires_grad=True)
        t.grad = torch.tensor(p.grad)
        out.append(t)
    return out


class _Triad:
    """The STREAM triad on 64 MiB float32 arrays, re-measured beside every row: on a shared
    machine the bandwidth drifts, so each row is held against the triad of its own moment."""

    def __init__(self, n: int = 1 << 24) -> None:
        self._triad, self._bytes = common.triad_fn(n)

    def __call__(self) -> float:
        return self._bytes / common.median_time(self._triad, repeats=3)


class _ReadRate:
    """Bytes/s one pass of reads achieves over a working set of `nbytes` (a sum of squares over it).

    An optimizer step over n parameters reads 16 B/param (θ, g, m, v for Adam) from wherever that
    working set lives (L3 at 1M float32 parameters: 16 MiB); its writes go to lines it has just read,
    which costs no extra reads. So that read rate, not the DRAM triad, bounds a step from below.
    """

    def __init__(self, nbytes: int) -> None:
        self.x = np.ones(nbytes // 4, np.float32)

    def __call__(self) -> float:
        t = common.median_time(lambda: _C.clip_sumsq(self.x), repeats=3)
        return self.x.nbytes / t


def _side_by_side(fns, rounds: int) -> list[float]:
    """Median seconds of each function, measured in alternation over `rounds` rounds."""
    samples = [[] for _ in fns]
    for _ in range(rounds):
        for s, fn in zip(samples, fns):
            s.append(fn())
    return [float(np.median(s)) for s in samples]


def _timed(fn):
    return lambda: common.median_time(fn, repeats=3)


def _bw_note(seconds: float, n: int, bytes_per: int, triad: float, extra: str = "") -> str:
    floor = bytes_per * n / triad
    return (f"{seconds / n * 1e9:.3f} ns/param, {bytes_per * n / seconds / 1e9:.1f} GB/s, "
            f"{seconds / floor:.2f}x the bound {bytes_per} B/param / triad {triad / 1e9:.1f} GB/s{extra}")


def run(args) -> None:
    from pydtrain import optim

    sizes = (1 << 20, 16 << 20) if not args.quick else (1 << 20,)
    compare = (50_000, 1_000_000)
    rounds = 1 if args.quick else 3
    triad = _Triad()
    for threads in args.threads:
        common.set_threads(threads)
        t = common.Table(f"optim, float32, {threads} thread(s); bound = bytes/param over the triad measured beside it")

        def bw_row(case, fn, n, nbytes, numpy_fn=None):
            fns = [_timed(fn), triad] + ([_timed(numpy_fn)] if numpy_fn else [])
            res = _side_by_side(fns, rounds)
            t.row(case, res[0], res[2] if numpy_fn else None, note=_bw_note(res[0], n, nbytes, res[1]))

        for n in sizes:
            label = f"{n >> 20}M"
            reads = _ReadRate(16 * n)
            for name, factory in (("Adam", lambda p: optim.Adam(p, lr=1e-3)),
                                  ("AdamW", lambda p: optim.AdamW(p, lr=1e-3))):
                opt = factory(_params(n, tensors=1))
                res = _side_by_side([_timed(opt.step), triad, reads], rounds)
                floor = 16 * n / res[2]
                t.row(f"{name} step {label} params", res[0],
                      note=_bw_note(res[0], n, 28, res[1]) + f"; reads 16 B/param: {res[0] / floor:.2f}x the floor "
                      f"{floor / n * 1e9:.3f} ns/param at {res[2] / 1e9:.1f} GB/s, one pass of reads over the same "
                      f"{16 * n >> 20} MiB")
            params = _params(n, tensors=1)
            for name, factory, nbytes in (
                    ("SGD momentum 0.9", lambda p: optim.SGD(p, lr=0.1, momentum=0.9), 20),
                    ("SGD Nesterov, pytorch", lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                                                   convention="pytorch"), 20),
                    ("RMSprop", lambda p: optim.RMSprop(p, lr=0.01), 20)):
                opt = factory(params)
                bw_row(f"{name} step {label}", opt.step, n, nbytes)
            ema = optim.EMA(params, beta=0.99)
            bw_row(f"EMA update {label}", ema.update, n, 12)
            big = float(np.sqrt(n) * 10)  # above the norm: the read pass alone
            g = params[0].grad
            bw_row(f"clip_grad_norm_ {label} (norm only; numpy: sqrt(g·g))",
                   lambda: optim.clip_grad_norm_(params, big), n, 4, lambda: float(np.sqrt(np.dot(g, g))))
            bw_row(f"clip_grad_norm_ {label} (norm + scaling)",
                   lambda: optim.clip_grad_norm_(params, 1e-30), n, 12)
            for p in params:
                p.grad[...] = 1.0

        if common.torch is None:
            continue
        torch = common.torch
        for n in compare:
            for name in ("Adam", "AdamW"):
                params = _params(n)
                opt = getattr(optim, name)(params, lr=1e-3)
                tdef = getattr(torch.optim, name)(_torch_params(params), lr=1e-3)
                tfused = getattr(torch.optim, name)(_torch_params(params), lr=1e-3, fused=True)
                ours, t_def, t_fused = _side_by_side([_timed(opt.step), _timed(tdef.step), _timed(tfused.step)],
                                                     rounds)
                t.row(f"{name} {n:,} params, 10 tensors vs torch default", ours, torch_t=t_def,
                      note=f"{ours / n * 1e9:.3f} ns/param")
                t.row(f"{name} {n:,} params, 10 tensors vs torch fused=True", ours, torch_t=t_fused)
            params = _params(n)
            opt = optim.SGD(params, lr=0.1, momentum=0.9, convention="pytorch")
            tp = _torch_params(params)
            topt = torch.optim.SGD(tp, lr=0.1, momentum=0.9)
            ours, theirs = _side_by_side([_timed(opt.step), _timed(topt.step)], rounds)
            t.row(f"SGD momentum {n:,} params, 10 tensors vs torch", ours, torch_t=theirs)
            ours, theirs = _side_by_side([_timed(lambda: optim.clip_grad_norm_(params, 1e9)),
                                          _timed(lambda: torch.nn.utils.clip_grad_norm_(tp, 1e9))], rounds)
            t.row(f"clip_grad_norm_ {n:,} params, 10 tensors vs torch", ours, torch_t=theirs)
