"""The fused LM head against the usual composition: compiled temp memory and step time of
``jit(value_and_grad(loss, argnums=(x, w)))``.

    python benchmarks/losses.py                 # memory 8192x1024x131072, time 4096x512x32768
    python benchmarks/losses.py --quick         # small sizes, for a smoke test
    python benchmarks/losses.py --memory-only

The composition is ``optax.softmax_cross_entropy_with_integer_labels(x @ w, labels).mean()``
(jax.nn's ``logsumexp(z) - z_y`` compiles to the same program). Memory is XLA's compiled
temp size (compile only: nothing runs at the large size). Time: each program compiled and
warmed up, then called back to back in blocks, the two programs alternating block by
block; the median block per call is reported, and the noise figure is the largest ratio
between two blocks of the same program.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxact import losses


def composition(x: jax.Array, w: jax.Array, labels: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(x @ w, labels).mean()


def fused(x: jax.Array, w: jax.Array, labels: jax.Array) -> jax.Array:
    return losses.linear_softmax_cross_entropy(x, w, labels)


PROGRAMS: dict[str, Callable[..., Any]] = {"optax composition": composition, "jaxact fused": fused}


def step(fn: Callable[..., Any]) -> Any:
    return jax.jit(jax.value_and_grad(fn, argnums=(0, 1)))


def shapes(tokens: int, width: int, vocab: int, dtype: Any) -> tuple[Any, ...]:
    return (
        jax.ShapeDtypeStruct((tokens, width), dtype),
        jax.ShapeDtypeStruct((width, vocab), dtype),
        jax.ShapeDtypeStruct((tokens,), jnp.int32),
    )


def temp_mib(fn: Callable[..., Any], args: tuple[Any, ...]) -> float:
    analysis = step(fn).lower(*args).compile().memory_analysis()
    return analysis.temp_size_in_bytes / 2**20


def memory_table(tokens: int, width: int, vocab: int) -> None:
    print(f"\ncompiled temp memory of value_and_grad wrt (x, w), {tokens} x {width} x {vocab}")
    print("| dtype | optax composition MiB | jaxact fused MiB | fused / composition |")
    print("|---|---|---|---|")
    for dtype in (jnp.float32, jnp.bfloat16):
        args = shapes(tokens, width, vocab, dtype)
        ref, ours = (temp_mib(PROGRAMS[k], args) for k in PROGRAMS)
        name = np.dtype(dtype).name
        print(f"| {name} | {ref:.1f} | {ours:.1f} | {100 * ours / ref:.2f}% |")


def time_table(tokens: int, width: int, vocab: int, rounds: int, calls: int) -> None:
    print(f"\nstep time of jit(value_and_grad) wrt (x, w), {tokens} x {width} x {vocab}")
    print(
        "| dtype | optax ms | fused ms | fused / optax | temp MiB optax / fused "
        "| loss diff | noise |"
    )
    print("|---|---|---|---|---|---|---|")
    k = jax.random.split(jax.random.key(0), 3)
    for dtype in (jnp.float32, jnp.bfloat16):
        x = jax.random.normal(k[0], (tokens, width), dtype)
        w = (jax.random.normal(k[1], (width, vocab)) / np.sqrt(width)).astype(dtype)
        labels = jax.random.randint(k[2], (tokens,), 0, vocab)
        steps = {name: step(fn) for name, fn in PROGRAMS.items()}
        temp = {name: temp_mib(fn, (x, w, labels)) for name, fn in PROGRAMS.items()}
        value = {}
        for name, s in steps.items():
            value[name] = float(s(x, w, labels)[0])
            jax.block_until_ready(s(x, w, labels))
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(rounds):
            for name, s in steps.items():
                t0 = time.perf_counter()
                for _ in range(calls):
                    jax.block_until_ready(s(x, w, labels))
                times[name].append((time.perf_counter() - t0) / calls)
        med = {name: float(np.median(v)) for name, v in times.items()}
        noise = max(max(v) / min(v) for v in times.values())
        a, b = med["optax composition"], med["jaxact fused"]
        diff = abs(value["optax composition"] - value["jaxact fused"])
        print(
            f"| {np.dtype(dtype).name} | {a * 1e3:.0f} | {b * 1e3:.0f} | {b / a:.3f} | "
            f"{temp['optax composition']:.0f} / {temp['jaxact fused']:.0f} | {diff:.1e} | "
            f"{noise:.2f} |"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    ap.add_argument("--memory-only", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2)
    a = ap.parse_args(argv)
    print(f"jax {jax.__version__}, {jax.default_backend()}, {jax.devices()[0].device_kind}")
    memory_table(*((512, 64, 8192) if a.quick else (8192, 1024, 131072)))
    if not a.memory_only:
        time_table(*((256, 64, 4096) if a.quick else (4096, 512, 32768)), a.rounds, a.calls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
