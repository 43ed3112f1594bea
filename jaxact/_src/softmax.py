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
    single_axis,
)
from jaxact._src.facts import Facts, declare
from jaxact._src.rows import (
    Rows,
    empty_rows,
    exact_rest,
    inf_row,
    map_rows,
    minus_max,
    rest_paths,
    shifted,
    split_sums,
    two_pass,
    weighted_sum,
)

Axis = int | tuple[int, ...] | None


# --------------------------------------------------------------------------- softmax


def softmax_tangent(s: Array, t: Array, axes: tuple[int, ...]) -> Array:
    r"""The softmax JVP from its output: :math:`\dot s = s\odot(\dot x - \langle s,\dot x\rangle)`.

    Products stay in the dtype of ``s`` (so reverse mode keeps one array of that dtype);
    the inner product accumulates in float32 for 16-bit inputs.
    """
    t = t.astype(s.dtype)
    dot = jnp.sum(s * t, axis=axes, keepdims=True, dtype=compute_dtype(s.dtype))
    return s * (t - dot.astype(s.dtype))


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _softmax(x: Array, axes: tuple[int, ...], negate: bool = False) -> Array:
    """Softmax (of -x with ``negate``: softmin) in one of two programs: rows without a
    +inf entry (all of them, in practice) by :func:`_softmax_fast`, which XLA's CPU
    reduction kernel (ynn) runs as one fused pass like jax.nn's; a batch with a +inf entry
    by :func:`_softmax_inf` (one ``lax.cond`` on the row maxima, taken in the input dtype;
    under ``vmap`` both run). The negation is traced inside each loop: a negated copy of x
    as the ``cond`` operand would be materialized."""

    def v() -> Array:
        return -x if negate else x

    m = jnp.max(v(), axis=axes, keepdims=True).astype(compute_dtype(x.dtype))
    return jax.lax.cond(
        jnp.any(m == jnp.inf),
        lambda: _softmax_inf(x, m, axes, negate),
        lambda: _softmax_fast(v(), m, axes),
    )


def _softmax_fast(x: Array, m: Array, axes: tuple[int, ...]) -> Array:
    """e^(x - m) / sum, select-free (XLA fuses it into one reduction kernel): an all--inf
    row has m raised to the lowest finite number, so its e is 0 and 0 / max(0, tiny) = 0."""
    e = jnp.exp(minus_max(x.astype(m.dtype), m))
    total = jnp.sum(e, axis=axes, keepdims=True)
    tiny = K.opaque(float(jnp.finfo(m.dtype).tiny), total)
    return (e / jnp.maximum(total, tiny)).astype(x.dtype)


def _softmax_inf(x: Array, m: Array, axes: tuple[int, ...], negate: bool) -> Array:
    """Softmax (of -x with ``negate``) where some row holds +inf (its infinities share the
    mass, the rest get 0), by row chunks (see :func:`map_rows`) so that its select arrays
    stay small; x is negated inside each chunk."""

    def block(xb: Array, mb: Array, ax: tuple[int, ...]) -> Array:
        e = K.exp_shifted((-xb if negate else xb).astype(mb.dtype), mb)
        total = jnp.sum(e, axis=ax, keepdims=True)
        return (e / jnp.where(total == 0, 1, total)).astype(xb.dtype)

    return map_rows(block, x, m, axes)


@_softmax.defjvp
def _softmax_jvp(
    axes: tuple[int, ...], negate: bool, primals: Any, tangents: Any
) -> tuple[Array, Array]:
    (x,), (t,) = primals, tangents
    s = _softmax(x, axes, negate)
    return s, softmax_tangent(s, -t if negate else t, axes)


def _softmax_masked(x: Array, mask: Array | None, axes: tuple[int, ...]) -> Array:
    return _softmax(masked(x, mask), axes)


def _softmin_masked(x: Array, mask: Array | None, axes: tuple[int, ...]) -> Array:
    # masked entries become +inf here, -inf once negated inside _softmax
    return _softmax(x if mask is None else jnp.where(mask, x, jnp.inf), axes, True)


@declare(Facts("softmax", kind="normalizer", jax_nn="softmax", reference="Bridle 1990"))
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
    mask = as_mask("softmax", where, xa.shape)
    return xa if empty_rows(xa, axes) else call_jit(_softmax_masked, (xa, mask), (axes,))


def softmax_jacobian(x: ArrayLike, axis: int = -1) -> Array:
    r"""The full Jacobian of :func:`~jaxact.softmax` along one axis.

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
    ax = single_axis("softmax_jacobian", axis, xa.ndim)
    return _softmax_jacobian(jnp.moveaxis(xa, ax, -1))


@jax.jit
def _softmax_jacobian(x: Array) -> Array:
    cd = compute_dtype(x.dtype)
    e, _ = shifted(x.astype(cd), (x.ndim - 1,))
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
    r"""The Jacobian-vector product of :func:`~jaxact.softmax`: the rule its ``custom_jvp`` uses.

    .. math:: \dot s = s \odot (\dot x - \langle s, \dot x \rangle)

    Args:
      x: input array.
      tangent: the input tangent :math:`\dot x`, of the shape of ``x``.
      axis: as for :func:`~jaxact.softmax`.
      where: as for :func:`~jaxact.softmax`.

    Returns:
      The output tangent :math:`\dot s`, of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.derivatives.softmax_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]))
      Array([ 0.25, -0.25], dtype=float32)
    """
    return public_jvp("softmax_jvp", softmax, x, tangent, axis=axis, where=where)


# --------------------------------------------------------------------------- log_softmax


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _log_softmax(x: Array, axes: tuple[int, ...]) -> Array:
    return _log_softmax_fused(x, axes)


def _log_softmax_fused(x: Array, axes: tuple[int, ...]) -> Array:
    """log_softmax(x) for the forward alone. Unless some row holds +inf (one ``lax.cond``
    on the row maxima, taken in x's dtype), one select-free loop that XLA's CPU reduction
    kernel runs like jax.nn's: ``rest`` = (sum over the non-maximal entries) + (number of
    maxima - 1) from :func:`split_sums` (exact for confident rows too, no rounding against
    the 1s), then (x - m) - log1p(rest). An all--inf row: x - m is -inf with m raised to
    the lowest finite number, and rest = -1 enters log1p as 0."""
    m = jnp.max(x, axis=axes, keepdims=True).astype(compute_dtype(x.dtype))

    def fast() -> tuple[Array, Array]:
        others, ties = split_sums(x, m, axes)
        rest = others + (ties - 1)
        y = minus_max(x.astype(m.dtype), m) - jnp.log1p(jnp.maximum(rest, K.opaque(0.0, rest)))
        return y.astype(x.dtype), rest

    def exact() -> tuple[Array, Array]:
        rest = exact_rest(x, m, axes)
        return _log_softmax_rows(x, Rows(m, rest)), rest

    return jax.lax.cond(jnp.any(m == jnp.inf), exact, fast)[0]


def _log_softmax_and_rows(x: Array, axes: tuple[int, ...]) -> tuple[Array, Rows]:
    """(log_softmax(x), its row statistics) for the JVP, the output formed inside each
    branch of :func:`row_stats`'s ``switch`` (so the branch's pass over x is its own loop and
    XLA shares no widened copy of a 16-bit x with the sum). Here the statistics feed the
    backward loop too, and the separate passes (max, sum; the split sum only for a batch
    with a confident row) beat :func:`_log_softmax_fused`'s two-sum kernel: XLA runs the
    loops that follow a two-output reduction kernel slowly on this backend."""
    m, s, path = two_pass(x, axes)

    def branch(rest: Any) -> Any:
        return lambda: (lambda r: (_log_softmax_rows(x, Rows(m, r)), r))(rest())

    y, rest = jax.lax.switch(path, [branch(p) for p in rest_paths(x, m, s, axes)])
    return y, Rows(m, rest)


def _log_softmax_rows(x: Array, r: Rows) -> Array:
    xc = x.astype(compute_dtype(x.dtype))
    # x + (-m) is x - m bit for bit; written so, XLA does not share one materialized
    # broadcast of m between this loop and the reductions in rows.
    y = (xc + -K.finite_or_zero(r.m)) - jnp.log1p(r.rest)
    # A +inf entry takes all the mass (shared among the n infinities: -log n); an all--inf
    # (fully masked) row is -inf.
    y = jnp.where(inf_row(r), jnp.where(xc == jnp.inf, -jnp.log1p(r.rest), -jnp.inf), y)
    y = jnp.where(inf_row(r, -jnp.inf), -jnp.inf, y)
    return y.astype(x.dtype)


@_log_softmax.defjvp
def _log_softmax_jvp(axes: tuple[int, ...], primals: Any, tangents: Any) -> tuple[Array, Array]:
    (x,), (t,) = primals, tangents
    y, r = _log_softmax_and_rows(x, axes)
    dot = weighted_sum(x, r, t, axes)
    return y, (t.astype(dot.dtype) - dot).astype(x.dtype)


def _log_softmax_masked(x: Array, mask: Array | None, axes: tuple[int, ...]) -> Array:
    return _log_softmax(masked(x, mask), axes)


@declare(Facts("log_softmax", kind="normalizer", jax_nn="log_softmax"))
def log_softmax(x: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None) -> Array:
    r"""Log-softmax along ``axis``, with its own analytic JVP.

    .. math::
      y_i = x_i - \log\sum_j e^{x_j}, \qquad
      \frac{\partial y_i}{\partial x_j} = \delta_{ij} - s_j, \qquad
      \dot y = \dot x - \langle \mathrm{softmax}(x), \dot x \rangle.

    The normalizer is :math:`m + \mathrm{log1p}(\sum_{x_j < m} e^{x_j - m} + \#\{x_j = m\}
    - 1)` with :math:`m` the maximum, so the log-probability of a confident class keeps its
    tiny negative value (``jax.nn`` rounds it to 0). 16-bit inputs are computed in float32
    (``jax.nn``'s float16 gradient is NaN for rows of :math:`2^{16}` entries). Masked entries
    (``where`` False) and fully masked rows give :math:`-\infty` with zero, finite gradients.
    Reverse mode keeps one array (the input) and two row-sized statistics, and rebuilds
    the softmax inside the backward loop.

    Args:
      x: input array.
      axis: an int, a tuple of ints, or None (all axes).
      where: optional boolean mask, broadcastable to ``x``.

    Returns:
      An array of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.log_softmax(jnp.array([0.0, 0.0]))
      Array([-0.6931472, -0.6931472], dtype=float32)
      >>> jaxact.log_softmax(jnp.array([40.0, 0.0]))
      Array([-4.248354e-18, -4.000000e+01], dtype=float32)
    """
    xa = as_float_array("log_softmax", x)
    axes = normalize_axes("log_softmax", axis, xa.ndim)
    mask = as_mask("log_softmax", where, xa.shape)
    return xa if empty_rows(xa, axes) else call_jit(_log_softmax_masked, (xa, mask), (axes,))


def log_softmax_jvp(
    x: ArrayLike, tangent: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None
) -> Array:
    r"""The JVP of :func:`~jaxact.log_softmax`: :math:`\dot y = \dot x - \langle s, \dot x\rangle`.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`~jaxact.log_softmax`.
      where: as for :func:`~jaxact.log_softmax`.

    Returns:
      The output tangent, of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.derivatives.log_softmax_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]))
      Array([ 0.5, -0.5], dtype=float32)
    """
    return public_jvp("log_softmax_jvp", log_softmax, x, tangent, axis=axis, where=where)


# --------------------------------------------------------------------------- softmin


@declare(Facts("softmin", kind="normalizer", reference="PyTorch Softmin"))
def softmin(x: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None) -> Array:
    r"""Softmin along ``axis``: :func:`softmax` of :math:`-x`.

    .. math::
      s_i = \frac{e^{-x_i}}{\sum_j e^{-x_j}}, \qquad
      \frac{\partial s_i}{\partial x_j} = -s_i(\delta_{ij} - s_j), \qquad
      \dot s = -s \odot (\dot x - \langle s, \dot x \rangle).

    Masks, extremes and memory behave as for :func:`softmax`.

    Args:
      x: input array.
      axis: an int, a tuple of ints, or None (all axes).
      where: optional boolean mask, broadcastable to ``x``.

    Returns:
      An array of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.softmin(jnp.array([1.0, 2.0, 3.0]))
      Array([0.66524094, 0.24472848, 0.09003057], dtype=float32)
    """
    xa = as_float_array("softmin", x)
    axes = normalize_axes("softmin", axis, xa.ndim)
    mask = as_mask("softmin", where, xa.shape)
    return xa if empty_rows(xa, axes) else call_jit(_softmin_masked, (xa, mask), (axes,))


def softmin_jvp(
    x: ArrayLike, tangent: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None
) -> Array:
    r"""JVP of :func:`~jaxact.softmin`: :math:`\dot s = -s\odot(\dot x - \langle s,\dot x\rangle)`.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`~jaxact.softmin`.
      where: as for :func:`~jaxact.softmin`.

    Returns:
      The output tangent, of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.derivatives.softmin_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]))
      Array([-0.25,  0.25], dtype=float32)
    """
    return public_jvp("softmin_jvp", softmin, x, tangent, axis=axis, where=where)
