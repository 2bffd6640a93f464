"""The float64 NumPy oracle: one function per C kernel, named after it, written from docs/formulas.md."""
import numpy as np

# ---- gemm ----


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, c=None, bias=None):
    a = np.asarray(a, np.float64).T if trans_a else np.asarray(a, np.float64)
    b = np.asarray(b, np.float64).T if trans_b else np.asarray(b, np.float64)
    out = alpha * (a @ b)
    if beta != 0.0:
        out = out + beta * np.asarray(c, np.float64)
    if bias is not None:
        out = out + np.asarray(bias, np.float64)
    return out


# ---- activation ----


def relu_forward(x):
    return np.maximum(np.asarray(x, np.float64), 0.0)


def relu_backward(x, dy):
    return np.where(np.asarray(x) > 0, np.asarray(dy, np.float64), 0.0)


import math  # noqa: E402  (kept in this section so the areas merge cleanly)

_erfc = np.vectorize(math.erfc, otypes=[np.float64])
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
GELU_K0 = math.sqrt(2.0 / math.pi)
GELU_K1 = 0.044715


def _f64(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


def exp_forward(x):
    return np.exp(np.asarray(x, np.float64))


def sigmoid_forward(x):
    """σ(x) = 1/(1 + e^(−x)), evaluated without overflow."""
    (x,) = _f64(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_backward(x, dy):
    s = sigmoid_forward(x)
    return np.asarray(dy, np.float64) * s * sigmoid_forward(-np.asarray(x, np.float64))


def tanh_forward(x):
    return np.tanh(np.asarray(x, np.float64))


def tanh_backward(x, dy):
    x, dy = _f64(x, dy)
    return dy / np.cosh(x) ** 2


def leaky_relu_forward(x, negative_slope):
    (x,) = _f64(x)
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_backward(x, dy, negative_slope):
    x, dy = _f64(x, dy)
    return np.where(x > 0, dy, negative_slope * dy)


def elu_forward(x, alpha, scale=1.0):
    (x,) = _f64(x)
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_backward(x, dy, alpha, scale=1.0):
    x, dy = _f64(x, dy)
    return scale * dy * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def normal_cdf(x):
    """Φ(x) = erfc(−x/√2)/2, accurate in the lower tail."""
    return 0.5 * _erfc(-np.asarray(x, np.float64) / math.sqrt(2.0))


def _limits(x, high=np.inf):
    """x with −inf (and +inf above `high`) as ∓the largest double: the x·σ(x)-type formulas then give their
    limits there (0, 1) instead of inf·0 = NaN, and every finite x is unchanged."""
    big = np.finfo(np.float64).max
    return np.clip(np.asarray(x, np.float64), -big, high)


def gelu_forward(x):
    x = _limits(x)
    return x * normal_cdf(x)


def gelu_backward(x, dy):
    x, dy = _limits(x, high=np.finfo(np.float64).max), np.asarray(dy, np.float64)
    return dy * (normal_cdf(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi))


def gelu_tanh_forward(x):
    x = _limits(x)
    return 0.5 * x * (1.0 + np.tanh(GELU_K0 * (x + GELU_K1 * x ** 3)))


def gelu_tanh_backward(x, dy):
    """Beyond |x| = 30 the derivative is 0 or 1 to double precision (1 − tanh² < 1e-800): x is clamped there."""
    x, dy = np.clip(np.asarray(x, np.float64), -30.0, 30.0), np.asarray(dy, np.float64)
    t = np.tanh(GELU_K0 * (x + GELU_K1 * x ** 3))
    return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K0 * (1.0 + 3.0 * GELU_K1 * x * x))


def silu_forward(x):
    x = _limits(x)
    return x * sigmoid_forward(x)


def silu_backward(x, dy):
    x, dy = _limits(x, high=np.finfo(np.float64).max), np.asarray(dy, np.float64)
    s = sigmoid_forward(x)
    return dy * (s + x * s * (1.0 - s))


def softplus_forward(x, beta, threshold):
    (x,) = _f64(x)
    z = beta * x
    return np.where(z > threshold, x, (np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))) / beta)


def softplus_backward(x, dy, beta, threshold):
    x, dy = _f64(x, dy)
    z = beta * x
    return np.where(z > threshold, dy, dy * sigmoid_forward(z))


def bias_relu_forward(x, bias):
    return np.maximum(np.asarray(x, np.float64) + np.asarray(bias, np.float64), 0.0)


def bias_relu_backward(y, dy):
    """(dx, dbias increment)."""
    dx = np.where(np.asarray(y) > 0, np.asarray(dy, np.float64), 0.0)
    return dx, dx.sum(axis=0)


# ---- linear ----


def bias_grad(dy):
    return np.asarray(dy, np.float64).sum(axis=0)


# ---- loss ----


def log_softmax(z):
    z = np.asarray(z, np.float64)
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def smoothed_targets(labels, k, on_value, off_value):
    q = np.full((len(labels), k), off_value)
    q[np.arange(len(labels)), labels] = on_value
    return q


def cross_entropy_forward(logits, labels, on_value=1.0, off_value=0.0):
    """(probs, per-row losses)."""
    lp = log_softmax(logits)
    q = smoothed_targets(labels, lp.shape[1], on_value, off_value)
    return np.exp(lp), -_weighted(q, lp).sum(axis=1)


def _weighted(q, lp):
    """q·log p, 0 where q = 0 (a class with target 0 adds nothing, even at p = 0: no 0·(−inf))."""
    return np.where(q == 0, 0.0, q * lp)


def cross_entropy_soft_forward(logits, targets):
    lp = log_softmax(logits)
    return np.exp(lp), -_weighted(np.asarray(targets, np.float64), lp).sum(axis=1)


def cross_entropy_backward(probs, labels, on_value, off_value, scale):
    q = smoothed_targets(labels, probs.shape[1], on_value, off_value)
    return scale * (np.asarray(probs, np.float64) - q)


def bce_with_logits_forward(logits, targets):
    """−[y·log σ(z) + (1 − y)·log(1 − σ(z))] per element, in the stable form."""
    z, y = _f64(logits, targets)
    return np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))


def bce_with_logits_backward(logits, targets, scale):
    z, y = _f64(logits, targets)
    return scale * (sigmoid_forward(z) - y)


def mse_forward(input, target):
    x, t = _f64(input, target)
    return (x - t) ** 2


def mse_backward(input, target, scale):
    x, t = _f64(input, target)
    return scale * 2.0 * (x - t)


# ---- dropout ----


def philox4x32_10(seed, counters):
    """The four 32-bit words of Philox4x32-10 blocks (Salmon et al. 2011) for 64-bit counters
    (low two words of the counter block; key = the seed's two halves), as uint64 arrays."""
    m32 = np.uint64(0xFFFFFFFF)
    ctr = np.asarray(counters, dtype=np.uint64)
    c0, c1 = ctr & m32, ctr >> np.uint64(32)
    c2 = np.zeros_like(c0)
    c3 = np.zeros_like(c0)
    k0, k1 = int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0 = c0 * np.uint64(0xD2511F53)
        p1 = c2 * np.uint64(0xCD9E8D57)
        n0 = (p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0)
        n2 = (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1)
        c1, c3, c0, c2 = p1 & m32, p0 & m32, n0, n2
        k0 = (k0 + 0x9E3779B9) & 0xFFFFFFFF
        k1 = (k1 + 0xBB67AE85) & 0xFFFFFFFF
    return c0, c1, c2, c3


def dropout_mask(n, seed, offset, keep_prob):
    """Keep decisions r_i = [word_i < round(keep_prob·2³²)]; element i reads word (i%256)//64
    of block offset + 64·(i//256) + i%64 (the layout documented in kernels/dropout.c)."""
    i = np.arange(n, dtype=np.uint64)
    block = np.uint64(offset) + np.uint64(64) * (i // np.uint64(256)) + i % np.uint64(64)
    words = np.stack(philox4x32_10(seed, block))
    word = words[((i % np.uint64(256)) // np.uint64(64)).astype(np.int64), np.arange(n)]
    return (word < np.uint64(round(keep_prob * 2.0 ** 32))).astype(np.uint8)


def dropout_forward(x, seed, offset, keep_prob, scale):
    """(y, mask): y = scale·r ⊙ x."""
    x = np.asarray(x, np.float64)
    r = dropout_mask(x.size, seed, offset, keep_prob).reshape(x.shape)
    return scale * r * x, r


def dropout_backward(dy, mask, scale):
    return scale * np.asarray(mask, np.float64) * np.asarray(dy, np.float64)


def scale(x, s):
    return s * np.asarray(x, np.float64)


# ---- noise ----


def standard_normal_at(seed, offset, n):
    """z_i by Box–Muller on block offset + i: √(−2 ln(1 − u₁))·cos(2π u₂), u from 53 bits of two words."""
    w0, w1, w2, w3 = philox4x32_10(seed, np.uint64(offset) + np.arange(n, dtype=np.uint64))

    def u53(hi, lo):
        return ((hi >> np.uint64(5)) * np.uint64(1 << 26) + (lo >> np.uint64(6))).astype(np.float64) * 2.0 ** -53

    return np.sqrt(-2.0 * np.log(1.0 - u53(w0, w1))) * np.cos(2 * np.pi * u53(w2, w3))


def gaussian_noise_forward(x, seed, offset, std):
    x = np.asarray(x, np.float64)
    return x + std * standard_normal_at(seed, offset, x.size).reshape(x.shape)


# ---- norm ----


def _channel_axes(x):
    return (0,) + tuple(range(2, np.ndim(x)))


def _per_channel(v, ndim):
    return np.asarray(v, np.float64).reshape((1, -1) + (1,) * (ndim - 2))


def batchnorm_stats(x):
    """μ_B = (1/m)Σx, σ²_B = (1/m)Σ(x − μ_B)² per channel (axis 1) of (N, C, ...)."""
    x = np.asarray(x, np.float64)
    ax = _channel_axes(x)
    mean = x.mean(axis=ax)
    return mean, ((x - _per_channel(mean, x.ndim)) ** 2).mean(axis=ax)


def batchnorm_normalize(x, mean, var, gamma, beta, eps):
    x = np.asarray(x, np.float64)
    xhat = (x - _per_channel(mean, x.ndim)) / np.sqrt(_per_channel(var, x.ndim) + eps)
    if gamma is None:
        return xhat
    return _per_channel(gamma, x.ndim) * xhat + _per_channel(beta, x.ndim)


def batchnorm_backward(x, dy, mean, var, gamma, eps, batch_stats):
    """(dx, dgamma, dbeta): with batch statistics dx = γ/√(σ²+ε)·(dy − mean(dy) − x̂·mean(dy·x̂))."""
    x, dy = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    ax = _channel_axes(x)
    rstd = 1.0 / np.sqrt(_per_channel(var, x.ndim) + eps)
    xhat = (x - _per_channel(mean, x.ndim)) * rstd
    g = 1.0 if gamma is None else _per_channel(gamma, x.ndim)
    if batch_stats:
        dx = g * rstd * (dy - dy.mean(axis=ax, keepdims=True) - xhat * (dy * xhat).mean(axis=ax, keepdims=True))
    else:
        dx = g * rstd * dy
    return dx, (dy * xhat).sum(axis=ax), dy.sum(axis=ax)


def layernorm_forward(x, gamma, beta, eps):
    """(y, mean, rstd) over the last axis of x (M, D): y = γ(x − μ)/√(σ² + ε) + β."""
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=1)
    rstd = 1.0 / np.sqrt(((x - mean[:, None]) ** 2).mean(axis=1) + eps)
    xhat = (x - mean[:, None]) * rstd[:, None]
    y = xhat if gamma is None else np.asarray(gamma, np.float64) * xhat + np.asarray(beta, np.float64)
    return y, mean, rstd


def layernorm_backward(x, dy, mean, rstd, gamma):
    """(dx, dgamma, dbeta): g = γ ⊙ dy, dx = rstd·(g − mean(g) − x̂·mean(g·x̂))."""
    x, dy = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    rstd = np.asarray(rstd, np.float64)[:, None]
    xhat = (x - np.asarray(mean, np.float64)[:, None]) * rstd
    g = dy if gamma is None else dy * np.asarray(gamma, np.float64)
    dx = rstd * (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True))
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)

# ---- optim ----


def sgd_step(param, grad, lr):
    return np.asarray(param, np.float64) - lr * np.asarray(grad, np.float64)


def _decayed(g, weight_decay, p):
    """g + λθ; λ = 0 adds nothing (not even 0·inf = NaN for an infinite θ)."""
    return g + weight_decay * p if weight_decay else g


def sgd_momentum_step(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, convention, first_step):
    """(param, buf) after one step, from docs/formulas.md §9 (classic) and torch.optim.SGD's documented algorithm (pytorch)."""
    p, g = np.asarray(param, np.float64), np.asarray(grad, np.float64)
    g = _decayed(g, weight_decay, p)
    if momentum == 0:
        return p - lr * g, buf
    b = np.asarray(buf, np.float64)
    if convention == "classic":
        m = momentum * b - lr * (1 - dampening) * g
        # Nesterov: p stores the look-ahead point θ + μm, so p' = θ' + μm' = p − μm + m' + μm'
        return (p - momentum * b + m + momentum * m if nesterov else p + m), m
    b = g.copy() if first_step else momentum * b + (1 - dampening) * g
    d = g + momentum * b if nesterov else b
    return p - lr * d, b


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buf, lr, beta, eps, weight_decay, momentum, centered,
                 eps_inside_sqrt):
    """(param, square_avg, grad_avg, momentum_buf) after one step."""
    p, g = np.asarray(param, np.float64), np.asarray(grad, np.float64)
    g = _decayed(g, weight_decay, p)
    v = beta * np.asarray(square_avg, np.float64) + (1 - beta) * g * g
    var = v
    if centered:
        grad_avg = beta * np.asarray(grad_avg, np.float64) + (1 - beta) * g
        var = v - grad_avg ** 2
    d = np.sqrt(var + eps) if eps_inside_sqrt else np.sqrt(var) + eps
    step = g / d
    if momentum != 0:
        momentum_buf = momentum * np.asarray(momentum_buf, np.float64) + step
        step = momentum_buf
    return p - lr * step, v, grad_avg, momentum_buf


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay, step, decoupled):
    """(param, m, v, vmax) after update number `step`, docs/formulas.md §9 with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)."""
    p, g = np.asarray(param, np.float64), np.asarray(grad, np.float64)
    if decoupled:
        p = p * (1 - lr * weight_decay)
    else:
        g = _decayed(g, weight_decay, p)
    m = beta1 * np.asarray(exp_avg, np.float64) + (1 - beta1) * g
    v = beta2 * np.asarray(exp_avg_sq, np.float64) + (1 - beta2) * g * g
    vv = v
    if max_exp_avg_sq is not None:
        max_exp_avg_sq = np.maximum(np.asarray(max_exp_avg_sq, np.float64), v)
        vv = max_exp_avg_sq
    m_hat = m / (1 - beta1 ** step)
    v_hat = vv / (1 - beta2 ** step)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, max_exp_avg_sq


# ---- clip ----


def clip_sumsq(x):
    return float((np.asarray(x, np.float64) ** 2).sum())


def clip_maxabs(x):
    x = np.asarray(x, np.float64)
    return float(np.abs(x).max()) if x.size else 0.0


def segment_sumsq(x, ends, y=None):
    x = np.asarray(x, np.float64) - (0.0 if y is None else np.asarray(y, np.float64))
    return np.array([(x[b:e] ** 2).sum() for b, e in zip([0, *ends[:-1]], ends)])


def segment_norms(w, g, prev, ends):
    return np.stack([segment_sumsq(g, ends), segment_sumsq(w, ends), segment_sumsq(w, ends, prev)])


def clip_value(x, clip):
    return np.clip(np.asarray(x, np.float64), -clip, clip)

# ---- penalty ----


def l2_penalty(w, grad, lam):
    """(Ω, new grad): Ω = λ/2·Σ w², grad + λw."""
    w, grad = _f64(w, grad)
    return 0.5 * lam * float((w ** 2).sum()), grad + lam * w


def l1_penalty(w, grad, lam):
    """(Ω, new grad): Ω = λ·Σ |w|, grad + λ·sign(w) with sign(0) = 0 and sign(NaN) = 0 (Ω is NaN then)."""
    w, grad = _f64(w, grad)
    return lam * float(np.abs(w).sum()), grad + lam * np.where(np.isnan(w), 0.0, np.sign(w))


# ---- average ----


def average_update(avg, x, weight):
    avg = np.asarray(avg, np.float64)
    return avg + weight * (np.asarray(x, np.float64) - avg)


def ema_series(series, beta, bias_correction=True):
    """docs/formulas.md §7, written as the recurrence: e[t+1] = βe[t] + (1−β)s[t], ê[t] = e[t]/(1−βᵗ)."""
    out, e = [], 0.0
    for t, s in enumerate(np.asarray(series, np.float64), start=1):
        e = beta * e + (1 - beta) * s
        out.append(e / (1 - beta ** t) if bias_correction else e)
    return np.array(out)


# ---- augment: x (n, c, h, w); image k draws u_k,j from block offset + k·B + j ----


def uniform_at(seed, offset, n):
    """u_i ∈ [0, 1) from 53 bits of words 0 and 1 of block offset + i."""
    w0, w1, _, _ = philox4x32_10(seed, np.uint64(offset) + np.arange(n, dtype=np.uint64))
    return ((w0 >> np.uint64(5)) * np.uint64(1 << 26) + (w1 >> np.uint64(6))).astype(np.float64) * 2.0 ** -53


def _draws(seed, offset, n, per_image):
    """u[k, j], the draws of image k (B = per_image)."""
    return uniform_at(seed, offset, n * per_image).reshape(n, per_image)


def _pick(u, lo, hi):
    """A whole number uniform over lo..hi from u ∈ [0, 1)."""
    return min(lo + int(u * (hi - lo + 1)), hi)


def augment_translate(x, seed, offset, oh, ow, dy_range, dx_range, edge):
    """y (n, c, oh, ow): y(i, j) = x(i − dy, j − dx); outside x 0, or x at the clamped position (edge)."""
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    u = _draws(seed, offset, n, 2)
    y = np.zeros((n, c, oh, ow))
    for k in range(n):
        dy, dx = _pick(u[k, 0], *dy_range), _pick(u[k, 1], *dx_range)
        si, sj = np.arange(oh)[:, None] - dy, np.arange(ow)[None, :] - dx
        inside = (si >= 0) & (si < h) & (sj >= 0) & (sj < w)
        vals = x[k][:, np.clip(si, 0, h - 1), np.clip(sj, 0, w - 1)]
        y[k] = vals if edge else np.where(inside, vals, 0.0)
    return y


def augment_hflip(x, seed, offset, p):
    x = np.asarray(x, np.float64)
    flip = uniform_at(seed, offset, x.shape[0]) < p
    return np.where(flip[:, None, None, None], x[..., ::-1], x)


def augment_rotate(x, seed, offset, degrees):
    """Bilinear rotation by θ_k = degrees·(2u_k − 1) about ((h−1)/2, (w−1)/2), zeros outside:
    y(i, j) = x at (cy + sinθ(j − cx) + cosθ(i − cy), cx + cosθ(j − cx) − sinθ(i − cy))."""
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    theta = np.deg2rad(degrees * (2.0 * uniform_at(seed, offset, n) - 1.0))
    return np.stack([rotate_image(x[k], theta[k]) for k in range(n)]) if n else np.zeros(x.shape)


def rotate_image(img, theta):
    """One (c, h, w) image turned by theta radians (counter-clockwise as displayed), bilinear, zeros outside."""
    c, h, w = img.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    i, j = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    sx = cx + np.cos(theta) * (j - cx) - np.sin(theta) * (i - cy)
    sy = cy + np.sin(theta) * (j - cx) + np.cos(theta) * (i - cy)
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    out = np.zeros((c, h, w))
    for yy, wy in ((y0, 1 - (sy - y0)), (y0 + 1, sy - y0)):
        for xx, wx in ((x0, 1 - (sx - x0)), (x0 + 1, sx - x0)):
            inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            out += np.where(inside, wy * wx * img[:, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)], 0.0)
    return out


ERASE_TRIES = 10


def augment_erase(x, seed, offset, p, scale, log_ratio, value):
    """RandomErasing (Zhong et al. 2020): with u_k,0 < p, the first of up to 10 tries t (draws 1+4t .. 4+4t:
    area, log aspect ratio, top, left) whose rectangle fits strictly inside is set to value in every plane."""
    y = np.array(x, np.float64)
    n, c, h, w = y.shape
    u = _draws(seed, offset, n, 1 + 4 * ERASE_TRIES)
    for k in range(n):
        if not u[k, 0] < p:
            continue
        for t in range(ERASE_TRIES):
            ua, ur, ut, ul = u[k, 1 + 4 * t: 5 + 4 * t]
            area = h * w * (scale[0] + (scale[1] - scale[0]) * ua)
            ratio = np.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * ur)
            eh, ew = int(np.round(np.sqrt(area * ratio))), int(np.round(np.sqrt(area / ratio)))
            if eh < h and ew < w:
                top, left = _pick(ut, 0, h - eh), _pick(ul, 0, w - ew)
                y[k, :, top:top + eh, left:left + ew] = value
                break
    return y
# ---- conv ----


def _conv_taps(x, kernel, stride, padding4, dilation, fill=0.0):
    """x padded with `fill`, and for each tap (i, j) of the kernel the (N, C, oh, ow) view it reads."""
    (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = kernel, stride, padding4, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    taps = {(i, j): (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))
            for i in range(kh) for j in range(kw)}
    return xp, taps


def conv2d_forward(x, weight, bias, stride, padding4, dilation, groups):
    x, weight = _f64(x, weight)
    o, cg, kh, kw = weight.shape
    og = o // groups
    xp, taps = _conv_taps(x, (kh, kw), stride, padding4, dilation)
    (si, sj) = taps[0, 0]
    y = np.zeros((x.shape[0], o) + xp[:, :, si, sj].shape[2:])
    for g in range(groups):
        xg, wg = xp[:, g * cg:(g + 1) * cg], weight[g * og:(g + 1) * og]
        for (i, j), (si, sj) in taps.items():
            y[:, g * og:(g + 1) * og] += np.einsum("ncpq,oc->nopq", xg[:, :, si, sj], wg[:, :, i, j])
    if bias is not None:
        y += np.asarray(bias, np.float64)[None, :, None, None]
    return y


def conv2d_backward(x, weight, dy, stride, padding4, dilation, groups):
    """(dx, dweight, dbias)"""
    x, weight, dy = _f64(x, weight, dy)
    o, cg, kh, kw = weight.shape
    og = o // groups
    xp, taps = _conv_taps(x, (kh, kw), stride, padding4, dilation)
    dxp, dw = np.zeros_like(xp), np.zeros_like(weight)
    for g in range(groups):
        xg, wg, dyg = xp[:, g * cg:(g + 1) * cg], weight[g * og:(g + 1) * og], dy[:, g * og:(g + 1) * og]
        for (i, j), (si, sj) in taps.items():
            dw[g * og:(g + 1) * og, :, i, j] += np.einsum("nopq,ncpq->oc", dyg, xg[:, :, si, sj])
            dxp[:, g * cg:(g + 1) * cg, si, sj] += np.einsum("nopq,oc->ncpq", dyg, wg[:, :, i, j])
    pt, _, pl, _ = padding4
    return dxp[:, :, pt:pt + x.shape[2], pl:pl + x.shape[3]], dw, dy.sum(axis=(0, 2, 3))


def maxpool2d_forward(x, kernel, stride, padding):
    """(y, argmax): the first maximum of each window in row order, argmax = ih·W + iw."""
    x = np.asarray(x, np.float64)
    h, w = x.shape[2:]
    pad4 = (padding[0], padding[0], padding[1], padding[1])
    xp, taps = _conv_taps(x, kernel, stride, pad4, (1, 1), fill=-np.inf)
    rows, cols = np.meshgrid(np.arange(xp.shape[2]) - padding[0], np.arange(xp.shape[3]) - padding[1], indexing="ij")
    index = rows * w + cols
    y = argmax = None
    for si, sj in taps.values():
        v, k = xp[:, :, si, sj], np.broadcast_to(index[si, sj], xp[:, :, si, sj].shape)
        if y is None:
            y, argmax = v.copy(), k.copy()
        else:
            better = v > y
            y[better], argmax[better] = v[better], k[better]
    return y, argmax.astype(np.int64)


def maxpool2d_backward(dy, argmax, input_size):
    n, c = dy.shape[:2]
    dx = np.zeros((n * c, input_size[0] * input_size[1]))
    out = dy.shape[2] * dy.shape[3]
    for p, (d, k) in enumerate(zip(np.asarray(dy, np.float64).reshape(n * c, out), argmax.reshape(n * c, out))):
        np.add.at(dx[p], k, d)
    return dx.reshape((n, c) + tuple(input_size))


def avgpool2d_forward(x, kernel, stride, padding):
    x = np.asarray(x, np.float64)
    xp, taps = _conv_taps(x, kernel, stride, (padding[0], padding[0], padding[1], padding[1]), (1, 1))
    return sum(xp[:, :, si, sj] for si, sj in taps.values()) / (kernel[0] * kernel[1])


def avgpool2d_backward(dy, input_size, kernel, stride, padding):
    dy = np.asarray(dy, np.float64)
    shape = dy.shape[:2] + tuple(input_size)
    xp, taps = _conv_taps(np.zeros(shape), kernel, stride, (padding[0], padding[0], padding[1], padding[1]), (1, 1))
    for si, sj in taps.values():
        xp[:, :, si, sj] += dy / (kernel[0] * kernel[1])
    return xp[:, :, padding[0]:padding[0] + input_size[0], padding[1]:padding[1] + input_size[1]]


def global_avgpool_forward(x):
    return np.asarray(x, np.float64).mean(axis=(2, 3), keepdims=True)


def global_avgpool_backward(dy, input_size):
    dy = np.asarray(dy, np.float64)
    return np.broadcast_to(dy / (input_size[0] * input_size[1]), dy.shape[:2] + tuple(input_size)).copy()
