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

from typing import Any

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
from jaxact._src.gated_block import DEFAULT_CHUNKS, UNITS, gated_mlp

__all__ = ["XIELU", "Entmax", "GatedMLP", "PReLU", "Swish", "gated_mlp"]


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


class GatedMLP(nnx.Module):
    r"""A transformer's gated MLP block: :math:`W_{out}\,\mathrm{unit}(W_{in} x)`.

    ``unit`` is one of ``"swiglu"`` (LLaMA, Mistral, Qwen), ``"geglu"`` (Gemma; tanh form),
    ``"geglu_exact"`` (erf form), ``"reglu"`` or ``"clamped_swiglu"`` (GPT-OSS). With
    ``fused=True`` one in-projection of width ``2 * hidden`` is split into value and gate
    (:func:`jaxact.swiglu`); with ``fused=False`` separate ``up`` and ``gate`` projections
    feed the two-input form (:func:`jaxact.swiglu_pair`), as in models that keep ``W_up`` and
    ``W_gate`` apart.

    By default the block runs as :func:`gated_mlp`, one ``jax.custom_vjp`` whose reverse mode
    keeps the input and the in-projection's output only and forms the hidden-sized gradients
    a row chunk at a time (a third less train-step memory than the jax.nn composition, at its
    step time). That is reverse mode only; ``low_memory=False`` composes the projections and
    the unit instead, for forward-mode autodiff (``jax.jvp``, ``jax.hessian``).

    Args:
      features: model width (input and output).
      hidden: hidden width.
      unit: the gated unit's name.
      fused: one in-projection (True) or two (False).
      use_bias: biases in the projections.
      low_memory: run as :func:`gated_mlp` (True) or as a composition (False).
      chunks: row chunks of :func:`gated_mlp`'s backward pass.
      dtype: the computation dtype, as ``nnx.Linear``'s: the input, kernels and biases are
        cast to it (None: their own promotion).
      param_dtype: the parameters' dtype, as ``nnx.Linear``'s (float32).
      rngs: Flax random streams.

    Examples:
      >>> from flax import nnx
      >>> block = jaxact.nnx.GatedMLP(8, 16, "swiglu", rngs=nnx.Rngs(0))
      >>> block(jnp.ones((2, 8))).shape
      (2, 8)
    """

    def __init__(
        self,
        features: int,
        hidden: int,
        unit: str = "swiglu",
        *,
        fused: bool = True,
        use_bias: bool = False,
        low_memory: bool = True,
        chunks: int = DEFAULT_CHUNKS,
        dtype: Any = None,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        if unit not in UNITS:
            raise ValueError(f"GatedMLP: unknown unit {unit!r}; choose one of {sorted(UNITS)}")
        self.unit = unit
        self.fused = fused
        self.low_memory = low_memory
        self.chunks = chunks
        self.dtype = dtype

        def linear(n_in: int, n_out: int) -> nnx.Linear:
            return nnx.Linear(
                n_in, n_out, use_bias=use_bias, dtype=dtype, param_dtype=param_dtype, rngs=rngs
            )

        if fused:
            self.w_in = linear(features, 2 * hidden)
        else:
            self.w_up = linear(features, hidden)
            self.w_gate = linear(features, hidden)
        self.w_out = linear(hidden, features)

    def __call__(self, x: ArrayLike) -> Array:
        xa = self._cast(jnp.asarray(x))
        if not self.low_memory:
            unit = UNITS[self.unit][0]
            if self.fused:
                h = unit(*jnp.split(self.w_in(xa), 2, axis=-1))
            else:
                h = unit(self.w_up(xa), self.w_gate(xa))
            return self.w_out(h)
        first = self.w_in if self.fused else self.w_up
        gate = None if self.fused else self.w_gate
        c = self._cast
        return gated_mlp(
            xa,
            c(first.kernel[...]),
            c(self.w_out.kernel[...]),
            unit=self.unit,
            w_gate=None if gate is None else c(gate.kernel[...]),
            b_in=c(_bias(first)),
            b_gate=None if gate is None else c(_bias(gate)),
            b_out=c(_bias(self.w_out)),
            chunks=self.chunks,
        )

    def _cast(self, a: Any) -> Any:
        """``a`` in the computation dtype (as nnx.Linear casts), if one is set."""
        return a if a is None or self.dtype is None else a.astype(self.dtype)


def _bias(layer: nnx.Linear) -> Array | None:
    return None if layer.bias is None else layer.bias[...]


class Entmax(nnx.Module):
    r"""alpha-entmax with a learnable :math:`\alpha > 1` (Correia et al. 2019, adaptively
    sparse attention): :math:`\alpha = 1 + \mathrm{softplus}(a)`.

    Args:
      shape: the shape of :math:`\alpha`, broadcastable against the inputs with size 1 along
        ``axis`` (``(H, 1, 1)``: one per head of ``(B, H, T, T)`` scores; ``()``: one).
      init: initial :math:`\alpha` (1.5).
      axis: the axis to normalize over.
      dtype: parameter dtype.

    Examples:
      >>> from flax import nnx
      >>> attn = jaxact.nnx.Entmax((2, 1, 1), init=2.0)
      >>> attn(jnp.array([[[1.0, 1.0, -5.0]], [[0.0, 0.0, 0.0]]])).round(3)
      Array([[[0.5  , 0.5  , 0.   ]],
      <BLANKLINE>
             [[0.333, 0.333, 0.333]]], dtype=float32)
    """

    def __init__(
        self,
        shape: tuple[int, ...] = (),
        init: float = 1.5,
        axis: int = -1,
        dtype: jnp.dtype = jnp.float32,
    ):
        if not init > 1:
            raise ValueError(f"Entmax: init must be > 1, got {init}")
        self.raw_alpha = nnx.Param(jnp.full(shape, _inverse_softplus(init - 1), dtype))
        self.axis = axis

    def alpha(self) -> Array:
        """The effective :math:`\alpha`."""
        return 1 + jax.nn.softplus(self.raw_alpha[...])

    def __call__(self, x: ArrayLike, where: ArrayLike | None = None) -> Array:
        return jaxact.entmax(x, self.alpha(), axis=self.axis, where=where)
