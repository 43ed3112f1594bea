"""Numeric hyperparameters are array hyperparameters, everywhere: traced under ``jit`` and
``vmap``, differentiable, one compiled program for every value (no recompilation per value,
so no cache that grows with the values seen), and as accurate at representative settings
besides the defaults (``Spec.hyper``: softplus's beta, elu's and celu's alpha, ...) as at the
defaults: value and derivative within the entry's ulp bounds against the float64 truth, on
sampled inputs here, every 16-bit input and 1e5 float32 ones in the slow tier."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from counting import compiles
from jax.test_util import check_grads

import jaxact
from jaxact._src import arrays
from jaxact._src.registry import BY_NAME, HYPER_VARIANTS, REGISTRY, Spec

from tiers import SAMPLED, grid


def _numeric_hyperparameters(fn: object) -> list[str]:
    """The parameters after x with a Python-number default (bools excluded), or required
    ones after x (prelu's slope, threshold's threshold and value); never ``axis``."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    out = []
    for p in params:
        if p.name == "axis" or p.kind is p.KEYWORD_ONLY:
            continue
        d = p.default
        if d is p.empty or (isinstance(d, int | float) and not isinstance(d, bool)):
            out.append(p.name)
    return out


# (entry, hyperparameter) for every entry and every numeric hyperparameter of its function;
# the gated pair forms take the gate as their second argument: it is not a hyperparameter.
PAIRS = [
    (spec, name)
    for spec in REGISTRY
    for name in _numeric_hyperparameters(spec.fn)
    if spec.kind != "pair"
]


def test_every_numeric_hyperparameter_has_representative_settings():
    """Every numeric hyperparameter of a registry function is declared with settings
    besides its default in its entry's ``hyper`` (so the harness below measures it)."""
    missing = [
        f"{spec.name}.{name}"
        for spec, name in PAIRS
        if not any(name in setting for s in REGISTRY if s.fn is spec.fn for setting in s.hyper)
    ]
    assert not missing, missing
    assert {s.name for s, _ in PAIRS} >= {"softplus", "silu", "elu", "celu", "entmax"}


def _x(spec: Spec) -> jax.Array:
    lo, hi = spec.domain
    x = np.linspace(lo + 0.0123, hi - 0.0456, 12)
    for k in spec.kink_points:
        x = x[np.abs(x - k) > 0.05]
    shape = (2, 6) if spec.kind != "elementwise" else (-1,)
    return jnp.asarray(x[: 12 if spec.kind != "elementwise" else None], jnp.float32).reshape(shape)


def _values(spec: Spec, name: str, n: int) -> np.ndarray:
    """n values of one hyperparameter around its representative settings (valid ones)."""
    default = inspect.signature(spec.fn).parameters[name].default
    settings = [h[name] for h in spec.hyper if name in h] + [spec.params.get(name, default)]
    lo, hi = min(settings), max(settings)
    if name == "alpha" and spec.name == "entmax":
        lo, hi = 1.0, 3.0
    return np.linspace(lo, hi if hi > lo else lo + 1, n)


def _call(spec: Spec, name: str):
    params = {k: v for k, v in spec.params.items() if k != name}
    return lambda x, v: spec.fn(x, **params, **{name: v})


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        pytest.param(*c.values[0], id=c.id, marks=c.marks)
        for c in grid(PAIRS, every=5, salt="one program", ids=[lambda p: f"{p[0].name}.{p[1]}"])
    ],
)
def test_one_program_for_every_value(spec: Spec, name: str):
    """New values of a hyperparameter compile nothing: eager Python numbers, arrays under
    one jit, and the public derivative (clamped_swiglu compiled twice per value, entmax_jvp
    once: a growing cache behind each). A first pass may compile a bounded few: the program
    with the default compiled in (when a value equals it), and entmax's methods (near-one,
    bisection)."""
    x = _x(spec)
    f = _call(spec, name)
    values = _values(spec, name, 12)
    with compiles() as n:
        for v in values:
            f(x, float(v))
    assert n[0] <= 3, f"{spec.name}: {n[0]} compilations for {len(values)} values"
    values = values + 1e-4  # all new, none a default
    with compiles() as n:
        for v in values[1:]:
            f(x, float(v))
    assert n[0] == 0, f"{spec.name}: {n[0]} compilations for {len(values) - 1} new values"
    jf = jax.jit(f)
    jf(x, jnp.float32(values[0]))
    with compiles() as n:
        for v in values[1:]:
            jf(x, jnp.float32(v))
    assert n[0] == 0
    d = spec.derivative
    if d is not None:
        dfn = getattr(jaxact.derivatives, spec.public_name)
        params = {k: v for k, v in spec.params.items() if k != name}
        for v in values[:2]:
            dfn(x, **params, **{name: float(v - 1e-4)})
        with compiles() as n:
            for v in values[1:]:
                dfn(x, **params, **{name: float(v)})
        assert n[0] == 0
    sizes = arrays._program.cache_info().currsize, arrays._jvp_program.cache_info().currsize
    for v in values:
        f(x, float(v) + 1e-3)
    assert (
        arrays._program.cache_info().currsize,
        arrays._jvp_program.cache_info().currsize,
    ) == sizes


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        pytest.param(*c.values[0], id=c.id, marks=c.marks)
        for c in grid(PAIRS, every=5, salt="traced", ids=[lambda p: f"{p[0].name}.{p[1]}"])
    ],
)
def test_traced_under_jit_vmap_and_grad(spec: Spec, name: str):
    """jit, vmap and grad over a hyperparameter agree with eager per-value calls, and the
    gradient in it agrees with finite differences (``check_grads``, both modes)."""
    x = _x(spec)
    f = _call(spec, name)
    values = _values(spec, name, 3)
    eager = jnp.stack([f(x, float(v)) for v in values])
    vj = jax.jit(jax.vmap(f, in_axes=(None, 0)))(x, jnp.asarray(values, jnp.float32))
    np.testing.assert_allclose(vj, eager, rtol=2e-6, atol=1e-7)

    def total(v):
        return jnp.sum(jnp.sin(f(x, v)))

    for v in values:
        if spec.name in ("hard_shrink", "soft_shrink", "hard_tanh", "threshold"):
            # piecewise in the parameter: its derivative is a count of the inputs it moves
            continue
        check_grads(
            total, (jnp.float32(v + 0.01),), order=1, modes=("fwd", "rev"), eps=1e-3, rtol=2e-2
        )


EXHAUSTIVE_SCANS = {"count16": None, "f32_count": 100_000}


@pytest.mark.parametrize(
    ("spec", "scans"),
    [
        *[
            pytest.param(c.values[0], SAMPLED, id=f"{c.id}-sampled")
            for c in grid(HYPER_VARIANTS, every=6, salt="hyper precision")
            if not c.marks
        ],
        *[
            pytest.param(s, EXHAUSTIVE_SCANS, id=f"{s.name}-exhaustive", marks=pytest.mark.slow)
            for s in HYPER_VARIANTS
        ],
    ],
)
def test_accuracy_at_representative_hyperparameters(spec: Spec, scans):
    """The value and derivative at each representative setting, within the entry's own
    bounds (the same as at the defaults) in bfloat16, float16 and float32, and the limits at
    +-inf and +-max. (This found softplus's overflow for beta > 1 and its 64-ulp derivative,
    silu's and celu's 60-80 ulps: the product beta x or quotient x / alpha rounded before the
    exponential; squareplus's overflow of r - x for b = 16.)"""
    report = spec.precision_report(
        ("bfloat16", "float16", "float32"), scans["f32_count"], scans["count16"]
    )
    assert report.ok, str(report)


def test_the_variants_are_named_and_carry_their_settings():
    v = {s.name: s for s in HYPER_VARIANTS}
    assert v["softplus(beta=1.5)"].params == {"beta": 1.5}
    assert v["elu(alpha=2)"].params == {"alpha": 2.0}
    assert BY_NAME["softplus"].params == {}
    assert all(not s.hyper for s in HYPER_VARIANTS)
