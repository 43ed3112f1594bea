"""The sigmoid family: sigmoid, log_sigmoid, softplus, silu/swish, quick_gelu, mish, glu."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxact._src import constants as C
from jaxact._src import kernels as K
from jaxact._src.arrays import as_float_array, call_jit, public_jvp, single_axis
from jaxact._src.core import activation
from jaxact._src.facts import Facts, declare

# mish' below -0.6 uses the e^x form (no cancellation on the left, and its 1 + x, 6 + 4x are
# exact near the zero at -1.19); above, the tanh/sech^2 form, which does not cancel there.
MISH_LEFT = -0.6

# --------------------------------------------------------------------------- sigmoid family


def _sigmoid_derivative(x: Array) -> Array:
    return K.dsig(x)


@activation(derivative=_sigmoid_derivative, jax_nn="sigmoid")
def sigmoid(x: ArrayLike) -> Array:
    r"""Sigmoid (logistic) function.

    .. math::
      \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad
      \sigma'(x) = \sigma(x)\,\sigma(-x) = \frac{e^{-|x|}}{(1 + e^{-|x|})^2}.

    The derivative is evaluated as :math:`q - q^2` with :math:`q = \sigma(-|x|) \le 1/2`,
    which keeps full relative precision in both tails (``y(1 - y)`` from the output does
    not): ``jax.grad(sigmoid)(20.)`` is 2.06e-9 in float32 (``jax.nn`` gives 0).

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
    return K.sig_value(jnp.asarray(x))


def _log_sigmoid_derivative(x: Array) -> Array:
    return K.sig(-x)


@activation(derivative=_log_sigmoid_derivative, jax_nn="log_sigmoid")
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
    return -K.softplus(-jnp.asarray(x))


def _softplus_derivative(x: Array, beta: Array | float) -> tuple[Array, Array]:
    z = beta * x
    # d/dbeta [softplus(z) / beta] = (z sigma(z) - softplus(z)) / beta^2, arranged so that
    # neither side cancels: for z > 0 it is -(z sigma(-z) + log1p(e^-z)).
    zc = jnp.where(z > 0, -z, z)
    h = K.xmul(zc, K.sig(zc)) - jnp.log1p(jnp.exp(zc))
    d_beta = h / jnp.square(beta)
    if _is_one(beta):
        return K.sig(z), d_beta
    # sigma(z) with z = beta x's rounding error taken in (float32): e^-|z| is |z| ulps off
    # otherwise (62 ulps at x = -52.25 for beta 1.5)
    lo = K.product_error_of_arrays(jnp.asarray(beta), x, value=False)
    return K.x_sig_branch(jnp.ones_like(z), z, lo), d_beta


def _is_one(beta: Any) -> bool:
    """A parameter compiled in as the number 1 (a default left out): no rounding in beta x."""
    return isinstance(beta, int | float) and beta == 1


@activation(
    derivative=_softplus_derivative,
    jax_nn="softplus",
    check=lambda beta: f"`beta` must be > 0, got {beta}" if (beta <= 0).any() else None,
    valid=lambda beta: beta > 0,
)
def softplus(x: ArrayLike, beta: ArrayLike = 1.0) -> Array:
    r"""Softplus, with PyTorch's optional sharpness ``beta``.

    .. math::
      \mathrm{softplus}(x) = \frac{1}{\beta}\log(1 + e^{\beta x}), \qquad
      \frac{\partial}{\partial x} = \sigma(\beta x), \qquad
      \frac{\partial}{\partial \beta} = \frac{\beta x\,\sigma(\beta x)
        - \log(1 + e^{\beta x})}{\beta^2}.

    Evaluated as :math:`\max(x, 0) + \log(1 + e^{-|\beta x|})/\beta`, with no overflow
    for any :math:`\beta` (the value is finite wherever :math:`x` is) and, in float32, the
    rounding of :math:`\beta x` carried into the exponential (Dekker's exact product), so
    value and derivative keep the float32 bound at every :math:`\beta`. With ``beta = 1``
    (the default) it is ``jax.nn.softplus``. Unlike PyTorch there is no linear
    ``threshold``: the exact function is cheap and accurate everywhere. ``beta`` is a
    differentiable array hyperparameter; :math:`\beta \le 0` raises ``ValueError``, or
    gives NaN when traced.

    Args:
      x: input array.
      beta: sharpness :math:`\beta > 0` (default 1), broadcastable against ``x``.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.softplus(jnp.array([-30.0, 0.0, 30.0]))
      Array([9.357623e-14, 6.931472e-01, 3.000000e+01], dtype=float32)
      >>> jaxact.softplus(0.0, beta=2.0)  # a Python scalar: weakly typed, as in jax.nn
      Array(0.3465736, dtype=float32, weak_type=True)
    """
    x = jnp.asarray(x)
    if _is_one(beta):
        return K.softplus(x)
    b = jnp.asarray(beta)
    z = b * x
    # e^-|z| = m s (kernels.exps): log1p(e) / beta is formed as (m / beta) s where e alone
    # is subnormal (flushed) but the result is not (beta < 1, x near -88 / beta)
    m, sc = K.exps(-jnp.abs(z))
    e = m * sc
    lo = K.product_error_of_arrays(b, x)
    tail = jnp.where(sc < 1, m / b * sc, jnp.log1p(e) / b)
    if lo is not None:  # e^-|z + lo| = e (1 -+ lo): log1p of it moves by -+lo e / (1 + e)
        tail = tail - jnp.where(z < 0, -lo, lo) * (tail / (1 + e))
    return jnp.maximum(x, 0) + tail


def _swish_value(x: Array, beta: Any) -> Array:
    if isinstance(beta, int | float):  # silu's default 1, quick_gelu's 1.702 (decimal)
        if beta == 1:
            return K.x_sig(x, x)
        return K.x_sig(x, K.opaque(beta, x) * x, K.product_error(beta, x))  # error taken in
    # x sigma(beta x) = s x' sigma(|beta| x') with x' = s x, s = sign(beta) (1 at 0): x_sig
    # wants its two arguments of one sign. (Scalar beta: s is computed once, outside the
    # loop.) In float32 the rounding of |beta| x' is carried into the exponential.
    s = jnp.where(beta < 0, -1.0, 1.0).astype(x.dtype)
    xs = s * x
    b = jnp.abs(beta)
    return s * K.x_sig(xs, b * xs, K.product_error_of_arrays(b, xs))


def _silu_derivative(x: Array, beta: Array | float) -> tuple[Array, Array]:
    sg = K.Sig(beta * x)
    d_beta = K.xmul(x, K.xmul(x, sg.b)) * sg.sb
    if _is_one(beta):
        return K.swish_dx(x, beta), d_beta
    lo = K.product_error_of_arrays(jnp.asarray(beta), x, value=False)
    return K.swish_dx(x, beta, lo=lo), d_beta


@activation(
    derivative=_silu_derivative,
    aliases=("swish",),
    jax_nn="silu",
    reference="Elfwing et al. 2018; Ramachandran et al. 2017 (swish)",
)
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
      Array([-0.        , -0.26894143,  0.        ,  0.7310586 ], dtype=float32)
    """
    return _swish_value(jnp.asarray(x), beta if _is_one(beta) else jnp.asarray(beta))


swish = silu


def _quick_gelu_derivative(x: Array) -> Array:
    # Its own zero (x = -0.7512) in x: 1.702 x is rounded, so silu's anchor in z would not do.
    return K.near_root(
        x, C.ROOT_QUICK_GELU, K.swish_dx(x, 1.702, lo=K.product_error(1.702, x, value=False))
    )


@activation(derivative=_quick_gelu_derivative, reference="Radford et al. 2021 (CLIP)")
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
    m, s = K.exps(jnp.where(pos, -x, x))  # -|x|, as -x at x = 0 (the branch taken there)
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
    m, s = K.exps(jnp.where(x < 0, x, 0))
    e = m * s
    b = 4 * (1 + x) + e * (e * e + 4 * e + (6 + 4 * x))
    neg = (K.xmul(b, m) / jnp.square(e * e + 2 * e + 2)) * s
    direct = jnp.where(x < MISH_LEFT, neg, (t + K.xmul(x, sech2 * sg)) * scale)
    return K.near_root(x, C.ROOT_MISH, direct)


@activation(derivative=_mish_derivative, jax_nn="mish", reference="Misra 2019")
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
    return jnp.where(x >= 0, x * t, K.xmul(x, t) * scale)


# --------------------------------------------------------------------------- glu


def _glu_derivative(a: Array, b: Array) -> tuple[Array, Array]:
    # a sigma'(b) = a e / (1 + e)^2, e = e^-|b| scaled (see ``_exps``) so the product stays
    # normal where sigma'(b) alone would not; the divide is used once (one fused loop), and
    # (1 + e)^2 is 1 + e (2 + e), one rounding (squaring a rounded 1 + e doubles its error:
    # 4.22 ulps at |b| = 4.84 over every float32 input).
    m, s = K.exps(jnp.where(b < 0, b, -b))
    e = m * s
    return K.sig(b), K.xmul(a, m) / (1 + e * (2 + e)) * s


def _glu_formula(a: Array, b: Array) -> Array:
    return K.x_sig_branch(a, b)


_glu = activation(_glu_formula, derivative=_glu_derivative, name="glu")


@declare(Facts("glu", kind="gated", jax_nn="glu", reference="Dauphin et al. 2017"))
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
    return call_jit(_glu_halves, (xa,), (ax,))


def _glu_halves(x: Array, axis: int) -> Array:
    return _glu(*jnp.split(x, 2, axis=axis))


def glu_jvp(x: ArrayLike, tangent: ArrayLike, axis: int = -1) -> Array:
    r"""The JVP of :func:`~jaxact.glu`: :math:`\sigma(b)\,\dot a + a\,\sigma(b)\sigma(-b)\,\dot b`.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`~jaxact.glu`.

    Returns:
      The output tangent, of the shape of ``glu(x)``.

    Examples:
      >>> jaxact.derivatives.glu_jvp(jnp.array([2.0, 0.0]), jnp.array([1.0, 1.0]))
      Array([1.], dtype=float32)
    """
    return public_jvp("glu_jvp", glu, x, tangent, axis=axis)
