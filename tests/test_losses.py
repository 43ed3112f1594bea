"""jaxact.losses against independent float64 references: cross-entropy (integer and
probability labels), the fused LM head (every option, masks, reductions, shapes, sharding,
memory) and the Fenchel-Young losses of sparsemax and alpha-entmax."""

from __future__ import annotations

import functools
import inspect
import itertools
import typing

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from counting import compiles
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from test_public_api import DERIVATIVE, math_blocks

from jaxact import losses
from jaxact._src import fused_head
from jaxact._src.accuracy import ulp_error
from jaxact._src.truths import _ref_entmax, _ref_sparsemax

from tiers import grid, slow

F32_ULP = 2.0**-23


def ulps(got, want) -> float:
    """Largest error in float32 ulps of the float64 truth (``accuracy.ulp_error``; NaN, and
    so a failed bound, where the truth is not a normal float32)."""
    return float(np.max(ulp_error(got, want, jnp.float32)))


# --------------------------------------------------------------------------- float64 references


def ref_log_softmax(z: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    z = np.asarray(z, np.float64)
    zm = z if mask is None else np.where(mask, z, -np.inf)
    m = np.max(zm, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return zm - m - np.log(np.sum(np.exp(zm - m), axis=-1, keepdims=True))


def _rest(zm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m, sum of e^(z - m) over all entries but one maximum), float64, keepdims: the
    normalizer is m + log1p(rest) without rounding rest against 1."""
    m = np.max(zm, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    e = np.exp(zm - m)
    top = np.argmax(zm, axis=-1)[..., None]
    np.put_along_axis(e, top, 0.0, axis=-1)
    return m, np.sum(e, axis=-1, keepdims=True)


def ref_ce_int(z, y, mask=None):
    """lse - z_y in float64 as (m - z_y) + log1p(rest); optax's masking (the normalizer
    over the mask, the label's logit whether masked or not, 0 for an empty row)."""
    z = np.asarray(z, np.float64)
    zm = z if mask is None else np.where(mask, z, -np.inf)
    m, rest = _rest(zm)
    zy = np.take_along_axis(z, np.asarray(y)[..., None], -1)
    loss = ((m - zy) + np.log1p(rest))[..., 0]
    return loss if mask is None else np.where(mask.any(-1), loss, 0.0)


def ref_ce_int_grad(z, y, mask=None):
    """p - onehot(y), with p_y - 1 summed as -(sum of the other p_j) (float64)."""
    z = np.asarray(z, np.float64)
    p = np.exp(ref_log_softmax(z, mask))
    y = np.asarray(y)[..., None]
    np.put_along_axis(p, y, 0.0, axis=-1)
    others = np.sum(p, -1, keepdims=True)
    g = p.copy()
    live = np.ones_like(others, bool) if mask is None else np.take_along_axis(mask, y, -1)
    np.put_along_axis(g, y, np.where(live, -others, -1.0), axis=-1)
    if mask is not None:
        g = np.where(mask.any(-1, keepdims=True), g, 0)
    return g


def ref_normalizer(zm: np.ndarray, alpha: float) -> np.ndarray:
    """sparsemax (alpha = 2) or alpha-entmax in float64 from the plain reference formulas in
    ``truths`` (sorting; bisection then Newton), zeros for a row with no finite entry."""
    live = np.isfinite(zm).any(-1, keepdims=True)
    f = _ref_sparsemax if alpha == 2 else functools.partial(_ref_entmax, alpha=alpha)
    with jax.enable_x64():
        p = np.asarray(f(jnp.asarray(np.where(live, zm, 0.0), jnp.float64)))
    return np.where(live, p, 0.0)


def ref_fy_loss(z, y, alpha: float, mask=None):
    """Fenchel-Young loss <p, z> + H_alpha(p) - z_y for the Tsallis entropy (float64)."""
    z = np.asarray(z, np.float64)
    zm = z if mask is None else np.where(mask, z, -np.inf)
    p = ref_normalizer(zm, alpha)
    h = np.sum(p - p**alpha, -1) / (alpha * (alpha - 1))
    zy = np.take_along_axis(z, np.asarray(y)[..., None], -1)[..., 0]
    inner = np.sum(np.where(p > 0, p * (z - zy[..., None]), 0), -1)
    loss = inner + h
    return loss if mask is None else np.where(mask.any(-1), loss, 0.0), p


def ref_head(x, w, y, b=None, eps=0.0, zl=0.0, cap=None, where=None, reduction="mean"):
    """The LM-head loss in float64 with jax (for its gradients): z = x w + b, soft cap,
    PyTorch's label smoothing as the cross-entropy with the target (1 - eps) onehot + eps/V,
    the z-loss on lse."""
    z = x @ w + (0 if b is None else b[None, :])
    if cap is not None:
        z = cap * jnp.tanh(z / cap)
    v = w.shape[1]
    logp = jax.nn.log_softmax(z, axis=-1)
    target = (1 - eps) * jax.nn.one_hot(y, v, dtype=z.dtype) + eps / v
    lse = jax.nn.logsumexp(z, axis=-1)
    loss = -jnp.sum(target * logp, axis=-1) + zl * lse**2
    counted = jnp.ones(y.shape, bool) if where is None else where
    loss = jnp.where(counted, loss, 0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return jnp.sum(loss)
    return jnp.sum(loss) / jnp.maximum(jnp.sum(counted), 1).astype(loss.dtype)


def f64(*arrays):
    return tuple(None if a is None else jnp.asarray(np.asarray(a, np.float64)) for a in arrays)


# --------------------------------------------------------------------------- integer labels


def logits_and_labels(seed: int, shape=(6, 50), scale=4.0):
    k1, k2 = jax.random.split(jax.random.key(seed))
    z = jax.random.normal(k1, shape) * scale
    y = jax.random.randint(k2, shape[:-1], 0, shape[-1])
    return z, y


LEADS = np.linspace(17, 45, 40)


def confident(n_rows: int = 40, classes: int = 1000, lead=LEADS):
    """Rows where the label leads the rest by 17..45: the loss is 1e-20..4e-8."""
    z, y = logits_and_labels(7, (n_rows, classes), scale=1.0)
    zn = np.array(z)
    zn[np.arange(n_rows), np.asarray(y)] = np.max(zn, -1) + lead[:n_rows]
    return jnp.asarray(zn), y


def test_integer_ce_confident_rows_within_4_ulp_loss_and_label_gradient():
    z, y = confident()
    got = losses.softmax_cross_entropy_with_integer_labels(z, y)
    want = ref_ce_int(z, y)
    assert np.all(want > 0) and np.min(want) < 1e-17
    assert ulps(got, want) <= 4
    # the jax.nn / optax composition rounds them to 0 or far off
    naive = optax.softmax_cross_entropy_with_integer_labels(z, y)
    assert ulps(naive, want) > 1e5
    g = jax.grad(lambda z: jnp.sum(losses.softmax_cross_entropy_with_integer_labels(z, y)))(z)
    gw = ref_ce_int_grad(z, y)
    at = (np.arange(len(y)), np.asarray(y))
    assert ulps(np.asarray(g)[at], gw[at]) <= 4
    np.testing.assert_allclose(g, gw, rtol=2e-6, atol=1e-37)


@pytest.mark.parametrize("masked", [False, True])
def test_integer_ce_matches_float64_and_optax(masked):
    z, y = logits_and_labels(1)
    mask = np.array(jax.random.bernoulli(jax.random.key(3), 0.7, z.shape)) if masked else None
    if masked:
        mask[0] = False  # a row with no class left: 0, zero gradient
    f = lambda z: losses.softmax_cross_entropy_with_integer_labels(z, y, where=mask)
    got, want = f(z), ref_ce_int(z, y, mask)
    np.testing.assert_allclose(got, want, rtol=4 * F32_ULP, atol=1e-6)
    g = jax.grad(lambda z: jnp.sum(f(z)))(z)
    np.testing.assert_allclose(g, ref_ce_int_grad(z, y, mask), rtol=1e-5, atol=1e-7)
    if masked:
        assert got[0] == 0 and np.all(np.asarray(g)[0] == 0)
    # a drop-in for optax (which masks the same way)
    want_optax = optax.softmax_cross_entropy_with_integer_labels(z, y, where=mask)
    np.testing.assert_allclose(got, want_optax, rtol=1e-5, atol=1e-6)


def test_integer_ce_tuple_axis_batch_mask_and_bad_labels():
    z = jax.random.normal(jax.random.key(0), (3, 4, 5))
    y = jnp.array([0, 19, 7])
    got = losses.softmax_cross_entropy_with_integer_labels(z, y, axis=(1, 2))
    want = optax.softmax_cross_entropy_with_integer_labels(z, y, axis=(1, 2))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(got, ref_ce_int(np.asarray(z).reshape(3, 20), y), rtol=1e-6)
    # a batch-shaped where masks whole rows (optax's expand_dims rule)
    z2, y2 = logits_and_labels(2)
    rows = jnp.array([True, False, True, True, False, True])
    out = losses.softmax_cross_entropy_with_integer_labels(z2, y2, where=rows)
    np.testing.assert_array_equal(np.asarray(out) == 0, ~np.asarray(rows))
    # a label outside [0, n): NaN loss and NaN gradient row, the others unaffected
    bad = y2.at[1].set(50)
    out = losses.softmax_cross_entropy_with_integer_labels(z2, bad)
    assert np.isnan(out[1]) and np.all(np.isfinite(np.delete(np.asarray(out), 1)))
    g = jax.grad(lambda z: jnp.sum(losses.softmax_cross_entropy_with_integer_labels(z, bad)))(z2)
    assert np.all(np.isnan(g[1])) and np.all(np.isfinite(np.delete(np.asarray(g), 1, 0)))


@pytest.mark.parametrize("dtype", grid([jnp.bfloat16, jnp.float16], every=2, salt="ce16"))
def test_integer_ce_16_bit_is_the_float64_truth_rounded_once(dtype):
    z, y = logits_and_labels(4, (64, 300))
    z16 = z.astype(dtype)
    got = losses.softmax_cross_entropy_with_integer_labels(z16, y)
    assert got.dtype == dtype
    want = ref_ce_int(np.asarray(z16.astype(jnp.float32)), y)
    # within 1 ulp of the dtype: |got - want| <= spacing(want)
    spacing = np.asarray(jnp.asarray(want, dtype).astype(jnp.float32))
    ulp16 = np.abs(np.nextafter(spacing, np.inf) - spacing)
    tiny = float(jnp.finfo(dtype).eps) * np.abs(want)
    assert np.all(np.abs(np.asarray(got, np.float64) - want) <= np.maximum(ulp16, tiny))


def test_integer_ce_reverse_mode_keeps_the_logits_and_row_statistics_only():
    z, y = logits_and_labels(5, (32, 256))
    f = lambda z: jnp.sum(losses.softmax_cross_entropy_with_integer_labels(z, y))
    _, vjp = jax.vjp(f, z)
    leaves = [a for a in jax.tree.leaves(vjp) if hasattr(a, "shape")]
    big = [a for a in leaves if a.size >= z.size]
    assert len(big) == 1 and big[0].shape == z.shape  # the logits, no weight array
    assert sum(a.size for a in leaves if a.size < z.size) <= 8 * 32 + 64


def test_integer_ce_bad_input():
    z, y = logits_and_labels(0)
    name = "softmax_cross_entropy_with_integer_labels"
    with pytest.raises(TypeError, match=rf"{name}.*labels.*integer"):
        losses.softmax_cross_entropy_with_integer_labels(z, y.astype(jnp.float32))
    with pytest.raises(ValueError, match=rf"{name}.*labels.*shape"):
        losses.softmax_cross_entropy_with_integer_labels(z, y[:3])
    with pytest.raises(TypeError, match=rf"{name}.*where"):
        losses.softmax_cross_entropy_with_integer_labels(z, y, where=jnp.ones(z.shape))
    with pytest.raises(TypeError, match=rf"{name}.*logits"):
        losses.softmax_cross_entropy_with_integer_labels("z", y)


# --------------------------------------------------------------------------- probability labels


def test_prob_ce_matches_float64_in_value_and_both_gradients():
    z, _ = logits_and_labels(11, (5, 40))
    t = jax.nn.softmax(jax.random.normal(jax.random.key(12), (5, 40)) * 2)
    mask = np.array(jax.random.bernoulli(jax.random.key(13), 0.8, z.shape))
    for m in (None, mask):
        lp = ref_log_softmax(z, m)
        tm = np.asarray(t, np.float64) if m is None else np.where(m, t, 0)
        want = -np.sum(np.where(tm == 0, 0, tm * np.where(np.isfinite(lp), lp, 0)), -1)
        got = losses.softmax_cross_entropy(z, t, where=m)
        np.testing.assert_allclose(got, want, rtol=4 * F32_ULP)
        gz, gt = jax.grad(
            lambda z, t, m=m: jnp.sum(losses.softmax_cross_entropy(z, t, where=m)), (0, 1)
        )(z, t)
        p = np.exp(lp)
        want_gz = p * tm.sum(-1, keepdims=True) - tm
        want_gt = -np.where(np.isfinite(lp), lp, 0)
        if m is not None:
            want_gz, want_gt = np.where(m, want_gz, 0), np.where(m, want_gt, 0)
        np.testing.assert_allclose(gz, want_gz, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(gt, want_gt, rtol=1e-5, atol=1e-7)


def test_prob_ce_zero_target_at_minus_inf_is_zero_not_nan_and_onehot_is_exact():
    z = jnp.array([[0.0, -jnp.inf, 1.0], [-jnp.inf, 3.0, 0.0]])
    t = jnp.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    got = losses.softmax_cross_entropy(z, t)
    assert np.all(np.isfinite(got))
    assert np.isnan(optax.softmax_cross_entropy(z, t)).any()  # what we fix
    g = jax.grad(lambda z: jnp.sum(losses.softmax_cross_entropy(z, t)))(z)
    assert np.all(np.isfinite(g))
    # a one-hot target is the integer-label loss, confident rows included
    zc, yc = confident()
    onehot = jax.nn.one_hot(yc, zc.shape[-1])
    assert ulps(losses.softmax_cross_entropy(zc, onehot), ref_ce_int(zc, yc)) <= 4
    gc = jax.grad(lambda z: jnp.sum(losses.softmax_cross_entropy(z, onehot)))(zc)
    at = (np.arange(len(yc)), np.asarray(yc))
    assert ulps(np.asarray(gc)[at], ref_ce_int_grad(zc, yc)[at]) <= 4


def test_prob_ce_axes_and_bad_input():
    z = jax.random.normal(jax.random.key(0), (2, 3, 4))
    t = jax.nn.softmax(jax.random.normal(jax.random.key(1), (2, 3, 4)), axis=(1, 2))
    for axis in ((1, 2), None, 0):
        np.testing.assert_allclose(
            losses.softmax_cross_entropy(z, t, axis=axis),
            optax.softmax_cross_entropy(z, t, axis=axis),
            rtol=1e-6,
        )
    with pytest.raises(ValueError, match=r"softmax_cross_entropy.*labels.*broadcast"):
        losses.softmax_cross_entropy(z, t[:, :2])
    with pytest.raises(ValueError, match="softmax_cross_entropy: axis 3"):
        losses.softmax_cross_entropy(z, t, axis=3)


# --------------------------------------------------------------------------- the fused head


def head_inputs(n=24, d=16, v=300, seed=0, dtype=jnp.float32, scale=1.0):
    k = jax.random.split(jax.random.key(seed), 5)
    x = jax.random.normal(k[0], (n, d), dtype)
    w = (jax.random.normal(k[1], (d, v)) * scale / np.sqrt(d)).astype(dtype)
    b = jax.random.normal(k[2], (v,), dtype)
    y = jax.random.randint(k[3], (n,), 0, v)
    where = jax.random.bernoulli(k[4], 0.75, (n,))
    return x, w, b, y, where


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 128 columns over 300 (the last one overlaps the one before)."""
    monkeypatch.setattr(fused_head, "CHUNK_ELEMENTS", 1)
    fused_head._program.cache_clear()
    yield
    fused_head._program.cache_clear()


OPTIONS = [
    dict(),
    dict(label_smoothing=0.1),
    dict(z_loss=1e-2),
    dict(logit_softcap=3.0),
    dict(label_smoothing=0.2, z_loss=1e-3, logit_softcap=5.0),
]


@pytest.mark.parametrize(
    ("opts", "reduction", "extras"),
    grid(
        OPTIONS,
        ["mean", "sum", "none"],
        ["plain", "bias", "where", "bias+where"],
        every=20,
        salt="fused_head_grid",
        ids=[lambda o: "+".join(f"{k}" for k in o) or "plain", None, None],
    ),
)
def test_fused_head_matches_float64_values_and_gradients(opts, reduction, extras, small_chunks):
    x, w, b, y, where = head_inputs()
    b = b if "bias" in extras else None
    where = where if "where" in extras else None
    eps = opts.get("label_smoothing", 0.0)
    kw = dict(eps=eps, zl=opts.get("z_loss", 0.0), cap=opts.get("logit_softcap"))

    def ours(x, w, b):
        return losses.linear_softmax_cross_entropy(
            x, w, y, b=b, where=where, reduction=reduction, **opts
        )

    def ref(x, w, b):
        return ref_head(x, w, y, b, where=where, reduction=reduction, **kw)

    with jax.enable_x64():
        want = ref(*f64(x, w, b))
        argnums = (0, 1) if b is None else (0, 1, 2)
        ct = jnp.linspace(0.5, 1.5, len(y)) if reduction == "none" else 1.0
        _, vjp = jax.vjp(ref, *f64(x, w, b))
        want_g = vjp(jnp.asarray(ct, jnp.float64))[: len(argnums)]
    got = ours(x, w, b)
    np.testing.assert_allclose(got, want, rtol=3e-6, atol=1e-6)
    _, vjp = jax.vjp(ours, x, w, b)
    got_g = vjp(jnp.asarray(ct, jnp.float32))[: len(argnums)]
    for gg, wg in zip(got_g, want_g, strict=True):
        np.testing.assert_allclose(gg, wg, rtol=2e-5, atol=2e-6)
    if where is not None:  # the tokens that do not count: exactly zero
        assert np.all(np.asarray(got_g[0])[~np.asarray(where)] == 0)
        if reduction == "none":
            assert np.all(np.asarray(got)[~np.asarray(where)] == 0)


def test_fused_head_confident_tokens_keep_their_loss_and_label_gradient():
    # one-hot x picks rows of w: z is exact, so the float64 truth is the loss of z itself
    v, n = 1000, 40
    zc, y = confident(n, v)
    x = jnp.eye(n, dtype=jnp.float32)
    w = zc  # (n, v): x @ w == zc exactly
    got = losses.linear_softmax_cross_entropy(x, w, y, reduction="none")
    want = ref_ce_int(zc, y)
    assert ulps(got, want) <= 4 and np.min(want) < 1e-17
    g = jax.grad(lambda w: jnp.sum(losses.linear_softmax_cross_entropy(x, w, y, reduction="none")))(
        w
    )
    at = (np.arange(n), np.asarray(y))
    assert ulps(np.asarray(g)[at], ref_ce_int_grad(zc, y)[at]) <= 4


def test_fused_head_label_smoothing_is_pytorchs_definition():
    # PyTorch CrossEntropyLoss(label_smoothing=eps): target (1 - eps) onehot + eps / V,
    # loss -sum target log_softmax, written out here without jaxact
    x, w, _, y, _ = head_inputs(n=5, v=7)
    eps = 0.3
    z = np.asarray(x, np.float64) @ np.asarray(w, np.float64)
    logp = ref_log_softmax(z)
    target = (1 - eps) * np.eye(7)[np.asarray(y)] + eps / 7
    want = -np.sum(target * logp, -1)
    got = losses.linear_softmax_cross_entropy(x, w, y, label_smoothing=eps, reduction="none")
    np.testing.assert_allclose(got, want, rtol=2e-6)


def test_fused_head_masks_reductions_and_shapes():
    x, w, _, y, _ = head_inputs(n=6, v=40)
    x3, y3 = x.reshape(2, 3, 16), y.reshape(2, 3)
    none = losses.linear_softmax_cross_entropy(x3, w, y3, reduction="none")
    assert none.shape == (2, 3)
    loss, lse = losses.linear_softmax_cross_entropy(x3, w, y3, return_lse=True)
    assert lse.shape == (2, 3) and loss.shape == ()
    z = np.asarray(x, np.float64) @ np.asarray(w, np.float64)
    want_lse = np.log(np.sum(np.exp(z), -1)).reshape(2, 3)
    np.testing.assert_allclose(lse, want_lse, rtol=2e-6)
    np.testing.assert_allclose(loss, np.mean(none), rtol=2e-6)
    # no counted token: 0 and a zero (not NaN) gradient, for each reduction
    nobody = jnp.zeros((2, 3), bool)
    for reduction in ("mean", "sum"):
        f = lambda x, w, r=reduction: losses.linear_softmax_cross_entropy(
            x, w, y3, where=nobody, reduction=r
        )
        assert f(x3, w) == 0
        gx, gw = jax.grad(f, (0, 1))(x3, w)
        assert np.all(gx == 0) and np.all(gw == 0)
    # zero tokens
    empty = losses.linear_softmax_cross_entropy(x[:0], w, y[:0])
    assert empty == 0 and jax.grad(lambda x: losses.linear_softmax_cross_entropy(x, w, y[:0]))(
        x[:0]
    ).shape == (0, 16)
    # a counted token with a label outside [0, V): NaN there, its masked twin 0
    bad = y.at[2].set(40)
    per = losses.linear_softmax_cross_entropy(x, w, bad, reduction="none")
    assert np.isnan(per[2]) and np.all(np.isfinite(np.delete(np.asarray(per), 2)))
    keep = jnp.arange(6) != 2
    masked_out = losses.linear_softmax_cross_entropy(x, w, bad, where=keep, reduction="none")
    assert masked_out[2] == 0
    g = jax.grad(lambda x: losses.linear_softmax_cross_entropy(x, w, bad, where=keep))(x)
    assert np.all(g[2] == 0) and np.all(np.isfinite(g))


@pytest.mark.parametrize("dtype", grid([jnp.bfloat16, jnp.float16], every=2, salt="head16"))
def test_fused_head_16_bit_inputs_accumulate_in_float32(dtype):
    x, w, b, y, _ = head_inputs(n=32, v=500, dtype=dtype)
    loss = losses.linear_softmax_cross_entropy(x, w, y, b=b, reduction="none")
    assert loss.dtype == jnp.float32
    z64 = np.asarray(x, np.float64) @ np.asarray(w, np.float64) + np.asarray(b, np.float64)
    want = ref_ce_int(z64, y)
    np.testing.assert_allclose(loss, want, rtol=1e-5)
    gx, gw, gb = jax.grad(
        lambda x, w, b: losses.linear_softmax_cross_entropy(x, w, y, b=b), (0, 1, 2)
    )(x, w, b)
    assert (gx.dtype, gw.dtype, gb.dtype) == (dtype, dtype, dtype)
    with jax.enable_x64():
        want_g = jax.grad(lambda x, w, b: ref_head(x, w, y, b), (0, 1, 2))(*f64(x, w, b))
    for got, ref in zip((gx, gw, gb), want_g, strict=True):
        # one rounding of G to the matmul dtype and of the result
        np.testing.assert_allclose(
            np.asarray(got, np.float64), ref, rtol=2e-2, atol=2e-3 * float(np.abs(ref).max())
        )


def test_fused_head_bad_input_names_the_function_and_argument():
    x, w, b, y, where = head_inputs(n=4, v=10)
    f = losses.linear_softmax_cross_entropy
    name = "linear_softmax_cross_entropy"
    cases = [
        (ValueError, "reduction", dict(reduction="avg")),
        (ValueError, "label_smoothing", dict(label_smoothing=1.0)),
        (ValueError, "label_smoothing", dict(label_smoothing=-0.1)),
        (ValueError, "logit_softcap", dict(logit_softcap=0.0)),
        (ValueError, "z_loss", dict(z_loss=-1e-4)),
        (ValueError, "`b`", dict(b=b[:5])),
        (ValueError, "`where`", dict(where=where[:2])),
        (TypeError, "`where`", dict(where=where.astype(jnp.int32))),
        (TypeError, "label_smoothing", dict(label_smoothing="0.1")),
    ]
    for err, arg, kw in cases:
        with pytest.raises(err, match=rf"{name}.*{arg}"):
            f(x, w, y, **kw)
    with pytest.raises(ValueError, match=rf"{name}.*`w`"):
        f(x, w[:3], y)
    with pytest.raises(ValueError, match=rf"{name}.*`labels`"):
        f(x, w, y[:3])
    with pytest.raises(TypeError, match=rf"{name}.*`labels`.*integer"):
        f(x, w, y.astype(jnp.float32))
    with pytest.raises(TypeError, match=rf"{name}.*`x`"):
        f(x.astype(jnp.int32), w, y)


def test_fused_head_under_jit_vmap_checkpoint_and_tied_embeddings():
    x, w, _, y, where = head_inputs(n=12, v=64)
    f = lambda x, w: losses.linear_softmax_cross_entropy(x, w, y, where=where)
    want = f(x, w)
    want_g = jax.grad(f, (0, 1))(x, w)
    chex.assert_trees_all_close(jax.jit(f)(x, w), want, rtol=1e-6)
    chex.assert_trees_all_close(
        jax.jit(jax.grad(jax.checkpoint(f), (0, 1)))(x, w), want_g, rtol=1e-6
    )
    xs = jnp.stack([x, 2 * x])
    per = jax.vmap(lambda x: f(x, w))(xs)
    chex.assert_trees_all_close(per[1], f(2 * x, w), rtol=1e-6)
    gv = jax.vmap(jax.grad(lambda x: f(x, w)))(xs)
    chex.assert_trees_all_close(gv[0], want_g[0], rtol=1e-6)
    # tied embeddings: w = E.T, the gradient flows to E
    emb = w.T
    ge = jax.grad(lambda e: losses.linear_softmax_cross_entropy(x, e.T, y, where=where))(emb)
    chex.assert_trees_all_close(ge, want_g[1].T, rtol=1e-6)


def temp_bytes(fn, *args) -> int:
    return jax.jit(fn).lower(*args).compile().memory_analysis().temp_size_in_bytes


@pytest.mark.parametrize("dtype", grid([jnp.float32, jnp.bfloat16], every=2, salt="holds"))
def test_fused_head_never_holds_the_logits(dtype):
    """Compiled temp memory of value_and_grad (compile only): a small fraction of one
    (tokens, V) float32 logits array, also with tied embeddings (E.T)."""
    n, d, v = 2048, 64, 32768
    x = jax.ShapeDtypeStruct((n, d), dtype)
    w = jax.ShapeDtypeStruct((d, v), dtype)
    e = jax.ShapeDtypeStruct((v, d), dtype)
    y = jax.ShapeDtypeStruct((n,), jnp.int32)
    logits = n * v * 4
    head = losses.linear_softmax_cross_entropy
    ours = temp_bytes(jax.value_and_grad(head, (0, 1)), x, w, y)
    tied = temp_bytes(jax.value_and_grad(lambda x, e, y: head(x, e.T, y), (0, 1)), x, e, y)
    composed = temp_bytes(
        jax.value_and_grad(
            lambda x, w, y: optax.softmax_cross_entropy_with_integer_labels(x @ w, y).mean(), (0, 1)
        ),
        x,
        w,
        y,
    )
    assert composed > logits  # the composition holds them (at least once)
    # the chunk blocks (2^22 elements each, a few) and a 16-bit copy of w
    assert ours < logits / 4 and tied < logits / 4, (ours, tied, logits)


@pytest.fixture(scope="module")
def mesh():
    return Mesh(np.array(jax.devices("cpu")), ("d",))


def test_fused_head_sharded_tokens_and_vocabulary_match_one_device(mesh):
    x, w, b, y, where = head_inputs(n=64, v=256)
    f = jax.jit(
        jax.value_and_grad(
            lambda x, w, b: losses.linear_softmax_cross_entropy(x, w, y, b=b, where=where),
            (0, 1, 2),
        )
    )
    want = f(x, w, b)
    tokens = NamedSharding(mesh, PartitionSpec("d"))
    vocab = NamedSharding(mesh, PartitionSpec(None, "d"))
    got = f(jax.device_put(x, tokens), w, b)
    chex.assert_trees_all_close(got, want, rtol=1e-5, atol=1e-7)
    got_v = f(
        x, jax.device_put(w, vocab), jax.device_put(b, NamedSharding(mesh, PartitionSpec("d")))
    )
    chex.assert_trees_all_close(got_v, want, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- Fenchel-Young losses


@pytest.mark.parametrize("alpha", grid([2.0, 1.5, 1.25, 3.0], every=4, salt="fy"))
def test_fenchel_young_losses_match_float64_references(alpha):
    z, y = logits_and_labels(21, (6, 12), scale=1.5)
    mask = np.array(jax.random.bernoulli(jax.random.key(22), 0.8, z.shape))
    mask[np.arange(6), np.asarray(y)] = True
    mask[5] = False
    for m in (None, mask):
        want, p = ref_fy_loss(z, y, alpha, m)
        if alpha == 2.0:
            f = lambda z, m=m: losses.sparsemax_loss(z, y, where=m)
        else:
            f = lambda z, m=m: losses.entmax_loss(z, y, alpha, where=m)
        np.testing.assert_allclose(f(z), want, rtol=2e-5, atol=2e-6)
        g = jax.grad(lambda z, f=f: jnp.sum(f(z)))(z)
        want_g = p - np.eye(12)[np.asarray(y)]
        if m is not None:
            want_g = np.where(m.any(-1, keepdims=True), want_g, 0)
        np.testing.assert_allclose(g, want_g, rtol=2e-5, atol=2e-6)
    if alpha == 2.0:  # entmax_loss at alpha = 2 is the sparsemax loss
        np.testing.assert_allclose(
            losses.entmax_loss(z, y, 2.0), losses.sparsemax_loss(z, y), atol=1e-6
        )


def test_entmax_loss_alpha_gradient_against_float64_finite_differences():
    z, y = logits_and_labels(31, (4, 9), scale=1.5)
    zs = np.asarray(z, np.float64)
    for alpha in (1.3, 1.5, 2.0, 2.5):
        h = 1e-5
        fd = (ref_fy_loss(zs, y, alpha + h)[0] - ref_fy_loss(zs, y, alpha - h)[0]) / (2 * h)
        got = jax.jacfwd(lambda a: losses.entmax_loss(z, y, a))(jnp.float32(alpha))
        np.testing.assert_allclose(got, fd, rtol=2e-4, atol=2e-6)
        # reverse mode, per-row alpha (shape (4, 1))
        a_rows = jnp.full((4, 1), alpha, jnp.float32)
        gr = jax.grad(lambda a: jnp.sum(losses.entmax_loss(z, y, a)))(a_rows)
        np.testing.assert_allclose(gr[:, 0], fd, rtol=2e-4, atol=2e-6)


def test_entmax_loss_at_and_near_alpha_one():
    """alpha = 1 is the softmax cross-entropy (Shannon's entropy), and near it the loss and
    its alpha-derivative have no 0/0: values against the float64 reference, d/dalpha against
    its central differences, and at 1 against sum p l - sum p l^2 / 2 (l = log p, float64)."""
    z, y = logits_and_labels(32, (4, 9), scale=1.5)
    zs = np.asarray(z, np.float64)
    np.testing.assert_allclose(losses.entmax_loss(z, y, alpha=1.0), ref_ce_int(zs, y), rtol=2e-6)
    p = np.exp(zs - zs.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    lp = np.log(p)
    want = (p * lp).sum(-1) - (p * lp * lp).sum(-1) / 2
    got = jax.jacfwd(lambda a: losses.entmax_loss(z, y, a))(jnp.float32(1.0))
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-6)
    for alpha in (1 + 1e-3, 1.01, 1.1):
        a32 = float(np.float32(alpha))
        np.testing.assert_allclose(
            losses.entmax_loss(z, y, a32), ref_fy_loss(zs, y, a32)[0], rtol=2e-5, atol=1e-6
        )
        h = 1e-5
        fd = (ref_fy_loss(zs, y, a32 + h)[0] - ref_fy_loss(zs, y, a32 - h)[0]) / (2 * h)
        got = jax.jacfwd(lambda a: losses.entmax_loss(z, y, a))(jnp.float32(a32))
        np.testing.assert_allclose(got, fd, rtol=5e-4, atol=5e-6)


def test_fenchel_young_zero_when_the_label_wins_and_bad_input():
    z = jnp.array([[3.0, 0.0, 0.5], [0.0, 0.2, 0.1]])
    y = jnp.array([0, 1])
    assert losses.sparsemax_loss(z, y)[0] == 0 and losses.entmax_loss(z, y)[0] == 0
    assert np.isnan(losses.sparsemax_loss(z, jnp.array([0, 3]))[1])
    with pytest.raises(ValueError, match=r"entmax_loss.*alpha"):
        losses.entmax_loss(z, y, alpha=0.5)
    with pytest.raises(TypeError, match=r"sparsemax_loss.*labels.*integer"):
        losses.sparsemax_loss(z, y.astype(jnp.float32))
    with pytest.raises(ValueError, match=r"entmax_loss.*labels"):
        losses.entmax_loss(z, y[:1])


@slow
def test_losses_under_vmap_match_the_batched_call():
    z, y = logits_and_labels(41, (3, 4, 10))
    for f in (
        losses.softmax_cross_entropy_with_integer_labels,
        losses.sparsemax_loss,
        lambda z, y: losses.entmax_loss(z, y, 1.5),
    ):
        chex.assert_trees_all_close(jax.vmap(f)(z, y), f(z, y), rtol=1e-6, atol=1e-7)
    t = jax.nn.one_hot(y, 10)
    chex.assert_trees_all_close(
        jax.vmap(losses.softmax_cross_entropy)(z, t), losses.softmax_cross_entropy(z, t), rtol=1e-6
    )


@slow
def test_every_option_combination_runs():
    """The whole option space of the fused head compiles and gives finite results."""
    x, w, b, y, where = head_inputs(n=8, v=64)
    for eps, zl, cap, red, lse in itertools.product(
        (0.0, 0.1), (0.0, 1e-3), (None, 4.0), ("none", "sum", "mean"), (False, True)
    ):
        out = losses.linear_softmax_cross_entropy(
            x,
            w,
            y,
            b=b,
            where=where,
            reduction=red,
            label_smoothing=eps,
            z_loss=zl,
            logit_softcap=cap,
            return_lse=lse,
        )
        assert all(np.all(np.isfinite(a)) for a in jax.tree.leaves(out))


@pytest.mark.parametrize("name", losses.__all__)
def test_public_losses_state_equation_derivative_types_and_example(name):
    fn = getattr(losses, name)
    doc = inspect.getdoc(fn) or ""
    blocks = "\n".join(math_blocks(doc))
    assert DERIVATIVE.search(blocks), f"{name}: no derivative in its math"
    assert ">>>" in doc, f"{name}: no example"
    hints = typing.get_type_hints(fn)
    assert "return" in hints and all(p in hints for p in inspect.signature(fn).parameters)


# ------------------------------------------------- the fused head's traced hyperparameters

HEAD_HYPER = {
    "label_smoothing": ("eps", 0.15),
    "z_loss": ("zl", 0.02),
    "logit_softcap": ("cap", 4.0),
}


@pytest.mark.parametrize("return_lse", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_fused_head_hyperparameters_are_traced_and_differentiable(return_lse, small_chunks):
    """label_smoothing, z_loss and logit_softcap as traced arrays: one program for every
    value (they were static Python numbers: a compile per value, and a TypeError under
    jit), and their gradients against the float64 reference's (jax.grad of the plain
    formula over the full logits; the lse output's dependence on the cap included)."""
    x, w, b, y, where = head_inputs()

    def ours(h):
        kw = dict(zip(HEAD_HYPER, h, strict=True))
        out = losses.linear_softmax_cross_entropy(
            x, w, y, b=b, where=where, return_lse=return_lse, **kw
        )
        return out[0] + 0.1 * jnp.sum(out[1]) if return_lse else out

    def ref(h):
        eps, zl, cap = h
        xs, ws, bs = f64(x, w, b)
        loss = ref_head(xs, ws, y, bs, eps=eps, zl=zl, cap=cap, where=where)
        if not return_lse:
            return loss
        z = cap * jnp.tanh((xs @ ws + bs[None, :]) / cap)
        return loss + 0.1 * jnp.sum(jnp.where(where, jax.nn.logsumexp(z, axis=-1), 0))

    h = tuple(jnp.float32(v) for _, v in HEAD_HYPER.values())
    with jax.enable_x64():
        want, want_g = jax.value_and_grad(ref)(tuple(jnp.float64(v) for v in h))
    got, got_g = jax.jit(jax.value_and_grad(ours))(h)
    np.testing.assert_allclose(got, want, rtol=3e-6)
    np.testing.assert_allclose(np.asarray(got_g), np.asarray(want_g), rtol=1e-4, atol=1e-6)
    f = jax.jit(ours)
    values = [
        tuple(jnp.float32(v * (1 + 0.1 * k)) for _, v in HEAD_HYPER.values()) for k in range(6)
    ]
    f(values[0])
    losses.linear_softmax_cross_entropy(x, w, y, label_smoothing=0.01, z_loss=1e-3)
    with compiles() as n:
        for k in range(1, 6):
            f(values[k])
            losses.linear_softmax_cross_entropy(
                x, w, y, label_smoothing=0.01 * (k + 1), z_loss=1e-3 * (k + 1)
            )
    assert n[0] == 0, n


def test_fused_head_traced_invalid_hyperparameters_give_nan():
    """Outside their domains, concrete values raise ValueError; traced ones (which no check
    can read) give NaN loss and gradients instead of a plausible number."""
    x, w, _, y, _ = head_inputs()
    good = {"label_smoothing": 0.1, "z_loss": 1e-3, "logit_softcap": 5.0}

    def f(h, w):
        return losses.linear_softmax_cross_entropy(x, w, y, **dict(zip(good, h, strict=True)))

    vg = jax.jit(jax.value_and_grad(f, argnums=1))
    loss, g = vg(tuple(jnp.float32(v) for v in good.values()), w)
    assert bool(jnp.isfinite(loss)) and bool(jnp.all(jnp.isfinite(g)))
    for i, (name, bad) in enumerate(
        (("label_smoothing", 1.5), ("z_loss", -1.0), ("logit_softcap", -2.0))
    ):
        with pytest.raises(ValueError, match=name):
            losses.linear_softmax_cross_entropy(x, w, y, **{name: bad})
        h = [jnp.float32(v) for v in good.values()]
        h[i] = jnp.float32(bad)
        loss, g = vg(tuple(h), w)
        assert bool(jnp.isnan(loss)) and bool(jnp.all(jnp.isnan(g))), name
    with pytest.raises(TypeError, match="logit_softcap"):
        losses.linear_softmax_cross_entropy(x, w, y, logit_softcap=jnp.ones(2))
