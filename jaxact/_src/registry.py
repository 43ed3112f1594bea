"""The registry: one entry of independent test oracles per activation, driving the shared
tests, ``python -m jaxact``, the plots and the benchmarks.

Each entry holds the jaxact function, a plain textbook reference formula (differentiated with
``jax.grad`` in the tests), float64 truths for the value and the derivative that stay
accurate over the whole float32 range (checked against mpmath in the tests), all taking the
test's parameters as arguments, the domain of smooth test points and the measured accuracy
bounds. What a function *is* (kinks, residual kind, aliases, jax.nn counterpart) is declared
beside its definition (``jaxact._src.facts``) and read from there.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import expit

import jaxact
from jaxact._src import constants as C
from jaxact._src.oracles import (
    _GELU_ORACLES,
    _LOG_SIGMOID_ORACLES,
    _QUICK_GELU_BOUNDS,
    _SIGMOID_ORACLES,
    _SILU_ORACLES,
    _entmax_pair_kinks,
)
from jaxact._src.spec import Spec
from jaxact._src.truths import (
    _GEGLU_NOTE,
    _SELU_A,
    _SELU_L,
    _SELU_LA,
    _clamped_swiglu_slice,
    _entmax,
    _entmax_pair,
    _gt,
    _lim,
    _log1mexp,
    _logmeanexp_slice_truth,
    _mish,
    _mp_entmax_pair,
    _mp_entmax_slice,
    _pw,
    _qg_d,
    _qg_v,
    _ref_clamped_swiglu,
    _ref_entmax,
    _ref_entmax15,
    _ref_gated,
    _ref_gelu,
    _ref_glu,
    _ref_piecewise_linear,
    _ref_softmax,
    _ref_sparsemax,
    _sig_ref,
    _sparse_sigmoid_d,
    _sparse_sigmoid_truth,
    _squareplus,
    _swish_truth,
    _tanh_shrink_truth,
    _xielu_reference,
    _xielu_truth,
    _xielu_truth_derivative,
)

# ---------------------------------------------------------------- sigmoid family
_SIGMOID_FAMILY: tuple[Spec, ...] = (
    Spec(
        name="sigmoid",
        monotone=True,
        fn=jaxact.sigmoid,
        reference=_sig_ref,
        **_SIGMOID_ORACLES,
    ),
    Spec(
        name="log_sigmoid",
        monotone=True,
        fn=jaxact.log_sigmoid,
        reference=lambda x: -jnp.log(1 + jnp.exp(-x)),
        **_LOG_SIGMOID_ORACLES,
    ),
    Spec(
        name="softplus",
        monotone=True,
        fn=jaxact.softplus,
        reference=lambda x, beta=1.0: jnp.log(1 + jnp.exp(beta * x)) / beta,
        truth=lambda x, beta=1.0: jnp.logaddexp(0.0, beta * x) / beta,
        truth_derivative=lambda x, beta=1.0: expit(beta * x),
        mp=lambda m, x, beta=1.0: m.log1p(m.exp(m.mpf(beta) * x)) / m.mpf(beta),
        hyper=({"beta": 0.5}, {"beta": 1.5}, {"beta": 10.0}),
    ),
    Spec(
        name="silu",
        fn=jaxact.silu,
        reference=lambda x, beta=1.0: x * _sig_ref(beta * x),
        **{
            **_SILU_ORACLES,
            "truth": lambda x, beta=1.0: _swish_truth(beta)[0](x),
            "truth_derivative": lambda x, beta=1.0: _swish_truth(beta)[1](x),
            "mp": lambda m, x, beta=1.0: x / (1 + m.exp(-m.mpf(beta) * x)),
        },
        hyper=({"beta": 0.5}, {"beta": 2.5}),
    ),
    Spec(
        name="quick_gelu",
        fn=jaxact.quick_gelu,
        reference=lambda x: x * _sig_ref(1.702 * x),
        truth=_qg_v,
        truth_derivative=_qg_d,
        mp=lambda m, x: x / (1 + m.exp(-m.mpf("1.702") * x)),
        **_QUICK_GELU_BOUNDS,
    ),
    Spec(
        name="mish",
        fn=jaxact.mish,
        reference=lambda x: x * jnp.tanh(jnp.log(1 + jnp.exp(x))),
        truth=lambda x: _mish(x)[0],
        truth_derivative=lambda x: _mish(x)[1],
        mp=lambda m, x: x * m.tanh(m.log1p(m.exp(x))),
        f32_bounds=(5.0, 6.5),
        bound_note=(
            "float32: value 4.70 ulps at x = -6.78, derivative 6.27 at -0.590 (every float32 "
            "input scanned): its e^x forms round ~12 times. Measured and left out: moving the "
            "switch between its two derivative forms (-0.45 ... -0.15) or a Taylor window of "
            "half-width 0.9 at its zero leaves 5.4-6.4"
        ),
    ),
    Spec(
        name="gelu",
        fn=jaxact.gelu,
        reference=_ref_gelu,
        **_GELU_ORACLES[True],
    ),
    Spec(
        name="gelu_exact",
        fn=jaxact.gelu,
        reference=_ref_gelu,
        **_GELU_ORACLES[False],
    ),
)

# ---------------------------------------------------------------- exponential units
_EXPONENTIAL: tuple[Spec, ...] = (
    Spec(
        name="elu",
        monotone=True,
        fn=jaxact.elu,
        reference=lambda x, alpha: jnp.where(x > 0, x, alpha * (jnp.exp(x) - 1)),
        truth=lambda x, alpha: jnp.where(x > 0, x, alpha * jnp.expm1(x)),
        truth_derivative=lambda x, alpha: jnp.where(x > 0, 1.0, alpha * jnp.exp(x)),
        params={"alpha": 0.5},
        mp=lambda m, x, alpha: x if x > 0 else m.mpf(alpha) * m.expm1(x),
        hyper=({"alpha": 0.375}, {"alpha": 2.0}),
    ),
    Spec(
        name="celu",
        monotone=True,
        fn=jaxact.celu,
        reference=lambda x, alpha: jnp.where(x > 0, x, alpha * (jnp.exp(x / alpha) - 1)),
        truth=lambda x, alpha: jnp.where(x > 0, x, alpha * jnp.expm1(x / alpha)),
        truth_derivative=lambda x, alpha: jnp.where(x > 0, 1.0, jnp.exp(x / alpha)),
        params={"alpha": 2.0},
        mp=lambda m, x, alpha: x if x > 0 else m.mpf(alpha) * m.expm1(x / m.mpf(alpha)),
        hyper=({"alpha": 0.375}, {"alpha": 3.0}),
    ),
    Spec(
        name="selu",
        monotone=True,
        fn=jaxact.selu,
        reference=lambda x: _SELU_L * jnp.where(x > 0, x, _SELU_A * (jnp.exp(x) - 1)),
        truth=lambda x: jnp.where(x > 0, _SELU_L * x, _SELU_LA * jnp.expm1(x)),
        truth_derivative=lambda x: jnp.where(x > 0, _SELU_L, _SELU_LA * jnp.exp(x)),
        mp=lambda m, x: (
            m.mpf("1.0507009873554804934193349852946")
            * (x if x > 0 else m.mpf("1.6732632423543772848170429916717") * m.expm1(x))
        ),
    ),
    Spec(
        name="xielu",
        fn=jaxact.xielu,
        reference=_xielu_reference,
        truth=_xielu_truth,
        truth_derivative=_xielu_truth_derivative,
        mp=lambda m, x, alpha_p=C.XIELU_ALPHA, alpha_n=C.XIELU_ALPHA, beta=0.5: (
            m.mpf(alpha_p) * x * x + m.mpf(beta) * x
            if x > 0
            else m.mpf(alpha_n) * (m.exp(x) - 1 - x) + m.mpf(beta) * x
        ),
        # beta >= alpha_n: value and derivative keep their only zero at 0 (elsewhere the
        # zeros move off the float32 Taylor windows; see xielu's docstring)
        hyper=({"alpha_p": 0.5, "alpha_n": 0.25, "beta": 1.25},),
    ),
)

# ---------------------------------------------------------------- rectifiers
_RECTIFIERS: tuple[Spec, ...] = (
    Spec(
        name="relu",
        monotone=True,
        fn=jaxact.relu,
        reference=lambda x: jnp.where(x > 0, x, 0.0),
        truth=lambda x: jnp.maximum(x, 0.0),
        truth_derivative=lambda x: _gt(x, 1.0, 0.0).astype(x.dtype),
        mp=lambda m, x: max(x, 0),
    ),
    Spec(
        name="relu6",
        monotone=True,
        fn=jaxact.relu6,
        reference=lambda x: jnp.where(x > 6, 6.0, jnp.where(x > 0, x, 0.0)),
        truth=lambda x: jnp.clip(x, 0.0, 6.0),
        truth_derivative=lambda x: jnp.where((x > 0) & (x < 6), 1.0, 0.0).astype(x.dtype),
        mp=lambda m, x: min(max(x, 0), 6),
    ),
    Spec(
        name="relu_squared",
        monotone=True,
        fn=jaxact.relu_squared,
        reference=lambda x: jnp.where(x > 0, x * x, 0.0),
        truth=lambda x: jnp.where(x > 0, x * x, 0.0),
        truth_derivative=lambda x: jnp.where(x > 0, 2 * x, 0.0),
        mp=lambda m, x: max(x, 0) ** 2,
    ),
    Spec(
        name="leaky_relu",
        monotone=True,
        fn=jaxact.leaky_relu,
        reference=lambda x, negative_slope: jnp.where(x > 0, x, negative_slope * x),
        truth=lambda x, negative_slope: jnp.where(x > 0, x, negative_slope * x),
        truth_derivative=lambda x, negative_slope: _gt(x, 1.0, negative_slope).astype(x.dtype),
        params={"negative_slope": 0.01},
        mp=lambda m, x, negative_slope: x if x > 0 else m.mpf(negative_slope) * x,
        hyper=({"negative_slope": 0.2},),
    ),
    Spec(
        name="prelu",
        monotone=True,
        fn=jaxact.prelu,
        reference=lambda x, slope: jnp.where(x > 0, x, slope * x),
        truth=lambda x, slope: jnp.where(x > 0, x, slope * x),
        truth_derivative=lambda x, slope: _gt(x, 1.0, slope).astype(x.dtype),
        params={"slope": 0.25},
        mp=lambda m, x, slope: x if x > 0 else m.mpf(slope) * x,
        hyper=({"slope": 0.1},),
    ),
)

# ---------------------------------------------------------------- hard functions
_HARD: tuple[Spec, ...] = (
    Spec(
        name="hard_sigmoid",
        monotone=True,
        fn=jaxact.hard_sigmoid,
        reference=_ref_piecewise_linear(-3.0, 3.0, 0.0, 1 / 6, 1.0),
        truth=lambda x: _pw(x, -3.0, 3.0, 0.0, (x + 3) / 6, 1.0),
        truth_derivative=lambda x: jnp.where((x > -3) & (x < 3), 1 / 6, 0.0).astype(x.dtype),
        mp=lambda m, x: min(max(x + 3, 0), 6) / 6,
    ),
    Spec(
        name="hard_silu",
        fn=jaxact.hard_silu,
        reference=lambda x: x * _ref_piecewise_linear(-3.0, 3.0, 0.0, 1 / 6, 1.0)(x),
        truth=lambda x: _pw(x, -3.0, 3.0, 0.0, x * (x + 3) / 6, x),
        truth_derivative=lambda x: _pw(x, -3.0, 3.0, 0.0, (2 * x + 3) / 6, 1.0),
        mp=lambda m, x: x * min(max(x + 3, 0), 6) / 6,
    ),
    Spec(
        name="hard_tanh",
        monotone=True,
        fn=jaxact.hard_tanh,
        reference=lambda x, min_val=-1.0, max_val=1.0: _ref_piecewise_linear(
            min_val, max_val, min_val, 1.0, max_val
        )(x),
        truth=lambda x, min_val=-1.0, max_val=1.0: jnp.clip(x, min_val, max_val),
        truth_derivative=lambda x, min_val=-1.0, max_val=1.0: jnp.where(
            (x > min_val) & (x < max_val), 1.0, 0.0
        ).astype(x.dtype),
        mp=lambda m, x, min_val=-1.0, max_val=1.0: min(max(x, min_val), max_val),
        hyper=({"min_val": -2.0, "max_val": 0.5},),
    ),
)

# ---------------------------------------------------------------- tanh family
_TANH_FAMILY: tuple[Spec, ...] = (
    Spec(
        name="tanh",
        monotone=True,
        fn=jaxact.tanh,
        reference=jnp.tanh,
        truth=jnp.tanh,
        truth_derivative=lambda x: 4 * expit(2 * x) * expit(-2 * x),
        mp=lambda m, x: m.tanh(x),
        f32_bounds=(5.0, 4.0),
        bound_note=(
            "float32 value: XLA's tanh (jax.nn.tanh's too), whose rational approximation "
            "rounds to 4.90 ulps at most (x = +-5.126, every float32 input scanned); jaxact's "
            "own tanh kernel (kernels.tanh, <= 2 ulps) costs 54% more time"
        ),
    ),
    Spec(
        name="tanh_shrink",
        monotone=True,
        fn=jaxact.tanh_shrink,
        reference=lambda x: x - jnp.tanh(x),
        truth=_tanh_shrink_truth,
        truth_derivative=lambda x: jnp.tanh(x) ** 2,
        mp=lambda m, x: x - m.tanh(x),
    ),
    Spec(
        name="soft_sign",
        monotone=True,
        fn=jaxact.soft_sign,
        reference=lambda x: x / (1 + jnp.abs(x)),
        truth=lambda x: _lim(x, x / (1 + jnp.abs(x)), 1.0, -1.0),
        truth_derivative=lambda x: 1 / (1 + jnp.abs(x)) ** 2,
        mp=lambda m, x: x / (1 + abs(x)),
    ),
    Spec(
        name="squareplus",
        monotone=True,
        fn=jaxact.squareplus,
        reference=lambda x, b=4.0: (x + jnp.sqrt(x * x + b)) / 2,
        truth=lambda x, b=4.0: _squareplus(x, b)[0],
        truth_derivative=lambda x, b=4.0: _squareplus(x, b)[1],
        mp=lambda m, x, b=4.0: (x + m.sqrt(x * x + m.mpf(b))) / 2,
        hyper=({"b": 1.0}, {"b": 16.0}),
        f32_bounds=(4.0, 4.5),
        bound_note=(
            "float32 derivative: 4.46 ulps at x = -64.05 (every float32 input scanned): "
            "b / (2r (r - x)) carries the rounding of r = sqrt(x^2 + b) twice"
        ),
    ),
)

# ---------------------------------------------------------------- sparse
_SPARSE_ELEMENTWISE: tuple[Spec, ...] = (
    Spec(
        name="sparse_plus",
        monotone=True,
        fn=jaxact.sparse_plus,
        reference=lambda x: jnp.where(x <= -1, 0.0, jnp.where(x >= 1, x, (x + 1) ** 2 / 4)),
        truth=lambda x: _pw(x, -1.0, 1.0, 0.0, (x + 1) ** 2 / 4, x),
        truth_derivative=_sparse_sigmoid_truth,
        mp=lambda m, x: 0 if x <= -1 else (x if x >= 1 else (x + 1) ** 2 / 4),
    ),
    Spec(
        name="sparse_sigmoid",
        monotone=True,
        fn=jaxact.sparse_sigmoid,
        reference=_ref_piecewise_linear(-1.0, 1.0, 0.0, 0.5, 1.0),
        truth=_sparse_sigmoid_truth,
        truth_derivative=_sparse_sigmoid_d,
        mp=lambda m, x: 0 if x <= -1 else (1 if x >= 1 else (x + 1) / 2),
    ),
)

# ---------------------------------------------------------------- shrinks, threshold
_SHRINKS: tuple[Spec, ...] = (
    Spec(
        name="hard_shrink",
        monotone=True,
        fn=jaxact.hard_shrink,
        reference=lambda x, lambd: jnp.where(jnp.abs(x) > lambd, x, 0.0),
        truth=lambda x, lambd: jnp.where(jnp.abs(x) > lambd, x, 0.0),
        truth_derivative=lambda x, lambd: jnp.where(jnp.abs(x) > lambd, 1.0, 0.0).astype(x.dtype),
        params={"lambd": 0.5},
        mp=lambda m, x, lambd: x if abs(x) > lambd else 0,
        hyper=({"lambd": 1.25},),
    ),
    Spec(
        name="soft_shrink",
        monotone=True,
        fn=jaxact.soft_shrink,
        reference=lambda x, lambd: jnp.where(
            x > lambd, x - lambd, jnp.where(x < -lambd, x + lambd, 0.0)
        ),
        truth=lambda x, lambd: jnp.where(
            x > lambd, x - lambd, jnp.where(x < -lambd, x + lambd, 0.0)
        ),
        truth_derivative=lambda x, lambd: jnp.where(jnp.abs(x) > lambd, 1.0, 0.0).astype(x.dtype),
        params={"lambd": 0.5},
        mp=lambda m, x, lambd: x - lambd if x > lambd else (x + lambd if x < -lambd else 0),
        hyper=({"lambd": 1.25},),
    ),
    Spec(
        name="threshold",
        monotone=True,
        fn=jaxact.threshold,
        reference=lambda x, threshold, value: jnp.where(x > threshold, x, value),
        truth=lambda x, threshold, value: jnp.where(x > threshold, x, value),
        truth_derivative=lambda x, threshold, value: jnp.where(x > threshold, 1.0, 0.0).astype(
            x.dtype
        ),
        params={"threshold": 0.5, "value": -1.0},
        mp=lambda m, x, threshold, value: x if x > threshold else value,
        hyper=({"threshold": -0.75, "value": 2.0},),
    ),
    Spec(
        name="identity",
        monotone=True,
        fn=jaxact.identity,
        reference=lambda x: x,
        truth=lambda x: x,
        truth_derivative=jnp.ones_like,
        mp=lambda m, x: x,
    ),
    Spec(
        name="log1mexp",
        fn=jaxact.log1mexp,
        reference=lambda x: jnp.log(1 - jnp.exp(-x)),
        truth=lambda x: _log1mexp(x)[0],
        truth_derivative=lambda x: _log1mexp(x)[1],
        domain=(0.05, 8.0),
        mp=lambda m, x: m.log(-m.expm1(-x)) if x > 0 else m.nan,
    ),
)

# ------------------------------------------------ gated units (last axis split in halves)
_GATED: tuple[Spec, ...] = (
    Spec(
        name="glu",
        fn=jaxact.glu,
        reference=_ref_glu,
        **_SIGMOID_ORACLES,
    ),
    Spec(
        name="swiglu",
        fn=jaxact.swiglu,
        reference=_ref_gated(lambda b: b / (1 + jnp.exp(-b))),
        **_SILU_ORACLES,
    ),
    Spec(
        name="geglu",
        fn=jaxact.geglu,
        reference=lambda x, approximate: _ref_gated(_ref_gelu)(x, approximate=approximate),
        **{
            **_GELU_ORACLES[True],
            # its gate's exponent argument is an exact float32 pair (kernels.cubic_arg)
            "f32_bounds": (4.0, 4.5),
            "bound_note": _GEGLU_NOTE,
        },
    ),
    Spec(
        name="geglu_exact",
        fn=jaxact.geglu,
        reference=lambda x, approximate: _ref_gated(_ref_gelu)(x, approximate=approximate),
        **_GELU_ORACLES[False],
    ),
    Spec(
        name="reglu",
        fn=jaxact.reglu,
        reference=_ref_gated(lambda b: jnp.where(b > 0, b, 0.0)),
        truth=lambda x: jnp.maximum(x, 0.0),
        truth_derivative=lambda x: jnp.where(x > 0, 1.0, 0.0).astype(x.dtype),
        slice_kinks=(0.0,),
        mp=lambda m, x: max(x, 0),
    ),
    Spec(
        name="clamped_swiglu",
        fn=jaxact.clamped_swiglu,
        reference=_ref_clamped_swiglu,
        truth=lambda x, limit=7.0, alpha=1.702: _clamped_swiglu_slice(x, limit, alpha)[0],
        truth_derivative=lambda x, limit=7.0, alpha=1.702: _clamped_swiglu_slice(x, limit, alpha)[
            1
        ],
        slice_kinks=lambda limit=7.0, alpha=1.702: (limit,),
        mp=lambda m, x, limit=7.0, alpha=1.702: (
            2 * min(x, limit) / (1 + m.exp(-m.mpf(alpha) * min(x, limit)))
        ),
        hyper=({"limit": 3.0, "alpha": 1.0},),
        **_QUICK_GELU_BOUNDS,
    ),
)

# ---------------------------------------------- normalizers and reductions along an axis
_ROWS: tuple[Spec, ...] = (
    Spec(
        name="softmax",
        fn=jaxact.softmax,
        reference=_ref_softmax,
        **_SIGMOID_ORACLES,
        derivative_abs=True,
    ),
    Spec(
        name="log_softmax",
        fn=jaxact.log_softmax,
        reference=lambda x: x - jnp.log(jnp.sum(jnp.exp(x), axis=-1, keepdims=True)),
        **_LOG_SIGMOID_ORACLES,
        derivative_abs=True,
    ),
    Spec(
        name="softmin",
        fn=jaxact.softmin,
        reference=lambda x: jnp.exp(-x) / jnp.sum(jnp.exp(-x), axis=-1, keepdims=True),
        truth=lambda x: expit(-x),
        truth_derivative=lambda x: -expit(x) * expit(-x),
        derivative_abs=True,
        mp=lambda m, x: 1 / (1 + m.exp(x)),
    ),
    Spec(
        name="logsumexp",
        fn=jaxact.logsumexp,
        reference=lambda x, axis: jnp.log(jnp.sum(jnp.exp(x), axis=axis)),
        truth=lambda x, axis: jnp.logaddexp(x, 0.0),  # the slice [x, 0] along axis -1
        truth_derivative=lambda x, axis: expit(x),
        params={"axis": -1},
        mp=lambda m, x, axis: m.log1p(m.exp(x)),
    ),
    Spec(
        name="logmeanexp",
        fn=jaxact.logmeanexp,
        reference=lambda x, axis: jnp.log(jnp.mean(jnp.exp(x), axis=axis)),
        truth=lambda x, axis: _logmeanexp_slice_truth(x),  # the slice [x, 0] along axis -1
        truth_derivative=lambda x, axis: expit(x),
        params={"axis": -1},
        mp=lambda m, x, axis: m.log((m.exp(x) + 1) / 2),
    ),
    Spec(
        name="sparsemax",
        fn=jaxact.sparsemax,
        reference=_ref_sparsemax,
        truth=_sparse_sigmoid_truth,
        truth_derivative=_sparse_sigmoid_d,
        domain=(-2.0, 2.0),
        derivative_abs=True,
        value_abs=True,
        slice_kinks=(-1.0, 1.0),
        mp=lambda m, x: 0 if x <= -1 else (1 if x >= 1 else (x + 1) / 2),
    ),
    Spec(
        name="entmax",
        fn=jaxact.entmax,
        reference=_ref_entmax,
        truth=lambda x, alpha: _entmax_pair(x, alpha)[0],
        truth_derivative=lambda x, alpha: _entmax_pair(x, alpha)[1],
        params={"alpha": 1.5},
        domain=(-2.0, 2.0),
        derivative_abs=True,
        value_abs=True,
        slice_kinks=_entmax_pair_kinks,
        mp=lambda m, x, alpha: _mp_entmax_pair(m, x, alpha),
        # (alpha > 2: see entmax's docstring on its float32 error near the support boundary)
        hyper=({"alpha": 1.0}, {"alpha": 1.25}, {"alpha": 2.0}),
    ),
    Spec(
        name="entmax15",
        fn=jaxact.entmax15,
        reference=_ref_entmax15,
        truth=lambda x: _entmax(x)[0],
        truth_derivative=lambda x: _entmax(x)[1],
        domain=(-2.0, 2.0),
        derivative_abs=True,
        value_abs=True,
        slice_kinks=(-2.0, 2.0),
        mp=_mp_entmax_slice,
    ),
)

# One entry per activation, by family (the order of the report and the tables).
REGISTRY: tuple[Spec, ...] = (
    *_SIGMOID_FAMILY,
    *_EXPONENTIAL,
    *_RECTIFIERS,
    *_HARD,
    *_TANH_FAMILY,
    *_SPARSE_ELEMENTWISE,
    *_SHRINKS,
    *_GATED,
    *_ROWS,
)

# Every entry at each of its representative hyperparameter settings (Spec.hyper).
HYPER_VARIANTS: tuple[Spec, ...] = tuple(v for s in REGISTRY for v in s.variants())

BY_NAME: dict[str, Spec] = {s.name: s for s in REGISTRY}
ALIASES: dict[str, str] = {a: s.name for s in REGISTRY for a in s.aliases}


def select(names: str | None) -> tuple[list[Spec], list[str]]:
    """The registry entries named in a comma-separated list (aliases such as ``swish``
    accepted; all entries for None), and the names that match nothing."""
    if not names:
        return list(REGISTRY), []
    wanted = [ALIASES.get(n.strip(), n.strip()) for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in BY_NAME]
    return [BY_NAME[n] for n in wanted if n in BY_NAME], unknown
