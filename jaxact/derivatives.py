"""Analytic derivatives of jaxact's activations, one per activation, under the same names.

For an elementwise activation ``f``, ``jaxact.derivatives.f(x, ...)`` is :math:`f'(x)`
(same arguments, same shape as ``x``): the function its ``custom_jvp`` rule is built from,
``f.derivative``, documented once where ``f`` is defined. For the row functions there are
the JVPs (``NAME_jvp``) and the softmax Jacobian.
"""

from jaxact._src import exponential as _exponential
from jaxact._src import gelu as _gelu
from jaxact._src import rectifiers as _rectifiers
from jaxact._src import sigmoid_family as _sigmoid
from jaxact._src import tanh_family as _tanh
from jaxact._src.entmax import entmax_jvp as entmax_jvp
from jaxact._src.gated import clamped_swiglu_jvp as clamped_swiglu_jvp
from jaxact._src.gated import geglu_jvp as geglu_jvp
from jaxact._src.gated import reglu_jvp as reglu_jvp
from jaxact._src.gated import swiglu_jvp as swiglu_jvp
from jaxact._src.logsumexp import logmeanexp_jvp as logmeanexp_jvp
from jaxact._src.logsumexp import logsumexp_jvp as logsumexp_jvp
from jaxact._src.rectifiers import leaky_relu_derivative as leaky_relu
from jaxact._src.rectifiers import prelu_derivative as prelu
from jaxact._src.sigmoid_family import glu_jvp as glu_jvp
from jaxact._src.softmax import log_softmax_jvp as log_softmax_jvp
from jaxact._src.softmax import softmax_jacobian as softmax_jacobian
from jaxact._src.softmax import softmax_jvp as softmax_jvp
from jaxact._src.softmax import softmin_jvp as softmin_jvp
from jaxact._src.sparse import entmax15_jvp as entmax15_jvp
from jaxact._src.sparse import sparsemax_jvp as sparsemax_jvp

celu = _exponential.celu.derivative
elu = _exponential.elu.derivative
gelu = _gelu.gelu.derivative
hard_shrink = _rectifiers.hard_shrink.derivative
hard_sigmoid = _rectifiers.hard_sigmoid.derivative
hard_silu = _rectifiers.hard_silu.derivative
hard_swish = hard_silu
hard_tanh = _rectifiers.hard_tanh.derivative
identity = _tanh.identity.derivative
log1mexp = _exponential.log1mexp.derivative
log_sigmoid = _sigmoid.log_sigmoid.derivative
mish = _sigmoid.mish.derivative
quick_gelu = _sigmoid.quick_gelu.derivative
relu = _rectifiers.relu.derivative
relu6 = _rectifiers.relu6.derivative
relu_squared = _rectifiers.relu_squared.derivative
selu = _exponential.selu.derivative
sigmoid = _sigmoid.sigmoid.derivative
silu = _sigmoid.silu.derivative
soft_shrink = _rectifiers.soft_shrink.derivative
soft_sign = _tanh.soft_sign.derivative
softplus = _sigmoid.softplus.derivative
sparse_plus = _rectifiers.sparse_plus.derivative
sparse_sigmoid = _rectifiers.sparse_sigmoid.derivative
squareplus = _tanh.squareplus.derivative
swish = silu
tanh = _tanh.tanh.derivative
tanh_shrink = _tanh.tanh_shrink.derivative
threshold = _rectifiers.threshold.derivative
xielu = _exponential.xielu.derivative

__all__ = [
    "celu",
    "clamped_swiglu_jvp",
    "elu",
    "entmax15_jvp",
    "entmax_jvp",
    "geglu_jvp",
    "gelu",
    "glu_jvp",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "identity",
    "leaky_relu",
    "log1mexp",
    "log_sigmoid",
    "log_softmax_jvp",
    "logmeanexp_jvp",
    "logsumexp_jvp",
    "mish",
    "prelu",
    "quick_gelu",
    "reglu_jvp",
    "relu",
    "relu6",
    "relu_squared",
    "selu",
    "sigmoid",
    "silu",
    "soft_shrink",
    "soft_sign",
    "softmax_jacobian",
    "softmax_jvp",
    "softmin_jvp",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax_jvp",
    "squareplus",
    "swiglu_jvp",
    "swish",
    "tanh",
    "tanh_shrink",
    "threshold",
    "xielu",
]

# The derivative functions are made (and documented) in jaxact._src beside their
# activations; doctest collects module-level functions of their own module only, so their
# docstrings are listed here for the doctest run (each object once: swish is silu).
__test__ = {
    name: obj.__doc__
    for name, obj in list(globals().items())
    if name in __all__
    and name not in ("hard_swish", "swish")
    and not name.endswith("_jvp")
    and name != "softmax_jacobian"
}
