"""Analytic derivatives of jaxact's activations, one per activation, under the same names.

For an elementwise activation ``f``, ``jaxact.derivatives.f(x, ...)`` is :math:`f'(x)`
(same arguments, same shape as ``x``); these are the functions the ``custom_jvp`` rules are
built from. For the softmax family there are full Jacobians along an axis and the JVPs.
"""

from typing import Any

from jaxact._src import elementwise as _ew
from jaxact._src.softmax import softmax_jacobian as softmax_jacobian
from jaxact._src.softmax import softmax_jvp as softmax_jvp


def _math_block(doc: str) -> str:
    """The first ``.. math::`` block of a docstring, dedented."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(".. math::"):
            indent = len(line) - len(line.lstrip())
            block = [line.strip()]
            for more in lines[i + 1 :]:
                if more.strip() and len(more) - len(more.lstrip()) <= indent:
                    break
                block.append(more[indent:].rstrip())
            return "\n".join(block).rstrip()
    return ""


def _public(name: str, fn: Any, derivative: Any) -> Any:
    derivative.__doc__ = (
        f"Analytic derivative of :func:`jaxact.{name}` with respect to ``x``, elementwise.\n\n"
        f"{_math_block(fn.__doc__ or '')}\n\n"
        f"Takes the arguments of :func:`jaxact.{name}`; see it for the convention at kinks.\n"
        "It is the function the ``custom_jvp`` rule is built from, so it equals ``jax.grad``:\n\n"
        "Examples:\n"
        "  >>> x = jnp.linspace(-4.0, 4.0, 17)\n"
        f"  >>> d = jaxact.derivatives.{name}(x)\n"
        f"  >>> bool(jnp.array_equal(d, jax.vmap(jax.grad(jaxact.{name}))(x)))\n"
        "  True\n"
    )
    return derivative


sigmoid = _public("sigmoid", _ew.sigmoid, _ew.sigmoid.derivative)
relu = _public("relu", _ew.relu, _ew.relu.derivative)
leaky_relu = _public("leaky_relu", _ew.leaky_relu, _ew.leaky_relu_derivative)

_ELEMENTWISE = ("leaky_relu", "relu", "sigmoid")
# The derivative functions are built in jaxact._src: register their docstrings here so the
# doctest run covers them.
__test__ = {name: globals()[name].__doc__ for name in _ELEMENTWISE}

__all__ = [
    "leaky_relu",
    "relu",
    "sigmoid",
    "softmax_jacobian",
    "softmax_jvp",
]
