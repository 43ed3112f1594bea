"""The documentation: every Python block of README.md and docs/ runs as written, and the
site's coverage check (docs/ext/coverage_check.py) knows every public name and fails on a
missing one. The build itself (``-W``) is CI's docs step, README's docs command."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxact

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    *(p for p in sorted((ROOT / "docs").glob("**/*.md")) if "_build" not in p.parts),
]
sys.path.insert(0, str(ROOT / "docs" / "ext"))
sys.path.insert(0, str(ROOT / "tools"))

import coverage_check  # noqa: E402
import doc_tables  # noqa: E402


def _blocks() -> list[tuple[str, int, str]]:
    out = []
    for page in PAGES:
        blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)
        out += [(str(page.relative_to(ROOT)), i, b) for i, b in enumerate(blocks)]
    return out


def test_the_pages_have_python_blocks():
    pages = {page for page, _, _ in _blocks()}
    assert {"README.md", "docs/getting_started.md", "docs/guides/verify.md"} <= pages


@pytest.mark.parametrize(
    ("page", "index", "block"),
    [
        # README's first example in the fast tier, the rest in the slow one.
        pytest.param(
            page,
            i,
            b,
            id=f"{page}:{i}",
            marks=() if (page, i) == ("README.md", 0) else [pytest.mark.slow],
        )
        for page, i, b in _blocks()
    ],
)
def test_python_blocks_run_as_written(page, index, block):
    """Each block runs on its own, in a fresh interpreter, from the repository root."""
    r = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert r.returncode == 0, f"{page}, Python block {index}:\n{block}\n{r.stderr[-2000:]}"


MODULES = ["jaxact", "jaxact.derivatives", "jaxact.losses", "jaxact.testing", "jaxact.nnx"]


def test_coverage_check_lists_every_public_name():
    import jaxact
    import jaxact.nnx

    names = coverage_check.public_names(MODULES)
    assert len(names) == len(set(names))
    for module in (jaxact, jaxact.derivatives, jaxact.losses, jaxact.testing, jaxact.nnx):
        for name in module.__all__:
            if name in ("derivatives", "losses", "testing"):  # submodules: their own pages
                continue
            assert f"{module.__name__}.{name}" in names
    assert "jaxact.swish" in names and "jaxact.nnx.GatedMLP" in names


def test_coverage_check_fails_on_a_missing_name(monkeypatch):
    """Against the modules conf.py lists, with one documented name taken away, the check
    warns about exactly that name (and -W makes the warning a failed build)."""
    import ast

    conf = ast.parse((ROOT / "docs" / "conf.py").read_text())
    listed = [
        ast.literal_eval(node.value)
        for node in conf.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "coverage_modules"
    ]
    assert listed == [MODULES]
    names = coverage_check.public_names(MODULES)
    assert coverage_check.missing_names(names, MODULES) == []
    fewer = [n for n in names if n != "jaxact.entmax"]
    assert coverage_check.missing_names(fewer, MODULES) == ["jaxact.entmax"]

    warned: list[str] = []
    log = SimpleNamespace(warning=lambda msg, name: warned.append(name), info=lambda *a: None)
    monkeypatch.setattr(coverage_check, "_logger", lambda: log)
    app = SimpleNamespace(config=SimpleNamespace(coverage_modules=MODULES))
    domain = SimpleNamespace(objects=dict.fromkeys(fewer))
    coverage_check.check(app, SimpleNamespace(get_domain=lambda _: domain))
    assert warned == ["jaxact.entmax"]


def test_readme_links_resolve():
    """Every relative link of README.md (the docs' table of contents) names a file that
    exists: GitHub renders them, Sphinx never sees them."""
    text = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert len(local) >= 20
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, missing


def _why_values(lib) -> list[object]:
    """What ``lib`` (jaxact or jax.nn) computes for each fact row of the "Why" table
    (tools/doc_tables.py's WHY_FACTS, in its order), in the form the cell states."""
    inf = jnp.inf
    smooth = ["silu", "mish", "gelu", "squareplus", "sparse_plus"]
    mask = jnp.array([True, True, False])
    values = [
        float(jax.grad(lib.sigmoid)(20.0)),
        [[float(jax.grad(getattr(lib, n))(v)) for v in (inf, -inf)] for n in smooth],
        [*map(float, lib.soft_sign(jnp.array([inf, -inf]))), lib.silu(-inf), lib.squareplus(-inf)],
        jax.grad(lib.logsumexp)(jnp.array([-inf, -inf])).tolist(),
        (
            lib.sparsemax(jnp.array([1.0, 1.0, -5.0]), where=mask).tolist()
            if hasattr(lib, "sparsemax")
            else None
        ),
    ]
    assert len(values) == len(doc_tables.WHY_FACTS), "a fact row without a check"
    return values


def test_why_table_facts_hold_for_jaxact():
    """The front page's fact rows, jaxact's column: each cell as it reads. (Its kink row comes
    from the declared kinks, which tests/test_public_api.py checks.)"""
    rows = _why_values(jaxact)
    true = 1.0 / (math.exp(20.0) + 2.0 + math.exp(-20.0))  # sigma'(20) = 1/(e^x + 2 + e^-x)
    assert f"{true:.3e}" == "2.061e-09"
    np.testing.assert_allclose(rows[0], true, rtol=2 * 2.0**-23)
    assert rows[1] == [[1.0, 0.0]] * 5  # the limits of f' at +inf and -inf
    assert rows[2] == [1.0, -1.0, 0.0, 0.0]
    assert rows[3] == [0.0, 0.0]
    assert rows[4] == [0.5, 0.5, 0.0]


@pytest.mark.skipif(
    jax.__version__ != json.loads(doc_tables.ACCURACY.read_text())["jax"],
    reason="the table states jax.nn's results on the jax version it names",
)
def test_why_table_facts_hold_for_jax_nn():
    """The same rows, jax.nn's column, on the jax version the table names; and what the kink
    notes say jax.nn takes: leaky_relu'(0) = 1, hard_tanh'(±1) = 1, celu''(0) = 1/(4 alpha)
    (0.25 at alpha = 1; celu's docstring names 0.125 at alpha = 2)."""
    rows = _why_values(jax.nn)
    assert rows[0] == 0.0
    assert np.isnan(rows[1]).all()
    assert np.isnan(rows[2]).all()
    assert np.isnan(rows[3]).all()
    assert rows[4] is None  # no sparsemax in jax.nn: "—"
    assert float(jax.grad(jax.nn.leaky_relu)(0.0)) == 1.0
    assert [float(jax.grad(jax.nn.hard_tanh)(v)) for v in (1.0, -1.0)] == [1.0, 1.0]
    celu2 = [float(jax.grad(jax.grad(jax.nn.celu))(0.0, a)) for a in (0.5, 1.0, 2.0)]
    assert celu2 == [0.5, 0.25, 0.125]
