"""jaxact in one screen: drop-in activations whose derivatives survive the tails.

Run: python examples/quickstart.py
"""

import jax
import jax.numpy as jnp

import jaxact


def main() -> None:
    x = jnp.float32(20.0)
    print(
        f"grad sigmoid(20) in float32: jaxact {jax.grad(jaxact.sigmoid)(x):.4g}, "
        f"jax.nn {jax.grad(jax.nn.sigmoid)(x):.4g} (true value 2.061e-09)"
    )
    print(
        f"leaky_relu'(0): jaxact {jax.grad(jaxact.leaky_relu)(0.0, 0.2)} "
        f"(PyTorch's convention), jax.nn {jax.grad(jax.nn.leaky_relu)(0.0, 0.2)}"
    )

    logits = jnp.array([36.0, 10000.0])
    masked = jax.grad(lambda v: jnp.sum(jaxact.softmax(v, where=v < 1000) * jnp.arange(2.0)))
    print(f"masked softmax gradient with a huge masked logit: {masked(logits)}")

    # A learnable slope, differentiated through the analytic rule.
    slope_grad = jax.grad(lambda a: jnp.sum(jaxact.leaky_relu(jnp.array([-2.0, 3.0]), a)))(0.1)
    print(f"d/d(slope) of sum(leaky_relu([-2, 3], slope)): {slope_grad}")

    # What reverse mode keeps per element, in bytes.
    big = jnp.ones((1024,), jnp.float32)
    for name in ("relu", "sigmoid"):
        ours = jaxact.testing.residual_bytes(getattr(jaxact, name), big) / big.size
        theirs = jaxact.testing.residual_bytes(getattr(jax.nn, name), big) / big.size
        print(f"{name}: reverse mode keeps {ours:g} bytes/element (jax.nn: {theirs:g})")


if __name__ == "__main__":
    main()
