"""Every example runs as documented (smoke tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str, timeout: int = 300) -> str:
    env = dict(os.environ)
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_quickstart():
    out = run_example("quickstart.py")
    assert "jaxact 2.061e-09" in out
    assert "relu: reverse mode keeps 1 bytes/element (jax.nn: 5)" in out
