"""Steady-state speed, compiled memory and compile cost of every jaxact activation against
jax.nn, measured as a training or inference loop sees them.

    python benchmarks/bench.py --quick            # 2^20 elements, (512, 2048) rows
    python benchmarks/bench.py                    # 2^24 elements, (8192, 2048) rows
    python benchmarks/bench.py --only gelu,silu --dtype float32 --json out.json
    python benchmarks/bench.py --latency-only     # eager latency alone (float32[1024])

Speed: each program (forward ``jit(f)``; forward+backward ``jit(value_and_grad(sum∘f))``) is
compiled and warmed up, then called back to back in *blocks* of ``--calls`` calls, one
library at a time; a block's median call time is kept. Blocks alternate between the
libraries in rounds (jaxact, jax.nn; then jax.nn, jaxact; ...), the median over rounds is
reported, and the largest ratio between two rounds of the same library is the noise figure.
(Interleaving the programs call by call, as an earlier version did, makes each call pay for
the previous program's cache and allocator state and pulls every ratio toward 1.)

Memory: XLA's compiled temp bytes (``memory_analysis().temp_size_in_bytes``) of both
programs; what reverse mode keeps per element (``jax.vjp``'s residuals); the temp bytes of a
jitted SGD step of a 4-layer MLP with the function as hidden activation (elementwise ones),
or of a transformer's gated MLP block (gated units: ``jaxact.nnx.gated_mlp`` against the jax.nn
composition, 4096 tokens, 512 -> 2048).
Compile: StableHLO op count and compile seconds of the forward+backward program.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxact
from jaxact._src.gated_block import gated_mlp
from jaxact._src.registry import BY_NAME, REGISTRY
from jaxact.testing import residual_bytes

Fn = Callable[..., Any]


@dataclass(frozen=True)
class Case:
    """One benchmarked function: jaxact's and jax.nn's versions, and the input it takes."""

    name: str
    ours: Fn
    theirs: Fn | None
    kind: str
    domain: tuple[float, float]
    peaked: bool = False  # rows of 3 N(0, 1) logits (some rows confident) instead of uniform


def _composed(act: Fn, **kw: Any) -> Fn:
    """The gated unit as jax.nn users write it: ``a * act(b)`` on the halves of ``x``."""

    def f(x: jax.Array) -> jax.Array:
        a, b = jnp.split(x, 2, axis=-1)
        return a * act(b, **kw)

    return f


def _clamped_composed(x: jax.Array) -> jax.Array:
    a, b = jnp.split(x, 2, axis=-1)
    g = jnp.minimum(b, 7.0)
    return (jnp.clip(a, -7.0, 7.0) + 1) * g * jax.nn.sigmoid(1.702 * g)


# Gated units have no jax.nn function: they are compared with the jax.nn composition.
COMPOSED: dict[str, Fn] = {
    "swiglu": _composed(jax.nn.silu),
    "geglu": _composed(jax.nn.gelu, approximate=True),
    "geglu_exact": _composed(jax.nn.gelu, approximate=False),
    "reglu": _composed(jax.nn.relu),
    "clamped_swiglu": _clamped_composed,
}


def _projection_simplex() -> Fn | None:
    try:  # optax (an optional extra): the simplex projection, i.e. sparsemax
        import optax
    except ImportError:  # pragma: no cover
        return None
    return optax.projections.projection_simplex


# Where jax.nn has no such function, the eager latency table compares with what a user
# writes instead: the library call below, else the registry's plain-jnp reference formula.
PEERS: dict[str, Fn | None] = {
    "softmin": lambda x: jax.nn.softmax(-x),
    "sparsemax": _projection_simplex(),
}


# entmax's registry reference finds its threshold by bisection in a Python loop (an
# oracle, ~0.1 s a call), not what a user would write: no peer.
NO_PEER = frozenset({"entmax"})


def _peer(name: str) -> Fn | None:
    if name in NO_PEER:
        return None
    if PEERS.get(name) is not None:
        return PEERS[name]
    return BY_NAME[name].bound_reference if name in BY_NAME else None


def cases() -> list[Case]:
    out = [
        Case(s.name, s.bound, s.bound_jax_nn or COMPOSED.get(s.name), s.kind, s.domain)
        for s in REGISTRY
    ]
    # logsumexp over the whole array too (its default axis=None).
    out.append(Case("logsumexp_all", jaxact.logsumexp, jax.nn.logsumexp, "reduction", (-8.0, 8.0)))
    # Logits as a trained classifier produces them: in a (8192, 2048) batch of 3 N(0, 1)
    # rows some row is confident (one entry holds most of the mass), which takes the
    # exact sums (uniform rows on (-8, 8), the default input, never are).
    for name in ("log_softmax", "logsumexp"):
        s = BY_NAME[name]
        out.append(Case(f"{name}_peaked", s.bound, s.bound_jax_nn, s.kind, s.domain, peaked=True))
    return out


def _input(case: Case, dtype: Any, quick: bool) -> jax.Array:
    if case.kind == "elementwise":
        shape: tuple[int, ...] = (1 << 20,) if quick else (1 << 24,)
    else:
        shape = (512, 2048) if quick else (8192, 2048)
    lo, hi = case.domain
    if case.peaked or (case.kind == "elementwise" and lo < 0 < hi):
        x = 3 * jax.random.normal(jax.random.key(0), shape, jnp.float32)  # x ~ 3 N(0, 1)
    else:
        x = jax.random.uniform(jax.random.key(0), shape, jnp.float32, lo, hi)
    return x.astype(dtype)


def _fwd_bwd(f: Fn) -> Fn:
    return jax.value_and_grad(lambda v: jnp.sum(f(v).astype(jnp.float32)))


def _compiled(f: Fn, x: jax.Array) -> tuple[Any, int, float]:
    """(compiled program, StableHLO op count, compile seconds)."""
    lowered = jax.jit(f).lower(x)
    ops = sum(1 for line in lowered.as_text().splitlines() if " = " in line and "%" in line)
    t0 = time.perf_counter()
    compiled = lowered.compile()
    return compiled, ops, time.perf_counter() - t0


def _block(f: Fn, x: jax.Array, calls: int) -> float:
    """Median seconds of ``calls`` back-to-back calls of one compiled program."""
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        jax.block_until_ready(f(x))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def steady(progs: dict[str, Fn], x: jax.Array, rounds: int, calls: int) -> dict[str, Any]:
    """Median seconds per call for each program, and the noise: the largest ratio between
    two rounds of the same program."""
    for f in progs.values():  # warm up
        jax.block_until_ready(f(x))
        jax.block_until_ready(f(x))
    names = list(progs)
    per: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        for k in names if r % 2 == 0 else names[::-1]:
            per[k].append(_block(progs[k], x, calls))
    return {
        "seconds": {k: statistics.median(v) for k, v in per.items()},
        "noise": max(max(v) / min(v) for v in per.values()),
    }


def eager_latency_us(f: Fn, calls: int = 200, repeats: int = 5) -> float:
    """Microseconds of one un-jitted call on a float32[1024] (a notebook's or a Python loop's
    call: argument handling, dispatch and the small computation): the least of ``repeats``
    medians of ``calls`` calls (one median alone moved up to 6x between runs here)."""
    x = jnp.linspace(0.05, 4.0, 1024, dtype=jnp.float32)
    for _ in range(20):
        jax.block_until_ready(f(x))
    medians = []
    for _ in range(repeats):
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            jax.block_until_ready(f(x))
            times.append(time.perf_counter() - t0)
        medians.append(statistics.median(times))
    return min(medians) * 1e6


def eager_latencies(case: Case) -> dict[str, float]:
    """Eager latency of jaxact's function, jax.nn's (or the composition of a gated unit),
    and, where jax.nn has none, the composition a user would write (:func:`_peer`)."""
    out = {"jaxact": eager_latency_us(case.ours)}
    peer = _peer(case.name)
    if case.theirs is not None:
        out["jax.nn"] = eager_latency_us(case.theirs)
    elif peer is not None:
        out["composition"] = eager_latency_us(peer)
    return out


def _train_step_temp_mib(act: Fn, dtype: Any, quick: bool) -> float:
    """Temp MiB XLA plans for one SGD step of a 4-layer MLP with ``act`` hidden units."""
    width, batch = (1024, 256) if quick else (4096, 1024)
    params = [jax.ShapeDtypeStruct((width, width), dtype) for _ in range(4)]
    x = jax.ShapeDtypeStruct((batch, width), dtype)

    def loss(ps: list[jax.Array], v: jax.Array) -> jax.Array:
        for w in ps[:-1]:
            v = act(v @ w)
        return jnp.mean(jnp.square((v @ ps[-1]).astype(jnp.float32)))

    def step(ps: list[jax.Array], v: jax.Array) -> list[jax.Array]:
        g = jax.grad(loss)(ps, v)
        return [p - 0.01 * gi for p, gi in zip(ps, g, strict=True)]

    mem = jax.jit(step).lower(params, x).compile().memory_analysis()
    return float(mem.temp_size_in_bytes) / 2**20 if mem is not None else float("nan")


def _block_step_temp_mib(unit: str, lib: str, dtype: Any, quick: bool) -> float:
    """Temp MiB XLA plans for one SGD step of a transformer's gated MLP block (tokens x
    width -> hidden): ``jaxact.nnx.gated_mlp`` or the jax.nn composition of the unit."""
    tokens, width, hidden = (1024, 128, 512) if quick else (4096, 512, 2048)
    params = [
        jax.ShapeDtypeStruct((width, 2 * hidden), dtype),
        jax.ShapeDtypeStruct((hidden, width), dtype),
    ]
    x = jax.ShapeDtypeStruct((tokens, width), dtype)

    def block(ps: list[jax.Array], v: jax.Array) -> jax.Array:
        if lib == "jaxact":
            return gated_mlp(v, ps[0], ps[1], unit=unit)
        return COMPOSED[unit](v @ ps[0]) @ ps[1]

    def step(ps: list[jax.Array], v: jax.Array) -> list[jax.Array]:
        loss = lambda ps: jnp.mean(jnp.square(block(ps, v).astype(jnp.float32)))
        g = jax.grad(loss)(ps)
        return [p - 0.01 * gi for p, gi in zip(ps, g, strict=True)]

    mem = jax.jit(step).lower(params, x).compile().memory_analysis()
    return float(mem.temp_size_in_bytes) / 2**20 if mem is not None else float("nan")


def _mib(compiled: Any) -> float:
    mem = compiled.memory_analysis()
    return float(mem.temp_size_in_bytes) / 2**20 if mem is not None else float("nan")


def bench(case: Case, dtype_name: str, quick: bool, rounds: int, calls: int) -> dict[str, Any]:
    dtype = jnp.dtype(dtype_name)
    x = _input(case, dtype, quick)
    libs = {"jaxact": case.ours}
    if case.theirs is not None:
        libs["jax.nn"] = case.theirs
    fwd, bwd, temp_f, temp_b, compile_ = {}, {}, {}, {}, {}
    for lib, f in libs.items():
        cf, _, _ = _compiled(f, x)
        cb, ops, secs = _compiled(_fwd_bwd(f), x)
        fwd[lib], bwd[lib] = cf, cb
        temp_f[lib], temp_b[lib] = _mib(cf), _mib(cb)
        compile_[lib] = {"ops": ops, "seconds": secs}
    sf = steady(fwd, x, rounds, calls)
    sb = steady(bwd, x, rounds, calls)
    small = x[:64] if x.ndim == 1 else x[:8]
    res = {lib: residual_bytes(f, small) / small.size for lib, f in libs.items()}
    latency = eager_latencies(case) if dtype_name == "float32" else {}
    step = {}
    if case.kind == "elementwise":
        step = {lib: _train_step_temp_mib(f, dtype, quick) for lib, f in libs.items()}
    elif case.name in COMPOSED:  # a gated unit: its transformer block
        step = {lib: _block_step_temp_mib(case.name, lib, dtype, quick) for lib in libs}
    return {
        "name": case.name,
        "dtype": dtype_name,
        "shape": list(x.shape),
        "fwd_s": sf["seconds"],
        "fwd_bwd_s": sb["seconds"],
        "noise": {"fwd": sf["noise"], "fwd_bwd": sb["noise"]},
        "temp_mib": {"fwd": temp_f, "fwd_bwd": temp_b},
        "residual_bytes_per_elem": res,
        "train_step_temp_mib": step,
        "eager_latency_us": latency,
        "compile_fwd_bwd": compile_,
    }


def _ratio(d: dict[str, float]) -> float | None:
    return d["jaxact"] / d["jax.nn"] if d.get("jax.nn") else None


def _pair(d: dict[str, float], fmt: str = "{:.0f}") -> str:
    ours = fmt.format(d["jaxact"])
    return f"{ours} / {fmt.format(d['jax.nn'])}" if "jax.nn" in d else f"{ours} / —"


def markdown(data: dict[str, Any]) -> str:
    """The speed table of docs/performance.md (``tools/doc_tables.py`` renders it from the JSON)."""
    out = [
        "| function | dtype | fwd vs jax.nn | fwd+bwd vs jax.nn | noise | temp MiB fwd "
        "| temp MiB fwd+bwd | residual B/elem | MLP step temp MiB | fwd+bwd ops | compile s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["rows"]:
        rf, rb = _ratio(r["fwd_s"]), _ratio(r["fwd_bwd_s"])
        comp = r["compile_fwd_bwd"]
        out.append(
            f"| {r['name']} | {r['dtype']} "
            f"| {'—' if rf is None else f'{rf:.2f}'} | {'—' if rb is None else f'{rb:.2f}'} "
            f"| {max(r['noise'].values()):.2f} "
            f"| {_pair(r['temp_mib']['fwd'])} | {_pair(r['temp_mib']['fwd_bwd'])} "
            f"| {_pair(r['residual_bytes_per_elem'], '{:g}')} "
            f"| {_pair(r['train_step_temp_mib']) if r['train_step_temp_mib'] else '—'} "
            f"| {_pair({k: v['ops'] for k, v in comp.items()})} "
            f"| {_pair({k: v['seconds'] for k, v in comp.items()}, '{:.2f}')} |"
        )
    return "\n".join(out)


def latency_markdown(data: dict[str, Any]) -> str:
    """Eager (un-jitted) latency per call on a float32[1024], jaxact vs jax.nn (or, marked
    *, the composition a user writes where jax.nn has no such function)."""
    out = ["| function | jaxact µs | jax.nn (*composition) µs | ratio |", "|---|---|---|---|"]
    for r in data["rows"]:
        lat = r.get("eager_latency_us") or {}
        if not lat:
            continue
        theirs = lat.get("jax.nn") or lat.get("composition")
        mark = "*" if "composition" in lat else ""
        ratio = "—" if not theirs else f"{lat['jaxact'] / theirs:.2f}"
        them = "—" if theirs is None else f"{theirs:.1f}{mark}"
        out.append(f"| {r['name']} | {lat['jaxact']:.1f} | {them} | {ratio} |")
    return "\n".join(out)


def summary(data: dict[str, Any]) -> str:
    """One line per mode: median and max ratio vs jax.nn, and how many rows are <= 1.05."""
    lines = []
    for key, label in (("fwd_s", "fwd"), ("fwd_bwd_s", "fwd+bwd")):
        rs = [x for x in (_ratio(r[key]) for r in data["rows"]) if x is not None]
        if rs:
            lines.append(
                f"{label} vs jax.nn: median {np.median(rs):.2f}, max {np.max(rs):.2f}, "
                f"{sum(x <= 1.05 for x in rs)} of {len(rs)} (function, dtype) pairs <= 1.05"
            )
    noise = [max(r["noise"].values()) for r in data["rows"]]
    if noise:
        lines.append(f"noise (largest round-to-round ratio): median {np.median(noise):.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", help="comma-separated registry names (default: all)")
    p.add_argument("--dtype", default="float32,bfloat16", help="comma-separated dtypes")
    p.add_argument("--quick", action="store_true", help="2^20 elements, (512, 2048) rows")
    p.add_argument("--rounds", type=int, help="rounds of blocks per library (default 6; quick 4)")
    p.add_argument("--calls", type=int, help="calls per block (default 10; quick 20)")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument(
        "--latency-only",
        action="store_true",
        help="only the eager latency (float32), as rows with eager_latency_us alone",
    )
    a = p.parse_args(argv)
    todo = cases()
    if a.only:
        names = [n.strip() for n in a.only.split(",")]
        known = {c.name for c in todo}
        bad = [n for n in names if n not in known and n not in BY_NAME]
        if bad:
            print(f"bench: unknown name {', '.join(bad)}", file=sys.stderr)
            return 2
        todo = [c for c in todo if c.name in names]
    dtypes = [d.strip() for d in a.dtype.split(",")]
    rounds = a.rounds or (4 if a.quick else 6)
    calls = a.calls or (20 if a.quick else 10)
    rows = []
    start = time.perf_counter()
    if a.latency_only:
        for i, case in enumerate(todo, 1):
            print(f"[{i}/{len(todo)}] {case.name} eager", file=sys.stderr, flush=True)
            rows.append({"name": case.name, "eager_latency_us": eager_latencies(case)})
        data = {"rows": rows, "seconds": time.perf_counter() - start}
        print(latency_markdown(data))
        if a.json:
            with open(a.json, "w") as fh:
                json.dump(data, fh, indent=1)
        return 0
    total = len(todo) * len(dtypes)
    for i, (case, dt) in enumerate(((c, d) for c in todo for d in dtypes), 1):
        print(
            f"[{i}/{total}] {case.name} {dt} ({time.perf_counter() - start:.0f}s)",
            file=sys.stderr,
            flush=True,
        )
        rows.append(bench(case, dt, a.quick, rounds, calls))
    dev = jax.devices()[0]
    head = (
        f"jax {jax.__version__} on {dev.platform} ({dev.device_kind}), "
        f"{'quick' if a.quick else 'full'} mode: median of {rounds} rounds of {calls}-call "
        f"blocks per library; ratios < 1 mean jaxact is faster"
    )
    data = {"header": head, "rows": rows, "seconds": time.perf_counter() - start}
    print(head)
    print()
    print(markdown(data))
    print()
    print(latency_markdown(data))
    print()
    print(summary(data))
    print(f"({data['seconds']:.0f}s)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(data, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
