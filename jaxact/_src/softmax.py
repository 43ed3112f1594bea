"""The softmax family: normalizers along an axis, with optional ``where`` masks.

Each core is a ``custom_jvp`` over a static tuple of axes; masks are applied outside the
core by replacing masked entries with ``-inf`` (so huge, inf or NaN values in masked slots
never reach the arithmetic), and the core maps ``-inf`` entries to probability 0.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from jaxact._src.core import as_float_array, compute_dtype

Axis = int | tuple[int, ...] | None


def normalize_axes(fn_name: str, axis: Any, ndim: int) -> tuple[int, ...]:
    """Validate ``axis`` (int, tuple of ints or None) for an array of rank ``ndim``."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer) and not isinstance(axis, bool):
        axes: tuple[Any, ...] = (axis,)
    elif isinstance(axis, tuple | list) and all(
        isinstance(a, int | np.integer) and not isinstance(a, bool) for a in axis
    ):
        axes = tuple(axis)
    else:
        raise TypeError(f"{fn_name}: `axis` must be an int, a tuple of ints or None, got {axis!r}")
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{fn_name}: axis {a} is out of range for an input of rank {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn_name}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def as_mask(fn_name: str, where: Any, shape: tuple[int, ...]) -> Array | None:
    """Validate a ``where`` mask and broadcast it to ``shape`` (``ValueError`` if it cannot)."""
    if where is None:
        return None
    if not isinstance(where, jax.Array | np.ndarray | np.generic | bool):
        raise TypeError(
            f"{fn_name}: `where` must be a boolean array or None, got {type(where).__name__}"
        )
    mask = jnp.asarray(where)
    if not jnp.issubdtype(mask.dtype, jnp.bool_):
        raise TypeError(f"{fn_name}: `where` must have a boolean dtype, got {mask.dtype}")
    problem = f"{fn_name}: `where` of shape {mask.shape} does not broadcast to the input shape"
    if mask.ndim > len(shape):
        raise ValueError(f"{problem} {shape}")
    mask = mask.reshape((1,) * (len(shape) - mask.ndim) + mask.shape)
    try:
        fits = jnp.broadcast_shapes(mask.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{problem} {shape}")
    return jnp.broadcast_to(mask, shape)


def _acc_dtype(dtype: Any) -> Any:
    return compute_dtype(dtype)


def _shifted(xc: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """(exp(x - max), max) with the max made finite: all--inf rows give exp = 0 and
    a +inf entry gives 1 at the infinities and 0 elsewhere (the limit)."""
    m = jnp.max(xc, axis=axes, keepdims=True)
    m_safe = jnp.where(jnp.isfinite(m), m, 0)
    e = jnp.where(m == jnp.inf, (xc == jnp.inf).astype(xc.dtype), jnp.exp(xc - m_safe))
    return e, m_safe


# --------------------------------------------------------------------------- softmax


def softmax_tangent(s: Array, t: Array, axes: tuple[int, ...]) -> Array:
    r"""The softmax JVP from its output: :math:`\dot s = s\odot(\dot x - \langle s,\dot x\rangle)`.

    Products stay in the dtype of ``s`` (so reverse mode keeps one array of that dtype);
    the inner product accumulates in float32 for 16-bit inputs.
    """
    t = t.astype(s.dtype)
    dot = jnp.sum(s * t, axis=axes, keepdims=True, dtype=_acc_dtype(s.dtype))
    return s * (t - dot.astype(s.dtype))


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _softmax(x: Array, axes: tuple[int, ...]) -> Array:
    xc = x.astype(_acc_dtype(x.dtype))
    e, _ = _shifted(xc, axes)
    total = jnp.sum(e, axis=axes, keepdims=True)
    return (e / jnp.where(total == 0, 1, total)).astype(x.dtype)


@_softmax.defjvp
def _softmax_jvp(axes: tuple[int, ...], primals: Any, tangents: Any) -> tuple[Array, Array]:
    (x,), (t,) = primals, tangents
    s = _softmax(x, axes)
    return s, softmax_tangent(s, t, axes)


def _masked(x: Array, mask: Array | None) -> Array:
    return x if mask is None else jnp.where(mask, x, -jnp.inf)


@functools.partial(jax.jit, static_argnums=1)
def _softmax_jit(x: Array, axes: tuple[int, ...], mask: Array | None) -> Array:
    return _softmax(_masked(x, mask), axes)


def softmax(x: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None) -> Array:
    r"""Softmax along ``axis``.

    .. math::
      s_i = \frac{e^{x_i}}{\sum_j e^{x_j}}, \qquad
      \frac{\partial s_i}{\partial x_j} = s_i(\delta_{ij} - s_j), \qquad
      \dot s = s \odot (\dot x - \langle s, \dot x \rangle).

    Computed with the maximum subtracted, so ``softmax([1000., 1000.])`` is ``[0.5, 0.5]``;
    a ``+inf`` logit takes all the mass. 16-bit inputs are computed and summed in float32.
    Entries where ``where`` is False output 0 and receive zero gradient whatever they hold
    (huge, inf or NaN); a fully masked row outputs zeros with a zero gradient. Reverse mode
    keeps one array (the output). Smooth everywhere: there are no kinks.

    Args:
      x: input array.
      axis: an int, a tuple of ints, or None (all axes) to normalize over.
      where: optional boolean mask, broadcastable to ``x``; False entries are left out.

    Returns:
      An array of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.softmax(jnp.array([1.0, 2.0, 3.0]))
      Array([0.09003057, 0.24472848, 0.66524094], dtype=float32)
      >>> jaxact.softmax(jnp.array([1000.0, 1000.0, jnp.nan]), where=jnp.array([True, True, False]))
      Array([0.5, 0.5, 0. ], dtype=float32)
    """
    xa = as_float_array("softmax", x)
    axes = normalize_axes("softmax", axis, xa.ndim)
    return _softmax_jit(xa, axes, as_mask("softmax", where, xa.shape))


def _single_axis(fn_name: str, axis: Any, ndim: int) -> int:
    if not isinstance(axis, int | np.integer) or isinstance(axis, bool):
        raise TypeError(f"{fn_name}: `axis` must be a single int, got {axis!r}")
    return normalize_axes(fn_name, axis, ndim)[0]


def softmax_jacobian(x: ArrayLike, axis: int = -1) -> Array:
    r"""The full Jacobian of :func:`softmax` along one axis.

    .. math:: J_{ij} = \frac{\partial s_i}{\partial x_j} = s_i(\delta_{ij} - s_j)

    The diagonal is evaluated as :math:`s_i \sum_{j \ne i} s_j` (no cancellation when
    :math:`s_i \approx 1`).

    Args:
      x: input array.
      axis: the softmax axis (a single int).

    Returns:
      An array of shape ``x.shape`` with the ``axis`` dimension moved last and a second copy
      of it appended: ``J[..., i, j]``.

    Examples:
      >>> jaxact.derivatives.softmax_jacobian(jnp.zeros(2))
      Array([[ 0.25, -0.25],
             [-0.25,  0.25]], dtype=float32)
    """
    xa = as_float_array("softmax_jacobian", x)
    ax = _single_axis("softmax_jacobian", axis, xa.ndim)
    return _softmax_jacobian(jnp.moveaxis(xa, ax, -1))


@jax.jit
def _softmax_jacobian(x: Array) -> Array:
    cd = _acc_dtype(x.dtype)
    e, _ = _shifted(x.astype(cd), (x.ndim - 1,))
    total = jnp.sum(e, axis=-1, keepdims=True)
    s = e / total
    n = x.shape[-1]
    off = ~jnp.eye(n, dtype=bool)
    others = jnp.sum(jnp.where(off, e[..., None, :], 0), axis=-1) / total[..., 0:1]
    jac = -s[..., :, None] * s[..., None, :]
    jac = jnp.where(off, jac, (s * others)[..., :, None])
    return jac.astype(x.dtype)


def softmax_jvp(
    x: ArrayLike, tangent: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None
) -> Array:
    r"""The Jacobian-vector product of :func:`softmax`, the rule its ``custom_jvp`` uses.

    .. math:: \dot s = s \odot (\dot x - \langle s, \dot x \rangle)

    Args:
      x: input array.
      tangent: the input tangent :math:`\dot x`, of the shape of ``x``.
      axis: as for :func:`softmax`.
      where: as for :func:`softmax`.

    Returns:
      The output tangent :math:`\dot s`, of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.derivatives.softmax_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]))
      Array([ 0.25, -0.25], dtype=float32)
    """
    xa = as_float_array("softmax_jvp", x)
    ta = as_float_array("softmax_jvp", tangent, "tangent")
    if ta.shape != xa.shape:
        raise ValueError(f"softmax_jvp: tangent shape {ta.shape} differs from x shape {xa.shape}")
    axes = normalize_axes("softmax_jvp", axis, xa.ndim)
    mask = as_mask("softmax_jvp", where, xa.shape)
    return _softmax_jvp_jit(xa, ta, axes, mask)


@functools.partial(jax.jit, static_argnums=2)
def _softmax_jvp_jit(x: Array, t: Array, axes: tuple[int, ...], mask: Array | None) -> Array:
    s = _softmax(_masked(x, mask), axes)
    t = t if mask is None else jnp.where(mask, t, 0)
    return softmax_tangent(s, t, axes)
