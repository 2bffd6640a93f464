"""Checkpoints: a model, its optimizer and scheduler, and the generator's position in one ``.npz``.

Arrays go in as arrays (``model/<key>``, ``optimizer/<i>/<buffer>``, ``extra/<name>``),
everything else (format version, hyper-parameters, step counts, scheduler state, the
generator's (seed, offset), epoch, plain extras) as one JSON string under ``meta``, so
the file loads with ``allow_pickle=False``. Loading checks the whole file against the
objects before it changes any of them.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any, Optional

import numpy as np

from . import _random

__all__ = ["FORMAT_VERSION", "load_checkpoint", "save_checkpoint"]

FORMAT_VERSION = 1


def _plain(value: Any) -> Any:
    """JSON for hyper-parameters and scheduler state; None for what JSON cannot hold (functions)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return None


def save_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any = None, scheduler: Any = None,
                    epoch: Optional[int] = None, **extra: Any) -> None:
    """Writes the model's state_dict, the optimizer's and scheduler's state and the generator's position.

    Loading it with ``load_checkpoint`` and going on training gives, bit for bit, what the
    uninterrupted run gives: the weights and buffers (batch-norm statistics), the
    optimizer's buffers and step counts, the scheduler's step, and pydtrain's generator
    (so the next epoch's shuffling and dropout masks are the same). The file is written
    next to ``path`` and renamed over it, so a crash never leaves half a checkpoint.

    Args:
        path: The file, written as given (conventionally ``*.npz``).
        model: A ``pydtrain.nn.Module``.
        optimizer: Its optimizer, or None.
        scheduler: Its learning-rate scheduler, or None.
        epoch: The number of epochs done, or None.
        **extra: More to keep: arrays, or numbers, strings, lists and dicts of them.

    Raises:
        TypeError: An extra value is neither an array nor JSON-like.
    """
    arrays: dict[str, np.ndarray] = {f"model/{k}": v for k, v in model.state_dict().items()}
    meta: dict[str, Any] = {"format_version": FORMAT_VERSION, "epoch": epoch, "rng": list(_random.get_state())}
    if optimizer is not None:
        sd = optimizer.state_dict()
        meta["optimizer"] = {
            "class": type(optimizer).__name__,
            "param_groups": [{k: _plain(v) for k, v in g.items()} for g in sd["param_groups"]],
            "steps": [int(sd["state"][i].get("step", 0)) for i in sorted(sd["state"])],
        }
        for i, entry in sd["state"].items():
            arrays.update({f"optimizer/{i}/{name}": v for name, v in entry.items() if name != "step"})
    if scheduler is not None:
        state = {k: _plain(v) for k, v in scheduler.state_dict().items()}
        meta["scheduler"] = {"class": type(scheduler).__name__,
                             "state": {k: v for k, v in state.items() if v is not None}}
    plain = {}
    for name, value in extra.items():
        if isinstance(value, np.ndarray):
            arrays[f"extra/{name}"] = value
        elif _plain(value) is None and value is not None:
            raise TypeError(f"save_checkpoint: extra value {name!r} must be an array or numbers, strings, lists and "
                            f"dicts of them, got {type(value).__name__}")
        else:
            plain[name] = value
    meta["extra"] = plain
    arrays["meta"] = np.array(json.dumps(meta))
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as its allow_pickle flag
    os.replace(tmp, path)


def _read(path: str) -> tuple[dict[str, np.ndarray], dict]:
    """Every array of the file and its meta; ValueError naming what is wrong with an unreadable file."""
    who = f"load_checkpoint: {path}"
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:1] == b"\x80":  # a pickle's protocol opcode
        raise ValueError(f"{who} is a pickle, not a checkpoint; checkpoints are read without pickle")
    if magic != b"PK\x03\x04":
        raise ValueError(f"{who} is not a .npz file (it starts with {magic!r}, a zip archive with b'PK\\x03\\x04')")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as e:
        if "pickle" in str(e):
            raise ValueError(f"{who} holds a pickled object; checkpoints are read without pickle "
                             "(allow_pickle=False), so it is not loaded") from None
        raise ValueError(f"{who} is truncated or damaged ({e})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(f"{who} is truncated or damaged ({type(e).__name__}: {e})") from None
    if "meta" not in arrays:
        raise ValueError(f"{who} is not a pydtrain checkpoint: it has no 'meta' entry")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except ValueError:
        raise ValueError(f"{who}: its 'meta' entry is not valid JSON") from None
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if version != FORMAT_VERSION:
        raise ValueError(f"{who} has checkpoint format version {version!r}; this pydtrain reads version "
                         f"{FORMAT_VERSION}")
    return arrays, meta


def _check_array(who: str, key: str, arrays: dict, want: np.ndarray) -> None:
    if key not in arrays:
        raise ValueError(f"{who}: the checkpoint has no '{key}'")
    got = arrays[key]
    if got.shape != want.shape or got.dtype != want.dtype:
        raise ValueError(f"{who}: '{key}' is {got.dtype} {got.shape} in the checkpoint, {want.dtype} {want.shape} "
                         "here")


def _optimizer_state(who: str, optimizer: Any, arrays: dict, meta: dict) -> dict:
    """The optimizer's state_dict rebuilt from the file, checked against ``optimizer``."""
    saved = meta.get("optimizer")
    if saved is None:
        raise ValueError(f"{who}: the checkpoint holds no optimizer state")
    name = type(optimizer).__name__
    if saved["class"] != name:
        raise ValueError(f"{who}: the checkpoint holds a {saved['class']} state, the optimizer is a {name}")
    current = optimizer.state_dict()
    groups = saved["param_groups"]
    if [len(g["params"]) for g in groups] != [len(g["params"]) for g in current["param_groups"]]:
        raise ValueError(f"{who}: the checkpoint's optimizer has groups of {[len(g['params']) for g in groups]} "
                         f"parameters, this one {[len(g['params']) for g in current['param_groups']]}")
    params = [p for g in optimizer.param_groups for p in g["params"]]
    state: dict[int, dict] = {}
    for g, (group, here) in enumerate(zip(groups, current["param_groups"])):
        restored = {}
        for key, value in group.items():
            if isinstance(here.get(key), tuple) and isinstance(value, list):
                value = tuple(value)  # JSON kept the pair (betas) as a list
            restored[key] = value
        candidate = {**optimizer.param_groups[g], **{k: v for k, v in restored.items() if k != "params"}}
        try:
            optimizer._validate(candidate)
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError(f"{who}: the checkpoint's optimizer settings are invalid: {e}") from None
        groups[g] = restored
        names = optimizer._buffer_names(candidate)
        for i in group["params"]:
            entry: dict[str, Any] = {"step": saved["steps"][i]}
            for buffer in names:
                key = f"optimizer/{i}/{buffer}"
                _check_array(who, key, arrays, params[i].data)
                entry[buffer] = arrays[key]
            state[i] = entry
    return {"state": state, "param_groups": groups}


def load_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any = None, scheduler: Any = None) -> dict:
    """Restores what ``save_checkpoint`` wrote into existing objects, and the generator's position.

    The whole file is checked first (format version, every key, shape and dtype, the
    optimizer's and scheduler's class); any problem raises before anything changes, so
    the model, optimizer and scheduler are left as they were.

    Args:
        path: A file written by ``save_checkpoint``.
        model: The model, built as the saved one was (same layers and dtype).
        optimizer: Its optimizer (same class and groups), or None to skip the optimizer's state.
        scheduler: Its scheduler (same class), or None.

    Returns:
        ``{"epoch": ..., **extra}``: what was saved beside the objects.

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file is truncated, not an ``.npz``, holds a pickled object, has
            another format version, or does not fit the objects (missing keys, wrong
            shapes or dtypes); the message names the problem.
    """
    path = os.fspath(path)
    who = f"load_checkpoint: {path}"
    arrays, meta = _read(path)
    try:
        checked = _check(who, arrays, meta, model, optimizer, scheduler)
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        raise ValueError(f"{who}: its metadata is malformed ({type(e).__name__}: {e})") from None
    own, optimizer_state, scheduler_state, rng = checked
    try:  # what the objects' own loaders check, done before any of them changes
        model_values = model._checked_state({k: arrays[f"model/{k}"] for k in own})
        optimizer_plan = None if optimizer_state is None else optimizer._checked_load(optimizer_state)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{who}: {e}") from None
    model._write_state(model_values)
    if optimizer_plan is not None:
        optimizer._apply_load(optimizer_plan)
    if scheduler_state is not None:
        scheduler.load_state_dict(scheduler_state)
    _random.set_state(tuple(rng))
    extra = dict(meta.get("extra", {}))
    extra.update({k[6:]: v for k, v in arrays.items() if k.startswith("extra/")})
    return {"epoch": meta.get("epoch"), **extra}


def _kind(value: Any) -> str:
    """What a scheduler's state value is, as JSON keeps it (a tuple comes back a list, an int may be a float)."""
    if value is None or isinstance(value, (bool, str, dict)):
        return type(value).__name__
    if isinstance(value, (int, float)):
        return "a number"
    return "a list" if isinstance(value, (list, tuple)) else "another value"


def _check(who: str, arrays: dict, meta: dict, model: Any, optimizer: Any, scheduler: Any) -> tuple:
    """(model keys, optimizer state_dict, scheduler state, rng) from the file, all checked against the objects."""
    own = model.state_dict()
    for key, value in own.items():
        _check_array(who, f"model/{key}", arrays, value)
    unexpected = [k[6:] for k in arrays if k.startswith("model/") and k[6:] not in own]
    if unexpected:
        raise ValueError(f"{who}: the checkpoint's model has keys this model lacks: {unexpected}")
    optimizer_state = None if optimizer is None else _optimizer_state(who, optimizer, arrays, meta)
    scheduler_state = None
    if scheduler is not None:
        saved = meta.get("scheduler")
        if saved is None:
            raise ValueError(f"{who}: the checkpoint holds no scheduler state")
        if saved["class"] != type(scheduler).__name__:
            raise ValueError(f"{who}: the checkpoint holds a {saved['class']} state, the scheduler is a "
                             f"{type(scheduler).__name__}")
        scheduler_state = saved["state"]
        current = scheduler.state_dict()
        unknown = set(scheduler_state) - set(current)
        if unknown:
            raise ValueError(f"{who}: the checkpoint's scheduler state has keys this one lacks: {sorted(unknown)}")
        for key, value in scheduler_state.items():
            if current[key] is not None and _kind(value) != _kind(current[key]):
                raise ValueError(f"{who}: the checkpoint's scheduler state has {key}={value!r}, where this "
                                 f"{type(scheduler).__name__} holds {_kind(current[key])}")
    rng = meta.get("rng")
    if not (isinstance(rng, list) and len(rng) == 2 and all(isinstance(v, int) and 0 <= v < 2**64 for v in rng)):
        raise ValueError(f"{who}: its generator state is missing or malformed")
    return own, optimizer_state, scheduler_state, rng
