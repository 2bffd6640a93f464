"""The JAX twins of the training bench compute the same training as pydtrain (skipped without jax/optax)."""
import numpy as np
import pytest

pytest.importorskip("jax")
pytest.importorskip("optax")

STEPS = 6


def _our_curve(model, opt, X, Y, first):
    """pydtrain's losses over STEPS steps from batch ``first`` on, as the twin takes them."""
    from pydtrain import nn

    loss_fn, losses = nn.CrossEntropyLoss(), []
    for k in range(STEPS):
        i = (first + k) % len(X)
        losses.append(float(loss_fn(model(X[i]), Y[i])))
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    return losses


@pytest.mark.parametrize("row", [0, 3], ids=["relu", "gelu-layernorm"])
def test_jax_twin_follows_our_mlp_curve(row):
    from pydtrain import optim
    from pydtrain.bench import jax_peer, training

    label, widths, batch, activation, layernorm, keep = training.ROWS[row]
    widths = [w if i in (0, len(widths) - 1) else 32 for i, w in enumerate(widths)]  # small, same structure
    model, X, Y = training._problem(widths, 16, activation, layernorm, keep)
    with jax_peer.JaxPeer([{"model": model, "X": X, "Y": Y, "optimizer": ("adam", 1e-3), "first": 1}],
                          threads=1, curve_steps=STEPS, keep_state=True) as peer:
        time_a_run = peer.sampler(0, min_time=0.0)
        assert time_a_run() > 0 and time_a_run() > 0
    ours = _our_curve(model, optim.Adam(model.parameters(), lr=1e-3), X, Y, first=1)
    np.testing.assert_allclose(peer.curves[0], ours, rtol=1e-4)
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(peer.states[0][key], value, rtol=1e-3, atol=1e-5, err_msg=key)


def test_jax_twin_follows_our_resnet_curve_and_running_statistics():
    """A small models.resnet() (a projection shortcut, stride 2, BatchNorm, global pooling) with classic SGD momentum:
    the same losses, weights and BatchNorm running averages after a few steps."""
    import pydtrain as pdt
    from pydtrain import models, optim
    from pydtrain.bench import jax_peer

    pdt.seed(1)
    rng = np.random.default_rng(1)
    model = models.resnet(depths=(1, 1), widths=(4, 8), num_classes=3)
    X = rng.standard_normal((3, 8, 1, 10, 10)).astype(np.float32)
    Y = rng.integers(0, 3, (3, 8))
    with jax_peer.JaxPeer([{"model": model, "X": X, "Y": Y, "optimizer": ("sgd", 0.05, 0.9), "first": 0}],
                          threads=1, curve_steps=STEPS, keep_state=True) as peer:
        pass
    ours = _our_curve(model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9), X, Y, first=0)
    np.testing.assert_allclose(peer.curves[0], ours, rtol=1e-4)
    state = model.state_dict()
    assert set(peer.states[0]) == {k for k in state if not k.endswith("num_batches_tracked")}
    for key, value in peer.states[0].items():
        np.testing.assert_allclose(value, state[key], rtol=1e-3, atol=1e-5, err_msg=key)


def test_a_failing_child_raises_with_its_error():
    from pydtrain import nn
    from pydtrain.bench import jax_peer

    model = nn.Sequential(nn.Linear(4, 3))
    X, Y = np.zeros((2, 5, 6), np.float32), np.zeros((2, 5), np.int64)  # 6 features where the layer takes 4
    with pytest.raises(RuntimeError, match="the JAX child stopped(.|\n)*dot_general"):
        jax_peer.JaxPeer([{"model": model, "X": X, "Y": Y, "optimizer": ("adam", 1e-3), "first": 0}], 1, 2)
    with pytest.raises(ValueError, match="optimizer"):
        jax_peer.JaxPeer([{"model": model, "X": X, "Y": Y, "optimizer": ("rmsprop", 1e-3), "first": 0}], 1, 2)


def test_a_layer_without_twin_is_named():
    from pydtrain import nn
    from pydtrain.bench import jax_peer

    with pytest.raises(TypeError, match="Tanh"):
        jax_peer.layer_spec(nn.Sequential(nn.Linear(2, 2), nn.Tanh()))
