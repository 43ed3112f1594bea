"""Row statistics shared by the softmax family, the reductions and the losses.

A row is the set of entries along the reduced axes. Its statistics are the maximum ``m`` and
``rest`` (the sum of e^(x - m) over the non-maximal entries plus #maxima - 1), so that
sum e^(x - m) = 1 + rest and log sum e^x = m + log1p(rest), exact for a confident row; the
helpers here take them in jax.nn's two passes when that is exact, by a split sum for a batch
with a confident row, and by row chunks (``lax.map``) for the rare rows holding +inf.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array, lax

from jaxact._src import kernels as K
from jaxact._src.arrays import compute_dtype


def empty_rows(x: Array, axes: tuple[int, ...]) -> bool:
    """True when a reduced axis has size 0: the rows are empty (jax.nn returns the empty
    shape, and -inf for logsumexp)."""
    return any(x.shape[a] == 0 for a in axes)


def reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    """The shape of a reduction over ``axes`` (size 1 there with ``keepdims``)."""
    return tuple(1 if i in axes else d for i, d in enumerate(shape) if keepdims or i not in axes)


def is_constant(*dims: Any) -> bool:
    """Whether every size in ``dims`` is a known number (not a ``jax.export`` symbolic
    dimension, whose comparisons with a number are inconclusive)."""
    return all(isinstance(d, int) for d in dims)


def minus_max(xc: Array, m: Array) -> Array:
    """x - m, select-free (XLA's CPU reduction kernel fuses it), with m raised to the lowest
    finite number (behind an optimization barrier: see ``kernels.opaque``): an all--inf row
    gives -inf, not NaN. Not for rows holding +inf (their m is +inf)."""
    return xc - jnp.maximum(m, K.opaque(float(jnp.finfo(m.dtype).min), m))


def shifted(xc: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """(exp(x - max), max) with the max made finite (see ``_exp_shifted``)."""
    m = jnp.max(xc, axis=axes, keepdims=True)
    return K.exp_shifted(xc, m), K.finite_or_zero(m)


def map_rows(
    fn: Any, x: Array, m: Array, axes: tuple[int, ...], shape: tuple[int, ...] | None = None
) -> Array:
    """``fn(x, m, axes)`` (a result of ``shape``, default x's, from rows and their keepdims
    statistic m), over chunks of about EXACT_CHUNK elements when the reduced axes are the
    trailing ones (``lax.map``), else in one piece."""
    k = len(axes)
    cols = math.prod(x.shape[x.ndim - k :])
    rows = math.prod(x.shape[: x.ndim - k])
    if k == x.ndim or axes != tuple(range(x.ndim - k, x.ndim)) or not is_constant(rows, cols):
        return fn(x, m, axes)  # (a symbolic shape, under jax.export: one piece)
    out = map_bits(
        lambda xb, mb: fn(xb, mb, (0,)),
        x.reshape(rows, cols),
        m.reshape(rows, 1),
        max(1, min(rows, EXACT_CHUNK // max(cols, 1))),
    )
    return out.reshape(x.shape if shape is None else shape)


def map_bits(fn: Any, x: Array, m: Array, batch_size: int | None = None) -> Array:
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


class Rows(NamedTuple):
    """Row statistics of x along the axes (keepdims): the maximum m and ``rest`` = the sum
    of e^(x - m) over the non-maximal entries plus (#maxima - 1), so that sum e^(x - m) =
    1 + rest and log sum e^x = m + log1p(rest), exact for a confident row. In a row with
    +inf entries (which take all the mass) ``rest`` is #inf - 1."""

    m: Array
    rest: Array


def row_stats(x: Array, axes: tuple[int, ...], for_value_only: bool = False) -> Rows:
    """The row statistics (in the compute dtype) in jax.nn's two passes (max, then sum of
    e^(x - max)) when that is exact: with s = sum e^(x - m) >= 2, rest = s - 1 and
    log1p(rest) = log s lose nothing. A batch with a confident row (one maximum and s < 2,
    where log s would lose rest's digits) takes :func:`split_rest`'s third pass, one with
    +inf entries :func:`exact_rest` (one ``lax.switch``; under ``vmap`` all run). ``x``
    enters in its own dtype: a 16-bit input is widened inside each loop, never materialized
    as a float32 copy (a ``switch`` operand would be).

    ``for_value_only``: the statistics serve m + log1p(rest) (logsumexp) and the softmax
    weights, not log_softmax's x - m - log1p(rest); see :func:`two_pass`."""
    m, s, path = two_pass(x, axes, for_value_only)
    return Rows(m, jax.lax.switch(path, rest_paths(x, m, s, axes)))


def inf_row(r: Rows, limit: float = jnp.inf) -> Array:
    """The rows whose maximum is ``limit`` (+inf: the infinities take the mass; -inf: all
    entries -inf) and that hold no NaN (``rest`` is NaN then: XLA's CPU max reduction skips
    NaNs in rows of 4096 and more, so m alone does not tell)."""
    return (r.m == limit) & ~jnp.isnan(r.rest)


def two_pass(
    x: Array, axes: tuple[int, ...], for_value_only: bool = False
) -> tuple[Array, Array, Array]:
    """(m, s, path): the row maxima (taken in x's dtype, exact), s = sum e^(x - m) in the
    compute dtype, and which ``rest`` the batch needs: 0 for s - 1, 1 for
    :func:`split_rest` (a confident row), 2 for :func:`exact_rest` (a +inf entry).

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
    needs = is_confident(m, s)
    if for_value_only:
        needs = needs & (jnp.abs(m) < 4)
    confident = jnp.any(needs).astype(jnp.int32)
    return m, s, jnp.where(jnp.any(m == jnp.inf), 2, confident)


def rest_paths(x: Array, m: Array, s: Array, axes: tuple[int, ...]) -> list[Any]:
    """The three ways to ``rest`` (see :func:`two_pass`), as ``lax.switch`` branches."""
    return [lambda: s - 1, lambda: split_rest(x, m, s, axes), lambda: exact_rest(x, m, axes)]


def is_confident(m: Array, s: Array) -> Array:
    """The rows whose ``rest`` s - 1 would lose digits: a single maximum holding almost
    all the mass (s < 2; two maxima already make s >= 2). All--inf rows are not."""
    return (s < 2) & (m > -jnp.inf)


def split_sums(x: Array, m: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """(sum of e^(x - m) over the non-maximal entries, number of maxima) for rows without
    +inf, select-free (XLA's CPU reduction kernel fuses it): e = e^(x - m) is in [0, 1] and
    exactly 1 at the maxima only, so floor(e) counts them and e - floor(e) keeps every
    other term, never rounded against a 1. (An entry within a few ulps of a tiny maximum
    may round to e = 1 and count as a maximum: an error below 1e-7 of a rest that is then
    >= 1.) An all--inf row gives (0, 0)."""
    e = jnp.exp(minus_max(x.astype(m.dtype), m))
    top = jnp.floor(e)
    return jnp.sum(e - top, axis=axes, keepdims=True), jnp.sum(top, axis=axes, keepdims=True)


def split_rest(x: Array, m: Array, s: Array, axes: tuple[int, ...]) -> Array:
    """``rest`` for rows without +inf: s - 1, and for the confident rows (a single maximum,
    see :func:`is_confident`) the sum over the other entries (:func:`split_sums`)."""
    others, _ = split_sums(x, m, axes)
    return jnp.where(is_confident(m, s), others, s - 1)


# Elements per chunk in the exact statistics (256 KiB of float32): their select and mask
# arrays, which XLA's CPU reduction fusion materializes, stay that small.
EXACT_CHUNK = 1 << 16


def exact_rest(xc: Array, m: Array, axes: tuple[int, ...]) -> Array:
    # xc in the input's dtype: each chunk is widened to m's (the compute dtype) inside.
    """sum of e^(x - m) over the non-maximal entries plus (#maxima - 1), summed apart, in
    chunks: of rows when the reduced axes are the trailing ones, of the flattened array when
    they are all of them (partial sums of chunks c add up as sum_c (rest_c + ties_c) +
    #chunks - 1)."""
    k = len(axes)
    chunk = EXACT_CHUNK
    if k == xc.ndim and is_constant(xc.size) and xc.size > chunk and xc.size % chunk == 0:
        n = xc.size // chunk
        parts = map_bits(
            lambda c, mc: exact_rest_block(c, mc, (0,)),
            xc.reshape(n, chunk),
            jnp.broadcast_to(m.reshape(1, 1), (n, 1)),
        )
        return (jnp.sum(parts) + (n - 1)).reshape(m.shape)
    return map_rows(exact_rest_block, xc, m, axes, m.shape)


def exact_rest_block(x: Array, m: Array, axes: tuple[int, ...]) -> Array:
    xc = x.astype(m.dtype)
    top = xc == m
    rest = jnp.sum(jnp.where(top, 0, K.exp_shifted(xc, m)), axis=axes, keepdims=True)
    ties = jnp.sum(top, axis=axes, keepdims=True).astype(xc.dtype) - 1
    return rest + ties


@functools.partial(jax.checkpoint, static_argnums=(3,))
def weighted_sum(x: Array, r: Rows, t: Array, axes: tuple[int, ...]) -> Array:
    """<softmax(x), t> along the axes (keepdims), the softmax rebuilt from x and the row
    statistics. Under ``jax.checkpoint`` reverse mode keeps x and the two row-sized
    statistics and recomputes the weights inside the one backward loop (no softmax array
    is formed in the forward pass)."""
    xc = x.astype(compute_dtype(x.dtype))
    w = softmax_weights(xc, r)
    return jnp.sum(w * t.astype(xc.dtype), axis=axes, keepdims=True)


def minus_log_p(zc: Array, r: Rows) -> Array:
    """-log softmax at z from the row statistics: (m - z) + log1p(rest), two terms >= 0
    where z is the maximum, so a confident class keeps its tiny value (lse - z rounds it to
    0 once it leads by ~17 in float32). The cross-entropy losses' value."""
    return (r.m - zc) + jnp.log1p(r.rest)


def one_minus_p(zc: Array, r: Rows) -> Array:
    """1 - softmax at z from the row statistics: (1 + rest - e^(z - m)) / (1 + rest), formed
    as (rest - expm1(z - m)) / (1 + rest) with both terms >= 0: no rounding against 1 for a
    confident class (the losses' gradient at the label is its negation). Not for rows with
    +inf entries (see :func:`inf_row`)."""
    return (r.rest - jnp.expm1(zc - r.m)) / (1 + r.rest)


def softmax_weights(xc: Array, r: Rows) -> Array:
    """softmax(x) from x and its row statistics, e^(x - m) / (1 + rest), in a loop that
    reads x once: a +inf entry takes all the mass (1 / #inf), and in a row whose maximum is
    +inf, x - m is NaN exactly at the infinities (a NaN entry would have made m NaN), so
    they are found from the quotient itself, not from a second read of x (which made the
    backward pass of an LM's (2048, 16384) log_softmax read the logits twice: 1.14x
    jax.nn's step time, now 0.96x). An all--inf row (rest = -1) gives zeros."""
    w = jnp.exp(minus_max(xc, r.m)) / (1 + jnp.maximum(r.rest, 0))
    return jnp.where(inf_row(r), jnp.where(jnp.isnan(w), 1 / (1 + r.rest), 0), w)
