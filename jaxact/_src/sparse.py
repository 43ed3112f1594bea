"""Sparse normalizers: sparsemax and 1.5-entmax along one axis, with ``where`` masks and
closed-form JVPs (Martins & Astudillo 2016; Peters, Niculae & Martins 2019).

Both find their threshold without a sort (sparsemax by Michelot's fixed point, entmax15 by
Newton's method, :func:`_sort_free`); the exact sort-based algorithms take over for a batch
that has not settled after THRESHOLD_STEPS steps. Masked entries become ``-inf`` before the
core, so they never enter the support and get zero gradient; a fully masked row gives
zeros with zero gradient; a ``+inf`` logit takes all the mass; a NaN makes the row NaN.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.custom_derivatives import SymbolicZero
from jax.typing import ArrayLike

from jaxact._src.arrays import (
    as_float_array,
    as_mask,
    call_jit,
    compute_dtype,
    is_number,
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


def _finish(p: Array, z: Array, mx: Array, support_size: Array) -> Array:
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
    materialized; rows whose maximum is not finite (+inf, NaN, all -inf) are ``_finish``'s."""
    cd = compute_dtype(x.dtype)
    mx = jnp.max(x, axis=-1, keepdims=True).astype(cd) * scale
    shift = jnp.where(jnp.isfinite(mx), mx, 0)

    def shifted() -> Array:
        return x.astype(cd) * scale - shift

    tau, size, settled = threshold(shifted, jnp.isfinite(mx))

    def found() -> Array:
        z = shifted()
        return _finish(jnp.maximum(z - tau, 0) ** power, z, mx, size)

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
    tau1, size1 = next_tau(_minus_one(regular, shifted))
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
    return _finish(jnp.maximum(z - tau, 0), z, mx, size)


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

    tau0 = _minus_one(regular, shifted)  # tau* >= max - 1: the largest p is at most 1
    tau, _, _ = jax.lax.while_loop(moving, step, step((tau0, tau0, jnp.asarray(0))))
    z = shifted()
    above = z > tau
    k = jnp.sum(above, axis=-1, keepdims=True, dtype=z.dtype)
    mean = jnp.sum(jnp.where(above, z, 0), axis=-1, keepdims=True) / jnp.maximum(k, 1)
    ss = jnp.sum(jnp.where(above, jnp.square(z - mean), 0), axis=-1, keepdims=True)
    tau = mean - jnp.sqrt(jnp.maximum((1 - ss) / jnp.maximum(k, 1), 0))
    kept = jnp.sum(z > tau, axis=-1, keepdims=True, dtype=z.dtype)
    return tau, k, (kept == k) | ~regular


def _minus_one(regular: Array, shifted: Callable[[], Array]) -> Array:
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
    return _finish(jnp.square(jnp.maximum(z - tau, 0)), z, mx, size)


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


# --------------------------------------------------------------------------- alpha-entmax

# Bisection halvings of tau's bracket [max - 1, max] (width 1): 30 reach float32's spacing
# near 1, 60 float64's; p is renormalized after. (Newton's method stops by twice as many.)
ENTMAX_ITERS = {32: 30, 64: 60}


# How _entmax finds its threshold: per batch (None: Newton if every alpha <= 2, else
# bisection), "bisect", or an int k: bisection with the power 1 / (alpha - 1) = k known (a
# Python-number alpha such as 1.5 or 2), taken by multiplications.
How = Literal["bisect"] | int | None


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _entmax(x: Array, alpha: Array, how: How = None) -> Array:
    """alpha-entmax along the last axis; alpha broadcasts with size 1 there; ``how``: see
    :data:`How`."""
    cd = compute_dtype(x.dtype)
    xc, ac = x.astype(cd), alpha.astype(cd)
    mx = jnp.max(xc, axis=-1, keepdims=True)
    z = xc - jnp.where(jnp.isfinite(mx), mx, 0)
    # Shift, then scale: the maximum is exactly 0. (Scaling first lets XLA contract
    # x * (alpha - 1) - max into one FMA, which leaves the product's rounding error at the
    # maximum, up to ulp(max): large logits then had no support in the bracket [-1, 0].)
    zs = z * (ac - 1)  # <= 0 in finite rows
    beta = 1 / (ac - 1)
    power = how if isinstance(how, int) else beta
    tau = _entmax_threshold(zs, beta, power, jnp.isfinite(mx), how)
    p = jnp.maximum(zs - tau, 0) ** power
    total = jnp.sum(p, axis=-1, keepdims=True)
    p = p / jnp.where(total == 0, 1, total)
    return _finish(p, z, mx, jnp.sum(p > 0, axis=-1, keepdims=True)).astype(x.dtype)


def _entmax_threshold(
    zs: Array, beta: Array, power: Array | int, regular: Array, how: How = None
) -> Array:
    """The root tau of f(tau) = sum max(zs - tau, 0)^beta - 1 (zs <= 0, max 0): f
    decreases from f(-1) >= 0 (the maximum alone gives 1) to f(0) = -1. For alpha <= 2
    (beta >= 1) f is convex: Newton's method from -1 climbs monotonically to the root
    (~6-10 passes over the row against bisection's 30 for float32, each with a power) and
    settles when a step no longer raises tau. Otherwise the bracket [-1, 0] is bisected.
    ``power`` is beta, or the same as an int (``how``), for the bisection's powers.
    ``how`` (see :data:`How`) fixes the method; None takes Newton's for a batch whose
    alphas are all <= 2, else bisection (one ``lax.cond``). Returns a tau where the mass is
    still >= 1 (a nonempty support)."""
    iters = ENTMAX_ITERS[jnp.finfo(zs.dtype).bits]
    start = _minus_one(regular, lambda: zs)

    def bisect() -> Array:
        def halve(_: int, bounds: tuple[Array, Array]) -> tuple[Array, Array]:
            lo, hi = bounds
            mid = (lo + hi) / 2
            over = jnp.sum(jnp.maximum(zs - mid, 0) ** power, axis=-1, keepdims=True) >= 1
            return jnp.where(over, mid, lo), jnp.where(over, hi, mid)

        return jax.lax.fori_loop(0, iters, halve, (start, jnp.zeros_like(start)))[0]

    def newton() -> Array:
        def step(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
            tau, _, i = state
            d = jnp.maximum(zs - tau, 0)
            dp = jnp.where(d > 0, d ** (beta - 1), 0)  # d^(beta - 1) on the support
            f = jnp.sum(d * dp, axis=-1, keepdims=True) - 1
            slope = beta * jnp.sum(dp, axis=-1, keepdims=True)
            new = tau + f / jnp.maximum(slope, jnp.finfo(slope.dtype).tiny)
            return jnp.maximum(new, tau), tau, i + 1

        def moving(state: tuple[Array, Array, Array]) -> Array:
            tau, before, i = state
            return jnp.any((tau != before) & regular) & (i < 2 * iters)

        return jax.lax.while_loop(moving, step, step((start, start, jnp.asarray(0))))[0]

    if how is None:
        return jax.lax.cond(jnp.all((beta >= 1) | ~regular), newton, bisect)
    return bisect()


def _entmax_jvp(how: How, primals: Any, tangents: Any) -> tuple[Array, Array]:
    (x, alpha), (tx, ta) = primals, tangents
    p = _entmax(x, alpha, how)
    cd = compute_dtype(p.dtype)
    pc, ac = p.astype(cd), alpha.astype(cd)
    support = pc > 0
    safe_p = jnp.where(support, pc, 1)
    g = jnp.where(support, safe_p ** (2 - ac), 0)  # p^(2 - alpha) on the support
    gsum = jnp.sum(g, axis=-1, keepdims=True)
    gsum = jnp.where(gsum == 0, 1, gsum)
    terms = []  # (no zeros array to add to: it would be kept for reverse mode)
    if not isinstance(tx, SymbolicZero):
        # in the input dtype, sums in the compute dtype: reverse mode keeps g as p's dtype
        gl, t = g.astype(p.dtype), tx.astype(p.dtype)
        dot = jnp.sum(gl * t, axis=-1, keepdims=True, dtype=cd)
        terms.append(gl * (t - (dot / gsum).astype(p.dtype)))
    if not isinstance(ta, SymbolicZero):
        # dp/dalpha = (-p log p + g (x - tau')) / (alpha - 1), tau' = (<g, x> + H) / sum g
        # with H = -sum p log p; x shifted by the row maximum (the formula is shift-free).
        xc = x.astype(cd)
        top = jnp.max(jnp.where(support, xc, -jnp.inf), axis=-1, keepdims=True)
        finite = jnp.isfinite(top)
        xs = jnp.where(support & finite, xc - jnp.where(finite, top, 0), 0)
        plogp = jnp.where(support, pc * jnp.log(safe_p), 0)
        entropy = -jnp.sum(plogp, axis=-1, keepdims=True)
        tau_a = (jnp.sum(g * xs, axis=-1, keepdims=True) + entropy) / gsum
        dpa = jnp.where(finite, (-plogp + g * (xs - tau_a)) / (ac - 1), 0)
        terms.append((dpa * ta.astype(cd)).astype(p.dtype))
    out = terms[0] + terms[1] if len(terms) == 2 else (terms[0] if terms else jnp.zeros_like(pc))
    return p, out.astype(p.dtype)


_entmax.defjvp(_entmax_jvp, symbolic_zeros=True)


def _entmax_apply(x: Array, alpha: Array, mask: Array | None, axis: int, how: How = None) -> Array:
    xm = jnp.moveaxis(masked(x, mask), axis, -1)
    am = jnp.moveaxis(alpha, axis, -1)
    return jnp.moveaxis(_entmax(xm, am, how), -1, axis)


def _how(alpha: float) -> How:
    """:data:`How` for a Python-number alpha (> 1): bisection, with the power taken by
    multiplications where 1 / (alpha - 1) is a small integer (alpha 1.5: 2, alpha 2: 1).
    (Newton's method is for array alphas: with a constant non-integer power XLA's program
    for it keeps two more input-sized arrays, 256 MiB against 130 for (8192, 2048).)"""
    beta = 1 / (alpha - 1)
    return int(beta) if beta == int(beta) and 1 <= beta <= 8 else "bisect"


def _entmax_apply_number(x: Array, alpha: Array, mask: Array | None, axis: int, how: How) -> Array:
    """:func:`_entmax_apply` for a Python-number ``alpha`` (jit makes it a weakly typed
    scalar; the general path's eager conversion, reshape and host check of alpha cost ~55
    us a call: float32[1024] 150 -> 95 us)."""
    return _entmax_apply(x, jnp.reshape(alpha, (1,) * x.ndim), mask, axis, how)


@declare(
    Facts(
        "entmax",
        kind="normalizer",
        reference="Peters, Niculae & Martins 2019; Correia, Niculae & Martins 2019",
    )
)
def entmax(
    x: ArrayLike, alpha: ArrayLike = 1.5, axis: int = -1, where: ArrayLike | None = None
) -> Array:
    r"""alpha-entmax: sparse normalizers from softmax (:math:`\alpha \to 1`) to sparsemax
    (:math:`\alpha = 2`), differentiable in ``x`` and in :math:`\alpha`.

    .. math::
      p_i = \big[(\alpha - 1) x_i - \tau\big]_+^{1/(\alpha - 1)}, \qquad
      \dot p = g \odot \Big(\dot x - \frac{\langle g, \dot x\rangle}{\sum_j g_j}\Big)
        + \frac{\partial p}{\partial \alpha}\,\dot\alpha,

    with :math:`\tau` such that :math:`p` sums to 1 (Newton's method for :math:`\alpha \le 2`,
    bisection above), :math:`g = p^{2 - \alpha}` on the support and 0 off it, and
    :math:`\frac{\partial p}{\partial \alpha} =
    \frac{1}{\alpha - 1}\big(-p \log p + g \odot (x - \tau')\big)`,
    :math:`\tau' = (\langle g, x\rangle + H(p)) / \sum_j g_j`, :math:`H` the Shannon entropy
    (Correia et al. 2019). Equal to :func:`entmax15` at :math:`\alpha = 1.5` and to
    :func:`sparsemax` at :math:`\alpha = 2`, to float tolerance. ``alpha`` is a
    differentiable array that broadcasts against ``x`` with size 1 along ``axis`` (one
    :math:`\alpha` per head: shape ``(H, 1, 1)`` for ``(B, H, T, T)`` scores); it must be
    :math:`> 1` (checked when concrete). Masks, extremes and empty rows behave as for
    :func:`sparsemax`. Reverse mode keeps one array (:math:`g`), and :math:`\partial
    p/\partial\alpha` as well when :math:`\alpha` is differentiated.

    Args:
      x: input array.
      alpha: :math:`\alpha > 1` (default 1.5), differentiable.
      axis: the axis to normalize over (a single int).
      where: optional boolean mask, broadcastable to ``x``; False entries get 0.

    Returns:
      An array of the shape and dtype of ``x``, on the simplex along ``axis``.

    Examples:
      >>> jaxact.entmax(jnp.array([1.0, 1.0, -5.0]), alpha=2.0)
      Array([0.5, 0.5, 0. ], dtype=float32)
      >>> jaxact.entmax(jnp.array([0.0, 0.0]), alpha=1.25)
      Array([0.5, 0.5], dtype=float32)
    """
    xa = as_float_array("entmax", x)
    ax = single_axis("entmax", axis, xa.ndim)
    mask = as_mask("entmax", where, xa.shape)
    if is_number(alpha):  # the common call: checked here, shaped inside the program
        if not alpha > 1:
            raise ValueError(f"entmax: `alpha` must be > 1, got {alpha}")
        if xa.shape[ax] == 0:
            return xa
        return call_jit(_entmax_apply_number, (xa, alpha, mask), (ax, _how(alpha)))
    aa = as_float_array("entmax", alpha, "alpha")
    rows = tuple(1 if i == ax else d for i, d in enumerate(xa.shape))
    if aa.ndim > xa.ndim:
        raise ValueError(f"entmax: `alpha` of shape {aa.shape} has more axes than `x`")
    aa = aa.reshape((1,) * (xa.ndim - aa.ndim) + aa.shape)
    try:
        fits = np.broadcast_shapes(aa.shape, rows) == rows
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"entmax: `alpha` of shape {aa.shape} must broadcast to {rows} (size 1 along axis)"
        )
    try:
        concrete = np.asarray(aa)
    except jax.errors.TracerArrayConversionError:
        concrete = None
    if concrete is not None and not (concrete > 1).all():
        raise ValueError(f"entmax: `alpha` must be > 1, got {concrete}")
    return xa if xa.shape[ax] == 0 else call_jit(_entmax_apply, (xa, aa, mask), (ax,))


def entmax_jvp(
    x: ArrayLike,
    tangent: ArrayLike,
    alpha: ArrayLike = 1.5,
    axis: int = -1,
    where: ArrayLike | None = None,
) -> Array:
    r"""The JVP of :func:`entmax` in ``x``: :math:`\dot p = g \odot (\dot x - \langle g,
    \dot x\rangle / \sum_j g_j)`, :math:`g = p^{2 - \alpha}` on the support.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      alpha: as for :func:`entmax`.
      axis: as for :func:`entmax`.
      where: as for :func:`entmax`.

    Returns:
      The output tangent, of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.derivatives.entmax_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]), alpha=2.0)
      Array([ 0.5, -0.5], dtype=float32)
    """
    return public_jvp("entmax_jvp", entmax, x, tangent, alpha=alpha, axis=axis, where=where)
