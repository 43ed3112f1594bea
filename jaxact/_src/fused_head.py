"""The fused language-model head: ``linear_softmax_cross_entropy``, cross-entropy of
z = x @ w (+ b) over the vocabulary without ever forming the (tokens, vocabulary) logits.

The vocabulary is walked in column chunks (one ``fori_loop``). The forward pass keeps per
token an online maximum ``m``, the split sum of e^(z - m) (``others`` over the non-maximal
entries, ``ties`` counting the maxima: ``rows.split_sums``' exact statistics, merged chunk
by chunk), the label's logit and, for label smoothing, the sum of the logits. The backward
pass walks the chunks again, recomputes each chunk's logits, forms its gradient block
G = dloss/dz from the per-token statistics and adds G @ w_c^T to dx and x^T @ G to w's
gradient columns. Chunks have a fixed number of elements (see :func:`chunk_size`); a last
partial chunk is read from ``V - c`` and its columns seen before are left out of every sum.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.core import Tracer
from jax.typing import ArrayLike

from jaxact._src.arrays import FLOATS, as_int_labels, compute_dtype
from jaxact._src.rows import Rows, is_constant, minus_log_p, one_minus_p

Reduction = Literal["none", "sum", "mean"]

# Elements of one (tokens, chunk) block of logits: 2^22 (16 MiB of float32). The forward
# and backward loops each hold a few such blocks at once.
CHUNK_ELEMENTS = 1 << 22
# Columns of a chunk are a multiple of this (the matmul's tile), at least this many.
CHUNK_ALIGN = 128
# The token count a program exported for any number of tokens sizes its chunks for: 512
# columns, 16 MiB float32 blocks at 8192 tokens (a block grows with the tokens it is called on).
SYMBOLIC_TOKENS = 8192


def chunk_size(tokens: int, vocab: int) -> int:
    """Columns per chunk: CHUNK_ELEMENTS // tokens, and at most a quarter of the vocabulary
    (so the blocks a pass holds stay below the logits' size for small problems too), a
    multiple of CHUNK_ALIGN, at least CHUNK_ALIGN and at most the vocabulary. A symbolic
    token count (``jax.export``) is taken as SYMBOLIC_TOKENS."""
    if not is_constant(tokens):
        tokens = SYMBOLIC_TOKENS
    c = min(CHUNK_ELEMENTS // max(tokens, 1), -(-vocab // 4))
    c = -(-c // CHUNK_ALIGN) * CHUNK_ALIGN if c < CHUNK_ALIGN else c // CHUNK_ALIGN * CHUNK_ALIGN
    return max(1, min(vocab, c))


class Options(NamedTuple):
    """The static options of one call (hashable: the custom_vjp's nondiff argument). The
    hyperparameters' values are not among them (an array ``hp`` = (label smoothing, z-loss
    weight, soft cap), traced and differentiable: a new value compiles nothing); only
    whether each is on."""

    smoothing: bool
    zloss: bool
    capped: bool
    reduction: str
    return_lse: bool
    chunk: int


class Stats(NamedTuple):
    """Per-token results of the forward walk (compute dtype, shape (tokens,))."""

    loss: Array  # the per-token loss (0 where not counted)
    lse: Array  # log sum_j e^{z_j}
    q: Array  # 1 - p_y, exact for a confident token
    py: Array  # p_y
    d_eps: Array  # d loss / d label smoothing: (lse - mean z) - (lse - z_y)


def _bits(a: Array) -> Array:
    """A 16-bit float array as its bits (others unchanged). XLA's CPU backend widens a
    16-bit ``dynamic-slice`` or ``dynamic-update-slice`` to float32, and of a loop-invariant
    operand the widening is hoisted out of the loop: a float32 copy of all of w (512 MiB
    for a 1024 x 131072 bfloat16 w), and of the whole gradient buffer at each step. As
    unsigned integers they are sliced and updated in place; one 16-bit copy of w is made
    (the bitcast is a copy on that backend)."""
    return lax.bitcast_convert_type(a, jnp.uint16) if a.dtype.itemsize == 2 else a


def _unbits(a: Array, dtype: Any) -> Array:
    return lax.bitcast_convert_type(a, dtype) if a.dtype != dtype else a


def _columns(w: Array, start: Array, c: int, dtype: Any) -> Array:
    """Columns [start, start + c) of w (as :func:`_bits`), in its ``dtype``."""
    return _unbits(lax.dynamic_slice_in_dim(w, start, c, axis=1), dtype)


def _block(
    x: Array, w: Array, b: Array | None, start: Array, c: int, cap: Array | None, wdtype: Any
) -> tuple[Array, Array]:
    """The logits of columns [start, start + c) (w as :func:`_bits`, of dtype ``wdtype``),
    accumulated in the compute dtype, soft-capped (``cap``: None for none); and the
    uncapped ones."""
    cd = compute_dtype(jnp.result_type(x.dtype, wdtype))
    raw = jnp.dot(x, _columns(w, start, c, wdtype), preferred_element_type=cd)
    if b is not None:
        raw = raw + lax.dynamic_slice_in_dim(b, start, c).astype(cd)[None, :]
    return (raw if cap is None else cap * jnp.tanh(raw / cap)), raw


def _chunks(vocab: int, c: int) -> int:
    return -(-vocab // c)


def _exp_difference(a: Array, b: Array) -> Array:
    """e^(a - b) with the rounding of a - b compensated (TwoSum: a - b = s + err exactly,
    e^(s + err) = e^s (1 + err)). The running sums are rescaled by it each time the
    maximum moves; with e^s alone its error, up to ulp(|a - b|) / 2 in the exponent, is
    common to every term summed before (13 float32 ulps in a loss of 1e-6 whose label leads
    by 17, measured), where the terms' own roundings average out. a = -inf gives 0."""
    s = a - b
    bb = s - a
    err = (a - (s - bb)) + (-b - bb)
    return jnp.exp(s) * (1 + jnp.where(jnp.isfinite(s), err, 0))


def _hyper(hp: Array, o: Options, cd: Any) -> tuple[Array, Array, Array | None, Array]:
    """(label smoothing, z-loss weight, soft cap or None, valid) from ``hp``, in ``cd``;
    ``valid``: all in their domains (traced values are not checked: NaN where not)."""
    h = hp.astype(cd)
    eps, zl, cap = h[0], h[1], h[2]
    valid = ((eps >= 0) & (eps < 1)) if o.smoothing else jnp.asarray(True)
    if o.zloss:
        valid = valid & (zl >= 0) & (zl < jnp.inf)
    if o.capped:
        valid = valid & (cap > 0) & (cap < jnp.inf)
    return eps, zl, (cap if o.capped else None), valid


def _walk(x: Array, w: Array, b: Array | None, labels: Array, hp: Array, o: Options) -> Stats:
    """The forward walk over the vocabulary chunks, then the per-token loss."""
    n, vocab = x.shape[0], w.shape[1]
    c = o.chunk
    cd = compute_dtype(jnp.result_type(x, w))
    eps, zl, cap, valid = _hyper(hp, o, cd)
    lowest = float(np.finfo(cd).min)
    cols = lax.iota(jnp.int32, c)
    wbits = _bits(w)

    def body(i: Array, carry: tuple[Array, ...]) -> tuple[Array, ...]:
        m, others, ties, zy, zsum = carry
        first = i * c  # the first column this chunk adds
        start = jnp.minimum(first, vocab - c)
        z = _block(x, wbits, b, start, c, cap, w.dtype)[0]
        fresh = ((start + cols) >= first)[None, :]  # columns no earlier chunk has seen
        zf = jnp.where(fresh, z, -jnp.inf)
        m_new = jnp.maximum(m, jnp.max(zf, axis=1))
        mf = jnp.maximum(m_new, lowest)  # an all--inf chunk so far: e = 0, not NaN
        e = jnp.exp(zf - mf[:, None])
        top = jnp.floor(e)  # 1 exactly at the entries equal to the maximum
        moved = m_new > m
        others = jnp.where(moved, (others + ties) * _exp_difference(m, mf), others)
        others = others + jnp.sum(e - top, axis=1)
        ties = jnp.where(moved, 0, ties) + jnp.sum(top, axis=1)
        here = (labels >= first) & (labels < start + c)
        at = jnp.clip(labels - start, 0, c - 1)
        zy = jnp.where(here, jnp.take_along_axis(z, at[:, None], axis=1)[:, 0], zy)
        if o.smoothing:
            zsum = zsum + jnp.sum(jnp.where(fresh, z, 0), axis=1)
        return m_new, others, ties, zy, zsum

    zeros = jnp.zeros((n,), cd)
    init = (jnp.full((n,), -jnp.inf, cd), zeros, zeros, jnp.full((n,), jnp.nan, cd), zeros)
    m, others, ties, zy, zsum = lax.fori_loop(0, _chunks(vocab, c), body, init)
    r = Rows(m, others + (ties - 1))
    lse = m + jnp.log1p(r.rest)
    nll = minus_log_p(zy, r)  # lse - z_y, exact for a confident token
    loss, d_eps = nll, jnp.zeros_like(nll)
    if o.smoothing:  # lse - mean z, likewise
        uniform = minus_log_p(zsum / vocab, r)
        loss = (1 - eps) * nll + eps * uniform
        d_eps = uniform - nll
    if o.zloss:
        loss = loss + zl * lse * lse
    loss = jnp.where(valid, loss, jnp.nan)
    return Stats(loss, lse, one_minus_p(zy, r), jnp.exp(-nll), d_eps)


def _reduce(loss: Array, counted: Array, reduction: str) -> Array:
    loss = jnp.where(counted, loss, 0)
    if reduction == "none":
        return loss
    total = jnp.sum(loss)
    if reduction == "sum":
        return total
    return total / jnp.maximum(jnp.sum(counted), 1).astype(total.dtype)


def _outputs(s: Stats, counted: Array, o: Options) -> Any:
    loss = _reduce(s.loss, counted, o.reduction)
    if o.return_lse:
        return loss, jnp.where(counted, s.lse, 0)
    return loss


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def _fused(
    x: Array, w: Array, b: Array | None, labels: Array, counted: Array, hp: Array, o: Options
) -> Any:
    return _outputs(_walk(x, w, b, labels, hp, o), counted, o)


def _fused_fwd(
    x: Array, w: Array, b: Array | None, labels: Array, counted: Array, hp: Array, o: Options
) -> tuple[Any, Any]:
    s = _walk(x, w, b, labels, hp, o)
    return _outputs(s, counted, o), (x, w, b, labels, counted, hp, s)


def _fused_bwd(o: Options, res: Any, ct: Any) -> tuple[Any, ...]:
    x, w, b, labels, counted, hp, s = res
    n, vocab = x.shape[0], w.shape[1]
    c = o.chunk
    cd = s.lse.dtype
    eps, zl, cap, valid = _hyper(hp, o, cd)
    ct_loss, ct_lse = ct if o.return_lse else (ct, None)
    ct_loss = ct_loss.astype(cd)
    if o.reduction == "none":
        g = ct_loss
    elif o.reduction == "sum":
        g = jnp.broadcast_to(ct_loss, (n,))
    else:
        g = jnp.broadcast_to(ct_loss / jnp.maximum(jnp.sum(counted), 1).astype(cd), (n,))
    g = jnp.where(counted, g, 0)
    g = jnp.where(valid, g, jnp.nan)  # a hyperparameter outside its domain (traced)
    # dloss_n/dz_j = (1 + 2 z_loss lse) p_j - (1 - eps) [j = y] - eps / V; dlse/dz_j = p_j
    a = g * (1 + 2 * zl * s.lse) if o.zloss else g
    if ct_lse is not None:
        a = a + jnp.where(counted, ct_lse.astype(cd), 0)
    # a p_y - g (1 - eps + eps / V), formed from 1 - p_y (exact for a confident token)
    at_label = -g * s.q + (a - g) * s.py
    if o.smoothing:
        at_label = at_label + g * (eps * (1 - 1 / vocab))
    bad = counted & ((labels < 0) | (labels >= vocab))
    a = jnp.where(bad, jnp.nan, a)  # a counted token with no label: NaN, as its loss
    smooth = g * (eps / vocab) if o.smoothing else None
    mm = jnp.result_type(x, w)
    cols = lax.iota(jnp.int32, c)
    wbits = _bits(w)

    def body(i: Array, carry: tuple[Any, ...]) -> tuple[Any, ...]:
        dx, dw, db, dcap = carry
        first = i * c
        start = jnp.minimum(first, vocab - c)
        z, raw = _block(x, wbits, b, start, c, cap, w.dtype)
        grad = a[:, None] * jnp.exp(z - s.lse[:, None])
        if smooth is not None:
            grad = grad - smooth[:, None]
        grad = jnp.where((start + cols)[None, :] == labels[:, None], at_label[:, None], grad)
        grad = jnp.where(counted[:, None], grad, 0)
        fresh = ((start + cols) >= first)[None, :]  # a last chunk's overlap is added once
        if cap is not None:
            t = z / cap  # tanh(u), u = raw / cap: dz/draw = 1 - t^2, dz/dcap = t - u (1 - t^2)
            dz_dcap = t - (raw / cap) * (1 - jnp.square(t))
            dcap = dcap + jnp.sum(jnp.where(fresh, grad * dz_dcap, 0), axis=1)
            grad = grad * (1 - jnp.square(t))
        gm = grad.astype(mm)
        wc = _columns(wbits, start, c, w.dtype)
        dx = dx + jnp.dot(jnp.where(fresh, gm, 0), wc.T, preferred_element_type=cd)
        dwc = _bits(jnp.dot(x.T, gm, preferred_element_type=cd).astype(w.dtype))
        dw = lax.dynamic_update_slice_in_dim(dw, dwc, start, axis=1)
        if db is not None:
            dbc = jnp.sum(grad, axis=0).astype(db.dtype)
            db = lax.dynamic_update_slice_in_dim(db, dbc, start, axis=0)
        return dx, dw, db, dcap

    init = (
        jnp.zeros(x.shape, cd),
        _bits(jnp.zeros(w.shape, w.dtype)),
        None if b is None else jnp.zeros(b.shape, b.dtype),
        jnp.zeros((n,), cd),
    )
    dx, dw, db, dcap = lax.fori_loop(0, _chunks(vocab, c), body, init)
    # the hyperparameters': sum_n g_n dloss_n/deps, sum_n g_n lse_n^2, sum_nj G_nj dz_nj/dcap
    dhp = jnp.stack(
        [
            jnp.sum(jnp.where(counted, g * s.d_eps, 0)),
            jnp.sum(jnp.where(counted, g * s.lse * s.lse, 0)),
            jnp.sum(dcap),
        ]
    ).astype(hp.dtype)
    return dx.astype(x.dtype), _unbits(dw, w.dtype), db, None, None, dhp


_fused.defvjp(_fused_fwd, _fused_bwd)


_REDUCTIONS = ("none", "sum", "mean")
_NAME = "linear_softmax_cross_entropy"


def _float_array(value: Any, arg: str) -> Array:
    if not isinstance(value, jax.Array | np.ndarray) and hasattr(value, "__jax_array__"):
        value = value.__jax_array__()
    if not isinstance(value, jax.Array | np.ndarray):
        raise TypeError(
            f"{_NAME}: `{arg}` must be a JAX or NumPy array, got {type(value).__name__}"
        )
    arr = jnp.asarray(value)
    if arr.dtype not in FLOATS:
        raise TypeError(f"{_NAME}: `{arg}` must have a floating dtype, got {arr.dtype}")
    return arr


def _number(value: Any, arg: str) -> Any:
    """A hyperparameter: a Python or NumPy number (a float), or a scalar floating array,
    traced or not (``TypeError`` otherwise)."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{_NAME}: `{arg}` must be a number or a scalar array, got a bool")
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if not isinstance(value, jax.Array | np.ndarray) and hasattr(value, "__jax_array__"):
        value = value.__jax_array__()
    if isinstance(value, jax.Array | np.ndarray) and value.shape == () and value.dtype in FLOATS:
        return value
    raise TypeError(
        f"{_NAME}: `{arg}` must be a number or a scalar floating array, got "
        f"{type(value).__name__}"
        + (f" of shape {value.shape}, dtype {value.dtype}" if hasattr(value, "shape") else "")
    )


def _check(value: Any, ok: Any, message: str) -> None:
    """``ValueError(message)`` when a concrete ``value`` fails ``ok`` (traced: NaN later)."""
    if isinstance(value, Tracer):
        return
    if not bool(ok(np.asarray(value, np.float64))):
        raise ValueError(f"{_NAME}: {message}, got {float(np.asarray(value))}")


def _options(
    reduction: Any, label_smoothing: Any, z_loss: Any, logit_softcap: Any, return_lse: Any
) -> tuple[Any, Any, Any]:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{_NAME}: `reduction` must be 'none', 'sum' or 'mean', got {reduction!r}")
    eps = _number(label_smoothing, "label_smoothing")
    _check(eps, lambda v: 0 <= v < 1, "`label_smoothing` must be in [0, 1)")
    zl = _number(z_loss, "z_loss")
    _check(zl, lambda v: 0 <= v < np.inf, "`z_loss` must be finite and >= 0")
    cap = None if logit_softcap is None else _number(logit_softcap, "logit_softcap")
    if cap is not None:
        _check(cap, lambda v: 0 < v < np.inf, "`logit_softcap` must be None or finite and > 0")
    if not isinstance(return_lse, bool):
        raise TypeError(f"{_NAME}: `return_lse` must be a bool, got {type(return_lse).__name__}")
    return eps, zl, cap


def linear_softmax_cross_entropy(
    x: ArrayLike,
    w: ArrayLike,
    labels: ArrayLike,
    *,
    b: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    logit_softcap: float | None = None,
    return_lse: bool = False,
) -> Array | tuple[Array, Array]:
    r"""Cross-entropy of the logits :math:`z = xW (+ b)` over a vocabulary, never forming them.

    The language-model head fused with its loss. Per token :math:`n` (with
    :math:`z_n = x_n W + b`, soft-capped to :math:`c\tanh(z/c)` when ``logit_softcap=c``):

    .. math::
      \ell_n = \operatorname{lse}(z_n) - (1-\varepsilon)\, z_{n,y_n}
               - \varepsilon\, \tfrac1V \textstyle\sum_j z_{nj}
               + \lambda_z \operatorname{lse}(z_n)^2, \qquad
      \frac{\partial \ell_n}{\partial z_{nj}} = (1 + 2\lambda_z \operatorname{lse}(z_n))\, p_{nj}
               - (1-\varepsilon)[j = y_n] - \frac{\varepsilon}{V},

    with :math:`p_n = \operatorname{softmax}(z_n)`, :math:`\varepsilon` the label smoothing
    (PyTorch's: the target is :math:`(1-\varepsilon)\,\mathrm{onehot} + \varepsilon/V`) and
    :math:`\lambda_z` the z-loss weight (PaLM). The gradients follow by the chain rule:
    :math:`\partial x = G W^\top`, :math:`\partial W = x^\top G`, :math:`\partial b = \sum_n
    G_n` with :math:`G = \partial\ell/\partial z` (times :math:`1 - (z/c)^2` under a soft cap).

    The vocabulary is processed in chunks of columns, so neither pass holds more than a
    few (tokens, chunk) blocks; the logits are accumulated in float32 for 16-bit inputs
    (in float64 for float64 ones). The loss is :math:`(m - z_y) + \log(1 + r)` with
    :math:`m` the maximum and :math:`r` the sum of the other terms of
    :math:`\sum_j e^{z_j - m} - 1`, so a confident token's tiny loss, and its gradient
    :math:`p_y - 1` at the label, are not rounded to 0. Reverse mode keeps x, W, b and
    four numbers per token, and recomputes each chunk's logits (one more matmul). For
    the example below: :math:`\log(1 + e^{-2} + e^{-3}) = 0.169846` and
    :math:`\operatorname{log1p}(2e^{-30}) = 1.8715246\cdot 10^{-13}`.

    Args:
      x: activations, shape ``(..., d)``, any float dtype.
      w: the projection, shape ``(d, V)`` (an ``nnx.Linear`` kernel). For tied embeddings
        pass ``embedding.T``: XLA then makes one copy of the transpose, a buffer of w's
        size, never the logits' (value_and_grad at 8192 x 1024 x 131072, float32: 564 MiB
        of temp memory against 52 MiB with a (d, V) array; bfloat16 586 against 356).
      labels: integer labels of shape ``x.shape[:-1]``. A counted token whose label is
        outside ``[0, V)`` gives NaN (its loss and its gradient): under ``jit`` values
        cannot raise.
      b: optional bias of shape ``(V,)``.
      where: optional boolean mask of shape ``x.shape[:-1]``: the tokens that count. The
        others give loss 0 (and ``lse`` 0) and exactly zero gradient.
      reduction: ``"mean"`` over the counted tokens (0 with a zero gradient when there
        are none), ``"sum"``, or ``"none"`` (per token, shape ``x.shape[:-1]``).
      label_smoothing: :math:`\varepsilon \in [0, 1)`.
      z_loss: :math:`\lambda_z \ge 0`.
      logit_softcap: ``None`` or :math:`c > 0` (Gemma 2 uses 30). The three are numbers or
        scalar arrays, traced under ``jit`` (one program for every value) and
        differentiable: :math:`\partial\ell_n/\partial\varepsilon = z_{n,y_n} -
        \tfrac1V\sum_j z_{nj}`, :math:`\partial\ell_n/\partial\lambda_z =
        \operatorname{lse}(z_n)^2`, :math:`\partial/\partial c` through
        :math:`\partial z/\partial c = \tanh u - u(1 - \tanh^2 u)`, :math:`u = z_{raw}/c`
        (summed in the backward loop). A Python 0 (or ``None``) leaves a term out of the
        program; traced values outside their domains give NaN.
      return_lse: also return the per-token :math:`\operatorname{lse}(z)` (shape
        ``x.shape[:-1]``), e.g. to log the z-loss or for distillation.

    Returns:
      The loss in the compute dtype (float32 for 16-bit inputs), or ``(loss, lse)``.

    Raises:
      TypeError: non-float ``x``/``w``/``b``, non-integer ``labels``, a non-bool ``where``.
      ValueError: shapes that do not fit, an unknown ``reduction``, ``label_smoothing``
        outside [0, 1), ``z_loss`` < 0, ``logit_softcap`` <= 0.

    Examples:
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> w = jnp.array([[2.0, 0.0, -1.0], [0.0, 30.0, 0.0]])
      >>> jaxact.losses.linear_softmax_cross_entropy(x, w, jnp.array([0, 1]), reduction="none")
      Array([1.6984601e-01, 1.8715246e-13], dtype=float32)
    """
    xa = _float_array(x, "x")
    wa = _float_array(w, "w")
    ba = None if b is None else _float_array(b, "b")
    eps, zl, cap = _options(reduction, label_smoothing, z_loss, logit_softcap, return_lse)
    if xa.ndim < 1:
        raise ValueError(f"{_NAME}: `x` must have shape (..., d), got a scalar")
    if wa.ndim != 2 or wa.shape[0] != xa.shape[-1]:
        raise ValueError(
            f"{_NAME}: `w` must have shape (d, V) with d = x.shape[-1] = {xa.shape[-1]}, "
            f"got {wa.shape}"
        )
    vocab = wa.shape[1]
    if vocab == 0:
        raise ValueError(f"{_NAME}: the vocabulary is empty (`w` has shape {wa.shape})")
    if ba is not None and ba.shape != (vocab,):
        raise ValueError(f"{_NAME}: `b` must have shape ({vocab},), got {ba.shape}")
    batch = xa.shape[:-1]
    la = as_int_labels(_NAME, labels, batch, "x.shape[:-1]")
    if where is None:
        counted = jnp.ones(batch, bool)
    else:
        if not isinstance(where, jax.Array | np.ndarray):
            raise TypeError(f"{_NAME}: `where` must be a boolean array, got {type(where).__name__}")
        counted = jnp.asarray(where)
        if counted.dtype != jnp.bool_:
            raise TypeError(f"{_NAME}: `where` must have a boolean dtype, got {counted.dtype}")
        if counted.shape != batch:
            raise ValueError(
                f"{_NAME}: `where` must have shape x.shape[:-1] = {batch}, got {counted.shape}"
            )
    n = math.prod(batch)
    # on unless a Python number turns it off (an array, traced or not, is always on)
    on = [not (isinstance(v, float) and v == 0) for v in (eps, zl)]
    o = Options(on[0], on[1], cap is not None, reduction, return_lse, chunk_size(n, vocab))
    hp = jnp.stack([jnp.asarray(v, jnp.float32) for v in (eps, zl, 1.0 if cap is None else cap)])
    out = _program(o)(
        xa.reshape(n, xa.shape[-1]),
        wa,
        ba,
        la.reshape(n).astype(jnp.int32),
        counted.reshape(n),
        hp,
    )
    if reduction == "none" or return_lse:
        loss, lse = out if return_lse else (out, None)
        loss = loss.reshape(batch) if reduction == "none" else loss
        return (loss, lse.reshape(batch)) if lse is not None else loss
    return out


@functools.cache
def _program(o: Options) -> Any:
    return jax.jit(lambda x, w, b, labels, counted, hp: _fused(x, w, b, labels, counted, hp, o))
