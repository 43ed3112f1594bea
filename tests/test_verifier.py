"""The verifier users run on their own activations: it must catch each planted defect class
with its default arguments, name the check that caught it, and raise no false alarm on
correct activations (jaxact's own are held to it in test_registry.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxact
from jaxact._src.verifier_setup import validate_call
from jaxact.testing import assert_activation, check_activation

from tiers import grid

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "custom_activation.py"


def failed(report) -> set[str]:
    return {c.check for c in report.failures}


def _f32(x):
    """16-bit inputs computed in float32 (the careful way to write an activation)."""
    return x if x.dtype.itemsize >= 4 else x.astype(jnp.float32)


# --------------------------------------------------------------------- planted defects
@jax.custom_jvp
def sigmoid_off(x):
    return jax.nn.sigmoid(x)


@sigmoid_off.defjvp
def _sigmoid_off_jvp(p, t):
    (x,), (dx,) = p, t
    s = jax.nn.sigmoid(x)
    return s, s * (1 - s) * (1 + 1e-3) * dx  # a derivative off by a relative 1e-3


@jax.custom_jvp
def tanh_flush(x):
    return jnp.tanh(x)


@tanh_flush.defjvp
def _tanh_flush_jvp(p, t):
    (x,), (dx,) = p, t
    y = jnp.tanh(x)
    return y, (1 - y * y) * dx  # 0 in float32 beyond |x| ~ 9


@jax.custom_jvp
def silu_nan(x):
    xf = _f32(x)
    y = jnp.where(jnp.isneginf(xf), -0.0, xf * jax.nn.sigmoid(xf))  # the value is right
    return y.astype(x.dtype)


@silu_nan.defjvp
def _silu_nan_jvp(p, t):
    (x,), (dx,) = p, t
    xf = _f32(x)
    s = jax.nn.sigmoid(xf)
    d = s + xf * s * jax.nn.sigmoid(-xf)  # inf * 0 = NaN at +inf; the limit is 1
    return silu_nan(x), (d * _f32(dx)).astype(x.dtype)


def gelu_formula(x):
    return 0.5 * x * (1 + jnp.tanh(jnp.sqrt(2 / jnp.pi) * (x + 0.044715 * x**3)))


@jax.custom_jvp
def gelu_native(x):
    return gelu_formula(x)  # computed natively in bfloat16 for bfloat16 inputs


@gelu_native.defjvp
def _gelu_native_jvp(p, t):
    (x,), (dx,) = p, t
    _, d = jax.jvp(gelu_formula, (x,), (jnp.ones_like(x),))
    return gelu_formula(x), d * dx


def elu_formula(x, alpha):
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.minimum(x, 0)))


@jax.custom_jvp
def elu_bad_alpha(x, alpha):
    return elu_formula(_f32(x), alpha).astype(x.dtype)


@elu_bad_alpha.defjvp
def _elu_bad_alpha_jvp(p, t):
    (x, alpha), (dx, da) = p, t
    xf = _f32(x)
    e = jnp.expm1(jnp.minimum(xf, 0))
    dfdx = jnp.where(xf > 0, 1.0, alpha * (e + 1))
    dfda = jnp.where(xf > 0, 0.0, 2 * e)  # should be expm1(x): a wrong partial in alpha
    return elu_bad_alpha(x, alpha), (dfdx * _f32(dx) + dfda * da).astype(x.dtype)


def test_a_derivative_off_by_1e_3_fails_grad_and_finite_differences():
    r = check_activation(sigmoid_off, jax.nn.sigmoid, raise_on_failure=False)
    assert {"grad", "finite differences"} <= failed(r)
    assert r["value"].ok
    assert r["grad"].against == "autodiff of the reference"
    assert r["finite differences"].against == "finite differences (float64)"
    got, want = r["grad"].got, r["grad"].want
    assert got is not None and want is not None
    assert got == pytest.approx(want * 1.001, rel=1e-9)


def test_a_float32_tail_flush_fails_the_float32_derivative_row():
    r = check_activation(tanh_flush, jnp.tanh, raise_on_failure=False)
    # float64 alone cannot see it: its value, grad and finite differences are right
    assert r["value"].ok and r["grad"].ok and r["finite differences"].ok
    row = r["float32 d/dx"]
    assert not row.ok and row.unit == "ulp"
    assert row.worst_input is not None and 9 < abs(row.worst_input) < 20
    assert row.got == 0.0 and row.want is not None and row.want > 1e-20
    assert "float32 d/dx" in str(r) and "worst at x =" in str(r)


def test_a_nan_gradient_at_infinity_fails_the_limits_row():
    r = check_activation(
        silu_nan, lambda x: x * jax.nn.sigmoid(x), dtypes=("float32",), raise_on_failure=False
    )
    assert r["value"].ok and r["grad"].ok
    row = r["float32 limits"]
    assert not row.ok
    # inf * 0 at both ends: NaN where the limits are 0 (-inf) and 1 (+inf)
    assert row.worst_input is not None and abs(row.worst_input) == np.inf
    assert row.got is not None and np.isnan(row.got) and row.want in (0.0, 1.0)
    assert "d/dx" in row.detail


def test_a_value_computed_natively_in_bfloat16_fails_by_hundreds_of_ulps():
    r = check_activation(gelu_native, gelu_formula, raise_on_failure=False)
    assert r["value"].ok and r["grad"].ok  # the formula is right in float64
    row = r["bfloat16 value"]
    assert not row.ok and row.error is not None and row.error >= 100


def test_a_wrong_hyperparameter_partial_fails_its_own_rows():
    r = check_activation(
        elu_bad_alpha, elu_formula, params={"alpha": 0.7}, kinks2=(0.0,), raise_on_failure=False
    )
    assert failed(r) >= {"grad[alpha]", "finite differences[alpha]"}
    assert r["grad"].ok and r["finite differences"].ok  # d/dx is right
    assert r["grad[alpha]"].got == pytest.approx(2 * r["grad[alpha]"].want)


# --------------------------------------------------------------------- no false alarms
@jax.custom_jvp
def scaled_softsign(x, scale):
    """scale * x / (1 + |x|), computed in float32 and rounded once, with both partials;
    written as sign(x) / (1 / |x| + 1) so that it is exact at 0 and at +-inf."""
    xf = _f32(x)
    return (scale * jnp.sign(xf) / (1 / jnp.abs(xf) + 1)).astype(x.dtype)


@scaled_softsign.defjvp
def _scaled_softsign_jvp(p, t):
    (x, scale), (dx, ds) = p, t
    xf = _f32(x)
    ratio = jnp.sign(xf) / (1 / jnp.abs(xf) + 1)
    a = 1 + jnp.abs(xf)
    dfdx = scale / a / a
    return scaled_softsign(x, scale), (dfdx * _f32(dx) + ratio * ds).astype(x.dtype)


@pytest.mark.slow
def test_correct_user_activations_pass_with_default_arguments():
    r = check_activation(
        scaled_softsign,
        lambda x, scale: scale * x / (1 + jnp.abs(x)),
        params={"scale": 1.3},
        kinks2=(0.0,),
        raise_on_failure=False,
    )
    assert r.ok, str(r)
    assert {"grad[scale]", "finite differences[scale]", "float32 limits"} <= {
        c.check for c in r.rows
    }

    @jaxact.activation(derivative=lambda x: 2 * x)
    def square(x):
        return x * x

    assert check_activation(square, lambda x: x**2).ok
    # a plain function without any custom rule: jax.nn.relu, kink convention f'(0) = 0
    assert check_activation(jax.nn.relu, lambda x: jnp.maximum(x, 0), kinks=((0.0, 0.0),)).ok


def test_report_is_json_and_readable():
    r = check_activation(tanh_flush, jnp.tanh, dtypes=("float32",), raise_on_failure=False)
    data = json.loads(r.to_json())
    assert data["name"] == "tanh_flush" and data["ok"] is False
    row = next(c for c in data["checks"] if c["check"] == "float32 d/dx")
    assert row["ok"] is False and row["unit"] == "ulp" and row["got"] == 0.0
    assert set(row) >= {"worst_input", "got", "want", "error", "against", "detail"}
    text = str(r)
    assert text.splitlines()[0] == "check_activation(tanh_flush): FAIL"
    assert "FAIL float32 d/dx" in text


def test_assert_activation_fails_a_test_with_the_report():
    with pytest.raises(AssertionError, match="FAIL grad"):
        assert_activation(sigmoid_off, jax.nn.sigmoid, dtypes=())
    assert assert_activation(jax.nn.sigmoid, jax.nn.sigmoid, dtypes=()).ok


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="check_activation: kind"):
        check_activation(jaxact.relu, jax.nn.relu, kind="rows")
    with pytest.raises(ValueError, match="check_activation: dtypes"):
        check_activation(jaxact.tanh, jnp.tanh, dtypes=("float64",))


def test_an_unknown_limit_is_said_not_passed_over():
    # log(1 + exp(x)) with derivative exp(x)/(1+exp(x)): NaN at +inf in float32, and NaN near
    # float64's max as well, so the limit at +inf cannot be read off the truth: the limits
    # row says so, and the NaN is caught where the float64 truth is finite (88 < x < 709).
    @jax.custom_jvp
    def softplus_naive(x):
        return jnp.logaddexp(x, 0.0)

    @softplus_naive.defjvp
    def _(p, t):
        (x,), (dx,) = p, t
        e = jnp.exp(x)
        return softplus_naive(x), e / (1 + e) * dx

    r = check_activation(
        softplus_naive, lambda x: jnp.logaddexp(x, 0.0), dtypes=("float32",), raise_on_failure=False
    )
    assert (
        "limit unknown" in r["float32 limits"].detail
        and "d/dx at inf" in r["float32 limits"].detail
    )
    row = r["float32 d/dx"]
    assert not row.ok and row.error == np.inf and row.got is not None and np.isnan(row.got)


# --------------------------------------------------------------------- command line
def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jaxact", "verify", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


def test_cli_catches_the_tanh_flush():
    r = verify(f"{EXAMPLE}:tanh_flush", f"{EXAMPLE}:tanh_reference", "--dtypes", "float32")
    assert r.returncode == 1, r.stderr
    assert "check_activation(tanh_flush): FAIL" in r.stdout
    assert "FAIL float32 d/dx" in r.stdout


@pytest.mark.slow
def test_cli_passes_a_correct_activation_as_json():
    r = verify(
        f"{EXAMPLE}:softsign_glu",
        "examples/custom_activation.py:reference",
        "--kinks2",
        "0",
        "--dtypes",
        "bfloat16",
        "--json",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["ok"] is True and data["name"] == "softsign_glu"


@pytest.mark.slow
def test_cli_params_and_modules():
    r = verify(
        "jaxact:elu",
        "jax.nn:elu",
        "--params",
        '{"alpha": 0.5}',
        "--kinks",
        "0:0.5",
        "--dtypes",
        "float16",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "grad[alpha]" in r.stdout


@pytest.mark.parametrize(
    "args",
    grid(
        [
            ("nomodule_xyz:f", "jax.nn:relu"),
            ("jax.nn:nope", "jax.nn:relu"),
            ("jax.nn.relu", "jax.nn:relu"),
            ("jax.nn:relu", "jax.nn:relu", "--params", "[1]"),
            ("jax.nn:relu", "jax.nn:relu", "--dtypes", "float8"),
            ("jax.nn:relu", "jax.nn:relu", "--kinks", "0"),
            # an unknown hyperparameter (a traceback and exit 1 before)
            ("jaxact:elu", "jax.nn:elu", "--params", '{"beta": 1}'),
            # a row function with no --kind (a traceback: axis out of range for rank 0)
            ("jax.nn:softmax", "jax.nn:softmax"),
            ("jax.nn:relu", "jax.nn:relu", "--kind", "rows"),
        ],
        every=3,
        salt="cli-usage",
        ids=[" ".join],
    ),
)
def test_cli_usage_errors_are_one_line_and_exit_2(args):
    r = verify(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_cli_row_function_message_names_the_kind():
    r = verify("jax.nn:log_softmax", "jax.nn:log_softmax")
    assert r.returncode == 2 and "--kind normalizer" in r.stderr, r.stderr


def test_a_row_function_without_kind_is_detected():
    """check_activation on a row function with no ``kind``: a jaxact function's declared
    kind is used (``python -m jaxact verify jaxact:softmax jax.nn:softmax`` passes); any
    other says which kind to pass, instead of FAIL rows claiming NaN at 100010 inputs.
    An elementwise function is still taken as one; unknown params are a TypeError."""
    ref = lambda x: jnp.exp(x) / jnp.sum(jnp.exp(x), axis=-1, keepdims=True)
    with pytest.raises(ValueError, match=r"not elementwise.*kind='normalizer'"):
        check_activation(jax.nn.softmax, ref, dtypes=())
    with pytest.raises(ValueError, match=r"kind='reduction'"):
        check_activation(jax.nn.logsumexp, jax.nn.logsumexp, dtypes=())
    with pytest.raises(ValueError, match=r"kind='gated'"):
        check_activation(jax.nn.glu, jax.nn.glu, dtypes=())
    assert validate_call(jaxact.softmax, ref, {}, None, "softmax") == "normalizer"
    assert validate_call(jaxact.relu, jax.nn.relu, {}, None, "relu") == "elementwise"
    with pytest.raises(TypeError, match=r"cannot take the params \['beta'\]"):
        check_activation(jaxact.elu, jax.nn.elu, params={"beta": 1.0})


@pytest.mark.slow
def test_a_jaxact_row_function_is_verified_with_its_declared_kind():
    ref = lambda x: jnp.exp(x) / jnp.sum(jnp.exp(x), axis=-1, keepdims=True)
    report = check_activation(jaxact.softmax, ref, dtypes=("float32",), f32_count=1000)
    assert report.ok, str(report)


def test_a_failing_second_order_check_at_a_jump_of_f2_names_kinks2():
    """softsign with its exact derivative fails the finite-difference and check_grads rows
    at 0, where f'' jumps from 2 to -2; the rows say so and name ``kinks2=``, and with it
    the function passes."""
    softsign = lambda x: x / (1 + jnp.abs(x))
    report = check_activation(softsign, softsign, dtypes=(), raise_on_failure=False)
    for row in ("finite differences", "check_grads(order=2)"):
        assert not report[row].ok
        assert "f'' jumps at x = 0 (2 on the left, -2 on the right)" in report[row].detail
        assert "kinks2=[0]" in report[row].detail
    assert check_activation(softsign, softsign, kinks2=[0.0], dtypes=()).ok


@pytest.mark.slow
def test_no_kinks2_hint_where_f2_is_smooth():
    """A function failing for another reason (a reference off by 1e-3) gets no such hint."""
    off = check_activation(
        jnp.tanh, lambda x: jnp.tanh(x) * (1 + 1e-3), dtypes=(), raise_on_failure=False
    )
    assert not off.ok and all("kinks2" not in r.detail for r in off.rows)
