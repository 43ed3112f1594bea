"""What :func:`~jaxact._src.testing.check_activation` settles before it runs (the usage
errors, and the kind of a function passed without one) and the hints it adds to failing
rows (a jump of f'' where a second-order check cannot pass)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from jaxact._src.checks import KINDS, CheckReport

Fn = Callable[..., Any]


def validate_call(
    fn: Fn, reference: Fn, params: Mapping[str, Any], kind: str | None, name: str
) -> str:
    """The checked kind, after the usage errors :func:`check_activation` raises before it
    runs anything: an unknown ``kind`` (``ValueError``), ``params`` that ``fn`` or
    ``reference`` does not take (``TypeError``), and a function that is not elementwise
    without a ``kind`` (``ValueError`` naming the kind to pass)."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"check_activation: kind must be one of {KINDS}, got {kind!r}")
    for what, f in (("the function", fn), ("the reference", reference)):
        try:
            sig = inspect.signature(f)
        except (TypeError, ValueError):
            continue  # a builtin or C function: nothing to check against
        try:
            sig.bind(0.0, **params)
        except TypeError as e:
            raise TypeError(
                f"check_activation: {what} {getattr(f, '__name__', f)!r} cannot take the "
                f"params {sorted(params)}: {e}"
            ) from None
    if kind is not None:
        return kind
    declared = getattr(fn, "__jaxact_facts__", None)
    if declared is not None and declared.kind in KINDS:
        return declared.kind
    guess, why = _probe_kind(functools.partial(fn, **params) if params else fn)
    if guess != "elementwise":
        raise ValueError(
            f"check_activation: {name} is not elementwise ({why}); pass kind={guess!r} "
            f"(--kind {guess}) or another of {KINDS}"
        )
    return "elementwise"


def _probe_kind(fn: Fn) -> tuple[str, str]:
    """Is ``fn`` elementwise? Its output on a row of 4 against its outputs on each entry:
    the kind to suggest when it is not, and why."""
    x = jnp.asarray([0.37, -1.21, 1.93, 0.52], jnp.float32)
    try:
        y = jnp.asarray(fn(x))
    except Exception:  # noqa: BLE001 - the checks report a function that fails on a row
        return "elementwise", ""
    if y.shape == ():
        return "reduction", "a row of 4 gives a scalar"
    if y.shape == (2,):
        return "gated", "a row of 4 gives 2 outputs"
    if y.shape != x.shape:
        return "normalizer", f"a row of 4 gives shape {y.shape}"
    try:
        each = jnp.stack([jnp.asarray(fn(v)) for v in x])
    except Exception as e:  # noqa: BLE001 - a row function that rejects scalars
        return "normalizer", f"a scalar input raises {type(e).__name__}"
    if not bool(jnp.allclose(y, each.reshape(y.shape), rtol=1e-5, atol=1e-6, equal_nan=True)):
        return "normalizer", "an output depends on the other entries of its row"
    return "elementwise", ""


def second_derivative_jumps(fn: Fn, x: np.ndarray) -> list[tuple[float, float, float]]:
    """(x, f'' on the left, f'' on the right) at the points of ``x`` where the second
    derivative of the elementwise ``fn`` jumps: one-sided differences of ``jax.grad(fn)``
    over steps h = 1e-4 max(1, |x|) beside each point (not at it), float64."""
    with jax.enable_x64(True):
        x64 = jnp.asarray(x, jnp.float64)
        h = 1e-4 * jnp.maximum(1.0, jnp.abs(x64))
        g = jax.vmap(jax.grad(fn))
        left = (g(x64 - h) - g(x64 - 2 * h)) / h
        right = (g(x64 + 2 * h) - g(x64 + h)) / h
        scale = jnp.maximum(1.0, jnp.maximum(jnp.abs(left), jnp.abs(right)))
        jump = jnp.abs(left - right) > 0.05 * scale
    return [
        (float(a), float(lf), float(r))
        for a, lf, r, j in zip(
            np.asarray(x64), np.asarray(left), np.asarray(right), np.asarray(jump), strict=True
        )
        if j
    ]


def second_derivative_hints(report: CheckReport, kind: str, fn: Fn, x64: Array) -> None:
    """A failing finite-difference or ``check_grads`` row of an elementwise function whose
    second derivative jumps at a grid point (where a second-order check cannot pass) says
    so and names ``kinks2=`` (softsign at 0 failed both with no hint)."""
    failing = [
        r
        for r in report.rows
        if not r.ok and (r.check == "finite differences" or r.check.startswith("check_grads"))
    ]
    if kind != "elementwise" or not failing:
        return
    try:
        jumps = second_derivative_jumps(fn, np.asarray(x64))
    except Exception:  # noqa: BLE001 - a hint only
        return
    if not jumps:
        return
    xs = ",".join(f"{x:g}" for x, _, _ in jumps[:4])
    x0, lf, r = jumps[0]
    hint = (
        f"; f'' jumps at x = {x0:g} ({lf:.3g} on the left, {r:.3g} on the right): declare "
        f"such points with kinks2=[{xs}] (--kinks2 {xs}) to keep them out of the grid"
    )
    for row in failing:
        row.detail += hint
