"""Property tests (hypothesis) over the whole finite range of each dtype: monotonicity,
bounds and identities between activations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import strategies as st

import jaxact
from jaxact._src.registry import BY_NAME, REGISTRY

from tiers import given_in_tiers

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


def finite(dtype_name: str) -> st.SearchStrategy[float]:
    """Any finite value of the dtype (drawn as float32/float16 and rounded)."""
    width = 16 if dtype_name == "float16" else 32
    return st.floats(allow_nan=False, allow_infinity=False, width=width).filter(
        lambda v: np.isfinite(
            np.asarray(v, np.float32).astype(DTYPES[dtype_name]).astype(np.float32)
        )
    )


MONOTONE = [s.name for s in REGISTRY if s.monotone]


def _monotone(name, dtype_name, data):
    """a <= b implies f(a) <= f(b), up to the accuracy bound (a few ulps of rounding)."""
    spec = BY_NAME[name]
    dtype = DTYPES[dtype_name]
    a = data.draw(finite(dtype_name))
    b = data.draw(finite(dtype_name))
    a, b = min(a, b), max(a, b)
    x = jnp.asarray([a, b], jnp.float32).astype(dtype)
    if bool(x[0] > x[1]):  # rounding to the dtype cannot reorder, but be explicit
        x = x[::-1]
    y = np.asarray(spec.bound(x).astype(jnp.float32), np.float64)
    slack = 4 * float(jnp.finfo(dtype).eps) * max(abs(y[0]), abs(y[1]))
    assert y[0] <= y[1] + slack, (name, dtype_name, x, y)


def _simplex(dtype_name, data):
    dtype = DTYPES[dtype_name]
    values = data.draw(st.lists(finite(dtype_name), min_size=1, max_size=40))
    x = jnp.asarray(values, jnp.float32).astype(dtype)
    for fn in (jaxact.softmax, jaxact.softmin, jaxact.sparsemax, jaxact.entmax15):
        p = np.asarray(fn(x).astype(jnp.float32), np.float64)
        assert np.all(p >= 0) and np.all(p <= 1), (fn.__name__, values, p)
        tol = 8 * float(jnp.finfo(dtype).eps) * max(1, len(values)) ** 0.5
        assert abs(p.sum() - 1) <= tol, (fn.__name__, values, p.sum())


def _bounded(dtype_name, data):
    dtype = DTYPES[dtype_name]
    x = jnp.asarray([data.draw(finite(dtype_name))], jnp.float32).astype(dtype)
    for fn, lo, hi in (
        (jaxact.sigmoid, 0, 1),
        (jaxact.tanh, -1, 1),
        (jaxact.soft_sign, -1, 1),
        (jaxact.hard_sigmoid, 0, 1),
        (jaxact.sparse_sigmoid, 0, 1),
        (jaxact.relu6, 0, 6),
        (jaxact.log_sigmoid, -np.inf, 0),
        (jaxact.softplus, 0, np.inf),
    ):
        y = float(fn(x)[0].astype(jnp.float32))
        assert lo <= y <= hi, (fn.__name__, x, y)


def _identities(dtype_name, data):
    dtype = DTYPES[dtype_name]
    x = jnp.asarray([data.draw(finite(dtype_name))], jnp.float32).astype(dtype)
    grad = lambda f: jax.vmap(jax.grad(lambda v: f(v)))(x)
    np.testing.assert_array_equal(grad(jaxact.softplus), jaxact.sigmoid(x))
    np.testing.assert_array_equal(grad(jaxact.log_sigmoid), jaxact.sigmoid(-x))
    np.testing.assert_array_equal(grad(jaxact.sparse_plus), jaxact.sparse_sigmoid(x))
    row = jnp.concatenate([x, x * 0.5, jnp.zeros_like(x)])
    np.testing.assert_array_equal(jaxact.softmin(row), jaxact.softmax(-row))
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    with np.errstate(over="ignore", invalid="ignore"):
        want = np.float64(lam) * np.asarray(jaxact.elu(x, alpha).astype(jnp.float32), np.float64)
        got = np.asarray(jaxact.selu(x).astype(jnp.float32), np.float64)
    # a subnormal result is rounded to a multiple of the smallest subnormal
    fi = jnp.finfo(dtype)
    np.testing.assert_allclose(got, want, rtol=8 * float(fi.eps), atol=float(fi.smallest_subnormal))


# Each property twice: 8-60 examples in the fast tier, 150 in the slow one.
ANY_DTYPE = (st.sampled_from(list(DTYPES)), st.data())
test_monotone_functions_are_monotone, test_monotone_functions_are_monotone_thorough = (
    given_in_tiers(st.sampled_from(MONOTONE), *ANY_DTYPE, fast=60, thorough=150)(_monotone)
)
test_normalizers_land_on_the_simplex, test_normalizers_land_on_the_simplex_thorough = (
    given_in_tiers(*ANY_DTYPE, fast=8, thorough=150)(_simplex)
)
test_bounded_functions_stay_in_their_range, test_bounded_functions_stay_in_their_range_thorough = (
    given_in_tiers(*ANY_DTYPE, fast=60, thorough=150)(_bounded)
)
test_identities_between_activations, test_identities_between_activations_thorough = given_in_tiers(
    *ANY_DTYPE, fast=60, thorough=150
)(_identities)
