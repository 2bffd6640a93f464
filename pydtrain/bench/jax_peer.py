"""The training-step rows' networks in JAX (``jax.jit`` + optax), timed in a child process.

XLA reads its thread settings once, when its CPU client starts, so each thread count
runs in its own process: ``python -m pydtrain.bench.jax_peer THREADS SPEC.npz`` pins
itself to the first THREADS CPUs, limits XLA's intra-op threads to THREADS, and prints
one JSON line per network: the median seconds per step after compilation and the loss
curve of the first steps (dropout off) from the weights and batches stored in SPEC.npz.

The parent (``training.py``) writes SPEC.npz from the pydtrain model it times, so both
libraries start from the same weights and see the same batches.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any, Optional

import numpy as np

__all__ = ["available", "jax_rows"]


def available() -> bool:
    """Whether jax and optax import (the JAX columns are left empty otherwise)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("jax", "optax"))


def layer_spec(model) -> list[list[Any]]:
    """The Sequential ``model`` as a list of [kind, argument] the child rebuilds in JAX."""
    from pydtrain import nn

    spec: list[list[Any]] = []
    for m in model:
        if isinstance(m, nn.Linear):
            spec.append(["linear", None])
        elif isinstance(m, nn.LayerNorm):
            spec.append(["layernorm", m.eps])
        elif isinstance(m, nn.GELU):
            spec.append(["gelu", m.approximate == "tanh"])
        elif isinstance(m, nn.ReLU):
            spec.append(["relu", None])
        elif isinstance(m, nn.Dropout):
            spec.append(["dropout", m.keep_prob])
        else:
            raise TypeError(f"jax_peer: no JAX twin for {type(m).__name__}")
    return spec


def jax_rows(rows: list[dict], threads: int, curve_steps: int) -> list[Optional[dict]]:
    """Times each row's network in JAX at ``threads`` threads, in one child process.

    Each row gives ``model`` (a pydtrain Sequential), ``X`` (batches, batch, features) and ``Y``.
    Returns per row ``{"time": seconds per step, "curve": [losses]}``, or None per row when the
    child fails (its stderr is printed)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "spec.npz")
        arrays: dict[str, np.ndarray] = {}
        specs = []
        for r, row in enumerate(rows):
            specs.append(layer_spec(row["model"]))
            for key, value in row["model"].state_dict().items():
                arrays[f"{r}/param/{key}"] = value
            arrays[f"{r}/X"], arrays[f"{r}/Y"] = row["X"], row["Y"]
        arrays["spec"] = np.array(json.dumps({"rows": specs, "curve_steps": curve_steps}))
        np.savez(path, **arrays)
        done = subprocess.run([sys.executable, "-m", "pydtrain.bench.jax_peer", str(threads), path],
                              capture_output=True, text=True)
    if done.returncode != 0:
        print(f"jax_peer failed ({done.returncode}):\n{done.stderr[-2000:]}", file=sys.stderr)
        return [None] * len(rows)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _child(threads: int, path: str) -> None:
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    os.sched_setaffinity(0, cpus)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" --xla_cpu_multi_thread_eigen={threads > 1}"
                               f" intra_op_parallelism_threads={threads}").strip()
    import jax
    import jax.numpy as jnp
    import optax

    from .common import median_time

    stored = np.load(path)
    config = json.loads(str(stored["spec"]))

    def network(spec, train: bool):
        def forward(params, x, key):
            i = 0
            for kind, arg in spec:
                if kind == "linear":
                    w, b = params[i]
                    x = x @ w.T + b
                    i += 1
                elif kind == "layernorm":
                    g, b = params[i]
                    mean = x.mean(-1, keepdims=True)
                    var = ((x - mean) ** 2).mean(-1, keepdims=True)
                    x = (x - mean) * jax.lax.rsqrt(var + arg) * g + b
                    i += 1
                elif kind == "relu":
                    x = jax.nn.relu(x)
                elif kind == "gelu":
                    x = jax.nn.gelu(x, approximate=arg)
                elif kind == "dropout" and train:
                    key, sub = jax.random.split(key)
                    x = jnp.where(jax.random.bernoulli(sub, arg, x.shape), x / arg, 0.0)
            return x
        return forward

    for r, spec in enumerate(config["rows"]):
        keys = sorted({k.split("/")[2].rsplit(".", 1)[0] for k in stored.files if k.startswith(f"{r}/param/")},
                      key=lambda name: int(name.split(".")[0]))
        params = [(jnp.asarray(stored[f"{r}/param/{k}.weight"]), jnp.asarray(stored[f"{r}/param/{k}.bias"]))
                  for k in keys]
        # batches and dropout keys made ahead, so a timed step is the compiled step alone
        X = [jnp.asarray(x) for x in stored[f"{r}/X"]]
        Y = [jnp.asarray(y) for y in stored[f"{r}/Y"]]
        step_keys = [jax.random.PRNGKey(k) for k in range(len(X))]
        opt = optax.adam(1e-3)

        def make_step(train: bool, spec=spec, opt=opt):
            forward = network(spec, train)

            def loss_of(params, x, y, key):
                return optax.softmax_cross_entropy_with_integer_labels(forward(params, x, key), y).mean()

            def step(params, state, x, y, key):
                loss, grads = jax.value_and_grad(loss_of)(params, x, y, key)
                updates, state = opt.update(grads, state, params)
                return optax.apply_updates(params, updates), state, loss
            return jax.jit(step, donate_argnums=(0, 1))

        # the loss curve from the stored weights, dropout off (as the torch comparison does)
        fresh = lambda: jax.tree_util.tree_map(jnp.copy, params)  # noqa: E731 (a step donates its inputs)
        curve_step, p = make_step(False), fresh()
        s = opt.init(p)
        curve = []
        for k in range(config["curve_steps"]):
            i = (k + 1) % len(X)
            p, s, loss = curve_step(p, s, X[i], Y[i], step_keys[i])
            curve.append(float(loss))
        timed_step, p = make_step(True), fresh()
        box = {"p": p, "s": opt.init(p), "i": 0}

        def run():
            i = box["i"] = (box["i"] + 1) % len(X)
            box["p"], box["s"], loss = timed_step(box["p"], box["s"], X[i], Y[i], step_keys[i])
            loss.block_until_ready()

        run()  # compiles
        print(json.dumps({"time": median_time(run, repeats=5), "curve": curve}), flush=True)


if __name__ == "__main__":
    _child(int(sys.argv[1]), sys.argv[2])
