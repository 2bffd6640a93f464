"""Tests of the command line, ``python -m pydtrain``."""

import importlib.util
import re
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
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
        ["train", "--init", "zeros"],
        ["train", "--batch-norm", "--layer-norm"],
        ["train", "--weight-decay", "-1"],
        ["train", "--label-smoothing", "1"],
        ["train", "--clip-norm", "0"],
        ["train", "--schedule", "sometimes"],
        ["train", "--schedule", "step", "--step-size", "0"],
        ["train", "--schedule", "exponential", "--gamma", "0"],
        ["train", "--schedule", "cosine", "--lr-min", "-1"],
        ["train", "--schedule", "swa", "--cycle", "0"],
        ["train", "--threads", "0"],
        ["train", "--save", "/no/such/folder/c.npz"],
        ["train", "--resume", "/no/such/file.npz"],
        ["train", "--model", "resnet", "--dataset", "moons"],
        ["train", "--model", "resnet", "--hidden", "8"],
        ["train", "--model", "resnet", "--batch-norm"],
        ["train", "--model", "convnet"],
        ["train", "--depths", "1"],
        ["train", "--plain"],
        ["train", "--model", "resnet", "--depths", "1", "1", "--widths", "8"],
        ["train", "--model", "resnet", "--widths", "0", "8", "8"],
        ["eval"],
        ["eval", "/no/such/file.npz"],
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


def test_save_resume_and_eval(tmp_path):
    common = ["--epochs", "4", "--batch-norm", "--init", "he_normal", "--momentum", "0.9", "--weight-decay", "1e-4",
              "--label-smoothing", "0.1", "--clip-norm", "2", "--schedule", "step", "--step-size", "1",
              "--gamma", "0.7", "--dropout", "0.1", "--threads", "1"]
    straight = run("train", *common, "--save", str(tmp_path / "a.npz"))
    assert straight.returncode == 0, straight.stderr
    assert f"checkpoint saved to {tmp_path / 'a.npz'} (after epoch 4)" in straight.stdout
    first = run("train", *common[2:], "--epochs", "2", "--save", str(tmp_path / "b.npz"))
    assert first.returncode == 0, first.stderr
    resumed = run("train", *common, "--resume", str(tmp_path / "b.npz"), "--save", str(tmp_path / "c.npz"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after epoch 2" in resumed.stdout and "epoch 1/4" not in resumed.stdout
    epoch4 = [line for line in straight.stdout.splitlines() if line.startswith(("epoch 4/4", "test"))]
    assert epoch4 == [line for line in resumed.stdout.splitlines() if line.startswith(("epoch 4/4", "test"))]
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "c.npz") as c:
        assert all(np.array_equal(a[k], c[k]) for k in a.files if k != "meta")
    evaluated = run("eval", str(tmp_path / "c.npz"))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "trained 4 epochs" in evaluated.stdout
    assert re.search(r"^test accuracy: 0\.\d{3}$", evaluated.stdout, re.MULTILINE)
    # a different model cannot resume it
    bad = run("train", "--epochs", "4", "--resume", str(tmp_path / "b.npz"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--resume" in bad.stderr
    done = run("train", *common, "--epochs", "2", "--resume", str(tmp_path / "b.npz"))
    assert done.returncode == 2 and "has 2 epochs done" in done.stderr
    (tmp_path / "junk.npz").write_bytes(b"junk" * 20)
    junk = run("eval", str(tmp_path / "junk.npz"))
    assert junk.returncode == 2 and len(junk.stderr.strip().splitlines()) == 1 and "Traceback" not in junk.stderr


def test_monitor_gradients_and_plots(tmp_path):
    path = tmp_path / "h.png"
    result = run("train", "--epochs", "2", "--monitor-gradients", "--plot", str(path), "--schedule", "cosine",
                 "--layer-norm", "--activation", "tanh")
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("gradient norms per layer (input first):\n")[1].splitlines()
    assert table[0].split()[0] == "layer" and [row.split()[0] for row in table[1:4]] == ["0", "1", "3"]
    assert path.stat().st_size > 0 and (tmp_path / "h-grad_flow.png").stat().st_size > 0


@pytest.mark.parametrize("schedule", ["exponential", "warm-restarts", "cyclic", "swa"])
def test_schedules(schedule):
    result = run("train", "--epochs", "3", "--schedule", schedule, "--cycle", "2", "--optimizer", "adam")
    assert result.returncode == 0, result.stderr
    lrs = [float(m) for m in re.findall(r"lr ([0-9.e-]+)$", result.stdout, re.MULTILINE)]
    assert len(lrs) == 3 and len(set(lrs)) > 1


def test_piped_output_has_no_progress_bar_characters():
    result = run("train", "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr and "%|" not in result.stderr
    assert result.stderr == ""


def test_resnet_on_shapes_with_augmentation():
    result = run("train", "--model", "resnet", "--dataset", "shapes", "--epochs", "1", "--depths", "1",
                 "--widths", "4", "--augment", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "shapes: 4200 training, 900 validation, 900 test examples; images 1x28x28, 6 classes" in result.stdout
    assert ("model: ResNet, widths 4, 1 BasicBlocks per stage (4 weight layers, " in result.stdout
            and "sgd lr 0.1 momentum 0.9, batch 64, 1 epochs, cosine schedule" in result.stdout), result.stdout
    assert "regularization: augmentation (shifts <= 2 pixels, horizontal flips)" in result.stdout
    assert re.search(r"^test accuracy: 0\.\d{3}$", result.stdout, re.MULTILINE)


def test_plain_network_on_digits_saved_and_evaluated(tmp_path):
    path = tmp_path / "plain.npz"
    result = run("train", "--model", "resnet", "--plain", "--depths", "1", "1", "--widths", "4", "8",
                 "--optimizer", "adam", "--schedule", "constant", "--epochs", "2", "--no-progress", "--save", str(path))
    assert result.returncode == 0, result.stderr
    assert "model: plain network, widths 4-8, 1-1 BasicBlocks per stage (6 weight layers, " in result.stdout
    assert "adam lr 0.001, batch 64, 2 epochs\n" in result.stdout  # no momentum for adam, no schedule
    evaluated = run("eval", str(path))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "model plain network, widths 4-8" in evaluated.stdout and "trained 2 epochs" in evaluated.stdout
    accuracy = [line for line in result.stdout.splitlines() if line.startswith("test accuracy")]
    assert accuracy == [line for line in evaluated.stdout.splitlines() if line.startswith("test accuracy")]


def test_mlp_on_shapes():
    result = run("train", "--dataset", "shapes", "--epochs", "1", "--hidden", "16", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "784 features, 6 classes" in result.stdout and "model: 784 -> 16 -> 6 (relu)" in result.stdout
