"""Optimizer base: parameter groups, the flat arena, per-group state, state_dict.

Building an optimizer moves the parameters of each group into one contiguous
buffer (and their gradients into another); every ``Parameter.data``/``.grad``
becomes a view into it, so layers keep working unchanged. One step is then one
C call per group (docs/design.md, section 3). ``zero_grad()`` marks every gradient
zero (reading ``p.grad`` fills it; a Linear weight's next backward writes it
instead of adding to it); ``zero_grad(set_to_none=False)`` is one fill.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

import numpy as np

from .. import _checks
from ..nn.module import Parameter

__all__ = ["Optimizer", "check_number", "flat_pairs", "flat_segments", "flatten_parameters"]

_ALIGN = 64  # bytes: arena buffers start on a cache line


def _aligned_empty(n: int, dtype: np.dtype) -> np.ndarray:
    """An uninitialised 1-d array of n elements whose data starts on a 64-byte boundary."""
    dtype = np.dtype(dtype)
    pad = _ALIGN // dtype.itemsize
    raw = np.empty(n + pad, dtype)
    start = (-raw.ctypes.data % _ALIGN) // dtype.itemsize
    return raw[start:start + n]


def _aligned_zeros(n: int, dtype: np.dtype) -> np.ndarray:
    """A zero-filled 1-d array of n elements whose data starts on a 64-byte boundary."""
    a = _aligned_empty(n, dtype)
    a.view(np.uint8).fill(0)
    return a


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def flat_segments(arrays: Sequence[np.ndarray], cache: Optional[dict] = None) -> list[np.ndarray]:
    """The arrays as few 1-d views as possible: consecutive arrays that tile one buffer (an arena) become one view.

    Args:
        arrays: C-contiguous arrays (parameters' data or grads).
        cache: a dict kept by the caller; when the same array objects come again the
            views are reused at the cost of one identity check each.
    """
    if cache is not None:
        cached = cache.get("arrays")
        if cached is not None and len(cached) == len(arrays) and all(x is y for x, y in zip(arrays, cached)):
            return cache["segments"]
    segments: list[np.ndarray] = []
    base, first, end = None, 0, 0
    for a in arrays:
        if not a.flags.c_contiguous:
            raise ValueError("gradients and parameters must be C-contiguous arrays")
        addr = _address(a)
        b = a.base if isinstance(a.base, np.ndarray) and a.base.ndim == 1 and a.base.flags.c_contiguous else None
        if base is not None and b is base and a.dtype == base.dtype and addr == end:
            end += a.nbytes
            segments[-1] = base[first:(end - _address(base)) // base.itemsize]
            continue
        if b is not None and a.dtype == b.dtype and b.flags.writeable:
            base, first, end = b, (addr - _address(b)) // b.itemsize, addr + a.nbytes
            segments.append(base[first:(end - _address(base)) // base.itemsize])
        else:
            base = None
            segments.append(a.reshape(-1))
    if cache is not None:
        cache["arrays"] = list(arrays)
        cache["segments"] = segments
    return segments


def flat_pairs(params: Sequence[Parameter], cache: Optional[dict] = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(data, grad) 1-d views covering the parameters: one pair per run of parameters adjacent in both
    their data and their gradient buffer (an optimizer's arena), so that one kernel call covers a run.

    Reading ``p.grad`` here fills a gradient that ``zero_grad`` marked zero (see Parameter).

    Args:
        params: the Parameters, in order.
        cache: a dict kept by the caller, as for ``flat_segments``.
    """
    data = flat_segments([p.data for p in params], None if cache is None else cache.setdefault("data", {}))
    grad = flat_segments([p.grad for p in params], None if cache is None else cache.setdefault("grad", {}))
    if [d.size for d in data] == [g.size for g in grad]:
        return list(zip(data, grad))
    return [(p.data.reshape(-1), p.grad.reshape(-1)) for p in params]


def flatten_parameters(params: Sequence[Parameter], who: str, owner: Any) -> tuple[np.ndarray, np.ndarray]:
    """Move the parameters' data and grads into two contiguous buffers; return (data, grad).

    Parameters that already tile one buffer in this order (an earlier optimizer
    built them) keep it, so several optimizers and averagers can share an arena.
    Parameters held in another live optimizer's buffer in another arrangement are
    not moved (that optimizer would go on updating a stale copy): that raises.

    Raises:
        TypeError: the parameters do not share one dtype.
        ValueError: a parameter belongs to another live optimizer's buffer in another layout.
    """
    dtypes = {p.data.dtype for p in params}
    if len(dtypes) > 1:
        listing = ", ".join(f"{p.name or '?'}: {p.data.dtype}" for p in params)
        raise TypeError(f"{who}: the parameters of a group must share one dtype; got {listing} "
                        f"(put float32 and float64 parameters in separate groups)")
    n = sum(p.data.size for p in params)
    data = flat_segments([p.data for p in params])
    grad = flat_segments([p.grad for p in params])
    tiled = len(data) == 1 and len(grad) == 1 and data[0].size == n and data[0].base is not None
    # a buffer no optimizer built (e.g. one lone parameter's own array) is kept only when it is
    # aligned like an arena: a vector load that straddles two cache lines costs bandwidth
    if tiled and (any(p._owners is not None for p in params)
                  or (_address(data[0]) % _ALIGN == 0 and _address(grad[0]) % _ALIGN == 0)):
        for p in params:
            if p._owners is None:
                p._bind(p.data, p.grad, owner)
            else:
                p._owners.add(owner)
        return data[0], grad[0]
    for p in params:
        if p.in_arena():
            raise ValueError(
                f"{who}: parameter {p.name!r} already lives in another optimizer's flat buffer, arranged "
                f"differently; moving it would leave that optimizer updating a stale copy. Build one optimizer "
                f"with parameter groups, or drop the other optimizer first (del opt)"
            )
    dtype = params[0].data.dtype
    flat_data = _aligned_empty(n, dtype)
    flat_grad = _aligned_empty(n, dtype)
    offset = 0
    for p in params:
        k = p.data.size
        flat_data[offset:offset + k] = p.data.reshape(-1)
        flat_grad[offset:offset + k] = p.grad.reshape(-1)
        p._bind(flat_data[offset:offset + k].reshape(p.data.shape), flat_grad[offset:offset + k].reshape(p.data.shape),
                owner)
        offset += k
    return flat_data, flat_grad


def _refuse_shared_memory(who: str, params: list[Parameter]) -> None:
    """ValueError when two parameters' arrays overlap (one array, or overlapping views of one buffer): the arena
    would give each its own copy, and the two would drift apart."""
    spans = sorted((_address(p.data), _address(p.data) + p.data.nbytes, k) for k, p in enumerate(params) if p.size)
    widest = None  # the span reaching furthest so far
    for span in spans:
        if widest is not None and span[0] < widest[1]:
            a, b = (params[widest[2]], widest[2]), (params[span[2]], span[2])
            names = " and ".join(f"{p.name!r}" if p.name else f"at position {k}" for p, k in sorted(
                [a, b], key=lambda pk: pk[1]))
            raise ValueError(f"{who}: the parameters {names} share memory (one array, or overlapping views of one "
                             "buffer); an optimizer gives each parameter its own values, so give each its own array: "
                             "nn.Parameter(a.copy())")
        if widest is None or span[1] > widest[1]:
            widest = span


def check_number(who: str, name: str, value: Any, low: float = 0.0, high: Optional[float] = None,
                 high_open: bool = False) -> float:
    """``value`` as a float, checked to lie in [low, high] (or [low, high) with high_open)."""
    return _checks.number(who, name, value, low=low, high=high, high_open=high_open)


class Optimizer:
    """Holds ``param_groups`` (a list of dicts with ``params`` and hyper-parameters) and their state.

    Args:
        params: a list of Parameters, or a list of dicts ``{"params": [...], "lr": ...}``
            whose missing hyper-parameters are taken from ``defaults``.
        defaults: the optimizer's hyper-parameters.

    Subclasses name their per-parameter state buffers in ``_buffer_names(group)``
    and update one group in ``_step_group(group, data, grad, state, fresh)``, ``fresh``
    naming the buffers this step writes for the first time.
    """

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        who = type(self).__name__
        params = list(params)
        if not params:
            raise ValueError(f"{who}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self._arenas: list[tuple[np.ndarray, np.ndarray]] = []
        self._state: list[dict] = []
        seen: dict[int, int] = {}  # id(Parameter) -> its group
        for index, g in enumerate(groups):
            if not isinstance(g, dict):
                raise TypeError(f"{who}: mix of Parameters and group dicts in params")
            group = {**self.defaults, **g}
            group["params"] = list(g.get("params", []))
            if not group["params"]:
                raise ValueError(f"{who}: a parameter group has no parameters")
            for position, p in enumerate(group["params"]):
                if not isinstance(p, Parameter):
                    raise TypeError(f"{who}: params must be Parameters, got {type(p).__name__}")
                if id(p) in seen:
                    label = f"parameter {p.name!r}" if p.name else f"the parameter at position {position} ({p!r})"
                    if seen[id(p)] == index:
                        where = "the parameter list" if len(groups) == 1 else f"group {index}"
                        raise ValueError(f"{who}: {label} is listed twice in {where}; list each Parameter once "
                                         "(model.parameters() does)")
                    raise ValueError(f"{who}: {label} appears in more than one group (groups {seen[id(p)]} and "
                                     f"{index}); put each Parameter in one group")
                seen[id(p)] = index
            self._validate(group)
            self.param_groups.append(group)
        _refuse_shared_memory(who, [p for group in self.param_groups for p in group["params"]])
        self._fresh: list[set[str]] = []  # per group: buffers not yet written by a step (PyTorch's "None" state)
        for group in self.param_groups:
            data, grad = flatten_parameters(group["params"], who, self)
            self._arenas.append((data, grad))
            state = {"step": 0}
            self._fresh.append(set())
            self._state.append(state)
            self._ensure_buffers(len(self._state) - 1)

    def __repr__(self) -> str:
        """The hyper-parameters and size of each group: ``SGD(lr=0.1, momentum=0.9, …; 4 parameters, 8,906 values)``."""
        def describe(group: dict) -> str:
            hyper = ", ".join(f"{k}={v!r}" for k, v in group.items() if k not in ("params", "initial_lr"))
            values = sum(p.data.size for p in group["params"])
            count = len(group["params"])
            return f"{hyper}; {count} parameter{'s' if count != 1 else ''}, {values:,} values"

        groups = [describe(g) for g in self.param_groups]
        if len(groups) == 1:
            return f"{type(self).__name__}({groups[0]})"
        return f"{type(self).__name__}(\n" + "".join(f"  group {i}: {g}\n" for i, g in enumerate(groups)) + ")"

    def _ensure_buffers(self, index: int) -> None:
        """Zero buffers for the state group `index`'s settings need (momentum may be switched on later)."""
        state = self._state[index]
        for name in self._buffer_names(self.param_groups[index]):
            if name not in state:
                arena = self._arenas[index][0]
                state[name] = _aligned_zeros(arena.size, arena.dtype)
                self._fresh[index].add(name)

    def __setstate__(self, state: dict) -> None:
        """Unpickling (and deepcopy): the Parameters come back with arrays of their own; point them into the
        restored arenas again (same values), so that the optimizer goes on updating what the model uses."""
        self.__dict__.update(state)
        for group, (data, grad) in zip(self.param_groups, self._arenas):
            offset = 0
            for p in group["params"]:
                k = p.size
                np.copyto(data[offset:offset + k], p.data.reshape(-1))
                np.copyto(grad[offset:offset + k], p.grad.reshape(-1))
                view = (data[offset:offset + k].reshape(p.shape), grad[offset:offset + k].reshape(p.shape))
                if p._owners:
                    p._owners.add(self)
                    p._data, p._grad = view
                else:
                    p._bind(*view, self)
                offset += k

    # ---- subclass hooks ----
    def _validate(self, group: dict) -> None:
        check_number(type(self).__name__, "lr", group.get("lr"))

    def _buffer_names(self, group: dict) -> list[str]:
        return []

    def _step_group(self, group: dict, data: np.ndarray, grad: np.ndarray, state: dict, fresh: set[str]) -> None:
        raise NotImplementedError

    # ---- public ----
    def step(self) -> None:
        """One update of every group: one C call per group over its flat buffers."""
        for i, group in enumerate(self.param_groups):
            self._ensure_buffers(i)
            state = self._state[i]
            state["step"] += 1
            fresh = self._fresh[i]
            data, grad = self._arenas[i]
            for p in group["params"]:
                if p._grad_zero:  # marked by zero_grad and not written since: the kernel reads zeros
                    p._zero_grad(set_to_none=False)
            self._step_group(group, data, grad, state, fresh)
            if fresh:
                self._fresh[i] = set()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every gradient to zero: marked (it reads as zeros; a Linear weight's next backward writes it;
        see Parameter), or with ``set_to_none=False`` one fill of each group's gradient buffer now."""
        if set_to_none:
            for group in self.param_groups:
                for p in group["params"]:
                    p._zero_grad(True)
            return
        for _, grad in self._arenas:
            grad.view(np.uint8).fill(0)  # zero bytes are +0.0: one memset
        for group in self.param_groups:
            for p in group["params"]:
                p._grad_written()

    def state_dict(self) -> dict:
        """Copies of the state, PyTorch's layout: ``{"state": {i: {...}}, "param_groups": [...]}``.

        Parameters are numbered across groups in order; each one's state holds
        ``step`` and its slice of every buffer (shaped like the parameter).
        """
        state: dict[int, dict] = {}
        groups = []
        index = 0
        for group, st in zip(self.param_groups, self._state):
            ids = []
            offset = 0
            for p in group["params"]:
                entry: dict[str, Any] = {"step": st["step"]}
                for name, buf in st.items():
                    if name != "step":
                        entry[name] = buf[offset:offset + p.size].reshape(p.shape).copy()
                state[index] = entry
                ids.append(index)
                offset += p.size
                index += 1
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and state from ``state_dict()`` (or a ``torch.optim`` optimizer's of the same
        algorithm); resuming is bit-identical.

        The whole dict is checked (settings, which state buffers belong to this optimizer, their
        shapes and dtypes, step counts) before anything changes: a bad state leaves the optimizer as
        it was. PyTorch's ``foreach``/``fused``/``capturable`` are accepted (they change how, not what,
        it computes); ``maximize=True`` and ``differentiable=True`` are refused (not implemented).

        Raises:
            TypeError: a setting or buffer of the wrong type (a string for lr, a complex buffer).
            ValueError: another optimizer's state, a setting out of range, a buffer of the wrong
                shape, a step count that is not an integer in [0, 2**53].
        """
        self._apply_load(self._checked_load(state_dict))

    def _apply_load(self, plan: list[tuple[dict, dict[str, list], int]]) -> None:
        """Write what ``_checked_load`` returned: nothing here can fail."""
        for g, (group, values, step) in enumerate(plan):
            self.param_groups[g].clear()
            self.param_groups[g].update(group)
            self._ensure_buffers(g)
            state = self._state[g]
            fresh = set()
            for name, buf in state.items():
                if name == "step":
                    continue
                got = values.get(name)
                if got is None:
                    fresh.add(name)  # no parameter brings it: written for the first time by the next step
                offset = 0
                for k, p in enumerate(group["params"]):
                    if got is None or got[k] is None:
                        buf[offset:offset + p.size] = 0
                    else:
                        buf[offset:offset + p.size] = got[k].reshape(-1)
                    offset += p.size
            self._fresh[g] = fresh
            state["step"] = step

    # PyTorch's group flags: how it computes (accepted, not kept), and options pydtrain does not implement
    _TORCH_HOW = ("foreach", "fused", "capturable")
    _TORCH_UNSUPPORTED = {"maximize": "to maximize f, minimize -f", "differentiable": "no autograd through a step"}
    _torch_fixed: dict[str, Any] = {}  # a torch flag whose value names the algorithm (Adam's decoupled_weight_decay)
    _torch_aliases: dict[str, str] = {}  # a torch setting's name -> ours (RMSprop's alpha -> beta)
    _state_names: tuple[str, ...] = ()  # every buffer this optimizer can keep, whatever its settings

    def _checked_load(self, state_dict: Any) -> list[tuple[dict, dict[str, list], int]]:
        """Per group: (the new group dict, buffer name -> one value (or None) per parameter, step), all checked."""
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not isinstance(state_dict.get("param_groups"), (list, tuple)) \
                or not isinstance(state_dict.get("state"), dict):
            raise TypeError(f"{who}: expected a dict {{'state': {{...}}, 'param_groups': [...]}} as state_dict() "
                            f"returns, got {type(state_dict).__name__}")
        groups, entries = state_dict["param_groups"], state_dict["state"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{who}: {len(groups)} groups in the state, {len(self.param_groups)} here")
        for saved, group in zip(groups, self.param_groups):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)):
                raise TypeError(f"{who}: each group of the state must be a dict with a 'params' list")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{who}: a group has {len(saved['params'])} parameters in the state, "
                                 f"{len(group['params'])} here")
        plan = []
        for g, (saved, group) in enumerate(zip(groups, self.param_groups)):
            new = self._checked_group(who, g, saved, group)
            values: dict[str, list] = {}
            steps = set()
            for k, (i, p) in enumerate(zip(saved["params"], group["params"])):
                entry = entries.get(i, {})
                if not isinstance(entry, dict):
                    raise TypeError(f"{who}: the state of parameter {i} must be a dict, got {type(entry).__name__}")
                steps.add(_step_count(who, i, entry.get("step", 0)))
                for name, value in entry.items():
                    if name == "step":
                        continue
                    if name not in self._state_names:
                        raise ValueError(f"{who}: the state of parameter {i} holds '{name}', which "
                                         f"{type(self).__name__} does not keep (its buffers: "
                                         f"{', '.join(self._state_names)}); is it another optimizer's state?")
                    values.setdefault(name, [None] * len(group["params"]))[k] = _buffer_value(who, i, name, value, p)
            if len(steps) > 1:
                raise ValueError(f"{who}: the parameters of a group have different step counts {sorted(steps)}")
            plan.append((new, values, steps.pop()))
        return plan

    def _checked_group(self, who: str, g: int, saved: dict, group: dict) -> dict:
        """The group dict ``group`` becomes with ``saved``'s settings, validated."""
        new = dict(group)
        name = type(self).__name__
        for key, value in saved.items():
            if key == "params" or key in self._TORCH_HOW:
                continue
            if key in self._TORCH_UNSUPPORTED:
                if value:
                    raise ValueError(f"{who}: the state sets {key}={value!r}, which pydtrain's {name} does not "
                                     f"implement ({self._TORCH_UNSUPPORTED[key]}); only {key}=False loads")
                continue
            if key in self._torch_fixed:
                if value != self._torch_fixed[key]:
                    raise ValueError(f"{who}: the state has {key}={value!r}, another algorithm than this "
                                     f"{name} ({key}={self._torch_fixed[key]!r}); load it into the optimizer it "
                                     "was saved from")
                continue
            if key in self._torch_aliases and self._torch_aliases[key] not in saved:
                key = self._torch_aliases[key]
            elif key not in self.defaults and key not in group and key != "initial_lr":
                raise ValueError(f"{who}: group {g} of the state has '{key}', which is not a {name} setting (its "
                                 f"settings: {', '.join(self.defaults)}); is it another optimizer's state?")
            new[key] = value
        try:
            self._validate(new)
            if "initial_lr" in new:
                check_number(name, "initial_lr", new["initial_lr"])
        except (TypeError, ValueError) as e:
            raise type(e)(f"{who}: group {g} of the state: {e}") from None
        return new


_MAX_STEP = 2**53  # step counts beyond this are not integers in a float (PyTorch keeps them in one)


def _step_count(who: str, i: Any, value: Any) -> int:
    """A saved step count (an int, or a float or 0-d tensor holding one) as an int in [0, 2**53]."""
    if isinstance(value, int) and not isinstance(value, bool):
        n: Any = value  # any size: NumPy would hold one beyond 64 bits as an object
    else:
        try:
            v = np.asarray(value)
        except (TypeError, ValueError, RuntimeError):
            v = np.asarray(None)
        if v.shape != () or v.dtype.kind not in "iuf":
            raise TypeError(f"{who}: the step count of parameter {i} must be an integer, got {type(value).__name__} "
                            f"{value!r}")
        n = v.item()
    if not (0 <= n <= _MAX_STEP and float(n).is_integer()):
        raise ValueError(f"{who}: the step count of parameter {i} must be an integer in [0, 2**53], got {n!r}")
    return int(n)


def _buffer_value(who: str, i: Any, name: str, value: Any, p: Parameter) -> np.ndarray:
    """A saved state buffer of parameter i as an array of p's shape whose values fit p's dtype."""
    a = _checks.loadable_array(f"{who}: state '{name}' of parameter {i}", value, p.dtype)
    if a.shape != p.shape:
        raise ValueError(f"{who}: state '{name}' of parameter {i} has shape {a.shape}, the parameter {p.shape}")
    return a
