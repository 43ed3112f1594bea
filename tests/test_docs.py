"""The documentation: every Python block of README.md and docs/ runs as written, and the
site's coverage check (docs/ext/coverage_check.py) knows every public name and fails on a
missing one. The build itself (``-W``) is CI's docs step, README's docs command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    *(p for p in sorted((ROOT / "docs").glob("**/*.md")) if "_build" not in p.parts),
]
sys.path.insert(0, str(ROOT / "docs" / "ext"))

import coverage_check  # noqa: E402


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
