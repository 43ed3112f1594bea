"""Test oracles, written independently of the implementations: float64 truths (under
``jax_enable_x64``, with the care float64 itself needs: series where a difference cancels;
each checked against its mpmath formula by the tests) and plain textbook reference formulas,
as a user would write them (``jax.grad`` of these is the derivative reference).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.scipy.special import erf, erfc, expit

from jaxact._src import constants as C

Fn = Callable[..., Any]

_INF = jnp.inf


def _lim(x: Array, finite: Array, at_pos: float, at_neg: float) -> Array:
    """The finite-x formula, with the limits at +-inf (where it would give inf*0 = NaN)."""
    return jnp.where(x == _INF, at_pos, jnp.where(x == -_INF, at_neg, finite))


def _pw(x: Array, lo: float, hi: float, below: Any, mid: Any, above: Any) -> Array:
    """Piecewise: ``below`` for x <= lo, ``above`` for x >= hi, ``mid`` between."""
    return jnp.where(x <= lo, below, jnp.where(x >= hi, above, mid)).astype(x.dtype)


# ----------------------------------------------------------------- float64 truths
# Written independently of the implementations, in float64 (under jax_enable_x64), with the
# care float64 itself needs (series where a difference cancels); checked against mpmath.

_TAIL_NOTE = (
    "float32 left tail of the tanh form: its cubic exponent argument x (K1 + K2 x^2) is "
    "rounded to float32 before exp, and a relative error of 2^-24 there becomes |z| ulps of "
    "e^z (|z| up to ~90): 214 / 210 ulps (value / derivative) at most over every float32 "
    "input; bfloat16 and float16 are within 1 ulp everywhere. geglu's gate takes the "
    "argument as an exact float32 pair (its own note); for gelu that would cost 29% of its "
    "forward time (measured)"
)
_GEGLU_NOTE = (
    "the gate's derivative: XLA's float32 exp (up to 1 ulp) and the roundings after it, "
    "4.11 ulps at most over every float32 input (value 3.76: its exponent argument is an "
    "exact float32 pair, without which the left tail was 214 ulps off)"
)
_K_GELU = float(np.sqrt(2 / np.pi))
_INV_SQRT2 = float(1 / np.sqrt(2))
_SELU_L = 1.0507009873554804934193349852946
_SELU_A = 1.6732632423543772848170429916717
_SELU_LA = 1.7580993408473768  # lambda * alpha (mpmath), rounded once


def _gelu_tanh_truth(x: Array) -> tuple[Array, Array]:
    u2 = 2 * _K_GELU * (x + 0.044715 * x**3)
    du2 = 2 * _K_GELU * (1 + 3 * 0.044715 * x**2)
    v = _lim(x, x * expit(u2), _INF, 0.0)
    d = _lim(x, expit(u2) + x * du2 * expit(u2) * expit(-u2), 1.0, 0.0)
    return v, d


def _gelu_erf_truth(x: Array) -> tuple[Array, Array]:
    cdf = 0.5 * erfc(-x / np.sqrt(2))
    v = _lim(x, x * cdf, _INF, 0.0)
    d = _lim(x, cdf + x * jnp.exp(-0.5 * x * x) / np.sqrt(2 * np.pi), 1.0, 0.0)
    return v, d


def _mish_truth(x: Array) -> tuple[Array, Array]:
    sp = jnp.logaddexp(0.0, x)
    t = jnp.tanh(sp)
    v = _lim(x, x * t, _INF, 0.0)
    d = _lim(x, t + x * expit(x) / jnp.cosh(sp) ** 2, 1.0, 0.0)
    return v, d


def _swish_truth(k: float) -> tuple[Fn, Fn]:
    def v(x: Array) -> Array:
        return _lim(x, x * expit(k * x), _INF, 0.0)

    def d(x: Array) -> Array:
        return _lim(x, expit(k * x) + k * x * expit(k * x) * expit(-k * x), 1.0, 0.0)

    return v, d


def _expm1_minus_x_truth(x: Array) -> Array:
    small = x * x * (1 / 2 + x * (1 / 6 + x * (1 / 24 + x / 120)))
    return jnp.where(jnp.abs(x) < 1e-3, small, jnp.expm1(x) - x)


def _xielu_reference(x: Array, alpha_p: Any = 0.8, alpha_n: Any = 0.8, beta: Any = 0.5) -> Array:
    """The plain formula, its parameters in x's dtype."""
    ap, an, b = (jnp.asarray(p, x.dtype) for p in (alpha_p, alpha_n, beta))
    return jnp.where(x > 0, ap * x * x + b * x, an * (jnp.exp(x) - 1 - x) + b * x)


def _xielu_truth(
    x: Array, alpha_p: float = C.XIELU_ALPHA, alpha_n: float = C.XIELU_ALPHA, beta: float = 0.5
) -> Array:
    # alpha as a call computes with it: 0.8 rounded to float32 (near the zeros of the value
    # and derivative, decimal 0.8 would move the truth by ~10^8 float32 ulps).
    an = alpha_n
    neg = jnp.where(
        x > -1, an * _expm1_minus_x_truth(x) + beta * x, an * jnp.expm1(x) + (beta - an) * x
    )
    return jnp.where(x > 0, alpha_p * x * x + beta * x, neg)


def _xielu_truth_derivative(
    x: Array, alpha_p: float = C.XIELU_ALPHA, alpha_n: float = C.XIELU_ALPHA, beta: float = 0.5
) -> Array:
    return jnp.where(x > 0, 2 * alpha_p * x + beta, alpha_n * jnp.expm1(x) + beta)


def _tanh_shrink_truth(x: Array) -> Array:
    x2 = x * x
    small = x * x2 * (1 / 3 + x2 * (-2 / 15 + x2 * (17 / 315)))
    return jnp.where(jnp.abs(x) < 1e-2, small, x - jnp.tanh(x))


def _squareplus_truth(x: Array, b: float = 4.0) -> tuple[Array, Array]:
    r = jnp.hypot(x, np.sqrt(b))  # sqrt(x^2 + b) without overflow at the float64 extremes
    # for x < 0: (x + r) / 2 = b / (2 (r - x)), (1 + x / r) / 2 = b / (2 r (r - x))
    v = jnp.where(x >= 0, x / 2 + r / 2, (b / 2) / (r - x))
    d = jnp.where(x >= 0, _lim(x, (1 + x / r) / 2, 1.0, 0.0), (b / 2) / (r * (r - x)))
    return v, d


def _log1mexp_truth(x: Array) -> tuple[Array, Array]:
    v = jnp.where(x < np.log(2), jnp.log(-jnp.expm1(-x)), jnp.log1p(-jnp.exp(-x)))
    d = jnp.where(x < 0, jnp.nan, jnp.where(x == 0, jnp.inf, 1 / jnp.expm1(x)))
    return v, d


def _logmeanexp_slice_truth(x: Array) -> Array:
    """log((e^x + 1) / 2) = log1p(expm1(x) / 2), the textbook identity; beyond 30 the
    other form (expm1 would overflow past 709)."""
    big = x > 30
    xs = jnp.where(big, 0.0, x)
    return jnp.where(big, x - np.log(2.0) + jnp.log1p(jnp.exp(-x)), jnp.log1p(jnp.expm1(xs) / 2))


def _clamped_swiglu_slice(
    x: Array, limit: float = 7.0, alpha: float = 1.702
) -> tuple[Array, Array]:
    """clamped_swiglu([1, x]) and its derivative in x: (min(1, L) + 1) g sigma(alpha g),
    g = min(x, L)."""
    c = min(1.0, limit) + 1
    g = jnp.minimum(x, limit)
    top = float(c * limit / (1 + np.exp(-alpha * limit)))
    v = _lim(x, c * g * expit(alpha * g), top, 0.0)
    dg = expit(alpha * g) + alpha * g * expit(alpha * g) * expit(-alpha * g)
    d = jnp.where(x <= limit, _lim(x, c * dg, 0.0, 0.0), 0.0)
    return v, d


def _ref_clamped_swiglu(x: Array) -> Array:
    a, b = jnp.split(x, 2, axis=-1)
    g = jnp.minimum(b, 7.0)
    return (jnp.clip(a, -7.0, 7.0) + 1) * g / (1 + jnp.exp(-1.702 * g))


def _ref_gated(act: Fn) -> Fn:
    """The textbook gated unit a * act(b) on the halves of x (last axis)."""

    def f(x: Array, **kw: Any) -> Array:
        a, b = jnp.split(x, 2, axis=-1)
        return a * act(b, **kw)

    return f


def _entmax_slice_truth(x: Array) -> tuple[Array, Array]:
    """entmax15([x, 0])[0]: q^2 with q = (u + sqrt(2 - u^2))/2, u = x/2, for |u| < 1."""
    u = jnp.clip(x / 2, -1, 1)
    r = jnp.sqrt(2 - u * u)
    q = jnp.where(u >= 0, (u + r) / 2, (u * u - 1) / (u - r))
    v = _pw(x, -2.0, 2.0, 0.0, q * q, 1.0)
    d = _pw(x, -2.0, 2.0, 0.0, q * (1 - u * u) / (r * (r + u)), 0.0)
    return v, d


def _entmax_pair(x: Array, alpha: float) -> tuple[Array, Array]:
    """alpha-entmax([x, 0])[0] and its derivative in x, float64: alpha 1.5 in closed form,
    1 the logistic, inf the step (ties split), else p = (1 + eps (x - c))^(1/eps) (eps =
    alpha - 1) with the threshold c bisected (200 halvings) on [max(x, 0), max(x, 0) + 1]
    (the maximum alone has mass 1, and every p <= e^(x - c)); dp/dx = g1 g2 / (g1 + g2),
    g = p^(2 - alpha)."""
    if alpha == 1.5:
        return _entmax_slice_truth(x)
    if alpha == 1:
        return expit(x), expit(x) * expit(-x)
    if alpha == np.inf:
        return jnp.where(x > 0, 1.0, jnp.where(x < 0, 0.0, 0.5)), jnp.zeros_like(x)
    eps = alpha - 1
    xf = jnp.where(jnp.isfinite(x), x, 0.0)
    top = jnp.maximum(xf, 0.0)

    def mass(c: Array) -> tuple[Array, Array]:
        return tuple(  # type: ignore[return-value]
            jnp.where(1 + eps * (v - c) > 0, jnp.maximum(1 + eps * (v - c), 0.0) ** (1 / eps), 0.0)
            for v in (xf, jnp.zeros_like(xf))
        )

    def halve(_: int, bounds: tuple[Array, Array]) -> tuple[Array, Array]:
        lo, hi = bounds
        mid = (lo + hi) / 2
        over = sum(mass(mid)) >= 1
        return jnp.where(over, mid, lo), jnp.where(over, hi, mid)

    lo = jax.lax.fori_loop(0, 200, halve, (top, top + 1.0))[0]  # (a loop: the truth is jitted)
    p1, p2 = mass(lo)
    total = p1 + p2
    p1, p2 = p1 / total, p2 / total
    g1 = jnp.where(p1 > 0, p1 ** (2 - alpha), 0.0)
    g2 = jnp.where(p2 > 0, p2 ** (2 - alpha), 0.0)
    d = jnp.where(g1 + g2 > 0, g1 * g2 / jnp.where(g1 + g2 > 0, g1 + g2, 1.0), 0.0)
    v = jnp.where(x == _INF, 1.0, jnp.where(x == -_INF, 0.0, p1))
    return v, jnp.where(jnp.isfinite(x), d, 0.0)


def _mp_entmax_pair(m: Any, x: Any, alpha: float) -> Any:
    """mpmath: alpha-entmax([x, 0])[0], the threshold by mpmath's root finder."""
    if alpha == 1.5:
        return _mp_entmax_slice(m, x)
    if alpha == 1:
        return 1 / (1 + m.exp(-x))
    eps = m.mpf(alpha) - 1
    if x * eps >= 1:
        return m.mpf(1)
    if -x * eps >= 1:
        return m.mpf(0)
    top = max(x, 0)

    def f(c: Any) -> Any:
        return sum(max(1 + eps * (v - c), 0) ** (1 / eps) for v in (x, m.mpf(0))) - 1

    c = m.findroot(f, (top, top + 1), solver="anderson")
    return max(1 + eps * (x - c), 0) ** (1 / eps)


def _mp_entmax_slice(m: Any, x: Any) -> Any:
    if x <= -2:
        return m.mpf(0)
    if x >= 2:
        return m.mpf(1)
    u = x / 2
    return ((u + m.sqrt(2 - u * u)) / 2) ** 2


# ----------------------------------------------------------------- plain reference formulas
# Textbook forms, as a user would write them; jax.grad of these is the derivative reference.


def _ref_softmax(x: Array) -> Array:
    e = jnp.exp(x - jax.lax.stop_gradient(x.max(-1, keepdims=True)))
    return e / e.sum(-1, keepdims=True)


def _ref_sparsemax(x: Array) -> Array:
    zs = -jnp.sort(-x, axis=-1)
    k = jnp.arange(1, x.shape[-1] + 1, dtype=x.dtype).reshape((1,) * (x.ndim - 1) + (-1,))
    size = jnp.sum(1 + k * zs > jnp.cumsum(zs, axis=-1), axis=-1, keepdims=True)
    thresh = jnp.take_along_axis(zs, size - 1, axis=-1)
    support = jax.lax.stop_gradient(x >= thresh)
    tau = (jnp.sum(jnp.where(support, x, 0), -1, keepdims=True) - 1) / size.astype(x.dtype)
    return jnp.where(support, x - tau, 0)


def _ref_entmax15(x: Array) -> Array:
    z = x / 2
    zs = -jnp.sort(-z, axis=-1)
    k = jnp.arange(1, x.shape[-1] + 1, dtype=x.dtype).reshape((1,) * (x.ndim - 1) + (-1,))
    mean, mean_sq = jnp.cumsum(zs, -1) / k, jnp.cumsum(zs * zs, -1) / k
    tau_k = mean - jnp.sqrt(jnp.maximum((1 - k * (mean_sq - mean * mean)) / k, 0))
    size = jnp.sum(tau_k <= zs, axis=-1, keepdims=True)
    thresh = jnp.take_along_axis(zs, size - 1, axis=-1)
    support = jax.lax.stop_gradient(z >= thresh)
    n = size.astype(x.dtype)
    mu = jnp.sum(jnp.where(support, z, 0), -1, keepdims=True) / n
    var = jnp.sum(jnp.where(support, (z - mu) ** 2, 0), -1, keepdims=True)
    tau = mu - jnp.sqrt((1 - var) / n)
    return jnp.where(support, (z - tau) ** 2, 0)


def _ref_entmax(x: Array, alpha: Any = 1.5) -> Array:
    """alpha-entmax from its definition: tau by bisection (no gradient), then Newton steps on
    sum(p) = 1 whose autodiff is the implicit derivative in x and in alpha (at the
    bisection's tau a step is zero, and its derivative is -d(sum p)/d(.) / d(sum p)/dtau;
    three steps make derivatives up to order 7 those of the implicit function)."""
    am1 = jnp.asarray(alpha, x.dtype) - 1
    z = (x - jnp.max(x, axis=-1, keepdims=True)) * am1  # max 0: tau in [-1, 0]

    def mass(tau: Array) -> Array:
        return jnp.sum(jnp.maximum(z - tau, 0) ** (1 / am1), axis=-1, keepdims=True)

    def halve(_: int, b: tuple[Array, Array]) -> tuple[Array, Array]:
        mid = (b[0] + b[1]) / 2
        over = mass(mid) >= 1
        return jnp.where(over, mid, b[0]), jnp.where(over, b[1], mid)

    lo = jnp.full((*z.shape[:-1], 1), -1.0, z.dtype)
    tau = jax.lax.stop_gradient(jax.lax.fori_loop(0, 100, halve, (lo, jnp.zeros_like(lo)))[0])
    on = z > tau
    for _ in range(3):  # k Newton steps from the fixed point: derivatives to order 2^k - 1
        gap = jnp.where(on, z - tau, 1)
        dmass = -jnp.sum(jnp.where(on, gap ** (1 / am1 - 1), 0), -1, keepdims=True) / am1
        tau = tau - (mass(tau) - 1) / dmass
    return jnp.where(on, jnp.where(on, z - tau, 1) ** (1 / am1), 0)


def _ref_glu(x: Array) -> Array:
    a, b = jnp.split(x, 2, axis=-1)
    return a / (1 + jnp.exp(-b))


def _ref_gelu(x: Array, approximate: bool = True) -> Array:
    if approximate:
        return 0.5 * x * (1 + jnp.tanh(_K_GELU * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + erf(x * _INV_SQRT2))


def _ref_piecewise_linear(lo: float, hi: float, below: float, slope: float, above: float) -> Fn:
    def f(x: Array) -> Array:
        return jnp.where(x <= lo, below, jnp.where(x >= hi, above, below + slope * (x - lo)))

    return f


_sig_ref = lambda x: 1 / (1 + jnp.exp(-x))
_gt = lambda x, a, b: jnp.where(x > 0, a, b)

_mish, _squareplus, _log1mexp, _entmax = (
    _mish_truth,
    _squareplus_truth,
    _log1mexp_truth,
    _entmax_slice_truth,
)


def _gelu_truth(x: Array, approximate: bool) -> tuple[Array, Array]:
    return _gelu_tanh_truth(x) if approximate else _gelu_erf_truth(x)


def _mp_gelu(m: Any, x: Any, approximate: bool) -> Any:
    if approximate:
        return x / (1 + m.exp(-2 * m.sqrt(2 / m.pi) * (x + m.mpf("0.044715") * x**3)))
    return x * m.ncdf(x)


_silu_v, _silu_d = _swish_truth(1.0)
_qg_v, _qg_d = _swish_truth(1.702)


def _sparse_sigmoid_truth(x: Array) -> Array:
    return _pw(x, -1.0, 1.0, 0.0, (x + 1) / 2, 1.0)


def _sparse_sigmoid_d(x: Array) -> Array:
    return jnp.where((x > -1) & (x < 1), 0.5, 0.0).astype(x.dtype)
