"""Derive jaxact's numeric tables with mpmath and write ``jaxact/_src/constants.py``.

Usage::

    python tools/derive_constants.py          # rewrite the generated module
    python tools/derive_constants.py --check  # exit 1 if it is not what this script writes

Every number in the generated module comes from a formula below, evaluated at 60 significant
digits and rounded once to float64 (``float(mpf)``). The tests run ``--check``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import mpmath as mp
import numpy as np

mp.mp.dps = 60  # before any mpf below is made

TARGET = Path(__file__).resolve().parent.parent / "jaxact" / "_src" / "constants.py"

# Taylor polynomials near the zero of a derivative: degree 15 in d = x - at is good to 3.2e-9
# relative (quick_gelu's; the others to ~1e-11) over |d| < 0.45, the window used at run time
# (wide enough that no direct formula is used where it loses more than ~4 ulps to rounding).
ROOT_DEGREE = 15
# x - tanh(x) = sum_k c_k x^(2k+3): 46 terms reach float64 precision for |x| < 1 (22 float32).
TANH_SHRINK_TERMS = 46

GELU_C = mp.mpf("0.044715")  # the cubic coefficient of the tanh approximation
QUICK_GELU_K = mp.mpf("1.702")  # CLIP's slope
SELU_ALPHA = mp.mpf("1.6732632423543772848170429916717")  # Klambauer et al. 2017
SELU_SCALE = mp.mpf("1.0507009873554804934193349852946")
EXP_SHIFT = 64  # see kernels.exps: e^x = e^(x + 64) * e^-64 below -64
# The float32 normal tail (kernels.NormalTail): Phi(-t) = phi(t) R(t), R the Mills ratio, by
# Chebyshev interpolation of degree 12 in w = t - 0.75 over t in [0, 1.5] and in w = t - 2.25
# over [1.5, 3] (of R(t) / sqrt(2 pi)), and of degree 10 in u = 1/t^2 over (0, 1/9] (of
# t R(t) e^-11 / sqrt(2 pi), the e^-11 moving phi's exponent argument to 11 - t^2/2, exact for
# t >= 3). All good to < 1e-9 relative; two pieces below 3 keep float32 Horner within ~1.5 ulp.
NORMAL_TAIL_SPLIT = 3
NORMAL_TAIL_SHIFT = 11


def _sig(z: mp.mpf) -> mp.mpf:
    return 1 / (1 + mp.exp(-z))


# xielu's default parameters as the float32 values a call computes with (alpha = 0.8 rounded).
XIELU_ALPHA = mp.mpf(float(np.float32(0.8)))
XIELU_BETA = mp.mpf("0.5")


def _xielu_left(x: mp.mpf) -> mp.mpf:
    """xielu for x <= 0 at its default parameters."""
    return XIELU_ALPHA * (mp.exp(x) - 1 - x) + XIELU_BETA * x


# The functions whose derivative has a simple zero where every direct float32 formula
# cancels; the window polynomial is the Taylor expansion of f' at the float32 point nearest
# that zero (found from a float64 guess by mpmath's findroot).
ROOTS: dict[str, tuple[Callable[[mp.mpf], mp.mpf], float]] = {
    "SILU": (lambda x: x * _sig(x), -1.28),
    "MISH": (lambda x: x * mp.tanh(mp.log1p(mp.exp(x))), -1.19),
    "GELU_TANH": (
        lambda x: x * _sig(2 * mp.sqrt(2 / mp.pi) * (x + GELU_C * x**3)),
        -0.75,
    ),
    "GELU_ERF": (lambda x: x * mp.ncdf(x), -0.75),
    "QUICK_GELU": (lambda x: x * _sig(QUICK_GELU_K * x), -0.75),
    "XIELU": (lambda x: _xielu_left(x), -0.98),
}


def _root(f: Callable[[mp.mpf], mp.mpf], guess: float) -> tuple[float, list[float]]:
    zero = mp.findroot(lambda x: mp.diff(f, x), guess)
    at = float(np.float32(float(zero)))
    a = mp.taylor(f, mp.mpf(at), ROOT_DEGREE + 1)  # f(at + d) = sum a_k d^k
    return at, [float((k + 1) * a[k + 1]) for k in range(ROOT_DEGREE + 1)]


def _zero(f: Callable[[mp.mpf], mp.mpf], guess: float) -> tuple[float, list[float]]:
    """The float32 point next to a simple zero of f, and f's Taylor coefficients there."""
    at = float(np.float32(float(mp.findroot(f, guess))))
    return at, [float(c) for c in mp.taylor(f, mp.mpf(at), ROOT_DEGREE)]


def _mills(t: mp.mpf) -> mp.mpf:
    """R(t) = Phi(-t) / phi(t)."""
    return mp.ncdf(-t) / mp.npdf(t)


def _interpolate(
    f: Callable[[mp.mpf], mp.mpf], lo: mp.mpf, hi: mp.mpf, degree: int
) -> list[mp.mpf]:
    """Power-basis coefficients (constant first) of the Chebyshev interpolant of f on
    [lo, hi] (at the degree + 1 Chebyshev nodes), all in mpmath."""
    n = degree + 1
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
    values = [f((y + 1) / 2 * (hi - lo) + lo) for y in nodes]
    half = mp.mpf(1) / 2
    cheb = [
        2 * mp.fsum(v * mp.cos(j * mp.pi * (k + half) / n) for k, v in enumerate(values)) / n
        for j in range(n)
    ]
    cheb[0] /= 2
    # T_j(y) in powers of y, y = (2 x - lo - hi) / (hi - lo), then summed in powers of x.
    t_prev, t_cur = [mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]
    in_y = [cheb[0]] + [mp.mpf(0)] * degree
    for j in range(1, n):
        for i, c in enumerate(t_cur):
            in_y[i] += cheb[j] * c
        t_prev, t_cur = t_cur, [-c for c in t_prev] + [mp.mpf(0)] * 2
        for i, c in enumerate([mp.mpf(0), *t_prev]):
            t_cur[i] += 2 * c
    a, b = 2 / (hi - lo), -(hi + lo) / (hi - lo)  # y = a x + b
    out = [mp.mpf(0)] * n
    for k, c in enumerate(in_y):  # c (a x + b)^k
        for i in range(k + 1):
            out[i] += c * mp.binomial(k, i) * a**i * b ** (k - i)
    return out


def _normal_tail() -> list[list[mp.mpf]]:
    def piece(f: Callable[[mp.mpf], mp.mpf], lo: float, hi: float) -> list[mp.mpf]:
        c = mp.mpf(lo + hi) / 2
        return _interpolate(lambda w: f(w + c) / mp.sqrt(2 * mp.pi), lo - c, hi - c, 10)

    def slope(t: mp.mpf) -> mp.mpf:
        return t - _mills(t)

    low, mid = piece(_mills, 0, 1.5), piece(_mills, 1.5, NORMAL_TAIL_SPLIT)
    dlow, dmid = piece(slope, 0, 1.5), piece(slope, 1.5, NORMAL_TAIL_SPLIT)
    scale = mp.exp(-NORMAL_TAIL_SHIFT) / mp.sqrt(2 * mp.pi)
    far = _interpolate(
        lambda u: scale * (1 if u == 0 else _mills(1 / mp.sqrt(u)) / mp.sqrt(u)),
        mp.mpf(0),
        mp.mpf(1) / NORMAL_TAIL_SPLIT**2,
        10,
    )
    return [low, mid, far, dlow, dmid]


def _split(c: mp.mpf) -> str:
    """c as float32 head and tail, repr'd (head rounded to float32, tail the rest)."""
    head = float(np.float32(float(c)))
    return f"({head!r}, {float(c - mp.mpf(head))!r})"


def render() -> str:
    out = [
        '"""Numeric tables, generated by ``tools/derive_constants.py`` (mpmath, 60 digits, each',
        "value rounded once to float64). Do not edit: change the script and rerun it; the tests",
        'check that this file is what the script writes."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import NamedTuple",
        "",
        "",
        "class Root(NamedTuple):",
        '    """A float32 point ``at`` next to a simple zero of a derivative, with the Taylor',
        '    coefficients b_0..b_n of f\'(at + d) = sum b_k d^k (b_0 is tiny)."""',
        "",
        "    at: float",
        "    coefs: tuple[float, ...]",
        "",
        "",
        "# 2 sqrt(2/pi) and 2 sqrt(2/pi) * 0.044715: gelu's tanh form is x sigma(x (K1 + K2 x^2)).",
        f"GELU_K1 = {float(2 * mp.sqrt(2 / mp.pi))!r}",
        f"GELU_K2 = {float(2 * mp.sqrt(2 / mp.pi) * GELU_C)!r}",
        f"INV_SQRT2 = {float(1 / mp.sqrt(2))!r}",
        f"INV_SQRT_2PI = {float(1 / mp.sqrt(2 * mp.pi))!r}",
        "# selu's lambda and lambda * alpha (Klambauer et al. 2017), each rounded once.",
        f"SELU_SCALE = {float(SELU_SCALE)!r}",
        f"SELU_SCALE_ALPHA = {float(SELU_SCALE * SELU_ALPHA)!r}",
        f"# e^-{EXP_SHIFT}: the scale factor of kernels.exps.",
        f"E_SHIFT = {float(mp.exp(-EXP_SHIFT))!r}",
        f"LN2 = {float(mp.log(2))!r}",
        "# Asymptotic series of the Gaussian tail, Phi(x) = phi(x)/|x| (1 + sum c_k x^-2k), Horner",
        "# order (c_k = (-1)^k (2k-1)!!, k = 6..1).",
        "GAUSSIAN_TAIL_SERIES = ("
        + ", ".join(f"{float((-1) ** k * mp.fac2(2 * k - 1))!r}" for k in range(6, 0, -1))
        + ")",
        "",
    ]
    low, mid, far, dlow, dmid = _normal_tail()
    out += [
        "# The float32 normal tail (kernels.NormalTail), Phi(-t) = phi(t) R(t): R(t) / sqrt(2 pi)",
        "# in powers of t - 0.75 for t < 1.5 and of t - 2.25 for 1.5 <= t < 3, and",
        f"# t R(t) e^-{NORMAL_TAIL_SHIFT} / sqrt(2 pi) in powers of 1/t^2 for t >= "
        f"{NORMAL_TAIL_SPLIT}.",
        f"NORMAL_TAIL_SPLIT = {float(NORMAL_TAIL_SPLIT)!r}",
        f"NORMAL_TAIL_SHIFT = {float(NORMAL_TAIL_SHIFT)!r}",
        "NORMAL_TAIL_LOW = (",
        *(f"    {float(c)!r}," for c in low),
        ")",
        "NORMAL_TAIL_MID = (",
        *(f"    {float(c)!r}," for c in mid),
        ")",
        "NORMAL_TAIL_FAR = (",
        *(f"    {float(c)!r}," for c in far),
        ")",
        "# (t - R(t)) / sqrt(2 pi) on the same two pieces below 3: gelu's derivative without the",
        "# cancellation of t - R(t) near its zero.",
        "NORMAL_SLOPE_LOW = (",
        *(f"    {float(c)!r}," for c in dlow),
        ")",
        "NORMAL_SLOPE_MID = (",
        *(f"    {float(c)!r}," for c in dmid),
        ")",
        "# e^-11 / sqrt(2 pi) as float32 (head, tail): the density's factor beyond 3.",
        f"NORMAL_PDF_FAR = {_split(mp.exp(-NORMAL_TAIL_SHIFT) / mp.sqrt(2 * mp.pi))}",
        "",
    ]
    for name, (f, guess) in ROOTS.items():
        at, coefs = _root(f, guess)
        out.append(f"ROOT_{name} = Root(")
        out.append(f"    {at!r},")
        out.append("    (")
        out.extend(f"        {c!r}," for c in coefs)
        out.append("    ),")
        out.append(")")
    at, coefs = _zero(_xielu_left, -2.43)
    out.append(
        "# xielu's value near its zero at the default parameters (Taylor coefficients of f)."
    )
    out.append("ZERO_XIELU = Root(")
    out.append(f"    {at!r},")
    out.append("    (")
    out.extend(f"        {c!r}," for c in coefs)
    out.append("    ),")
    out.append(")")
    out.append(f"XIELU_ALPHA = {float(XIELU_ALPHA)!r}")
    t = mp.taylor(lambda x: x - mp.tanh(x), 0, 2 * TANH_SHRINK_TERMS + 1)
    out.append("# x - tanh(x) = sum_k c_k x^(2k+3), k = 0, 1, ...")
    out.append("TANH_SHRINK_SERIES = (")
    out.extend(f"    {float(t[2 * k + 3])!r}," for k in range(TANH_SHRINK_TERMS))
    out.append(")")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if TARGET.read_text() != text:
            print(f"{TARGET} is stale: run python tools/derive_constants.py", file=sys.stderr)
            return 1
        print(f"{TARGET.name} is up to date")
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
