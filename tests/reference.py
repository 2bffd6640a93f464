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


def gelu_forward(x):
    (x,) = _f64(x)
    return x * normal_cdf(x)


def gelu_backward(x, dy):
    x, dy = _f64(x, dy)
    return dy * (normal_cdf(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi))


def gelu_tanh_forward(x):
    (x,) = _f64(x)
    return 0.5 * x * (1.0 + np.tanh(GELU_K0 * (x + GELU_K1 * x ** 3)))


def gelu_tanh_backward(x, dy):
    x, dy = _f64(x, dy)
    t = np.tanh(GELU_K0 * (x + GELU_K1 * x ** 3))
    return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K0 * (1.0 + 3.0 * GELU_K1 * x * x))


def silu_forward(x):
    (x,) = _f64(x)
    return x * sigmoid_forward(x)


def silu_backward(x, dy):
    x, dy = _f64(x, dy)
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

# ---- noise ----

# ---- norm ----

# ---- optim ----


def sgd_step(param, grad, lr):
    return np.asarray(param, np.float64) - lr * np.asarray(grad, np.float64)


# ---- clip ----

# ---- average ----
