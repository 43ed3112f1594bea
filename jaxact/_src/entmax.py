"""alpha-entmax along one axis (Peters, Niculae & Martins 2019), differentiable in x and in
alpha, with ``where`` masks: its threshold by Newton's method (alpha <= 2) or bisection, its
closed-form JVP, and the rows with +inf, NaN or no support handled as in ``sparse``."""

from __future__ import annotations

import functools
import math
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
from jaxact._src.facts import Facts, declare
from jaxact._src.sparse import finish, minus_one

# Bisection halvings of tau's bracket [max - 1, max] (width 1): 30 reach float32's spacing
# near 1, 60 float64's; p is renormalized after. (Newton's method stops by twice as many.)
ENTMAX_ITERS = {32: 30, 64: 60}


# How _entmax finds its threshold: per batch (None: Newton if every alpha <= 2, else
# bisection; the near-one form for the rows that need it, the limits alpha = inf and NaN),
# "bisect", "near_one" (a Python-number alpha in [1, 1 + NEAR_ONE)), or an int k: bisection
# with the power 1 / (alpha - 1) = k known (a Python-number alpha such as 1.5 or 2), taken
# by multiplications.
How = Literal["bisect", "near_one"] | int | None

# alpha - 1 below which p is formed as exp(log1p(eps u) / eps), u = z - c (the near-one
# form, exact down to softmax at alpha = 1): the power form [eps z - tau]^(1/eps) loses
# ~1/eps float32 roundings in the power (64 eps at alpha = 1.001, 6.4 at 1.01, 1.6 at
# 1.05; the near-one form 1.1-1.7 eps over [1, 1.5], measured against float64).
NEAR_ONE = 0.125


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _entmax(x: Array, alpha: Array, how: How = None) -> Array:
    """alpha-entmax along the last axis; alpha broadcasts with size 1 there; ``how``: see
    :data:`How`."""
    cd = compute_dtype(x.dtype)
    xc, ac = x.astype(cd), alpha.astype(cd)
    mx = jnp.max(xc, axis=-1, keepdims=True)
    z = xc - jnp.where(jnp.isfinite(mx), mx, 0)
    regular = jnp.isfinite(mx)
    if how == "near_one":
        p = _near_one(z, ac - 1, regular)
    elif how is not None:
        p = _power_form(z, ac, regular, how)
    else:
        near = (ac >= 1) & (ac - 1 < NEAR_ONE)
        # alpha 2 stands in where the power form cannot go (replaced below)
        p = _power_form(z, jnp.where(near | ~(ac < jnp.inf), 2.0, ac), regular, how)
        eps = jnp.where(near, ac - 1, 0)
        p = jax.lax.cond(
            jnp.any(near), lambda: jnp.where(near, _near_one(z, eps, regular), p), lambda: p
        )
    p = finish(p, z, mx, jnp.sum(p > 0, axis=-1, keepdims=True))
    return _alpha_limits(p, z, ac).astype(x.dtype)


def _power_form(z: Array, ac: Array, regular: Array, how: How) -> Array:
    """p = [(alpha - 1) z - tau]_+^(1 / (alpha - 1)) for alpha > 1, z shifted (max 0)."""
    # Shift, then scale: the maximum is exactly 0. (Scaling first lets XLA contract
    # x * (alpha - 1) - max into one FMA, which leaves the product's rounding error at the
    # maximum, up to ulp(max): large logits then had no support in the bracket [-1, 0].)
    zs = z * (ac - 1)  # <= 0 in finite rows
    beta = 1 / (ac - 1)
    power = how if isinstance(how, int) else beta
    tau = _entmax_threshold(zs, beta, power, regular, how)
    p = jnp.maximum(zs - tau, 0) ** power
    total = jnp.sum(p, axis=-1, keepdims=True)
    return p / jnp.where(total == 0, 1, total)


def _near_one_terms(z: Array, c: Array, eps: Array) -> tuple[Array, Array]:
    """(p, p / (1 + w)) at the threshold c: p = (1 + w)^(1/eps) = exp(u log1p(w) / w),
    w = eps u, u = z - c, on the support 1 + w > 0 (0 off it; u itself at eps = 0)."""
    u = z - c
    finite = jnp.isfinite(u)
    w = jnp.where(finite, eps * u, 0)
    inside = finite & (w > -1)
    ratio = jnp.log1p(jnp.where(inside, w, 0)) / jnp.where(w == 0, 1, w)
    p = jnp.where(inside, jnp.exp(u * jnp.where(w == 0, 1, ratio)), 0)
    return p, jnp.where(inside, p / (1 + jnp.where(inside, w, 0)), 0)


def _near_one(z: Array, eps: Array, regular: Array) -> Array:
    """alpha-entmax for alpha = 1 + eps near 1 (softmax at eps = 0): p_i = (1 + eps (z_i -
    c))_+^(1/eps) with the unscaled threshold c from Newton's method on sum p - 1, which is
    convex and decreasing in c for eps <= 1. Softmax's c = logsumexp(z) is right of the root
    (log1p(w) <= w); one plain step lands left of it (convexity), or on 0 (the maximum alone
    gives mass 1) when it has no support; from there the steps climb monotonically."""
    iters = ENTMAX_ITERS[jnp.finfo(z.dtype).bits]
    lse = jnp.log(jnp.sum(jnp.exp(z), axis=-1, keepdims=True))
    lse = jnp.where(regular, lse, 0)

    def step(c: Array) -> Array:
        p, dp = _near_one_terms(z, c, eps)
        slope = jnp.sum(dp, axis=-1, keepdims=True)
        f = jnp.sum(p, axis=-1, keepdims=True) - 1
        return jnp.where(slope > 0, c + f / jnp.where(slope > 0, slope, 1), 0)

    def climb(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        c, _, i = state
        return jnp.maximum(step(c), c), c, i + 1

    def moving(state: tuple[Array, Array, Array]) -> Array:
        c, before, i = state
        return jnp.any((c != before) & regular) & (i < 2 * iters)

    c0 = jnp.maximum(step(lse), 0)
    c = jax.lax.while_loop(moving, climb, climb((c0, c0, jnp.asarray(0))))[0]
    p = _near_one_terms(z, c, eps)[0]
    total = jnp.sum(p, axis=-1, keepdims=True)
    return p / jnp.where(total == 0, 1, total)


def _alpha_limits(p: Array, z: Array, ac: Array) -> Array:
    """alpha = inf: the argmax, ties split (the limit); alpha NaN or < 1: NaN."""
    top = (z == 0).astype(p.dtype)
    argmax = top / jnp.maximum(jnp.sum(top, axis=-1, keepdims=True), 1)
    p = jnp.where(ac == jnp.inf, jnp.where(jnp.isnan(p), p, argmax), p)
    return jnp.where(jnp.isnan(ac) | (ac < 1), jnp.nan, p)


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
    start = minus_one(regular, lambda: zs)

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
    support = (pc > 0) & (ac < jnp.inf)  # alpha = inf: piecewise constant, no derivative
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
        dpa = _dp_dalpha(x.astype(cd), pc, ac, g, gsum, support, how)
        terms.append((dpa * ta.astype(cd)).astype(p.dtype))
    out = terms[0] + terms[1] if len(terms) == 2 else (terms[0] if terms else jnp.zeros_like(pc))
    return p, out.astype(p.dtype)


def _dp_dalpha(
    xc: Array, pc: Array, ac: Array, g: Array, gsum: Array, support: Array, how: How
) -> Array:
    """dp/dalpha: the power form's (-p log p + g (x - tau')) / (alpha - 1), tau' = (<g, x> +
    H) / sum g with H = -sum p log p, x shifted by the row maximum (the formula is
    shift-free); near alpha = 1, where that quotient is 0/0, the near-one form's
    p u^2 phi(w) - g c' (:func:`_dp_dalpha_near_one`)."""
    top = jnp.max(jnp.where(support, xc, -jnp.inf), axis=-1, keepdims=True)
    finite = jnp.isfinite(top)
    logp = jnp.log(jnp.where(support, pc, 1))
    if how == "near_one":
        return jnp.where(finite, _dp_dalpha_near_one(pc, logp, ac - 1, g, gsum), 0)
    xs = jnp.where(support & finite, xc - jnp.where(finite, top, 0), 0)
    plogp = jnp.where(support, pc * logp, 0)
    entropy = -jnp.sum(plogp, axis=-1, keepdims=True)
    tau_a = (jnp.sum(g * xs, axis=-1, keepdims=True) + entropy) / gsum
    far = (ac - 1 >= NEAR_ONE) | (ac < 1)
    dpa = (-plogp + g * (xs - tau_a)) / jnp.where(far, ac - 1, 1)
    if how is None:
        near = _dp_dalpha_near_one(pc, logp, jnp.where(far, 0, ac - 1), g, gsum)
        dpa = jnp.where(far, dpa, near)
    return jnp.where(finite, dpa, 0)


def _dp_dalpha_near_one(pc: Array, logp: Array, eps: Array, g: Array, gsum: Array) -> Array:
    """dp/dalpha from p_i = exp(L(eps, u_i)), L = log1p(eps u) / eps, u = z - c(eps):
    dL/deps = u^2 phi(w) with w = eps u = expm1(eps log p) and phi(w) = (w / (1 + w) -
    log1p(w)) / w^2, and dL/du = 1 / (1 + w) = p^-eps; the mass constraint gives c' =
    <p, u^2 phi(w)> / sum g, so dp/dalpha = p u^2 phi(w) - g c'. No cancellation at any
    eps (phi's series below |w| = 1/16): at alpha = 1 it is softmax's p (E[l^2] - l^2) / 2,
    l = log p."""
    y = eps * logp
    w = jnp.expm1(y)
    ratio = jnp.where(y == 0, 1, w / jnp.where(y == 0, 1, y))  # expm1(y) / y
    u = logp * ratio
    small = jnp.abs(w) < 1 / 16
    ws = jnp.where(small, w, 0)
    series = -1 / 2 + ws * (2 / 3 + ws * (-3 / 4 + ws * (4 / 5 + ws * (-5 / 6 + ws * (6 / 7)))))
    wd = jnp.where(small, 1, w)
    direct = (wd / (1 + wd) - jnp.log1p(wd)) / (wd * wd)
    h = pc * jnp.square(u) * jnp.where(small, series, direct)
    return h - g * (jnp.sum(h, axis=-1, keepdims=True) / gsum)


_entmax.defjvp(_entmax_jvp, symbolic_zeros=True)


def _entmax_apply(x: Array, alpha: Array, mask: Array | None, axis: int, how: How = None) -> Array:
    xm = jnp.moveaxis(masked(x, mask), axis, -1)
    am = jnp.moveaxis(alpha, axis, -1)
    return jnp.moveaxis(_entmax(xm, am, how), -1, axis)


def _how(alpha: float) -> How:
    """:data:`How` for a Python-number alpha (>= 1): the near-one form below 1 + NEAR_ONE,
    None (the general path's limits) for inf and NaN, else bisection, with the power taken
    by multiplications where 1 / (alpha - 1) is a small integer (alpha 1.5: 2, alpha 2: 1).
    (Newton's method is for array alphas: with a constant non-integer power XLA's program
    for it keeps two more input-sized arrays, 256 MiB against 130 for (8192, 2048).)"""
    if not alpha < math.inf:
        return None
    if alpha - 1 < NEAR_ONE:
        return "near_one"
    beta = 1 / (alpha - 1)
    return int(beta) if beta == int(beta) and 1 <= beta <= 8 else "bisect"


def _entmax_apply_number(x: Array, alpha: Array, mask: Array | None, axis: int, how: How) -> Array:
    """:func:`_entmax_apply` for a Python-number ``alpha`` (jit makes it a weakly typed
    scalar; the general path's eager conversion, reshape and host check of alpha cost ~55
    us a call: float32[1024] 150 -> 95 us)."""
    return _entmax_apply(x, jnp.reshape(alpha, (1,) * x.ndim), mask, axis, how)


def alpha_array(fn_name: str, alpha: Any, x: Array, ax: int) -> Array:
    """Validate an array ``alpha`` for ``x``: it broadcasts to x's shape with size 1 along
    ``ax`` (returned with x's rank) and is >= 1 where concrete (``ValueError`` otherwise;
    NaN passes, and gives NaN)."""
    aa = as_float_array(fn_name, alpha, "alpha")
    rows = tuple(1 if i == ax else d for i, d in enumerate(x.shape))
    if aa.ndim > x.ndim:
        raise ValueError(f"{fn_name}: `alpha` of shape {aa.shape} has more axes than the input")
    aa = aa.reshape((1,) * (x.ndim - aa.ndim) + aa.shape)
    try:
        fits = jnp.broadcast_shapes(aa.shape, rows) == rows  # (symbolic shapes too)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{fn_name}: `alpha` of shape {aa.shape} must broadcast to {rows} (size 1 along axis)"
        )
    try:
        concrete = np.asarray(aa)
    except jax.errors.TracerArrayConversionError:
        concrete = None
    if concrete is not None and (concrete < 1).any():
        raise ValueError(f"{fn_name}: `alpha` must be >= 1, got {concrete}")
    return aa


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
    :math:`\alpha` per head: shape ``(H, 1, 1)`` for ``(B, H, T, T)`` scores).

    The limits are exact: for :math:`\alpha < 1.125` (down to :math:`\alpha = 1`, softmax)
    :math:`p_i = \exp\big(\log(1 + \epsilon u_i)/\epsilon\big)`, :math:`\epsilon = \alpha - 1`,
    :math:`u_i = x_i - c` with the threshold :math:`c` in the logits' units, and
    :math:`\partial p/\partial\alpha = p\,u^2\varphi(\epsilon u) - g\,c'`,
    :math:`\varphi(w) = (w/(1 + w) - \log(1 + w))/w^2` (at :math:`\alpha = 1`:
    :math:`\tfrac12 p\,(\mathbb{E}_p[\log^2 p] - \log^2 p)`), where the power form loses
    :math:`\sim 1/\epsilon` roundings. :math:`\alpha = \infty` is the argmax (ties split,
    zero derivatives); a NaN :math:`\alpha` gives NaN; :math:`\alpha < 1` raises
    ``ValueError`` when concrete and gives NaN when traced. Accuracy: within 4 float32 eps
    (absolute) for :math:`\alpha \le 2`; above 2 the power :math:`1/(\alpha - 1) < 1`
    amplifies the threshold's rounding where an entry is about to leave the support
    (:math:`p` or :math:`1 - p` below ~1e-4): up to 167 eps at :math:`\alpha = 2.5`, 2047
    eps (2.4e-4) at :math:`\alpha = 3` and ~4e4 eps (5e-3) at :math:`\alpha = 5`, measured
    (the gap :math:`(\alpha - 1)x - \tau` cannot be resolved below float32's spacing near
    :math:`\tau`, and its power :math:`1/(\alpha - 1)` magnifies that). Masks, extremes
    and empty rows behave as for :func:`sparsemax`. Reverse mode keeps one array (:math:`g`), and
    :math:`\partial p/\partial\alpha` as well when :math:`\alpha` is differentiated.

    Args:
      x: input array.
      alpha: :math:`\alpha \ge 1` (default 1.5; 1 is softmax, ``inf`` the argmax),
        differentiable.
      axis: the axis to normalize over (a single int).
      where: optional boolean mask, broadcastable to ``x``; False entries get 0.

    Returns:
      An array of the shape and dtype of ``x``, on the simplex along ``axis``.

    Examples:
      >>> jaxact.entmax(jnp.array([1.0, 1.0, -5.0]), alpha=2.0)
      Array([0.5, 0.5, 0. ], dtype=float32)
      >>> jaxact.entmax(jnp.array([0.0, 0.0]), alpha=1.25)
      Array([0.5, 0.5], dtype=float32)
      >>> jaxact.entmax(jnp.array([0.0, 1.0]), alpha=1.0)  # softmax
      Array([0.26894143, 0.7310586 ], dtype=float32)
    """
    xa = as_float_array("entmax", x)
    ax = single_axis("entmax", axis, xa.ndim)
    mask = as_mask("entmax", where, xa.shape)
    if is_number(alpha):  # the common call: checked here, shaped inside the program
        if alpha < 1:
            raise ValueError(f"entmax: `alpha` must be >= 1, got {alpha}")
        if xa.shape[ax] == 0:
            return xa
        return call_jit(_entmax_apply_number, (xa, alpha, mask), (ax, _how(alpha)))
    aa = alpha_array("entmax", alpha, xa, ax)
    return xa if xa.shape[ax] == 0 else call_jit(_entmax_apply, (xa, aa, mask), (ax,))


def entmax_jvp(
    x: ArrayLike,
    tangent: ArrayLike,
    alpha: ArrayLike = 1.5,
    axis: int = -1,
    where: ArrayLike | None = None,
) -> Array:
    r"""The JVP of :func:`~jaxact.entmax` in ``x``: :math:`\dot p = g \odot (\dot x - \langle g,
    \dot x\rangle / \sum_j g_j)`, :math:`g = p^{2 - \alpha}` on the support.

    Args:
      x: input array.
      tangent: the input tangent, of the shape of ``x``.
      alpha: as for :func:`~jaxact.entmax`.
      axis: as for :func:`~jaxact.entmax`.
      where: as for :func:`~jaxact.entmax`.

    Returns:
      The output tangent, of the shape and dtype of ``x``.

    Examples:
      >>> jaxact.derivatives.entmax_jvp(jnp.zeros(2), jnp.array([1.0, 0.0]), alpha=2.0)
      Array([ 0.5, -0.5], dtype=float32)
    """
    return public_jvp(
        "entmax_jvp", entmax, x, tangent, ("alpha",), alpha=alpha, axis=axis, where=where
    )
