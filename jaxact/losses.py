"""Losses over softmax-family outputs, each with an analytic rule: cross-entropy (optax's
signatures), the fused language-model head, and the Fenchel-Young losses of sparsemax and
alpha-entmax.

``from jaxact import losses``; see each function's docstring.
"""

from jaxact._src.fused_head import linear_softmax_cross_entropy as linear_softmax_cross_entropy
from jaxact._src.losses import entmax_loss as entmax_loss
from jaxact._src.losses import softmax_cross_entropy as softmax_cross_entropy
from jaxact._src.losses import (
    softmax_cross_entropy_with_integer_labels as softmax_cross_entropy_with_integer_labels,
)
from jaxact._src.losses import sparsemax_loss as sparsemax_loss

__all__ = [
    "entmax_loss",
    "linear_softmax_cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "sparsemax_loss",
]
