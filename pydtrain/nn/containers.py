"""Containers: modules made of modules."""
from __future__ import annotations

from typing import Iterator, Optional

import numpy as np

from .linear import Linear
from .module import Module

__all__ = ["Ensemble", "Flatten", "ModuleList", "MultiTask", "Residual", "Sequential", "check_unshared"]


def check_unshared(who: str, model: Module) -> None:
    """ValueError when one module instance appears twice in the tree: its second forward would overwrite
    what the first one's backward needs, and the gradient would come out wrong without a word."""
    seen: dict[int, str] = {}
    for name, m in model.named_modules():
        if id(m) in seen:
            cls = type(m).__name__
            raise ValueError(
                f"{who}: one {cls} instance is used twice (as '{seen[id(m)]}' and '{name}'); a layer keeps what its "
                f"backward needs from its last forward, so the second use would make the first one's gradient wrong. "
                f"Give each use its own instance (e.g. nn.{cls}() again)")
        seen[id(m)] = name


class ModuleList(Module):
    """Holds modules under the keys ``0``, ``1``, … (like ``torch.nn.ModuleList``); not callable itself."""

    def __init__(self, modules=()) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"{type(self).__name__}: item {i} must be a Module, got {type(m).__name__}")
            setattr(self, str(i), m)
        check_unshared(type(self).__name__, self)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Runs its modules in order; backward runs their backwards in reverse.

    State-dict keys are prefixed ``0.``, ``1.``, … as in ``torch.nn.Sequential``.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__(modules)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def backward(self, dy, input_grad: bool = True):
        """Backpropagate ``dy`` through every module in reverse; returns dL/dx.

        ``input_grad=False`` tells the first module that dL/dx is not wanted (the
        input is data), so a leading Linear layer skips its dx product, as
        PyTorch does for inputs that do not require a gradient; returns None then.
        """
        modules = list(self._modules.values())
        if not modules:
            return dy if input_grad else None
        for m in reversed(modules[1:]):
            dy = m.backward(dy)
        first = modules[0]
        if not input_grad and isinstance(first, (Linear, Sequential)):
            return first.backward(dy, input_grad=False)
        dx = first.backward(dy)
        return dx if input_grad else None

    def flat_layers(self, prefix: str = "") -> list[tuple[str, Module]]:
        """(state_dict prefix, layer) in the order forward runs them, nested Sequentials entered ("1.0")."""
        out: list[tuple[str, Module]] = []
        for key, m in self._modules.items():
            name = f"{prefix}.{key}" if prefix else key
            out += m.flat_layers(name) if isinstance(m, Sequential) else [(name, m)]
        return out


def _require_module(owner: str, label: str, m) -> Module:
    if not isinstance(m, Module):
        raise TypeError(f"{owner}: {label} must be a Module, got {type(m).__name__}")
    return m


def _module_list(owner: str, label: str, items) -> ModuleList:
    if isinstance(items, Module) or not hasattr(items, "__iter__"):
        raise TypeError(f"{owner}: {label} must be a list of Modules, got {type(items).__name__}")
    items = list(items)
    if not items:
        raise ValueError(f"{owner}: {label} must hold at least one Module")
    for i, m in enumerate(items):
        _require_module(owner, f"{label}[{i}]", m)
    return ModuleList(items)


class Residual(Module):
    """Residual connection (He et al. 2016): ``y = x + F(x)``, or ``y = P(x) + F(x)`` with a projection.

    Args:
        block: F, whose output has the shape of its input, or of ``projection``'s output.
        projection: optional P on the skip path (e.g. ``Linear(in, out)``) for when F
            changes the width; its parameters are learned with the rest.

    Backward sums both paths: ``dx = F.backward(dy) + dy`` (or ``+ P.backward(dy)``).
    State-dict keys ``block.…`` and ``projection.…``.
    """

    def __init__(self, block: Module, projection: Optional[Module] = None) -> None:
        super().__init__()
        self.block = _require_module("Residual", "block", block)
        self.projection = None if projection is None else _require_module("Residual", "projection", projection)

    def forward(self, x):
        fx = self.block(x)
        skip = x if self.projection is None else self.projection(x)
        if np.shape(fx) != np.shape(skip):
            hint = "" if self.projection is not None else "; pass projection= (e.g. a Linear) to match the widths"
            raise ValueError(f"Residual: block output shape {np.shape(fx)} differs from the skip path's "
                             f"{np.shape(skip)}{hint}")
        return fx + skip

    def backward(self, dy):
        dx = self.block.backward(dy)
        return dx + (dy if self.projection is None else self.projection.backward(dy))


class MultiTask(Module):
    """Multi-task learning: one shared trunk, several heads, ``[head_k(trunk(x)) for k]``.

    Args:
        trunk: the shared module.
        heads: a list of modules, one per task, each fed the trunk's output.

    ``forward`` returns a list with one output per head. ``backward`` takes a list with
    one gradient per head (``None`` for a head without a loss this step) and sends
    their sum into the trunk: ``dh = Σ_k head_k.backward(dy_k)``. For a total loss
    ``Σ wₖ·Lₖ`` pass ``wₖ·dLₖ/dy_k`` as the k-th gradient.
    State-dict keys ``trunk.…`` and ``heads.0.…``, ``heads.1.…``.
    """

    def __init__(self, trunk: Module, heads) -> None:
        super().__init__()
        self.trunk = _require_module("MultiTask", "trunk", trunk)
        self.heads = _module_list("MultiTask", "heads", heads)

    def forward(self, x) -> list:
        h = self.trunk(x)
        return [head(h) for head in self.heads]

    def backward(self, dys):
        if isinstance(dys, np.ndarray) or not isinstance(dys, (list, tuple)) or len(dys) != len(self.heads):
            raise ValueError(f"MultiTask: backward takes a list of {len(self.heads)} gradients, one per head, "
                             f"got {type(dys).__name__}" + (f" of length {len(dys)}" if isinstance(dys, (list, tuple)) else ""))
        dh = None
        for head, dy in zip(self.heads, dys):
            if dy is None:
                continue
            g = head.backward(dy)
            dh = g if dh is None else dh + g
        if dh is None:
            raise ValueError("MultiTask: every head gradient is None; nothing to send back")
        return self.trunk.backward(dh)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Ensemble(Module):
    """Averages K members: ``y = (1/K)Σ_k f_k(x)``, or with ``probabilities=True``
    ``y = (1/K)Σ_k softmax(f_k(x))`` (members output logits; the mean of their class
    probabilities along the last axis, as the lecture predicts for classification).

    Args:
        members: a list of modules with outputs of the same shape (e.g. trained with own seeds).
        probabilities: average softmax probabilities instead of raw outputs.

    Backward sends ``dy/K`` to each member (through the softmax when ``probabilities``) and
    returns the sum of their input gradients. State-dict keys ``members.0.…``, ``members.1.…``.
    """

    def __init__(self, members, probabilities: bool = False) -> None:
        super().__init__()
        self.members = _module_list("Ensemble", "members", members)
        self.probabilities = bool(probabilities)
        self._probs: Optional[list] = None

    def forward(self, x):
        outs = [m(x) for m in self.members]
        shapes = {np.shape(o) for o in outs}
        if len(shapes) != 1:
            raise ValueError(f"Ensemble: members' outputs differ in shape: {sorted(shapes)}")
        if self.probabilities:
            outs = [_softmax(o) for o in outs]
            self._probs = outs
        total = outs[0].copy()
        for o in outs[1:]:
            total += o
        total /= len(outs)
        return total

    def backward(self, dy):
        k = len(self.members)
        dx = None
        for i, m in enumerate(self.members):
            g = dy / k
            if self.probabilities:
                if self._probs is None:
                    raise RuntimeError("Ensemble: backward called before forward")
                p = self._probs[i]
                g = p * (g - (g * p).sum(axis=-1, keepdims=True))
            d = m.backward(g)
            dx = d if dx is None else dx + d
        return dx

    def extra_repr(self) -> str:
        return f"probabilities={self.probabilities}" if self.probabilities else ""


class Flatten(Module):
    """Reshapes (N, …) to (N, −1) (a view); backward reshapes the gradient back."""

    def __init__(self) -> None:
        super().__init__()
        self._shape: Optional[tuple] = None

    def forward(self, x):
        if not isinstance(x, np.ndarray) or x.ndim < 1:
            raise ValueError(f"Flatten: input must be an ndarray of shape (N, ...), got {getattr(x, 'shape', type(x).__name__)}")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        if self._shape is None:
            raise RuntimeError("Flatten: backward called before forward")
        return np.reshape(dy, self._shape)
