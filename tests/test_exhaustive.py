"""Every float32 input in the ranges where the float32 bounds are tightest (the full scans,
over |x| in [1e-4, 64) for every elementwise entry, are ``tools/exhaustive_f32.py``'s job:
about a minute per entry and sign). The sampled accuracy tests cannot see a worst case that
occupies a handful of inputs; these ranges hold the worst inputs found by the full scans."""

from __future__ import annotations

import numpy as np
import pytest

from jaxact._src.accuracy import f32_range, measure_f32_range
from jaxact._src.registry import REGISTRY

SPECS = {s.name: s for s in REGISTRY}

# (entry, |x| range, sign): the binade parts holding each entry's worst float32 input.
RANGES = [
    ("gelu_exact", 2.5, 3.0, -1.0),  # value 3.94 ulps at -2.7919 (XLA's erfc: 11-18 there)
    ("gelu_exact", 6.0, 7.0, -1.0),  # derivative 3.79 at -6.5938
    ("quick_gelu", 3.75, 4.0, -1.0),  # derivative 4.004 at -3.8582 (was 69 in the tail)
    ("quick_gelu", 44.0, 52.0, -1.0),  # value 3.49 at -48.378 (was 76)
    ("xielu", 2.25, 2.75, -1.0),  # the value's zero at -2.4325 (was ~5e6 ulps next to it)
    ("xielu", 0.75, 1.25, -1.0),  # the derivative's zero at -0.9808
    ("silu", 0.5, 0.625, -1.0),  # derivative 4.10 at -0.5355
    ("geglu", 1.5, 2.0, -1.0),  # the gate [1, b]: value 3.76 at -1.8296 (derivative 5.08 at -1.6526
    # before 1 + e was summed after the exact big + 1)
    ("geglu", 3.0, 3.25, -1.0),  # derivative 4.11 at -3.1527
    ("geglu", 8.0, 10.5, -1.0),  # the gate's scaled tail (was 214 ulps: its argument rounded)
    ("glu", 4.5, 5.75, 1.0),  # derivative 2.38 at 5.5384 (was 4.22 at 4.8399: (1 + e)^2 rounded)
    ("clamped_swiglu", 2.0, 2.125, -1.0),  # value 3.91 at -2.0279
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "lo", "hi", "sign"), RANGES, ids=lambda v: str(v))
def test_every_float32_input_within_bound(name, lo, hi, sign):
    spec = SPECS[name]
    value, deriv = measure_f32_range(
        spec.scalar_fn, spec.bound_truth, spec.bound_truth_derivative, lo, hi, sign
    )
    bounds = spec.bounds("float32")
    assert value.ok(bounds[0]), (value, bounds)
    assert deriv.ok(bounds[1]), (deriv, bounds)


def test_f32_range_is_every_float32_in_order():
    chunks = list(f32_range(1.0, 2.0, -1.0, chunk=1 << 20))
    x = np.concatenate(chunks)
    assert x.dtype == np.float32 and x.size == 1 << 23  # one binade: every mantissa
    assert x[0] == -1.0 and x[-1] == np.nextafter(np.float32(-2.0), np.float32(0))
    assert np.all(np.diff(x) < 0)  # strictly decreasing: no repeats, no gaps (ulp steps)
    assert np.all(np.diff(x) == -np.spacing(np.float32(1.0)))


def test_measure_f32_range_sees_a_single_bad_input():
    """A function wrong at one float32 input out of 2^23 is caught (a sample would miss it)."""
    import jax.numpy as jnp

    spec = SPECS["sigmoid"]
    bad_x = np.float32(1.2345678)

    def broken(x):
        return jnp.where(x == bad_x, 2 * spec.bound(x), spec.bound(x))

    value, _ = measure_f32_range(broken, spec.bound_truth, spec.bound_truth_derivative, 1.0, 2.0)
    assert value.max_ulp > 1e6 and value.worst_input == bad_x
