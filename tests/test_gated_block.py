"""jaxact.nnx.gated_mlp and GatedMLP: the block's custom VJP against plain composition under
jax.grad (float64), its residuals and compiled memory, chunking, sharding and errors."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from tiers import grid

pytest.importorskip("flax")
from flax import nnx

from jaxact.nnx import GatedMLP, gated_mlp
from jaxact.testing import residuals

# The units written from jax.nn (an independent reference for the block's backward pass).
PLAIN = {
    "swiglu": lambda a, b: a * jax.nn.silu(b),
    "geglu": lambda a, b: a * jax.nn.gelu(b),
    "geglu_exact": lambda a, b: a * jax.nn.gelu(b, approximate=False),
    "reglu": lambda a, b: a * jax.nn.relu(b),
    "clamped_swiglu": lambda a, b: (
        (jnp.clip(a, -7.0, 7.0) + 1)
        * jnp.minimum(b, 7.0)
        * jax.nn.sigmoid(1.702 * jnp.minimum(b, 7.0))
    ),
}


def plain_block(unit, x, w_in, w_out, w_gate=None, b_in=None, b_gate=None, b_out=None):
    def dense(v, w, b):
        y = v @ w
        return y if b is None else y + jnp.broadcast_to(b, y.shape)

    h = dense(x, w_in, b_in)
    a, b = jnp.split(h, 2, axis=-1) if w_gate is None else (h, dense(x, w_gate, b_gate))
    return dense(PLAIN[unit](a, b), w_out, b_out)


def operands(fused, bias, rows=(3, 128), d=12, f=20, d_out=7, dtype=jnp.float64):
    ks = jax.random.split(jax.random.key(1), 7)
    width = 2 * f if fused else f
    args = {
        "x": 2 * jax.random.normal(ks[0], (*rows, d), dtype),
        "w_in": jax.random.normal(ks[1], (d, width), dtype),
        "w_out": jax.random.normal(ks[2], (f, d_out), dtype) / 4,
    }
    if not fused:
        args["w_gate"] = jax.random.normal(ks[3], (d, f), dtype)
    if bias:
        args["b_in"] = jax.random.normal(ks[4], (width,), dtype)
        args["b_out"] = jax.random.normal(ks[5], (d_out,), dtype)
        if not fused:
            args["b_gate"] = jax.random.normal(ks[6], (f,), dtype)
    return args


@pytest.mark.parametrize(
    ("unit", "fused_bias", "chunks"),
    grid(
        sorted(PLAIN),
        [(True, False), (True, True), (False, True)],
        [1, 2, 3, 6],
        every=12,
        salt="block-float64",
        ids=[None, lambda fb: f"fused{fb[0]}-bias{fb[1]}", None],
    ),
)
def test_value_and_every_gradient_match_plain_composition_float64(unit, fused_bias, chunks):
    fused, bias = fused_bias
    with jax.enable_x64(True):
        args = operands(fused, bias)

        def loss(block):
            return lambda kw: jnp.sum(jnp.sin(block(**kw)))

        ours = lambda **kw: gated_mlp(unit=unit, chunks=chunks, **kw)
        theirs = lambda **kw: plain_block(unit, **kw)
        chex.assert_trees_all_close(ours(**args), theirs(**args), rtol=1e-12, atol=1e-12)
        got = jax.jit(jax.grad(loss(ours)))(args)
        want = jax.grad(loss(theirs))(args)
        assert set(got) == set(args)
        chex.assert_trees_all_close(got, want, rtol=1e-10, atol=1e-10)


def test_chunks_are_strided_rows_and_the_count_adapts():
    from jaxact._src.gated_block import row_chunks

    assert row_chunks(4096, 2) == 2
    assert row_chunks(4096, 8) == 8
    assert row_chunks(127, 8) == 1  # prime
    assert row_chunks(300, 8) == 4  # 300 = 4 * 75; 5 and 6 would leave under 64 rows
    assert row_chunks(96, 8) == 1  # a chunk under 64 rows is not worth a loop step


@pytest.mark.parametrize("dtype", grid([jnp.bfloat16, jnp.float16], every=2, salt="block-16"))
def test_16bit_block_matches_float32_to_its_precision(dtype):
    args = operands(True, True, rows=(256,), dtype=jnp.float32)
    low = {k: v.astype(dtype) for k, v in args.items()}
    # the same (rounded) operands, computed in float32 by the plain composition
    ref = {k: v.astype(jnp.float32) for k, v in low.items()}
    y = gated_mlp(**low)
    assert y.dtype == dtype
    np.testing.assert_allclose(
        np.float32(y), plain_block("swiglu", **ref), rtol=0.05, atol=0.05 * float(jnp.std(y))
    )
    g = jax.grad(lambda kw: jnp.sum(gated_mlp(**kw).astype(jnp.float32)))(low)
    g_ref = jax.grad(lambda kw: jnp.sum(plain_block("swiglu", **kw)))(ref)
    for k in args:
        assert g[k].dtype == dtype, k
        scale = float(jnp.max(jnp.abs(g_ref[k])))
        np.testing.assert_allclose(np.float32(g[k]), g_ref[k], atol=0.03 * scale, err_msg=k)


def test_reverse_mode_keeps_x_and_the_projection_only():
    args = operands(True, False, rows=(256,), dtype=jnp.float32)
    x, w_in, w_out = args["x"], args["w_in"], args["w_out"]
    kept = residuals(lambda x, w_in, w_out: gated_mlp(x, w_in, w_out), x, w_in, w_out)
    shapes = sorted(r.shape for r in kept)
    assert shapes == sorted([x.shape, (256, w_in.shape[1]), w_in.shape, w_out.shape])
    # the composition keeps more: sigmoid(b), silu(b) and the unit's output besides
    composed = residuals(lambda *a: plain_block("swiglu", *a), x, w_in, w_out)
    assert sum(r.size for r in composed) > sum(r.size for r in kept) + 2 * 256 * 20


def _step_temp_mib(block_fn, params, x):
    def sgd(p, v):
        g = jax.grad(lambda p: jnp.mean(jnp.square(block_fn(p, v))))(p)
        return jax.tree.map(lambda w, d: w - 0.01 * d, p, g)

    mem = jax.jit(sgd).lower(params, x).compile().memory_analysis()
    if mem is None:
        pytest.skip("this backend reports no memory analysis")
    return mem.temp_size_in_bytes / 2**20


@pytest.mark.parametrize("unit", ["swiglu", "geglu", "clamped_swiglu"])
def test_train_step_temp_memory_at_least_30_percent_below_the_jax_nn_block(unit):
    # a transformer-shaped block (1024 tokens, 128 -> 512); compiled, not run
    x = jnp.zeros((1024, 128))
    params = (jnp.zeros((128, 1024)), jnp.zeros((512, 128)))
    ours = _step_temp_mib(lambda p, v: gated_mlp(v, *p, unit=unit), params, x)
    theirs = _step_temp_mib(lambda p, v: plain_block(unit, v, *p), params, x)
    assert ours <= 0.7 * theirs, (ours, theirs)


def test_forward_mode_is_refused_and_the_composed_module_supports_it():
    args = operands(True, False, rows=(64,), dtype=jnp.float32)
    with pytest.raises(TypeError, match="custom_vjp"):
        jax.jvp(lambda x: gated_mlp(x, args["w_in"], args["w_out"]), (args["x"],), (args["x"],))
    block = GatedMLP(12, 20, "swiglu", low_memory=False, rngs=nnx.Rngs(0))
    _, tangent = jax.jvp(block, (args["x"],), (jnp.ones_like(args["x"]),))
    assert bool(jnp.all(jnp.isfinite(tangent)))


def test_vmap_of_grad_matches_per_example():
    args = operands(True, False, rows=(4, 64), dtype=jnp.float32)
    g = lambda x: jax.grad(lambda v: jnp.sum(gated_mlp(v, args["w_in"], args["w_out"])))(x)
    batched = jax.vmap(g)(args["x"])
    for i in range(4):
        chex.assert_trees_all_close(batched[i], g(args["x"][i]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("fused", "bias"), grid([True, False], [True, False], every=2, salt="module-agree")
)
def test_module_low_memory_and_composed_agree(fused, bias):
    x = jax.random.normal(jax.random.key(2), (2, 130, 8))
    block = GatedMLP(8, 16, "geglu", fused=fused, use_bias=bias, rngs=nnx.Rngs(0))

    def grads(low_memory):
        block.low_memory = low_memory
        return nnx.grad(lambda m: jnp.sum(jnp.sin(m(x))))(block)

    block.low_memory = True
    y = block(x)
    block.low_memory = False
    chex.assert_trees_all_close(y, block(x), rtol=1e-6, atol=1e-6)
    chex.assert_trees_all_close(
        jax.tree.leaves(grads(True)), jax.tree.leaves(grads(False)), rtol=1e-4, atol=1e-5
    )


def test_sharded_rows_match_one_device():
    devices = jax.devices("cpu")
    assert len(devices) == 8, "conftest asks XLA for 8 CPU devices"
    mesh = Mesh(np.array(devices), ("batch",))
    args = operands(True, True, rows=(1024,), dtype=jnp.float32)
    loss = lambda kw: jnp.sum(jnp.sin(gated_mlp(chunks=4, **kw)))
    want = jax.jit(jax.grad(loss))(args)
    sharded = dict(args, x=jax.device_put(args["x"], NamedSharding(mesh, PartitionSpec("batch"))))
    got = jax.jit(jax.grad(loss))(sharded)
    assert len(got["x"].sharding.device_set) == 8
    chex.assert_trees_all_close(got, want, rtol=5e-4, atol=1e-4)  # summation order differs


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"unit": "gelu"}, "unknown unit 'gelu'"),
        ({"w_in": jnp.ones((12, 41))}, "w_in has odd width 41"),
        ({"w_in": jnp.ones((5, 40))}, r"w_in has shape \(5, 40\)"),
        ({"w_out": jnp.ones((7, 7))}, r"w_out has shape \(7, 7\); want \(20, d_out\)"),
        ({"b_gate": jnp.ones(20)}, "b_gate given without w_gate"),
        ({"chunks": 0}, "chunks must be a positive int"),
        ({"w_gate": jnp.ones((12, 7))}, r"w_gate has shape \(12, 7\)"),
    ],
)
def test_bad_arguments_name_the_function_and_the_problem(kwargs, match):
    args = dict(operands(True, False, rows=(8,), dtype=jnp.float32), **kwargs)
    with pytest.raises(ValueError, match=f"gated_mlp: {match}"):
        gated_mlp(**args)
    with pytest.raises(TypeError, match="gated_mlp"):
        gated_mlp("x", args["w_in"], args["w_out"])
