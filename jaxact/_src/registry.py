"""The registry: one entry per activation, driving the shared tests and ``python -m jaxact``.

Each entry holds the jaxact function, a plain textbook reference formula (differentiated
with ``jax.grad`` in the tests), float64 truths for the value and the derivative that stay
accurate over the whole float32 range (checked against mpmath in the tests), the domain of
smooth points, the kinks with the derivative taken there, and the ``jax.nn`` counterpart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array
from jax.scipy.special import expit

import jaxact

Fn = Callable[..., Array]


@dataclass(frozen=True)
class Spec:
    """One activation as the tests see it.

    ``kind`` is ``"elementwise"`` or ``"normalizer"`` (softmax family: ``fn`` acts on rows
    along the last axis; the ulp harness then uses ``slice_fn``, the function of one logit
    ``x`` in the row ``[x, 0]``, whose truths are given).
    """

    name: str
    fn: Fn
    reference: Fn
    truth: Fn
    truth_derivative: Fn
    params: dict[str, float] = field(default_factory=dict)
    domain: tuple[float, float] = (-8.0, 8.0)
    kinks: tuple[tuple[float, float], ...] = ()
    jax_nn: Fn | None = None
    kind: str = "elementwise"
    slice_fn: Fn | None = None
    # The softmax-family JVP s*(t - <s,t>) cancels when one probability nears 1 (as in
    # jax.nn); for those the derivative is checked to an absolute bound in eps, not in ulps.
    derivative_abs: bool = False
    # mpmath formula of the value (of the slice, for normalizers), given the mpmath module
    # and an mpf: the tests check the truths against it (mpmath is a test dependency only).
    mp: Callable[[Any, Any], Any] | None = None
    # What reverse mode may keep: "mask" (one boolean array) or "array" (one array).
    residual: str = "array"

    @property
    def bound(self) -> Fn:
        """The jaxact function with the test parameters bound."""
        return functools.partial(self.fn, **self.params) if self.params else self.fn

    @property
    def bound_reference(self) -> Fn:
        return functools.partial(self.reference, **self.params) if self.params else self.reference

    @property
    def bound_jax_nn(self) -> Fn | None:
        if self.jax_nn is None:
            return None
        return functools.partial(self.jax_nn, **self.params) if self.params else self.jax_nn

    @property
    def scalar_fn(self) -> Fn:
        """A function of an array of scalars for the ulp harness."""
        return self.slice_fn if self.slice_fn is not None else self.bound

    @property
    def jax_nn_scalar_fn(self) -> Fn | None:
        """jax.nn's counterpart as a function of scalars (sliced like ``scalar_fn``)."""
        fn = self.bound_jax_nn
        if fn is None or self.kind == "elementwise":
            return fn
        return _slice(fn)

    @property
    def derivative(self) -> Fn | None:
        """The public analytic derivative (elementwise entries), params bound."""
        d = getattr(jaxact.derivatives, self.name, None)
        if d is None or self.kind != "elementwise":
            return None
        return functools.partial(d, **self.params) if self.params else d


def _row(x: Array) -> Array:
    return jnp.stack([x, jnp.zeros_like(x)], axis=-1)


def _slice(fn: Fn) -> Fn:
    """x -> fn([x, 0])[0]: a normalizer seen as a function of one logit."""
    return lambda x: fn(_row(x))[..., 0]


def _where_pos(x: Array, a: Any, b: Any) -> Array:
    return jnp.where(x > 0, a, b).astype(x.dtype)


# --------------------------------------------------------------- plain reference formulas
# Textbook forms, as a user would write them; jax.grad of these is the derivative reference.


def _ref_sigmoid(x: Array) -> Array:
    return 1 / (1 + jnp.exp(-x))


def _ref_relu(x: Array) -> Array:
    return jnp.where(x > 0, x, 0.0)


def _ref_leaky_relu(x: Array, negative_slope: float = 0.01) -> Array:
    return jnp.where(x > 0, x, negative_slope * x)


def _ref_softmax(x: Array) -> Array:
    e = jnp.exp(x - jax.lax.stop_gradient(x.max(-1, keepdims=True)))
    return e / e.sum(-1, keepdims=True)


REGISTRY: tuple[Spec, ...] = (
    Spec(
        name="sigmoid",
        fn=jaxact.sigmoid,
        reference=_ref_sigmoid,
        truth=expit,
        truth_derivative=lambda x: expit(x) * expit(-x),
        jax_nn=jax.nn.sigmoid,
        mp=lambda m, x: 1 / (1 + m.exp(-x)),
    ),
    Spec(
        name="relu",
        fn=jaxact.relu,
        reference=_ref_relu,
        truth=lambda x: jnp.maximum(x, 0.0),
        truth_derivative=lambda x: _where_pos(x, 1.0, 0.0),
        kinks=((0.0, 0.0),),
        jax_nn=jax.nn.relu,
        mp=lambda m, x: max(x, 0),
        residual="mask",
    ),
    Spec(
        name="leaky_relu",
        fn=jaxact.leaky_relu,
        reference=_ref_leaky_relu,
        truth=lambda x: jnp.where(x > 0, x, 0.01 * x),
        truth_derivative=lambda x: _where_pos(x, 1.0, 0.01),
        params={"negative_slope": 0.01},
        kinks=((0.0, 0.01),),
        jax_nn=jax.nn.leaky_relu,
        mp=lambda m, x: x if x > 0 else m.mpf("0.01") * x,
        residual="mask",
    ),
    Spec(
        name="softmax",
        fn=jaxact.softmax,
        reference=_ref_softmax,
        truth=expit,
        truth_derivative=lambda x: expit(x) * expit(-x),
        jax_nn=jax.nn.softmax,
        kind="normalizer",
        slice_fn=_slice(jaxact.softmax),
        derivative_abs=True,
        mp=lambda m, x: 1 / (1 + m.exp(-x)),
    ),
)

BY_NAME: dict[str, Spec] = {s.name: s for s in REGISTRY}
