"""The tanh family: tanh, tanh_shrink, soft_sign, squareplus, and identity."""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxact._src import constants as C
from jaxact._src import kernels as K
from jaxact._src.core import Select, activation
from jaxact._src.facts import Kink

# tanh_shrink's Taylor series is used for |x| < 1 (x - tanh x ~ x^3/3 cancels there); 22 of
# its terms reach float32 precision at |x| = 1, all 46 float64's.
TANH_SHRINK_SERIES_MAX = 1.0
TANH_SHRINK_TERMS_F32 = 22
# squareplus' far left: below -1e15, b/(4x^2) is formed as a square so no intermediate
# leaves the float32 range (x^2 would overflow at -1.8e19).
SQUAREPLUS_FAR = -1e15


def _tanh_derivative(x: Array) -> Array:
    return K.dtanh(x)


@activation(derivative=_tanh_derivative, jax_nn="tanh")
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


def _tanh_shrink_small(x: Array) -> Array:
    n = TANH_SHRINK_TERMS_F32 if K.is_f32(x) else len(C.TANH_SHRINK_SERIES)
    x2 = jnp.square(x)
    acc = jnp.zeros_like(x)
    for c in reversed(C.TANH_SHRINK_SERIES[:n]):
        acc = acc * x2 + c
    return acc * x2 * x


def _tanh_shrink_derivative(x: Array) -> Array:
    # tanh^2 doubles tanh's error, so tanh comes from x - (x - tanh x) (series) near 0.
    small = K.abs_(x) < K.TANH_SMALL
    t = jnp.where(small, x - _tanh_shrink_small(jnp.where(small, x, 0)), K.tanh(x))
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
    a = K.abs_(x)
    small = a < TANH_SHRINK_SERIES_MAX
    series = _tanh_shrink_small(jnp.where(small, x, 0))
    big = jnp.copysign((a - 1) + 2 * K.sig(-2 * a), x)
    return jnp.where(small, series, big)


def _soft_sign_derivative(x: Array) -> Array:
    return jnp.square(1 / (1 + K.abs_(x)))


@activation(
    derivative=_soft_sign_derivative,
    kinks=(Kink("0", d2="2", note="left side"),),
    jax_nn="soft_sign",
)
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


def _squareplus_derivative(x: Array, b: Array) -> tuple[Array, Array]:
    r = K.sqrt_x2_b(x, b)
    pos = x > 1
    xp = jnp.where(pos, x, 1)
    # x > 1: (1 + x/r)/2, with x/r = 1/sqrt(1 + b/x^2) (1 at x = inf).
    # x < -1: (r + x)/(2r) = b/(2r(r - x)), no cancellation; between, (1 + x/r)/2.
    dpos = (1 + 1 / jnp.sqrt(1 + b / jnp.square(xp))) / 2
    dneg = jnp.where(x >= -1, (1 + x / r) / 2, b / ((2 * r) * (r - x)))
    # Far left it is b / (4x^2), formed as a square so no intermediate leaves the range.
    far = x < SQUAREPLUS_FAR
    dfar = jnp.square(0.5 * jnp.sqrt(b) / jnp.where(far, x, -1))
    return jnp.where(pos, dpos, jnp.where(far, dfar, dneg)), 1 / (4 * r)


@activation(
    derivative=_squareplus_derivative,
    jax_nn="squareplus",
    reference="Barron 2021",
    check=lambda b: f"`b` must be >= 0, got {b}" if (b < 0).any() else None,
    valid=lambda b: b >= 0,
)
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
    r = K.sqrt_x2_b(x, jnp.asarray(b))
    # (b / 4) / ((r - x) / 2): r - x alone overflows for x below -max / 2
    return jnp.where(x >= 0, x / 2 + r / 2, (b * 0.25) / (r * 0.5 - x * 0.5))


def _identity_derivative(x: Array) -> Select:
    return Select(x == x, 1.0, 1.0)


@activation(derivative=_identity_derivative, residual="none", jax_nn="identity")
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
