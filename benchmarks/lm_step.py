"""End-to-end: a small transformer language-model train step built once with jax.nn and once
with jaxact — causal-masked softmax attention, a gelu or SwiGLU MLP, log_softmax
cross-entropy — compared on steady-state step time, compiled temp memory and loss.

    python benchmarks/lm_step.py                  # gelu MLP, batch 8, sequence 256
    python benchmarks/lm_step.py --mlp swiglu
    python benchmarks/lm_step.py --quick          # smaller model, for a smoke test

Three programs: jax.nn throughout; jaxact's activations with the head as log_softmax and
a gather ("jaxact"); and the same with the head fused into the loss
(``jaxact.losses.linear_softmax_cross_entropy``: no (tokens, vocab) logits, "jaxact fused").

Each step is ``jit(value_and_grad(loss))`` plus an SGD update, compiled once per library,
warmed up, then called back to back in blocks; the libraries alternate block by block and
each reports its median block; the noise figure is the largest ratio between two blocks of
the same library.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxact
from jaxact._src.gated_block import gated_mlp

Params = dict[str, Any]


def library(name: str, mlp: str) -> dict[str, Any]:
    """The four activation sites of the model (and the head), from jax.nn or from jaxact."""
    if name == "jax.nn":
        gate = (lambda h: jax.nn.gelu(h)) if mlp == "gelu" else None
        glu = (lambda a, b: a * jax.nn.silu(b)) if mlp == "swiglu" else None
        return {
            "softmax": lambda s, mask: jax.nn.softmax(s, axis=-1, where=mask),
            "log_softmax": lambda z: jax.nn.log_softmax(z, axis=-1),
            "gelu": gate,
            "swiglu": glu,
        }
    acts: dict[str, Any] = {
        "softmax": lambda s, mask: jaxact.softmax(s, axis=-1, where=mask),
        "log_softmax": lambda z: jaxact.log_softmax(z, axis=-1),
        "gelu": (lambda h: jaxact.gelu(h)) if mlp == "gelu" else None,
        "swiglu": (lambda a, b: jaxact.swiglu_pair(a, b)) if mlp == "swiglu" else None,
        # the whole SwiGLU block as one custom_vjp (keeps h and the two projections only)
        "swiglu_block": (
            (lambda h, up, gate, down: gated_mlp(h, up, down, w_gate=gate))
            if mlp == "swiglu"
            else None
        ),
    }
    if name == "jaxact fused":
        acts["head"] = lambda h, w, target: jaxact.losses.linear_softmax_cross_entropy(h, w, target)
    return acts


def init(key: jax.Array, vocab: int, width: int, layers: int, mlp: str) -> Params:
    hidden = 4 * width
    keys = iter(list(jax.random.split(key, 4 + 8 * layers)))

    def dense(n_in: int, n_out: int) -> jax.Array:
        return jax.random.normal(next(keys), (n_in, n_out)) / math.sqrt(n_in)

    p: Params = {"embed": jax.random.normal(next(keys), (vocab, width)) * 0.02, "blocks": []}
    for _ in range(layers):
        blk = {"qkv": dense(width, 3 * width), "out": dense(width, width)}
        if mlp == "swiglu":
            blk |= {"up": dense(width, hidden), "gate": dense(width, hidden)}
        else:
            blk |= {"up": dense(width, hidden)}
        blk["down"] = dense(hidden, width)
        p["blocks"].append(blk)
    p["unembed"] = dense(width, vocab)
    return p


def rms(x: jax.Array) -> jax.Array:
    return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + 1e-6)


def loss_fn(p: Params, tokens: jax.Array, acts: dict[str, Any], heads: int) -> jax.Array:
    x = p["embed"][tokens[:, :-1]]
    b, t, w = x.shape
    mask = jnp.tril(jnp.ones((t, t), bool))
    for blk in p["blocks"]:
        h = rms(x)
        q, k, v = jnp.split(h @ blk["qkv"], 3, axis=-1)
        q, k, v = (a.reshape(b, t, heads, w // heads).transpose(0, 2, 1, 3) for a in (q, k, v))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(w // heads)
        att = acts["softmax"](scores, mask) @ v
        x = x + att.transpose(0, 2, 1, 3).reshape(b, t, w) @ blk["out"]
        h = rms(x)
        if acts.get("swiglu_block") is not None:
            x = x + acts["swiglu_block"](h, blk["up"], blk["gate"], blk["down"])
        elif acts["swiglu"] is not None:
            x = x + acts["swiglu"](h @ blk["up"], h @ blk["gate"]) @ blk["down"]
        else:
            x = x + acts["gelu"](h @ blk["up"]) @ blk["down"]
    target = tokens[:, 1:]
    if acts.get("head") is not None:
        return acts["head"](rms(x), p["unembed"], target)
    logp = acts["log_softmax"](rms(x) @ p["unembed"])
    return -jnp.mean(jnp.take_along_axis(logp, target[..., None], axis=-1))


def make_step(acts: dict[str, Any], heads: int) -> Any:
    @jax.jit
    def step(p: Params, tokens: jax.Array) -> tuple[Params, jax.Array]:
        loss, g = jax.value_and_grad(loss_fn)(p, tokens, acts, heads)
        return jax.tree.map(lambda a, da: a - 0.1 * da, p, g), loss

    return step


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mlp", choices=("gelu", "swiglu"), default="gelu")
    ap.add_argument("--quick", action="store_true", help="batch 2, sequence 64, vocab 2048")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=3)
    a = ap.parse_args(argv)
    batch, seq, width, vocab, layers, heads = (
        (2, 64, 128, 2048, 2, 4) if a.quick else (8, 256, 256, 16384, 2, 4)
    )
    p = init(jax.random.key(0), vocab, width, layers, a.mlp)
    tokens = jax.random.randint(jax.random.key(1), (batch, seq + 1), 0, vocab)
    libs = ("jax.nn", "jaxact", "jaxact fused")
    steps = {lib: make_step(library(lib, a.mlp), heads) for lib in libs}
    temp, loss0 = {}, {}
    for lib, step in steps.items():
        compiled = step.lower(p, tokens).compile()
        temp[lib] = compiled.memory_analysis().temp_size_in_bytes / 2**20
        _, loss0[lib] = step(p, tokens)
        jax.block_until_ready(step(p, tokens))
    times: dict[str, list[float]] = {lib: [] for lib in steps}
    for _ in range(a.rounds):
        for lib, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(a.calls):
                jax.block_until_ready(step(p, tokens))
            times[lib].append((time.perf_counter() - t0) / a.calls)
    med = {lib: float(np.median(v)) for lib, v in times.items()}
    noise = max(max(v) / min(v) for v in times.values())
    print(
        f"transformer LM train step ({a.mlp} MLP; batch {batch}, sequence {seq}, width {width}, "
        f"vocab {vocab}, {layers} layers), jax {jax.__version__}, {jax.default_backend()}"
    )
    print("| library | step ms | temp MiB | loss |")
    print("|---|---|---|---|")
    for lib in steps:
        print(f"| {lib} | {med[lib] * 1e3:.1f} | {temp[lib]:.0f} | {float(loss0[lib]):.7f} |")
    for lib in libs[1:]:
        print(
            f"{lib} / jax.nn: step {med[lib] / med['jax.nn']:.3f}x, "
            f"temp {temp[lib] / max(temp['jax.nn'], 1e-9):.3f}x; "
            f"loss difference {abs(float(loss0[lib]) - float(loss0['jax.nn'])):.2e}"
        )
    print(f"noise (largest ratio between two blocks of one program): {noise:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
