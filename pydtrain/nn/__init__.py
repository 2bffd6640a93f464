"""Layers, activations, containers and losses (``pydtrain.nn``)."""
from .module import Module, Parameter
from .linear import Linear
from .activation import ReLU, Sigmoid, Tanh, LeakyReLU, ELU, SELU, GELU, SiLU, Softplus, Softmax, LogSoftmax
from .containers import Sequential, ModuleList, Residual, MultiTask, Ensemble, Flatten
from .dropout import Dropout, Dropout2d
from .conv import Conv2d
from .pool import MaxPool2d, AvgPool2d, AdaptiveAvgPool2d
from .blocks import BasicBlock
from .noise import GaussianNoise
from .norm import BatchNorm, BatchNorm1d, BatchNorm2d, LayerNorm, recompute_bn_stats
from .loss import CrossEntropyLoss, BCEWithLogitsLoss, MSELoss, MultiTaskLoss, NLLLoss

__all__ = [
    "Module", "Parameter", "Linear",
    "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Softplus", "Softmax", "LogSoftmax",
    "Sequential", "ModuleList", "Residual", "MultiTask", "Ensemble", "Flatten",
    "Dropout", "Dropout2d", "GaussianNoise",
    "BatchNorm", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "recompute_bn_stats",
    "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BasicBlock",
    "CrossEntropyLoss", "BCEWithLogitsLoss", "MSELoss", "MultiTaskLoss", "NLLLoss",
]
