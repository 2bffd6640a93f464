"""Residual, MultiTask, Ensemble, Flatten: forward formulas, finite-difference gradients, keys, bad inputs."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import nn
from pydtrain.diagnostics import numerical_gradient

from conftest import assert_gradients


def lin(i, o):
    return nn.Linear(i, o, dtype=np.float64)


def x_(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_residual_identity_forward_and_gradients():
    pdt.seed(1)
    block = nn.Sequential(lin(5, 5), nn.ReLU(), lin(5, 5))
    res = nn.Residual(block)
    x = x_((4, 5))
    np.testing.assert_allclose(res(x), x + block(x), rtol=1e-15)
    assert_gradients(res, x)


def test_residual_with_projection_gradients():
    pdt.seed(2)
    res = nn.Residual(nn.Sequential(lin(5, 7), nn.ReLU(), lin(7, 7)), projection=lin(5, 7))
    x = x_((3, 5))
    np.testing.assert_allclose(res(x), res.projection(x) + res.block(x), rtol=1e-15)
    assert_gradients(res, x)
    assert set(res.state_dict()) == {"block.0.weight", "block.0.bias", "block.2.weight", "block.2.bias",
                                     "projection.weight", "projection.bias"}


def test_residual_width_mismatch_explains_projection():
    res = nn.Residual(lin(5, 7))
    with pytest.raises(ValueError, match="projection="):
        res(x_((2, 5)))
    with pytest.raises(TypeError, match="block must be a Module"):
        nn.Residual(lambda x: x)


def _multitask():
    pdt.seed(3)
    return nn.MultiTask(nn.Sequential(lin(4, 6), nn.ReLU()), [lin(6, 2), lin(6, 3), nn.Sequential(lin(6, 1))])


def test_multitask_forward_is_one_output_per_head():
    mt = _multitask()
    x = x_((5, 4))
    outs = mt(x)
    h = mt.trunk(x)
    assert len(outs) == 3
    for out, head in zip(outs, mt.heads):
        np.testing.assert_allclose(out, head(h), rtol=1e-15)
    assert "heads.1.weight" in mt.state_dict() and "trunk.0.weight" in mt.state_dict()


def test_multitask_gradients_sum_the_heads():
    """L = Σ_k Σ dy_k ⊙ head_k(trunk(x)): analytic gradients vs central differences."""
    mt = _multitask()
    x = x_((5, 4))
    dys = [x_((5, 2), 1), x_((5, 3), 2), x_((5, 1), 3)]
    for p in mt.parameters():
        p.grad.fill(0)
    mt(x)
    dx = mt.backward([0.5 * dys[0], dys[1], 2.0 * dys[2]])  # weights w_k = 0.5, 1, 2

    def loss():
        outs = mt(x)
        return 0.5 * np.sum(dys[0] * outs[0]) + np.sum(dys[1] * outs[1]) + 2.0 * np.sum(dys[2] * outs[2])

    for arr, analytic in [(x, dx)] + [(p.data, p.grad) for p in mt.parameters()]:
        np.testing.assert_allclose(analytic, numerical_gradient(loss, arr), rtol=1e-6, atol=1e-8)


def test_multitask_skips_heads_without_gradient_and_checks_the_list():
    mt = _multitask()
    x = x_((5, 4))
    mt(x)
    dx_only_first = mt.backward([np.ones((5, 2)), None, None])
    mt.zero_grad()
    mt(x)
    mt2_dx = mt.heads[0].backward(np.ones((5, 2)))
    np.testing.assert_allclose(dx_only_first, mt.trunk.backward(mt2_dx), rtol=1e-14)
    with pytest.raises(ValueError, match="list of 3 gradients"):
        mt.backward(np.ones((5, 2)))
    with pytest.raises(ValueError, match="list of 3 gradients"):
        mt.backward([np.ones((5, 2))])
    with pytest.raises(ValueError, match="every head gradient is None"):
        mt.backward([None, None, None])
    with pytest.raises(ValueError, match="at least one"):
        nn.MultiTask(lin(2, 2), [])
    with pytest.raises(TypeError, match="list of Modules"):
        nn.MultiTask(lin(2, 2), lin(2, 2))


@pytest.mark.parametrize("probabilities", [False, True])
def test_ensemble_mean_and_gradients(probabilities):
    pdt.seed(4)
    members = [nn.Sequential(lin(4, 5), nn.ReLU(), lin(5, 3)) for _ in range(3)]
    ens = nn.Ensemble(members, probabilities=probabilities)
    x = x_((6, 4))
    outs = [m(x) for m in members]
    if probabilities:
        outs = [np.exp(o) / np.exp(o).sum(axis=1, keepdims=True) for o in outs]
    y = ens(x)
    np.testing.assert_allclose(y, np.mean(outs, axis=0), rtol=1e-14)
    if probabilities:
        np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-14)
    assert_gradients(ens, x)
    assert "members.2.2.weight" in ens.state_dict()


def test_ensemble_rejects_mismatched_members():
    ens = nn.Ensemble([lin(3, 2), lin(3, 4)])
    with pytest.raises(ValueError, match="differ in shape"):
        ens(x_((2, 3)))


def test_flatten_forward_backward_and_in_a_model():
    f = nn.Flatten()
    x = x_((2, 3, 4))
    y = f(x)
    assert y.shape == (2, 12) and np.shares_memory(y, x)
    dy = x_((2, 12), seed=1)
    np.testing.assert_array_equal(f.backward(dy), dy.reshape(2, 3, 4))
    pdt.seed(5)
    model = nn.Sequential(nn.Flatten(), lin(12, 3))
    assert_gradients(model, x)
    with pytest.raises(ValueError, match=r"\(N, \.\.\.\)"):
        f(np.float64(3.0))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Flatten().backward(np.ones((2, 2)))


def test_dropout_with_fixed_mask_inside_a_residual():
    pdt.seed(6)
    res = nn.Residual(nn.Sequential(lin(4, 4), nn.Dropout(keep_prob=0.7), nn.BatchNorm(4, dtype=np.float64)))
    assert_gradients(res, x_((8, 4)))
