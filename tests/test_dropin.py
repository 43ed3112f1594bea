"""jaxact as a drop-in for jax.nn: empty reduction axes, weak types, Flax parameters,
logmeanexp, signatures and errors that name the right thing."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

import jaxact
from jaxact._src.registry import REGISTRY, Spec

from tiers import grid

ROWS = [s for s in REGISTRY if s.kind != "elementwise"]
ELEMENTWISE = [s for s in REGISTRY if s.kind == "elementwise"]


# --------------------------------------------------------------------------- empty axes


@pytest.mark.parametrize("spec", ROWS, ids=[s.name for s in ROWS])
def test_empty_rows_give_the_empty_shape_and_an_empty_gradient(spec: Spec):
    x = jnp.zeros((3, 0))
    y = spec.bound(x)
    want = {"normalizer": (3, 0), "gated": (3, 0), "reduction": (3,)}[spec.kind]
    assert y.shape == want and y.dtype == jnp.float32
    if spec.name == "logsumexp":
        assert bool(jnp.all(y == -jnp.inf))  # log of an empty sum, as jax.nn
    if spec.name == "logmeanexp":
        assert bool(jnp.all(jnp.isnan(y)))  # the mean of nothing, as jax.nn
    g = jax.grad(lambda v: jnp.sum(jnp.where(jnp.isfinite(spec.bound(v)), spec.bound(v), 0)))(x)
    assert g.shape == x.shape


def test_empty_reductions_match_jax_nn():
    e = jnp.zeros((0,))
    assert float(jaxact.logsumexp(e)) == float(jax.nn.logsumexp(e)) == -np.inf
    assert jax.grad(jaxact.logsumexp)(e).shape == (0,)
    y, sign = jaxact.logsumexp(jnp.zeros((2, 0)), axis=1, keepdims=True, return_sign=True)
    assert y.shape == sign.shape == (2, 1) and float(sign[0, 0]) == 0.0
    assert np.isnan(float(jaxact.logmeanexp(e))) and np.isnan(float(jax.nn.logmeanexp(e)))


# --------------------------------------------------------------------------- weak types


@pytest.mark.parametrize("spec", grid(ELEMENTWISE, every=2, salt="weak"))
def test_python_scalars_stay_weakly_typed(spec: Spec):
    """As in jax.nn: f(2.0) is weakly typed, so it does not promote a bfloat16 array, eagerly
    or under jit; an array input stays strongly typed."""
    x = 0.75 if spec.domain[0] >= 0 else -0.75
    assert spec.bound(x).weak_type
    assert (spec.bound(x) * jnp.ones(3, jnp.bfloat16)).dtype == jnp.bfloat16
    assert jax.jit(spec.bound)(x).weak_type
    assert not spec.bound(jnp.float32(x)).weak_type
    assert spec.derivative is not None and spec.derivative(x).weak_type
    with jax.enable_x64(True):
        assert (spec.bound(x) * jnp.ones(3, jnp.bfloat16)).dtype == jnp.bfloat16


def test_jax_still_has_the_private_weak_type_helper():
    """The one private jax name jaxact uses (jaxact._src.arrays._weak_type_helper): when a
    jax release moves or changes it, this fails and the fallback (strongly typed results
    of Python-scalar calls) is what users get."""
    from jaxact._src import arrays

    assert arrays.WEAK_TYPE_HELPER is not None, f"jax {jax.__version__} moved the helper"
    y = arrays.WEAK_TYPE_HELPER(jnp.ones(2, jnp.float32), np.dtype("float32"), weak_type=True)
    assert y.weak_type and y.dtype == jnp.float32


def test_without_the_helper_results_are_strong_with_the_same_values(monkeypatch):
    from jaxact._src import arrays

    want = jaxact.gelu(0.75)
    monkeypatch.setattr(arrays, "WEAK_TYPE_HELPER", None)
    got = arrays.like_input(jnp.asarray(want), jnp.float32, weak=True)
    assert not got.weak_type and got.dtype == jnp.float32 and float(got) == float(want)


def test_a_strong_parameter_makes_the_result_strong_as_in_jax():
    assert not jaxact.leaky_relu(2.0, jnp.float32(0.1)).weak_type
    assert not jax.nn.leaky_relu(2.0, jnp.float32(0.1)).weak_type


# --------------------------------------------------------------------------- Flax parameters


@pytest.mark.parametrize("spec", REGISTRY, ids=[s.name for s in REGISTRY])
def test_flax_params_are_accepted_as_inputs(spec: Spec):
    nnx = pytest.importorskip("flax.nnx")
    x = jnp.linspace(0.1, 2.0, 8).reshape(2, 4)
    chex.assert_trees_all_equal(spec.bound(nnx.Param(x)), spec.bound(x))


def test_flax_params_are_accepted_as_hyperparameters():
    nnx = pytest.importorskip("flax.nnx")
    x = jnp.array([-2.0, 3.0])
    chex.assert_trees_all_equal(
        jaxact.leaky_relu(x, nnx.Param(jnp.array(0.1))), jaxact.leaky_relu(x, 0.1)
    )
    chex.assert_trees_all_equal(jaxact.elu(x, nnx.Param(jnp.array(0.5))), jaxact.elu(x, 0.5))


# --------------------------------------------------------------------------- logmeanexp


def test_logmeanexp_matches_jax_nn_and_its_gradient_is_the_softmax():
    x = jax.random.normal(jax.random.key(0), (4, 7)) * 3
    mask = jax.random.bernoulli(jax.random.key(1), 0.7, (4, 7)).at[:, 0].set(True)
    for kw in ({}, {"axis": 1}, {"axis": (0, 1)}, {"axis": 1, "where": mask}):
        chex.assert_trees_all_close(
            jaxact.logmeanexp(x, **kw), jax.nn.logmeanexp(x, **kw), rtol=1e-6, atol=1e-6
        )
    g = jax.grad(lambda v: jnp.sum(jaxact.logmeanexp(v, axis=1, where=mask)))(x)
    chex.assert_trees_all_close(g, jaxact.softmax(x, axis=1, where=mask), rtol=1e-6, atol=1e-7)
    assert jaxact.logmeanexp(x, axis=1, keepdims=True).shape == (4, 1)


def test_logmeanexp_is_accurate_near_the_mean_and_tail_exact():
    """Near the mean of alike entries jax.nn's log(sum) - log n cancels; one dominant entry
    keeps the log1p of the rest (float64 truth from mpmath)."""
    with mpmath.workdps(50):
        for row in ([1e-4, 0.0], [2e-3, 1e-3, 0.0], [40.0, 0.0, -3.0], [-0.5, 0.25], [-30.0, 0.0]):
            x = jnp.asarray(row, jnp.float32)
            xs = [mpmath.mpf(float(v)) for v in np.asarray(x)]
            want = float(mpmath.log(sum(mpmath.exp(v) for v in xs) / len(xs)))
            got = float(jaxact.logmeanexp(x))
            scale = max(abs(want), float(jnp.max(x)))  # the documented accuracy
            assert abs(got - want) <= 2 * np.spacing(np.float32(scale)), (row, got, want)
        # jax.nn's log(sum) - log n is off by ~1900 ulps near the mean; jaxact by < 1
        x = jnp.array([1e-4, 0.0])
        want = float(mpmath.log((mpmath.exp(mpmath.mpf(float(x[0]))) + 1) / 2))
        assert abs(float(jaxact.logmeanexp(x)) - want) <= np.spacing(np.float32(want))
        assert abs(float(jax.nn.logmeanexp(x)) - want) > 100 * np.spacing(np.float32(want))


def test_logmeanexp_fully_masked_rows_are_nan_with_zero_gradient():
    x = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    mask = jnp.array([[False, False], [True, False]])
    y = jaxact.logmeanexp(x, axis=1, where=mask)
    assert np.isnan(float(y[0])) and float(y[1]) == 3.0
    g = jax.grad(lambda v: jnp.nansum(jaxact.logmeanexp(v, axis=1, where=mask)))(x)
    np.testing.assert_array_equal(g, [[0.0, 0.0], [1.0, 0.0]])


# --------------------------------------------------------------------------- signatures, errors


def test_leaky_relu_signature_shows_the_default_slope():
    params = inspect.signature(jaxact.leaky_relu).parameters
    assert params["negative_slope"].default == 0.01
    assert isinstance(params["negative_slope"].default, float)


def test_prelu_errors_name_its_own_argument():
    with pytest.raises(TypeError, match=r"prelu.*`slope`"):
        jaxact.prelu(jnp.ones(2), "a")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: jaxact.elu(jnp.ones((2, 4)), alpha=jnp.ones(3)), "elu.*`alpha`"),
        (lambda: jaxact.leaky_relu(jnp.ones((2, 4)), jnp.ones(3)), "leaky_relu.*`negative_slope`"),
        (lambda: jaxact.hard_tanh(jnp.ones(3), 1.0, -1.0), "hard_tanh.*min_val"),
        (lambda: jaxact.soft_shrink(jnp.ones(3), -0.5), "soft_shrink.*lambd"),
        (lambda: jaxact.hard_shrink(jnp.ones(3), -0.5), "hard_shrink.*lambd"),
        (lambda: jaxact.celu(jnp.ones(3), 0.0), "celu.*alpha"),
        (lambda: jaxact.softplus(jnp.ones(3), beta=0.0), "softplus.*beta"),
        (lambda: jaxact.squareplus(jnp.ones(3), b=-1.0), "squareplus.*`b`"),
    ],
)
def test_bad_hyperparameters_raise_value_error_naming_function_and_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _slow(fn, x, *params):
    """fn at the same values through the slow path (arguments as arrays jit makes of them,
    weakly typed): what a Python-number parameter means."""
    arrays = [jnp.asarray(p) for p in params]
    return jax.jit(lambda v, *ps: fn(v, *ps))(x, *arrays)


@pytest.mark.parametrize(
    ("fn", "params"),
    [
        (jaxact.hard_shrink, (0.37,)),
        (jaxact.threshold, (0.5, -1.0)),
        (jaxact.xielu, (0.6, 0.9, 0.4)),
        (jaxact.leaky_relu, (2,)),  # an int: weakly typed int, as jit makes it
        (jaxact.prelu, (0.25,)),
    ],
)
def test_python_number_parameters_give_the_program_of_the_numbers(fn, params):
    """Eager Python-number parameters are passed as kept device scalars: the result is the
    program's at those numbers as jit arguments (bit for bit, dtype and weak type), also
    after a first use inside a trace (where they stay literals: XLA may fold them and round
    an ulp differently, as before)."""
    x = jnp.linspace(-3.0, 3.0, 97, dtype=jnp.float32)
    traced = jax.jit(lambda v: fn(v, *params))(x)  # a first use inside a trace
    eager = fn(x, *params)
    assert eager.dtype == traced.dtype == jnp.float32
    np.testing.assert_allclose(eager, traced, rtol=1e-6, atol=1e-6)
    assert jnp.array_equal(eager, _slow(fn, x, *params))
    assert fn(2.0, *params).weak_type  # a Python x and numbers: weak, as in jax.nn


def test_kept_scalars_tell_signed_zeros_and_ints_apart():
    x = -jnp.ones(3)
    for value in (0.0, -0.0, 0.0):  # ±0.0 compare and hash equal
        out = jaxact.threshold(x, 0.5, value)
        assert bool(jnp.all(jnp.signbit(out) == np.signbit(value)))
    assert jaxact.leaky_relu(2.0, 1).weak_type and jaxact.leaky_relu(2.0, 1.0).weak_type


def test_kept_scalars_follow_x64():
    """A number kept for float32 is not reused once x64 is on (a float64 x and scalar)."""
    x32 = jnp.linspace(-1.0, 1.0, 5)
    before = jaxact.hard_shrink(x32, 0.3)
    with jax.enable_x64(True):
        # 0.3 < x < float32(0.3): kept in float32, the scalar would zero these
        x64 = jnp.array([-0.3000000005, 0.3000000005, 0.29999999, 1.0], dtype=jnp.float64)
        out = jaxact.hard_shrink(x64, 0.3)
        assert out.dtype == jnp.float64
        np.testing.assert_array_equal(np.asarray(out), np.where(np.abs(x64) > 0.3, x64, 0.0))
        out = jaxact.threshold(x64, 0.3, jnp.zeros((), jnp.float64))  # the mixed path too
        np.testing.assert_array_equal(np.asarray(out), np.where(x64 > 0.3, x64, 0.0))
        assert jaxact.hard_shrink(2.0, 0.3).dtype == jnp.float64
    assert jnp.array_equal(jaxact.hard_shrink(x32, 0.3), before)


def test_an_invalid_number_raises_every_time():
    for _ in range(2):  # a kept setting is only a valid one
        with pytest.raises(ValueError, match=r"celu.*alpha"):
            jaxact.celu(jnp.ones(3), 0.0)
    with pytest.raises(ValueError, match=r"celu.*alpha"):
        jax.jit(lambda v: jaxact.celu(v, 0.0))(jnp.ones(3))


def test_derivatives_take_the_fast_path_with_the_same_checks_and_results():
    x = jnp.linspace(-3.0, 3.0, 97, dtype=jnp.float32)
    d = jaxact.derivatives
    assert jnp.array_equal(d.silu(x, 0.7), d.silu(x, jnp.asarray(0.7)))
    assert jnp.array_equal(d.hard_shrink(x), d.hard_shrink(x, lambd=0.5))
    ref = jax.vmap(jax.grad(lambda v: jaxact.celu(v, 0.3)))(x)
    np.testing.assert_allclose(d.celu(x, 0.3), ref, rtol=1e-6)
    for _ in range(2):
        with pytest.raises(ValueError, match=r"celu.*alpha"):
            d.celu(x, 0.0)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("softmax_jvp", {"axis": [0, 1]}),  # a list: no program key, the eager path
        ("softmax_jvp", {"axis": 0, "where": np.array([[True, False, True]] * 4).T}),
        ("log_softmax_jvp", {"axis": (0, 1)}),
        ("entmax_jvp", {"alpha": jnp.array([[1.3], [1.7], [2.0]])}),
        ("entmax_jvp", {"alpha": 1.7}),
        ("logsumexp_jvp", {"axis": None}),
    ],
)
def test_public_jvps_match_jax_jvp_of_the_activation(name, kwargs):
    """The *_jvp functions run as one cached program per setting; same numbers as jax.jvp
    of the activation itself, array arguments included."""
    x = jax.random.normal(jax.random.key(3), (3, 4))
    t = jax.random.normal(jax.random.key(4), (3, 4))
    fn = getattr(jaxact, name.removesuffix("_jvp"))
    ref = jax.jvp(lambda v: fn(v, **kwargs), (x,), (t,))[1]
    for _ in range(2):  # the second call from the kept program
        np.testing.assert_allclose(getattr(jaxact.derivatives, name)(x, t, **kwargs), ref)


def test_traced_hyperparameters_are_not_checked():
    """Under jit the values are unknown: no error, the formula's own result."""
    assert float(jax.jit(lambda a: jaxact.celu(1.0, a))(0.5)) == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [{"alpha_n_init": 0.4}, {"alpha_n_init": 0.5}, {"alpha_p_init": -1.0}, {"alpha_p_init": 0.0}],
)
def test_xielu_module_rejects_parameters_it_cannot_represent(kwargs):
    pytest.importorskip("flax")
    from jaxact.nnx import XIELU

    with pytest.raises(ValueError, match="XIELU"):
        XIELU(**kwargs)


# --------------------------------------------------------------------------- CLI


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jaxact", *args], capture_output=True, text=True, timeout=600
    )


def _reject(constant: str) -> None:
    raise ValueError(f"not JSON: {constant}")


@pytest.mark.slow
def test_json_report_is_strict_json_and_aliases_are_accepted():
    r = _cli("--only", "swish,log1mexp", "--dtype", "float16", "--json", "--defaults-only")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout, parse_constant=_reject)  # no Infinity / NaN tokens
    assert [x["name"] for x in data["results"]] == ["silu", "log1mexp"]
    # log1mexp's jax.nn derivative is inf at 0: written as a string
    assert "inf" in r.stdout


@pytest.mark.slow
def test_report_table_prints_each_rows_bound():
    r = _cli("--only", "gelu", "--dtype", "float32")
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("gelu"))
    bounds = next(s for s in REGISTRY if s.name == "gelu").f32_bounds
    assert bounds != (4.0, 4.0) and f"{bounds[0]:.2f} / {bounds[1]:.2f}" in row


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; a file path is used")
def test_plot_to_an_unwritable_folder_is_one_line_and_exit_2(tmp_path):
    pytest.importorskip("matplotlib")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    r = _cli("plot", "--out", str(locked / "sub"), "--only", "relu")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_plot_to_a_path_that_is_a_file_is_one_line_and_exit_2(tmp_path):
    pytest.importorskip("matplotlib")
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = _cli("plot", "--out", str(blocker / "sub"), "--only", "relu")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
