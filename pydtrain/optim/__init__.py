"""Optimizers, schedules, clipping and weight averaging (``pydtrain.optim``)."""
from . import lr_scheduler
from .adam import Adam, AdamW
from .averaging import EMA, SWA
from .clip import clip_grad_norm_, clip_grad_value_, grad_norm
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "clip_grad_norm_", "clip_grad_value_", "grad_norm", "EMA", "SWA",
           "lr_scheduler"]
