"""Define your own activation from its formula and analytic derivative, and verify it.

    python examples/custom_activation.py

``jaxact.activation`` turns (forward, derivative) into a jitted ``custom_jvp`` activation
with jaxact's dtype rules and validation; ``jaxact.testing.check_activation`` checks it
against a plain reference formula: float64 agreement of every partial derivative, ulp errors
in bfloat16/float16/float32, limits at +-inf. Two defects are caught with a report: a
derivative that forgets a term, and a tanh written with ``jax.custom_jvp`` whose derivative
``1 - tanh(x)**2`` flushes to zero in float32 beyond |x| ~ 9 (the true derivative stays a
normal float32 number up to |x| ~ 44). The same checks run from the command line:

    python -m jaxact verify examples/custom_activation.py:tanh_flush \\
        examples/custom_activation.py:tanh_reference
"""

import jax
import jax.numpy as jnp

import jaxact
from jaxact.testing import check_activation


# Softsign-gated linear unit: f(x) = x (1 + x / (1 + |x|)) / 2, the textbook formula (the
# reference below). Written that way it cancels for x << 0 (1 + x/(1+|x|) -> 0), overflows
# at |x| > max/2 and is NaN at -inf, and check_activation says so in every dtype. The same
# function without cancellation: with r = 1 / (1 + 1/|x|) = |x| / (1 + |x|),
#   x >= 0:  f = x (1 + r) / 2,   f' = (1 + r) / 2 + r / (2 (1 + x))
#   x <  0:  f = -r / 2,          f' = 1 / (2 (1 - x)^2)
def _ratio(x):
    return 1 / (1 / jnp.abs(x) + 1)  # |x| / (1 + |x|), exact at 0 and at +-inf


# Each branch sees only its own half-line, a harmless 1 or -1 elsewhere (a where() whose
# unused branch is inf or NaN, such as 1/|x| at 0, gives NaN higher derivatives).
def _halves(x):
    return jnp.where(x < 0, 1, x), jnp.where(x < 0, x, -1)  # NaN goes to the first


def _value(x):
    pos, neg = _halves(x)
    return jnp.where(x < 0, -_ratio(neg) / 2, pos / 2 * (1 + _ratio(pos)))


def _derivative(x):
    pos, neg = _halves(x)
    r = _ratio(pos)
    return jnp.where(x < 0, 0.5 / (1 - neg) / (1 - neg), (1 + r) / 2 + r / (2 * (1 + pos)))


@jaxact.activation(derivative=_derivative)
def softsign_glu(x):
    return _value(x)


def _forgets_a_term(x):
    pos, neg = _halves(x)
    return jnp.where(x < 0, 0.5 / (1 - neg) / (1 - neg), (1 + _ratio(pos)) / 2)


@jaxact.activation(derivative=_forgets_a_term)
def broken_softsign_glu(x):
    return _value(x)


def reference(x):
    return x * (1 + x / (1 + jnp.abs(x))) / 2


# tanh with the textbook derivative 1 - tanh^2: right in float64, 0 in float32 for |x| > 9.
@jax.custom_jvp
def tanh_flush(x):
    return jnp.tanh(x)


@tanh_flush.defjvp
def _tanh_flush_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    y = jnp.tanh(x)
    return y, (1 - y * y) * t


def tanh_reference(x):
    return jnp.tanh(x)


def main() -> None:
    good = check_activation(softsign_glu, reference, kinks2=(0.0,), name="softsign_glu")
    print(good)
    print()
    bad = check_activation(
        broken_softsign_glu, reference, kinks2=(0.0,), name="broken", raise_on_failure=False
    )
    print(bad)
    print()
    flush = check_activation(tanh_flush, tanh_reference, name="tanh_flush", raise_on_failure=False)
    print(flush)
    assert good.ok and not bad.ok and not flush.ok
    assert flush["value"].ok and flush["grad"].ok  # float64 alone would pass it
    print()
    print("the wrong derivative was caught by:", [c.check for c in bad.failures])
    print("the float32 flush was caught by:", [c.check for c in flush.failures])


if __name__ == "__main__":
    main()
