"""Exponential units: elu, celu, selu, xielu, and log1mexp."""

from __future__ import annotations

import functools

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxact._src import constants as C
from jaxact._src import kernels as K
from jaxact._src.core import activation
from jaxact._src.facts import Kink

# celu: below |x/alpha| = CELU_LINEAR, alpha (e^(x/alpha) - 1) = x to float64 precision (the
# next term, x^2/(2 alpha), is 5e-11 of it); there x itself avoids a flushed subnormal.
CELU_LINEAR = 1e-10
# xielu: above -1/2 the value is alpha_n (e^x - 1 - x) + beta x by its series; at or below
# it, alpha_n e^x - alpha_n + (beta - alpha_n) x has no cancellation (e^x <= 0.61).
XIELU_SERIES_MIN = -0.5
# Half-widths of the Taylor windows at the zeros of xielu's value (-2.43) and derivative
# (-0.98) at its default parameters: the direct formulas cancel over a wide band around them
# (every float32 input within 4 ulps with these; degree 15 is exact to ~1e-12 over them).
XIELU_VALUE_WINDOW = 1.4
XIELU_SLOPE_WINDOW = 0.9


def _elu_derivative(x: Array, alpha: Array) -> tuple[Array, Array]:
    xn = jnp.where(x > 0, 0, x)
    m, s = K.exps(xn)
    return jnp.where(x > 0, 1, (alpha * m) * s), jnp.where(x > 0, 0, jnp.expm1(xn))


@activation(
    derivative=_elu_derivative,
    kinks=(Kink("0", d1="alpha", d2="alpha", note="left side, as PyTorch"),),
    jax_nn="elu",
    reference="Clevert et al. 2015",
)
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
    return jnp.where(x > 0, x, alpha * K.expm1(jnp.where(x > 0, 0, x)))


def _celu_derivative(x: Array, alpha: Array | float) -> tuple[Array, Array]:
    xn = jnp.where(x > 0, 0, x)
    u = xn / alpha
    eu = jnp.exp(u)
    d_alpha = jnp.where(x > 0, 0, jnp.expm1(u) - K.xmul(u, eu))
    if isinstance(alpha, int | float) and alpha == 1:  # the default: x / 1 is exact
        return jnp.where(x > 0, 1, eu), d_alpha
    # e^(x / alpha) with the rounding of the quotient taken in (float32): e^u is |u| / 2
    # ulps off otherwise (80 float32 ulps for alpha 0.375)
    lo = K.quotient_error(xn, u, jnp.asarray(alpha))
    return jnp.where(x > 0, 1, eu if lo is None else eu + eu * lo), d_alpha


def _celu_negative(x: Array, alpha: Array) -> Array:
    """alpha (e^(x/alpha) - 1) for x <= 0; x itself once x/alpha is too small to matter
    (it would be a flushed subnormal for the tiniest x)."""
    u = x / alpha
    return jnp.where(K.abs_(u) < CELU_LINEAR, x, alpha * K.expm1(u))


@activation(
    derivative=_celu_derivative,
    check=lambda alpha: "`alpha` must be nonzero" if (alpha == 0).any() else None,
    valid=lambda alpha: alpha != 0,
    kinks=(
        Kink(
            "0", d1="1", d2="1/alpha", note="left side; jax.nn: a tie-split mix, 0.25 at alpha = 1"
        ),
    ),
    jax_nn="celu",
    reference="Barron 2017",
)
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


C.SELU_SCALE = 1.0507009873554804934193349852946
C.SELU_SCALE_ALPHA = 1.7580993408473768  # the product, rounded once


def _selu_derivative(x: Array) -> Array:
    m, s = K.exps(jnp.where(x > 0, 0, x))
    return jnp.where(x > 0, C.SELU_SCALE, (C.SELU_SCALE_ALPHA * m) * s)


@activation(
    derivative=_selu_derivative,
    kinks=(Kink("0", d1="lambda_alpha", d2="lambda_alpha", note="left side, as PyTorch"),),
    symbols={"lambda_alpha": C.SELU_SCALE_ALPHA},
    jax_nn="selu",
    reference="Klambauer et al. 2017",
)
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
    return jnp.where(x > 0, C.SELU_SCALE * x, C.SELU_SCALE_ALPHA * K.expm1(jnp.where(x > 0, 0, x)))


def _xielu_derivative(
    x: Array, alpha_p: Array, alpha_n: Array, beta: Array
) -> tuple[Array, Array, Array, Array]:
    pos = x > 0
    xp = jnp.where(pos, x, 0)
    xn = jnp.where(pos, 0, x)
    dx = jnp.where(pos, 2 * alpha_p * xp + beta, alpha_n * K.expm1(xn) + beta)
    dx = _xielu_default_window(x, alpha_n, beta, C.ROOT_XIELU, XIELU_SLOPE_WINDOW, dx)
    return dx, xp * xp, jnp.where(pos, 0, K.expm1_minus_x(xn)), x


def _xielu_default_window(
    x: Array, alpha_n: Array, beta: Array, root: C.Root, window: float, direct: Array
) -> Array:
    """``direct``, or near the zero ``root`` of the value or derivative at xielu's default
    parameters (alpha_n = float32(0.8), beta = 0.5), its Taylor polynomial (float32). At
    other parameters the zeros move and ``direct``'s terms cancel there (see xielu's
    docstring)."""
    if x.dtype != jnp.float32:
        return direct
    # (as float32 numbers: a default left out of the call is the Python number 0.8)
    f32 = functools.partial(jnp.asarray, dtype=x.dtype)
    default = (f32(alpha_n) == f32(C.XIELU_ALPHA)) & (f32(beta) == 0.5)
    return jnp.where(default, K.near_root(x, root, direct, window=window), direct)


@activation(
    derivative=_xielu_derivative,
    kinks=(Kink("0", d1="beta", d2="alpha_n", note="left side"),),
    reference="Huang & Schlag 2025 (Apertus)",
)
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
    near 0 is needed. In float32 at the default parameters the value and derivative are
    within 4 ulps everywhere, their zeros (x = -2.43, -0.98) included (Taylor windows); at
    other parameters the zeros move, and within ~1 of them the error grows as the terms
    cancel (absolute error a few float32 eps, relative unbounded at the zero itself).

    Args:
      x: input array.
      alpha_p: positive-side curvature (default 0.8), differentiable.
      alpha_n: negative-side scale (default 0.8), differentiable.
      beta: linear coefficient (default 0.5), differentiable.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.xielu(jnp.array([-1.0, 0.0, 1.0]))
      Array([-0.20569643,  0.        ,  1.3       ], dtype=float32)
    """
    x = jnp.asarray(x)
    pos = x > 0
    xp = jnp.where(pos, x, 0)
    xn = jnp.where(pos, 0, x)
    # For x <= -1/2, alpha_n e^x - alpha_n + (beta - alpha_n) x has no cancellation and no
    # inf - inf at x = -inf; nearer 0 the grouped series form is exact.
    # (One e^x - 1 in all: each expensive op used once keeps XLA's CPU fusion to one pass.)
    near = xn > XIELU_SERIES_MIN
    xs = jnp.where(near, xn, 0)
    xl = jnp.where(near, -1, xn)
    neg = jnp.where(
        near,
        alpha_n * K.expm1_minus_x_series(xs) + beta * xn,
        alpha_n * jnp.expm1(xl) + (jnp.asarray(beta) - jnp.asarray(alpha_n)) * xn,
    )
    out = jnp.where(pos, (alpha_p * xp) * xp + beta * xp, neg)
    return _xielu_default_window(
        x, jnp.asarray(alpha_n), jnp.asarray(beta), C.ZERO_XIELU, XIELU_VALUE_WINDOW, out
    )


def _log1mexp_derivative(x: Array) -> Array:
    # NaN outside the domain (x < 0), like the value.
    return jnp.where(x < 0, jnp.nan, jnp.where(x == 0, jnp.inf, 1 / K.expm1(x)))


@activation(
    derivative=_log1mexp_derivative,
    jax_nn="log1mexp",
    reference="Mächler 2012",
    support=(0.0, float("inf")),
)
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
    # No guards inside the branches: for x >= 0 neither produces NaN where it is not taken
    # (log1p(-1) = -inf at 0, log(1) = 0 at +inf), and the derivative is its own rule.
    # (The guards, two selects per element, cost ~4% of the forward's time.)
    x = jnp.asarray(x)
    return jnp.where(x < C.LN2, jnp.log(-K.expm1(-x)), jnp.log1p(-jnp.exp(-x)))
