"""leaky_relu specifics: the alias, the learnable slope, broadcasting, dtypes, the kink."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import pytest

import jaxact
from jaxact.testing import residuals


def test_alpha_is_an_alias_and_both_is_an_error():
    x = jnp.array([-2.0, 3.0])
    chex.assert_trees_all_equal(jaxact.leaky_relu(x, alpha=0.3), jaxact.leaky_relu(x, 0.3))
    chex.assert_trees_all_equal(jaxact.leaky_relu(x, negative_slope=0.3), jaxact.leaky_relu(x, 0.3))
    with pytest.raises(TypeError, match=r"leaky_relu.*both"):
        jaxact.leaky_relu(x, 0.3, alpha=0.3)
    with pytest.raises(TypeError, match="leaky_relu"):
        jaxact.leaky_relu(x, "0.3")


def test_slope_gradient_is_sum_of_x_times_cotangent_over_nonpositive_x():
    x = jnp.array([-2.0, -0.5, 0.0, 1.0, 4.0])
    g = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0])
    da = jax.grad(lambda a: jnp.sum(jaxact.leaky_relu(x, a) * g))(0.1)
    assert float(da) == pytest.approx(-2.0 * 1.0 + -0.5 * 2.0 + 0.0 * 3.0)
    ref = lambda a: jnp.sum(jnp.where(x > 0, x, a * x) * g)
    chex.assert_trees_all_close(da, jax.grad(ref)(0.1))


def test_per_channel_slope_broadcasts_and_differentiates():
    x = jax.random.normal(jax.random.key(0), (8, 3))
    a = jnp.array([0.1, 0.2, 0.3])
    y = jaxact.leaky_relu(x, a)
    chex.assert_trees_all_close(y, jnp.where(x > 0, x, a[None] * x))
    da = jax.grad(lambda s: jnp.sum(jaxact.leaky_relu(x, s) ** 2))(a)
    ref = jax.grad(lambda s: jnp.sum(jnp.where(x > 0, x, s[None] * x) ** 2))(a)
    chex.assert_trees_all_close(da, ref, rtol=1e-6)
    chex.assert_shape(da, (3,))
    # Only the mask and the (3,) slope are kept when the slope is a constant.
    res = residuals(lambda v: jaxact.leaky_relu(v, a), x)
    assert sorted(str(r.dtype) for r in res) == ["bool", "float32"]
    assert max(r.size for r in res if r.dtype == jnp.float32) == 3


def test_float32_slope_does_not_promote_bf16_input():
    x = jnp.array([-2.0, 3.0], jnp.bfloat16)
    y = jaxact.leaky_relu(x, jnp.float32(0.5))
    chex.assert_type(y, jnp.bfloat16)
    g = jax.grad(lambda a: jnp.sum(jaxact.leaky_relu(x, a)).astype(jnp.float32))(jnp.float32(0.5))
    chex.assert_type(g, jnp.float32)
    assert float(g) == -2.0


def test_zero_slope_equals_relu_in_value_and_derivative():
    x = jnp.array([-jnp.inf, -3.0, -0.0, 0.0, 2.0, jnp.inf, jnp.nan])
    chex.assert_trees_all_equal(jaxact.leaky_relu(x, 0.0), jaxact.relu(x))
    grad = lambda f: jax.vmap(jax.grad(f))(x)
    chex.assert_trees_all_equal(grad(lambda v: jaxact.leaky_relu(v, 0.0)), grad(jaxact.relu))


def test_kink_is_the_slope_as_in_pytorch():
    for a in (0.01, 0.2, 0.0):
        assert float(jax.grad(jaxact.leaky_relu)(0.0, a)) == pytest.approx(a)
    assert float(jax.grad(jax.nn.leaky_relu)(0.0, 0.2)) == 1.0  # jax.nn differs (documented)
