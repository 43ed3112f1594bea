"""alpha-entmax at its limits: alpha -> 1 (softmax; reachable by ``nnx.Entmax``'s
1 + softplus(a)), alpha = 1 itself, alpha = inf (the argmax), NaN and invalid alphas, and
the documented float32 limit above alpha = 2. References: float64 NumPy bisection of the
defining equation p_i = (1 + eps (x_i - c))_+^(1/eps), sum p = 1 (eps = alpha - 1; softmax at
eps = 0), and its float64 central differences in alpha."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxact

from tiers import grid

EPS32 = float(np.finfo(np.float32).eps)
# alpha - 1 over [0, 1e-3] (the sweep), across the near-one switch at 1.125, and on.
NEAR_ONE = [0.0, 2.0**-23, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.1249, 0.1251, 0.2, 0.5]


def _reference(x: np.ndarray, alpha: float) -> np.ndarray:
    """float64 alpha-entmax along the last axis, by bisection on c (200 halvings of
    [max, max + 1 + log n]: the maximum alone has mass 1, and p_i <= e^(x_i - c))."""
    x = np.asarray(x, np.float64)
    eps = alpha - 1
    top = x.max(axis=-1, keepdims=True)

    def mass(c):
        u = x - c
        if eps == 0:
            return np.exp(u)
        w = np.maximum(1 + eps * u, 0)
        return w ** (1 / eps)

    lo, hi = top, top + 1 + np.log(x.shape[-1])
    for _ in range(200):
        mid = (lo + hi) / 2
        over = mass(mid).sum(axis=-1, keepdims=True) >= 1
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    p = mass(lo)
    return p / p.sum(axis=-1, keepdims=True)


def _rows(n: int = 64, k: int = 12, scale: float = 3.0) -> np.ndarray:
    return (np.random.default_rng(3).normal(size=(n, k)) * scale).astype(np.float32)


@pytest.mark.parametrize(
    "delta", grid(NEAR_ONE, every=6, salt="near one", ids=[lambda d: f"1+{d:g}"])
)
def test_values_near_one_are_within_the_bound(delta):
    """float32 error against float64 within 4 eps (absolute, the normalizers' bound) at
    every alpha in [1, 1 + 1e-3] and beyond, eager and traced. (The power form gave 1.9e-2
    at 1 + 2^-23, 4.9e-3 at 1 + 1e-6, 4.7e-5 at 1 + 1e-4; a traced alpha = 1 gave the
    uniform distribution.)"""
    x = _rows()
    alpha = float(np.float32(1 + delta))
    want = _reference(x, alpha)
    for got in (
        jaxact.entmax(jnp.asarray(x), alpha),
        jax.jit(jaxact.entmax)(jnp.asarray(x), jnp.float32(alpha)),
        jaxact.entmax(jnp.asarray(x), jnp.full((64, 1), alpha, jnp.float32)),
    ):
        err = np.abs(np.asarray(got, np.float64) - want).max() / EPS32
        assert err <= 4, (alpha, err)


@pytest.mark.parametrize(
    "delta",
    grid([d for d in NEAR_ONE if d > 0], every=6, salt="alpha grad", ids=[lambda d: f"1+{d:g}"]),
)
def test_the_alpha_gradient_near_one_is_finite_and_right(delta):
    """d/dalpha of <p, c> against float64 central differences (relative 1e-3 of the
    gradient's scale): it jumped between 6.4e5, -1865 and 1.2e4 at alphas near 1. The
    x-gradient is finite and matches the softmax one as alpha -> 1."""
    x = _rows(8)
    c = np.random.default_rng(4).normal(size=x.shape)
    alpha = float(np.float32(1 + delta))
    h = max(1e-6, delta / 4) if delta < 1e-5 else 1e-6
    fd = ((_reference(x, alpha + h) * c).sum() - (_reference(x, max(alpha - h, 1.0)) * c).sum()) / (
        alpha + h - max(alpha - h, 1.0)
    )

    def f(a):
        return jnp.sum(jaxact.entmax(jnp.asarray(x), a) * jnp.asarray(c, jnp.float32))

    for grad in (jax.grad(f)(jnp.float32(alpha)), jax.jit(jax.grad(f))(jnp.float32(alpha))):
        assert np.isfinite(grad)
        assert abs(float(grad) - fd) <= 1e-3 * max(1.0, abs(fd)) + 2e-3, (alpha, float(grad), fd)
    gx = jax.grad(lambda v: jnp.sum(jaxact.entmax(v, alpha) * jnp.asarray(c, jnp.float32)))(
        jnp.asarray(x)
    )
    assert bool(jnp.all(jnp.isfinite(gx)))


def test_alpha_one_is_softmax_with_its_alpha_derivative():
    """alpha = 1 (Python number, traced, per-row array) is softmax: values, the x-gradient,
    and d p / d alpha = p (E_p[l^2] - l^2) / 2 with l = log p (the limit of the power form's
    0/0), against float64."""
    x = _rows(16)
    xs = jnp.asarray(x)
    want = _reference(x, 1.0)
    np.testing.assert_allclose(np.asarray(jaxact.entmax(xs, 1.0)), want, rtol=0, atol=4 * EPS32)
    c = jnp.asarray(np.random.default_rng(5).normal(size=x.shape), jnp.float32)
    gx = jax.grad(lambda v: jnp.sum(jaxact.entmax(v, 1.0) * c))(xs)
    gs = jax.grad(lambda v: jnp.sum(jax.nn.softmax(v) * c))(xs)
    np.testing.assert_allclose(np.asarray(gx), np.asarray(gs), rtol=1e-5, atol=1e-6)
    p = want
    lp = np.log(p)
    dp = p * ((p * lp * lp).sum(-1, keepdims=True) - lp * lp) / 2
    ga = jax.grad(lambda a: jnp.sum(jaxact.entmax(xs, a) * c))(jnp.float32(1.0))
    np.testing.assert_allclose(float(ga), float((dp * np.asarray(c)).sum()), rtol=1e-4)


def test_alpha_inf_is_the_argmax_with_ties_split():
    """alpha = inf is the limit: all mass on the maximum, split between ties, zero (finite)
    derivatives; alpha = 100 already gives the same one-hot. It gave the uniform
    distribution."""
    x = jnp.array([[0.3, 2.0, -1.0, 2.0], [5.0, 1.0, 0.0, -jnp.inf], [1.0, 3.0, 2.0, 0.0]])
    want = jnp.array([[0.0, 0.5, 0.0, 0.5], [1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    np.testing.assert_array_equal(np.asarray(jaxact.entmax(x, jnp.inf)), np.asarray(want))
    vg = jax.jit(jax.value_and_grad(lambda v, a: jnp.sum(jaxact.entmax(v, a) * v), argnums=(0, 1)))
    value, (gx, ga) = vg(x[::2], jnp.float32(jnp.inf))
    np.testing.assert_allclose(float(value), float(jnp.sum(want[::2] * x[::2])))
    assert bool(jnp.all(jnp.isfinite(gx))) and float(ga) == 0.0
    np.testing.assert_allclose(np.asarray(jaxact.entmax(x[2:], 100.0)), want[2:], atol=1e-6)


def test_nan_and_invalid_alphas():
    """NaN alpha gives NaN (it gave zeros); alpha < 1 raises when concrete and gives NaN
    when traced; the rows of a per-row alpha are independent."""
    x = jnp.asarray(_rows(3, 5))
    assert bool(jnp.all(jnp.isnan(jaxact.entmax(x, jnp.nan))))
    assert bool(jnp.all(jnp.isnan(jax.jit(jaxact.entmax)(x, jnp.float32(jnp.nan)))))
    assert bool(jnp.all(jnp.isnan(jax.jit(jaxact.entmax)(x, jnp.float32(0.5)))))
    with pytest.raises(ValueError, match=r"entmax: `alpha` must be >= 1"):
        jaxact.entmax(x, 0.5)
    with pytest.raises(ValueError, match=r"entmax: `alpha` must be >= 1"):
        jaxact.entmax(x, jnp.array([[1.5], [0.5], [2.0]]))
    mixed = jax.jit(jaxact.entmax)(x, jnp.array([[1.0], [jnp.nan], [1.5]], jnp.float32))
    assert not bool(jnp.any(jnp.isnan(mixed[0]))) and bool(jnp.all(jnp.isnan(mixed[1])))
    np.testing.assert_allclose(np.asarray(mixed[2]), np.asarray(jaxact.entmax(x[2], 1.5)))
    np.testing.assert_allclose(
        np.asarray(mixed[0]), _reference(np.asarray(x[:1]), 1.0)[0], atol=4 * EPS32
    )


@pytest.mark.parametrize(("alpha", "bound"), [(2.5, 170), (3.0, 2048)])
def test_the_documented_error_above_alpha_two(alpha, bound):
    """Above alpha = 2 the power 1/(alpha - 1) < 1 amplifies the threshold's rounding where
    an entry is about to leave the support; the docstring gives the measured worst case,
    held here (two-entry rows approaching the boundary x = 1/(alpha - 1) from both sides)."""
    b = np.float32(1 / (alpha - 1))
    x = b - np.logspace(-7, -1, 4000).astype(np.float32)
    x = np.concatenate([x, -x])
    rows = np.stack([x, np.zeros_like(x)], axis=-1)
    got = np.asarray(jaxact.entmax(jnp.asarray(rows), alpha), np.float64)
    err = np.abs(got - _reference(rows, alpha)).max() / EPS32
    assert err <= bound, err
