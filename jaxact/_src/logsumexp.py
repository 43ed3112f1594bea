"""The reductions of the softmax family: logsumexp and logmeanexp, each with an analytic
JVP built on the row statistics of ``jaxact._src.rows`` (exact for a dominant entry)."""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxact._src import kernels as K
from jaxact._src.arrays import (
    as_float_array,
    as_mask,
    call_jit,
    compute_dtype,
    masked,
    normalize_axes,
    public_jvp,
)
from jaxact._src.facts import Facts, declare
from jaxact._src.rows import (
    Rows,
    empty_rows,
    inf_row,
    reduced_shape,
    row_stats,
    shifted,
    weighted_sum,
)
from jaxact._src.softmax import Axis

# --------------------------------------------------------------------------- logsumexp


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _logsumexp_b(a: Array, b: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """(log|sum b e^a|, sign) along axes, keepdims; b already broadcast to a."""
    ac = a.astype(compute_dtype(a.dtype))
    bc = b.astype(ac.dtype)
    e, m = shifted(ac, axes)
    total = jnp.sum(bc * e, axis=axes, keepdims=True)
    sign = jnp.sign(total)
    mx = jnp.max(ac, axis=axes, keepdims=True)
    y = m + jnp.log(jnp.abs(total))
    y = jnp.where(mx == jnp.inf, jnp.where(total > 0, jnp.inf, jnp.nan), y)
    return y.astype(a.dtype), sign.astype(a.dtype)


@_logsumexp_b.defjvp
def _logsumexp_b_jvp(
    axes: tuple[int, ...], primals: Any, tangents: Any
) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    (a, b), (ta, tb) = primals, tangents
    y, sign = _logsumexp_b(a, b, axes)
    ac = a.astype(compute_dtype(a.dtype))
    e, _ = shifted(ac, axes)
    total = jnp.sum(b.astype(ac.dtype) * e, axis=axes, keepdims=True)
    w = (e / jnp.where(total == 0, 1, total)).astype(a.dtype)  # e^(a - y) * sign
    acc = compute_dtype(a.dtype)
    dy = jnp.sum(b * w * ta.astype(a.dtype), axis=axes, keepdims=True, dtype=acc)
    dy = dy + jnp.sum(w * tb.astype(a.dtype), axis=axes, keepdims=True, dtype=acc)
    return (y, sign), (dy.astype(a.dtype), jnp.zeros_like(sign))


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _logsumexp(a: Array, axes: tuple[int, ...]) -> Array:
    return _logsumexp_rows(a, row_stats(a, axes, for_value_only=True))


def _logsumexp_rows(a: Array, r: Rows) -> Array:
    finite = jnp.where(inf_row(r), jnp.inf, r.m + jnp.log1p(r.rest))
    return jnp.where(inf_row(r, -jnp.inf), -jnp.inf, finite).astype(a.dtype)


@_logsumexp.defjvp
def _logsumexp_jvp(axes: tuple[int, ...], primals: Any, tangents: Any) -> tuple[Array, Array]:
    (a,), (t,) = primals, tangents
    r = row_stats(a, axes, for_value_only=True)
    return _logsumexp_rows(a, r), weighted_sum(a, r, t, axes).astype(a.dtype)


def _logsumexp_impl(
    a: Array,
    b: Array | None,
    mask: Array | None,
    axes: tuple[int, ...],
    keepdims: bool,
    return_sign: bool,
) -> Any:
    a = masked(a, mask)
    if b is None:
        y = _logsumexp(a, axes)
        sign = jnp.where(y == -jnp.inf, 0, 1).astype(y.dtype)
    else:
        if mask is not None:
            b = jnp.where(mask, b, 0)
        y, sign = _logsumexp_b(a, b, axes)
        if not return_sign:
            y = jnp.where(sign < 0, jnp.nan, y)
    if not keepdims:
        y, sign = jnp.squeeze(y, axes), jnp.squeeze(sign, axes)
    return (y, jax.lax.stop_gradient(sign)) if return_sign else y


@declare(Facts("logsumexp", kind="reduction", jax_nn="logsumexp"))
def logsumexp(
    a: ArrayLike,
    axis: Axis = None,
    b: ArrayLike | None = None,
    keepdims: bool = False,
    return_sign: bool = False,
    where: ArrayLike | None = None,
) -> Array | tuple[Array, Array]:
    r"""Log-sum-exp along ``axis`` (``jax.nn.logsumexp``'s signature), with an analytic JVP.

    .. math::
      y = \log\sum_i b_i e^{a_i}, \qquad
      \frac{\partial y}{\partial a_i} = \frac{b_i e^{a_i}}{\sum_j b_j e^{a_j}}, \qquad
      \frac{\partial y}{\partial b_i} = \frac{e^{a_i}}{\sum_j b_j e^{a_j}}.

    Without ``b``, evaluated as :math:`m + \mathrm{log1p}(\cdot)` of the non-maximal terms
    (exact when one term dominates). An empty or fully masked reduction gives
    :math:`-\infty` with zero, finite gradients (``jax.nn``'s gradient is NaN). With
    ``return_sign`` it returns ``(log|sum|, sign)``; otherwise a negative sum gives NaN.
    Reverse mode keeps one array (``a``) and two row-sized statistics, and rebuilds the
    softmax weights inside the backward loop.

    Args:
      a: input array.
      axis: an int, a tuple of ints, or None (all axes, the default).
      b: optional weights, broadcastable to ``a`` (differentiable).
      keepdims: keep the reduced axes with size 1.
      return_sign: also return the sign of the sum.
      where: optional boolean mask, broadcastable to ``a``; False entries are left out.

    Returns:
      The reduction (and its sign with ``return_sign``), of the dtype of ``a``.

    Examples:
      >>> jaxact.logsumexp(jnp.array([0.0, 0.0]))
      Array(0.6931472, dtype=float32)
      >>> jaxact.logsumexp(jnp.array([-jnp.inf, -jnp.inf]))
      Array(-inf, dtype=float32)
      >>> jaxact.logsumexp(jnp.array([1.0, 1.0]), b=jnp.array([1.0, -2.0]), return_sign=True)
      (Array(1., dtype=float32), Array(-1., dtype=float32))
    """
    aa = as_float_array("logsumexp", a, "a")
    axes = normalize_axes("logsumexp", axis, aa.ndim)
    mask = as_mask("logsumexp", where, aa.shape)
    bb = None
    if b is not None:
        bb = as_float_array("logsumexp", b, "b")
        if bb.ndim > aa.ndim:
            raise ValueError(f"logsumexp: `b` of shape {bb.shape} does not broadcast to {aa.shape}")
        bb = bb.reshape((1,) * (aa.ndim - bb.ndim) + bb.shape)
        try:
            bb = jnp.broadcast_to(bb, aa.shape)
        except ValueError:
            raise ValueError(
                f"logsumexp: `b` of shape {bb.shape} does not broadcast to {aa.shape}"
            ) from None
    if empty_rows(aa, axes):  # the sum of nothing is 0: log 0 = -inf, sign 0
        shape = reduced_shape(aa.shape, axes, keepdims)
        y = jnp.full(shape, -jnp.inf, aa.dtype)
        return (y, jnp.zeros(shape, aa.dtype)) if return_sign else y
    return call_jit(_logsumexp_impl, (aa, bb, mask), (axes, bool(keepdims), bool(return_sign)))


def logsumexp_jvp(
    a: ArrayLike, tangent: ArrayLike, axis: Axis = None, where: ArrayLike | None = None
) -> Array:
    r"""The JVP of :func:`~jaxact.logsumexp` in ``a``: :math:`\dot y = \langle \mathrm{softmax}(a),
    \dot a\rangle`.

    Args:
      a: input array.
      tangent: the input tangent, of the shape of ``a``.
      axis: as for :func:`~jaxact.logsumexp`.
      where: as for :func:`~jaxact.logsumexp`.

    Returns:
      The output tangent, of the reduced shape.

    Examples:
      >>> jaxact.derivatives.logsumexp_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]))
      Array(0.5, dtype=float32)
    """
    return public_jvp("logsumexp_jvp", logsumexp, a, tangent, axis=axis, where=where)


# --------------------------------------------------------------------------- logmeanexp


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _logmeanexp(x: Array, w: Array | None, axes: tuple[int, ...]) -> Array:
    """log(mean of e^x over the entries with weight w = 1, all if w is None), keepdims;
    masked x are -inf."""
    xc = x.astype(compute_dtype(x.dtype))
    r = row_stats(x, axes)
    wc = None if w is None else w.astype(xc.dtype)
    if wc is None:  # the count is static: no pass over the data
        n = jnp.full_like(r.m, math.prod(xc.shape[a] for a in axes))
    else:
        n = jnp.sum(wc, axis=axes, keepdims=True)
    # Where the entries are alike (mean of e^(x - m) > 1/2), D = sum of e^(x - m) - 1 over
    # the kept entries, each term in (-1, 0], so log1p(D / n) has no cancellation (jax.nn's
    # log sum - log n has); its own pass over the data runs only when some row needs it.
    s = 1 + r.rest  # sum of e^(x - m)

    def expm1_sum() -> Array:  # from x, not xc: a cond operand would be materialized
        e = jnp.expm1(x.astype(r.m.dtype) - K.finite_or_zero(r.m))
        return jnp.sum(e if wc is None else wc * e, axis=axes, keepdims=True)

    d = jax.lax.cond(jnp.any(s > n / 2), expm1_sum, lambda: s - n)
    alike = d / n > -0.5
    # Where one entry dominates, m - log n + log1p(rest) keeps the exact rest (logsumexp's).
    dominant = (r.m - jnp.log(n)) + jnp.log1p(r.rest)
    y = jnp.where(alike, r.m + jnp.log1p(d / jnp.where(alike, n, 1)), dominant)
    y = jnp.where(inf_row(r), jnp.inf, y)
    return jnp.where(n == 0, jnp.nan, y).astype(x.dtype)


@_logmeanexp.defjvp
def _logmeanexp_jvp(axes: tuple[int, ...], primals: Any, tangents: Any) -> tuple[Array, Array]:
    (x, w), (t, _) = primals, tangents
    r = row_stats(x, axes)
    return _logmeanexp(x, w, axes), weighted_sum(x, r, t, axes).astype(x.dtype)


def _logmeanexp_impl(x: Array, mask: Array | None, axes: tuple[int, ...], keepdims: bool) -> Array:
    w = None if mask is None else mask.astype(x.dtype)
    y = _logmeanexp(masked(x, mask), w, axes)
    return y if keepdims else jnp.squeeze(y, axes)


@declare(Facts("logmeanexp", kind="reduction", jax_nn="logmeanexp"))
def logmeanexp(
    x: ArrayLike, axis: Axis = None, where: ArrayLike | None = None, keepdims: bool = False
) -> Array:
    r"""Log-mean-exp along ``axis`` (``jax.nn.logmeanexp``'s signature), with an analytic JVP.

    .. math::
      y = \log\frac{1}{n}\sum_{i} e^{x_i}, \qquad
      \frac{\partial y}{\partial x_i} = \frac{e^{x_i}}{\sum_j e^{x_j}}, \qquad
      \dot y = \langle \mathrm{softmax}(x), \dot x \rangle,

    with :math:`n` the number of entries (unmasked entries, with ``where``). Evaluated as
    :math:`m + \mathrm{log1p}(\frac1n \sum_i (e^{x_i - m} - 1))` (:math:`m` the maximum)
    where the entries are alike (each term in :math:`(-1, 0]`: no cancellation inside the
    sum, where ``jax.nn``'s :math:`\log\sum - \log n` cancels as the mean nears 1), and as
    :math:`m - \log n + \mathrm{log1p}(\cdot)` of the non-maximal terms where one entry
    dominates (exact, as :func:`logsumexp`). The result is accurate to a few ulps of
    :math:`\max(|y|, |m|)`. An empty or fully masked reduction is NaN, the mean of nothing (as
    in ``jax.nn``), with zero gradient; masked entries get zero gradient. Reverse mode
    keeps ``x`` and two row statistics.

    Args:
      x: input array.
      axis: an int, a tuple of ints, or None (all axes, the default).
      where: optional boolean mask, broadcastable to ``x``; False entries are left out.
      keepdims: keep the reduced axes with size 1.

    Returns:
      The reduction, of the dtype of ``x``.

    Examples:
      >>> jaxact.logmeanexp(jnp.array([0.0, 0.0, 0.0]))
      Array(0., dtype=float32)
      >>> jaxact.logmeanexp(jnp.array([1e-4, 0.0]))  # log((e^0.0001 + 1)/2) = 5.000125e-05
      Array(5.0001247e-05, dtype=float32)
      >>> jaxact.logmeanexp(jnp.array([2.0, 9.0]), where=jnp.array([True, False]))
      Array(2., dtype=float32)
    """
    xa = as_float_array("logmeanexp", x)
    axes = normalize_axes("logmeanexp", axis, xa.ndim)
    mask = as_mask("logmeanexp", where, xa.shape)
    if empty_rows(xa, axes):  # the mean of nothing
        return jnp.full(reduced_shape(xa.shape, axes, keepdims), jnp.nan, xa.dtype)
    return call_jit(_logmeanexp_impl, (xa, mask), (axes, bool(keepdims)))


def logmeanexp_jvp(
    x: ArrayLike, tangent: ArrayLike, axis: Axis = None, where: ArrayLike | None = None
) -> Array:
    r"""The JVP of :func:`~jaxact.logmeanexp`: :math:`\dot y = \langle \mathrm{softmax}(x), \dot x
    \rangle` over the reduced (unmasked) entries.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`~jaxact.logmeanexp`.
      where: as for :func:`~jaxact.logmeanexp`.

    Returns:
      The output tangent, of the reduced shape.

    Examples:
      >>> jaxact.derivatives.logmeanexp_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]))
      Array(0.5, dtype=float32)
    """
    return public_jvp("logmeanexp_jvp", logmeanexp, x, tangent, axis=axis, where=where)
