"""The JAX twin of the training bench computes the same training as pydtrain (skipped without jax/optax)."""
import numpy as np
import pytest

pytest.importorskip("jax")
pytest.importorskip("optax")


@pytest.mark.parametrize("row", [0, 3], ids=["relu", "gelu-layernorm"])
def test_jax_twin_follows_our_loss_curve(row):
    from pydtrain import nn, optim
    from pydtrain.bench import jax_peer, training

    label, widths, batch, activation, layernorm, keep = training.ROWS[row]
    widths = [w if i in (0, len(widths) - 1) else 32 for i, w in enumerate(widths)]  # small, same structure
    model, X, Y = training._problem(widths, 16, activation, layernorm, keep)
    (result,) = jax_peer.jax_rows([{"model": model, "X": X, "Y": Y}], threads=1, curve_steps=6)
    loss_fn, opt = nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3)
    ours = []
    for k in range(6):
        i = (k + 1) % len(X)
        ours.append(loss_fn(model(X[i]), Y[i]))
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    assert result["time"] > 0
    np.testing.assert_allclose(result["curve"], ours, rtol=1e-4)
