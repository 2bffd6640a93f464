"""BasicBlock (finite differences, PyTorch parity, torchvision's keys), pydtrain.models.mlp and resnet,
load_digits(as_images=True)."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import nn, optim
from pydtrain.data.datasets import load_digits

from conftest import assert_gradients


@pytest.mark.parametrize("cin,cout,stride,shortcut", [(3, 3, 1, True), (2, 4, 2, True), (3, 3, 1, False),
                                                      (2, 4, 2, False)])
def test_basic_block_finite_differences(cin, cout, stride, shortcut):
    pdt.seed(0)
    block = nn.BasicBlock(cin, cout, stride, shortcut=shortcut, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((2, cin, 5, 6))
    assert block(x).shape == (2, cout, (5 - 1) // stride + 1, (6 - 1) // stride + 1)
    assert_gradients(block, x, rtol=1e-6)


def test_basic_block_keys_and_plain_variant():
    keys = list(nn.BasicBlock(4, 8, 2).state_dict())
    assert [k for k in keys if k.endswith("weight")] == ["conv1.weight", "bn1.weight", "conv2.weight", "bn2.weight",
                                                         "downsample.0.weight", "downsample.1.weight"]
    assert not any(k.startswith("downsample") for k in nn.BasicBlock(4, 4, 1).state_dict())
    assert not any(k.startswith("downsample") for k in nn.BasicBlock(4, 8, 2, shortcut=False).state_dict())


torch = pytest.importorskip("torch")


class TorchBasicBlock(torch.nn.Module):
    """torchvision's BasicBlock written out (torchvision is not a dependency)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False, dtype=torch.float64)
        self.bn1 = torch.nn.BatchNorm2d(cout, dtype=torch.float64)
        self.conv2 = torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False, dtype=torch.float64)
        self.bn2 = torch.nn.BatchNorm2d(cout, dtype=torch.float64)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = torch.nn.Sequential(
                torch.nn.Conv2d(cin, cout, 1, stride, bias=False, dtype=torch.float64),
                torch.nn.BatchNorm2d(cout, dtype=torch.float64))

    def forward(self, x):
        f = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(f + (x if self.downsample is None else self.downsample(x)))


@pytest.mark.parametrize("cin,cout,stride", [(3, 3, 1), (2, 4, 2)])
def test_basic_block_matches_torch(cin, cout, stride):
    theirs = TorchBasicBlock(cin, cout, stride)
    ours = nn.BasicBlock(cin, cout, stride, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, cin, 6, 7))
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    y = ours(x)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.backward(dy), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.conv1.weight.grad, theirs.conv1.weight.grad.numpy(), rtol=1e-10, atol=1e-10)
    # the running statistics moved the same way
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k], v.numpy(), rtol=1e-12, atol=1e-12, err_msg=k)


def test_resnet_shapes_depth_and_plain_variant():
    pdt.seed(0)
    model = pdt.models.resnet()
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    assert model(x).shape == (5, 10)
    assert model.backward(np.ones((5, 10), np.float32)).shape == x.shape
    weights = [k for k in model.state_dict() if k.endswith("weight") and "bn" not in k and "downsample.1" not in k]
    convs_and_linear = [k for k in weights if not k.startswith("1.")]
    assert len(convs_and_linear) == 2 * 6 + 2 + 2  # stem, 12 block convs, 2 projections, the Linear
    plain = pdt.models.resnet(shortcut=False)
    assert not any("downsample" in k for k in plain.state_dict())
    assert plain(x).shape == (5, 10)
    rgb = pdt.models.resnet(depths=(1, 1), widths=(8, 16), in_channels=3, num_classes=4)
    assert rgb(np.zeros((2, 3, 8, 8), np.float32)).shape == (2, 4)
    with pytest.raises(ValueError, match="^resnet: depths and widths"):
        pdt.models.resnet(depths=(2, 2), widths=(16,))


def test_resnet_learns_digits():
    pdt.seed(0)
    X, y = load_digits(as_images=True)
    X = X[:256] / 16.0
    y = y[:256]
    model = pdt.models.resnet(depths=(1, 1), widths=(8, 16))
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for step in range(30):
        batch = slice(64 * (step % 4), 64 * (step % 4 + 1))
        losses.append(loss_fn(model(X[batch]), y[batch]))
        model.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4])


def test_mlp():
    pdt.seed(0)
    model = pdt.models.mlp([64, 32, 16, 10], activation="tanh", dropout=0.1, batchnorm=True)
    names = [type(m).__name__ for m in model]
    assert names == ["Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear"]
    assert model(np.zeros((3, 64), np.float32)).shape == (3, 10)
    assert [type(m).__name__ for m in pdt.models.mlp([4, 2])] == ["Linear"]
    with pytest.raises(ValueError, match="^mlp: activation must be one of"):
        pdt.models.mlp([4, 2, 1], activation="swish")
    with pytest.raises(ValueError, match="^mlp: sizes"):
        pdt.models.mlp([4])


def test_load_digits_as_images():
    X, y = load_digits()
    images, labels = load_digits(as_images=True)
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32 and images.flags.c_contiguous
    np.testing.assert_array_equal(images[:, 0], X.reshape(-1, 8, 8))
    np.testing.assert_array_equal(labels, y)


def test_small_cnn_beats_mlp_on_shapes():
    """The convolution's shared, local weights find a shape wherever it lies and whatever spots lie beside it;
    the MLP must learn each position."""
    from pydtrain.data.datasets import make_shapes
    from pydtrain.optim.lr_scheduler import CosineAnnealingLR
    from pydtrain.train import evaluate, fit

    X, y = make_shapes(3000, size=20, seed=1)
    X = (X - X[:2400].mean()) / X[:2400].std()
    train, test = (X[:2400], y[:2400]), (X[2400:], y[2400:])
    loss_fn = nn.CrossEntropyLoss()
    pdt.seed(0)
    cnn = pdt.models.resnet(depths=(1, 1, 1), widths=(8, 16, 32), num_classes=6)
    sgd = optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
    fit(cnn, loss_fn, sgd, train, epochs=8, batch_size=64, scheduler=CosineAnnealingLR(sgd, T_max=8), progress=False)
    mlp = pdt.models.mlp([400, 256, 256, 6], dropout=0.2)
    flat = [(a.reshape(len(a), -1), b) for a, b in (train, test)]
    fit(mlp, loss_fn, optim.Adam(mlp.parameters(), lr=1e-3), flat[0], epochs=20, progress=False)
    cnn_accuracy = evaluate(cnn, loss_fn, test)["accuracy"]
    mlp_accuracy = evaluate(mlp, loss_fn, flat[1])["accuracy"]
    assert cnn_accuracy > 0.7 and cnn_accuracy > mlp_accuracy + 0.2, (cnn_accuracy, mlp_accuracy)


def test_bench_layer_profile_times_every_layer_type_and_unwraps():
    from pydtrain.bench.training import REST, TORCH_OPS, _layer_times

    pdt.seed(0)
    model = pdt.models.resnet(depths=(1,), widths=(4,), num_classes=3)
    x = np.random.default_rng(0).standard_normal((4, 1, 6, 6)).astype(np.float32)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        loss_fn(model(x), np.arange(4) % 3)
        model.backward(loss_fn.backward())

    times = _layer_times(model, step, steps=2)
    assert list(times) == [*TORCH_OPS, REST] and all(times[k] > 0 for k in TORCH_OPS)
    assert not any("forward" in vars(m) or "backward" in vars(m) for m in model.modules())
