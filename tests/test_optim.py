"""Optimizers: kernels against the float64 oracle, optimizers against the written-out formulas and
torch.optim, classic Nesterov against its literal look-ahead form, the flat arena, state_dict resume."""
import numpy as np
import pytest

import reference as ref
from conftest import AWKWARD_SIZES, tol
from pydtrain import _C, functional as F, nn, optim

RNG = np.random.default_rng(0)


def _arrays(n, dtype, count, positive=()):
    out = []
    for i in range(count):
        a = RNG.standard_normal(n)
        out.append((np.abs(a) + 0.1 if i in positive else a).astype(dtype))
    return out


# ---- kernels against the oracle: every dtype × SIMD level × awkward size ----

@pytest.mark.parametrize("n", AWKWARD_SIZES)
@pytest.mark.parametrize("convention", ["classic", "pytorch"])
@pytest.mark.parametrize("nesterov,first", [(False, False), (True, False), (False, True)])
def test_sgd_momentum_kernel(simd, dtype, n, convention, nesterov, first):
    p, g, b = _arrays(n, dtype, 3)
    hp = dict(lr=0.05, momentum=0.9, dampening=0.0 if nesterov else 0.1, weight_decay=0.01, nesterov=nesterov,
              convention=convention, first_step=first)
    want_p, want_b = ref.sgd_momentum_step(p, g, b, **hp)
    F.sgd_momentum_step(p, g, b, **hp)
    np.testing.assert_allclose(p, want_p, **tol(dtype))
    np.testing.assert_allclose(b, want_b, **tol(dtype))


@pytest.mark.parametrize("n", AWKWARD_SIZES)
def test_sgd_kernels_without_momentum(simd, dtype, n):
    p, g = _arrays(n, dtype, 2)
    want = ref.sgd_step(p, g, 0.1)
    F.sgd_step(p, g, 0.1)
    np.testing.assert_allclose(p, want, **tol(dtype))
    want, _ = ref.sgd_momentum_step(p, g, None, 0.1, 0.0, 0.0, 0.5, False, "classic", False)
    F.sgd_momentum_step(p, g, None, 0.1, weight_decay=0.5)
    np.testing.assert_allclose(p, want, **tol(dtype))


@pytest.mark.parametrize("n", AWKWARD_SIZES)
@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.8])
@pytest.mark.parametrize("inside", [True, False])
def test_rmsprop_kernel(simd, dtype, n, centered, momentum, inside):
    p, g, v, ga, mb = _arrays(n, dtype, 5, positive=(2,))
    ga *= dtype.type(0.1)  # keep v − ḡ² > 0
    hp = dict(lr=0.01, beta=0.9, eps=1e-6, weight_decay=0.02, momentum=momentum, centered=centered,
              eps_inside_sqrt=inside)
    want = ref.rmsprop_step(p, g, v, ga if centered else None, mb if momentum else None, **hp)
    F.rmsprop_step(p, g, v, hp["lr"], hp["beta"], hp["eps"], inside, hp["weight_decay"], momentum,
                   grad_avg=ga if centered else None, momentum_buf=mb if momentum else None)
    np.testing.assert_allclose(p, want[0], **tol(dtype))
    np.testing.assert_allclose(v, want[1], **tol(dtype))
    if centered:
        np.testing.assert_allclose(ga, want[2], **tol(dtype))
    if momentum:
        np.testing.assert_allclose(mb, want[3], **tol(dtype))


@pytest.mark.parametrize("n", AWKWARD_SIZES)
@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_kernel(simd, dtype, n, decoupled, amsgrad):
    p, g, m, v, vm = _arrays(n, dtype, 5, positive=(3, 4))
    hp = dict(lr=0.01, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, step=3, decoupled=decoupled)
    want = ref.adam_step(p, g, m, v, vm if amsgrad else None, **hp)
    F.adam_step(p, g, m, v, max_exp_avg_sq=vm if amsgrad else None, **hp)
    for got, w in zip((p, m, v, vm if amsgrad else None), want):
        if w is not None:
            np.testing.assert_allclose(got, w, **tol(dtype))


def test_kernel_argument_errors():
    p = np.zeros(4, np.float32)
    with pytest.raises(TypeError, match="grad"):
        F.adam_step(p, np.zeros(4), np.zeros(4, np.float32), np.zeros(4, np.float32), 1)
    with pytest.raises(ValueError, match="exp_avg"):
        F.adam_step(p, np.zeros(4, np.float32), np.zeros(5, np.float32), np.zeros(4, np.float32), 1)
    with pytest.raises(ValueError, match="step must be >= 1"):
        F.adam_step(p, np.zeros(4, np.float32), np.zeros(4, np.float32), np.zeros(4, np.float32), 0)
    with pytest.raises(ValueError, match="needs a buffer 'buf'"):
        F.sgd_momentum_step(p, np.zeros(4, np.float32), None, 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="shares memory"):
        F.sgd_momentum_step(p, p, np.zeros(4, np.float32), 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="C-contiguous"):
        F.sgd_step(np.zeros(8, np.float32)[::2], np.zeros(4, np.float32), 0.1)


# ---- optimizers over a quadratic, float64, against the written-out formulas ----

A = np.diag(np.linspace(0.5, 3.0, 6)) + 0.1
B = np.linspace(-1.0, 1.0, 6)


def quad_grad(theta):
    """∇L for L(θ) = ½θᵀAθ − bᵀθ, computed directly (also at look-ahead points)."""
    return A @ theta - B


def two_group_params(dtype=np.float64):
    w = nn.Parameter(np.linspace(-1.0, 1.0, 4).astype(dtype), name="w")
    b = nn.Parameter(np.array([0.3, -0.2], dtype), name="b")
    return w, b


def run(opt_factory, steps, lrs=None, grad_fn=quad_grad, dtype=np.float64):
    """Drive an optimizer over the quadratic with the lr of each group changed before every step."""
    w, b = two_group_params(dtype)
    opt = opt_factory([{"params": [w]}, {"params": [b], "lr": 0.02, "weight_decay": 0.0}])
    history = []
    for k in range(steps):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[k]
        theta = np.concatenate([w.data, b.data]).astype(np.float64)
        g = grad_fn(theta)
        w.grad[...] = g[:4]
        b.grad[...] = g[4:]
        opt.step()
        history.append(np.concatenate([w.data, b.data]).copy())
    return opt, np.array(history)


LRS = [0.05 * (0.95 ** k) * (1 + 0.3 * (k % 3)) for k in range(60)]


def formula_run(update, state0, steps, lrs):
    """The same run with the formula written out per group: group 0 = w (lr from lrs, decay λ), group 1 = b."""
    theta = np.concatenate([np.linspace(-1.0, 1.0, 4), [0.3, -0.2]])
    states = [dict(state0), dict(state0)]
    history = []
    for k in range(steps):
        g = quad_grad(theta)
        for gi, sl, lr in ((0, slice(0, 4), lrs[k]), (1, slice(4, 6), 0.02)):
            theta[sl] = update(theta[sl], g[sl], states[gi], lr, gi, k + 1)
        history.append(theta.copy())
    return np.array(history)


def test_sgd_classic_momentum_matches_lecture_formula():
    mu, lam = 0.9, 0.01

    def update(th, g, st, lr, gi, t):
        g = g + (lam if gi == 0 else 0.0) * th
        st["m"] = mu * st.get("m", 0.0) - lr * g        # m ← μm − αg
        return th + st["m"]                             # θ ← θ + m

    _, got = run(lambda p: optim.SGD(p, lr=0.05, momentum=mu, weight_decay=lam), 30, LRS)
    want = formula_run(update, {}, 30, LRS)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_sgd_pytorch_momentum_matches_footnote_formula():
    mu, lam, tau = 0.8, 0.01, 0.2

    def update(th, g, st, lr, gi, t):
        g = g + (lam if gi == 0 else 0.0) * th
        st["b"] = g.copy() if t == 1 else mu * st["b"] + (1 - tau) * g   # b ← μb + (1−τ)g, b₁ = g
        return th - lr * st["b"]                                         # θ ← θ − αb

    _, got = run(lambda p: optim.SGD(p, lr=0.05, momentum=mu, dampening=tau, weight_decay=lam,
                                     convention="pytorch"), 30, LRS)
    np.testing.assert_allclose(got, formula_run(update, {}, 30, LRS), rtol=1e-12, atol=1e-14)


def test_conventions_agree_at_constant_lr_and_differ_under_a_schedule():
    _, a = run(lambda p: optim.SGD(p, lr=0.05, momentum=0.9), 30)
    _, b = run(lambda p: optim.SGD(p, lr=0.05, momentum=0.9, convention="pytorch"), 30)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    _, a = run(lambda p: optim.SGD(p, lr=0.05, momentum=0.9), 30, LRS)
    _, b = run(lambda p: optim.SGD(p, lr=0.05, momentum=0.9, convention="pytorch"), 30, LRS)
    assert np.abs(a - b).max() > 1e-4


def test_classic_nesterov_equals_literal_lookahead_formula():
    """m ← μm − α∇L(θ + μm); θ ← θ + m, with ∇L at the look-ahead point computed directly.

    The optimizer stores φ = θ + μm in the parameters (no second forward pass), so
    its iterates must equal θ + μm of the literal run, and its buffer must equal m."""
    mu = 0.9
    w = nn.Parameter(np.concatenate([np.linspace(-1.0, 1.0, 4), [0.3, -0.2]]))
    opt = optim.SGD([w], lr=0.05, momentum=mu, nesterov=True)
    theta, m = w.data.copy(), np.zeros(6)
    for k in range(40):
        lr = LRS[k]
        m = mu * m - lr * quad_grad(theta + mu * m)      # literal look-ahead gradient
        theta = theta + m
        opt.param_groups[0]["lr"] = lr
        w.grad[...] = quad_grad(w.data)                  # the one gradient a training loop has
        opt.step()
        np.testing.assert_allclose(w.data, theta + mu * m, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(opt.state_dict()["state"][0]["momentum_buffer"], m, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w.data - mu * m, theta, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("inside", [True, False])
@pytest.mark.parametrize("centered,momentum", [(False, 0.0), (True, 0.7)])
def test_rmsprop_matches_formula(inside, centered, momentum):
    beta, eps, lam = 0.9, 1e-6, 0.01

    def update(th, g, st, lr, gi, t):
        g = g + (lam if gi == 0 else 0.0) * th
        st["v"] = beta * st.get("v", 0.0) + (1 - beta) * g ** 2
        var = st["v"]
        if centered:
            st["a"] = beta * st.get("a", 0.0) + (1 - beta) * g
            var = var - st["a"] ** 2
        d = np.sqrt(var + eps) if inside else np.sqrt(var) + eps
        if momentum:
            st["b"] = momentum * st.get("b", 0.0) + g / d
            return th - lr * st["b"]
        return th - lr * g / d

    _, got = run(lambda p: optim.RMSprop(p, lr=0.05, beta=beta, eps=eps, eps_inside_sqrt=inside, weight_decay=lam,
                                         momentum=momentum, centered=centered), 30, LRS)
    np.testing.assert_allclose(got, formula_run(update, {}, 30, LRS), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_formula(cls, amsgrad):
    b1, b2, eps, lam = 0.9, 0.99, 1e-8, 0.05

    def update(th, g, st, lr, gi, t):
        wd = lam if gi == 0 else 0.0
        if cls == "AdamW":
            th = th * (1 - lr * wd)
        else:
            g = g + wd * th
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g ** 2
        v = st["v"]
        if amsgrad:
            st["vmax"] = np.maximum(st.get("vmax", 0.0), v)
            v = st["vmax"]
        m_hat, v_hat = st["m"] / (1 - b1 ** t), v / (1 - b2 ** t)
        return th - lr * m_hat / (np.sqrt(v_hat) + eps)

    factory = getattr(optim, cls)
    _, got = run(lambda p: factory(p, lr=0.05, betas=(b1, b2), eps=eps, weight_decay=lam, amsgrad=amsgrad), 30, LRS)
    np.testing.assert_allclose(got, formula_run(update, {}, 30, LRS), rtol=1e-11, atol=1e-13)


def test_adamw_default_decay_and_groups_keep_their_own_settings():
    w, b = two_group_params()
    opt = optim.AdamW([{"params": [w]}, {"params": [b], "weight_decay": 0.0, "lr": 0.5}])
    assert opt.param_groups[0]["weight_decay"] == 0.01 and opt.param_groups[1]["weight_decay"] == 0.0
    assert opt.param_groups[0]["lr"] == 1e-3 and opt.param_groups[1]["lr"] == 0.5


# ---- against torch.optim, float64, 50+ steps with a changing lr ----

TORCH_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, convention="pytorch"), dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, convention="pytorch"),
     dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.02, convention="pytorch"),
     dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.02)),
    ("SGD", dict(lr=0.05, weight_decay=0.02), dict(lr=0.05, weight_decay=0.02)),
    ("RMSprop", dict(lr=0.01, beta=0.9, eps=1e-6, eps_inside_sqrt=False), dict(lr=0.01, alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=0.01, beta=0.95, eps=1e-6, eps_inside_sqrt=False, centered=True, momentum=0.6,
                     weight_decay=0.01),
     dict(lr=0.01, alpha=0.95, eps=1e-6, centered=True, momentum=0.6, weight_decay=0.01)),
    ("Adam", dict(lr=0.02), dict(lr=0.02)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.95), weight_decay=0.1, amsgrad=True),
     dict(lr=0.02, betas=(0.8, 0.95), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.02), dict(lr=0.02)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True), dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
]


@pytest.mark.parametrize("name,ours,theirs", TORCH_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(TORCH_CASES)])
def test_matches_torch_optim(name, ours, theirs):
    torch = pytest.importorskip("torch")
    init = [np.linspace(-1.0, 1.0, 12).reshape(3, 4), np.array([0.3, -0.2, 0.1])]
    params = [nn.Parameter(a.copy()) for a in init]
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(optim, name)(params, **ours)
    topt = getattr(torch.optim, name)(tparams, **theirs)
    for k in range(60):
        lr = theirs["lr"] * (0.97 ** k) * (1 + 0.5 * (k % 4 == 0))
        opt.param_groups[0]["lr"] = lr
        topt.param_groups[0]["lr"] = lr
        for p, tp in zip(params, tparams):
            g = np.sin(3 * p.data) + 0.5 * p.data        # a smooth gradient field, evaluated on each own iterate
            p.grad[...] = g
            tp.grad = torch.tensor(np.sin(3 * tp.detach().numpy()) + 0.5 * tp.detach().numpy())
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12)


# ---- every SIMD level against scalar over 7 steps ----

OPTIMIZERS = [
    lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda p: optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, convention="pytorch"),
    lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
    lambda p: optim.RMSprop(p, lr=0.01, eps_inside_sqrt=False, weight_decay=0.01),
    lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.01),
    lambda p: optim.AdamW(p, lr=0.01),
]


def _seven_steps(factory, dtype):
    rng = np.random.default_rng(1)
    params = [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in ((33, 7), (1023,), (5,))]
    opt = factory(params)
    for k in range(7):
        for p in params:
            p.grad[...] = (rng.standard_normal(p.shape) + 0.1 * p.data).astype(dtype)
        opt.step()
    return np.concatenate([p.data.ravel() for p in params])


@pytest.mark.parametrize("which", range(len(OPTIMIZERS)))
def test_simd_levels_match_scalar_over_seven_steps(simd, dtype, which):
    got = _seven_steps(OPTIMIZERS[which], dtype)
    level = _C.simd_level()
    _C._set_simd("scalar")
    try:
        want = _seven_steps(OPTIMIZERS[which], dtype)
    finally:
        _C._set_simd(level)
    np.testing.assert_allclose(got, want, **tol(dtype, f32=(1e-5, 1e-6), f64=(1e-12, 1e-13)))


# ---- the flat arena ----

def _model():
    import pydtrain as pdt

    pdt.seed(3)
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))


def test_arena_makes_parameters_views_and_the_model_keeps_working():
    model = _model()
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    before = model(x).copy()
    opt = optim.Adam(model.parameters(), lr=0.1)
    data, grad = opt._arenas[0]
    assert data.size == sum(p.size for p in model.parameters())
    for p in model.parameters():
        assert np.shares_memory(p.data, data) and np.shares_memory(p.grad, grad)
    np.testing.assert_array_equal(model(x), before)
    assert data.ctypes.data % 64 == 0
    loss = nn.CrossEntropyLoss()
    y = np.array([0, 1, 2, 1])
    loss(model(x), y)
    model.backward(loss.backward())
    assert np.abs(grad).sum() > 0
    opt.step()
    assert not np.allclose(model(x), before)
    opt.zero_grad(set_to_none=False)  # one fill of the arena: the flat buffer itself reads zero
    assert not grad.any() and not any(p.grad.any() for p in model.parameters())


# ---- zero_grad marks gradients zero; the next backward writes them ----

def _grads_after(model, x, y, passes=1):
    loss = nn.CrossEntropyLoss()
    for _ in range(passes):
        loss(model(x), y)
        model.backward(loss.backward())
    return [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("zero", ["module", "optimizer"])
def test_backward_after_zero_grad_writes_fresh_gradients_and_then_accumulates(zero):
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((6, 5)).astype(np.float32), np.array([0, 1, 2, 1, 0, 2])
    fresh = _grads_after(_model(), x, y)
    twice = _grads_after(_model(), x, y, passes=2)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    for p in model.parameters():  # stale values the marked-zero gradients must not leak
        p.grad[...] = 1e6
    (model if zero == "module" else opt).zero_grad()
    for got, want in zip(_grads_after(model, x, y), fresh):
        np.testing.assert_array_equal(got, want)
    (model if zero == "module" else opt).zero_grad()
    for got, want in zip(_grads_after(model, x, y, passes=2), twice):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_zero_grad_reads_as_zeros_and_a_step_without_backward_sees_zeros():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.5)
    for p in model.parameters():
        p.grad[...] = 3.0
    before = [p.data.copy() for p in model.parameters()]
    opt.zero_grad()
    opt.step()  # SGD without momentum or decay: a zero gradient moves nothing
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)
    model.zero_grad()
    assert all(not p.grad.any() for p in model.parameters())
    p = next(iter(model.parameters()))
    model.zero_grad()
    p.grad = np.full(p.shape, 2.0, np.float32)  # an assigned gradient is no longer marked zero
    opt.step()
    np.testing.assert_allclose(p.data, before[0] - 0.5 * 2.0, rtol=1e-6)


@pytest.mark.parametrize("zero", ["module", "optimizer"])
def test_zero_grad_marks_arrays_held_from_before_keep_their_values_unless_set_to_none_is_false(zero):
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    zero_grad = model.zero_grad if zero == "module" else opt.zero_grad
    held = [p.grad for p in model.parameters()]
    for g in held:
        g[...] = 5.0
    zero_grad()
    assert all((g == 5.0).all() for g in held)  # like PyTorch's set_to_none: the old arrays are left alone
    assert all(not p.grad.any() for p in model.parameters())  # the gradient itself reads as zero
    for g in held:  # the same arrays (nothing was reallocated): they now read zero too
        assert not g.any()
        g[...] = 5.0
    zero_grad(set_to_none=False)
    assert all(not g.any() for g in held)


@pytest.mark.parametrize("zero", ["module", "optimizer"])
def test_zero_grad_set_to_none_false_clears_an_earlier_mark(zero):
    """zero_grad(); zero_grad(set_to_none=False): the second call fills and unmarks, so a gradient written
    into a held array afterwards is the one the step uses (a leftover mark would zero it first)."""
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.5)
    zero_grad = model.zero_grad if zero == "module" else opt.zero_grad
    params = model.parameters()
    held = [p.grad for p in params]
    before = [p.data.copy() for p in params]
    zero_grad()
    zero_grad(set_to_none=False)
    for g in held:
        g[...] = 2.0
    opt.step()
    for p, b in zip(params, before):
        np.testing.assert_allclose(p.data, b - 0.5 * 2.0, rtol=1e-6)


@pytest.mark.parametrize("layer", ["batchnorm", "layernorm", "linear_no_bias"])
def test_zero_grad_then_backward_equals_fresh_gradients_for_other_parameter_kinds(layer):
    import pydtrain as pdt

    def build():
        pdt.seed(6)
        mid = {"batchnorm": nn.BatchNorm(7), "layernorm": nn.LayerNorm(7),
               "linear_no_bias": nn.Linear(7, 7, bias=False)}[layer]
        return nn.Sequential(nn.Linear(5, 7, bias=layer != "linear_no_bias"), mid, nn.ReLU(), nn.Linear(7, 3))

    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((6, 5)).astype(np.float32), np.array([0, 1, 2, 1, 0, 2])
    fresh = _grads_after(build(), x, y)
    model = build()
    opt = optim.Adam(model.parameters(), lr=0.1)
    for p in model.parameters():  # stale non-finite values must not leak into the fresh gradients
        p.grad[...] = np.nan
    opt.zero_grad()
    for got, want in zip(_grads_after(model, x, y), fresh):
        np.testing.assert_array_equal(got, want)


def test_clip_after_zero_grad_without_backward_sees_zero_gradients():
    model = _model()
    for p in model.parameters():
        p.grad[...] = np.inf
    model.zero_grad()
    assert optim.clip_grad_norm_(model.parameters(), max_norm=1.0) == 0.0


def test_a_parameter_shared_by_two_linear_layers_sums_both_gradients_after_zero_grad():
    import pydtrain as pdt

    pdt.seed(4)
    a, b = nn.Linear(4, 4), nn.Linear(4, 4)
    b.weight = a.weight  # tied
    model = nn.Sequential(a, nn.ReLU(), b)
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    dy = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    h = np.maximum(x @ a.weight.data.T + a.bias.data, 0)
    dh = (dy @ a.weight.data) * (h > 0)
    want = dy.T @ h + dh.T @ x
    for p in model.parameters():
        p.grad[...] = -7.0
    model.zero_grad()
    model(x)
    model.backward(dy)
    np.testing.assert_allclose(a.weight.grad, want, rtol=1e-5, atol=1e-6)


def test_a_second_optimizer_shares_the_arena():
    model = _model()
    a = optim.SGD(model.parameters(), lr=0.1)
    b = optim.Adam(model.parameters(), lr=0.1)
    assert np.shares_memory(a._arenas[0][0], b._arenas[0][0])
    for p in model.parameters():
        p.grad[...] = 1.0
    before = [p.data.copy() for p in model.parameters()]
    a.step()
    for p, q in zip(model.parameters(), before):
        np.testing.assert_allclose(p.data, q - 0.1, rtol=1e-6)


def test_one_c_call_per_group(monkeypatch):
    from pydtrain.optim import adam

    model = _model()
    params = model.parameters()
    opt = optim.Adam([{"params": params[:2]}, {"params": params[2:], "weight_decay": 0.0}])
    calls = []
    real = adam._C

    class Spy:
        def adam_step(self, *args):
            calls.append(args[0].size)
            return real.adam_step(*args)

    monkeypatch.setattr(adam, "_C", Spy())
    opt.step()
    assert calls == [params[0].size + params[1].size, params[2].size + params[3].size]


def test_group_params_must_share_a_dtype():
    a = nn.Parameter(np.zeros(3, np.float32), name="a")
    b = nn.Parameter(np.zeros(3, np.float64), name="b")
    with pytest.raises(TypeError, match="share one dtype"):
        optim.SGD([a, b], lr=0.1)
    optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)  # separate groups are fine


# ---- state_dict: resuming is bit-identical ----

RESUME = [
    lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    lambda p: optim.SGD(p, lr=0.05, momentum=0.9, convention="pytorch"),
    lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
    lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    lambda p: optim.AdamW(p, lr=0.01),
]


@pytest.mark.parametrize("which", range(len(RESUME)))
def test_state_dict_resume_is_bit_identical(which):
    rng = np.random.default_rng(5)
    grads = [[rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (3,))] for _ in range(30)]

    def make(values):
        ps = [nn.Parameter(v.copy()) for v in values]
        return ps, RESUME[which]([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.002}])

    def steps(ps, opt, ks):
        for k in ks:
            opt.param_groups[0]["lr"] *= 0.97
            for p, g in zip(ps, grads[k]):
                p.grad[...] = g
            opt.step()

    init = [rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)]
    ps, opt = make(init)
    steps(ps, opt, range(15))
    saved_params = [p.data.copy() for p in ps]
    saved = opt.state_dict()
    steps(ps, opt, range(15, 30))
    ps2, opt2 = make(saved_params)
    opt2.load_state_dict(saved)
    steps(ps2, opt2, range(15, 30))
    for p, q in zip(ps, ps2):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_is_a_copy_with_pytorch_layout():
    w, b = two_group_params()
    opt = optim.Adam([{"params": [w]}, {"params": [b]}], lr=0.1)
    w.grad[...] = 1.0
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][1]["params"] == [1] and sd["state"][0]["step"] == 1
    assert sd["state"][0]["exp_avg"].shape == w.shape
    sd["state"][0]["exp_avg"][...] = 99.0
    assert opt.state_dict()["state"][0]["exp_avg"].max() < 1.0


# ---- validation ----

@pytest.mark.parametrize("factory,match", [
    (lambda p: optim.SGD(p, lr=-0.1), "lr must be >= 0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "momentum must be >= 0"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, dampening=0.1), "dampening 0"),
    (lambda p: optim.SGD(p, lr=0.1, convention="keras"), "convention must be"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"betas\[0\] must be in \[0.0, 1.0\)"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"betas\[1\]"),
    (lambda p: optim.AdamW(p, lr=-1e-3), "lr must be >= 0"),
    (lambda p: optim.RMSprop(p, beta=1.5), "beta must be in"),
    (lambda p: optim.RMSprop(p, eps=-1.0), "eps must be >= 0"),
    (lambda p: optim.Adam(p, weight_decay=-0.1), "weight_decay must be >= 0"),
])
def test_invalid_hyper_parameters_raise(factory, match):
    with pytest.raises(ValueError, match=match):
        factory([nn.Parameter(np.zeros(3))])


def test_bad_params_raise():
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    with pytest.raises(TypeError, match="Parameters"):
        optim.Adam([np.zeros(3)])
    p = nn.Parameter(np.zeros(3))
    with pytest.raises(ValueError, match="more than one group"):
        optim.Adam([{"params": [p]}, {"params": [p]}])
    with pytest.raises(TypeError, match="number"):
        optim.SGD([p], lr="0.1")


def test_pytorch_momentum_switched_on_later_starts_its_buffer_at_g():
    torch = pytest.importorskip("torch")
    p = nn.Parameter(np.linspace(-1.0, 1.0, 5))
    tp = torch.tensor(p.data.copy(), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, convention="pytorch")
    topt = torch.optim.SGD([tp], lr=0.1)
    for k in range(6):
        if k == 3:
            opt.param_groups[0]["momentum"] = topt.param_groups[0]["momentum"] = 0.9
            opt.param_groups[0]["dampening"] = topt.param_groups[0]["dampening"] = 0.5  # not on the first b
        p.grad[...] = np.cos(p.data)
        tp.grad = torch.cos(tp.detach())
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("n", [100, 40_000])
def test_adam_is_the_same_for_any_thread_count(dtype, n):
    """Below the parallel threshold one thread runs the loop in place (no OpenMP team), above it the
    buffer is split by index: bit-identical results for 1, 2 and 3 threads."""
    import pydtrain

    rng = np.random.default_rng(6)
    start = [rng.standard_normal(n).astype(dtype) for _ in range(4)]
    start[3] = np.abs(start[3])
    previous = pydtrain.get_num_threads()
    try:
        outs = []
        for threads in (1, 2, 3):
            pydtrain.set_num_threads(threads)
            p, g, m, v = (a.copy() for a in start)
            for step in (1, 2, 3):
                _C.adam_step(p, g, m, v, None, 1e-2, 0.9, 0.999, 1e-8, 0.01, step, True)
            outs.append((p, m, v))
    finally:
        pydtrain.set_num_threads(previous)
    for other in outs[1:]:
        for got, want in zip(other, outs[0]):
            np.testing.assert_array_equal(got, want)
    p, m, v = start[0], start[2], start[3]
    for step in (1, 2, 3):
        p, m, v, _ = ref.adam_step(p, start[1], m, v, None, 1e-2, 0.9, 0.999, 1e-8, 0.01, step, True)
    for got, want in zip(outs[0], (p, m, v)):
        np.testing.assert_allclose(got, want, **tol(dtype))
