"""chex variants: jit / no-jit / device / no-device / pmap around the plain reference formula
and around jaxact. The references are not pre-jitted, so the jit variants change how they
run; jaxact must agree with each variant of the reference."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
from absl.testing import parameterized

from jaxact._src.registry import REGISTRY

CASES = [(s.name, s) for s in REGISTRY]


def _x(spec):
    lo, hi = spec.domain
    shape = (3, 5) if spec.kind == "normalizer" else (15,)
    # Avoid kinks: a grid offset by an irrational step.
    return jnp.linspace(lo + 0.0123, hi - 0.0456, 15, dtype=jnp.float32).reshape(shape)


class VariantsTest(chex.TestCase):
    @chex.variants(
        with_jit=True, without_jit=True, with_device=True, without_device=True, with_pmap=True
    )
    @parameterized.named_parameters(*CASES)
    def test_value_and_grad_match_reference_under_variant(self, spec):
        x = _x(spec)
        w = jnp.cos(x)

        def loss(f):
            return lambda v: jnp.sum(f(v) * w)

        ours = self.variant(spec.bound)(x)
        ref = self.variant(spec.bound_reference)(x)
        chex.assert_trees_all_close(ours, ref, rtol=2e-6, atol=1e-7)
        chex.assert_trees_all_close(ours, spec.bound(x), rtol=2e-6, atol=1e-7)
        g = self.variant(jax.grad(loss(spec.bound)))(x)
        g_ref = self.variant(jax.grad(loss(spec.bound_reference)))(x)
        chex.assert_trees_all_close(g, g_ref, rtol=1e-5, atol=1e-6)
        chex.assert_shape(g, x.shape)
        chex.assert_type(g, jnp.float32)
