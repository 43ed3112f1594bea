"""Analytic derivatives of jaxact's activations, one per activation, under the same names.

For an elementwise activation ``f``, ``jaxact.derivatives.f(x, ...)`` is :math:`f'(x)`
(same arguments, same shape as ``x``); these are the functions the ``custom_jvp`` rules are
built from. For the softmax family there are full Jacobians along an axis and the JVPs.
"""

from typing import Any

from jaxact._src import elementwise as _ew
from jaxact._src.elementwise import glu_jvp as glu_jvp
from jaxact._src.softmax import log_softmax_jvp as log_softmax_jvp
from jaxact._src.softmax import logsumexp_jvp as logsumexp_jvp
from jaxact._src.softmax import softmax_jacobian as softmax_jacobian
from jaxact._src.softmax import softmax_jvp as softmax_jvp
from jaxact._src.softmax import softmin_jvp as softmin_jvp
from jaxact._src.sparse import entmax15_jvp as entmax15_jvp
from jaxact._src.sparse import sparsemax_jvp as sparsemax_jvp


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


_EXAMPLE_INPUT = {"log1mexp": "jnp.linspace(0.25, 4.0, 16)"}
_EXAMPLE_ARGS = {"prelu": ", 0.25", "threshold": ", 0.5, -1.0"}


def _public(name: str, fn: Any, derivative: Any) -> Any:
    derivative.__doc__ = (
        f"Analytic derivative of :func:`jaxact.{name}` with respect to ``x``, elementwise.\n\n"
        f"{_math_block(fn.__doc__ or '')}\n\n"
        f"Takes the arguments of :func:`jaxact.{name}`; see it for the convention at kinks.\n"
        "It is the function the ``custom_jvp`` rule is built from, so it equals ``jax.grad``:\n\n"
        "Examples:\n"
        f"  >>> x = {_EXAMPLE_INPUT.get(name, 'jnp.linspace(-4.0, 4.0, 17)')}\n"
        f"  >>> d = jaxact.derivatives.{name}(x{_EXAMPLE_ARGS.get(name, '')})\n"
        f"  >>> f = lambda v: jaxact.{name}(v{_EXAMPLE_ARGS.get(name, '')})\n"
        "  >>> g = jax.vmap(jax.grad(f))(x)\n"
        "  >>> bool(jnp.array_equal(d, g))\n"
        "  True\n"
    )
    return derivative


celu = _public("celu", _ew.celu, _ew.celu.derivative)
elu = _public("elu", _ew.elu, _ew.elu.derivative)
gelu = _public("gelu", _ew.gelu, _ew.gelu.derivative)
hard_shrink = _public("hard_shrink", _ew.hard_shrink, _ew.hard_shrink.derivative)
hard_sigmoid = _public("hard_sigmoid", _ew.hard_sigmoid, _ew.hard_sigmoid.derivative)
hard_silu = _public("hard_silu", _ew.hard_silu, _ew.hard_silu.derivative)
hard_swish = _public("hard_swish", _ew.hard_swish, _ew.hard_swish.derivative)
hard_tanh = _public("hard_tanh", _ew.hard_tanh, _ew.hard_tanh.derivative)
identity = _public("identity", _ew.identity, _ew.identity.derivative)
leaky_relu = _public("leaky_relu", _ew.leaky_relu, _ew.leaky_relu_derivative)
log1mexp = _public("log1mexp", _ew.log1mexp, _ew.log1mexp.derivative)
log_sigmoid = _public("log_sigmoid", _ew.log_sigmoid, _ew.log_sigmoid.derivative)
mish = _public("mish", _ew.mish, _ew.mish.derivative)
prelu = _public("prelu", _ew.prelu, _ew.prelu_derivative)
quick_gelu = _public("quick_gelu", _ew.quick_gelu, _ew.quick_gelu.derivative)
relu = _public("relu", _ew.relu, _ew.relu.derivative)
relu6 = _public("relu6", _ew.relu6, _ew.relu6.derivative)
relu_squared = _public("relu_squared", _ew.relu_squared, _ew.relu_squared.derivative)
selu = _public("selu", _ew.selu, _ew.selu.derivative)
sigmoid = _public("sigmoid", _ew.sigmoid, _ew.sigmoid.derivative)
silu = _public("silu", _ew.silu, _ew.silu.derivative)
soft_shrink = _public("soft_shrink", _ew.soft_shrink, _ew.soft_shrink.derivative)
soft_sign = _public("soft_sign", _ew.soft_sign, _ew.soft_sign.derivative)
softplus = _public("softplus", _ew.softplus, _ew.softplus.derivative)
sparse_plus = _public("sparse_plus", _ew.sparse_plus, _ew.sparse_plus.derivative)
sparse_sigmoid = _public("sparse_sigmoid", _ew.sparse_sigmoid, _ew.sparse_sigmoid.derivative)
squareplus = _public("squareplus", _ew.squareplus, _ew.squareplus.derivative)
swish = _public("swish", _ew.swish, _ew.swish.derivative)
tanh = _public("tanh", _ew.tanh, _ew.tanh.derivative)
tanh_shrink = _public("tanh_shrink", _ew.tanh_shrink, _ew.tanh_shrink.derivative)
threshold = _public("threshold", _ew.threshold, _ew.threshold.derivative)
xielu = _public("xielu", _ew.xielu, _ew.xielu.derivative)

__all__ = [
    "celu",
    "elu",
    "gelu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "identity",
    "leaky_relu",
    "log1mexp",
    "log_sigmoid",
    "mish",
    "prelu",
    "quick_gelu",
    "relu",
    "relu6",
    "relu_squared",
    "selu",
    "sigmoid",
    "silu",
    "soft_shrink",
    "soft_sign",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
    "threshold",
    "xielu",
]
_ELEMENTWISE = tuple(__all__)
# The derivative functions are built in jaxact._src: register their docstrings here so the
# doctest run covers them.
__test__ = {name: globals()[name].__doc__ for name in _ELEMENTWISE}

__all__ += [
    "entmax15_jvp",
    "glu_jvp",
    "log_softmax_jvp",
    "logsumexp_jvp",
    "softmax_jacobian",
    "softmax_jvp",
    "softmin_jvp",
    "sparsemax_jvp",
]
