"""GELU, in its tanh form (the default, as in ``jax.nn``) and its exact erf form."""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

from jaxact._src import constants as C
from jaxact._src import kernels as K
from jaxact._src.arrays import flag, narrow_input
from jaxact._src.core import activation

# Beyond |x| = GELU_FAR every term of gelu' that carries a Gaussian factor is below float64's
# smallest subnormal (e^-450), so it is computed at a safe point and replaced by 0.
GELU_FAR = 30.0


def gelu_tanh_arg(x: Array, *, exact: bool = False, value: bool = True) -> K.CubicArg:
    """The tanh form's sigmoid argument 2z = x (K1 + K2 x^2): with ``exact`` (geglu's gate)
    for a float32 input :func:`~jaxact._src.kernels.cubic_arg`'s pair (z and its rounding
    error, so that e^(2z) is not |2z| ulps off; for a derivative, ``value=False``, also
    K2 x^3's pair); else rounded, with no error term (a 16-bit result cannot see it)."""
    if exact and x.dtype == jnp.float32 and not narrow_input():  # not for 16-bit results
        return K.cubic_arg(C.GELU_K1, C.GELU_K2, x, value=value, cube=not value)
    return K.CubicArg(x * (C.GELU_K1 + C.GELU_K2 * jnp.square(x)), None)


def gelu_derivative(x: Array, approximate: bool = True, *, arg: K.CubicArg | None = None) -> Array:
    """gelu'(x) (tanh or erf form) on compute-dtype arrays; also geglu's gate derivative
    (``arg``: the tanh form's argument from :func:`gelu_tanh_arg`)."""
    near = K.abs_(x) < GELU_FAR
    xs = jnp.where(near, x, 0)
    if approximate:
        z, lo, cube_hi, cube_lo = arg if arg is not None else gelu_tanh_arg(x, value=False)
        if lo is None or cube_hi is None or cube_lo is None:  # gelu: z rounded
            sg = K.Sig(z)
            dz = C.GELU_K1 + 3 * C.GELU_K2 * jnp.square(xs)
            term = jnp.where(near, xs * dz * sg.b, 0)
            direct = jnp.where(sg.neg, (sg.a + term) * sg.sb, sg.a + term * sg.sb)
            return K.near_root(x, C.ROOT_GELU_TANH, direct)
        # geglu's gate, z exact (float32): sigma(z) (1 + x z' sigma(-z)) with e = e^-|z|
        # (scaled: m s) and x z' = K1 x + 3 K2 x^3 = z + 2 K2 x^3: for z < 0
        # m ((1 + e) + x z') / (1 + e)^2, for z >= 0 ((1 + e) + x z' e) / (1 + e)^2. On the
        # left 1 + x z' cancels: big = z + 2 K2h c (rounded, its error by TwoSum) and
        # big + 1 (exact for big <= -1) come first, e and the small parts last, so the
        # cancelling sum is rounded once. (sigma(z) + x z' sigma'(z) was ~8 ulps off at
        # x = -1.2, big + (1 + e) 5.08 at -1.65; this form 4.11, most of it exp's own.)
        neg = z < 0
        m, s = K.exps_lo(K.neg_abs(z), neg, lo)
        e = m * s
        big = z + 2 * cube_hi
        twice = big - z
        err = (z - (big - twice)) + (2 * cube_hi - twice)
        small = (lo + 2 * cube_lo) + err
        xdz = big + small
        left = (big + 1) + (e + small)
        num = jnp.where(neg, K.xmul(left, m), (1 + e) + K.xmul(xdz, e))
        direct = num / (1 + e * (2 + e)) * jnp.where(neg, s, jnp.ones_like(s))
        return K.near_root(x, C.ROOT_GELU_TANH, direct)
    if x.dtype == jnp.float32:
        return K.near_root(x, C.ROOT_GELU_ERF, K.NormalTail(x).cdf_plus_x_pdf(x))
    cdf = 0.5 * lax.erfc(-x * C.INV_SQRT2)
    pdf = C.INV_SQRT_2PI * jnp.exp(-0.5 * jnp.square(xs))
    phi, series, scale = K.gaussian_tail(x)
    xt = jnp.clip(x, K.GAUSSIAN_TAIL_CLIP, K.GAUSSIAN_TAIL)
    tail = -(phi * (-xt + series / xt))
    direct = jnp.where(x < K.GAUSSIAN_TAIL, tail * scale, cdf + jnp.where(near, xs * pdf, 0))
    return K.near_root(x, C.ROOT_GELU_ERF, direct)


def gelu_value(
    x: Array, approximate: bool = True, *, fusible: bool = True, arg: K.CubicArg | None = None
) -> Array:
    """gelu(x) (tanh or erf form) on compute-dtype arrays; also geglu's gate.

    ``fusible``: the tanh form by :func:`~jaxact._src.kernels.x_sig` (select-free, opaque
    constants: fuses into a following sum); else by ``x_sig_branch`` (geglu: its halves are
    slices, which XLA's reduction kernel does not take, and there the branch form keeps
    less memory), with ``arg`` (:func:`gelu_tanh_arg`'s pair) if given."""
    if approximate:
        if not fusible:
            z, lo, *_ = arg if arg is not None else gelu_tanh_arg(x)
            return K.x_sig_branch(x, z, lo)
        k1, k2 = K.opaque(C.GELU_K1, x), K.opaque(C.GELU_K2, x)
        return K.x_sig(x, x * (k1 + k2 * jnp.square(x)))
    if x.dtype == jnp.float32:
        return K.NormalTail(x).x_cdf(x)
    phi, series, scale = K.gaussian_tail(x)
    return jnp.where(
        x < K.GAUSSIAN_TAIL, -(phi * series) * scale, K.xmul(x, 0.5 * lax.erfc(-x * C.INV_SQRT2))
    )


@activation(
    derivative=gelu_derivative,
    static_argnames=("approximate",),
    jax_nn="gelu",
    reference="Hendrycks & Gimpel 2016, Gaussian Error Linear Units",
)
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
    :math:`\pm\infty` (where :math:`x^3` overflows). ``approximate`` is static: a bool
    (anything else raises ``TypeError``).

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
    return gelu_value(jnp.asarray(x), flag("gelu", approximate))
