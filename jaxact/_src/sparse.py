"""Sparse normalizers: sparsemax and 1.5-entmax along one axis, with ``where`` masks and
closed-form JVPs (Martins & Astudillo 2016; Peters, Niculae & Martins 2019).

Both find their threshold without a sort (sparsemax by Michelot's fixed point, entmax15 by
Newton's method, :func:`_sort_free`); the exact sort-based algorithms take over for a batch
that has not settled after THRESHOLD_STEPS steps. Masked entries become ``-inf`` before the
core, so they never enter the support and get zero gradient; a fully masked row gives
zeros with zero gradient; a ``+inf`` logit takes all the mass; a NaN makes the row NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxact._src.arrays import (
    as_float_array,
    as_mask,
    call_jit,
    compute_dtype,
    masked,
    public_jvp,
    single_axis,
)
from jaxact._src.core import select_tangent
from jaxact._src.facts import Facts, Kink, declare


def _prepare(z: Array) -> tuple[Array, Array, Array, Array]:
    """Shift by the finite max (both maps are shift-invariant) and sort descending."""
    mx = jnp.max(z, axis=-1, keepdims=True)
    shift = jnp.where(jnp.isfinite(mx), mx, 0)
    z = z - shift
    zs = -jnp.sort(-z, axis=-1)
    k = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype).reshape((1,) * (z.ndim - 1) + (-1,))
    return z, zs, k, mx


def finish(p: Array, z: Array, mx: Array, support_size: Array) -> Array:
    """Rows with +inf logits: all mass on them; rows with no support: zeros; NaN rows: NaN."""
    is_inf = z == jnp.inf
    n_inf = jnp.sum(is_inf, axis=-1, keepdims=True).astype(z.dtype)
    p = jnp.where(support_size == 0, 0, p)
    # after the empty-support zeros: an inf - inf threshold leaves no support in such rows
    p = jnp.where(mx == jnp.inf, is_inf.astype(z.dtype) / jnp.maximum(n_inf, 1), p)
    # not from mx: XLA's CPU max reduction skips NaNs in rows of 4096 and more
    has_nan = jnp.any(jnp.isnan(z), axis=-1, keepdims=True)
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


# Most steps of a sort-free threshold search before the sort-based algorithm takes over.
THRESHOLD_STEPS = 64

Threshold = Callable[[Callable[[], Array], Array], tuple[Array, Array, Array]]


def _sort_free(
    x: Array, scale: float, power: int, threshold: Threshold, sorted_map: Callable[[Array], Array]
) -> Array:
    """max(z - tau, 0)^power with z = scale * x - max, tau from ``threshold(shifted, regular)``
    -> (tau, support size, settled) per row; a batch with an unsettled row is mapped by
    ``sorted_map`` (one ``lax.cond``). z is formed inside each loop that reads it, never
    materialized; rows whose maximum is not finite (+inf, NaN, all -inf) are ``finish``'s."""
    cd = compute_dtype(x.dtype)
    mx = jnp.max(x, axis=-1, keepdims=True).astype(cd) * scale
    shift = jnp.where(jnp.isfinite(mx), mx, 0)

    def shifted() -> Array:
        return x.astype(cd) * scale - shift

    tau, size, settled = threshold(shifted, jnp.isfinite(mx))

    def found() -> Array:
        z = shifted()
        return finish(jnp.maximum(z - tau, 0) ** power, z, mx, size)

    return jax.lax.cond(jnp.all(settled), found, lambda: sorted_map(x.astype(cd)))


@jax.custom_jvp
def _sparsemax(x: Array) -> Array:
    return _sort_free(x, 1.0, 1, _sparsemax_threshold, _sparsemax_sorted).astype(x.dtype)


def _sparsemax_threshold(
    shifted: Callable[[], Array], regular: Array
) -> tuple[Array, Array, Array]:
    """The threshold tau of sparsemax by Michelot's fixed point (no sort): with S the
    entries above the current tau (those within 1 of the maximum at first), tau =
    (sum_S z - 1) / |S|.
    Each step keeps tau non-decreasing and S shrinking, so the support is found when |S|
    stops changing (at most n steps; ~10 for Gaussian or uniform rows of 2048, one pass over
    the row each). Returns (tau, |S|, converged) per row; a row still moving after
    THRESHOLD_STEPS steps is handed to the sort-based algorithm."""

    def stats(tau: Array) -> tuple[Array, Array]:
        z = shifted()
        above = z > tau
        return (
            jnp.sum(jnp.where(above, z, 0), axis=-1, keepdims=True),
            jnp.sum(above, axis=-1, keepdims=True, dtype=z.dtype),
        )

    def next_tau(tau: Array) -> tuple[Array, Array]:
        total, size = stats(tau)
        return jnp.maximum((total - 1) / jnp.maximum(size, 1), tau), size

    def moving(state: tuple[Array, Array, Array, Array]) -> Array:
        _, size, before, step = state
        return jnp.any(size != before) & (step < THRESHOLD_STEPS)

    def step(state: tuple[Array, Array, Array, Array]) -> tuple[Array, Array, Array, Array]:
        tau, size, _, i = state
        new_tau, new_size = next_tau(tau)
        return new_tau, new_size, size, i + 1

    # tau* >= max - 1 (the largest entry's probability is at most 1), so the entries within 1
    # of the maximum hold the support: the first sum is over them (bounded: summing every
    # entry could overflow, as [0, 0, 2^127] does, to -inf)
    tau1, size1 = next_tau(minus_one(regular, shifted))
    init = (tau1, size1, jnp.full_like(size1, -1), jnp.asarray(0))
    tau, size, before, _ = jax.lax.while_loop(moving, step, init)
    # tau came from the entries above the previous tau; they are the support once fixed
    return tau, size, size == before


def _sparsemax_sorted(xc: Array) -> Array:
    """sparsemax by sorting (Martins & Astudillo): the fallback of the fixed point."""
    z, zs, k, mx = _prepare(xc)
    cs = jnp.cumsum(zs, axis=-1)
    in_support = 1 + k * zs > cs
    size = jnp.sum(in_support, axis=-1, keepdims=True)
    idx = jnp.maximum(size - 1, 0)
    tau = (jnp.take_along_axis(cs, idx, axis=-1) - 1) / jnp.maximum(size, 1).astype(z.dtype)
    return finish(jnp.maximum(z - tau, 0), z, mx, size)


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
    r"""The JVP of :func:`~jaxact.sparsemax`: :math:`\dot p = \mathbb{1}_S \odot (\dot x -
    \mathrm{mean}_S\,\dot x)`, the rule its ``custom_jvp`` uses.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`~jaxact.sparsemax`.
      where: as for :func:`~jaxact.sparsemax`.

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
    return _sort_free(x, 0.5, 2, _entmax15_threshold, _entmax15_sorted).astype(x.dtype)


def _entmax15_threshold(shifted: Callable[[], Array], regular: Array) -> tuple[Array, Array, Array]:
    """The threshold of 1.5-entmax without a sort: Newton's method on the convex, decreasing
    f(tau) = sum max(z - tau, 0)^2 from tau = max - 1 (where f >= 1) climbs monotonically to
    the root (~6-10 steps), then tau comes from its closed form over the support S found,
    mean_S - sqrt((1 - sum_S (z - mean_S)^2) / |S|), as the sort-based algorithm computes
    it. Returns (tau, |S|, consistent): a row whose closed-form tau does not keep exactly S
    above it (or still moving after THRESHOLD_STEPS steps) is handed to the sort."""

    def stats(tau: Array) -> tuple[Array, Array]:
        d = jnp.maximum(shifted() - tau, 0)
        return jnp.sum(d * d, axis=-1, keepdims=True), jnp.sum(d, axis=-1, keepdims=True)

    def step(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        tau, _, i = state
        f, g = stats(tau)
        new = jnp.maximum(tau + (f - 1) / jnp.maximum(2 * g, jnp.finfo(g.dtype).tiny), tau)
        return new, tau, i + 1

    def moving(state: tuple[Array, Array, Array]) -> Array:
        tau, before, i = state
        return jnp.any((tau != before) & regular) & (i < THRESHOLD_STEPS)

    tau0 = minus_one(regular, shifted)  # tau* >= max - 1: the largest p is at most 1
    tau, _, _ = jax.lax.while_loop(moving, step, step((tau0, tau0, jnp.asarray(0))))
    z = shifted()
    above = z > tau
    k = jnp.sum(above, axis=-1, keepdims=True, dtype=z.dtype)
    mean = jnp.sum(jnp.where(above, z, 0), axis=-1, keepdims=True) / jnp.maximum(k, 1)
    ss = jnp.sum(jnp.where(above, jnp.square(z - mean), 0), axis=-1, keepdims=True)
    tau = mean - jnp.sqrt(jnp.maximum((1 - ss) / jnp.maximum(k, 1), 0))
    kept = jnp.sum(z > tau, axis=-1, keepdims=True, dtype=z.dtype)
    return tau, k, (kept == k) | ~regular


def minus_one(regular: Array, shifted: Callable[[], Array]) -> Array:
    """-1 (tau = max - 1 in shifted units) per row, formed from the rows: under shard_map a
    loop's first carry must vary with them as its later values do."""
    return jnp.where(regular, -1, -1).astype(jax.eval_shape(shifted).dtype)


def _entmax15_sorted(xc: Array) -> Array:
    """1.5-entmax by sorting (Peters et al.): the fallback of the Newton threshold."""
    z, zs, k, mx = _prepare(xc / 2)
    mean = jnp.cumsum(zs, axis=-1) / k
    mean_sq = jnp.cumsum(jnp.square(zs), axis=-1) / k
    ss = k * (mean_sq - jnp.square(mean))
    delta = (1 - ss) / k
    tau_k = mean - jnp.sqrt(jnp.maximum(delta, 0))
    size = jnp.sum(tau_k <= zs, axis=-1, keepdims=True)
    tau = jnp.take_along_axis(tau_k, jnp.maximum(size - 1, 0), axis=-1)
    return finish(jnp.square(jnp.maximum(z - tau, 0)), z, mx, size)


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
    r"""The JVP of :func:`~jaxact.entmax15`, the rule its ``custom_jvp`` uses.

    .. math:: \dot p = g \odot (\dot x - \langle g, \dot x\rangle / \textstyle\sum_j g_j),
      \quad g = \sqrt{p}

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`~jaxact.entmax15`.
      where: as for :func:`~jaxact.entmax15`.

    Returns:
      The output tangent, of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.derivatives.entmax15_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]))
      Array([ 0.35355338, -0.35355338], dtype=float32)
    """
    return public_jvp("entmax15_jvp", entmax15, x, tangent, axis=axis, where=where)
