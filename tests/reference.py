"""The float64 NumPy oracle: one function per C kernel, named after it, written from SPEC.md."""
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
    return np.exp(lp), -(q * lp).sum(axis=1)


def cross_entropy_soft_forward(logits, targets):
    lp = log_softmax(logits)
    return np.exp(lp), -(np.asarray(targets, np.float64) * lp).sum(axis=1)


def cross_entropy_backward(probs, labels, on_value, off_value, scale):
    q = smoothed_targets(labels, probs.shape[1], on_value, off_value)
    return scale * (np.asarray(probs, np.float64) - q)


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


def dropout_scale(x, scale):
    return scale * np.asarray(x, np.float64)


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


# ---- clip ----

# ---- average ----
