"""Compile cost of a training step: a 4-layer MLP's jitted SGD step with each elementwise
activation as its hidden unit, built once with jaxact and once with jax.nn.

    python benchmarks/mlp_compile.py                 # every function with a jax.nn twin
    python benchmarks/mlp_compile.py --only gelu,silu --rounds 5 --json out.json

What a user waits for on the first call of ``jax.jit(step)``: tracing, lowering and XLA's
compilation, measured together (``jit(step).lower(...).compile()``) on abstract inputs, with
a fresh Python step function each time so nothing comes from a cache. The libraries
alternate within each round; the median over rounds is reported with the StableHLO op
count of the step, and the noise figure is the largest ratio between two rounds of the same
library.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxact._src.registry import REGISTRY

Fn = Callable[..., jax.Array]


def make_step(act: Fn) -> Fn:
    """A new SGD step function (a new Python object, so jit traces it afresh)."""

    def loss(ps: list[jax.Array], v: jax.Array) -> jax.Array:
        for w in ps[:-1]:
            v = act(v @ w)
        return jnp.mean(jnp.square(v @ ps[-1]))

    def step(ps: list[jax.Array], v: jax.Array) -> list[jax.Array]:
        g = jax.grad(loss)(ps, v)
        return [p - 0.01 * gi for p, gi in zip(ps, g, strict=True)]

    return step


def compile_once(act: Fn, width: int, batch: int) -> tuple[float, int]:
    """(seconds to trace, lower and compile the step; its StableHLO op count)."""
    params = [jax.ShapeDtypeStruct((width, width), jnp.float32) for _ in range(4)]
    x = jax.ShapeDtypeStruct((batch, width), jnp.float32)
    t0 = time.perf_counter()
    lowered = jax.jit(make_step(act)).lower(params, x)
    lowered.compile()
    seconds = time.perf_counter() - t0
    ops = sum(1 for line in lowered.as_text().splitlines() if " = " in line and "%" in line)
    return seconds, ops


def measure(name: str, ours: Fn, theirs: Fn, rounds: int, width: int, batch: int) -> dict:
    libs = {"jaxact": ours, "jax.nn": theirs}
    secs: dict[str, list[float]] = {k: [] for k in libs}
    ops: dict[str, int] = {}
    for r in range(rounds):
        for lib in list(libs) if r % 2 == 0 else list(libs)[::-1]:
            s, ops[lib] = compile_once(libs[lib], width, batch)
            secs[lib].append(s)
    return {
        "name": name,
        "seconds": {k: statistics.median(v) for k, v in secs.items()},
        "ops": ops,
        "noise": max(max(v) / min(v) for v in secs.values()),
    }


def markdown(rows: list[dict]) -> str:
    out = [
        "| function | compile s jaxact / jax.nn | ratio | step ops jaxact / jax.nn | noise |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        s, o = r["seconds"], r["ops"]
        out.append(
            f"| {r['name']} | {s['jaxact']:.2f} / {s['jax.nn']:.2f} "
            f"| {s['jaxact'] / s['jax.nn']:.2f} | {o['jaxact']} / {o['jax.nn']} "
            f"| {r['noise']:.2f} |"
        )
    return "\n".join(out)


def summary(rows: list[dict], limit: float = 1.5) -> str:
    ratios = [r["seconds"]["jaxact"] / r["seconds"]["jax.nn"] for r in rows]
    if not ratios:
        return "no rows"
    worst = max(zip(ratios, (r["name"] for r in rows), strict=True))
    within = sum(x <= limit for x in ratios)
    return (
        f"compile time vs jax.nn: median {statistics.median(ratios):.2f}, "
        f"max {worst[0]:.2f} ({worst[1]}), {within} of {len(ratios)} within {limit}x"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", help="comma-separated registry names (default: all with a twin)")
    p.add_argument("--rounds", type=int, default=5, help="rounds per library (default 5)")
    p.add_argument("--width", type=int, default=1024, help="layer width (default 1024)")
    p.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    p.add_argument("--json", help="also write the results to this JSON file")
    a = p.parse_args(argv)
    todo = [s for s in REGISTRY if s.kind == "elementwise" and s.bound_jax_nn is not None]
    if a.only:
        names = [n.strip() for n in a.only.split(",")]
        bad = [n for n in names if n not in {s.name for s in todo}]
        if bad:
            print(f"mlp_compile: no elementwise jax.nn twin for {', '.join(bad)}", file=sys.stderr)
            return 2
        todo = [s for s in todo if s.name in names]
    rows = []
    for i, spec in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] {spec.name}", file=sys.stderr, flush=True)
        assert spec.bound_jax_nn is not None
        rows.append(measure(spec.name, spec.bound, spec.bound_jax_nn, a.rounds, a.width, a.batch))
    head = (
        f"jax {jax.__version__} on {jax.devices()[0].platform}: 4-layer MLP SGD step, width "
        f"{a.width}, batch {a.batch}, float32; trace + lower + compile, median of {a.rounds}"
    )
    print(head)
    print()
    print(markdown(rows))
    print()
    print(summary(rows))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"header": head, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
