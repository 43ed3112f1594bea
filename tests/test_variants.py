"""chex variants: jit / no-jit / device / no-device / pmap around the plain reference formula
and around jaxact. The references are not pre-jitted, so the jit variants change how they
run; jaxact must agree with each variant of the reference."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import pytest
from absl.testing import parameterized

from jaxact._src.registry import REGISTRY

from tiers import grid

# A fifth of the registry (every variant each) in the fast tier, the rest in the slow one.
FAST = {c.values[0].name for c in grid(REGISTRY, every=5, salt="variants") if not c.marks}
CASES = [(s.name, s) for s in REGISTRY if s.name in FAST]
SLOW_CASES = [(s.name, s) for s in REGISTRY if s.name not in FAST]


def _x(spec):
    lo, hi = spec.domain
    shape = (3, 6) if spec.kind != "elementwise" else (18,)
    # Avoid kinks: a grid offset by an irrational step, shuffled so rows are not sorted.
    x = jnp.linspace(lo + 0.0123, hi - 0.0456, 18, dtype=jnp.float32)
    return x[jnp.array([5, 11, 2, 17, 8, 14, 0, 9, 3, 16, 6, 12, 1, 15, 7, 10, 4, 13])].reshape(
        shape
    )


def _check_variant(self: chex.TestCase, spec) -> None:
    x = _x(spec)

    def loss(f):
        return lambda v: jnp.sum(jnp.sin(f(v)))

    ours = self.variant(spec.bound)(x)
    ref = self.variant(spec.bound_reference)(x)
    # The plain formula is itself off by several float32 ulps in places (1 + tanh
    # cancels, x - log(sum(exp)) rounds): the cross-check is loose, the self-check tight.
    # float32 references cancel near zeros of f and f' (silu' at -1.28): tolerances are
    # relative to each array's scale, as befits a check of transform agreement
    scale = lambda a: 2e-5 * float(jnp.max(jnp.abs(a)))
    chex.assert_trees_all_close(ours, ref, rtol=2e-5, atol=max(1e-6, scale(ref)))
    chex.assert_trees_all_close(ours, spec.bound(x), rtol=2e-6, atol=1e-7)
    g = self.variant(jax.grad(loss(spec.bound)))(x)
    g_ref = self.variant(jax.grad(loss(spec.bound_reference)))(x)
    chex.assert_trees_all_close(g, g_ref, rtol=2e-5, atol=max(1e-6, scale(g_ref)))
    chex.assert_trees_all_close(g, jax.grad(loss(spec.bound))(x), rtol=2e-6, atol=1e-7)
    chex.assert_shape(g, x.shape)
    chex.assert_type(g, jnp.float32)


VARIANTS = dict(
    with_jit=True, without_jit=True, with_device=True, without_device=True, with_pmap=True
)


class VariantsTest(chex.TestCase):
    @chex.variants(**VARIANTS)
    @parameterized.named_parameters(*CASES)
    def test_value_and_grad_match_reference_under_variant(self, spec):
        _check_variant(self, spec)


@pytest.mark.slow
class VariantsSlowTest(chex.TestCase):
    @chex.variants(**VARIANTS)
    @parameterized.named_parameters(*SLOW_CASES)
    def test_value_and_grad_match_reference_under_variant(self, spec):
        _check_variant(self, spec)
