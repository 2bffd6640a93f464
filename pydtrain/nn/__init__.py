"""Layers, activations, containers and losses (``pydtrain.nn``)."""
from .module import Module, Parameter
from .linear import Linear
from .activation import ReLU
from .containers import Sequential
from .loss import CrossEntropyLoss

__all__ = ["Module", "Parameter", "Linear", "ReLU", "Sequential", "CrossEntropyLoss"]
from .containers import ModuleList, Residual, MultiTask, Ensemble, Flatten
from .dropout import Dropout
from .noise import GaussianNoise
from .norm import BatchNorm, BatchNorm1d, BatchNorm2d, LayerNorm, recompute_bn_stats

__all__ += ["ModuleList", "Residual", "MultiTask", "Ensemble", "Flatten", "Dropout", "GaussianNoise",
            "BatchNorm", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "recompute_bn_stats"]
