"""The accuracy harness behind the verifier's precision rows (every finite bfloat16 and
float16 input, >= 1e5 float32 inputs over the whole finite range, in ulps) and the float64
truths the registry gives it, checked here against mpmath.

The bounds themselves (<= 1 ulp for 16-bit, <= 4 ulp for float32 unless an entry declares
otherwise, no NaN/inf where the truth is finite) are applied by ``check_activation`` in
test_registry.py::test_check_activation.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

from jaxact._src.accuracy import all_finite, sample16
from jaxact._src.registry import REGISTRY, Spec
from jaxact._src.testing import scan_inputs
from jaxact.testing import ulp_error

from tiers import grid


@functools.cache
def inputs(dtype_name: str) -> np.ndarray:
    """The verifier's own scan inputs (check_activation's precision rows)."""
    x = scan_inputs(dtype_name)
    assert dtype_name != "float32" or x.size >= 100_000
    return x


def test_exhaustive_inputs_are_exhaustive():
    for name in ("bfloat16", "float16"):
        x = inputs(name)
        # All bit patterns but those with an all-ones exponent (inf and NaN).
        assert x.size == 65536 - (256 if name == "bfloat16" else 2048)
        assert np.isfinite(x.astype(np.float32)).all()
        assert np.unique(x.view(np.uint16)).size == x.size


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16], ids=str)
def test_sampled_16bit_inputs_reach_every_binade_the_extremes_and_the_kinks(dtype):
    """The fast tier's 16-bit scan (check_activation's count16): about the asked-for count,
    finite, no repeats, every exponent of both signs (subnormals included), the extremes,
    and the 9 bit patterns around each kink (around -0 too for a kink at 0)."""
    x = sample16(dtype, 2048, near=(0.0, -1.5))
    bits = x.view(np.uint16)
    every = all_finite(dtype).view(np.uint16)
    assert 2048 * 0.9 <= x.size <= 2048 * 1.1 and np.unique(bits).size == x.size
    assert np.isfinite(x.astype(np.float32)).all()
    exponent_bits = 8 if dtype == jnp.bfloat16 else 5
    exponent = lambda b: (b >> (15 - exponent_bits)) & ((1 << exponent_bits) - 1)
    assert set(zip(every >> 15, exponent(every), strict=True)) == set(
        zip(bits >> 15, exponent(bits), strict=True)
    )
    fi = jnp.finfo(dtype)
    pattern = lambda v: int(np.array(v, dtype).view(np.uint16))
    for v in (0.0, fi.smallest_subnormal, fi.smallest_normal, 1.0, fi.max):
        assert {pattern(v), pattern(-v)} <= set(bits.tolist()), v
    for k in (0.0, -0.0, -1.5):
        near = {(pattern(k) + i) & 0xFFFF for i in range(-4, 5)} & set(every.tolist())
        assert near <= set(bits.tolist()), k


def test_f32_samples_span_the_finite_range():
    x = inputs("float32").astype(np.float64)
    fi = np.finfo(np.float32)
    assert x.max() == fi.max and x.min() == -fi.max
    assert (x == 0).any() and (np.abs(x) == fi.smallest_normal).any()
    assert ((np.abs(x) > 0) & (np.abs(x) < fi.smallest_normal)).any()
    decades = np.unique(np.floor(np.log10(np.abs(x[x != 0]))))
    assert decades.size > 80


def test_ulp_error_counts_units_in_the_last_place():
    one = np.float64(1.0)
    eps = float(np.finfo(np.float32).eps)
    assert ulp_error(one + eps, one, jnp.float32)[()] == 1.0
    assert ulp_error(one + 2 * eps, one, jnp.float32)[()] == 2.0
    assert ulp_error(2.0 + 2 * eps, 2.0, jnp.float32)[()] == 1.0  # spacing doubles at 2
    assert ulp_error(np.inf, 1.0, jnp.float32)[()] == np.inf
    assert np.isnan(ulp_error(0.0, 1e-45, jnp.float32)[()])  # subnormal truth: not in ulps
    assert ulp_error(1.0 + 2**-7, 1.0, jnp.bfloat16)[()] == 1.0


def _mp_derivative(spec: Spec, x: float) -> float:
    return float(mpmath.diff(lambda t: spec.mp_value(mpmath, t), mpmath.mpf(x)))


@pytest.mark.parametrize("spec", grid(REGISTRY, every=2, salt="mpmath"))
def test_truths_match_mpmath(spec: Spec):
    """The float64 truths are accurate to 1e-11 relative, in the tails too: 1/5000 of a
    float32 ulp, so they cannot move a measured ulp figure."""
    assert spec.mp is not None, f"{spec.name}: registry entry needs an mpmath formula"
    kinks = list(spec.kink_points) + list(spec.slice_kink_points)
    mags = np.concatenate([np.logspace(-6, 2.8, 40), [0.5, 1.0, 2.0, 3.0, 6.0, 17.0, 30.0, 88.0]])
    xs = np.concatenate([mags, -mags])
    xs = np.array([x for x in xs if all(abs(x - k) > 1e-3 for k in kinks)])
    with jax.enable_x64(True):
        v = np.asarray(spec.bound_truth(jnp.asarray(xs)), np.float64)
        d = np.asarray(spec.bound_truth_derivative(jnp.asarray(xs)), np.float64)
    with mpmath.workdps(340):  # the tails reach e^-631: the difference quotient needs digits
        want_v = np.array([float(spec.mp_value(mpmath, mpmath.mpf(x))) for x in xs])
        want_d = np.array([_mp_derivative(spec, x) for x in xs])
    np.testing.assert_allclose(v, want_v, rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(d, want_d, rtol=1e-11, atol=1e-300)
