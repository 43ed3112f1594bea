"""A Flax NNX classifier on scikit-learn's bundled digits, with a jaxact activation and the
same run with jax.nn's for comparison (same seed, same data order).

    pip install ".[examples]"
    python examples/flax_mlp.py --activation gelu --epochs 30

Prints the loss every few epochs for both runs and the final test accuracy.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import jaxact

# Activations available under both libraries with the same name and defaults.
CHOICES = ["relu", "leaky_relu", "gelu", "silu", "mish", "elu", "selu", "softplus", "tanh"]


class MLP(nnx.Module):
    def __init__(self, act: Callable[[jax.Array], jax.Array], rngs: nnx.Rngs):
        self.l1 = nnx.Linear(64, 128, rngs=rngs)
        self.l2 = nnx.Linear(128, 128, rngs=rngs)
        self.l3 = nnx.Linear(128, 10, rngs=rngs)
        self.act = act

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.l3(self.act(self.l2(self.act(self.l1(x)))))


def load() -> tuple[np.ndarray, ...]:
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    return train_test_split(x, y.astype(np.int32), test_size=0.25, random_state=0)


def train(act: Callable, epochs: int, seed: int = 0) -> tuple[list[float], float]:
    x_tr, x_te, y_tr, y_te = load()
    model = MLP(act, nnx.Rngs(seed))
    opt = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model: MLP, opt: nnx.Optimizer, xb: jax.Array, yb: jax.Array) -> jax.Array:
        def loss_fn(m: MLP) -> jax.Array:
            logits = m(xb)
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        opt.update(model, grads)
        return loss

    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x_tr))
        epoch = [
            float(step(model, opt, x_tr[idx], y_tr[idx]))
            for idx in np.array_split(order, len(order) // 64)
        ]
        losses.append(float(np.mean(epoch)))
    acc = float(jnp.mean(jnp.argmax(model(jnp.asarray(x_te)), -1) == y_te))
    return losses, acc


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--activation", default="gelu", choices=CHOICES)
    p.add_argument("--epochs", type=int, default=30)
    a = p.parse_args(argv)
    ours, acc_ours = train(getattr(jaxact, a.activation), a.epochs)
    theirs, acc_theirs = train(getattr(jax.nn, a.activation), a.epochs)
    print(f"digits, MLP 64-128-128-10, {a.activation}, {a.epochs} epochs, adam 1e-3, seed 0")
    print("epoch   loss (jaxact)   loss (jax.nn)")
    for e in range(0, a.epochs, max(1, a.epochs // 6)):
        print(f"{e + 1:5d}   {ours[e]:13.6f}   {theirs[e]:13.6f}")
    gap = max(abs(u - v) for u, v in zip(ours, theirs, strict=True))
    print(f"max |loss difference| over epochs: {gap:.2e}")
    print(f"test accuracy: jaxact {acc_ours:.4f}, jax.nn {acc_theirs:.4f}")


if __name__ == "__main__":
    main()
