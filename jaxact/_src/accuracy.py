"""The accuracy harness: ulp errors against a float64 truth, over every finite 16-bit input
and a wide float32 sample. The one place where ulps are computed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "UlpStats",
    "all_finite",
    "f32_range",
    "f32_samples",
    "measure",
    "measure_f32_range",
    "native",
    "sample16",
    "ulp_error",
]


def ulp_error(actual: Any, reference: Any, dtype: Any) -> np.ndarray:
    """Error of ``actual`` in units in the last place of ``dtype`` at ``reference`` (float64).

    Defined where the reference is a normal number of ``dtype`` (``ulp(r) = 2**floor(log2|r|)
    * eps``); elsewhere the result is NaN and :func:`measure` applies the other rules. A
    non-finite ``actual`` where the reference is normal counts as an infinite error.
    """
    fi = jnp.finfo(dtype)
    a = np.asarray(actual, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    normal = (
        np.isfinite(r) & (np.abs(r) >= float(fi.smallest_normal)) & (np.abs(r) <= float(fi.max))
    )
    with np.errstate(invalid="ignore", over="ignore"):
        _, exp = np.frexp(np.where(normal, r, 1.0))
        ulp = np.ldexp(float(fi.eps), exp - 1)
        err = np.abs(a - r) / ulp
    err = np.where(normal & ~np.isfinite(a), np.inf, err)
    return np.where(normal, err, np.nan)


@dataclass(frozen=True)
class UlpStats:
    """Max ulp error where the reference is normal, and the count of other failures:
    NaN/inf where the reference is finite (and in range), a wrong special value, or an
    error above one smallest-normal where the reference is subnormal (flush-to-zero is
    allowed)."""

    max_ulp: float
    bad: int
    worst_input: float
    unit: str = "ulp"
    # The output and the truth at ``worst_input`` (at the first failure when ``bad``).
    got: float = float("nan")
    want: float = float("nan")

    def ok(self, bound: float) -> bool:
        return self.max_ulp <= bound and self.bad == 0


def _stats(
    x: np.ndarray, actual: Any, reference: Any, dtype: Any, absolute: bool = False
) -> UlpStats:
    fi = jnp.finfo(dtype)
    a = np.asarray(actual, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if absolute:
        # Absolute error in units of eps (for JVPs whose formula cancels by design).
        with np.errstate(invalid="ignore"):
            err = np.where(np.isfinite(r), np.abs(a - r) / float(fi.eps), np.nan)
        bad_at = np.isfinite(r) & ~np.isfinite(a)
        i = int(np.argmax(bad_at)) if bad_at.any() else int(np.nanargmax(err))
        return UlpStats(
            float(np.nanmax(err)), int(bad_at.sum()), float(x[i]), "eps", float(a[i]), float(r[i])
        )
    err = ulp_error(a, r, dtype)
    tiny, big = float(fi.smallest_normal), float(fi.max)
    with np.errstate(invalid="ignore"):
        sub = np.isfinite(r) & (np.abs(r) < tiny)
        bad_sub = sub & ~(np.abs(a - r) <= tiny)
        over = np.isfinite(r) & (np.abs(r) > big)
        # Beyond the dtype's range the correct rounding is +-inf (or max under truncation).
        bad_over = over & ~((np.sign(a) == np.sign(r)) & (np.abs(a) >= big))
        special = ~np.isfinite(r)
        bad_special = special & ~((a == r) | (np.isnan(a) & np.isnan(r)))
    bad_at = bad_sub | bad_over | bad_special
    bad = int(bad_at.sum())
    if np.all(np.isnan(err)) and not bad:
        return UlpStats(0.0, bad, float("nan"))
    top = 0.0 if np.all(np.isnan(err)) else float(np.nanmax(err))
    i = int(np.argmax(bad_at)) if bad else int(np.nanargmax(err))
    return UlpStats(top, bad, float(x[i]), "ulp", float(a[i]), float(r[i]))


def all_finite(dtype: Any) -> np.ndarray:
    """Every finite value of a 16-bit float dtype (all 65,536 bit patterns, minus inf/NaN)."""
    dtype = np.dtype(dtype)
    assert dtype.itemsize == 2, dtype
    v = np.arange(1 << 16, dtype=np.uint16).view(dtype)
    return v[np.isfinite(v.astype(np.float32))]


def sample16(dtype: Any, count: int, near: Sequence[float] = (), seed: int = 0) -> np.ndarray:
    """About ``count`` finite values of a 16-bit float dtype for a quick scan: half every
    k-th bit pattern (so each binade of both signs, the subnormals included, has its share),
    half random patterns (seed ``seed``), the extremes (+-0, the smallest and largest
    subnormal, the smallest normal, +-1, +-max) and the 9 patterns around each value in
    ``near`` (the kinks). Sorted by bit pattern, no repeats."""
    every = all_finite(dtype)
    bits = every.view(np.uint16)
    rng = np.random.default_rng(seed)
    stride = max(1, 2 * every.size // max(count, 1))
    picked = [bits[int(rng.integers(stride)) :: stride], rng.choice(bits, count // 2)]
    dt = np.dtype(dtype)
    fi = np.finfo(dt)
    tiny = float(fi.smallest_subnormal)
    extremes = [0.0, tiny, float(fi.smallest_normal) - tiny, float(fi.smallest_normal), 1.0]
    extremes.append(float(fi.max))
    picked.append(np.array([*extremes, *(-v for v in extremes)], dt).view(np.uint16))
    for k in near:  # the patterns next to a kink (next to +0 and -0 for a kink at 0)
        for v in [float(k), -float(k)] if k == 0 else [float(k)]:
            b = int(np.array(v, dt).view(np.uint16))
            picked.append((np.arange(b - 4, b + 5) & 0xFFFF).astype(np.uint16))
    out = np.unique(np.concatenate(picked).astype(np.uint16))
    values = out.view(dt)
    return values[np.isfinite(values.astype(np.float32))]


def f32_samples(n: int = 100_000, seed: int = 0) -> np.ndarray:
    """float32 inputs spanning the finite range: random bit patterns, log-spaced magnitudes
    of both signs, and 0, -0, +-tiny, subnormals and +-max."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 1 << 32, size=n // 2 + n // 50, dtype=np.uint64)
    bits = bits.astype(np.uint32).view(np.float32)
    bits = bits[np.isfinite(bits)][: n // 2]
    fi = np.finfo(np.float32)
    mags = np.logspace(np.log10(float(fi.smallest_subnormal)), np.log10(float(fi.max)), n // 4)
    mags = mags.astype(np.float32)
    special = np.array(
        [
            0.0,
            -0.0,
            fi.smallest_normal,
            -fi.smallest_normal,
            fi.smallest_subnormal,
            -fi.smallest_subnormal,
            1e-40,
            -1e-40,
            fi.max,
            -fi.max,
            1.0,
            -1.0,
        ],
        dtype=np.float32,
    )
    return np.concatenate([bits, mags, -mags, special]).astype(np.float32)


def native(
    fn: Callable[[jax.Array], jax.Array], x: np.ndarray, derivative: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """``jit(fn)(x)`` and ``jit(grad(sum o fn))(x)`` computed in the dtype of ``x``, returned
    as float32 arrays (float64 for float64 inputs)."""
    xj = jnp.asarray(x)
    out = jnp.float32 if x.dtype.itemsize < 8 else x.dtype
    value = np.asarray(jax.jit(fn)(xj).astype(out))
    if not derivative:
        return value, None
    grad = jax.jit(jax.grad(lambda v: jnp.sum(fn(v))))(xj)
    return value, np.asarray(grad.astype(out))


def measure(
    fn: Callable[[jax.Array], jax.Array],
    truth_value: Callable[[jax.Array], jax.Array],
    truth_derivative: Callable[[jax.Array], jax.Array] | None,
    x: np.ndarray,
    derivative_abs: bool = False,
    value_abs: bool = False,
    *,
    computed: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> tuple[UlpStats, UlpStats | None]:
    """Ulp statistics of ``fn`` and of its reverse-mode derivative ``jax.grad`` at every
    entry of ``x`` (one dtype), against float64 truths (run under ``jax_enable_x64``).
    With ``derivative_abs`` (``value_abs``) the derivative (value) error is absolute, in
    units of eps. ``computed``: ``jit(fn)(x)`` and ``jit(grad(sum o fn))(x)`` in the dtype of
    ``x``, as float32 arrays, if already known."""
    dtype = x.dtype
    value, grad = native(fn, x, truth_derivative is not None) if computed is None else computed
    x64 = x.astype(np.float64)
    # XLA on CPU treats float32 subnormal inputs as zero (DAZ); at those inputs the truth at
    # the flushed input is accepted too, whichever is closer.
    flush = np.abs(x64) < float(np.finfo(np.float32).smallest_normal)
    x_ftz = np.where(flush, np.copysign(0.0, x64), x64)
    vref = _closer(value, truth_value, x64, x_ftz, flush)
    vstats = _stats(x, value, vref, dtype, absolute=value_abs)
    dstats = None
    if truth_derivative is not None:
        dref = _closer(grad, truth_derivative, x64, x_ftz, flush)
        dstats = _stats(x, grad, dref, dtype, absolute=derivative_abs)
    return vstats, dstats


def _closer(
    actual: Any,
    truth: Callable[[jax.Array], jax.Array],
    x64: np.ndarray,
    x_ftz: np.ndarray,
    flush: np.ndarray,
) -> np.ndarray:
    with jax.enable_x64(True):
        ref = np.asarray(truth(jnp.asarray(x64)), dtype=np.float64)
        if not flush.any():
            return ref
        ref_ftz = np.asarray(truth(jnp.asarray(x_ftz)), dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)

    def dist(r: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            same = (a == r) | (np.isnan(a) & np.isnan(r))
            d = np.abs(a - r)
            return np.where(same, 0.0, np.where(np.isnan(d), np.inf, d))

    with np.errstate(invalid="ignore"):
        use_ftz = flush & (dist(ref_ftz) < dist(ref))
    return np.where(use_ftz, ref_ftz, ref)


def f32_range(
    lo: float, hi: float, sign: float = 1.0, chunk: int = 1 << 22
) -> Iterator[np.ndarray]:
    """Every float32 of magnitude in [lo, hi) (0 < lo < hi, both float32-rounded), of the sign
    of ``sign``, in ascending order of magnitude, ``chunk`` at a time."""
    b0 = int(np.array(lo, np.float32).view(np.uint32))
    b1 = int(np.array(hi, np.float32).view(np.uint32))
    for start in range(b0, b1, chunk):
        mags = np.arange(start, min(start + chunk, b1), dtype=np.uint32).view(np.float32)
        yield (np.float32(sign) * mags).astype(np.float32)


def measure_f32_range(
    fn: Callable[[jax.Array], jax.Array],
    truth_value: Callable[[jax.Array], jax.Array],
    truth_derivative: Callable[[jax.Array], jax.Array],
    lo: float,
    hi: float,
    sign: float = 1.0,
) -> tuple[UlpStats, UlpStats]:
    """:func:`measure` over *every* float32 input of magnitude in [lo, hi) and the sign of
    ``sign`` (2^23 per binade): the worst value and derivative errors, as UlpStats."""
    f = jax.jit(fn)
    g = jax.jit(jax.grad(lambda v: jnp.sum(fn(v))))
    worst: list[UlpStats] = []
    bad = [0, 0]
    for x in f32_range(lo, hi, sign):
        xj = jnp.asarray(x)
        computed = (np.asarray(f(xj), np.float32), np.asarray(g(xj), np.float32))
        stats = measure(fn, truth_value, truth_derivative, x, computed=computed)
        for i, st in enumerate(stats):
            assert st is not None
            bad[i] += st.bad
            if len(worst) <= i:
                worst.append(st)
            elif st.max_ulp > worst[i].max_ulp:
                worst[i] = st
    value, derivative = (dataclasses.replace(w, bad=b) for w, b in zip(worst, bad, strict=True))
    return value, derivative
