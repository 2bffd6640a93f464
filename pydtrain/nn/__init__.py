"""Layers, activations, containers and losses (``pydtrain.nn``)."""
from .module import Module, Parameter
from .linear import Linear
from .activation import ReLU
from .containers import Sequential
from .loss import CrossEntropyLoss

__all__ = ["Module", "Parameter", "Linear", "ReLU", "Sequential", "CrossEntropyLoss"]
from .activation import Sigmoid, Tanh, LeakyReLU, ELU, SELU, GELU, SiLU, Softplus
from .loss import BCEWithLogitsLoss, MSELoss

__all__ += ["Sigmoid", "Tanh", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Softplus",
            "BCEWithLogitsLoss", "MSELoss"]
