"""Shared numerical kernels: the pieces every family module builds its formulas from.

Each kernel works on floating arrays in the compute dtype (float32 for 16-bit inputs) and is
written to keep full relative precision in the tails: no ``y * (1 - y)``, no ``1 - tanh**2``,
no branch that can overflow into a NaN (the untaken side of every ``where`` is fed a safe
input). The activations are differentiated by autodiff for higher orders, so the kernels
avoid ``jnp.maximum``/``jnp.abs`` (whose derivative splits ties): at a kink the second
derivative is one of the one-sided values. ``tests/test_kernels.py`` measures each kernel in
ulps against mpmath.

Switch points are named below, each with where it comes from.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax

from jaxact._src import constants as C

# Below -EXP_SHIFT the argument of e^x is shifted by +EXP_SHIFT (exactly) so that products
# with e^x form before the final scale; 64 keeps e^(x + 64) normal down to float32's -87.
EXP_SHIFT = 64.0
# |x| below which e^x - 1 - x is summed by its Taylor series: 0.7^11/11! < float32 eps and
# 0.7^19/19! < float64 eps, so 11 / 19 terms suffice; beyond it expm1(x) - x does not cancel.
EXPM1_SERIES_MAX = 0.7
# Half-width of the Taylor window about a zero of a derivative (constants.Root); degree 15
# is good to 3.2e-9 relative over it (tools/derive_constants.py). 0.45, not less: just past
# a narrower window, silu's and quick_gelu's direct formulas are up to 5.6 ulps off (every
# float32 input measured).
ROOT_WINDOW = 0.45
# |x| below which tanh uses -t/(2 + t), t = expm1(-2|x|): there 1 - 2 sigma(-2|x|) would
# lose up to 2 bits (the subtraction from 1), and above it expm1's argument is below -1.1.
TANH_SMALL = 0.55
# Beyond |x| = 1e18, x^2 + b loses b entirely in float64 and x^2 overflows float32 soon
# after: sqrt(x^2 + b) is formed as |x| sqrt(1 + b/x^2).
SQRT_BIG = 1e18


@jax.custom_jvp
def abs_(x: Array) -> Array:
    """|x| whose derivative at 0 is -1 (the x <= 0 side), never the tie-split 0.

    XLA's ``abs`` (one bit operation) with that derivative as a rule: written as the select
    ``where(x > 0, x, -x)`` it cost tanh's value_and_grad ~5% of its time."""
    return jnp.abs(x)


@abs_.defjvp
def _abs_jvp(primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    (x,), (t,) = primals, tangents
    return abs_(x), jnp.where(x > 0, t, -t)


@jax.custom_jvp
def neg_abs(z: Array) -> Array:
    """-|z|, differentiating as -z at z = 0 (the branch taken there), so that second
    derivatives at 0 are right. (-0 maps to -0, where the select it replaces gave +0: only
    ever an argument of exp or a compare here.)"""
    return -jnp.abs(z)


@neg_abs.defjvp
def _neg_abs_jvp(primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    (z,), (t,) = primals, tangents
    return neg_abs(z), jnp.where(z < 0, t, -t)


def xmul(x: Array, y: Array) -> Array:
    """x * y, with 0 (not NaN) when y == 0 and x is infinite: the limit in every use here."""
    return jnp.where(y == 0, jnp.zeros_like(y), x * y)


def is_f32(x: Array) -> bool:
    """True for float32 (and narrower) arrays: where the float32-only windows apply."""
    return jnp.finfo(x.dtype).bits <= 32


def exps(x: Array) -> tuple[Array, Array]:
    """e^x as a pair (m, s) with e^x = m * s.

    Below -64 the argument is shifted by +64 (exactly) and s = e^-64, so a product of e^x
    with other factors can be formed before the final ``* s`` without passing through
    float32 subnormals, which XLA on CPU flushes to zero. (x * e^x at x = -90 is a normal
    bfloat16/float32 number although e^x is not.)
    """
    low = x < -EXP_SHIFT
    return jnp.exp(jnp.where(low, x + EXP_SHIFT, x)), jnp.where(low, C.E_SHIFT, 1.0).astype(x.dtype)


def sig(z: Array) -> Array:
    """sigma(z): XLA's logistic, 1 / (1 + e^-z), which keeps full relative precision in
    both tails (<= 2 ulps in float32) and is one fused operation."""
    return lax.logistic(z)


def opaque(value: float, like: Array) -> Array:
    """The scalar ``value`` in ``like``'s dtype, behind an optimization barrier.

    For constants of an activation's *value*: XLA merges equal broadcast constants across
    the program, and when one is shared between the value and the backward pass (or a
    sum's cotangent of ones), XLA's CPU reduction fusion (ynn) materializes it as an
    input-sized array to fuse the value into a following sum. A barrier-hidden scalar is
    passed to that kernel as a scalar instead: no extra memory, same numbers."""
    return lax.optimization_barrier(jnp.asarray(value, like.dtype))


def sig_value(z: Array) -> Array:
    """sigma(z) as an activation's output: :func:`sig`'s 1 / (1 + e^-z), bit for bit, with
    the 1 :func:`opaque`."""
    one = opaque(1.0, z)
    return one / (one + jnp.exp(-z))


def dsig(z: Array) -> Array:
    """sigma'(z) = q (1 - q) with q = sigma(-|z|) <= 1/2: 1 - q is exact to half an ulp, so
    both tails keep full relative precision (<= 2 ulps in float32)."""
    q = lax.logistic(neg_abs(z))
    return q - q * q


class Sig:
    """sigma(z) and sigma'(z) as scaled pairs (see :func:`exps`): sigma = a * sa and
    sigma' = b * sb, from one e^-|z|."""

    def __init__(self, z: Array) -> None:
        neg = z < 0
        m, s = exps(neg_abs(z))
        e = m * s
        one_e = 1 + e
        self.a = jnp.where(neg, m / one_e, 1 / one_e)
        self.sa = jnp.where(neg, s, jnp.ones_like(s))
        self.b = m / jnp.square(one_e)
        self.sb = s
        self.neg = neg


def x_sig(x: Array, z: Array, lo: Array | None = None) -> Array:
    """x sigma(z) for z of the sign of x (z = beta x with beta >= 0, or gelu's argument).

    Evaluated as x u / (u + e^(c - z)) with c = min(z, -EXP_SHIFT) + EXP_SHIFT <= 0,
    u = e^c and c - z = min(EXP_SHIFT, -z): for z >= -EXP_SHIFT that is x / (1 + e^-z)
    (u = 1); below, numerator and denominator are scaled by e^c (c = z + EXP_SHIFT
    exactly), so e^-z never overflows and x sigma(z) stays normal where sigma(z) alone would
    not. The identity holds for any c, so autodiff through it sees x sigma(z). x = -inf
    (z = -inf) is first raised to the lowest finite number: its value is (-)0, the limit.
    ``lo``: z's rounding error (see :func:`product_error`), applied as
    sigma(z + lo) = sigma(z) (1 + lo sigma(-z)).

    Compare- and select-free (min, max, exp, mul, div), constants :func:`opaque`: XLA's CPU
    reduction kernel (ynn) fuses such a value into a following sum, where a select (or a
    shared broadcast constant) makes it materialize an input-sized array first.
    """
    shift = opaque(EXP_SHIFT, z)
    xf = jnp.maximum(x, opaque(float(jnp.finfo(x.dtype).min), x))
    u = jnp.exp(jnp.minimum(z, -shift) + shift)
    w = jnp.exp(jnp.minimum(shift, -z))
    if lo is None:
        return xf * u / (u + w)
    r = opaque(1.0, z) / (u + w)
    return (xf * u) * (r + r * (lo * (w * r)))  # r's correction is finite where x is not


# e^-EXP_SHIFT / float32(e^-EXP_SHIFT) - 1: the float32 scale's own rounding (-0.51 eps).
E_SHIFT_LO = float(np.exp(-EXP_SHIFT) / np.float64(np.float32(np.exp(-EXP_SHIFT))) - 1)


def exps_lo(w: Array, neg: Array, lo: Array | None) -> tuple[Array, Array]:
    """:func:`exps` of w = -|z| with z's rounding error ``lo`` (float32) taken into m, and
    in the shifted range the float32 scale's own rounding too: e^-|z + lo| = m s to first
    order (the scale's error alone is half an ulp of every result there)."""
    m, s = exps(w)
    if lo is None:
        return m, s
    d = jnp.where(neg, lo, -lo)
    return m + m * jnp.where(w < -EXP_SHIFT, d + E_SHIFT_LO, d), s


def _exp_lo(m: Array, neg: Array, lo: Array | None) -> Array:
    """m = e^(-|z|) (or its scaled part) as e^(-|z + lo|) to first order in lo."""
    return m if lo is None else m + m * jnp.where(neg, lo, -lo)


def x_sig_branch(x: Array, z: Array, lo: Array | None = None) -> Array:
    """:func:`x_sig` by branches (one exp, a select), for derivatives: sigma(z) is
    1 / (1 + e^-|z|) or e^-|z| / (1 + e^-|z|), the latter's e^-|z| scaled (see
    :func:`exps`); ``lo`` as in :func:`x_sig`."""
    neg = z < 0
    m, s = exps_lo(neg_abs(z), neg, lo)
    one_e = 1 + m * s
    return jnp.where(neg, xmul(x, m) / one_e * s, x / one_e)


# Adding and subtracting 1.5 * 2^17 rounds |x| <= 2^16 to a multiple of 2^-6.
SPLIT_GRID = 1.5 * 2.0**17
# |x| beyond which product_error is 0: e^(-1.5 * 60) is below float32's subnormals.
PRODUCT_ERROR_CLIP = 60.0


def split_head(x: Array, *, value: bool = True, grid: float = SPLIT_GRID) -> Array:
    """The head of an error-free split x = h + l for float32 |x| < 64: h = (x + G) - G is x
    rounded to a multiple of 2^-6 (at most 12 significant bits) and |l| <= 2^-7, so h h and
    h times any 12-bit number are exact products. Additions only, so no FMA contraction
    can change it. G = 1.5 * 2^17 is :func:`opaque` (XLA folds (x + c) - c to x for a
    visible constant c); a derivative (``value=False``) adds -G first, so that its barrier
    is not merged with a value's (see :func:`product_error`). No gradient. ``grid``: another
    G = 1.5 * 2^k rounds |x| < 2^(k - 1) to a multiple of 2^(k - 23)."""
    g = opaque(grid if value else -grid, x)
    return lax.stop_gradient((x + g) - g)


def product_error(k: float, x: Array, *, value: bool = True) -> Array | None:
    """k x - fl(k x) for a Python float k (the exact decimal) and float32 x, fl(k x) being
    float32(k) * x as XLA rounds it; None for other dtypes.

    For an exponent's argument z = k x: e^z with z rounded is |z| ulps off, e^z (1 + lo) is
    not. x (clipped to +-PRODUCT_ERROR_CLIP: no overflow; beyond, e^z is 0 or the
    correction irrelevant for k >= 1.5) is split as xh + xl (:func:`split_head`: xh of 12
    bits, |xl| <= 2^-7) and k = kh + kl with kh of 8 bits: kh xh
    is exact, and so is kh xl for |x| >= 1 (below, its rounding is far under float32's
    eps relative to e^z), kh xh - fl(k x) is exact (Sterbenz), kl x is 2^-8 of the whole.
    The split is :func:`split_head`'s; every constant :func:`opaque`: XLA's CPU
    reduction kernel fuses it into a following sum like the value it corrects. For a
    derivative (``value=False``) the constants are plain: barrier-hidden ones equal to the
    value's would be merged with them, and the shared broadcasts materialized."""
    if x.dtype != jnp.float32:
        return None
    kf = float(np.float32(k))
    kh = float(np.round(kf * 128) / 128)  # 1.702 -> 218/128: 8 significant bits
    op = functools.partial(opaque, like=x) if value else float
    xc = jnp.clip(x, op(-PRODUCT_ERROR_CLIP), op(PRODUCT_ERROR_CLIP))
    xh = split_head(xc, value=value)
    head = op(kh)
    lo = ((head * xh - op(kf) * xc) + head * (xc - xh)) + op(k - kh) * xc
    return lax.stop_gradient(lo)


# Veltkamp's splitter for float32 (2^12 + 1): a = hi + lo with hi of 12 significant bits.
VELTKAMP = 4097.0
# |k|, |x| above which product_error_of_arrays clips (no overflow in the split; the exponent
# of such a product is beyond float32's range either way).
PRODUCT_CLIP = 2.0**40


def _veltkamp(a: Array, op: Callable[[float], Any]) -> tuple[Array, Array]:
    c = op(VELTKAMP) * a
    hi = c - (c - a)
    return hi, a - hi


def product_error_of_arrays(
    k: Array, x: Array, *, decimal: float | None = None, value: bool = True
) -> Array | None:
    r"""k x - fl(k x) for float32 arrays k and x (Dekker's exact product: both split by
    Veltkamp, every partial product exact), None for other dtypes. For a traced
    hyperparameter k (softplus's beta, clamped_swiglu's alpha, ...) where
    :func:`product_error` takes a Python number. ``decimal``: where k is float32(decimal),
    k stands for that decimal, and (decimal - k) x is added (the default alpha 1.702 means
    1.702, as the float64 truths do). Operands are clipped to +-PRODUCT_CLIP. Constants as
    in :func:`product_error`. No gradient."""
    if x.dtype != jnp.float32:
        return None
    op = functools.partial(opaque, like=x) if value else float
    kc = jnp.clip(k, op(-PRODUCT_CLIP), op(PRODUCT_CLIP))
    xc = jnp.clip(x, op(-PRODUCT_CLIP), op(PRODUCT_CLIP))
    p = kc * xc
    kh, kl = _veltkamp(kc, op)
    xh, xl = _veltkamp(xc, op)
    lo = (((kh * xh - p) + kh * xl) + kl * xh) + kl * xl
    if decimal is not None:
        kf = float(np.float32(decimal))
        lo = lo + jnp.where(k == op(kf), op(decimal - kf), op(0.0)) * xc
    return lax.stop_gradient(lo)


def quotient_error(x: Array, u: Array, k: Array) -> Array | None:
    """x / k - u for u = fl(x / k), float32 arrays (None for other dtypes): the residual
    x - u k, split as (x - uh kh) - ((uh kl + ul kh) + ul kl) with Veltkamp's halves (every
    product exact, x - uh kh exact by Sterbenz), over k; u is clipped to +-PRODUCT_CLIP
    (beyond, e^u is 0 or inf and the correction unseen). No FMA contraction can change it
    (x - u * k written plainly can become fma(-u, k, x), the whole residual, from which
    subtracting a separately computed rounding error counts it twice: 36 ulps in celu's
    e^(x / alpha)). Infinite or NaN u gives 0. No gradient."""
    if x.dtype != jnp.float32:
        return None
    finite = jnp.isfinite(u) & jnp.isfinite(x)
    uc = jnp.clip(jnp.where(finite, u, 0), -PRODUCT_CLIP, PRODUCT_CLIP)
    xc = jnp.where(finite, x, 0)
    uh, ul = _veltkamp(uc, float)
    kh, kl = _veltkamp(k, float)
    r = (xc - uh * kh) - ((uh * kl + ul * kh) + ul * kl)
    return lax.stop_gradient(r / k)


# |x| beyond which cubic_arg's correction is 0 (gelu's tanh form: e^z < e^-100 there, its
# value and derivative below float32's normal range; below it the exact head fits 24 bits).
CUBIC_ARG_CLIP = 10.5


def _head_bits(k: float, bits: int) -> float:
    """k rounded to a multiple of 2^-bits (float64)."""
    return float(np.round(k * 2.0**bits) / 2.0**bits)


class CubicArg(NamedTuple):
    """:func:`cubic_arg`'s result: z = k1 x + k2 x^3 rounded and its error ``lo``; with
    ``cube``, k2 x^3 = cube_hi + cube_lo (cube_hi exact, |cube_lo| < ~2), else None."""

    z: Array
    lo: Array | None
    cube_hi: Array | None = None
    cube_lo: Array | None = None


def cubic_arg(
    k1: float, k2: float, x: Array, *, value: bool = True, cube: bool = False
) -> CubicArg:
    """z = k1 x + k2 x^3 for Python floats 0 < k1 < 2, 0 < k2 < 1/8 (the exact decimals) and
    float32 x, as a float32 pair: z rounded, and lo = (k1 x + k2 x^3) - z to ~1 float32 eps
    absolute for |x| <= CUBIC_ARG_CLIP (0 beyond, and for infinite or NaN x).

    gelu's tanh form takes e^z, which is |z| ulps off when z is merely rounded (z reaches
    ~-90 before e^z leaves float32): e^z (1 + lo) is not. Every product below is exact
    and every sum of exact terms representable, so no FMA contraction can change them:
    x = xh + xl (:func:`split_head`: xh on a 2^-6 grid, <= 10 bits for |x| <= 10.5, |xl|
    <= 2^-7); s = xh^2 (exact, <= 20 bits) = sh + sl with sh an integer (<= 7 bits) and
    |sl| <= 1/2; c = sh xh (<= 17 bits); k1 = k1h + k1l and k2 = k2h + k2l with k1h (<= 11
    bits), k2h (<= 7 bits) on a 2^-10 grid, so k1h xh and k2h c are exact and their sum, on
    a 2^-16 grid below 2^7, too. The rest, k1l xh + k2l c + k2 sl xh + xl (k1 + k2 (x^2 + x xh +
    s)), is below ~2 in size, so its roundings come to about an eps; z and lo are its
    Fast2Sum with the exact head (|head| >= |rest| wherever xh != 0). ``cube``: also k2 x^3
    as k2h c plus its share of the rest (a derivative's x z' = z + 2 k2 x^3). Constants
    :func:`opaque` for a value (``value``), plain for a derivative (see
    :func:`product_error`); the splits' constants are opaque either way. No gradient."""
    op = functools.partial(opaque, like=x) if value else float
    k1h, k2h = _head_bits(k1, 10), _head_bits(k2, 10)
    xc = jnp.clip(x, op(-CUBIC_ARG_CLIP), op(CUBIC_ARG_CLIP))
    xh = split_head(xc, value=value)
    xl = x - xh
    s = xh * xh
    sh = split_head(s, value=value, grid=1.5 * 2.0**23)
    c = sh * xh
    head = op(k1h) * xh + op(k2h) * c
    square = (xc * xc + xc * xh) + s  # x^2 + x xh + xh^2: (x^3 - xh^3) / xl
    cube_lo = (op(k2 - k2h) * c + op(k2) * ((s - sh) * xh)) + op(k2) * (square * xl)
    tail = (op(k1 - k1h) * xh + op(k1) * xl) + cube_lo
    z = head + tail
    lo = jnp.where(xc == x, tail - (z - head), 0)
    if not cube:
        return CubicArg(z, lax.stop_gradient(lo))
    parts = lax.stop_gradient((lo, op(k2h) * c, cube_lo))
    return CubicArg(z, *parts)


def horner(coefs: tuple[float, ...], w: Array) -> Array:
    """sum coefs[k] w^k (constant first), by Horner's rule."""
    acc = jnp.zeros_like(w)
    for c in reversed(coefs[1:]):
        acc = (acc + c) * w
    return acc + coefs[0]


def near_root(
    x: Array,
    root: C.Root,
    direct: Array,
    factor: Array | None = None,
    window: float = ROOT_WINDOW,
    lo: Array | None = None,
) -> Array:
    """``direct``, or the Taylor polynomial at ``root`` (times ``factor``, if given) for
    float32 inputs near it (``lo``: x's own rounding error, as for :func:`swish_dx`).

    Near a zero of f' every direct formula cancels (its terms are O(1), their sum is O(d)),
    so float32 inputs within ``ROOT_WINDOW`` of the zero use the polynomial in d = x - at,
    which is exact (Sterbenz)."""
    if not is_f32(x):
        return direct
    d = x - root.at if lo is None else (x - root.at) + lo
    near = abs_(d) < window
    poly = horner(root.coefs, jnp.where(near, d, 0))
    return jnp.where(near, poly if factor is None else factor * poly, direct)


def expm1_minus_x_series(xs: Array) -> Array:
    """e^x - 1 - x = x^2/2! + x^3/3! + ... by Horner's rule, for |x| < EXPM1_SERIES_MAX."""
    top = 11 if is_f32(xs) else 19  # see EXPM1_SERIES_MAX
    acc = jnp.zeros_like(xs)
    for k in range(top, 1, -1):
        acc = (acc + 1 / math.factorial(k)) * xs
    return acc * xs


def expm1_minus_x(x: Array) -> Array:
    """e^x - 1 - x without cancellation near 0 (its series for |x| < EXPM1_SERIES_MAX)."""
    small = abs_(x) < EXPM1_SERIES_MAX
    return jnp.where(small, expm1_minus_x_series(jnp.where(small, x, 0)), jnp.expm1(x) - x)


def expm1(x: Array) -> Array:
    """e^x - 1: x + (e^x - 1 - x) by its series for |x| < EXPM1_SERIES_MAX (XLA's expm1 is
    ~4 ulps off for small x in float32), XLA's elsewhere."""
    small = abs_(x) < EXPM1_SERIES_MAX
    xs = jnp.where(small, x, 0)
    return jnp.where(small, xs + expm1_minus_x_series(xs), jnp.expm1(x))


def softplus(z: Array) -> Array:
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|)."""
    # Compare- and select-free (max, min, exp, log1p): XLA's CPU reduction kernel (ynn)
    # fuses such a value into a following sum instead of materializing it.
    return jnp.maximum(z, 0) + jnp.log1p(jnp.exp(jnp.minimum(z, -z)))


def tanh(x: Array) -> Array:
    """tanh(|x|) as -t / (2 + t), t = expm1(-2|x|), below TANH_SMALL and as
    1 - 2 sigma(-2|x|) above, signed: no overflow, no cancellation, <= 2 ulps in float32."""
    a = abs_(x)
    small = a < TANH_SMALL
    t = expm1(-2 * jnp.where(small, a, 0))
    e = jnp.exp(-2 * jnp.where(small, 1, a))
    return jnp.copysign(jnp.where(small, -t / (2 + t), 1 - 2 * (e / (1 + e))), x)


def dtanh(x: Array) -> Array:
    """tanh'(x) = sech^2(x) = 4 e / (1 + e)^2, e = e^(-2|x|): keeps precision in the tails
    (below -EXP_SHIFT the exp is taken of the shifted argument w + 64 and the e^-64 scale is
    applied after the 4: 4e stays normal where e itself would be subnormal)."""
    w = -2 * abs_(x)
    low = w < -EXP_SHIFT
    m = jnp.exp(jnp.where(low, w + EXP_SHIFT, w))
    # Below -EXP_SHIFT, (1 + e)^2 is 1 exactly and the result is 4m * e^-64 (what the
    # (m, s) pair of exps gives, bit for bit): one select instead of s's select, e = m * s
    # and the final * s (with abs_ as XLA's abs, tanh's value_and_grad went from 1.15-1.19
    # to 1.00-1.08x jax.nn's time).
    return jnp.where(low, (4 * m) * C.E_SHIFT, 4 * m / (1 + m * (2 + m)))


def sqrt_x2_b(x: Array, b: Array) -> Array:
    """sqrt(x^2 + b) to half an ulp or so, without overflow for huge |x| (see SQRT_BIG)."""
    big = abs_(x) > SQRT_BIG
    xs = jnp.where(big, 1, x)
    xb = jnp.where(big, x, 1)
    return jnp.where(big, abs_(xb) * jnp.sqrt(1 + b / jnp.square(xb)), jnp.sqrt(xs * xs + b))


def swish_dx(
    x: Array, beta: Array | float, factor: Array | None = None, lo: Array | None = None
) -> Array:
    """d/dx [x sigma(beta x)] = sigma(z) + z sigma'(z), z = beta x, with the Taylor window at
    its zero (z = -1.278) for float32; times ``factor`` if given, applied before the e^-64
    scale (``factor * swish_dx`` can be normal where ``swish_dx`` alone is flushed). ``lo``:
    z's rounding error (:func:`product_error`), taken into e^-|z| and z."""
    # sigma(z) + z sigma'(z) with z = beta x, over one divide: with e = e^-|z| (split as
    # m * s, see ``exps``) it is (1 + e + z e) / (1 + e)^2 for z >= 0 (no cancellation) and
    # e (1 + z + e) / (1 + e)^2 for z < 0, where 1 + z is exact on [-2, -1/2] so the only
    # rounding near the zero at z = -1.278 is e's (the window below handles the rest).
    # With lo (z's rounding error), z + lo for z: on the left e (1 + z + e) becomes
    # m (1 + lo) ((1 + z) + lo + e) = m ((1 + z) + (e + lo (2 + z))) to first order, one
    # rounding fewer than correcting m and the sum apart.
    z = beta * x
    neg = z < 0
    m, s = exps(jnp.where(neg, z, -z))
    e = m * s
    if lo is None:
        left, right, e_lo = (1 + z) + e, (1 + e) + xmul(z, e), e
    else:
        e_lo = _exp_lo(e, neg, lo)
        left, right = (1 + z) + (e + lo * (2 + z)), (1 + e_lo) + xmul(z + lo, e_lo)
    num = jnp.where(neg, xmul(left, m), right)
    if factor is not None:
        num = factor * num
    # (1 + e)^2 as 1 + e (2 + e): one rounding of the sum, not the square of a rounded 1 + e
    direct = num / (1 + e_lo * (2 + e_lo)) * jnp.where(neg, s, jnp.ones_like(s))
    return near_root(z, C.ROOT_SILU, direct, factor, lo=lo)


# --------------------------------------------------------------------------- rows


def finite_or_zero(m: Array) -> Array:
    """m where finite, else 0 (a row maximum that is +-inf shifts by nothing)."""
    return jnp.where(jnp.isfinite(m), m, 0)


def exp_shifted(xc: Array, m: Array) -> Array:
    """e^(x - m) for the row maximum m (keepdims), with its limits: all--inf rows give 0,
    and a +inf entry gives 1 at the infinities and 0 elsewhere in its row, NaN at a NaN
    (XLA's CPU max reduction skips NaNs in rows of 4096 and more, so such a row can have
    m = +inf: its sums must still be NaN)."""
    e = jnp.exp(xc - finite_or_zero(m))
    at_inf = jnp.where(jnp.isnan(xc), xc, (xc == jnp.inf).astype(xc.dtype))
    return jnp.where(m == jnp.inf, at_inf, e)


# float64 (float32 takes NormalTail): below GAUSSIAN_TAIL, Phi(x) comes from its asymptotic
# series (no subnormals on the way); 6 terms at |x| >= 10 leave < 1e-11 relative.
GAUSSIAN_TAIL = -10.0
# Below GAUSSIAN_TAIL_CLIP phi(x) < e^-1800 underflows even float64: evaluated at a safe point.
GAUSSIAN_TAIL_CLIP = -60.0


class NormalTail:
    """Phi(-t) = phi(t) R(t) (R the Mills ratio) for t = |x| in float32, and gelu's (erf
    form) value x Phi(x) and derivative Phi(x) + x phi(x), each to < 4 ulps (checked over
    every float32 input in [-16, -1e-4] and [1e-4, 16]).

    phi(t) = c e^(k - t^2/2) with k = 0 below NORMAL_TAIL_SPLIT (3) and 11 above, so that
    k - t^2/2 is exact once t^2 is; t^2 = s + es exactly (:func:`split_head`), and
    e^(k - (s + es)/2) = e^(k - s/2) (1 - es/2) to float32 precision: no |t^2/2| ulps from
    a rounded argument (XLA's float32 erfc loses up to ~110 ulps in this tail). The rest are
    polynomials from ``constants``: c R(t) (NORMAL_TAIL_LOW / _MID below 1.5 / 3, and
    NORMAL_TAIL_FAR / t beyond), c (t - R(t)) (NORMAL_SLOPE_LOW / _MID, so the derivative
    does not cancel near its zero). Beyond t = 60 phi underflows even float64: t is
    clipped there.
    """

    def __init__(self, x: Array) -> None:
        t = jnp.minimum(abs_(x), 60.0)
        head = split_head(t, value=False)  # no sum-fused value here (it has selects)
        s = t * t
        es = lax.stop_gradient((head * head - s) + (t - head) * (t + head))
        self.t, self.low, self.near = t, t < 1.5, t < C.NORMAL_TAIL_SPLIT
        self.m = jnp.exp(jnp.where(self.near, 0.0, C.NORMAL_TAIL_SHIFT) - 0.5 * s)
        self.corr = 1 - 0.5 * es
        tf = jnp.maximum(t, C.NORMAL_TAIL_SPLIT)
        self.c_far = horner(C.NORMAL_TAIL_FAR, 1 / (tf * tf))  # c t R(t), t >= 3

    def _piece(self, low: tuple[float, ...], mid: tuple[float, ...]) -> Array:
        """The polynomial of t's piece below 3 (``low`` below 1.5, about 0.75; ``mid``
        about 2.25): one Horner loop whose coefficients are selected per element (a
        third fewer operations than evaluating both)."""
        w = self.t - jnp.where(self.low, 0.75, 2.25)
        acc = jnp.zeros_like(w)
        for a, b in reversed(list(zip(low[1:], mid[1:], strict=True))):
            acc = (acc + jnp.where(self.low, a, b)) * w
        return acc + jnp.where(self.low, low[0], mid[0])

    def x_cdf(self, x: Array) -> Array:
        """x Phi(x) (gelu, erf form)."""
        c_near = self._piece(C.NORMAL_TAIL_LOW, C.NORMAL_TAIL_MID)  # c R(t), t < 3
        neg = jnp.where(self.near, (x * self.m) * c_near, -(self.m * self.c_far)) * self.corr
        cdf_neg = self.m * jnp.where(self.near, c_near, self.c_far / self.t) * self.corr
        xf = jnp.clip(x, float(jnp.finfo(x.dtype).min), float(jnp.finfo(x.dtype).max))
        return jnp.where(x < 0, neg, x - xf * cdf_neg)

    def cdf_plus_x_pdf(self, x: Array) -> Array:
        """Phi(x) + x phi(x) (gelu's derivative, erf form): -phi(t) (t - R(t)) for x = -t,
        1 + phi(t) (t - R(t)) for x = t."""
        t = self.t
        slope_near = self._piece(C.NORMAL_SLOPE_LOW, C.NORMAL_SLOPE_MID)
        head, tail = C.NORMAL_PDF_FAR
        slope = jnp.where(self.near, slope_near, (head * t - self.c_far / t) + tail * t)
        g = self.m * self.corr * slope
        return jnp.where(x < 0, -g, 1 + g)


def gaussian_tail(x: Array) -> tuple[Array, Array, Array]:
    """For x <= GAUSSIAN_TAIL: (phi(x) / scale, S(x), scale) with Phi(x) = phi(x) S(x) / |x|
    the asymptotic series (see constants.GAUSSIAN_TAIL_SERIES)."""
    xt = jnp.clip(x, GAUSSIAN_TAIL_CLIP, GAUSSIAN_TAIL)
    m, scale = exps(-0.5 * jnp.square(xt))
    phi = C.INV_SQRT_2PI * m
    r = 1 / jnp.square(xt)
    series = jnp.zeros_like(xt)
    for c in C.GAUSSIAN_TAIL_SERIES:
        series = (series + c) * r
    return phi, 1 + series, scale
