"""``python -m jaxact verify MODULE:FUNCTION MODULE:REFERENCE``: run ``check_activation`` on
your own activation from the command line."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from jaxact._src.checks import KINDS
from jaxact._src.testing import DTYPES, check_activation
from jaxact._src.verifier_setup import validate_call


class UsageError(Exception):
    """A bad command line: one line on stderr and exit status 2."""


def load(spec: str) -> Callable[..., Any]:
    """``pkg.module:name`` or ``path/to/file.py:name`` (``name`` may be dotted)."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"expected MODULE:FUNCTION, got {spec!r}")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise UsageError(f"no such file: {module_name}")
            loader = importlib.util.spec_from_file_location(path.stem, path)
            assert loader is not None and loader.loader is not None
            module = importlib.util.module_from_spec(loader)
            sys.modules[path.stem] = module
            loader.loader.exec_module(module)
        else:
            if "." not in sys.path:  # modules of the current directory, as python -m finds them
                sys.path.insert(0, ".")
            module = importlib.import_module(module_name)
    except UsageError:
        raise
    except Exception as e:  # the user's module failed to import: say which
        raise UsageError(f"cannot import {module_name}: {type(e).__name__}: {e}") from e
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"{spec} is not callable")
    return obj


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise UsageError(f"{what}: expected comma-separated numbers, got {text!r}") from e


def _kinks(text: str) -> list[tuple[float, float]]:
    out = []
    for item in text.split(","):
        x, sep, d = item.partition(":")
        if not sep:
            raise UsageError(f"--kinks: expected X:DERIVATIVE pairs, got {item!r}")
        out.append((_floats(x, "--kinks")[0], _floats(d, "--kinks")[0]))
    return out


def _bounds(text: str) -> dict[str, tuple[float, float]]:
    out = {}
    for item in text.split(","):
        dtype, sep, b = item.partition("=")
        if not sep or dtype not in DTYPES:
            raise UsageError(f"--bounds: expected DTYPE=VALUE[/DERIVATIVE] with DTYPE in {DTYPES}")
        v, _, d = b.partition("/")
        vb = _floats(v, "--bounds")[0]
        out[dtype] = (vb, _floats(d, "--bounds")[0] if d else vb)
    return out


class _Parser(argparse.ArgumentParser):
    """argparse's parser with its errors as one line (not the usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m jaxact verify",
        description=(
            "Verify your activation against a plain reference formula with "
            "jaxact.testing.check_activation: float64 agreement of the value and of every "
            "partial derivative (autodiff of the reference, finite differences), declared "
            "kinks, ulp errors in bfloat16/float16/float32 against a float64 truth, limits at "
            "+-inf and NaN, jit/vmap/backends. Exit status 1 if a check fails, 2 on bad usage."
        ),
        epilog=(
            "example: python -m jaxact verify examples/custom_activation.py:softsign_glu "
            "examples/custom_activation.py:reference --kinks2 0"
        ),
    )
    parser.add_argument("function", help="MODULE:FUNCTION or path/to/file.py:FUNCTION")
    parser.add_argument("reference", help="the plain formula, MODULE:FUNCTION or file.py:NAME")
    parser.add_argument("--params", help="keyword hyperparameters as JSON, e.g. '{\"alpha\": 0.5}'")
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default=None,
        help="default: the kind a jaxact function declares, else elementwise (checked)",
    )
    parser.add_argument("--kinks", help="X:DERIVATIVE pairs, comma-separated (e.g. 0:1)")
    parser.add_argument("--kinks2", help="points where only f'' jumps, comma-separated")
    parser.add_argument("--domain", help="LO,HI of the float64 grid (default -4,4)")
    parser.add_argument("--dtypes", help=f"comma-separated among {', '.join(DTYPES)}")
    parser.add_argument("--bounds", help="ulp bounds, e.g. float32=8 or bfloat16=1/2")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        fn, reference = load(args.function), load(args.reference)
        kw: dict[str, Any] = {}
        if args.params:
            try:
                params = json.loads(args.params)
            except json.JSONDecodeError as e:
                raise UsageError(f"--params is not JSON: {e}") from e
            if not isinstance(params, dict):
                raise UsageError("--params must be a JSON object of keyword arguments")
            kw["params"] = params
        if args.kinks:
            kw["kinks"] = _kinks(args.kinks)
        if args.kinks2:
            kw["kinks2"] = _floats(args.kinks2, "--kinks2")
        if args.domain:
            lo_hi = _floats(args.domain, "--domain")
            if len(lo_hi) != 2 or not lo_hi[0] < lo_hi[1]:
                raise UsageError(f"--domain: expected LO,HI with LO < HI, got {args.domain!r}")
            kw["domain"] = (lo_hi[0], lo_hi[1])
        if args.dtypes:
            dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
            unknown = [d for d in dtypes if d not in DTYPES]
            if unknown:
                raise UsageError(f"unknown dtype {', '.join(unknown)}; known: {', '.join(DTYPES)}")
            kw["dtypes"] = tuple(dtypes)
        if args.bounds:
            kw["bounds"] = _bounds(args.bounds)
        name = args.function.rpartition(":")[2]
        try:  # the usage errors check_activation raises before it runs anything
            kw["kind"] = validate_call(fn, reference, kw.get("params", {}), args.kind, name)
        except (TypeError, ValueError) as e:
            raise UsageError(str(e).removeprefix("check_activation: ")) from e
    except UsageError as e:
        print(f"python -m jaxact verify: {e}", file=sys.stderr)
        return 2
    report = check_activation(fn, reference, name=name, raise_on_failure=False, **kw)
    if args.json:
        print(report.to_json(indent=1))
    else:
        print(report)
    return 0 if report.ok else 1
