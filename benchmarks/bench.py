"""Speed and memory of every jaxact activation against jax.nn, a naive formula, and the
memory-bandwidth roof, all measured in one process.

    python benchmarks/bench.py --quick            # < 3 minutes on 2 cores
    python benchmarks/bench.py                    # 2^24 elements, (4096, 4096) rows
    python benchmarks/bench.py --only gelu,silu --dtype float32 --json out.json

For each function and dtype: jit forward and jit(value_and_grad(sum(f(x)))) forward+backward,
timed with block_until_ready after a warm-up, repetitions interleaved (in a fresh seeded
order each time) across jaxact, jax.nn (same name) and the registry's plain textbook
formula under autodiff, medians reported; the
roof is a jitted x * 2 (forward: one read, one write) and (sum(x), 2x) (forward+backward:
one read, one write). Residual bytes per element come from what jax.vjp keeps; train-step
temp memory from XLA's memory analysis of a compiled MLP training step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxact._src.registry import BY_NAME, REGISTRY, Spec
from jaxact.testing import residual_bytes


def _time_once(fn: Callable[[jax.Array], Any], x: jax.Array) -> float:
    t0 = time.perf_counter()
    jax.block_until_ready(fn(x))
    return time.perf_counter() - t0


def _interleaved(fns: dict[str, Callable[[jax.Array], Any]], x: jax.Array, reps: int) -> dict:
    for f in fns.values():  # compile and warm up
        jax.block_until_ready(f(x))
        jax.block_until_ready(f(x))
    times: dict[str, list[float]] = {k: [] for k in fns}
    order = np.random.default_rng(0)
    for _ in range(reps):
        # A fresh order every repetition: on a 2-core CPU a run is measurably faster or
        # slower depending on which program ran just before it (allocator and cache
        # state); a fixed cyclic order turned that into a 20% gap between two identical
        # compiled programs.
        for k in order.permutation(list(fns)):
            times[str(k)].append(_time_once(fns[str(k)], x))
    return {k: statistics.median(v) for k, v in times.items()}


def _fwd(f: Callable) -> Callable:
    return jax.jit(f)


def _fwd_bwd(f: Callable) -> Callable:
    return jax.jit(jax.value_and_grad(lambda v: jnp.sum(f(v).astype(jnp.float32))))


_ROOF_FWD = jax.jit(lambda v: v * 2)
_ROOF_BWD = jax.jit(lambda v: (jnp.sum(v.astype(jnp.float32)), v * 2))


def _input(spec: Spec, dtype: Any, quick: bool) -> jax.Array:
    lo, hi = spec.domain
    shape = (
        ((1024, 1024) if quick else (4096, 4096))
        if spec.kind != "elementwise"
        else ((1 << 20,) if quick else (1 << 24,))
    )
    x = jax.random.uniform(jax.random.key(0), shape, jnp.float32, lo, hi)
    return x.astype(dtype)


def _train_step_temp_mib(act: Callable, dtype: Any, quick: bool) -> float:
    """Temp bytes XLA plans for one SGD step of a 4-layer MLP with ``act`` hidden units."""
    width, batch = (1024, 256) if quick else (4096, 1024)
    keys = jax.random.split(jax.random.key(1), 4)
    params = [jax.ShapeDtypeStruct((width, width), dtype) for _ in keys]
    x = jax.ShapeDtypeStruct((batch, width), dtype)

    def loss(ps: list[jax.Array], v: jax.Array) -> jax.Array:
        for w in ps[:-1]:
            v = act(v @ w)
        return jnp.mean(jnp.square((v @ ps[-1]).astype(jnp.float32)))

    def step(ps: list[jax.Array], v: jax.Array) -> list[jax.Array]:
        g = jax.grad(loss)(ps, v)
        return [p - 0.01 * gi for p, gi in zip(ps, g, strict=True)]

    compiled = jax.jit(step).lower(params, x).compile()
    mem = compiled.memory_analysis()
    return float(mem.temp_size_in_bytes) / 2**20 if mem is not None else float("nan")


def bench(spec: Spec, dtype_name: str, quick: bool, reps: int) -> dict[str, Any]:
    dtype = jnp.dtype(dtype_name)
    x = _input(spec, dtype, quick)
    ours, naive, theirs = spec.bound, spec.bound_reference, spec.bound_jax_nn
    fwd = {"jaxact": _fwd(ours), "naive": _fwd(naive), "roof": _ROOF_FWD}
    bwd = {"jaxact": _fwd_bwd(ours), "naive": _fwd_bwd(naive), "roof": _ROOF_BWD}
    if theirs is not None:
        fwd["jax.nn"] = _fwd(theirs)
        bwd["jax.nn"] = _fwd_bwd(theirs)
    tf = _interleaved(fwd, x, reps)
    tb = _interleaved(bwd, x, reps)
    small = x[:64] if x.ndim == 1 else x[:8]
    res = {"jaxact": residual_bytes(ours, small) / small.size}
    if theirs is not None:
        res["jax.nn"] = residual_bytes(theirs, small) / small.size
    temp = {}
    if spec.kind == "elementwise":
        temp["jaxact"] = _train_step_temp_mib(ours, dtype, quick)
        if theirs is not None:
            temp["jax.nn"] = _train_step_temp_mib(theirs, dtype, quick)
    return {
        "name": spec.name,
        "dtype": dtype_name,
        "shape": list(x.shape),
        "fwd_s": tf,
        "fwd_bwd_s": tb,
        "residual_bytes_per_elem": res,
        "train_step_temp_mib": temp,
    }


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b:
        return "-"
    return f"{a / b:.2f}"


def markdown(rows: list[dict[str, Any]]) -> str:
    out = [
        "| function | dtype | fwd vs jax.nn | fwd+bwd vs jax.nn | fwd+bwd vs roof "
        "| fwd+bwd vs naive | residual B/elem (jaxact / jax.nn) | train-step temp MiB "
        "(jaxact / jax.nn) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f, b = r["fwd_s"], r["fwd_bwd_s"]
        res = r["residual_bytes_per_elem"]
        tmp = r["train_step_temp_mib"]
        res_txt = (
            f"{res['jaxact']:g} / {res['jax.nn']:g}"
            if "jax.nn" in res
            else (f"{res['jaxact']:g} / -")
        )
        if tmp:
            tmp_txt = f"{tmp['jaxact']:.0f} / " + (
                f"{tmp['jax.nn']:.0f}" if "jax.nn" in tmp else "-"
            )
        else:
            tmp_txt = "-"
        out.append(
            f"| {r['name']} | {r['dtype']} | {_ratio(f['jaxact'], f.get('jax.nn'))} "
            f"| {_ratio(b['jaxact'], b.get('jax.nn'))} | {_ratio(b['jaxact'], b['roof'])} "
            f"| {_ratio(b['jaxact'], b['naive'])} | {res_txt} | {tmp_txt} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", help="comma-separated registry names (default: all)")
    p.add_argument("--dtype", default="float32,bfloat16", help="comma-separated dtypes")
    p.add_argument("--quick", action="store_true", help="2^20 elements, 7 repetitions")
    p.add_argument("--reps", type=int, help="repetitions per timing (default 15; quick 7)")
    p.add_argument("--json", help="also write the results to this JSON file")
    a = p.parse_args(argv)
    specs = list(REGISTRY)
    if a.only:
        names = [n.strip() for n in a.only.split(",")]
        bad = [n for n in names if n not in BY_NAME]
        if bad:
            print(f"bench: unknown name {', '.join(bad)}", file=sys.stderr)
            return 2
        specs = [BY_NAME[n] for n in names]
    dtypes = [d.strip() for d in a.dtype.split(",")]
    reps = a.reps or (7 if a.quick else 15)
    rows = []
    start = time.perf_counter()
    total = len(specs) * len(dtypes)
    for i, (spec, dt) in enumerate(((s, d) for s in specs for d in dtypes), 1):
        print(
            f"[{i}/{total}] {spec.name} {dt} ({time.perf_counter() - start:.0f}s)",
            file=sys.stderr,
            flush=True,
        )
        rows.append(bench(spec, dt, a.quick, reps))
    dev = jax.devices()[0]
    head = (
        f"jax {jax.__version__} on {dev.platform} ({dev.device_kind}), "
        f"{'quick' if a.quick else 'full'} mode, median of {reps}; "
        f"ratios < 1 mean jaxact is faster or smaller"
    )
    print(head)
    print()
    print(markdown(rows))
    fb = [
        r["fwd_bwd_s"]["jaxact"] / r["fwd_bwd_s"]["jax.nn"]
        for r in rows
        if "jax.nn" in r["fwd_bwd_s"]
    ]
    if fb:
        print()
        print(
            f"fwd+bwd vs jax.nn: median {np.median(fb):.2f}, max {np.max(fb):.2f} "
            f"over {len(fb)} (function, dtype) pairs; {time.perf_counter() - start:.0f}s"
        )
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"header": head, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
