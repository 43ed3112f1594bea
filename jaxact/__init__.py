"""jaxact: JAX activation functions with analytic, tail-exact ``custom_jvp`` derivatives."""

from jaxact import derivatives as derivatives
from jaxact import testing as testing
from jaxact._src.core import Select as Select
from jaxact._src.core import activation as activation
from jaxact._src.elementwise import celu as celu
from jaxact._src.elementwise import elu as elu
from jaxact._src.elementwise import gelu as gelu
from jaxact._src.elementwise import glu as glu
from jaxact._src.elementwise import hard_shrink as hard_shrink
from jaxact._src.elementwise import hard_sigmoid as hard_sigmoid
from jaxact._src.elementwise import hard_silu as hard_silu
from jaxact._src.elementwise import hard_swish as hard_swish
from jaxact._src.elementwise import hard_tanh as hard_tanh
from jaxact._src.elementwise import identity as identity
from jaxact._src.elementwise import leaky_relu as leaky_relu
from jaxact._src.elementwise import log1mexp as log1mexp
from jaxact._src.elementwise import log_sigmoid as log_sigmoid
from jaxact._src.elementwise import mish as mish
from jaxact._src.elementwise import prelu as prelu
from jaxact._src.elementwise import quick_gelu as quick_gelu
from jaxact._src.elementwise import relu as relu
from jaxact._src.elementwise import relu6 as relu6
from jaxact._src.elementwise import relu_squared as relu_squared
from jaxact._src.elementwise import selu as selu
from jaxact._src.elementwise import sigmoid as sigmoid
from jaxact._src.elementwise import silu as silu
from jaxact._src.elementwise import soft_shrink as soft_shrink
from jaxact._src.elementwise import soft_sign as soft_sign
from jaxact._src.elementwise import softplus as softplus
from jaxact._src.elementwise import sparse_plus as sparse_plus
from jaxact._src.elementwise import sparse_sigmoid as sparse_sigmoid
from jaxact._src.elementwise import squareplus as squareplus
from jaxact._src.elementwise import swish as swish
from jaxact._src.elementwise import tanh as tanh
from jaxact._src.elementwise import tanh_shrink as tanh_shrink
from jaxact._src.elementwise import threshold as threshold
from jaxact._src.elementwise import xielu as xielu
from jaxact._src.softmax import log_softmax as log_softmax
from jaxact._src.softmax import logsumexp as logsumexp
from jaxact._src.softmax import softmax as softmax
from jaxact._src.softmax import softmin as softmin
from jaxact._src.sparse import entmax15 as entmax15
from jaxact._src.sparse import sparsemax as sparsemax

__version__ = "0.1.0"

__all__ = [
    "Select",
    "activation",
    "celu",
    "derivatives",
    "elu",
    "entmax15",
    "gelu",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "identity",
    "leaky_relu",
    "log1mexp",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
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
    "softmax",
    "softmin",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
    "testing",
    "threshold",
    "xielu",
]
