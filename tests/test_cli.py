"""Tests of the command line, ``python -m pydtrain``."""

import importlib.util
import re
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

import pydtrain
from pydtrain.__main__ import main

# The folder holding the pydtrain under test (the source tree or site-packages), so that
# ``python -m pydtrain`` in the child imports the same package as this process.
ROOT = Path(pydtrain.__file__).resolve().parents[1]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs ``python -m pydtrain ARGS`` next to the package under test."""
    return subprocess.run(
        [sys.executable, "-m", "pydtrain", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )


def test_train_one_epoch():
    result = run("train", "--epochs", "1", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bars
    assert "epoch 1/1" in result.stdout
    assert re.search(r"^test accuracy: 0\.\d{3}$", result.stdout, re.MULTILINE)


@pytest.mark.parametrize("dataset", ["moons", "spirals"])
def test_train_on_toy_data_sets(dataset):
    result = run("train", "--dataset", dataset, "--epochs", "2", "--hidden", "16", "16",
                 "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "test accuracy:" in result.stdout


def test_default_train_reaches_95_percent_on_digits():
    start = time.perf_counter()
    result = run("train", "--no-progress")
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"^test accuracy: ([0-9.]+)$", result.stdout, re.MULTILINE)[1])
    assert accuracy >= 0.95, result.stdout
    assert elapsed < 60


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--lr", "-1"],
        ["train", "--epochs", "0"],
        ["train", "--epochs", "many"],
        ["train", "--batch-size", "0"],
        ["train", "--hidden", "0"],
        ["train", "--dropout", "1.5"],
        ["train", "--activation", "nope"],
        ["train", "--optimizer", "nope"],
        ["train", "--dataset", "mnist"],
        ["train", "--seed", "-2"],
        ["train", "--l2", "-0.1"],
        ["train", "--l1", "nan"],
        ["train", "--weight-noise", "-1"],
        ["train", "--weight-noise", "inf"],
        ["train", "--early-stopping", "-1"],
        ["train", "--early-stopping", "2.5"],
        ["train", "--augment", "--dataset", "moons"],
        ["train", "--plot", "/no/such/folder/plot.png"],
        ["train", "--bogus"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_options_give_one_line_and_exit_code_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0], result.stderr
    assert result.stdout == ""


def test_train_with_regularization_and_early_stopping():
    result = run("train", "--epochs", "40", "--no-progress", "--l2", "1e-3", "--l1", "1e-5",
                 "--weight-noise", "0.01", "--early-stopping", "2")
    assert result.returncode == 0, result.stderr
    assert "regularization: L2(lam=0.001), L1(lam=1e-05), WeightNoise(std=0.01), early stopping (patience 2)" \
        in result.stdout
    stopped = re.search(r"^early stopping: stopped after epoch (\d+); best val_loss [0-9.]+ at epoch (\d+)",
                        result.stdout, re.MULTILINE)
    assert stopped and int(stopped[1]) < 40 and int(stopped[2]) == int(stopped[1]) - 2, result.stdout
    assert f"epoch {int(stopped[1]) + 1}/40" not in result.stdout
    assert float(re.search(r"^test accuracy: ([0-9.]+)$", result.stdout, re.MULTILINE)[1]) > 0.9


def test_train_with_augmentation():
    result = run("train", "--epochs", "15", "--no-progress", "--augment")
    assert result.returncode == 0, result.stderr
    assert "regularization: augmentation (rotations <= 10 degrees)" in result.stdout
    assert float(re.search(r"^test accuracy: ([0-9.]+)$", result.stdout, re.MULTILINE)[1]) > 0.9


def test_plot(tmp_path):
    path = tmp_path / "history.png"
    result = run("train", "--epochs", "2", "--no-progress", "--plot", str(path))
    if importlib.util.find_spec("matplotlib") is None:
        assert result.returncode == 2 and "matplotlib" in result.stderr
        assert "Traceback" not in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert path.stat().st_size > 0


def test_diverging_training_ends_with_a_message():
    result = run("train", "--lr", "1e6", "--epochs", "3", "--no-progress")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "learning rate" in result.stderr


def test_info():
    result = run("info")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_help():
    result = run("train", "--help")
    assert result.returncode == 0
    assert "--hidden" in result.stdout and "--dropout" in result.stdout


def test_bench_gets_the_remaining_arguments(monkeypatch):
    received = []
    fake = types.ModuleType("pydtrain.bench")
    fake.main = lambda argv: received.append(argv) or 3
    monkeypatch.setitem(sys.modules, "pydtrain.bench", fake)
    monkeypatch.setattr(pydtrain, "bench", fake, raising=False)
    assert main(["bench", "--quick", "gemm"]) == 3
    assert received == [["--quick", "gemm"]]
