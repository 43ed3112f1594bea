"""The two test tiers.

The fast tier (the README's test command, ``python -m pytest -n auto``) covers every
function and every behaviour on sampled inputs, and a share of each (function x setting)
grid; ``-m slow`` runs the rest: the exhaustive 16-bit scans and 1e5-point float32 sweeps,
the rest of each grid, the multi-device and example subprocesses, the benchmark smoke runs.
The two tiers together are the whole suite, and no case runs in both (pyproject's
``-m "not slow"`` default deselects the slow one; a ``-m`` on the command line replaces it).
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import pytest

slow = pytest.mark.slow

# The verifier's precision scans in the fast tier: about 2048 inputs per 16-bit dtype (every
# binade of both signs, the subnormals, the extremes and the inputs next to each kink) and
# 1e4 float32 samples over the finite range; the slow tier scans every finite 16-bit input
# and 1e5 float32 samples (check_activation's defaults).
SAMPLED = {"count16": 2048, "f32_count": 10_000}
EXHAUSTIVE: dict[str, Any] = {}


def _id(v: Any, ids: Callable[[Any], str] | None) -> str:
    if ids is not None:
        return ids(v)
    return getattr(v, "name", None) or getattr(v, "__name__", None) or str(v)


def grid(
    *axes: Sequence[Any],
    every: int,
    salt: str,
    ids: Sequence[Callable[[Any], str] | None] | None = None,
) -> list[Any]:
    """The product of ``axes`` as ``pytest.param`` cases (one value per axis, in order), a
    Latin share of them in the fast tier and the rest marked slow: the case with indices
    (i, j, ...) is fast when i + j + ... + offset is a multiple of ``every``, the offset a
    hash of ``salt`` (the test's name), so each test takes its own share. Along any axis,
    each value is fast in about one case of ``every`` of the others: with a registry axis
    and a setting axis of ``every`` values, every function runs in exactly one setting."""
    offset = zlib.crc32(salt.encode()) % every
    id_fns = list(ids) if ids is not None else [None] * len(axes)
    cases = []
    for combo in itertools.product(*(list(enumerate(a)) for a in axes)):
        index = sum(i for i, _ in combo)
        values = [v for _, v in combo]
        case_id = "-".join(_id(v, f) for v, f in zip(values, id_fns, strict=True))
        marks = () if (index + offset) % every == 0 else (slow,)
        cases.append(pytest.param(*values, id=case_id, marks=marks))
    return cases


def fast_share(cases: list[Any]) -> list[Any]:
    """The fast-tier cases of a :func:`grid` alone, for a test whose remaining cases the
    slow tier covers in full elsewhere."""
    return [c for c in cases if not c.marks]


def scanned(specs: Sequence[Any], *, every: int, salt: str) -> list[Any]:
    """``(spec, scans)`` cases for a verifier test: sampled scans for a share of ``specs``
    (all of them with ``every=1``; see :func:`grid`) in the fast tier, and the exhaustive
    scans for every spec in the slow tier."""
    fast = fast_share(grid(specs, every=every, salt=salt))
    return [pytest.param(*c.values, SAMPLED, id=f"{c.id}-sampled") for c in fast] + [
        pytest.param(s, EXHAUSTIVE, id=f"{_id(s, None)}-exhaustive", marks=slow) for s in specs
    ]


def given_in_tiers(*strategies: Any, fast: int, thorough: int) -> Callable[[Any], tuple[Any, Any]]:
    """A hypothesis property as two tests: ``fast`` examples in the fast tier and
    ``thorough`` in the slow one (derandomized, so the slow run's first examples are the
    fast run's). Use as ``test_p, test_p_thorough = given_in_tiers(...)(body)``."""
    from hypothesis import given, settings

    def make(body: Any) -> tuple[Any, Any]:
        def tier(n: int) -> Any:
            return settings(max_examples=n, deadline=None, derandomize=True)(
                given(*strategies)(body)
            )

        return tier(fast), slow(tier(thorough))

    return make
