"""Every example runs as documented (smoke tests)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str, timeout: int = 300, folder: Path = EXAMPLES) -> str:
    """Run ``folder/name`` with ``args``; its stdout (the test fails on a non-zero exit)."""
    env = dict(os.environ)
    r = subprocess.run(
        [sys.executable, str(folder / name), *args],
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


@pytest.mark.slow
def test_custom_activation_catches_the_wrong_derivative_and_the_flush():
    out = run_example("custom_activation.py")
    assert "check_activation(softsign_glu): PASS" in out
    assert "check_activation(broken): FAIL" in out
    assert "check_activation(tanh_flush): FAIL" in out
    assert "the wrong derivative was caught by: ['grad', 'finite differences'" in out
    assert "the float32 flush was caught by: [" in out and "'float32 d/dx'" in out


@pytest.mark.parametrize(
    ("epochs", "accuracy"), [(1, 0.5), pytest.param(4, 0.85, marks=pytest.mark.slow)]
)
def test_flax_mlp_trains_and_matches_jax_nn(epochs, accuracy):
    pytest.importorskip("flax")
    pytest.importorskip("sklearn")
    out = run_example("flax_mlp.py", "--activation", "gelu", "--epochs", str(epochs))
    line = next(s for s in out.splitlines() if s.startswith("test accuracy"))
    acc = [float(t.strip(",")) for t in line.split() if t[0].isdigit()]
    assert len(acc) == 2 and min(acc) > accuracy, line
    gap = float(next(s for s in out.splitlines() if "max |loss difference|" in s).split()[-1])
    assert gap < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["swiglu", "geglu"])
def test_gated_mlp_trains_like_jax_nn_and_prints_its_memory(unit):
    out = run_example(
        "gated_mlp.py", "--unit", unit, "--epochs", "3", "--tokens", "512", "--features",
        "64", "--hidden", "256",
    )  # fmt: skip
    diff = float(re.search(r"max per-epoch loss difference: (\S+)", out).group(1))
    assert diff < 1e-5, out
    m = re.search(
        r"residual bytes/elem of the unit (\S+) vs (\S+); block residual MiB beyond the "
        r"weights (\S+) vs (\S+); train-step temp MiB (\S+) vs (\S+)",
        out,
    )
    assert m, out
    ours_res, theirs_res, ours_block, theirs_block, ours_mib, theirs_mib = map(float, m.groups())
    assert ours_res == 4 and theirs_res >= 10  # x only vs both halves, sigmoid(b), act(b)
    # the block keeps x and the in-projection only: (512 x 64 + 512 x 512) floats
    assert abs(ours_block - (512 * 64 + 512 * 512) * 4 / 2**20) < 0.05 and ours_block < theirs_block
    assert ours_mib <= 0.7 * theirs_mib, out


@pytest.mark.slow
def test_data_parallel_matches_single_device():
    out = run_example("data_parallel.py")
    assert "devices: 8" in out
    assert "sharded step matches the single-device step" in out


BENCHMARKS = EXAMPLES.parent / "benchmarks"


@pytest.mark.slow
def test_benchmark_quick_smoke(tmp_path):
    out_json = tmp_path / "bench.json"
    out = run_example(
        "bench.py",
        *("--quick", "--only", "relu,softmax", "--dtype", "float32"),
        *("--rounds", "2", "--calls", "2", "--json", str(out_json)),
        folder=BENCHMARKS,
    )
    assert "| relu | float32 |" in out and "| softmax | float32 |" in out
    rows = json.loads(out_json.read_text())["rows"]
    relu = next(row for row in rows if row["name"] == "relu")
    assert relu["residual_bytes_per_elem"] == {"jaxact": 1.0, "jax.nn": 5.0}
    for row in rows:  # both libraries timed in steady state, with memory and compile figures
        assert set(row["fwd_s"]) == set(row["fwd_bwd_s"]) == {"jaxact", "jax.nn"}
        assert row["noise"]["fwd"] >= 1.0 and row["noise"]["fwd_bwd"] >= 1.0
        assert set(row["temp_mib"]["fwd_bwd"]) == {"jaxact", "jax.nn"}
        assert row["compile_fwd_bwd"]["jaxact"]["ops"] > 0
    assert "fwd+bwd vs jax.nn: median" in out


@pytest.mark.slow
@pytest.mark.parametrize("mlp", ["gelu", "swiglu"])
def test_lm_step_benchmark_quick_smoke(mlp):
    """The end-to-end transformer step: the three programs (jax.nn, jaxact, jaxact with
    the fused head) compile and run, and their losses on the same parameters and tokens
    agree (no timing asserted)."""
    out = run_example(
        "lm_step.py", "--quick", "--mlp", mlp, "--rounds", "1", "--calls", "1", folder=BENCHMARKS
    )
    rows = [line for line in out.splitlines() if line.startswith("| jax")]
    losses = [float(line.split("|")[-2]) for line in rows]
    assert len(losses) == 3
    assert all(abs(v - losses[0]) <= 1e-5 * abs(losses[0]) for v in losses[1:])


@pytest.mark.slow
def test_lm_head_example_trains_like_the_written_out_loss():
    """The fused head (masked padding, z-loss, label smoothing) trains the bigram model
    exactly as the loss with the logits written out: the losses agree at every step."""
    out = run_example("lm_head.py", "--steps", "5")
    gap = float(out.split("largest relative loss difference over the run: ")[1].split()[0])
    assert gap < 1e-5
    mib = out.split("compiled temp memory of value_and_grad: ")[1].split()
    assert float(mib[0]) < float(mib[3])


@pytest.mark.slow
def test_losses_benchmark_quick_smoke():
    """The fused-head benchmark runs at small sizes: both tables, the fused program's temp
    memory below the composition's (a compile-time fact; no timing asserted)."""
    out = run_example("losses.py", "--quick", "--rounds", "1", "--calls", "1", folder=BENCHMARKS)
    rows = [line for line in out.splitlines() if line.startswith("| float32 |")]
    assert len(rows) == 2
    ref, ours = (float(v) for v in rows[0].split("|")[2:4])
    assert ours < ref


@pytest.mark.slow
def test_mlp_compile_benchmark_smoke(tmp_path):
    """The compile-cost benchmark runs, times both libraries and counts their ops (no
    timing asserted): the jaxact step has more ops than jax.nn's for gelu (its tails)."""
    out_json = tmp_path / "c.json"
    out = run_example(
        "mlp_compile.py",
        *("--only", "relu,gelu", "--rounds", "1", "--width", "64", "--batch", "8"),
        *("--json", str(out_json)),
        folder=BENCHMARKS,
    )
    rows = {row["name"]: row for row in json.loads(out_json.read_text())["rows"]}
    assert set(rows) == {"relu", "gelu"}
    for row in rows.values():
        assert all(s > 0 for s in row["seconds"].values())
    assert rows["gelu"]["ops"]["jaxact"] > rows["gelu"]["ops"]["jax.nn"]
    assert "within 1.5x" in out
