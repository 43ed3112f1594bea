"""Shared behaviour of every activation, driven by the registry (one entry per activation)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxact._src.registry import REGISTRY, Spec
from jaxact.testing import check_activation, residuals

from tiers import SAMPLED, fast_share, grid, scanned

ELEMENTWISE = [s for s in REGISTRY if s.kind == "elementwise"]
IDS = [s.name for s in REGISTRY]
EW_IDS = [s.name for s in ELEMENTWISE]
FLOATS = [jnp.bfloat16, jnp.float16, jnp.float32]


def points(spec: Spec, dtype=jnp.float32, n: int = 33) -> jax.Array:
    """Smooth test inputs: a grid over the domain away from kinks, or rows of logits."""
    lo, hi = spec.domain
    if spec.kind != "elementwise":
        rng = np.random.default_rng(1)
        return jnp.asarray(rng.uniform(lo, hi, size=(4, 6)), dtype)
    x = np.linspace(lo, hi, n)
    for k in spec.kink_points:
        x = x[np.abs(x - k) > 0.05]
    return jnp.asarray(x, dtype)


def grad_of(f, kind: str):
    """Elementwise: f'(x) at every entry. Otherwise: the gradient of sum(sin(f(x)))."""
    if kind != "elementwise":
        return jax.grad(lambda x: jnp.sum(jnp.sin(f(x))))
    return jax.grad(lambda x: jnp.sum(f(x)))


@pytest.mark.parametrize(
    ("spec", "dtypes"),
    fast_share(
        grid(
            REGISTRY,
            [("bfloat16", "float32"), ("float16", "float32")],
            every=2,
            salt="precision",
            ids=[None, lambda d: d[0]],
        )
    ),
)
def test_sampled_precision_and_limits(spec: Spec, dtypes):
    """Every function's precision and limit rows, as check_activation computes them, on
    sampled inputs (tiers.SAMPLED; every finite 16-bit input in the slow tier's verifier
    runs, which these rows are part of: no slow share here), in float32 and one 16-bit
    dtype: value and
    derivative in ulps of each dtype against the float64 truth, within the entry's bounds;
    the limits at +-inf and +-max; NaN in, NaN out. The verifier's float64 rows run below,
    on a twelfth of the registry in the fast tier."""
    report = spec.precision_report(dtypes, SAMPLED["f32_count"], SAMPLED["count16"])
    assert report.ok, str(report)
    assert {f"{d} {row}" for d in dtypes for row in ("value", "d/dx", "limits")} == {
        r.check for r in report.rows
    }


# The full verifier: sampled scans on a twelfth of the registry in the fast tier (the
# default-argument run below: the slow tier only), exhaustive on every entry in the slow tier.
@pytest.mark.parametrize(("spec", "scans"), scanned(REGISTRY, every=12, salt="registry"))
def test_check_activation(spec: Spec, scans):
    """The library is held to what it offers users: the public verifier with the registry's
    float64 truths (checked against mpmath in test_accuracy) and bounds: values, every
    partial vs autodiff of the reference and finite differences, kinks, every finite
    bfloat16/float16 input and 1e5 float32 inputs in ulps, limits at +-inf, jit, vmap,
    backends."""
    report = check_activation(**spec.verifier_kwargs(), **scans, raise_on_failure=False)
    assert report.ok, str(report)
    names = {r.check for r in report.rows}
    assert names >= {"value", "grad", "finite differences", "check_grads(order=2)", "jit", "vmap"}
    for dtype in ("bfloat16", "float16", "float32"):
        assert {f"{dtype} value", f"{dtype} d/dx", f"{dtype} limits"} <= names
        assert report[f"{dtype} value"].against.startswith("the float64 truth")
    for p, v in spec.params.items():
        if isinstance(v, float):
            assert {f"grad[{p}]", f"finite differences[{p}]"} <= names


# Entries whose float32 error exceeds the default 4 ulps somewhere, with their declared
# bounds and reasons (Spec.bound_note), all set from scans of every float32 input
# (tools/exhaustive_f32.py): gelu's (tanh form) left tail (its exponent's argument rounded to
# float32); geglu's gate derivative (4.11: exp and the roundings after it); XLA's tanh (4.9);
# mish (4.7 / 6.3); and a
# handful of inputs just past 4 for silu, quick_gelu and squareplus and the gates built on
# the first two.
BEYOND_DEFAULT_F32 = {
    "gelu",
    "geglu",
    "tanh",
    "mish",
    "silu",
    "swiglu",
    "quick_gelu",
    "clamped_swiglu",
    "squareplus",
}


@pytest.mark.slow
@pytest.mark.parametrize("spec", REGISTRY, ids=IDS)
def test_check_activation_with_default_arguments(spec: Spec):
    """What a user gets calling the verifier on a jaxact function: the default truth (the
    function itself in float64) and default bounds. Only the facts of the function are
    passed (parameters, kinks, kind, domain), the absolute metric where the registry
    declares it (sparse maps cancel at their support's edge by design) and, for the
    entries listed above, their float32 bounds."""
    kw = spec.verifier_kwargs()
    for key in ("truth", "truth_derivative", "bounds", "derivative_abs", "derivative"):
        del kw[key]
    if spec.name == "xielu":
        # Its parameters as the float32 values a float32 call computes with: the float64
        # truth at decimal 0.8 has its zeros elsewhere (by ~1e-8), and there the two
        # functions differ by ~1e8 float32 ulps, which no float32 evaluation could match.
        kw["params"] = {
            k: np.float32(v) for k, v in {"alpha_p": 0.8, "alpha_n": 0.8, "beta": 0.5}.items()
        }
    if spec.name in BEYOND_DEFAULT_F32:
        assert spec.f32_bounds != (4.0, 4.0)
        kw["bounds"] = {"float32": spec.f32_bounds}
    else:
        assert spec.f32_bounds == (4.0, 4.0)
    if not spec.value_abs:
        del kw["value_abs"]
    report = check_activation(**kw, raise_on_failure=False)
    assert report.ok, str(report)


@pytest.mark.parametrize(
    ("spec", "dtype"),
    grid(REGISTRY, [*FLOATS, jnp.float64], every=8, salt="dtype", ids=[None, str]),
)
def test_dtype_preserved(spec: Spec, dtype):
    with jax.enable_x64(dtype == jnp.float64):
        x = points(spec, dtype)
        y = spec.bound(x)
        g = grad_of(spec.bound, spec.kind)(x)
        chex.assert_type([y, g], dtype)
        chex.assert_shape(g, x.shape)
        chex.assert_shape(y, jax.eval_shape(spec.bound_reference, x).shape)


@pytest.mark.parametrize(
    ("spec", "in_dtype"),
    grid(REGISTRY, [jnp.int32, jnp.int8, jnp.bool_], every=6, salt="promote", ids=[None, str]),
)
def test_integer_and_bool_promote_to_default_float(spec: Spec, in_dtype):
    x = jnp.ones((2, 4), in_dtype)
    y = spec.bound(x)
    chex.assert_type(y, jnp.float32)
    chex.assert_trees_all_close(y, spec.bound(jnp.ones((2, 4), jnp.float32)))
    with jax.enable_x64(True):
        chex.assert_type(spec.bound(jnp.ones((2, 4), in_dtype)), jnp.float64)


@pytest.mark.parametrize("spec", grid(REGISTRY, every=4, salt="round-once"))
def test_16bit_rounds_the_float32_result_once(spec: Spec):
    x32 = points(spec, jnp.float32, n=257)
    for dtype in (jnp.bfloat16, jnp.float16):
        x16 = x32.astype(dtype)
        chex.assert_trees_all_equal(
            spec.bound(x16), spec.bound(x16.astype(jnp.float32)).astype(dtype)
        )


@pytest.mark.parametrize("spec", REGISTRY, ids=IDS)
def test_nan_in_nan_out(spec: Spec):
    x = points(spec).at[..., 1].set(jnp.nan)
    y = spec.bound(x)
    if spec.kind == "elementwise":
        assert bool(jnp.isnan(y[..., 1]).all())
        others = jnp.delete(y, 1, axis=-1)
        assert bool(jnp.isfinite(others).all())
    else:  # every row holds a NaN; each row's output shows it
        assert bool(jnp.isnan(y.reshape(y.shape[0], -1)).any(axis=-1).all())


@pytest.mark.parametrize(
    ("spec", "dtype"), grid(ELEMENTWISE, FLOATS, every=3, salt="extremes", ids=[None, str])
)
def test_extremes_have_their_limits(spec: Spec, dtype):
    """At +-inf, +-1e4 and +-max: value and derivative equal the float64 truth's limit, and
    are never NaN where the truth is not."""
    big = float(jnp.finfo(dtype).max)
    xs = np.array([-np.inf, np.inf, -1e4, 1e4, -big, big, -100.0, 100.0])
    x = jnp.asarray(xs, dtype)
    y = np.asarray(spec.bound(x).astype(jnp.float32), np.float64)
    g = np.asarray(grad_of(spec.bound, "elementwise")(x).astype(jnp.float32), np.float64)
    with jax.enable_x64(True):
        x64 = jnp.asarray(np.asarray(x.astype(jnp.float32), np.float64))
        want_y = np.asarray(spec.bound_truth(x64))
        want_g = np.asarray(spec.bound_truth_derivative(x64))
    for got, want, what in ((y, want_y, "value"), (g, want_g, "derivative")):
        assert not np.any(np.isnan(got) & ~np.isnan(want)), (what, xs, got, want)
        with np.errstate(over="ignore"):  # beyond the dtype's range the truth rounds to inf
            want32 = np.asarray(want, np.float64).astype(np.float32)
        cast = np.asarray(jnp.asarray(want32).astype(dtype).astype(jnp.float32), np.float64)
        # Subnormal results may flush to zero (XLA on CPU runs with FTZ).
        fi = jnp.finfo(dtype)
        np.testing.assert_allclose(
            got, cast, rtol=8 * float(fi.eps), atol=float(fi.smallest_normal), err_msg=what
        )


TRANSFORMS = {
    "jit": jax.jit,
    "vmap": jax.vmap,
    "vmap_vmap": lambda f: jax.vmap(jax.vmap(f)),
    "checkpoint": jax.checkpoint,
    "scan": lambda f: lambda x: jax.lax.scan(lambda c, xi: (c, f(xi)), 0.0, x)[1],
}


@pytest.mark.parametrize(
    ("spec", "transform"), grid(REGISTRY, list(TRANSFORMS), every=15, salt="transforms")
)
def test_transforms_agree(spec: Spec, transform):
    t = TRANSFORMS[transform]
    x = points(spec)
    x2 = jnp.stack([x, -x])
    if transform == "vmap_vmap":
        x2 = jnp.stack([x2, x2 * 0.5])
    base = spec.bound
    want = jnp.stack([base(xi) for xi in x2]) if transform != "vmap_vmap" else None
    got = t(base)(x2)
    if want is None:
        want = jnp.stack([jnp.stack([base(xij) for xij in xi]) for xi in x2])
    chex.assert_trees_all_close(got, want, rtol=1e-6)
    # Gradients through the transform.
    loss = lambda v: jnp.sum(jnp.sin(t(base)(v)))
    ref_loss = lambda v: jnp.sum(jnp.sin(want_fn(base, v)))
    chex.assert_trees_all_close(jax.grad(loss)(x2), jax.grad(ref_loss)(x2), rtol=1e-5, atol=1e-7)


def want_fn(base, v):
    """Apply ``base`` to each innermost row/element block without transforms."""
    if v.ndim == 3:
        return jnp.stack([jnp.stack([base(b) for b in a]) for a in v])
    return jnp.stack([base(a) for a in v])


def check_no_tracer_leak(spec: Spec) -> None:
    """Inside lax.scan, value and gradient: no tracer escapes (traced under
    ``jax.checking_leaks``, which needs the traces only: running them there recompiled every
    program, 13-37 s a function) and the results, run normally, are finite."""
    x = jnp.stack([points(spec)] * 3)

    def total(v):
        return jax.lax.scan(lambda c, xi: (c + jnp.sum(spec.bound(xi)), None), jnp.float32(0), v)[0]

    with jax.checking_leaks():
        jax.make_jaxpr(total)(x)
        jax.make_jaxpr(jax.grad(total))(x)
    out, g = total(x), jax.grad(total)(x)
    assert bool(jnp.isfinite(out)) and bool(jnp.isfinite(g).all()), spec.name


@pytest.mark.parametrize("spec", fast_share(grid(REGISTRY, every=45, salt="leak")))
def test_scan_has_no_tracer_leak(spec: Spec):
    check_no_tracer_leak(spec)


LEAK_BATCHES = 4


@pytest.mark.slow
@pytest.mark.parametrize("batch", range(LEAK_BATCHES))
def test_scan_has_no_tracer_leak_whole_registry(batch: int):
    """:func:`check_no_tracer_leak` for every registry entry, a quarter per test, each in a
    fresh interpreter: ``jax.checking_leaks`` walks the garbage collector's objects, and late in
    the slow tier's process each function took 11-47 s (the 45 in a fresh process: 60 s)."""
    names = [spec.name for spec in REGISTRY][batch::LEAK_BATCHES]
    code = (
        "import sys\n"
        "from jaxact._src.registry import REGISTRY\n"
        "from test_registry import check_no_tracer_leak\n"
        "for spec in REGISTRY:\n"
        "    if spec.name in sys.argv[1:]:\n"
        "        check_no_tracer_leak(spec)\n"
        "        print('ok', spec.name)\n"
    )
    here = Path(__file__).resolve().parent
    r = subprocess.run(
        [sys.executable, "-c", code, *names],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=here,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")]),
        },
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == [w for name in names for w in ("ok", name)]


@pytest.mark.parametrize("spec", grid(REGISTRY, every=12, salt="higher-order"))
def test_higher_order_derivatives_agree_and_match_reference(spec: Spec):
    with jax.enable_x64(True):
        x = points(spec, jnp.float64)
        if spec.kind == "elementwise":
            d2 = jax.vmap(jax.grad(jax.grad(spec.bound)))(x)
            d2_ref = jax.vmap(jax.grad(jax.grad(spec.bound_reference)))(x)
            chex.assert_trees_all_close(d2, d2_ref, rtol=1e-9, atol=1e-12)
            h = jax.vmap(jax.hessian(spec.bound))(x)
            chex.assert_trees_all_close(h, d2, rtol=1e-12, atol=1e-15)
            jf = jax.vmap(jax.jacfwd(jax.jacrev(spec.bound)))(x)
            chex.assert_trees_all_close(jf, d2, rtol=1e-12, atol=1e-15)
        else:
            row = x[0]
            f = lambda v: jnp.sum(jnp.sin(spec.bound(v)))
            fr = lambda v: jnp.sum(jnp.sin(spec.bound_reference(v)))
            h = jax.hessian(f)(row)
            chex.assert_trees_all_close(h, jax.hessian(fr)(row), rtol=1e-9, atol=1e-12)
            chex.assert_trees_all_close(jax.jacfwd(jax.jacrev(f))(row), h, rtol=1e-12, atol=1e-14)
            chex.assert_trees_all_close(jax.jacrev(jax.jacfwd(f))(row), h, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("spec", "dtype"),
    grid(REGISTRY, [jnp.float32, jnp.bfloat16], every=2, salt="residuals", ids=[None, str]),
)
def test_reverse_mode_keeps_at_most_one_array(spec: Spec, dtype):
    """One input-sized array of the input dtype ("array"), one boolean mask ("mask") or
    nothing ("none"); anything else is parameter- or row-sized."""
    x = jnp.ones((64, 32), dtype)
    res = residuals(spec.bound, x)
    big = [r for r in res if r.size >= x.size // 2]
    small = [r for r in res if r.size < x.size // 2]
    assert sum(r.size for r in small) <= x.size // 16, res
    if spec.residual == "none":
        assert not big, res
        return
    want = jnp.bool_ if spec.residual == "mask" else dtype
    assert all(r.dtype == want for r in big), res
    assert sum(r.size for r in big) == x.size, res


@pytest.mark.parametrize("bad", ["abc", None, {"a": 1.0}, [1.0, 2.0], 1 + 2j], ids=repr)
@pytest.mark.parametrize("spec", REGISTRY, ids=IDS)
def test_bad_input_raises_type_error_naming_the_function(spec: Spec, bad):
    with pytest.raises(TypeError, match=spec.public_name):
        spec.bound(bad)


@pytest.mark.parametrize(
    ("spec", "dtype"), grid(ELEMENTWISE, FLOATS, every=3, salt="kinks", ids=[None, str])
)
def test_kink_derivatives_are_the_documented_convention(spec: Spec, dtype):
    for k, want in spec.kinks:
        x = jnp.asarray(k, dtype)
        got = jax.grad(spec.bound)(x)
        assert float(got) == float(jnp.asarray(want, dtype)), (spec.name, k, got, want)
        assert spec.derivative is not None
        assert float(spec.derivative(x)) == float(jnp.asarray(want, dtype))


@pytest.mark.parametrize("spec", grid(ELEMENTWISE, every=4, salt="public-derivative"))
def test_public_derivative_equals_the_custom_jvp(spec: Spec):
    assert spec.derivative is not None
    for dtype in FLOATS:
        x = jnp.linspace(-30, 30, 1001, dtype=dtype)
        g = jax.grad(lambda v: jnp.sum(spec.bound(v)))(x)
        _, t = jax.jvp(spec.bound, (x,), (jnp.ones_like(x),))
        chex.assert_trees_all_equal(spec.derivative(x), g, t)


@pytest.mark.parametrize("spec", [s for s in ELEMENTWISE if s.kinks2], ids=lambda s: s.name)
def test_second_derivative_at_kinks_is_a_one_sided_value(spec: Spec):
    """The declared f'' at each kink of f'' is what autodiff gives, and it is one of the
    one-sided values of the reference (never the tie-split mix jax.nn gives: celu''(0) =
    0.25 there)."""
    with jax.enable_x64(True):
        d2 = jax.grad(jax.grad(spec.bound))
        d2_ref = jax.grad(jax.grad(spec.bound_reference))
        for k, declared in spec.kinks2:
            got = float(d2(jnp.float64(k)))
            assert got == pytest.approx(declared, rel=1e-12, abs=1e-15), (k, got, declared)
            sides = [float(d2_ref(jnp.float64(k + h))) for h in (-1e-7, 1e-7)]
            assert any(abs(got - s) <= 1e-5 * max(1.0, abs(s)) for s in sides), (k, got, sides)
            assert not np.isclose(sides[0], sides[1]), "not a kink of f''"


def test_aliases_are_the_same_function():
    import jaxact
    from jaxact._src.registry import ALIASES

    assert ALIASES == {"swish": "silu", "hard_swish": "hard_silu"}
    for alias, name in ALIASES.items():
        assert getattr(jaxact, alias) is getattr(jaxact, name)
