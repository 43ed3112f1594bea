"""``python -m jaxact plot --out DIR``: every activation with its first and second derivative.

Needs matplotlib (``pip install "jaxact[plot]"``). Writes one PNG per registry entry and a
gallery grid ``gallery.png``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxact._src.registry import Spec, select


def _curves(spec: Spec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = (-2.5, 2.5) if spec.kind != "elementwise" else (min(spec.domain[0], -4.0), 4.0)
    if spec.name == "log1mexp":
        lo, hi = 0.05, 4.0
    if spec.name in ("relu6",):
        hi = 7.0
    x = np.linspace(lo, hi, 801)
    f = spec.scalar_fn
    d1 = jax.vmap(jax.grad(lambda v: jnp.sum(f(v[None]))))
    d2 = jax.vmap(jax.grad(lambda v: jnp.sum(d1(v[None]))))
    xj = jnp.asarray(x, jnp.float32)
    return x, np.asarray(f(xj)), np.asarray(d1(xj)), np.asarray(d2(xj))


def _draw(ax: object, spec: Spec) -> None:
    x, y, d1, d2 = _curves(spec)
    ax.axhline(0, color="0.85", lw=0.8)  # type: ignore[attr-defined]
    ax.axvline(0, color="0.85", lw=0.8)  # type: ignore[attr-defined]
    ax.plot(x, y, color="C0", lw=2, label="f")  # type: ignore[attr-defined]
    ax.plot(x, d1, color="C1", lw=1.5, label="f'")  # type: ignore[attr-defined]
    ax.plot(x, d2, color="C2", lw=1.2, ls="--", label="f''")  # type: ignore[attr-defined]
    for k, dk in spec.kinks:
        if x[0] <= k <= x[-1]:
            ax.plot([k], [dk], "o", color="C3", ms=5, zorder=5)  # type: ignore[attr-defined]
    title = spec.name if spec.kind == "elementwise" else f"{spec.name} (slice)"
    ax.set_title(title, fontsize=10)  # type: ignore[attr-defined]
    span = np.nanmax(np.abs(np.concatenate([y, d1]))[np.isfinite(np.concatenate([y, d1]))])
    ax.set_ylim(-min(span, 4) * 1.1 - 0.1, min(span, 4) * 1.1 + 0.1)  # type: ignore[attr-defined]
    ax.tick_params(labelsize=7)  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jaxact plot",
        description="Draw every activation (f, f' and f'' dashed; kinks as red dots).",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--only", help="comma-separated activation names (default: all)")
    args = parser.parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "python -m jaxact plot: needs matplotlib (pip install 'jaxact[plot]')", file=sys.stderr
        )
        return 2
    specs, unknown = select(args.only)
    if unknown:
        print(f"python -m jaxact plot: unknown activation {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        os.makedirs(args.out, exist_ok=True)
        probe = os.path.join(args.out, ".jaxact-write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        print(f"python -m jaxact plot: cannot write to {args.out}: {e.strerror}", file=sys.stderr)
        return 2
    for i, spec in enumerate(specs, 1):
        print(f"[{i}/{len(specs)}] {spec.name}", file=sys.stderr, flush=True)
        fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
        _draw(ax, spec)
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, f"{spec.name}.png"))
        plt.close(fig)
    cols = 6
    rows = math.ceil(len(specs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2.6, rows * 2.1), dpi=80)
    for ax, spec in zip(np.ravel(axes), specs, strict=False):
        _draw(ax, spec)
    for ax in np.ravel(axes)[len(specs) :]:
        ax.axis("off")
    handles, labels = np.ravel(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=9)
    fig.tight_layout()
    path = os.path.join(args.out, "gallery.png")
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {len(specs)} plots and {path}")
    return 0
