"""Fidelity to the seed document's own Python implementations (without their rounding)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxact


# The seed's implementations, verbatim except for the removed `round(result, 4)`.
def seed_sigmoid(z: float) -> float:
    result = 1 / (1 + math.exp(-1 * z))
    return result


def seed_softmax(scores: list[float]) -> list[float]:
    scores_np = np.array(scores)
    probabilities = np.exp(scores_np) / np.sum(np.exp(scores_np))
    return probabilities.tolist()


def seed_relu(x: float) -> float:
    return max(0.0, x)


def seed_leaky_relu(x: float, alpha: float = 0.01) -> float:
    return max(alpha * x, x)


POINTS = [-30.0, -7.5, -1.0, -0.25, 0.0, 0.25, 1.0, 7.5, 30.0]


def test_sigmoid_matches_seed():
    with jax.enable_x64(True):
        got = jaxact.sigmoid(jnp.array(POINTS))
        np.testing.assert_allclose(got, [seed_sigmoid(z) for z in POINTS], rtol=1e-15)


def test_relu_matches_seed():
    with jax.enable_x64(True):
        got = jaxact.relu(jnp.array(POINTS))
        np.testing.assert_array_equal(got, [seed_relu(z) for z in POINTS])


@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.5])
def test_leaky_relu_matches_seed(alpha):
    with jax.enable_x64(True):
        got = jaxact.leaky_relu(jnp.array(POINTS), alpha=alpha)
        np.testing.assert_allclose(got, [seed_leaky_relu(z, alpha) for z in POINTS], rtol=1e-15)


@pytest.mark.parametrize("scores", [[1.0, 2.0, 3.0], [0.0, 0.0], [-5.0, 10.0, 2.5, 0.1]])
def test_softmax_matches_seed(scores):
    with jax.enable_x64(True):
        got = jaxact.softmax(jnp.array(scores))
        np.testing.assert_allclose(got, seed_softmax(scores), rtol=1e-14)


def test_seed_derivatives():
    """The seed's derivative sections: sigma' = sigma(1 - sigma); relu' in {0, 1};
    leaky_relu' in {alpha, 1}; softmax ds_i/dx_j = s_i(delta_ij - s_j)."""
    with jax.enable_x64(True):
        x = jnp.array(POINTS)
        s = np.array([seed_sigmoid(z) for z in POINTS])
        # The seed's form s(1 - s) cancels in the right tail (0.1% off at x = 30 in float64),
        # so it is compared in absolute terms; jaxact's tail accuracy is checked in ulps.
        np.testing.assert_allclose(
            jaxact.derivatives.sigmoid(x), s * (1 - s), rtol=1e-9, atol=1e-15
        )
        np.testing.assert_array_equal(jaxact.derivatives.relu(x), (x > 0).astype(float))
        np.testing.assert_array_equal(
            jaxact.derivatives.leaky_relu(x, alpha=0.1), np.where(x > 0, 1.0, 0.1)
        )
        scores = [1.0, 2.0, 3.0]
        p = np.array(seed_softmax(scores))
        np.testing.assert_allclose(
            jaxact.derivatives.softmax_jacobian(jnp.array(scores)),
            np.diag(p) - np.outer(p, p),
            rtol=1e-14,
            atol=1e-16,
        )
