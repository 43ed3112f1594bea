"""Flax NNX modules for activations with learnable parameters.

Optional: needs ``flax`` (``pip install "jaxact[flax]"``). Each module holds its
parameters as ``nnx.Param`` and calls the jaxact function, so the analytic derivatives reach
the parameters.

Examples:
  >>> from flax import nnx
  >>> act = jaxact.nnx.PReLU(3)
  >>> act(jnp.array([[-1.0, 2.0, -4.0]]))
  Array([[-0.25,  2.  , -1.  ]], dtype=float32)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

try:
    from flax import nnx
except ImportError as e:  # pragma: no cover - exercised only without flax
    raise ImportError(
        "jaxact.nnx needs flax: pip install 'jaxact[flax]' (or pip install flax)"
    ) from e

import jaxact

__all__ = ["XIELU", "PReLU", "Swish"]


def _inverse_softplus(y: float) -> float:
    return float(jnp.log(jnp.expm1(jnp.asarray(y, jnp.float32))))


class PReLU(nnx.Module):
    r"""Parametric ReLU with one learnable slope per channel (the last axis).

    .. math:: y = x \text{ if } x > 0 \text{ else } a_c x

    Args:
      num_channels: size of the last axis of the inputs (1 for a single shared slope).
      init: initial slope (PyTorch's default 0.25).
      dtype: parameter dtype.
    """

    def __init__(self, num_channels: int = 1, init: float = 0.25, dtype: jnp.dtype = jnp.float32):
        self.slope = nnx.Param(jnp.full((num_channels,), init, dtype))

    def __call__(self, x: ArrayLike) -> Array:
        return jaxact.prelu(x, self.slope[...])


class Swish(nnx.Module):
    r"""Swish with a learnable :math:`\beta`: :math:`x\,\sigma(\beta x)`.

    Args:
      init: initial :math:`\beta` (1 gives SiLU).
      dtype: parameter dtype.
    """

    def __init__(self, init: float = 1.0, dtype: jnp.dtype = jnp.float32):
        self.beta = nnx.Param(jnp.asarray(init, dtype))

    def __call__(self, x: ArrayLike) -> Array:
        return jaxact.silu(x, self.beta[...])


class XIELU(nnx.Module):
    r"""xIELU with learnable :math:`\alpha_p, \alpha_n` (the Apertus parameterization).

    The raw parameters pass through softplus, so :math:`\alpha_p > 0` and :math:`\alpha_n >
    \beta`, as in the Apertus models: :math:`\alpha_p = \mathrm{softplus}(a_p)`,
    :math:`\alpha_n = \beta + \mathrm{softplus}(a_n)`; :math:`\beta` is fixed.

    Args:
      alpha_p_init: initial :math:`\alpha_p` (0.8).
      alpha_n_init: initial :math:`\alpha_n` (0.8).
      beta: the fixed :math:`\beta` (0.5).
      dtype: parameter dtype.
    """

    def __init__(
        self,
        alpha_p_init: float = 0.8,
        alpha_n_init: float = 0.8,
        beta: float = 0.5,
        dtype: jnp.dtype = jnp.float32,
    ):
        if not alpha_p_init > 0:
            raise ValueError(f"XIELU: alpha_p_init must be > 0, got {alpha_p_init}")
        if not alpha_n_init > beta:
            raise ValueError(f"XIELU: alpha_n_init must exceed beta ({beta}), got {alpha_n_init}")
        self.alpha_p = nnx.Param(jnp.asarray(_inverse_softplus(alpha_p_init), dtype))
        self.alpha_n = nnx.Param(jnp.asarray(_inverse_softplus(alpha_n_init - beta), dtype))
        self.beta = beta

    def coefficients(self) -> tuple[Array, Array]:
        """The effective :math:`(\\alpha_p, \\alpha_n)`."""
        ap = jax.nn.softplus(self.alpha_p[...])
        an = self.beta + jax.nn.softplus(self.alpha_n[...])
        return ap, an

    def __call__(self, x: ArrayLike) -> Array:
        ap, an = self.coefficients()
        return jaxact.xielu(x, ap, an, self.beta)
