"""Gated linear units (swiglu, geglu, reglu, clamped_swiglu) and alpha-entmax: what the
registry's one-variable slices do not cover (both inputs, pair forms, residual counts against
the jax.nn compositions, the alpha gradient, per-head alpha)."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxact
from jaxact.testing import residual_bytes, ulp_error

from tiers import grid


def _clamped(sig):
    """GPT-OSS's clamped SwiGLU with the given sigmoid (a plain formula, or jax.nn's)."""

    def f(a, b):
        g = jnp.minimum(b, 7.0)
        return (jnp.clip(a, -7.0, 7.0) + 1) * g * sig(1.702 * g)

    return f


UNITS = {
    "swiglu": (lambda a, b: a * b / (1 + jnp.exp(-b)), {}),
    "geglu": (
        lambda a, b: a * 0.5 * b * (1 + jnp.tanh(np.sqrt(2 / np.pi) * (b + 0.044715 * b**3))),
        {},
    ),
    "reglu": (lambda a, b: a * jnp.where(b > 0, b, 0.0), {}),
    "clamped_swiglu": (_clamped(lambda z: 1 / (1 + jnp.exp(-z))), {}),
}  # fmt: skip
COMPOSED = {
    "swiglu": lambda a, b: a * jax.nn.silu(b),
    "geglu": lambda a, b: a * jax.nn.gelu(b),
    "reglu": lambda a, b: a * jax.nn.relu(b),
    "clamped_swiglu": _clamped(jax.nn.sigmoid),
}  # fmt: skip


def _inputs(n: int = 64) -> tuple[jax.Array, jax.Array]:
    ka, kb = jax.random.split(jax.random.key(0))
    a = 3 * jax.random.normal(ka, (n,), jnp.float64)
    b = 12 * jax.random.uniform(kb, (n,), jnp.float64) - 6  # away from 7 (clamped's kink)
    b = jnp.where(jnp.abs(b) < 1e-3, 0.5, b)  # and from reglu's kink
    return a, b


@pytest.mark.parametrize("unit", grid(list(UNITS), every=2, salt="gated-inputs"))
def test_both_inputs_match_the_float64_reference_and_jax_grad(unit):
    ref, _ = UNITS[unit]
    pair = getattr(jaxact, f"{unit}_pair")
    with jax.enable_x64(True):
        a, b = _inputs()
        chex.assert_trees_all_close(pair(a, b), ref(a, b), rtol=1e-12, atol=1e-14)
        got = jax.grad(lambda u, v: jnp.sum(pair(u, v)), argnums=(0, 1))(a, b)
        want = jax.grad(lambda u, v: jnp.sum(ref(u, v)), argnums=(0, 1))(a, b)
        chex.assert_trees_all_close(got, want, rtol=1e-10, atol=1e-12)
        if unit != "reglu":  # finite differences of second order straddle no kink here
            check_grads(pair, (a, b), order=2, modes=("fwd", "rev"), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("unit", list(UNITS))
def test_split_form_is_the_pair_form_on_the_halves(unit):
    x = jax.random.normal(jax.random.key(1), (3, 4, 10))
    split, pair = getattr(jaxact, unit), getattr(jaxact, f"{unit}_pair")
    for axis in (-1, 1):
        a, b = jnp.split(x, 2, axis=axis) if x.shape[axis] % 2 == 0 else (None, None)
        if a is None:
            with pytest.raises(ValueError, match=f"{unit}: axis {axis} has odd size"):
                split(x, axis=axis)
            continue
        chex.assert_trees_all_equal(split(x, axis=axis), pair(a, b))


@pytest.mark.parametrize("unit", list(UNITS))
def test_reverse_mode_keeps_only_the_input(unit):
    """x itself (4 B/elem in float32) against the jax.nn composition's halves, sigmoid(b) and
    act(b): at least 60% fewer bytes for the smooth units."""
    x = jnp.ones((64, 32), jnp.float32)
    ours = residual_bytes(getattr(jaxact, unit), x)
    theirs = residual_bytes(lambda v: COMPOSED[unit](*jnp.split(v, 2, axis=-1)), x)
    assert ours == x.size * 4, ours
    if unit != "reglu":
        assert ours <= 0.4 * theirs, (ours, theirs)
    pair = residual_bytes(getattr(jaxact, f"{unit}_pair"), x[:, :16], x[:, 16:])
    assert pair == ours


@pytest.mark.parametrize("unit", list(UNITS))
def test_gradients_are_finite_at_infinities_and_huge_gates(unit):
    pair = getattr(jaxact, f"{unit}_pair")
    b = jnp.array([-jnp.inf, jnp.inf, -1e30, 1e30, -100.0, 100.0])
    a = jnp.full_like(b, 0.5)
    ga, gb = jax.grad(lambda u, v: jnp.sum(pair(u, v)), argnums=(0, 1))(a, b)
    assert bool(jnp.all(jnp.isfinite(gb))), gb
    finite_b = jnp.isfinite(b) & (jnp.abs(b) < 1e29)
    assert bool(jnp.all(jnp.isfinite(ga) | ~finite_b)), ga
    if unit == "clamped_swiglu":  # the gate is clamped: everything stays finite
        assert bool(jnp.all(jnp.isfinite(ga))), ga


def test_geglu_float32_gate_is_exact_in_the_left_tail_and_16_bit_gates_skip_the_pair():
    """geglu's float32 gate takes its exponent argument as an exact pair: value and both
    partials within the registry's bounds (4 / 4.5 ulps) against float64 where the rounded
    argument (gelu's) is 200+ ulps off; a bfloat16 input, whose rounding cannot see that
    error, computes without the pair (fewer operations, same bits as gelu's gate)."""
    b = np.linspace(-10.0, -2.0, 20_001).astype(np.float32)
    x64 = b.astype(np.float64)
    z = 1.5957691216057308 * x64 + 0.07135481627260025 * x64**3
    sig = 1 / (1 + np.exp(-z))
    value, d_b = (
        x64 * sig,
        sig * (1 + (1.5957691216057308 * x64 + 3 * 0.07135481627260025 * x64**3) * (1 - sig)),
    )
    ones = np.ones_like(b)
    got = jax.jit(jaxact.geglu_pair)(ones, b)
    grads = jax.jit(jax.grad(lambda a, g: jaxact.geglu_pair(a, g).sum(), argnums=(0, 1)))(ones, b)

    def ulps(y, want):
        return np.max(ulp_error(y, want, jnp.float32))

    assert ulps(got, value) <= 4 and ulps(grads[0], value) <= 4 and ulps(grads[1], d_b) <= 4.5
    assert ulps(jaxact.gelu(b), value) > 100  # gelu keeps the rounded argument (speed)
    ops = {
        dt: jax.jit(jaxact.geglu).lower(jnp.zeros((8, 2), dt)).as_text().count("stablehlo.")
        for dt in (jnp.float32, jnp.bfloat16)
    }
    assert ops[jnp.bfloat16] < ops[jnp.float32]
    wide = np.asarray(jaxact.gelu(jnp.asarray(b, jnp.bfloat16).astype(jnp.float32)))
    narrow = jaxact.geglu_pair(jnp.ones_like(b, jnp.bfloat16), jnp.asarray(b, jnp.bfloat16))
    np.testing.assert_array_equal(
        np.asarray(narrow, np.float32), wide.astype(jnp.bfloat16).astype(np.float32)
    )


def test_clamped_swiglu_bounds_take_torch_clamps_convention():
    """At a = +-limit and b = limit the gradient passes (torch.clamp's inclusive mask)."""
    ga, gb = jax.grad(lambda u, v: jnp.sum(jaxact.clamped_swiglu_pair(u, v)), argnums=(0, 1))(
        jnp.array([7.0, -7.0, 7.5]), jnp.array([7.0, 1.0, 8.0])
    )
    assert float(ga[0]) > 0 and float(ga[1]) > 0 and float(ga[2]) == 0.0
    assert float(gb[0]) > 0 and float(gb[2]) == 0.0


# --------------------------------------------------------------------------- alpha-entmax


def _entmax_float64(x: np.ndarray, alpha: float) -> np.ndarray:
    """An independent reference: bisection on tau in NumPy float64, 200 halvings."""
    z = (alpha - 1) * (x - x.max())
    lo, hi = -1.0, 0.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.sum(np.maximum(z - mid, 0) ** (1 / (alpha - 1))) >= 1:
            lo = mid
        else:
            hi = mid
    p = np.maximum(z - lo, 0) ** (1 / (alpha - 1))
    return p / p.sum()


@pytest.mark.parametrize("alpha", [1.1, 1.25, 1.5, 2.0, 3.0])
def test_entmax_matches_an_independent_float64_reference(alpha):
    x = np.random.default_rng(2).normal(size=(6, 9)) * 2
    want = np.stack([_entmax_float64(row, alpha) for row in x])
    with jax.enable_x64(True):
        got = np.asarray(jaxact.entmax(jnp.asarray(x), alpha))
    np.testing.assert_allclose(got, want, atol=1e-12)
    got32 = np.asarray(jaxact.entmax(jnp.asarray(x, jnp.float32), alpha))
    # float32: u = (alpha - 1) x - tau cancels where p is small (p = u^(1/(alpha-1))), as for
    # the sort-based maps: a few eps absolute (4.7 eps at alpha = 3)
    np.testing.assert_allclose(got32, want, atol=8 * float(np.finfo(np.float32).eps))


@pytest.mark.parametrize(
    "alphas",
    [[1.1, 1.25, 1.5, 1.9, 2.0, 1.05], [1.1, 1.5, 2.0, 2.5, 3.0, 1.3]],
    ids=["all-at-most-2-newton", "some-above-2-bisection"],
)
def test_entmax_with_an_alpha_array_matches_the_float64_reference(alphas):
    """One alpha per row as an array (a learnable alpha): Newton's method when every alpha
    is <= 2, bisection otherwise, both against the NumPy bisection."""
    x = np.random.default_rng(7).normal(size=(6, 9)) * 2
    a = np.array(alphas).reshape(6, 1)
    want = np.stack([_entmax_float64(row, al) for row, al in zip(x, a[:, 0], strict=True)])
    with jax.enable_x64(True):
        got = np.asarray(jaxact.entmax(jnp.asarray(x), jnp.asarray(a)))
    np.testing.assert_allclose(got, want, atol=1e-12)
    got32 = np.asarray(jaxact.entmax(jnp.asarray(x, jnp.float32), jnp.asarray(a, jnp.float32)))
    np.testing.assert_allclose(got32, want, atol=8 * float(np.finfo(np.float32).eps))


@pytest.mark.parametrize("how", [None, "bisect", 2], ids=["newton", "bisect", "power-2"])
def test_entmax_threshold_methods_agree(how):
    """Every way _entmax finds tau (an array alpha <= 2: Newton's method; bisection; the
    power 2 by multiplications) gives alpha = 1.5 to float tolerance, on rows of 2000."""
    from jaxact._src.entmax import _entmax

    x = np.random.default_rng(8).normal(size=(4, 2000)) * 3
    want = np.stack([_entmax_float64(row, 1.5) for row in x])
    got = _entmax(jnp.asarray(x, jnp.float32), jnp.full((4, 1), 1.5, jnp.float32), how)
    np.testing.assert_allclose(np.asarray(got), want, atol=8 * float(np.finfo(np.float32).eps))


def test_entmax_is_sparsemax_and_entmax15_at_their_alphas():
    x = jax.random.normal(jax.random.key(3), (5, 11)) * 3
    chex.assert_trees_all_close(jaxact.entmax(x, 2.0), jaxact.sparsemax(x), atol=3e-7)
    chex.assert_trees_all_close(jaxact.entmax(x, 1.5), jaxact.entmax15(x), atol=3e-7)


@pytest.mark.parametrize("alpha", [1.2, 1.5, 2.0, 2.7])
def test_entmax_alpha_gradient_matches_finite_differences(alpha):
    with jax.enable_x64(True):
        x = jax.random.normal(jax.random.key(4), (4, 7), jnp.float64) * 2
        loss = lambda a: jnp.sum(jnp.sin(3 * jaxact.entmax(x, a)))
        check_grads(loss, (jnp.float64(alpha),), order=1, modes=("fwd", "rev"), eps=1e-6)
        check_grads(
            lambda v: jaxact.entmax(v, alpha), (x,), order=1, modes=("fwd", "rev"), eps=1e-6
        )


def test_entmax_alpha_per_head_broadcasts_and_gets_per_head_gradients():
    scores = jax.random.normal(jax.random.key(5), (2, 3, 4, 4)) * 2  # (B, H, T, T)
    alpha = jnp.array([1.2, 1.5, 2.0]).reshape(3, 1, 1)
    p = jaxact.entmax(scores, alpha)
    for h in range(3):
        one = jaxact.entmax(scores[:, h], float(alpha[h, 0, 0]))  # a scalar may bisect
        chex.assert_trees_all_close(p[:, h], one, atol=3e-7)
    g = jax.grad(lambda a: jnp.sum(jnp.sin(jaxact.entmax(scores, a))))(alpha)
    assert g.shape == alpha.shape and bool(jnp.all(g != 0))
    with pytest.raises(ValueError, match="entmax: `alpha` of shape"):
        jaxact.entmax(scores, jnp.ones((3, 1, 4)) * 1.5)  # varies along the normalized axis
    with pytest.raises(ValueError, match=r"entmax: `alpha` must be >= 1"):
        jaxact.entmax(scores, 0.5)


def test_entmax_masks_and_fully_masked_rows():
    x = jnp.array([[0.5, 0.2, 30.0], [1.0, 2.0, 3.0]])
    mask = jnp.array([[True, True, False], [False, False, False]])
    p = jaxact.entmax(x, 1.7, where=mask)
    np.testing.assert_array_equal(p[1], [0.0, 0.0, 0.0])
    assert float(p[0, 2]) == 0.0 and abs(float(p[0].sum()) - 1) < 1e-6
    g = jax.grad(lambda v, a: jnp.sum(jnp.sin(jaxact.entmax(v, a, where=mask))), (0, 1))(x, 1.7)
    assert float(jnp.abs(g[0][1]).sum()) == 0.0 and float(g[0][0, 2]) == 0.0
    assert bool(jnp.isfinite(g[1]))


def test_nnx_entmax_learns_alpha_above_one():
    pytest.importorskip("flax")
    from jaxact.nnx import Entmax

    module = Entmax((3, 1, 1), init=1.5)
    np.testing.assert_allclose(module.alpha(), 1.5, rtol=1e-6)
    with pytest.raises(ValueError, match="Entmax"):
        Entmax(init=1.0)
