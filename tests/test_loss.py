"""Losses: BCE-with-logits and MSE kernels against the oracle, the loss objects against
PyTorch (with CrossEntropyLoss and its label smoothing), stability, bad input."""
import numpy as np
import pytest

import reference as ref
from conftest import AWKWARD_SIZES, tol
from pydtrain import _C, nn

PAIR_KERNELS = {
    "bce_with_logits": (_C.bce_with_logits_forward, _C.bce_with_logits_backward, ref.bce_with_logits_forward,
                        ref.bce_with_logits_backward),
    "mse": (_C.mse_forward, _C.mse_backward, ref.mse_forward, ref.mse_backward),
}


@pytest.mark.parametrize("n", AWKWARD_SIZES)
@pytest.mark.parametrize("name", sorted(PAIR_KERNELS))
def test_pair_kernel_matches_oracle(name, n, dtype, simd):
    fwd, bwd, ref_fwd, ref_bwd = PAIR_KERNELS[name]
    rng = np.random.default_rng(n)
    z = (rng.standard_normal(n) * 5.0).astype(dtype)
    z[: min(n, 3)] = np.array([40.0, -40.0, 0.0])[: min(n, 3)]
    y = rng.uniform(0, 1, n).astype(dtype)
    losses = fwd(z, y, None)
    assert losses.dtype == dtype and losses.shape == z.shape
    np.testing.assert_allclose(losses, ref_fwd(z, y), **tol(dtype))
    np.testing.assert_allclose(bwd(z, y, 0.25, None), ref_bwd(z, y, 0.25), **tol(dtype))


def test_bce_and_mse_means():
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((6, 5)), rng.uniform(0, 1, (6, 5))
    bce, mse = nn.BCEWithLogitsLoss(), nn.MSELoss()
    assert bce(z, y) == pytest.approx(ref.bce_with_logits_forward(z, y).mean(), rel=1e-13)
    np.testing.assert_allclose(bce.backward(), ref.bce_with_logits_backward(z, y, 1 / 30), rtol=1e-13)
    assert mse(z, y) == pytest.approx(ref.mse_forward(z, y).mean(), rel=1e-13)
    np.testing.assert_allclose(mse.backward(), ref.mse_backward(z, y, 1 / 30), rtol=1e-13)
    assert nn.MSELoss(reduction="sum")(z, y) == pytest.approx(ref.mse_forward(z, y).sum(), rel=1e-13)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss(reduction="none")(z, y), ref.bce_with_logits_forward(z, y),
                               rtol=1e-13)


@pytest.mark.parametrize("loss", [nn.BCEWithLogitsLoss, nn.MSELoss])
def test_elementwise_loss_gradient_by_finite_differences(loss):
    rng = np.random.default_rng(4)
    z, y = rng.standard_normal((3, 4)) * 2, rng.uniform(0, 1, (3, 4))
    fn = loss()
    fn(z, y)
    grad = fn.backward()
    num = np.zeros_like(z)
    eps = 1e-6
    for i in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[i] += eps
        zm[i] -= eps
        num[i] = (loss()(zp, y) - loss()(zm, y)) / (2 * eps)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


# ---- PyTorch parity ----


def _parity_kw(dtype):
    return {"rtol": 1e-10, "atol": 1e-15} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-7}


def _torch_loss_and_grad(torch, fn, z, target):
    zt = torch.tensor(z, requires_grad=True)
    loss = fn(zt, target)
    loss.backward()
    return loss.item(), zt.grad.numpy()


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("soft", [False, True], ids=["labels", "probabilities"])
def test_cross_entropy_torch_parity(soft, smoothing, dtype):
    """CrossEntropyLoss with smoothing="uniform" is PyTorch's label smoothing, for integer and probability targets."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    z = (rng.standard_normal((16, 7)) * 3).astype(dtype)
    labels = rng.integers(0, 7, 16)
    if soft:
        y = rng.uniform(0, 1, (16, 7)).astype(dtype)
        y /= y.sum(axis=1, keepdims=True)
        target_t = torch.tensor(y)
    else:
        y = labels
        target_t = torch.tensor(labels)
    ours = nn.CrossEntropyLoss(label_smoothing=smoothing, smoothing="uniform")
    value = ours(z, y)
    grad = ours.backward()
    t_value, t_grad = _torch_loss_and_grad(torch, torch.nn.CrossEntropyLoss(label_smoothing=smoothing), z, target_t)
    assert value == pytest.approx(t_value, rel=_parity_kw(dtype)["rtol"])
    np.testing.assert_allclose(grad, t_grad, **_parity_kw(dtype))


def test_bce_and_mse_torch_parity(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    z = (rng.standard_normal((32, 9)) * 6).astype(dtype)
    y = rng.uniform(0, 1, (32, 9)).astype(dtype)
    for ours, theirs in ((nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss()), (nn.MSELoss(), torch.nn.MSELoss())):
        value = ours(z, y)
        grad = ours.backward()
        t_value, t_grad = _torch_loss_and_grad(torch, theirs, z, torch.tensor(y))
        assert value == pytest.approx(t_value, rel=_parity_kw(dtype)["rtol"])
        np.testing.assert_allclose(grad, t_grad, **_parity_kw(dtype))


# ---- the lecture's label smoothing, stability ----


def test_lecture_label_smoothing_example():
    """k = 5, ε = 0.01, class 3 → q = [0.0025, 0.0025, 0.99, 0.0025, 0.0025], read off the gradient p − q."""
    z = np.zeros((1, 5))
    loss = nn.CrossEntropyLoss(label_smoothing=0.01)  # smoothing="exclusive", the lecture's
    loss(z, np.array([2]))                            # class 3 of 1..5
    q = np.full(5, 0.2) - loss.backward()[0]          # softmax of zeros is uniform
    np.testing.assert_allclose(q, [0.0025, 0.0025, 0.99, 0.0025, 0.0025], rtol=1e-12)


@pytest.mark.parametrize("soft", [False, True], ids=["labels", "probabilities"])
def test_huge_logits_stay_finite(soft, dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype)
    y = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]], dtype) if soft else np.array([1, 0])
    ce = nn.CrossEntropyLoss(label_smoothing=0.1)
    value = ce(z, y)
    assert np.isfinite(value) and value > 1e3
    assert np.all(np.isfinite(ce.backward()))
    bce = nn.BCEWithLogitsLoss()
    t = np.array([[0, 1, 1], [1, 0, 0]], dtype)
    value = bce(z, t)
    assert np.isfinite(value)
    assert value == pytest.approx((1e4 + 1e4 + np.log(2) + 1e4 + 0 + 1e4) / 6, rel=1e-6)
    assert np.all(np.isfinite(bce.backward()))


# ---- bad input ----


@pytest.mark.parametrize("loss", [nn.BCEWithLogitsLoss, nn.MSELoss])
def test_elementwise_loss_bad_input(loss):
    with pytest.raises(ValueError, match="reduction"):
        loss(reduction="avg")
    fn = loss()
    with pytest.raises(RuntimeError, match="before"):
        fn.backward()
    with pytest.raises(ValueError, match="shape"):
        fn(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="float32 or float64"):
        fn(np.zeros((2, 3), np.int64), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="numeric"):
        fn(np.zeros(3), np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match="empty"):
        fn(np.zeros(0), np.zeros(0))


def test_pair_kernel_bad_arrays():
    with pytest.raises(ValueError):
        _C.bce_with_logits_forward(np.zeros(4), np.zeros(5))
    with pytest.raises(TypeError):
        _C.mse_backward(np.zeros(4), np.zeros(4, np.float32), 1.0)
    with pytest.raises(ValueError):
        _C.mse_forward(np.zeros(8)[::2], np.zeros(4))


@pytest.mark.parametrize("rows,k", [(5, 10), (8000, 10), (300, 1025)])
def test_cross_entropy_is_the_same_for_any_thread_count(dtype, rows, k):
    """Below the parallel threshold one thread runs the loop in place (no OpenMP team), above it
    the rows are split by block: bit-identical results either way, and against the oracle."""
    import pydtrain

    rng = np.random.default_rng(4)
    z = (rng.standard_normal((rows, k)) * 4).astype(dtype)
    y = rng.integers(0, k, rows)
    t = rng.dirichlet(np.ones(k), rows).astype(dtype)
    previous = pydtrain.get_num_threads()
    try:
        outs = []
        for threads in (1, 2, 3):
            pydtrain.set_num_threads(threads)
            outs.append(_C.cross_entropy_forward(z, y, 0.9, 0.01) + _C.cross_entropy_soft_forward(z, t))
    finally:
        pydtrain.set_num_threads(previous)
    for other in outs[1:]:
        for got, want in zip(other, outs[0]):
            np.testing.assert_array_equal(got, want)
    shifted = z.astype(np.float64) - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    np.testing.assert_allclose(outs[0][0], np.exp(shifted - lse[:, None]), **tol(dtype))
    q = np.full((rows, k), 0.01)
    q[np.arange(rows), y] = 0.9
    np.testing.assert_allclose(outs[0][1], -(q * (shifted - lse[:, None])).sum(axis=1), **tol(dtype))
    np.testing.assert_allclose(outs[0][3], -(t * (shifted - lse[:, None])).sum(axis=1), **tol(dtype))
