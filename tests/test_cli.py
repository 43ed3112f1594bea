"""The main job: ``python -m jaxact`` (run in a subprocess, as a user would)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jaxact", *args], capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_report_table_and_exit_status():
    r = run("--only", "relu,sigmoid")
    assert r.returncode == 0, r.stderr
    assert "sigmoid" in r.stdout and "bfloat16" in r.stdout and "float32" in r.stdout
    assert "2 of 2 activations passed" in r.stdout
    assert "[1/2] relu" in r.stderr  # progress


@pytest.mark.slow
def test_report_holds_the_representative_hyperparameters_too():
    """``python -m jaxact`` verifies each entry at its defaults and then at its declared
    representative settings, to the same bounds (``--defaults-only`` skips them)."""
    r = run("--only", "softplus", "--dtype", "float32")
    assert r.returncode == 0, r.stderr
    for name in ("softplus(beta=0.5)", "softplus(beta=1.5)", "softplus(beta=10)"):
        assert name in r.stdout
    assert "4 of 4 activations passed" in r.stdout
    r = run("--only", "softplus", "--dtype", "float32", "--defaults-only")
    assert "1 of 1 activations passed" in r.stdout and "beta=" not in r.stdout


def test_json_output():
    r = run("--only", "leaky_relu", "--dtype", "bfloat16", "--json", "--defaults-only")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    (res,) = data["results"]
    assert res["name"] == "leaky_relu" and res["ok"]
    (acc,) = res["accuracy"]
    assert acc["dtype"] == "bfloat16" and acc["inputs"] == 65280
    assert acc["value"]["max"] <= 1.0


def test_unknown_names_and_dtypes_exit_2_with_one_line():
    for args in (("--only", "nope"), ("--dtype", "float8")):
        r = run(*args)
        assert r.returncode == 2
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_help():
    r = run("--help")
    assert r.returncode == 0 and "--only" in r.stdout and "--json" in r.stdout


@pytest.mark.slow
def test_plot_writes_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    r = run("plot", "--out", str(tmp_path), "--only", "relu,gelu,softmax")
    assert r.returncode == 0, r.stderr
    for name in ("relu", "gelu", "softmax", "gallery"):
        png = tmp_path / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_unknown_name_exits_2():
    r = run("plot", "--out", "unused", "--only", "nope")
    assert r.returncode == 2 and "Traceback" not in r.stderr
