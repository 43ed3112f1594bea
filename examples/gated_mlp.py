"""A gated-MLP classifier (jaxact.nnx.GatedMLP) on scikit-learn's bundled digits, trained
against the same block written with jax.nn (``a * jax.nn.silu(b)``), same seed and data.

    pip install ".[examples]"
    python examples/gated_mlp.py --unit swiglu --epochs 20

Prints both runs' losses, then, for one transformer-sized block (4096 tokens, width 512,
hidden 2048, float32): the bytes reverse mode keeps, the compiled temp memory of a jitted
SGD step of the block (XLA's memory_analysis) and its steady-state step time.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import jaxact
from jaxact.nnx import GatedMLP
from jaxact.testing import residual_bytes

# The jax.nn compositions of each unit, on the halves (value, gate) of the in-projection.
JAX_NN: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
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


class JaxNNGatedMLP(nnx.Module):
    """The same block with the unit composed from jax.nn (same parameters as GatedMLP)."""

    def __init__(self, features: int, hidden: int, unit: str, *, rngs: nnx.Rngs):
        self.w_in = nnx.Linear(features, 2 * hidden, use_bias=False, rngs=rngs)
        self.w_out = nnx.Linear(hidden, features, use_bias=False, rngs=rngs)
        self.unit = JAX_NN[unit]

    def __call__(self, x: jax.Array) -> jax.Array:
        a, b = jnp.split(self.w_in(x), 2, axis=-1)
        return self.w_out(self.unit(a, b))


class Classifier(nnx.Module):
    def __init__(self, block: nnx.Module, rngs: nnx.Rngs):
        self.embed = nnx.Linear(64, 64, rngs=rngs)
        self.block = block
        self.head = nnx.Linear(64, 10, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        h = self.embed(x)
        return self.head(h + self.block(h))  # a residual block, as in a transformer


def make_block(lib: str, unit: str, features: int, hidden: int, seed: int) -> nnx.Module:
    rngs = nnx.Rngs(seed)
    if lib == "jaxact":
        return GatedMLP(features, hidden, unit, rngs=rngs)
    return JaxNNGatedMLP(features, hidden, unit, rngs=rngs)


def train(lib: str, unit: str, epochs: int, seed: int = 0) -> tuple[list[float], float]:
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y.astype(np.int32), test_size=0.25, random_state=0)
    model = Classifier(make_block(lib, unit, 64, 128, seed + 1), nnx.Rngs(seed))
    opt = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model: Classifier, opt: nnx.Optimizer, xb: jax.Array, yb: jax.Array) -> jax.Array:
        def loss_fn(m: Classifier) -> jax.Array:
            return optax.softmax_cross_entropy_with_integer_labels(m(xb), yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        opt.update(model, grads)
        return loss

    losses = []
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = order.permutation(len(x_tr))
        epoch = []
        for i in range(0, len(perm) - 63, 64):
            idx = perm[i : i + 64]
            epoch.append(float(step(model, opt, jnp.asarray(x_tr[idx]), jnp.asarray(y_tr[idx]))))
        losses.append(float(np.mean(epoch)))
    acc = float(jnp.mean(jnp.argmax(model(jnp.asarray(x_te)), -1) == jnp.asarray(y_te)))
    return losses, acc


def block_costs(lib: str, unit: str, tokens: int, features: int, hidden: int) -> dict[str, float]:
    """Residual bytes, compiled temp MiB and steady-state seconds of one SGD step of a block."""
    block = make_block(lib, unit, features, hidden, seed=0)
    graph, params = nnx.split(block)
    x = jax.random.normal(jax.random.key(0), (tokens, features), jnp.float32)

    def loss(p: nnx.State, v: jax.Array) -> jax.Array:
        return jnp.mean(jnp.square(nnx.merge(graph, p)(v)))

    def sgd(p: nnx.State, v: jax.Array) -> nnx.State:
        return jax.tree.map(lambda w, g: w - 0.01 * g, p, jax.grad(loss)(p, v))

    compiled = jax.jit(sgd).lower(params, x).compile()
    mem = compiled.memory_analysis()
    temp = float(mem.temp_size_in_bytes) / 2**20 if mem is not None else float("nan")
    # what reverse mode keeps of the unit itself, per element of the hidden activations
    h = jnp.ones((tokens, 2 * hidden), jnp.float32)
    if lib == "jaxact":
        unit_fn = getattr(jaxact, unit.removesuffix("_exact"))  # the split form
        if unit == "geglu_exact":
            unit_fn = functools.partial(jaxact.geglu, approximate=False)
    else:
        unit_fn = lambda v: JAX_NN[unit](*jnp.split(v, 2, axis=-1))
    res = residual_bytes(unit_fn, h) / h.size
    # and of the whole block, beyond its weights (which both keep)
    weights = sum(w.size * w.dtype.itemsize for w in jax.tree.leaves(params))
    block_res = residual_bytes(lambda p, v: nnx.merge(graph, p)(v), params, x) - weights
    return {
        "temp_mib": temp,
        "residual_bytes_per_elem": res,
        "block_residual_mib": block_res / 2**20,
        "compiled": compiled,
        "x": x,
        "p": params,
    }


def steady_seconds(
    progs: dict[str, tuple], rounds: int = 6, calls: int = 5
) -> dict[str, tuple[float, float]]:
    """(median seconds per step, noise) per library: blocks of back-to-back calls per
    library, alternating; the noise is the largest ratio between two rounds of one library."""
    for f, args in progs.values():
        jax.block_until_ready(f(*args))
    per: dict[str, list[float]] = {k: [] for k in progs}
    for r in range(rounds):
        for k in list(progs) if r % 2 == 0 else list(progs)[::-1]:
            f, args = progs[k]
            ts = []
            for _ in range(calls):
                t0 = time.perf_counter()
                jax.block_until_ready(f(*args))
                ts.append(time.perf_counter() - t0)
            per[k].append(statistics.median(ts))
    return {k: (statistics.median(v), max(v) / min(v)) for k, v in per.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--unit", default="swiglu", choices=sorted(JAX_NN))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--tokens", type=int, default=4096)
    p.add_argument("--features", type=int, default=512)
    p.add_argument("--hidden", type=int, default=2048)
    a = p.parse_args()

    runs = {lib: train(lib, a.unit, a.epochs) for lib in ("jaxact", "jax.nn")}
    for lib, (losses, acc) in runs.items():
        shown = ", ".join(f"{v:.4f}" for v in losses[:: max(1, a.epochs // 5)])
        print(f"{lib:7s} losses {shown} ... {losses[-1]:.6f}; test accuracy {acc:.4f}")
    diff = max(abs(u - v) for u, v in zip(runs["jaxact"][0], runs["jax.nn"][0], strict=True))
    print(f"max per-epoch loss difference: {diff:.2e}")

    costs = {lib: block_costs(lib, a.unit, a.tokens, a.features, a.hidden) for lib in runs}
    times = steady_seconds({k: (c["compiled"], (c["p"], c["x"])) for k, c in costs.items()})
    ours, theirs = costs["jaxact"], costs["jax.nn"]
    (t_ours, n_ours), (t_theirs, n_theirs) = times["jaxact"], times["jax.nn"]
    print(
        f"block {a.unit} ({a.tokens} tokens, {a.features} -> {a.hidden}, float32), "
        f"jaxact vs jax.nn: residual bytes/elem of the unit {ours['residual_bytes_per_elem']:g}"
        f" vs {theirs['residual_bytes_per_elem']:g}; block residual MiB beyond the weights "
        f"{ours['block_residual_mib']:.1f} vs {theirs['block_residual_mib']:.1f}; train-step "
        f"temp MiB {ours['temp_mib']:.1f} vs {theirs['temp_mib']:.1f} "
        f"({100 * (1 - ours['temp_mib'] / theirs['temp_mib']):.0f}% lower); step time "
        f"{t_ours * 1e3:.1f} vs {t_theirs * 1e3:.1f} ms ({t_ours / t_theirs:.2f}x; noise "
        f"{n_ours:.2f} / {n_theirs:.2f})"
    )


if __name__ == "__main__":
    main()
