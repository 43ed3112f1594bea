"""SPMD: jit over a NamedSharding-sharded batch and shard_map agree with one device."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxact._src.registry import REGISTRY, Spec

from tiers import grid


@pytest.fixture(scope="module")
def mesh():
    devices = jax.devices("cpu")
    assert len(devices) == 8, "conftest asks XLA for 8 CPU devices"
    return Mesh(np.array(devices), ("batch",))


def loss(f):
    return lambda x: jnp.sum(jnp.sin(f(x)))


@pytest.mark.parametrize("spec", grid(REGISTRY, every=9, salt="sharding"))
def test_sharded_jit_and_shard_map_match_one_device(spec: Spec, mesh):
    lo, hi = spec.domain
    x = jax.random.uniform(jax.random.key(0), (16, 12), minval=lo, maxval=hi)
    want_v = spec.bound(x)
    want_g = jax.grad(loss(spec.bound))(x)

    sharded = jax.device_put(x, NamedSharding(mesh, PartitionSpec("batch")))
    v = jax.jit(spec.bound)(sharded)
    g = jax.jit(jax.grad(loss(spec.bound)))(sharded)
    assert len(v.sharding.device_set) == 8
    chex.assert_trees_all_close(v, want_v, rtol=1e-5, atol=1e-7)
    chex.assert_trees_all_close(g, want_g, rtol=1e-5, atol=1e-7)

    spec_in = PartitionSpec("batch")
    smapped = jax.shard_map(spec.bound, mesh=mesh, in_specs=spec_in, out_specs=spec_in)
    chex.assert_trees_all_close(jax.jit(smapped)(sharded), want_v, rtol=1e-5, atol=1e-7)
    g_local = jax.shard_map(
        jax.grad(loss(spec.bound)), mesh=mesh, in_specs=spec_in, out_specs=spec_in
    )
    chex.assert_trees_all_close(jax.jit(g_local)(sharded), want_g, rtol=1e-5, atol=1e-7)
