"""Define your own activation from its formula and analytic derivative, and verify it.

    python examples/custom_activation.py

``jaxact.activation`` turns (forward, derivative) into a jitted ``custom_jvp`` activation
with jaxact's dtype rules and validation; ``jaxact.testing.check_activation`` checks it
against a plain reference formula. A deliberately wrong derivative is caught, with a report.
"""

import jax.numpy as jnp

import jaxact
from jaxact.testing import check_activation


# Softsign-gated linear unit: x * (1 + x / (1 + |x|)) / 2, with its derivative
# (1 + x/(1+|x|))/2 + x / (2 (1 + |x|)^2).
def _derivative(x):
    a = 1 + jnp.abs(x)
    return (1 + x / a) / 2 + x / (2 * a * a)


@jaxact.activation(derivative=_derivative)
def softsign_glu(x):
    return x * (1 + x / (1 + jnp.abs(x))) / 2


@jaxact.activation(derivative=lambda x: (1 + x / (1 + jnp.abs(x))) / 2)  # forgets a term
def broken_softsign_glu(x):
    return x * (1 + x / (1 + jnp.abs(x))) / 2


def reference(x):
    return x * (1 + x / (1 + jnp.abs(x))) / 2


def main() -> None:
    good = check_activation(softsign_glu, reference, kinks2=(0.0,), name="softsign_glu")
    print(good)
    print()
    bad = check_activation(
        broken_softsign_glu, reference, kinks2=(0.0,), name="broken", raise_on_failure=False
    )
    print(bad)
    assert good.ok and not bad.ok
    print()
    print("the wrong derivative was caught:", [c for c, ok, _ in bad.rows if not ok])


if __name__ == "__main__":
    main()
