"""Oracles shared between registry entries (``jaxact._src.registry``): gelu's by
``approximate`` (geglu's gate uses them), the sigmoid, log-sigmoid and silu slices that the
row and gated functions reduce to, quick_gelu's bounds, and where entmax's pair slice leaves
its support."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jax.scipy.special import expit

from jaxact._src.truths import (
    _TAIL_NOTE,
    _gelu_truth,
    _mp_gelu,
    _silu_d,
    _silu_v,
)

# gelu's oracles (value and derivative truths, mpmath, float32 bounds) by `approximate`;
# geglu's slice [1, b] is gelu(b), so its entries share them.
_GELU_ORACLES: dict[bool, dict[str, Any]] = {
    approximate: {
        "truth": lambda x, approximate: _gelu_truth(x, approximate)[0],
        "truth_derivative": lambda x, approximate: _gelu_truth(x, approximate)[1],
        "params": {"approximate": approximate},
        **({"f32_bounds": (220.0, 215.0), "bound_note": _TAIL_NOTE} if approximate else {}),
        "mp": _mp_gelu,
    }
    for approximate in (True, False)
}

# The one-variable slices of the row and gated functions are elementwise activations (glu's
# and softmax's slice is sigmoid, log_softmax's log_sigmoid, swiglu's silu, clamped_swiglu's
# quick_gelu below its limit): their oracles are shared, not copied.
_SIGMOID_ORACLES: dict[str, Any] = {
    "truth": expit,
    "truth_derivative": lambda x: expit(x) * expit(-x),
    "mp": lambda m, x: 1 / (1 + m.exp(-x)),
}
_LOG_SIGMOID_ORACLES: dict[str, Any] = {
    "truth": lambda x: -jnp.logaddexp(0.0, -x),
    "truth_derivative": lambda x: expit(-x),
    "mp": lambda m, x: -m.log1p(m.exp(-x)),
}
# Bounds set from every float32 input (tools/exhaustive_f32.py, |x| in [1e-4, 64)): where a
# formula rounds ~6 times, a result just above a power of two counts each rounding as up to
# a whole ulp, and a handful of inputs land just past 4.
_SILU_ORACLES: dict[str, Any] = {
    "truth": _silu_v,
    "truth_derivative": _silu_d,
    "f32_bounds": (4.0, 4.5),
    "bound_note": (
        "float32 derivative: 4.10 ulps at 2 inputs near x = -0.536 (every float32 input "
        "scanned); e(1 + x + e) / (1 + e (2 + e)) rounds 6 times"
    ),
    "mp": lambda m, x: x / (1 + m.exp(-x)),
}

_QUICK_GELU_BOUNDS: dict[str, Any] = {
    "f32_bounds": (4.0, 4.5),
    "bound_note": (
        "float32 derivative: 4.004 ulps at x = -3.858 (every float32 input scanned; 2 above "
        "3.9): silu's formula, with the rounding error of 1.702 x taken in"
    ),
}


def _entmax_pair_kinks(alpha: float) -> tuple[float, ...]:
    """Where alpha-entmax([x, 0]) leaves its support: x = +-1/(alpha - 1) (0 for the
    argmax; none for softmax)."""
    if alpha == 1:
        return ()
    return (0.0,) if alpha == float("inf") else (-1 / (alpha - 1), 1 / (alpha - 1))
