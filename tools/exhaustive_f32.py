"""Every float32 input, not a sample: the worst value and derivative errors of registry entries.

Usage::

    python tools/exhaustive_f32.py gelu_exact quick_gelu      # |x| in [1e-4, 64), both signs
    python tools/exhaustive_f32.py silu --lo 0.5 --hi 1 --sign -1

For each entry (its registry parameters and float64 truths; a gated unit by its slice
``[1, b]``, the gate) it evaluates the jitted function
and ``jax.grad`` at all 2^23 float32 numbers of each binade in the range and prints the
largest ulp errors next to the registry's float32 bounds; exit status 1 if any is above its
bound. The registry's bounds are set from these scans (the test suite's 10^5 samples plus
16-bit tables cannot see a worst case that occupies a handful of float32 inputs). About a
minute per entry and sign on 2 CPU cores; not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys

from jaxact._src.accuracy import measure_f32_range
from jaxact._src.registry import REGISTRY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="+", help="registry entry names (elementwise, or gated: the slice [1, b])"
    )
    parser.add_argument("--lo", type=float, default=1e-4, help="smallest |x| (default 1e-4)")
    parser.add_argument("--hi", type=float, default=64.0, help="largest |x|, excluded (64)")
    parser.add_argument("--sign", type=float, choices=(-1.0, 1.0), help="one sign only")
    args = parser.parse_args(argv)
    specs = {s.name: s for s in REGISTRY if s.kind in ("elementwise", "gated")}
    unknown = [n for n in args.names if n not in specs]
    if unknown:
        print(f"exhaustive_f32: not an elementwise or gated registry entry: {', '.join(unknown)}")
        return 2
    ok = True
    for name in args.names:
        spec = specs[name]
        bounds = spec.bounds("float32")
        for sign in (args.sign,) if args.sign else (-1.0, 1.0):
            value, deriv = measure_f32_range(
                spec.scalar_fn,
                spec.bound_truth,
                spec.bound_truth_derivative,
                args.lo,
                args.hi,
                sign,
            )
            side = "-" if sign < 0 else "+"
            for what, st, bound in (("value", value, bounds[0]), ("d/dx", deriv, bounds[1])):
                good = st.ok(bound)
                ok &= good
                print(
                    f"{'ok  ' if good else 'FAIL'} {name:16s} {side}[{args.lo:g}, {args.hi:g}) "
                    f"{what:5s} max {st.max_ulp:.3g} {st.unit} at x = {st.worst_input:.9g} "
                    f"(bound {bound:g}){f', {st.bad} bad' if st.bad else ''}",
                    flush=True,
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
