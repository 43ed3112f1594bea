"""``check_activation``: verify any activation against a plain reference formula.

The checks, in the order they run (one report row each):

* float64 agreement with the reference: ``value``, ``grad`` (the rule under ``jax.grad``,
  against ``jax.grad`` of the reference), ``grad[p]`` for each differentiable
  hyperparameter, ``derivative`` (an analytic f' passed in), ``finite differences`` (every
  partial, a five-point difference with a step chosen per point), ``check_grads(order=2)``;
* the declared kinks, exactly (``kink@x``);
* precision in the user's dtypes (``<dtype> value`` and ``<dtype> d/dx``): every finite
  bfloat16 and float16 input and 1e5 float32 inputs over the finite range, computed natively
  and measured in ulps against a float64 truth;
* limits (``<dtype> limits``): value and derivative at -inf, +inf, -max, +max against their
  float64 limits, NaN in gives NaN out;
* transforms: ``jit``, ``vmap``, and ``backend:<platform>`` for every platform present.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.test_util import check_grads

from jaxact._src.accuracy import UlpStats, _stats, all_finite, f32_samples, measure, native

__all__ = [
    "Check",
    "CheckReport",
    "assert_activation",
    "check_activation",
    "residual_bytes",
    "residuals",
    "slice_of",
]

Fn = Callable[..., Array]

DTYPES = ("bfloat16", "float16", "float32")
# Default bounds (value, derivative), in ulps of the dtype where the truth is a normal
# number: 16-bit results computed in float32 and rounded once are within half an ulp.
DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {
    "bfloat16": (1.0, 1.0),
    "float16": (1.0, 1.0),
    "float32": (4.0, 4.0),
}
KINDS = ("elementwise", "normalizer", "reduction", "gated")

# Who disagreed, as the report names it.
RULE = "the rule (jax.grad of fn)"
REFERENCE = "autodiff of the reference"
FINITE_DIFF = "finite differences (float64)"
TRUTH = "the float64 truth"
LIMIT = "the float64 limit"


def strict_json(obj: Any) -> Any:
    """``obj`` with every non-finite float written as the string "inf", "-inf" or "nan"
    (JSON has no such numbers; Python's Infinity/NaN extension is rejected by other parsers)."""
    if isinstance(obj, float) and not np.isfinite(obj):
        return "nan" if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict_json(v) for v in obj]
    return obj


@dataclass
class Check:
    """One row of a :class:`CheckReport`.

    ``worst_input`` is where the check was worst (a flat index into the points for rows),
    ``got`` and ``want`` the two values there, ``error`` the error in ``unit`` ("ulp",
    "eps" for absolute errors in eps, "tol" for multiples of the float64 tolerance), and
    ``against`` what ``got`` was compared with, ``bad`` the count of inputs that gave NaN,
    inf or a flush where the truth is a finite (normal) number.
    """

    check: str
    ok: bool
    detail: str = ""
    worst_input: float | None = None
    got: float | None = None
    want: float | None = None
    error: float | None = None
    unit: str | None = None
    against: str | None = None
    bad: int = 0  # inputs that are NaN/inf (or flushed) where the truth is not

    def line(self, width: int) -> str:
        text = f"  {'ok  ' if self.ok else 'FAIL'} {self.check:<{width}}  {self.detail}"
        if not self.ok and self.worst_input is not None:
            text += (
                f"\n  {'':4} {'':<{width}}  worst at x = {self.worst_input!r}: got {self.got!r},"
                f" want {self.want!r} ({self.against})"
            )
        return text


@dataclass
class CheckReport:
    """The outcome of :func:`check_activation`: one :class:`Check` per check.

    ``report.ok`` is the verdict, ``str(report)`` a table, ``report.to_dict()`` (or
    ``report.to_json()``) a JSON-able form.
    """

    name: str
    rows: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def failures(self) -> list[Check]:
        return [r for r in self.rows if not r.ok]

    def add(self, check: str, ok: bool, detail: str = "", **where: Any) -> None:
        self.rows.append(Check(check, bool(ok), detail, **where))

    def __getitem__(self, check: str) -> Check:
        for r in self.rows:
            if r.check == check:
                return r
        raise KeyError(check)

    def __str__(self) -> str:
        width = max((len(r.check) for r in self.rows), default=5)
        lines = [f"check_activation({self.name}): {'PASS' if self.ok else 'FAIL'}"]
        lines += [r.line(width) for r in self.rows]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: non-finite numbers are the strings "inf", "-inf" and "nan"."""
        return strict_json(
            {"name": self.name, "ok": self.ok, "checks": [asdict(r) for r in self.rows]}
        )

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


# ------------------------------------------------------------------------------ helpers
def _f(v: Any) -> float:
    return float(np.asarray(v, dtype=np.float64))


def _compare(
    check: str,
    got: Any,
    want: Any,
    rtol: float,
    atol: Any,
    against: str,
    x: Any = None,
) -> Check:
    """``got`` against ``want`` elementwise: ``|got - want| <= atol + rtol |want|``, NaN only
    where ``want`` is NaN. ``x`` (same shape or broadcastable) names the worst input."""
    a = np.asarray(got, dtype=np.float64)
    b = np.asarray(want, dtype=np.float64)
    if a.shape != b.shape:
        return Check(check, False, f"shape {a.shape} != reference shape {b.shape}")
    xs = None if x is None else np.broadcast_to(np.asarray(x, np.float64), a.shape).ravel()
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where((np.isnan(a) & np.isnan(b)) | (a == b), 0.0, np.abs(a - b))
        err = np.where(np.isnan(err), np.inf, err)
        tol = atol + rtol * np.abs(b)
        excess = np.where(np.isfinite(err), err / tol, np.inf)
    if excess.size == 0:
        return Check(check, True, "empty")
    i = int(np.argmax(excess))
    e = float(excess.ravel()[i])
    where = xs[i] if xs is not None else float(i)
    ok = e <= 1
    at = f"{atol:g}" if isinstance(atol, int | float) else "per point"
    tol_txt = f"rtol={rtol:g}, atol={at}"
    detail = f"max err {float(err.ravel()[i]):.3g} ({tol_txt})"
    if not ok:
        detail = f"max err {float(err.ravel()[i]):.3g}, {e:.3g} x the tolerance ({tol_txt})"
    return Check(
        check,
        ok,
        detail,
        worst_input=float(where),
        got=float(a.ravel()[i]),
        want=float(b.ravel()[i]),
        error=e,
        unit="tol",
        against=against,
    )


def slice_of(fn: Fn, kind: str) -> Fn:
    """A function of one variable for the precision and limit scans: ``fn`` itself
    (elementwise), the first output of ``fn`` on the row ``[x, 0]`` (normalizer), ``fn([x,
    0])`` (reduction), or ``fn([1, x])`` (gated: the gate, the value a * g(b) with a = 1)."""
    if kind == "elementwise":
        return fn
    if kind == "gated":
        return lambda x: fn(jnp.stack([jnp.ones_like(x), x], axis=-1))[..., 0]
    if kind == "reduction":
        return lambda x: fn(jnp.stack([x, jnp.zeros_like(x)], axis=-1))
    return lambda x: fn(jnp.stack([x, jnp.zeros_like(x)], axis=-1))[..., 0]


def _default_points(domain: tuple[float, float], kinks: Sequence[float], kind: str) -> np.ndarray:
    lo, hi = domain
    if kind != "elementwise":
        rng = np.random.default_rng(0)
        return rng.uniform(lo, hi, size=(8, 6))
    x = np.linspace(lo, hi, 97)
    for k in kinks:
        x = x[np.abs(x - k) > 1e-2 * max(1.0, abs(k))]
    return x


def _grad_fn(f: Fn, kind: str) -> Fn:
    if kind != "elementwise":
        return jax.vmap(jax.jacrev(f))
    return jax.vmap(jax.grad(f))


def _is_differentiable(v: Any) -> bool:
    if isinstance(v, bool | int | str) or v is None:
        return False
    try:
        return bool(jnp.issubdtype(jnp.asarray(v).dtype, jnp.floating))
    except TypeError:
        return False


def _partial(fn: Fn, params: Mapping[str, Any], name: str) -> Fn:
    """``fn`` as a function of ``(x, p)``, ``p`` the value of the parameter ``name``."""
    return lambda x, p: fn(x, **{**params, name: p})


def _tangent_of(fn: Fn, x: Array, v: Array) -> Array:
    return jax.jvp(fn, (x,), (v,))[1]


def _five_point(fn: Fn, x: Array, v: Array, h: Array) -> Array:
    """d/dt fn(x + t v) at 0 by the five-point difference with step ``h`` (error O(h^4))."""
    f = lambda k: fn(x + k * h * v)
    d = 8 * (f(1.0) - f(-1.0)) - (f(2.0) - f(-2.0))
    return d / (12 * _per_output(h, d))


def _per_output(h: Array, out: Array) -> Array:
    """The step per row, shaped for an output that may have lost the row axis (reductions)."""
    return h if out.ndim >= h.ndim else h.reshape(h.shape[: out.ndim])


def _step(x: Array, kind: str) -> Array:
    """A step per point (per row): 2^-10 of the magnitude (at least 2^-10), where the
    five-point difference in float64 is accurate to about 1e-12 relative."""
    if kind == "elementwise":
        return 2.0**-10 * jnp.maximum(1.0, jnp.abs(x))
    return 2.0**-10 * jnp.maximum(1.0, jnp.max(jnp.abs(x), axis=-1, keepdims=True))


def _fd_check(check: str, fn: Fn, x: Array, kind: str, rtol: float) -> Check:
    """The forward-mode derivative of ``fn`` along ``v`` (ones elementwise; a random
    direction per row otherwise) against a five-point difference, in float64."""
    if kind == "elementwise":
        v = jnp.ones_like(x)
    else:
        v = jnp.asarray(np.random.default_rng(1).standard_normal(x.shape), x.dtype)
    h = _step(x, kind)
    return _fd_compare(
        check, _tangent_of(fn, x, v), fn, x, v, h, rtol, x if kind == "elementwise" else None
    )


def _fd_compare(
    check: str, got: Array, fn: Fn, x: Array, v: Array, h: Array, rtol: float, at: Any
) -> Check:
    """``got`` against five-point differences with the steps h and h/16, per point the one
    that agrees better: near a kink of a higher derivative (an entry at the edge of a
    sparse support) the long step's truncation error is large, far from it the short
    step's rounding error is 16 times larger; a wrong derivative matches neither."""
    y = fn(x)
    s = _per_output(h, y) * 1024.0
    a = np.asarray(got, np.float64)
    wants, tols, excesses = [], [], []
    for step, k in ((h, 1.0), (h / 16, 16.0)):
        w = np.asarray(_five_point(fn, x, v, step), np.float64)
        # The difference quotient rounds to about eps64 |f| / step (1e-13 |f| / s for the
        # step s / 1024); its truncation error is step^4 |f^(5)| / 30. An absolute allowance
        # of 1e-9 (1 + k |f| / s) covers the rounding with a wide margin.
        tol = np.broadcast_to(np.asarray(1e-9 * (1.0 + k * jnp.abs(y) / s), np.float64), w.shape)
        with np.errstate(invalid="ignore"):
            excess = np.abs(a - w) / (tol + rtol * np.abs(w))
        wants.append(w)
        tols.append(tol)
        excesses.append(np.where(np.isnan(excess), np.inf, excess))
    short = excesses[1] < excesses[0]
    best_want = np.where(short, wants[1], wants[0])
    best_tol = np.where(short, tols[1], tols[0])
    return _compare(check, got, best_want, rtol, best_tol, FINITE_DIFF, x=at)


# ------------------------------------------------------------------------------ precision
def scan_inputs(dtype: str, f32_count: int = 100_000) -> np.ndarray:
    """The inputs of a precision scan: every finite value of a 16-bit dtype, or
    ``f32_count`` float32 values over the finite range (seed 0)."""
    if dtype == "float32":
        return f32_samples(f32_count, seed=0)
    return all_finite(jnp.dtype(dtype))


def _truths(fn: Fn) -> tuple[Fn, Fn]:
    """The candidate itself in float64: its value and its derivative (the sum's gradient)."""
    value = jax.jit(fn)
    derivative = jax.jit(jax.grad(lambda x: jnp.sum(fn(x))))
    return value, derivative


def _stat_check(check: str, s: UlpStats, bound: float, against: str, what: str = "") -> Check:
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


def _limit_truth(truth: Fn, sign: float) -> float:
    """The float64 limit at +-inf: the truth at +-max, or further in if that is NaN."""
    for m in (float(np.finfo(np.float64).max), 1e300, 1e100, 1e30):
        v = _f(truth(jnp.asarray([sign * m], jnp.float64))[0])
        if not np.isnan(v):
            return v
    return float("nan")


LIMIT_POINTS = 5  # -inf, inf, -max, max, NaN: appended to each dtype's scan


def _limit_inputs(dtype: str) -> np.ndarray:
    big = float(jnp.finfo(jnp.dtype(dtype)).max)
    return np.array([-np.inf, np.inf, -big, big, np.nan]).astype(jnp.dtype(dtype))


def _limits_check(
    dtype: str,
    value: np.ndarray,
    grad: np.ndarray,
    truth: Fn,
    truth_derivative: Fn,
    bounds: tuple[float, float],
    value_abs: bool,
    derivative_abs: bool,
) -> Check:
    """The row for the outputs at :func:`_limit_inputs` (``value``, ``grad``)."""
    dt = jnp.dtype(dtype)
    xs = _limit_inputs(dtype)[:4]
    with jax.enable_x64(True):
        want_v = [_limit_truth(truth, -1.0), _limit_truth(truth, 1.0)]
        want_d = [_limit_truth(truth_derivative, -1.0), _limit_truth(truth_derivative, 1.0)]
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
    cv = _stat_check(f"{dtype} limits", sv, bounds[0], LIMIT, "value")
    cd = _stat_check(f"{dtype} limits", sd, bounds[1], LIMIT, "d/dx")
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


# ------------------------------------------------------------------------------ the verifier
def check_activation(
    fn: Fn,
    reference: Fn,
    *,
    params: Mapping[str, Any] | None = None,
    derivative: Fn | None = None,
    points: Any = None,
    domain: tuple[float, float] = (-4.0, 4.0),
    kinks: Sequence[tuple[float, float]] = (),
    kinks2: Sequence[float] = (),
    kind: str = "elementwise",
    name: str | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    order: int = 2,
    dtypes: Sequence[str] = DTYPES,
    bounds: Mapping[str, float | tuple[float, float]] | None = None,
    f32_count: int = 100_000,
    truth: Fn | None = None,
    truth_derivative: Fn | None = None,
    value_abs: bool = False,
    derivative_abs: bool | None = None,
    limits: bool = True,
    raise_on_failure: bool = True,
) -> CheckReport:
    r"""Verify an activation, its custom derivative and its hyperparameter partials against a
    plain reference formula, in float64 and in the dtypes users run.

    The default checks catch a wrong derivative (vs ``jax.grad`` of the reference and finite
    differences), a derivative that flushes to zero or a value that loses its digits in
    bfloat16, float16 or float32 (ulps against a float64 truth over every finite 16-bit
    input and 1e5 float32 inputs), a NaN where the limit at :math:`\pm\infty` is finite,
    and a wrong :math:`\partial f / \partial p` for each hyperparameter. One report row per
    check:

    * ``value``, ``grad``: ``fn`` and ``jax.grad(fn)`` against ``reference`` and
      ``jax.grad(reference)``, batched with ``vmap``, in float64 over ``points`` (rows of
      logits through ``jacrev`` for row functions); ``grad[p]``: the forward-mode partial in
      each floating-point entry ``p`` of ``params``, likewise;
    * ``derivative``: the analytic ``derivative(x)``, if given, against the reference;
    * ``finite differences``: every partial (``[p]`` for parameters) against a five-point
      difference in float64 with a step of :math:`2^{-10}\max(1, |x|)` per point (never a
      step below a low-precision epsilon);
    * ``check_grads(order=...)``: ``jax.test_util.check_grads`` forward and reverse, float64;
    * ``kink@x``: the derivative at each declared kink, exactly;
    * ``<dtype> value`` and ``<dtype> d/dx`` for each of ``dtypes``: ``fn`` and its
      derivative computed natively (jitted) in that dtype, max error in ulps of the dtype
      against a float64 truth wherever the truth is a normal number (bounds: 1 ulp for
      16-bit, 4 for float32 unless ``bounds`` says otherwise); NaN or inf where the truth is
      finite, or a flush above one smallest normal where the truth is subnormal, fails.
      The truth is ``truth``/``truth_derivative`` if given, else ``fn`` itself evaluated in
      float64 (validated by the ``value`` and ``grad`` rows), so a cancellation or flush
      that only low precision suffers shows up even where a naive reference would also
      lose digits;
    * ``<dtype> limits``: value and derivative at :math:`-\infty, \infty, -\max, \max` against
      the float64 truth (at :math:`\pm\infty`: the truth at the float64 extremes), and
      NaN in gives NaN out;
    * ``jit``, ``vmap``: against op-by-op and unbatched evaluation, float32;
    * ``backend:<platform>``: every platform ``jax.devices()`` offers against the CPU.

    For row functions (``kind`` other than ``"elementwise"``) the precision and limit rows
    use a one-variable slice (see :func:`slice_of`); their derivative is measured as an
    absolute error in eps by default (the softmax JVP cancels by design).

    Args:
      fn: the activation: ``fn(x, **params)``.
      reference: the plain formula it should equal: ``reference(x, **params)``.
      params: keyword hyperparameters passed to both; every floating-point one is
        differentiated (scalars or arrays; ints, bools and strings are held fixed).
      derivative: optional analytic :math:`f'(x)` (elementwise activations), with params.
      points: inputs for the float64 checks; by default a grid over ``domain`` away from the
        kinks (rows of 6 uniform logits for row functions).
      domain: the interval of the default grid.
      kinks: ``(x, f'(x))`` pairs: the derivative convention at each kink.
      kinks2: points where only the second derivative jumps (kept out of the default grid).
      kind: ``"elementwise"``, ``"normalizer"`` (rows along the last axis, shape kept),
        ``"reduction"`` (rows to scalars) or ``"gated"`` (last axis split into value and
        gate halves).
      name: the name used in the report.
      rtol, atol: float64 tolerances for the value, grad and derivative comparisons.
      order: the order for ``check_grads``.
      dtypes: the dtypes of the precision and limit scans (``()`` to skip them).
      bounds: per-dtype bound, or ``(value, derivative)`` bounds, replacing the defaults.
      f32_count: the number of float32 samples.
      truth, truth_derivative: float64 truths of the value and the derivative (of the slice,
        for row functions), if you have better ones than ``fn`` in float64.
      value_abs, derivative_abs: measure the value (derivative) as an absolute error in eps
        instead of ulps (``derivative_abs`` defaults to ``kind == "normalizer"``).
      limits: run the limit rows.
      raise_on_failure: raise ``AssertionError`` with the report if any check fails.

    Returns:
      A :class:`CheckReport`; ``str(report)`` is a readable table.

    Examples:
      >>> from jaxact.testing import check_activation
      >>> report = check_activation(jaxact.sigmoid, lambda x: 1 / (1 + jnp.exp(-x)))
      >>> report.ok
      True
      >>> print(report["float32 d/dx"].detail)
      100012 inputs: max 1.6 ulp (bound 4)
    """
    if kind not in KINDS:
        raise ValueError(f"check_activation: kind must be one of {KINDS}, got {kind!r}")
    params = dict(params or {})
    bound_fn = functools.partial(fn, **params) if params else fn
    bound_ref = functools.partial(reference, **params) if params else reference
    report = CheckReport(name or getattr(fn, "__name__", repr(fn)))
    kink_xs = [k for k, _ in kinks] + list(kinks2)
    pts = np.asarray(
        _default_points(domain, kink_xs, kind) if points is None else points, dtype=np.float64
    )
    elementwise = kind == "elementwise"
    at = pts if elementwise else None
    diff_params = [p for p, v in params.items() if _is_differentiable(v)]

    with jax.enable_x64(True):
        x64 = jnp.asarray(pts, dtype=jnp.float64)
        p64 = {p: jnp.asarray(v, jnp.float64) for p, v in params.items() if p in diff_params}
        _run(
            report,
            "value",
            lambda: _compare("value", bound_fn(x64), bound_ref(x64), rtol, atol, REFERENCE, at),
        )
        want = None
        try:
            want = _grad_fn(bound_ref, kind)(x64)
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            report.add("grad", False, f"jax.grad(reference) raised {type(e).__name__}: {e}")
        if want is not None:
            w = want
            _run(
                report,
                "grad",
                lambda: _compare(
                    "grad", _grad_fn(bound_fn, kind)(x64), w, rtol, atol, REFERENCE, at
                ),
            )
            if derivative is not None:
                d = functools.partial(derivative, **params) if params else derivative
                _run(
                    report,
                    "derivative",
                    lambda: _compare("derivative", d(x64), w, rtol, atol, REFERENCE, at),
                )
        for p in diff_params:
            fp, rp = _partial(fn, {**params, **p64}, p), _partial(reference, {**params, **p64}, p)
            one = jnp.ones_like(p64[p])

            def param_check(fp: Fn = fp, rp: Fn = rp, p: str = p, one: Array = one) -> Check:
                got = jax.jvp(lambda q: fp(x64, q), (p64[p],), (one,))[1]
                ref = jax.jvp(lambda q: rp(x64, q), (p64[p],), (one,))[1]
                return _compare(f"grad[{p}]", got, ref, rtol, atol, REFERENCE, at)

            _run(report, f"grad[{p}]", param_check)
        _run(
            report,
            "finite differences",
            lambda: _fd_check("finite differences", bound_fn, x64, kind, 1e-6),
        )
        for p in diff_params:
            fp = _partial(fn, {**params, **p64}, p)

            def param_fd(fp: Fn = fp, p: str = p) -> Check:
                p0 = p64[p]
                one = jnp.ones_like(p0)
                h = 2.0**-10 * jnp.maximum(1.0, jnp.max(jnp.abs(p0)))
                f = lambda q: fp(x64, q)
                got = jax.jvp(f, (p0,), (one,))[1]
                return _fd_compare(f"finite differences[{p}]", got, f, p0, one, h, 1e-6, at)

            _run(report, f"finite differences[{p}]", param_fd)
        _run(report, f"check_grads(order={order})", lambda: _check_grads(bound_fn, x64, order))
        for k, expected in kinks:
            xk = jnp.asarray(k, jnp.float64)

            def kink_check(xk: Array = xk, expected: float = expected) -> Check:
                g = _f(jax.grad(bound_fn)(xk))
                return Check(
                    f"kink@{_f(xk):g}",
                    g == expected,
                    f"f'({_f(xk)}) = {g}, convention {expected}",
                    worst_input=_f(xk),
                    got=g,
                    want=float(expected),
                    against="the declared convention",
                )

            _run(report, f"kink@{k:g}", kink_check)

    if dtypes:
        _precision(
            report,
            slice_of(bound_fn, kind),
            truth,
            truth_derivative,
            dtypes,
            bounds or {},
            f32_count,
            value_abs,
            derivative_abs if derivative_abs is not None else kind == "normalizer",
            limits,
        )

    _transforms(report, bound_fn, pts, kind)
    if raise_on_failure and not report.ok:
        raise AssertionError(str(report))
    return report


def _precision(
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
) -> None:
    own_v, own_d = _truths(scalar_fn)
    tv = truth if truth is not None else own_v
    td = truth_derivative if truth_derivative is not None else own_d
    src = "the given float64 truth" if truth is not None else "fn in float64"
    for dtype in dtypes:
        if dtype not in DEFAULT_BOUNDS:
            raise ValueError(f"check_activation: dtypes must be among {DTYPES}, got {dtype!r}")
        b = bounds.get(dtype, DEFAULT_BOUNDS[dtype])
        vb, db = (float(b), float(b)) if isinstance(b, int | float) else (float(b[0]), float(b[1]))
        x = scan_inputs(dtype, f32_count)

        def scan(
            x: np.ndarray = x, dtype: str = dtype, vb: float = vb, db: float = db
        ) -> list[Check]:
            # One compiled value and gradient program per dtype for the scan and the limits.
            value, grad = native(scalar_fn, np.concatenate([x, _limit_inputs(dtype)]))
            assert grad is not None
            n = x.size
            v, d = measure(
                scalar_fn, tv, td, x, derivative_abs, value_abs, computed=(value[:n], grad[:n])
            )
            assert d is not None
            what = f"{n} inputs"
            rows = [
                _stat_check(f"{dtype} value", v, vb, f"{TRUTH} ({src})", what),
                _stat_check(f"{dtype} d/dx", d, db, f"{TRUTH} ({src})", what),
            ]
            if limits:
                lim = _limits_check(
                    dtype, value[n:], grad[n:], tv, td, (vb, db), value_abs, derivative_abs
                )
                rows.append(lim)
            return rows

        names = [f"{dtype} value", f"{dtype} d/dx"] + ([f"{dtype} limits"] if limits else [])
        _run_many(report, names, scan)


def _transforms(report: CheckReport, fn: Fn, pts: np.ndarray, kind: str) -> None:
    x32 = jnp.asarray(pts, dtype=jnp.float32)
    # Fusion and FMA contraction change roundings under jit: agreement to 1e-4 relative
    # catches real divergence (another branch, a stale constant) without flagging the
    # float32 tails where one ulp of an exponent's argument is 100 ulps of the result.
    tol32 = dict(rtol=1e-4, atol=1e-30)
    at = pts if kind == "elementwise" else None

    def jit_check() -> Check:
        with jax.disable_jit():
            eager = fn(x32)
        return _compare(
            "jit", jax.jit(fn)(x32), eager, against="op-by-op evaluation", x=at, **tol32
        )

    _run(report, "jit", jit_check)

    def vmap_check() -> Check:
        rows = jnp.stack([x32, x32[::-1]])
        g = _grad_fn(fn, kind)
        return _value_and_grad_check(
            "vmap",
            (jax.vmap(fn)(rows), jnp.stack([fn(x32), fn(x32[::-1])])),
            (jax.vmap(g)(rows), jnp.stack([g(x32), g(x32[::-1])])),
            "unbatched calls",
            None,
            tol32,
        )

    _run(report, "vmap", vmap_check)

    cpu = jax.devices("cpu")[0]
    base_v = fn(jax.device_put(x32, cpu))
    base_g = _grad_fn(fn, kind)(jax.device_put(x32, cpu))
    # Accelerators may use other exp/log kernels than the CPU: allow a few ulps.
    loose = dict(rtol=64 * float(jnp.finfo(jnp.float32).eps), atol=1e-30)
    for platform in sorted({d.platform for d in jax.devices()}):
        dev = jax.devices(platform)[0]

        def backend_check(dev: Any = dev, platform: str = platform) -> Check:
            xd = jax.device_put(x32, dev)
            v, g = jax.device_get(fn(xd)), jax.device_get(_grad_fn(fn, kind)(xd))
            c = _value_and_grad_check(
                f"backend:{platform}",
                (v, jax.device_get(base_v)),
                (g, jax.device_get(base_g)),
                "the CPU",
                at,
                loose,
            )
            c.detail = f"{dev}: {c.detail}"
            return c

        _run(report, f"backend:{platform}", backend_check)


def _value_and_grad_check(
    check: str,
    value: tuple[Any, Any],
    grad: tuple[Any, Any],
    against: str,
    at: Any,
    tol: dict[str, float],
) -> Check:
    """One row for two comparisons (got, want): the value's and the gradient's; the worse
    one's figures, both details."""
    c1 = _compare(check, *value, against=f"{against} (value)", x=at, **tol)
    c2 = _compare(check, *grad, against=f"{against} (gradient)", x=at, **tol)
    worst = c1 if not c1.ok else c2
    worst.detail = f"value: {c1.detail}; grad: {c2.detail}"
    return worst


def _check_grads(fn: Fn, x: Array, order: int) -> Check:
    check_grads(fn, (x,), order=order, modes=("fwd", "rev"), atol=1e-6, rtol=1e-6, eps=1e-5)
    return Check(
        f"check_grads(order={order})", True, f"fwd+rev to order {order} at {x.size} points"
    )


def _failed(check: str, e: Exception) -> Check:
    if isinstance(e, AssertionError):
        return Check(check, False, " ".join(str(e).split())[:400])
    # A crash is a failed check, reported by name.
    return Check(check, False, f"raised {type(e).__name__}: {' '.join(str(e).split())[:300]}")


def _run(report: CheckReport, check: str, body: Callable[[], Check]) -> None:
    try:
        row = body()
    except Exception as e:  # noqa: BLE001 - reported by name, never swallowed
        row = _failed(check, e)
    row.check = check
    report.rows.append(row)


def _run_many(report: CheckReport, checks: list[str], body: Callable[[], list[Check]]) -> None:
    try:
        report.rows.extend(body())
    except Exception as e:  # noqa: BLE001 - reported by name, never swallowed
        report.rows.extend(_failed(c, e) for c in checks)


def assert_activation(fn: Fn, reference: Fn, **kwargs: Any) -> CheckReport:
    """:func:`check_activation` for pytest: a failing check fails the test with the report
    as the message (and no traceback into jaxact).

    Examples:
      >>> from jaxact.testing import assert_activation
      >>> _ = assert_activation(jaxact.relu, lambda x: jnp.maximum(x, 0), kinks=((0.0, 0.0),))
    """
    __tracebackhide__ = True
    report = check_activation(fn, reference, **{**kwargs, "raise_on_failure": False})
    if not report.ok:
        raise AssertionError(str(report))
    return report


def residuals(fn: Fn, *args: Any) -> list[jax.ShapeDtypeStruct]:
    """Shapes and dtypes of the arrays reverse mode keeps from the forward pass of ``fn``.

    These are the leaves of the function ``jax.vjp`` returns, found without running
    anything (``jax.eval_shape``).

    Examples:
      >>> [str(r.dtype) for r in jaxact.testing.residuals(jaxact.relu, jnp.ones(4))]
      ['bool']
    """
    out = jax.eval_shape(lambda *a: jax.tree.leaves(jax.vjp(fn, *a)[1]), *args)
    return list(out)


def residual_bytes(fn: Fn, *args: Any) -> int:
    """Total bytes of :func:`residuals`.

    Examples:
      >>> jaxact.testing.residual_bytes(jaxact.sigmoid, jnp.ones(1000))
      4000
    """
    return int(
        sum(np.prod(r.shape, dtype=np.int64) * r.dtype.itemsize for r in residuals(fn, *args))
    )
