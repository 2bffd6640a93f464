"""Module and Parameter: the objects every layer is built from.

A Module computes ``forward(x)`` (caching what its backward needs) and
``backward(dy) -> dx``, which also accumulates the gradients of its
parameters into ``p.grad``. There is no autograd engine: containers call
their children's backward in reverse order, as the lecture derives
backpropagation.
"""
from __future__ import annotations

import itertools
import sys
import threading
import weakref
from collections import OrderedDict
from typing import Any, Iterator, Optional

import numpy as np

from .. import _checks

__all__ = ["Module", "Parameter", "as_array_view", "check_input"]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_pass = threading.local()  # per thread: the id and outermost module of the forward pass under way
_pass_ids = itertools.count(1)  # process-wide, so a module run from two threads never sees one id twice


def _raise_reused(root: "Module", module: "Module") -> None:
    name = next((n for n, m in root.named_modules() if m is module), "")
    cls = type(module).__name__
    where = f"the {cls} module '{name}'" if name else f"a {cls} module (not a child of {type(root).__name__})"
    raise ValueError(
        f"{type(root).__name__}: {where} ran twice in one forward pass; a layer keeps what its backward needs "
        f"from its last forward, so the first use's gradient would be wrong. Give each use its own instance "
        f"(e.g. nn.{cls}() again), or call model.eval() when no backward follows")


class Parameter:
    """A trainable array with its gradient.

    Attributes:
        data: the values (float32 or float64 ndarray, C-contiguous).
        grad: the gradient, same shape and dtype, starting at zeros.
        name: an optional label (set by the module that owns it).

    Hold the Parameter, not its arrays: an optimizer moves ``data`` and
    ``grad`` into one flat buffer and leaves views here. From then on,
    assigning ``p.data = values`` copies the values into that view (same shape
    required), so the optimizer keeps updating what the model uses.

    ``zero_grad()`` (``set_to_none=True``, after PyTorch's default) only marks
    the gradient as zero: reading ``p.grad`` then fills the array with zeros,
    and a Linear layer's backward writes its weight gradient (dyᵀ·x with
    β = 0) instead of adding to it, which saves a pass over every gradient per
    step; an optimizer step treats a gradient still marked as zeros (momentum
    and weight decay still move that parameter, where PyTorch skips a None
    gradient). An array fetched from ``p.grad`` before ``zero_grad()`` is not
    zeroed: until the gradient is next used (read through ``p.grad``, written
    by a backward, or stepped), writes into it are discarded; after that it is
    the gradient again. Fetch ``p.grad`` after ``zero_grad()``, or call
    ``zero_grad(set_to_none=False)`` to fill every gradient with zeros at once.
    """

    __slots__ = ("_data", "_grad", "name", "_owners", "_grad_zero")
    __array_ufunc__ = None  # NumPy's operators hand `x @ p` to __rmatmul__ below, which says what to write

    def __init__(self, data: np.ndarray, name: Optional[str] = None) -> None:
        self._owners: Optional[weakref.WeakSet] = None
        self._data = self._checked(data, "data")
        self._grad = np.zeros_like(self._data)
        self._grad_zero = False  # the gradient is zero whatever its array holds (set by zero_grad)
        self.name = name

    @staticmethod
    def _checked(value: Any, what: str) -> np.ndarray:
        if not isinstance(value, np.ndarray):
            raise TypeError(f"Parameter {what} must be a numpy.ndarray, got {type(value).__name__}")
        _checks.refuse_masked_or_matrix(f"Parameter {what}", value)
        if value.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"Parameter {what} must be float32 or float64, got {value.dtype}")
        return value if value.flags.c_contiguous else value.copy(order="C")  # a 0-d array stays 0-d

    def _assign(self, attr: str, value: Any) -> None:
        current = getattr(self, attr)
        _checks.refuse_masked_or_matrix(f"Parameter {attr[1:]}", value)
        if self.in_arena():
            value = np.asarray(value)
            if value.shape != current.shape:
                raise ValueError(
                    f"Parameter {self.name!r} lives in an optimizer's flat buffer: assign an array of its shape "
                    f"{current.shape} (got {value.shape}) — its values are copied in place"
                )
            np.copyto(current, value, casting="same_kind")
        else:
            object.__setattr__(self, attr, self._checked(value, attr[1:]))

    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, value: np.ndarray) -> None:
        self._assign("_data", value)

    @property
    def grad(self) -> np.ndarray:
        if self._grad_zero:
            self._grad.fill(0)
            self._grad_zero = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        self._assign("_grad", value)
        self._grad_zero = False

    def _zero_grad(self, set_to_none: bool) -> None:
        """Mark the gradient as zero (the array is filled or overwritten when next used), or fill it now."""
        if set_to_none:
            self._grad_zero = True
        else:
            self._grad.fill(0)
            self._grad_zero = False

    def _grad_for_write(self) -> tuple[np.ndarray, float]:
        """The gradient array and the β of a kernel that adds into it: 0 (write over the stale array) after
        zero_grad. Call ``_grad_written()`` once the kernel has written it."""
        return self._grad, 0.0 if self._grad_zero else 1.0

    def _grad_written(self) -> None:
        self._grad_zero = False

    def in_arena(self) -> bool:
        """Whether a live optimizer holds this parameter's values in its flat buffer."""
        return bool(self._owners)

    def _bind(self, data: np.ndarray, grad: np.ndarray, owner: Any) -> None:
        """Point at views of an optimizer's flat buffers (the optimizer's side of the arena)."""
        self._data, self._grad = data, grad
        self._owners = weakref.WeakSet([owner])

    def __getattr__(self, name: str) -> Any:
        """Only reached for a missing attribute: an array's (``.T``, ``.reshape``) gets a message saying what to write."""
        if not name.startswith("__") and hasattr(np.ndarray, name):
            raise AttributeError(
                f"'Parameter' object has no attribute {name!r}: a Parameter holds its array in .data and its gradient "
                f"in .grad; write self.W.data.{name} in forward and add into self.W.grad in backward")
        raise AttributeError(f"'Parameter' object has no attribute {name!r}")

    def _no_arithmetic(self, *args: Any) -> Any:
        raise TypeError("Parameter: arithmetic on a Parameter itself; use its array: x @ self.W.data.T + self.b.data "
                        "in forward, and add the gradients into self.W.grad and self.b.grad in backward")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __matmul__ = __rmatmul__ = _no_arithmetic
    __truediv__ = __rtruediv__ = __neg__ = __pow__ = _no_arithmetic

    def __getstate__(self) -> dict:
        """Pickle and deepcopy: the arrays, name and zero mark; not the optimizers that hold it (an optimizer
        pickled along with it binds it again)."""
        return {"data": self._data, "grad": self._grad, "name": self.name, "grad_zero": self._grad_zero}

    def __setstate__(self, state: dict) -> None:
        self._data, self._grad, self.name = state["data"], state["grad"], state["name"]
        self._grad_zero, self._owners = state["grad_zero"], None

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def size(self) -> int:
        return self._data.size

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"Parameter{label}(shape={self._data.shape}, dtype={self._data.dtype})"


class Module:
    """Base class of layers and containers.

    Subclasses set parameters, sub-modules and buffers as attributes (they are
    registered by type, like PyTorch's), and implement ``forward`` and
    ``backward``. Writing your own layer, the contract:

    - ``forward(x)`` computes y from ``p.data`` (the Parameter's array) and keeps in
      ``self`` what backward needs (x, masks…); it runs once per backward, so one
      instance is used once per forward pass (``nn.Sequential`` refuses a repeated one,
      ``fit`` a module run twice in its first forward).
    - ``backward(dy)`` adds each parameter's gradient into ``p.grad``
      (``self.W.grad += dy.T @ x``: accumulate, never assign) and returns dL/dx.
    - Check it against finite differences: ``diagnostics.gradcheck(layer, x)``.

    Example:
        >>> class Affine(nn.Module):
        ...     def __init__(self, n_in, n_out):
        ...         super().__init__()
        ...         self.W = nn.Parameter(np.random.randn(n_out, n_in) * 0.1)
        ...         self.b = nn.Parameter(np.zeros(n_out))
        ...     def forward(self, x):
        ...         self.x = x
        ...         return x @ self.W.data.T + self.b.data
        ...     def backward(self, dy):
        ...         self.W.grad += dy.T @ self.x
        ...         self.b.grad += dy.sum(axis=0)
        ...         return dy @ self.W.data
    """

    # set in __init__ (through object.__setattr__, before registration can run)
    _parameters: OrderedDict[str, Parameter]
    _modules: OrderedDict[str, Module]
    _buffers: OrderedDict[str, np.ndarray]
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if (name in d and not isinstance(value, (Parameter, Module)) and "_buffers" in d
                and name not in d["_parameters"] and name not in d["_modules"] and name not in d["_buffers"]):
            # a plain attribute replaced by a plain value (a layer's cache, on every forward):
            # nothing to register or forget, so straight into the instance dict (a class-level
            # data descriptor of that name would have kept it out of the dict)
            d[name] = value
            return
        if "_parameters" not in d:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() before setting attributes")
        if isinstance(value, Parameter):
            self._forget(name)
            if value.name is None:
                value.name = name
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            self._modules[name] = value
        elif name in self._buffers:
            self._buffers[name] = value  # a buffer stays a buffer when reassigned
        elif name in self._parameters or name in self._modules:
            self._forget(name)
        object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """An array that is state but not trained (e.g. running statistics); saved in state_dict."""
        self.__setattr__(name, value)
        self._buffers[name] = value

    # ---- computation ----
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, dy):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, *args, **kwargs):
        """``forward``, refusing a module that runs twice in one forward pass while training.

        A pass is one outermost module call. A layer keeps what its backward needs from its
        last forward, so a second run in the same pass would make the first use's gradient
        wrong without a word; in eval mode (no backward follows) reuse is allowed.
        """
        local = _pass
        current = getattr(local, "id", 0)
        d = self.__dict__
        if current == 0:  # the outermost call: a new pass
            local.id = d["_forward_pass"] = next(_pass_ids)
            local.root = self
            try:
                return self.forward(*args, **kwargs)
            finally:
                local.id, local.root = 0, None
        if d.get("_forward_pass") == current and self.training:
            _raise_reused(local.root, self)
        d["_forward_pass"] = current
        return self.forward(*args, **kwargs)

    # ---- parameters ----
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) for this module and every sub-module, each Parameter once."""
        seen: set[int] = set()
        out = []
        for name, module in self.named_modules(prefix):
            for pname, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append(((f"{name}.{pname}" if name else pname), p))
        return iter(out)

    def parameters(self) -> list[Parameter]:
        """Every Parameter of the module tree, in registration order."""
        return [p for _, p in self.named_parameters()]

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """(dotted name, Module) for this module and its descendants, depth first."""
        out = []
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            out.append((name, module))
            children = [(f"{name}.{c}" if name else c, m) for c, m in module._modules.items()]
            stack.extend(reversed(children))
        return iter(out)

    def modules(self) -> list["Module"]:
        return [m for _, m in self.named_modules()]

    def children(self) -> list["Module"]:
        return list(self._modules.values())

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's gradient to zero: marked (it reads as zeros; a Linear weight's next backward
        writes it; see Parameter), or with ``set_to_none=False`` filled with zeros now."""
        for p in self.parameters():
            p._zero_grad(set_to_none)

    # ---- mode ----
    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout and noise active, batch statistics); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Inference mode; returns self."""
        return self.train(False)

    # ---- state ----
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter and buffer, keyed as PyTorch keys the same layers."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, module in self.named_modules():
            dot = f"{name}." if name else ""
            for pname, p in module._parameters.items():
                out[dot + pname] = p.data.copy()
            for bname in module._buffers:
                out[dot + bname] = np.array(getattr(module, bname), copy=True)
        return out

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy values into the existing arrays (views stay valid); all of them or, on an error, none.

        Every value is read and checked (shape, dtype) before the first one is copied, so
        a bad state leaves the model as it was.

        Args:
            state: name -> array, as from ``state_dict()`` or a PyTorch model's
                (converted with ``.numpy()``), or an ``np.load``-ed ``.npz`` file.
            strict: missing or unexpected keys raise ``KeyError``.

        Raises:
            KeyError: missing or unexpected keys (``strict``).
            ValueError: a value of the wrong shape, or one that cannot be read (a damaged ``.npz`` member).
            TypeError: a value whose dtype cannot go into the model's array (complex, object, bfloat16…).
        """
        self._write_state(self._checked_state(state, strict))

    @staticmethod
    def _write_state(pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Copy what ``_checked_state`` returned: nothing here can fail."""
        for target, value in pairs:
            np.copyto(target, value, casting="same_kind")

    def _checked_state(self, state: dict, strict: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
        """(model array, value) for each key of ``state`` that the model has, every value read and checked."""
        own: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, module in self.named_modules():
            dot = f"{name}." if name else ""
            for pname, p in module._parameters.items():
                own[dot + pname] = p.data
            for bname in module._buffers:
                own[dot + bname] = getattr(module, bname)
        if strict:
            missing = [k for k in own if k not in state]
            unexpected = [k for k in state if k not in own]
            if missing or unexpected:
                raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        pairs = []
        for key, target in own.items():
            if key not in state:
                continue
            value = _state_value(key, state, target)
            if value.shape != target.shape:
                raise ValueError(f"load_state_dict: '{key}' has shape {value.shape}, the model expects {target.shape}")
            pairs.append((target, value))
        return pairs

    # ---- printing ----
    def summary(self, input_shape: tuple[int, ...]) -> str:
        """Prints a table of layers, output shapes, parameter counts, totals and memory (``diagnostics.summary``).

        Args:
            input_shape: One example's shape, without the batch axis, e.g. ``(64,)``.
        """
        from ..diagnostics import summary  # diagnostics builds on nn

        return summary(self, input_shape)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self._modules:
            for name, child in self._modules.items():
                child_repr = repr(child).replace("\n", "\n  ")
                lines.append(f"\n  ({name}): {child_repr}")
            lines.append("\n")
        return "".join(lines) + ")"


def _sole_refcount() -> int:
    """What ``sys.getrefcount`` reads in ``_Outputs.get`` for an array only its list holds."""
    kept = [np.empty(0)]
    for a in kept:
        return sys.getrefcount(a)
    raise AssertionError("unreachable")


_SOLE = _sole_refcount()

# Outputs below this size are left to the binding: malloc serves them from memory the process
# already has (glibc's smallest mmap threshold), and reusing one would only add the lookup (~0.2 us).
_REUSE_MIN_BYTES = 128 << 10


class _Outputs:
    """The output arrays of a layer, written again by its next calls once nobody else holds them.

    A fresh output array costs a pass over memory before the kernel writes it (the OS
    zeroes each new page: about 0.7 ms per 16 MB, as long as a LayerNorm forward), so
    a layer keeps the last ``depth`` arrays it returned under each name and reuses one
    whose reference count shows that only this table holds it: the caller has dropped
    the result and every view of it (NumPy elides its temporaries by the same test).
    Two per name let a forward output alternate while the next layer still caches the
    previous one for its backward. The price: a layer keeps up to ``depth`` arrays of
    each output alive between calls. A weak reference does not count as holding: an
    output observed only through ``weakref`` may be written again.
    """

    enabled = True  # set at import by _reuse_works(): False turns reuse off on this interpreter

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth
        self._kept: dict[str, list[np.ndarray]] = {}

    def get(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """An uninitialized C-contiguous array of ``shape`` and ``dtype``: a free kept one, else a new one."""
        if not _Outputs.enabled:
            return np.empty(shape, dtype)
        kept = self._kept.setdefault(name, [])
        for a in kept:
            if sys.getrefcount(a) <= _SOLE and a.shape == shape and a.dtype == dtype:
                return a
        a = np.empty(shape, dtype)
        kept.insert(0, a)
        del kept[self.depth:]
        return a

    def large(self, name: str, shape: tuple, dtype, nbytes: int) -> Optional[np.ndarray]:
        """``get(name, shape, dtype)`` for an output of ``nbytes`` >= 128 KiB; None (a new array from the binding) below."""
        return self.get(name, shape, dtype) if nbytes >= _REUSE_MIN_BYTES else None


def _reuse_works() -> bool:
    """Whether ``_Outputs``' reference-count test reads right on this interpreter.

    ``_SOLE`` is measured in another function; an interpreter that counts references
    differently (borrowed stack references, free-threaded builds) could make a held
    array look free. So: a held array must not come back, a dropped one must.
    """
    probe = _Outputs()
    held = probe.get("y", (1,), np.float32)
    dropped = id(probe.get("y", (1,), np.float32))
    again = probe.get("y", (1,), np.float32)
    return again is not held and id(again) == dropped


_Outputs.enabled = _reuse_works()


def _state_value(key: str, state: Any, target: np.ndarray) -> np.ndarray:
    """``state[key]`` read as an array that fits ``target``'s dtype; TypeError/ValueError naming the key."""
    try:
        raw = state[key]  # an .npz member is read (and its CRC checked) here
    except Exception as e:  # zipfile.BadZipFile, a bad .npy header, a truncated file...
        raise ValueError(f"load_state_dict: '{key}' cannot be read ({type(e).__name__}: {e})") from e
    return _checks.loadable_array(f"load_state_dict: '{key}'", raw, target.dtype)


def as_array_view(who: str, what: str, x: Any) -> np.ndarray:
    """``x`` as an ndarray when NumPy can view it without a copy (a CPU torch tensor, a buffer); else TypeError.

    A layer's input follows this rule; ``DataLoader`` (hence ``fit``) also converts lists, once.
    """
    _checks.refuse_masked_or_matrix(f"{who}: {what}", x)
    try:
        a = np.asarray(x)
    except (ValueError, TypeError, RuntimeError):  # e.g. a torch tensor that requires grad
        a = None
    if a is None or a.flags.owndata or a.dtype == object:  # owning its data: NumPy made a copy (a list)
        raise TypeError(f"{who}: {what} must be a numpy.ndarray or an array NumPy can view without a copy (e.g. a "
                        f"CPU torch tensor, detached), got {type(x).__name__}; convert it with "
                        "np.asarray(x, dtype=np.float32)") from None
    return a


def check_input(layer: object, x: Any, dtype: Optional[np.dtype] = None) -> np.ndarray:
    """Validate a layer input: a float ndarray of the layer's dtype, made C-contiguous visibly.

    Non-contiguous inputs are copied here, in Python, once (a layer's C kernels
    take contiguous arrays only); any other mismatch raises with a message.
    """
    if type(x) is np.ndarray and (x.dtype is dtype if dtype is not None else x.dtype in _FLOAT_DTYPES) \
            and x.flags.c_contiguous:
        return x  # the common case, checked in one line
    name = type(layer).__name__
    if not isinstance(x, np.ndarray):
        x = as_array_view(name, "input", x)
    _checks.refuse_masked_or_matrix(f"{name}: input", x)
    if x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name}: input must be float32 or float64, got {x.dtype} (convert with x.astype(np.float32))")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(
            f"{name}: the layer's parameters are {np.dtype(dtype).name} but the input is {x.dtype.name}; "
            f"convert with x.astype(np.{np.dtype(dtype).name}) or build the layer with dtype=np.{x.dtype.name}"
        )
    if not x.flags.c_contiguous:
        x = np.ascontiguousarray(x)
    return x
