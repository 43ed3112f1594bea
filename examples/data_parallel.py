"""Data-parallel training step with jaxact activations, sharded over every local device.

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/data_parallel.py

The batch is sharded over a 1-D ``Mesh`` with ``NamedSharding(mesh, P("batch"))`` and the
parameters are replicated; XLA's SPMD partitioner turns the jitted step into a per-device
program with the gradient all-reduce. The script checks the sharded loss and gradients
against the same step on one device and prints both.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxact


def init(key: jax.Array, sizes: tuple[int, ...]) -> list[dict[str, jax.Array]]:
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {"w": jax.random.normal(k, (m, n)) / np.sqrt(m), "b": jnp.zeros(n)}
        for k, m, n in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def loss_fn(params: list[dict[str, jax.Array]], x: jax.Array, y: jax.Array) -> jax.Array:
    h = x
    for layer in params[:-1]:
        h = jaxact.gelu(h @ layer["w"] + layer["b"])
    logits = h @ params[-1]["w"] + params[-1]["b"]
    logp = jaxact.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=-1))


@jax.jit
def step(params: list[dict[str, jax.Array]], x: jax.Array, y: jax.Array):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    new = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
    return loss, grads, new


def main() -> None:
    devices = jax.devices()
    mesh = Mesh(np.array(devices), ("batch",))
    kx, ky, kp = jax.random.split(jax.random.key(0), 3)
    batch = 64 * len(devices)
    x = jax.random.normal(kx, (batch, 32))
    y = jax.random.randint(ky, (batch,), 0, 10)
    params = init(kp, (32, 128, 128, 10))

    # One device.
    loss1, grads1, _ = step(params, x, y)

    # Sharded: batch split over the mesh, parameters replicated.
    xs = jax.device_put(x, NamedSharding(mesh, P("batch")))
    ys = jax.device_put(y, NamedSharding(mesh, P("batch")))
    ps = jax.device_put(params, NamedSharding(mesh, P()))
    loss8, grads8, _ = step(ps, xs, ys)

    diff = max(
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(jax.tree.leaves(grads1), jax.tree.leaves(grads8), strict=True)
    )
    print(
        f"devices: {len(devices)} ({devices[0].platform}); batch {batch} sharded as "
        f"{xs.sharding.shard_shape(xs.shape)} per device"
    )
    print(f"loss: one device {float(loss1):.7f}, sharded {float(loss8):.7f}")
    print(f"max |gradient difference|: {diff:.2e}")
    np.testing.assert_allclose(float(loss8), float(loss1), rtol=1e-6)
    assert diff < 1e-5, diff
    print("sharded step matches the single-device step")


if __name__ == "__main__":
    main()
