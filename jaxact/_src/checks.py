"""The verifier's report: one :class:`Check` row per check in a :class:`CheckReport`, the
elementwise comparison behind most rows, and the runners that turn a raised error into a
failed row named after its check."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

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


def as_float(v: Any) -> float:
    return float(np.asarray(v, dtype=np.float64))


def compare(
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


def value_and_grad_check(
    check: str,
    value: tuple[Any, Any],
    grad: tuple[Any, Any],
    against: str,
    at: Any,
    tol: dict[str, float],
) -> Check:
    """One row for two comparisons (got, want): the value's and the gradient's; the worse
    one's figures, both details."""
    c1 = compare(check, *value, against=f"{against} (value)", x=at, **tol)
    c2 = compare(check, *grad, against=f"{against} (gradient)", x=at, **tol)
    worst = c1 if not c1.ok else c2
    worst.detail = f"value: {c1.detail}; grad: {c2.detail}"
    return worst


def failed(check: str, e: Exception) -> Check:
    if isinstance(e, AssertionError):
        return Check(check, False, " ".join(str(e).split())[:400])
    # A crash is a failed check, reported by name.
    return Check(check, False, f"raised {type(e).__name__}: {' '.join(str(e).split())[:300]}")


def run_check(report: CheckReport, check: str, body: Callable[[], Check]) -> None:
    try:
        row = body()
    except Exception as e:  # noqa: BLE001 - reported by name, never swallowed
        row = failed(check, e)
    row.check = check
    report.rows.append(row)


def run_checks(report: CheckReport, checks: list[str], body: Callable[[], list[Check]]) -> None:
    try:
        report.rows.extend(body())
    except Exception as e:  # noqa: BLE001 - reported by name, never swallowed
        report.rows.extend(failed(c, e) for c in checks)
