"""jaxact: JAX activation functions with analytic, tail-exact ``custom_jvp`` derivatives."""

from jaxact import derivatives as derivatives
from jaxact import losses as losses
from jaxact import testing as testing
from jaxact._src.core import Activation as Activation
from jaxact._src.core import Select as Select
from jaxact._src.core import activation as activation
from jaxact._src.entmax import entmax as entmax
from jaxact._src.exponential import celu as celu
from jaxact._src.exponential import elu as elu
from jaxact._src.exponential import log1mexp as log1mexp
from jaxact._src.exponential import selu as selu
from jaxact._src.exponential import xielu as xielu
from jaxact._src.facts import Kink as Kink
from jaxact._src.gated import clamped_swiglu as clamped_swiglu
from jaxact._src.gated import clamped_swiglu_pair as clamped_swiglu_pair
from jaxact._src.gated import geglu as geglu
from jaxact._src.gated import geglu_pair as geglu_pair
from jaxact._src.gated import reglu as reglu
from jaxact._src.gated import reglu_pair as reglu_pair
from jaxact._src.gated import swiglu as swiglu
from jaxact._src.gated import swiglu_pair as swiglu_pair
from jaxact._src.gelu import gelu as gelu
from jaxact._src.logsumexp import logmeanexp as logmeanexp
from jaxact._src.logsumexp import logsumexp as logsumexp
from jaxact._src.rectifiers import hard_shrink as hard_shrink
from jaxact._src.rectifiers import hard_sigmoid as hard_sigmoid
from jaxact._src.rectifiers import hard_silu as hard_silu
from jaxact._src.rectifiers import hard_swish as hard_swish
from jaxact._src.rectifiers import hard_tanh as hard_tanh
from jaxact._src.rectifiers import leaky_relu as leaky_relu
from jaxact._src.rectifiers import prelu as prelu
from jaxact._src.rectifiers import relu as relu
from jaxact._src.rectifiers import relu6 as relu6
from jaxact._src.rectifiers import relu_squared as relu_squared
from jaxact._src.rectifiers import soft_shrink as soft_shrink
from jaxact._src.rectifiers import sparse_plus as sparse_plus
from jaxact._src.rectifiers import sparse_sigmoid as sparse_sigmoid
from jaxact._src.rectifiers import threshold as threshold
from jaxact._src.sigmoid_family import glu as glu
from jaxact._src.sigmoid_family import log_sigmoid as log_sigmoid
from jaxact._src.sigmoid_family import mish as mish
from jaxact._src.sigmoid_family import quick_gelu as quick_gelu
from jaxact._src.sigmoid_family import sigmoid as sigmoid
from jaxact._src.sigmoid_family import silu as silu
from jaxact._src.sigmoid_family import softplus as softplus
from jaxact._src.sigmoid_family import swish as swish
from jaxact._src.softmax import log_softmax as log_softmax
from jaxact._src.softmax import softmax as softmax
from jaxact._src.softmax import softmin as softmin
from jaxact._src.sparse import entmax15 as entmax15
from jaxact._src.sparse import sparsemax as sparsemax
from jaxact._src.tanh_family import identity as identity
from jaxact._src.tanh_family import soft_sign as soft_sign
from jaxact._src.tanh_family import squareplus as squareplus
from jaxact._src.tanh_family import tanh as tanh
from jaxact._src.tanh_family import tanh_shrink as tanh_shrink

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "Kink",
    "Select",
    "activation",
    "celu",
    "clamped_swiglu",
    "clamped_swiglu_pair",
    "derivatives",
    "elu",
    "entmax",
    "entmax15",
    "geglu",
    "geglu_pair",
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
    "logmeanexp",
    "logsumexp",
    "losses",
    "mish",
    "prelu",
    "quick_gelu",
    "reglu",
    "reglu_pair",
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
    "swiglu",
    "swiglu_pair",
    "swish",
    "tanh",
    "tanh_shrink",
    "testing",
    "threshold",
    "xielu",
]


def __getattr__(name: str) -> object:
    """``jaxact.nnx`` after a plain ``import jaxact`` (imported on first use, so jaxact itself
    imports without Flax)."""
    if name == "nnx":
        import importlib

        try:
            return importlib.import_module("jaxact.nnx")
        except ImportError as e:
            raise AttributeError(
                f"jaxact.nnx needs Flax ({e}); install it with pip install 'jaxact[flax]'"
            ) from e
    raise AttributeError(f"module 'jaxact' has no attribute {name!r}")
