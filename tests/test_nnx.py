"""Learnable activations for Flax NNX: parameter gradients match autodiff of a reference."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import pytest

nnx = pytest.importorskip("flax.nnx", reason="jaxact.nnx needs the examples extra (flax)")

from jaxact import nnx as jnnx  # noqa: E402

X = jax.random.normal(jax.random.key(0), (16, 3)) * 3


def _param_grad(module, loss):
    return nnx.grad(loss)(module)


def test_prelu_slope_gradient_matches_reference():
    m = jnnx.PReLU(3, init=0.25)
    loss = lambda mod: jnp.sum(jnp.sin(mod(X)))
    got = _param_grad(m, loss)["slope"][...]
    ref = jax.grad(lambda a: jnp.sum(jnp.sin(jnp.where(X > 0, X, a[None] * X))))(
        jnp.full((3,), 0.25)
    )
    chex.assert_trees_all_close(got, ref, rtol=1e-6)
    chex.assert_shape(got, (3,))


def test_swish_beta_gradient_matches_reference():
    m = jnnx.Swish(init=1.5)
    loss = lambda mod: jnp.sum(jnp.sin(mod(X)))
    got = _param_grad(m, loss)["beta"][...]
    ref = jax.grad(lambda b: jnp.sum(jnp.sin(X / (1 + jnp.exp(-b * X)))))(1.5)
    chex.assert_trees_all_close(got, ref, rtol=1e-5)


def test_xielu_parameter_gradients_match_reference():
    m = jnnx.XIELU()
    ap, an = m.coefficients()
    chex.assert_trees_all_close((ap, an), (jnp.float32(0.8), jnp.float32(0.8)), rtol=1e-6)
    loss = lambda mod: jnp.sum(jnp.sin(mod(X)))
    g = _param_grad(m, loss)

    def ref(raw_p, raw_n):
        a_p = jax.nn.softplus(raw_p)
        a_n = 0.5 + jax.nn.softplus(raw_n)
        y = jnp.where(X > 0, a_p * X * X + 0.5 * X, a_n * (jnp.expm1(X) - X) + 0.5 * X)
        return jnp.sum(jnp.sin(y))

    want = jax.grad(ref, argnums=(0, 1))(m.alpha_p[...], m.alpha_n[...])
    chex.assert_trees_all_close((g["alpha_p"][...], g["alpha_n"][...]), want, rtol=1e-5)


def test_modules_train_in_a_jitted_step():
    import optax

    m = jnnx.PReLU(3)
    opt = nnx.Optimizer(m, optax.sgd(0.1), wrt=nnx.Param)

    @nnx.jit
    def step(m, opt):
        loss, g = nnx.value_and_grad(lambda mod: jnp.mean((mod(X) - X) ** 2))(m)
        opt.update(m, g)
        return loss

    first = float(step(m, opt))
    for _ in range(20):
        last = float(step(m, opt))
    assert last < first  # the slope moves toward 1 (identity)
