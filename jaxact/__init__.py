"""jaxact: JAX activation functions with analytic, tail-exact ``custom_jvp`` derivatives."""

from jaxact import derivatives as derivatives
from jaxact import testing as testing
from jaxact._src.core import Select as Select
from jaxact._src.core import activation as activation
from jaxact._src.elementwise import leaky_relu as leaky_relu
from jaxact._src.elementwise import relu as relu
from jaxact._src.elementwise import sigmoid as sigmoid
from jaxact._src.softmax import softmax as softmax

__version__ = "0.1.0"

__all__ = [
    "Select",
    "activation",
    "derivatives",
    "leaky_relu",
    "relu",
    "sigmoid",
    "softmax",
    "testing",
]
