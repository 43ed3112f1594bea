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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.test_util import check_grads

from jaxact._src.checks import (
    DEFAULT_BOUNDS as DEFAULT_BOUNDS,
)
from jaxact._src.checks import (
    DTYPES,
    FINITE_DIFF,
    REFERENCE,
    Check,
    CheckReport,
    as_float,
    compare,
    run_check,
    value_and_grad_check,
)
from jaxact._src.checks import (
    strict_json as strict_json,
)
from jaxact._src.precision import precision_rows
from jaxact._src.precision import scan_inputs as scan_inputs
from jaxact._src.verifier_setup import second_derivative_hints, validate_call

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
    """The derivative at each point (the Jacobian of each row), as one compiled program."""
    if kind != "elementwise":
        return jax.jit(jax.vmap(jax.jacrev(f)))
    return jax.jit(jax.vmap(jax.grad(f)))


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
    """The forward-mode derivative of ``fn`` at ``x`` along ``v`` (one compiled program)."""
    return jax.jit(lambda x, v: jax.jvp(fn, (x,), (v,))[1])(x, v)


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
        w = np.asarray(jax.jit(functools.partial(_five_point, fn))(x, v, step), np.float64)
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
    return compare(check, got, best_want, rtol, best_tol, FINITE_DIFF, x=at)


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
    kind: str | None = None,
    name: str | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    order: int = 2,
    dtypes: Sequence[str] = DTYPES,
    bounds: Mapping[str, float | tuple[float, float]] | None = None,
    f32_count: int = 100_000,
    count16: int | None = None,
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
        gate halves). By default the kind a jaxact function declares, else
        ``"elementwise"`` after a probe: a function whose output at an entry depends on
        the others (or that rejects scalars, or changes the shape) raises ``ValueError``
        saying which ``kind`` to pass.
      name: the name used in the report.
      rtol, atol: float64 tolerances for the value, grad and derivative comparisons.
      order: the order for ``check_grads``.
      dtypes: the dtypes of the precision and limit scans (``()`` to skip them).
      bounds: per-dtype bound, or ``(value, derivative)`` bounds, replacing the defaults.
      f32_count: the number of float32 samples.
      count16: scan about this many bfloat16 and float16 inputs (every binade of both
        signs, the subnormals, the extremes and the inputs next to each kink) instead of
        every finite one: a quick check (the test suite's fast tier) rather than a proof.
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
    params = dict(params or {})
    label: str = name or getattr(fn, "__name__", repr(fn))
    kind = validate_call(fn, reference, params, kind, label)
    report = CheckReport(label)
    kink_xs = [k for k, _ in kinks] + list(kinks2)
    pts = np.asarray(
        _default_points(domain, kink_xs, kind) if points is None else points, dtype=np.float64
    )
    with jax.enable_x64(True):
        case = _Case.make(fn, reference, params, pts, kind, rtol, atol)
        _reference_rows(report, case, derivative)
        _finite_difference_rows(report, case, order)
        second_derivative_hints(report, case.kind, case.bound_fn, case.x64)
        _kink_rows(report, case, kinks)
    if dtypes:
        precision_rows(
            report,
            slice_of(case.bound_fn, kind),
            truth,
            truth_derivative,
            dtypes,
            bounds or {},
            f32_count,
            value_abs,
            derivative_abs if derivative_abs is not None else kind == "normalizer",
            limits,
            count16,
            kink_xs if kind == "elementwise" else (),
        )
    _transforms(report, case.bound_fn, pts, kind)
    if raise_on_failure and not report.ok:
        raise AssertionError(str(report))
    return report


@dataclass(frozen=True)
class _Case:
    """What the float64 rows compare: ``fn`` and ``reference`` with their parameters, the
    points (``x64``), the differentiable parameters in float64 (``p64``), the tolerances,
    and ``at`` (the points, to name the worst input of an elementwise row)."""

    fn: Fn
    reference: Fn
    params: dict[str, Any]
    x64: Array
    p64: dict[str, Array]
    kind: str
    at: np.ndarray | None
    rtol: float
    atol: float

    @staticmethod
    def make(
        fn: Fn,
        reference: Fn,
        params: dict[str, Any],
        pts: np.ndarray,
        kind: str,
        rtol: float,
        atol: float,
    ) -> _Case:
        p64 = {p: jnp.asarray(v, jnp.float64) for p, v in params.items() if _is_differentiable(v)}
        at = pts if kind == "elementwise" else None
        x64 = jnp.asarray(pts, dtype=jnp.float64)
        return _Case(fn, reference, params, x64, p64, kind, at, rtol, atol)

    @property
    def bound_fn(self) -> Fn:
        return functools.partial(self.fn, **self.params) if self.params else self.fn

    @property
    def bound_ref(self) -> Fn:
        return functools.partial(self.reference, **self.params) if self.params else self.reference

    def of_param(self, fn: Fn, p: str) -> Fn:
        """``fn`` as a function of ``(x, value of p)``, the other parameters in float64."""
        return _partial(fn, {**self.params, **self.p64}, p)

    def compare(self, check: str, got: Any, want: Any) -> Check:
        return compare(check, got, want, self.rtol, self.atol, REFERENCE, self.at)


def _reference_rows(report: CheckReport, case: _Case, derivative: Fn | None) -> None:
    """``value``, ``grad``, ``derivative`` and ``grad[p]``: against autodiff of the reference."""
    x64 = case.x64
    run_check(
        report, "value", lambda: case.compare("value", case.bound_fn(x64), case.bound_ref(x64))
    )
    want = None
    try:
        want = _grad_fn(case.bound_ref, case.kind)(x64)
    except Exception as e:  # noqa: BLE001 - reported, not swallowed
        report.add("grad", False, f"jax.grad(reference) raised {type(e).__name__}: {e}")
    if want is not None:
        w = want
        got = lambda: _grad_fn(case.bound_fn, case.kind)(x64)
        run_check(report, "grad", lambda: case.compare("grad", got(), w))
        if derivative is not None:
            d = functools.partial(derivative, **case.params) if case.params else derivative
            run_check(report, "derivative", lambda: case.compare("derivative", d(x64), w))
    for p in case.p64:
        fp, rp = case.of_param(case.fn, p), case.of_param(case.reference, p)

        def param_check(fp: Fn = fp, rp: Fn = rp, p: str = p) -> Check:
            p0 = case.p64[p]
            one = jnp.ones_like(p0)
            got = _tangent_of(lambda q: fp(x64, q), p0, one)
            ref = _tangent_of(lambda q: rp(x64, q), p0, one)
            return case.compare(f"grad[{p}]", got, ref)

        run_check(report, f"grad[{p}]", param_check)


def _finite_difference_rows(report: CheckReport, case: _Case, order: int) -> None:
    """``finite differences`` (and ``[p]`` for each parameter) and ``check_grads``."""
    x64 = case.x64
    run_check(
        report,
        "finite differences",
        lambda: _fd_check("finite differences", case.bound_fn, x64, case.kind, 1e-6),
    )
    for p in case.p64:
        fp = case.of_param(case.fn, p)

        def param_fd(fp: Fn = fp, p: str = p) -> Check:
            p0 = case.p64[p]
            one = jnp.ones_like(p0)
            h = 2.0**-10 * jnp.maximum(1.0, jnp.max(jnp.abs(p0)))
            f = lambda q: fp(x64, q)
            got = _tangent_of(f, p0, one)
            return _fd_compare(f"finite differences[{p}]", got, f, p0, one, h, 1e-6, case.at)

        run_check(report, f"finite differences[{p}]", param_fd)
    run_check(
        report, f"check_grads(order={order})", lambda: _check_grads(case.bound_fn, x64, order)
    )


def _kink_rows(report: CheckReport, case: _Case, kinks: Sequence[tuple[float, float]]) -> None:
    """``kink@x``: the derivative at each declared kink, exactly the declared convention."""
    for k, expected in kinks:
        xk = jnp.asarray(k, jnp.float64)

        def kink_check(xk: Array = xk, expected: float = expected) -> Check:
            g = as_float(jax.grad(case.bound_fn)(xk))
            return Check(
                f"kink@{as_float(xk):g}",
                g == expected,
                f"f'({as_float(xk)}) = {g}, convention {expected}",
                worst_input=as_float(xk),
                got=g,
                want=float(expected),
                against="the declared convention",
            )

        run_check(report, f"kink@{k:g}", kink_check)


def _transforms(report: CheckReport, fn: Fn, pts: np.ndarray, kind: str) -> None:
    x32 = jnp.asarray(pts, dtype=jnp.float32)
    # Fusion and FMA contraction change roundings under jit: agreement to 1e-4 relative
    # catches real divergence (another branch, a stale constant) without flagging the
    # float32 tails where one ulp of an exponent's argument is 100 ulps of the result.
    tol32 = dict(rtol=1e-4, atol=1e-30)
    at = pts if kind == "elementwise" else None
    g = _grad_fn(fn, kind)

    def jit_check() -> Check:
        with jax.disable_jit():
            eager = fn(x32)
        return compare("jit", jax.jit(fn)(x32), eager, against="op-by-op evaluation", x=at, **tol32)

    run_check(report, "jit", jit_check)

    def vmap_check() -> Check:
        rows = jnp.stack([x32, x32[::-1]])
        return value_and_grad_check(
            "vmap",
            (jax.jit(jax.vmap(fn))(rows), jnp.stack([fn(x32), fn(x32[::-1])])),
            (jax.jit(jax.vmap(g))(rows), jnp.stack([g(x32), g(x32[::-1])])),
            "unbatched calls",
            None,
            tol32,
        )

    run_check(report, "vmap", vmap_check)

    cpu = jax.devices("cpu")[0]
    base_v = fn(jax.device_put(x32, cpu))
    base_g = g(jax.device_put(x32, cpu))
    # Accelerators may use other exp/log kernels than the CPU: allow a few ulps.
    loose = dict(rtol=64 * float(jnp.finfo(jnp.float32).eps), atol=1e-30)
    for platform in sorted({d.platform for d in jax.devices()}):
        dev = jax.devices(platform)[0]

        def backend_check(dev: Any = dev, platform: str = platform) -> Check:
            xd = jax.device_put(x32, dev)
            v, gd = jax.device_get(fn(xd)), jax.device_get(g(xd))
            c = value_and_grad_check(
                f"backend:{platform}",
                (v, jax.device_get(base_v)),
                (gd, jax.device_get(base_g)),
                "the CPU",
                at,
                loose,
            )
            c.detail = f"{dev}: {c.detail}"
            return c

        run_check(report, f"backend:{platform}", backend_check)


def _check_grads(fn: Fn, x: Array, order: int) -> Check:
    check_grads(fn, (x,), order=order, modes=("fwd", "rev"), atol=1e-6, rtol=1e-6, eps=1e-5)
    return Check(
        f"check_grads(order={order})", True, f"fwd+rev to order {order} at {x.size} points"
    )


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
