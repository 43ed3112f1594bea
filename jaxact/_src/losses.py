"""Losses over the softmax family's rows: softmax cross-entropy with integer or probability
labels (optax's signatures and meaning) and the Fenchel-Young losses of sparsemax and
alpha-entmax. Each is a ``custom_jvp`` whose tangent is an inner product of the input
tangent with analytic weights; the weights are formed inside ``jax.checkpoint`` from the
inputs and per-row statistics, so reverse mode keeps the logits and those statistics, not a
logits-sized weight array (the sparse losses keep their normalizer's output, as
``jaxact.sparsemax`` does)."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array
from jax.custom_derivatives import SymbolicZero
from jax.typing import ArrayLike

from jaxact._src.arrays import (
    as_float_array,
    as_int_labels,
    as_mask,
    compute_dtype,
    is_number,
    masked,
    normalize_axes,
    single_axis,
)
from jaxact._src.entmax import _entmax, _how, alpha_array
from jaxact._src.rows import Rows, inf_row, minus_log_p, one_minus_p, row_stats, softmax_weights
from jaxact._src.sparse import _sparsemax

Axis = int | tuple[int, ...] | None


# --------------------------------------------------------------------------- validation


def _optax_mask(fn_name: str, where: Any, shape: tuple[int, ...], axes: tuple[int, ...]) -> Any:
    """optax's rule: a ``where`` of lower rank than the logits gains the class axes (size 1)."""
    if where is not None and hasattr(where, "ndim") and where.ndim != len(shape):
        where = jnp.expand_dims(jnp.asarray(where), axes)
    return as_mask(fn_name, where, shape)


def _classes_last(z: Array, mask: Array | None, axes: tuple[int, ...]) -> tuple[Array, Any]:
    """The class axes moved last and flattened into one (optax's layout for tuple axes)."""
    batch = tuple(a for a in range(z.ndim) if a not in axes)
    order = batch + axes

    def move(a: Array) -> Array:
        a = a.transpose(order)
        return a.reshape((*a.shape[: len(batch)], -1))

    return move(z), None if mask is None else move(mask)


# --------------------------------------------------------------------------- integer labels


def _label_slot(labels: Array, n: int) -> Array:
    return jax.nn.one_hot(labels, n, dtype=bool)


def _take(zc: Array, labels: Array) -> Array:
    r"""z at the label (keepdims), NaN for a label outside [0, n)."""
    return jnp.take_along_axis(zc, labels[..., None], axis=-1, mode="fill", fill_value=jnp.nan)


def _int_stats(z: Array, labels: Array, mask: Array | None) -> tuple[Rows, Array, Array]:
    """(row statistics of the unmasked logits, the label's logit, whether the label is a
    counted class), keepdims, in the compute dtype."""
    zc = z.astype(compute_dtype(z.dtype))
    r = row_stats(masked(z, mask), (z.ndim - 1,))
    zy = _take(zc, labels)
    live = jnp.ones_like(zy, bool) if mask is None else _take(mask.astype(zc.dtype), labels) > 0
    return r, zy, live


@jax.custom_jvp
def _ce_int(z: Array, labels: Array, mask: Array | None) -> Array:
    r, zy, _ = _int_stats(z, labels, mask)
    return _finish_rows(minus_log_p(zy, r), mask).astype(z.dtype)


def _finish_rows(loss: Array, mask: Array | None) -> Array:
    r"""The per-row loss without its class axis; 0 for a row with no counted class."""
    if mask is not None:
        loss = jnp.where(jnp.any(mask, axis=-1, keepdims=True), loss, 0)
    return loss[..., 0]


@jax.checkpoint
def _ce_int_dot(
    z: Array, t: Array, labels: Array, mask: Array | None, r: Rows, zy: Array, live: Array
) -> Array:
    r"""<p - onehot(y), t> per row, with p - 1 at the label formed as -(1 - p_y) =
    -(rest - expm1(z_y - m)) / (1 + rest) (exact for a confident row; -1 when the label's
    class is masked out). Under ``jax.checkpoint`` the weights are rebuilt in the backward
    loop from z and the row statistics."""
    zc = z.astype(r.m.dtype)
    p = softmax_weights(masked(zc, mask), r)
    q = one_minus_p(zy, r)
    q = jnp.where(inf_row(r), 1 - _take(p, labels), q)
    w = jnp.where(_label_slot(labels, z.shape[-1]), jnp.where(live, -q, -1.0), p)
    w = jnp.where(jnp.isnan(zy), jnp.nan, w)  # a label outside [0, n): NaN, as the loss
    if mask is not None:
        w = jnp.where(jnp.any(mask, axis=-1, keepdims=True), w, 0)
    return jnp.sum(w * t.astype(zc.dtype), axis=-1)


@_ce_int.defjvp
def _ce_int_jvp(primals: Any, tangents: Any) -> tuple[Array, Array]:
    z, labels, mask = primals
    r, zy, live = _int_stats(z, labels, mask)
    loss = _finish_rows(minus_log_p(zy, r), mask).astype(z.dtype)
    return loss, _ce_int_dot(z, tangents[0], labels, mask, r, zy, live).astype(z.dtype)


def softmax_cross_entropy_with_integer_labels(
    logits: ArrayLike,
    labels: ArrayLike,
    axis: int | tuple[int, ...] = -1,
    where: ArrayLike | None = None,
) -> Array:
    r"""Softmax cross-entropy with integer labels: optax's function, exact for confident rows.

    .. math::
      \ell = \log\sum_j e^{z_j} - z_y, \qquad
      \frac{\partial \ell}{\partial z_j} = p_j - [j = y], \quad p = \operatorname{softmax}(z).

    Computed as :math:`(m - z_y) + \operatorname{log1p}(r)` with :math:`m` the maximum and
    :math:`r = \sum_{z_j < m} e^{z_j - m} + \#\{z_j = m\} - 1`: when the label holds the
    maximum both terms are :math:`\ge 0`, so a confident row's loss keeps its digits
    (``lse - z_y`` rounds it to 0 once the label leads by ~17 in float32), and so does the
    gradient at the label, formed as :math:`-(1 - p_y) = -(r - \operatorname{expm1}(z_y -
    m))/(1 + r)`. 16-bit logits are computed in float32 and rounded once. Reverse mode keeps
    the logits and two numbers per row, and rebuilds the softmax in the backward loop.

    As optax: ``where`` (the logits' shape, or the batch shape) masks classes out of the
    normalizer; the label's logit is taken whether masked or not; a row with no class left
    gives 0 with a zero gradient. A tuple ``axis`` flattens those axes (in order) and the
    label indexes the flattened classes. A label outside ``[0, n)`` gives NaN (its loss and
    gradient; ``jit`` cannot raise on values).

    Args:
      logits: array of unnormalized log-probabilities.
      labels: integer array of the logits' shape without the class axes.
      axis: the class axis, or a tuple of them.
      where: optional boolean mask (see above).

    Returns:
      The per-row loss, of the labels' shape, in the logits' dtype.

    Examples:
      >>> losses.softmax_cross_entropy_with_integer_labels(
      ...     jnp.array([[0.0, 0.0], [40.0, 0.0]]), jnp.array([0, 0]))
      Array([6.931472e-01, 4.248354e-18], dtype=float32)
    """
    name = "softmax_cross_entropy_with_integer_labels"
    za = as_float_array(name, logits, "logits")
    if axis is None:
        raise TypeError(f"{name}: `axis` must be an int or a tuple of ints, got None")
    axes = normalize_axes(name, axis, za.ndim)
    batch = tuple(d for i, d in enumerate(za.shape) if i not in axes)
    la = as_int_labels(name, labels, batch, "the logits' shape without the class axes")
    mask = _optax_mask(name, where, za.shape, axes)
    if any(za.shape[a] == 0 for a in axes):  # no class: every label is out of range
        return jnp.full(batch, jnp.nan, za.dtype)
    return _jit_ce_int(za, la, mask, axes)


@functools.partial(jax.jit, static_argnums=(3,))
def _jit_ce_int(z: Array, labels: Array, mask: Array | None, axes: tuple[int, ...]) -> Array:
    zl, ml = _classes_last(z, mask, axes)
    return _ce_int(zl, labels, ml)


# --------------------------------------------------------------------------- probability labels


def _prob_stats(z: Array, mask: Array | None) -> Rows:
    return row_stats(masked(z, mask), (z.ndim - 1,))


@jax.custom_jvp
def _ce_prob(z: Array, y: Array, mask: Array | None) -> Array:
    return _ce_prob_value(z, y, mask, _prob_stats(z, mask))


def _ce_prob_value(z: Array, y: Array, mask: Array | None, r: Rows) -> Array:
    zc = z.astype(r.m.dtype)
    yc = y.astype(r.m.dtype)
    # a zero target weighs nothing, whatever its logit (a -inf logit gives 0, not NaN)
    terms = jnp.where(yc == 0, 0, yc * minus_log_p(zc, r))
    if mask is not None:
        terms = jnp.where(mask, terms, 0)
    return jnp.sum(terms, axis=-1).astype(jnp.result_type(z, y))


@jax.checkpoint
def _ce_prob_dot(z: Array, y: Array, mask: Array | None, r: Rows, tz: Array, ty: Array) -> Array:
    r"""<dl/dz, tz> + <dl/dy, ty> with dl/dz_j = S p_j - y_j = p_j (S - y_j) - y_j (1 - p_j)
    (S the target's total, 1 - p_j = (rest - expm1(z_j - m)) / (1 + rest): no rounding
    against 1 for a confident class) and dl/dy_j = -log p_j (+inf at a -inf logit: the
    true derivative); masked classes weigh 0."""
    cd = r.m.dtype
    zc, yc = z.astype(cd), y.astype(cd)
    zm = masked(zc, mask)
    if mask is not None:
        yc = jnp.where(mask, yc, 0)
    total = jnp.sum(yc, axis=-1, keepdims=True)
    p = softmax_weights(zm, r)
    q = one_minus_p(zm, r)
    q = jnp.where(inf_row(r), 1 - p, q)
    wz = p * (total - yc) - jnp.where(yc == 0, 0, yc * q)
    out = jnp.sum(wz * tz.astype(cd), axis=-1)
    if ty is not None:
        wy = minus_log_p(zc, r)
        if mask is not None:
            wy = jnp.where(mask, wy, 0)
        out = out + jnp.sum(wy * ty.astype(cd), axis=-1)
    return out


def _ce_prob_jvp(primals: Any, tangents: Any) -> tuple[Array, Array]:
    z, y, mask = primals
    tz, ty = tangents[0], tangents[1]
    r = _prob_stats(z, mask)
    out = _ce_prob_value(z, y, mask, r)
    tz = jnp.zeros(z.shape, z.dtype) if isinstance(tz, SymbolicZero) else tz
    ty = None if isinstance(ty, SymbolicZero) else ty
    return out, _ce_prob_dot(z, y, mask, r, tz, ty).astype(out.dtype)


_ce_prob.defjvp(_ce_prob_jvp, symbolic_zeros=True)


@functools.partial(jax.jit, static_argnums=(3,))
def _jit_ce_prob(z: Array, y: Array, mask: Array | None, axes: tuple[int, ...]) -> Array:
    zl, ml = _classes_last(z, mask, axes)
    yl, _ = _classes_last(y, None, axes)
    return _ce_prob(zl, yl, ml)


def softmax_cross_entropy(
    logits: ArrayLike, labels: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None
) -> Array:
    r"""Softmax cross-entropy with probability labels: optax's function, exact and NaN-free.

    .. math::
      \ell = -\sum_j y_j \log p_j, \quad p = \operatorname{softmax}(z), \qquad
      \frac{\partial \ell}{\partial z_j} = S p_j - y_j, \quad
      \frac{\partial \ell}{\partial y_j} = -\log p_j, \quad S = \textstyle\sum_j y_j.

    Each :math:`-\log p_j` is :math:`(m - z_j) + \operatorname{log1p}(r)` (two terms
    :math:`\ge 0`, see :func:`softmax_cross_entropy_with_integer_labels`), and
    :math:`\partial\ell/\partial z_j` is formed as :math:`p_j(S - y_j) - y_j(1 - p_j)` with
    :math:`1 - p_j` from the row statistics, so a confident one-hot row keeps its loss and
    its gradient at the label. A zero target weighs nothing whatever its logit: a
    :math:`-\infty` logit with target 0 gives 0, not NaN (optax gives NaN). ``where`` masks
    classes out of the normalizer and the sum (optax's meaning); a row with no class left
    gives 0. Labels are differentiable. Reverse mode keeps the logits, the labels and two
    numbers per row.

    Args:
      logits: array of unnormalized log-probabilities.
      labels: target probabilities, broadcastable to the logits' shape.
      axis: the class axis, a tuple of them, or None (all axes).
      where: optional boolean mask (the logits' shape, or the batch shape).

    Returns:
      The per-row loss (the logits' shape without the class axes), in the promoted dtype.

    Examples:
      >>> losses.softmax_cross_entropy(jnp.array([0.0, -jnp.inf]), jnp.array([1.0, 0.0]))
      Array(0., dtype=float32)
    """
    name = "softmax_cross_entropy"
    za = as_float_array(name, logits, "logits")
    ya = as_float_array(name, labels, "labels")
    axes = normalize_axes(name, axis, za.ndim)
    try:
        ya = jnp.broadcast_to(ya, za.shape)
    except ValueError:
        raise ValueError(
            f"{name}: `labels` of shape {ya.shape} does not broadcast to the logits' shape "
            f"{za.shape}"
        ) from None
    mask = _optax_mask(name, where, za.shape, axes)
    return _jit_ce_prob(za, ya, mask, axes)


# --------------------------------------------------------------------------- Fenchel-Young


def _fy_value(z: Array, labels: Array, mask: Array | None, alpha: Array | None, how: Any) -> Any:
    """(loss, p, z_y): the Fenchel-Young loss
    sum_j p_j (z_j - z_y) + H_alpha(p), p the normalizer's output (sparsemax: alpha None)."""
    cd = compute_dtype(z.dtype)
    zm = masked(z, mask)
    p = (_sparsemax(zm) if alpha is None else _entmax(zm, alpha, how)).astype(cd)
    zc = z.astype(cd)
    zy = _take(zc, labels)
    support = p > 0
    inner = jnp.sum(jnp.where(support, p * (zc - zy), 0), axis=-1, keepdims=True)
    if alpha is None:
        h = (1 - jnp.sum(p * p, axis=-1, keepdims=True)) / 2
    else:
        h = _tsallis(p, alpha.astype(cd))[0]
    loss = jnp.where(jnp.isnan(zy), jnp.nan, inner + h)
    return _finish_rows(loss, mask), p, zy


def _tsallis(p: Array, ac: Array) -> tuple[Array, Array]:
    """(H_alpha(p), dH_alpha/dalpha) along the last axis (keepdims) without the 0/0 of
    sum (p - p^a) / (a (a - 1)) near alpha = 1: with l = log p, eps = a - 1, y = eps l and
    E(y) = expm1(y) / y, H = -sum p l E(y) / a (Shannon's at a = 1), and
    dH/da = -H / a - sum p l^2 E'(y) / a, E'(y) = (e^y (y - 1) + 1) / y^2 (its series
    1/2 + y/3 + y^2/8 + ... for |y| < 1/2)."""
    support = p > 0
    lp = jnp.log(jnp.where(support, p, 1))
    y = (ac - 1) * lp
    small = jnp.abs(y) < 0.5
    ys = jnp.where(small, y, 0)
    yd = jnp.where(small, -1, y)
    e = jnp.where(
        small, 1 + ys * (1 / 2 + ys * (1 / 6 + ys * (1 / 24 + ys / 120))), jnp.expm1(yd) / yd
    )
    de_series = 1 / 2 + ys * (1 / 3 + ys * (1 / 8 + ys * (1 / 30 + ys * (1 / 144 + ys / 840))))
    de = jnp.where(small, de_series, (jnp.exp(yd) * (yd - 1) + 1) / (yd * yd))
    h = -jnp.sum(jnp.where(support, p * lp * e, 0), axis=-1, keepdims=True) / ac
    dh = -h / ac - jnp.sum(jnp.where(support, p * lp * lp * de, 0), axis=-1, keepdims=True) / ac
    return h, dh


@functools.partial(jax.custom_jvp, nondiff_argnums=(4,))
def _fy(z: Array, labels: Array, mask: Array | None, alpha: Array | None, how: Any) -> Array:
    return _fy_value(z, labels, mask, alpha, how)[0].astype(z.dtype)


@_fy.defjvp
def _fy_jvp(how: Any, primals: Any, tangents: Any) -> tuple[Array, Array]:
    z, labels, mask, alpha = primals
    tz, ta = tangents[0], tangents[3]
    loss, p, zy = _fy_value(z, labels, mask, alpha, how)
    w = jnp.where(_label_slot(labels, z.shape[-1]), p - 1, p)
    w = jnp.where(jnp.isnan(zy), jnp.nan, w)
    if mask is not None:
        w = jnp.where(jnp.any(mask, axis=-1, keepdims=True), w, 0)
    out = jnp.sum(w * tz.astype(p.dtype), axis=-1)
    if alpha is not None and not isinstance(ta, SymbolicZero):
        # dl/dalpha = dH_alpha(p)/dalpha at the optimal p (envelope theorem):
        # -sum p^a log p / (a (a - 1)) - H (2a - 1) / (a (a - 1))
        da = _tsallis(p, alpha.astype(p.dtype))[1]
        if mask is not None:
            da = jnp.where(jnp.any(mask, axis=-1, keepdims=True), da, 0)
        out = out + jnp.sum(da * ta.astype(p.dtype), axis=-1)
    return loss.astype(z.dtype), out.astype(z.dtype)


@functools.partial(jax.jit, static_argnums=(4, 5))
def _jit_fy(
    z: Array, labels: Array, mask: Array | None, alpha: Array | None, axis: int, how: Any
) -> Array:
    zl = jnp.moveaxis(z, axis, -1)
    ml = None if mask is None else jnp.moveaxis(mask, axis, -1)
    al = None if alpha is None else jnp.moveaxis(alpha, axis, -1)
    return _fy(zl, labels, ml, al, how)


def _fy_args(name: str, logits: Any, labels: Any, axis: Any, where: Any) -> tuple[Any, ...]:
    za = as_float_array(name, logits, "logits")
    ax = single_axis(name, axis, za.ndim)
    batch = tuple(d for i, d in enumerate(za.shape) if i != ax)
    la = as_int_labels(name, labels, batch, "the logits' shape without the class axes")
    mask = _optax_mask(name, where, za.shape, (ax,))
    return za, la, mask, ax


def sparsemax_loss(
    logits: ArrayLike, labels: ArrayLike, axis: int = -1, where: ArrayLike | None = None
) -> Array:
    r"""The sparsemax loss (Martins & Astudillo 2016): the Fenchel-Young loss of sparsemax.

    .. math::
      \ell = \sum_j p_j (z_j - z_y) + \tfrac12\Big(1 - \sum_j p_j^2\Big), \quad
      p = \operatorname{sparsemax}(z), \qquad
      \frac{\partial \ell}{\partial z} = p - e_y.

    Equal to :math:`-z_y + \tfrac12\sum_{j \in S}(z_j^2 - \tau^2) + \tfrac12`; zero exactly
    when :math:`p = e_y` (the label wins by a margin of 1). ``where`` and labels behave as
    for :func:`softmax_cross_entropy_with_integer_labels`. Reverse mode keeps :math:`p`.

    Args:
      logits: array of scores.
      labels: integer array of the logits' shape without ``axis``.
      axis: the class axis (one int).
      where: optional boolean mask (the logits' shape, or the batch shape).

    Returns:
      The per-row loss, of the labels' shape, in the logits' dtype.

    Examples:
      >>> losses.sparsemax_loss(jnp.array([[2.0, 0.5, 0.0], [0.0, 0.5, 2.0]]), jnp.array([0, 0]))
      Array([0., 2.], dtype=float32)
    """
    za, la, mask, ax = _fy_args("sparsemax_loss", logits, labels, axis, where)
    if za.shape[ax] == 0:
        return jnp.full(la.shape, jnp.nan, za.dtype)
    return _jit_fy(za, la, mask, None, ax, None)


def entmax_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    alpha: ArrayLike = 1.5,
    axis: int = -1,
    where: ArrayLike | None = None,
) -> Array:
    r"""The alpha-entmax loss (Peters, Niculae & Martins 2019): the Fenchel-Young loss of
    :func:`jaxact.entmax`, differentiable in the logits and in :math:`\alpha`.

    .. math::
      \ell = \sum_j p_j (z_j - z_y) + H_\alpha(p), \quad
      H_\alpha(p) = \frac{\sum_j (p_j - p_j^\alpha)}{\alpha(\alpha - 1)}, \quad
      p = \alpha\text{-entmax}(z),

    .. math::
      \frac{\partial \ell}{\partial z} = p - e_y, \qquad
      \frac{\partial \ell}{\partial \alpha} = \frac{\partial H_\alpha}{\partial \alpha}(p)
      = -\frac{\sum_j p_j^\alpha \log p_j}{\alpha(\alpha - 1)}
        - H_\alpha(p)\,\frac{2\alpha - 1}{\alpha(\alpha - 1)}

    (the envelope theorem: :math:`p` maximizes :math:`\langle p, z\rangle + H_\alpha(p)`).
    :math:`\alpha = 2` is :func:`sparsemax_loss`; :math:`\alpha = 1` is the softmax
    cross-entropy (Shannon's entropy). Both :math:`H_\alpha` and its derivative are formed
    without the 0/0 near 1, as :math:`H_\alpha = -\tfrac1\alpha\sum_j p_j l_j E(y_j)`,
    :math:`l = \log p`, :math:`y = (\alpha - 1) l`, :math:`E(y) = (e^y - 1)/y`, and
    :math:`\partial H_\alpha/\partial\alpha = -H_\alpha/\alpha - \tfrac1\alpha\sum_j
    p_j l_j^2 E'(y_j)`. ``alpha`` broadcasts as for :func:`jaxact.entmax` (size 1 along
    ``axis``) and must be :math:`\ge 1`. ``where`` and labels as for
    :func:`sparsemax_loss`. Reverse mode keeps :math:`p`.

    Args:
      logits: array of scores.
      labels: integer array of the logits' shape without ``axis``.
      alpha: :math:`\alpha \ge 1` (default 1.5), a number or an array.
      axis: the class axis (one int).
      where: optional boolean mask (the logits' shape, or the batch shape).

    Returns:
      The per-row loss, of the labels' shape, in the logits' dtype.

    Examples:
      >>> losses.entmax_loss(jnp.array([2.0, 0.0, 0.0]), jnp.array(0))
      Array(0., dtype=float32)
      >>> losses.entmax_loss(jnp.array([0.0, 0.0]), jnp.array(0), alpha=2.0)
      Array(0.25, dtype=float32)
    """
    name = "entmax_loss"
    za, la, mask, ax = _fy_args(name, logits, labels, axis, where)
    if is_number(alpha):
        if alpha < 1:
            raise ValueError(f"{name}: `alpha` must be >= 1, got {alpha}")
        how = _how(alpha)
        aa = jnp.full((1,) * za.ndim, alpha, compute_dtype(za.dtype))
    else:
        how = None
        aa = alpha_array(name, alpha, za, ax)
    if za.shape[ax] == 0:
        return jnp.full(la.shape, jnp.nan, za.dtype)
    return _jit_fy(za, la, mask, aa, ax, how)
