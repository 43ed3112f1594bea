"""Sparse normalizers: sparsemax and 1.5-entmax along one axis, with ``where`` masks and
closed-form JVPs (Martins & Astudillo 2016; Peters, Niculae & Martins 2019).

Both are exact sort-based algorithms. Masked entries become ``-inf`` before the core, so
they sort last, never enter the support, and get zero gradient; a fully masked row gives
zeros with zero gradient; a ``+inf`` logit takes all the mass; a NaN makes the row NaN.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxact._src.core import (
    as_float_array,
    as_mask,
    call_jit,
    compute_dtype,
    masked,
    public_jvp,
    select_tangent,
    single_axis,
)
from jaxact._src.facts import Facts, Kink, declare


def _prepare(z: Array) -> tuple[Array, Array, Array, Array]:
    """Shift by the finite max (both maps are shift-invariant) and sort descending."""
    mx = jnp.max(z, axis=-1, keepdims=True)
    shift = jnp.where(jnp.isfinite(mx), mx, 0)
    z = z - shift
    zs = -jnp.sort(-z, axis=-1)
    k = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype).reshape((1,) * (z.ndim - 1) + (-1,))
    return z, zs, k, mx


def _finish(p: Array, z: Array, mx: Array, support_size: Array) -> Array:
    """Rows with +inf logits: all mass on them; rows with no support: zeros; NaN rows: NaN."""
    is_inf = z == jnp.inf
    n_inf = jnp.sum(is_inf, axis=-1, keepdims=True).astype(z.dtype)
    p = jnp.where(mx == jnp.inf, is_inf.astype(z.dtype) / jnp.maximum(n_inf, 1), p)
    p = jnp.where(support_size == 0, 0, p)
    has_nan = jnp.isnan(jnp.sum(z, axis=-1, keepdims=True)) & ~(mx == jnp.inf)
    return jnp.where(has_nan, jnp.nan, p)


def _apply(x: Array, mask: Array | None, core: Any, axis: int) -> Array:
    return jnp.moveaxis(core(jnp.moveaxis(masked(x, mask), axis, -1)), -1, axis)


def _along_axis(fn_name: str, core: Any, x: Any, axis: Any, where: Any) -> Array:
    """Validate, mask (masked entries become -inf) and apply a last-axis core along ``axis``."""
    xa = as_float_array(fn_name, x)
    ax = single_axis(fn_name, axis, xa.ndim)
    mask = as_mask(fn_name, where, xa.shape)
    return xa if xa.shape[ax] == 0 else call_jit(_apply, (xa, mask), (core, ax))


# --------------------------------------------------------------------------- sparsemax


@jax.custom_jvp
def _sparsemax(x: Array) -> Array:
    z, zs, k, mx = _prepare(x.astype(compute_dtype(x.dtype)))
    cs = jnp.cumsum(zs, axis=-1)
    in_support = 1 + k * zs > cs
    size = jnp.sum(in_support, axis=-1, keepdims=True)
    idx = jnp.maximum(size - 1, 0)
    tau = (jnp.take_along_axis(cs, idx, axis=-1) - 1) / jnp.maximum(size, 1).astype(z.dtype)
    p = jnp.maximum(z - tau, 0)
    return _finish(p, z, mx, size).astype(x.dtype)


@_sparsemax.defjvp
def _sparsemax_jvp(primals: Any, tangents: Any) -> tuple[Array, Array]:
    (x,), (t,) = primals, tangents
    p = _sparsemax(x)
    support = p > 0
    t = select_tangent(support, t.astype(p.dtype))
    acc = compute_dtype(p.dtype)
    size = jnp.sum(support, axis=-1, keepdims=True, dtype=acc)
    mean = jnp.sum(t, axis=-1, keepdims=True, dtype=acc) / jnp.maximum(size, 1)
    return p, select_tangent(support, t - mean.astype(p.dtype))


@declare(
    Facts(
        "sparsemax",
        kind="normalizer",
        kinks=(Kink("tau", d1="0", note="an entry at the threshold: open support"),),
        residual="mask",
        reference="Martins & Astudillo 2016",
    )
)
def sparsemax(x: ArrayLike, axis: int = -1, where: ArrayLike | None = None) -> Array:
    r"""Sparsemax: the Euclidean projection of ``x`` onto the probability simplex.

    .. math::
      p = \mathrm{argmin}_{q \in \Delta} \|q - x\|^2 = [x - \tau]_+, \qquad
      \dot p = \mathbb{1}_S \odot \Big(\dot x - \tfrac{1}{|S|}\textstyle\sum_{j \in S}\dot x_j
      \Big)

    with :math:`\tau` chosen so :math:`p` sums to 1 and :math:`S = \{i : p_i > 0\}` the
    support. Kinks (where an entry enters the support): the JVP uses the open support
    :math:`p_i > 0`, so an entry exactly at the threshold gets derivative 0. On ``[x, 0]``
    sparsemax is :func:`sparse_sigmoid`. ``sparsemax([1, 1, -5])`` is ``[0.5, 0.5, 0]``.
    Reverse mode keeps only the support mask.

    Args:
      x: input array.
      axis: the axis to normalize over (a single int).
      where: optional boolean mask, broadcastable to ``x``; False entries get 0.

    Returns:
      An array of the shape and dtype of ``x``, on the simplex along ``axis``.

    Examples:
      >>> jaxact.sparsemax(jnp.array([1.0, 1.0, -5.0]))
      Array([0.5, 0.5, 0. ], dtype=float32)
      >>> jaxact.sparsemax(jnp.array([0.5, 0.2, 3.0]), where=jnp.array([True, True, False]))
      Array([0.65      , 0.34999996, 0.        ], dtype=float32)
    """
    return _along_axis("sparsemax", _sparsemax, x, axis, where)


def sparsemax_jvp(
    x: ArrayLike, tangent: ArrayLike, axis: int = -1, where: ArrayLike | None = None
) -> Array:
    r"""The JVP of :func:`sparsemax`: :math:`\dot p = \mathbb{1}_S \odot (\dot x -
    \mathrm{mean}_S\,\dot x)`, the rule its ``custom_jvp`` uses.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`sparsemax`.
      where: as for :func:`sparsemax`.

    Returns:
      The output tangent, of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.derivatives.sparsemax_jvp(jnp.array([1.0, 1.0, -5.0]), jnp.array([1.0, 0.0, 7.0]))
      Array([ 0.5, -0.5,  0. ], dtype=float32)
    """
    return public_jvp("sparsemax_jvp", sparsemax, x, tangent, axis=axis, where=where)


# --------------------------------------------------------------------------- entmax15


@jax.custom_jvp
def _entmax15(x: Array) -> Array:
    z, zs, k, mx = _prepare(x.astype(compute_dtype(x.dtype)) / 2)
    mean = jnp.cumsum(zs, axis=-1) / k
    mean_sq = jnp.cumsum(jnp.square(zs), axis=-1) / k
    ss = k * (mean_sq - jnp.square(mean))
    delta = (1 - ss) / k
    tau_k = mean - jnp.sqrt(jnp.maximum(delta, 0))
    size = jnp.sum(tau_k <= zs, axis=-1, keepdims=True)
    tau = jnp.take_along_axis(tau_k, jnp.maximum(size - 1, 0), axis=-1)
    p = jnp.square(jnp.maximum(z - tau, 0))
    return _finish(p, z, mx, size).astype(x.dtype)


def _safe_sqrt(p: Array) -> Array:
    """sqrt(p), with derivative 0 (not inf * 0 = NaN) where p = 0: the rule below is
    differentiated again for higher orders."""
    pos = p > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, p, 1)), 0)


@_entmax15.defjvp
def _entmax15_jvp(primals: Any, tangents: Any) -> tuple[Array, Array]:
    (x,), (t,) = primals, tangents
    p = _entmax15(x)
    g = _safe_sqrt(p)
    t = t.astype(p.dtype)
    acc = compute_dtype(p.dtype)
    gsum = jnp.sum(g, axis=-1, keepdims=True, dtype=acc)
    dot = jnp.sum(g * t, axis=-1, keepdims=True, dtype=acc)
    coef = (dot / jnp.where(gsum == 0, 1, gsum)).astype(p.dtype)
    return p, g * (t - coef)


@declare(Facts("entmax15", kind="normalizer", reference="Peters, Niculae & Martins 2019"))
def entmax15(x: ArrayLike, axis: int = -1, where: ArrayLike | None = None) -> Array:
    r"""1.5-entmax: a sparse normalizer between softmax and sparsemax.

    .. math::
      p_i = \Big[\frac{x_i}{2} - \tau\Big]_+^2, \qquad
      \dot p = g \odot \Big(\dot x - \frac{\langle g, \dot x\rangle}{\sum_j g_j}\Big),
      \quad g = \sqrt{p},

    with :math:`\tau` chosen so :math:`p` sums to 1 (exact sort-based algorithm of Peters et
    al. 2019). Entries at the support boundary have :math:`g = 0`, so the derivative is
    continuous there. Reverse mode keeps one array (:math:`g`).

    Args:
      x: input array.
      axis: the axis to normalize over (a single int).
      where: optional boolean mask, broadcastable to ``x``; False entries get 0.

    Returns:
      An array of the shape and dtype of ``x``, on the simplex along ``axis``.

    Examples:
      >>> jaxact.entmax15(jnp.array([0.0, 0.0]))
      Array([0.5, 0.5], dtype=float32)
      >>> jaxact.entmax15(jnp.array([4.0, 0.0, -1.0]))
      Array([1., 0., 0.], dtype=float32)
    """
    return _along_axis("entmax15", _entmax15, x, axis, where)


def entmax15_jvp(
    x: ArrayLike, tangent: ArrayLike, axis: int = -1, where: ArrayLike | None = None
) -> Array:
    r"""The JVP of :func:`entmax15`, the rule its ``custom_jvp`` uses.

    .. math:: \dot p = g \odot (\dot x - \langle g, \dot x\rangle / \textstyle\sum_j g_j),
      \quad g = \sqrt{p}

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`entmax15`.
      where: as for :func:`entmax15`.

    Returns:
      The output tangent, of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.derivatives.entmax15_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]))
      Array([ 0.35355338, -0.35355338], dtype=float32)
    """
    return public_jvp("entmax15_jvp", entmax15, x, tangent, axis=axis, where=where)
