"""Every public module declares __all__, every name in it exists, and ``from module import *`` works."""

import importlib
import pkgutil

import pytest

import pydtrain

PUBLIC = sorted(
    m.name for m in pkgutil.walk_packages(pydtrain.__path__, "pydtrain.")
    if not any(part.startswith("_") for part in m.name.split("."))
) + ["pydtrain"]


@pytest.mark.parametrize("name", PUBLIC)
def test_all_names_exist_and_star_import_works(name):
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names missing attributes: {missing}"
    namespace = {}
    exec(f"from {name} import *", namespace)
    assert set(module.__all__) <= set(namespace)


def test_subpackages_are_attributes():
    for name in ("nn", "optim", "data", "train", "callbacks", "plot", "interop", "diagnostics", "regularizers"):
        assert getattr(pydtrain, name).__name__ == f"pydtrain.{name}"
