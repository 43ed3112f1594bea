"""The verifier's precision rows: each dtype's value and derivative computed natively over
its scan inputs and measured in ulps against a float64 truth, and the limit rows (at
-inf, inf, -max, max, and NaN in)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from jaxact._src.accuracy import (
    UlpStats,
    _stats,
    all_finite,
    f32_samples,
    measure,
    native,
    sample16,
)
from jaxact._src.checks import (
    DEFAULT_BOUNDS,
    DTYPES,
    LIMIT,
    TRUTH,
    Check,
    CheckReport,
    as_float,
    run_checks,
)

Fn = Callable[..., Array]


def scan_inputs(
    dtype: str, f32_count: int = 100_000, count16: int | None = None, near: Sequence[float] = ()
) -> np.ndarray:
    """The inputs of a precision scan: every finite value of a 16-bit dtype (about
    ``count16`` of them, those next to ``near`` included, if given: see ``sample16``), or
    ``f32_count`` float32 values over the finite range (seed 0)."""
    if dtype == "float32":
        return f32_samples(f32_count, seed=0)
    if count16 is not None:
        return sample16(jnp.dtype(dtype), count16, near)
    return all_finite(jnp.dtype(dtype))


def own_truths(fn: Fn) -> tuple[Fn, Fn]:
    """The candidate itself in float64: its value and its derivative (the sum's gradient)."""
    value = jax.jit(fn)
    derivative = jax.jit(jax.grad(lambda x: jnp.sum(fn(x))))
    return value, derivative


def stat_check(check: str, s: UlpStats, bound: float, against: str, what: str = "") -> Check:
    ok = s.ok(bound)
    unit = s.unit
    detail = f"max {s.max_ulp:.3g} {unit} (bound {bound:g})"
    if what:
        detail = f"{what}: {detail}"
    if s.bad:
        detail += f"; {s.bad} input(s) NaN/inf or wrongly rounded where the truth is not"
    return Check(
        check,
        ok,
        detail,
        worst_input=s.worst_input,
        got=s.got,
        want=s.want,
        error=s.max_ulp,
        unit=unit,
        against=against,
        bad=s.bad,
    )


def limit_truth(truth: Fn, sign: float) -> float:
    """The float64 limit at +-inf: the truth at +-max, or further in if that is NaN."""
    for m in (float(np.finfo(np.float64).max), 1e300, 1e100, 1e30):
        v = as_float(truth(jnp.asarray([sign * m], jnp.float64))[0])
        if not np.isnan(v):
            return v
    return float("nan")


LIMIT_POINTS = 5  # -inf, inf, -max, max, NaN: appended to each dtype's scan


def limit_inputs(dtype: str) -> np.ndarray:
    big = float(jnp.finfo(jnp.dtype(dtype)).max)
    return np.array([-np.inf, np.inf, -big, big, np.nan]).astype(jnp.dtype(dtype))


def limits_check(
    dtype: str,
    value: np.ndarray,
    grad: np.ndarray,
    truth: Fn,
    truth_derivative: Fn,
    bounds: tuple[float, float],
    value_abs: bool,
    derivative_abs: bool,
) -> Check:
    """The row for the outputs at :func:`limit_inputs` (``value``, ``grad``)."""
    dt = jnp.dtype(dtype)
    xs = limit_inputs(dtype)[:4]
    with jax.enable_x64(True):
        want_v = [limit_truth(truth, -1.0), limit_truth(truth, 1.0)]
        want_d = [limit_truth(truth_derivative, -1.0), limit_truth(truth_derivative, 1.0)]
        at_max = jnp.asarray(xs[2:].astype(np.float64))
        want_v += list(np.asarray(truth(at_max), np.float64))
        want_d += list(np.asarray(truth_derivative(at_max), np.float64))
    sv = _stats(xs, value[:4], np.array(want_v), dt, absolute=value_abs)
    sd = _stats(xs, grad[:4], np.array(want_d), dt, absolute=derivative_abs)
    if not np.isnan(value[4]):
        return Check(
            f"{dtype} limits",
            False,
            "NaN in must give NaN out",
            worst_input=float("nan"),
            got=float(value[4]),
            want=float("nan"),
            against="NaN",
        )
    cv = stat_check(f"{dtype} limits", sv, bounds[0], LIMIT, "value")
    cd = stat_check(f"{dtype} limits", sd, bounds[1], LIMIT, "d/dx")
    unknown = [
        f"{what} at {where}"
        for what, w in (("value", want_v), ("d/dx", want_d))
        for where, v in zip(("-inf", "inf"), w[:2], strict=True)
        if np.isnan(v)
    ]
    note = f"; limit unknown (the truth is NaN near float64's max): {', '.join(unknown)}"
    note = note if unknown else ""
    if cv.ok and cd.ok:
        cv.detail = (
            f"value {sv.max_ulp:.3g} {sv.unit}, d/dx {sd.max_ulp:.3g} {sd.unit} at -inf, inf, "
            f"-max, max; NaN in, NaN out{note}"
        )
        cv.worst_input = None
        return cv
    worst = cv if not cv.ok else cd
    worst.detail = f"at -inf, inf, -max, max: {cv.detail}; {cd.detail}{note}"
    return worst


def precision_rows(
    report: CheckReport,
    scalar_fn: Fn,
    truth: Fn | None,
    truth_derivative: Fn | None,
    dtypes: Sequence[str],
    bounds: Mapping[str, float | tuple[float, float]],
    f32_count: int,
    value_abs: bool,
    derivative_abs: bool,
    limits: bool,
    count16: int | None = None,
    near: Sequence[float] = (),
) -> None:
    own_v, own_d = own_truths(scalar_fn)
    # Each truth as one compiled program (per input shape), not op by op.
    tv = jax.jit(truth) if truth is not None else own_v
    td = jax.jit(truth_derivative) if truth_derivative is not None else own_d
    src = "the given float64 truth" if truth is not None else "fn in float64"
    for dtype in dtypes:
        if dtype not in DEFAULT_BOUNDS:
            raise ValueError(f"check_activation: dtypes must be among {DTYPES}, got {dtype!r}")
        b = bounds.get(dtype, DEFAULT_BOUNDS[dtype])
        vb, db = (float(b), float(b)) if isinstance(b, int | float) else (float(b[0]), float(b[1]))
        x = scan_inputs(dtype, f32_count, count16, near)

        def scan(
            x: np.ndarray = x, dtype: str = dtype, vb: float = vb, db: float = db
        ) -> list[Check]:
            # One compiled value and gradient program per dtype for the scan and the limits.
            value, grad = native(scalar_fn, np.concatenate([x, limit_inputs(dtype)]))
            assert grad is not None
            n = x.size
            v, d = measure(
                scalar_fn, tv, td, x, derivative_abs, value_abs, computed=(value[:n], grad[:n])
            )
            assert d is not None
            what = f"{n} inputs"
            rows = [
                stat_check(f"{dtype} value", v, vb, f"{TRUTH} ({src})", what),
                stat_check(f"{dtype} d/dx", d, db, f"{TRUTH} ({src})", what),
            ]
            if limits:
                lim = limits_check(
                    dtype, value[n:], grad[n:], tv, td, (vb, db), value_abs, derivative_abs
                )
                rows.append(lim)
            return rows

        names = [f"{dtype} value", f"{dtype} d/dx"] + ([f"{dtype} limits"] if limits else [])
        run_checks(report, names, scan)
