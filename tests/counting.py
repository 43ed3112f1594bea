"""Counting XLA compilations in a block (jax.monitoring's duration events; the listener is
registered once: jax 0.8.0 has no way to unregister one)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax

_COMPILES = [0]


def _count(event: str, duration: float, **_: object) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count)


@contextlib.contextmanager
def compiles() -> Iterator[list[int]]:
    """The number of XLA compilations inside the block (``[n]`` after it)."""
    before = _COMPILES[0]
    out = [0]
    yield out
    out[0] = _COMPILES[0] - before
