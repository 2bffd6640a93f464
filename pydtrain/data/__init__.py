"""Data for training: minibatch loading, data sets, and augmentation.

``DataLoader`` cuts arrays into shuffled minibatches; ``StandardScaler`` standardizes
features with the training set's statistics; ``datasets`` holds the shipped
digits, synthetic toy problems and ``train_val_test_split``; ``augment`` holds the
image augmentations (random shifts, flips, crops, noise, rotations) for ``transform=``.
"""

from . import augment, datasets
from .loader import DataLoader
from .preprocessing import StandardScaler

__all__ = ["DataLoader", "StandardScaler", "augment", "datasets"]
