"""Edge behaviour: NaN through ReLU, the arena's ownership, checks before gradients change, BN statistics, subnormals."""
import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import functional as F, nn, optim
from pydtrain.diagnostics import gradcheck


def test_relu_and_bias_relu_propagate_nan(simd, dtype):
    x = np.array([np.nan, -1.0, 2.0, np.nan, 0.0, 3.0, -np.inf, np.inf, np.nan], dtype)
    y = F.relu(x)
    assert np.isnan(y[[0, 3, 8]]).all()
    np.testing.assert_array_equal(y[[1, 2, 4, 5, 6, 7]], np.array([0, 2, 0, 3, 0, np.inf], dtype))
    yb = F.bias_relu(x.reshape(1, -1), np.zeros(9, dtype))
    assert np.isnan(yb[0, [0, 3, 8]]).all()
    np.testing.assert_array_equal(yb[0, [1, 2, 4, 5, 6, 7]], np.array([0, 2, 0, 3, 0, np.inf], dtype))


def test_nan_weights_make_a_nan_loss():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    model[0].weight.data[...] = np.nan
    loss = nn.CrossEntropyLoss()(model(np.ones((2, 4), np.float32)), np.array([0, 1]))
    assert np.isnan(loss)


def test_assigning_data_after_an_optimizer_copies_into_the_arena():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt = optim.SGD(model.parameters(), lr=0.5)
    w = model[0].weight
    view = w.data
    w.data = np.ones((3, 4), np.float32)
    assert w.data is view and np.all(view == 1.0)
    w.grad[...] = 1.0
    opt.step()
    np.testing.assert_allclose(model[0].weight.data, 0.5)
    with pytest.raises(ValueError, match=r"assign an array of its shape \(3, 4\)"):
        w.data = np.ones((2, 2), np.float32)


def test_a_second_optimizer_cannot_orphan_the_first():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt1 = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="already lives in another optimizer's flat buffer"):
        optim.SGD([model[0].weight, model[2].weight], lr=0.1)
    same = optim.Adam(model.parameters(), lr=0.1)  # the same layout shares the buffer
    assert model[0].weight.in_arena() and same.param_groups[0]["params"][0] is model[0].weight
    del opt1, same
    opt3 = optim.SGD([model[0].weight, model[2].weight], lr=0.1)  # nobody else holds them now
    model[0].weight.grad[...] = 1.0
    before = model[0].weight.data.copy()
    opt3.step()
    np.testing.assert_allclose(model[0].weight.data, before - 0.1)


def test_linear_backward_checks_dy_before_touching_grads():
    layer = nn.Linear(3, 4, dtype=np.float64)
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"dy must have the shape of the forward output \(4, 4\); got \(2, 8\)"):
        layer.backward(np.ones((2, 8)))
    assert not layer.weight.grad.any()


def test_gradcheck_leaves_running_statistics_alone():
    bn = nn.BatchNorm(3, dtype=np.float64)
    before = {k: v.copy() for k, v in bn.state_dict().items()}
    assert gradcheck(bn, np.random.default_rng(0).standard_normal((5, 3)))
    for k, v in bn.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_recompute_bn_stats_runs_dropout_in_inference_mode():
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(4, 6, dtype=np.float64), nn.Dropout(keep_prob=0.5), nn.BatchNorm(6, dtype=np.float64))
    X = np.random.default_rng(1).standard_normal((32, 4))
    nn.recompute_bn_stats(model, [X[:16], X[16:]])
    h = [xb @ model[0].weight.data.T + model[0].bias.data for xb in (X[:16], X[16:])]
    np.testing.assert_allclose(model[2].running_mean, np.mean([hb.mean(0) for hb in h], axis=0), rtol=1e-12)
    assert model.training


@pytest.mark.parametrize("make", [
    lambda p: optim.Adam([p], lr=1e-3),
    lambda p: optim.SGD([p], lr=1e-3, momentum=0.5),
    lambda p: optim.SGD([p], lr=1e-3, momentum=0.5, convention="pytorch"),
    lambda p: optim.RMSprop([p], lr=1e-3, momentum=0.5, centered=True),
])
def test_optimizer_state_never_holds_subnormals(make, dtype):
    p = nn.Parameter(np.ones(20, dtype))
    opt = make(p)
    p.grad[...] = 1.0
    opt.step()
    p.grad[...] = 0.0  # a dead unit: its buffers decay geometrically
    for _ in range(1200 if dtype == np.float32 else 11000):
        opt.step()
    tiny = np.finfo(dtype).tiny
    for name, buf in opt._state[0].items():
        if isinstance(buf, np.ndarray):
            assert not np.any((buf != 0) & (np.abs(buf) < tiny)), name


def test_empty_rows_of_a_huge_leading_dimension_return_at_once():
    # 2**59 rows of no units: a loop over the rows would run for years with the GIL held
    import subprocess
    import sys

    code = """
import numpy as np
from numpy.lib.stride_tricks import as_strided
from pydtrain import functional as F
huge = as_strided(np.zeros(1, np.float32), shape=(2**59, 0), strides=(0, 0))
none = np.zeros(0, np.float32)
F.bias_relu(huge, none); F.bias_relu_backward(huge, huge, none.copy()); F.bias_grad(huge, none.copy())
F.relu(huge); F.gelu(huge); F.scale(huge, 2.0); assert F.sum_squares(huge) == 0.0
print("done")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "done", out.stderr


def test_dropout_p_explains_its_two_meanings():
    import pytest
    from pydtrain import nn

    with pytest.raises(TypeError, match=r"^Dropout: p=0\.5 has two meanings: .*keep_prob=0\.5.*rate=0\.5"):
        nn.Dropout(p=0.5)


def test_float_class_labels_are_named():
    import numpy as np
    import pytest
    from pydtrain import nn

    with pytest.raises(ValueError, match=r"1-D class labels must be integers: y\.astype\(np\.int64\) \(got float64\)"):
        nn.CrossEntropyLoss()(np.zeros((8, 10), np.float32), np.zeros(8))
