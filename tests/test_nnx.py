"""Learnable activations for Flax NNX: parameter gradients match autodiff of a reference."""

from __future__ import annotations

import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxact

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


def test_jaxact_nnx_is_an_attribute_after_import_jaxact_and_flax_stays_unimported():
    """``import jaxact`` then ``jaxact.nnx.GatedMLP`` works (GatedMLP's own docstring example
    failed on its own), and jaxact alone still does not import Flax."""
    code = (
        "import sys, jaxact; assert 'flax' not in sys.modules, 'flax imported eagerly'; "
        "from flax import nnx; "
        "b = jaxact.nnx.GatedMLP(8, 16, 'swiglu', rngs=nnx.Rngs(0)); "
        "import jax.numpy as jnp; print(b(jnp.ones((2, 8))).shape)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "(2, 8)", r.stderr[-2000:]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = jaxact.nope  # type: ignore[attr-defined]


@pytest.mark.parametrize("low_memory", [True, False])
def test_gated_mlp_takes_dtype_and_param_dtype_as_nnx_linear(low_memory):
    """``dtype`` (the computation dtype) and ``param_dtype`` as every ``nnx.Linear`` takes
    them: bfloat16 compute with float32 parameters gives a bfloat16 output equal to the
    composition of bfloat16 ``nnx.Linear`` layers; bfloat16 parameters are stored so."""
    x = jnp.asarray(np.random.default_rng(0).normal(size=(4, 8)), jnp.float32)
    block = jaxact.nnx.GatedMLP(
        8, 16, "swiglu", dtype=jnp.bfloat16, low_memory=low_memory, rngs=nnx.Rngs(0)
    )
    y = block(x)
    assert y.dtype == jnp.bfloat16 and block.w_in.kernel[...].dtype == jnp.float32
    ref = block.w_out(jaxact.swiglu(block.w_in(x)))  # the bfloat16 nnx.Linear composition
    np.testing.assert_allclose(
        np.asarray(y, np.float32), np.asarray(ref, np.float32), rtol=2e-2, atol=2e-2
    )
    stored = jaxact.nnx.GatedMLP(8, 16, "geglu", param_dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
    assert (
        stored.w_in.kernel[...].dtype == jnp.bfloat16
        and stored.w_out.kernel[...].dtype == jnp.bfloat16
    )


def test_where_accepts_nnx_variables_as_jax_nn_does():
    """A mask held in an ``nnx.Variable`` (anything with ``__jax_array__``) is a mask, as in
    jax.nn (it was a TypeError for softmax, log_softmax, sparsemax, entmax15)."""
    x = jnp.array([1.0, 2.0, 3.0])
    m = nnx.Variable(jnp.array([True, False, True]))
    for f in (
        jaxact.softmax,
        jaxact.log_softmax,
        jaxact.sparsemax,
        jaxact.entmax15,
        jaxact.softmin,
    ):
        assert jnp.array_equal(f(x, where=m), f(x, where=m[...]), equal_nan=True), f.__name__
    np.testing.assert_allclose(
        jaxact.softmax(x, where=m), jax.nn.softmax(x, where=m[...]), rtol=1e-6
    )
