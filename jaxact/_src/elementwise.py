"""Elementwise activations: each forward formula with its analytic derivative directly above it.

The derivative functions receive floating arrays in the compute dtype (float32 for 16-bit
inputs) and are written to keep full relative precision in the tails (no ``y * (1 - y)``).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxact._src.core import Select, activation

# --------------------------------------------------------------------------- sigmoid


def _sigmoid_derivative(x: Array) -> Array:
    # e^{-|x|} / (1 + e^{-|x|})^2: no cancellation, so sigma'(x) keeps full precision in
    # both tails (y * (1 - y) becomes 0 once y rounds to 1).
    e = jnp.exp(-jnp.abs(x))
    return e / jnp.square(1 + e)


@activation(derivative=_sigmoid_derivative)
def sigmoid(x: ArrayLike) -> Array:
    r"""Sigmoid (logistic) function.

    .. math::
      \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad
      \sigma'(x) = \sigma(x)\,\sigma(-x) = \frac{e^{-|x|}}{(1 + e^{-|x|})^2}.

    The derivative is evaluated in the second form, which keeps full relative precision in
    both tails: ``jax.grad(sigmoid)(20.)`` is 2.06e-9 in float32 (``jax.nn`` gives 0).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x`` (integers and bools are promoted to the default float).

    Examples:
      >>> jaxact.sigmoid(jnp.array([-1.0, 0.0, 1.0]))
      Array([0.26894143, 0.5       , 0.7310586 ], dtype=float32)
      >>> jax.grad(jaxact.sigmoid)(20.0)
      Array(2.0611537e-09, dtype=float32, weak_type=True)
    """
    x = jnp.asarray(x)
    return 1 / (1 + jnp.exp(-x))


# --------------------------------------------------------------------------- relu


def _relu_derivative(x: Array) -> Select:
    return Select(x > 0, 1.0, 0.0)


@activation(derivative=_relu_derivative)
def relu(x: ArrayLike) -> Array:
    r"""Rectified linear unit.

    .. math::
      \mathrm{relu}(x) = \max(0, x), \qquad
      \mathrm{relu}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}

    Kink: under differentiation we take :math:`\mathrm{relu}'(0) = 0`, as PyTorch and
    ``jax.nn`` do (it keeps a zero input from receiving gradient, the usual sparsity
    convention). Reverse mode keeps only the boolean mask ``x > 0``; a NaN input has
    value NaN and derivative 0.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x`` (integers and bools are promoted to the default float).

    Examples:
      >>> jaxact.relu(jnp.array([-2.0, 0.0, 3.0]))
      Array([0., 0., 3.], dtype=float32)
      >>> jaxact.derivatives.relu(jnp.array([-2.0, 0.0, 3.0]))
      Array([0., 0., 1.], dtype=float32)
    """
    return jnp.maximum(jnp.asarray(x), 0)


# --------------------------------------------------------------------------- leaky_relu


def _leaky_relu_derivative(x: Array, negative_slope: Array) -> tuple[Select, Select]:
    return Select(x > 0, 1.0, negative_slope), Select(x > 0, 0.0, x)


def _leaky_relu_formula(x: Array, negative_slope: Array) -> Array:
    # alpha * x, except that a zero slope gives exactly 0 at x = -inf (not 0 * inf = NaN).
    neg = jnp.where((negative_slope == 0) & ~jnp.isnan(x), 0, negative_slope * x)
    return jnp.where(x > 0, x, neg)


_leaky_relu = activation(_leaky_relu_formula, derivative=_leaky_relu_derivative, name="leaky_relu")


class _Unset:
    """Marks an argument that was not passed (shown as the default it stands for)."""

    def __init__(self, default: str) -> None:
        self._default = default

    def __repr__(self) -> str:
        return self._default


_MISSING: Any = _Unset("0.01")


def leaky_relu(
    x: ArrayLike, negative_slope: ArrayLike = _MISSING, *, alpha: Any = _MISSING
) -> Array:
    r"""Leaky rectified linear unit.

    .. math::
      \mathrm{leaky\_relu}(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases},
      \qquad
      \frac{\partial}{\partial x} = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases},
      \qquad
      \frac{\partial}{\partial \alpha} = \begin{cases} 0 & x > 0 \\ x & x \le 0 \end{cases}

    Kink: under differentiation we take :math:`\mathrm{leaky\_relu}'(0) = \alpha`, as
    PyTorch does (``jax.nn`` gives 1), so that ``alpha = 0`` reproduces :func:`relu` in value
    and derivative. The slope is differentiable (a learnable slope, as in PReLU) and may be an
    array that broadcasts against ``x``; a float32 slope does not promote a bfloat16 ``x``.
    Reverse mode keeps only the boolean mask ``x > 0`` (and ``x`` itself only when the slope
    is being differentiated).

    Args:
      x: input array.
      negative_slope: the slope :math:`\alpha` for :math:`x \le 0` (default 0.01).
      alpha: keyword alias of ``negative_slope`` (the seed document's name).

    Returns:
      An array of the dtype of ``x`` and the broadcast shape of ``x`` and the slope.

    Examples:
      >>> jaxact.leaky_relu(jnp.array([-2.0, 0.0, 3.0]))
      Array([-0.02,  0.  ,  3.  ], dtype=float32)
      >>> jaxact.leaky_relu(jnp.array([-2.0, 3.0]), alpha=0.5)
      Array([-1.,  3.], dtype=float32)
      >>> jax.grad(jaxact.leaky_relu)(0.0, 0.2)
      Array(0.2, dtype=float32, weak_type=True)
    """
    if negative_slope is not _MISSING and alpha is not _MISSING:
        raise TypeError("leaky_relu got both `negative_slope` and its alias `alpha`; pass one")
    slope = alpha if negative_slope is _MISSING else negative_slope
    if slope is _MISSING:
        slope = 0.01
    return _leaky_relu(x, slope)


def leaky_relu_derivative(
    x: ArrayLike, negative_slope: ArrayLike = _MISSING, *, alpha: Any = _MISSING
) -> Array:
    if negative_slope is not _MISSING and alpha is not _MISSING:
        raise TypeError("leaky_relu got both `negative_slope` and its alias `alpha`; pass one")
    slope = alpha if negative_slope is _MISSING else negative_slope
    return _leaky_relu.derivative(x, 0.01 if slope is _MISSING else slope)
