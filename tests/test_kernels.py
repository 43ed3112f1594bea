"""Each shared kernel of ``jaxact._src.kernels`` against mpmath, in float32 ulps, and the
generated constants against the script that derives them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

from jaxact._src import constants as C
from jaxact._src import kernels as K
from jaxact.testing import f32_samples, ulp_error

ROOT = Path(__file__).resolve().parent.parent
mp = mpmath.mp


def _points(lo: float, hi: float, n: int = 1500) -> np.ndarray:
    """float32 points in [lo, hi]: a sample of the whole range, log-spaced tails, and a grid."""
    s = f32_samples(20_000, seed=3).astype(np.float64)
    s = s[(s >= lo) & (s <= hi)]
    rng = np.random.default_rng(0)
    s = rng.choice(s, size=min(n, s.size), replace=False)
    grid = np.linspace(max(lo, -100.0), min(hi, 100.0), n)
    return np.unique(np.concatenate([s, grid]).astype(np.float32))


def _sig(z):
    return 1 / (1 + mpmath.exp(-z))


# name: (kernel of one float32 array, mpmath truth, input interval, float32 ulp bound)
Kernel = Callable[[jax.Array], jax.Array]
KERNELS: dict[str, tuple[Kernel, Callable, tuple[float, float], float]] = {
    "exps": (lambda x: (lambda m, s: m * s)(*K.exps(x)), mpmath.exp, (-87.0, 88.0), 2.0),
    "sig": (K.sig, _sig, (-1e30, 1e30), 2.0),
    "dsig": (K.dsig, lambda z: _sig(z) * _sig(-z), (-1e30, 1e30), 2.0),
    "Sig.a": (lambda z: (lambda s: s.a * s.sa)(K.Sig(z)), _sig, (-100.0, 100.0), 2.0),
    "Sig.b": (lambda z: (lambda s: s.b * s.sb)(K.Sig(z)), lambda z: _sig(z) * _sig(-z),
              (-100.0, 100.0), 3.0),
    "x_sig": (lambda x: K.x_sig(x, x), lambda x: x * _sig(x), (-1e30, 1e30), 3.0),
    "expm1": (K.expm1, mpmath.expm1, (-1e30, 88.0), 2.0),
    # 3.41 just above the series switch (0.71): expm1(x) - x cancels ~1.7 bits there.
    "expm1_minus_x": (K.expm1_minus_x, lambda x: mpmath.expm1(x) - x, (-1e30, 88.0), 4.0),
    "softplus": (K.softplus, lambda z: mpmath.log1p(mpmath.exp(z)), (-1e30, 1e30), 3.0),
    "tanh": (K.tanh, mpmath.tanh, (-1e30, 1e30), 2.0),
    "dtanh": (K.dtanh, lambda x: mpmath.sech(x) ** 2, (-44.0, 44.0), 3.0),
    "sqrt_x2_b": (lambda x: K.sqrt_x2_b(x, jnp.float32(4.0)), lambda x: mpmath.sqrt(x * x + 4),
                  (-1e30, 1e30), 2.0),
    # gelu (erf form) in float32; every float32 input in [-16, 16] measured 3.94 / 3.79 ulps
    # (value / derivative, the derivative's zero at -0.7518 left to gelu's Taylor window).
    "NormalTail.x_cdf": (lambda x: K.NormalTail(x).x_cdf(x), lambda x: x * mpmath.ncdf(x),
                         (-14.0, 14.0), 4.0),
    "NormalTail.slope_left": (lambda x: K.NormalTail(x).cdf_plus_x_pdf(x),
                              lambda x: mpmath.ncdf(x) + x * mpmath.npdf(x), (-14.0, -1.0), 4.0),
    "NormalTail.slope_right": (lambda x: K.NormalTail(x).cdf_plus_x_pdf(x),
                               lambda x: mpmath.ncdf(x) + x * mpmath.npdf(x), (-0.5, 14.0), 4.0),
}  # fmt: skip


@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_ulp_error_in_float32(name):
    fn, truth, (lo, hi), bound = KERNELS[name]
    x = _points(lo, hi)
    got = np.asarray(jax.jit(fn)(jnp.asarray(x)), np.float64)
    with mpmath.workdps(40):
        want = np.array([float(truth(mpmath.mpf(float(v)))) for v in x])
    err = ulp_error(got, want, jnp.float32)
    normal = ~np.isnan(err)
    assert normal.sum() > 0.5 * x.size, name  # the bound speaks of most of the inputs
    worst = int(np.nanargmax(err))
    assert err[worst] <= bound, f"{name}: {err[worst]:.2f} ulp at x = {x[worst]!r}"


def test_exp_shifted_has_its_limits():
    x = jnp.array([[1.0, 0.0, -jnp.inf], [jnp.inf, 3.0, jnp.inf], [-jnp.inf, -jnp.inf, -jnp.inf]])
    m = jnp.max(x, axis=-1, keepdims=True)
    got = np.asarray(K.exp_shifted(x, m))
    want = np.array([[1.0, np.exp(-1.0), 0.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]], np.float32)
    np.testing.assert_array_equal(got, want)


def _derive_constants():
    spec = importlib.util.spec_from_file_location(
        "derive_constants", ROOT / "tools" / "derive_constants.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", [n for n in dir(C) if n.startswith("ROOT_")])
def test_root_windows_are_taylor_polynomials_at_a_zero_of_the_derivative(name):
    """b_0 is the derivative at ``at`` (tiny: ``at`` is next to the zero), and across the
    whole window (|d| < ROOT_WINDOW) the polynomial agrees with mpmath's derivative of the
    function to 1e-8 relative, a sixth of float32's eps (quick_gelu's, the nearest to a
    complex singularity, reaches 3.2e-9 at the window's edge)."""
    root = getattr(C, name)
    assert abs(root.coefs[0]) < 1e-7
    assert np.float32(root.at) == root.at  # a float32 point: d = x - at is exact in float32
    f, _ = _derive_constants().ROOTS[name.removeprefix("ROOT_")]
    with mpmath.workdps(40):
        for d in np.linspace(-K.ROOT_WINDOW, K.ROOT_WINDOW, 19):
            poly = sum(c * d**k for k, c in enumerate(root.coefs))
            want = float(mpmath.diff(f, mpmath.mpf(root.at) + mpmath.mpf(float(d))))
            assert abs(poly - want) <= 1e-8 * max(abs(want), 1e-3), (d, poly, want)
    edge = sum(c * K.ROOT_WINDOW**k for k, c in enumerate(root.coefs))
    assert abs(edge) > 0.01  # the window reaches past the zero: a real polynomial


def test_constants_are_what_the_script_derives():
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "derive_constants.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("value", [True, False], ids=["value", "derivative"])
def test_split_head_is_on_its_grid_under_jit(value):
    """XLA folds (x + c) - c to x for a visible constant c: the split's constant must stay
    hidden, or the head is x itself and the 'exact' products are rounded."""
    x = jnp.asarray(f32_samples(20_000, seed=3)).clip(-63.0, 63.0)
    head = np.asarray(jax.jit(lambda v: K.split_head(v, value=value))(x), np.float64)
    x64 = np.asarray(x, np.float64)
    assert np.all(head * 64 == np.round(head * 64))  # a multiple of 2^-6: <= 12 bits here
    assert np.all(np.abs(x64 - head) <= 2.0**-7)


@pytest.mark.parametrize("value", [True, False], ids=["value", "derivative"])
def test_product_error_is_the_rounding_of_k_x(value):
    """lo = 1.702 x - fl(float32(1.702) x), against float64 (which holds both exactly enough)."""
    x = np.concatenate([f32_samples(20_000, seed=4), np.linspace(-60, 60, 20_001)])
    x = x[np.abs(x) <= 60].astype(np.float32)
    lo = np.asarray(jax.jit(lambda v: K.product_error(1.702, v, value=value))(jnp.asarray(x)))
    z = (np.float32(1.702) * x).astype(np.float64)  # float32 product, rounded once
    want = 1.702 * x.astype(np.float64) - z
    # e^(z + lo) needs lo to ~2^-26 absolute; the split leaves ~2^-32 relative to z
    assert np.max(np.abs(lo - want)) <= 2.0**-26
    assert np.max(np.abs(want)) > 1e-6  # the errors are real: up to ~|z| 2^-24


@pytest.mark.parametrize("value", [True, False], ids=["value", "derivative"])
def test_cubic_arg_is_k1_x_plus_k2_x_cubed_to_an_eps(value):
    """gelu's argument z = K1 x + K2 x^3 as a float32 pair: z + lo within ~2 float32 eps
    (absolute) of the float64 sum, where the rounded z alone is up to ~|z| eps off; with
    ``cube`` K2 x^3 = cube_hi + cube_lo likewise. Beyond the clip, and at inf/NaN, lo = 0."""
    x = np.concatenate([f32_samples(20_000, seed=5), np.linspace(-10.5, 10.5, 200_001)])
    x = x[np.abs(x) <= K.CUBIC_ARG_CLIP].astype(np.float32)
    arg = jax.jit(lambda v: K.cubic_arg(C.GELU_K1, C.GELU_K2, v, value=value, cube=True))(x)
    z, lo, hi, clo = (np.asarray(a, np.float64) for a in arg)
    x64 = x.astype(np.float64)
    want = C.GELU_K1 * x64 + C.GELU_K2 * x64**3
    assert np.max(np.abs(z + lo - want)) <= 2 * 2.0**-24
    assert np.max(np.abs(z - want)) > 40 * 2.0**-24  # rounded alone it is well off
    assert np.max(np.abs(hi + clo - C.GELU_K2 * x64**3)) <= 2 * 2.0**-24
    edge = jnp.asarray([np.inf, -np.inf, np.nan, 1e30, -1e30, 11.0, -11.0], jnp.float32)
    z, lo, *_ = jax.jit(lambda v: K.cubic_arg(C.GELU_K1, C.GELU_K2, v, value=value))(edge)
    assert np.all(np.asarray(lo) == 0)
    np.testing.assert_array_equal(np.sign(np.asarray(z))[:2], [1, -1])
    assert np.isnan(np.asarray(z)[2])
