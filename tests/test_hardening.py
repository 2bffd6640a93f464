"""Hardening: failed loads change nothing, odd arrays are refused, sums of large float32 values stay finite,
and the errors a student meets say what was done."""
import copy
import io
import math
import pickle
import zipfile

import numpy as np
import pytest

import reference as ref
from pydtrain import functional as F, nn, optim, train
from pydtrain.data import DataLoader


def bn_model(seed):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm(4), nn.ReLU(), nn.Linear(4, 2))
    for p in model.parameters():
        p.data = rng.standard_normal(p.shape).astype(np.float32)
    model(rng.standard_normal((5, 3)).astype(np.float32))  # running statistics of their own
    return model


def bits(model):
    """Every parameter and buffer as bytes, and the arrays themselves (a load must write in place)."""
    return [(k, v.dtype, v.tobytes()) for k, v in model.state_dict().items()]


# ---- Module.load_state_dict: all or nothing ----

def _npz_bytes(state, last_member=None):
    """An .npz of ``state`` (its keys in order); ``last_member`` replaces the bytes of the last member."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        keys = list(state)
        for k in keys:
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(state[k]))
            data = member.getvalue() if k != keys[-1] or last_member is None else last_member(member.getvalue())
            z.writestr(k + ".npy", data)
    return buf.getvalue()


def _bad_states(good, tmp_path):
    last = list(good)[-1]
    yield "wrong shape in the last key", {**good, last: np.zeros((7,), np.float32)}, ValueError, "has shape"
    yield "complex", {**good, last: good[last].astype(np.complex64)}, TypeError, "complex64"
    yield "object", {**good, last: np.array([object()] * good[last].size, dtype=object)}, TypeError, "object"
    raw = _npz_bytes(good)
    cd = raw.index(b"PK\x01\x02")  # the central directory, right after the last member's data
    path = tmp_path / "crc.npz"
    path.write_bytes(raw[:cd - 3] + bytes([raw[cd - 3] ^ 0xFF]) + raw[cd - 2:])
    yield "bad CRC-32", np.load(path), ValueError, "cannot be read .BadZipFile: Bad CRC-32"
    path = tmp_path / "header.npz"
    path.write_bytes(_npz_bytes(good, lambda member: b"\x93NUMPY\x01\x00\x10\x00{'descr': 12345}\n"))
    yield "bad .npy header", np.load(path), ValueError, "cannot be read"


@pytest.mark.parametrize("case", ["wrong shape in the last key", "complex", "object", "bad CRC-32",
                                  "bad .npy header"])
def test_a_failed_module_load_changes_nothing(case, tmp_path):
    good = bn_model(1).state_dict()
    for name, state, error, match in _bad_states(good, tmp_path):
        if name != case:
            continue
        model = bn_model(2)
        arrays = [p.data for p in model.parameters()] + [model[1].running_mean, model[1].running_var]
        before = bits(model)
        with pytest.raises(error, match=f"load_state_dict: '{list(good)[-1]}'.*{match}|{match}"):
            model.load_state_dict(state)
        assert bits(model) == before
        assert all(a is b for a, b in zip(arrays, [p.data for p in model.parameters()]
                                          + [model[1].running_mean, model[1].running_var]))
        model.load_state_dict(good)  # and a good state still loads, in place
        assert bits(model) == bits(bn_model(1))


def test_a_bfloat16_tensor_fails_the_whole_load():
    torch = pytest.importorskip("torch")
    good = bn_model(1).state_dict()
    last = list(good)[-1]
    state = {k: torch.from_numpy(v) for k, v in good.items()}
    state[last] = state[last].to(torch.bfloat16)
    model = bn_model(2)
    before = bits(model)
    with pytest.raises(TypeError, match=f"load_state_dict: '{last}' is a Tensor of dtype torch.bfloat16"):
        model.load_state_dict(state)
    assert bits(model) == before


# ---- Optimizer.load_state_dict: all or nothing, the whole dict checked ----

def _trained(factory, seed=0):
    rng = np.random.default_rng(seed)
    ps = [nn.Parameter(rng.standard_normal(s)) for s in ((3, 2), (2,))]
    opt = factory(ps)
    for _ in range(3):
        for p in ps:
            p.grad[...] = rng.standard_normal(p.shape)
        opt.step()
    return ps, opt


def _opt_bits(opt):
    sd = opt.state_dict()
    groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    return repr(groups), [(i, k, np.asarray(v).tobytes()) for i, e in sd["state"].items() for k, v in e.items()]


def _with(sd, group=None, state=None):
    sd = copy.deepcopy(sd)
    if group:
        sd["param_groups"][-1].update(group)
    if state:
        sd["state"][max(sd["state"])].update(state)
    return sd


SGD = lambda p: optim.SGD(p, lr=0.1, momentum=0.9)  # noqa: E731
ADAM = lambda p: optim.Adam(p, lr=0.01)  # noqa: E731

BAD_OPTIMIZER_STATES = {
    "lr a string": (SGD, dict(group={"lr": "x"}), TypeError, "lr must be a number, got str"),
    "lr negative": (SGD, dict(group={"lr": -1.0}), ValueError, "lr must be >= 0"),
    "nesterov not a bool": (SGD, dict(group={"nesterov": "yes"}), TypeError, "nesterov must be True or False"),
    "step 2**70": (ADAM, dict(state={"step": 2**70}), ValueError, r"step count .* in \[0, 2\*\*53\], got 1180"),
    "step negative": (ADAM, dict(state={"step": -1}), ValueError, "step count"),
    "step 1.5": (ADAM, dict(state={"step": 1.5}), ValueError, "step count"),
    "step a string": (ADAM, dict(state={"step": "3"}), TypeError, "step count"),
    "buffer complex": (SGD, dict(state={"momentum_buffer": np.ones(2, np.complex128)}), TypeError, "complex128"),
    "buffer of the wrong shape": (SGD, dict(state={"momentum_buffer": np.ones(3)}), ValueError, r"shape \(3,\)"),
    "maximize": (ADAM, dict(group={"maximize": True}), ValueError, "maximize=True, which pydtrain's Adam does not"),
    "differentiable": (SGD, dict(group={"differentiable": True}), ValueError, "differentiable=True"),
    "AdamW's state into Adam": (ADAM, dict(group={"decoupled_weight_decay": True}), ValueError,
                                "decoupled_weight_decay=True, another algorithm"),
    "Adam's settings into SGD": (SGD, dict(group={"betas": (0.9, 0.999)}), ValueError, "'betas', which is not a SGD"),
    "Adam's buffers into SGD": (SGD, dict(state={"exp_avg": np.ones(2)}), ValueError, "'exp_avg', which SGD does not"),
}


@pytest.mark.parametrize("case", list(BAD_OPTIMIZER_STATES))
def test_a_failed_optimizer_load_changes_nothing(case):
    factory, change, error, match = BAD_OPTIMIZER_STATES[case]
    _, source = _trained(factory, seed=1)
    ps, opt = _trained(factory, seed=2)
    before, params = _opt_bits(opt), [p.data.tobytes() for p in ps]
    with pytest.raises(error, match=match):
        opt.load_state_dict(_with(source.state_dict(), **change))
    assert _opt_bits(opt) == before and [p.data.tobytes() for p in ps] == params
    opt.step()  # still usable
    opt.load_state_dict(source.state_dict())
    assert _opt_bits(opt) == _opt_bits(source)


def test_an_adam_state_does_not_load_into_sgd():
    _, adam = _trained(ADAM)
    ps, sgd = _trained(SGD)
    before = _opt_bits(sgd)
    with pytest.raises(ValueError, match="SGD.load_state_dict: .*another optimizer's state"):
        sgd.load_state_dict(adam.state_dict())
    assert _opt_bits(sgd) == before


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_torch_state_dicts_load_and_their_unsupported_flags_are_refused(name):
    torch = pytest.importorskip("torch")
    tp = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    kw = {"momentum": 0.9} if name == "SGD" else {}
    topt = getattr(torch.optim, name)([tp], lr=0.1, **kw)
    tp.grad = torch.full((3,), 0.5, dtype=torch.float64)
    topt.step()
    ours = getattr(optim, name)([nn.Parameter(np.ones(3))], lr=0.1, **kw)
    ours.load_state_dict(topt.state_dict())
    sd = ours.state_dict()
    for key, value in topt.state_dict()["state"][0].items():
        np.testing.assert_array_equal(np.asarray(sd["state"][0][key]), value.numpy(), err_msg=key)
    if name == "RMSprop":
        assert ours.param_groups[0]["beta"] == topt.param_groups[0]["alpha"]
    bad = topt.state_dict()
    bad["param_groups"][0]["maximize"] = True
    before = _opt_bits(ours)
    with pytest.raises(ValueError, match=f"{name}.load_state_dict: the state sets maximize=True"):
        ours.load_state_dict(bad)
    assert _opt_bits(ours) == before


# ---- odd arrays ----

def test_two_parameters_sharing_memory_are_refused():
    a = np.ones(4)
    with pytest.raises(ValueError, match="SGD: the parameters at position 0 and at position 1 share memory"):
        optim.SGD([nn.Parameter(a), nn.Parameter(a)], lr=0.5)
    buf = np.ones(10)
    with pytest.raises(ValueError, match="Adam: the parameters 'w' and 'v' share memory"):
        optim.Adam([{"params": [nn.Parameter(buf[:6], name="w")]}, {"params": [nn.Parameter(buf[4:], name="v")]}])
    pa, pb = nn.Parameter(buf[:5]), nn.Parameter(buf[5:])  # views that do not overlap are two parameters
    opt = optim.SGD([pa, pb], lr=0.5)
    pa.grad[...], pb.grad[...] = 1.0, 0.0
    opt.step()
    assert pa.data.tolist() == [0.5] * 5 and pb.data.tolist() == [1.0] * 5


@pytest.mark.parametrize("copier", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))], ids=["deepcopy", "pickle"])
def test_a_copied_model_owns_its_arrays(copier):
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    twin = copier(model)
    assert not any(p.in_arena() for p in twin.parameters())
    assert not any(np.shares_memory(p.data, q.data) for p in twin.parameters() for q in model.parameters())
    twin_opt = optim.SGD(twin.parameters(), lr=0.1)
    before = [p.data.copy() for p in model.parameters()]
    for p in twin.parameters():
        p.grad[...] = 1.0
    twin_opt.step()
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))
    assert all(p.in_arena() for p in model.parameters()) and opt.param_groups[0]["params"][0] is model[0].weight


class Scale(nn.Module):
    """y = s·x with one 0-d parameter s."""

    def __init__(self):
        super().__init__()
        self.s = nn.Parameter(np.array(1.5))

    def forward(self, x):
        self.x = x
        return self.s.data * x

    def backward(self, dy):
        self.s.grad += np.sum(dy * self.x)
        return dy * self.s.data


def test_a_zero_dimensional_parameter_stays_zero_dimensional(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2, dtype=np.float64), Scale())
    p = model[1].s
    assert p.shape == () and p.grad.shape == ()
    opt = optim.Adam(model.parameters(), lr=0.1)
    model.backward(np.ones((3, 2)) - model(np.ones((3, 2))))
    opt.step()
    assert p.shape == () and p.data != 1.5 and model.state_dict()["1.s"].shape == ()
    assert opt.state_dict()["state"][2]["exp_avg"].shape == ()
    train.save_checkpoint(tmp_path / "c.npz", model, opt)
    twin = nn.Sequential(nn.Linear(2, 2, dtype=np.float64), Scale())
    twin_opt = optim.Adam(twin.parameters(), lr=0.1)
    train.load_checkpoint(tmp_path / "c.npz", twin, twin_opt)
    assert twin[1].s.shape == () and twin[1].s.data == p.data


@pytest.mark.parametrize("kind", ["numpy.ma.MaskedArray", "numpy.matrix"], ids=["masked", "matrix"])
@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_masked_arrays_and_matrices_are_refused(kind):
    values = np.ones((2, 3))
    x = np.ma.masked_array(values, mask=values == 0) if kind.endswith("MaskedArray") else np.matrix(values)
    with pytest.raises(TypeError, match=f"Parameter data is a {kind}"):
        nn.Parameter(x)
    p = nn.Parameter(np.zeros((2, 3)))
    optim.SGD([p], lr=0.1)
    with pytest.raises(TypeError, match=f"Parameter data is a {kind}"):
        p.data = x
    with pytest.raises(TypeError, match=f"Linear: input is a {kind}"):
        nn.Linear(3, 2, dtype=np.float64)(x)
    with pytest.raises(TypeError, match=f"relu_forward: argument 'x' is a {kind}"):
        F.relu(x)
    with pytest.raises(TypeError, match=f"clip_sumsq: argument 'x' is a {kind}"):
        F.sum_squares(x)
    with pytest.raises(TypeError, match=f"DataLoader: X is a {kind}"):
        DataLoader(x, np.zeros(2, np.int64))
    with pytest.raises(TypeError, match=f"DataLoader: y is a {kind}"):
        DataLoader(np.zeros((2, 3)), x)


# ---- sums of squares of large float32 values ----

@pytest.mark.parametrize("n", [1, 7, 300, 40000])
def test_sum_squares_of_large_float32_values_is_finite(simd, n):
    x = np.full(n, 1e20, np.float32)
    x[::3] = -3e19
    assert math.isclose(F.sum_squares(x), ref.clip_sumsq(x), rel_tol=1e-12)
    ends = np.array([n // 2, n], np.int64)
    prev = np.zeros(n, np.float32)
    np.testing.assert_allclose(F.segment_sum_squares(x, ends, prev.copy()), ref.segment_sumsq(x, ends, prev),
                               rtol=1e-12)
    kept = prev.copy()
    F.segment_sum_squares(x, ends, kept, keep=True)
    assert np.array_equal(kept, x)
    big = np.full(n, 3e38, np.float32)  # |x| summed past float32's range, for L1
    assert math.isclose(F.l1_penalty(big, np.zeros_like(big), 1.0), 3e38 * n, rel_tol=1e-6)


def test_clip_grad_norm_of_huge_float32_gradients_keeps_their_direction():
    p = nn.Parameter(np.zeros(4, np.float32))
    p.grad[...] = [1e20, -2e20, 0.0, 5e19]
    total = optim.clip_grad_norm_([p], max_norm=1.0)
    assert math.isfinite(total)
    np.testing.assert_allclose(p.grad, np.array([1e20, -2e20, 0.0, 5e19]) / total, rtol=1e-5)


# ---- clearer errors ----

def test_an_empty_batch_to_batch_norm_says_so():
    x = np.zeros((0, 3), np.float32)
    for layer in (nn.BatchNorm(3), nn.BatchNorm(3).eval()):
        with pytest.raises(ValueError, match=r"BatchNorm: the input of shape \(0, 3\) is empty"):
            layer(x)
    with pytest.raises(ValueError, match=r"batchnorm_stats: x of shape \(0, 3\) is empty"):
        F.batchnorm_stats(x)
    with pytest.raises(ValueError, match=r"batchnorm: x of shape \(0, 3, 4\) is empty"):
        F.batchnorm(np.zeros((0, 3, 4), np.float32), np.zeros(3, np.float32), np.ones(3, np.float32))


def test_a_parameter_listed_twice_is_reported_as_listed_twice():
    w, b = nn.Parameter(np.zeros(3), name="w"), nn.Parameter(np.zeros(1), name="b")
    with pytest.raises(ValueError, match="SGD: parameter 'w' is listed twice in the parameter list"):
        optim.SGD([w, b, w], lr=0.1)
    with pytest.raises(ValueError, match="Adam: parameter 'w' is listed twice in group 1"):
        optim.Adam([{"params": [b]}, {"params": [w, w]}])
    with pytest.raises(ValueError, match=r"Adam: parameter 'w' appears in more than one group \(groups 0 and 1\)"):
        optim.Adam([{"params": [w]}, {"params": [w]}])


def test_uint64_labels_are_reported_with_their_value():
    z = np.zeros((2, 3), np.float32)
    y = np.array([1, 2**64 - 1], np.uint64)
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: labels hold class 18446744073709551615 at position 1"):
        nn.CrossEntropyLoss()(z, y)
    with pytest.raises(ValueError, match=r"NLLLoss: labels must be in \[0, 3\), got values in \[1, 18446744073709551615\]"):
        nn.NLLLoss()(z, y)
    assert nn.CrossEntropyLoss()(z, np.array([1, 2], np.uint64)) == pytest.approx(math.log(3))
