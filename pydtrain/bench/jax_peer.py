"""The training bench's networks in JAX (``jax.jit`` + optax), timed in a child process.

XLA reads its thread settings once, when its CPU client starts, so each thread count
runs in its own process: ``python -m pydtrain.bench.jax_peer THREADS SPEC.npz`` pins
itself to the first THREADS CPUs (XLA sizes its thread pool from that mask), turns
Eigen's multithreading off at one thread, prints one JSON line per network with the
loss curve of the first steps (dropout off) from the weights and batches stored in
SPEC.npz, compiles the steps, then times runs of steps as the parent asks on its stdin
(``JaxPeer``), so the parent can take its own runs and JAX's in turn.

The parent (``training.py``) writes SPEC.npz from the pydtrain model it times, so both
libraries start from the same weights and see the same batches. The twin is built from
the model's layers: Sequential, Linear, Conv2d, BatchNorm (batch statistics, running
averages updated as pydtrain updates them), LayerNorm, ReLU, GELU, Dropout,
AdaptiveAvgPool2d(1), Flatten and BasicBlock; the loss is softmax cross-entropy.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

import numpy as np

__all__ = ["JaxPeer", "available"]


def available() -> bool:
    """Whether jax and optax import (the JAX columns are left empty otherwise)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("jax", "optax"))


def layer_spec(module, name: str = "") -> dict[str, Any]:
    """``module`` as a tree of {"kind", "name", …} nodes the child rebuilds in JAX (name: the state-dict prefix)."""
    from pydtrain import nn

    def child(part: str, m) -> dict[str, Any]:
        return layer_spec(m, f"{name}.{part}" if name else part)

    if isinstance(module, nn.Sequential):
        return {"kind": "sequential", "children": [child(str(i), m) for i, m in enumerate(module)]}
    if isinstance(module, nn.BasicBlock):
        parts = ("conv1", "bn1", "relu1", "conv2", "bn2")
        return {"kind": "basicblock", "body": [child(p, getattr(module, p)) for p in parts],
                "shortcut": module.shortcut,
                "downsample": None if module.downsample is None else child("downsample", module.downsample)}
    if isinstance(module, nn.Linear):
        return {"kind": "linear", "name": name}
    if isinstance(module, nn.Conv2d):
        top, bottom, left, right = module._pad4
        return {"kind": "conv", "name": name, "stride": list(module.stride), "dilation": list(module.dilation),
                "padding": [[top, bottom], [left, right]], "groups": module.groups}
    if isinstance(module, nn.BatchNorm):
        if module.momentum is None:
            raise TypeError("jax_peer: no JAX twin for BatchNorm(momentum=None) (the cumulative average)")
        return {"kind": "batchnorm", "name": name, "eps": module.eps, "momentum": module.momentum}
    if isinstance(module, nn.LayerNorm):
        return {"kind": "layernorm", "name": name, "eps": module.eps, "dims": len(module.normalized_shape)}
    if isinstance(module, nn.GELU):
        return {"kind": "gelu", "tanh": module.approximate == "tanh"}
    if type(module) is nn.ReLU:
        return {"kind": "relu"}
    if type(module) is nn.Dropout and module.scaling == "inverted":
        return {"kind": "dropout", "keep": module.keep_prob}
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return {"kind": "global_avgpool"}
    if isinstance(module, nn.Flatten):
        return {"kind": "flatten"}
    raise TypeError(f"jax_peer: no JAX twin for {type(module).__name__}")


class JaxPeer:
    """The JAX twins of ``rows`` in a child process at ``threads`` threads, kept alive to be timed on request.

    Each row gives ``model`` (a pydtrain module), ``X`` (batches, batch, features…), ``Y`` (batches, batch)
    integer labels, ``optimizer``: ``("adam", lr)`` (optax.adam, pydtrain's Adam defaults) or
    ``("sgd", lr, momentum)`` (pydtrain's classic convention ``m ← μm − αg; θ ← θ + m``), and ``first``:
    the batch of the first step (the next steps take the following batches, cyclically).

    On start the child computes each row's loss curve over ``curve_steps`` steps (dropout off; ``curves``)
    and, with ``keep_state``, the state dict after them (``states``), then compiles the timed steps. The
    timings are taken between the parent's own, so that the libraries share the machine's load; the child
    waits on its pipe meanwhile. Raises RuntimeError (with the child's stderr) when the child fails.
    """

    def __init__(self, rows: list[dict], threads: int, curve_steps: int, keep_state: bool = False) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        path = os.path.join(self._tmp.name, "spec.npz")
        arrays: dict[str, np.ndarray] = {}
        specs = []
        for r, row in enumerate(rows):
            if row["optimizer"][0] not in ("adam", "sgd"):
                raise ValueError(f"JaxPeer: optimizer must be ('adam', lr) or ('sgd', lr, momentum), got "
                                 f"{row['optimizer']!r}")
            model = row["model"]
            state = model.state_dict()
            params = [name for name, _ in model.named_parameters()]
            buffers = [k for k, v in state.items() if k not in params and v.dtype.kind == "f"]
            specs.append({"net": layer_spec(model), "params": params, "buffers": buffers,
                          "optimizer": list(row["optimizer"]), "first": row["first"],
                          "state_out": os.path.join(self._tmp.name, f"state{r}.npz") if keep_state else None})
            for key in params + buffers:
                arrays[f"{r}/{key}"] = state[key]
            arrays[f"{r}/X"], arrays[f"{r}/Y"] = row["X"], row["Y"]
        arrays["spec"] = np.array(json.dumps({"rows": specs, "curve_steps": curve_steps}))
        np.savez(path, **arrays)
        self._stderr = open(os.path.join(self._tmp.name, "stderr.txt"), "w+")
        self._child = subprocess.Popen([sys.executable, "-m", "pydtrain.bench.jax_peer", str(threads), path],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        try:
            self.curves = [self._answer()["curve"] for _ in rows]
        except RuntimeError:
            self.close()
            raise
        self.states: list[dict[str, np.ndarray]] = []
        for spec in specs:
            if spec["state_out"]:
                with np.load(spec["state_out"]) as saved:
                    self.states.append({k: saved[k] for k in saved.files})

    def _answer(self) -> dict:
        line = self._child.stdout.readline() if self._child.stdout else ""
        if not line:
            self._stderr.seek(0)
            raise RuntimeError(f"jax_peer: the JAX child stopped ({self._child.wait()}):\n{self._stderr.read()[-2000:]}")
        return json.loads(line)

    def _ask(self, **request) -> dict:
        assert self._child.stdin is not None
        self._child.stdin.write(json.dumps(request) + "\n")
        self._child.stdin.flush()
        return self._answer()

    def sampler(self, row: int, min_time: float = 0.05) -> Callable[[], float]:
        """A function giving the seconds per step of one run of row ``row``'s compiled step; a run is
        as many steps (a power of two) as take ``min_time``."""
        calls = self._ask(row=row, min_time=min_time)["calls"]
        return lambda: self._ask(row=row, calls=calls)["time"]

    def close(self) -> None:
        if self._child.stdin:
            self._child.stdin.close()
        self._child.wait()
        self._stderr.close()
        self._tmp.cleanup()

    def __enter__(self) -> "JaxPeer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _child(threads: int, path: str) -> None:
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    os.sched_setaffinity(0, cpus)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + f" --xla_cpu_multi_thread_eigen={str(threads > 1).lower()}").strip()
    import jax
    import jax.numpy as jnp
    import optax

    from .common import calls_for

    stored = np.load(path)
    config = json.loads(str(stored["spec"]))

    def apply(node, x, params, buffers, ctx):
        """The node's forward on x; BatchNorm writes its new running averages into ctx["buffers"]."""
        kind = node["kind"]
        if kind == "sequential":
            for sub in node["children"]:
                x = apply(sub, x, params, buffers, ctx)
            return x
        if kind == "basicblock":
            f = x
            for sub in node["body"]:
                f = apply(sub, f, params, buffers, ctx)
            if node["shortcut"]:
                f = f + (x if node["downsample"] is None else apply(node["downsample"], x, params, buffers, ctx))
            return jax.nn.relu(f)
        if kind == "linear":
            x = x @ params[node["name"] + ".weight"].T
            return x + params[node["name"] + ".bias"] if node["name"] + ".bias" in params else x
        if kind == "conv":
            x = jax.lax.conv_general_dilated(x, params[node["name"] + ".weight"], node["stride"], node["padding"],
                                             rhs_dilation=node["dilation"], feature_group_count=node["groups"],
                                             dimension_numbers=("NCHW", "OIHW", "NCHW"))
            bias = params.get(node["name"] + ".bias")
            return x if bias is None else x + bias[:, None, None]
        if kind == "batchnorm":  # batch statistics; running = (1 − f)·running + f·batch, the variance unbiased
            name, f = node["name"], node["momentum"]
            axes = (0,) + tuple(range(2, x.ndim))
            channel = (-1,) + (1,) * (x.ndim - 2)
            mean = x.mean(axes)
            var = ((x - mean.reshape(channel)) ** 2).mean(axes)
            m = x.size // x.shape[1]
            ctx["buffers"][name + ".running_mean"] = jax.lax.stop_gradient(
                (1 - f) * buffers[name + ".running_mean"] + f * mean)
            ctx["buffers"][name + ".running_var"] = jax.lax.stop_gradient(
                (1 - f) * buffers[name + ".running_var"] + f * var * (m / (m - 1)))
            x = (x - mean.reshape(channel)) * jax.lax.rsqrt(var.reshape(channel) + node["eps"])
            if name + ".weight" in params:
                x = x * params[name + ".weight"].reshape(channel) + params[name + ".bias"].reshape(channel)
            return x
        if kind == "layernorm":
            axes = tuple(range(x.ndim - node["dims"], x.ndim))
            mean = x.mean(axes, keepdims=True)
            var = ((x - mean) ** 2).mean(axes, keepdims=True)
            x = (x - mean) * jax.lax.rsqrt(var + node["eps"])
            if node["name"] + ".weight" in params:
                x = x * params[node["name"] + ".weight"] + params[node["name"] + ".bias"]
            return x
        if kind == "relu":
            return jax.nn.relu(x)
        if kind == "gelu":
            return jax.nn.gelu(x, approximate=node["tanh"])
        if kind == "dropout":
            if not ctx["dropout"]:
                return x
            ctx["key"], sub = jax.random.split(ctx["key"])
            keep = node["keep"]
            return jnp.where(jax.random.bernoulli(sub, keep, x.shape), x / keep, 0.0)
        if kind == "global_avgpool":
            return x.mean((2, 3), keepdims=True)
        if kind == "flatten":
            return x.reshape(x.shape[0], -1)
        raise ValueError(f"jax_peer: unknown layer kind {kind!r}")

    def optimizer(spec):
        if spec[0] == "adam":
            return optax.adam(spec[1])
        _, lr, momentum = spec  # ("sgd", lr, momentum), classic: the trace of −α·g is the momentum m, added to θ
        return optax.chain(optax.scale(-lr), optax.trace(decay=momentum))

    runs = []
    for r, row in enumerate(config["rows"]):
        params = {k: jnp.asarray(stored[f"{r}/{k}"]) for k in row["params"]}
        buffers = {k: jnp.asarray(stored[f"{r}/{k}"]) for k in row["buffers"]}
        # batches and dropout keys made ahead, so a timed step is the compiled step alone
        X = [jnp.asarray(x) for x in stored[f"{r}/X"]]
        Y = [jnp.asarray(y) for y in stored[f"{r}/Y"]]
        step_keys = [jax.random.PRNGKey(k) for k in range(len(X))]
        opt = optimizer(row["optimizer"])

        def make_step(dropout: bool, net=row["net"], opt=opt):
            def loss_of(params, buffers, x, y, key):
                ctx = {"dropout": dropout, "key": key, "buffers": dict(buffers)}
                logits = apply(net, x, params, buffers, ctx)
                return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), ctx["buffers"]

            def step(params, buffers, state, x, y, key):
                (loss, buffers), grads = jax.value_and_grad(loss_of, has_aux=True)(params, buffers, x, y, key)
                updates, state = opt.update(grads, state, params)
                return optax.apply_updates(params, updates), buffers, state, loss
            return jax.jit(step, donate_argnums=(0, 1, 2))

        def fresh():  # a step donates its inputs
            return jax.tree_util.tree_map(jnp.copy, (params, buffers))

        # the loss curve from the stored weights, dropout off (as the torch comparison does)
        curve_step, (p, b) = make_step(False), fresh()
        s = opt.init(p)
        curve = []
        for k in range(config["curve_steps"]):
            i = (row["first"] + k) % len(X)
            p, b, s, loss = curve_step(p, b, s, X[i], Y[i], step_keys[i])
            curve.append(float(loss))
        if row["state_out"]:
            np.savez(row["state_out"], **{k: np.asarray(v) for k, v in {**p, **b}.items()})
        timed_step, (p, b) = make_step(True), fresh()
        box = {"p": p, "b": b, "s": opt.init(p), "i": 0}

        def run(timed_step=timed_step, box=box, X=X, Y=Y, step_keys=step_keys):
            i = box["i"] = (box["i"] + 1) % len(X)
            box["p"], box["b"], box["s"], loss = timed_step(box["p"], box["b"], box["s"], X[i], Y[i], step_keys[i])
            loss.block_until_ready()

        run()  # compiles
        runs.append(run)
        print(json.dumps({"curve": curve}), flush=True)
    for line in sys.stdin:  # requests: {"row", "min_time"} -> {"calls"}; {"row", "calls"} -> {"time"} per step
        request = json.loads(line)
        run = runs[request["row"]]
        if "min_time" in request:
            print(json.dumps({"calls": calls_for(run, request["min_time"])}), flush=True)
            continue
        t0 = time.perf_counter()
        for _ in range(request["calls"]):
            run()
        print(json.dumps({"time": (time.perf_counter() - t0) / request["calls"]}), flush=True)

if __name__ == "__main__":
    _child(int(sys.argv[1]), sys.argv[2])
