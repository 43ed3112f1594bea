"""Rectifiers and piecewise-linear functions: the relu family, hard_*, shrinks, threshold,
sparse_plus and sparse_sigmoid."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxact._src import kernels as K
from jaxact._src.core import Select, activation
from jaxact._src.facts import Facts, Kink, declare


def _relu_derivative(x: Array) -> Select:
    return Select(x > 0, 1.0, 0.0)


@activation(
    derivative=_relu_derivative,
    upcast=False,  # exact in any dtype: XLA keeps the 16-bit input for the backward
    kinks=(Kink("0", d1="0"),),
    residual="mask",
    jax_nn="relu",
    reference="Nair & Hinton 2010",
)
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


def _relu6_derivative(x: Array) -> Select:
    return Select((x > 0) & (x < 6), 1.0, 0.0)


@activation(
    derivative=_relu6_derivative,
    kinks=(Kink("0", d1="0"), Kink("6", d1="0")),
    residual="mask",
    jax_nn="relu6",
)
def relu6(x: ArrayLike) -> Array:
    r"""ReLU capped at 6.

    .. math::
      \mathrm{relu6}(x) = \min(\max(x, 0), 6), \qquad
      \mathrm{relu6}'(x) = \begin{cases} 1 & 0 < x < 6 \\ 0 & \text{otherwise} \end{cases}

    Kinks: :math:`\mathrm{relu6}'(0) = \mathrm{relu6}'(6) = 0`, as in PyTorch. Reverse mode
    keeps only a boolean mask.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.relu6(jnp.array([-1.0, 3.0, 7.0]))
      Array([0., 3., 6.], dtype=float32)
    """
    return jnp.minimum(jnp.maximum(jnp.asarray(x), 0), 6)


def _relu_squared_derivative(x: Array) -> Array:
    return 2 * jnp.where(x > 0, x, 0)


@activation(
    derivative=_relu_squared_derivative,
    kinks=(Kink("0", d1="0", d2="0", note="left side"),),
    reference="So et al. 2021 (Primer)",
)
def relu_squared(x: ArrayLike) -> Array:
    r"""Squared ReLU (Primer).

    .. math::
      \mathrm{relu\_squared}(x) = \max(0, x)^2, \qquad
      \mathrm{relu\_squared}'(x) = 2\max(0, x)

    The derivative is continuous; the second derivative jumps at 0 (0 on the left, 2 on the
    right) and we take the left value 0, as for :func:`relu`.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.relu_squared(jnp.array([-2.0, 0.0, 3.0]))
      Array([0., 0., 9.], dtype=float32)
    """
    return jnp.square(jnp.maximum(jnp.asarray(x), 0))


def _leaky_relu_derivative(x: Array, negative_slope: Array) -> tuple[Select, Select]:
    return Select(x > 0, 1.0, negative_slope), Select(x > 0, 0.0, x)


def _leaky_relu_formula(x: ArrayLike, negative_slope: ArrayLike) -> Array:
    # alpha * x, except that a zero slope gives exactly 0 at x = -inf (not 0 * inf = NaN).
    x, negative_slope = jnp.asarray(x), jnp.asarray(negative_slope)
    neg = jnp.where((negative_slope == 0) & ~jnp.isnan(x), 0, negative_slope * x)
    return jnp.where(x > 0, x, neg)


_leaky_relu = activation(_leaky_relu_formula, derivative=_leaky_relu_derivative, name="leaky_relu")


# The default slope, as one object: leaky_relu tells "not passed" (this object) from a
# slope passed alongside its alias ``alpha``, while its signature shows the number 0.01.
_DEFAULT_SLOPE = 0.01


def _slope(negative_slope: Any, alpha: Any) -> Any:
    if alpha is None:
        return negative_slope
    if negative_slope is not _DEFAULT_SLOPE:
        raise TypeError("leaky_relu got both `negative_slope` and its alias `alpha`; pass one")
    return alpha


@declare(
    Facts(
        "leaky_relu",
        kinks=(Kink("0", d1="negative_slope", note="PyTorch; jax.nn: 1"),),
        residual="mask",
        jax_nn="leaky_relu",
        reference="Maas et al. 2013",
    )
)
def leaky_relu(
    x: ArrayLike, negative_slope: ArrayLike = _DEFAULT_SLOPE, *, alpha: ArrayLike | None = None
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
    return _leaky_relu(x, _slope(negative_slope, alpha))


def leaky_relu_derivative(
    x: ArrayLike, negative_slope: ArrayLike = _DEFAULT_SLOPE, *, alpha: ArrayLike | None = None
) -> Array:
    r"""Analytic derivative of ``leaky_relu`` with respect to ``x``, elementwise.

    .. math::
      \frac{\partial}{\partial x} = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}

    Takes the arguments of ``leaky_relu``; at 0 it is the slope (PyTorch's convention).

    Examples:
      >>> jaxact.derivatives.leaky_relu(jnp.array([-2.0, 0.0, 3.0]), 0.2)
      Array([0.2, 0.2, 1. ], dtype=float32)
    """
    return _leaky_relu.derivative(x, _slope(negative_slope, alpha))


@declare(
    Facts("prelu", kinks=(Kink("0", d1="slope"),), residual="mask", reference="He et al. 2015")
)
def prelu(x: ArrayLike, slope: ArrayLike) -> Array:
    r"""Parametric ReLU: :func:`leaky_relu` with a learnable, per-channel slope.

    .. math::
      \mathrm{prelu}(x, a) = \begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}, \qquad
      \frac{\partial}{\partial x} = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases},
      \qquad \frac{\partial}{\partial a} = \begin{cases} 0 & x > 0 \\ x & x \le 0 \end{cases}

    ``slope`` broadcasts against ``x`` with NumPy rules, so a ``(C,)`` slope applies per
    channel to channels-last inputs ``(..., C)`` (JAX's layout; PyTorch's ``PReLU`` uses
    channel axis 1). Kink: :math:`\mathrm{prelu}'(0) = a`, as in PyTorch.

    Args:
      x: input array.
      slope: the learnable slope :math:`a`, broadcastable against ``x``.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.prelu(jnp.array([[-1.0, -1.0], [2.0, 2.0]]), jnp.array([0.1, 0.3]))
      Array([[-0.1, -0.3],
             [ 2. ,  2. ]], dtype=float32)
    """
    return _prelu(x, slope)


def _prelu_formula(x: ArrayLike, slope: ArrayLike) -> Array:
    return _leaky_relu_formula(x, slope)  # the same formula; errors name `slope`


_prelu = activation(_prelu_formula, derivative=_leaky_relu_derivative, name="prelu")


def prelu_derivative(x: ArrayLike, slope: ArrayLike) -> Array:
    r"""Analytic derivative of ``prelu`` with respect to ``x``, elementwise.

    .. math::
      \frac{\partial}{\partial x} = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}

    Examples:
      >>> jaxact.derivatives.prelu(jnp.array([[-1.0, 2.0]]), jnp.array([0.1, 0.3]))
      Array([[0.1, 1. ]], dtype=float32)
    """
    return _prelu.derivative(x, slope)


# --------------------------------------------------------------------------- hard functions


def _hard_sigmoid_derivative(x: Array) -> Select:
    return Select((x > -3) & (x < 3), 1 / 6, 0.0)


@activation(
    derivative=_hard_sigmoid_derivative,
    kinks=(Kink("-3", d1="0"), Kink("3", d1="0")),
    residual="mask",
    jax_nn="hard_sigmoid",
)
def hard_sigmoid(x: ArrayLike) -> Array:
    r"""Hard sigmoid.

    .. math::
      \mathrm{hard\_sigmoid}(x) = \frac{\mathrm{relu6}(x + 3)}{6}, \qquad
      \mathrm{hard\_sigmoid}'(x) = \begin{cases} 1/6 & -3 < x < 3 \\ 0 & \text{otherwise}
      \end{cases}

    Kinks: the derivative is 0 at :math:`\pm 3`, as in PyTorch. Reverse mode keeps only a
    boolean mask.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.hard_sigmoid(jnp.array([-4.0, 0.0, 1.5, 4.0]))
      Array([0.  , 0.5 , 0.75, 1.  ], dtype=float32)
    """
    return jnp.minimum(jnp.maximum(jnp.asarray(x) + 3, 0), 6) / 6


def _hard_silu_derivative(x: Array) -> Array:
    return jnp.where(x <= -3, 0, jnp.where(x < 3, (2 * x + 3) / 6, 1))


@activation(
    derivative=_hard_silu_derivative,
    kinks=(Kink("-3", d1="0"), Kink("3", d1="1")),
    aliases=("hard_swish",),
    jax_nn="hard_silu",
    reference="Howard et al. 2019 (MobileNetV3)",
)
def hard_silu(x: ArrayLike) -> Array:
    r"""Hard SiLU / hard swish.

    .. math::
      \mathrm{hard\_silu}(x) = x\,\frac{\mathrm{relu6}(x + 3)}{6}, \qquad
      \mathrm{hard\_silu}'(x) = \begin{cases} 0 & x \le -3 \\ (2x + 3)/6 & -3 < x < 3 \\
      1 & x \ge 3 \end{cases}

    Kinks: :math:`\mathrm{hard\_silu}'(-3) = 0` and :math:`\mathrm{hard\_silu}'(3) = 1`, as in
    PyTorch's ``hardswish``. :math:`(2x + 3)/6` is exact where it crosses 0 (:math:`x/3 +
    1/2` is not).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.hard_silu(jnp.array([-4.0, -1.5, 0.0, 1.5, 4.0]))
      Array([ 0.   , -0.375,  0.   ,  1.125,  4.   ], dtype=float32)
    """
    x = jnp.asarray(x)
    return K.xmul(x, jnp.minimum(jnp.maximum(x + 3, 0), 6) / 6)


hard_swish = hard_silu


def _hard_tanh_derivative(
    x: Array, min_val: Array, max_val: Array
) -> tuple[Select, Select, Select]:
    return (
        Select((x > min_val) & (x < max_val), 1.0, 0.0),
        Select(x <= min_val, 1.0, 0.0),
        Select(x >= max_val, 1.0, 0.0),
    )


def _check_bounds(min_val: Any, max_val: Any) -> str | None:
    if (min_val > max_val).any():
        return f"`min_val` ({min_val}) must not exceed `max_val` ({max_val})"
    return None


def _check_lambd(lambd: Any) -> str | None:
    return f"`lambd` must be >= 0, got {lambd}" if (lambd < 0).any() else None


@activation(
    derivative=_hard_tanh_derivative,
    check=_check_bounds,
    valid=lambda min_val, max_val: min_val <= max_val,
    kinks=(Kink("min_val", d1="0", note="jax.nn: 1"), Kink("max_val", d1="0", note="jax.nn: 1")),
    residual="mask",
    jax_nn="hard_tanh",
)
def hard_tanh(x: ArrayLike, min_val: ArrayLike = -1.0, max_val: ArrayLike = 1.0) -> Array:
    r"""Hard tanh, with PyTorch's optional ``min_val`` and ``max_val``.

    .. math::
      \mathrm{hard\_tanh}(x) = \min(\max(x, a), b), \qquad
      \frac{\partial}{\partial x} = \begin{cases} 1 & a < x < b \\ 0 & \text{otherwise}
      \end{cases}

    with :math:`\partial/\partial a = 1` for :math:`x \le a` and :math:`\partial/\partial b =
    1` for :math:`x \ge b` (the bounds are differentiable; at a bound the three partials
    still add up to 1). Kinks: the derivative is 0 at :math:`x = a` and :math:`x = b`
    (:math:`\pm 1` by default), as in PyTorch. Reverse mode keeps only a boolean mask when
    the bounds are constants.

    Args:
      x: input array.
      min_val: lower bound :math:`a` (default -1).
      max_val: upper bound :math:`b` (default 1).

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.hard_tanh(jnp.array([-2.0, 0.5, 2.0]))
      Array([-1. ,  0.5,  1. ], dtype=float32)
      >>> jaxact.hard_tanh(jnp.array([-2.0, 0.5, 2.0]), 0.0, 1.0)
      Array([0. , 0.5, 1. ], dtype=float32)
    """
    return jnp.minimum(jnp.maximum(jnp.asarray(x), min_val), max_val)


# --------------------------------------------------------------------------- sparse


def _sparse_plus_derivative(x: Array) -> Array:
    return jnp.where(x <= -1, 0, jnp.where(x >= 1, 1, (x + 1) / 2))


@activation(
    derivative=_sparse_plus_derivative,
    kinks=(
        Kink("-1", d1="0", d2="0", note="outer side"),
        Kink("1", d1="1", d2="0", note="outer side"),
    ),
    jax_nn="sparse_plus",
)
def sparse_plus(x: ArrayLike) -> Array:
    r"""Sparse plus.

    .. math::
      \mathrm{sparse\_plus}(x) = \begin{cases} 0 & x \le -1 \\ (x+1)^2/4 & -1 < x < 1 \\
      x & x \ge 1 \end{cases}, \qquad
      \mathrm{sparse\_plus}'(x) = \mathrm{sparse\_sigmoid}(x).

    The derivative is continuous; the second derivative jumps at :math:`\pm 1` and we take
    the outer values (0 at both). Finite at :math:`\pm\infty` (``jax.nn``'s gradient is NaN).

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.sparse_plus(jnp.array([-2.0, 0.0, 0.5, 2.0]))
      Array([0.    , 0.25  , 0.5625, 2.    ], dtype=float32)
    """
    x = jnp.asarray(x)
    mid = jnp.where(x >= 1, 0, x)  # NaN passes through
    return jnp.where(x <= -1, 0, jnp.where(x >= 1, x, jnp.square(mid + 1) / 4))


def _sparse_sigmoid_derivative(x: Array) -> Select:
    return Select((x > -1) & (x < 1), 0.5, 0.0)


@activation(
    derivative=_sparse_sigmoid_derivative,
    kinks=(Kink("-1", d1="0", note="jax.nn: 0.25"), Kink("1", d1="0", note="jax.nn: 0.25")),
    residual="mask",
    jax_nn="sparse_sigmoid",
)
def sparse_sigmoid(x: ArrayLike) -> Array:
    r"""Sparse sigmoid (the derivative of :func:`sparse_plus`; sparsemax of ``[x, 0]``).

    .. math::
      \mathrm{sparse\_sigmoid}(x) = \begin{cases} 0 & x \le -1 \\ (x+1)/2 & -1 < x < 1 \\
      1 & x \ge 1 \end{cases}, \qquad
      \mathrm{sparse\_sigmoid}'(x) = \begin{cases} 1/2 & -1 < x < 1 \\ 0 & \text{otherwise}
      \end{cases}

    Kinks: the derivative is 0 at :math:`\pm 1` (the closed outer pieces), as ``jax.nn``
    and :func:`sparsemax` give. Reverse mode keeps only a boolean mask.

    Args:
      x: input array.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.sparse_sigmoid(jnp.array([-2.0, 0.0, 0.5, 2.0]))
      Array([0.  , 0.5 , 0.75, 1.  ], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(x <= -1, 0, jnp.where(x >= 1, 1, (x + 1) / 2))


# --------------------------------------------------------------------------- shrinks


def _hard_shrink_derivative(x: Array, lambd: Array) -> tuple[Select, Select]:
    # The value jumps at +-lambda, so d/dlambda is 0 almost everywhere.
    return Select(jnp.abs(x) > lambd, 1.0, 0.0), Select(x > lambd, 0.0, 0.0)


@activation(
    derivative=_hard_shrink_derivative,
    check=_check_lambd,
    valid=lambda lambd: lambd >= 0,
    kinks=(Kink("-lambd", d1="0"), Kink("lambd", d1="0")),
    residual="mask",
)
def hard_shrink(x: ArrayLike, lambd: ArrayLike = 0.5) -> Array:
    r"""Hard shrinkage (PyTorch's ``Hardshrink``).

    .. math::
      \mathrm{hard\_shrink}(x) = \begin{cases} x & |x| > \lambda \\ 0 & |x| \le \lambda
      \end{cases}, \qquad
      \mathrm{hard\_shrink}'(x) = \begin{cases} 1 & |x| > \lambda \\ 0 & |x| \le \lambda
      \end{cases}

    Kinks: the derivative is 0 at :math:`\pm\lambda`, as in PyTorch. The derivative with
    respect to :math:`\lambda` is 0 (the function jumps there: its true derivative is a
    Dirac mass, which no gradient can carry). Reverse mode keeps only a boolean mask.

    Args:
      x: input array.
      lambd: threshold :math:`\lambda \ge 0` (default 0.5).

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.hard_shrink(jnp.array([-1.0, -0.5, 0.2, 0.7]))
      Array([-1. ,  0. ,  0. ,  0.7], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(jnp.abs(x) <= lambd, 0, x)


def _soft_shrink_derivative(x: Array, lambd: Array) -> tuple[Select, Array]:
    return (
        Select(jnp.abs(x) > lambd, 1.0, 0.0),
        jnp.where(x > lambd, -1.0, jnp.where(x < -lambd, 1.0, 0.0)),
    )


@activation(
    derivative=_soft_shrink_derivative,
    check=_check_lambd,
    valid=lambda lambd: lambd >= 0,
    kinks=(Kink("-lambd", d1="0"), Kink("lambd", d1="0")),
    residual="mask",
)
def soft_shrink(x: ArrayLike, lambd: ArrayLike = 0.5) -> Array:
    r"""Soft shrinkage (PyTorch's ``Softshrink``).

    .. math::
      \mathrm{soft\_shrink}(x) = \begin{cases} x - \lambda & x > \lambda \\
      x + \lambda & x < -\lambda \\ 0 & \text{otherwise} \end{cases}, \qquad
      \mathrm{soft\_shrink}'(x) = \begin{cases} 1 & |x| > \lambda \\ 0 & |x| \le \lambda
      \end{cases}

    and :math:`\partial/\partial\lambda = -\mathrm{sign}(x)` for :math:`|x| > \lambda`, else 0.
    Kinks: the derivative is 0 at :math:`\pm\lambda`, as in PyTorch. Reverse mode keeps only
    a boolean mask when :math:`\lambda` is a constant.

    Args:
      x: input array.
      lambd: threshold :math:`\lambda \ge 0` (default 0.5), differentiable.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.soft_shrink(jnp.array([-1.0, 0.2, 0.75]))
      Array([-0.5 ,  0.  ,  0.25], dtype=float32)
    """
    x = jnp.asarray(x)
    lam = jnp.asarray(lambd)
    return jnp.where(x > lam, x - lam, jnp.where(x < -lam, x + lam, x * 0))


def _threshold_derivative(
    x: Array, threshold: Array, value: Array
) -> tuple[Select, Select, Select]:
    return (
        Select(x > threshold, 1.0, 0.0),
        Select(x > threshold, 0.0, 0.0),
        Select(x > threshold, 0.0, 1.0),
    )


@activation(
    derivative=_threshold_derivative,
    kinks=(Kink("threshold", d1="0"),),
    residual="mask",
)
def threshold(x: ArrayLike, threshold: ArrayLike, value: ArrayLike) -> Array:
    r"""Threshold (PyTorch's ``Threshold``): keep ``x`` above ``threshold``, else ``value``.

    .. math::
      \mathrm{threshold}(x) = \begin{cases} x & x > t \\ v & x \le t \end{cases}, \qquad
      \frac{\partial}{\partial x} = \begin{cases} 1 & x > t \\ 0 & x \le t \end{cases},
      \qquad \frac{\partial}{\partial v} = \begin{cases} 0 & x > t \\ 1 & x \le t \end{cases}

    Kink: the derivative is 0 at the threshold, as in PyTorch. The derivative with respect
    to :math:`t` is 0 (the function jumps there). Reverse mode keeps only a boolean mask.

    Args:
      x: input array.
      threshold: the threshold :math:`t`.
      value: the replacement :math:`v`, differentiable.

    Returns:
      An array of the dtype of ``x``.

    Examples:
      >>> jaxact.threshold(jnp.array([-1.0, 0.5, 2.0]), 0.5, -9.0)
      Array([-9., -9.,  2.], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(x <= threshold, value, x)
