"""The softmax family: normalizers along an axis, with optional ``where`` masks.

Each core is a ``custom_jvp`` over a static tuple of axes; masks are applied outside the
core by replacing masked entries with ``-inf`` (so huge, inf or NaN values in masked slots
never reach the arithmetic), and the core maps ``-inf`` entries to probability 0.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array, lax
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

Axis = int | tuple[int, ...] | None


def _empty(x: Array, axes: tuple[int, ...]) -> bool:
    """True when a reduced axis has size 0: the rows are empty (jax.nn returns the empty
    shape, and -inf for logsumexp)."""
    return any(x.shape[a] == 0 for a in axes)


def _reduced_shape(
    shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool
) -> tuple[int, ...]:
    """The shape of a reduction over ``axes`` (size 1 there with ``keepdims``)."""
    return tuple(1 if i in axes else d for i, d in enumerate(shape) if keepdims or i not in axes)


def _minus_max(xc: Array, m: Array) -> Array:
    """x - m, select-free (XLA's CPU reduction kernel fuses it), with m raised to the lowest
    finite number (behind an optimization barrier: see ``kernels.opaque``): an all--inf row
    gives -inf, not NaN. Not for rows holding +inf (their m is +inf)."""
    return xc - jnp.maximum(m, K.opaque(float(jnp.finfo(m.dtype).min), m))


def _shifted(xc: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """(exp(x - max), max) with the max made finite (see ``_exp_shifted``)."""
    m = jnp.max(xc, axis=axes, keepdims=True)
    return K.exp_shifted(xc, m), K.finite_or_zero(m)


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
    e = jnp.exp(_minus_max(x.astype(m.dtype), m))
    total = jnp.sum(e, axis=axes, keepdims=True)
    tiny = K.opaque(float(jnp.finfo(m.dtype).tiny), total)
    return (e / jnp.maximum(total, tiny)).astype(x.dtype)


def _softmax_inf(x: Array, m: Array, axes: tuple[int, ...], negate: bool) -> Array:
    """Softmax (of -x with ``negate``) where some row holds +inf (its infinities share the
    mass, the rest get 0), by row chunks (see :func:`_map_rows`) so that its select arrays
    stay small; x is negated inside each chunk."""

    def block(xb: Array, mb: Array, ax: tuple[int, ...]) -> Array:
        e = K.exp_shifted((-xb if negate else xb).astype(mb.dtype), mb)
        total = jnp.sum(e, axis=ax, keepdims=True)
        return (e / jnp.where(total == 0, 1, total)).astype(xb.dtype)

    return _map_rows(block, x, m, axes)


def _map_rows(
    fn: Any, x: Array, m: Array, axes: tuple[int, ...], shape: tuple[int, ...] | None = None
) -> Array:
    """``fn(x, m, axes)`` (a result of ``shape``, default x's, from rows and their keepdims
    statistic m), over chunks of about EXACT_CHUNK elements when the reduced axes are the
    trailing ones (``lax.map``), else in one piece."""
    k = len(axes)
    if k == x.ndim or axes != tuple(range(x.ndim - k, x.ndim)):
        return fn(x, m, axes)
    cols = math.prod(x.shape[x.ndim - k :])
    rows = math.prod(x.shape[: x.ndim - k])
    out = _map_bits(
        lambda xb, mb: fn(xb, mb, (0,)),
        x.reshape(rows, cols),
        m.reshape(rows, 1),
        max(1, min(rows, EXACT_CHUNK // max(cols, 1))),
    )
    return out.reshape(x.shape if shape is None else shape)


def _map_bits(fn: Any, x: Array, m: Array, batch_size: int | None = None) -> Array:
    """``lax.map(fn, (x, m))`` with 16-bit floats carried through the loop as their bits:
    XLA's CPU backend widens a 16-bit float array that a loop carries (the map's input, its
    stacked result) to a float32 copy of the whole array; unsigned integers it keeps."""
    kept: list[Any] = []  # the chunk result's dtype

    def chunk(xm: tuple[Array, Array]) -> Array:
        xb = lax.bitcast_convert_type(xm[0], x.dtype) if xm[0].dtype != x.dtype else xm[0]
        out = fn(xb, xm[1])
        kept.append(out.dtype)
        return lax.bitcast_convert_type(out, jnp.uint16) if out.dtype.itemsize == 2 else out

    xs = lax.bitcast_convert_type(x, jnp.uint16) if x.dtype.itemsize == 2 else x
    out = jax.lax.map(chunk, (xs, m), batch_size=batch_size)
    return lax.bitcast_convert_type(out, kept[0]) if out.dtype != kept[0] else out


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
    return xa if _empty(xa, axes) else call_jit(_softmax_masked, (xa, mask), (axes,))


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
    ax = single_axis("softmax_jacobian", axis, xa.ndim)
    return _softmax_jacobian(jnp.moveaxis(xa, ax, -1))


@jax.jit
def _softmax_jacobian(x: Array) -> Array:
    cd = compute_dtype(x.dtype)
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
    r"""The Jacobian-vector product of :func:`softmax`: the rule its ``custom_jvp`` uses.

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
    return public_jvp("softmax_jvp", softmax, x, tangent, axis=axis, where=where)


# --------------------------------------------------------------------------- log_softmax


class _Rows(NamedTuple):
    """Row statistics of x along the axes (keepdims): the maximum m and ``rest`` = the sum
    of e^(x - m) over the non-maximal entries plus (#maxima - 1), so that sum e^(x - m) =
    1 + rest and log sum e^x = m + log1p(rest), exact for a confident row. In a row with
    +inf entries (which take all the mass) ``rest`` is #inf - 1."""

    m: Array
    rest: Array


def _rows(x: Array, axes: tuple[int, ...], for_value_only: bool = False) -> _Rows:
    """The row statistics (in the compute dtype) in jax.nn's two passes (max, then sum of
    e^(x - max)) when that is exact: with s = sum e^(x - m) >= 2, rest = s - 1 and
    log1p(rest) = log s lose nothing. A batch with a confident row (one maximum and s < 2,
    where log s would lose rest's digits) takes :func:`_split_rest`'s third pass, one with
    +inf entries :func:`_exact_rest` (one ``lax.switch``; under ``vmap`` all run). ``x``
    enters in its own dtype: a 16-bit input is widened inside each loop, never materialized
    as a float32 copy (a ``switch`` operand would be).

    ``for_value_only``: the statistics serve m + log1p(rest) (logsumexp) and the softmax
    weights, not log_softmax's x - m - log1p(rest); see :func:`_two_pass`."""
    m, s, path = _two_pass(x, axes, for_value_only)
    return _Rows(m, jax.lax.switch(path, _rest_paths(x, m, s, axes)))


def _inf_row(r: _Rows, limit: float = jnp.inf) -> Array:
    """The rows whose maximum is ``limit`` (+inf: the infinities take the mass; -inf: all
    entries -inf) and that hold no NaN (``rest`` is NaN then: XLA's CPU max reduction skips
    NaNs in rows of 4096 and more, so m alone does not tell)."""
    return (r.m == limit) & ~jnp.isnan(r.rest)


def _two_pass(
    x: Array, axes: tuple[int, ...], for_value_only: bool = False
) -> tuple[Array, Array, Array]:
    """(m, s, path): the row maxima (taken in x's dtype, exact), s = sum e^(x - m) in the
    compute dtype, and which ``rest`` the batch needs: 0 for s - 1, 1 for
    :func:`_split_rest` (a confident row), 2 for :func:`_exact_rest` (a +inf entry).

    ``for_value_only`` (logsumexp): a confident row needs the exact rest only where
    |m| < 4. Elsewhere m + log1p(rest) has magnitude at least 4 - log 2, and the absolute
    error s - 1 carries (its rounding, 2^-24 for s < 2, and the sum's own rounding near 1)
    is a fraction of its ulp: float32, dominant rows of 128 to 16384 entries, measured at
    most 3.0 ulp at |m| = 2 and 2.2 at |m| = 4 (the split sum: 1.3); the softmax weights
    e^(x - m) / s carry a relative 2^-24 either way. A trained classifier's logits (maxima
    ~10) thus skip the third pass."""
    cd = compute_dtype(x.dtype)
    m = jnp.max(x, axis=axes, keepdims=True).astype(cd)
    s = jnp.sum(jnp.exp(x.astype(cd) - K.finite_or_zero(m)), axis=axes, keepdims=True)
    needs = _confident(m, s)
    if for_value_only:
        needs = needs & (jnp.abs(m) < 4)
    confident = jnp.any(needs).astype(jnp.int32)
    return m, s, jnp.where(jnp.any(m == jnp.inf), 2, confident)


def _rest_paths(x: Array, m: Array, s: Array, axes: tuple[int, ...]) -> list[Any]:
    """The three ways to ``rest`` (see :func:`_two_pass`), as ``lax.switch`` branches."""
    return [lambda: s - 1, lambda: _split_rest(x, m, s, axes), lambda: _exact_rest(x, m, axes)]


def _confident(m: Array, s: Array) -> Array:
    """The rows whose ``rest`` s - 1 would lose digits: a single maximum holding almost
    all the mass (s < 2; two maxima already make s >= 2). All--inf rows are not."""
    return (s < 2) & (m > -jnp.inf)


def _split_sums(x: Array, m: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """(sum of e^(x - m) over the non-maximal entries, number of maxima) for rows without
    +inf, select-free (XLA's CPU reduction kernel fuses it): e = e^(x - m) is in [0, 1] and
    exactly 1 at the maxima only, so floor(e) counts them and e - floor(e) keeps every
    other term, never rounded against a 1. (An entry within a few ulps of a tiny maximum
    may round to e = 1 and count as a maximum: an error below 1e-7 of a rest that is then
    >= 1.) An all--inf row gives (0, 0)."""
    e = jnp.exp(_minus_max(x.astype(m.dtype), m))
    top = jnp.floor(e)
    return jnp.sum(e - top, axis=axes, keepdims=True), jnp.sum(top, axis=axes, keepdims=True)


def _split_rest(x: Array, m: Array, s: Array, axes: tuple[int, ...]) -> Array:
    """``rest`` for rows without +inf: s - 1, and for the confident rows (a single maximum,
    see :func:`_confident`) the sum over the other entries (:func:`_split_sums`)."""
    others, _ = _split_sums(x, m, axes)
    return jnp.where(_confident(m, s), others, s - 1)


# Elements per chunk in the exact statistics (256 KiB of float32): their select and mask
# arrays, which XLA's CPU reduction fusion materializes, stay that small.
EXACT_CHUNK = 1 << 16


def _exact_rest(xc: Array, m: Array, axes: tuple[int, ...]) -> Array:
    # xc in the input's dtype: each chunk is widened to m's (the compute dtype) inside.
    """sum of e^(x - m) over the non-maximal entries plus (#maxima - 1), summed apart, in
    chunks: of rows when the reduced axes are the trailing ones, of the flattened array when
    they are all of them (partial sums of chunks c add up as sum_c (rest_c + ties_c) +
    #chunks - 1)."""
    k = len(axes)
    chunk = EXACT_CHUNK
    if k == xc.ndim and xc.size > chunk and xc.size % chunk == 0:
        n = xc.size // chunk
        parts = _map_bits(
            lambda c, mc: _exact_rest_block(c, mc, (0,)),
            xc.reshape(n, chunk),
            jnp.broadcast_to(m.reshape(1, 1), (n, 1)),
        )
        return (jnp.sum(parts) + (n - 1)).reshape(m.shape)
    return _map_rows(_exact_rest_block, xc, m, axes, m.shape)


def _exact_rest_block(x: Array, m: Array, axes: tuple[int, ...]) -> Array:
    xc = x.astype(m.dtype)
    top = xc == m
    rest = jnp.sum(jnp.where(top, 0, K.exp_shifted(xc, m)), axis=axes, keepdims=True)
    ties = jnp.sum(top, axis=axes, keepdims=True).astype(xc.dtype) - 1
    return rest + ties


@functools.partial(jax.checkpoint, static_argnums=(3,))
def _weighted_sum(x: Array, r: _Rows, t: Array, axes: tuple[int, ...]) -> Array:
    """<softmax(x), t> along the axes (keepdims), the softmax rebuilt from x and the row
    statistics. Under ``jax.checkpoint`` reverse mode keeps x and the two row-sized
    statistics and recomputes the weights inside the one backward loop (no softmax array
    is formed in the forward pass)."""
    xc = x.astype(compute_dtype(x.dtype))
    w = _softmax_weights(xc, r)
    return jnp.sum(w * t.astype(xc.dtype), axis=axes, keepdims=True)


def _softmax_weights(xc: Array, r: _Rows) -> Array:
    """softmax(x) from x and its row statistics, e^(x - m) / (1 + rest), in a loop that
    reads x once: a +inf entry takes all the mass (1 / #inf), and in a row whose maximum is
    +inf, x - m is NaN exactly at the infinities (a NaN entry would have made m NaN), so
    they are found from the quotient itself, not from a second read of x (which made the
    backward pass of an LM's (2048, 16384) log_softmax read the logits twice: 1.14x
    jax.nn's step time, now 0.96x). An all--inf row (rest = -1) gives zeros."""
    w = jnp.exp(_minus_max(xc, r.m)) / (1 + jnp.maximum(r.rest, 0))
    return jnp.where(_inf_row(r), jnp.where(jnp.isnan(w), 1 / (1 + r.rest), 0), w)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _log_softmax(x: Array, axes: tuple[int, ...]) -> Array:
    return _log_softmax_fused(x, axes)


def _log_softmax_fused(x: Array, axes: tuple[int, ...]) -> Array:
    """log_softmax(x) for the forward alone. Unless some row holds +inf (one ``lax.cond``
    on the row maxima, taken in x's dtype), one select-free loop that XLA's CPU reduction
    kernel runs like jax.nn's: ``rest`` = (sum over the non-maximal entries) + (number of
    maxima - 1) from :func:`_split_sums` (exact for confident rows too, no rounding against
    the 1s), then (x - m) - log1p(rest). An all--inf row: x - m is -inf with m raised to
    the lowest finite number, and rest = -1 enters log1p as 0."""
    m = jnp.max(x, axis=axes, keepdims=True).astype(compute_dtype(x.dtype))

    def fast() -> tuple[Array, Array]:
        others, ties = _split_sums(x, m, axes)
        rest = others + (ties - 1)
        y = _minus_max(x.astype(m.dtype), m) - jnp.log1p(jnp.maximum(rest, K.opaque(0.0, rest)))
        return y.astype(x.dtype), rest

    def exact() -> tuple[Array, Array]:
        rest = _exact_rest(x, m, axes)
        return _log_softmax_rows(x, _Rows(m, rest)), rest

    return jax.lax.cond(jnp.any(m == jnp.inf), exact, fast)[0]


def _log_softmax_and_rows(x: Array, axes: tuple[int, ...]) -> tuple[Array, _Rows]:
    """(log_softmax(x), its row statistics) for the JVP, the output formed inside each
    branch of :func:`_rows`'s ``switch`` (so the branch's pass over x is its own loop and
    XLA shares no widened copy of a 16-bit x with the sum). Here the statistics feed the
    backward loop too, and the separate passes (max, sum; the split sum only for a batch
    with a confident row) beat :func:`_log_softmax_fused`'s two-sum kernel: XLA runs the
    loops that follow a two-output reduction kernel slowly on this backend."""
    m, s, path = _two_pass(x, axes)

    def branch(rest: Any) -> Any:
        return lambda: (lambda r: (_log_softmax_rows(x, _Rows(m, r)), r))(rest())

    y, rest = jax.lax.switch(path, [branch(p) for p in _rest_paths(x, m, s, axes)])
    return y, _Rows(m, rest)


def _log_softmax_rows(x: Array, r: _Rows) -> Array:
    xc = x.astype(compute_dtype(x.dtype))
    # x + (-m) is x - m bit for bit; written so, XLA does not share one materialized
    # broadcast of m between this loop and the reductions in _rows.
    y = (xc + -K.finite_or_zero(r.m)) - jnp.log1p(r.rest)
    # A +inf entry takes all the mass (shared among the n infinities: -log n); an all--inf
    # (fully masked) row is -inf.
    y = jnp.where(_inf_row(r), jnp.where(xc == jnp.inf, -jnp.log1p(r.rest), -jnp.inf), y)
    y = jnp.where(_inf_row(r, -jnp.inf), -jnp.inf, y)
    return y.astype(x.dtype)


@_log_softmax.defjvp
def _log_softmax_jvp(axes: tuple[int, ...], primals: Any, tangents: Any) -> tuple[Array, Array]:
    (x,), (t,) = primals, tangents
    y, r = _log_softmax_and_rows(x, axes)
    dot = _weighted_sum(x, r, t, axes)
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
    return xa if _empty(xa, axes) else call_jit(_log_softmax_masked, (xa, mask), (axes,))


def log_softmax_jvp(
    x: ArrayLike, tangent: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None
) -> Array:
    r"""The JVP of :func:`log_softmax`: :math:`\dot y = \dot x - \langle s, \dot x\rangle`.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`log_softmax`.
      where: as for :func:`log_softmax`.

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
    return xa if _empty(xa, axes) else call_jit(_softmin_masked, (xa, mask), (axes,))


def softmin_jvp(
    x: ArrayLike, tangent: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None
) -> Array:
    r"""The JVP of :func:`softmin`: :math:`\dot s = -s \odot (\dot x - \langle s, \dot x\rangle)`.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`softmin`.
      where: as for :func:`softmin`.

    Returns:
      The output tangent, of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.derivatives.softmin_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]))
      Array([-0.25,  0.25], dtype=float32)
    """
    return public_jvp("softmin_jvp", softmin, x, tangent, axis=axis, where=where)


# --------------------------------------------------------------------------- logsumexp


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _logsumexp_b(a: Array, b: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """(log|sum b e^a|, sign) along axes, keepdims; b already broadcast to a."""
    ac = a.astype(compute_dtype(a.dtype))
    bc = b.astype(ac.dtype)
    e, m = _shifted(ac, axes)
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
    e, _ = _shifted(ac, axes)
    total = jnp.sum(b.astype(ac.dtype) * e, axis=axes, keepdims=True)
    w = (e / jnp.where(total == 0, 1, total)).astype(a.dtype)  # e^(a - y) * sign
    acc = compute_dtype(a.dtype)
    dy = jnp.sum(b * w * ta.astype(a.dtype), axis=axes, keepdims=True, dtype=acc)
    dy = dy + jnp.sum(w * tb.astype(a.dtype), axis=axes, keepdims=True, dtype=acc)
    return (y, sign), (dy.astype(a.dtype), jnp.zeros_like(sign))


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _logsumexp(a: Array, axes: tuple[int, ...]) -> Array:
    return _logsumexp_rows(a, _rows(a, axes, for_value_only=True))


def _logsumexp_rows(a: Array, r: _Rows) -> Array:
    finite = jnp.where(_inf_row(r), jnp.inf, r.m + jnp.log1p(r.rest))
    return jnp.where(_inf_row(r, -jnp.inf), -jnp.inf, finite).astype(a.dtype)


@_logsumexp.defjvp
def _logsumexp_jvp(axes: tuple[int, ...], primals: Any, tangents: Any) -> tuple[Array, Array]:
    (a,), (t,) = primals, tangents
    r = _rows(a, axes, for_value_only=True)
    return _logsumexp_rows(a, r), _weighted_sum(a, r, t, axes).astype(a.dtype)


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
    if _empty(aa, axes):  # the sum of nothing is 0: log 0 = -inf, sign 0
        shape = _reduced_shape(aa.shape, axes, keepdims)
        y = jnp.full(shape, -jnp.inf, aa.dtype)
        return (y, jnp.zeros(shape, aa.dtype)) if return_sign else y
    return call_jit(_logsumexp_impl, (aa, bb, mask), (axes, bool(keepdims), bool(return_sign)))


def logsumexp_jvp(
    a: ArrayLike, tangent: ArrayLike, axis: Axis = None, where: ArrayLike | None = None
) -> Array:
    r"""The JVP of :func:`logsumexp` in ``a``: :math:`\dot y = \langle \mathrm{softmax}(a),
    \dot a\rangle`.

    Args:
      a: input array.
      tangent: the input tangent, of the shape of ``a``.
      axis: as for :func:`logsumexp`.
      where: as for :func:`logsumexp`.

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
    r = _rows(x, axes)
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
    y = jnp.where(_inf_row(r), jnp.inf, y)
    return jnp.where(n == 0, jnp.nan, y).astype(x.dtype)


@_logmeanexp.defjvp
def _logmeanexp_jvp(axes: tuple[int, ...], primals: Any, tangents: Any) -> tuple[Array, Array]:
    (x, w), (t, _) = primals, tangents
    r = _rows(x, axes)
    return _logmeanexp(x, w, axes), _weighted_sum(x, r, t, axes).astype(x.dtype)


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
    if _empty(xa, axes):  # the mean of nothing
        return jnp.full(_reduced_shape(xa.shape, axes, keepdims), jnp.nan, xa.dtype)
    return call_jit(_logmeanexp_impl, (xa, mask), (axes, bool(keepdims)))


def logmeanexp_jvp(
    x: ArrayLike, tangent: ArrayLike, axis: Axis = None, where: ArrayLike | None = None
) -> Array:
    r"""The JVP of :func:`logmeanexp`: :math:`\dot y = \langle \mathrm{softmax}(x), \dot x
    \rangle` over the reduced (unmasked) entries.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      axis: as for :func:`logmeanexp`.
      where: as for :func:`logmeanexp`.

    Returns:
      The output tangent, of the reduced shape.

    Examples:
      >>> jaxact.derivatives.logmeanexp_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]))
      Array(0.5, dtype=float32)
    """
    return public_jvp("logmeanexp_jvp", logmeanexp, x, tangent, axis=axis, where=where)
