"""Elementwise activations: each forward formula with its analytic derivative directly above it.

Derivative functions receive floating arrays in the compute dtype (float32 for 16-bit
inputs) and are written to keep full relative precision in the tails: no ``y * (1 - y)``,
no ``1 - tanh**2``, no branch that can overflow into a NaN (the untaken side of every
``where`` is fed a safe input). They are differentiated by autodiff for higher orders, so
they avoid ``jnp.maximum``/``jnp.abs`` (whose derivative splits ties): at a kink the second
derivative is one of the one-sided values.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

from jaxact._src.core import Select, activation, as_float_array, single_axis

# --------------------------------------------------------------------------- helpers


def _abs(x: Array) -> Array:
    """|x| whose derivative at 0 is -1 (the x <= 0 side), never the tie-split 0."""
    return jnp.where(x > 0, x, -x)


def _xmul(x: Array, y: Array) -> Array:
    """x * y, with 0 (not NaN) when y == 0 and x is infinite: the limit in every use here."""
    return jnp.where(y == 0, jnp.zeros_like(y), x * y)


_SHIFT = 64.0
_E_SHIFT = math.exp(-_SHIFT)


def _exps(x: Array) -> tuple[Array, Array]:
    """e^x as a pair (m, s) with e^x = m * s.

    Below -64 the argument is shifted by +64 (exactly) and s = e^-64, so a product of e^x
    with other factors can be formed before the final ``* s`` without passing through
    float32 subnormals, which XLA on CPU flushes to zero. (x * e^x at x = -90 is a normal
    bfloat16/float32 number although e^x is not.)
    """
    low = x < -_SHIFT
    return jnp.exp(jnp.where(low, x + _SHIFT, x)), jnp.where(low, _E_SHIFT, 1.0).astype(x.dtype)


def _sig(z: Array) -> Array:
    """sigma(z): XLA's logistic, 1 / (1 + e^-z), which keeps full relative precision in
    both tails (<= 2 ulps in float32) and is one fused operation."""
    return lax.logistic(z)


def _dsig(z: Array) -> Array:
    """sigma'(z) = q (1 - q) with q = sigma(-|z|) <= 1/2: 1 - q is exact to half an ulp, so
    both tails keep full relative precision (<= 2 ulps in float32)."""
    q = lax.logistic(jnp.where(z < 0, z, -z))  # -|z|, as -z at 0 (the branch taken there)
    return q - q * q


class _Sig:
    """sigma(z) and sigma'(z) as scaled pairs (see ``_exps``): sigma = a * sa and
    sigma' = b * sb."""

    def __init__(self, z: Array) -> None:
        neg = z < 0
        # -|z|, differentiating as -z at z = 0 (the branch taken there), so that second
        # derivatives at 0 are right.
        m, s = _exps(jnp.where(neg, z, -z))
        e = m * s
        one_e = 1 + e
        self.a = jnp.where(neg, m / one_e, 1 / one_e)
        self.sa = jnp.where(neg, s, jnp.ones_like(s))
        self.b = m / jnp.square(one_e)
        self.sb = s
        self.neg = neg


def _is_f32(x: Array) -> bool:
    return jnp.finfo(x.dtype).bits <= 32


class _Root(NamedTuple):
    """A float32 point ``at`` next to a simple zero of a derivative, with the Taylor
    coefficients b_0..b_n of f'(at + d) = sum b_k d^k (computed with mpmath; b_0 is tiny)."""

    at: float
    coefs: tuple[float, ...]


# Near a zero of f' every direct formula cancels (its terms are O(1), their sum is O(d)), so
# float32 inputs within 0.25 of the zero use the Taylor polynomial in d = x - at, which is
# exact (Sterbenz). Degree 11 is good to ~2e-11 relative over that window.
_ROOT_WINDOW = 0.25
_ROOT_SILU = _Root(
    -1.2784645557403564,
    (
        -2.8270396683554365e-09,
        0.21781170191300772,
        0.14664879626200225,
        0.01887481501409888,
        -0.015222654794444093,
        -0.0066065891482178915,
        0.00012662733753143442,
        0.0007985218625570251,
        0.00018570724839016273,
        -4.0905338515085655e-05,
        -2.973354179313813e-05,
        -2.942632254239841e-06,
    ),
)
_ROOT_MISH = _Root(
    -1.1924312114715576,
    (
        8.12572793365832e-10,
        0.2669479152959129,
        0.20473126446280024,
        0.04190782079678522,
        -0.020271822957476857,
        -0.01582112662311167,
        -0.0033606849037467685,
        0.0010924055650481418,
        0.0009898181090909049,
        0.00025412936258462895,
        -4.196149790103323e-05,
        -5.5828916305501684e-05,
    ),
)
_ROOT_GELU_TANH = _Root(
    -0.7524614334106445,
    (
        -4.880576990954944e-09,
        0.4304000822362282,
        0.3875184466727039,
        -0.01578284835349572,
        -0.11394448213867392,
        -0.016619329682192985,
        0.019682309042223914,
        0.005261059474704936,
        -0.002422731751223466,
        -0.0009274420529489574,
        0.00026392762502808914,
        0.00012425228278307757,
    ),
)
_ROOT_GELU_ERF = _Root(
    -0.7517915368080139,
    (
        -5.227312104575155e-09,
        0.4314939829063293,
        0.3882849836519891,
        -0.01819967087408319,
        -0.11400823240247737,
        -0.014771523559942077,
        0.019421679453257287,
        0.004539228596171578,
        -0.0022395379868649923,
        -0.0007448268612487153,
        0.0001863397347508139,
        8.615948024143813e-05,
    ),
)
_ROOT_QUICK_GELU = _Root(
    -0.7511542439460754,
    (
        4.2614541467280136e-09,
        0.370715532901728,
        0.42481282494516487,
        0.09305963088367386,
        -0.12774051202548442,
        -0.09435720691655979,
        0.00307811920018115,
        0.033037237667023274,
        0.013076914165203755,
        -0.00490248299041975,
        -0.006065159374740827,
        -0.0010216237227986952,
    ),
)


def _near_root(x: Array, root: _Root, direct: Array) -> Array:
    """``direct``, or the Taylor polynomial at ``root`` for float32 inputs near it."""
    if not _is_f32(x):
        return direct
    d = x - root.at
    near = _abs(d) < _ROOT_WINDOW
    ds = jnp.where(near, d, 0)
    acc = jnp.zeros_like(ds)
    for c in reversed(root.coefs[1:]):
        acc = (acc + c) * ds
    return jnp.where(near, acc + root.coefs[0], direct)


def _expm1(x: Array) -> Array:
    """e^x - 1: x + (e^x - 1 - x) by its series for |x| < 0.7 (XLA's expm1 is ~4 ulps off
    for small x in float32), XLA's elsewhere."""
    small = _abs(x) < 0.7
    xs = jnp.where(small, x, 0)
    return jnp.where(small, xs + _expm1_minus_x_series(xs), jnp.expm1(x))


def _softplus(z: Array) -> Array:
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|)."""
    lp = jnp.log1p(jnp.exp(-_abs(z)))
    return jnp.where(z > 0, z + lp, lp)


def _tanh(x: Array) -> Array:
    """tanh(|x|) as -t / (2 + t), t = expm1(-2|x|), below 0.55 and as 1 - 2 sigma(-2|x|)
    above, signed: no overflow, no cancellation, <= 2 ulps in float32."""
    a = _abs(x)
    small = a < 0.55
    t = _expm1(-2 * jnp.where(small, a, 0))
    e = jnp.exp(-2 * jnp.where(small, 1, a))
    return jnp.copysign(jnp.where(small, -t / (2 + t), 1 - 2 * (e / (1 + e))), x)


def _dtanh(x: Array) -> Array:
    """tanh'(x) = sech^2(x) = 4 e / (1 + e)^2, e = e^(-2|x|): keeps precision in the tails
    (the e^-2|x| = m * s split keeps 4e normal where e itself would be subnormal)."""
    m, s = _exps(-2 * _abs(x))
    return (4 * m / jnp.square(1 + m * s)) * s


# --------------------------------------------------------------------------- sigmoid family


def _sigmoid_derivative(x: Array) -> Array:
    return _dsig(x)


@activation(derivative=_sigmoid_derivative)
def sigmoid(x: ArrayLike) -> Array:
    r"""Sigmoid (logistic) function.

    .. math::
      \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad
      \sigma'(x) = \sigma(x)\,\sigma(-x) = \frac{e^{-|x|}}{(1 + e^{-|x|})^2}.

    The derivative is evaluated in the second form, which keeps full relative precision in
    both tails: ``jax.grad(sigmoid)(20.)`` is 2.06e-9 in float32 (``jax.nn`` gives 0).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x`` (integers and bools are promoted to the default float).

    Examples:
      >>> jaxact.sigmoid(jnp.array([-1.0, 0.0, 1.0]))
      Array([0.26894143, 0.5       , 0.7310586 ], dtype=float32)
      >>> jax.grad(jaxact.sigmoid)(20.0)
      Array(2.0611537e-09, dtype=float32, weak_type=True)
    """
    return _sig(jnp.asarray(x))


def _log_sigmoid_derivative(x: Array) -> Array:
    return _sig(-x)


@activation(derivative=_log_sigmoid_derivative)
def log_sigmoid(x: ArrayLike) -> Array:
    r"""Log-sigmoid.

    .. math::
      \log\sigma(x) = -\mathrm{softplus}(-x) = \min(x, 0) - \log(1 + e^{-|x|}), \qquad
      \frac{d}{dx}\log\sigma(x) = \sigma(-x).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.log_sigmoid(jnp.array([-100.0, 0.0, 30.0]))
      Array([-1.000000e+02, -6.931472e-01, -9.357623e-14], dtype=float32)
    """
    return -_softplus(-jnp.asarray(x))


def _softplus_derivative(x: Array, beta: Array) -> tuple[Array, Array]:
    z = beta * x
    # d/dbeta [softplus(z) / beta] = (z sigma(z) - softplus(z)) / beta^2, arranged so that
    # neither side cancels: for z > 0 it is -(z sigma(-z) + log1p(e^-z)).
    zc = jnp.where(z > 0, -z, z)
    h = _xmul(zc, _sig(zc)) - jnp.log1p(jnp.exp(zc))
    return _sig(z), h / jnp.square(beta)


@activation(derivative=_softplus_derivative)
def softplus(x: ArrayLike, beta: ArrayLike = 1.0) -> Array:
    r"""Softplus, with PyTorch's optional sharpness ``beta``.

    .. math::
      \mathrm{softplus}(x) = \frac{1}{\beta}\log(1 + e^{\beta x}), \qquad
      \frac{\partial}{\partial x} = \sigma(\beta x), \qquad
      \frac{\partial}{\partial \beta} = \frac{\beta x\,\sigma(\beta x)
        - \log(1 + e^{\beta x})}{\beta^2}.

    Evaluated as :math:`(\max(\beta x, 0) + \log(1 + e^{-|\beta x|}))/\beta` with no
    overflow. With ``beta = 1`` (the default) it is ``jax.nn.softplus``. Unlike PyTorch
    there is no linear ``threshold``: the exact function is cheap and accurate everywhere.
    ``beta`` is differentiable.

    Args:
      x: input array.
      beta: sharpness :math:`\beta > 0` (default 1), broadcastable against ``x``.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.softplus(jnp.array([-30.0, 0.0, 30.0]))
      Array([9.357623e-14, 6.931472e-01, 3.000000e+01], dtype=float32)
      >>> jaxact.softplus(0.0, beta=2.0)
      Array(0.3465736, dtype=float32)
    """
    z = jnp.asarray(x) * beta
    return _softplus(z) / beta


def _x_sig(x: Array, z: Array) -> Array:
    """x sigma(z) with sigma(z) = 1 / (1 + e^-|z|) or e^-|z| / (1 + e^-|z|), the latter's
    e^-|z| scaled (see ``_exps``) so x sigma(z) stays normal where sigma(z) would not."""
    neg = z < 0
    m, s = _exps(jnp.where(neg, z, -z))
    one_e = 1 + m * s
    # Ending in a select keeps the value one fused loop under XLA's CPU reduction fusion.
    # (Each divide used once: XLA's CPU fusion splits a reused divide of a reused exp.)
    return jnp.where(neg, _xmul(x, m) / one_e * s, x / one_e)


def _swish_value(x: Array, beta: Array | float) -> Array:
    return _x_sig(x, beta * x)


def _swish_dx(x: Array, beta: Array | float) -> Array:
    # sigma(z) + z sigma'(z) with z = beta x, over one divide: with e = e^-|z| (split as
    # m * s, see ``_exps``) it is (1 + e + z e) / (1 + e)^2 for z >= 0 (no cancellation) and
    # e (1 + z + e) / (1 + e)^2 for z < 0, where 1 + z is exact on [-2, -1/2] so the only
    # rounding near the zero at z = -1.278 is e's (the window below handles the rest).
    z = beta * x
    neg = z < 0
    m, s = _exps(jnp.where(neg, z, -z))
    e = m * s
    num = jnp.where(neg, _xmul((1 + z) + e, m), (1 + e) + _xmul(z, e))
    direct = num / jnp.square(1 + e) * jnp.where(neg, s, jnp.ones_like(s))
    return _near_root(z, _ROOT_SILU, direct)


def _silu_derivative(x: Array, beta: Array) -> tuple[Array, Array]:
    sg = _Sig(beta * x)
    d_beta = _xmul(x, _xmul(x, sg.b)) * sg.sb
    return _swish_dx(x, beta), d_beta


@activation(derivative=_silu_derivative)
def silu(x: ArrayLike, beta: ArrayLike = 1.0) -> Array:
    r"""SiLU / swish, with an optional (learnable) ``beta``.

    .. math::
      \mathrm{silu}(x) = x\,\sigma(\beta x), \qquad
      \frac{\partial}{\partial x} = \sigma(\beta x) + \beta x\,\sigma(\beta x)\sigma(-\beta x),
      \qquad \frac{\partial}{\partial \beta} = x^2\sigma(\beta x)\sigma(-\beta x).

    With ``beta = 1`` (the default) it is ``jax.nn.silu``. At :math:`x = -\infty` the value is
    its limit 0 (``jax.nn.silu`` gives NaN) and at :math:`\pm\infty` the derivative is 0 or 1.

    Args:
      x: input array.
      beta: the slope :math:`\beta` inside the sigmoid (default 1), differentiable,
        broadcastable against ``x``.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.silu(jnp.array([-jnp.inf, -1.0, 0.0, 1.0]))
      Array([ 0.        , -0.26894143,  0.        ,  0.7310586 ], dtype=float32)
    """
    return _swish_value(jnp.asarray(x), jnp.asarray(beta))


swish = silu


def _quick_gelu_derivative(x: Array) -> Array:
    # Its own zero (x = -0.7512) in x: 1.702 x is rounded, so silu's anchor in z would not do.
    return _near_root(x, _ROOT_QUICK_GELU, _swish_dx(x, 1.702))


@activation(derivative=_quick_gelu_derivative)
def quick_gelu(x: ArrayLike) -> Array:
    r"""QuickGELU (CLIP's GELU approximation): :math:`x\,\sigma(1.702\,x)`.

    .. math::
      \mathrm{quick\_gelu}(x) = x\,\sigma(1.702x), \qquad
      \mathrm{quick\_gelu}'(x) = \sigma(1.702x) + 1.702x\,\sigma(1.702x)\sigma(-1.702x).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.quick_gelu(jnp.array([-1.0, 0.0, 1.0]))
      Array([-0.15420423,  0.        ,  0.8457958 ], dtype=float32)
    """
    return _swish_value(jnp.asarray(x), 1.702)


def _mish_parts(x: Array) -> tuple[Array, Array, Array, Array]:
    """tanh(softplus(x)) = t * scale and sech^2(softplus(x)), sigma(x) = sg * scale, each
    without cancellation or overflow: with e = e^-|x|, tanh(softplus(x)) is
    (1 + 2e)/(1 + 2e + 2e^2) for x >= 0 and e(e + 2)/(e(e + 2) + 2) for x < 0."""
    pos = x >= 0
    m, s = _exps(jnp.where(pos, -x, x))  # -|x|, as -x at x = 0 (the branch taken there)
    e = m * s
    one_e2 = jnp.square(1 + e)
    t = jnp.where(pos, (1 + 2 * e) / (1 + 2 * e + 2 * e * e), m * (e + 2) / (e * (e + 2) + 2))
    sech2 = jnp.where(
        pos, 4 * one_e2 * e * e / jnp.square(one_e2 + e * e), 4 * one_e2 / jnp.square(one_e2 + 1)
    )
    sg = jnp.where(pos, 1 / (1 + e), m / (1 + e))
    scale = jnp.where(pos, jnp.ones_like(s), s)
    return t, sech2, sg, scale


def _mish_derivative(x: Array) -> Array:
    t, sech2, sg, scale = _mish_parts(x)
    # For x < 0, with e = e^x: mish'(x) = e B / (e^2 + 2e + 2)^2 where
    # B = 4(1 + x) + e(e^2 + 4e + (6 + 4x)); 1 + x and 6 + 4x are exact near the zero at
    # x = -1.19, so B only carries e's rounding (and the window below handles the rest).
    m, s = _exps(jnp.where(x < 0, x, 0))
    e = m * s
    b = 4 * (1 + x) + e * (e * e + 4 * e + (6 + 4 * x))
    neg = (_xmul(b, m) / jnp.square(e * e + 2 * e + 2)) * s
    direct = jnp.where(x < -0.6, neg, (t + _xmul(x, sech2 * sg)) * scale)
    return _near_root(x, _ROOT_MISH, direct)


@activation(derivative=_mish_derivative)
def mish(x: ArrayLike) -> Array:
    r"""Mish.

    .. math::
      \mathrm{mish}(x) = x \tanh(\mathrm{softplus}(x)), \qquad
      \mathrm{mish}'(x) = \tanh(\mathrm{softplus}(x))
        + x\,\mathrm{sech}^2(\mathrm{softplus}(x))\,\sigma(x).

    :math:`\tanh(\mathrm{softplus}(x))` is evaluated as
    :math:`\frac{e^{2x} + 2e^x}{e^{2x} + 2e^x + 2}` rearranged in :math:`e^{-|x|}`, and
    :math:`\mathrm{sech}^2` likewise, so neither cancels nor overflows; at :math:`\pm\infty`
    the value and derivative are their limits (``jax.nn.mish``'s gradient is NaN there).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.mish(jnp.array([-1.0, 0.0, 1.0]))
      Array([-0.30340147,  0.        ,  0.8650984 ], dtype=float32)
    """
    x = jnp.asarray(x)
    t, _, _, scale = _mish_parts(x)
    return jnp.where(x >= 0, x * t, _xmul(x, t) * scale)


# --------------------------------------------------------------------------- gelu

_GELU_K1 = 1.5957691216057308  # 2 sqrt(2 / pi)
_GELU_K2 = 0.07135481627260025  # 2 sqrt(2 / pi) * 0.044715
_INV_SQRT2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
# Beyond |x| = 30 every term of gelu' that carries a Gaussian factor is below float64's
# smallest subnormal, so it is computed at a safe point and replaced by 0.
_GELU_FAR = 30.0
# Below this, Phi(x) comes from its asymptotic series (XLA's erfc loses ulps in the tail).
_GELU_TAIL = -10.0


def _gelu_tanh_sig(x: Array) -> _Sig:
    """The sigmoid pair of 2z = x (K1 + K2 x^2)."""
    return _Sig(x * (_GELU_K1 + _GELU_K2 * jnp.square(x)))


def _gaussian_tail(x: Array) -> tuple[Array, Array, Array]:
    """For x <= -10: (phi(x) / scale, S(x), scale) with Phi(x) = phi(x) S(x) / |x| the
    asymptotic series (XLA's erfc is 60 ulps off there, and passes through subnormals)."""
    xt = jnp.clip(x, -60.0, _GELU_TAIL)
    m, scale = _exps(-0.5 * jnp.square(xt))
    phi = _INV_SQRT_2PI * m
    r = 1 / jnp.square(xt)
    series = jnp.zeros_like(xt)
    for c in (10395.0, -945.0, 105.0, -15.0, 3.0, -1.0):
        series = (series + c) * r
    return phi, 1 + series, scale


def _gelu_derivative(x: Array, approximate: bool = True) -> Array:
    near = _abs(x) < _GELU_FAR
    xs = jnp.where(near, x, 0)
    if approximate:
        sg = _gelu_tanh_sig(x)
        dz = _GELU_K1 + 3 * _GELU_K2 * jnp.square(xs)
        term = jnp.where(near, xs * dz * sg.b, 0)
        direct = jnp.where(sg.neg, (sg.a + term) * sg.sb, sg.a + term * sg.sb)
        return _near_root(x, _ROOT_GELU_TANH, direct)
    cdf = 0.5 * lax.erfc(-x * _INV_SQRT2)
    pdf = _INV_SQRT_2PI * jnp.exp(-0.5 * jnp.square(xs))
    phi, series, scale = _gaussian_tail(x)
    tail = -(phi * (-jnp.clip(x, -60.0, _GELU_TAIL) + series / jnp.clip(x, -60.0, _GELU_TAIL)))
    direct = jnp.where(x < _GELU_TAIL, tail * scale, cdf + jnp.where(near, xs * pdf, 0))
    return _near_root(x, _ROOT_GELU_ERF, direct)


@activation(derivative=_gelu_derivative, static_argnames=("approximate",))
def gelu(x: ArrayLike, approximate: bool = True) -> Array:
    r"""Gaussian error linear unit.

    .. math::
      \mathrm{gelu}(x) = x\,\Phi(x), \qquad \mathrm{gelu}'(x) = \Phi(x) + x\,\varphi(x)

    with :math:`\Phi` the standard normal CDF and :math:`\varphi` its density. With
    ``approximate=True`` (the default, as in ``jax.nn``), :math:`\Phi(x)` is replaced by
    :math:`\tfrac12(1 + \tanh z) = \sigma(2z)`, :math:`z = \sqrt{2/\pi}(x + 0.044715x^3)`:

    .. math::
      \mathrm{gelu}(x) = x\,\sigma(2z), \qquad
      \mathrm{gelu}'(x) = \sigma(2z) + x\,2z'\,\sigma(2z)\sigma(-2z),
      \quad z' = \sqrt{2/\pi}(1 + 3 \cdot 0.044715x^2).

    The :math:`\sigma(2z)` form has no cancellation for negative :math:`x` (``jax.nn``'s
    :math:`1 + \tanh z` does), and the derivative stays finite at :math:`\pm 10^{30}` and
    :math:`\pm\infty` (where :math:`x^3` overflows). ``approximate`` is static.

    Args:
      x: input array.
      approximate: use the tanh approximation (default True) or the exact erf form.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.gelu(jnp.array([-1.0, 0.0, 1.0]))
      Array([-0.158808,  0.      ,  0.841192], dtype=float32)
      >>> jaxact.gelu(jnp.array([-1.0, 0.0, 1.0]), approximate=False)
      Array([-0.15865526,  0.        ,  0.8413447 ], dtype=float32)
    """
    x = jnp.asarray(x)
    if approximate:
        return _x_sig(x, x * (_GELU_K1 + _GELU_K2 * jnp.square(x)))
    phi, series, scale = _gaussian_tail(x)
    return jnp.where(
        x < _GELU_TAIL, -(phi * series) * scale, _xmul(x, 0.5 * lax.erfc(-x * _INV_SQRT2))
    )


# --------------------------------------------------------------------------- exponential units


def _elu_derivative(x: Array, alpha: Array) -> tuple[Array, Array]:
    xn = jnp.where(x > 0, 0, x)
    m, s = _exps(xn)
    return jnp.where(x > 0, 1, (alpha * m) * s), jnp.where(x > 0, 0, jnp.expm1(xn))


@activation(derivative=_elu_derivative)
def elu(x: ArrayLike, alpha: ArrayLike = 1.0) -> Array:
    r"""Exponential linear unit.

    .. math::
      \mathrm{elu}(x) = \begin{cases} x & x > 0 \\ \alpha(e^x - 1) & x \le 0 \end{cases},
      \qquad
      \mathrm{elu}'(x) = \begin{cases} 1 & x > 0 \\ \alpha e^x & x \le 0 \end{cases},
      \qquad \frac{\partial}{\partial\alpha} = \begin{cases} 0 & x > 0 \\ e^x - 1 & x \le 0
      \end{cases}

    Kink: :math:`\mathrm{elu}'(0) = \alpha` (the :math:`x \le 0` side), as in PyTorch; the
    second derivative at 0 is :math:`\alpha` (the same side). :math:`\alpha e^x` keeps full
    precision far into the left tail (``jax.nn.elu``'s derivative is 0 below -17 in
    float32). ``alpha`` is differentiable.

    Args:
      x: input array.
      alpha: scale of the negative part (default 1).

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.elu(jnp.array([-jnp.inf, -1.0, 0.0, 2.0]))
      Array([-1.        , -0.63212055,  0.        ,  2.        ], dtype=float32)
      >>> jax.grad(jaxact.elu)(-20.0)
      Array(2.0611537e-09, dtype=float32, weak_type=True)
    """
    x = jnp.asarray(x)
    return jnp.where(x > 0, x, alpha * _expm1(jnp.where(x > 0, 0, x)))


def _celu_derivative(x: Array, alpha: Array) -> tuple[Array, Array]:
    u = jnp.where(x > 0, 0, x) / alpha
    eu = jnp.exp(u)
    return jnp.where(x > 0, 1, eu), jnp.where(x > 0, 0, jnp.expm1(u) - _xmul(u, eu))


def _celu_negative(x: Array, alpha: Array) -> Array:
    """alpha (e^(x/alpha) - 1) for x <= 0; x itself once x/alpha is too small to matter
    (it would be a flushed subnormal for the tiniest x)."""
    u = x / alpha
    return jnp.where(_abs(u) < 1e-10, x, alpha * _expm1(u))


@activation(derivative=_celu_derivative)
def celu(x: ArrayLike, alpha: ArrayLike = 1.0) -> Array:
    r"""Continuously differentiable exponential linear unit.

    .. math::
      \mathrm{celu}(x) = \begin{cases} x & x > 0 \\ \alpha(e^{x/\alpha} - 1) & x \le 0
      \end{cases}, \qquad
      \mathrm{celu}'(x) = \begin{cases} 1 & x > 0 \\ e^{x/\alpha} & x \le 0 \end{cases},
      \qquad \frac{\partial}{\partial\alpha} = e^{x/\alpha} - 1 - \tfrac{x}{\alpha}
        e^{x/\alpha} \;(x \le 0).

    :math:`\mathrm{celu}'(0) = 1` from both sides. The second derivative jumps at 0 (0 on the
    right, :math:`1/\alpha` on the left); we take the left value :math:`1/\alpha`, never the
    tie-split mix ``jax.nn.celu`` gives (0.125 for :math:`\alpha = 2`).

    Args:
      x: input array.
      alpha: :math:`\alpha > 0` (default 1), differentiable.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.celu(jnp.array([-1.0, 0.0, 2.0]), 2.0)
      Array([-0.7869387,  0.       ,  2.       ], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(x > 0, x, _celu_negative(jnp.where(x > 0, 0, x), jnp.asarray(alpha)))


_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_SCALE_ALPHA = 1.7580993408473768  # the product, rounded once


def _selu_derivative(x: Array) -> Array:
    m, s = _exps(jnp.where(x > 0, 0, x))
    return jnp.where(x > 0, _SELU_SCALE, (_SELU_SCALE_ALPHA * m) * s)


@activation(derivative=_selu_derivative)
def selu(x: ArrayLike) -> Array:
    r"""Scaled exponential linear unit.

    .. math::
      \mathrm{selu}(x) = \lambda\begin{cases} x & x > 0 \\ \alpha(e^x - 1) & x \le 0
      \end{cases}, \qquad
      \mathrm{selu}'(x) = \begin{cases} \lambda & x > 0 \\ \lambda\alpha e^x & x \le 0
      \end{cases}

    with :math:`\lambda \approx 1.0507` and :math:`\alpha \approx 1.6733`. Kink:
    :math:`\mathrm{selu}'(0) = \lambda\alpha`, as in PyTorch; the left tail keeps full
    precision (``jax.nn.selu``'s derivative is 0 below -17 in float32).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.selu(jnp.array([-1.0, 0.0, 1.0]))
      Array([-1.1113307,  0.       ,  1.050701 ], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(x > 0, _SELU_SCALE * x, _SELU_SCALE_ALPHA * _expm1(jnp.where(x > 0, 0, x)))


def _xielu_derivative(
    x: Array, alpha_p: Array, alpha_n: Array, beta: Array
) -> tuple[Array, Array, Array, Array]:
    pos = x > 0
    xp = jnp.where(pos, x, 0)
    xn = jnp.where(pos, 0, x)
    dx = jnp.where(pos, 2 * alpha_p * xp + beta, alpha_n * _expm1(xn) + beta)
    return dx, xp * xp, jnp.where(pos, 0, _expm1_minus_x(xn)), x


def _expm1_minus_x_series(xs: Array) -> Array:
    """e^x - 1 - x = x^2/2! + x^3/3! + ... by Horner's rule, for |x| < 0.7."""
    top = 11 if _is_f32(xs) else 19  # 0.7^11 / 11! is below float32's eps, 0.7^19 / 19! float64's
    acc = jnp.zeros_like(xs)
    for k in range(top, 1, -1):
        acc = (acc + 1 / math.factorial(k)) * xs
    return acc * xs


def _expm1_minus_x(x: Array) -> Array:
    """e^x - 1 - x without cancellation near 0 (its series for |x| < 0.7)."""
    small = _abs(x) < 0.7
    return jnp.where(small, _expm1_minus_x_series(jnp.where(small, x, 0)), jnp.expm1(x) - x)


@activation(derivative=_xielu_derivative)
def xielu(
    x: ArrayLike, alpha_p: ArrayLike = 0.8, alpha_n: ArrayLike = 0.8, beta: ArrayLike = 0.5
) -> Array:
    r"""xIELU, the trainable activation of the Apertus models.

    .. math::
      \mathrm{xielu}(x) = \begin{cases} \alpha_p x^2 + \beta x & x > 0 \\
        \alpha_n(e^x - 1 - x) + \beta x & x \le 0 \end{cases}, \qquad
      \mathrm{xielu}'(x) = \begin{cases} 2\alpha_p x + \beta & x > 0 \\
        \alpha_n(e^x - 1) + \beta & x \le 0 \end{cases}

    with :math:`\partial/\partial\alpha_p = x^2` (x > 0), :math:`\partial/\partial\alpha_n =
    e^x - 1 - x` (x ≤ 0), :math:`\partial/\partial\beta = x`. The first derivative is
    continuous (:math:`\beta` at 0); the second jumps from :math:`\alpha_n` to
    :math:`2\alpha_p`, and we take the left value :math:`\alpha_n`. The parameters are the
    effective coefficients (the Apertus code stores them through a softplus, with
    :math:`\alpha_n` offset by :math:`\beta`; :class:`jaxact.nnx.XIELU` does that). Unlike
    that code, :math:`e^x - 1 - x` is evaluated without cancellation, so no ``eps`` clamp
    near 0 is needed.

    Args:
      x: input array.
      alpha_p: positive-side curvature (default 0.8), differentiable.
      alpha_n: negative-side scale (default 0.8), differentiable.
      beta: linear coefficient (default 0.5), differentiable.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.xielu(jnp.array([-1.0, 0.0, 1.0]))
      Array([-0.20569646,  0.        ,  1.3       ], dtype=float32)
    """
    x = jnp.asarray(x)
    pos = x > 0
    xp = jnp.where(pos, x, 0)
    xn = jnp.where(pos, 0, x)
    # For x <= -1/2, alpha_n e^x - alpha_n + (beta - alpha_n) x has no cancellation and no
    # inf - inf at x = -inf; nearer 0 the grouped series form is exact.
    # (One e^x - 1 in all: each expensive op used once keeps XLA's CPU fusion to one pass.)
    near = xn > -0.5
    xs = jnp.where(near, xn, 0)
    xl = jnp.where(near, -1, xn)
    neg = jnp.where(
        near,
        alpha_n * _expm1_minus_x_series(xs) + beta * xn,
        alpha_n * jnp.expm1(xl) + (jnp.asarray(beta) - jnp.asarray(alpha_n)) * xn,
    )
    return jnp.where(pos, (alpha_p * xp) * xp + beta * xp, neg)


# --------------------------------------------------------------------------- rectifiers


def _relu_derivative(x: Array) -> Select:
    return Select(x > 0, 1.0, 0.0)


@activation(derivative=_relu_derivative)
def relu(x: ArrayLike) -> Array:
    r"""Rectified linear unit.

    .. math::
      \mathrm{relu}(x) = \max(0, x), \qquad
      \mathrm{relu}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}

    Kink: under differentiation we take :math:`\mathrm{relu}'(0) = 0`, as PyTorch and
    ``jax.nn`` do (it keeps a zero input from receiving gradient, the usual sparsity
    convention). Reverse mode keeps only the boolean mask ``x > 0``; a NaN input has
    value NaN and derivative 0.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x`` (integers and bools are promoted to the default float).

    Examples:
      >>> jaxact.relu(jnp.array([-2.0, 0.0, 3.0]))
      Array([0., 0., 3.], dtype=float32)
      >>> jaxact.derivatives.relu(jnp.array([-2.0, 0.0, 3.0]))
      Array([0., 0., 1.], dtype=float32)
    """
    return jnp.maximum(jnp.asarray(x), 0)


def _relu6_derivative(x: Array) -> Select:
    return Select((x > 0) & (x < 6), 1.0, 0.0)


@activation(derivative=_relu6_derivative)
def relu6(x: ArrayLike) -> Array:
    r"""ReLU capped at 6.

    .. math::
      \mathrm{relu6}(x) = \min(\max(x, 0), 6), \qquad
      \mathrm{relu6}'(x) = \begin{cases} 1 & 0 < x < 6 \\ 0 & \text{otherwise} \end{cases}

    Kinks: :math:`\mathrm{relu6}'(0) = \mathrm{relu6}'(6) = 0`, as in PyTorch. Reverse mode
    keeps only a boolean mask.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.relu6(jnp.array([-1.0, 3.0, 7.0]))
      Array([0., 3., 6.], dtype=float32)
    """
    return jnp.minimum(jnp.maximum(jnp.asarray(x), 0), 6)


def _relu_squared_derivative(x: Array) -> Array:
    return 2 * jnp.where(x > 0, x, 0)


@activation(derivative=_relu_squared_derivative)
def relu_squared(x: ArrayLike) -> Array:
    r"""Squared ReLU (Primer).

    .. math::
      \mathrm{relu\_squared}(x) = \max(0, x)^2, \qquad
      \mathrm{relu\_squared}'(x) = 2\max(0, x)

    The derivative is continuous; the second derivative jumps at 0 (0 on the left, 2 on the
    right) and we take the left value 0, as for :func:`relu`.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.relu_squared(jnp.array([-2.0, 0.0, 3.0]))
      Array([0., 0., 9.], dtype=float32)
    """
    return jnp.square(jnp.maximum(jnp.asarray(x), 0))


def _leaky_relu_derivative(x: Array, negative_slope: Array) -> tuple[Select, Select]:
    return Select(x > 0, 1.0, negative_slope), Select(x > 0, 0.0, x)


def _leaky_relu_formula(x: Array, negative_slope: Array) -> Array:
    # alpha * x, except that a zero slope gives exactly 0 at x = -inf (not 0 * inf = NaN).
    neg = jnp.where((negative_slope == 0) & ~jnp.isnan(x), 0, negative_slope * x)
    return jnp.where(x > 0, x, neg)


_leaky_relu = activation(_leaky_relu_formula, derivative=_leaky_relu_derivative, name="leaky_relu")


class _Unset:
    """Marks an argument that was not passed (shown as the default it stands for)."""

    def __init__(self, default: str) -> None:
        self._default = default

    def __repr__(self) -> str:
        return self._default


_MISSING: Any = _Unset("0.01")


def _slope(negative_slope: Any, alpha: Any) -> Any:
    if negative_slope is not _MISSING and alpha is not _MISSING:
        raise TypeError("leaky_relu got both `negative_slope` and its alias `alpha`; pass one")
    slope = alpha if negative_slope is _MISSING else negative_slope
    return 0.01 if slope is _MISSING else slope


def leaky_relu(
    x: ArrayLike, negative_slope: ArrayLike = _MISSING, *, alpha: ArrayLike = _MISSING
) -> Array:
    r"""Leaky rectified linear unit.

    .. math::
      \mathrm{leaky\_relu}(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases},
      \qquad
      \frac{\partial}{\partial x} = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases},
      \qquad
      \frac{\partial}{\partial \alpha} = \begin{cases} 0 & x > 0 \\ x & x \le 0 \end{cases}

    Kink: under differentiation we take :math:`\mathrm{leaky\_relu}'(0) = \alpha`, as
    PyTorch does (``jax.nn`` gives 1), so that ``alpha = 0`` reproduces :func:`relu` in value
    and derivative. The slope is differentiable (a learnable slope, as in PReLU) and may be an
    array that broadcasts against ``x``; a float32 slope does not promote a bfloat16 ``x``.
    Reverse mode keeps only the boolean mask ``x > 0`` (and ``x`` itself only when the slope
    is being differentiated).

    Args:
      x: input array.
      negative_slope: the slope :math:`\alpha` for :math:`x \le 0` (default 0.01).
      alpha: keyword alias of ``negative_slope`` (the seed document's name).

    Returns:
      An array of the dtype of ``x`` and the broadcast shape of ``x`` and the slope.

    Examples:
      >>> jaxact.leaky_relu(jnp.array([-2.0, 0.0, 3.0]))
      Array([-0.02,  0.  ,  3.  ], dtype=float32)
      >>> jaxact.leaky_relu(jnp.array([-2.0, 3.0]), alpha=0.5)
      Array([-1.,  3.], dtype=float32)
      >>> jax.grad(jaxact.leaky_relu)(0.0, 0.2)
      Array(0.2, dtype=float32, weak_type=True)
    """
    return _leaky_relu(x, _slope(negative_slope, alpha))


def leaky_relu_derivative(
    x: ArrayLike, negative_slope: ArrayLike = _MISSING, *, alpha: ArrayLike = _MISSING
) -> Array:
    return _leaky_relu.derivative(x, _slope(negative_slope, alpha))


def prelu(x: ArrayLike, slope: ArrayLike) -> Array:
    r"""Parametric ReLU: :func:`leaky_relu` with a learnable, per-channel slope.

    .. math::
      \mathrm{prelu}(x, a) = \begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}, \qquad
      \frac{\partial}{\partial x} = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases},
      \qquad \frac{\partial}{\partial a} = \begin{cases} 0 & x > 0 \\ x & x \le 0 \end{cases}

    ``slope`` broadcasts against ``x`` with NumPy rules, so a ``(C,)`` slope applies per
    channel to channels-last inputs ``(..., C)`` (JAX's layout; PyTorch's ``PReLU`` uses
    channel axis 1). Kink: :math:`\mathrm{prelu}'(0) = a`, as in PyTorch.

    Args:
      x: input array.
      slope: the learnable slope :math:`a`, broadcastable against ``x``.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.prelu(jnp.array([[-1.0, -1.0], [2.0, 2.0]]), jnp.array([0.1, 0.3]))
      Array([[-0.1, -0.3],
             [ 2. ,  2. ]], dtype=float32)
    """
    return _prelu(x, slope)


_prelu = activation(_leaky_relu_formula, derivative=_leaky_relu_derivative, name="prelu")


def prelu_derivative(x: ArrayLike, slope: ArrayLike) -> Array:
    return _prelu.derivative(x, slope)


# --------------------------------------------------------------------------- hard functions


def _hard_sigmoid_derivative(x: Array) -> Select:
    return Select((x > -3) & (x < 3), 1 / 6, 0.0)


@activation(derivative=_hard_sigmoid_derivative)
def hard_sigmoid(x: ArrayLike) -> Array:
    r"""Hard sigmoid.

    .. math::
      \mathrm{hard\_sigmoid}(x) = \frac{\mathrm{relu6}(x + 3)}{6}, \qquad
      \mathrm{hard\_sigmoid}'(x) = \begin{cases} 1/6 & -3 < x < 3 \\ 0 & \text{otherwise}
      \end{cases}

    Kinks: the derivative is 0 at :math:`\pm 3`, as in PyTorch. Reverse mode keeps only a
    boolean mask.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.hard_sigmoid(jnp.array([-4.0, 0.0, 1.5, 4.0]))
      Array([0.  , 0.5 , 0.75, 1.  ], dtype=float32)
    """
    return jnp.minimum(jnp.maximum(jnp.asarray(x) + 3, 0), 6) / 6


def _hard_silu_derivative(x: Array) -> Array:
    return jnp.where(x <= -3, 0, jnp.where(x < 3, (2 * x + 3) / 6, 1))


@activation(derivative=_hard_silu_derivative)
def hard_silu(x: ArrayLike) -> Array:
    r"""Hard SiLU / hard swish.

    .. math::
      \mathrm{hard\_silu}(x) = x\,\frac{\mathrm{relu6}(x + 3)}{6}, \qquad
      \mathrm{hard\_silu}'(x) = \begin{cases} 0 & x \le -3 \\ (2x + 3)/6 & -3 < x < 3 \\
      1 & x \ge 3 \end{cases}

    Kinks: :math:`\mathrm{hard\_silu}'(-3) = 0` and :math:`\mathrm{hard\_silu}'(3) = 1`, as in
    PyTorch's ``hardswish``. :math:`(2x + 3)/6` is exact where it crosses 0 (:math:`x/3 +
    1/2` is not).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.hard_silu(jnp.array([-4.0, -1.5, 0.0, 1.5, 4.0]))
      Array([ 0.   , -0.375,  0.   ,  1.125,  4.   ], dtype=float32)
    """
    x = jnp.asarray(x)
    return _xmul(x, jnp.minimum(jnp.maximum(x + 3, 0), 6) / 6)


hard_swish = hard_silu


def _hard_tanh_derivative(
    x: Array, min_val: Array, max_val: Array
) -> tuple[Select, Select, Select]:
    return (
        Select((x > min_val) & (x < max_val), 1.0, 0.0),
        Select(x <= min_val, 1.0, 0.0),
        Select(x >= max_val, 1.0, 0.0),
    )


@activation(derivative=_hard_tanh_derivative)
def hard_tanh(x: ArrayLike, min_val: ArrayLike = -1.0, max_val: ArrayLike = 1.0) -> Array:
    r"""Hard tanh, with PyTorch's optional ``min_val`` and ``max_val``.

    .. math::
      \mathrm{hard\_tanh}(x) = \min(\max(x, a), b), \qquad
      \frac{\partial}{\partial x} = \begin{cases} 1 & a < x < b \\ 0 & \text{otherwise}
      \end{cases}

    with :math:`\partial/\partial a = 1` for :math:`x \le a` and :math:`\partial/\partial b =
    1` for :math:`x \ge b` (the bounds are differentiable; at a bound the three partials
    still add up to 1). Kinks: the derivative is 0 at :math:`x = a` and :math:`x = b`
    (:math:`\pm 1` by default), as in PyTorch. Reverse mode keeps only a boolean mask when
    the bounds are constants.

    Args:
      x: input array.
      min_val: lower bound :math:`a` (default -1).
      max_val: upper bound :math:`b` (default 1).

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.hard_tanh(jnp.array([-2.0, 0.5, 2.0]))
      Array([-1. ,  0.5,  1. ], dtype=float32)
      >>> jaxact.hard_tanh(jnp.array([-2.0, 0.5, 2.0]), 0.0, 1.0)
      Array([0. , 0.5, 1. ], dtype=float32)
    """
    return jnp.minimum(jnp.maximum(jnp.asarray(x), min_val), max_val)


# --------------------------------------------------------------------------- tanh family


def _tanh_derivative(x: Array) -> Array:
    return _dtanh(x)


@activation(derivative=_tanh_derivative)
def tanh(x: ArrayLike) -> Array:
    r"""Hyperbolic tangent.

    .. math::
      \tanh(x) = \frac{e^x - e^{-x}}{e^x + e^{-x}}, \qquad
      \tanh'(x) = \mathrm{sech}^2(x) = 4\,\sigma(2x)\,\sigma(-2x).

    The derivative is evaluated in the last form, which keeps full relative precision in
    the tails (``1 - tanh(x)**2``, as ``jax.numpy`` computes it, is 0 beyond :math:`|x|
    \approx 9` in float32).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.tanh(jnp.array([-1.0, 0.0, 1.0]))
      Array([-0.7615942,  0.       ,  0.7615942], dtype=float32)
      >>> jax.grad(jaxact.tanh)(10.0)
      Array(8.244615e-09, dtype=float32, weak_type=True)
    """
    # XLA's tanh is within 4 ulps in float32 (3.97 measured) and within half an ulp in
    # 16-bit after rounding; the derivative is the part jax.nn gets wrong.
    return jnp.tanh(jnp.asarray(x))


# Taylor coefficients of x - tanh(x) = sum_k c_k x^(2k+3), k = 0, 1, ... (from Bernoulli
# numbers, computed with mpmath). 22 terms reach float32 precision for |x| < 1; float64
# uses all 46.
_TANH_SHRINK_SERIES = (
    0.3333333333333333,
    -0.13333333333333333,
    0.05396825396825397,
    -0.021869488536155203,
    0.008863235529902197,
    -0.003592128036572481,
    0.0014558343870513183,
    -0.000590027440945586,
    0.00023912911424355248,
    -9.691537956929451e-05,
    3.927832388331683e-05,
    -1.5918905069328964e-05,
    6.451689215655431e-06,
    -2.6147711512907546e-06,
    1.0597268320104654e-06,
    -4.294911078273806e-07,
    1.7406618963571648e-07,
    -7.054636946400968e-08,
    2.859136662305254e-08,
    -1.1587644432798853e-08,
    4.6962953982309016e-09,
    -1.903336833931276e-09,
    7.713933635359062e-10,
    -3.126339545892087e-10,
    1.26705769303054e-10,
    -5.135191408039368e-11,
    2.0812146867700473e-11,
    -8.434845419094337e-12,
    3.4185140868111557e-12,
    -1.385471574294847e-12,
    5.61510479241468e-13,
    -2.2757162553728747e-13,
    9.223130585139532e-14,
    -3.737994031096739e-14,
    1.5149519187148606e-14,
    -6.139868862616814e-15,
    2.488395122276279e-15,
    -1.0085085566354096e-15,
    4.087331226869014e-16,
    -1.6565329513786285e-16,
    6.713675175048712e-17,
    -2.7209500613044588e-17,
    1.102759523372237e-17,
    -4.4693160072374125e-18,
    1.8113455516997665e-18,
    -7.3411070113401475e-19,
)


def _tanh_shrink_small(x: Array) -> Array:
    n = 22 if jnp.finfo(x.dtype).bits <= 32 else len(_TANH_SHRINK_SERIES)
    x2 = jnp.square(x)
    acc = jnp.zeros_like(x)
    for c in reversed(_TANH_SHRINK_SERIES[:n]):
        acc = acc * x2 + c
    return acc * x2 * x


def _tanh_shrink_derivative(x: Array) -> Array:
    # tanh^2 doubles tanh's error, so tanh comes from x - (x - tanh x) (series) near 0.
    small = _abs(x) < 0.55
    t = jnp.where(small, x - _tanh_shrink_small(jnp.where(small, x, 0)), _tanh(x))
    return jnp.square(t)


@activation(derivative=_tanh_shrink_derivative)
def tanh_shrink(x: ArrayLike) -> Array:
    r"""Tanh shrink.

    .. math::
      \mathrm{tanh\_shrink}(x) = x - \tanh(x), \qquad
      \mathrm{tanh\_shrink}'(x) = \tanh^2(x).

    Evaluated without cancellation: by its Taylor series for :math:`|x| < 1` (where
    :math:`x - \tanh x \approx x^3/3`) and as :math:`(|x| - 1) + 2\sigma(-2|x|)` beyond (two
    non-negative terms).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.tanh_shrink(jnp.array([-2.0, 0.001, 2.0]))
      Array([-1.0359725e+00,  3.3333325e-10,  1.0359725e+00], dtype=float32)
    """
    x = jnp.asarray(x)
    a = _abs(x)
    small = a < 1
    series = _tanh_shrink_small(jnp.where(small, x, 0))
    big = jnp.copysign((a - 1) + 2 * _sig(-2 * a), x)
    return jnp.where(small, series, big)


def _soft_sign_derivative(x: Array) -> Array:
    return jnp.square(1 / (1 + _abs(x)))


@activation(derivative=_soft_sign_derivative)
def soft_sign(x: ArrayLike) -> Array:
    r"""Soft sign.

    .. math::
      \mathrm{soft\_sign}(x) = \frac{x}{1 + |x|}, \qquad
      \mathrm{soft\_sign}'(x) = \frac{1}{(1 + |x|)^2}.

    :math:`\pm\infty` maps to :math:`\pm 1` (``jax.nn.soft_sign`` gives NaN). The second
    derivative jumps at 0 (+2 on the left, -2 on the right); we take the left value.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.soft_sign(jnp.array([-jnp.inf, -1.0, 0.0, 3.0]))
      Array([-1.  , -0.5 ,  0.  ,  0.75], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(jnp.isinf(x), jnp.sign(x), x / (1 + jnp.abs(x)))


def _sqrt_x2_b(x: Array, b: Array) -> Array:
    """sqrt(x^2 + b) to half an ulp or so, without overflow for huge |x|."""
    big = _abs(x) > 1e18
    xs = jnp.where(big, 1, x)
    xb = jnp.where(big, x, 1)
    return jnp.where(big, _abs(xb) * jnp.sqrt(1 + b / jnp.square(xb)), jnp.sqrt(xs * xs + b))


def _squareplus_derivative(x: Array, b: Array) -> tuple[Array, Array]:
    r = _sqrt_x2_b(x, b)
    pos = x > 1
    xp = jnp.where(pos, x, 1)
    # x > 1: (1 + x/r)/2, with x/r = 1/sqrt(1 + b/x^2) (1 at x = inf).
    # x < -1: (r + x)/(2r) = b/(2r(r - x)), no cancellation; between, (1 + x/r)/2.
    dpos = (1 + 1 / jnp.sqrt(1 + b / jnp.square(xp))) / 2
    dneg = jnp.where(x >= -1, (1 + x / r) / 2, (b / (2 * r)) / (r - x))
    # Far left it is b / (4x^2), formed as a square so no intermediate leaves the range.
    far = x < -1e15
    dfar = jnp.square(0.5 * jnp.sqrt(b) / jnp.where(far, x, -1))
    return jnp.where(pos, dpos, jnp.where(far, dfar, dneg)), 1 / (4 * r)


@activation(derivative=_squareplus_derivative)
def squareplus(x: ArrayLike, b: ArrayLike = 4) -> Array:
    r"""Squareplus.

    .. math::
      \mathrm{squareplus}(x) = \frac{x + \sqrt{x^2 + b}}{2}, \qquad
      \frac{\partial}{\partial x} = \frac12\left(1 + \frac{x}{\sqrt{x^2 + b}}\right), \qquad
      \frac{\partial}{\partial b} = \frac{1}{4\sqrt{x^2 + b}}.

    For :math:`x < 0` it is evaluated as :math:`b / (2(\sqrt{x^2+b} - x))` (no cancellation),
    and :math:`\sqrt{x^2 + b}` without overflow, so it is finite and accurate at
    :math:`\pm 10^{30}` and has its limits at :math:`\pm\infty` (``jax.nn`` gives NaN at
    :math:`-\infty`). ``b`` is differentiable.

    Args:
      x: input array.
      b: smoothness :math:`b > 0` (default 4).

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.squareplus(jnp.array([-1e30, 0.0, 1.0]))
      Array([1.000000e-30, 1.000000e+00, 1.618034e+00], dtype=float32)
    """
    x = jnp.asarray(x)
    r = _sqrt_x2_b(x, jnp.asarray(b))
    return jnp.where(x >= 0, x / 2 + r / 2, (b / 2) / (r - x))


# --------------------------------------------------------------------------- sparse


def _sparse_plus_derivative(x: Array) -> Array:
    return jnp.where(x <= -1, 0, jnp.where(x >= 1, 1, (x + 1) / 2))


@activation(derivative=_sparse_plus_derivative)
def sparse_plus(x: ArrayLike) -> Array:
    r"""Sparse plus.

    .. math::
      \mathrm{sparse\_plus}(x) = \begin{cases} 0 & x \le -1 \\ (x+1)^2/4 & -1 < x < 1 \\
      x & x \ge 1 \end{cases}, \qquad
      \mathrm{sparse\_plus}'(x) = \mathrm{sparse\_sigmoid}(x).

    The derivative is continuous; the second derivative jumps at :math:`\pm 1` and we take
    the outer values (0 at both). Finite at :math:`\pm\infty` (``jax.nn``'s gradient is NaN).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.sparse_plus(jnp.array([-2.0, 0.0, 0.5, 2.0]))
      Array([0.    , 0.25  , 0.5625, 2.    ], dtype=float32)
    """
    x = jnp.asarray(x)
    mid = jnp.where(x >= 1, 0, x)  # NaN passes through
    return jnp.where(x <= -1, 0, jnp.where(x >= 1, x, jnp.square(mid + 1) / 4))


def _sparse_sigmoid_derivative(x: Array) -> Select:
    return Select((x > -1) & (x < 1), 0.5, 0.0)


@activation(derivative=_sparse_sigmoid_derivative)
def sparse_sigmoid(x: ArrayLike) -> Array:
    r"""Sparse sigmoid (the derivative of :func:`sparse_plus`; sparsemax of ``[x, 0]``).

    .. math::
      \mathrm{sparse\_sigmoid}(x) = \begin{cases} 0 & x \le -1 \\ (x+1)/2 & -1 < x < 1 \\
      1 & x \ge 1 \end{cases}, \qquad
      \mathrm{sparse\_sigmoid}'(x) = \begin{cases} 1/2 & -1 < x < 1 \\ 0 & \text{otherwise}
      \end{cases}

    Kinks: the derivative is 0 at :math:`\pm 1` (the closed outer pieces), as ``jax.nn``
    and :func:`sparsemax` give. Reverse mode keeps only a boolean mask.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.sparse_sigmoid(jnp.array([-2.0, 0.0, 0.5, 2.0]))
      Array([0.  , 0.5 , 0.75, 1.  ], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(x <= -1, 0, jnp.where(x >= 1, 1, (x + 1) / 2))


# --------------------------------------------------------------------------- shrinks


def _hard_shrink_derivative(x: Array, lambd: Array) -> tuple[Select, Select]:
    # The value jumps at +-lambda, so d/dlambda is 0 almost everywhere.
    return Select(jnp.abs(x) > lambd, 1.0, 0.0), Select(x > lambd, 0.0, 0.0)


@activation(derivative=_hard_shrink_derivative)
def hard_shrink(x: ArrayLike, lambd: ArrayLike = 0.5) -> Array:
    r"""Hard shrinkage (PyTorch's ``Hardshrink``).

    .. math::
      \mathrm{hard\_shrink}(x) = \begin{cases} x & |x| > \lambda \\ 0 & |x| \le \lambda
      \end{cases}, \qquad
      \mathrm{hard\_shrink}'(x) = \begin{cases} 1 & |x| > \lambda \\ 0 & |x| \le \lambda
      \end{cases}

    Kinks: the derivative is 0 at :math:`\pm\lambda`, as in PyTorch. The derivative with
    respect to :math:`\lambda` is 0 (the function jumps there: its true derivative is a
    Dirac mass, which no gradient can carry). Reverse mode keeps only a boolean mask.

    Args:
      x: input array.
      lambd: threshold :math:`\lambda \ge 0` (default 0.5).

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.hard_shrink(jnp.array([-1.0, -0.5, 0.2, 0.7]))
      Array([-1. ,  0. ,  0. ,  0.7], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(jnp.abs(x) <= lambd, 0, x)


def _soft_shrink_derivative(x: Array, lambd: Array) -> tuple[Select, Array]:
    return (
        Select(jnp.abs(x) > lambd, 1.0, 0.0),
        jnp.where(x > lambd, -1.0, jnp.where(x < -lambd, 1.0, 0.0)),
    )


@activation(derivative=_soft_shrink_derivative)
def soft_shrink(x: ArrayLike, lambd: ArrayLike = 0.5) -> Array:
    r"""Soft shrinkage (PyTorch's ``Softshrink``).

    .. math::
      \mathrm{soft\_shrink}(x) = \begin{cases} x - \lambda & x > \lambda \\
      x + \lambda & x < -\lambda \\ 0 & \text{otherwise} \end{cases}, \qquad
      \mathrm{soft\_shrink}'(x) = \begin{cases} 1 & |x| > \lambda \\ 0 & |x| \le \lambda
      \end{cases}

    and :math:`\partial/\partial\lambda = -\mathrm{sign}(x)` for :math:`|x| > \lambda`, else 0.
    Kinks: the derivative is 0 at :math:`\pm\lambda`, as in PyTorch. Reverse mode keeps only
    a boolean mask when :math:`\lambda` is a constant.

    Args:
      x: input array.
      lambd: threshold :math:`\lambda \ge 0` (default 0.5), differentiable.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.soft_shrink(jnp.array([-1.0, 0.2, 0.75]))
      Array([-0.5 ,  0.  ,  0.25], dtype=float32)
    """
    x = jnp.asarray(x)
    lam = jnp.asarray(lambd)
    return jnp.where(x > lam, x - lam, jnp.where(x < -lam, x + lam, x * 0))


def _threshold_derivative(
    x: Array, threshold: Array, value: Array
) -> tuple[Select, Select, Select]:
    return (
        Select(x > threshold, 1.0, 0.0),
        Select(x > threshold, 0.0, 0.0),
        Select(x > threshold, 0.0, 1.0),
    )


@activation(derivative=_threshold_derivative)
def threshold(x: ArrayLike, threshold: ArrayLike, value: ArrayLike) -> Array:
    r"""Threshold (PyTorch's ``Threshold``): keep ``x`` above ``threshold``, else ``value``.

    .. math::
      \mathrm{threshold}(x) = \begin{cases} x & x > t \\ v & x \le t \end{cases}, \qquad
      \frac{\partial}{\partial x} = \begin{cases} 1 & x > t \\ 0 & x \le t \end{cases},
      \qquad \frac{\partial}{\partial v} = \begin{cases} 0 & x > t \\ 1 & x \le t \end{cases}

    Kink: the derivative is 0 at the threshold, as in PyTorch. The derivative with respect
    to :math:`t` is 0 (the function jumps there). Reverse mode keeps only a boolean mask.

    Args:
      x: input array.
      threshold: the threshold :math:`t`.
      value: the replacement :math:`v`, differentiable.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.threshold(jnp.array([-1.0, 0.5, 2.0]), 0.5, -9.0)
      Array([-9., -9.,  2.], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(x <= threshold, value, x)


# --------------------------------------------------------------------------- misc


def _identity_derivative(x: Array) -> Select:
    return Select(x == x, 1.0, 1.0)


@activation(derivative=_identity_derivative)
def identity(x: ArrayLike) -> Array:
    r"""Identity.

    .. math:: \mathrm{identity}(x) = x, \qquad \mathrm{identity}'(x) = 1.

    Reverse mode keeps nothing.

    Args:
      x: input array.

    Returns:
      ``x`` as an array of its floating dtype.

    Examples:
      >>> jaxact.identity(jnp.array([-1.0, 2.0]))
      Array([-1.,  2.], dtype=float32)
    """
    return jnp.asarray(x)


def _log1mexp_derivative(x: Array) -> Array:
    # NaN outside the domain (x < 0), like the value.
    return jnp.where(x < 0, jnp.nan, jnp.where(x == 0, jnp.inf, 1 / _expm1(x)))


@activation(derivative=_log1mexp_derivative)
def log1mexp(x: ArrayLike) -> Array:
    r"""Numerically stable :math:`\log(1 - e^{-x})`, for :math:`x \ge 0`.

    .. math::
      \mathrm{log1mexp}(x) = \log(1 - e^{-x}), \qquad
      \mathrm{log1mexp}'(x) = \frac{1}{e^x - 1}.

    Evaluated as :math:`\log(-\mathrm{expm1}(-x))` for :math:`x < \ln 2` and
    :math:`\mathrm{log1p}(-e^{-x})` beyond (Mächler 2012). :math:`x = 0` gives
    :math:`-\infty` and derivative :math:`+\infty`; :math:`x < 0` gives NaN (outside the
    domain), as in ``jax.nn``.

    Args:
      x: input array, :math:`x \ge 0`.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.log1mexp(jnp.array([0.001, 1.0, 50.0]))
      Array([-6.9082551e+00, -4.5867515e-01, -1.9287499e-22], dtype=float32)
    """
    x = jnp.asarray(x)
    near = x < 0.6931471805599453
    return jnp.where(
        near,
        jnp.log(-_expm1(-jnp.where(near, x, 1))),
        jnp.log1p(-jnp.exp(-jnp.where(near, 1, x))),
    )


# --------------------------------------------------------------------------- glu


def _glu_derivative(a: Array, b: Array) -> tuple[Array, Array]:
    # a sigma'(b) = a e / (1 + e)^2, e = e^-|b| scaled (see ``_exps``) so the product stays
    # normal where sigma'(b) alone would not; the divide is used once (one fused loop).
    m, s = _exps(jnp.where(b < 0, b, -b))
    return _sig(b), _xmul(a, m) / jnp.square(1 + m * s) * s


def _glu_formula(a: Array, b: Array) -> Array:
    return _x_sig(a, b)


_glu = activation(_glu_formula, derivative=_glu_derivative, name="glu")


def glu(x: ArrayLike, axis: int = -1) -> Array:
    r"""Gated linear unit: split ``x`` in halves :math:`a, b` along ``axis``.

    .. math::
      \mathrm{glu}(x) = a \odot \sigma(b), \qquad
      \frac{\partial}{\partial a} = \sigma(b), \qquad
      \frac{\partial}{\partial b} = a\,\sigma(b)\,\sigma(-b).

    Built with :func:`jaxact.activation` (``b`` as a parameter of ``a``), so the
    derivatives keep full precision in the tails. Reverse mode keeps two half-size arrays
    (one input's worth).

    Args:
      x: input array; its ``axis`` dimension must be even.
      axis: the axis to split (a single int).

    Returns:
      An array of the dtype of ``x`` with the ``axis`` dimension halved.

    Examples:
      >>> jaxact.glu(jnp.array([1.0, 2.0, 0.0, 100.0]))
      Array([0.5, 2. ], dtype=float32)
    """

    xa = as_float_array("glu", x)
    ax = single_axis("glu", axis, xa.ndim)
    if xa.shape[ax] % 2:
        raise ValueError(f"glu: axis {axis} has odd size {xa.shape[ax]}; it must split in halves")
    a, b = jnp.split(xa, 2, axis=ax)
    return _glu(a, b)


def glu_jvp(x: ArrayLike, tangent: ArrayLike, axis: int = -1) -> Array:
    r"""The JVP of :func:`glu`: :math:`\sigma(b)\,\dot a + a\,\sigma(b)\sigma(-b)\,\dot b`.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`glu`.

    Returns:
      The output tangent, of the shape of ``glu(x)``.

    Examples:
      >>> jaxact.derivatives.glu_jvp(jnp.array([2.0, 0.0]), jnp.array([1.0, 1.0]))
      Array([1.], dtype=float32)
    """
    from jaxact._src.softmax import _public_jvp

    return _public_jvp("glu_jvp", glu, x, tangent, axis=axis)
