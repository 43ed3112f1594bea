"""``check_activation``: verify any activation against a plain reference formula."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.test_util import check_grads

__all__ = ["CheckReport", "check_activation", "residual_bytes", "residuals"]

Fn = Callable[..., Array]


@dataclass
class CheckReport:
    """The outcome of :func:`check_activation`: one row per check."""

    name: str
    rows: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.rows)

    def add(self, check: str, ok: bool, detail: str = "") -> None:
        self.rows.append((check, bool(ok), detail))

    def __str__(self) -> str:
        width = max((len(c) for c, _, _ in self.rows), default=5)
        lines = [f"check_activation({self.name}): {'PASS' if self.ok else 'FAIL'}"]
        for check, ok, detail in self.rows:
            lines.append(f"  {'ok  ' if ok else 'FAIL'} {check:<{width}}  {detail}")
        return "\n".join(lines)


def _max_err(a: Any, b: Any, rtol: float, atol: float) -> tuple[bool, str]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False, f"shape {a.shape} != reference shape {b.shape}"
    same_nan = np.isnan(a) == np.isnan(b)
    if not same_nan.all():
        i = int(np.argmin(same_nan.ravel()))
        return False, f"NaN mismatch at flat index {i}: got {a.ravel()[i]}, want {b.ravel()[i]}"
    with np.errstate(invalid="ignore"):
        err = np.where(np.isnan(a) | (a == b), 0.0, np.abs(a - b))
        tol = atol + rtol * np.abs(b)
        excess = np.where(np.isfinite(err), err / tol, np.inf)
    if excess.size == 0:
        return True, "empty"
    i = int(np.argmax(excess))
    worst = f"max abs err {float(err.ravel()[i]):.3g} at flat index {i}"
    if excess.ravel()[i] <= 1:
        return True, worst
    return False, f"{worst}: got {a.ravel()[i]!r}, want {b.ravel()[i]!r} (rtol={rtol}, atol={atol})"


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


def check_activation(
    fn: Fn,
    reference: Fn,
    *,
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
    raise_on_failure: bool = True,
) -> CheckReport:
    r"""Verify an activation (and its custom derivative) against a plain reference formula.

    Checks, each reported on one line:

    * ``value``: ``fn`` against ``reference`` in float64;
    * ``grad``: ``jax.grad(fn)`` against ``jax.grad(reference)``, batched with ``vmap``, in
      float64 (``jacrev`` per row for ``kind="normalizer"``);
    * ``derivative``: the analytic ``derivative(x)``, if given, against ``jax.grad(reference)``;
    * ``check_grads``: ``jax.test_util.check_grads`` to ``order``, forward and reverse mode,
      in float64 (finite differences);
    * ``kink``: the derivative at each ``(x, expected)`` in ``kinks``, exactly;
    * ``jit``: ``jax.jit(fn)`` against op-by-op evaluation (``jax.disable_jit``), float32;
    * ``vmap``: ``vmap(fn)`` and ``vmap(grad(fn))`` against unbatched calls, float32;
    * ``backend:<platform>``: value and gradient on every platform ``jax.devices()`` offers
      against the CPU, float32.

    Args:
      fn: the activation, a function of one array.
      reference: the plain formula it should equal, a function of one array.
      derivative: optional analytic :math:`f'(x)` (elementwise activations).
      points: inputs to check at; by default a grid over ``domain`` away from the kinks
        (rows of 5 uniform logits for normalizers).
      domain: the interval of the default grid.
      kinks: ``(x, f'(x))`` pairs: the derivative convention at each kink.
      kinks2: points where only the second derivative jumps (kept out of the default grid,
        since finite differences of order 2 straddle them).
      kind: ``"elementwise"``, or any other name for a function of rows (last axis),
        checked through ``jacrev`` per row.
      name: the name used in the report.
      rtol, atol: float64 tolerances for the value, grad and derivative comparisons.
      order: the order for ``check_grads``.
      raise_on_failure: raise ``AssertionError`` with the report if any check fails.

    Returns:
      A :class:`CheckReport`; ``str(report)`` is a readable table.

    Examples:
      >>> from jaxact.testing import check_activation
      >>> report = check_activation(jaxact.sigmoid, lambda x: 1 / (1 + jnp.exp(-x)))
      >>> report.ok
      True
    """
    report = CheckReport(name or getattr(fn, "__name__", repr(fn)))
    kink_xs = [k for k, _ in kinks] + list(kinks2)
    pts = np.asarray(
        _default_points(domain, kink_xs, kind) if points is None else points, dtype=np.float64
    )

    with jax.enable_x64(True):
        x64 = jnp.asarray(pts, dtype=jnp.float64)
        _run(report, "value", lambda: _max_err(fn(x64), reference(x64), rtol, atol))
        want = None
        try:
            want = _grad_fn(reference, kind)(x64)
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            report.add("grad", False, f"jax.grad(reference) raised {type(e).__name__}: {e}")
        if want is not None:
            w = want
            _run(report, "grad", lambda: _max_err(_grad_fn(fn, kind)(x64), w, rtol, atol))
            if derivative is not None:
                _run(report, "derivative", lambda: _max_err(derivative(x64), w, rtol, atol))
        _run(report, f"check_grads(order={order})", lambda: _check_grads(fn, x64, order))
        for k, expected in kinks:
            xk = jnp.asarray(k, jnp.float64)

            def kink_check(xk: Array = xk, expected: float = expected) -> tuple[bool, str]:
                g = float(jax.grad(fn)(xk))
                return g == expected, f"f'({float(xk)}) = {g}, convention {expected}"

            _run(report, f"kink@{k}", kink_check)

    x32 = jnp.asarray(pts, dtype=jnp.float32)
    # Fusion and FMA contraction change roundings under jit: agreement to 1e-4 relative
    # catches real divergence (another branch, a stale constant) without flagging the
    # float32 tails where one ulp of an exponent's argument is 100 ulps of the result.
    tol32 = dict(rtol=1e-4, atol=1e-30)

    def jit_check() -> tuple[bool, str]:
        with jax.disable_jit():
            eager = fn(x32)
        return _max_err(jax.jit(fn)(x32), eager, **tol32)

    _run(report, "jit", jit_check)

    def vmap_check() -> tuple[bool, str]:
        rows = jnp.stack([x32, x32[::-1]])
        ok1, d1 = _max_err(jax.vmap(fn)(rows), jnp.stack([fn(x32), fn(x32[::-1])]), **tol32)
        g = _grad_fn(fn, kind)
        ok2, d2 = _max_err(jax.vmap(g)(rows), jnp.stack([g(x32), g(x32[::-1])]), **tol32)
        return ok1 and ok2, f"value: {d1}; grad: {d2}"

    _run(report, "vmap", vmap_check)

    cpu = jax.devices("cpu")[0]
    base_v = fn(jax.device_put(x32, cpu))
    base_g = _grad_fn(fn, kind)(jax.device_put(x32, cpu))
    for platform in sorted({d.platform for d in jax.devices()}):
        dev = jax.devices(platform)[0]

        def backend_check(dev: Any = dev) -> tuple[bool, str]:
            xd = jax.device_put(x32, dev)
            v, g = fn(xd), _grad_fn(fn, kind)(xd)
            # Accelerators may use other exp/log kernels than the CPU: allow a few ulps.
            loose = dict(rtol=64 * float(jnp.finfo(jnp.float32).eps), atol=1e-30)
            ok1, d1 = _max_err(jax.device_get(v), jax.device_get(base_v), **loose)
            ok2, d2 = _max_err(jax.device_get(g), jax.device_get(base_g), **loose)
            return ok1 and ok2, f"{dev}: value {d1}; grad {d2}"

        _run(report, f"backend:{platform}", backend_check)

    if raise_on_failure and not report.ok:
        raise AssertionError(str(report))
    return report


def _check_grads(fn: Fn, x: Array, order: int) -> tuple[bool, str]:
    check_grads(fn, (x,), order=order, modes=("fwd", "rev"), atol=1e-6, rtol=1e-6, eps=1e-5)
    return True, f"fwd+rev to order {order} at {x.size} points"


def _run(report: CheckReport, check: str, body: Callable[[], tuple[bool, str]]) -> None:
    try:
        ok, detail = body()
    except AssertionError as e:
        ok, detail = False, " ".join(str(e).split())[:400]
    except Exception as e:  # noqa: BLE001 - a crash is a failed check, reported by name
        ok, detail = False, f"raised {type(e).__name__}: {' '.join(str(e).split())[:300]}"
    report.add(check, ok, detail)


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
