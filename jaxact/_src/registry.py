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
import numpy as np
from jax import Array
from jax.scipy.special import erf, erfc, expit

import jaxact
from jaxact._src.accuracy import UlpStats, measure

Fn = Callable[..., Any]

# The accuracy bounds (ulps of the output dtype where the truth is a normal number).
ULP_16 = 1.0  # bfloat16, float16: every finite input
F32_ULP = 4.0  # float32: 1e5 inputs over the finite range
ABS_EPS = 4.0  # absolute error in eps, for the JVPs (and sparse maps) that cancel by design


@dataclass(frozen=True)
class Spec:
    """One activation as the tests see it.

    ``kind`` is ``"elementwise"``, ``"normalizer"`` (acts on rows along the last axis, shape
    kept), ``"reduction"`` (reduces the last axis) or ``"gated"`` (halves the last axis).
    For the non-elementwise kinds the ulp harness uses a one-variable slice (``scalar_fn``):
    the function of ``x`` in the row ``[x, 0]`` (``[1, x]`` for gated: the gate), whose
    truths are given.
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
    # The softmax-family JVP s*(t - <s,t>) cancels when one probability nears 1 (as in
    # jax.nn); for those the derivative is checked to an absolute bound in eps, not in ulps.
    derivative_abs: bool = False
    # mpmath formula of the value (of the slice, for normalizers), given the mpmath module
    # and an mpf: the tests check the truths against it (mpmath is a test dependency only).
    mp: Callable[[Any, Any], Any] | None = None
    # What reverse mode may keep: "mask" (one boolean array), "array" (one array of the
    # input's size) or "none".
    residual: str = "array"
    # Sort-threshold normalizers (sparsemax, entmax15) cancel near the support boundary:
    # their values are checked to an absolute bound in eps as well.
    value_abs: bool = False
    # Points where f'' jumps: the second derivative there must be one of the one-sided
    # values (never a tie-split mix).
    kinks2: tuple[float, ...] = ()
    # Other public names of the same function (swish = silu).
    aliases: tuple[str, ...] = ()
    # Kinks of the one-variable slice of a non-elementwise function (left out of the
    # mpmath check, whose numerical derivative averages the two sides there).
    slice_kinks: tuple[float, ...] = ()
    # float32 (value, derivative) ulp bounds where 4 is out of reach, with the reason.
    f32_bounds: tuple[float, float] = (F32_ULP, F32_ULP)
    bound_note: str = ""

    def bounds(self, dtype_name: str) -> tuple[float, float]:
        """(value, derivative) bounds: ulps of the output dtype, or eps for absolute checks."""
        base = (ULP_16, ULP_16) if dtype_name in ("bfloat16", "float16") else self.f32_bounds
        return (
            ABS_EPS if self.value_abs else base[0],
            ABS_EPS if self.derivative_abs else base[1],
        )

    def measure(self, x: Any) -> tuple[UlpStats, UlpStats]:
        """Value and derivative error statistics at the inputs ``x`` (one dtype)."""
        v, d = measure(
            self.scalar_fn,
            self.truth,
            self.truth_derivative,
            x,
            self.derivative_abs,
            self.value_abs,
        )
        assert d is not None
        return v, d

    def accurate(self, dtype_name: str, v: UlpStats, d: UlpStats) -> bool:
        vb, db = self.bounds(dtype_name)
        return v.ok(vb) and d.ok(db)

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
        return _slice(self.bound, self.kind)

    @property
    def jax_nn_scalar_fn(self) -> Fn | None:
        """jax.nn's counterpart as a function of scalars (sliced like ``scalar_fn``)."""
        fn = self.bound_jax_nn
        return None if fn is None else _slice(fn, self.kind)

    @property
    def public_name(self) -> str:
        return self.fn.__name__

    @property
    def derivative(self) -> Fn | None:
        """The public analytic derivative (elementwise entries), params bound."""
        if self.kind != "elementwise":
            return None
        d = getattr(jaxact.derivatives, self.public_name)
        return functools.partial(d, **self.params) if self.params else d


def _slice(fn: Fn, kind: str) -> Fn:
    """A function of one variable: the function itself, or fn on the row [x, 0] ([x, x])."""
    if kind == "elementwise":
        return fn
    if kind == "gated":
        return lambda x: fn(jnp.stack([jnp.ones_like(x), x], axis=-1))[..., 0]
    if kind == "reduction":
        return lambda x: fn(jnp.stack([x, jnp.zeros_like(x)], axis=-1))
    return lambda x: fn(jnp.stack([x, jnp.zeros_like(x)], axis=-1))[..., 0]


_INF = jnp.inf


def _lim(x: Array, finite: Array, at_pos: float, at_neg: float) -> Array:
    """The finite-x formula, with the limits at +-inf (where it would give inf*0 = NaN)."""
    return jnp.where(x == _INF, at_pos, jnp.where(x == -_INF, at_neg, finite))


def _pw(x: Array, lo: float, hi: float, below: Any, mid: Any, above: Any) -> Array:
    """Piecewise: ``below`` for x <= lo, ``above`` for x >= hi, ``mid`` between."""
    return jnp.where(x <= lo, below, jnp.where(x >= hi, above, mid)).astype(x.dtype)


# ----------------------------------------------------------------- float64 truths
# Written independently of the implementations, in float64 (under jax_enable_x64), with the
# care float64 itself needs (series where a difference cancels); checked against mpmath.

_TAIL_NOTE = (
    "float32 left tail: the exponent's argument is rounded to float32 before exp, and a "
    "relative error of 2^-24 in z becomes |z| ulps in e^z (|z| up to ~87); bfloat16 and "
    "float16 are within 1 ulp everywhere"
)
_K_GELU = float(np.sqrt(2 / np.pi))
_INV_SQRT2 = float(1 / np.sqrt(2))
_SELU_L = 1.0507009873554804934193349852946
_SELU_A = 1.6732632423543772848170429916717
_SELU_LA = 1.7580993408473768  # lambda * alpha (mpmath), rounded once


def _gelu_tanh_truth(x: Array) -> tuple[Array, Array]:
    u2 = 2 * _K_GELU * (x + 0.044715 * x**3)
    du2 = 2 * _K_GELU * (1 + 3 * 0.044715 * x**2)
    v = _lim(x, x * expit(u2), _INF, 0.0)
    d = _lim(x, expit(u2) + x * du2 * expit(u2) * expit(-u2), 1.0, 0.0)
    return v, d


def _gelu_erf_truth(x: Array) -> tuple[Array, Array]:
    cdf = 0.5 * erfc(-x / np.sqrt(2))
    v = _lim(x, x * cdf, _INF, 0.0)
    d = _lim(x, cdf + x * jnp.exp(-0.5 * x * x) / np.sqrt(2 * np.pi), 1.0, 0.0)
    return v, d


def _mish_truth(x: Array) -> tuple[Array, Array]:
    sp = jnp.logaddexp(0.0, x)
    t = jnp.tanh(sp)
    v = _lim(x, x * t, _INF, 0.0)
    d = _lim(x, t + x * expit(x) / jnp.cosh(sp) ** 2, 1.0, 0.0)
    return v, d


def _swish_truth(k: float) -> tuple[Fn, Fn]:
    def v(x: Array) -> Array:
        return _lim(x, x * expit(k * x), _INF, 0.0)

    def d(x: Array) -> Array:
        return _lim(x, expit(k * x) + k * x * expit(k * x) * expit(-k * x), 1.0, 0.0)

    return v, d


def _expm1_minus_x_truth(x: Array) -> Array:
    small = x * x * (1 / 2 + x * (1 / 6 + x * (1 / 24 + x / 120)))
    return jnp.where(jnp.abs(x) < 1e-3, small, jnp.expm1(x) - x)


def _xielu_truth(x: Array) -> Array:
    neg = jnp.where(x > -1, 0.8 * _expm1_minus_x_truth(x) + 0.5 * x, 0.8 * jnp.expm1(x) - 0.3 * x)
    return jnp.where(x > 0, 0.8 * x * x + 0.5 * x, neg)


def _tanh_shrink_truth(x: Array) -> Array:
    x2 = x * x
    small = x * x2 * (1 / 3 + x2 * (-2 / 15 + x2 * (17 / 315)))
    return jnp.where(jnp.abs(x) < 1e-2, small, x - jnp.tanh(x))


def _squareplus_truth(x: Array) -> tuple[Array, Array]:
    r = jnp.sqrt(x * x + 4)
    v = jnp.where(x >= 0, (x + r) / 2, 2 / (r - x))
    d = jnp.where(x >= 0, _lim(x, (1 + x / r) / 2, 1.0, 0.0), 2 / (r * (r - x)))
    return v, d


def _log1mexp_truth(x: Array) -> tuple[Array, Array]:
    v = jnp.where(x < np.log(2), jnp.log(-jnp.expm1(-x)), jnp.log1p(-jnp.exp(-x)))
    d = jnp.where(x < 0, jnp.nan, jnp.where(x == 0, jnp.inf, 1 / jnp.expm1(x)))
    return v, d


def _entmax_slice_truth(x: Array) -> tuple[Array, Array]:
    """entmax15([x, 0])[0]: q^2 with q = (u + sqrt(2 - u^2))/2, u = x/2, for |u| < 1."""
    u = jnp.clip(x / 2, -1, 1)
    r = jnp.sqrt(2 - u * u)
    q = jnp.where(u >= 0, (u + r) / 2, (u * u - 1) / (u - r))
    v = _pw(x, -2.0, 2.0, 0.0, q * q, 1.0)
    d = _pw(x, -2.0, 2.0, 0.0, q * (1 - u * u) / (r * (r + u)), 0.0)
    return v, d


def _mp_entmax_slice(m: Any, x: Any) -> Any:
    if x <= -2:
        return m.mpf(0)
    if x >= 2:
        return m.mpf(1)
    u = x / 2
    return ((u + m.sqrt(2 - u * u)) / 2) ** 2


# ----------------------------------------------------------------- plain reference formulas
# Textbook forms, as a user would write them; jax.grad of these is the derivative reference.


def _ref_softmax(x: Array) -> Array:
    e = jnp.exp(x - jax.lax.stop_gradient(x.max(-1, keepdims=True)))
    return e / e.sum(-1, keepdims=True)


def _ref_sparsemax(x: Array) -> Array:
    zs = -jnp.sort(-x, axis=-1)
    k = jnp.arange(1, x.shape[-1] + 1, dtype=x.dtype).reshape((1,) * (x.ndim - 1) + (-1,))
    size = jnp.sum(1 + k * zs > jnp.cumsum(zs, axis=-1), axis=-1, keepdims=True)
    thresh = jnp.take_along_axis(zs, size - 1, axis=-1)
    support = jax.lax.stop_gradient(x >= thresh)
    tau = (jnp.sum(jnp.where(support, x, 0), -1, keepdims=True) - 1) / size.astype(x.dtype)
    return jnp.where(support, x - tau, 0)


def _ref_entmax15(x: Array) -> Array:
    z = x / 2
    zs = -jnp.sort(-z, axis=-1)
    k = jnp.arange(1, x.shape[-1] + 1, dtype=x.dtype).reshape((1,) * (x.ndim - 1) + (-1,))
    mean, mean_sq = jnp.cumsum(zs, -1) / k, jnp.cumsum(zs * zs, -1) / k
    tau_k = mean - jnp.sqrt(jnp.maximum((1 - k * (mean_sq - mean * mean)) / k, 0))
    size = jnp.sum(tau_k <= zs, axis=-1, keepdims=True)
    thresh = jnp.take_along_axis(zs, size - 1, axis=-1)
    support = jax.lax.stop_gradient(z >= thresh)
    n = size.astype(x.dtype)
    mu = jnp.sum(jnp.where(support, z, 0), -1, keepdims=True) / n
    var = jnp.sum(jnp.where(support, (z - mu) ** 2, 0), -1, keepdims=True)
    tau = mu - jnp.sqrt((1 - var) / n)
    return jnp.where(support, (z - tau) ** 2, 0)


def _ref_glu(x: Array) -> Array:
    a, b = jnp.split(x, 2, axis=-1)
    return a / (1 + jnp.exp(-b))


def _ref_gelu(x: Array, approximate: bool = True) -> Array:
    if approximate:
        return 0.5 * x * (1 + jnp.tanh(_K_GELU * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + erf(x * _INV_SQRT2))


def _ref_piecewise_linear(lo: float, hi: float, below: float, slope: float, above: float) -> Fn:
    def f(x: Array) -> Array:
        return jnp.where(x <= lo, below, jnp.where(x >= hi, above, below + slope * (x - lo)))

    return f


_sig_ref = lambda x: 1 / (1 + jnp.exp(-x))
_gt = lambda x, a, b: jnp.where(x > 0, a, b)

_gelu_t, _gelu_e, _mish, _squareplus, _log1mexp, _entmax = (
    _gelu_tanh_truth,
    _gelu_erf_truth,
    _mish_truth,
    _squareplus_truth,
    _log1mexp_truth,
    _entmax_slice_truth,
)
_silu_v, _silu_d = _swish_truth(1.0)
_qg_v, _qg_d = _swish_truth(1.702)


def _sparse_sigmoid_truth(x: Array) -> Array:
    return _pw(x, -1.0, 1.0, 0.0, (x + 1) / 2, 1.0)


def _sparse_sigmoid_d(x: Array) -> Array:
    return jnp.where((x > -1) & (x < 1), 0.5, 0.0).astype(x.dtype)


REGISTRY: tuple[Spec, ...] = (
    # ---------------------------------------------------------------- sigmoid family
    Spec(
        name="sigmoid",
        fn=jaxact.sigmoid,
        reference=_sig_ref,
        truth=expit,
        truth_derivative=lambda x: expit(x) * expit(-x),
        jax_nn=jax.nn.sigmoid,
        mp=lambda m, x: 1 / (1 + m.exp(-x)),
    ),
    Spec(
        name="log_sigmoid",
        fn=jaxact.log_sigmoid,
        reference=lambda x: -jnp.log(1 + jnp.exp(-x)),
        truth=lambda x: -jnp.logaddexp(0.0, -x),
        truth_derivative=lambda x: expit(-x),
        jax_nn=jax.nn.log_sigmoid,
        mp=lambda m, x: -m.log1p(m.exp(-x)),
    ),
    Spec(
        name="softplus",
        fn=jaxact.softplus,
        reference=lambda x: jnp.log(1 + jnp.exp(x)),
        truth=lambda x: jnp.logaddexp(0.0, x),
        truth_derivative=expit,
        jax_nn=jax.nn.softplus,
        mp=lambda m, x: m.log1p(m.exp(x)),
    ),
    Spec(
        name="silu",
        fn=jaxact.silu,
        reference=lambda x: x * _sig_ref(x),
        truth=_silu_v,
        truth_derivative=_silu_d,
        jax_nn=jax.nn.silu,
        mp=lambda m, x: x / (1 + m.exp(-x)),
        aliases=("swish",),
    ),
    Spec(
        name="quick_gelu",
        fn=jaxact.quick_gelu,
        reference=lambda x: x * _sig_ref(1.702 * x),
        truth=_qg_v,
        truth_derivative=_qg_d,
        mp=lambda m, x: x / (1 + m.exp(-m.mpf("1.702") * x)),
        f32_bounds=(80.0, 75.0),
        bound_note=_TAIL_NOTE,
    ),
    Spec(
        name="mish",
        fn=jaxact.mish,
        reference=lambda x: x * jnp.tanh(jnp.log(1 + jnp.exp(x))),
        truth=lambda x: _mish(x)[0],
        truth_derivative=lambda x: _mish(x)[1],
        jax_nn=jax.nn.mish,
        mp=lambda m, x: x * m.tanh(m.log1p(m.exp(x))),
    ),
    Spec(
        name="gelu",
        fn=jaxact.gelu,
        reference=_ref_gelu,
        truth=lambda x: _gelu_t(x)[0],
        truth_derivative=lambda x: _gelu_t(x)[1],
        params={"approximate": True},
        jax_nn=jax.nn.gelu,
        f32_bounds=(160.0, 110.0),
        bound_note=_TAIL_NOTE,
        mp=lambda m, x: x / (1 + m.exp(-2 * m.sqrt(2 / m.pi) * (x + m.mpf("0.044715") * x**3))),
    ),
    Spec(
        name="gelu_exact",
        fn=jaxact.gelu,
        reference=_ref_gelu,
        truth=lambda x: _gelu_e(x)[0],
        truth_derivative=lambda x: _gelu_e(x)[1],
        params={"approximate": False},
        jax_nn=jax.nn.gelu,
        f32_bounds=(75.0, 55.0),
        bound_note=_TAIL_NOTE + "; XLA's float32 erfc is itself up to 60 ulps off in its tail",
        mp=lambda m, x: x * m.ncdf(x),
    ),
    # ---------------------------------------------------------------- exponential units
    Spec(
        name="elu",
        fn=jaxact.elu,
        reference=lambda x, alpha: jnp.where(x > 0, x, alpha * (jnp.exp(x) - 1)),
        truth=lambda x: jnp.where(x > 0, x, 0.5 * jnp.expm1(x)),
        truth_derivative=lambda x: jnp.where(x > 0, 1.0, 0.5 * jnp.exp(x)),
        params={"alpha": 0.5},
        kinks=((0.0, 0.5),),
        kinks2=(0.0,),
        jax_nn=jax.nn.elu,
        mp=lambda m, x: x if x > 0 else m.mpf("0.5") * m.expm1(x),
    ),
    Spec(
        name="celu",
        fn=jaxact.celu,
        reference=lambda x, alpha: jnp.where(x > 0, x, alpha * (jnp.exp(x / alpha) - 1)),
        truth=lambda x: jnp.where(x > 0, x, 2 * jnp.expm1(x / 2)),
        truth_derivative=lambda x: jnp.where(x > 0, 1.0, jnp.exp(x / 2)),
        params={"alpha": 2.0},
        kinks=((0.0, 1.0),),
        kinks2=(0.0,),
        jax_nn=jax.nn.celu,
        mp=lambda m, x: x if x > 0 else 2 * m.expm1(x / 2),
    ),
    Spec(
        name="selu",
        fn=jaxact.selu,
        reference=lambda x: _SELU_L * jnp.where(x > 0, x, _SELU_A * (jnp.exp(x) - 1)),
        truth=lambda x: jnp.where(x > 0, _SELU_L * x, _SELU_LA * jnp.expm1(x)),
        truth_derivative=lambda x: jnp.where(x > 0, _SELU_L, _SELU_LA * jnp.exp(x)),
        kinks=((0.0, _SELU_LA),),
        kinks2=(0.0,),
        jax_nn=jax.nn.selu,
        mp=lambda m, x: (
            m.mpf("1.0507009873554804934193349852946")
            * (x if x > 0 else m.mpf("1.6732632423543772848170429916717") * m.expm1(x))
        ),
    ),
    Spec(
        name="xielu",
        fn=jaxact.xielu,
        reference=lambda x: jnp.where(
            x > 0, 0.8 * x * x + 0.5 * x, 0.8 * (jnp.exp(x) - 1 - x) + 0.5 * x
        ),
        truth=_xielu_truth,
        truth_derivative=lambda x: jnp.where(x > 0, 1.6 * x + 0.5, 0.8 * jnp.expm1(x) + 0.5),
        kinks=((0.0, 0.5),),
        kinks2=(0.0,),
        f32_bounds=(1600.0, 150.0),
        bound_note=(
            "float32 near the zeros of the value (x = -2.43) and of the derivative (x = -0.98) "
            "for the default parameters: their terms cancel there and the zeros move with the "
            "learnable parameters, so no fixed expansion applies; 16-bit is within 1 ulp"
        ),
        mp=lambda m, x: (
            m.mpf("0.8") * x * x + x / 2 if x > 0 else m.mpf("0.8") * (m.exp(x) - 1 - x) + x / 2
        ),
    ),
    # ---------------------------------------------------------------- rectifiers
    Spec(
        name="relu",
        fn=jaxact.relu,
        reference=lambda x: jnp.where(x > 0, x, 0.0),
        truth=lambda x: jnp.maximum(x, 0.0),
        truth_derivative=lambda x: _gt(x, 1.0, 0.0).astype(x.dtype),
        kinks=((0.0, 0.0),),
        jax_nn=jax.nn.relu,
        mp=lambda m, x: max(x, 0),
        residual="mask",
    ),
    Spec(
        name="relu6",
        fn=jaxact.relu6,
        reference=lambda x: jnp.where(x > 6, 6.0, jnp.where(x > 0, x, 0.0)),
        truth=lambda x: jnp.clip(x, 0.0, 6.0),
        truth_derivative=lambda x: jnp.where((x > 0) & (x < 6), 1.0, 0.0).astype(x.dtype),
        kinks=((0.0, 0.0), (6.0, 0.0)),
        jax_nn=jax.nn.relu6,
        mp=lambda m, x: min(max(x, 0), 6),
        residual="mask",
    ),
    Spec(
        name="relu_squared",
        fn=jaxact.relu_squared,
        reference=lambda x: jnp.where(x > 0, x * x, 0.0),
        truth=lambda x: jnp.where(x > 0, x * x, 0.0),
        truth_derivative=lambda x: jnp.where(x > 0, 2 * x, 0.0),
        kinks=((0.0, 0.0),),
        kinks2=(0.0,),
        mp=lambda m, x: max(x, 0) ** 2,
    ),
    Spec(
        name="leaky_relu",
        fn=jaxact.leaky_relu,
        reference=lambda x, negative_slope: jnp.where(x > 0, x, negative_slope * x),
        truth=lambda x: jnp.where(x > 0, x, 0.01 * x),
        truth_derivative=lambda x: _gt(x, 1.0, 0.01).astype(x.dtype),
        params={"negative_slope": 0.01},
        kinks=((0.0, 0.01),),
        jax_nn=jax.nn.leaky_relu,
        mp=lambda m, x: x if x > 0 else m.mpf("0.01") * x,
        residual="mask",
    ),
    Spec(
        name="prelu",
        fn=jaxact.prelu,
        reference=lambda x, slope: jnp.where(x > 0, x, slope * x),
        truth=lambda x: jnp.where(x > 0, x, 0.25 * x),
        truth_derivative=lambda x: _gt(x, 1.0, 0.25).astype(x.dtype),
        params={"slope": 0.25},
        kinks=((0.0, 0.25),),
        mp=lambda m, x: x if x > 0 else x / 4,
        residual="mask",
    ),
    # ---------------------------------------------------------------- hard functions
    Spec(
        name="hard_sigmoid",
        fn=jaxact.hard_sigmoid,
        reference=_ref_piecewise_linear(-3.0, 3.0, 0.0, 1 / 6, 1.0),
        truth=lambda x: _pw(x, -3.0, 3.0, 0.0, (x + 3) / 6, 1.0),
        truth_derivative=lambda x: jnp.where((x > -3) & (x < 3), 1 / 6, 0.0).astype(x.dtype),
        kinks=((-3.0, 0.0), (3.0, 0.0)),
        jax_nn=jax.nn.hard_sigmoid,
        mp=lambda m, x: min(max(x + 3, 0), 6) / 6,
        residual="mask",
    ),
    Spec(
        name="hard_silu",
        fn=jaxact.hard_silu,
        reference=lambda x: x * _ref_piecewise_linear(-3.0, 3.0, 0.0, 1 / 6, 1.0)(x),
        truth=lambda x: _pw(x, -3.0, 3.0, 0.0, x * (x + 3) / 6, x),
        truth_derivative=lambda x: _pw(x, -3.0, 3.0, 0.0, (2 * x + 3) / 6, 1.0),
        kinks=((-3.0, 0.0), (3.0, 1.0)),
        jax_nn=jax.nn.hard_silu,
        mp=lambda m, x: x * min(max(x + 3, 0), 6) / 6,
        aliases=("hard_swish",),
    ),
    Spec(
        name="hard_tanh",
        fn=jaxact.hard_tanh,
        reference=_ref_piecewise_linear(-1.0, 1.0, -1.0, 1.0, 1.0),
        truth=lambda x: jnp.clip(x, -1.0, 1.0),
        truth_derivative=lambda x: jnp.where(jnp.abs(x) < 1, 1.0, 0.0).astype(x.dtype),
        kinks=((-1.0, 0.0), (1.0, 0.0)),
        jax_nn=jax.nn.hard_tanh,
        mp=lambda m, x: min(max(x, -1), 1),
        residual="mask",
    ),
    # ---------------------------------------------------------------- tanh family
    Spec(
        name="tanh",
        fn=jaxact.tanh,
        reference=jnp.tanh,
        truth=jnp.tanh,
        truth_derivative=lambda x: 4 * expit(2 * x) * expit(-2 * x),
        jax_nn=jax.nn.tanh,
        mp=lambda m, x: m.tanh(x),
    ),
    Spec(
        name="tanh_shrink",
        fn=jaxact.tanh_shrink,
        reference=lambda x: x - jnp.tanh(x),
        truth=_tanh_shrink_truth,
        truth_derivative=lambda x: jnp.tanh(x) ** 2,
        mp=lambda m, x: x - m.tanh(x),
    ),
    Spec(
        name="soft_sign",
        fn=jaxact.soft_sign,
        reference=lambda x: x / (1 + jnp.abs(x)),
        truth=lambda x: _lim(x, x / (1 + jnp.abs(x)), 1.0, -1.0),
        truth_derivative=lambda x: 1 / (1 + jnp.abs(x)) ** 2,
        kinks2=(0.0,),
        jax_nn=jax.nn.soft_sign,
        mp=lambda m, x: x / (1 + abs(x)),
    ),
    Spec(
        name="squareplus",
        fn=jaxact.squareplus,
        reference=lambda x: (x + jnp.sqrt(x * x + 4)) / 2,
        truth=lambda x: _squareplus(x)[0],
        truth_derivative=lambda x: _squareplus(x)[1],
        jax_nn=jax.nn.squareplus,
        mp=lambda m, x: (x + m.sqrt(x * x + 4)) / 2,
    ),
    # ---------------------------------------------------------------- sparse
    Spec(
        name="sparse_plus",
        fn=jaxact.sparse_plus,
        reference=lambda x: jnp.where(x <= -1, 0.0, jnp.where(x >= 1, x, (x + 1) ** 2 / 4)),
        truth=lambda x: _pw(x, -1.0, 1.0, 0.0, (x + 1) ** 2 / 4, x),
        truth_derivative=_sparse_sigmoid_truth,
        kinks=((-1.0, 0.0), (1.0, 1.0)),
        kinks2=(-1.0, 1.0),
        jax_nn=jax.nn.sparse_plus,
        mp=lambda m, x: 0 if x <= -1 else (x if x >= 1 else (x + 1) ** 2 / 4),
    ),
    Spec(
        name="sparse_sigmoid",
        fn=jaxact.sparse_sigmoid,
        reference=_ref_piecewise_linear(-1.0, 1.0, 0.0, 0.5, 1.0),
        truth=_sparse_sigmoid_truth,
        truth_derivative=_sparse_sigmoid_d,
        kinks=((-1.0, 0.0), (1.0, 0.0)),
        jax_nn=jax.nn.sparse_sigmoid,
        mp=lambda m, x: 0 if x <= -1 else (1 if x >= 1 else (x + 1) / 2),
        residual="mask",
    ),
    # ---------------------------------------------------------------- shrinks, threshold
    Spec(
        name="hard_shrink",
        fn=jaxact.hard_shrink,
        reference=lambda x, lambd: jnp.where(jnp.abs(x) > lambd, x, 0.0),
        truth=lambda x: jnp.where(jnp.abs(x) > 0.5, x, 0.0),
        truth_derivative=lambda x: jnp.where(jnp.abs(x) > 0.5, 1.0, 0.0).astype(x.dtype),
        params={"lambd": 0.5},
        kinks=((-0.5, 0.0), (0.5, 0.0)),
        mp=lambda m, x: x if abs(x) > 0.5 else 0,
        residual="mask",
    ),
    Spec(
        name="soft_shrink",
        fn=jaxact.soft_shrink,
        reference=lambda x, lambd: jnp.where(
            x > lambd, x - lambd, jnp.where(x < -lambd, x + lambd, 0.0)
        ),
        truth=lambda x: jnp.where(x > 0.5, x - 0.5, jnp.where(x < -0.5, x + 0.5, 0.0)),
        truth_derivative=lambda x: jnp.where(jnp.abs(x) > 0.5, 1.0, 0.0).astype(x.dtype),
        params={"lambd": 0.5},
        kinks=((-0.5, 0.0), (0.5, 0.0)),
        mp=lambda m, x: x - m.mpf(0.5) if x > 0.5 else (x + m.mpf(0.5) if x < -0.5 else 0),
        residual="mask",
    ),
    Spec(
        name="threshold",
        fn=jaxact.threshold,
        reference=lambda x, threshold, value: jnp.where(x > threshold, x, value),
        truth=lambda x: jnp.where(x > 0.5, x, -1.0),
        truth_derivative=lambda x: jnp.where(x > 0.5, 1.0, 0.0).astype(x.dtype),
        params={"threshold": 0.5, "value": -1.0},
        kinks=((0.5, 0.0),),
        mp=lambda m, x: x if x > 0.5 else -1,
        residual="mask",
    ),
    Spec(
        name="identity",
        fn=jaxact.identity,
        reference=lambda x: x,
        truth=lambda x: x,
        truth_derivative=jnp.ones_like,
        jax_nn=jax.nn.identity,
        mp=lambda m, x: x,
        residual="none",
    ),
    Spec(
        name="log1mexp",
        fn=jaxact.log1mexp,
        reference=lambda x: jnp.log(1 - jnp.exp(-x)),
        truth=lambda x: _log1mexp(x)[0],
        truth_derivative=lambda x: _log1mexp(x)[1],
        domain=(0.05, 8.0),
        jax_nn=jax.nn.log1mexp,
        mp=lambda m, x: m.log(-m.expm1(-x)) if x > 0 else m.nan,
    ),
    # ---------------------------------------------------------------- rows along an axis
    Spec(
        name="glu",
        fn=jaxact.glu,
        reference=_ref_glu,
        truth=expit,
        truth_derivative=lambda x: expit(x) * expit(-x),
        jax_nn=jax.nn.glu,
        kind="gated",
        mp=lambda m, x: 1 / (1 + m.exp(-x)),
    ),
    Spec(
        name="softmax",
        fn=jaxact.softmax,
        reference=_ref_softmax,
        truth=expit,
        truth_derivative=lambda x: expit(x) * expit(-x),
        jax_nn=jax.nn.softmax,
        kind="normalizer",
        derivative_abs=True,
        mp=lambda m, x: 1 / (1 + m.exp(-x)),
    ),
    Spec(
        name="log_softmax",
        fn=jaxact.log_softmax,
        reference=lambda x: x - jnp.log(jnp.sum(jnp.exp(x), axis=-1, keepdims=True)),
        truth=lambda x: -jnp.logaddexp(0.0, -x),
        truth_derivative=lambda x: expit(-x),
        jax_nn=jax.nn.log_softmax,
        kind="normalizer",
        derivative_abs=True,
        mp=lambda m, x: -m.log1p(m.exp(-x)),
    ),
    Spec(
        name="softmin",
        fn=jaxact.softmin,
        reference=lambda x: jnp.exp(-x) / jnp.sum(jnp.exp(-x), axis=-1, keepdims=True),
        truth=lambda x: expit(-x),
        truth_derivative=lambda x: -expit(x) * expit(-x),
        kind="normalizer",
        derivative_abs=True,
        mp=lambda m, x: 1 / (1 + m.exp(x)),
    ),
    Spec(
        name="logsumexp",
        fn=jaxact.logsumexp,
        reference=lambda x, axis: jnp.log(jnp.sum(jnp.exp(x), axis=axis)),
        truth=lambda x: jnp.logaddexp(x, 0.0),
        truth_derivative=expit,
        params={"axis": -1},
        jax_nn=jax.nn.logsumexp,
        kind="reduction",
        mp=lambda m, x: m.log1p(m.exp(x)),
    ),
    Spec(
        name="sparsemax",
        fn=jaxact.sparsemax,
        reference=_ref_sparsemax,
        truth=_sparse_sigmoid_truth,
        truth_derivative=_sparse_sigmoid_d,
        domain=(-2.0, 2.0),
        kind="normalizer",
        derivative_abs=True,
        value_abs=True,
        slice_kinks=(-1.0, 1.0),
        mp=lambda m, x: 0 if x <= -1 else (1 if x >= 1 else (x + 1) / 2),
        residual="mask",
    ),
    Spec(
        name="entmax15",
        fn=jaxact.entmax15,
        reference=_ref_entmax15,
        truth=lambda x: _entmax(x)[0],
        truth_derivative=lambda x: _entmax(x)[1],
        domain=(-2.0, 2.0),
        kind="normalizer",
        derivative_abs=True,
        value_abs=True,
        slice_kinks=(-2.0, 2.0),
        mp=_mp_entmax_slice,
    ),
)

BY_NAME: dict[str, Spec] = {s.name: s for s in REGISTRY}
ALIASES: dict[str, str] = {a: s.name for s in REGISTRY for a in s.aliases}
