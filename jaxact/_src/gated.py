"""Gated linear units of transformer MLPs: :math:`a \\odot \\mathrm{act}(b)` for the halves
``a`` (value) and ``b`` (gate) of one projection, or for two separate projections.

Each is an ``activation`` of ``(a, b)`` with the gate as a differentiable parameter, so
reverse mode keeps exactly the two inputs (one input's worth, no sigma(b), no activation
output) and recomputes the gate's derivative in the backward pass. The split forms
(``swiglu(x, axis)``, ...) split along ``axis`` as :func:`jaxact.glu` does (``a`` first).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from jaxact._src import constants as C
from jaxact._src import kernels as K
from jaxact._src.arrays import (
    as_float_array,
    call_jit,
    flag,
    hyperparameter,
    is_concrete,
    public_jvp,
    single_axis,
)
from jaxact._src.core import activation
from jaxact._src.facts import Facts, declare
from jaxact._src.gelu import gelu_derivative, gelu_tanh_arg, gelu_value

QUICK_GELU_ALPHA = 1.702  # clamped_swiglu's default slope: quick_gelu's, with its root window


def _halves(
    fn_name: str, inner: Any, x: ArrayLike, axis: int, *params: Any, **static: Any
) -> Array:
    """Validate, split ``x`` in halves along ``axis`` and apply the two-input form, with
    its numeric ``params`` (already validated) passed into the program, not compiled in,
    and its ``static`` keyword arguments compiled in."""
    xa = as_float_array(fn_name, x)
    ax = single_axis(fn_name, axis, xa.ndim)
    if xa.shape[ax] % 2:
        raise ValueError(
            f"{fn_name}: axis {axis} has odd size {xa.shape[ax]}; it must split in halves"
        )
    return call_jit(_split_apply, (xa, *params), (inner, ax, tuple(static.items())))


def _split_apply(x: Array, *rest: Any) -> Array:
    *params, inner, axis, static = rest
    a, b = jnp.split(x, 2, axis=axis)
    return inner(a, b, *params, **dict(static))


# --------------------------------------------------------------------------- swiglu


def _swiglu_derivative(a: Array, b: Array) -> tuple[Array, Array]:
    return K.x_sig_branch(b, b), K.xmul(a, K.swish_dx(b, 1.0))


@activation(derivative=_swiglu_derivative, kind="pair", reference="Shazeer 2020, GLU Variants")
def swiglu_pair(value: ArrayLike, gate: ArrayLike) -> Array:
    r"""SwiGLU of two projections: :math:`a \odot \mathrm{silu}(b)`.

    .. math::
      y = a\,b\,\sigma(b), \qquad
      \frac{\partial y}{\partial a} = \mathrm{silu}(b), \qquad
      \frac{\partial y}{\partial b} = a\,\big(\sigma(b) + b\,\sigma(b)\sigma(-b)\big).

    The form for models that keep the value and gate projections apart (``W_up``,
    ``W_gate``); :func:`swiglu` splits one projection. The gate's derivative is silu's
    (tail-exact, with its Taylor window at the zero :math:`b = -1.278`); reverse mode keeps
    ``value`` and ``gate`` only.

    Args:
      value: the value projection :math:`a`.
      gate: the gate projection :math:`b`, broadcastable against ``value``.

    Returns:
      An array of the dtype of ``value``.

    Examples:
      >>> jaxact.swiglu_pair(jnp.array([2.0, 2.0]), jnp.array([0.0, 1.0]))
      Array([0.       , 1.4621172], dtype=float32)
    """
    a, b = jnp.asarray(value), jnp.asarray(gate)
    return K.x_sig_branch(a * b, b)


@declare(Facts("swiglu", kind="gated", reference="Shazeer 2020, GLU Variants"))
def swiglu(x: ArrayLike, axis: int = -1) -> Array:
    r"""SwiGLU: split ``x`` in halves :math:`a, b` along ``axis``; :math:`a \odot \mathrm{silu}(b)`.

    .. math::
      \mathrm{swiglu}(x) = a\,b\,\sigma(b), \qquad
      \frac{\partial}{\partial a} = \mathrm{silu}(b), \qquad
      \frac{\partial}{\partial b} = a\,\mathrm{silu}'(b).

    The gated unit of LLaMA, Mistral and Qwen MLPs. Reverse mode keeps ``x`` only (the
    jax.nn composition ``a * silu(b)`` keeps both halves, sigmoid(b) and silu(b): 2.5 times as
    many bytes). :func:`swiglu_pair` takes the two projections separately.

    Args:
      x: input array; its ``axis`` dimension must be even.
      axis: the axis to split (a single int).

    Returns:
      An array of the dtype of ``x`` with the ``axis`` dimension halved.

    Examples:
      >>> jaxact.swiglu(jnp.array([2.0, 2.0, 0.0, 1.0]))
      Array([0.       , 1.4621172], dtype=float32)
    """
    return _halves("swiglu", swiglu_pair, x, axis)


# --------------------------------------------------------------------------- geglu


def _geglu_derivative(a: Array, b: Array, approximate: bool = True) -> tuple[Array, Array]:
    if approximate:  # both partials from one argument pair (float32: with its error)
        arg = gelu_tanh_arg(b, exact=True, value=False)
        return gelu_value(b, fusible=False, arg=arg), K.xmul(a, gelu_derivative(b, arg=arg))
    # The erf form's two partials from their own copies of b (b * an opaque 1, exact): XLA
    # then fuses the normal tail's pieces (exp, polynomials) into each partial's loop instead
    # of materializing input-sized arrays to share between the two.
    b_own = b * K.opaque(1.0, b)
    return gelu_value(b_own, False, fusible=False), K.xmul(a, gelu_derivative(b, False))


@activation(
    derivative=_geglu_derivative,
    static_argnames=("approximate",),
    kind="pair",
    reference="Shazeer 2020, GLU Variants",
)
def geglu_pair(value: ArrayLike, gate: ArrayLike, approximate: bool = True) -> Array:
    r"""GeGLU of two projections: :math:`a \odot \mathrm{gelu}(b)`.

    .. math::
      y = a\,\mathrm{gelu}(b), \qquad
      \frac{\partial y}{\partial a} = \mathrm{gelu}(b), \qquad
      \frac{\partial y}{\partial b} = a\,\mathrm{gelu}'(b).

    ``approximate`` (static) selects gelu's tanh form (default, as ``jax.nn.gelu``) or the
    exact erf form; both are :func:`jaxact.gelu`'s tail-safe formulas. For a float32 gate
    the tanh form's exponent argument :math:`z = K_1 b + K_2 b^3` is evaluated as an exact
    pair: value within 4 ulps and derivative within 4.5 over every float32 input, where
    ``jaxact.gelu`` (which keeps the rounded argument, for speed) is 214 ulps off in its
    left tail; 16-bit gates, whose rounding cannot see that error, skip it.

    Args:
      value: the value projection :math:`a`.
      gate: the gate projection :math:`b`, broadcastable against ``value``.
      approximate: the tanh form (default True) or the erf form.

    Returns:
      An array of the dtype of ``value``.

    Examples:
      >>> jaxact.geglu_pair(jnp.array([2.0, 2.0]), jnp.array([0.0, 1.0]))
      Array([0.      , 1.682384], dtype=float32)
    """
    b = jnp.asarray(gate)
    approximate = flag("geglu_pair", approximate)
    arg = gelu_tanh_arg(b, exact=True, value=False) if approximate else None
    return jnp.asarray(value) * gelu_value(b, approximate, fusible=False, arg=arg)


@declare(Facts("geglu", kind="gated", reference="Shazeer 2020, GLU Variants"))
def geglu(x: ArrayLike, axis: int = -1, approximate: bool = True) -> Array:
    r"""GeGLU: split ``x`` in halves :math:`a, b` along ``axis``; :math:`a \odot \mathrm{gelu}(b)`.

    .. math::
      \mathrm{geglu}(x) = a\,\mathrm{gelu}(b), \qquad
      \frac{\partial}{\partial a} = \mathrm{gelu}(b), \qquad
      \frac{\partial}{\partial b} = a\,\mathrm{gelu}'(b).

    Gemma's MLP unit. Reverse mode keeps ``x`` only. :func:`geglu_pair` takes the two
    projections separately.

    Args:
      x: input array; its ``axis`` dimension must be even.
      axis: the axis to split (a single int).
      approximate: gelu's tanh form (default True) or the erf form.

    Returns:
      An array of the dtype of ``x`` with the ``axis`` dimension halved.

    Examples:
      >>> jaxact.geglu(jnp.array([2.0, 2.0, 0.0, 1.0]))
      Array([0.      , 1.682384], dtype=float32)
    """
    return _halves("geglu", geglu_pair, x, axis, approximate=flag("geglu", approximate))


# --------------------------------------------------------------------------- reglu


def _reglu_derivative(a: Array, b: Array) -> tuple[Array, Array]:
    pos = b > 0
    return jnp.where(pos, b, 0), jnp.where(pos, a, 0)


@activation(derivative=_reglu_derivative, kind="pair", reference="Shazeer 2020, GLU Variants")
def reglu_pair(value: ArrayLike, gate: ArrayLike) -> Array:
    r"""ReGLU of two projections: :math:`a \odot \mathrm{relu}(b)`.

    .. math::
      y = a\max(b, 0), \qquad
      \frac{\partial y}{\partial a} = \max(b, 0), \qquad
      \frac{\partial y}{\partial b} = \begin{cases} a & b > 0 \\ 0 & b \le 0 \end{cases}.

    Kink: at :math:`b = 0` the gate's derivative is 0 (relu's convention).

    Args:
      value: the value projection :math:`a`.
      gate: the gate projection :math:`b`, broadcastable against ``value``.

    Returns:
      An array of the dtype of ``value``.

    Examples:
      >>> jaxact.reglu_pair(jnp.array([2.0, 2.0]), jnp.array([-1.0, 3.0]))
      Array([0., 6.], dtype=float32)
    """
    a, b = jnp.asarray(value), jnp.asarray(gate)
    return jnp.where(b <= 0, a * 0, a * b)  # a NaN gate gives NaN


@declare(Facts("reglu", kind="gated", reference="Shazeer 2020, GLU Variants"))
def reglu(x: ArrayLike, axis: int = -1) -> Array:
    r"""ReGLU: split ``x`` in halves :math:`a, b` along ``axis``; :math:`a \odot \mathrm{relu}(b)`.

    .. math::
      \mathrm{reglu}(x) = a\max(b, 0), \qquad
      \frac{\partial}{\partial a} = \max(b, 0), \qquad
      \frac{\partial}{\partial b} = a\,[b > 0].

    Kink: at :math:`b = 0` the gate's derivative is 0 (relu's convention). Reverse mode
    keeps ``x`` only.

    Args:
      x: input array; its ``axis`` dimension must be even.
      axis: the axis to split (a single int).

    Returns:
      An array of the dtype of ``x`` with the ``axis`` dimension halved.

    Examples:
      >>> jaxact.reglu(jnp.array([2.0, 2.0, -1.0, 3.0]))
      Array([0., 6.], dtype=float32)
    """
    return _halves("reglu", reglu_pair, x, axis)


# --------------------------------------------------------------------------- clamped swiglu


def _is_default(value: Any, default: float) -> bool:
    return type(value) in (int, float) and value == default


def _clamped_swiglu_derivative(
    a: Array, b: Array, limit: Array | float = 7.0, alpha: Array | float = 1.702
) -> tuple[Array, Array, Array, Array]:
    # torch.clamp's convention (GPT-OSS's reference code): the gradient passes at the bounds.
    g = jnp.minimum(b, limit)
    a_in = (a >= -limit) & (a <= limit)
    lo = _alpha_g_error(alpha, g, value=False)  # float32: alpha g's rounding, taken in
    z = alpha * g
    gs = K.x_sig_branch(g, z, lo)  # g sigma(alpha g)
    d_a = jnp.where(a_in, gs, 0)
    factor = jnp.clip(a, -limit, limit) + 1  # applied inside: its product may be normal
    dg = K.swish_dx(g, alpha, factor, lo)  # where swish_dx alone is flushed to zero
    # the zero of the derivative at the default alpha, as for quick_gelu
    near = K.near_root(g, C.ROOT_QUICK_GELU, dg, factor)
    if isinstance(alpha, float):
        dg = near if alpha == QUICK_GELU_ALPHA else dg
    else:
        dg = jnp.where(alpha == QUICK_GELU_ALPHA, near, dg)
    d_b = jnp.where(b <= limit, dg, 0)
    # the limit moves the clamp of a (outside [-L, L]) and of b (above L: g = L there)
    d_limit = jnp.where(a > limit, gs, jnp.where(a < -limit, -gs, 0)) + jnp.where(b > limit, dg, 0)
    d_alpha = factor * g * (g * K.dsig(z))  # (clip(a) + 1) g^2 sigma'(alpha g)
    return d_a, d_b, d_limit, d_alpha


def _alpha_g_error(alpha: Array | float, g: Array, *, value: bool) -> Array | None:
    """alpha g's rounding error (float32): the exact decimal's for a Python-number alpha,
    Dekker's for an array (the default 1.702 still meaning the decimal)."""
    if isinstance(alpha, int | float):
        return K.product_error(float(alpha), g, value=value)
    return K.product_error_of_arrays(alpha, g, decimal=QUICK_GELU_ALPHA, value=value)


@activation(
    derivative=_clamped_swiglu_derivative,
    check=lambda gate, limit, alpha: (
        f"`limit` must be >= 0, got {limit}" if (limit < 0).any() else None
    ),
    valid=lambda gate, limit, alpha: limit >= 0,
    kind="pair",
    reference="OpenAI 2025, gpt-oss",
)
def clamped_swiglu_pair(
    value: ArrayLike, gate: ArrayLike, limit: ArrayLike = 7.0, alpha: ArrayLike = 1.702
) -> Array:
    r"""GPT-OSS's clamped SwiGLU of two projections.

    .. math::
      y = (\mathrm{clip}(a, -L, L) + 1)\,g\,\sigma(\alpha g), \quad g = \min(b, L), \qquad
      \frac{\partial y}{\partial a} = [|a| \le L]\,g\,\sigma(\alpha g), \qquad
      \frac{\partial y}{\partial b} = [b \le L]\,(\mathrm{clip}(a, -L, L) + 1)
        \big(\sigma(\alpha g) + \alpha g\,\sigma(\alpha g)\sigma(-\alpha g)\big),

    .. math::
      \frac{\partial y}{\partial L} = \pm[|a| > L]\,g\,\sigma(\alpha g)
        + [b > L]\,\frac{\partial y}{\partial g}, \qquad
      \frac{\partial y}{\partial \alpha} = (\mathrm{clip}(a, -L, L) + 1)\,g^2
        \sigma(\alpha g)\sigma(-\alpha g).

    Kinks: at :math:`a = \pm L` and :math:`b = L` the gradient passes to :math:`a` and
    :math:`b` (the bounds count as inside, as ``torch.clamp``'s gradient in the reference
    code), not to :math:`L`. ``limit`` and ``alpha`` are array hyperparameters like the
    activations' (traced under ``jit``/``vmap``, differentiable; no recompilation per value);
    ``limit < 0`` raises ``ValueError``, or gives NaN when traced. Gradients stay finite for
    huge :math:`|b|` and at :math:`\pm\infty`.

    Args:
      value: the value projection :math:`a`.
      gate: the gate projection :math:`b`, broadcastable against ``value``.
      limit: the clamp :math:`L \ge 0` (default 7), broadcastable.
      alpha: the sigmoid's slope :math:`\alpha` (default 1.702), broadcastable.

    Returns:
      An array of the dtype of ``value``.

    Examples:
      >>> jaxact.clamped_swiglu_pair(jnp.array([1.0, 100.0]), jnp.array([100.0, 1.0]))
      Array([13.999907 ,  6.7663665], dtype=float32)
    """
    a, b = jnp.asarray(value), jnp.asarray(gate)
    lim, k = jnp.asarray(limit), jnp.asarray(alpha)
    g = jnp.minimum(b, lim)
    # the product before the sigmoid: g sigma(alpha g) alone is subnormal (flushed) for tiny g
    return K.x_sig_branch((jnp.clip(a, -lim, lim) + 1) * g, k * g, _alpha_g_error(k, g, value=True))


@declare(Facts("clamped_swiglu", kind="gated", reference="OpenAI 2025, gpt-oss"))
def clamped_swiglu(x: ArrayLike, axis: int = -1, limit: float = 7.0, alpha: float = 1.702) -> Array:
    r"""GPT-OSS's clamped SwiGLU: split ``x`` in halves :math:`a, b` along ``axis``.

    .. math::
      y = (\mathrm{clip}(a, -L, L) + 1)\,g\,\sigma(\alpha g), \quad g = \min(b, L), \qquad
      \frac{\partial y}{\partial b} = [b \le L]\,(\mathrm{clip}(a, -L, L) + 1)\,
        \mathrm{swish}_\alpha'(g).

    See :func:`clamped_swiglu_pair` for both partial derivatives and the kinks. Reverse
    mode keeps ``x`` only.

    Args:
      x: input array; its ``axis`` dimension must be even.
      axis: the axis to split (a single int).
      limit: the clamp :math:`L` (default 7).
      alpha: the sigmoid's slope :math:`\alpha` (default 1.702).

    Returns:
      An array of the dtype of ``x`` with the ``axis`` dimension halved.

    Examples:
      >>> jaxact.clamped_swiglu(jnp.array([1.0, 100.0, 100.0, 1.0]))
      Array([13.999907 ,  6.7663665], dtype=float32)
    """
    if _is_default(limit, 7.0) and _is_default(alpha, QUICK_GELU_ALPHA):
        return _halves("clamped_swiglu", clamped_swiglu_pair, x, axis)  # compiled in
    params = [
        hyperparameter("clamped_swiglu", v, n) for v, n in ((limit, "limit"), (alpha, "alpha"))
    ]
    if is_concrete(params[0]) and np.any(np.asarray(params[0]) < 0):
        raise ValueError(f"clamped_swiglu: `limit` must be >= 0, got {params[0]}")
    return _halves("clamped_swiglu", clamped_swiglu_pair, x, axis, *params)


# --------------------------------------------------------------------------- JVPs


def swiglu_jvp(x: ArrayLike, tangent: ArrayLike, axis: int = -1) -> Array:
    r"""JVP of :func:`~jaxact.swiglu`: :math:`\mathrm{silu}(b)\dot a + a\,\mathrm{silu}'(b)\dot b`.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`~jaxact.swiglu`.

    Returns:
      The output tangent, of the shape of ``swiglu(x)``.

    Examples:
      >>> jaxact.derivatives.swiglu_jvp(jnp.array([2.0, 0.0]), jnp.array([1.0, 1.0]))
      Array([1.], dtype=float32)
    """
    return public_jvp("swiglu_jvp", swiglu, x, tangent, axis=axis)


def geglu_jvp(x: ArrayLike, tangent: ArrayLike, axis: int = -1, approximate: bool = True) -> Array:
    r"""JVP of :func:`~jaxact.geglu`: :math:`\mathrm{gelu}(b)\dot a + a\,\mathrm{gelu}'(b)\dot b`.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`~jaxact.geglu`.
      approximate: as for :func:`~jaxact.geglu`.

    Returns:
      The output tangent, of the shape of ``geglu(x)``.

    Examples:
      >>> jaxact.derivatives.geglu_jvp(jnp.array([2.0, 0.0]), jnp.array([1.0, 1.0]))
      Array([1.], dtype=float32)
    """
    return public_jvp("geglu_jvp", geglu, x, tangent, axis=axis, approximate=approximate)


def reglu_jvp(x: ArrayLike, tangent: ArrayLike, axis: int = -1) -> Array:
    r"""The JVP of :func:`~jaxact.reglu`: :math:`\max(b, 0)\,\dot a + a\,[b > 0]\,\dot b`.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`~jaxact.reglu`.

    Returns:
      The output tangent, of the shape of ``reglu(x)``.

    Examples:
      >>> jaxact.derivatives.reglu_jvp(jnp.array([2.0, 3.0]), jnp.array([1.0, 1.0]))
      Array([5.], dtype=float32)
    """
    return public_jvp("reglu_jvp", reglu, x, tangent, axis=axis)


def clamped_swiglu_jvp(
    x: ArrayLike, tangent: ArrayLike, axis: int = -1, limit: float = 7.0, alpha: float = 1.702
) -> Array:
    r"""JVP of :func:`~jaxact.clamped_swiglu` (partials: :func:`~jaxact.clamped_swiglu_pair`).

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`~jaxact.clamped_swiglu`.
      limit: as for :func:`~jaxact.clamped_swiglu`.
      alpha: as for :func:`~jaxact.clamped_swiglu`.

    Returns:
      The output tangent, of the shape of ``clamped_swiglu(x)``.

    Examples:
      >>> jaxact.derivatives.clamped_swiglu_jvp(jnp.array([0.0, 0.0]), jnp.array([0.0, 1.0]))
      Array([0.5], dtype=float32)
    """
    return public_jvp(
        "clamped_swiglu_jvp",
        clamped_swiglu,
        x,
        tangent,
        ("limit", "alpha"),
        axis=axis,
        limit=limit,
        alpha=alpha,
    )
