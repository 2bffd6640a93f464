"""Several Python threads: counter ranges and random draws never overlap; models trained on parallel threads,
one model serving forward passes to several, and the thread count changed under running kernels give the
serial bits."""
import sys
import threading

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _random, nn, optim
from pydtrain import functional as F


def run_threads(target, args_list):
    """Runs target(*args) on one thread per entry, switching as often as the interpreter allows;
    re-raises the first exception a thread met."""
    errors = []

    def guarded(*args):
        try:
            target(*args)
        except BaseException as err:  # noqa: BLE001  (reported below, on the test's thread)
            errors.append(err)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=guarded, args=args) for args in args_list]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    if errors:
        raise errors[0]


@pytest.fixture
def restore_threads():
    before = pdt.get_num_threads()
    yield
    pdt.set_num_threads(before)


def test_counter_ranges_from_several_threads_never_overlap():
    results = [[] for _ in range(4)]

    def draw(out):
        for _ in range(20000):
            out.append(_random.take(3)[1])

    run_threads(draw, [(out,) for out in results])
    starts = sorted(s for out in results for s in out)
    assert len(starts) == 80000
    assert all(b - a >= 3 for a, b in zip(starts, starts[1:]))


# ---- models, forward passes and the thread count under several Python threads ----


def make_model(seed):
    """Big enough that its kernels release the GIL (> 64 KiB per call); no randomness after construction."""
    pdt.seed(seed)
    return nn.Sequential(nn.Linear(64, 256), nn.BatchNorm1d(256), nn.GELU(), nn.Linear(256, 128), nn.LayerNorm(128),
                         nn.Tanh(), nn.Linear(128, 10))


def data(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((128, 64)).astype(np.float32), rng.integers(0, 10, 128)


def train(model, X, y, steps=8):
    opt, loss_fn = optim.Adam(model.parameters(), lr=1e-2), nn.CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        losses.append(loss_fn(model(X), y))
        model.backward(loss_fn.backward())
        opt.step()
    return losses


def assert_same_models(a, b):
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_models_trained_on_parallel_threads_equal_serial_training(restore_threads):
    pdt.set_num_threads(2)
    serial = [make_model(s) for s in range(4)]
    serial_losses = [train(m, *data(s)) for s, m in enumerate(serial)]
    threaded = [make_model(s) for s in range(4)]
    losses = [None] * 4

    def work(i):
        losses[i] = train(threaded[i], *data(i))

    run_threads(work, [(i,) for i in range(4)])
    assert losses == serial_losses
    for a, b in zip(serial, threaded):
        assert_same_models(a, b)


def test_one_model_in_eval_mode_serves_four_threads(restore_threads):
    """Forward passes of one model (eval mode) from 4 threads at once give each caller the serial result."""
    pdt.set_num_threads(2)
    model = make_model(0)
    train(model, *data(0), steps=2)
    model.eval()
    inputs = [data(10 + i)[0] for i in range(4)]
    want = [model(x).copy() for x in inputs]
    errors = []

    def work(i):
        for _ in range(30):
            if not np.array_equal(model(inputs[i]), want[i]):
                errors.append(i)

    run_threads(work, [(i,) for i in range(4)])
    assert errors == []


def test_changing_the_thread_count_while_kernels_run(restore_threads):
    """set_num_threads from one thread while three others run kernels: no crash, the same bits."""
    pdt.set_num_threads(1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal(1 << 18).astype(np.float32)
    a, b = rng.standard_normal((128, 256)).astype(np.float32), rng.standard_normal((256, 256)).astype(np.float32)
    want = (F.sum_squares(x), F.gelu(x), F.gemm(a, b))
    errors = []
    done = threading.Event()

    def compute():
        while not done.is_set():
            s, g, p = F.sum_squares(x), F.gelu(x), F.gemm(a, b)
            if s != want[0] or not np.array_equal(g, want[1]) or not np.array_equal(p, want[2]):
                errors.append(1)

    def switch():
        try:
            for i in range(200):
                pdt.set_num_threads(1 + i % 3)
        finally:
            done.set()

    run_threads(lambda f: f(), [(compute,), (compute,), (compute,), (switch,)])
    assert errors == []


def test_random_draws_on_several_threads_never_repeat():
    """Noise drawn from the global generator on 4 threads: every value differs (no counter used twice)."""
    draws = [[] for _ in range(4)]

    def work(out):
        zeros = np.zeros(64)
        for _ in range(500):
            out.append(F.gaussian_noise(zeros, 1.0))

    run_threads(work, [(out,) for out in draws])
    values = np.concatenate([v for out in draws for v in out])
    assert values.size == 4 * 500 * 64 and np.unique(values).size == values.size
