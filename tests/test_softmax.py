"""Softmax specifics: masks, axes, ties, extremes, the Jacobian and the JVP."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxact
from jaxact import derivatives
from jaxact._src.registry import REGISTRY

from tiers import grid


def ref_softmax64(x, axis=-1):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_large_equal_logits():
    chex.assert_trees_all_equal(jaxact.softmax(jnp.array([1000.0, 1000.0])), jnp.array([0.5, 0.5]))
    g = jax.grad(lambda x: jaxact.softmax(x)[0])(jnp.array([1000.0, 1000.0]))
    chex.assert_trees_all_equal(g, jnp.array([0.25, -0.25]))


def test_infinite_logits_take_their_limit():
    chex.assert_trees_all_equal(jaxact.softmax(jnp.array([jnp.inf, 1.0])), jnp.array([1.0, 0.0]))
    chex.assert_trees_all_equal(jaxact.softmax(jnp.array([-jnp.inf, 1.0])), jnp.array([0.0, 1.0]))
    assert bool(jnp.isnan(jaxact.softmax(jnp.array([jnp.nan, 1.0]))).all())


@pytest.mark.parametrize("axis", [0, 1, -1, (0, 1), None, (0, 2)])
def test_axes(axis):
    x = jax.random.normal(jax.random.key(0), (3, 4, 5))
    want = ref_softmax64(x, axis=axis if axis is not None else (0, 1, 2))
    chex.assert_trees_all_close(jaxact.softmax(x, axis=axis), want.astype(np.float32), rtol=1e-6)
    chex.assert_trees_all_close(
        jaxact.softmax(x, axis=axis), jax.nn.softmax(x, axis=axis), rtol=1e-6, atol=1e-7
    )


def test_bad_axis_and_mask_raise_value_error_naming_the_function():
    x = jnp.ones((2, 3))
    with pytest.raises(ValueError, match=r"softmax.*axis 2"):
        jaxact.softmax(x, axis=2)
    with pytest.raises(ValueError, match=r"softmax.*repeated"):
        jaxact.softmax(x, axis=(1, -1))
    with pytest.raises(TypeError, match="softmax"):
        jaxact.softmax(x, axis="last")
    with pytest.raises(ValueError, match=r"softmax.*broadcast"):
        jaxact.softmax(x, where=jnp.ones((4,), bool))
    with pytest.raises(ValueError, match=r"softmax.*broadcast"):
        jaxact.softmax(x, where=jnp.ones((1, 2, 3), bool))
    with pytest.raises(TypeError, match="softmax"):
        jaxact.softmax(x, where="yes")


def test_mask_zeroes_entries_and_gradients_whatever_they_hold():
    x = jnp.array([[1.0, 2.0, 1e30, jnp.inf], [3.0, jnp.nan, -jnp.inf, 1.0]])
    m = jnp.array([[True, True, False, False], [True, False, False, True]])
    s = jaxact.softmax(x, where=m)
    want = np.zeros((2, 4))
    want[0, :2] = ref_softmax64([1.0, 2.0])
    want[1, [0, 3]] = ref_softmax64([3.0, 1.0])
    chex.assert_trees_all_close(s, want.astype(np.float32), rtol=1e-6)
    w = jnp.arange(4.0)[None]
    g = jax.grad(lambda v: jnp.sum(jaxact.softmax(v, where=m) * w))(x)
    assert bool(jnp.isfinite(g).all())
    chex.assert_trees_all_equal(jnp.where(m, 0.0, g), jnp.zeros_like(g))


def test_fully_masked_row_is_zero_with_zero_gradient():
    x = jnp.array([[1.0, jnp.nan, jnp.inf], [1.0, 2.0, 3.0]])
    m = jnp.array([[False, False, False], [True, True, True]])
    s = jaxact.softmax(x, where=m)
    chex.assert_trees_all_equal(s[0], jnp.zeros(3))
    g = jax.grad(lambda v: jnp.sum(jaxact.softmax(v, where=m)[0] * jnp.arange(3.0)))(x)
    chex.assert_trees_all_equal(g, jnp.zeros_like(g))
    assert bool(jnp.isfinite(jax.jacfwd(lambda v: jaxact.softmax(v, where=m))(x)).all())


def test_jax_regression_case_under_vmap_over_the_mask():
    x = jnp.array([[36.0, 10000.0]])
    f = lambda v: jnp.sum(jaxact.softmax(v, where=v < 1000) * jnp.array([1.0, 2.0]))
    g = jax.vmap(jax.grad(f))(x)
    chex.assert_trees_all_equal(g, jnp.zeros_like(g))
    g2 = jax.vmap(jax.grad(lambda v: jnp.sum(jaxact.softmax(v, where=v < 1000))))(x)
    chex.assert_trees_all_equal(g2, jnp.zeros_like(g2))


@pytest.mark.parametrize(
    "dtype", grid([jnp.float32, jnp.bfloat16, jnp.float16], every=3, salt="ties", ids=[str])
)
def test_ties_give_exact_gradients(dtype):
    for n in (2, 4, 8, 512):
        x = jnp.zeros((n,), dtype)
        s = jaxact.softmax(x)
        chex.assert_trees_all_equal(s, jnp.full((n,), 1.0 / n, dtype))
        g = jax.grad(lambda v: jaxact.softmax(v)[0])(x)
        want = np.full(n, -1.0 / n**2)
        want[0] = (1.0 / n) * (1 - 1.0 / n)
        chex.assert_trees_all_equal(g, jnp.asarray(want, dtype))


def test_bf16_reduction_accumulates_in_float32():
    s = jaxact.softmax(jnp.zeros((512,), jnp.bfloat16))
    assert float(jnp.sum(s.astype(jnp.float32))) == 1.0


def test_jacobian_and_jvp_match_autodiff_of_reference():
    x = jax.random.normal(jax.random.key(1), (3, 5)) * 3
    ref = lambda v: jnp.exp(v) / jnp.sum(jnp.exp(v))
    with jax.enable_x64(True):
        x64 = x.astype(jnp.float64)
        want = jax.vmap(jax.jacfwd(ref))(x64)
        chex.assert_trees_all_close(derivatives.softmax_jacobian(x64), want, rtol=1e-12, atol=1e-15)
        t = jnp.cos(x64)
        _, jvp_want = jax.vmap(lambda a, b: jax.jvp(ref, (a,), (b,)))(x64, t)
        chex.assert_trees_all_close(
            derivatives.softmax_jvp(x64, t), jvp_want, rtol=1e-12, atol=1e-15
        )
    jac0 = derivatives.softmax_jacobian(x.T, axis=0)
    chex.assert_shape(jac0, (3, 5, 5))
    chex.assert_trees_all_close(jac0, derivatives.softmax_jacobian(x), rtol=1e-6)


def test_jacobian_diagonal_keeps_precision_when_one_probability_is_near_one():
    x = jnp.array([30.0, 0.0, 0.0])
    jac = derivatives.softmax_jacobian(x)
    # s_0 * (s_1 + s_2): about 2 e^-30; the naive s_0 - s_0**2 is 0 in float32.
    want = 2 * np.exp(-30.0) / (1 + 2 * np.exp(-30.0)) ** 2
    np.testing.assert_allclose(float(jac[0, 0]), want, rtol=1e-6)


def test_jvp_validates_its_inputs():
    with pytest.raises(ValueError, match="softmax_jvp"):
        derivatives.softmax_jvp(jnp.ones(3), jnp.ones(4))
    with pytest.raises(TypeError, match="softmax_jacobian"):
        derivatives.softmax_jacobian(jnp.ones((2, 3)), axis=(0, 1))


def test_fully_masked_rows_across_the_family_have_zero_finite_gradients():
    x = jnp.array([[1.0, jnp.nan, 3e38], [1.0, 2.0, 3.0]])
    m = jnp.array([[False, False, False], [True, True, True]])
    ls = jaxact.log_softmax(x, where=m)
    assert bool(jnp.all(ls[0] == -jnp.inf)) and bool(jnp.isfinite(ls[1]).all())
    lse = jaxact.logsumexp(x, axis=-1, where=m)
    assert float(lse[0]) == -jnp.inf
    for f in (
        lambda v: jnp.sum(jnp.where(m, jaxact.log_softmax(v, where=m), 0.0)),
        lambda v: jnp.sum(jnp.where(jnp.isfinite(y := jaxact.logsumexp(v, -1, where=m)), y, 0)),
        lambda v: jnp.sum(jaxact.softmin(v, where=m) * jnp.arange(3.0)[None]),
    ):
        g = jax.grad(f)(x)
        assert bool(jnp.isfinite(g).all())
        chex.assert_trees_all_equal(g[0], jnp.zeros(3))
    g = jax.grad(jaxact.logsumexp)(jnp.array([-jnp.inf, -jnp.inf]))
    chex.assert_trees_all_equal(g, jnp.zeros(2))  # jax.nn gives NaN


def test_log_softmax_float16_gradient_on_a_long_row_is_finite_and_right():
    n = 1 << 16
    x = jax.random.normal(jax.random.key(3), (n,)) * 4
    w = jax.random.uniform(jax.random.key(4), (n,))
    f = lambda v: jnp.sum(jaxact.log_softmax(v) * w.astype(v.dtype)).astype(jnp.float32)
    g16 = jax.grad(f)(x.astype(jnp.float16))
    g32 = jax.grad(f)(x)
    assert bool(jnp.isfinite(g16).all())
    np.testing.assert_allclose(
        np.asarray(g16, np.float32), np.asarray(g32), atol=4e-3 * float(jnp.max(jnp.abs(g32)))
    )


def test_logsumexp_with_b_and_sign_matches_jax_nn():
    a = jax.random.normal(jax.random.key(5), (3, 4))
    b = jnp.array([1.0, -2.0, 0.5, 3.0])
    for keepdims in (False, True):
        got = jaxact.logsumexp(a, axis=1, b=b, keepdims=keepdims, return_sign=True)
        want = jax.nn.logsumexp(a, axis=1, b=b[None], keepdims=keepdims, return_sign=True)
        chex.assert_trees_all_close(got, want, rtol=1e-6)
    ga = jax.grad(lambda v: jnp.sum(jaxact.logsumexp(v, axis=1, b=jnp.abs(b))))(a)
    want = jax.grad(lambda v: jnp.sum(jax.nn.logsumexp(v, axis=1, b=jnp.abs(b)[None])))(a)
    chex.assert_trees_all_close(ga, want, rtol=1e-6)
    gb = jax.grad(lambda c: jnp.sum(jaxact.logsumexp(a, axis=1, b=c)))(jnp.abs(b))
    want_b = jax.grad(lambda c: jnp.sum(jax.nn.logsumexp(a, axis=1, b=c[None])))(jnp.abs(b))
    chex.assert_trees_all_close(gb, want_b, rtol=1e-6)


def _ulps(got, want64):
    got = np.asarray(got, np.float64)
    return np.abs(got - want64) / np.spacing(np.abs(want64).astype(np.float32)).astype(np.float64)


@pytest.mark.parametrize("fn", ["logsumexp", "log_softmax", "logmeanexp"])
def test_two_pass_rows_and_exact_rows_agree_in_ulps(fn):
    """Rows whose sum of e^(x - max) is >= 2 take jax.nn's two passes; a batch with a
    confident row takes the exact separate sums for every row. Both are within 2 ulps of
    the float64 truth, so switching paths never moves a result by more."""
    rng = np.random.default_rng(7)
    x = (3 * rng.standard_normal((16, 512))).astype(np.float32)
    confident = np.full((1, 512), -60.0, np.float32)
    confident[0, 3] = 0.5
    x64 = x.astype(np.float64)
    lse64 = np.log(np.sum(np.exp(x64 - x64.max(-1, keepdims=True)), -1)) + x64.max(-1)
    want = {
        "logsumexp": lse64,
        "log_softmax": x64 - lse64[:, None],
        "logmeanexp": lse64 - np.log(512),
    }[fn]
    f = getattr(jaxact, fn)
    kw = {"axis": -1}
    fast = np.asarray(f(jnp.asarray(x), **kw))
    both = np.asarray(f(jnp.asarray(np.concatenate([x, confident])), **kw))[:16]
    assert _ulps(fast, want).max() <= 2
    assert _ulps(both, want).max() <= 2
    # the confident row itself: exact where one pass would round log(1 + tiny) to 0
    row = np.asarray(f(jnp.asarray(confident), **kw), np.float64)
    c64 = confident.astype(np.float64)
    tiny = 511 * np.exp(-60.5)  # the other entries' share (1 + tiny is 1 in float64)
    want_row = {
        "logsumexp": 0.5 + np.log1p(tiny),
        "log_softmax": (c64 - 0.5) - np.log1p(tiny),
        "logmeanexp": 0.5 + np.log1p(tiny) - np.log(512),
    }[fn]
    assert _ulps(row, np.atleast_1d(want_row)).max() <= 2


@pytest.mark.parametrize("m", [-1e4, -50.0, -4.5, -4.0, -2.0, 0.0, 2.0, 3.9, 4.0, 10.0, 1e4])
def test_logsumexp_of_dominant_rows_within_4_ulp_on_both_sides_of_the_split_threshold(m):
    # One dominant entry (rest = sum of the others < 1): where |m| < 4 logsumexp sums the
    # others apart (the split sum); elsewhere it uses s - 1 and relies on the output being
    # large. Both must stay within float32's 4-ulp bound against a float64 truth.
    rng = np.random.default_rng(int(abs(m)) + 7)
    others = m - rng.choice([8.0, 12.0, 17.0, 20.0], (64, 1)) - rng.exponential(3, (64, 2047))
    x = np.concatenate([np.full((64, 1), m), others], axis=1).astype(np.float32)
    got = np.asarray(jaxact.logsumexp(jnp.asarray(x), axis=-1), np.float64)
    x64 = x.astype(np.float64)
    want = m + np.log1p(np.sum(np.exp(x64[:, 1:] - m), axis=-1))
    ulp = np.abs(got - want) / np.spacing(np.abs(want).astype(np.float32))
    assert ulp.max() <= 4, (m, ulp.max())


@pytest.mark.parametrize(
    ("steps", "fn"), grid([1, 64], ["sparsemax", "entmax15"], every=4, salt="sort-free")
)
def test_sort_free_thresholds_and_their_sort_fallback_agree_with_the_sort(fn, steps, monkeypatch):
    from jaxact._src import sparse

    fast, sort = getattr(sparse, f"_{fn}"), getattr(sparse, f"_{fn}_sorted")
    # steps=1: no batch converges that fast, so the sort-based fallback must answer
    monkeypatch.setattr(sparse, "THRESHOLD_STEPS", steps)
    rng = np.random.default_rng(3)
    rows = [
        3 * rng.standard_normal((16, 257)),
        rng.uniform(-2, 2, (16, 257)),
        -np.arange(257.0)[None] * 1e-3,  # a long support, many fixed-point steps
        np.where(rng.random((4, 257)) < 0.5, -np.inf, rng.standard_normal((4, 257))),
    ]
    for x in rows:
        x = jnp.asarray(x, jnp.float32)
        got = jax.jit(lambda v: fast(v))(x)
        want = jax.jit(sort)(x)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(jnp.sum(got, -1), 1, rtol=1e-5)


# XLA's CPU max reduction skips NaNs in rows of 4096 entries and more (jax 0.10.2): a row
# with a NaN and a +inf there has maximum +inf, which once routed it to the infinities'
# limit (the mass on the +inf entries) instead of NaN.
ROW_FUNCTIONS = [s for s in REGISTRY if s.kind in ("normalizer", "reduction")]


@pytest.mark.parametrize(
    ("spec", "case", "n"),
    grid(ROW_FUNCTIONS, ["+inf", "-inf", "all -inf", "all +inf"], [8, 4096], every=8, salt="nan"),
)
def test_a_nan_in_a_row_makes_that_row_nan_whatever_else_it_holds(spec, case, n):
    x = np.linspace(-3, 3, n).astype(np.float32)
    if case.startswith("all"):
        x[:] = float(case.removeprefix("all "))
    else:
        x[n // 2] = float(case)
    x[n // 3] = np.nan
    xs = jnp.asarray(np.stack([x, np.linspace(-1, 1, n).astype(np.float32)]))
    y, ty = jax.jvp(spec.bound, (xs,), (jnp.ones_like(xs),))
    outs = [y] if spec.name in ("sparsemax", "entmax", "entmax15") else [y, ty]
    for out in outs:  # the sparse maps' JVP keeps only the support mask: 0 in a NaN row
        out = np.asarray(out)
        assert np.all(np.isnan(out[0])), out[0][:4]
        assert not np.any(np.isnan(out[1]))
    assert jnp.all(jnp.isnan(jax.jit(spec.bound)(xs)[0]))
