"""Threads: the same bits for any thread count and any load, several callers at once, fork, the defaults."""
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _C, nn, optim
from pydtrain import functional as F


@pytest.fixture
def restore_threads():
    before = pdt.get_num_threads()
    yield
    pdt.set_num_threads(before)


def _training_run(steps=6):
    """Parameters and losses after a few Adam steps of a network whose kernels all go parallel at 2 threads."""
    pdt.seed(3)
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Linear(300, 512), nn.LayerNorm(512), nn.GELU(), nn.Dropout(keep_prob=0.9),
                          nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    X = rng.standard_normal((256, 300)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    losses = []
    for _ in range(steps):
        losses.append(loss_fn(model(X), y))
        opt.zero_grad()
        model.backward(loss_fn.backward())
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return losses, [p.data.copy() for p in model.parameters()]


def _assert_same_run(a, b):
    assert a[0] == b[0]
    for x, y in zip(a[1], b[1]):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("threads", [2, 3, 5])
def test_training_is_bit_identical_for_any_thread_count(restore_threads, threads):
    pdt.set_num_threads(1)
    one = _training_run()
    pdt.set_num_threads(threads)
    _assert_same_run(one, _training_run())


def test_training_is_bit_identical_while_other_processes_spin(restore_threads):
    pdt.set_num_threads(1)
    one = _training_run()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        pdt.set_num_threads(2)
        for _ in range(3):
            _assert_same_run(one, _training_run())
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def test_callers_on_several_python_threads_get_their_own_results(restore_threads):
    # the pool serves one parallel loop at a time: a second caller runs its loops in place
    pdt.set_num_threads(2)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(1 << 19).astype(np.float32) for _ in range(4)]
    a = rng.standard_normal((96, 512)).astype(np.float32)
    b = rng.standard_normal((512, 256)).astype(np.float32)
    pdt.set_num_threads(1)
    sums = [F.sum_squares(x) for x in xs]
    product = F.gemm(a, b)
    pdt.set_num_threads(2)
    errors = []

    def work(x, expected):
        for _ in range(50):
            if F.sum_squares(x) != expected or not np.array_equal(F.gemm(a, b), product):
                errors.append(1)

    threads = [threading.Thread(target=work, args=(x, s)) for x, s in zip(xs, sums)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_runs_parallel_kernels(restore_threads):
    pdt.set_num_threads(2)
    x = np.random.default_rng(1).standard_normal(1 << 20).astype(np.float32)
    expected = F.sum_squares(x)  # the parent's workers exist now; the child has none of them
    pid = os.fork()
    if pid == 0:
        ok = all(F.sum_squares(x) == expected for _ in range(20))
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _in_subprocess(code, **env):
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def test_omp_num_threads_sets_the_default():
    assert _in_subprocess("import pydtrain; print(pydtrain.get_num_threads())", OMP_NUM_THREADS="3") == "3"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", "import pydtrain; print(pydtrain.get_num_threads())"], env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(cpus if _C.openmp() else 1)


def test_show_config_names_the_threading_back_end(capsys):
    info = pdt.show_config()
    t = info["threading"]
    assert t["backend"] in ("pool", "openmp", "serial")
    assert t["backend"] == ("serial" if not _C.openmp() else t["backend"])
    assert t["parallel_min_elements"] > 0 and t["parallel_min_gemm_madds"] > 0 and t["blocks_per_thread"] >= 1
    out = capsys.readouterr().out
    assert f"threading         : {t['backend']}" in out and "parallel from" in out


def test_thread_count_is_bounded(restore_threads):
    limit = _C.threading()["max_threads"]
    for bad in (0, -3, limit + 1, 70000, 10**30):
        with pytest.raises(ValueError, match=f"set_num_threads: the number of threads must be between 1 and {limit}"):
            pdt.set_num_threads(bad)
    pdt.set_num_threads(limit)
    assert pdt.get_num_threads() == limit


def test_many_more_threads_than_cores_give_the_same_bits(restore_threads):
    x = np.random.default_rng(4).standard_normal(1 << 20).astype(np.float32)
    pdt.set_num_threads(1)
    expected = (F.sum_squares(x), F.relu(x))
    pdt.set_num_threads(64)
    assert F.sum_squares(x) == expected[0]
    np.testing.assert_array_equal(F.relu(x), expected[1])


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or _C.threading()["backend"] != "pool",
                    reason="counts the pool's threads through /proc")
def test_lowering_the_thread_count_ends_the_surplus_workers(restore_threads):
    x = np.random.default_rng(5).standard_normal(1 << 20).astype(np.float32)

    def settle(threads):
        # workers of an older generation end when they wake for a parallel loop
        pdt.set_num_threads(threads)
        for _ in range(3):
            F.relu(x)
            time.sleep(0.05)
        return len(os.listdir("/proc/self/task"))

    two = settle(2)
    assert settle(16) == two + 14
    assert settle(2) == two
