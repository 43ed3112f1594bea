"""``python -m jaxact``: the verification report for every activation on every local backend."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import jax
import numpy as np

from jaxact._src.accuracy import UlpStats, measure
from jaxact._src.registry import ALIASES, BY_NAME, Spec, select
from jaxact._src.testing import DTYPES, Check, check_activation, scan_inputs, strict_json


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if not np.isfinite(v):
        return "inf"
    return f"{v:.2f}" if v < 1e4 else f"{v:.2e}"


def _stats_json(s: UlpStats | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"max": s.max_ulp, "unit": s.unit, "bad": s.bad, "worst_input": s.worst_input}


def _row_json(c: Check) -> dict[str, Any]:
    return {"max": c.error, "unit": c.unit, "bad": c.bad, "worst_input": c.worst_input}


def _jax_nn_stats(spec: Spec, x: np.ndarray) -> tuple[UlpStats | None, UlpStats | None]:
    fn = spec.jax_nn_scalar_fn
    if fn is None:
        return None, None
    kinks = np.array([k for k, _ in spec.kinks], dtype=np.float64)
    if kinks.size:  # conventions at kinks differ by library; compare elsewhere
        x = x[~np.isin(x.astype(np.float64), kinks)]
    try:
        return measure(
            fn,
            spec.bound_truth,
            spec.bound_truth_derivative,
            x,
            spec.derivative_abs,
            spec.value_abs,
        )
    except Exception:  # noqa: BLE001 - jax.nn may reject a dtype; shown as "-"
        return None, None


def verify(spec: Spec, dtypes: Sequence[str]) -> dict[str, Any]:
    """All checks for one activation (``check_activation`` with the registry's truths and
    bounds), as a JSON-able dict with an ``ok`` verdict and jax.nn's figures beside ours."""
    report = check_activation(**spec.verifier_kwargs(tuple(dtypes)), raise_on_failure=False)
    rows = []
    scans = {f"{d} value" for d in dtypes} | {f"{d} d/dx" for d in dtypes}
    for dtype in dtypes:
        v, d = report[f"{dtype} value"], report[f"{dtype} d/dx"]
        nv, nd = _jax_nn_stats(spec, scan_inputs(dtype))
        rows.append(
            {
                "dtype": dtype,
                "inputs": int(scan_inputs(dtype).size),
                "bounds": list(spec.bounds(dtype)),
                "value": _row_json(v),
                "derivative": _row_json(d),
                "jax_nn_value": _stats_json(nv),
                "jax_nn_derivative": _stats_json(nd),
                "ok": v.ok and d.ok,
            }
        )
    return {
        "name": spec.name,
        "ok": report.ok,
        "accuracy": rows,
        "checks": [
            {"check": c.check, "ok": c.ok, "detail": c.detail}
            for c in report.rows
            if c.check not in scans
        ],
    }


def _print_table(results: list[dict[str, Any]], out: TextIO) -> None:
    w = max([16, *(len(r["name"]) + 2 for r in results)])  # softplus(beta=1.5) and the like
    head = (
        f"{'function':<{w}}{'dtype':<10}{'inputs':>8}  {'value':>8}  {'d/dx':>10}"
        f"  {'bound':>11}  {'jax.nn value':>12}  {'jax.nn d/dx':>11}  result"
    )
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in results:
        for i, a in enumerate(r["accuracy"]):
            d = a["derivative"]
            dtxt = _fmt(d["max"]) + (" eps" if d["unit"] == "eps" else "")
            bad = a["value"]["bad"] + d["bad"]
            verdict = "ok" if a["ok"] else "FAIL" + (f" ({bad} non-finite)" if bad else "")
            nv = a["jax_nn_value"]
            nd = a["jax_nn_derivative"]
            vb, db = a["bounds"]
            print(
                f"{r['name'] if i == 0 else '':<{w}}{a['dtype']:<10}{a['inputs']:>8}"
                f"  {_fmt(a['value']['max']):>8}  {dtxt:>10}  {_fmt(vb) + ' / ' + _fmt(db):>11}"
                f"  {_fmt(nv and nv['max']):>12}  {_fmt(nd and nd['max']):>11}  {verdict}",
                file=out,
            )
        failed = [c for c in r["checks"] if not c["ok"]]
        names = " ".join(c["check"] for c in r["checks"])
        if failed:
            for c in failed:
                print(f"{'':<{w}}FAIL {c['check']}: {c['detail']}", file=out)
        else:
            print(f"{'':<{w}}checks ok: {names}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jaxact",
        epilog=(
            "python -m jaxact plot --out DIR draws every activation (needs matplotlib); "
            "python -m jaxact verify MODULE:FN MODULE:REF checks your own."
        ),
        description=(
            "Verify every jaxact activation on every local backend, at its defaults and at "
            "representative hyperparameter settings: max ulp error of the value "
            "and the derivative against a float64 truth (every finite bfloat16/float16 input, "
            "1e5 float32 inputs), jax.nn's figures beside them, check_grads to order 2, "
            "jit/vmap agreement. Exit status 1 if anything fails."
        ),
    )
    parser.add_argument("--only", help="comma-separated activation names (default: all)")
    parser.add_argument(
        "--dtype", help=f"comma-separated dtypes among {', '.join(DTYPES)} (default: all)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--defaults-only",
        action="store_true",
        help="skip the representative hyperparameter settings (softplus(beta=1.5), ...)",
    )
    args = parser.parse_args(argv)

    specs, unknown = select(args.only)
    if unknown:
        print(
            f"python -m jaxact: unknown activation {', '.join(unknown)}; "
            f"known: {', '.join(BY_NAME)} (and the aliases {', '.join(ALIASES)})",
            file=sys.stderr,
        )
        return 2
    if not args.defaults_only:  # each entry, then its representative hyperparameter settings
        specs = [v for s in specs for v in (s, *s.variants())]
    dtypes: list[str] = list(DTYPES)
    if args.dtype:
        dtypes = [d.strip() for d in args.dtype.split(",") if d.strip()]
        unknown = [d for d in dtypes if d not in DTYPES]
        if unknown:
            print(
                f"python -m jaxact: unknown dtype {', '.join(unknown)}; known: {', '.join(DTYPES)}",
                file=sys.stderr,
            )
            return 2

    devices = jax.devices()
    platforms = sorted({d.platform for d in devices})
    if not args.json:
        print(
            f"jaxact verification: jax {jax.__version__}, backends {', '.join(platforms)} "
            f"({len(devices)} devices); each row shows its own (value / d/dx) bound"
        )
    results = []
    start = time.perf_counter()
    for i, spec in enumerate(specs, 1):
        print(f"[{i}/{len(specs)}] {spec.name} ...", file=sys.stderr, flush=True)
        results.append(verify(spec, dtypes))
    elapsed = time.perf_counter() - start
    failed = [r["name"] for r in results if not r["ok"]]
    if args.json:
        json.dump(
            strict_json({"jax": jax.__version__, "backends": platforms, "results": results}),
            sys.stdout,
            indent=1,
            allow_nan=False,
        )
        print()
    else:
        print()
        _print_table(results, sys.stdout)
        print()
        print(
            "jax.nn columns: the same inputs, kink points left out (conventions differ); "
            "'eps' marks an absolute error."
        )
    summary = (
        f"{len(results) - len(failed)} of {len(results)} activations passed "
        f"on {', '.join(platforms)} in {elapsed:.0f}s"
    )
    if failed:
        summary += f"; FAILED: {', '.join(failed)}"
    print(summary, file=sys.stderr if args.json else sys.stdout)
    return 1 if failed else 0
