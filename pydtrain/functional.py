"""The C kernels, one function each, on NumPy arrays.

Inputs are read in place; outputs go to ``out=`` when given (written in place,
no copy) or to a new array. Arrays must be float32 or float64 (one dtype per
call) and C-contiguous; anything else raises an exception that names the
argument. Layers in ``pydtrain.nn`` are built on these functions.
"""
from __future__ import annotations

from typing import Optional, overload

import numpy as np

from . import _C, _random

__all__ = [
    "adam_step", "average_update", "batchnorm", "batchnorm_backward", "batchnorm_stats", "bce_with_logits",
    "bce_with_logits_backward", "bias_grad", "bias_relu", "bias_relu_backward", "clamp_", "cross_entropy",
    "cross_entropy_backward", "cross_entropy_soft", "cross_entropy_soft_backward", "dropout",
    "dropout_backward", "dropout_counters", "elu", "elu_backward", "ema_series", "exp", "gaussian_noise",
    "gelu", "gelu_backward", "gemm", "l1_penalty", "l2_penalty", "layernorm", "layernorm_backward",
    "leaky_relu", "leaky_relu_backward", "linear", "max_abs", "mse", "mse_backward", "relu", "relu_backward",
    "rmsprop_step", "scale", "scale_", "segment_norms", "segment_sum_squares", "selu", "selu_backward", "sgd_momentum_step",
    "sgd_step", "sigmoid", "sigmoid_backward", "silu", "silu_backward", "softplus", "softplus_backward",
    "sum_squares", "tanh", "tanh_backward"
]

Array = np.ndarray

# ---- gemm ----


def gemm(a: Array, b: Array, out: Optional[Array] = None, *, trans_a: bool = False, trans_b: bool = False,
         alpha: float = 1.0, beta: float = 0.0, bias: Optional[Array] = None) -> Array:
    """Matrix product ``out = alpha·op(a)·op(b) + beta·out (+ bias on every row)``.

    ``op`` transposes when ``trans_a``/``trans_b`` is set, without copying.
    ``beta=1`` accumulates into ``out`` (as gradients do); ``beta≠0`` needs ``out``.
    """
    return _C.gemm(a, b, out, trans_a, trans_b, alpha, beta, bias)


# ---- activation ----


def relu(x: Array, out: Optional[Array] = None) -> Array:
    """``y = max(x, 0)``; ``out`` may be ``x`` (in place)."""
    return _C.relu_forward(x, out)


def relu_backward(x: Array, dy: Array, out: Optional[Array] = None) -> Array:
    """``dx = dy ⊙ [x > 0]``, with ``x`` the forward input; ``out`` may be ``dy``."""
    return _C.relu_backward(x, dy, out)


SELU_ALPHA = 1.6732632423543772848170429916717
"""α of SELU (Klambauer et al. 2017), the fixed point that keeps activations at mean 0, variance 1."""
SELU_SCALE = 1.0507009873554804934193349852946
"""λ of SELU (Klambauer et al. 2017)."""


def exp(x: Array, out: Optional[Array] = None) -> Array:
    """``y = eˣ`` with the vectorized exp the activations use (measured: 1.02 ulp float32, 1 ulp float64)."""
    return _C.exp_forward(x, out)


def sigmoid(x: Array, out: Optional[Array] = None) -> Array:
    """``y = σ(x) = 1/(1 + e⁻ˣ)``, never overflowing; ``out`` may be ``x``."""
    return _C.sigmoid_forward(x, out)


def sigmoid_backward(x: Array, dy: Array, out: Optional[Array] = None) -> Array:
    """``dx = dy ⊙ σ(x)·(1 − σ(x))`` from the forward input ``x``; ``out`` may be ``dy``."""
    return _C.sigmoid_backward(x, dy, out)


def tanh(x: Array, out: Optional[Array] = None) -> Array:
    """``y = tanh(x)``; ``out`` may be ``x``."""
    return _C.tanh_forward(x, out)


def tanh_backward(x: Array, dy: Array, out: Optional[Array] = None) -> Array:
    """``dx = dy ⊙ (1 − tanh²(x))``; ``out`` may be ``dy``."""
    return _C.tanh_backward(x, dy, out)


def leaky_relu(x: Array, negative_slope: float = 0.01, out: Optional[Array] = None) -> Array:
    """``y = x`` where ``x > 0``, else ``negative_slope·x`` (Maas et al. 2013)."""
    return _C.leaky_relu_forward(x, negative_slope, out)


def leaky_relu_backward(x: Array, dy: Array, negative_slope: float = 0.01, out: Optional[Array] = None) -> Array:
    """``dx = dy`` where ``x > 0``, else ``negative_slope·dy``."""
    return _C.leaky_relu_backward(x, dy, negative_slope, out)


def elu(x: Array, alpha: float = 1.0, out: Optional[Array] = None, *, scale: float = 1.0) -> Array:
    """``y = scale·x`` where ``x > 0``, else ``scale·α·(eˣ − 1)`` (Clevert et al. 2016; ``alpha ≥ 0``)."""
    return _C.elu_forward(x, alpha, scale, out)


def elu_backward(x: Array, dy: Array, alpha: float = 1.0, out: Optional[Array] = None, *,
                 scale: float = 1.0) -> Array:
    """``dx = scale·dy`` where ``x > 0``, else ``scale·α·eˣ·dy``."""
    return _C.elu_backward(x, dy, alpha, scale, out)


def selu(x: Array, out: Optional[Array] = None) -> Array:
    """``y = λ·x`` where ``x > 0``, else ``λ·α·(eˣ − 1)``, with SELU_ALPHA and SELU_SCALE."""
    return _C.elu_forward(x, SELU_ALPHA, SELU_SCALE, out)


def selu_backward(x: Array, dy: Array, out: Optional[Array] = None) -> Array:
    """``dx = λ·dy`` where ``x > 0``, else ``λ·α·eˣ·dy``."""
    return _C.elu_backward(x, dy, SELU_ALPHA, SELU_SCALE, out)


_GELU = {"none": (_C.gelu_forward, _C.gelu_backward), "tanh": (_C.gelu_tanh_forward, _C.gelu_tanh_backward)}


def _gelu_kernels(approximate: str):
    if approximate not in _GELU:
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return _GELU[approximate]


def gelu(x: Array, approximate: str = "none", out: Optional[Array] = None) -> Array:
    """GELU (Hendrycks & Gimpel 2016): ``y = x·Φ(x) = x/2·(1 + erf(x/√2))``.

    ``approximate="tanh"``: ``y = x/2·(1 + tanh(√(2/π)·(x + 0.044715x³)))``.
    """
    return _gelu_kernels(approximate)[0](x, out)


def gelu_backward(x: Array, dy: Array, approximate: str = "none", out: Optional[Array] = None) -> Array:
    """``dx = dy ⊙ (Φ(x) + x·φ(x))`` (or the derivative of the tanh form)."""
    return _gelu_kernels(approximate)[1](x, dy, out)


def silu(x: Array, out: Optional[Array] = None) -> Array:
    """SiLU / Swish: ``y = x·σ(x)``."""
    return _C.silu_forward(x, out)


def silu_backward(x: Array, dy: Array, out: Optional[Array] = None) -> Array:
    """``dx = dy ⊙ σ(x)·(1 + x·(1 − σ(x)))``."""
    return _C.silu_backward(x, dy, out)


def softplus(x: Array, beta: float = 1.0, threshold: float = 20.0, out: Optional[Array] = None) -> Array:
    """``y = (1/β)·log(1 + e^(βx))``, and ``y = x`` where ``βx > threshold`` (PyTorch's convention)."""
    return _C.softplus_forward(x, beta, threshold, out)


def softplus_backward(x: Array, dy: Array, beta: float = 1.0, threshold: float = 20.0,
                      out: Optional[Array] = None) -> Array:
    """``dx = dy ⊙ σ(βx)``, and ``dx = dy`` where ``βx > threshold``."""
    return _C.softplus_backward(x, dy, beta, threshold, out)


def bias_relu(x: Array, bias: Array, out: Optional[Array] = None) -> Array:
    """``y = max(x + b, 0)`` in one pass, x (N, M), b (M,); ``out`` may be ``x``."""
    return _C.bias_relu_forward(x, bias, out)


def bias_relu_backward(y: Array, dy: Array, dbias: Array, out: Optional[Array] = None) -> Array:
    """``dx = dy ⊙ [y > 0]`` and ``dbias += Σ_rows dx`` in one pass, from the forward output y."""
    return _C.bias_relu_backward(y, dy, dbias, out)


# ---- linear ----


def linear(x: Array, weight: Array, bias: Optional[Array] = None, out: Optional[Array] = None) -> Array:
    """``y = x·Wᵀ + b`` for x (N, in), W (out, in), b (out,) — PyTorch's layout."""
    return _C.gemm(x, weight, out, False, True, 1.0, 0.0, bias)


def bias_grad(dy: Array, dbias: Array) -> Array:
    """``dbias += Σ_rows dy`` in place; returns ``dbias``."""
    _C.bias_grad(dy, dbias)
    return dbias


# ---- loss ----


def cross_entropy(logits: Array, labels: Array, on_value: float = 1.0, off_value: float = 0.0,
                  probs: Optional[Array] = None, losses: Optional[Array] = None) -> tuple[Array, Array]:
    """Softmax and per-row cross-entropy for int64 class labels.

    ``Lᵢ = −Σ_c q_c·log softmax(zᵢ)_c`` with ``q`` = ``on_value`` at the label,
    ``off_value`` elsewhere (one-hot by default; smoothed labels otherwise).
    Returns ``(probs, losses)``: the softmax (N, K), kept for the backward, and L (N,).
    """
    return _C.cross_entropy_forward(logits, labels, on_value, off_value, probs, losses)


def cross_entropy_soft(logits: Array, targets: Array, probs: Optional[Array] = None,
                       losses: Optional[Array] = None) -> tuple[Array, Array]:
    """Softmax and per-row cross-entropy against target distributions (N, K)."""
    return _C.cross_entropy_soft_forward(logits, targets, probs, losses)


def cross_entropy_backward(probs: Array, labels: Array, on_value: float = 1.0, off_value: float = 0.0,
                           scale: float = 1.0, out: Optional[Array] = None) -> Array:
    """``dL/dz = scale·(p − q)`` for class labels (``scale = 1/N`` for the mean)."""
    return _C.cross_entropy_backward(probs, labels, on_value, off_value, scale, out)


def cross_entropy_soft_backward(probs: Array, targets: Array, scale: float = 1.0,
                                out: Optional[Array] = None) -> Array:
    """``dL/dz = scale·(p − t)`` for target distributions."""
    return _C.cross_entropy_soft_backward(probs, targets, scale, out)


def bce_with_logits(logits: Array, targets: Array, losses: Optional[Array] = None) -> Array:
    """Per-element binary cross-entropy on logits, stable for any z:
    ``L = max(z, 0) − z·y + log(1 + e^(−|z|))`` (= −[y·log σ(z) + (1 − y)·log(1 − σ(z))])."""
    return _C.bce_with_logits_forward(logits, targets, losses)


def bce_with_logits_backward(logits: Array, targets: Array, scale: float = 1.0, out: Optional[Array] = None) -> Array:
    """``dL/dz = scale·(σ(z) − y)``."""
    return _C.bce_with_logits_backward(logits, targets, scale, out)


def mse(input: Array, target: Array, losses: Optional[Array] = None) -> Array:
    """Per-element squared error ``L = (x − t)²``."""
    return _C.mse_forward(input, target, losses)


def mse_backward(input: Array, target: Array, scale: float = 1.0, out: Optional[Array] = None) -> Array:
    """``dL/dx = scale·2(x − t)``."""
    return _C.mse_backward(input, target, scale, out)


# ---- optim ----


def sgd_step(param: Array, grad: Array, lr: float) -> Array:
    """``θ ← θ − α·g`` in place; returns ``param``."""
    _C.sgd_step(param, grad, lr)
    return param


def sgd_momentum_step(param: Array, grad: Array, buf: Optional[Array], lr: float, momentum: float = 0.0,
                      dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                      convention: str = "classic", first_step: bool = False) -> Array:
    """SGD with momentum in place; returns ``param``. ``g ← g + λθ``, then

    classic: ``m ← μm − α(1−τ)g; θ ← θ + m`` (Nesterov: ``θ ← θ + μm − α(1−τ)g``, θ the look-ahead point);
    pytorch: ``b ← μb + (1−τ)g`` (``b = g`` when ``first_step``); ``θ ← θ − αb`` (Nesterov: ``θ ← θ − α(g + μb)``).
    ``buf`` (m or b) may be None when ``momentum = 0``.
    """
    if convention not in ("classic", "pytorch"):
        raise ValueError(f"sgd_momentum_step: convention must be 'classic' or 'pytorch', got {convention!r}")
    _C.sgd_momentum_step(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                         0 if convention == "classic" else 1, first_step)
    return param


def rmsprop_step(param: Array, grad: Array, square_avg: Array, lr: float, beta: float = 0.99, eps: float = 1e-8,
                 eps_inside_sqrt: bool = True, weight_decay: float = 0.0, momentum: float = 0.0,
                 grad_avg: Optional[Array] = None, momentum_buf: Optional[Array] = None) -> Array:
    """RMSprop in place; returns ``param``: ``v ← βv + (1−β)g²``, ``θ ← θ − α·g/√(v+ε)`` (or ``/(√v+ε)``).

    ``grad_avg`` given: centered (``v − ḡ²`` in place of v); ``momentum_buf`` needed when ``momentum > 0``.
    """
    _C.rmsprop_step(param, grad, square_avg, grad_avg, momentum_buf, lr, beta, eps, weight_decay, momentum,
                    grad_avg is not None, eps_inside_sqrt)
    return param


def adam_step(param: Array, grad: Array, exp_avg: Array, exp_avg_sq: Array, step: int, lr: float = 1e-3,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
              decoupled: bool = False, max_exp_avg_sq: Optional[Array] = None) -> Array:
    """Adam update number ``step`` (t >= 1) in place; returns ``param``.

    ``m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − α·m̂/(√v̂ + ε)``; ``decoupled`` is AdamW
    (``θ ← θ(1 − αλ)``) else λθ joins g; ``max_exp_avg_sq`` given: AMSGrad.
    """
    _C.adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay, step,
                 decoupled)
    return param


# ---- clip ----


def sum_squares(x: Array) -> float:
    """``Σ x²``, the same value for any thread count: blocks of 256 squares summed in x's dtype, the blocks in
    double; a float32 stretch whose squares overflow float32 is summed again in double, so any finite float32
    array gives a finite sum (float64 squares overflow past 1.3e154)."""
    return _C.clip_sumsq(x)


def max_abs(x: Array) -> float:
    """``max |x|`` (NaN if x holds a NaN, 0 for an empty array)."""
    return _C.clip_maxabs(x)


def segment_sum_squares(x: Array, ends: np.ndarray, y: Optional[Array] = None, keep: bool = False) -> np.ndarray:
    """``out[s] = Σ (x − y)²`` over each segment ``[ends[s−1], ends[s])`` of a 1-d ``x`` (``y`` None: ``Σ x²``).

    One call over an optimizer's flat buffer gives one value per parameter, each with the bits
    ``sum_squares`` gives for that parameter alone.

    Args:
        x: 1-d float array.
        ends: int64 ascending segment ends, the last one ``x.size``.
        y: None, or an array like ``x`` subtracted from it.
        keep: Copy ``x`` into ``y`` in the same pass (``y`` then holds this step's weights
            for the next update's norm).

    Returns:
        float64 array of one sum per segment.
    """
    return _C.segment_sumsq(x, ends, y, keep)


def segment_norms(w: Array, g: Array, prev: Array, ends: np.ndarray, keep: bool = False) -> np.ndarray:
    """Per segment ``[Σ g², Σ w², Σ (w − prev)²]``, shape (3, segments): a training monitor's step in one call.

    Each row as ``segment_sum_squares`` gives it; ``keep`` then copies ``w`` into ``prev``.

    Args:
        w: 1-d weights (an optimizer's flat buffer), g: their gradients, prev: earlier weights.
        ends: int64 ascending segment ends, the last one ``w.size``.
        keep: ``prev ← w`` in the same pass.

    Returns:
        float64 array (3, segments).
    """
    return _C.segment_norms(w, g, prev, ends, keep)


def scale_(x: Array, factor: float) -> Array:
    """``x ← factor·x`` in place; returns ``x``."""
    return _C.scale(x, factor, x)


def clamp_(x: Array, clip: float) -> Array:
    """``x ← min(max(x, −clip), clip)`` in place; returns ``x``."""
    _C.clip_value(x, clip)
    return x


# ---- penalty ----


def l2_penalty(w: Array, grad: Array, lam: float) -> float:
    """``Ω = λ/2·Σ w²``, returned, and ``grad ← grad + λw`` in place: one pass over ``w`` and ``grad``.

    The sum is accumulated in double in a fixed order (the same value for any thread count).
    """
    return _C.l2_penalty(w, grad, lam)


def l1_penalty(w: Array, grad: Array, lam: float) -> float:
    """``Ω = λ·Σ |w|``, returned, and ``grad ← grad + λ·sign(w)`` in place (``sign(0) = 0``): one pass."""
    return _C.l1_penalty(w, grad, lam)


# ---- average ----


def average_update(avg: Array, x: Array, weight: float) -> Array:
    """``avg ← avg + w·(x − avg)`` in place (EMA: w = 1−β; running mean of k+1 samples: w = 1/(k+1)); returns ``avg``."""
    _C.average_update(avg, x, weight)
    return avg


def ema_series(series: Array, beta: float, bias_correction: bool = True, out: Optional[Array] = None) -> Array:
    """``e[t+1] = βe[t] + (1−β)s[t]`` from 0; element t of the result is e[t+1] (over 1−β^(t+1) if bias-corrected)."""
    return _C.ema_series(series, beta, bias_correction, out)


# ---- dropout ----


def dropout_counters(n: int) -> int:
    """Counters of the random stream one dropout call over ``n`` elements uses (64 per 256 elements)."""
    return 64 * ((int(n) + 255) // 256)


def dropout(x: Array, keep_prob: float, scale: Optional[float] = None, seed: Optional[int] = None,
            offset: Optional[int] = None, out: Optional[Array] = None,
            mask: Optional[Array] = None) -> tuple[Array, Array]:
    """Dropout in training: ``r_i ~ Bernoulli(keep_prob)``, ``y = scale·r ⊙ x``.

    ``scale`` defaults to ``1/keep_prob`` (inverted dropout); pass ``1.0`` for the
    lecture's scheme (Srivastava et al. 2014), which scales by ``keep_prob`` at
    inference instead (``scale``). The keep decision of element i depends
    only on (seed, offset, i); without ``seed``/``offset`` the counters are taken
    from the global generator (``pydtrain.seed``). Returns ``(y, mask)`` with the
    mask as uint8 0/1, for ``dropout_backward``.
    """
    if scale is None:
        scale = 1.0 / keep_prob if keep_prob > 0 else 1.0  # keep_prob ≤ 0 is rejected by the kernel
    if seed is None or offset is None:
        seed, offset = _random.take(dropout_counters(np.size(x)))
    return _C.dropout_forward(x, seed, offset, keep_prob, scale, out, mask)


def dropout_backward(dy: Array, mask: Array, scale: float, out: Optional[Array] = None) -> Array:
    """``dx = scale·mask ⊙ dy`` with the forward's uint8 mask and scale; ``out`` may be ``dy``."""
    return _C.dropout_backward(dy, mask, scale, out)


def scale(x: Array, s: float, out: Optional[Array] = None) -> Array:
    """``y = s·x`` (``out`` may be ``x``): dropout's inference scaling under the lecture's
    scheme (s = keep_prob), the EMA's bias correction 1/(1−βᵗ), gradient clipping."""
    return _C.scale(x, s, out)


# ---- noise ----


def gaussian_noise(x: Array, std: float, seed: Optional[int] = None, offset: Optional[int] = None,
                   out: Optional[Array] = None) -> Array:
    """``y = x + std·z``, ``z ~ N(0, 1)`` drawn from counters ``offset + i`` (one per element)."""
    if seed is None or offset is None:
        seed, offset = _random.take(np.size(x))
    return _C.gaussian_noise_forward(x, seed, offset, std, out)


# ---- augment ----

ERASE_DRAWS: int = _C.ERASE_DRAWS
"""Counters one image takes in ``augment_erase`` (41): the draw that decides, then four for each of 10 tries."""


def _images(x: Array, name: str = "x") -> Array:
    """(N, H, W) or (N, C, H, W) as an (N, C, H, W) view (no copy)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{name} must be a batch of images (N, H, W) or (N, C, H, W), got shape {x.shape}")
    x = _view(x, x.shape, name)
    return x if x.ndim == 4 else x[:, None]


def _counters(seed: Optional[int], offset: Optional[int], count: int) -> tuple[int, int]:
    return _random.take(count) if seed is None or offset is None else (seed, offset)


def augment_translate(x: Array, dy_range: tuple[int, int], dx_range: tuple[int, int],
                      size: Optional[tuple[int, int]] = None, edge: bool = False, seed: Optional[int] = None,
                      offset: Optional[int] = None, out: Optional[Array] = None) -> Array:
    """Each image moved by whole pixels: ``y(i, j) = x(i − dy, j − dx)``, outside x 0 (or, with
    ``edge``, the nearest pixel of x), with dy, dx uniform over the inclusive ``dy_range``, ``dx_range``.

    x is (N, H, W) or (N, C, H, W); y has x's leading dimensions and the image ``size``
    (default x's). Image k draws dy, dx from counters ``offset + 2k``, ``offset + 2k + 1``.
    A random crop of ``size`` from x padded by p is ``dy_range = (size_h − H − p, p)``.
    """
    x4 = _images(x)
    oh, ow = x.shape[-2:] if size is None else size
    seed, offset = _counters(seed, offset, 2 * x4.shape[0])
    shape = x.shape[:-2] + (oh, ow)
    y = _C.augment_translate(x4, seed, offset, oh, ow, *dy_range, *dx_range, edge,
                             _view(out, x4.shape[:2] + (oh, ow), "out"))
    return out if out is not None else y.reshape(shape)


def augment_hflip(x: Array, p: float = 0.5, seed: Optional[int] = None, offset: Optional[int] = None,
                  out: Optional[Array] = None) -> Array:
    """Each image mirrored left to right, ``y(i, j) = x(i, W − 1 − j)``, when its draw ``u_k < p``
    (counter ``offset + k``), else copied; x (N, H, W) or (N, C, H, W)."""
    x4 = _images(x)
    seed, offset = _counters(seed, offset, x4.shape[0])
    y = _C.augment_hflip(x4, seed, offset, p, _view(out, x4.shape, "out"))
    return out if out is not None else y.reshape(x.shape)


def augment_rotate(x: Array, degrees: float, seed: Optional[int] = None, offset: Optional[int] = None,
                   out: Optional[Array] = None) -> Array:
    """Each image turned by θ = degrees·(2u_k − 1) about its centre, bilinear, zeros outside.

    ``y(i, j) = x(cy + sinθ(j − cx) + cosθ(i − cy), cx + cosθ(j − cx) − sinθ(i − cy))`` with
    (cy, cx) = ((H − 1)/2, (W − 1)/2): θ > 0 turns counter-clockwise as displayed (row 0 on
    top), as ``np.rot90`` at 90° and torchvision's ``rotate``; the same sampling as
    ``affine_grid`` + ``grid_sample(align_corners=False, padding_mode="zeros")``. u_k is
    counter ``offset + k``; x (N, H, W) or (N, C, H, W).
    """
    x4 = _images(x)
    seed, offset = _counters(seed, offset, x4.shape[0])
    y = _C.augment_rotate(x4, seed, offset, degrees, _view(out, x4.shape, "out"))
    return out if out is not None else y.reshape(x.shape)


def augment_erase(x: Array, p: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                  ratio: tuple[float, float] = (0.3, 3.3), value: float = 0.0, seed: Optional[int] = None,
                  offset: Optional[int] = None, out: Optional[Array] = None) -> Array:
    """Random erasing (Zhong et al. 2020), torchvision's recipe: with probability p, a rectangle of
    area ``s·H·W`` (s uniform in ``scale``) and aspect ratio r (log r uniform in log ``ratio``),
    ``h = round(√(area·r))``, ``w = round(√(area/r))``, at a uniform position, set to ``value`` in
    every plane; up to 10 tries for one strictly inside the image, else the image is kept.
    Image k takes counters ``offset + 41k`` on; ``out`` may be ``x`` (in place).
    """
    if not 0 < ratio[0] <= ratio[1]:
        raise ValueError(f"ratio must satisfy 0 < low <= high, got {tuple(ratio)}")
    x4 = _images(x)
    seed, offset = _counters(seed, offset, ERASE_DRAWS * x4.shape[0])
    y = _C.augment_erase(x4, seed, offset, p, scale[0], scale[1], float(np.log(ratio[0])), float(np.log(ratio[1])),
                         value, _view(out, x4.shape, "out"))
    return out if out is not None else y.reshape(x.shape)


# ---- norm ----


@overload
def _view(a: Array, shape: tuple, name: str) -> Array: ...
@overload
def _view(a: None, shape: tuple, name: str) -> None: ...
def _view(a: Optional[Array], shape: tuple, name: str) -> Optional[Array]:
    """``a`` reshaped without copying (None stays None); non-arrays and non-contiguous arrays raise."""
    if a is None:
        return None
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    if int(np.prod(shape, dtype=np.int64)) != a.size and -1 not in shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {a.size} elements to fit {shape}")
    return a.reshape(shape)


@overload
def _channels_view(x: Array, name: str, who: str, like: Optional[Array] = None) -> Array: ...
@overload
def _channels_view(x: None, name: str, who: str, like: Optional[Array] = None) -> None: ...
def _channels_view(x: Optional[Array], name: str, who: str, like: Optional[Array] = None) -> Optional[Array]:
    """(N, C, ...) as an (N, C, S) view (no copy); ``like`` gives the shape an output must have."""
    if x is None:
        return None
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{who}: {name} must be a numpy.ndarray, got {type(x).__name__}")
    ref = x if like is None else like
    if ref.ndim < 2:
        raise ValueError(f"{who}: {name} must have shape (N, C) or (N, C, ...), got {ref.shape}")
    if ref.size == 0:
        raise ValueError(f"{who}: {name} of shape {ref.shape} is empty; batch normalization needs at least one "
                         "example (N >= 1) with a value in every channel")
    if like is not None and x.shape != like.shape:
        raise ValueError(f"{name} must have the shape of x {like.shape}, got {x.shape}")
    return _view(x, (ref.shape[0], ref.shape[1], -1), name)


def batchnorm_stats(x: Array) -> tuple[Array, Array]:
    """Per-channel batch mean ``μ = (1/m)Σx`` and biased variance ``σ² = (1/m)Σ(x − μ)²`` of x (N, C, ...)."""
    return _C.batchnorm_stats(_channels_view(x, "x", "batchnorm_stats"))


def batchnorm(x: Array, mean: Array, var: Array, gamma: Optional[Array] = None, beta: Optional[Array] = None,
              eps: float = 1e-5, out: Optional[Array] = None) -> Array:
    """``y = γ(x − μ)/√(σ² + ε) + β`` per channel of x (N, C, ...) (Ioffe & Szegedy 2015)."""
    y = _C.batchnorm_normalize(_channels_view(x, "x", "batchnorm"), mean, var, gamma, beta, eps,
                               _channels_view(out, "out", "batchnorm", x))
    return out if out is not None else y.reshape(x.shape)


def batchnorm_backward(x: Array, dy: Array, mean: Array, var: Array, gamma: Optional[Array] = None,
                       eps: float = 1e-5, batch_stats: bool = True, dgamma: Optional[Array] = None,
                       dbeta: Optional[Array] = None, out: Optional[Array] = None) -> Array:
    """BatchNorm backward; ``dgamma += Σ dy·x̂`` and ``dbeta += Σ dy`` in place when given.

    With ``batch_stats`` (training) ``dx = γ/√(σ²+ε)·(dy − mean(dy) − x̂·mean(dy·x̂))``,
    the gradient through μ and σ² of the batch; otherwise (fixed statistics)
    ``dx = γ/√(σ²+ε)·dy``.
    """
    who = "batchnorm_backward"
    dx = _C.batchnorm_backward(_channels_view(x, "x", who), _channels_view(dy, "dy", who, x), mean, var, gamma, eps,
                               batch_stats, dgamma, dbeta, _channels_view(out, "out", who, x))
    return out if out is not None else dx.reshape(x.shape)


def layernorm(x: Array, normalized_ndim: int = 1, gamma: Optional[Array] = None, beta: Optional[Array] = None,
              eps: float = 1e-5, out: Optional[Array] = None) -> tuple[Array, Array, Array]:
    """``y = γ(x − μ)/√(σ² + ε) + β`` with μ, σ² over the last ``normalized_ndim`` dims of each example.

    Returns ``(y, mean, rstd)``, mean and rstd = 1/√(σ² + ε) one per example, for the backward.
    """
    if not isinstance(x, np.ndarray) or not 1 <= normalized_ndim <= x.ndim:
        raise ValueError(f"x must be an ndarray with at least normalized_ndim={normalized_ndim} dims")
    rows = int(np.prod(x.shape[:x.ndim - normalized_ndim], dtype=np.int64))
    d = int(np.prod(x.shape[x.ndim - normalized_ndim:], dtype=np.int64))
    y, mean, rstd = _C.layernorm_forward(_view(x, (rows, d), "x"), _view(gamma, (d,), "gamma"),
                                         _view(beta, (d,), "beta"), eps, _view(out, (rows, d), "out"))
    return (out if out is not None else y.reshape(x.shape)), mean, rstd


def layernorm_backward(x: Array, dy: Array, mean: Array, rstd: Array, gamma: Optional[Array] = None,
                       dgamma: Optional[Array] = None, dbeta: Optional[Array] = None,
                       out: Optional[Array] = None) -> Array:
    """LayerNorm backward: ``dx = rstd·(g − mean(g) − x̂·mean(g·x̂))``, g = γ ⊙ dy, per example;
    ``dgamma += Σ dy·x̂`` and ``dbeta += Σ dy`` over examples, in place when given."""
    rows = int(np.shape(mean)[0]) if np.ndim(mean) == 1 else -1
    if rows < 1 or np.size(x) % rows:
        raise ValueError(f"mean must be the (rows,) array layernorm returned, got shape {np.shape(mean)}")
    d = np.size(x) // rows
    dx = _C.layernorm_backward(_view(x, (rows, d), "x"), _view(dy, (rows, d), "dy"), mean, rstd,
                               _view(gamma, (d,), "gamma"), _view(dgamma, (d,), "dgamma"),
                               _view(dbeta, (d,), "dbeta"), _view(out, (rows, d), "out"))
    return out if out is not None else dx.reshape(x.shape)


# ---- conv ----


def conv2d_output_size(size: tuple, kernel_size: tuple, stride: tuple = (1, 1), padding: tuple = (0, 0, 0, 0),
                       dilation: tuple = (1, 1)) -> tuple[int, int]:
    """(oh, ow) of a 2-D window over (h, w): ``oh = ⌊(h + top + bottom − dh·(kh − 1) − 1)/sh⌋ + 1``.

    ``padding`` is (top, bottom, left, right); a result below 1 means the kernel is larger
    than the padded input.
    """
    (h, w), (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = size, kernel_size, stride, padding, dilation
    return (h + pt + pb - dh * (kh - 1) - 1) // sh + 1, (w + pl + pr - dw * (kw - 1) - 1) // sw + 1


def conv2d_work_size(x_shape: tuple, weight_shape: tuple, out_size: tuple, groups: int = 1) -> int:
    """Elements of the work buffer conv2d and conv2d_backward take for these shapes (im2col columns and
    partial weight gradients of up to 8 image blocks)."""
    n, c = x_shape[:2]
    o, _, kh, kw = weight_shape
    return _C.conv2d_work_size(n, c, o, kh, kw, out_size[0], out_size[1], groups)


def _conv_args(x: Array, weight: Array, stride, padding, dilation, groups: int, work: Optional[Array]) -> tuple:
    """The binding's geometry tuples, and ``work`` or a new buffer of the size the shapes need."""
    stride, dilation, pad4 = _pair(stride), _pair(dilation), _padding4(padding)
    if work is None and isinstance(x, np.ndarray) and isinstance(weight, np.ndarray) and x.ndim == 4 \
            and weight.ndim == 4 and groups >= 1 and x.shape[1] % groups == 0:
        oh, ow = conv2d_output_size(x.shape[2:], weight.shape[2:], stride, pad4, dilation)
        if oh >= 1 and ow >= 1:
            work = np.empty(conv2d_work_size(x.shape, weight.shape, (oh, ow), groups), x.dtype)
    return stride, pad4, dilation, work


def _pair(v) -> tuple:
    """An int as (v, v); a tuple as it is."""
    return tuple(int(e) for e in v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _padding4(padding) -> tuple:
    """An int, (h, w) or (top, bottom, left, right) as (top, bottom, left, right)."""
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        return tuple(int(p) for p in padding)
    ph, pw = _pair(padding)
    return ph, ph, pw, pw


def conv2d(x: Array, weight: Array, bias: Optional[Array] = None, stride=1, padding=0, dilation=1, groups: int = 1,
           work: Optional[Array] = None, out: Optional[Array] = None) -> Array:
    """2-D convolution (cross-correlation, as PyTorch's) of x (N, C, H, W) with weight (O, C/groups, kh, kw).

    ``y[n, o, r, s] = b[o] + Σ_{c, i, j} W[o, c, i, j]·x[n, c, r·sh − top + i·dh, s·sw − left + j·dw]``
    over the channels c of o's group, zero outside x. ``stride``, ``dilation``: int or (h, w);
    ``padding``: int, (h, w) or (top, bottom, left, right). ``work``: a reusable buffer of
    ``conv2d_work_size`` elements (one is allocated when None).
    """
    stride, pad4, dilation, work = _conv_args(x, weight, stride, padding, dilation, groups, work)
    return _C.conv2d_forward(x, weight, bias, stride, pad4, dilation, groups, work, out)


def conv2d_backward(x: Array, weight: Array, dy: Array, dweight: Array, dbias: Optional[Array] = None, stride=1,
                    padding=0, dilation=1, groups: int = 1, input_grad: bool = True, work: Optional[Array] = None,
                    out: Optional[Array] = None) -> Optional[Array]:
    """Conv2d backward: ``dweight += Σ_n dy_n·col(x_n)ᵀ`` and ``dbias += Σ dy`` in place; returns
    ``dx = col⁻¹(Wᵀ·dy_n)`` (each column entry added back to the pixel it came from), or None when
    not ``input_grad``. Geometry as ``conv2d``'s."""
    stride, pad4, dilation, work = _conv_args(x, weight, stride, padding, dilation, groups, work)
    return _C.conv2d_backward(x, weight, dy, stride, pad4, dilation, groups, dweight, dbias, work, input_grad, out)


def max_pool2d(x: Array, kernel_size, stride=None, padding=0, out: Optional[Array] = None,
               argmax: Optional[Array] = None) -> tuple[Array, Array]:
    """2-D max pooling of x (N, C, H, W): ``y = max`` over each window (padding never wins).

    ``stride`` defaults to ``kernel_size``; ``padding`` at most half the kernel. Returns
    ``(y, argmax)``, argmax int64 the index ``ih·W + iw`` of each maximum in its plane.
    """
    k = _pair(kernel_size)
    return _C.maxpool2d_forward(x, k, k if stride is None else _pair(stride), _pair(padding), out, argmax)


def max_pool2d_backward(dy: Array, argmax: Array, input_size: tuple, out: Optional[Array] = None) -> Array:
    """``dx[n, c].flat[argmax] += dy`` over a zero dx (N, C, *input_size)."""
    return _C.maxpool2d_backward(dy, argmax, _pair(input_size), out)


def avg_pool2d(x: Array, kernel_size, stride=None, padding=0, out: Optional[Array] = None) -> Array:
    """2-D average pooling of x (N, C, H, W): ``y = Σ window/(kh·kw)``, padding counted as zeros
    (PyTorch's count_include_pad=True); ``stride`` defaults to ``kernel_size``."""
    k = _pair(kernel_size)
    return _C.avgpool2d_forward(x, k, k if stride is None else _pair(stride), _pair(padding), out)


def avg_pool2d_backward(dy: Array, input_size: tuple, kernel_size, stride=None, padding=0,
                        out: Optional[Array] = None) -> Array:
    """``dx[i] = Σ_{windows ∋ i} dy/(kh·kw)`` over dx (N, C, *input_size)."""
    k = _pair(kernel_size)
    return _C.avgpool2d_backward(dy, _pair(input_size), k, k if stride is None else _pair(stride), _pair(padding), out)


def global_avg_pool2d(x: Array, out: Optional[Array] = None) -> Array:
    """Global average pooling: ``y[n, c] = mean of x[n, c]``, shape (N, C, 1, 1)."""
    return _C.global_avgpool_forward(x, out)


def global_avg_pool2d_backward(dy: Array, input_size: tuple, out: Optional[Array] = None) -> Array:
    """``dx[n, c, :, :] = dy[n, c]/(H·W)`` over dx (N, C, *input_size)."""
    return _C.global_avgpool_backward(dy, _pair(input_size), out)
