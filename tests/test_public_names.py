"""Every public module says what it exports (__all__), and every name it lists exists."""
import importlib
import pkgutil

import pytest

import pydtrain


def _public_modules():
    names = ["pydtrain"]
    for info in pkgutil.walk_packages(pydtrain.__path__, "pydtrain."):
        if not any(part.startswith("_") for part in info.name.split(".")) and ".bench" not in info.name:
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _public_modules())
def test_public_module_defines_all_and_every_name_exists(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == [], f"{name}.__all__ lists missing names {missing}"
    namespace: dict = {}
    exec(f"from {name} import *", namespace)
    assert not {"np", "math", "tqdm", "Optional", "Any"} & set(namespace), f"{name} exports helpers it imported"
