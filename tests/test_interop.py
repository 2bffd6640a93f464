"""pydtrain.interop: to_torch and from_torch keep the weights, so outputs agree with PyTorch's."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import interop, nn

torch = pytest.importorskip("torch")


def _model(dtype):
    pdt.seed(0)
    return nn.Sequential(
        nn.Linear(12, 16, dtype=dtype), nn.BatchNorm(16, dtype=dtype), nn.GELU(approximate="tanh"),
        nn.Residual(nn.Sequential(nn.Linear(16, 16, dtype=dtype), nn.LayerNorm(16, dtype=dtype), nn.SiLU())),
        nn.Residual(nn.Sequential(nn.Linear(16, 8, dtype=dtype), nn.ELU(alpha=0.5)),
                    projection=nn.Linear(16, 8, bias=False, dtype=dtype)),
        nn.Dropout(rate=0.2), nn.LeakyReLU(0.1), nn.Softplus(beta=2.0), nn.Tanh(), nn.Sigmoid(), nn.SELU(),
        nn.ReLU(), nn.Flatten(), nn.Linear(8, 3, dtype=dtype),
    )


def _train_bn(model, x):
    model.train()
    for _ in range(3):  # running statistics away from their initial values
        model(x * 2 + 1)
    return model.eval()


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_to_torch_gives_the_same_outputs(dtype, tol):
    x = np.random.default_rng(1).standard_normal((5, 12)).astype(dtype)
    model = _train_bn(_model(dtype), x)
    twin = interop.to_torch(model)
    assert not twin.training and next(twin.parameters()).dtype == (torch.float32 if dtype == np.float32
                                                                     else torch.float64)
    with torch.no_grad():
        theirs = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x), theirs, rtol=tol, atol=tol)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, twin.state_dict()[key].numpy())


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_round_trip_keeps_every_array_and_the_mode(dtype, tol):
    x = np.random.default_rng(2).standard_normal((4, 12)).astype(dtype)
    model = _train_bn(_model(dtype), x)
    back = interop.from_torch(interop.to_torch(model))
    assert [type(m) for m in back.modules()] == [type(m) for m in model.modules()] and not back.training
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), back.state_dict().items()):
        assert k1 == k2 and v1.dtype == v2.dtype
        np.testing.assert_array_equal(v1, v2)
    np.testing.assert_allclose(back(x), model(x), rtol=tol, atol=tol)


def test_from_torch_of_a_torch_built_network():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(20, 32), torch.nn.BatchNorm1d(32),
                              torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(32, 4))
    net.train()
    net(torch.randn(16, 4, 5))
    net.eval()
    model = interop.from_torch(net)
    assert isinstance(model[4], nn.Dropout) and model[4].keep_prob == pytest.approx(0.7)
    x = np.random.default_rng(3).standard_normal((6, 4, 5)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(model(x), net(torch.from_numpy(x)).numpy(), rtol=1e-6, atol=1e-6)


def test_unsupported_layers_are_named():
    with pytest.raises(TypeError, match=r"to_torch: Sequential.1 is a GaussianNoise"):
        interop.to_torch(nn.Sequential(nn.Linear(2, 2), nn.GaussianNoise(0.1)))
    with pytest.raises(ValueError, match="only inverted dropout"):
        interop.to_torch(nn.Sequential(nn.Dropout(keep_prob=0.5, scaling="inference")))
    with pytest.raises(TypeError, match=r"from_torch: Sequential.0 is a torch Conv1d"):
        interop.from_torch(torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3)))
    with pytest.raises(ValueError, match="track_running_stats=False"):
        interop.from_torch(torch.nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(TypeError, match="must be a pydtrain.nn.Module"):
        interop.to_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        interop.from_torch(nn.Linear(2, 2))


def test_reachable_from_the_package():
    assert pdt.interop.to_torch is interop.to_torch


def _cnn(dtype):
    pdt.seed(1)
    return nn.Sequential(
        nn.Conv2d(2, 6, 3, padding="same", dtype=dtype), nn.BatchNorm2d(6, dtype=dtype), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout2d(rate=0.1),
        nn.Conv2d(6, 8, (3, 1), stride=(2, 1), padding=(1, 0), dilation=(1, 1), groups=2, bias=False, dtype=dtype),
        nn.AvgPool2d(3, stride=1, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3, dtype=dtype),
    )


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_convolutional_networks_both_ways(dtype, tol):
    x = np.random.default_rng(4).standard_normal((3, 2, 8, 10)).astype(dtype)
    model = _train_bn(_cnn(dtype), x)
    twin = interop.to_torch(model)
    assert isinstance(twin[4], torch.nn.Dropout2d) and twin[0].padding == "same"
    with torch.no_grad():
        np.testing.assert_allclose(model(x), twin(torch.from_numpy(x)).numpy(), rtol=tol, atol=tol)
    back = interop.from_torch(twin)
    assert [type(m) for m in back.modules()] == [type(m) for m in model.modules()]
    np.testing.assert_allclose(back(x), model(x), rtol=tol, atol=tol)
    with pytest.raises(ValueError, match="count_include_pad=False"):
        interop.from_torch(torch.nn.AvgPool2d(2, count_include_pad=False))
    with pytest.raises(NotImplementedError, match="padding_mode='reflect'"):
        interop.from_torch(torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"))


def _parity(model, twin, x, tol):
    """Training-mode forward, input gradient, every parameter gradient and the running statistics agree."""
    xt = torch.tensor(x, requires_grad=True)
    y, yt = model(x), twin(xt)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    dy = np.random.default_rng(5).standard_normal(y.shape).astype(x.dtype)
    model.zero_grad()
    dx = model.backward(dy)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    grads = {name: p.grad for name, p in twin.named_parameters()}
    state = twin.state_dict()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name].numpy(), rtol=tol, atol=tol, err_msg=name)
    for name, v in model.state_dict().items():
        np.testing.assert_allclose(v, state[name].numpy(), rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("shortcut", [True, False])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
def test_resnet_both_ways_forward_and_backward(dtype, tol, shortcut):
    pdt.seed(2)
    model = pdt.models.resnet(depths=(1, 2), widths=(4, 6), in_channels=2, num_classes=3, shortcut=shortcut,
                              dtype=dtype)
    model[4].bn2.eps = 1e-3  # a layer unlike the constructor's travels as it is
    x = np.random.default_rng(6).standard_normal((4, 2, 9, 8)).astype(dtype)
    twin = interop.to_torch(model)
    assert [k for k in twin.state_dict()] == [k for k in model.state_dict()]
    assert (twin[3].downsample is None) and ((twin[4].downsample is not None) == shortcut)
    assert twin[4].bn2.eps == 1e-3 and next(twin.parameters()).dtype == torch.from_numpy(x).dtype
    _parity(model, twin, x, tol)
    back = interop.from_torch(twin)
    assert repr(back) == repr(model)
    assert list(back.state_dict()) == list(model.state_dict())
    for key, value in twin.state_dict().items():  # the twin's own running statistics came back
        np.testing.assert_array_equal(back.state_dict()[key], value.numpy(), err_msg=key)
    _parity(back, interop.to_torch(back), x, tol)


def test_basic_block_both_ways():
    pdt.seed(3)
    block = nn.BasicBlock(3, 5, stride=2, dtype=np.float64)
    twin = interop.to_torch(block)
    assert type(twin).__name__ == "BasicBlock" and list(twin.state_dict()) == list(block.state_dict())
    _parity(block, twin, np.random.default_rng(7).standard_normal((2, 3, 7, 7)), 1e-10)
    back = interop.from_torch(twin)
    assert isinstance(back, nn.BasicBlock) and [type(m) for m in back.modules()] == [type(m) for m in block.modules()]
