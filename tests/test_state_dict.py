"""State dicts move between pydtrain and PyTorch: same keys, same layouts, same outputs."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import nn

torch = pytest.importorskip("torch")


def _ours():
    pdt.seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm(8), nn.ReLU(), nn.Linear(8, 3))


def _theirs():
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def _train_a_little(model, steps=3):
    for s in range(steps):
        model(np.random.default_rng(s).standard_normal((16, 6)).astype(np.float32))


def test_keys_and_shapes_match_pytorch():
    ours, theirs_sd = _ours().state_dict(), _theirs().state_dict()
    assert list(ours) == list(theirs_sd)
    for k in ours:
        assert ours[k].shape == tuple(theirs_sd[k].shape), k
    assert ours["1.num_batches_tracked"].dtype == np.int64 and ours["1.num_batches_tracked"].ndim == 0


def test_our_state_dict_loads_into_torch_and_gives_the_same_outputs():
    model = _ours()
    _train_a_little(model)
    model.eval()
    theirs = _theirs()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()})
    theirs.eval()
    x = np.random.default_rng(9).standard_normal((5, 6)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-6)
    assert int(theirs[1].num_batches_tracked) == 3


def test_torch_state_dict_loads_into_ours_and_gives_the_same_outputs():
    torch.manual_seed(0)
    theirs = _theirs()
    theirs.train()
    with torch.no_grad():
        for s in range(3):
            theirs(torch.randn(16, 6))
    theirs.eval()
    model = _ours()
    model.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    model.eval()
    np.testing.assert_array_equal(model[1].running_var, theirs[1].running_var.numpy())
    assert int(model[1].num_batches_tracked) == 3
    x = np.random.default_rng(8).standard_normal((5, 6)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-6)


def test_round_trip_keeps_buffers_registered():
    model = _ours()
    _train_a_little(model, steps=2)
    sd = model.state_dict()
    fresh = _ours()
    fresh.load_state_dict(sd)
    for k, v in fresh.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
    # training keeps num_batches_tracked a registered 0-d int64 buffer
    _train_a_little(fresh, steps=1)
    assert int(fresh.state_dict()["1.num_batches_tracked"]) == 3


def test_layernorm_and_affine_free_batchnorm_keys_match_pytorch():
    ours = nn.Sequential(nn.LayerNorm((2, 3)), nn.BatchNorm(4, affine=False)).state_dict()
    theirs = torch.nn.Sequential(torch.nn.LayerNorm((2, 3)), torch.nn.BatchNorm1d(4, affine=False)).state_dict()
    assert list(ours) == list(theirs)
    for k in ours:
        assert ours[k].shape == tuple(theirs[k].shape)


def test_load_rejects_wrong_shapes_and_keys():
    model = _ours()
    sd = model.state_dict()
    sd["1.running_mean"] = np.zeros(7, np.float32)
    with pytest.raises(ValueError, match="running_mean"):
        model.load_state_dict(sd)
    sd = model.state_dict()
    del sd["1.num_batches_tracked"]
    with pytest.raises(KeyError, match="num_batches_tracked"):
        model.load_state_dict(sd)
