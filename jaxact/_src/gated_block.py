"""A transformer's gated MLP block, ``unit(x W_in) W_out``, whose reverse mode keeps less.

Composed from matmuls and a gated unit, reverse mode keeps the in-projection's output ``h``
(the unit's residual), the unit's output ``g`` (the out-projection's input) and then forms
the full ``dg`` and ``dh`` in the backward pass. Here the block is one ``jax.custom_vjp``:
the forward keeps ``x`` and ``h`` only, and the backward walks the rows in chunks —
recomputing ``g`` from ``h``, forming ``dg``, ``dh`` and ``dx`` a chunk at a time and
accumulating the weight gradients — so no hidden-sized array but ``h`` is ever whole.
The chunks are strided (rows ``i*C + c``), so a batch sharded over its rows stays sharded.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import cast

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

from jaxact._src import gated
from jaxact._src.arrays import as_float_array, compute_dtype
from jaxact._src.rows import is_constant
from jaxact._src.rule import Partial, Select

# name -> the unit's two-input form (value, gate) -> output, and its analytic partials
# (d/d value, d/d gate) in the compute dtype, with the default options
UNITS: dict[str, tuple[Callable[[Array, Array], Array], Callable[..., tuple[Partial, ...]]]] = {
    "swiglu": (gated.swiglu_pair, gated._swiglu_derivative),
    "geglu": (gated.geglu_pair, gated._geglu_derivative),
    "geglu_exact": (
        functools.partial(gated.geglu_pair, approximate=False),
        functools.partial(gated._geglu_derivative, approximate=False),
    ),
    "reglu": (gated.reglu_pair, gated._reglu_derivative),
    "clamped_swiglu": (gated.clamped_swiglu_pair, gated._clamped_swiglu_derivative),
}

MIN_CHUNK_ROWS = 64  # below this a chunk's matmuls are too small to be worth a loop step
DEFAULT_CHUNKS = 2  # measured: see gated_mlp's docstring


def row_chunks(rows: int, chunks: int) -> int:
    """The number of strided row chunks: the largest divisor of ``rows`` up to ``chunks``
    that leaves at least ``MIN_CHUNK_ROWS`` rows in each (1: no loop)."""
    if not is_constant(rows):
        return 1  # a symbolic row count (jax.export): its divisors are unknown
    for c in range(min(chunks, rows // MIN_CHUNK_ROWS), 1, -1):
        if rows % c == 0:
            return c
    return 1


def _gate(unit: str, hs: Sequence[Array]) -> Array:
    a, b = jnp.split(hs[0], 2, axis=-1) if len(hs) == 1 else hs
    return UNITS[unit][0](a, b)


def _partial(unit: str, which: int, a: Array, b: Array, dg: Array) -> Array:
    """``dg`` times the unit's partial derivative in its value (0) or gate (1), computed
    in float32 for 16-bit inputs and rounded once."""
    cd = compute_dtype(a.dtype)
    d = UNITS[unit][1](a.astype(cd), b.astype(cd))[which]
    d = d.materialize(cd) if isinstance(d, Select) else d
    return (d * dg.astype(cd)).astype(a.dtype)


def _dot(a: Array, b: Array, acc: jnp.dtype) -> Array:
    return jnp.matmul(a, b, preferred_element_type=acc)


def _biased(y: Array, b: Array | None) -> Array:
    return y if b is None else y + b[None, :]


def _project(x: Array, ws: Sequence[Array], bs: Sequence[Array | None]) -> list[Array]:
    return [_biased(x @ w, b) for w, b in zip(ws, bs, strict=True)]


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _block(
    unit: str,
    chunks: int,
    x: Array,
    ws: tuple[Array, ...],
    bs: tuple[Array | None, ...],
    w_out: Array,
    b_out: Array | None,
) -> Array:
    return _biased(_gate(unit, _project(x, ws, bs)) @ w_out, b_out)


def _block_fwd(unit, chunks, x, ws, bs, w_out, b_out):
    hs = _project(x, ws, bs)
    y = _biased(_gate(unit, hs) @ w_out, b_out)
    return y, (x, hs, ws, bs, w_out, b_out)  # biases: to know which are present


def _block_bwd(unit, chunks, res, dy):
    x, hs, ws, bs, w_out, b_out = res
    rows, c = x.shape[0], chunks
    acc = compute_dtype(dy.dtype)  # chunked sums accumulate in float32 for 16-bit types
    fused = len(ws) == 1
    w_ab = jnp.split(ws[0], 2, axis=-1) if fused else ws  # value and gate projections

    def part(a: Array) -> Array:  # (rows, n) -> (rows / c, c, n): chunk k is rows i*c + k
        return a.reshape(rows // c, c, a.shape[-1])

    xr, dyr = part(x), part(dy)
    # Three views of h behind one barrier (no copies): the recomputed value and each partial
    # read their own, so XLA gives each its own loop instead of materializing the shared
    # transcendentals (e^-b, the normal tail's) as chunk-sized arrays between them.
    hr3 = lax.optimization_barrier(tuple([part(h) for h in hs] for _ in range(3)))

    def step(k: Array | int, carry: tuple) -> tuple:
        dws, dbs, dw_out, dx = carry
        take = functools.partial(lax.dynamic_index_in_dim, index=k, axis=1, keepdims=False)
        x_k, dy_k = take(xr), take(dyr)
        ab_k = [
            jnp.split(take(hr[0]), 2, axis=-1) if fused else [take(h) for h in hr] for hr in hr3
        ]
        g_k = UNITS[unit][0](*ab_k[0])
        dw_out = dw_out + _dot(g_k.T, dy_k, acc)
        dg_k = dy_k @ w_out.T
        dab = [_partial(unit, i, ab_k[1 + i][0], ab_k[1 + i][1], dg_k) for i in (0, 1)]
        dws = [dw + _dot(x_k.T, d, acc) for dw, d in zip(dws, dab, strict=True)]
        dbs = [db + jnp.sum(d, 0, dtype=acc) for db, d in zip(dbs, dab, strict=True)]
        dx_k = _dot(dab[0], w_ab[0].T, acc) + _dot(dab[1], w_ab[1].T, acc)
        dx = lax.dynamic_update_index_in_dim(dx, dx_k.astype(dx.dtype), k, axis=1)
        return dws, dbs, dw_out, dx

    init = (
        [jnp.zeros(w.shape, acc) for w in w_ab],
        [jnp.zeros(w.shape[-1:], acc) for w in w_ab],
        jnp.zeros(w_out.shape, acc),
        jnp.zeros(xr.shape, x.dtype),
    )
    dws, dbs, dw_out, dx = step(0, init) if c == 1 else lax.fori_loop(0, c, step, init)
    if fused:
        dws, dbs = [jnp.concatenate(dws, -1)], [jnp.concatenate(dbs, -1)]
    return (
        dx.reshape(x.shape),
        tuple(dw.astype(w.dtype) for dw, w in zip(dws, ws, strict=True)),
        tuple(None if b is None else db.astype(b.dtype) for db, b in zip(dbs, bs, strict=True)),
        dw_out.astype(w_out.dtype),
        None if b_out is None else jnp.sum(dy, 0, dtype=acc).astype(b_out.dtype),
    )


_block.defvjp(_block_fwd, _block_bwd)


def gated_mlp(
    x: ArrayLike,
    w_in: ArrayLike,
    w_out: ArrayLike,
    *,
    unit: str = "swiglu",
    w_gate: ArrayLike | None = None,
    b_in: ArrayLike | None = None,
    b_gate: ArrayLike | None = None,
    b_out: ArrayLike | None = None,
    chunks: int = DEFAULT_CHUNKS,
) -> Array:
    r"""A transformer's gated MLP block, :math:`y = \mathrm{unit}(x W_{in} + b_{in})\,W_{out}
    + b_{out}`, whose reverse mode keeps only ``x`` and the in-projection's output.

    .. math::
      h = x W_{in}, \quad g = a \odot \phi(b) \;(a, b \text{ the halves of } h), \quad
      y = g W_{out}; \qquad
      \frac{\partial L}{\partial W_{out}} = g^\top \bar y, \quad
      \bar g = \bar y W_{out}^\top, \quad
      \frac{\partial L}{\partial W_{in}} = x^\top \bar h, \quad
      \bar x = \bar h W_{in}^\top,

    with :math:`\bar h` the gated unit's analytic derivative (:func:`jaxact.swiglu` and its
    siblings) applied to :math:`\bar g`. The backward pass recomputes :math:`g` from
    :math:`h` and forms :math:`\bar g, \bar h, \bar x` in ``chunks`` strided row chunks,
    accumulating the weight gradients in float32 or wider, so the step's peak memory holds
    one hidden-sized array (``h``) instead of four. Reverse mode only (``jax.grad``,
    ``jax.vjp``): forward mode (``jax.jvp``, ``jax.hessian``) raises, as for any
    ``jax.custom_vjp``; compose the units and matmuls directly for it.

    Args:
      x: inputs, shape ``(..., d)``; the leading axes are the rows.
      w_in: ``(d, 2f)``, value and gate projections side by side (the unit's split form); or,
        with ``w_gate``, the value projection ``(d, f)`` alone.
      w_out: ``(f, d_out)``.
      unit: ``"swiglu"``, ``"geglu"`` (tanh form), ``"geglu_exact"`` (erf form),
        ``"reglu"`` or ``"clamped_swiglu"`` (limit 7, alpha 1.702).
      w_gate: ``(d, f)`` gate projection, for models that keep ``W_up`` and ``W_gate``
        apart.
      b_in, b_gate, b_out: optional biases of the projections.
      chunks: most row chunks in the backward pass (fewer when the rows do not divide, or a
        chunk would have under 64 rows). More chunks, less memory, more loop steps: on a
        2-core CPU, 4096 tokens, 512 -> 2048, float32 swiglu, the SGD step's temp memory
        was 128 / 120 / 104 MiB for 1 / 2 / 4 chunks (jax.nn's composition: 192) at
        0.98 / 0.97 / 1.2 times its step time.

    Returns:
      ``(..., d_out)``, the dtype of the matmuls.

    Examples:
      >>> import jaxact.nnx
      >>> x = jnp.ones((4, 3))
      >>> w_in, w_out = jnp.full((3, 4), 0.5), jnp.ones((2, 3))  # a = b = 1.5, f = 2
      >>> jaxact.nnx.gated_mlp(x, w_in, w_out, unit="swiglu")[0]  # 2 * 1.5 * silu(1.5)
      Array([3.679085, 3.679085, 3.679085], dtype=float32)
      >>> 2 * 1.5 * jax.nn.silu(1.5)
      Array(3.679085, dtype=float32, weak_type=True)
    """
    if unit not in UNITS:
        raise ValueError(f"gated_mlp: unknown unit {unit!r}; choose one of {sorted(UNITS)}")
    xa = as_float_array("gated_mlp", x)
    ws = [as_float_array("gated_mlp", w_in, "w_in")]
    bs = [None if b_in is None else as_float_array("gated_mlp", b_in, "b_in")]
    if w_gate is not None:
        ws.append(as_float_array("gated_mlp", w_gate, "w_gate"))
        bs.append(None if b_gate is None else as_float_array("gated_mlp", b_gate, "b_gate"))
    elif b_gate is not None:
        raise ValueError("gated_mlp: b_gate given without w_gate")
    wo = as_float_array("gated_mlp", w_out, "w_out")
    bo = None if b_out is None else as_float_array("gated_mlp", b_out, "b_out")
    width = ws[0].shape[-1] if len(ws) == 2 else ws[0].shape[-1] // 2
    for name, w in zip(("w_in", "w_gate")[: len(ws)], ws, strict=True):
        if w.ndim != 2 or w.shape[0] != xa.shape[-1]:
            raise ValueError(
                f"gated_mlp: {name} has shape {w.shape}; want ({xa.shape[-1]}, hidden) for x "
                f"of shape {xa.shape}"
            )
    if len(ws) == 1 and ws[0].shape[-1] % 2:
        raise ValueError(
            f"gated_mlp: w_in has odd width {ws[0].shape[-1]}; it must split in halves"
        )
    if len(ws) == 2 and ws[1].shape != ws[0].shape:
        raise ValueError(f"gated_mlp: w_gate has shape {ws[1].shape}, w_in {ws[0].shape}")
    if wo.ndim != 2 or wo.shape[0] != width:
        raise ValueError(f"gated_mlp: w_out has shape {wo.shape}; want ({width}, d_out)")
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        raise ValueError(f"gated_mlp: chunks must be a positive int, got {chunks!r}")
    lead = xa.shape[:-1]
    rows = math.prod(lead)
    flat = xa.reshape(rows, xa.shape[-1])
    y = cast(Array, _block(unit, row_chunks(rows, chunks), flat, tuple(ws), tuple(bs), wo, bo))
    return y.reshape(*lead, wo.shape[-1])
