"""Generate the documentation's tables from the code and the measurements, so they cannot go stale.

* ``api``: every public function, from the catalogue (signature, docstring summary, jax.nn
  counterpart, what reverse mode keeps, aliases);
* ``kinks``: every declared kink (``jaxact._src.facts.Kink``) with the derivatives taken;
* ``accuracy``: the ulp table, from ``docs/accuracy.json`` (``python -m jaxact --json``);
  ``accuracy NAME ...``: the rows of the named functions (the API pages, one per function);
* ``speed``, ``latency``: the steady-state speed and memory table and the eager latencies,
  from ``benchmarks/results_cpu.json`` (``python benchmarks/bench.py --json FILE``);
* ``why``: the front page's comparison with jax.nn; its ulp and residual rows from the two
  files above, its kink row from the declared kinks, its other rows checked by
  ``tests/test_docs.py``.

Usage::

    python tools/doc_tables.py              # rewrite the tables in README.md and docs/**/*.md
    python tools/doc_tables.py --check      # exit 1 if a page differs (CI runs this)
    python tools/doc_tables.py --refresh    # rerun python -m jaxact --json first (~3 min)

Each table sits between ``<!-- generated:NAME ARGS -->`` and ``<!-- /generated:NAME -->``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ROOT / "README.md",
    *(p for p in sorted((ROOT / "docs").glob("**/*.md")) if "_build" not in p.parts),
]
ACCURACY = ROOT / "docs" / "accuracy.json"
SPEED = ROOT / "benchmarks" / "results_cpu.json"


def _public() -> list[tuple[str, Any]]:
    import jaxact
    from jaxact._src.facts import facts_of

    out = []
    for name in jaxact.__all__:
        obj = getattr(jaxact, name)
        try:
            facts = facts_of(obj)
        except TypeError:
            continue  # modules, helpers (activation, Select, Kink, Activation)
        if name in facts.aliases or name != facts.name:
            continue  # listed with its primary name
        out.append((name, obj))
    return out


def _signature(name: str, fn: Any) -> str:
    params = []
    for p in inspect.signature(fn).parameters.values():
        text = p.name if p.default is p.empty else f"{p.name}={p.default!r}"
        if p.kind is p.KEYWORD_ONLY and not any(q.startswith("*") for q in params):
            params.append("*")
        params.append(text)
    return f"{name}({', '.join(params)})"


_KEEPS = {
    "array": "x (one input-sized array)",
    "mask": "a 1-byte mask",
    "none": "nothing",
}


def api_table() -> str:
    from jaxact._src.facts import facts_of

    rows = [
        "| function | what it is | `jax.nn` | reverse mode keeps |",
        "|---|---|---|---|",
    ]
    for name, fn in _public():
        facts = facts_of(fn)
        summary = (inspect.getdoc(fn) or "").splitlines()[0].rstrip(".")
        # reST to MyST: :math:`tex` and :func:`name` become roles, ``code`` `code`.
        summary = re.sub(r":math:`([^`]*)`", r"{math}`\1`", summary)
        summary = re.sub(r":func:`~?([^`]*)`", r"{py:func}`\1 <jaxact.\1>`", summary)
        summary = summary.replace("``", "`").replace("|", "\\|")
        sig = f"{{py:func}}`{_signature(name, fn)} <jaxact.{name}>`" + "".join(
            f" = `{a}`" for a in facts.aliases
        )
        jnn = f"`{facts.jax_nn}`" if facts.jax_nn else "—"
        keeps = _KEEPS[facts.residual]
        if facts.kind != "elementwise" and facts.residual == "array":
            keeps = {"gated": "x", "pair": "value and gate"}.get(facts.kind, "x and row statistics")
        rows.append(f"| {sig} | {summary} | {jnn} | {keeps} |")
    return "\n".join(rows)


def kinks_table() -> str:
    from jaxact._src.facts import Kink, facts_of

    rows = ["| function | point | f′ taken | f″ taken | note |", "|---|---|---|---|---|"]
    for name, fn in _public():
        for k in facts_of(fn).kinks:
            rows.append(
                f"| {name} | {Kink.pretty(k.at)} | {Kink.pretty(k.d1)} | {Kink.pretty(k.d2)} "
                f"| {k.note or '—'} |"
            )
    return "\n".join(rows)


# A MyST block attribute: the table after it gets the class "numbers" (one line per cell,
# docs/_static/jaxact.css).
NUMBERS = "{.numbers}"


def _fmt(v: float | str | None) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):  # python -m jaxact --json writes non-finite numbers as strings
        return v
    if not math.isfinite(v):
        return "inf"
    return f"{v:.2f}" if v < 1e4 else f"{v:.1e}"


def _cell(stats: dict[str, Any] | None) -> str:
    if stats is None:
        return "—"
    text = _fmt(stats["max"]) + (" eps" if stats["unit"] == "eps" else "")
    return text + (f" ({stats['bad']} non-finite)" if stats["bad"] else "")


def _variants(names: tuple[str, ...]) -> list[str]:
    """The accuracy rows of the named functions: a pair form is measured as its unit, an
    erf-form option as its own row (``gelu_exact``)."""
    rows = []
    for name in names:
        base = name.removesuffix("_pair")
        rows += [base, f"{base}_exact"]
    return rows


def accuracy_table(*names: str) -> str:
    data = json.loads(ACCURACY.read_text())
    results = data["results"]
    if names:
        wanted = _variants(names)
        results = sorted(
            (r for r in results if r["name"] in wanted), key=lambda r: wanted.index(r["name"])
        )
        if not results:
            raise SystemExit(f"no accuracy rows for {names} in {ACCURACY.name}")
    rows = [
        NUMBERS,
        "| function | dtype | value | f′ | jax.nn value | jax.nn f′ | checks |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        checks = "all ok" if all(c["ok"] for c in r["checks"]) else "FAIL"
        for i, a in enumerate(r["accuracy"]):
            rows.append(
                f"| {r['name'] if i == 0 else ''} | {a['dtype']} | {_cell(a['value'])} "
                f"| {_cell(a['derivative'])} | {_cell(a['jax_nn_value'])} "
                f"| {_cell(a['jax_nn_derivative'])} | {checks if i == 0 else ''} |"
            )
    return "\n".join(rows)


def _bench() -> Any:
    """benchmarks/bench.py as a module (it renders its own tables)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = bench  # dataclasses look their module up while it loads
    spec.loader.exec_module(bench)
    return bench


def speed_table() -> str:
    bench = _bench()
    data = json.loads(SPEED.read_text())
    header = re.sub(r"(--[a-z-]+)", r"`\1`", data["header"])  # options as code, not dashes
    table = f"{NUMBERS}\n{bench.markdown(data)}"
    return f"{header}\n\n{table}\n\n```\n{bench.summary(data)}\n```"


def latency_table() -> str:
    return f"{NUMBERS}\n" + _bench().latency_markdown(json.loads(SPEED.read_text()))


# The "Why" table's rows that are facts rather than measurements: tests/test_docs.py checks
# each of them against jaxact (and jax.nn on the jax version the table names).
WHY_FACTS = [
    ("`grad(sigmoid)(20.)`, float32 (true 2.061e-9)", "0", "2.061e-9"),
    ("gradient at ±inf: silu, mish, gelu, squareplus, sparse_plus", "NaN", "the limit (0 or 1)"),
    ("`soft_sign(±inf)`, `silu(-inf)`, `squareplus(-inf)`", "NaN", "±1, 0, 0"),
    ("`grad(logsumexp)([-inf, -inf])`", "NaN", "`[0, 0]`"),
    ("masked sparsemax `[1, 1, -5]` (Keras 3.15 gives `[0, 0, 0]`)", "—", "`[0.5, 0.5, 0]`"),
]
# The kink conventions it compares, from the functions' declared kinks (label, function,
# which kink, which derivative); a kink's note reads "[side; ]jax.nn: what jax.nn takes".
WHY_KINKS = [
    ("`leaky_relu'(0)`", "leaky_relu", 0, "d1"),
    ("`hard_tanh'(±1)`", "hard_tanh", 0, "d1"),
    ("`celu''(0)`", "celu", 0, "d2"),
]


def _kinks_row() -> tuple[str, str, str]:
    import jaxact
    from jaxact._src.facts import Kink, facts_of

    ours, theirs = [], []
    for _, name, index, order in WHY_KINKS:
        kink = facts_of(getattr(jaxact, name)).kinks[index]
        side, _, jax_nn = (kink.note or "").rpartition("jax.nn: ")
        side = side.rstrip("; ")
        ours.append(Kink.pretty(getattr(kink, order)) + (f" ({side})" if side else ""))
        theirs.append(jax_nn)
    label = "; ".join(label for label, *_ in WHY_KINKS)
    return label, "; ".join(theirs), "; ".join(ours)


def why_table() -> str:
    acc = json.loads(ACCURACY.read_text())
    by = {(r["name"], a["dtype"]): a for r in acc["results"] for a in r["accuracy"]}
    speed = {(r["name"], r["dtype"]): r for r in json.loads(SPEED.read_text())["rows"]}

    def ulp_row(what: str, part: str, dtype: str, names: list[str]) -> tuple[str, str, str]:
        label = f"max error of the {what} in ulp, {dtype}, {' / '.join(names)}"
        theirs = " / ".join(_cell(by[n, dtype][f"jax_nn_{part}"]) for n in names)
        return label, theirs, " / ".join(_cell(by[n, dtype][part]) for n in names)

    names = ["relu", "silu", "gelu", "mish"]
    kept = [speed[n, "float32"]["residual_bytes_per_elem"] for n in names]
    rows = [
        WHY_FACTS[0],
        ulp_row("derivative", "derivative", "float32", ["sigmoid", "tanh", "elu", "selu"]),
        ulp_row("value", "value", "bfloat16", ["gelu", "silu", "squareplus"]),
        *WHY_FACTS[1:3],
        _kinks_row(),
        WHY_FACTS[3],
        (
            f"reverse-mode residual bytes/element, f32: {' / '.join(names)}",
            " / ".join(f"{k['jax.nn']:.0f}" for k in kept),
            " / ".join(f"{k['jaxact']:.0f}" for k in kept),
        ),
        WHY_FACTS[4],
    ]
    lines = [
        f"Measured on jax {acc['jax']}, CPU, on the same inputs:",
        "",
        "| | `jax.nn` | `jaxact` |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
    ]
    return "\n".join(lines)


TABLES: dict[str, Callable[..., str]] = {
    "api": api_table,
    "kinks": kinks_table,
    "accuracy": accuracy_table,
    "speed": speed_table,
    "latency": latency_table,
    "why": why_table,
}

_SECTION = re.compile(
    r"(<!-- generated:(\w+)((?: [\w.]+)*) -->\n)(.*?)(<!-- /generated:\2 -->)", re.DOTALL
)


def render(text: str, used: set[str]) -> str:
    def make(m: re.Match[str]) -> str:
        name, args = m.group(2), m.group(3).split()
        if name not in TABLES:
            raise SystemExit(f"unknown table <!-- generated:{name} -->")
        used.add(name)
        return m.group(1) + TABLES[name](*args) + "\n" + m.group(5)

    return _SECTION.sub(make, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--refresh", action="store_true", help="rerun python -m jaxact --json")
    args = parser.parse_args(argv)
    if args.refresh:
        out = subprocess.run(
            [sys.executable, "-m", "jaxact", "--json", "--defaults-only"],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode not in (0, 1):
            print(out.stderr, file=sys.stderr)
            return 2
        ACCURACY.write_text(out.stdout)
    used: set[str] = set()
    stale = []
    for page in PAGES:
        old = page.read_text()
        new = render(old, used)
        if new != old:
            stale.append(page.relative_to(ROOT))
            if not args.check:
                page.write_text(new)
    if missing := set(TABLES) - used:
        print(f"no page holds the tables {sorted(missing)}", file=sys.stderr)
        return 1
    if args.check:
        if stale:
            names = ", ".join(map(str, stale))
            print(f"stale tables in {names}: run python tools/doc_tables.py", file=sys.stderr)
            return 1
        print(f"the tables of {len(PAGES)} pages are up to date")
        return 0
    print(f"tables written: {len(stale)} pages changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
