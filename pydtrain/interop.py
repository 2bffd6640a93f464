"""Moving a model to PyTorch and back, with its weights: for when a network outgrows one CPU.

``to_torch(model)`` builds the equivalent ``torch.nn`` module and ``from_torch(module)``
the pydtrain one. State-dict keys and array layouts are the same in both libraries
(``Linear.weight`` is (out, in), BatchNorm keeps ``running_mean``, ``running_var`` and
``num_batches_tracked``), so the weights move as plain arrays. Supported: ``Sequential``
of Linear, Flatten, the activations, Dropout and Dropout2d (inverted scaling, PyTorch's only
scheme), BatchNorm (1d and 2d), LayerNorm, ``Residual``, Conv2d, MaxPool2d, AvgPool2d,
AdaptiveAvgPool2d(1) and ``BasicBlock`` (so every ``pydtrain.models.resnet``). PyTorch is
optional: these functions import it when called.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import nn

__all__ = ["to_torch", "from_torch"]


def _torch():
    try:
        import torch
    except ImportError as err:
        raise ImportError("pydtrain.interop needs PyTorch: pip install torch") from err
    return torch


@functools.lru_cache(maxsize=None)
def _torch_residual(torch):
    """torch has no residual container: this one computes block(x) + (projection or identity)(x)."""

    class Residual(torch.nn.Module):
        def __init__(self, block, projection=None):
            super().__init__()
            self.block = block
            self.projection = projection

        def forward(self, x):
            return self.block(x) + (x if self.projection is None else self.projection(x))

    return Residual


@functools.lru_cache(maxsize=None)
def _torch_basic_block(torch):
    """torch has no BasicBlock outside torchvision: this one has torchvision's attributes and state-dict keys
    (conv1, bn1, conv2, bn2, downsample) and pydtrain's ``shortcut`` switch for the plain block."""

    class BasicBlock(torch.nn.Module):
        def __init__(self, in_channels, out_channels, stride=1, shortcut=True):
            super().__init__()
            tnn = torch.nn
            self.conv1 = tnn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(out_channels)
            self.relu = tnn.ReLU()
            self.conv2 = tnn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(out_channels)
            self.shortcut = shortcut
            self.downsample = None
            if shortcut and (stride != 1 or in_channels != out_channels):
                self.downsample = tnn.Sequential(tnn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                                 tnn.BatchNorm2d(out_channels))

        def forward(self, x):
            f = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            if self.shortcut:
                f = f + (x if self.downsample is None else self.downsample(x))
            return self.relu(f)

        def extra_repr(self):
            return f"shortcut={self.shortcut}"

    return BasicBlock


_BLOCK_PARTS = ("conv1", "bn1", "conv2", "bn2", "downsample")


# activations whose constructor arguments have the same names in both libraries
_ACTIVATIONS = {
    nn.ReLU: ("ReLU", ()), nn.Sigmoid: ("Sigmoid", ()), nn.Tanh: ("Tanh", ()), nn.SELU: ("SELU", ()),
    nn.SiLU: ("SiLU", ()), nn.LeakyReLU: ("LeakyReLU", ("negative_slope",)), nn.ELU: ("ELU", ("alpha",)),
    nn.GELU: ("GELU", ("approximate",)), nn.Softplus: ("Softplus", ("beta", "threshold")),
}


def _to_torch_layer(m: nn.Module, torch, path: str):
    tnn = torch.nn
    for cls, (name, args) in _ACTIVATIONS.items():
        if type(m) is cls:
            return getattr(tnn, name)(**{a: getattr(m, a) for a in args})
    if isinstance(m, nn.Sequential):
        return tnn.Sequential(*[_to_torch_layer(c, torch, f"{path}.{i}") for i, c in enumerate(m)])
    if isinstance(m, nn.Residual):
        return _torch_residual(torch)(_to_torch_layer(m.block, torch, f"{path}.block"),
                                      None if m.projection is None
                                      else _to_torch_layer(m.projection, torch, f"{path}.projection"))
    if isinstance(m, nn.BasicBlock):
        block = _torch_basic_block(torch)(m.conv1.in_channels, m.conv1.out_channels, m.conv1.stride, m.shortcut)
        for part in _BLOCK_PARTS:  # the layers as they are (eps, momentum, bias), not as the constructor makes them
            child = getattr(m, part)
            setattr(block, part, None if child is None else _to_torch_layer(child, torch, f"{path}.{part}"))
        return block
    if isinstance(m, nn.Linear):
        return tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
    if isinstance(m, nn.Flatten):
        return tnn.Flatten()
    if isinstance(m, nn.Conv2d):
        return tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                          bias=m.bias is not None)
    if isinstance(m, nn.MaxPool2d):
        return tnn.MaxPool2d(m.kernel_size, m.stride, m.padding)
    if isinstance(m, nn.AvgPool2d):
        return tnn.AvgPool2d(m.kernel_size, m.stride, m.padding)
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return tnn.AdaptiveAvgPool2d(1)
    if isinstance(m, nn.Dropout):
        if m.scaling != "inverted":
            raise ValueError(f"to_torch: {path} is Dropout(scaling={m.scaling!r}); PyTorch has only inverted dropout "
                             "(scaling='inverted')")
        return (tnn.Dropout2d if isinstance(m, nn.Dropout2d) else tnn.Dropout)(p=1.0 - m.keep_prob)
    if isinstance(m, nn.BatchNorm):
        torch_bn = tnn.BatchNorm2d if isinstance(m, nn.BatchNorm2d) else tnn.BatchNorm1d
        return torch_bn(m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine)
    if isinstance(m, nn.LayerNorm):
        return tnn.LayerNorm(m.normalized_shape, eps=m.eps, elementwise_affine=m.elementwise_affine)
    raise TypeError(f"to_torch: {path} is a {type(m).__name__}, which has no PyTorch counterpart here; supported: "
                    "Sequential, Residual, BasicBlock, Linear, Flatten, Dropout, Dropout2d, BatchNorm, LayerNorm, "
                    "Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d and the activations")


def to_torch(model: nn.Module) -> Any:
    """The equivalent ``torch.nn`` module, with a copy of the model's weights and buffers.

    Args:
        model: a pydtrain module built from the supported layers (see the module docstring).

    Returns:
        A ``torch.nn.Module`` in the model's dtype (float32 or float64) and train/eval mode.
    """
    torch = _torch()
    if not isinstance(model, nn.Module):
        raise TypeError(f"to_torch: model must be a pydtrain.nn.Module, got {type(model).__name__}")
    module = _to_torch_layer(model, torch, type(model).__name__)
    state = model.state_dict()
    dtypes = {v.dtype for k, v in state.items() if not k.endswith("num_batches_tracked")}
    if dtypes == {np.dtype(np.float64)}:
        module = module.double()
    module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return module.train(model.training)


def _from_torch_layer(m, torch, path: str, dtype) -> nn.Module:
    tnn = torch.nn
    for cls, (name, args) in _ACTIVATIONS.items():
        if type(m) is getattr(tnn, name):
            return cls(**{a: getattr(m, a) for a in args})
    if isinstance(m, tnn.Sequential):
        return nn.Sequential(*[_from_torch_layer(c, torch, f"{path}.{i}", dtype) for i, c in enumerate(m)])
    if isinstance(m, _torch_residual(torch)):
        return nn.Residual(_from_torch_layer(m.block, torch, f"{path}.block", dtype),
                           None if m.projection is None
                           else _from_torch_layer(m.projection, torch, f"{path}.projection", dtype))
    if isinstance(m, _torch_basic_block(torch)):
        block = nn.BasicBlock(m.conv1.in_channels, m.conv1.out_channels, m.conv1.stride[0], m.shortcut, dtype=dtype)
        for part in ("conv1", "bn1", "relu1", "conv2", "bn2", "relu", "downsample"):  # set anew in the block's order
            child = getattr(m, "relu" if part == "relu1" else part)
            setattr(block, part, None if child is None else _from_torch_layer(child, torch, f"{path}.{part}", dtype))
        return block
    if isinstance(m, tnn.Linear):
        return nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=dtype)
    if isinstance(m, tnn.Flatten):
        if m.start_dim != 1 or m.end_dim != -1:
            raise ValueError(f"from_torch: {path} is Flatten(start_dim={m.start_dim}, end_dim={m.end_dim}); "
                             "pydtrain's Flatten keeps the first axis and flattens the rest (1, -1)")
        return nn.Flatten()
    if isinstance(m, (tnn.Dropout, tnn.Dropout2d)):
        drop = nn.Dropout2d if isinstance(m, tnn.Dropout2d) else nn.Dropout
        return drop(rate=m.p) if m.p > 0 else drop(keep_prob=1.0)
    if isinstance(m, tnn.Conv2d):
        return nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                         bias=m.bias is not None, padding_mode=m.padding_mode, dtype=dtype)
    if isinstance(m, tnn.MaxPool2d):
        if m.dilation not in (1, (1, 1)) or m.ceil_mode or m.return_indices:
            raise ValueError(f"from_torch: {path} is MaxPool2d with dilation, ceil_mode or return_indices; "
                             "pydtrain's MaxPool2d has none of them")
        return nn.MaxPool2d(m.kernel_size, m.stride, m.padding)
    if isinstance(m, tnn.AvgPool2d):
        if m.ceil_mode or not m.count_include_pad or m.divisor_override is not None:
            raise ValueError(f"from_torch: {path} is AvgPool2d with ceil_mode, count_include_pad=False or a "
                             "divisor_override; pydtrain's AvgPool2d divides by the window size, padding included")
        return nn.AvgPool2d(m.kernel_size, m.stride, m.padding)
    if isinstance(m, tnn.AdaptiveAvgPool2d):
        return nn.AdaptiveAvgPool2d(m.output_size)
    if isinstance(m, (tnn.BatchNorm1d, tnn.BatchNorm2d)):
        if not m.track_running_stats:
            raise ValueError(f"from_torch: {path} has track_running_stats=False; pydtrain's BatchNorm keeps "
                             "running statistics")
        bn = nn.BatchNorm2d if isinstance(m, tnn.BatchNorm2d) else nn.BatchNorm
        return bn(m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine, dtype=dtype)
    if isinstance(m, tnn.LayerNorm):
        if m.elementwise_affine and m.bias is None:
            raise ValueError(f"from_torch: {path} is LayerNorm(bias=False); pydtrain's LayerNorm has both weight "
                             "and bias or neither")
        return nn.LayerNorm(m.normalized_shape, eps=m.eps, elementwise_affine=m.elementwise_affine, dtype=dtype)
    raise TypeError(f"from_torch: {path} is a torch {type(m).__name__}, which has no pydtrain counterpart here; "
                    "supported: Sequential, Linear, Flatten, Dropout, Dropout2d, BatchNorm1d/2d, LayerNorm, Conv2d, "
                    "MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), the activations and modules made by to_torch "
                    "(Residual, BasicBlock)")


def from_torch(module: Any) -> nn.Module:
    """The equivalent pydtrain module, with a copy of the torch module's weights and buffers.

    Args:
        module: a ``torch.nn.Module`` built from the supported layers, float32 or float64.

    Returns:
        A pydtrain module in the same dtype and train/eval mode.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: module must be a torch.nn.Module, got {type(module).__name__}")
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    dtypes = {v.dtype for k, v in state.items() if not k.endswith("num_batches_tracked")}
    if len(dtypes) > 1 or not dtypes <= {np.dtype(np.float32), np.dtype(np.float64)}:
        raise TypeError(f"from_torch: parameters must all be float32 or all float64, got "
                        f"{sorted(str(d) for d in dtypes)}")
    dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
    model = _from_torch_layer(module, torch, type(module).__name__, dtype)
    model.load_state_dict({k: np.array(v) for k, v in state.items()})
    return model.train(module.training)
