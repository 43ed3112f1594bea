"""Structural facts about what XLA compiles (no timing): how many passes over the input the
forward and backward programs make on the CPU backend, which the test suite runs on."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import pytest

import jaxact
from jaxact._src.registry import REGISTRY, Spec

from tiers import grid

# The loop counts below are what XLA in this jax version compiles (CPU backend); another
# XLA may fuse differently with no bug in jaxact, so they are asserted on this version only
# (the CI installs it: see README). Update the version after re-checking the counts.
WRITTEN_FOR = "0.10.2"
pytestmark = pytest.mark.skipif(
    jax.__version__ != WRITTEN_FOR,
    reason=f"fused-loop counts describe XLA in jax {WRITTEN_FOR}, not jax {jax.__version__}",
)

# identity compiles to no loop at all (its residuals are checked in test_registry).
ELEMENTWISE = [s for s in REGISTRY if s.kind == "elementwise" and s.name != "identity"]
N = 1 << 16


def loop_passes(fn, x: jax.ShapeDtypeStruct) -> int:
    """Fused loops XLA emits that write an input-sized array (each one a pass over memory)."""
    text = jax.jit(fn).lower(x).compile().as_text()
    shape = re.compile(rf"= \w+\[{N}\]\{{0\}} fusion\(.*kind=kLoop")
    return sum(1 for line in text.splitlines() if shape.search(line))


def _sum_of(f):
    return lambda v: jnp.sum(f(v).astype(jnp.float32))


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="fusion decisions are per backend")
@pytest.mark.parametrize(
    ("spec", "dtype"),
    grid(ELEMENTWISE, [jnp.float32, jnp.bfloat16], every=3, salt="passes", ids=[None, str]),
)
def test_forward_and_backward_are_one_pass_each(spec: Spec, dtype):
    """The forward is one fused loop, the backward (recomputing f' from x) one more, and
    value_and_grad no more loops than jax.nn's version of the same function."""
    x = jax.ShapeDtypeStruct((N,), dtype)
    assert loop_passes(spec.bound, x) == 1
    assert loop_passes(jax.grad(_sum_of(spec.bound)), x) == 1
    ours = loop_passes(jax.value_and_grad(_sum_of(spec.bound)), x)
    if spec.bound_jax_nn is None:
        assert ours <= 2
    else:  # (relu in bfloat16 and hard_sigmoid in float32 take 3, as jax.nn's do)
        assert ours <= max(2, loop_passes(jax.value_and_grad(_sum_of(spec.bound_jax_nn)), x))


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="buffer assignment is per backend")
@pytest.mark.parametrize(
    ("name_axis", "dtype"),
    grid(
        [(n, -1) for n in ("logsumexp", "logmeanexp", "log_softmax", "softmax", "softmin")]
        + [("logsumexp", None), ("logmeanexp", None)],
        [jnp.float32, jnp.bfloat16],
        every=2,
        salt="normalizer-memory",
        ids=[lambda na: f"{na[0]}-{na[1]}", str],
    ),
)
def test_normalizers_temp_memory_is_bounded(name_axis, dtype):
    """A 4096 x 4096 input: the forward and value_and_grad need at most 1 MiB of
    temporaries beyond jax.nn's (the exact statistics of confident rows run in 256 KiB
    chunks; they were 130 MiB for logsumexp's float32 forward). bfloat16 forwards may take
    one bfloat16 copy of the input more (the chunked loop of the +inf branch carries its
    bits; a float32 copy, twice that, before), never more."""
    name, axis = name_axis
    x = jax.ShapeDtypeStruct((4096, 4096), dtype)
    f = getattr(jaxact, name)
    ref = getattr(jax.nn, name, None) or (lambda v, axis: jax.nn.softmax(-v, axis=axis))

    def temp(fn):
        return fn.lower(x).compile().memory_analysis().temp_size_in_bytes

    mib = 1 << 20
    ours = temp(jax.jit(lambda v: f(v, axis=axis)))
    theirs = temp(jax.jit(lambda v: ref(v, axis=axis)))
    copy = 4096 * 4096 * 2 if dtype == jnp.bfloat16 else 0
    assert ours <= theirs + copy + mib
    vg = jax.value_and_grad(lambda v: jnp.sum(jnp.sin(f(v, axis=axis))))
    vg_ref = jax.value_and_grad(lambda v: jnp.sum(jnp.sin(ref(v, axis=axis))))
    assert temp(jax.jit(vg)) <= temp(jax.jit(vg_ref)) + mib


WITH_TWIN = [s for s in ELEMENTWISE if s.bound_jax_nn is not None]


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="buffer assignment is per backend")
@pytest.mark.parametrize(
    ("spec", "dtype"),
    grid(WITH_TWIN, [jnp.float32, jnp.bfloat16], every=2, salt="ew-memory", ids=[None, str]),
)
def test_elementwise_temp_memory_at_most_jax_nn(spec: Spec, dtype):
    """Compiled temporaries of the forward and of value_and_grad(sum o f), 16 MiB of input:
    never more than jax.nn's (+ 64 KiB). The value of the sigmoid family is select-free with
    its constants hidden behind optimization barriers, so XLA's CPU reduction kernel fuses
    it into the sum; before, it materialized an input-sized select or broadcast of ones
    (64 MiB for 2^24 elements, where jax.nn needs none)."""
    x = jax.ShapeDtypeStruct((1 << 22,), dtype)

    def temp(fn):
        return jax.jit(fn).lower(x).compile().memory_analysis().temp_size_in_bytes

    slack = 1 << 16
    assert temp(spec.bound) <= temp(spec.bound_jax_nn) + slack
    vg = jax.value_and_grad(_sum_of(spec.bound))
    assert temp(vg) <= temp(jax.value_and_grad(_sum_of(spec.bound_jax_nn))) + slack


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="buffer assignment is per backend")
@pytest.mark.parametrize("name", ["sigmoid", "log_sigmoid", "softplus", "silu", "gelu"])
def test_sigmoid_family_value_and_grad_needs_no_temporaries(name):
    """value_and_grad(sum o f) in float32: no input-sized temporary at all (the value is
    fused into the sum, the derivative recomputed from x into the gradient's buffer)."""
    x = jax.ShapeDtypeStruct((1 << 22,), jnp.float32)
    vg = jax.jit(jax.value_and_grad(_sum_of(getattr(jaxact, name))))
    assert vg.lower(x).compile().memory_analysis().temp_size_in_bytes < 1 << 16


def _mlp_step_temp(act, dtype) -> int:
    """Compiled temporaries of one SGD step of a 4-layer MLP (width 1024, batch 256)."""
    params = [jax.ShapeDtypeStruct((1024, 1024), dtype) for _ in range(4)]
    x = jax.ShapeDtypeStruct((256, 1024), dtype)

    def loss(ps, v):
        for w in ps[:-1]:
            v = act(v @ w)
        return jnp.mean(jnp.square((v @ ps[-1]).astype(jnp.float32)))

    def step(ps, v):
        return [p - 0.01 * g for p, g in zip(ps, jax.grad(loss)(ps, v), strict=True)]

    return jax.jit(step).lower(params, x).compile().memory_analysis().temp_size_in_bytes


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="buffer assignment is per backend")
def test_bfloat16_mlp_step_keeps_no_float32_preactivations():
    """relu computes 16-bit inputs in their own dtype (``upcast=False``): a bfloat16 MLP's
    train step then needs no more temporaries than jax.nn's. Computed in float32, XLA fused
    the matmul output's rounding into the forward and the backward and kept the float32
    matmul output alive in between (one float32 array per layer more: 272 vs 256 MiB at width
    4096). relu6 keeps float32: in bfloat16 its value_and_grad took 192 MiB, not 64."""
    assert _mlp_step_temp(jaxact.relu, jnp.bfloat16) <= _mlp_step_temp(jax.nn.relu, jnp.bfloat16)
