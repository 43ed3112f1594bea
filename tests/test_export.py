"""Shape-polymorphic export (``jax.export`` with symbolic batch and sequence dimensions):
every public function, its derivative or JVP, the losses and the gated MLP block export once
for every batch size, survive ``serialize``/``deserialize``, and give at two concrete sizes
what the function gives at that fixed shape. (Serving stacks export once for all batches;
any Python-side decision on a dimension, ``min(rows, ...)`` or ``np.broadcast_shapes``, breaks
there.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import export

import jaxact
import jaxact.nnx
from jaxact import derivatives, losses
from jaxact._src.registry import REGISTRY

from tiers import grid

F32 = jnp.float32
# (symbolic lead dims, two concrete lead shapes): a batch, then a batch and a sequence.
LEADS = {
    "b": ("b", [(3,), (5,)]),
    "b,s": ("b, s", [(2, 3), (4, 1)]),
}


def _floats(shape: tuple[int, ...], seed: int) -> jax.Array:
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape) * 2, F32)


def _labels(shape: tuple[int, ...], n: int) -> jax.Array:
    return jnp.asarray(np.random.default_rng(7).integers(0, n, size=shape), jnp.int32)


# A case: the function of the arrays, and per argument (kind, trailing shape):
# "x" a float array with the lead dims, "y" integer labels with the lead dims, "w" a fixed
# float array (no lead dims).
Case = tuple[Callable[..., Any], list[tuple[str, tuple[int, ...]]]]


def _cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for spec in REGISTRY:
        f = spec.bound
        cases[spec.name] = (f, [("x", (6,))])
        cases[f"grad {spec.name}"] = (
            jax.grad(lambda x, f=f: jnp.sum(jnp.sin(f(x)))),
            [("x", (6,))],
        )
        if spec.derivative is not None:
            cases[f"derivatives.{spec.name}"] = (spec.derivative, [("x", (6,))])
    for name in ("glu", "swiglu", "geglu", "reglu", "clamped_swiglu"):
        pair = getattr(jaxact, f"{name}_pair", None)
        if pair is not None:
            cases[f"{name}_pair"] = (pair, [("x", (6,)), ("x", (6,))])
        jvp = getattr(derivatives, f"{name}_jvp")
        cases[f"{name}_jvp"] = (jvp, [("x", (6,)), ("x", (6,))])
    for name in ("softmax", "log_softmax", "softmin", "logsumexp", "logmeanexp", "sparsemax"):
        cases[f"{name}_jvp"] = (getattr(derivatives, f"{name}_jvp"), [("x", (6,)), ("x", (6,))])
    cases["entmax15_jvp"] = (derivatives.entmax15_jvp, [("x", (6,)), ("x", (6,))])
    cases["entmax_jvp(alpha=1.25)"] = (
        lambda x, t: derivatives.entmax_jvp(x, t, alpha=1.25),
        [("x", (6,)), ("x", (6,))],
    )
    cases["entmax(alpha per row)"] = (lambda x, a: jaxact.entmax(x, a), [("x", (6,)), ("x", (1,))])
    cases["leaky_relu(array slope)"] = (
        lambda x, s: jaxact.leaky_relu(x, s),
        [("x", (6,)), ("w", (6,))],
    )
    cases["prelu(array slope)"] = (lambda x, s: jaxact.prelu(x, s), [("x", (6,)), ("w", (6,))])
    cases["clamped_swiglu(limit=3)"] = (
        lambda x: jaxact.clamped_swiglu(x, limit=3.0),
        [("x", (6,))],
    )
    cases["gated_mlp"] = (
        lambda x, w_in, w_out: jaxact.nnx.gated_mlp(x, w_in, w_out, unit="swiglu"),
        [("x", (6,)), ("w", (6, 8)), ("w", (4, 6))],
    )
    cases["grad gated_mlp"] = (
        jax.grad(
            lambda x, w_in, w_out: jnp.sum(jaxact.nnx.gated_mlp(x, w_in, w_out, unit="geglu")),
            argnums=(0, 1),
        ),
        [("x", (6,)), ("w", (6, 8)), ("w", (4, 6))],
    )
    cases["softmax_cross_entropy_with_integer_labels"] = (
        losses.softmax_cross_entropy_with_integer_labels,
        [("x", (6,)), ("y", ())],
    )
    cases["softmax_cross_entropy"] = (losses.softmax_cross_entropy, [("x", (6,)), ("x", (6,))])
    cases["sparsemax_loss"] = (losses.sparsemax_loss, [("x", (6,)), ("y", ())])
    cases["entmax_loss"] = (losses.entmax_loss, [("x", (6,)), ("y", ())])
    cases["linear_softmax_cross_entropy"] = (
        lambda x, w, y: losses.linear_softmax_cross_entropy(x, w, y, reduction="none"),
        [("x", (8,)), ("w", (8, 256)), ("y", ())],
    )
    cases["grad linear_softmax_cross_entropy"] = (
        jax.grad(losses.linear_softmax_cross_entropy, argnums=(0, 1)),
        [("x", (8,)), ("w", (8, 256)), ("y", ())],
    )
    return cases


CASES = _cases()


def _args(spec: list[tuple[str, tuple[int, ...]]], lead: tuple[int, ...]) -> list[jax.Array]:
    out = []
    for i, (kind, tail) in enumerate(spec):
        if kind == "x":
            out.append(_floats(lead + tail, i))
        elif kind == "y":
            out.append(_labels(lead + tail, 6 if len(spec) < 3 else 256))
        else:
            out.append(_floats(tail, 10 + i) * 0.3)
    return out


def _structs(spec: list[tuple[str, tuple[int, ...]]], sym: tuple[Any, ...]) -> list[Any]:
    out = []
    for kind, tail in spec:
        if kind == "w":
            out.append(jax.ShapeDtypeStruct(tail, F32))
        else:
            out.append(jax.ShapeDtypeStruct(sym + tail, jnp.int32 if kind == "y" else F32))
    return out


@pytest.mark.parametrize(
    ("name", "lead"),
    [
        pytest.param(*c.values, id=c.id, marks=c.marks)
        for c in grid(list(CASES), list(LEADS), every=16, salt="export")
    ],
)
def test_exports_with_symbolic_dimensions(name: str, lead: str):
    fn, spec = CASES[name]
    symbols, concrete = LEADS[lead]
    sym = export.symbolic_shape(symbols)
    exported = export.export(jax.jit(fn))(*_structs(spec, sym))
    restored = export.deserialize(exported.serialize())
    for shape in concrete:
        args = _args(spec, shape)
        got = restored.call(*args)
        want = jax.jit(fn)(*args)
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            assert g.shape == w.shape and g.dtype == w.dtype, (name, g.shape, w.shape)
            np.testing.assert_array_equal(np.asarray(g), np.asarray(w), err_msg=f"{name} {shape}")
